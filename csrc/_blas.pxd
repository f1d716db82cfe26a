# cython: cdivision=True, boundscheck=False, wraparound=False, initializedcheck=False
# Row-major matrix products through BLAS (sgemm / dgemm): scipy's, or another OpenBLAS
# (see "Which BLAS" below).
#
# BLAS is column-major. A row-major (r x c) matrix with leading dimension ld is, to
# BLAS, the column-major (c x r) transpose. So the row-major product C = op(A) @ op(B)
# is computed as the column-major product C.T = op(B).T @ op(A).T: swap the operands
# and the dimensions m and n, keep the transpose flags.
#
# Small products in row blocks. OpenBLAS's AVX-512 ("SkylakeX"-class) kernels have a
# separate path for products of at most 100^3 multiply-adds, which skips the packing
# of the operands. Products just above that size are faster as a few row blocks that
# each take this path: on an AMD Zen 4 with the OpenBLAS that scipy bundles (0.3.30),
# with one thread, 1.08-1.26x for float64 and 1.18-1.45x for float32, over shapes such
# as 200 x 64 @ 64 x 100 (digits' first layer). Rows of C are independent, so the
# blocks give the whole product (to rounding: the kernels sum in different orders).
# With more than one BLAS thread the whole product is faster (the small path is
# single-threaded), and with thin blocks the gain can turn into a loss (float64 at
# 12.8M multiply-adds in blocks of 2 rows: 0.67x). Up to SPLIT_MAX_MNK multiply-adds
# blocks of SPLIT_MIN_ROWS rows still gain; beyond it, in a sweep of 4.5-67M
# multiply-adds (m 128-1024, n 64-512, k 32-784, both precisions, both op(A)), blocks
# of at least LARGE_MIN_ROWS rows gained 1.04-1.45x, with two exceptions that the rule
# leaves whole: blocks of 15-19 rows (0.87-0.97x) and float64 rows of C 512 wide
# (0.88-0.95x without op(A) transposed). Such are the weight gradients of the
# MNIST-size network's second layer (512 x 128 @ 128 x 256, 30-row blocks: 1.18x in
# float32) and, at batch 32, of its first (784 x 32 @ 32 x 512: 1.2x). So the split
# applies only to one thread, to blocks of at least SPLIT_MIN_ROWS rows (LARGE_MIN_ROWS
# beyond SPLIT_MAX_MNK, and there not to float64 rows wider than LARGE_F64_MAX_N), and
# to the products that take the small path (not op(B) transposed: OpenBLAS limits that
# case to outputs of at most 1200 elements).
#
# Products with op(B) transposed (the back-propagated deltas, delta @ W.T) never take
# that path for our shapes, nor blocks. Where W is small (at most SMALL_B_MAX
# elements), gemm copies W.T into a plain array first, so that the product takes the
# small path or row blocks: on digits' 200 x 10 @ 10 x 100, 13.6 -> 10.4 us; on the
# regression network's 200 x 64 @ 64 x 128, 79-89 -> 58-66 us (with the blocks). The
# small path is taken whatever the thread count (11-14 -> 8-10 us on digits' product
# with two threads), so the copy that leads to it is made at any thread count.
# Which BLAS is in use, and its thread count, is looked up once through the dynamic
# linker; any other BLAS, or a platform without dladdr, never splits nor copies.
#
# Which BLAS. scipy's (through cython_blas; _kernels.pyx sets it on import) unless
# ``use_blas`` has opened another build of OpenBLAS with scipy's symbol names:
# fcnn_sk._compiled opens the one that the scipy-openblas32 package ships, where that
# is installed. scipy 1.17 bundles OpenBLAS 0.3.30; the MNIST-size network's float32
# products ran 1.16x faster (batch 128) and 1.18x (batch 32) through scipy-openblas32's
# 0.3.34 on the Zen 4 machine above (mostly a faster packing of the non-transposed
# operand); float64 ran alike. The library is opened with RTLD_LOCAL, so it does not
# replace scipy's for anyone else.

