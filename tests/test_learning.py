"""Learning quality: fcnn_sk learns as well as scikit-learn's MLP with the same
hyperparameters, and solves the classic hand-made problems (a linear map, XOR)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fcnn_sk import FCNNClassifier, FCNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SEEDS = [0, 1, 2]


def _load(name):
    loader = {
        "digits": load_digits,
        "breast_cancer": load_breast_cancer,
        "diabetes": load_diabetes,
    }[name]
    X, y = loader(return_X_y=True)
    strat = y if name != "diabetes" else None
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=strat)


# hyperparameters per (dataset, solver): small nets, enough epochs to learn
CLF_PARAMS = {
    "sgd": dict(
        hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=0.01, max_iter=100
    ),
    "adam": dict(hidden_layer_sizes=(32,), solver="adam", max_iter=100),
    "lbfgs": dict(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200),
}
REG_PARAMS = {
    "sgd": dict(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.01,
        alpha=1.0,
        max_iter=200,
    ),
    "adam": dict(
        hidden_layer_sizes=(16,),
        solver="adam",
        learning_rate_init=0.01,
        alpha=1.0,
        max_iter=200,
    ),
    "lbfgs": dict(hidden_layer_sizes=(16,), solver="lbfgs", alpha=30.0, max_iter=200),
}
MIN_ACCURACY = {"digits": 0.93, "breast_cancer": 0.92}


def _clf_score(Est, params, seed, data):
    X_tr, X_te, y_tr, y_te = data
    model = make_pipeline(StandardScaler(), Est(random_state=seed, **params))
    model.fit(X_tr, y_tr)
    return model.score(X_te, y_te)


def _reg_score(Est, params, seed, data):
    X_tr, X_te, y_tr, y_te = data
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), Est(random_state=seed, **params)),
        transformer=StandardScaler(),
    )
    model.fit(X_tr, y_tr)
    return model.score(X_te, y_te)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("dataset", ["digits", "breast_cancer"])
def test_classification_quality_matches_sklearn(dataset, solver):
    data = _load(dataset)
    ours = [_clf_score(FCNNClassifier, CLF_PARAMS[solver], s, data) for s in SEEDS]
    theirs = [_clf_score(MLPClassifier, CLF_PARAMS[solver], s, data) for s in SEEDS]
    assert min(ours) >= MIN_ACCURACY[dataset], ours
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.02, (ours, theirs)
    if solver != "lbfgs":
        # identical trajectories (same init, shuffling and updates): same test accuracy
        for o, t in zip(ours, theirs):
            assert abs(o - t) <= 0.01, (ours, theirs)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_regression_quality_matches_sklearn(solver):
    data = _load("diabetes")
    ours = [_reg_score(FCNNRegressor, REG_PARAMS[solver], s, data) for s in SEEDS]
    theirs = [_reg_score(MLPRegressor, REG_PARAMS[solver], s, data) for s in SEEDS]
    assert min(ours) > 0.2, ours
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.05, (ours, theirs)


# ------------------------------------------------------------------ linear map
W_TRUE = np.array([[3.0, 7.0, 4.0], [5.0, 2.0, 6.0]])
B_TRUE = np.array([2.0, 9.0, 3.0])


def _linear_data(n=200, seed=0):
    X = np.random.RandomState(seed).uniform(-1, 1, size=(n, 2))
    return X, X @ W_TRUE + B_TRUE


def test_recover_linear_map_lbfgs():
    X, Y = _linear_data()
    reg = FCNNRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        solver="lbfgs",
        alpha=0.0,
        tol=1e-12,
        max_iter=1000,
        random_state=0,
    ).fit(X, Y)
    assert reg.n_layers_ == 2
    assert reg.coefs_[0].shape == (2, 3)
    assert_allclose(reg.coefs_[0], W_TRUE, atol=1e-3)
    assert_allclose(reg.intercepts_[0], B_TRUE, atol=1e-3)
    assert_allclose(reg.predict(X), Y, atol=1e-3)
    assert reg.score(X, Y) > 1 - 1e-8


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_recover_linear_map_adam(dtype):
    X, Y = _linear_data()
    reg = FCNNRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        solver="adam",
        alpha=0.0,
        learning_rate_init=0.05,
        batch_size=32,
        max_iter=600,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    reg.fit(X.astype(dtype), Y.astype(dtype))
    assert reg.coefs_[0].dtype == dtype
    assert_allclose(reg.coefs_[0], W_TRUE, atol=1e-2)
    assert_allclose(reg.intercepts_[0], B_TRUE, atol=1e-2)
    # the loss went down by many orders of magnitude
    assert reg.loss_curve_[-1] < 1e-4 * reg.loss_curve_[0]


def test_recover_linear_map_sgd():
    X, Y = _linear_data()
    reg = FCNNRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        solver="sgd",
        alpha=0.0,
        learning_rate_init=0.05,
        batch_size=16,
        max_iter=300,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    ).fit(X, Y)
    assert_allclose(reg.coefs_[0], W_TRUE, atol=1e-2)
    assert_allclose(reg.intercepts_[0], B_TRUE, atol=1e-2)


def test_linear_map_through_identity_hidden_layer():
    # a linear hidden layer cannot add expressiveness but must still fit exactly
    X, Y = _linear_data()
    reg = FCNNRegressor(
        hidden_layer_sizes=(5,),
        activation="identity",
        solver="lbfgs",
        alpha=0.0,
        tol=1e-12,
        max_iter=2000,
        random_state=0,
    ).fit(X, Y)
    W_eff = reg.coefs_[0] @ reg.coefs_[1]
    b_eff = reg.intercepts_[0] @ reg.coefs_[1] + reg.intercepts_[1]
    assert_allclose(W_eff, W_TRUE, atol=1e-3)
    assert_allclose(b_eff, B_TRUE, atol=1e-3)


# ------------------------------------------------------------------------- XOR
X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_xor_lbfgs_tanh(seed):
    clf = FCNNClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        solver="lbfgs",
        random_state=seed,
        max_iter=500,
    ).fit(X_XOR, Y_XOR)
    assert_array_equal(clf.predict(X_XOR), Y_XOR)
    proba = clf.predict_proba(X_XOR)
    assert (proba[np.arange(4), Y_XOR] > 0.9).all()


def test_xor_needs_a_hidden_layer():
    # the logistic model (no hidden layer) cannot separate XOR
    clf = FCNNClassifier(
        hidden_layer_sizes=(), solver="lbfgs", random_state=0, max_iter=500
    ).fit(X_XOR, Y_XOR)
    assert (clf.predict(X_XOR) == Y_XOR).sum() < 4


@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_xor_adam(activation):
    clf = FCNNClassifier(
        hidden_layer_sizes=(16,),
        activation=activation,
        solver="adam",
        learning_rate_init=0.05,
        max_iter=2000,
        tol=0.0,
        n_iter_no_change=2000,
        random_state=0,
    ).fit(X_XOR, Y_XOR)
    assert_array_equal(clf.predict(X_XOR), Y_XOR)


def test_xor_regressor():
    reg = FCNNRegressor(
        hidden_layer_sizes=(8,),
        activation="tanh",
        solver="lbfgs",
        alpha=0.0,
        tol=1e-10,
        max_iter=1000,
        random_state=0,
    ).fit(X_XOR, Y_XOR.astype(float))
    assert_allclose(reg.predict(X_XOR), Y_XOR, atol=1e-2)
