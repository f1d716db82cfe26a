# cython: cdivision=True
# Row-major matrix products C = alpha op(A) @ op(B) + beta C through BLAS.
#
# BLAS is column-major: to it, a row-major (r x c) array is the column-major (c x r)
# transpose. So C = op(A) @ op(B) is computed as C.T = op(B).T @ op(A).T: operands
# and the dimensions m and n swapped, transpose flags kept. The sgemm and dgemm are
# scipy's (scipy.linalg.cython_blas) unless `use_functions` installed another
# OpenBLAS build's. A product may be issued as several calls where the OpenBLAS
# policy (_openblas.pxd) expects that to be faster.

from cython cimport floating
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawFree
from _openblas cimport split_rows, copies_b, openblas_probe

cdef extern from "blas_functions.h":
    ctypedef void (*fcnn_sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*,
                                  float*, int*, float*, float*, int*) noexcept nogil
    ctypedef void (*fcnn_dgemm_t)(char*, char*, int*, int*, int*, double*, double*,
                                  int*, double*, int*, double*, double*,
                                  int*) noexcept nogil
    fcnn_sgemm_t fcnn_sgemm
    fcnn_dgemm_t fcnn_dgemm
    void fcnn_set_gemm(void* sgemm, void* dgemm) noexcept nogil


cdef inline void use_functions(void* sgemm, void* dgemm) noexcept nogil:
    """Issue the products through these sgemm and dgemm from now on."""
    fcnn_set_gemm(sgemm, dgemm)
    openblas_probe(dgemm)


cdef inline void gemm_call(bint trans_a, bint trans_b, int m, int n, int k,
                           floating alpha, const floating* a, int lda,
                           const floating* b, int ldb,
                           floating beta, floating* c, int ldc) noexcept nogil:
    """``gemm`` in one BLAS call."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        fcnn_sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
                   &beta, c, &ldc)
    else:
        fcnn_dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a,
                   &lda, &beta, c, &ldc)


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """Row-major ``C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C``.

    ``op(X)`` is ``X.T`` where the flag is set. ``lda``, ``ldb`` and ``ldc`` are the
    row lengths (leading dimensions) of the stored row-major arrays.
    """
    cdef int rows, start, i, j
    cdef floating* copy = NULL
    if m == 0 or n == 0:
        return
    if trans_b and copies_b(floating is float, m, n, k):
        copy = <floating*> PyMem_RawMalloc(<size_t> k * n * sizeof(floating))
        if copy != NULL:  # else the product as it is
            for j in range(n):  # op(B)[i, j] = B[j, i]
                for i in range(k):
                    copy[<Py_ssize_t> i * n + j] = b[<Py_ssize_t> j * ldb + i]
            b, ldb, trans_b = copy, n, False
    rows = split_rows(trans_b, floating is float, m, n, k)
    start = 0
    while start < m:
        # row block [start, start + rows) of C is rows of op(A): rows of A, or
        # (trans_a) columns of A
        gemm_call(trans_a, trans_b, min(rows, m - start), n, k, alpha,
                  a + (start if trans_a else <Py_ssize_t> start * lda), lda, b, ldb,
                  beta, c + <Py_ssize_t> start * ldc, ldc)
        start += rows
    PyMem_RawFree(copy)
