/* Platform queries the kernels need and C does not spell portably. */
#ifndef FCNN_PLATFORM_H
#define FCNN_PLATFORM_H

/* Whether this CPU (and its operating system) supports AVX2 and FMA: the condition
   for importing the AVX2 build of the kernels. Called on import, under the GIL:
   __builtin_cpu_init fills libgcc's process-wide CPU model, the same on every call. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
static int fcnn_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static int fcnn_cpu_has_avx2_fma(void) { return 0; }
#endif

/* Milliseconds on a monotonic clock (from an arbitrary origin). */
#ifdef _WIN32
#include <windows.h>
static double fcnn_monotonic_ms(void) { return (double) GetTickCount64(); }
#else
#include <time.h>
static double fcnn_monotonic_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e3 + (double) t.tv_nsec * 1e-6;
}
#endif

#endif
