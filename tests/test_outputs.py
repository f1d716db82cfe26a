"""What a fit gives besides its weights: validation data and curves, gradient-norm
curves, hidden features (``transform``) and input gradients."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from _helpers import (
    STOCHASTIC,
    SW,
    X_VAL,
    Y_BIN,
    Y_MULTI,
    Y_REG,
    Y_VAL_MULTI,
    Y_VAL_REG,
    X,
    encoded_targets,
    fit_quietly,
    initial_params,
    oracle_grad_fn,
)
from _reference import (
    reference_loss_and_gradient,
    reference_preactivations,
    reference_training,
)
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._network import loss_and_gradient

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# =============================================================== validation
@pytest.mark.parametrize(
    "Est,y,yv,extra",
    [
        (FCNNClassifier, Y_MULTI, Y_VAL_MULTI, {}),
        (FCNNRegressor, Y_REG, Y_VAL_REG, {"loss": "huber", "huber_delta": 0.5}),
    ],
    ids=["classifier", "regressor-huber"],
)
def test_validation_curves_are_the_validation_loss_and_score(Est, y, yv, extra):
    # dropout in training, none in the validation loss; L2 term included
    kw = dict(
        hidden_layer_sizes=(8,),
        activation="tanh",
        max_iter=4,
        random_state=0,
        alpha=0.05,
        dropout=0.3,
        learning_rate_init=0.01,
        **extra,
    )
    est = fit_quietly(Est(**kw), X, y, X_val=X_VAL, y_val=yv)
    assert est.n_iter_ == 4
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 4
    assert est.best_validation_score_ is None  # no early stopping
    assert_allclose(est.validation_scores_[-1], est.score(X_VAL, yv), rtol=1e-12)
    loss_kw = dict(activation="tanh", out_activation=est.out_activation_, alpha=0.05)
    if extra:
        loss_kw.update(loss="huber", huber_delta=0.5)
    val_loss = loss_and_gradient(
        est.coefs_, est.intercepts_, X_VAL, encoded_targets(est, yv), **loss_kw
    )[0]
    assert_allclose(est.validation_loss_curve_[-1], val_loss, rtol=1e-12)
    if extra:  # the Huber threshold counts: not the squared error
        loss_kw.pop("loss")
        squared = loss_and_gradient(
            est.coefs_, est.intercepts_, X_VAL, encoded_targets(est, yv), **loss_kw
        )[0]
        assert not np.isclose(squared, val_loss, rtol=1e-3)

    # every epoch: warm-started single epochs append their values
    ws = Est(warm_start=True, **{**kw, "max_iter": 1})
    for epoch in range(3):
        fit_quietly(ws, X, y, X_val=X_VAL, y_val=yv)
        assert len(ws.validation_loss_curve_) == len(ws.loss_curve_) == epoch + 1
        assert_allclose(ws.validation_scores_[-1], ws.score(X_VAL, yv), rtol=1e-12)
        assert_allclose(
            ws.validation_loss_curve_[-1],
            loss_and_gradient(
                ws.coefs_,
                ws.intercepts_,
                X_VAL,
                encoded_targets(ws, yv),
                **{**loss_kw, **({"loss": "huber"} if extra else {})},
            )[0],
            rtol=1e-12,
        )


def test_early_stopping_uses_X_val_and_not_a_split():
    kw = dict(
        hidden_layer_sizes=(8,),
        max_iter=30,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=3,
        learning_rate_init=0.01,
    )
    est = fit_quietly(FCNNClassifier(**kw), X, Y_MULTI, X_val=X_VAL, y_val=Y_VAL_MULTI)
    assert est.t_ == len(X) * est.n_iter_
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the kept weights are the best epoch's, scored on X_val
    assert est.score(X_VAL, Y_VAL_MULTI) == est.best_validation_score_
    split = fit_quietly(FCNNClassifier(**kw), X, Y_MULTI)
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
    kw = dict(
        hidden_layer_sizes=(4,),
        solver="sgd",
        learning_rate_init=0.01,
        momentum=0.0,
        max_iter=40,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=2,
        tol=1e-4,
    )
    by_score = fit_quietly(
        FCNNClassifier(validation_metric="score", **kw), Xs, ys, X_val=Xv, y_val=yv
    )
    by_loss = fit_quietly(
        FCNNClassifier(validation_metric="loss", **kw), Xs, ys, X_val=Xv, y_val=yv
    )
    assert by_score.n_iter_ == _stopping_epoch(by_score.validation_scores_, 1e-4, 2)
    losses = np.asarray(by_loss.validation_loss_curve_)
    assert by_loss.n_iter_ == _stopping_epoch(-losses, 1e-4, 2)
    assert by_loss.n_iter_ != _stopping_epoch(by_loss.validation_scores_, 1e-4, 2)
    assert by_loss.n_iter_ > by_score.n_iter_
    # the best epoch by the validation loss is kept, and its score reported
    best = int(np.argmin(losses))
    assert by_loss.best_validation_score_ == by_loss.validation_scores_[best]
    kept = loss_and_gradient(
        by_loss.coefs_,
        by_loss.intercepts_,
        Xv,
        yv[:, None] * 1.0,
        activation="relu",
        out_activation="logistic",
        alpha=by_loss.alpha,
    )[0]
    assert_allclose(kept, losses[best], rtol=1e-12)


def test_validation_input_errors():
    est = FCNNClassifier((4,), max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="together"):
        est.fit(X, Y_MULTI, X_val=X_VAL)
    with pytest.raises(ValueError, match="together"):
        est.fit(X, Y_MULTI, y_val=Y_VAL_MULTI)
    with pytest.raises(ValueError, match="lbfgs"):
        FCNNClassifier((4,), solver="lbfgs").fit(
            X, Y_MULTI, X_val=X_VAL, y_val=Y_VAL_MULTI
        )
    with pytest.raises(ValueError):
        est.fit(
            X, Y_MULTI, X_val=X_VAL, y_val=np.where(Y_VAL_MULTI == 2, 5, Y_VAL_MULTI)
        )
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
            X_val=True, y_val=True
        )
        pipe = Pipeline(
            [("scale", StandardScaler()), ("net", net)], transform_input=["X_val"]
        )
        fit_quietly(pipe, Xr, Y_MULTI, X_val=Xvr, y_val=Y_VAL_MULTI)
    fitted = pipe.named_steps["net"]
    assert len(fitted.validation_scores_) == fitted.n_iter_ == 4
    assert_allclose(
        fitted.validation_scores_[-1], pipe.score(Xvr, Y_VAL_MULTI), rtol=1e-12
    )
    # X_val went through the fitted scaler
    Xv_scaled = pipe.named_steps["scale"].transform(Xvr)
    val_loss = loss_and_gradient(
        fitted.coefs_,
        fitted.intercepts_,
        Xv_scaled,
        encoded_targets(fitted, Y_VAL_MULTI),
        activation="relu",
        out_activation="softmax",
        alpha=fitted.alpha,
    )[0]
    assert_allclose(fitted.validation_loss_curve_[-1], val_loss, rtol=1e-12)
    assert not sklearn.get_config()["enable_metadata_routing"]


# ========================================================== grad_norm_curve_
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_grad_norm_curve_shape(solver):
    est = fit_quietly(
        FCNNClassifier((7, 5), solver=solver, max_iter=6, random_state=0, tol=0.0),
        X,
        Y_MULTI,
    )
    assert est.grad_norm_curve_.shape == (est.n_iter_, est.n_layers_ - 1) == (6, 3)
    assert np.all(np.isfinite(est.grad_norm_curve_))
    assert np.all(est.grad_norm_curve_ > 0)


@pytest.mark.parametrize(
    "Est,y",
    [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
    ids=["classifier", "regressor"],
)
def test_grad_norm_curve_is_the_oracle_gradient_norm(Est, y):
    # one full-batch step: per weight layer, ||dL/dW|| at the initial weights,
    # L2 term alpha / S * W included (S the sum of the sample weights)
    est = Est(
        (6, 4),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        max_iter=1,
        batch_size=len(X),
        shuffle=False,
        alpha=0.5,
        random_state=0,
        learning_rate_init=0.01,
    )
    coefs0, intercepts0 = initial_params(est, X, y)
    fit_quietly(est, X, y, sample_weight=SW)
    g = oracle_grad_fn(est, X, y, SW)(coefs0 + intercepts0)
    assert_allclose(
        est.grad_norm_curve_, [[np.linalg.norm(gc) for gc in g[:3]]], rtol=1e-10
    )
    _, g_no_l2, _ = reference_loss_and_gradient(
        coefs0,
        intercepts0,
        X,
        encoded_targets(est, y),
        SW,
        activation="tanh",
        out_activation=est.out_activation_,
        alpha=0.0,
    )
    assert not np.allclose(
        est.grad_norm_curve_[0], [np.linalg.norm(gc) for gc in g_no_l2], rtol=1e-6
    )

    # two batches per epoch: the mean of the two steps' norms
    half = len(X) // 2
    est2 = clone(est).set_params(batch_size=half)
    fit_quietly(est2, X, y)
    grad_1 = oracle_grad_fn(est2, X[:half], y[:half])
    grad_2 = oracle_grad_fn(est2, X[half:], y[half:])
    w1 = reference_training("sgd", coefs0 + intercepts0, 3, grad_1, [0.01])[0]
    norms = [
        [np.linalg.norm(gc) for gc in grad_fn(p)[:3]]
        for grad_fn, p in ((grad_1, coefs0 + intercepts0), (grad_2, w1))
    ]
    assert_allclose(est2.grad_norm_curve_[0], np.mean(norms, axis=0), rtol=1e-10)


def test_grad_norm_curve_warm_start_appends():
    kw = dict(
        hidden_layer_sizes=(5,), max_iter=3, random_state=0, tol=0.0, shuffle=False
    )
    est = fit_quietly(FCNNRegressor(warm_start=True, **kw), X, Y_REG)
    first = est.grad_norm_curve_.copy()
    fit_quietly(est.set_params(max_iter=2), X, Y_REG)
    assert est.grad_norm_curve_.shape == (5, 2)
    assert_array_equal(est.grad_norm_curve_[:3], first)
    five = fit_quietly(FCNNRegressor(**{**kw, "max_iter": 5}), X, Y_REG)
    assert_array_equal(est.grad_norm_curve_, five.grad_norm_curve_)
    # a cold refit starts a new curve
    fit_quietly(est.set_params(warm_start=False), X, Y_REG)
    assert est.grad_norm_curve_.shape == (2, 2)


# ================================================================= transform
def test_transform_shapes_and_values():
    names = ["tanh", "relu", "logistic"]
    est = fit_quietly(
        FCNNClassifier((6, 4, 3), activation=names, max_iter=5, random_state=0),
        X,
        Y_MULTI,
    )
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
    assert_allclose(
        est.transform(sp.csr_matrix(X), layer=1), acts[2], rtol=1e-10, atol=1e-13
    )
    est32 = fit_quietly(clone(est), X.astype(np.float32), Y_MULTI)
    assert est32.transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("layer", [3, -4, 1.0, "0", None])
def test_transform_invalid_layer(layer):
    est = fit_quietly(FCNNRegressor((6, 4, 3), max_iter=2, random_state=0), X, Y_REG)
    with pytest.raises(ValueError):
        est.transform(X, layer=layer)


def test_no_hidden_layer_has_no_transform():
    for est in (FCNNClassifier(()), FCNNRegressor(hidden_layer_sizes=())):
        assert not hasattr(est, "transform")
        assert not hasattr(est, "fit_transform")
    fitted = fit_quietly(FCNNRegressor(()), X, Y_REG)
    assert not hasattr(fitted, "transform")
    assert hasattr(FCNNRegressor((3,)), "transform")


def test_transform_in_a_pipeline():
    net = FCNNClassifier((8,), max_iter=30, random_state=0, learning_rate_init=0.01)
    pipe = Pipeline([("net", net), ("clf", LogisticRegression())])
    fit_quietly(pipe, X, Y_MULTI)
    fitted = pipe.named_steps["net"]
    assert pipe.named_steps["clf"].coef_.shape == (3, 8)
    features = fitted.transform(X)
    assert_array_equal(features, fit_quietly(clone(net), X, Y_MULTI).transform(X))
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
    est = fit_quietly(
        Est(
            (8, 5),
            activation="tanh",
            max_iter=20,
            random_state=0,
            alpha=0.1,
            learning_rate_init=0.01,
            **extra,
        ),
        X,
        y,
        sample_weight=SW,
    )
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
        fd[:, j] = (
            _per_sample_loss(est, X + step, y) - _per_sample_loss(est, X - step, y)
        ) / (2 * eps)
    assert_allclose(grad, fd, rtol=1e-5, atol=1e-7 * (1 + np.max(np.abs(fd))))
    assert np.max(np.abs(grad)) > 1e-3


def test_input_gradient_sparse_dtype_and_errors():
    est = fit_quietly(
        FCNNClassifier((6,), activation="tanh", max_iter=5, random_state=0), X, Y_MULTI
    )
    Xs = np.where(np.abs(X) > 0.7, X, 0.0)
    dense = est.input_gradient(Xs, Y_MULTI)
    for fmt in ("csr", "csc"):
        out = est.input_gradient(sp.csr_matrix(Xs).asformat(fmt), Y_MULTI)
        assert isinstance(out, np.ndarray) and out.shape == X.shape
        assert_allclose(out, dense, rtol=1e-12, atol=1e-15)
    # the gradient for every feature, the zero entries of sparse rows too
    assert np.all(dense[Xs == 0] != 0)
    est32 = fit_quietly(
        FCNNClassifier((6,), max_iter=5, random_state=0), X.astype(np.float32), Y_MULTI
    )
    out32 = est32.input_gradient(X.astype(np.float32), Y_MULTI)
    assert out32.dtype == np.float32 and out32.shape == X.shape
    with pytest.raises(ValueError):
        est.input_gradient(X, np.where(Y_MULTI == 2, 9, Y_MULTI))  # unseen label
    with pytest.raises(ValueError):
        est.input_gradient(X[:, :4], Y_MULTI)
    with pytest.raises(ValueError):
        est.input_gradient(X, Y_MULTI[:-1])
