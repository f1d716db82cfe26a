"""The training toolbox of FCNNClassifier / FCNNRegressor, checked against its
documented behaviour.

Dropout (hidden and input), activations, weight initialisers, the RMSprop solver,
decoupled weight decay, learning-rate schedules, gradient clipping, class weights,
validation data (``X_val``), gradient-norm curves, warm-start / partial_fit
continuity, ``transform`` and ``input_gradient``.

Most checks replay training in numpy: a full-batch step of a stochastic solver is
``params <- update(params, oracle_gradient(params))``, with the oracle gradient of
``tests/_reference.py`` and the update formulas written out below from the
documentation. The weights a fit starts from are read off a probe fit whose
learning rate (1e-300) is too small to move any weight in floating point.
"""

import copy
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from _params import assert_params_equal, params_of
from _reference import HIDDEN_ACTIVATIONS as REF_HIDDEN_ACTIVATIONS
from _reference import INIT_FORMULAS, reference_schedule_lrs, reference_training
from _reference import (
    reference_forward,
    reference_loss_and_gradient,
    reference_preactivations,
)
from fcnn_sk._registry import STOCHASTIC_SOLVERS
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import ACTIVATIONS as HIDDEN_ACTIVATIONS
from fcnn_sk._registry import INITIALIZERS, SCHEDULES, SOLVERS
from fcnn_sk._network import forward, loss_and_gradient
from fcnn_sk._optim import StochasticOptimizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

STOCHASTIC = list(STOCHASTIC_SOLVERS)

# ------------------------------------------------------------------------- data
_rng = np.random.RandomState(0)
X = _rng.normal(size=(60, 5))
Y_MULTI = np.digitize(X[:, 0] + 0.5 * X[:, 2], [-0.5, 0.5])
Y_BIN = np.where(X[:, 0] - X[:, 1] + 0.3 * _rng.normal(size=60) > 0, 7, 3)
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + 0.1 * _rng.normal(size=60)
SW = _rng.uniform(0.2, 3.0, size=60)
X_VAL = _rng.normal(size=(25, 5))
Y_VAL_MULTI = np.digitize(X_VAL[:, 0] + 0.5 * X_VAL[:, 2], [-0.5, 0.5])
Y_VAL_REG = X_VAL @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + 0.1 * _rng.normal(size=25)


# ---------------------------------------------------------------------- helpers
def _params_differ(a, b):
    return any(not np.array_equal(x, y) for x, y in zip(params_of(a), params_of(b)))


def _initial_params(est, X, y):
    """(coefs, intercepts) that ``est.fit(X, y)`` starts from.

    A clone takes one plain SGD epoch with learning rate 1e-300: every step changes
    a weight w by ~1e-300 * gradient, far below half an ulp of w, so the weights stay
    bitwise the initial draw (which depends only on the architecture, activation,
    weight_init and random_state). Zeros (the intercepts of most schemes) are the
    exception: they move to ~1e-300 * gradient, so anything that small is zero.
    """
    probe = clone(est).set_params(
        solver="sgd", momentum=0.0, learning_rate_init=1e-300, learning_rate="constant",
        max_iter=1, warm_start=False, early_stopping=False, weight_decay=0.0,
        max_grad_norm=None,
    )
    probe.fit(X, y)

    def restore_zeros(a):
        return np.where(np.abs(a) < 1e-250, 0.0, a).astype(a.dtype)

    return ([restore_zeros(c) for c in probe.coefs_],
            [restore_zeros(b) for b in probe.intercepts_])


def _targets(est, y):
    """The 2-D targets the network of a fitted estimator learns."""
    if isinstance(est, FCNNClassifier):
        return LabelBinarizer().fit(est.classes_).transform(y).astype(np.float64)
    y = np.asarray(y, np.float64)
    return y.reshape(len(y), -1)


def _oracle_grad_fn(est, X, y, sample_weight=None):
    """params (coefs + intercepts) -> oracle gradient, for est's network."""
    Y = _targets(est, y)
    n = len(est.coefs_)

    def grad(params):
        _, gc, gi = reference_loss_and_gradient(
            params[:n], params[n:], X, Y, sample_weight, activation=est.activation,
            out_activation=est.out_activation_, alpha=est.alpha,
        )
        return gc + gi

    return grad


def _assert_params_close(est, params, rtol=1e-9, atol=1e-12, err_msg=""):
    got = params_of(est)
    assert len(got) == len(params)
    for i, (g, w) in enumerate(zip(got, params)):
        assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{err_msg} array {i}")


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# =================================================================== dropout
@pytest.mark.parametrize("Est,y", [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
                         ids=["classifier", "regressor"])
def test_dropout_prediction_is_deterministic(Est, y):
    est = _fit(Est((12, 8), activation="tanh", dropout=0.5, input_dropout=0.2,
                   max_iter=5, random_state=0), X, y)
    if Est is FCNNClassifier:
        first, second = est.predict_proba(X), est.predict_proba(X)
    else:
        first, second = est.predict(X), est.predict(X)
    assert_array_equal(first, second)
    # the same network without any dropout: the compiled forward and the oracle
    plain = forward(est.coefs_, est.intercepts_, X, activation="tanh",
                    out_activation=est.out_activation_)
    assert_allclose(first.reshape(plain.shape), plain, rtol=1e-12, atol=1e-15)
    oracle = reference_forward(est.coefs_, est.intercepts_, X, activation="tanh",
                               out_activation=est.out_activation_)
    assert_allclose(first.reshape(plain.shape), oracle, rtol=1e-10, atol=1e-14)


DROPOUT_KWARGS = {
    "hidden": {"dropout": 0.5},
    "hidden-list": {"dropout": [0.0, 0.5]},
    "input": {"input_dropout": 0.5},
}


@pytest.mark.parametrize("kind", DROPOUT_KWARGS)
def test_dropout_is_used_in_training_and_seeded(kind):
    kw = dict(hidden_layer_sizes=(8, 6), solver="adam", max_iter=1, shuffle=False,
              batch_size=20, learning_rate_init=0.01)
    drop = DROPOUT_KWARGS[kind]
    plain = _fit(FCNNClassifier(random_state=0, **kw), X, Y_MULTI)
    with_drop = _fit(FCNNClassifier(random_state=0, **kw, **drop), X, Y_MULTI)
    assert _params_differ(plain, with_drop)
    again = _fit(FCNNClassifier(random_state=0, **kw, **drop), X, Y_MULTI)
    assert_params_equal(with_drop, again)  # reproducible

    # From identical weights and optimizer state, the random_state alone (no
    # shuffling) changes an epoch only through the dropout masks.
    def continued(start, random_state):
        est = copy.deepcopy(start).set_params(random_state=random_state)
        return _fit(est, X, Y_MULTI)

    start = _fit(FCNNClassifier(random_state=0, warm_start=True, **kw, **drop),
                 X, Y_MULTI)
    a, b, a2 = continued(start, 1), continued(start, 2), continued(start, 1)
    assert _params_differ(a, b)
    assert_params_equal(a, a2)
    start = _fit(FCNNClassifier(random_state=0, warm_start=True, **kw), X, Y_MULTI)
    assert_params_equal(continued(start, 1), continued(start, 2))


def test_dropout_per_layer_rates_and_validation():
    kw = dict(hidden_layer_sizes=(8, 6), max_iter=2, random_state=0, shuffle=False)
    first = _fit(FCNNClassifier(dropout=[0.5, 0.0], **kw), X, Y_MULTI)
    second = _fit(FCNNClassifier(dropout=[0.0, 0.5], **kw), X, Y_MULTI)
    assert _params_differ(first, second)
    # all-zero rates are no dropout at all
    assert_params_equal(_fit(FCNNClassifier(dropout=[0.0, 0.0], **kw), X, Y_MULTI),
                         _fit(FCNNClassifier(**kw), X, Y_MULTI))
    for bad in ([0.5], [0.1, 0.2, 0.3], [0.2, 1.0], [-0.1, 0.2], 1.0, -0.2):
        est = FCNNClassifier(dropout=bad, **kw)
        with pytest.raises(ValueError):
            est.fit(X, Y_MULTI)
        assert not hasattr(est, "coefs_")
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError):
            FCNNClassifier(input_dropout=bad, **kw).fit(X, Y_MULTI)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_dropout_with_sparse_input(fmt):
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)).asformat(fmt)
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", max_iter=3, random_state=0,
              batch_size=16, learning_rate_init=0.05)
    sparse_fit = _fit(FCNNClassifier(dropout=0.5, **kw), X_sparse, Y_MULTI)
    dense_fit = _fit(FCNNClassifier(dropout=0.5, **kw), X_sparse.toarray(), Y_MULTI)
    no_drop = _fit(FCNNClassifier(**kw), X_sparse, Y_MULTI)
    for a, b in zip(params_of(sparse_fit), params_of(dense_fit)):  # the same masks
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert _params_differ(sparse_fit, no_drop)
    est = FCNNClassifier(input_dropout=0.2, **kw)
    with pytest.raises(ValueError, match="input_dropout"):
        est.fit(X_sparse, Y_MULTI)
    assert not hasattr(est, "coefs_")