from cython cimport floating
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawFree

DEF SMALL_MNK = 1000000          # OpenBLAS's small-path limit, 100^3
DEF SPLIT_MAX_MNK = 4500000
DEF SPLIT_MIN_ROWS = 8
DEF LARGE_MIN_ROWS = 30          # beyond SPLIT_MAX_MNK
DEF LARGE_F64_MAX_N = 256
DEF SMALL_B_MAX = 16384          # elements of a transposed op(B) that gemm copies

cdef extern from *:
    """
    #if defined(__unix__) || defined(__APPLE__)
    #include <dlfcn.h>
    #include <stdio.h>
    #include <string.h>
    #include <strings.h>
    #define FCNN_HAVE_DLADDR 1
    #endif

    /* -1: split where the rule says so; 0: never; 2: wherever blocks are possible
       (tests). The probe: -1 not yet done, 0 another BLAS, 1 OpenBLAS "SkylakeX". */
    static int fcnn_split_mode = -1;
    static int fcnn_split_probe = -1;
    static int (*fcnn_blas_num_threads)(void) = NULL;

    /* The BLAS in use: scipy's (set when the module is imported) or that of an
       opened library. */
    typedef void (*fcnn_sgemm_t)(char *, char *, int *, int *, int *, float *, float *,
                                 int *, float *, int *, float *, float *, int *);
    typedef void (*fcnn_dgemm_t)(char *, char *, int *, int *, int *, double *,
                                 double *, int *, double *, int *, double *, double *,
                                 int *);
    static fcnn_sgemm_t fcnn_sgemm_fn = NULL;
    static fcnn_dgemm_t fcnn_dgemm_fn = NULL;

    /* Use these sgemm and dgemm; the probe below looks at their library anew. */
    static void fcnn_blas_set(void *s, void *d) {
        *(void **) (&fcnn_sgemm_fn) = s;
        *(void **) (&fcnn_dgemm_fn) = d;
        fcnn_split_probe = -1;
    }

    /* Use the sgemm and dgemm of the library at `path` (scipy's names). 1 on
       success; on failure nothing changes. */
    static int fcnn_blas_open(const char *path) {
        void *lib, *s, *d;
    #ifdef FCNN_HAVE_DLADDR
        lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL) return 0;
        s = dlsym(lib, "scipy_sgemm_");
        d = dlsym(lib, "scipy_dgemm_");
        if (s == NULL || d == NULL) {
            dlclose(lib);
            return 0;
        }
        fcnn_blas_set(s, d);  /* the library stays open */
        return 1;
    #else
        (void) path; (void) lib; (void) s; (void) d;
        return 0;
    #endif
    }

    /* A function of the BLAS in use, for the probe: its dgemm. */
    static void *fcnn_blas_fn(void) {
        return *(void **) (&fcnn_dgemm_fn);
    }

    /* Is the BLAS behind `blas_fn` (its dgemm) an OpenBLAS
       running AVX-512 "SkylakeX"-class kernels? Keeps its get_num_threads. */
    static int fcnn_probe_openblas(void *blas_fn) {
    #ifdef FCNN_HAVE_DLADDR
        static const char *prefixes[2] = {"scipy_openblas_", "openblas_"};
        static const char *cores[3] = {"skylakex", "cooperlake", "sapphirerapids"};
        char name[64];
        Dl_info info;
        void *lib;
        int i, j, found = 0;
        if (!dladdr(blas_fn, &info) || info.dli_fname == NULL) return 0;
        lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (lib == NULL) return 0;
        for (i = 0; i < 2 && !found; i++) {
            int (*threads)(void);
            char *(*corename)(void);
            snprintf(name, sizeof name, "%sget_num_threads", prefixes[i]);
            *(void **) (&threads) = dlsym(lib, name);
            snprintf(name, sizeof name, "%sget_corename", prefixes[i]);
            *(void **) (&corename) = dlsym(lib, name);
            if (threads == NULL || corename == NULL || corename() == NULL) continue;
            for (j = 0; j < 3; j++) {
                if (strcasecmp(corename(), cores[j]) == 0) {
                    fcnn_blas_num_threads = threads;
                    found = 1;
                }
            }
        }
        dlclose(lib);  /* scipy keeps the library loaded */
        return found;
    #else
        (void) blas_fn;
        return 0;
    #endif
    }

    /* The probe's result, probing on the first call. */
    static int fcnn_split_openblas(void *blas_fn) {
        if (fcnn_split_probe < 0) fcnn_split_probe = fcnn_probe_openblas(blas_fn);
        return fcnn_split_probe;
    }

    /* The rule's BLAS condition: that OpenBLAS, running one thread now. */
    static int fcnn_split_blas_ok(void *blas_fn) {
        return fcnn_split_openblas(blas_fn) && fcnn_blas_num_threads() == 1;
    }
    """
    ctypedef void (*fcnn_sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*,
                                  float*, int*, float*, float*, int*) noexcept nogil
    ctypedef void (*fcnn_dgemm_t)(char*, char*, int*, int*, int*, double*, double*,
                                  int*, double*, int*, double*, double*,
                                  int*) noexcept nogil
    int fcnn_split_mode
    fcnn_sgemm_t fcnn_sgemm_fn
    fcnn_dgemm_t fcnn_dgemm_fn
    void fcnn_blas_set(void* sgemm_fn, void* dgemm_fn) noexcept nogil
    bint fcnn_blas_open(const char* path) noexcept nogil
    void* fcnn_blas_fn() noexcept nogil
    bint fcnn_split_openblas(void* blas_fn) noexcept nogil
    bint fcnn_split_blas_ok(void* blas_fn) noexcept nogil


