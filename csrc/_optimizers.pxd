# cython: cdivision=True
# Optimizer steps over contiguous slices of the flat parameter buffer.
#
# `begin_step` sets what changes from one step to the next (Adam's bias-corrected
# rate); `update` is then a single fused pass per slice: L2 penalty, gradient
# clipping, decoupled weight decay, optimizer state and parameter together. It also
# accumulates the squared norms of the parameters BEFORE the update (the L2 term of
# the batch's loss) and of the gradient (the per-layer gradient norms), so neither
# costs a pass of its own. SGD and Adam follow scikit-learn's SGDOptimizer and
# AdamOptimizer exactly.
#
# A slice is walked in blocks of LANES elements with one partial sum per lane: with a
# constant block width the C compiler turns each block into vector instructions, and
# the lanes are added in a fixed order, so results do not depend on memory alignment.
# (Why 16 and why some blocks are staged: benchmarks/README.md, "Kernel design notes".)

from cython cimport floating
from libc.math cimport sqrt
from _fmath cimport fsqrt

DEF LANES = 16


cdef enum Solver:
    SGD = 0
    ADAM = 1
    RMSPROP = 2


cdef struct Step:
    Solver solver
    double learning_rate   # of the epoch
    double momentum        # SGD
    bint nesterov          # SGD
    double beta_1, beta_2  # Adam
    double rho             # RMSprop
    double epsilon         # Adam, RMSprop
    double alpha           # L2 penalty, divided by the batch's weight per step
    double weight_decay    # decoupled: w <- w * (1 - learning_rate * weight_decay)
    bint clip              # whether to clip the gradient's norm to max_grad_norm
    double max_grad_norm
    # set by begin_step:
    double lr              # this step's rate (Adam: bias-corrected)
    double decay           # this step's weight decay factor


cdef inline void begin_step(Step* h, long t) noexcept nogil:
    """Prepare step number ``t`` (1 for the first step of a fresh optimizer)."""
    if h.solver == ADAM:
        # scikit-learn's AdamOptimizer: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        h.lr = h.learning_rate * (1 - h.beta_2 ** t) ** 0.5 / (1 - h.beta_1 ** t)
    elif h.solver == SGD or h.solver == RMSPROP:
        h.lr = h.learning_rate
    h.decay = h.learning_rate * h.weight_decay


# --- one block of at most LANES parameters per solver ------------------------------
# Adam's and RMSprop's float32 blocks are staged: copied into local arrays, updated
# there and copied back, so that the compiler knows the arrays do not overlap and
# vectorises the block without run-time overlap checks. Float64 blocks and SGD's are
# updated in place (staging them was slower).

cdef inline floating* staged(floating* local, floating* x,
                             Py_ssize_t count) noexcept nogil:
    """``local`` holding a copy of ``x[:count]`` for float32, else ``x`` itself."""
    cdef Py_ssize_t j
    if floating is double:
        return x
    for j in range(count):
        local[j] = x[j]
    return local


cdef inline void unstage(floating* x, const floating* local,
                         Py_ssize_t count) noexcept nogil:
    """Copy a staged block back (nothing to do where ``local`` is ``x``)."""
    cdef Py_ssize_t j
    if floating is double:
        return
    for j in range(count):
        x[j] = local[j]


cdef inline floating penalised(floating w, floating g, floating l2, floating* sq_w,
                               floating* sq_g) noexcept nogil:
    """The gradient with its L2 term, ``g + l2 * w``; adds ``w^2`` and its square to
    the lane sums."""
    cdef floating gp = g + l2 * w
    sq_w[0] += w * w
    sq_g[0] += gp * gp
    return gp


cdef inline void sgd_block(const Step* h, floating* w, const floating* g,
                           floating* velocity, Py_ssize_t count, floating l2,
                           floating clip, floating* sq_w,
                           floating* sq_g) noexcept nogil:
    # not staged: gcc turns the staged float32 block into scalar code
    cdef Py_ssize_t j
    cdef floating wj, gj, v
    cdef floating lr = <floating> h.lr, mom = <floating> h.momentum
    cdef floating keep = <floating> (1.0 - h.decay)
    for j in range(count):
        wj = w[j]
        gj = clip * penalised(wj, g[j], l2, &sq_w[j], &sq_g[j])
        v = mom * velocity[j] - lr * gj
        velocity[j] = v
        if h.nesterov:
            w[j] = keep * wj + (mom * v - lr * gj)
        else:
            w[j] = keep * wj + v


cdef inline void adam_block(const Step* h, floating* w_, const floating* g_,
                            floating* m_, floating* s_, Py_ssize_t count, floating l2,
                            floating clip, floating* sq_w,
                            floating* sq_g) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating wj, gj, mj, sj
    cdef floating lr = <floating> h.lr, eps = <floating> h.epsilon
    cdef floating b1 = <floating> h.beta_1, b2 = <floating> h.beta_2
    cdef floating c1 = <floating> (1.0 - h.beta_1), c2 = <floating> (1.0 - h.beta_2)
    cdef floating keep = <floating> (1.0 - h.decay)
    cdef floating wl[LANES]
    cdef floating gl[LANES]
    cdef floating ml[LANES]
    cdef floating sl[LANES]
    cdef floating* w = staged(wl, w_, count)
    cdef floating* g = staged(gl, <floating*> g_, count)
    cdef floating* m = staged(ml, m_, count)
    cdef floating* s = staged(sl, s_, count)
    for j in range(count):
        wj = w[j]
        gj = clip * penalised(wj, g[j], l2, &sq_w[j], &sq_g[j])
        mj = b1 * m[j] + c1 * gj
        sj = b2 * s[j] + c2 * (gj * gj)
        m[j] = mj
        s[j] = sj
        w[j] = keep * wj - lr * mj / (fsqrt(sj) + eps)
    unstage(w_, w, count)
    unstage(m_, m, count)
    unstage(s_, s, count)