def _one_sgd_step(est, X, y):
    """Warm-started: parameters before and after one more full-batch SGD step."""
    _fit(est, X, y)
    before = params_of(est)
    _fit(est, X, y)
    return before, params_of(est)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_hidden_dropout_mask_fraction_and_scale(rate):
    # One sample, one wide identity hidden layer, plain SGD: in one step the
    # gradient of hidden unit j's outgoing weight is lr * h_j * m_j * delta with
    # m_j its mask value, and the output bias moves by lr * delta, so each m_j can
    # be read off the step: 0 with probability `rate`, 1 / (1 - rate) otherwise.
    H, lr = 2000, 1e-3
    rng = np.random.RandomState(1)
    x, y = rng.normal(size=(1, 5)), np.array([10.0])
    est = FCNNRegressor((H,), activation="identity", solver="sgd", momentum=0.0,
                        batch_size=1, max_iter=1, shuffle=False, alpha=0.0,
                        learning_rate_init=lr, dropout=rate, warm_start=True,
                        random_state=0)
    (W0, W1, b0, b1), (W0n, W1n, b0n, b1n) = _one_sgd_step(est, x, y)
    h = (x @ W0 + b0).ravel()
    d_b1 = (b1n - b1)[0]
    delta = -d_b1 / lr  # the output delta of the step
    assert abs(delta) > 1.0
    mask = (W1n - W1).ravel() / (h * d_b1)
    dropped = (W1n == W1).ravel()
    kept_scale = 1.0 / (1.0 - rate)
    assert np.all(np.isclose(mask, 0.0, atol=1e-6) | np.isclose(mask, kept_scale,
                                                                 rtol=1e-6))
    assert_array_equal(np.isclose(mask, 0.0, atol=1e-6), dropped)
    # dropped units get no gradient on their incoming weights and bias either
    assert_array_equal(W0n[:, dropped], W0[:, dropped])
    assert_array_equal(b0n[dropped], b0[dropped])
    assert np.all(W0n[:, ~dropped] != W0[:, ~dropped])
    # the forward pass used the same mask, inverted scaling included
    z = np.sum(h * np.where(dropped, 0.0, kept_scale) * W1.ravel()) + b1[0]
    assert_allclose(delta, z - y[0], rtol=1e-8)
    # fraction dropped ~ rate, within 4 standard errors
    se = math.sqrt(rate * (1 - rate) / H)
    assert abs(dropped.mean() - rate) < 4 * se, dropped.mean()


@pytest.mark.parametrize("rates", [(0.0, 0.5), (0.5, 0.0), (0.25, 0.6)])
def test_dropout_list_rates_apply_to_their_own_layers(rates):
    # Two wide identity hidden layers, one sample, one plain SGD step: row j of
    # coefs_[l + 1] (the outgoing weights of unit j of hidden layer l) keeps its
    # value exactly when that unit was dropped.
    H = 600
    rng = np.random.RandomState(4)
    x, y = rng.normal(size=(1, 5)), np.array([10.0])
    est = FCNNRegressor((H, H), activation="identity", solver="sgd", momentum=0.0,
                        batch_size=1, max_iter=1, shuffle=False, alpha=0.0,
                        learning_rate_init=1e-3, dropout=list(rates), warm_start=True,
                        random_state=0)
    before, after = _one_sgd_step(est, x, y)
    for layer, rate in enumerate(rates):
        dropped = np.all(after[layer + 1] == before[layer + 1], axis=1)
        se = math.sqrt(max(rate * (1 - rate), 1e-12) / H)
        assert abs(dropped.mean() - rate) < 4 * se, (layer, dropped.mean())


@pytest.mark.parametrize("rate", [0.3, 0.7])
def test_input_dropout_mask_fraction_and_scale(rate):
    # As above for the inputs: 2000 features, one sample; the gradient of input
    # i's weights is lr * x_i * m_i * d_hidden, and the hidden biases move by
    # lr * d_hidden.
    D, lr = 2000, 1e-3
    rng = np.random.RandomState(2)
    x, y = rng.normal(size=(1, D)), np.array([10.0])
    est = FCNNRegressor((3,), activation="identity", solver="sgd", momentum=0.0,
                        batch_size=1, max_iter=1, shuffle=False, alpha=0.0,
                        learning_rate_init=lr, input_dropout=rate, warm_start=True,
                        random_state=0)
    (W0, W1, b0, b1), (W0n, W1n, b0n, b1n) = _one_sgd_step(est, x, y)
    k = np.argmax(np.abs(b0n - b0))
    mask = (W0n - W0)[:, k] / (x.ravel() * (b0n - b0)[k])
    dropped = np.all(W0n == W0, axis=1)
    kept_scale = 1.0 / (1.0 - rate)
    assert np.all(np.isclose(mask, 0.0, atol=1e-6) | np.isclose(mask, kept_scale,
                                                                 rtol=1e-6))
    assert_array_equal(np.isclose(mask, 0.0, atol=1e-6), dropped)
    # forward consistency: the output delta is z(masked input) - y
    xm = x.ravel() * np.where(dropped, 0.0, kept_scale)
    z = (xm @ W0 + b0) @ W1 + b1
    assert_allclose(-(b1n - b1) / lr, z - y, rtol=1e-8)
    se = math.sqrt(rate * (1 - rate) / D)
    assert abs(dropped.mean() - rate) < 4 * se, dropped.mean()