cdef inline void gemm_call(bint trans_a, bint trans_b, int m, int n, int k,
                           floating alpha, const floating* a, int lda,
                           const floating* b, int ldb,
                           floating beta, floating* c, int ldc) noexcept nogil:
    """One BLAS call for ``gemm``."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        fcnn_sgemm_fn(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
                      &beta, c, &ldc)
    else:
        fcnn_dgemm_fn(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a,
                      &lda, &beta, c, &ldc)


cdef inline int split_rows(bint trans_b, bint single, int m, int n,
                           int k) noexcept nogil:
    """Rows per block for ``gemm`` (``m``: no split); ``single``: float32. See the
    top of this file."""
    cdef double mnk = <double> m * n * k
    cdef int rows
    if trans_b:
        return m
    if fcnn_split_mode == 2:  # tests: three blocks, whatever the size
        return max(1, (m + 2) // 3)
    if fcnn_split_mode == 0 or mnk <= SMALL_MNK:
        return m
    rows = <int> (SMALL_MNK // (<double> n * k))
    if mnk > SPLIT_MAX_MNK and (rows < LARGE_MIN_ROWS
                                or (not single and n > LARGE_F64_MAX_N)):
        return m
    if rows < SPLIT_MIN_ROWS or not fcnn_split_blas_ok(fcnn_blas_fn()):
        return m
    return rows


cdef inline bint copies_b(bint single, int m, int n, int k) noexcept nogil:
    """Whether ``gemm`` copies a transposed op(B) (k x n) into a plain array first;
    ``single``: float32. See the top of this file."""
    if fcnn_split_mode == 0 or <double> k * n > SMALL_B_MAX:
        return False
    if fcnn_split_mode == 2:  # tests: wherever possible
        return True
    if <double> m * n * k <= SMALL_MNK:  # the small path, at any thread count
        return fcnn_split_openblas(fcnn_blas_fn())
    return split_rows(False, single, m, n, k) < m  # row blocks, at one thread


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
