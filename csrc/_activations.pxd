# cython: cdivision=True
# Hidden-layer activations, each written once beside its derivative.
#
# A derivative reads the stored activation OUTPUT a = f(z) where f' can be written
# through a (identity, logistic, tanh, relu, leaky_relu, elu, softplus), so no extra
# buffer is needed. GELU and swish need the pre-activation z: for them the forward
# pass keeps a copy of z (see needs_z), and their derivative reads it.
#
# The array kernels switch on the activation once per row and run a plain loop over
# the contiguous row, which the C compiler inlines and vectorises. Every member of
# Activation has its branch; the codes come from the names in _kernels.pyx only.

from cython cimport floating
from _fmath cimport sigmoid, softplus, ftanh, fexp, fexpm1, ferf


cdef enum Activation:
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    ELU = 5
    GELU = 6
    SOFTPLUS = 7
    SWISH = 8


cdef inline bint needs_z(Activation kind) noexcept nogil:
    """Whether the derivative reads the pre-activation z instead of the output."""
    return kind == GELU or kind == SWISH


# --- f(z) beside f'(z); `a` is f(z), `s` leaky_relu's negative slope ---------------

cdef inline floating identity(floating z) noexcept nogil:
    return z

cdef inline floating identity_grad(floating a) noexcept nogil:
    return 1


cdef inline floating logistic(floating z) noexcept nogil:
    return sigmoid(z)

cdef inline floating logistic_grad(floating a) noexcept nogil:
    return a * (<floating> 1 - a)


cdef inline floating tanh_(floating z) noexcept nogil:
    return ftanh(z)

cdef inline floating tanh_grad(floating a) noexcept nogil:
    return <floating> 1 - a * a


cdef inline floating relu(floating z) noexcept nogil:
    return z if z > 0 else 0

cdef inline floating relu_grad(floating a) noexcept nogil:
    # f'(0) = 0, as in scikit-learn
    return 1 if a > 0 else 0


cdef inline floating leaky_relu(floating z, floating s) noexcept nogil:
    return z if z > 0 else s * z

cdef inline floating leaky_relu_grad(floating a, floating s) noexcept nogil:
    # s >= 0, so a > 0 exactly where z > 0
    return 1 if a > 0 else s


cdef inline floating elu(floating z) noexcept nogil:
    return z if z > 0 else fexpm1(z)

cdef inline floating elu_grad(floating a) noexcept nogil:
    # for z <= 0: d/dz (exp(z) - 1) = exp(z) = a + 1
    return 1 if a > 0 else a + <floating> 1


cdef inline floating gelu(floating z) noexcept nogil:
    # exact form z * Phi(z)
    return <floating> 0.5 * z * (<floating> 1 + ferf(z * <floating> 0.7071067811865476))

cdef inline floating gelu_grad_z(floating z) noexcept nogil:
    # Phi(z) + z * phi(z)
    cdef floating half = 0.5, one = 1
    return (half * (one + ferf(z * <floating> 0.7071067811865476))
            + z * <floating> 0.3989422804014327 * fexp(-half * z * z))


cdef inline floating softplus_(floating z) noexcept nogil:
    return softplus(z)

cdef inline floating softplus_grad(floating a) noexcept nogil:
    # f'(z) = sigmoid(z) = 1 - exp(-a); expm1 keeps it exact for tiny a
    return -fexpm1(-a)


cdef inline floating swish(floating z) noexcept nogil:
    return z * sigmoid(z)

cdef inline floating swish_grad_z(floating z) noexcept nogil:
    cdef floating s = sigmoid(z), one = 1
    return s * (one + z * (one - s))


# --- array kernels -------------------------------------------------------------------

cdef inline void bias_activation(Activation kind, floating* z, const floating* b,
                                 floating* z_keep, Py_ssize_t n_rows,
                                 Py_ssize_t n_cols, floating slope) noexcept nogil:
    """In place, row by row: ``z <- f(z + b)`` in one fused pass; the pre-activation
    ``z + b`` is stored in ``z_keep`` too, unless that is NULL."""
    cdef Py_ssize_t i, j
    cdef floating* r
    cdef floating* k
    for i in range(n_rows):
        r = z + i * n_cols
        if z_keep != NULL:
            k = z_keep + i * n_cols
            for j in range(n_cols):
                k[j] = r[j] + b[j]
        if kind == RELU:
            for j in range(n_cols):
                r[j] = relu(r[j] + b[j])
        elif kind == TANH:
            for j in range(n_cols):
                r[j] = tanh_(r[j] + b[j])
        elif kind == LOGISTIC:
            for j in range(n_cols):
                r[j] = logistic(r[j] + b[j])
        elif kind == LEAKY_RELU:
            for j in range(n_cols):
                r[j] = leaky_relu(r[j] + b[j], slope)
        elif kind == ELU:
            for j in range(n_cols):
                r[j] = elu(r[j] + b[j])
        elif kind == GELU:
            for j in range(n_cols):
                r[j] = gelu(r[j] + b[j])
        elif kind == SOFTPLUS:
            for j in range(n_cols):
                r[j] = softplus_(r[j] + b[j])
        elif kind == SWISH:
            for j in range(n_cols):
                r[j] = swish(r[j] + b[j])
        elif kind == IDENTITY:
            for j in range(n_cols):
                r[j] = identity(r[j] + b[j])


cdef inline void activation_backward(Activation kind, const floating* f_in,
                                     floating* delta, floating* grad_b,
                                     Py_ssize_t n_rows, Py_ssize_t n_cols,
                                     floating slope, bint accumulate) noexcept nogil:
    """In place ``delta <- delta * f'``, fused with the bias gradient
    ``grad_b (+)= delta.sum(axis=0)``.

    ``f_in`` is what ``f'`` reads: the outputs ``a``, or the kept pre-activations
    ``z`` for the activations of ``needs_z`` (identity reads nothing).
    """
    cdef Py_ssize_t i, j
    cdef floating* d
    cdef const floating* r
    if not accumulate:
        for j in range(n_cols):
            grad_b[j] = 0
    for i in range(n_rows):
        d = delta + i * n_cols
        r = f_in + i * n_cols
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
        elif kind == LEAKY_RELU:
            for j in range(n_cols):
                d[j] *= leaky_relu_grad(r[j], slope)
                grad_b[j] += d[j]
        elif kind == ELU:
            for j in range(n_cols):
                d[j] *= elu_grad(r[j])
                grad_b[j] += d[j]
        elif kind == GELU:
            for j in range(n_cols):
                d[j] *= gelu_grad_z(r[j])
                grad_b[j] += d[j]
        elif kind == SOFTPLUS:
            for j in range(n_cols):
                d[j] *= softplus_grad(r[j])
                grad_b[j] += d[j]
        elif kind == SWISH:
            for j in range(n_cols):
                d[j] *= swish_grad_z(r[j])
                grad_b[j] += d[j]
        elif kind == IDENTITY:
            for j in range(n_cols):
                grad_b[j] += d[j]
