"""fcnn_sk on a Dask cluster: searches through joblib's dask backend, dask-ml's
wrappers and its incremental searches.

One ``distributed.LocalCluster`` (two worker processes on the loopback interface)
serves the module and is stopped by it. Dask's workers run BLAS with one thread;
the in-process references run with the same limit, so the two compute the same
products in the same order and must agree exactly. dask-ml's incremental searches
move each model between the workers, pickled, between its ``partial_fit`` calls; the
best model must equal one trained here by as many calls on the same data.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from threadpoolctl import threadpool_info, threadpool_limits

from fcnn_sk import FCNNClassifier, FCNNRegressor

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask_ml = pytest.importorskip("dask_ml")
from dask_ml.model_selection import (
    HyperbandSearchCV,
    IncrementalSearchCV,
    train_test_split,
)
from dask_ml.wrappers import Incremental, ParallelPostFit
from joblib import parallel_config
from packaging.version import Version

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    # dask-ml samples no more candidates than a small grid has
    "ignore:The total space of parameters:UserWarning",
)

# dask >= 2025.3 refuses dask.persist with the client that dask-ml's incremental
# searches run their event loop on (dask-ml issue #1016); naming the client as the
# scheduler makes dask.persist hand the work to it, as older dask did
PERSIST_NEEDS_CLIENT = Version(dask.__version__) >= Version("2025.3.0")


def _worker_blas_threads(client):
    """The BLAS thread count of the workers (one number; dask sets it)."""
    counts = client.run(
        lambda: sorted(
            {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        )
    )
    values = {tuple(c) for c in counts.values()}
    assert len(values) == 1 and len(next(iter(values))) == 1, counts
    return next(iter(values))[0]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.blas_threads = _worker_blas_threads(client)
        yield client


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:1500] / 16).astype(np.float32), y[:1500]


def _same_weights(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype
        assert_array_equal(p, q)


# --- scikit-learn's searches through joblib's dask backend ------------------------


@pytest.mark.parametrize("Search", [GridSearchCV, RandomizedSearchCV])
def test_search_on_the_cluster_equals_the_local_search(client, digits, Search):
    X, y = digits
    grid = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-1]}
    options = {"n_iter": 3, "random_state": 0} if Search is RandomizedSearchCV else {}

    def make():
        return Search(
            FCNNClassifier(max_iter=15, random_state=0),
            grid,
            cv=3,
            n_jobs=-1,
            **options,
        )

    with threadpool_limits(client.blas_threads):
        local = make().set_params(n_jobs=1).fit(X, y)
    with parallel_config(backend="dask"), distributed.get_task_stream(client) as tasks:
        remote = make().fit(X, y)
    assert {task["worker"] for task in tasks.data}, "nothing ran on the cluster"
    assert remote.best_params_ == local.best_params_
    for key in (
        "params",
        "mean_test_score",
        "rank_test_score",
        *(f"split{i}_test_score" for i in range(3)),
    ):
        assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    _same_weights(remote.best_estimator_, local.best_estimator_)


# --- dask-ml's wrappers -------------------------------------------------------------


def _regression():
    X, y = make_regression(1200, 20, n_informative=10, noise=1.0, random_state=0)
    return X, y / y.std()


@pytest.mark.parametrize("Estimator", [FCNNClassifier, FCNNRegressor])
def test_incremental_continues_one_training_across_blocks(client, digits, Estimator):
    # the model travels between the worker processes from block to block: each
    # partial_fit call must pick up the weights and the optimizer state where the
    # previous one left them, on whichever worker it runs
    X, y = digits if Estimator is FCNNClassifier else _regression()
    fit_params = {"classes": np.unique(y)} if Estimator is FCNNClassifier else {}
    block = 300
    X_dask = da.from_array(X, chunks=(block, X.shape[1]))
    y_dask = da.from_array(y, chunks=block)
    estimator = Estimator((32,), random_state=0)
    remote = Incremental(estimator, shuffle_blocks=False)
    remote.fit(X_dask, y_dask, **fit_params)
    remote.partial_fit(X_dask, y_dask, **fit_params)  # a second pass

    local = clone(estimator)
    with threadpool_limits(client.blas_threads):
        for _ in range(2):
            for start in range(0, len(X), block):
                local.partial_fit(
                    X[start : start + block], y[start : start + block], **fit_params
                )
    fitted = remote.estimator_
    _same_weights(fitted, local)
    n_blocks = -(-len(X) // block)
    assert len(fitted.loss_curve_) == 2 * n_blocks
    assert fitted.t_ == 2 * len(X)
    # Adam's step count went on: two steps (200 + 100 rows) per block and pass
    assert (
        fitted._training.optimizer.step
        == local._training.optimizer.step
        == 2 * 2 * n_blocks
    )


def test_parallel_post_fit_predicts_as_in_process(client, digits):
    X, y = digits
    model = ParallelPostFit(FCNNClassifier((32,), max_iter=20, random_state=0))
    model.fit(X, y)
    X_dask = da.from_array(X, chunks=(256, X.shape[1]))
    with threadpool_limits(client.blas_threads):
        expected_proba = model.estimator.predict_proba(X)
        expected = model.estimator.predict(X)
    proba = model.predict_proba(X_dask)
    labels = model.predict(X_dask)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    proba, labels = client.compute([proba, labels], sync=True)
    assert proba.dtype == np.float32
    assert_array_equal(proba, expected_proba)
    assert_array_equal(labels, expected)


# --- dask-ml's incremental searches -------------------------------------------------


def _persist_through(client):
    """What dask-ml's incremental searches need around ``fit`` on this dask."""
    return dask.config.set(scheduler=client.get)


