"""Trajectory parity with scikit-learn's MLP: with the same data and
hyperparameters, fcnn_sk takes the same steps (SGD, Adam) and the same L-BFGS
iterates, to rounding, and stops at the same epoch."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from _helpers import (
    SW_SMALL,
    X_SMALL,
    Y_SMALL_BIN,
    Y_SMALL_ML,
    Y_SMALL_MULTI,
    Y_SMALL_POIS,
    Y_SMALL_REG,
    Y_SMALL_REG2,
    assert_params_allclose,
)
from fcnn_sk import FCNNClassifier, FCNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
# the solvers scikit-learn's MLP has
SKLEARN_STOCHASTIC = ["sgd", "adam"]


# ================================================= same trajectory as sklearn
def _trajectory_case(case):
    """(estimator pair, y, fit kwargs, loss ratio ours/sklearn)"""
    if case == "binary":
        return FCNNClassifier, MLPClassifier, Y_SMALL_BIN, {}, {}
    if case == "multiclass":
        return FCNNClassifier, MLPClassifier, Y_SMALL_MULTI, {}, {}
    if case == "multilabel":
        return FCNNClassifier, MLPClassifier, Y_SMALL_ML, {}, {}
    if case == "regression":
        return FCNNRegressor, MLPRegressor, Y_SMALL_REG, {}, {}
    if case == "regression_sw":
        return FCNNRegressor, MLPRegressor, Y_SMALL_REG, {}, {"sample_weight": SW_SMALL}
    if case == "binary_sw":
        return (
            FCNNClassifier,
            MLPClassifier,
            Y_SMALL_BIN,
            {},
            {"sample_weight": SW_SMALL},
        )
    if case == "poisson":
        return FCNNRegressor, MLPRegressor, Y_SMALL_POIS, {"loss": "poisson"}, {}
    if case == "multioutput":
        return FCNNRegressor, MLPRegressor, Y_SMALL_REG2, {"alpha": 0.0}, {}
    raise ValueError(case)


TRAJ_CASES = [
    "binary",
    "multiclass",
    "multilabel",
    "regression",
    "regression_sw",
    "binary_sw",
    "poisson",
    "multioutput",
]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", SKLEARN_STOCHASTIC)
@pytest.mark.parametrize("case", TRAJ_CASES)
def test_same_trajectory_as_sklearn(case, solver, activation):
    Ours, Theirs, y, extra, fit_kw = _trajectory_case(case)
    kw = dict(
        hidden_layer_sizes=(7, 5),
        activation=activation,
        solver=solver,
        batch_size=16,
        max_iter=5,
        random_state=0,
        learning_rate_init=0.01,
        alpha=1e-3,
        n_iter_no_change=1000,
    )
    kw.update(extra)
    ours = Ours(**kw).fit(X_SMALL, y, **fit_kw)
    theirs = Theirs(**kw).fit(X_SMALL, y, **fit_kw)
    assert_params_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_ == 5
    assert ours.t_ == theirs.t_
    if case == "multioutput":
        # ours reports 0.5 * sum over outputs (the objective); sklearn the mean over outputs
        assert_allclose(
            ours.loss_curve_, np.asarray(theirs.loss_curve_) * y.shape[1], rtol=1e-7
        )
    else:
        assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
        assert_allclose(ours.best_loss_, theirs.best_loss_, rtol=1e-7)
    if Ours is FCNNClassifier:
        assert_allclose(
            ours.predict_proba(X_SMALL),
            theirs.predict_proba(X_SMALL),
            rtol=1e-7,
            atol=1e-10,
        )
        assert_array_equal(ours.predict(X_SMALL), theirs.predict(X_SMALL))
    else:
        assert_allclose(
            ours.predict(X_SMALL), theirs.predict(X_SMALL), rtol=1e-7, atol=1e-10
        )


@pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning")
@pytest.mark.parametrize(
    "sgd_kw",
    [
        {"momentum": 0.0},
        {"nesterovs_momentum": False},
        {"learning_rate": "invscaling", "power_t": 0.4},
        {"learning_rate": "adaptive"},
        {"batch_size": 1, "learning_rate_init": 0.002},
        {"batch_size": 200},
        {"shuffle": False},
    ],
    ids=lambda d: "-".join(f"{k}={v}" for k, v in d.items()),
)
def test_same_trajectory_as_sklearn_sgd_variants(sgd_kw):
    kw = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        batch_size=16,
        max_iter=5,
        random_state=1,
        learning_rate_init=0.02,
        n_iter_no_change=1000,
    )
    kw.update(sgd_kw)
    ours = FCNNRegressor(**kw).fit(X_SMALL, Y_SMALL_REG)
    theirs = MLPRegressor(**kw).fit(X_SMALL, Y_SMALL_REG)
    assert_params_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)


@pytest.mark.parametrize(
    "adam_kw",
    [{"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4}, {"learning_rate_init": 0.1}],
)
def test_same_trajectory_as_sklearn_adam_variants(adam_kw):
    kw = dict(
        hidden_layer_sizes=(6,),
        solver="adam",
        batch_size=16,
        max_iter=5,
        random_state=1,
        n_iter_no_change=1000,
    )
    kw.update(adam_kw)
    ours = FCNNClassifier(**kw).fit(X_SMALL, Y_SMALL_MULTI)
    theirs = MLPClassifier(**kw).fit(X_SMALL, Y_SMALL_MULTI)
    assert_params_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)


@pytest.mark.parametrize("solver", SKLEARN_STOCHASTIC)
@pytest.mark.parametrize("case", ["multiclass", "regression"])
def test_same_trajectory_as_sklearn_float32(case, solver):
    Ours, Theirs, y, extra, fit_kw = _trajectory_case(case)
    kw = dict(
        hidden_layer_sizes=(7,),
        solver=solver,
        batch_size=16,
        max_iter=5,
        random_state=0,
        learning_rate_init=0.01,
        n_iter_no_change=1000,
    )
    X32 = X_SMALL.astype(np.float32)
    ours = Ours(**kw).fit(X32, y)
    theirs = Theirs(**kw).fit(X32, y)
    assert ours.coefs_[0].dtype == np.float32
    assert_params_allclose(ours, theirs, rtol=1e-3, atol=1e-4)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-4)


@pytest.mark.parametrize(
    "Ours,Theirs,y",
    [
        (FCNNClassifier, MLPClassifier, Y_SMALL_MULTI),
        (FCNNRegressor, MLPRegressor, Y_SMALL_REG),
    ],
    ids=["clf", "reg"],
)
def test_same_stopping_epoch_as_sklearn(Ours, Theirs, y):
    # A long run stopped by the tol / n_iter_no_change rule stops at the same epoch.
    kw = dict(
        hidden_layer_sizes=(8,),
        solver="adam",
        batch_size=20,
        max_iter=500,
        random_state=0,
        learning_rate_init=0.01,
        tol=1e-3,
        n_iter_no_change=5,
    )
    ours = Ours(**kw).fit(X_SMALL, y)
    theirs = Theirs(**kw).fit(X_SMALL, y)
    assert theirs.n_iter_ < 500
    assert ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    assert_params_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", SKLEARN_STOCHASTIC)
def test_same_trajectory_as_sklearn_sparse(solver, fmt):
    rng = np.random.RandomState(3)
    X = rng.rand(60, 12)
    X[X < 0.6] = 0.0
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    kw = dict(
        hidden_layer_sizes=(7,),
        solver=solver,
        batch_size=16,
        max_iter=5,
        random_state=0,
        learning_rate_init=0.01,
        n_iter_no_change=1000,
    )
    ours = FCNNClassifier(**kw).fit(Xs, Y_SMALL_MULTI)
    theirs = MLPClassifier(**kw).fit(Xs, Y_SMALL_MULTI)
    assert_params_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)


@pytest.mark.parametrize(
    "Ours,Theirs,y",
    [
        (FCNNClassifier, MLPClassifier, Y_SMALL_MULTI),
        (FCNNClassifier, MLPClassifier, Y_SMALL_BIN),
        (FCNNRegressor, MLPRegressor, Y_SMALL_REG),
    ],
    ids=["multiclass", "binary", "reg"],
)
def test_same_lbfgs_iterates_as_sklearn(Ours, Theirs, y):
    # same init, same objective and gradient -> scipy's L-BFGS takes the same first steps
    kw = dict(
        hidden_layer_sizes=(7,),
        activation="tanh",
        solver="lbfgs",
        max_iter=5,
        random_state=0,
        alpha=1e-3,
    )
    ours = Ours(**kw).fit(X_SMALL, y)
    theirs = Theirs(**kw).fit(X_SMALL, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-6)
    assert_params_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    "y", [Y_SMALL_MULTI, Y_SMALL_BIN], ids=["multiclass", "binary"]
)
def test_same_lbfgs_stopping_as_sklearn(y):
    # a run to convergence: stopped by the tolerance at the same iteration, no warning
    kw = dict(
        hidden_layer_sizes=(7,),
        activation="tanh",
        solver="lbfgs",
        max_iter=200,
        random_state=0,
        alpha=1e-3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = FCNNClassifier(**kw).fit(X_SMALL, y)
        theirs = MLPClassifier(**kw).fit(X_SMALL, y)
    assert 5 < ours.n_iter_ == theirs.n_iter_ < 200
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-6)
    assert_params_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


def test_verbose_lbfgs(capsys):
    FCNNClassifier((2,), solver="lbfgs", max_iter=3, verbose=True).fit(
        [[3, 2], [1, 6]], [1, 0]
    )
    out, _ = capsys.readouterr()
    assert "Iteration 1, loss = " in out
