"""Dropout (hidden and input), gradient clipping and class weights, checked against
their documented behaviour."""

import copy
import math

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils.class_weight import compute_sample_weight

from _helpers import (
    STOCHASTIC,
    SW,
    Y_MULTI,
    Y_REG,
    X,
    assert_params_close,
    assert_params_equal,
    fit_quietly,
    initial_params,
    oracle_grad_fn,
    params_differ,
    params_of,
)
from _reference import (
    reference_forward,
    reference_training,
)
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._network import forward

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# =================================================================== dropout
@pytest.mark.parametrize(
    "Est,y",
    [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
    ids=["classifier", "regressor"],
)
def test_dropout_prediction_is_deterministic(Est, y):
    est = fit_quietly(
        Est(
            (12, 8),
            activation="tanh",
            dropout=0.5,
            input_dropout=0.2,
            max_iter=5,
            random_state=0,
        ),
        X,
        y,
    )
    if Est is FCNNClassifier:
        first, second = est.predict_proba(X), est.predict_proba(X)
    else:
        first, second = est.predict(X), est.predict(X)
    assert_array_equal(first, second)
    # the same network without any dropout: the compiled forward and the oracle
    plain = forward(
        est.coefs_,
        est.intercepts_,
        X,
        activation="tanh",
        out_activation=est.out_activation_,
    )
    assert_allclose(first.reshape(plain.shape), plain, rtol=1e-12, atol=1e-15)
    oracle = reference_forward(
        est.coefs_,
        est.intercepts_,
        X,
        activation="tanh",
        out_activation=est.out_activation_,
    )
    assert_allclose(first.reshape(plain.shape), oracle, rtol=1e-10, atol=1e-14)


DROPOUT_KWARGS = {
    "hidden": {"dropout": 0.5},
    "hidden-list": {"dropout": [0.0, 0.5]},
    "input": {"input_dropout": 0.5},
}


@pytest.mark.parametrize("kind", DROPOUT_KWARGS)
def test_dropout_is_used_in_training_and_seeded(kind):
    kw = dict(
        hidden_layer_sizes=(8, 6),
        solver="adam",
        max_iter=1,
        shuffle=False,
        batch_size=20,
        learning_rate_init=0.01,
    )
    drop = DROPOUT_KWARGS[kind]
    plain = fit_quietly(FCNNClassifier(random_state=0, **kw), X, Y_MULTI)
    with_drop = fit_quietly(FCNNClassifier(random_state=0, **kw, **drop), X, Y_MULTI)
    assert params_differ(plain, with_drop)
    again = fit_quietly(FCNNClassifier(random_state=0, **kw, **drop), X, Y_MULTI)
    assert_params_equal(with_drop, again)  # reproducible

    # From identical weights and optimizer state, the random_state alone (no
    # shuffling) changes an epoch only through the dropout masks.
    def continued(start, random_state):
        est = copy.deepcopy(start).set_params(random_state=random_state)
        return fit_quietly(est, X, Y_MULTI)

    start = fit_quietly(
        FCNNClassifier(random_state=0, warm_start=True, **kw, **drop), X, Y_MULTI
    )
    a, b, a2 = continued(start, 1), continued(start, 2), continued(start, 1)
    assert params_differ(a, b)
    assert_params_equal(a, a2)
    start = fit_quietly(
        FCNNClassifier(random_state=0, warm_start=True, **kw), X, Y_MULTI
    )
    assert_params_equal(continued(start, 1), continued(start, 2))


def test_dropout_per_layer_rates_and_validation():
    kw = dict(hidden_layer_sizes=(8, 6), max_iter=2, random_state=0, shuffle=False)
    first = fit_quietly(FCNNClassifier(dropout=[0.5, 0.0], **kw), X, Y_MULTI)
    second = fit_quietly(FCNNClassifier(dropout=[0.0, 0.5], **kw), X, Y_MULTI)
    assert params_differ(first, second)
    # all-zero rates are no dropout at all
    assert_params_equal(
        fit_quietly(FCNNClassifier(dropout=[0.0, 0.0], **kw), X, Y_MULTI),
        fit_quietly(FCNNClassifier(**kw), X, Y_MULTI),
    )
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
    kw = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        max_iter=3,
        random_state=0,
        batch_size=16,
        learning_rate_init=0.05,
    )
    sparse_fit = fit_quietly(FCNNClassifier(dropout=0.5, **kw), X_sparse, Y_MULTI)
    dense_fit = fit_quietly(
        FCNNClassifier(dropout=0.5, **kw), X_sparse.toarray(), Y_MULTI
    )
    no_drop = fit_quietly(FCNNClassifier(**kw), X_sparse, Y_MULTI)
    for a, b in zip(params_of(sparse_fit), params_of(dense_fit)):  # the same masks
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert params_differ(sparse_fit, no_drop)
    est = FCNNClassifier(input_dropout=0.2, **kw)
    with pytest.raises(ValueError, match="input_dropout"):
        est.fit(X_sparse, Y_MULTI)
    assert not hasattr(est, "coefs_")


