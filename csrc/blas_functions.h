/* The sgemm and dgemm that the kernels' matrix products call (csrc/_blas.pxd):
   scipy's, set when the kernels module is imported, or those of another OpenBLAS
   build opened by `use_blas`. Each extension module has its own pair: process-wide
   state that products read without the GIL, written only under it (see fcnn_policy
   in openblas_policy.h for why no lock). */
#ifndef FCNN_BLAS_FUNCTIONS_H
#define FCNN_BLAS_FUNCTIONS_H

typedef void (*fcnn_sgemm_t)(char *, char *, int *, int *, int *, float *, float *,
                             int *, float *, int *, float *, float *, int *);
typedef void (*fcnn_dgemm_t)(char *, char *, int *, int *, int *, double *, double *,
                             int *, double *, int *, double *, double *, int *);

static fcnn_sgemm_t fcnn_sgemm = NULL;
static fcnn_dgemm_t fcnn_dgemm = NULL;

static void fcnn_set_gemm(void *sgemm, void *dgemm) {
    *(void **) (&fcnn_sgemm) = sgemm;
    *(void **) (&fcnn_dgemm) = dgemm;
}

#endif
