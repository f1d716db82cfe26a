# cython: cdivision=True, boundscheck=False, wraparound=False, initializedcheck=False
# Row-major matrix products through scipy's BLAS (sgemm / dgemm).
#
# BLAS is column-major. A row-major (r x c) matrix with leading dimension ld is, to
# BLAS, the column-major (c x r) transpose. So the row-major product C = op(A) @ op(B)
# is computed as the column-major product C.T = op(B).T @ op(A).T: swap the operands
# and the dimensions m and n, keep the transpose flags.

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """Row-major ``C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C``.

    ``op(X)`` is ``X.T`` where the flag is set. ``lda``, ``ldb`` and ``ldc`` are the
    row lengths (leading dimensions) of the stored row-major arrays.
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)