# =============================================================== activations
_XA = np.random.RandomState(3).uniform(-2, 2, size=(80, 3))
_YA = _XA[:, 2] - _XA[:, 1] + 0.5 * np.sin(2 * _XA[:, 0])


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_every_activation_trains_and_is_the_named_function(activation):
    est = FCNNRegressor((16,), activation=activation, solver="adam",
                        learning_rate_init=0.02, max_iter=60, batch_size=20,
                        random_state=0, alpha=0.0)
    _fit(est, _XA, _YA)
    assert np.all(np.isfinite(est.loss_curve_))
    assert est.loss_curve_[-1] < 0.3 * est.loss_curve_[0]
    # the full-data objective fell from the initial weights to the final ones
    coefs0, intercepts0 = _initial_params(est, _XA, _YA)
    kw = dict(activation=activation, out_activation="identity")
    start = loss_and_gradient(coefs0, intercepts0, _XA, _YA[:, None], **kw)[0]
    end = loss_and_gradient(est.coefs_, est.intercepts_, _XA, _YA[:, None], **kw)[0]
    assert end < 0.3 * start
    # the hidden layer is the named function of its pre-activation
    f, _ = REF_HIDDEN_ACTIVATIONS[activation]
    assert_allclose(est.transform(_XA), f(_XA @ est.coefs_[0] + est.intercepts_[0]),
                    rtol=1e-10, atol=1e-12)


def test_per_layer_activation_list():
    names = ["tanh", "relu", "gelu"]
    est = _fit(FCNNClassifier((6, 5, 4), activation=names, max_iter=5,
                              random_state=0), X, Y_MULTI)
    _, acts = reference_preactivations(est.coefs_, est.intercepts_, X, activation=names)
    for layer in range(3):
        assert_allclose(est.transform(X, layer=layer), acts[layer + 1], rtol=1e-10,
                        atol=1e-12)
    assert_allclose(est.predict_proba(X),
                    reference_forward(est.coefs_, est.intercepts_, X,
                                      activation=names, out_activation="softmax"),
                    rtol=1e-10, atol=1e-12)
    # a list of one name is that name, the scikit-learn draw included
    assert_params_equal(
        _fit(FCNNClassifier((6, 5), activation=["logistic", "logistic"], max_iter=2,
                            random_state=0), X, Y_MULTI),
        _fit(FCNNClassifier((6, 5), activation="logistic", max_iter=2,
                            random_state=0), X, Y_MULTI),
    )


@pytest.mark.parametrize("bad", [["tanh"], ["tanh", "relu", "relu"], ["tanh", "nope"],
                                 "nope", []])
def test_activation_list_is_validated(bad):
    est = FCNNClassifier((6, 5), activation=bad, max_iter=2)
    with pytest.raises(ValueError):
        est.fit(X, Y_MULTI)
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_negative_slope_affects_leaky_relu_only(activation):
    kw = dict(hidden_layer_sizes=(10,), activation=activation, max_iter=3,
              random_state=0, learning_rate_init=0.01)
    a = _fit(FCNNRegressor(negative_slope=0.01, **kw), X, Y_REG)
    b = _fit(FCNNRegressor(negative_slope=0.3, **kw), X, Y_REG)
    if activation == "leaky_relu":
        assert _params_differ(a, b)
        z = X @ b.coefs_[0] + b.intercepts_[0]
        assert np.mean(z < 0) > 0.2
        assert_allclose(b.transform(X), np.where(z > 0, z, 0.3 * z), rtol=1e-12,
                        atol=1e-14)
    else:
        assert_params_equal(a, b)


# =============================================================== weight_init
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_glorot_uniform_is_sklearns_draw(activation, dtype):
    # A learning rate too small to move any weight: the fitted weights are the
    # initial ones, bitwise, for both libraries.
    Xd = X.astype(dtype)
    kw = dict(hidden_layer_sizes=(7, 4), activation=activation, solver="sgd",
              learning_rate_init=1e-300, momentum=0.0, max_iter=1, random_state=3)
    ours = _fit(FCNNClassifier(**kw), Xd, Y_MULTI)
    theirs = _fit(MLPClassifier(**kw), Xd, Y_MULTI)
    for a, b in zip(params_of(ours), [*theirs.coefs_, *theirs.intercepts_]):
        assert a.dtype == b.dtype == dtype
        assert_array_equal(a, b)
    # and the probe does what it claims: the draw, by hand, as scikit-learn makes it
    rng = np.random.RandomState(3)
    factor = 2.0 if activation == "logistic" else 6.0
    units = [5, 7, 4, 3]
    for i, (n_in, n_out) in enumerate(zip(units[:-1], units[1:])):
        bound = math.sqrt(factor / (n_in + n_out))
        assert_array_equal(ours.coefs_[i], rng.uniform(-bound, bound, (n_in, n_out))
                           .astype(dtype))
        assert_array_equal(ours.intercepts_[i], rng.uniform(-bound, bound, n_out)
                           .astype(dtype))


def _check_init_sample(w, kind, scale, what):
    w = np.asarray(w, np.float64).ravel()
    std = scale / math.sqrt(3.0) if kind == "uniform" else scale
    # the sample std is within ~6 standard errors of the formula's (and the
    # alternatives: fan_out for fan_in, another scheme, are far outside this)
    assert abs(w.std() / std - 1) < 6 / math.sqrt(w.size) + 0.005, what
    assert abs(w.mean()) < 6 * std / math.sqrt(w.size), what
    if kind == "uniform":
        assert np.max(np.abs(w)) <= scale, what
        assert np.max(np.abs(w)) > scale * (1 - 20.0 / w.size), what
        p = scipy.stats.kstest(w, "uniform", args=(-scale, 2 * scale)).pvalue
    else:
        p = scipy.stats.kstest(w, "norm", args=(0.0, scale)).pvalue
    assert p > 1e-4, f"{what}: KS p-value {p}"


def test_every_initializer_has_a_formula():
    assert set(INITIALIZERS) == set(INIT_FORMULAS)


@pytest.mark.parametrize("scheme", sorted(INIT_FORMULAS))
def test_initializer_on_arrays(scheme):
    kind, formula = INIT_FORMULAS[scheme]
    fan_in, fan_out = 400, 250
    coef = np.full((fan_in, fan_out), np.nan)
    intercept = np.full(fan_out, np.nan)
    INITIALIZERS[scheme].init(coef, intercept, HIDDEN_ACTIVATIONS["relu"].glorot_factor,
                              np.random.RandomState(0))
    _check_init_sample(coef, kind, formula(fan_in, fan_out), scheme)
    if scheme == "glorot_uniform":
        bound = formula(fan_in, fan_out)
        assert np.all(np.abs(intercept) <= bound) and np.any(intercept != 0)
        # scikit-learn's gain for logistic units
        coef2 = np.empty_like(coef)
        INITIALIZERS[scheme].init(coef2, intercept,
                                  HIDDEN_ACTIVATIONS["logistic"].glorot_factor,
                                  np.random.RandomState(0))
        _check_init_sample(coef2, kind, math.sqrt(2.0 / (fan_in + fan_out)), scheme)
    else:
        assert_array_equal(intercept, 0.0)


@pytest.mark.parametrize("scheme", sorted(INIT_FORMULAS))
def test_weight_init_of_the_estimator(scheme):
    # fan_in is the number of rows of coefs_[i] (inputs of the layer), fan_out its
    # columns; 200 -> 300 -> 100 -> 2 tells them apart.
    rng = np.random.RandomState(0)
    Xw, yw = rng.normal(size=(4, 200)), rng.normal(size=(4, 2))
    est = FCNNRegressor((300, 100), activation="relu", weight_init=scheme,
                        random_state=0)
    coefs, intercepts = _initial_params(est, Xw, yw)
    kind, formula = INIT_FORMULAS[scheme]
    for i in range(2):
        fan_in, fan_out = coefs[i].shape
        _check_init_sample(coefs[i], kind, formula(fan_in, fan_out), f"coefs_[{i}]")
    for i, b in enumerate(intercepts):
        if scheme == "glorot_uniform":
            bound = formula(*coefs[i].shape)
            assert np.all(np.abs(b) <= bound) and np.any(b != 0)
        else:
            assert_array_equal(b, 0.0)
    # seeded: the same random_state gives the same draw, another a different one
    again, _ = _initial_params(est, Xw, yw)
    assert_array_equal(again[0], coefs[0])
    other, _ = _initial_params(clone(est).set_params(random_state=1), Xw, yw)
    assert not np.array_equal(other[0], coefs[0])


