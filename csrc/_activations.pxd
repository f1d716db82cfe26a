# Hidden-layer activations, each written once beside its derivative.
#
# Every derivative here reads the stored activation OUTPUT a = f(z), not z, so the
# forward pass can overwrite z with a in place and the backward pass needs no extra
# buffer (identity: 1, logistic: a(1-a), tanh: 1-a^2, relu: [a > 0]).
#
# The array kernels switch on the activation once per row and run a plain loop over
# the contiguous row, which the C compiler inlines and vectorises.

from cython cimport floating
from _fmath cimport sigmoid, ftanh


cdef enum Activation:
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3


# --- f(z) and f'(z) expressed through a = f(z) -------------------------------------

cdef inline floating identity(floating z) noexcept nogil:
    return z

cdef inline floating identity_grad(floating a) noexcept nogil:
    return 1


cdef inline floating logistic(floating z) noexcept nogil:
    return sigmoid(z)

cdef inline floating logistic_grad(floating a) noexcept nogil:
    return a * (1 - a)


cdef inline floating tanh_(floating z) noexcept nogil:
    return ftanh(z)

cdef inline floating tanh_grad(floating a) noexcept nogil:
    return 1 - a * a


cdef inline floating relu(floating z) noexcept nogil:
    return z if z > 0 else 0

cdef inline floating relu_grad(floating a) noexcept nogil:
    # f'(0) = 0, as in scikit-learn
    return 1 if a > 0 else 0


# --- array kernels -------------------------------------------------------------------

cdef inline void bias_activation(int kind, floating* z, const floating* b,
                                 Py_ssize_t n_rows, Py_ssize_t n_cols) noexcept nogil:
    """In place, row by row: ``z <- f(z + b)`` (one fused pass)."""
    cdef Py_ssize_t i, j
    cdef floating* r
    for i in range(n_rows):
        r = z + i * n_cols
        if kind == RELU:
            for j in range(n_cols):
                r[j] = relu(r[j] + b[j])
        elif kind == TANH:
            for j in range(n_cols):
                r[j] = tanh_(r[j] + b[j])
        elif kind == LOGISTIC:
            for j in range(n_cols):
                r[j] = logistic(r[j] + b[j])
        else:
            for j in range(n_cols):
                r[j] = identity(r[j] + b[j])


cdef inline void activation_backward(int kind, const floating* a, floating* delta,
                                     floating* grad_b, Py_ssize_t n_rows,
                                     Py_ssize_t n_cols, bint accumulate) noexcept nogil:
    """In place ``delta <- delta * f'(z)`` (read from the outputs ``a``), fused with the
    bias gradient ``grad_b (+)= delta.sum(axis=0)``.

    ``a`` is not read for the identity, so it may be NULL there.
    """
    cdef Py_ssize_t i, j
    cdef floating* d
    cdef const floating* r
    if not accumulate:
        for j in range(n_cols):
            grad_b[j] = 0
    for i in range(n_rows):
        d = delta + i * n_cols
        r = a + i * n_cols
        if kind == RELU:
            for j in range(n_cols):
                d[j] *= relu_grad(r[j])
                grad_b[j] += d[j]
        elif kind == TANH:
            for j in range(n_cols):
                d[j] *= tanh_grad(r[j])
                grad_b[j] += d[j]
        elif kind == LOGISTIC:
            for j in range(n_cols):
                d[j] *= logistic_grad(r[j])
                grad_b[j] += d[j]
        else:
            for j in range(n_cols):
                grad_b[j] += d[j]
