"""Fits and predictions in threads: the same results as one after another.

Each epoch and each prediction chunk runs in compiled code with the GIL released, so
fits of distinct estimators in threads run in parallel, and so do predictions of one
shared estimator. Matrix products are issued differently at one BLAS thread and at
more (csrc/_blas.pxd), so every comparison is made at one BLAS thread count.

The kernels keep a little process-wide state (which BLAS they call and what they
learned about it), so each kernel build is also run in a fresh interpreter whose
first products start in several threads at once.
"""

import json
import threading

import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_validate
from threadpoolctl import threadpool_info, threadpool_limits

from _subprocess import run_python
from fcnn_sk import FCNNClassifier, FCNNRegressor, _compiled

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FRESH_INTERPRETER = r"""
import json, pickle, threading, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits
from fcnn_sk import FCNNClassifier, FCNNRegressor, _compiled

warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16
X32 = X.astype(np.float32)
target = X[:, :8].sum(axis=1) - X[:, 8:16].sum(axis=1)
fits = [
    # the products of digits' first layer go in row blocks at one BLAS thread
    lambda: FCNNClassifier((100,), max_iter=4, random_state=0).fit(X32, y),
    lambda: FCNNClassifier((64, 32), solver="sgd", dropout=(0.2, 0.1), max_iter=4,
                           random_state=1).fit(X, y),
    lambda: FCNNRegressor((32,), solver="lbfgs", max_iter=15, random_state=2).fit(
        X, target),
    lambda: FCNNRegressor((48,), activation="gelu", solver="rmsprop",
                          max_grad_norm=1.0, max_iter=4, random_state=3).fit(
        sp.csr_matrix(X32), target),
]


def weights(model):
    return b"".join(a.tobytes() for a in model.coefs_ + model.intercepts_)


def in_threads(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i):
        barrier.wait()  # start together
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


report = {"build": _compiled.name}
for limit in (None, 1):  # None first: the process's first products, in 4 threads
    with threadpool_limits(limit):
        threaded = in_threads(fits)
        sequential = [fit() for fit in fits]
        report[f"fits, BLAS threads {limit}"] = [
            weights(a) == weights(b) for a, b in zip(threaded, sequential)]
        # one estimator shared by 8 threads, freshly unpickled: each call may
        # rebuild its flat parameter buffer
        shared = pickle.loads(pickle.dumps(sequential[0]))
        parts = [X32[i::4] for i in range(4)] * 2
        predicted = in_threads([lambda p=p: shared.predict_proba(p) for p in parts])
        report[f"shared predictions, BLAS threads {limit}"] = [
            np.array_equal(p, sequential[0].predict_proba(part))
            for p, part in zip(predicted, parts)]
        # small batches take the short path, whose workspace is kept between calls
        shared = pickle.loads(pickle.dumps(sequential[0]))
        parts = [np.ascontiguousarray(X32[i : i + n])
                 for i, n in enumerate([1, 3, 64, 256] * 2)]
        predicted = in_threads([lambda p=p: [shared.predict_proba(p)
                                             for _ in range(50)] for p in parts])
        report[f"shared small-batch predictions, BLAS threads {limit}"] = [
            all(np.array_equal(p, sequential[0].predict_proba(part)) for p in ps)
            for ps, part in zip(predicted, parts)]
print(json.dumps(report))
"""


@pytest.mark.parametrize("build", sorted(_compiled.available()))
def test_threads_match_sequential_runs_in_a_fresh_interpreter(build, tmp_path):
    run = run_python(["-c", FRESH_INTERPRETER], tmp_path, {"FCNN_SK_KERNELS": build})
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report.pop("build") == build
    assert len(report) == 6
    for what, same in report.items():
        assert same and all(same), f"{what}: {same}"


# --- scikit-learn's searches on threads ---------------------------------------------

FIT_RECORDS = []  # (thread id, BLAS thread counts seen by the fit)


