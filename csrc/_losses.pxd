# cython: cdivision=True
# Output layers: each loss beside its gradient with respect to the raw output z, and
# the link (output activation) it is paired with.
#
# Losses are computed from the raw outputs (logits) with log-sum-exp / softplus, so
# there is no log(0) and no eps clipping of probabilities. The four canonical pairs
# (identity + squared error, sigmoid + binary log-loss, softmax + log-loss, exp +
# Poisson) all give the output delta s_i * (link(z_i) - y_i) * scale; absolute error
# and Huber use the identity link with their own (robust) gradients. Every member of
# Output has its branch; the codes come from the names in _kernels.pyx only.

from cython cimport floating
from _fmath cimport fexp, flog, fabsval, sigmoid, softplus, exp_inplace


cdef enum Output:
    OUT_SQUARED = 0       # identity link, half squared error
    OUT_BINARY_LOG = 1    # sigmoid link, binary log-loss per output (and multilabel)
    OUT_LOG = 2           # softmax link, multinomial log-loss
    OUT_POISSON = 3       # exp link, half Poisson deviance
    OUT_ABSOLUTE = 4      # identity link, absolute error
    OUT_HUBER = 5         # identity link, Huber loss with threshold `param`


cdef inline bint identity_link(Output kind) noexcept nogil:
    """Whether the loss is paired with the identity output activation."""
    return kind == OUT_SQUARED or kind == OUT_ABSOLUTE or kind == OUT_HUBER