# =================================================================== solvers
def _steps_of_warm_fits(est, X, y, n_steps, sample_weight=None):
    """Parameters after each of ``n_steps`` warm-started one-epoch fits."""
    est.set_params(warm_start=True, max_iter=1)
    out = []
    for _ in range(n_steps):
        _fit(est, X, y, sample_weight=sample_weight)
        out.append(params_of(est))
    return out


@pytest.mark.parametrize("rho,epsilon", [(0.9, 1e-8), (0.5, 1e-3)])
@pytest.mark.parametrize("Est,y", [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
                         ids=["classifier", "regressor"])
def test_rmsprop_steps_match_numpy(Est, y, rho, epsilon):
    lr = 0.01
    est = Est((5,), activation="tanh", solver="rmsprop", rho=rho, epsilon=epsilon,
              learning_rate_init=lr, batch_size=len(X), shuffle=False, alpha=1e-2,
              random_state=0)
    coefs0, intercepts0 = _initial_params(est, X, y)
    got = _steps_of_warm_fits(est, X, y, 3, sample_weight=SW)
    want = reference_training("rmsprop", coefs0 + intercepts0, len(coefs0),
                   _oracle_grad_fn(est, X, y, SW), [lr] * 3, rho=rho, epsilon=epsilon)
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")


@pytest.mark.parametrize("schedule", ["constant", "invscaling"])
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_weight_decay_is_decoupled(solver, schedule):
    # w <- w (1 - lr * weight_decay) + (the solver's step), lr the scheduled
    # learning rate (for Adam not its bias-corrected step size); intercepts are
    # not decayed. Checked over two warm-started single steps (the second with
    # the invscaling-decayed lr and the optimizer state of the first).
    lr, wd, power_t = 0.05, 0.3, 0.5
    est = FCNNRegressor((5,), activation="tanh", solver=solver, momentum=0.0,
                        learning_rate=schedule, power_t=power_t, learning_rate_init=lr,
                        weight_decay=wd, alpha=1e-2, batch_size=len(X), shuffle=False,
                        random_state=0)
    coefs0, intercepts0 = _initial_params(est, X, Y_REG)
    got = _steps_of_warm_fits(est, X, Y_REG, 2)
    lrs = [lr, lr if schedule == "constant" else lr / (len(X) + 1) ** power_t]
    want = reference_training(solver, coefs0 + intercepts0, len(coefs0),
                   _oracle_grad_fn(est, X, Y_REG), lrs, weight_decay=wd)
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
    # without decay the result differs (the check is not vacuous), for the coefs only
    no_decay = reference_training(solver, coefs0 + intercepts0, len(coefs0),
                       _oracle_grad_fn(est, X, Y_REG), lrs[:1])[0]
    assert not np.allclose(no_decay[0], want[0][0], rtol=1e-6)
    if solver == "sgd":
        # one plain SGD step, the formula as documented
        g0 = _oracle_grad_fn(est, X, Y_REG)(coefs0 + intercepts0)
        for i, (p0, g) in enumerate(zip(coefs0 + intercepts0, g0)):
            keep = 1 - lr * wd if i < len(coefs0) else 1.0
            assert_allclose(got[0][i], p0 * keep - lr * g, rtol=1e-10, atol=1e-13)


# ================================================================= schedules
def _reducing_lrs(lr0, max_iter, n_iter_no_change):
    """lr of every epoch when no epoch after the first improves (scikit-learn's
    rule: divide by 5 once more than n_iter_no_change epochs did not improve,
    stop once the rate is at most 1e-6); and the rate left at the end."""
    lrs, lr, count = [], lr0, 0
    for epoch in range(max_iter):
        lrs.append(lr)
        count = 0 if epoch == 0 else count + 1
        if count > n_iter_no_change:
            if lr <= 1e-6:
                break
            lr /= 5.0
            count = 0
    return lrs, lr


def test_every_schedule_is_known():
    assert set(SCHEDULES) == {"constant", "invscaling", "adaptive", "cosine", "plateau"}


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_optimizer_schedule_sequence(solver, schedule):
    lr0, power_t, n, max_iter = 0.1, 0.3, 25, 7
    hyper = {"learning_rate_init": lr0, "power_t": power_t}
    opt = StochasticOptimizer(SOLVERS[solver], SCHEDULES[schedule], hyper, 4, np.float64)
    seen, t = [], 0
    for epoch in range(max_iter):
        opt.epoch_begins(epoch, max_iter)
        seen.append(opt.learning_rate)
        t += n
        opt.epoch_ends(t)
    assert_allclose(seen, reference_schedule_lrs(schedule, lr0, max_iter, n, power_t),
                    rtol=1e-14)
    if schedule == "invscaling":
        assert_allclose(opt.learning_rate, lr0 / (t + 1.0) ** power_t, rtol=1e-14)
    # stalls: the reducing schedules divide by 5 until the rate is <= 1e-6, the
    # others stop at once and keep their rate
    before = opt.learning_rate
    if schedule in ("adaptive", "plateau"):
        rates = []
        while not opt.stalled("stalled", False):
            rates.append(opt.learning_rate)
        assert_allclose(rates, before / 5.0 ** np.arange(1, len(rates) + 1), rtol=1e-14)
        assert rates[-1] <= 1e-6 < rates[-2]
        assert opt.learning_rate == rates[-1]
    else:
        assert opt.stalled("stalled", False) is True
        assert opt.learning_rate == before


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_schedule_end_to_end(solver, schedule):
    # max_iter full-batch epochs replayed in numpy with the documented rates; the
    # reducing schedules with tol so large that no epoch counts as improving.
    lr0, power_t, max_iter, n_iter_no_change = 0.02, 0.4, 7, 1
    reducing = schedule in ("adaptive", "plateau")
    est = FCNNRegressor((4,), activation="tanh", solver=solver, momentum=0.9,
                        learning_rate=schedule, learning_rate_init=lr0,
                        power_t=power_t, max_iter=max_iter, batch_size=len(X),
                        shuffle=False, alpha=1e-3, random_state=0,
                        tol=1e9 if reducing else 0.0,
                        n_iter_no_change=n_iter_no_change if reducing else 1000)
    coefs0, intercepts0 = _initial_params(est, X, Y_REG)
    _fit(est, X, Y_REG)
    if reducing:
        lrs, last = _reducing_lrs(lr0, max_iter, n_iter_no_change)
        assert lrs[-1] < lr0  # the rate was reduced during the fit
    else:
        lrs = list(reference_schedule_lrs(schedule, lr0, max_iter, len(X), power_t))
        last = lr0 / (max_iter * len(X) + 1.0) ** power_t if (
            schedule == "invscaling") else lrs[-1]
    assert est.n_iter_ == len(lrs)
    assert_allclose(est._training.optimizer.learning_rate, last, rtol=1e-13)
    want = reference_training(solver, coefs0 + intercepts0, len(coefs0),
                   _oracle_grad_fn(est, X, Y_REG), lrs, momentum=0.9)[-1]
    _assert_params_close(est, want, rtol=1e-9, atol=1e-12)
    if solver == "sgd" and schedule in ("adaptive", "invscaling"):
        # scikit-learn's SGD has these two schedules: the same rates and weights
        sk = _fit(MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", solver="sgd", momentum=0.9,
                               learning_rate=schedule, learning_rate_init=lr0,
                               power_t=power_t, max_iter=max_iter,
                               batch_size=len(X), shuffle=False, alpha=1e-3,
                               random_state=0, tol=est.tol,
                               n_iter_no_change=est.n_iter_no_change), X, Y_REG)
        assert sk.n_iter_ == est.n_iter_
        assert_allclose(sk._optimizer.learning_rate, est._training.optimizer.learning_rate,
                        rtol=1e-13)
        _assert_params_close(est, [*sk.coefs_, *sk.intercepts_], rtol=1e-9)


