"""Bad input: every invalid X, y, sample_weight or hyperparameter is rejected with a
ValueError/TypeError whose message names the problem, before anything is trained,
and a fitted model is left exactly as it was."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError

from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import STOCHASTIC_SOLVERS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.RandomState(0)
X = RNG.randn(40, 4)
Y_CLF = (X[:, 0] + X[:, 1] > 0).astype(int)
Y_MULTI = np.digitize(X[:, 2], [-0.5, 0.5])
Y_REG = X @ np.array([1.0, -1.0, 2.0, 0.5])

ESTIMATORS = [FCNNClassifier, FCNNRegressor]
STOCHASTIC = list(STOCHASTIC_SOLVERS)


def _y(Est):
    return Y_CLF if Est is FCNNClassifier else Y_REG


def _make(Est, **kw):
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    params.update(kw)
    return Est(**params)


def _snapshot(est):
    snap = {
        "params": [
            np.array(p, copy=True) for p in list(est.coefs_) + list(est.intercepts_)
        ],
        "n_iter_": est.n_iter_,
        "loss_": est.loss_,
        "n_features_in_": est.n_features_in_,
        "n_outputs_": est.n_outputs_,
        "get_params": est.get_params(),
        "pred": np.array(est.predict(X), copy=True),
    }
    for attr in ("t_", "classes_", "loss_curve_", "best_loss_"):
        if hasattr(est, attr):
            val = getattr(est, attr)
            snap[attr] = None if val is None else np.array(val, copy=True)
    return snap


def _assert_unchanged(est, snap):
    now = _snapshot(est)
    assert len(now["params"]) == len(snap["params"])
    for a, b in zip(now["params"], snap["params"]):
        assert a.dtype == b.dtype
        assert_array_equal(a, b)
    for key, val in snap.items():
        if key == "params":
            continue
        if isinstance(val, np.ndarray):
            assert_array_equal(now[key], val, err_msg=key)
        else:
            assert now[key] == val, key


@pytest.fixture(
    params=[(Est, s) for Est in ESTIMATORS for s in ("adam", "lbfgs")],
    ids=lambda p: f"{p[0].__name__}-{p[1]}",
)
def fitted(request):
    Est, solver = request.param
    est = _make(Est, solver=solver).fit(X, _y(Est))
    return est, _snapshot(est)


# ----------------------------------------------------------------- X problems
X_NAN = X.copy()
X_NAN[3, 1] = np.nan
X_INF = X.copy()
X_INF[5, 2] = np.inf
X_NINF = X.copy()
X_NINF[0, 0] = -np.inf

BAD_X = [
    ("nan", X_NAN, r"NaN"),
    ("inf", X_INF, r"infinity"),
    ("-inf", X_NINF, r"infinity"),
    ("nan-csr", sp.csr_matrix(X_NAN), r"NaN"),
    ("nan-float32", X_NAN.astype(np.float32), r"NaN"),
    ("1d", X[:, 0], r"2D array"),
    ("3d", X.reshape(40, 2, 2), r"dim 3|3D|2D array|dimension"),
    ("complex", X + 1j, r"[Cc]omplex"),
    (
        "strings",
        np.array([["a", "b", "c", "d"]] * 40),
        r"could not convert|numeric|string",
    ),
]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("name,Xb,msg", BAD_X, ids=[b[0] for b in BAD_X])
def test_bad_X_in_fit_fresh(Est, name, Xb, msg):
    est = _make(Est)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(Xb, _y(Est))
    # nothing was allocated or trained
    assert not hasattr(est, "coefs_")
    assert not hasattr(est, "n_iter_")


@pytest.mark.parametrize("name,Xb,msg", BAD_X, ids=[b[0] for b in BAD_X])
def test_bad_X_leaves_fitted_model_unchanged(fitted, name, Xb, msg):
    est, snap = fitted
    y = Y_CLF if isinstance(est, FCNNClassifier) else Y_REG
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(Xb, y)
    _assert_unchanged(est, snap)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.predict(Xb)
    if isinstance(est, FCNNClassifier):
        with pytest.raises((ValueError, TypeError), match=msg):
            est.predict_proba(Xb)
        with pytest.raises((ValueError, TypeError), match=msg):
            est.predict_log_proba(Xb)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.score(Xb, y)
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("name,Xb,msg", BAD_X, ids=[b[0] for b in BAD_X])
def test_bad_X_in_partial_fit(Est, solver, name, Xb, msg):
    est = _make(Est, solver=solver)
    kw = {"classes": [0, 1]} if Est is FCNNClassifier else {}
    with pytest.raises((ValueError, TypeError), match=msg):
        est.partial_fit(Xb, _y(Est), **kw)
    assert not hasattr(est, "coefs_")
    est.partial_fit(X, _y(Est), **kw)
    snap = _snapshot(est)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.partial_fit(Xb, _y(Est))
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_empty_X(Est):
    with pytest.raises(ValueError, match=r"0 sample"):
        _make(Est).fit(np.empty((0, 4)), np.empty(0))
    with pytest.raises(ValueError, match=r"0 feature"):
        _make(Est).fit(np.empty((40, 0)), _y(Est))


def test_empty_X_at_predict(fitted):
    est, snap = fitted
    with pytest.raises(ValueError, match=r"0 sample"):
        est.predict(np.empty((0, 4)))
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_mismatched_lengths(Est):
    est = _make(Est)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        est.fit(X, _y(Est)[:-1])
    assert not hasattr(est, "coefs_")


def test_mismatched_lengths_fitted(fitted):
    est, snap = fitted
    y = Y_CLF if isinstance(est, FCNNClassifier) else Y_REG
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        est.fit(X[:-3], y)
    _assert_unchanged(est, snap)


def test_wrong_feature_count_at_predict(fitted):
    est, snap = fitted
    with pytest.raises(
        ValueError, match=r"3 features.*expecting 4|expecting 4 features"
    ):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"features"):
        est.predict(np.c_[X, X])
    if isinstance(est, FCNNClassifier):
        with pytest.raises(ValueError, match=r"features"):
            est.predict_proba(X[:, :3])
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_wrong_feature_count_at_partial_fit(Est, solver):
    est = _make(Est, solver=solver)
    kw = {"classes": [0, 1]} if Est is FCNNClassifier else {}
    est.partial_fit(X, _y(Est), **kw)
    snap = _snapshot(est)
    with pytest.raises(ValueError, match=r"features"):
        est.partial_fit(X[:, :3], _y(Est))
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_wrong_feature_count_warm_start(Est):
    est = _make(Est, warm_start=True).fit(X, _y(Est))
    snap = _snapshot(est)
    with pytest.raises(ValueError, match=r"features"):
        est.fit(X[:, :3], _y(Est))
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_predict_before_fit(Est):
    with pytest.raises(NotFittedError):
        _make(Est).predict(X)
    if Est is FCNNClassifier:
        with pytest.raises(NotFittedError):
            _make(Est).predict_proba(X)


# ----------------------------------------------------------------- y problems
def test_nan_in_y_regressor():
    y = Y_REG.copy()
    y[7] = np.nan
    est = _make(FCNNRegressor)
    with pytest.raises(ValueError, match=r"NaN"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    y[7] = np.inf
    with pytest.raises(ValueError, match=r"infinity"):
        est.fit(X, y)
    est = _make(FCNNRegressor).fit(X, Y_REG)
    snap = _snapshot(est)
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        est.partial_fit(X, y) if est.solver != "lbfgs" else est.fit(X, y)
    _assert_unchanged(est, snap)


def test_nan_in_y_classifier():
    y = Y_CLF.astype(float)
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        _make(FCNNClassifier).fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_poisson_negative_y(solver):
    y = np.abs(Y_REG)
    y[4] = -0.5
    est = _make(FCNNRegressor, loss="poisson", solver=solver)
    with pytest.raises(ValueError, match=r"(?i)negative|non-negative|>= ?0|poisson"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    # zeros are fine
    _make(FCNNRegressor, loss="poisson", solver=solver).fit(X, np.where(y < 0, 0.0, y))


def test_poisson_negative_y_partial_fit():
    est = _make(FCNNRegressor, loss="poisson", solver="sgd").fit(X, np.abs(Y_REG))
    snap = _snapshot(est)
    y = np.abs(Y_REG)
    y[0] = -1.0
    with pytest.raises(ValueError, match=r"(?i)negative|non-negative|>= ?0|poisson"):
        est.partial_fit(X, y)
    _assert_unchanged(est, snap)


@pytest.mark.parametrize(
    "y",
    [np.array(["a", "b"] * 20), np.array(["a", "b"] * 20, dtype=object)],
    ids=["str", "object"],
)
def test_string_y_regressor(y):
    est = _make(FCNNRegressor)
    with pytest.raises(
        ValueError, match=r"(?i)numeric|could not convert string|string"
    ):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def test_complex_y_regressor():
    with pytest.raises((ValueError, TypeError), match=r"[Cc]omplex"):
        _make(FCNNRegressor).fit(X, Y_REG + 1j)


def test_continuous_y_classifier():
    with pytest.raises(ValueError, match=r"(?i)unknown label type|continuous"):
        _make(FCNNClassifier).fit(X, Y_REG)


def test_unseen_labels_partial_fit():
    est = _make(FCNNClassifier, solver="adam")
    est.partial_fit(X, Y_CLF, classes=[0, 1])
    snap = _snapshot(est)
    y = Y_CLF.copy()
    y[:2] = [5, 7]
    with pytest.raises(ValueError, match=r"5.*7|7.*5|classes"):
        est.partial_fit(X, y)
    _assert_unchanged(est, snap)
    # labels missing from `classes` on the first call
    est2 = _make(FCNNClassifier, solver="sgd")
    with pytest.raises(ValueError):
        est2.partial_fit(X, Y_CLF, classes=[1])
    assert not hasattr(est2, "coefs_")


def test_partial_fit_classifier_without_classes():
    est = _make(FCNNClassifier, solver="sgd")
    with pytest.raises(ValueError, match=r"classes"):
        est.partial_fit(X, Y_CLF)
    assert not hasattr(est, "coefs_")


def test_warm_start_with_new_classes():
    est = _make(FCNNClassifier, warm_start=True).fit(X, Y_MULTI)
    snap = _snapshot(est)
    with pytest.raises(ValueError, match=re.escape("warm_start")):
        est.fit(X, Y_CLF)
    _assert_unchanged(est, snap)


# ------------------------------------------------------- sample_weight problems
BAD_SW = [
    ("negative", np.r_[-1.0, np.ones(39)], r"(?i)negative"),
    ("short", np.ones(39), r"sample_weight"),
    ("long", np.ones(41), r"sample_weight"),
    ("2d", np.ones((40, 2)), r"sample_weight|1D|1 ?d"),
    ("nan", np.r_[np.nan, np.ones(39)], r"NaN"),
    ("inf", np.r_[np.inf, np.ones(39)], r"infinity"),
    ("all-zero", np.zeros(40), r"(?i)zero|sum|positive"),
    ("complex", np.ones(40) + 1j, r"[Cc]omplex"),
]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("name,sw,msg", BAD_SW, ids=[b[0] for b in BAD_SW])
def test_bad_sample_weight_fresh(Est, name, sw, msg):
    est = _make(Est)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(X, _y(Est), sample_weight=sw)
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("name,sw,msg", BAD_SW, ids=[b[0] for b in BAD_SW])
def test_bad_sample_weight_fitted(fitted, name, sw, msg):
    est, snap = fitted
    y = Y_CLF if isinstance(est, FCNNClassifier) else Y_REG
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(X, y, sample_weight=sw)
    _assert_unchanged(est, snap)
    if est.solver != "lbfgs":
        with pytest.raises((ValueError, TypeError), match=msg):
            est.partial_fit(X, y, sample_weight=sw)
        _assert_unchanged(est, snap)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_failed_refit_does_not_touch_fitted_state(Est):
    # A refit on different data (new feature count, new labels) that fails on a bad
    # sample_weight must not have reset n_features_in_, classes_ or the weights.
    est = _make(Est).fit(X, _y(Est))
    snap = _snapshot(est)
    X2 = RNG.randn(30, 6)
    y2 = (np.arange(30) % 3) + 10 if Est is FCNNClassifier else RNG.randn(30)
    with pytest.raises(ValueError, match=r"(?i)negative"):
        est.fit(X2, y2, sample_weight=-np.ones(30))
    _assert_unchanged(est, snap)


def test_validation_set_too_small():
    est = _make(FCNNRegressor, early_stopping=True)
    with pytest.raises(ValueError, match=r"validation set is too small"):
        est.fit(X[:2], Y_REG[:2])
    assert not hasattr(est, "coefs_")


# ------------------------------------------------------ invalid hyperparameters
INVALID_COMMON = [
    ("hidden_layer_sizes", (0,)),
    ("hidden_layer_sizes", (10, 0)),
    ("hidden_layer_sizes", (-3,)),
    ("hidden_layer_sizes", 0),
    ("hidden_layer_sizes", -1),
    ("hidden_layer_sizes", (2.5,)),
    ("hidden_layer_sizes", 2.5),
    ("hidden_layer_sizes", ("a",)),
    ("hidden_layer_sizes", "10"),
    ("hidden_layer_sizes", ((3,),)),
    ("hidden_layer_sizes", None),
    ("activation", "foo"),
    ("activation", None),
    ("solver", "foo"),
    ("solver", "lbfgsb"),
    ("alpha", -1),
    ("alpha", np.nan),
    ("alpha", "1"),
    ("batch_size", 0),
    ("batch_size", -5),
    ("batch_size", 2.5),
    ("batch_size", "big"),
    ("learning_rate", "foo"),
    ("learning_rate_init", 0),
    ("learning_rate_init", -0.1),
    ("power_t", -1),
    ("max_iter", 0),
    ("max_iter", -1),
    ("max_iter", 2.5),
    ("shuffle", "yes"),
    ("tol", -1),
    ("warm_start", 2),
    ("momentum", 2),
    ("momentum", -0.1),
    ("nesterovs_momentum", "no"),
    ("early_stopping", "no"),
    ("validation_fraction", 1),
    ("validation_fraction", 1.5),
    ("validation_fraction", -0.1),
    ("beta_1", 1),
    ("beta_1", -0.1),
    ("beta_2", 1),
    ("beta_2", 1.5),
    ("epsilon", 0),
    ("epsilon", -1e-8),
    ("n_iter_no_change", 0),
    ("n_iter_no_change", -2),
    ("n_iter_no_change", 2.5),
    ("max_fun", 0),
    ("random_state", "seed"),
]


def _param_ids(cases):
    return [f"{k}={v!r}" for k, v in cases]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("param,value", INVALID_COMMON, ids=_param_ids(INVALID_COMMON))
def test_invalid_hyperparameter_fit(Est, param, value):
    est = _make(Est, **{param: value})
    with pytest.raises((ValueError, TypeError), match=re.escape(param)):
        est.fit(X, _y(Est))
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("param,value", INVALID_COMMON, ids=_param_ids(INVALID_COMMON))
def test_invalid_hyperparameter_partial_fit(Est, param, value):
    if param == "solver":
        pytest.skip("partial_fit availability depends on the solver")
    est = _make(Est, solver="sgd", **{param: value})
    kw = {"classes": [0, 1]} if Est is FCNNClassifier else {}
    with pytest.raises((ValueError, TypeError), match=re.escape(param)):
        est.partial_fit(X, _y(Est), **kw)
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "param,value", INVALID_COMMON[:12], ids=_param_ids(INVALID_COMMON[:12])
)
def test_invalid_hyperparameter_leaves_fitted_model_unchanged(Est, param, value):
    est = _make(Est).fit(X, _y(Est))
    snap = _snapshot(est)
    est.set_params(**{param: value})
    with pytest.raises((ValueError, TypeError), match=re.escape(param)):
        est.fit(X, _y(Est))
    est.set_params(**{param: snap["get_params"][param]})
    _assert_unchanged(est, snap)


@pytest.mark.parametrize("value", ["foo", "log_loss", "squared", None])
def test_invalid_regressor_loss(value):
    est = _make(FCNNRegressor, loss=value)
    with pytest.raises((ValueError, TypeError), match="loss"):
        est.fit(X, Y_REG)
    assert not hasattr(est, "coefs_")


def test_classifier_has_no_loss_parameter():
    with pytest.raises(TypeError):
        FCNNClassifier(loss="squared_error")


def test_invalid_hyperparameters_not_checked_in_init():
    # sklearn convention: __init__ stores, fit validates
    est = FCNNClassifier(hidden_layer_sizes=(0,), alpha=-1, solver="foo")
    assert est.alpha == -1 and est.solver == "foo"
    with pytest.raises(ValueError):
        est.fit(X, Y_CLF)


def test_valid_edge_hyperparameters_accepted():
    # boundary values that are valid (closed ends of the intervals)
    for kw in (
        dict(momentum=0.0),
        dict(momentum=1.0, solver="sgd", learning_rate_init=1e-4),
        dict(alpha=0.0),
        dict(tol=0.0),
        dict(beta_1=0.0),
        dict(beta_2=0.0),
        dict(validation_fraction=0.5, early_stopping=True),
        dict(power_t=0.0),
        dict(n_iter_no_change=np.inf),
        dict(batch_size=1),
        dict(batch_size=10_000),
        dict(hidden_layer_sizes=()),
        dict(hidden_layer_sizes=np.array([3, 2])),
        dict(hidden_layer_sizes=(np.int64(3),)),
        dict(max_fun=1, solver="lbfgs"),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = _make(FCNNClassifier, **kw).fit(X, Y_CLF)
        assert all(np.isfinite(c).all() for c in est.coefs_), kw
