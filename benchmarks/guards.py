#!/usr/bin/env python
"""Cost of the guards (fcnn_sk/_guards.py), each measured against the same call
without it, in pairs.

    python benchmarks/guards.py            # about two minutes on 2 cores
    python benchmarks/guards.py --reps 41

- predict / predict_proba / transform: the memory estimate before the forward pass and
  the finiteness check of its output block after it, against the bare forward pass
  (``checked_forward`` with ``check=False``, no link check);
- partial_fit and a warm-started fit: the checkpoint (copies of the parameters and the
  optimizer state, restored if the call fails), against no checkpoint.

Each repetition times the guarded and the bare call back to back, in alternating order;
the report gives the medians of both and the median of the per-pair ratios. On a busy
machine those pairs vary by more than the guards cost, so the last column times the
guards' own work alone (same inputs, median of 21 timings) as a share of the bare call.
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fcnn_sk import FCNNClassifier, _guards
from fcnn_sk._base import _FitData

warnings.filterwarnings("ignore", category=ConvergenceWarning)


@contextmanager
def bare():
    """The estimators without the guards of the call paths measured here."""
    saved = (_guards.checked_forward, _guards.check_link, _guards.Checkpoint)

    def forward(network, params, X, n_run=None, check=True):
        return saved[0](network, params, X, n_run, check=False)

    class NoCheckpoint:
        def __init__(self, est, in_place=True):
            pass

        def restore(self):
            pass

    _guards.checked_forward = forward
    _guards.check_link = lambda est, out: None
    _guards.Checkpoint = NoCheckpoint
    try:
        yield
    finally:
        _guards.checked_forward, _guards.check_link, _guards.Checkpoint = saved


def paired(call, reps, number):
    """Medians of the guarded and bare times of ``call`` (seconds per call), and the
    median ratio guarded / bare over the pairs."""
    guarded, plain = [], []

    def timed():
        start = time.perf_counter()
        for _ in range(number):
            call()
        return (time.perf_counter() - start) / number

    call()
    for rep in range(reps):
        for which in (0, 1) if rep % 2 else (1, 0):
            if which:
                with bare():
                    plain.append(timed())
            else:
                guarded.append(timed())
    ratios = [g / p for g, p in zip(guarded, plain)]
    return (
        statistics.median(guarded),
        statistics.median(plain),
        statistics.median(ratios),
    )


def _forward_guards(est, X, n_run=None, link=True):
    """What the guards add to a prediction, alone: the memory estimate, the
    finiteness check of the output block (and of the output link's result)."""
    network, params = est._network(), est._flat_params()
    X = X.astype(params.dtype)
    out = est._raw_output(X, validate=False, n_run=n_run)

    def work():
        _guards.check_predict_memory(network, params, X, n_run)
        _guards.all_finite(out)
        if link:
            _guards.check_link(est, out)

    return work


def _fit_guards(est, X, y):
    """What the guards add to a partial_fit or warm-started fit, alone: the
    checkpoint, the pre-flight checks (memory, value range), the loss and weight
    checks."""
    fit = _FitData(X, y, est._label_binarizer.transform(y), None)
    units = [X.shape[1], *[c.shape[1] for c in est.coefs_]]

    def work():
        _guards.Checkpoint(est, in_place=True)
        _guards.check_fit(est, units, fit, None, False)
        _guards.check_epoch_loss(est)
        _guards.check_fitted(est)

    return work


def cases():
    """``(name, call, calls per timing, the guards' work of one call alone)``."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    digits = FCNNClassifier((100,), max_iter=5, random_state=0).fit(X, y)
    yield (
        "digits 64-100-10, predict_proba, 1797 rows",
        lambda: digits.predict_proba(X),
        20,
        _forward_guards(digits, X),
    )
    yield (
        "digits 64-100-10, predict, 1 row",
        lambda: digits.predict(X[:1]),
        200,
        _forward_guards(digits, X[:1]),
    )
    yield (
        "digits 64-100-10, transform, 1797 rows",
        lambda: digits.transform(X),
        20,
        _forward_guards(digits, X, n_run=1, link=False),
    )

    rng = np.random.RandomState(0)
    Xm = rng.rand(10000, 784).astype(np.float32)
    ym = rng.randint(0, 10, 10000)
    mnist = FCNNClassifier((512, 256), max_iter=1, random_state=0).fit(
        Xm[:2000], ym[:2000]
    )
    yield (
        "MNIST-size 784-512-256-10 f32, predict_proba, 10000 rows",
        lambda: mnist.predict_proba(Xm),
        2,
        _forward_guards(mnist, Xm),
    )
    batch, yb = Xm[:200], ym[:200]
    yield (
        "MNIST-size 784-512-256-10 f32, partial_fit, 200 rows",
        lambda: mnist.partial_fit(batch, yb),
        5,
        _fit_guards(mnist, batch, yb),
    )
    digits.set_params(warm_start=True, max_iter=1)
    yield (
        "digits 64-100-10, warm-started fit, 1 epoch",
        lambda: digits.fit(X, y),
        5,
        _fit_guards(digits, X, y),
    )


def alone(work, number):
    """Median time of the guards' work alone (seconds per call)."""
    times = []
    for _ in range(21):
        start = time.perf_counter()
        for _ in range(number):
            work()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args()
    print(
        f"{'call':58s} {'guarded':>10s} {'bare':>10s} {'ratio':>6s} "
        f"{'guards alone':>13s}"
    )
    for name, call, number, work in cases():
        g, p, ratio = paired(call, args.reps, number)
        w = alone(work, number)
        print(
            f"{name:58s} {g * 1e3:8.3f}ms {p * 1e3:8.3f}ms {ratio:6.3f} "
            f"{w * 1e6:8.1f}us {100 * w / p:4.1f}%"
        )


if __name__ == "__main__":
    main()