def test_cosine_last_epoch_step_size():
    # Linear model, full batch, plain SGD: the last epoch's step is -lr * gradient;
    # recover lr from the parameter change and compare it with the documented
    # 0.5 * lr0 * (1 + cos(pi * (max_iter - 1) / max_iter)).
    lr0, max_iter = 0.05, 5
    est = FCNNRegressor((), solver="sgd", momentum=0.0, learning_rate="cosine",
                        learning_rate_init=lr0, max_iter=max_iter, batch_size=len(X),
                        shuffle=False, alpha=0.0, random_state=0, tol=0.0)
    coefs0, intercepts0 = _initial_params(est, X, Y_REG)
    _fit(est, X, Y_REG)
    grad_fn = _oracle_grad_fn(est, X, Y_REG)
    lrs = 0.5 * lr0 * (1 + np.cos(np.pi * np.arange(max_iter) / max_iter))
    before_last = reference_training("sgd", coefs0 + intercepts0, 1, grad_fn, lrs[:-1])[-1]
    change = np.concatenate([(a - b).ravel() for a, b in zip(params_of(est), before_last)])
    g = np.concatenate([a.ravel() for a in grad_fn(before_last)])
    recovered = -(change @ g) / (g @ g)
    assert_allclose(recovered, lrs[-1], rtol=1e-8)
    assert_allclose(change, -recovered * g, rtol=1e-7, atol=1e-13)
    assert recovered < 0.1 * lr0
    assert_allclose(est._training.optimizer.learning_rate, lrs[-1], rtol=1e-13)


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_plateau_watches_validation_data(metric):
    # Validation targets of the opposite sign: the training loss improves every
    # epoch, the validation loss and score worsen. 'plateau' watches the
    # validation data and reduces the rate, 'adaptive' watches the training loss.
    y = 3 * Y_REG
    kw = dict(hidden_layer_sizes=(), solver="sgd", momentum=0.0, learning_rate_init=0.01,
              max_iter=6, batch_size=len(X), shuffle=False, tol=0.0, n_iter_no_change=1,
              random_state=0, validation_metric=metric)
    plateau = _fit(FCNNRegressor(learning_rate="plateau", **kw), X, y, X_val=X, y_val=-y)
    assert np.all(np.diff(plateau.loss_curve_) < 0)
    assert np.all(np.diff(plateau.validation_loss_curve_) > 0)
    assert np.all(np.diff(plateau.validation_scores_) < 0)
    lrs, last = _reducing_lrs(0.01, 6, 1)
    assert plateau.n_iter_ == 6
    assert_allclose(plateau._training.optimizer.learning_rate, last, rtol=1e-13)
    adaptive = _fit(FCNNRegressor(learning_rate="adaptive", **kw), X, y, X_val=X,
                    y_val=-y)
    assert adaptive._training.optimizer.learning_rate == 0.01
    no_val = _fit(FCNNRegressor(learning_rate="plateau", **kw), X, y)
    assert no_val._training.optimizer.learning_rate == 0.01


# ============================================================ max_grad_norm
_Y_BIG = 1000.0 * Y_REG  # a large gradient


def test_max_grad_norm_clips_the_global_norm():
    kw = dict(hidden_layer_sizes=(4,), activation="tanh", solver="sgd", momentum=0.0,
              learning_rate_init=1.0, max_iter=1, batch_size=len(X), shuffle=False,
              alpha=0.1, random_state=0)
    est = FCNNRegressor(max_grad_norm=0.5, **kw)
    coefs0, intercepts0 = _initial_params(est, X, _Y_BIG)
    _fit(est, X, _Y_BIG, sample_weight=SW)
    g = _oracle_grad_fn(est, X, _Y_BIG, SW)(coefs0 + intercepts0)
    g_flat = np.concatenate([a.ravel() for a in g])
    assert np.linalg.norm(g_flat) > 1000  # clipping is active
    change = np.concatenate([(a - b).ravel() for a, b in
                             zip(params_of(est), coefs0 + intercepts0)])
    assert_allclose(np.linalg.norm(change), 0.5, rtol=1e-6)
    assert_allclose(change / np.linalg.norm(change), -g_flat / np.linalg.norm(g_flat),
                    rtol=1e-6, atol=1e-9)
    # the gradient norms are recorded before clipping
    assert_allclose(est.grad_norm_curve_[0],
                    [np.linalg.norm(gc) for gc in g[:len(coefs0)]], rtol=1e-9)

    # a bound far above the gradient: the unclipped step, as without clipping
    huge = _fit(FCNNRegressor(max_grad_norm=1e12, **kw), X, _Y_BIG, sample_weight=SW)
    for a, p0, gi in zip(params_of(huge), coefs0 + intercepts0, g):
        assert_allclose(a, p0 - gi, rtol=1e-9, atol=1e-9)
    assert_params_equal(huge, _fit(FCNNRegressor(**kw), X, _Y_BIG, sample_weight=SW))


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_max_grad_norm_in_every_solver(solver):
    # several full-batch steps of each solver with the clipped gradient
    lr, bound = 0.01, 2.0
    est = FCNNRegressor((4,), activation="tanh", solver=solver, momentum=0.9,
                        learning_rate_init=lr, max_iter=4, batch_size=len(X),
                        shuffle=False, alpha=1e-3, random_state=0, max_grad_norm=bound,
                        tol=0.0)
    coefs0, intercepts0 = _initial_params(est, X, _Y_BIG)
    _fit(est, X, _Y_BIG)
    want = reference_training(solver, coefs0 + intercepts0, len(coefs0),
                   _oracle_grad_fn(est, X, _Y_BIG), [lr] * 4, momentum=0.9,
                   max_grad_norm=bound)[-1]
    # the kernel divides by (norm + 1e-6): a relative 1e-6 / norm of the step
    _assert_params_close(est, want, rtol=1e-7, atol=1e-10)


