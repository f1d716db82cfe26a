"""How far apart the two cores that run a 2-thread benchmark are, in nanoseconds.

Two threads, pinned to the first two CPUs this process may use, pass a flag back and
forth through one shared cache line; the time of one hand-over is the core-to-core
latency. Cores that share a last-level cache hand over in a few tens of ns; cores on
different chiplets or sockets take several times longer, and every multi-threaded BLAS
call, which shares packed panels between its threads, slows down with them. On a
virtual machine the host may move the virtual CPUs between such placements while a
benchmark runs, so run.py measures this next to each multi-threaded run.

The probe is a few lines of C compiled on first use with the C compiler Python was
built with; where that is not possible (no compiler, not Linux, one CPU) ``hop_ns``
returns None and the benchmark goes on without it.
"""

import ctypes
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from functools import cache

SOURCE = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic int flag, ready;
struct player { int cpu, first, n; double ns; };

static void *play(void *arg) {
    struct player *p = arg;
    cpu_set_t set;
    struct timespec t0, t1;
    CPU_ZERO(&set);
    CPU_SET(p->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < 2) {}
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < p->n; i++) {
        if (p->first) {
            atomic_store_explicit(&flag, 1, memory_order_release);
            while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {}
        } else {
            while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {}
            atomic_store_explicit(&flag, 0, memory_order_release);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    p->ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (2.0 * p->n);
    return 0;
}

double hop_ns(int cpu_a, int cpu_b, int n) {
    struct player a = {cpu_a, 1, n, 0}, b = {cpu_b, 0, n, 0};
    pthread_t ta, tb;
    atomic_store(&flag, 0);
    atomic_store(&ready, 0);
    if (pthread_create(&tb, 0, play, &b)) return -1;
    if (pthread_create(&ta, 0, play, &a)) { pthread_join(tb, 0); return -1; }
    pthread_join(ta, 0);
    pthread_join(tb, 0);
    return a.ns;
}
"""


@cache
def _probe():
    """The compiled ``hop_ns`` function, or None."""
    if not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2:
        return None
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    tmp = tempfile.mkdtemp(prefix="fcnn_sk_bench_")
    src, lib = os.path.join(tmp, "hop.c"), os.path.join(tmp, "hop.so")
    with open(src, "w") as f:
        f.write(SOURCE)
    try:
        subprocess.run(
            [*cc, "-O2", "-shared", "-fPIC", src, "-o", lib, "-lpthread"],
            check=True,
            capture_output=True,
        )
        fn = ctypes.CDLL(lib).hop_ns
    except (OSError, subprocess.CalledProcessError):
        return None
    finally:  # a loaded library stays mapped after its file is gone
        shutil.rmtree(tmp, ignore_errors=True)
    fn.restype = ctypes.c_double
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    return fn


def hop_ns(n=100_000):
    """Core-to-core hand-over time (ns) between the first two usable CPUs, or None."""
    fn = _probe()
    if fn is None:
        return None
    a, b = sorted(os.sched_getaffinity(0))[:2]
    ns = fn(a, b, n)
    return ns if ns > 0 else None
