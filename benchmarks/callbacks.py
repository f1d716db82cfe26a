"""Cost of scikit-learn callbacks (``sklearn.callback``, scikit-learn >= 1.9) per epoch.

    python benchmarks/callbacks.py [--reps 9] [--epochs 100] [--threads 1]

Fits FCNNClassifier((100,)) with adam on the digits (1797 rows, batch 200) for a fixed
number of epochs, with: no callback; a callback whose hooks do nothing; one that asks
for the ``fitted_estimator`` of every epoch (a copy of the model, built from copies of
its state); and scikit-learn's ScoringMonitor scoring the training data every epoch.
Reports the median time per epoch over --reps repetitions (the variants alternate
within each repetition) and each variant's extra time per epoch and ratio to the fit
without callbacks. BLAS threads are pinned with threadpoolctl (--threads).
"""

import argparse
import statistics
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

try:
    from fcnn_sk import FCNNClassifier
except ImportError:  # run from a checkout with an in-place build
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from fcnn_sk import FCNNClassifier

from sklearn.callback import ScoringMonitor

warnings.filterwarnings("ignore", category=ConvergenceWarning)


class NoOp:
    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        pass


class Snapshot(NoOp):
    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X / 16
    variants = {
        "no callback": list,
        "no-op callback": lambda: [NoOp()],
        "fitted_estimator per epoch": lambda: [Snapshot()],
        "ScoringMonitor('accuracy')": lambda: [ScoringMonitor(scoring="accuracy")],
    }
    times = {name: [] for name in variants}
    with threadpool_limits(args.threads):
        run(variants, times, X, y, args)
    base = statistics.median(times["no callback"])
    print(
        f"digits 64-100-10 adam, {args.epochs} epochs, {args.threads} BLAS thread(s), "
        f"median of {args.reps}"
    )
    print(f"{'variant':<30}{'ms/epoch':>10}{'extra us/epoch':>16}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<30}{median * 1e3:>10.3f}{(median - base) * 1e6:>16.1f}"
            f"{median / base:>8.2f}"
        )


def run(variants, times, X, y, args):
    for rep in range(args.reps):
        names = list(variants)
        names = names[rep % len(names) :] + names[: rep % len(names)]
        for name in names:
            clf = FCNNClassifier(
                (100,),
                max_iter=args.epochs,
                tol=0,
                n_iter_no_change=10**9,
                random_state=0,
            )
            callbacks = variants[name]()
            if callbacks:
                clf.set_callbacks(*callbacks)
            start = time.perf_counter()
            clf.fit(X, y)
            times[name].append((time.perf_counter() - start) / args.epochs)


if __name__ == "__main__":
    main()
