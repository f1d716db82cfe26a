# Output layers: each link (output activation) with its loss and the loss's gradient
# with respect to the raw output z, side by side.
#
# All losses are computed from the raw outputs (logits) with log-sum-exp / softplus, so
# there is no log(0) and no eps clipping of probabilities. Every pair is canonical, so
# the output delta is always  s_i * (link(z_i) - y_i) * scale.

from cython cimport floating
from _fmath cimport fexp, flog, sigmoid, softplus


cdef enum Output:
    OUT_IDENTITY = 0   # identity link, half squared error
    OUT_LOGISTIC = 1   # sigmoid link, binary log-loss per output (binary, multilabel)
    OUT_SOFTMAX = 2    # softmax link, multinomial log-loss
    OUT_EXP = 3        # exp link, half Poisson deviance


cdef inline double loss_and_delta(int kind, floating* z, const floating* y,
                                  const Py_ssize_t* rows, const floating* sw,
                                  Py_ssize_t n, Py_ssize_t k,
                                  floating scale) noexcept nogil:
    """Return ``sum_i s_i * loss_i`` and overwrite ``z`` with the output delta.

    Parameters
    ----------
    z : (n, k) raw outputs of the batch; on return ``s_i * (link(z_i) - y_i) * scale``.
    y : targets of ALL samples, (n_samples, k); the target row of batch row ``i`` is
        ``y[rows[i]]`` and its weight ``sw[rows[i]]`` (``sw`` NULL: all weights 1).
    scale : usually ``1 / sum of the batch's weights``, so the delta is already the
        gradient of the weighted mean loss.
    """
    cdef Py_ssize_t i, j
    cdef floating* zi
    cdef const floating* yi
    cdef floating s, d, m, total, lse
    cdef double loss = 0.0, li
    for i in range(n):
        zi = z + i * k
        yi = y + rows[i] * k
        s = sw[rows[i]] if sw != NULL else 1
        li = 0.0
        if kind == OUT_IDENTITY:
            for j in range(k):
                d = zi[j] - yi[j]
                li += 0.5 * d * d
                zi[j] = s * scale * d
        elif kind == OUT_LOGISTIC:
            for j in range(k):
                li += softplus(zi[j]) - yi[j] * zi[j]
                zi[j] = s * scale * (sigmoid(zi[j]) - yi[j])
        elif kind == OUT_SOFTMAX:
            # -sum_j y_j log softmax(z)_j = sum_j y_j (lse - z_j), lse with max shift
            m = zi[0]
            for j in range(1, k):
                if zi[j] > m:
                    m = zi[j]
            total = 0
            for j in range(k):
                total += fexp(zi[j] - m)
            lse = m + flog(total)
            for j in range(k):
                li += yi[j] * (lse - zi[j])
                zi[j] = s * scale * (fexp(zi[j] - lse) - yi[j])
        else:  # OUT_EXP
            for j in range(k):
                d = fexp(zi[j])
                # exp(z) - y z + (y log y - y): the constant makes a perfect fit zero
                li += d - yi[j] * zi[j] - yi[j]
                if yi[j] > 0:
                    li += yi[j] * flog(yi[j])
                zi[j] = s * scale * (d - yi[j])
        loss += s * li
    return loss


cdef inline void apply_link(int kind, floating* z, Py_ssize_t n, Py_ssize_t k,
                            bint log_link) noexcept nogil:
    """In place ``z <- link(z)`` (predictions), or ``log(link(z))`` if ``log_link``.

    The log forms are log-softmax and log-sigmoid ``-softplus(-z)``: finite for every
    finite z, never ``log(0)``.
    """
    cdef Py_ssize_t i, j
    cdef floating* zi
    cdef floating m, total, lse
    for i in range(n):
        zi = z + i * k
        if kind == OUT_LOGISTIC:
            for j in range(k):
                zi[j] = -softplus(-zi[j]) if log_link else sigmoid(zi[j])
        elif kind == OUT_SOFTMAX:
            m = zi[0]
            for j in range(1, k):
                if zi[j] > m:
                    m = zi[j]
            total = 0
            for j in range(k):
                total += fexp(zi[j] - m)
            lse = m + flog(total)
            for j in range(k):
                zi[j] = zi[j] - lse if log_link else fexp(zi[j] - lse)
        elif kind == OUT_EXP:
            if not log_link:
                for j in range(k):
                    zi[j] = fexp(zi[j])
        # identity: nothing to do (log-link is meaningless and never requested)
