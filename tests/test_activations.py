"""Hidden-layer activations (every registered one, one per layer, their parameter)
and the weight initialisers."""

import math

import numpy as np
import pytest
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier

from _helpers import (
    Y_MULTI,
    Y_REG,
    X,
    assert_params_equal,
    fit_quietly,
    initial_params,
    params_differ,
    params_of,
)
from _reference import HIDDEN_ACTIVATIONS as REF_HIDDEN_ACTIVATIONS
from _reference import (
    INIT_FORMULAS,
    reference_forward,
    reference_preactivations,
)
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._network import loss_and_gradient
from fcnn_sk._registry import ACTIVATIONS as HIDDEN_ACTIVATIONS
from fcnn_sk._registry import INITIALIZERS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# =============================================================== activations
_XA = np.random.RandomState(3).uniform(-2, 2, size=(80, 3))
_YA = _XA[:, 2] - _XA[:, 1] + 0.5 * np.sin(2 * _XA[:, 0])


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_every_activation_trains_and_is_the_named_function(activation):
    est = FCNNRegressor(
        (16,),
        activation=activation,
        solver="adam",
        learning_rate_init=0.02,
        max_iter=60,
        batch_size=20,
        random_state=0,
        alpha=0.0,
    )
    fit_quietly(est, _XA, _YA)
    assert np.all(np.isfinite(est.loss_curve_))
    assert est.loss_curve_[-1] < 0.3 * est.loss_curve_[0]
    # the full-data objective fell from the initial weights to the final ones
    coefs0, intercepts0 = initial_params(est, _XA, _YA)
    kw = dict(activation=activation, out_activation="identity")
    start = loss_and_gradient(coefs0, intercepts0, _XA, _YA[:, None], **kw)[0]
    end = loss_and_gradient(est.coefs_, est.intercepts_, _XA, _YA[:, None], **kw)[0]
    assert end < 0.3 * start
    # the hidden layer is the named function of its pre-activation
    f, _ = REF_HIDDEN_ACTIVATIONS[activation]
    assert_allclose(
        est.transform(_XA),
        f(_XA @ est.coefs_[0] + est.intercepts_[0]),
        rtol=1e-10,
        atol=1e-12,
    )


def test_per_layer_activation_list():
    names = ["tanh", "relu", "gelu"]
    est = fit_quietly(
        FCNNClassifier((6, 5, 4), activation=names, max_iter=5, random_state=0),
        X,
        Y_MULTI,
    )
    _, acts = reference_preactivations(est.coefs_, est.intercepts_, X, activation=names)
    for layer in range(3):
        assert_allclose(
            est.transform(X, layer=layer), acts[layer + 1], rtol=1e-10, atol=1e-12
        )
    assert_allclose(
        est.predict_proba(X),
        reference_forward(
            est.coefs_, est.intercepts_, X, activation=names, out_activation="softmax"
        ),
        rtol=1e-10,
        atol=1e-12,
    )
    # a list of one name is that name, the scikit-learn draw included
    assert_params_equal(
        fit_quietly(
            FCNNClassifier(
                (6, 5), activation=["logistic", "logistic"], max_iter=2, random_state=0
            ),
            X,
            Y_MULTI,
        ),
        fit_quietly(
            FCNNClassifier((6, 5), activation="logistic", max_iter=2, random_state=0),
            X,
            Y_MULTI,
        ),
    )


@pytest.mark.parametrize(
    "bad", [["tanh"], ["tanh", "relu", "relu"], ["tanh", "nope"], "nope", []]
)
def test_activation_list_is_validated(bad):
    est = FCNNClassifier((6, 5), activation=bad, max_iter=2)
    with pytest.raises(ValueError):
        est.fit(X, Y_MULTI)
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_negative_slope_affects_leaky_relu_only(activation):
    kw = dict(
        hidden_layer_sizes=(10,),
        activation=activation,
        max_iter=3,
        random_state=0,
        learning_rate_init=0.01,
    )
    a = fit_quietly(FCNNRegressor(negative_slope=0.01, **kw), X, Y_REG)
    b = fit_quietly(FCNNRegressor(negative_slope=0.3, **kw), X, Y_REG)
    if activation == "leaky_relu":
        assert params_differ(a, b)
        z = X @ b.coefs_[0] + b.intercepts_[0]
        assert np.mean(z < 0) > 0.2
        assert_allclose(
            b.transform(X), np.where(z > 0, z, 0.3 * z), rtol=1e-12, atol=1e-14
        )
    else:
        assert_params_equal(a, b)


# =============================================================== weight_init
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_glorot_uniform_is_sklearns_draw(activation, dtype):
    # A learning rate too small to move any weight: the fitted weights are the
    # initial ones, bitwise, for both libraries.
    Xd = X.astype(dtype)
    kw = dict(
        hidden_layer_sizes=(7, 4),
        activation=activation,
        solver="sgd",
        learning_rate_init=1e-300,
        momentum=0.0,
        max_iter=1,
        random_state=3,
    )
    ours = fit_quietly(FCNNClassifier(**kw), Xd, Y_MULTI)
    theirs = fit_quietly(MLPClassifier(**kw), Xd, Y_MULTI)
    for a, b in zip(params_of(ours), [*theirs.coefs_, *theirs.intercepts_]):
        assert a.dtype == b.dtype == dtype
        assert_array_equal(a, b)
    # and the probe does what it claims: the draw, by hand, as scikit-learn makes it
    rng = np.random.RandomState(3)
    factor = 2.0 if activation == "logistic" else 6.0
    units = [5, 7, 4, 3]
    for i, (n_in, n_out) in enumerate(zip(units[:-1], units[1:])):
        bound = math.sqrt(factor / (n_in + n_out))
        assert_array_equal(
            ours.coefs_[i], rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
        )
        assert_array_equal(
            ours.intercepts_[i], rng.uniform(-bound, bound, n_out).astype(dtype)
        )


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
    INITIALIZERS[scheme].init(
        coef,
        intercept,
        HIDDEN_ACTIVATIONS["relu"].glorot_factor,
        np.random.RandomState(0),
    )
    _check_init_sample(coef, kind, formula(fan_in, fan_out), scheme)
    if scheme == "glorot_uniform":
        bound = formula(fan_in, fan_out)
        assert np.all(np.abs(intercept) <= bound) and np.any(intercept != 0)
        # scikit-learn's gain for logistic units
        coef2 = np.empty_like(coef)
        INITIALIZERS[scheme].init(
            coef2,
            intercept,
            HIDDEN_ACTIVATIONS["logistic"].glorot_factor,
            np.random.RandomState(0),
        )
        _check_init_sample(coef2, kind, math.sqrt(2.0 / (fan_in + fan_out)), scheme)
    else:
        assert_array_equal(intercept, 0.0)


@pytest.mark.parametrize("scheme", sorted(INIT_FORMULAS))
def test_weight_init_of_the_estimator(scheme):
    # fan_in is the number of rows of coefs_[i] (inputs of the layer), fan_out its
    # columns; 200 -> 300 -> 100 -> 2 tells them apart.
    rng = np.random.RandomState(0)
    Xw, yw = rng.normal(size=(4, 200)), rng.normal(size=(4, 2))
    est = FCNNRegressor(
        (300, 100), activation="relu", weight_init=scheme, random_state=0
    )
    coefs, intercepts = initial_params(est, Xw, yw)
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
    again, _ = initial_params(est, Xw, yw)
    assert_array_equal(again[0], coefs[0])
    other, _ = initial_params(clone(est).set_params(random_state=1), Xw, yw)
    assert not np.array_equal(other[0], coefs[0])
