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

typedef enum {
    FCNN_SPLIT_AUTO,    /* where the policy expects a gain */
    FCNN_SPLIT_NEVER,
    FCNN_SPLIT_ALWAYS   /* wherever possible: for tests of that path */
} fcnn_split_mode;

/* The policy's state; each extension module has its own. */
typedef struct {
    fcnn_split_mode mode;
    int small_kernels;      /* the BLAS in use is OpenBLAS with AVX-512 kernels */
    int (*threads)(void);   /* where it is: its get_num_threads */
} fcnn_openblas_policy;

static fcnn_openblas_policy fcnn_policy = {FCNN_SPLIT_AUTO, 0, NULL};

/* Record in fcnn_policy whether the library holding `fn` (a BLAS function) is an
   OpenBLAS running AVX-512 ("SkylakeX"-class) kernels, and its thread count getter. */
static void fcnn_openblas_probe(void *fn) {
#ifdef FCNN_HAVE_DL
    static const char *prefixes[2] = {"scipy_openblas_", "openblas_"};
    static const char *cores[3] = {"skylakex", "cooperlake", "sapphirerapids"};
    char name[64];
    Dl_info info;
    void *lib;
    int i, j;
#endif
    fcnn_policy.small_kernels = 0;
    fcnn_policy.threads = NULL;
#ifdef FCNN_HAVE_DL
    if (!dladdr(fn, &info) || info.dli_fname == NULL) return;
    lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (lib == NULL) return;
    for (i = 0; i < 2 && !fcnn_policy.small_kernels; i++) {
        int (*threads)(void);
        char *(*corename)(void);
        snprintf(name, sizeof name, "%sget_num_threads", prefixes[i]);
        *(void **) (&threads) = dlsym(lib, name);
        snprintf(name, sizeof name, "%sget_corename", prefixes[i]);
        *(void **) (&corename) = dlsym(lib, name);
        if (threads == NULL || corename == NULL || corename() == NULL) continue;
        for (j = 0; j < 3; j++) {
            if (strcasecmp(corename(), cores[j]) == 0) {
                fcnn_policy.small_kernels = 1;
                fcnn_policy.threads = threads;
            }
        }
    }
    dlclose(lib);  /* its user (scipy, or fcnn_openblas_open) keeps it loaded */
#else
    (void) fn;
#endif
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