def _train_split(client, X_dask, y_dask, random_state):
    # the split the searches make with test_size=0.2
    X_train, _, y_train, _ = train_test_split(
        X_dask, y_dask, test_size=0.2, random_state=random_state, shuffle=True
    )
    return client.compute([X_train, y_train], sync=True)


def _split_seed(search):
    """The random_state of the train/test split the best model trained on.

    IncrementalSearchCV splits once, with its random_state. HyperbandSearchCV runs
    one SuccessiveHalvingSearchCV per bracket, each splitting the data anew with its
    own random_state: the search's own for bracket 0, another seed drawn from it
    for the others (dask-ml's ``_get_SHAs``); ``metadata_`` records them."""
    if not isinstance(search, HyperbandSearchCV):
        return search.random_state
    bracket = search.cv_results_["bracket"][search.best_index_]
    (meta,) = [m for m in search.metadata_["brackets"] if m["bracket"] == bracket]
    return meta["SuccessiveHalvingSearchCV params"]["random_state"]


@pytest.mark.parametrize("Search", [IncrementalSearchCV, HyperbandSearchCV])
def test_incremental_search_trains_each_model_by_continued_partial_fit(
    client, digits, Search
):
    X, y = digits
    classes = np.unique(y)
    # one block: every partial_fit call of a model trains on the same rows, so a
    # model after k calls can be rebuilt here
    X_dask = da.from_array(X, chunks=X.shape)
    y_dask = da.from_array(y, chunks=len(y))
    params = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
    # shuffling: each call goes on with the model's own random stream, which the
    # search's copies of the model (deepcopy before every call) carry along
    estimator = FCNNClassifier((32,), random_state=0)
    if Search is IncrementalSearchCV:
        search = Search(
            estimator,
            params,
            n_initial_parameters=4,
            max_iter=5,
            decay_rate=None,
            test_size=0.2,
            random_state=0,
        )
    else:
        search = Search(estimator, params, max_iter=9, test_size=0.2, random_state=0)
    with _persist_through(client):
        search.fit(X_dask, y_dask, classes=classes)
    assert search.best_score_ > 0.85

    calls = int(search.cv_results_["partial_fit_calls"][search.best_index_])
    assert calls > 1
    X_train, y_train = _train_split(client, X_dask, y_dask, _split_seed(search))
    local = clone(estimator).set_params(**search.best_params_)
    with threadpool_limits(client.blas_threads):
        for _ in range(calls):
            local.partial_fit(X_train, y_train, classes=classes)
    best = search.best_estimator_
    _same_weights(best, local)
    assert best.t_ == calls * len(X_train)
    steps_per_call = -(-len(X_train) // 200)
    assert (
        best._training.optimizer.step == calls * steps_per_call
    )  # Adam was not restarted


@pytest.mark.xfail(
    PERSIST_NEEDS_CLIENT,
    raises=RuntimeError,
    strict=True,
    reason="dask-ml issue #1016: dask.persist from an event loop",
)
def test_incremental_search_without_the_scheduler_setting(client, digits):
    # documents why _persist_through exists; strict, so it reports when a dask-ml
    # release no longer needs it
    X, y = digits
    X_dask = da.from_array(X, chunks=(750, X.shape[1]))
    y_dask = da.from_array(y, chunks=750)
    search = IncrementalSearchCV(
        FCNNClassifier((16,), random_state=0),
        {"alpha": [1e-4, 1e-2]},
        n_initial_parameters=2,
        max_iter=2,
        decay_rate=None,
        random_state=0,
    )
    search.fit(X_dask, y_dask, classes=np.unique(y))
    assert list(search.cv_results_["partial_fit_calls"]) == [2, 2]
