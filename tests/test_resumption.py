"""Training resumes exactly: k warm-started fits (or partial_fit calls) of n epochs
train the same model, bit for bit, as one fit of k * n epochs, and so does a model
pickled in between."""

import pickle

import numpy as np
import pytest

from _helpers import assert_params_equal
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import SOLVERS, STOCHASTIC_SOLVERS

_rng = np.random.RandomState(0)
X = _rng.normal(size=(70, 4))
Y_CLS = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
Y_REG = X @ [1.0, -2.0, 0.5, 0.3]

CASES = [
    (FCNNClassifier, Y_CLS, {}),
    (FCNNRegressor, Y_REG, {}),
    (FCNNClassifier, Y_CLS, {"dropout": 0.3, "input_dropout": 0.1}),
    (FCNNRegressor, Y_REG, {"dropout": 0.2}),
    (FCNNRegressor, Y_REG.astype(np.float32), {"float32": True}),
]


def _model(Est, solver, random_state, **extra):
    return Est(
        (6, 5),
        solver=solver,
        batch_size=16,
        random_state=random_state,
        learning_rate_init=0.01,
        tol=0.0,
        n_iter_no_change=1000,
        **extra,
    )


def _data(extra):
    """X (float32 for the float32 cases) and the estimator's own parameters."""
    extra = dict(extra)
    return (X.astype(np.float32) if extra.pop("float32", False) else X), extra


def _fits(est, X, y, k):
    for _ in range(k):
        est.fit(X, y)
    return est


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("random_state", ["int", "RandomState"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est,y,extra", CASES)
def test_warm_started_fits_equal_one_long_fit(Est, y, extra, solver, random_state):
    X, extra = _data(extra)
    seed = (lambda: 7) if random_state == "int" else (lambda: np.random.RandomState(7))
    one = _model(Est, solver, seed(), max_iter=12, **extra).fit(X, y)
    warm = _fits(
        _model(Est, solver, seed(), max_iter=3, warm_start=True, **extra), X, y, 4
    )
    assert_params_equal(one, warm)
    if SOLVERS[solver].stochastic:
        assert warm.t_ == one.t_
        assert warm.loss_curve_ == one.loss_curve_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", STOCHASTIC_SOLVERS)
@pytest.mark.parametrize("Est,y,extra", CASES)
def test_partial_fit_calls_equal_one_fit(Est, y, extra, solver):
    X, extra = _data(extra)
    one = _model(Est, solver, 3, max_iter=6, **extra).fit(X, y)
    inc = _model(Est, solver, 3, **extra)
    kwargs = {"classes": np.unique(y)} if Est is FCNNClassifier else {}
    for _ in range(6):
        inc.partial_fit(X, y, **kwargs)
    assert_params_equal(one, inc)
    assert inc.loss_curve_ == one.loss_curve_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", STOCHASTIC_SOLVERS)
@pytest.mark.parametrize("Est,y,extra", CASES)
def test_pickled_in_between_continues_exactly(Est, y, extra, solver):
    X, extra = _data(extra)
    one = _model(Est, solver, 5, max_iter=8, **extra).fit(X, y)
    first = _model(Est, solver, 5, max_iter=4, warm_start=True, **extra).fit(X, y)
    restored = pickle.loads(pickle.dumps(first))
    restored.fit(X, y)
    assert_params_equal(one, restored)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cold_fits_stay_reproducible_and_a_new_seed_changes_the_continuation():
    a = _model(FCNNClassifier, "adam", 0, max_iter=3).fit(X, Y_CLS)
    b = _model(FCNNClassifier, "adam", 0, max_iter=3).fit(X, Y_CLS)
    assert_params_equal(a, b)
    a.fit(X, Y_CLS)  # a cold refit starts over
    assert_params_equal(a, b)
    # a continued training re-seeds when random_state is changed
    warm = _model(FCNNClassifier, "adam", 0, max_iter=3, warm_start=True).fit(X, Y_CLS)
    same = pickle.loads(pickle.dumps(warm)).fit(X, Y_CLS)
    other = pickle.loads(pickle.dumps(warm)).set_params(random_state=1).fit(X, Y_CLS)
    assert any(not np.array_equal(p, q) for p, q in zip(same.coefs_, other.coefs_))