cdef inline floating row_max(const floating* z, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating m = z[0]
    for j in range(1, k):
        if z[j] > m:
            m = z[j]
    return m


cdef inline floating log_sum_exp(const floating* z, Py_ssize_t k) noexcept nogil:
    """log(sum_j exp(z_j)), shifted by the maximum so no exp overflows."""
    cdef Py_ssize_t j
    cdef floating m = row_max(z, k), total = 0
    for j in range(k):
        total += fexp(z[j] - m)
    return m + flog(total)


cdef inline double softmax_loss_and_delta(floating* z, const floating* y,
                                          const Py_ssize_t* rows, const floating* sw,
                                          Py_ssize_t n, Py_ssize_t k,
                                          floating scale) noexcept nogil:
    """``loss_and_delta`` of the softmax link and multinomial log-loss.

    Per row, ``-sum_j y_j log softmax(z)_j = sum_j y_j (lse - z_j)`` with
    ``lse = m + log(sum_j exp(z_j - m))``, m the row's maximum (so no exp overflows);
    the delta is ``s * scale * (softmax(z) - y)``. Three passes, so that the exps run
    over the whole block at once as vector code: shift the rows by their maxima,
    exponentiate, then normalise.
    """
    cdef Py_ssize_t i, j
    cdef floating* zi
    cdef const floating* yi
    cdef floating m, total, s, inv, y_sum
    cdef double loss = 0.0, li
    for i in range(n):
        zi = z + i * k
        yi = y + rows[i] * k
        m = row_max(zi, k)
        li = 0.0
        for j in range(k):
            zi[j] = zi[j] - m
            li -= yi[j] * zi[j]
        loss += (sw[rows[i]] if sw != NULL else 1) * li
    exp_inplace(z, n * k)
    for i in range(n):
        zi = z + i * k
        yi = y + rows[i] * k
        total = 0
        y_sum = 0
        for j in range(k):
            total += zi[j]
            y_sum += yi[j]
        s = sw[rows[i]] if sw != NULL else 1
        loss += s * y_sum * flog(total)
        s = s * scale
        inv = s / total
        for j in range(k):
            zi[j] = zi[j] * inv - s * yi[j]
    return loss


cdef inline double loss_and_delta(Output kind, floating* z, const floating* y,
                                  const Py_ssize_t* rows, const floating* sw,
                                  Py_ssize_t n, Py_ssize_t k, floating scale,
                                  floating param) noexcept nogil:
    """Return ``sum_i s_i * loss_i`` and overwrite ``z`` with the output delta.

    Parameters
    ----------
    z : (n, k) raw outputs; on return ``s_i * dloss_i/dz_i * scale``.
    y : targets of ALL samples, (n_samples, k); the target row of block row ``i`` is
        ``y[rows[i]]`` and its weight ``sw[rows[i]]`` (``sw`` NULL: all weights 1).
    scale : usually ``1 / sum of the block's weights``, so the delta is already the
        gradient of the weighted mean loss.
    param : the Huber threshold (unused by the other losses).
    """
    cdef Py_ssize_t i, j
    cdef floating* zi
    cdef const floating* yi
    cdef floating s, d
    cdef double loss = 0.0, li
    if kind == OUT_LOG:
        return softmax_loss_and_delta(z, y, rows, sw, n, k, scale)
    for i in range(n):
        zi = z + i * k
        yi = y + rows[i] * k
        s = sw[rows[i]] if sw != NULL else 1
        li = 0.0
        if kind == OUT_SQUARED:
            for j in range(k):
                d = zi[j] - yi[j]
                li += 0.5 * d * d
                zi[j] = s * scale * d
        elif kind == OUT_BINARY_LOG:
            for j in range(k):
                li += softplus(zi[j]) - yi[j] * zi[j]
                zi[j] = s * scale * (sigmoid(zi[j]) - yi[j])
        elif kind == OUT_POISSON:
            for j in range(k):
                d = fexp(zi[j])
                # exp(z) - y z + (y log y - y): the constant makes a perfect fit zero
                li += d - yi[j] * zi[j] - yi[j]
                if yi[j] > 0:
                    li += yi[j] * flog(yi[j])
                zi[j] = s * scale * (d - yi[j])
        elif kind == OUT_ABSOLUTE:
            for j in range(k):
                d = zi[j] - yi[j]
                li += fabsval(d)
                zi[j] = s * scale * (1 if d > 0 else (-1 if d < 0 else 0))
        elif kind == OUT_HUBER:
            for j in range(k):
                d = zi[j] - yi[j]
                if fabsval(d) <= param:
                    li += 0.5 * d * d
                else:
                    li += param * (fabsval(d) - 0.5 * param)
                    d = param if d > 0 else -param
                zi[j] = s * scale * d
        loss += s * li
    return loss


cdef inline void apply_link(Output kind, floating* z, Py_ssize_t n, Py_ssize_t k,
                            bint log_link) noexcept nogil:
    """In place ``z <- link(z)`` (predictions), or ``log(link(z))`` if ``log_link``
    (classification outputs only).

    The log forms are log-softmax and log-sigmoid ``-softplus(-z)``: finite for every
    finite z, never ``log(0)``. Softmax takes three passes, as
    ``softmax_loss_and_delta`` does: shift the rows by their maxima, exponentiate the
    block at once as vector code, normalise.
    """
    cdef Py_ssize_t i, j
    cdef floating* zi
    cdef floating lse, m, total
    if identity_link(kind):
        return
    if kind == OUT_LOG and not log_link:
        for i in range(n):
            zi = z + i * k
            m = row_max(zi, k)
            for j in range(k):
                zi[j] = zi[j] - m
        exp_inplace(z, n * k)
        for i in range(n):
            zi = z + i * k
            total = 0
            for j in range(k):
                total += zi[j]
            for j in range(k):
                zi[j] = zi[j] / total
        return
    for i in range(n):
        zi = z + i * k
        if kind == OUT_BINARY_LOG:
            for j in range(k):
                zi[j] = -softplus(-zi[j]) if log_link else sigmoid(zi[j])
        elif kind == OUT_LOG:
            lse = log_sum_exp(zi, k)
            for j in range(k):
                zi[j] = zi[j] - lse
        elif kind == OUT_POISSON:
            for j in range(k):
                zi[j] = fexp(zi[j])
