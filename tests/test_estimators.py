"""API behaviour of FCNNClassifier / FCNNRegressor.

Covers target types, the linear (``hidden_layer_sizes=()``) model, probabilities,
dtypes, sparse input, sample weights, partial_fit, warm start, early stopping,
stopping rules, fitted attributes and the training trajectory relative to
scikit-learn's MLPClassifier / MLPRegressor.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, log_softmax
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from _helpers import (
    SW_SMALL,
    X_SMALL,
    Y_SMALL_BIN,
    Y_SMALL_ML,
    Y_SMALL_MULTI,
    Y_SMALL_POIS,
    Y_SMALL_REG,
    assert_params_allclose,
    assert_params_equal,
)
from _helpers import X_DIGITS2 as X_BIN
from _helpers import X_DIGITS3 as X_MULTI
from _helpers import X_REG200 as X_REG
from _helpers import Y_DIGITS2 as Y_BIN
from _helpers import Y_DIGITS3 as Y_MULTI
from _helpers import Y_REG200 as Y_REG
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import SOLVERS as REGISTERED_SOLVERS
from fcnn_sk._registry import STOCHASTIC_SOLVERS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
SOLVERS = list(REGISTERED_SOLVERS)
STOCHASTIC = list(STOCHASTIC_SOLVERS)
# the solvers scikit-learn's MLP has, for the trajectory comparisons
SKLEARN_SOLVERS = ["sgd", "adam", "lbfgs"]
SKLEARN_STOCHASTIC = ["sgd", "adam"]


def _np_act(name):
    return {
        "identity": lambda z: z,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }[name]


def raw_output(est, X):
    """Logits (pre output activation) recomputed in float64 numpy from coefs_."""
    a = np.asarray(X, dtype=np.float64)
    act = _np_act(est.activation)
    n = len(est.coefs_)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        if i < n - 1:
            a = act(a)
    return a


# ====================================================================== targets
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    "X,y", [(X_MULTI, Y_MULTI), (X_BIN, Y_BIN)], ids=["multi", "bin"]
)
def test_lbfgs_classification(X, y, activation):
    clf = FCNNClassifier(
        hidden_layer_sizes=50,
        solver="lbfgs",
        max_iter=150,
        random_state=1,
        activation=activation,
    )
    clf.fit(X[:150], y[:150])
    pred = clf.predict(X[150:])
    assert clf.score(X[:150], y[:150]) > 0.95
    assert pred.shape == (50,)
    assert pred.dtype.kind == y.dtype.kind
    assert_array_equal(clf.classes_, np.unique(y))


def test_binary_attributes_and_proba():
    clf = FCNNClassifier((5,), activation="logistic", random_state=1, max_iter=200)
    clf.fit(X_BIN[:50], Y_BIN[:50])
    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == 1
    assert clf.n_layers_ == 3
    assert clf.n_features_in_ == X_BIN.shape[1]
    assert [c.shape for c in clf.coefs_] == [(64, 5), (5, 1)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (1,)]
    proba = clf.predict_proba(X_BIN[:50])
    log_proba = clf.predict_log_proba(X_BIN[:50])
    assert proba.shape == (50, 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(proba.argmax(1), log_proba.argmax(1))
    assert_allclose(log_proba, np.log(proba), rtol=1e-7, atol=1e-12)
    assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X_BIN[:50]))
    assert roc_auc_score(Y_BIN[:50], proba[:, 1]) == 1.0


def test_multiclass_attributes_and_proba():
    clf = FCNNClassifier((5,), random_state=0, max_iter=50).fit(
        X_MULTI[:10], Y_MULTI[:10]
    )
    assert clf.out_activation_ == "softmax"
    assert clf.n_outputs_ == 3
    proba = clf.predict_proba(X_MULTI[:10])
    log_proba = clf.predict_log_proba(X_MULTI[:10])
    assert proba.shape == (10, 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(proba.argmax(1), log_proba.argmax(1))
    assert_allclose(log_proba, np.log(proba), rtol=1e-7, atol=1e-12)
    assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X_MULTI[:10]))


def test_multilabel_indicator():
    X, Y = make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )
    clf = FCNNClassifier(
        hidden_layer_sizes=50,
        solver="lbfgs",
        alpha=1e-5,
        max_iter=150,
        random_state=0,
        activation="logistic",
    )
    clf.fit(X, Y)
    assert clf.score(X, Y) > 0.97
    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == Y.shape[1]
    pred = clf.predict(X)
    assert pred.shape == Y.shape
    assert set(np.unique(pred)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    assert_array_equal(proba > 0.5, Y.astype(bool))
    # independent sigmoids: rows do not sum to one
    assert ((proba.sum(1) - 1) ** 2).sum() > 1e-10
    log_proba = clf.predict_log_proba(X)
    mask = proba > 1e-300
    assert_allclose(log_proba[mask], np.log(proba[mask]), rtol=1e-7, atol=1e-12)


def test_multilabel_partial_fit():
    X, Y = make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )
    clf = FCNNClassifier(
        solver="sgd",
        hidden_layer_sizes=50,
        random_state=0,
        activation="logistic",
        alpha=1e-5,
        learning_rate_init=0.2,
    )
    for _ in range(100):
        clf.partial_fit(X, Y, classes=[0, 1, 2, 3, 4])
    assert clf.score(X, Y) > 0.9


def test_multilabel_early_stopping_runs():
    X, Y = make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )
    clf = FCNNClassifier((10,), early_stopping=True, max_iter=20, random_state=0)
    assert clf.fit(X, Y).predict(X).shape == Y.shape


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "fish"]),
        np.array(["cat", "dog", "fish"], dtype=object),
        np.array(["no", "yes"]),
        np.array([-7, 5, 100]),
        np.array([3, 9]),
        np.array([1.0, 3.0]),
    ],
    ids=["str3", "obj3", "str2", "int3", "int2", "float2"],
)
def test_label_types(labels):
    rng = np.random.RandomState(0)
    X = rng.randn(90, 4)
    idx = (
        np.argmax(X[:, : len(labels)], axis=1)
        if len(labels) > 2
        else (X[:, 0] > 0).astype(int)
    )
    y = labels[idx]
    clf = FCNNClassifier((10,), solver="lbfgs", random_state=0, max_iter=200).fit(X, y)
    assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(X)
    if y.dtype.kind in "OU":
        assert pred.dtype.kind in "OU"
    else:
        assert pred.dtype.kind == y.dtype.kind
    assert set(pred) <= set(labels)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (90, len(labels))
    assert_array_equal(clf.classes_[proba.argmax(1)], pred)


def test_list_inputs():
    X = [[3, 2], [1, 6], [5, 6], [-2, -4]]
    y = [1, 1, 1, 0]
    clf = FCNNClassifier((4,), solver="lbfgs", random_state=0).fit(X, y)
    assert clf.predict([[3, 2]]).shape == (1,)
    reg = FCNNRegressor((4,), solver="lbfgs", random_state=0).fit(
        X, [1.0, 2.0, 3.0, 4.0]
    )
    assert reg.predict(X).shape == (4,)


def test_lbfgs_regression():
    for activation in ACTIVATIONS:
        reg = FCNNRegressor(
            hidden_layer_sizes=50,
            solver="lbfgs",
            max_iter=200,
            tol=1e-3,
            random_state=1,
            activation=activation,
        ).fit(X_REG, Y_REG)
        assert reg.out_activation_ == "identity"
        if activation == "identity":
            assert reg.score(X_REG, Y_REG) > 0.80
        else:
            assert reg.score(X_REG, Y_REG) > 0.98


def test_multioutput_regression():
    X, y = make_regression(n_samples=200, n_targets=5, random_state=11)
    reg = FCNNRegressor(
        solver="lbfgs", hidden_layer_sizes=50, max_iter=200, tol=1e-2, random_state=1
    ).fit(X, y)
    assert reg.score(X, y) > 0.9
    assert reg.n_outputs_ == 5
    assert reg.predict(X).shape == (200, 5)
    assert reg.coefs_[-1].shape == (50, 5)


def test_regressor_single_column_y_is_raveled():
    y2d = Y_SMALL_REG.reshape(-1, 1)
    reg = FCNNRegressor((5,), solver="lbfgs", random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X_SMALL, y2d)
    assert reg.predict(X_SMALL).shape == (60,)


def test_poisson_regressor():
    reg = FCNNRegressor((10,), loss="poisson", solver="lbfgs", random_state=0).fit(
        X_SMALL, Y_SMALL_POIS
    )
    assert reg.out_activation_ == "exp"
    assert (reg.predict(X_SMALL) > 0).all()


# ================================================== hidden_layer_sizes variants
def test_hidden_layer_sizes_int_and_positional():
    clf = FCNNClassifier(hidden_layer_sizes=7, max_iter=5, random_state=0).fit(
        X_BIN, Y_BIN
    )
    assert clf.coefs_[0].shape == (64, 7)
    assert clf.n_layers_ == 3

    reg = FCNNRegressor((50,))
    assert reg.get_params()["hidden_layer_sizes"] == (50,)
    assert reg.get_params()["loss"] == "squared_error"
    reg.set_params(max_iter=5, random_state=0).fit(X_REG, Y_REG)
    assert [c.shape for c in reg.coefs_] == [(10, 50), (50, 1)]

    reg = FCNNRegressor((6, 4), "tanh", max_iter=5, random_state=0)
    assert reg.activation == "tanh"
    reg.fit(X_REG, Y_REG)
    assert [c.shape for c in reg.coefs_] == [(10, 6), (6, 4), (4, 1)]
    assert reg.n_layers_ == 4

    clf = FCNNClassifier((6,), "logistic")
    assert clf.activation == "logistic" and clf.hidden_layer_sizes == (6,)


def test_hidden_layer_sizes_list_and_array():
    for hls in ([4, 3], np.array([4, 3])):
        clf = FCNNClassifier(hidden_layer_sizes=hls, max_iter=3, random_state=0)
        clf.fit(X_BIN, Y_BIN)
        assert [c.shape for c in clf.coefs_] == [(64, 4), (4, 3), (3, 1)]


@pytest.mark.parametrize("solver", SOLVERS)
def test_empty_hidden_layers_shapes(solver):
    clf = FCNNClassifier((), solver=solver, max_iter=20, random_state=0).fit(
        X_MULTI, Y_MULTI
    )
    assert clf.n_layers_ == 2
    assert [c.shape for c in clf.coefs_] == [(64, 3)]
    assert [b.shape for b in clf.intercepts_] == [(3,)]
    assert clf.predict_proba(X_MULTI).shape == (200, 3)
    reg = FCNNRegressor((), solver=solver, max_iter=20, random_state=0).fit(
        X_REG, Y_REG
    )
    assert [c.shape for c in reg.coefs_] == [(10, 1)]


def test_empty_hidden_layers_is_ridge():
    # 0.5*mean squared error + 0.5*alpha*||W||^2/n  ==  Ridge(alpha) objective / n
    X = StandardScaler().fit_transform(X_REG)
    for alpha in [0.0, 3.0]:
        reg = FCNNRegressor(
            (),
            activation="identity",
            solver="lbfgs",
            alpha=alpha,
            tol=1e-12,
            max_iter=2000,
            random_state=0,
        ).fit(X, Y_REG)
        ref = (
            Ridge(alpha=alpha).fit(X, Y_REG)
            if alpha
            else LinearRegression().fit(X, Y_REG)
        )
        assert_allclose(reg.coefs_[0].ravel(), ref.coef_, rtol=1e-4, atol=1e-5)
        assert_allclose(reg.intercepts_[0], [ref.intercept_], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("multiclass", [False, True])
def test_empty_hidden_layers_is_logistic_regression(multiclass):
    # mean log-loss + 0.5*alpha*||W||^2/n  ==  LogisticRegression(C=1/alpha) objective / n
    X, y = make_classification(
        n_samples=150,
        n_features=5,
        n_informative=3,
        n_classes=3 if multiclass else 2,
        flip_y=0.2,
        random_state=0,
    )
    alpha = 1.0
    clf = FCNNClassifier(
        (), solver="lbfgs", alpha=alpha, tol=1e-12, max_iter=3000, random_state=0
    ).fit(X, y)
    lr = LogisticRegression(C=1.0 / alpha, tol=1e-12, max_iter=10000).fit(X, y)
    assert_allclose(clf.predict_proba(X), lr.predict_proba(X), rtol=1e-3, atol=1e-5)
    if not multiclass:
        assert_allclose(clf.coefs_[0].ravel(), lr.coef_.ravel(), rtol=1e-3, atol=1e-4)
        assert_allclose(clf.intercepts_[0], lr.intercept_, rtol=1e-3, atol=1e-4)


def test_empty_hidden_layers_poisson_is_glm():
    rng = np.random.default_rng(0)
    X = np.linspace(0, 1, 100).reshape(-1, 1)
    y = rng.poisson(np.exp(X.ravel() + 1))
    glm = PoissonRegressor(alpha=0, tol=1e-10).fit(X, y)
    reg = FCNNRegressor(
        (),
        loss="poisson",
        alpha=0,
        solver="lbfgs",
        tol=1e-10,
        max_iter=2000,
        random_state=1,
    ).fit(X, y)
    assert_allclose(reg.predict(X), glm.predict(X), rtol=1e-4)
    assert_allclose(reg.coefs_[0].ravel(), glm.coef_, rtol=1e-4, atol=1e-6)


# ======================================================= probability robustness
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_proba_never_minus_inf(kind, dtype):
    X = X_SMALL
    y = {"binary": Y_SMALL_BIN, "multiclass": Y_SMALL_MULTI, "multilabel": Y_SMALL_ML}[
        kind
    ]
    clf = FCNNClassifier((8,), solver="lbfgs", max_iter=100, random_state=0)
    clf.fit(X.astype(dtype), y)
    X_big = (X * 1e4).astype(dtype)
    proba = clf.predict_proba(X_big)
    log_proba = clf.predict_log_proba(X_big)
    assert np.isfinite(proba).all()
    assert np.isfinite(log_proba).all(), "predict_log_proba returned -inf/nan"
    assert (log_proba <= 0).all()
    if kind != "multilabel":
        assert_allclose(proba.sum(1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # saturated probabilities really are tiny, so this input is extreme
    assert proba.min() < 1e-30
    # reference: stable log-softmax / log-sigmoid of the logits
    z = raw_output(clf, X_big)
    if kind == "binary":
        ref = np.c_[log_expit(-z[:, 0]), log_expit(z[:, 0])]
    elif kind == "multiclass":
        ref = log_softmax(z, axis=1)
    else:
        ref = log_expit(z)
    rtol = 1e-3 if dtype == np.float32 else 1e-6
    assert_allclose(
        log_proba, ref, rtol=rtol, atol=1e-3 if dtype == np.float32 else 1e-8
    )
    # where probabilities are not tiny, log_proba == log(proba)
    mask = proba > 1e-200 if dtype == np.float64 else proba > 1e-30
    assert_allclose(
        log_proba[mask],
        np.log(proba[mask]),
        rtol=1e-4 if dtype == np.float32 else 1e-7,
        atol=1e-5 if dtype == np.float32 else 1e-12,
    )
    # predict is consistent with the probabilities
    if kind != "multilabel":
        assert_array_equal(clf.classes_[log_proba.argmax(1)], clf.predict(X_big))


# ==================================================================== dtypes
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(Est, solver, dtype):
    X = X_MULTI.astype(dtype)
    y = Y_MULTI if Est is FCNNClassifier else Y_MULTI.astype(float)
    est = Est((5, 3), solver=solver, max_iter=10, random_state=1).fit(X, y)
    assert all(c.dtype == dtype for c in est.coefs_)
    assert all(b.dtype == dtype for b in est.intercepts_)
    assert np.isfinite(est.loss_)
    if Est is FCNNClassifier:
        assert est.predict_proba(X).dtype == dtype
        assert est.predict_log_proba(X).dtype == dtype
    else:
        assert est.predict(X).dtype == dtype


def test_integer_X_becomes_float64():
    X = (X_MULTI * 16).astype(np.int64)
    reg = FCNNRegressor((5,), max_iter=5, random_state=0).fit(X, Y_MULTI.astype(float))
    assert reg.coefs_[0].dtype == np.float64
    assert reg.predict(X).dtype == np.float64


def test_float32_float64_predictions_agree():
    X = X_BIN
    c64 = FCNNClassifier((5, 3), alpha=1e-5, random_state=1, max_iter=100, tol=1e-1)
    c64.fit(X[:150], Y_BIN[:150])
    c32 = FCNNClassifier((5, 3), alpha=1e-5, random_state=1, max_iter=100, tol=1e-1)
    c32.fit(X[:150].astype(np.float32), Y_BIN[:150])
    assert_array_equal(c64.predict(X[150:]), c32.predict(X[150:].astype(np.float32)))
    assert_allclose(
        c64.predict_proba(X[150:]),
        c32.predict_proba(X[150:].astype(np.float32)),
        rtol=1e-2,
    )
    r64 = FCNNRegressor((5, 3), alpha=1e-5, random_state=1, max_iter=150, tol=1e-3)
    r64.fit(X[:150], Y_BIN[:150].astype(float))
    r32 = FCNNRegressor((5, 3), alpha=1e-5, random_state=1, max_iter=150, tol=1e-3)
    r32.fit(X[:150].astype(np.float32), Y_BIN[:150].astype(float))
    assert_allclose(
        r64.predict(X[150:]),
        r32.predict(X[150:].astype(np.float32)),
        rtol=5e-4,
        atol=1e-4,
    )


# ==================================================================== sparse
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_dense_csr_csc_same_fit(Est, solver):
    rng = np.random.RandomState(0)
    X = rng.rand(80, 30)
    X[X < 0.7] = 0.0
    y = (X.sum(1) > np.median(X.sum(1))).astype(int)
    if Est is FCNNRegressor:
        y = X @ rng.randn(30)
    kw = dict(
        hidden_layer_sizes=(10,),
        solver=solver,
        random_state=0,
        batch_size=16,
        max_iter=20 if solver == "lbfgs" else 5,
    )
    fits = [Est(**kw).fit(Xc, y) for Xc in (X, sp.csr_matrix(X), sp.csc_matrix(X))]
    for other in fits[1:]:
        assert_params_allclose(fits[0], other, rtol=1e-6, atol=1e-9)
    out = fits[0].predict_proba if Est is FCNNClassifier else fits[0].predict
    ref = out(X)
    for Xc in (sp.csr_matrix(X), sp.csc_matrix(X), sp.csr_array(X)):
        assert_allclose(out(Xc), ref, rtol=1e-10, atol=1e-12)


def test_sparse_predictions_match():
    X = X_BIN[:50]
    y = Y_BIN[:50]
    clf = FCNNClassifier(solver="lbfgs", hidden_layer_sizes=15, random_state=1)
    pred1 = clf.fit(X, y).predict(X)
    pred2 = clf.fit(sp.csr_matrix(X), y).predict(sp.csr_matrix(X))
    assert_array_equal(pred1, pred2)
    assert_array_equal(clf.predict(X), clf.predict(sp.csr_matrix(X)))


# ============================================================= sample_weight
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_integer_sample_weight_equals_repetition_lbfgs(Est):
    rng = np.random.RandomState(42)
    X = rng.randn(40, 4)
    y = (
        (X[:, 0] - X[:, 1] > 0).astype(int)
        if Est is FCNNClassifier
        else X @ [1, 2, -1, 0.5]
    )
    sw = rng.randint(0, 4, size=40)
    sw[:2] = [1, 2]
    if Est is FCNNClassifier:
        # keep both classes present with positive weight
        sw[np.flatnonzero(y == 0)[0]] = 1
        sw[np.flatnonzero(y == 1)[0]] = 1
    X_rep, y_rep = np.repeat(X, sw, axis=0), np.repeat(y, sw, axis=0)
    kw = dict(
        hidden_layer_sizes=(6,), solver="lbfgs", alpha=1e-3, max_iter=40, random_state=0
    )
    a = Est(**kw).fit(X, y, sample_weight=sw)
    b = Est(**kw).fit(X_rep, y_rep)
    assert_params_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert_allclose(a.loss_, b.loss_, rtol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_zero_sample_weight_equals_dropping(Est, solver):
    X, y = X_SMALL, (Y_SMALL_MULTI if Est is FCNNClassifier else Y_SMALL_REG)
    sw = np.ones(len(y))
    drop = [3, 17, 40]
    sw[drop] = 0.0
    keep = np.setdiff1d(np.arange(len(y)), drop)
    # full batch + no shuffling: batches are identical up to the dropped rows
    kw = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        shuffle=False,
        batch_size="auto",
        max_iter=15,
        random_state=0,
        learning_rate_init=0.01,
    )
    a = Est(**kw).fit(X, y, sample_weight=sw)
    b = Est(**kw).fit(X[keep], y[keep])
    assert_params_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert_allclose(a.loss_, b.loss_, rtol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_unit_and_scaled_sample_weight(solver):
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=10, random_state=0)
    a = FCNNRegressor(**kw).fit(X_SMALL, Y_SMALL_REG)
    b = FCNNRegressor(**kw).fit(X_SMALL, Y_SMALL_REG, sample_weight=np.ones(60))
    assert_params_allclose(a, b, rtol=1e-9, atol=1e-12)
    # objective = (sum_i s_i l_i + 0.5 alpha ||W||^2) / sum_i s_i, so scaling every weight
    # by 7 is the same as dividing alpha by 7 (as repeating each row 7 times would be)
    c = FCNNRegressor(alpha=1e-3, **kw).fit(
        X_SMALL, Y_SMALL_REG, sample_weight=SW_SMALL
    )
    d = FCNNRegressor(alpha=7e-3, **kw).fit(
        X_SMALL, Y_SMALL_REG, sample_weight=7.0 * SW_SMALL
    )
    assert_params_allclose(c, d, rtol=1e-6, atol=1e-9)
    # and non-uniform weights do change the fit
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


def test_sample_weight_with_early_stopping():
    X, y = make_regression(
        n_samples=100, n_features=2, n_informative=2, random_state=42
    )
    kw = dict(
        hidden_layer_sizes=10,
        solver="adam",
        early_stopping=True,
        tol=1e-2,
        learning_rate_init=0.01,
        batch_size=10,
        random_state=42,
    )
    m1 = FCNNRegressor(**kw).fit(X, y, sample_weight=np.ones_like(y))
    m2 = FCNNRegressor(**kw).fit(X, y)
    assert_allclose(m1.predict(X), m2.predict(X))


# ========================================================= fitted attributes
@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_loss_curve_n_iter_t(Est, solver):
    est = Est((8,), solver=solver, max_iter=30, random_state=0).fit(X_MULTI, Y_MULTI)
    assert len(est.loss_curve_) == est.n_iter_
    assert est.t_ == X_MULTI.shape[0] * est.n_iter_
    assert est.loss_ == est.loss_curve_[-1]
    assert est.best_loss_ == min(est.loss_curve_)
    assert all(np.isfinite(est.loss_curve_))
    assert est.loss_curve_[-1] < est.loss_curve_[0]


@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_lbfgs_attributes(Est):
    est = Est((8,), solver="lbfgs", max_iter=30, random_state=0).fit(X_MULTI, Y_MULTI)
    assert 1 <= est.n_iter_ <= 30
    assert np.isfinite(est.loss_)


def test_alpha_shrinks_weights():
    X, y = X_BIN[:100], Y_BIN[:100]
    sums = []
    for alpha in [0, 1]:
        mlp = FCNNClassifier(hidden_layer_sizes=10, alpha=alpha, random_state=1).fit(
            X, y
        )
        sums.append(np.array([np.abs(c).sum() for c in mlp.coefs_]))
    assert (sums[0] > sums[1]).all()


def test_shuffle_changes_training():
    X, y = make_regression(n_samples=50, n_features=5, random_state=0)
    for shuffle in [True, False]:
        kw = dict(
            hidden_layer_sizes=1,
            max_iter=1,
            batch_size=1,
            random_state=0,
            shuffle=shuffle,
        )
        m1 = FCNNRegressor(**kw).fit(X, y)
        m2 = FCNNRegressor(**kw).fit(X, y)
        assert np.array_equal(m1.coefs_[0], m2.coefs_[0])
    kw = dict(hidden_layer_sizes=1, max_iter=1, batch_size=1, random_state=0)
    m1 = FCNNRegressor(shuffle=True, **kw).fit(X, y)
    m2 = FCNNRegressor(shuffle=False, **kw).fit(X, y)
    assert not np.array_equal(m1.coefs_[0], m2.coefs_[0])


def test_random_state_reproducible_and_matters():
    kw = dict(hidden_layer_sizes=(5,), max_iter=5)
    a = FCNNClassifier(random_state=3, **kw).fit(X_MULTI, Y_MULTI)
    b = FCNNClassifier(random_state=3, **kw).fit(X_MULTI, Y_MULTI)
    c = FCNNClassifier(random_state=4, **kw).fit(X_MULTI, Y_MULTI)
    assert_params_equal(a, b)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


def test_verbose(capsys):
    clf = FCNNClassifier(solver="sgd", max_iter=2, verbose=10, hidden_layer_sizes=2)
    clf.fit([[3, 2], [1, 6]], [1, 0])
    clf.partial_fit([[3, 2], [1, 6]], [1, 0])
    out, _ = capsys.readouterr()
    assert "Iteration" in out
    FCNNClassifier(solver="sgd", max_iter=2, hidden_layer_sizes=2).fit(
        [[3, 2], [1, 6]], [1, 0]
    )
    out, _ = capsys.readouterr()
    assert "Iteration" not in out


def test_nonfinite_weights_raise():
    rng = np.random.RandomState(0)
    fmax = np.finfo(np.float64).max
    X = fmax * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="non-finite"):
            FCNNRegressor(hidden_layer_sizes=(10,), max_iter=5).fit(X, y)