class RecordingClassifier(FCNNClassifier):
    """FCNNClassifier that records where each fit ran and with how many BLAS
    threads."""

    def fit(self, X, y, *args, **kwargs):
        blas = sorted(
            {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        )
        FIT_RECORDS.append((threading.get_ident(), blas))
        return super().fit(X, y, *args, **kwargs)


@pytest.fixture
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16).astype(np.float32), y[:600]


def _blas_threads():
    return [
        (i["filepath"], i["num_threads"])
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]


def _threaded_cv_fits(n_fits):
    """Checks the records of ``n_fits`` cross-validation fits run on threads."""
    main = threading.get_ident()
    on_threads = [blas for ident, blas in FIT_RECORDS if ident != main]
    assert len(on_threads) == n_fits, FIT_RECORDS
    assert all(blas == [1] for blas in on_threads), FIT_RECORDS


def test_search_on_threads_with_one_blas_thread_each(kernel_build, digits):
    # the recipe of the README: BLAS limited to one thread while the search runs
    # its fits on threads, restored afterwards
    X, y = digits
    grid = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-1]}

    def make():
        return GridSearchCV(
            RecordingClassifier(max_iter=10, random_state=0), grid, cv=3
        )

    with threadpool_limits(limits=1, user_api="blas"):
        sequential = make().fit(X, y)
    before = _blas_threads()
    FIT_RECORDS.clear()
    with (
        threadpool_limits(limits=1, user_api="blas"),
        parallel_config(backend="threading", n_jobs=2),
    ):
        threaded = make().fit(X, y)
    assert _blas_threads() == before
    _threaded_cv_fits(4 * 3)
    assert threaded.best_params_ == sequential.best_params_
    for key in (
        "mean_test_score",
        "rank_test_score",
        *(f"split{i}_test_score" for i in range(3)),
    ):
        assert_array_equal(threaded.cv_results_[key], sequential.cv_results_[key])
    for a, b in zip(threaded.best_estimator_.coefs_, sequential.best_estimator_.coefs_):
        assert_array_equal(a, b)


def test_cross_validate_on_threads(kernel_build, digits):
    X, y = digits
    model = RecordingClassifier((32,), max_iter=10, random_state=0)
    with threadpool_limits(limits=1, user_api="blas"):
        sequential = cross_validate(model, X, y, cv=4, return_estimator=True)
        FIT_RECORDS.clear()
        with parallel_config(backend="threading", n_jobs=2):
            threaded = cross_validate(model, X, y, cv=4, return_estimator=True)
    _threaded_cv_fits(4)
    assert_array_equal(threaded["test_score"], sequential["test_score"])
    for a, b in zip(threaded["estimator"], sequential["estimator"]):
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            assert_array_equal(p, q)


class WiderClassifier(FCNNClassifier):
    """A subclass with parameters of its own."""

    def __init__(self, hidden_layer_sizes=(100,), width_factor=2):
        super().__init__(hidden_layer_sizes)
        self.width_factor = width_factor


def test_parameter_names_are_read_once_per_class():
    # the names scikit-learn reads off each __init__ (cached: a search's threads
    # would read them under the GIL several times per fit)
    for cls in (FCNNClassifier, FCNNRegressor, WiderClassifier):
        expected = BaseEstimator._get_param_names.__func__(cls)
        assert cls._get_param_names() == expected
        assert cls._get_param_names() == expected  # from the cache
    assert "width_factor" in WiderClassifier._get_param_names()
    assert "width_factor" not in FCNNClassifier._get_param_names()
    names = FCNNClassifier._get_param_names()
    names.clear()  # a caller's list, not the cache
    assert FCNNClassifier._get_param_names()
    assert WiderClassifier._get_param_names() == ["hidden_layer_sizes", "width_factor"]
    assert clone(WiderClassifier((8,), width_factor=3)).get_params() == {
        "hidden_layer_sizes": (8,),
        "width_factor": 3,
    }
