# Parameter updates over one flat, contiguous parameter buffer.
#
# Each update is a single fused loop: L2 penalty, optimizer state and parameter in one
# pass. It also returns the squared norm of the parameters BEFORE the update, which is
# what the L2 term of the batch's loss needs, so no separate pass is spent on it.
# The formulas follow scikit-learn's SGDOptimizer and AdamOptimizer exactly.

from cython cimport floating
from _fmath cimport fsqrt


cdef enum Solver:
    SGD = 0
    ADAM = 1


cdef inline double sgd_update(floating* w, const floating* g, floating* velocity,
                              Py_ssize_t n, floating lr, floating momentum,
                              bint nesterov, floating l2) noexcept nogil:
    """SGD with (Nesterov) momentum on gradient ``g + l2 * w``."""
    cdef Py_ssize_t i
    cdef double sq = 0.0
    cdef floating gi, v
    for i in range(n):
        sq += w[i] * w[i]
        gi = g[i] + l2 * w[i]
        v = momentum * velocity[i] - lr * gi
        velocity[i] = v
        if nesterov:
            w[i] += momentum * v - lr * gi
        else:
            w[i] += v
    return sq


cdef inline double adam_update(floating* w, const floating* g, floating* m,
                               floating* v, Py_ssize_t n, floating lr_t,
                               floating beta_1, floating beta_2, floating epsilon,
                               floating l2) noexcept nogil:
    """Adam on gradient ``g + l2 * w``; ``lr_t`` already holds the bias correction
    ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``."""
    cdef Py_ssize_t i
    cdef double sq = 0.0
    cdef floating gi
    for i in range(n):
        sq += w[i] * w[i]
        gi = g[i] + l2 * w[i]
        m[i] = beta_1 * m[i] + (1 - beta_1) * gi
        v[i] = beta_2 * v[i] + (1 - beta_2) * (gi * gi)
        w[i] += -lr_t * m[i] / (fsqrt(v[i]) + epsilon)
    return sq
