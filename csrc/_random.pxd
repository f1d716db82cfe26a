# cython: cdivision=True
# A small seeded generator for randomness inside the compiled loops (dropout masks).
#
# splitmix64: one 64-bit state, one add and three xor-shift-multiplies per draw, good
# statistical quality for masks, and reproducible: Python seeds it from the
# estimator's random_state at each epoch.

from cython cimport floating

ctypedef unsigned long long uint64


cdef inline uint64 next_u64(uint64* state) noexcept nogil:
    cdef uint64 z
    state[0] += <uint64> 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64> 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64> 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline void dropout_mask(uint64* state, floating* mask, floating* out,
                              const floating* a, Py_ssize_t n,
                              double rate) noexcept nogil:
    """Inverted dropout of ``n`` values: ``mask[i]`` is 0 with probability ``rate``
    and ``1 / (1 - rate)`` otherwise; ``out = a * mask``."""
    cdef Py_ssize_t i
    cdef uint64 threshold = <uint64> (rate * 18446744073709551616.0)  # rate * 2**64
    cdef floating scale = <floating> (1.0 / (1.0 - rate))
    for i in range(n):
        mask[i] = scale if next_u64(state) >= threshold else 0
        out[i] = a[i] * mask[i]
