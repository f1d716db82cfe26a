# cython: cdivision=True, boundscheck=False, wraparound=False, initializedcheck=False
# Scalar math for fused float32/float64 kernels.
#
# libm has one function per precision (expf / exp); calling the double version on a
# float promotes, converts back and is several times slower in the inner loops.
# These inline wrappers pick the right one at compile time for each specialisation.
#
# Note for all kernels: Cython writes a literal such as ``1`` as the C double ``1.0``,
# which would silently promote float32 arithmetic to double; hot float code therefore
# spells its constants as typed values (``<floating> 1`` or a typed local).

from cython cimport floating
from libc.math cimport (exp, expf, expm1, expm1f, log, logf, log1p, log1pf,
                        tanh, tanhf, sqrt, sqrtf, fabs, fabsf, erf, erff)


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating fexpm1(floating x) noexcept nogil:
    if floating is float:
        return expm1f(x)
    else:
        return expm1(x)


cdef inline floating ferf(floating x) noexcept nogil:
    if floating is float:
        return erff(x)
    else:
        return erf(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating flog1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating ftanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating fsqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating fabsval(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating sigmoid(floating z) noexcept nogil:
    """Logistic function; exp is only taken of -|z|, so it never overflows."""
    cdef floating e = fexp(-fabsval(z)), one = 1
    if z >= 0:
        return one / (one + e)
    return e / (one + e)


cdef inline floating softplus(floating z) noexcept nogil:
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), exact and overflow-free."""
    return (z if z > 0 else 0) + flog1p(fexp(-fabsval(z)))
