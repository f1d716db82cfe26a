# cython: cdivision=True
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
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy
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


# --- exp in plain arithmetic, for loops the compiler vectorises ----------------------
#
# A loop that calls libm's exp runs one element at a time. ``exp_arith`` is written in
# multiplies, adds and integer bit operations only, so a loop of it over an array
# compiles to vector instructions (several times faster; see ``exp_inplace``).
# exp(x) = 2^k * exp(r) with k = round(x / ln 2) and |r| <= ln(2) / 2; exp(r) is its
# Taylor polynomial (degree 13 for double, 7 for float: truncation error below half
# an ulp), and 2^k is applied as two factors 2^k1 * 2^(k - k1) so that subnormal and
# near-overflow results come out right. Accuracy: within 1 ulp of the true value;
# exp(-inf) = 0, exp(inf) = inf, NaN stays NaN.

DEF ROUND_D = 6755399441055744.0   # 1.5 * 2^52: adding it rounds to an integer ...
DEF ROUND_F = 12582912.0           # 1.5 * 2^23  ... held in the low mantissa bits


cdef inline floating pow2(floating k) noexcept nogil:
    """2^k for an integral k in the normal range ([-1022, 1023] for double, [-126,
    127] for float), built from its exponent bits."""
    cdef floating t
    cdef int64_t bits_d
    cdef int32_t bits_f
    if floating is double:
        t = k + ROUND_D
        memcpy(&bits_d, &t, 8)
        bits_d = (bits_d - <int64_t> 0x4338000000000000 + 1023) << 52
        memcpy(&t, &bits_d, 8)
    else:
        t = k + <float> ROUND_F
        memcpy(&bits_f, &t, 4)
        bits_f = (bits_f - <int32_t> 0x4B400000 + 127) << 23
        memcpy(&t, &bits_f, 4)
    return t


cdef inline floating exp_arith(floating x) noexcept nogil:
    cdef floating xc, k, k1, r, p
    if floating is double:
        xc = x if x > -746.0 else -746.0        # exp underflows to 0 below -745.2
        xc = xc if xc < 710.0 else 710.0        # and overflows to inf above 709.8
        k = (xc * 1.4426950408889634 + ROUND_D) - ROUND_D
        r = xc - k * 0.6931471805598903         # ln 2 in two parts, so r is exact
        r = r - k * 5.497923018708371e-14
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        k1 = (k * 0.5 + ROUND_D) - ROUND_D
    else:
        xc = x if x > <float> -104.0 else <float> -104.0
        xc = xc if xc < <float> 89.0 else <float> 89.0
        k = (xc * <float> 1.44269504 + <float> ROUND_F) - <float> ROUND_F
        r = xc - k * <float> 0.693359375
        r = r - k * <float> -2.12194440e-4
        p = <float> (1.0 / 5040.0)
        p = p * r + <float> (1.0 / 720.0)
        p = p * r + <float> (1.0 / 120.0)
        p = p * r + <float> (1.0 / 24.0)
        p = p * r + <float> (1.0 / 6.0)
        p = p * r + <float> 0.5
        p = p * r + <float> 1.0
        p = p * r + <float> 1.0
        k1 = (k * <float> 0.5 + <float> ROUND_F) - <float> ROUND_F
    p = p * pow2(k1) * pow2(k - k1)
    return p if x == x else x


cdef inline void exp_inplace(floating* x, Py_ssize_t n) noexcept nogil:
    """``x[i] = exp(x[i])`` over a whole array, as vector code."""
    cdef Py_ssize_t i
    for i in range(n):
        x[i] = exp_arith(x[i])