# ============================================================= class_weight
_CLASS_WEIGHT = {0: 3.0, 1: 0.5, 2: 1.5}


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "lbfgs"])
def test_class_weight_dict_equals_sample_weight(solver):
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    weighted = _fit(FCNNClassifier(class_weight=_CLASS_WEIGHT, **kw), X, Y_MULTI)
    sw = np.array([_CLASS_WEIGHT[c] for c in Y_MULTI])
    assert_params_equal(weighted, _fit(FCNNClassifier(**kw), X, Y_MULTI,
                                        sample_weight=sw))
    assert _params_differ(weighted, _fit(FCNNClassifier(**kw), X, Y_MULTI))
    # multiplied into sample_weight
    both = _fit(FCNNClassifier(class_weight=_CLASS_WEIGHT, **kw), X, Y_MULTI,
                sample_weight=SW)
    assert_params_equal(both, _fit(FCNNClassifier(**kw), X, Y_MULTI,
                                    sample_weight=SW * sw))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_class_weight_balanced(solver):
    y = np.where(Y_MULTI == 2, 1, Y_MULTI)  # unbalanced: two classes
    y[:5] = 2
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    balanced = _fit(FCNNClassifier(class_weight="balanced", **kw), X, y)
    sw = compute_sample_weight("balanced", y)
    assert len(np.unique(sw)) == 3
    assert_params_equal(balanced, _fit(FCNNClassifier(**kw), X, y, sample_weight=sw))
    both = _fit(FCNNClassifier(class_weight="balanced", **kw), X, y, sample_weight=SW)
    assert_params_equal(both, _fit(FCNNClassifier(**kw), X, y, sample_weight=SW * sw))


def test_class_weight_in_partial_fit():
    kw = dict(hidden_layer_sizes=(6,), solver="sgd", random_state=0, shuffle=False)
    classes = np.unique(Y_MULTI)
    est = FCNNClassifier(class_weight="balanced", **kw)
    with pytest.raises(ValueError, match="balanced"):
        est.partial_fit(X, Y_MULTI, classes=classes)
    assert not hasattr(est, "coefs_")
    a = FCNNClassifier(class_weight=_CLASS_WEIGHT, **kw)
    b = FCNNClassifier(**kw)
    sw = np.array([_CLASS_WEIGHT[c] for c in Y_MULTI])
    for _ in range(2):
        a.partial_fit(X, Y_MULTI, classes=classes)
        b.partial_fit(X, Y_MULTI, sample_weight=sw, classes=classes)
    assert_params_equal(a, b)


# =============================================================== validation
@pytest.mark.parametrize("Est,y,yv,extra", [
    (FCNNClassifier, Y_MULTI, Y_VAL_MULTI, {}),
    (FCNNRegressor, Y_REG, Y_VAL_REG, {"loss": "huber", "huber_delta": 0.5}),
], ids=["classifier", "regressor-huber"])
def test_validation_curves_are_the_validation_loss_and_score(Est, y, yv, extra):
    # dropout in training, none in the validation loss; L2 term included
    kw = dict(hidden_layer_sizes=(8,), activation="tanh", max_iter=4, random_state=0,
              alpha=0.05, dropout=0.3, learning_rate_init=0.01, **extra)
    est = _fit(Est(**kw), X, y, X_val=X_VAL, y_val=yv)
    assert est.n_iter_ == 4
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 4
    assert est.best_validation_score_ is None  # no early stopping
    assert_allclose(est.validation_scores_[-1], est.score(X_VAL, yv), rtol=1e-12)
    loss_kw = dict(activation="tanh", out_activation=est.out_activation_, alpha=0.05)
    if extra:
        loss_kw.update(loss="huber", huber_delta=0.5)
    val_loss = loss_and_gradient(est.coefs_, est.intercepts_, X_VAL, _targets(est, yv),
                                 **loss_kw)[0]
    assert_allclose(est.validation_loss_curve_[-1], val_loss, rtol=1e-12)
    if extra:  # the Huber threshold counts: not the squared error
        loss_kw.pop("loss")
        squared = loss_and_gradient(est.coefs_, est.intercepts_, X_VAL,
                                    _targets(est, yv), **loss_kw)[0]
        assert not np.isclose(squared, val_loss, rtol=1e-3)

    # every epoch: warm-started single epochs append their values
    ws = Est(warm_start=True, **{**kw, "max_iter": 1})
    for epoch in range(3):
        _fit(ws, X, y, X_val=X_VAL, y_val=yv)
        assert len(ws.validation_loss_curve_) == len(ws.loss_curve_) == epoch + 1
        assert_allclose(ws.validation_scores_[-1], ws.score(X_VAL, yv), rtol=1e-12)
        assert_allclose(
            ws.validation_loss_curve_[-1],
            loss_and_gradient(ws.coefs_, ws.intercepts_, X_VAL, _targets(ws, yv),
                              **{**loss_kw, **({"loss": "huber"} if extra else {})})[0],
            rtol=1e-12)


def test_early_stopping_uses_X_val_and_not_a_split():
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, early_stopping=True,
              n_iter_no_change=3, learning_rate_init=0.01)
    est = _fit(FCNNClassifier(**kw), X, Y_MULTI, X_val=X_VAL, y_val=Y_VAL_MULTI)
    assert est.t_ == len(X) * est.n_iter_
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the kept weights are the best epoch's, scored on X_val
    assert est.score(X_VAL, Y_VAL_MULTI) == est.best_validation_score_
    split = _fit(FCNNClassifier(**kw), X, Y_MULTI)
    assert split.t_ < len(X) * split.n_iter_


def _stopping_epoch(monitored, tol, n_iter_no_change):
    """Epoch (1-based) at which early stopping stops on a higher-is-better curve."""
    best, count = -np.inf, 0
    for epoch, m in enumerate(monitored, start=1):
        count = count + 1 if m < best + tol else 0
        best = max(best, m)
        if count > n_iter_no_change:
            return epoch
    return len(monitored)


def test_validation_metric_loss_stops_on_the_validation_loss():
    # Accuracy saturates at once on separable data while the loss keeps falling:
    # 'score' stops early, 'loss' goes on; each by the rule on its own curve.
    Xs = np.r_[X[:30] + 3, X[30:] - 3]
    ys = np.r_[np.ones(30, int), np.zeros(30, int)]
    Xv = np.r_[X_VAL[:12] + 3, X_VAL[12:] - 3]
    yv = np.r_[np.ones(12, int), np.zeros(13, int)]
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=0.01,
              momentum=0.0, max_iter=40, random_state=0, early_stopping=True,
              n_iter_no_change=2, tol=1e-4)
    by_score = _fit(FCNNClassifier(validation_metric="score", **kw), Xs, ys, X_val=Xv,
                    y_val=yv)
    by_loss = _fit(FCNNClassifier(validation_metric="loss", **kw), Xs, ys, X_val=Xv,
                   y_val=yv)
    assert by_score.n_iter_ == _stopping_epoch(by_score.validation_scores_, 1e-4, 2)
    losses = np.asarray(by_loss.validation_loss_curve_)
    assert by_loss.n_iter_ == _stopping_epoch(-losses, 1e-4, 2)
    assert by_loss.n_iter_ != _stopping_epoch(by_loss.validation_scores_, 1e-4, 2)
    assert by_loss.n_iter_ > by_score.n_iter_
    # the best epoch by the validation loss is kept, and its score reported
    best = int(np.argmin(losses))
    assert by_loss.best_validation_score_ == by_loss.validation_scores_[best]
    kept = loss_and_gradient(by_loss.coefs_, by_loss.intercepts_, Xv, yv[:, None] * 1.0,
                             activation="relu", out_activation="logistic",
                             alpha=by_loss.alpha)[0]
    assert_allclose(kept, losses[best], rtol=1e-12)


