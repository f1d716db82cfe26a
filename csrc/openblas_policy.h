/* What the small-product policy of csrc/_openblas.pxd needs to know about OpenBLAS,
   and the opening of another OpenBLAS build for the kernels' products.

   Both go through the dynamic linker (dladdr, dlopen, dlsym). Where it is missing, no
   library is recognised and none can be opened: every product is issued whole. */
#ifndef FCNN_OPENBLAS_POLICY_H
#define FCNN_OPENBLAS_POLICY_H

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#include <stdio.h>
#include <strings.h>
#define FCNN_HAVE_DL 1
#endif

/* How products may be split (fcnn_policy.mode below: process-wide, written only
   under the GIL by set_gemm_split). */
typedef enum {
    FCNN_SPLIT_AUTO,    /* where the policy expects a gain */
    FCNN_SPLIT_NEVER,
    FCNN_SPLIT_ALWAYS   /* wherever possible: for tests of that path */
} fcnn_split_mode;

/* The policy's state: process-wide (each extension module has its own copy), read by
   the kernels without the GIL from any thread, with no lock because only GIL-holding
   functions of _kernels.pyx write it: use_blas probes the library eagerly and sets
   `small_kernels` and `threads` (on import, before any product, and when
   fcnn_sk._compiled picks the BLAS); set_gemm_split sets `mode` (for tests). They are
   not meant to run while another thread computes; if one does, each field is one
   aligned word, so a product sees its old or new value, and any mix gives the same
   product to rounding (a NULL getter is never called: _openblas.pxd). */
typedef struct {
    fcnn_split_mode mode;
    int small_kernels;      /* the BLAS in use is OpenBLAS with AVX-512 kernels */
    int (*threads)(void);   /* where it is: its get_num_threads */
} fcnn_openblas_policy;

static fcnn_openblas_policy fcnn_policy = {FCNN_SPLIT_AUTO, 0, NULL};

/* Record in fcnn_policy whether the library holding `fn` (a BLAS function) is an
   OpenBLAS running AVX-512 ("SkylakeX"-class) kernels, and its thread count getter.
   Called with the GIL held, when the BLAS is set (never lazily from a product). */
static void fcnn_openblas_probe(void *fn) {
    int small_kernels = 0;
    int (*getter)(void) = NULL;
#ifdef FCNN_HAVE_DL
    static const char *prefixes[2] = {"scipy_openblas_", "openblas_"};
    static const char *cores[3] = {"skylakex", "cooperlake", "sapphirerapids"};
    char name[64];
    Dl_info info;
    void *lib;
    int i, j;
    if (dladdr(fn, &info) && info.dli_fname != NULL
            && (lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) != NULL) {
        for (i = 0; i < 2 && !small_kernels; i++) {
            int (*threads)(void);
            char *(*corename)(void);
            snprintf(name, sizeof name, "%sget_num_threads", prefixes[i]);
            *(void **) (&threads) = dlsym(lib, name);
            snprintf(name, sizeof name, "%sget_corename", prefixes[i]);
            *(void **) (&corename) = dlsym(lib, name);
            if (threads == NULL || corename == NULL || corename() == NULL) continue;
            for (j = 0; j < 3; j++) {
                if (strcasecmp(corename(), cores[j]) == 0) {
                    small_kernels = 1;
                    getter = threads;
                }
            }
        }
        dlclose(lib);  /* its user (scipy, or fcnn_openblas_open) keeps it loaded */
    }
#else
    (void) fn;
#endif
    /* published at the end: products never see the transient state of a probe */
    if (small_kernels) {
        fcnn_policy.threads = getter;
        fcnn_policy.small_kernels = 1;
    } else {
        fcnn_policy.small_kernels = 0;
        fcnn_policy.threads = NULL;
    }
}

/* The sgemm and dgemm (scipy's symbol names) of the OpenBLAS library at `path`,
   opened with RTLD_LOCAL so that nobody else's BLAS changes. 1 on success; on
   failure 0: nothing stays open and nothing changes. */
static int fcnn_openblas_open(const char *path, void **sgemm, void **dgemm) {
#ifdef FCNN_HAVE_DL
    void *s, *d, *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) return 0;
    s = dlsym(lib, "scipy_sgemm_");
    d = dlsym(lib, "scipy_dgemm_");
    if (s == NULL || d == NULL) {
        dlclose(lib);
        return 0;
    }
    *sgemm = s;
    *dgemm = d;
    return 1;  /* the library stays open */
#else
    (void) path; (void) sgemm; (void) dgemm;
    return 0;
#endif
}

#endif