cdef inline void rmsprop_block(const Step* h, floating* w_, const floating* g_,
                               floating* s_, Py_ssize_t count, floating l2,
                               floating clip, floating* sq_w,
                               floating* sq_g) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating wj, gj, sj
    cdef floating lr = <floating> h.lr, eps = <floating> h.epsilon
    cdef floating rho = <floating> h.rho, c = <floating> (1.0 - h.rho)
    cdef floating keep = <floating> (1.0 - h.decay)
    cdef floating wl[LANES]
    cdef floating gl[LANES]
    cdef floating sl[LANES]
    cdef floating* w = staged(wl, w_, count)
    cdef floating* g = staged(gl, <floating*> g_, count)
    cdef floating* s = staged(sl, s_, count)
    for j in range(count):
        wj = w[j]
        gj = clip * penalised(wj, g[j], l2, &sq_w[j], &sq_g[j])
        sj = rho * s[j] + c * (gj * gj)
        s[j] = sj
        w[j] = keep * wj - lr * gj / (fsqrt(sj) + eps)
    unstage(w_, w, count)
    unstage(s_, s, count)


cdef inline void update(const Step* h, floating* w, const floating* g, floating* s1,
                        floating* s2, Py_ssize_t n, floating l2, floating clip,
                        double* sq_w, double* sq_g) noexcept nogil:
    """Update ``w`` along the gradient ``clip * (g + l2 * w)``.

    ``s1`` / ``s2``: SGD velocity / unused, Adam first / second moments, RMSprop
    mean square / unused. ``sq_w`` and ``sq_g`` are incremented by ``||w||^2``
    (before the update) and ``||g + l2 * w||^2`` (before clipping).
    """
    cdef Py_ssize_t i, j, end = n - n % LANES
    cdef floating lane_w[LANES]
    cdef floating lane_g[LANES]
    for j in range(LANES):
        lane_w[j] = 0
        lane_g[j] = 0
    # one tight loop per solver over the whole blocks, the width a constant; then
    # the rest
    if h.solver == ADAM:
        for i in range(0, end, LANES):
            adam_block(h, w + i, g + i, s1 + i, s2 + i, LANES, l2, clip, lane_w,
                       lane_g)
        adam_block(h, w + end, g + end, s1 + end, s2 + end, n - end, l2, clip,
                   lane_w, lane_g)
    elif h.solver == RMSPROP:
        for i in range(0, end, LANES):
            rmsprop_block(h, w + i, g + i, s1 + i, LANES, l2, clip, lane_w, lane_g)
        rmsprop_block(h, w + end, g + end, s1 + end, n - end, l2, clip, lane_w,
                      lane_g)
    elif h.solver == SGD:
        for i in range(0, end, LANES):
            sgd_block(h, w + i, g + i, s1 + i, LANES, l2, clip, lane_w, lane_g)
        sgd_block(h, w + end, g + end, s1 + end, n - end, l2, clip, lane_w, lane_g)
    for j in range(LANES):
        sq_w[0] += lane_w[j]
        sq_g[0] += lane_g[j]


cdef inline double penalised_sq_norm(const floating* w, const floating* g,
                                     Py_ssize_t n, floating l2) noexcept nogil:
    """``||g + l2 * w||^2``: the squared norm that gradient clipping bounds."""
    cdef Py_ssize_t i, j
    cdef floating lane[LANES]
    cdef floating gi
    cdef double total = 0.0
    for j in range(LANES):
        lane[j] = 0
    for i in range(n - n % LANES):
        gi = g[i] + l2 * w[i]
        lane[i % LANES] += gi * gi
    for i in range(n - n % LANES, n):
        gi = g[i] + l2 * w[i]
        total += gi * gi
    for j in range(LANES):
        total += lane[j]
    return total


cdef inline floating clip_factor(const Step* h, const floating* w, const floating* g,
                                 Py_ssize_t n_coefs, Py_ssize_t n,
                                 floating l2) noexcept nogil:
    """The factor that brings the gradient, with its L2 term on the first
    ``n_coefs`` parameters, to norm ``max_grad_norm`` where it is longer; else 1."""
    cdef double sq
    if not h.clip:
        return 1
    sq = (penalised_sq_norm(w, g, n_coefs, l2)
          + penalised_sq_norm(w + n_coefs, g + n_coefs, n - n_coefs, <floating> 0.0))
    if sqrt(sq) + 1e-6 > h.max_grad_norm:
        return <floating> (h.max_grad_norm / (sqrt(sq) + 1e-6))
    return 1