def _one_sgd_step(est, X, y):
    """Warm-started: parameters before and after one more full-batch SGD step."""
    fit_quietly(est, X, y)
    before = params_of(est)
    fit_quietly(est, X, y)
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
    est = FCNNRegressor(
        (H,),
        activation="identity",
        solver="sgd",
        momentum=0.0,
        batch_size=1,
        max_iter=1,
        shuffle=False,
        alpha=0.0,
        learning_rate_init=lr,
        dropout=rate,
        warm_start=True,
        random_state=0,
    )
    (W0, W1, b0, b1), (W0n, W1n, b0n, b1n) = _one_sgd_step(est, x, y)
    h = (x @ W0 + b0).ravel()
    d_b1 = (b1n - b1)[0]
    delta = -d_b1 / lr  # the output delta of the step
    assert abs(delta) > 1.0
    mask = (W1n - W1).ravel() / (h * d_b1)
    dropped = (W1n == W1).ravel()
    kept_scale = 1.0 / (1.0 - rate)
    assert np.all(
        np.isclose(mask, 0.0, atol=1e-6) | np.isclose(mask, kept_scale, rtol=1e-6)
    )
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
    est = FCNNRegressor(
        (H, H),
        activation="identity",
        solver="sgd",
        momentum=0.0,
        batch_size=1,
        max_iter=1,
        shuffle=False,
        alpha=0.0,
        learning_rate_init=1e-3,
        dropout=list(rates),
        warm_start=True,
        random_state=0,
    )
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
    est = FCNNRegressor(
        (3,),
        activation="identity",
        solver="sgd",
        momentum=0.0,
        batch_size=1,
        max_iter=1,
        shuffle=False,
        alpha=0.0,
        learning_rate_init=lr,
        input_dropout=rate,
        warm_start=True,
        random_state=0,
    )
    (W0, W1, b0, b1), (W0n, W1n, b0n, b1n) = _one_sgd_step(est, x, y)
    k = np.argmax(np.abs(b0n - b0))
    mask = (W0n - W0)[:, k] / (x.ravel() * (b0n - b0)[k])
    dropped = np.all(W0n == W0, axis=1)
    kept_scale = 1.0 / (1.0 - rate)
    assert np.all(
        np.isclose(mask, 0.0, atol=1e-6) | np.isclose(mask, kept_scale, rtol=1e-6)
    )
    assert_array_equal(np.isclose(mask, 0.0, atol=1e-6), dropped)
    # forward consistency: the output delta is z(masked input) - y
    xm = x.ravel() * np.where(dropped, 0.0, kept_scale)
    z = (xm @ W0 + b0) @ W1 + b1
    assert_allclose(-(b1n - b1) / lr, z - y, rtol=1e-8)
    se = math.sqrt(rate * (1 - rate) / D)
    assert abs(dropped.mean() - rate) < 4 * se, dropped.mean()


# ============================================================ max_grad_norm
_Y_BIG = 1000.0 * Y_REG  # a large gradient


