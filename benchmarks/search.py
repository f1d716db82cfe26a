#!/usr/bin/env python
"""One GridSearchCV run one fit after another, on worker processes and on threads.

    python benchmarks/search.py                    # about 30 minutes on 2 cores
    python benchmarks/search.py --reps 3 --epochs 20 --libs fcnn_sk

The same search (digits, 24 candidates x 3 folds, 100 epochs per fit by default)
for fcnn_sk's FCNNClassifier and scikit-learn's MLPClassifier, in these modes:

  sequential      n_jobs=1, BLAS threads as they are
  sequential-1    n_jobs=1, BLAS limited to one thread
  processes       joblib's default (loky) backend, n_jobs=cores, worker processes
                  started for the run (as a script that searches once)
  processes-warm  the same with the worker processes of the previous run reused
  threads         the threading backend, n_jobs=cores, BLAS limited to one thread
                  (the README's recipe)
  threads-nolimit the threading backend with BLAS threads as they are

With --gil, instead: fcnn_sk's sequential search (BLAS one thread) at 1 epoch per fit
and at --epochs, the compiled kernels' calls timed; printed are the CPU time per fit
spent outside them (Python, holding the GIL: what threads cannot run side by side)
at both epoch counts, hence per fit and per epoch, and the speed-up on --cores
threads that this share allows at --epochs.

Every repetition runs every library and mode once, in an order rotated per repetition.
The tables give median, fastest and slowest wall times; the speed-up over
"sequential" and over "sequential-1" as the median over repetitions of the paired
ratio (the two runs of a repetition are close in time), and per core; and the ratio
of the fastest times. The machine's load average is printed with each repetition:
on a shared machine, other work takes cores from the parallel modes.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

from joblib import parallel_config
from joblib.executor import get_memmapping_executor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info, threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    from fcnn_sk import FCNNClassifier
except ImportError:  # an in-place build of the checkout
    sys.path.append(os.path.dirname(HERE))
    from fcnn_sk import FCNNClassifier

MODES = (
    "sequential",
    "sequential-1",
    "processes",
    "processes-warm",
    "threads",
    "threads-nolimit",
)
GRID = {
    "hidden_layer_sizes": [(32,), (64,), (100,), (64, 32)],
    "alpha": [1e-4, 1e-3, 1e-2],
    "learning_rate_init": [1e-3, 3e-3],
}
ESTIMATORS = {"fcnn_sk": FCNNClassifier, "sklearn": MLPClassifier}


def search(lib, epochs, n_jobs):
    # a fixed number of epochs: the same work in every mode
    model = ESTIMATORS[lib](
        max_iter=epochs, tol=0.0, n_iter_no_change=10**9, random_state=0
    )
    return GridSearchCV(model, GRID, cv=3, n_jobs=n_jobs)


def run(lib, mode, X, y, epochs, cores):
    """Wall time of one search in ``mode``, and its best parameters."""
    blas_limit = 1 if mode in ("sequential-1", "threads") else None
    backend = {
        "processes": "loky",
        "processes-warm": "loky",
        "threads": "threading",
        "threads-nolimit": "threading",
    }.get(mode)
    if mode == "processes":  # joblib's worker processes, stopped: started anew
        get_memmapping_executor(cores).shutdown(wait=True)
    elif mode == "processes-warm":
        # workers started and the library imported: a throw-away search
        with parallel_config(backend="loky", n_jobs=cores):
            GridSearchCV(
                ESTIMATORS[lib](max_iter=1), {"alpha": [1e-4] * cores}, cv=2
            ).fit(X[:100], y[:100])
    start = time.perf_counter()
    with threadpool_limits(limits=blas_limit, user_api="blas"):
        if backend is None:
            fitted = search(lib, epochs, None).fit(X, y)
        else:
            with parallel_config(backend=backend, n_jobs=cores):
                fitted = search(lib, epochs, None).fit(X, y)
    return time.perf_counter() - start, fitted.best_params_


def gil_share(X, y, epochs, reps, cores):
    """Medians over ``reps`` of the CPU ms per fit outside the kernels, at 1 epoch and
    at ``epochs``, and the bound on the threads' speed-up that they give."""
    from fcnn_sk import _compiled

    kernels = _compiled.kernels
    spent = {"kernels": 0.0}

    class Timed:
        # the kernels module, its entry points timed (they release the GIL inside)
        def __getattr__(self, name):
            function = getattr(kernels, name)
            if not callable(function) or isinstance(function, type):
                return function

            def timed(*args, **kwargs):
                start = time.thread_time()
                try:
                    return function(*args, **kwargs)
                finally:
                    spent["kernels"] += time.thread_time() - start

            return timed

    def per_fit(n_epochs):
        model = search("fcnn_sk", n_epochs, None)
        n_fits = len(ParameterGrid(GRID)) * 3 + 1  # the refit too
        spent["kernels"] = 0.0
        start = time.thread_time()
        with threadpool_limits(limits=1, user_api="blas"):
            model.fit(X, y)
        total = time.thread_time() - start
        return (total - spent["kernels"]) / n_fits * 1e3, total / n_fits * 1e3

    _compiled.kernels = Timed()
    try:
        per_fit(1)  # warm-up
        runs = {n: [] for n in (1, epochs)}
        for rep in range(reps):
            for n in runs if rep % 2 == 0 else reversed(runs):
                runs[n].append(per_fit(n))
            print(
                f"repetition {rep + 1}/{reps} done; load average "
                f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}",
                flush=True,
            )
    finally:
        _compiled.kernels = kernels
    outside = {n: statistics.median(o for o, _ in r) for n, r in runs.items()}
    total = statistics.median(t for _, t in runs[epochs])
    epoch_ms = (outside[epochs] - outside[1]) / max(epochs - 1, 1)
    share = outside[epochs] / total
    print(
        f"\nfcnn_sk, CPU per fit outside the kernels: {outside[1]:.2f} ms at 1 epoch, "
        f"{outside[epochs]:.2f} ms at {epochs} ({outside[1] - epoch_ms:.2f} ms per fit "
        f"+ {epoch_ms * 1e3:.0f} us per epoch); {share:.0%} of the {total:.1f} ms of a "
        f"fit at {epochs} epochs: {cores} threads gain at most "
        f"{1 / (share + (1 - share) / cores):.2f}x"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument(
        "--libs", nargs="+", default=list(ESTIMATORS), choices=list(ESTIMATORS)
    )
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument(
        "--gil", action="store_true", help="fcnn_sk's time outside the kernels"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    X, y = load_digits(return_X_y=True)
    X = X / 16
    if args.gil:
        gil_share(X, y, args.epochs, args.reps, args.cores)
        return
    n_candidates = len(ParameterGrid(GRID))
    blas = sorted(
        {
            (i["internal_api"], i["num_threads"])
            for i in threadpool_info()
            if i["user_api"] == "blas"
        }
    )
    print(
        f"GridSearchCV on digits ({X.shape[0]} rows): {n_candidates} candidates x 3 "
        f"folds, {args.epochs} epochs per fit; {args.cores} cores; BLAS {blas}; "
        f"python {sys.version.split()[0]}"
    )

    times = {(lib, mode): [] for lib in args.libs for mode in args.modes}
    best = {}
    jobs = list(times)
    for rep in range(args.reps):
        shift = rep % len(jobs)
        for lib, mode in jobs[shift:] + jobs[:shift]:
            seconds, params = run(lib, mode, X, y, args.epochs, args.cores)
            times[lib, mode].append(seconds)
            best.setdefault(lib, set()).add(tuple(sorted(params.items())))
        print(
            f"repetition {rep + 1}/{args.reps} done; load average "
            f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}",
            flush=True,
        )

    for lib in args.libs:
        print(f"\n{lib}  (best parameters agree across modes: {len(best[lib]) == 1})")
        print(
            f"{'mode':<16}{'median s':>9}{'min s':>7}{'max s':>7}"
            f"{'vs sequential':>15}{'per core':>9}{'vs sequential-1':>17}"
            f"{'per core':>9}{'best vs best-1':>16}"
        )
        for mode in args.modes:
            t = times[lib, mode]
            cells = (
                f"{mode:<16}{statistics.median(t):>9.2f}{min(t):>7.2f}{max(t):>7.2f}"
            )
            cores = 1 if mode.startswith("sequential") else args.cores
            for ref, width in (("sequential", 15), ("sequential-1", 17)):
                if ref in args.modes:
                    # paired: each repetition's reference time over this mode's
                    speedup = statistics.median(
                        a / b for a, b in zip(times[lib, ref], t)
                    )
                    cells += f"{speedup:>{width - 1}.2f}x{speedup / cores:>8.2f}x"
                else:
                    cells += f"{'n/a':>{width}}{'n/a':>9}"
            if "sequential-1" in args.modes:
                cells += f"{min(times[lib, 'sequential-1']) / min(t):>15.2f}x"
            print(cells)


if __name__ == "__main__":
    main()
