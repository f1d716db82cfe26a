"""No leaks: thousands of fit / partial_fit / predict / pickle cycles and failed calls
leave the process's memory where it was.

A leak in the compiled code (a workspace not freed on some path, an error path that
skips ``PyMem_RawFree``) or in Python (a reference kept by the guards' checkpoint, a
cache that grows per call) grows memory by at least its size every cycle. After a
warm-up (caches, lazily imported modules):

- 2000 cycles must grow the resident set size of the process by less than 10 MB;
- under tracemalloc, which sees numpy's arrays and the kernels' workspaces (they come
  from Python's raw allocator) but slows every allocation several-fold, a shorter run
  must stay under the same bound per cycle (10 MB / 2000 cycles, about 5 KB).

One leaked workspace of a few hundred bytes per call would exceed either.
"""

import gc
import pickle
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

from fcnn_sk import FCNNClassifier, FCNNRegressor

CYCLES, TRACED_CYCLES, WARM_UP = 2000, 200, 100
LIMIT = 10 * 2**20  # bytes per CYCLES cycles

RNG = np.random.RandomState(0)
X = RNG.randn(24, 5)
X32 = X.astype(np.float32)
Y_CLF = np.arange(24) % 3
Y_REG = X @ RNG.randn(5)
X_NAN = X.copy()
X_NAN[3, 1] = np.nan


def _rss():
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _cycle(i):
    """One round of what a user does, failures included; the estimator, solver and
    options change from one round to the next."""
    solver = ("adam", "sgd", "rmsprop", "lbfgs")[i % 4]
    if i % 2:
        est = FCNNClassifier(
            (7,),
            solver=solver,
            max_iter=1,
            random_state=i,
            dropout=0.2 if i % 3 else None,
        ).fit(X, Y_CLF)
        est.predict_proba(X)
        est.input_gradient(X, Y_CLF)
        y, Xf = Y_CLF, X
    else:
        est = FCNNRegressor(
            (6, 4),
            solver=solver,
            max_iter=1,
            random_state=i,
            loss="huber",
            early_stopping=i % 3 == 0,
        ).fit(X32, Y_REG)
        est.transform(X32)
        y, Xf = Y_REG, X32
    if solver != "lbfgs":
        est.set_params(early_stopping=False).partial_fit(Xf, y)
    est = pickle.loads(pickle.dumps(est))
    est.predict(Xf)
    # rejected by validation; and (float32) inputs that overflow the first layer,
    # a failure inside training that the model is restored from
    bad = X_NAN
    if Xf is X32:
        W = est.coefs_[0]
        unit = np.abs(W).sum(axis=0).argmax()  # sum |w| > 1.2: 3e38 * 1.2 is inf
        bad = np.float32(3e38) * np.sign(W[:, unit]) * np.ones_like(X32)
    try:
        est.set_params(warm_start=True).fit(bad, y)
    except ValueError:
        pass
    else:
        raise AssertionError("the bad call did not fail")


def _run(cycles, start):
    for i in range(start, start + cycles):
        _cycle(i)
    gc.collect()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cycles_do_not_grow_memory():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(WARM_UP, 0)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            _run(TRACED_CYCLES, WARM_UP)
            traced = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        gc.collect()
        before = _rss()
        _run(CYCLES, WARM_UP + TRACED_CYCLES)
        rss = _rss() - before
    traced_limit = LIMIT * TRACED_CYCLES / CYCLES
    assert traced < traced_limit, (
        f"tracemalloc: {traced / 2**10:.1f} KB more after {TRACED_CYCLES} cycles"
    )
    assert rss < LIMIT, f"RSS: {rss / 2**20:.2f} MB more after {CYCLES} cycles"
