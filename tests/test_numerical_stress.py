"""Numerical stress: float32 training on unscaled data, with learning rates that
diverge.

Inputs up to 1e4 in magnitude, targets up to 1e6, every solver, every loss (each
regression loss and the three classification targets), learning rates from sensible
to absurd. Each fit either ends with a model whose weights, loss and predictions are
finite, or raises the ValueError of the guards (fcnn_sk/_guards.py) and leaves no
fitted model; never a model that says it is fitted with NaN weights. The same for
partial_fit on a fitted model, which must then be left exactly as it was.
"""

import warnings
from functools import partial

import numpy as np
import pytest

from _helpers import assert_params_equal, params_of
from fcnn_sk import FCNNClassifier, FCNNRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # numpy warns of overflows as they happen; the outcome is what is checked
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]

RNG = np.random.RandomState(0)
N, D = 200, 6
X = (RNG.uniform(-1e4, 1e4, (N, D)) * RNG.uniform(0, 1, D)).astype(np.float32)
X[:5] = np.float32(1e4)  # the extreme itself
_SIGNAL = X @ RNG.uniform(-1, 1, D).astype(np.float32)
Y_REG = (1e6 * _SIGNAL / np.abs(_SIGNAL).max()).astype(np.float32)
TARGETS = {
    "squared_error": Y_REG,
    "absolute_error": Y_REG,
    "huber": Y_REG,
    "poisson": np.abs(Y_REG),
    "binary": (_SIGNAL > 0).astype(int),
    "multiclass": np.digitize(_SIGNAL, np.percentile(_SIGNAL, [33, 66])),
    "multilabel": np.c_[_SIGNAL > 0, X[:, 0] > 0, X[:, 1] < 0].astype(int),
}
SOLVERS_RATES = [
    (s, lr) for s in ("sgd", "adam", "rmsprop") for lr in (1e-3, 1.0, 1e3, 1e8)
] + [("lbfgs", None)]
DIVERGED = ("non-finite", "overflowed")


def _estimator(target, solver, lr, **kw):
    params = dict(
        hidden_layer_sizes=(16,), solver=solver, max_iter=25, random_state=0, **kw
    )
    if lr is not None:
        params["learning_rate_init"] = lr
    if target in ("binary", "multiclass", "multilabel"):
        return FCNNClassifier(**params)
    return FCNNRegressor(loss=target, **params)


def _check_outcome(est, fit):
    """``fit()`` either gives a finite model or raises the guards' error."""
    try:
        fit()
    except ValueError as exc:
        assert any(word in str(exc) for word in DIVERGED), str(exc)
        return False
    assert all(np.isfinite(p).all() for p in params_of(est)), "NaN weights kept"
    assert all(p.dtype == np.float32 for p in params_of(est))
    if not est.early_stopping:
        assert np.isfinite(est.loss_)
    try:
        pred = est.predict(X)
    except ValueError as exc:  # a finite model may still overflow: said so
        assert "overflowed" in str(exc), str(exc)
    else:
        assert np.isfinite(pred).all() and pred.shape[0] == N
        if isinstance(est, FCNNRegressor):
            assert pred.dtype == np.float32
    return True


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver, lr", SOLVERS_RATES)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fit_converges_or_raises(target, solver, lr, early_stopping):
    if early_stopping and (solver == "lbfgs" or target == "multilabel"):
        pytest.skip("early stopping: stochastic solvers; single-label stratified split")
    est = _estimator(target, solver, lr, early_stopping=early_stopping)
    fitted = _check_outcome(est, lambda: est.fit(X, TARGETS[target]))
    if not fitted:
        assert not hasattr(est, "coefs_"), "a failed fit left a fitted model"


@pytest.mark.parametrize("solver, lr", [s for s in SOLVERS_RATES if s[0] != "lbfgs"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_partial_fit_converges_or_raises_and_leaves_the_model(target, solver, lr):
    y = TARGETS[target]
    est = _estimator(target, solver, lr)
    kw = {}
    if isinstance(est, FCNNClassifier):
        kw["classes"] = np.unique(y) if y.ndim == 1 else np.arange(y.shape[1])
    for start in range(0, N, 50):
        before = params_of(est) if hasattr(est, "coefs_") else None
        rows = slice(start, start + 50)
        if not _check_outcome(est, partial(est.partial_fit, X[rows], y[rows], **kw)):
            if before is None:
                assert not hasattr(est, "coefs_")
            else:
                assert_params_equal(est, before)
            break
        kw = {}


def test_float32_training_that_scales_well_converges():
    # the stress data, standardised: every solver must converge to a good fit
    from sklearn.preprocessing import StandardScaler

    Xs = StandardScaler().fit_transform(X).astype(np.float32)
    ys = (Y_REG / Y_REG.std()).astype(np.float32)
    for solver in ("sgd", "adam", "rmsprop", "lbfgs"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = FCNNRegressor(
                (16,),
                solver=solver,
                max_iter=300,
                random_state=0,
                learning_rate_init=0.01,
            ).fit(Xs, ys)
        assert est.score(Xs, ys) > 0.95, solver


def test_huge_power_t_gives_a_zero_learning_rate():
    # (t + 1) ** power_t overflows a Python float: the rate is 0, not an OverflowError
    est = FCNNRegressor(
        (4,), learning_rate="invscaling", power_t=1e300, max_iter=3, random_state=0
    ).fit(X[:20], Y_REG[:20])
    assert est._training.optimizer.learning_rate == 0.0
    assert est.loss_curve_[1] == est.loss_curve_[2]  # no step after the first epoch


def test_lbfgs_with_a_curvature_that_underflows():
    # y'y of L-BFGS's pair underflowed to 0 here (a ZeroDivisionError); the loss of a
    # 1e300 target is not finite in float64: the guards' error, nothing else
    with pytest.raises(ValueError, match="non-finite"):
        FCNNRegressor(
            (3,),
            activation="elu",
            alpha=1.0,
            solver="lbfgs",
            max_iter=2,
            random_state=0,
        ).fit([[1.764052]], [1e300])