def test_validation_input_errors():
    est = FCNNClassifier((4,), max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="together"):
        est.fit(X, Y_MULTI, X_val=X_VAL)
    with pytest.raises(ValueError, match="together"):
        est.fit(X, Y_MULTI, y_val=Y_VAL_MULTI)
    with pytest.raises(ValueError, match="lbfgs"):
        FCNNClassifier((4,), solver="lbfgs").fit(X, Y_MULTI, X_val=X_VAL,
                                                  y_val=Y_VAL_MULTI)
    with pytest.raises(ValueError):
        est.fit(X, Y_MULTI, X_val=X_VAL, y_val=np.where(Y_VAL_MULTI == 2, 5, Y_VAL_MULTI))
    with pytest.raises(ValueError):
        est.fit(X, Y_MULTI, X_val=X_VAL[:, :4], y_val=Y_VAL_MULTI)
    with pytest.raises(ValueError):
        est.fit(X, Y_MULTI, X_val=X_VAL, y_val=Y_VAL_MULTI[:-1])
    assert not hasattr(est, "coefs_")
    with pytest.raises(ValueError, match="together"):
        FCNNRegressor((4,)).fit(X, Y_REG, X_val=X_VAL)


def test_validation_data_through_a_pipeline_with_metadata_routing():
    Xr, Xvr = 10 * X + 5, 10 * X_VAL + 5  # scaling matters
    with sklearn.config_context(enable_metadata_routing=True):
        net = FCNNClassifier((6,), max_iter=4, random_state=0).set_fit_request(
            X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("net", net)],
                        transform_input=["X_val"])
        _fit(pipe, Xr, Y_MULTI, X_val=Xvr, y_val=Y_VAL_MULTI)
    fitted = pipe.named_steps["net"]
    assert len(fitted.validation_scores_) == fitted.n_iter_ == 4
    assert_allclose(fitted.validation_scores_[-1], pipe.score(Xvr, Y_VAL_MULTI),
                    rtol=1e-12)
    # X_val went through the fitted scaler
    Xv_scaled = pipe.named_steps["scale"].transform(Xvr)
    val_loss = loss_and_gradient(fitted.coefs_, fitted.intercepts_, Xv_scaled,
                                 _targets(fitted, Y_VAL_MULTI), activation="relu",
                                 out_activation="softmax", alpha=fitted.alpha)[0]
    assert_allclose(fitted.validation_loss_curve_[-1], val_loss, rtol=1e-12)
    assert not sklearn.get_config()["enable_metadata_routing"]


# ========================================================== grad_norm_curve_
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_grad_norm_curve_shape(solver):
    est = _fit(FCNNClassifier((7, 5), solver=solver, max_iter=6, random_state=0,
                              tol=0.0), X, Y_MULTI)
    assert est.grad_norm_curve_.shape == (est.n_iter_, est.n_layers_ - 1) == (6, 3)
    assert np.all(np.isfinite(est.grad_norm_curve_))
    assert np.all(est.grad_norm_curve_ > 0)


@pytest.mark.parametrize("Est,y", [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
                         ids=["classifier", "regressor"])
def test_grad_norm_curve_is_the_oracle_gradient_norm(Est, y):
    # one full-batch step: per weight layer, ||dL/dW|| at the initial weights,
    # L2 term alpha / S * W included (S the sum of the sample weights)
    est = Est((6, 4), activation="tanh", solver="sgd", momentum=0.0, max_iter=1,
              batch_size=len(X), shuffle=False, alpha=0.5, random_state=0,
              learning_rate_init=0.01)
    coefs0, intercepts0 = _initial_params(est, X, y)
    _fit(est, X, y, sample_weight=SW)
    g = _oracle_grad_fn(est, X, y, SW)(coefs0 + intercepts0)
    assert_allclose(est.grad_norm_curve_, [[np.linalg.norm(gc) for gc in g[:3]]],
                    rtol=1e-10)
    _, g_no_l2, _ = reference_loss_and_gradient(
        coefs0, intercepts0, X, _targets(est, y), SW, activation="tanh",
        out_activation=est.out_activation_, alpha=0.0)
    assert not np.allclose(est.grad_norm_curve_[0],
                           [np.linalg.norm(gc) for gc in g_no_l2], rtol=1e-6)

    # two batches per epoch: the mean of the two steps' norms
    half = len(X) // 2
    est2 = clone(est).set_params(batch_size=half)
    _fit(est2, X, y)
    grad_1 = _oracle_grad_fn(est2, X[:half], y[:half])
    grad_2 = _oracle_grad_fn(est2, X[half:], y[half:])
    w1 = reference_training("sgd", coefs0 + intercepts0, 3, grad_1, [0.01])[0]
    norms = [[np.linalg.norm(gc) for gc in grad_fn(p)[:3]]
             for grad_fn, p in ((grad_1, coefs0 + intercepts0), (grad_2, w1))]
    assert_allclose(est2.grad_norm_curve_[0], np.mean(norms, axis=0), rtol=1e-10)


def test_grad_norm_curve_warm_start_appends():
    kw = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, tol=0.0,
              shuffle=False)
    est = _fit(FCNNRegressor(warm_start=True, **kw), X, Y_REG)
    first = est.grad_norm_curve_.copy()
    _fit(est.set_params(max_iter=2), X, Y_REG)
    assert est.grad_norm_curve_.shape == (5, 2)
    assert_array_equal(est.grad_norm_curve_[:3], first)
    five = _fit(FCNNRegressor(**{**kw, "max_iter": 5}), X, Y_REG)
    assert_array_equal(est.grad_norm_curve_, five.grad_norm_curve_)
    # a cold refit starts a new curve
    _fit(est.set_params(warm_start=False), X, Y_REG)
    assert est.grad_norm_curve_.shape == (2, 2)


