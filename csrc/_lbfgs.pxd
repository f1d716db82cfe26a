# cython: cdivision=True
# The L-BFGS search direction: the two-loop recursion (Nocedal & Wright, Numerical
# Optimization, 2nd ed., algorithm 7.4).
#
# H is the limited-memory inverse Hessian built from the last `col` pairs
# s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i, rho_i = 1 / s_i'y_i, starting from
# H_0 = gamma * I. The pairs sit in the rows of S and Y as a ring: the oldest in row
# `head`, the newest in row (head + col - 1) % m. d <- -H g costs 4 passes over the
# pairs (a dot product and an axpy per pair and loop), O(m n), no allocation.
#
# This is the same direction as scipy's L-BFGS-B computes without bounds (through the
# compact representation of B = H^-1, theta = 1 / gamma): equal in exact arithmetic.

from scipy.linalg.cython_blas cimport ddot, daxpy, dscal


cdef inline double two_loop(const double* g, const double* S, const double* Y,
                            const double* rho, double* alpha, int n, int m, int head,
                            int col, double gamma, double* d) noexcept nogil:
    """d <- -H g; returns d'd."""
    cdef int i, j, one = 1
    cdef double beta, scale = -1.0
    for j in range(n):
        d[j] = g[j]
    for i in range(col - 1, -1, -1):  # newest to oldest: q <- q - alpha_i y_i
        j = (head + i) % m
        alpha[j] = rho[j] * ddot(&n, <double*> &S[<Py_ssize_t> j * n], &one, d, &one)
        beta = -alpha[j]
        daxpy(&n, &beta, <double*> &Y[<Py_ssize_t> j * n], &one, d, &one)
    dscal(&n, &gamma, d, &one)
    for i in range(col):  # oldest to newest: r <- r + (alpha_i - beta_i) s_i
        j = (head + i) % m
        beta = alpha[j] - rho[j] * ddot(&n, <double*> &Y[<Py_ssize_t> j * n], &one,
                                        d, &one)
        daxpy(&n, &beta, <double*> &S[<Py_ssize_t> j * n], &one, d, &one)
    dscal(&n, &scale, d, &one)
    return ddot(&n, d, &one, d, &one)
