# Parameter updates over one contiguous slice of the flat parameter buffer.
#
# Each update is a single fused loop: L2 penalty, gradient clipping, decoupled weight
# decay, optimizer state and parameter in one pass. It also accumulates the squared
# norms of the parameters BEFORE the update (the L2 term of the batch's loss) and of
# the gradient (the per-layer gradient norms), so neither costs a pass of its own.
# SGD and Adam follow scikit-learn's SGDOptimizer and AdamOptimizer exactly.

from cython cimport floating
from _fmath cimport fsqrt


cdef enum Solver:
    SGD = 0
    ADAM = 1
    RMSPROP = 2


cdef struct Step:
    int solver
    double lr              # learning rate of this step (Adam: bias-corrected)
    double decay           # decoupled weight decay factor: w <- w * (1 - decay)
    double momentum        # SGD
    bint nesterov          # SGD
    double beta_1, beta_2  # Adam
    double rho             # RMSprop
    double epsilon         # Adam, RMSprop


cdef inline void update(const Step* h, floating* w, const floating* g, floating* s1,
                        floating* s2, Py_ssize_t n, floating l2, floating clip,
                        double* sq_w, double* sq_g) noexcept nogil:
    """Update ``w`` along the gradient ``clip * (g + l2 * w)``.

    ``s1`` / ``s2``: SGD velocity / unused, Adam first / second moments, RMSprop
    mean square / unused. ``sq_w`` and ``sq_g`` are incremented by ``||w||^2``
    (before the update) and ``||g + l2 * w||^2`` (before clipping).
    """
    cdef Py_ssize_t i
    cdef double sw = 0.0, sg = 0.0
    cdef floating gi, v
    cdef floating lr = <floating> h.lr, keep = <floating> (1.0 - h.decay)
    cdef floating mom = <floating> h.momentum, eps = <floating> h.epsilon
    cdef floating b1 = <floating> h.beta_1, b2 = <floating> h.beta_2
    cdef floating rho = <floating> h.rho
    if h.solver == ADAM:
        for i in range(n):
            sw += w[i] * w[i]
            gi = g[i] + l2 * w[i]
            sg += gi * gi
            gi = gi * clip
            s1[i] = b1 * s1[i] + (1 - b1) * gi
            s2[i] = b2 * s2[i] + (1 - b2) * (gi * gi)
            w[i] = keep * w[i] - lr * s1[i] / (fsqrt(s2[i]) + eps)
    elif h.solver == RMSPROP:
        for i in range(n):
            sw += w[i] * w[i]
            gi = g[i] + l2 * w[i]
            sg += gi * gi
            gi = gi * clip
            s1[i] = rho * s1[i] + (1 - rho) * (gi * gi)
            w[i] = keep * w[i] - lr * gi / (fsqrt(s1[i]) + eps)
    else:
        for i in range(n):
            sw += w[i] * w[i]
            gi = g[i] + l2 * w[i]
            sg += gi * gi
            gi = gi * clip
            v = mom * s1[i] - lr * gi
            s1[i] = v
            if h.nesterov:
                w[i] = keep * w[i] + (mom * v - lr * gi)
            else:
                w[i] = keep * w[i] + v
    sq_w[0] += sw
    sq_g[0] += sg


cdef inline double penalised_sq_norm(const floating* w, const floating* g,
                                     Py_ssize_t n, floating l2) noexcept nogil:
    """``||g + l2 * w||^2``: the squared norm that gradient clipping bounds."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    cdef floating gi
    for i in range(n):
        gi = g[i] + l2 * w[i]
        total += gi * gi
    return total