# =============================================== warm start and partial_fit
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_warm_start_five_plus_five_is_ten(solver, schedule):
    kw = dict(hidden_layer_sizes=(7, 5), solver=solver, learning_rate=schedule,
              momentum=0.9, shuffle=False, batch_size=16, random_state=0,
              learning_rate_init=0.01,
              tol=1e9 if schedule == "adaptive" else 0.0,
              n_iter_no_change=1 if schedule == "adaptive" else 1000)
    ten = _fit(FCNNClassifier(max_iter=10, **kw), X, Y_MULTI)
    ws = FCNNClassifier(max_iter=5, warm_start=True, **kw)
    _fit(ws, X, Y_MULTI)
    _fit(ws, X, Y_MULTI)
    assert_params_equal(ten, ws)
    assert ws.t_ == ten.t_ == 10 * len(X)
    assert_array_equal(ws.loss_curve_, ten.loss_curve_)
    assert_array_equal(ws.grad_norm_curve_, ten.grad_norm_curve_)
    assert ws._training.optimizer.learning_rate == ten._training.optimizer.learning_rate
    if schedule == "adaptive":
        assert ten._training.optimizer.learning_rate < 0.01


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("Est,y", [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
                         ids=["classifier", "regressor"])
def test_partial_fit_three_times_is_fit_three_epochs(Est, y, solver):
    kw = dict(hidden_layer_sizes=(6,), solver=solver, momentum=0.9, shuffle=False,
              batch_size=16, random_state=0, learning_rate_init=0.01, tol=0.0,
              n_iter_no_change=1000)
    full = _fit(Est(max_iter=3, **kw), X, y)
    inc = Est(**kw)
    for _ in range(3):
        if Est is FCNNClassifier:
            inc.partial_fit(X, y, classes=np.unique(y))
        else:
            inc.partial_fit(X, y)
    assert_params_equal(full, inc)
    assert inc.t_ == full.t_
    assert_array_equal(inc.loss_curve_, full.loss_curve_)


# ================================================================= transform
def test_transform_shapes_and_values():
    names = ["tanh", "relu", "logistic"]
    est = _fit(FCNNClassifier((6, 4, 3), activation=names, max_iter=5, random_state=0),
               X, Y_MULTI)
    _, acts = reference_preactivations(est.coefs_, est.intercepts_, X, activation=names)
    for layer, width in enumerate((6, 4, 3)):
        out = est.transform(X, layer=layer)
        assert out.shape == (len(X), width)
        assert_allclose(out, acts[layer + 1], rtol=1e-10, atol=1e-13)
        assert_array_equal(est.transform(X, layer=layer - 3), out)
    assert_array_equal(est.transform(X), est.transform(X, layer=2))
    assert_array_equal(est.transform(X), est.transform(X, layer=-1))
    assert_array_equal(est.transform(X, layer=0), est.transform(X, layer=np.int64(0)))
    # sparse input, float32 models
    assert_allclose(est.transform(sp.csr_matrix(X), layer=1), acts[2], rtol=1e-10,
                    atol=1e-13)
    est32 = _fit(clone(est), X.astype(np.float32), Y_MULTI)
    assert est32.transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("layer", [3, -4, 1.0, "0", None])
def test_transform_invalid_layer(layer):
    est = _fit(FCNNRegressor((6, 4, 3), max_iter=2, random_state=0), X, Y_REG)
    with pytest.raises(ValueError):
        est.transform(X, layer=layer)


def test_no_hidden_layer_has_no_transform():
    for est in (FCNNClassifier(()), FCNNRegressor(hidden_layer_sizes=())):
        assert not hasattr(est, "transform")
        assert not hasattr(est, "fit_transform")
    fitted = _fit(FCNNRegressor(()), X, Y_REG)
    assert not hasattr(fitted, "transform")
    assert hasattr(FCNNRegressor((3,)), "transform")


def test_transform_in_a_pipeline():
    net = FCNNClassifier((8,), max_iter=30, random_state=0, learning_rate_init=0.01)
    pipe = Pipeline([("net", net), ("clf", LogisticRegression())])
    _fit(pipe, X, Y_MULTI)
    fitted = pipe.named_steps["net"]
    assert pipe.named_steps["clf"].coef_.shape == (3, 8)
    features = fitted.transform(X)
    assert_array_equal(features, _fit(clone(net), X, Y_MULTI).transform(X))
    direct = LogisticRegression().fit(features, Y_MULTI)
    assert_allclose(pipe.named_steps["clf"].coef_, direct.coef_, rtol=1e-10)
    assert_array_equal(pipe.predict(X), direct.predict(features))
    assert_array_equal(clone(net).fit_transform(X, Y_MULTI), features)


# ============================================================ input_gradient
def _per_sample_loss(est, Xe, y):
    """Each sample's own loss from the model's predictions (float64), without
    weights or penalty, by the documented definitions of the losses."""
    if isinstance(est, FCNNClassifier):
        idx = np.searchsorted(est.classes_, y)
        return -est.predict_log_proba(Xe)[np.arange(len(y)), idx]
    pred = est.predict(Xe).reshape(len(y), -1)
    Y = np.asarray(y, np.float64).reshape(len(y), -1)
    d = pred - Y
    if est.loss == "squared_error":
        per = 0.5 * d * d
    elif est.loss == "absolute_error":
        per = np.abs(d)
    elif est.loss == "huber":
        a, delta = np.abs(d), est.huber_delta
        per = np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))
    elif est.loss == "poisson":
        per = pred - Y * np.log(pred)
    return per.sum(axis=1)


_Y_POIS = np.random.RandomState(5).poisson(np.exp(0.4 * X[:, 0])).astype(float)
INPUT_GRADIENT_CASES = {
    "binary": (FCNNClassifier, Y_BIN, {}),
    "multiclass": (FCNNClassifier, Y_MULTI, {}),
    "squared": (FCNNRegressor, Y_REG, {}),
    "squared-2-outputs": (FCNNRegressor, np.c_[Y_REG, X[:, 1] ** 2], {}),
    "huber": (FCNNRegressor, Y_REG, {"loss": "huber", "huber_delta": 0.5}),
    "absolute": (FCNNRegressor, Y_REG, {"loss": "absolute_error"}),
    "poisson": (FCNNRegressor, _Y_POIS, {"loss": "poisson"}),
}


@pytest.mark.parametrize("case", INPUT_GRADIENT_CASES)
def test_input_gradient_finite_differences(case):
    Est, y, extra = INPUT_GRADIENT_CASES[case]
    est = _fit(Est((8, 5), activation="tanh", max_iter=20, random_state=0, alpha=0.1,
                   learning_rate_init=0.01, **extra), X, y, sample_weight=SW)
    grad = est.input_gradient(X, y)
    assert grad.shape == X.shape and grad.dtype == np.float64
    if extra.get("loss") == "huber":  # both branches of the loss are exercised
        r = np.abs(est.predict(X) - y)
        assert np.any(r < 0.4) and np.any(r > 0.6)
    # loss_i depends on x_i only, so one feature of every row moves at once
    eps = 1e-6
    fd = np.empty_like(X)
    for j in range(X.shape[1]):
        step = np.zeros_like(X)
        step[:, j] = eps
        fd[:, j] = (_per_sample_loss(est, X + step, y)
                    - _per_sample_loss(est, X - step, y)) / (2 * eps)
    assert_allclose(grad, fd, rtol=1e-5, atol=1e-7 * (1 + np.max(np.abs(fd))))
    assert np.max(np.abs(grad)) > 1e-3


def test_input_gradient_sparse_dtype_and_errors():
    est = _fit(FCNNClassifier((6,), activation="tanh", max_iter=5, random_state=0),
               X, Y_MULTI)
    Xs = np.where(np.abs(X) > 0.7, X, 0.0)
    dense = est.input_gradient(Xs, Y_MULTI)
    for fmt in ("csr", "csc"):
        out = est.input_gradient(sp.csr_matrix(Xs).asformat(fmt), Y_MULTI)
        assert isinstance(out, np.ndarray) and out.shape == X.shape
        assert_allclose(out, dense, rtol=1e-12, atol=1e-15)
    # the gradient for every feature, the zero entries of sparse rows too
    assert np.all(dense[Xs == 0] != 0)
    est32 = _fit(FCNNClassifier((6,), max_iter=5, random_state=0),
                 X.astype(np.float32), Y_MULTI)
    out32 = est32.input_gradient(X.astype(np.float32), Y_MULTI)
    assert out32.dtype == np.float32 and out32.shape == X.shape
    with pytest.raises(ValueError):
        est.input_gradient(X, np.where(Y_MULTI == 2, 9, Y_MULTI))  # unseen label
    with pytest.raises(ValueError):
        est.input_gradient(X[:, :4], Y_MULTI)
    with pytest.raises(ValueError):
        est.input_gradient(X, Y_MULTI[:-1])


def test_dropout_masks_are_new_in_every_partial_fit_call():
    # An integer random_state re-creates the same RandomState in every call; the
    # masks must still differ between calls (a fixed thinned network is not dropout).
    est = FCNNRegressor((2000,), activation="identity", solver="sgd", momentum=0.0,
                        batch_size=1, shuffle=False, alpha=0.0, learning_rate_init=1e-3,
                        dropout=0.5, random_state=0)
    x, y = np.random.RandomState(1).normal(size=(1, 5)), np.array([10.0])
    est.partial_fit(x, y)
    kept = []  # hidden units whose outgoing weight did not move: the dropped ones
    for _ in range(3):
        before = est.coefs_[1].copy()
        est.partial_fit(x, y)
        kept.append((est.coefs_[1] == before).ravel())
    for a, b in zip(kept, kept[1:]):
        assert not np.array_equal(a, b)
        assert 0.4 < a.mean() < 0.6
