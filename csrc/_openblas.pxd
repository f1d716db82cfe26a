# cython: cdivision=True
# When OpenBLAS computes a row-major product faster as several calls (csrc/_blas.pxd).
#
# OpenBLAS's AVX-512 ("SkylakeX"-class) kernels have a path for products of at most
# 100^3 multiply-adds that skips packing the operands. Products somewhat above that
# size run faster as a few row blocks that each take the path: rows of C are
# independent, so the blocks give the whole product (to rounding). The path is
# single-threaded, so blocks are for one BLAS thread only, and they must not be too
# thin. Products with op(B) transposed never take the path; where B is small, copying
# op(B) into a plain array first lets them. Any other BLAS: products whole, no copies.
# The thresholds below come from measurements summarised in benchmarks/README.md
# ("Kernel design notes").

ctypedef int (*ThreadsGetter)() noexcept nogil

cdef extern from "openblas_policy.h":
    ctypedef enum SplitMode "fcnn_split_mode":
        SPLIT_AUTO "FCNN_SPLIT_AUTO"
        SPLIT_NEVER "FCNN_SPLIT_NEVER"
        SPLIT_ALWAYS "FCNN_SPLIT_ALWAYS"
    ctypedef struct Policy "fcnn_openblas_policy":
        SplitMode mode
        bint small_kernels
        ThreadsGetter threads
    Policy policy "fcnn_policy"
    void openblas_probe "fcnn_openblas_probe" (void* blas_fn) noexcept nogil
    bint openblas_open "fcnn_openblas_open" (const char* path, void** sgemm,
                                             void** dgemm) noexcept nogil

cdef enum:
    SMALL_MNK = 1000000      # OpenBLAS's small-path limit, 100^3 multiply-adds
    SPLIT_MAX_MNK = 4500000  # beyond it, only blocks of at least LARGE_MIN_ROWS rows,
    LARGE_MIN_ROWS = 30      # and float64 rows of C at most LARGE_F64_MAX_N wide
    LARGE_F64_MAX_N = 256
    SPLIT_MIN_ROWS = 8
    SMALL_B_MAX = 16384      # elements of a transposed op(B) that may be copied


cdef inline bint one_thread_small_kernels() noexcept nogil:
    """The BLAS is OpenBLAS with AVX-512 kernels, running one thread now."""
    # the getter read once: a product never calls a NULL one (openblas_policy.h)
    cdef ThreadsGetter threads = policy.threads
    return policy.small_kernels and threads != NULL and threads() == 1


cdef inline int split_rows(bint trans_b, bint single, int m, int n,
                           int k) noexcept nogil:
    """Rows per block of ``op(A)[m, k] @ op(B)[k, n]`` (``m``: whole);
    ``single``: float32."""
    cdef double mnk = <double> m * n * k
    cdef int rows
    if trans_b:
        return m
    if policy.mode == SPLIT_ALWAYS:  # three blocks, whatever the size
        return max(1, (m + 2) // 3)
    if policy.mode == SPLIT_NEVER or mnk <= SMALL_MNK:
        return m
    rows = <int> (SMALL_MNK // (<double> n * k))
    if mnk > SPLIT_MAX_MNK and (rows < LARGE_MIN_ROWS
                                or (not single and n > LARGE_F64_MAX_N)):
        return m
    if rows < SPLIT_MIN_ROWS or not one_thread_small_kernels():
        return m
    return rows


cdef inline bint copies_b(bint single, int m, int n, int k) noexcept nogil:
    """Whether ``A[m, k] @ B.T[k, n]`` first copies ``B.T`` into a plain array:
    where the product then takes the small path (at any thread count) or row
    blocks."""
    if policy.mode == SPLIT_NEVER or <double> k * n > SMALL_B_MAX:
        return False
    if policy.mode == SPLIT_ALWAYS:
        return True
    if <double> m * n * k <= SMALL_MNK:
        return policy.small_kernels
    return split_rows(False, single, m, n, k) < m