def test_max_grad_norm_clips_the_global_norm():
    kw = dict(
        hidden_layer_sizes=(4,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1.0,
        max_iter=1,
        batch_size=len(X),
        shuffle=False,
        alpha=0.1,
        random_state=0,
    )
    est = FCNNRegressor(max_grad_norm=0.5, **kw)
    coefs0, intercepts0 = initial_params(est, X, _Y_BIG)
    fit_quietly(est, X, _Y_BIG, sample_weight=SW)
    g = oracle_grad_fn(est, X, _Y_BIG, SW)(coefs0 + intercepts0)
    g_flat = np.concatenate([a.ravel() for a in g])
    assert np.linalg.norm(g_flat) > 1000  # clipping is active
    change = np.concatenate(
        [(a - b).ravel() for a, b in zip(params_of(est), coefs0 + intercepts0)]
    )
    assert_allclose(np.linalg.norm(change), 0.5, rtol=1e-6)
    assert_allclose(
        change / np.linalg.norm(change),
        -g_flat / np.linalg.norm(g_flat),
        rtol=1e-6,
        atol=1e-9,
    )
    # the gradient norms are recorded before clipping
    assert_allclose(
        est.grad_norm_curve_[0],
        [np.linalg.norm(gc) for gc in g[: len(coefs0)]],
        rtol=1e-9,
    )

    # a bound far above the gradient: the unclipped step, as without clipping
    huge = fit_quietly(
        FCNNRegressor(max_grad_norm=1e12, **kw), X, _Y_BIG, sample_weight=SW
    )
    for a, p0, gi in zip(params_of(huge), coefs0 + intercepts0, g):
        assert_allclose(a, p0 - gi, rtol=1e-9, atol=1e-9)
    assert_params_equal(
        huge, fit_quietly(FCNNRegressor(**kw), X, _Y_BIG, sample_weight=SW)
    )


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_max_grad_norm_in_every_solver(solver):
    # several full-batch steps of each solver with the clipped gradient
    lr, bound = 0.01, 2.0
    est = FCNNRegressor(
        (4,),
        activation="tanh",
        solver=solver,
        momentum=0.9,
        learning_rate_init=lr,
        max_iter=4,
        batch_size=len(X),
        shuffle=False,
        alpha=1e-3,
        random_state=0,
        max_grad_norm=bound,
        tol=0.0,
    )
    coefs0, intercepts0 = initial_params(est, X, _Y_BIG)
    fit_quietly(est, X, _Y_BIG)
    want = reference_training(
        solver,
        coefs0 + intercepts0,
        len(coefs0),
        oracle_grad_fn(est, X, _Y_BIG),
        [lr] * 4,
        momentum=0.9,
        max_grad_norm=bound,
    )[-1]
    # the kernel divides by (norm + 1e-6): a relative 1e-6 / norm of the step
    assert_params_close(est, want, rtol=1e-7, atol=1e-10)


# ============================================================= class_weight
_CLASS_WEIGHT = {0: 3.0, 1: 0.5, 2: 1.5}


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "lbfgs"])
def test_class_weight_dict_equals_sample_weight(solver):
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    weighted = fit_quietly(FCNNClassifier(class_weight=_CLASS_WEIGHT, **kw), X, Y_MULTI)
    sw = np.array([_CLASS_WEIGHT[c] for c in Y_MULTI])
    assert_params_equal(
        weighted, fit_quietly(FCNNClassifier(**kw), X, Y_MULTI, sample_weight=sw)
    )
    assert params_differ(weighted, fit_quietly(FCNNClassifier(**kw), X, Y_MULTI))
    # multiplied into sample_weight
    both = fit_quietly(
        FCNNClassifier(class_weight=_CLASS_WEIGHT, **kw), X, Y_MULTI, sample_weight=SW
    )
    assert_params_equal(
        both, fit_quietly(FCNNClassifier(**kw), X, Y_MULTI, sample_weight=SW * sw)
    )


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_class_weight_balanced(solver):
    y = np.where(Y_MULTI == 2, 1, Y_MULTI)  # unbalanced: two classes
    y[:5] = 2
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    balanced = fit_quietly(FCNNClassifier(class_weight="balanced", **kw), X, y)
    sw = compute_sample_weight("balanced", y)
    assert len(np.unique(sw)) == 3
    assert_params_equal(
        balanced, fit_quietly(FCNNClassifier(**kw), X, y, sample_weight=sw)
    )
    both = fit_quietly(
        FCNNClassifier(class_weight="balanced", **kw), X, y, sample_weight=SW
    )
    assert_params_equal(
        both, fit_quietly(FCNNClassifier(**kw), X, y, sample_weight=SW * sw)
    )


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


def test_dropout_masks_are_new_in_every_partial_fit_call():
    # An integer random_state re-creates the same RandomState in every call; the
    # masks must still differ between calls (a fixed thinned network is not dropout).
    est = FCNNRegressor(
        (2000,),
        activation="identity",
        solver="sgd",
        momentum=0.0,
        batch_size=1,
        shuffle=False,
        alpha=0.0,
        learning_rate_init=1e-3,
        dropout=0.5,
        random_state=0,
    )
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
