"""The stochastic solvers' updates, decoupled weight decay, the learning-rate
schedules and warm-start / partial_fit continuity, replayed in numpy."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neural_network import MLPRegressor

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
    params_of,
)
from _reference import reference_schedule_lrs, reference_training
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._optim import StochasticOptimizer
from fcnn_sk._registry import SCHEDULES, SOLVERS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# =================================================================== solvers
def _steps_of_warm_fits(est, X, y, n_steps, sample_weight=None):
    """Parameters after each of ``n_steps`` warm-started one-epoch fits."""
    est.set_params(warm_start=True, max_iter=1)
    out = []
    for _ in range(n_steps):
        fit_quietly(est, X, y, sample_weight=sample_weight)
        out.append(params_of(est))
    return out


@pytest.mark.parametrize("rho,epsilon", [(0.9, 1e-8), (0.5, 1e-3)])
@pytest.mark.parametrize(
    "Est,y",
    [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
    ids=["classifier", "regressor"],
)
def test_rmsprop_steps_match_numpy(Est, y, rho, epsilon):
    lr = 0.01
    est = Est(
        (5,),
        activation="tanh",
        solver="rmsprop",
        rho=rho,
        epsilon=epsilon,
        learning_rate_init=lr,
        batch_size=len(X),
        shuffle=False,
        alpha=1e-2,
        random_state=0,
    )
    coefs0, intercepts0 = initial_params(est, X, y)
    got = _steps_of_warm_fits(est, X, y, 3, sample_weight=SW)
    want = reference_training(
        "rmsprop",
        coefs0 + intercepts0,
        len(coefs0),
        oracle_grad_fn(est, X, y, SW),
        [lr] * 3,
        rho=rho,
        epsilon=epsilon,
    )
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
    est = FCNNRegressor(
        (5,),
        activation="tanh",
        solver=solver,
        momentum=0.0,
        learning_rate=schedule,
        power_t=power_t,
        learning_rate_init=lr,
        weight_decay=wd,
        alpha=1e-2,
        batch_size=len(X),
        shuffle=False,
        random_state=0,
    )
    coefs0, intercepts0 = initial_params(est, X, Y_REG)
    got = _steps_of_warm_fits(est, X, Y_REG, 2)
    lrs = [lr, lr if schedule == "constant" else lr / (len(X) + 1) ** power_t]
    want = reference_training(
        solver,
        coefs0 + intercepts0,
        len(coefs0),
        oracle_grad_fn(est, X, Y_REG),
        lrs,
        weight_decay=wd,
    )
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
    # without decay the result differs (the check is not vacuous), for the coefs only
    no_decay = reference_training(
        solver,
        coefs0 + intercepts0,
        len(coefs0),
        oracle_grad_fn(est, X, Y_REG),
        lrs[:1],
    )[0]
    assert not np.allclose(no_decay[0], want[0][0], rtol=1e-6)
    if solver == "sgd":
        # one plain SGD step, the formula as documented
        g0 = oracle_grad_fn(est, X, Y_REG)(coefs0 + intercepts0)
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
    opt = StochasticOptimizer(
        SOLVERS[solver], SCHEDULES[schedule], hyper, 4, np.float64
    )
    seen, t = [], 0
    for epoch in range(max_iter):
        opt.epoch_begins(epoch, max_iter)
        seen.append(opt.learning_rate)
        t += n
        opt.epoch_ends(t)
    assert_allclose(
        seen, reference_schedule_lrs(schedule, lr0, max_iter, n, power_t), rtol=1e-14
    )
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
    est = FCNNRegressor(
        (4,),
        activation="tanh",
        solver=solver,
        momentum=0.9,
        learning_rate=schedule,
        learning_rate_init=lr0,
        power_t=power_t,
        max_iter=max_iter,
        batch_size=len(X),
        shuffle=False,
        alpha=1e-3,
        random_state=0,
        tol=1e9 if reducing else 0.0,
        n_iter_no_change=n_iter_no_change if reducing else 1000,
    )
    coefs0, intercepts0 = initial_params(est, X, Y_REG)
    fit_quietly(est, X, Y_REG)
    if reducing:
        lrs, last = _reducing_lrs(lr0, max_iter, n_iter_no_change)
        assert lrs[-1] < lr0  # the rate was reduced during the fit
    else:
        lrs = list(reference_schedule_lrs(schedule, lr0, max_iter, len(X), power_t))
        last = (
            lr0 / (max_iter * len(X) + 1.0) ** power_t
            if (schedule == "invscaling")
            else lrs[-1]
        )
    assert est.n_iter_ == len(lrs)
    assert_allclose(est._training.optimizer.learning_rate, last, rtol=1e-13)
    want = reference_training(
        solver,
        coefs0 + intercepts0,
        len(coefs0),
        oracle_grad_fn(est, X, Y_REG),
        lrs,
        momentum=0.9,
    )[-1]
    assert_params_close(est, want, rtol=1e-9, atol=1e-12)
    if solver == "sgd" and schedule in ("adaptive", "invscaling"):
        # scikit-learn's SGD has these two schedules: the same rates and weights
        sk = fit_quietly(
            MLPRegressor(
                hidden_layer_sizes=(4,),
                activation="tanh",
                solver="sgd",
                momentum=0.9,
                learning_rate=schedule,
                learning_rate_init=lr0,
                power_t=power_t,
                max_iter=max_iter,
                batch_size=len(X),
                shuffle=False,
                alpha=1e-3,
                random_state=0,
                tol=est.tol,
                n_iter_no_change=est.n_iter_no_change,
            ),
            X,
            Y_REG,
        )
        assert sk.n_iter_ == est.n_iter_
        assert_allclose(
            sk._optimizer.learning_rate,
            est._training.optimizer.learning_rate,
            rtol=1e-13,
        )
        assert_params_close(est, [*sk.coefs_, *sk.intercepts_], rtol=1e-9)


def test_cosine_last_epoch_step_size():
    # Linear model, full batch, plain SGD: the last epoch's step is -lr * gradient;
    # recover lr from the parameter change and compare it with the documented
    # 0.5 * lr0 * (1 + cos(pi * (max_iter - 1) / max_iter)).
    lr0, max_iter = 0.05, 5
    est = FCNNRegressor(
        (),
        solver="sgd",
        momentum=0.0,
        learning_rate="cosine",
        learning_rate_init=lr0,
        max_iter=max_iter,
        batch_size=len(X),
        shuffle=False,
        alpha=0.0,
        random_state=0,
        tol=0.0,
    )
    coefs0, intercepts0 = initial_params(est, X, Y_REG)
    fit_quietly(est, X, Y_REG)
    grad_fn = oracle_grad_fn(est, X, Y_REG)
    lrs = 0.5 * lr0 * (1 + np.cos(np.pi * np.arange(max_iter) / max_iter))
    before_last = reference_training("sgd", coefs0 + intercepts0, 1, grad_fn, lrs[:-1])[
        -1
    ]
    change = np.concatenate(
        [(a - b).ravel() for a, b in zip(params_of(est), before_last)]
    )
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
    kw = dict(
        hidden_layer_sizes=(),
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.01,
        max_iter=6,
        batch_size=len(X),
        shuffle=False,
        tol=0.0,
        n_iter_no_change=1,
        random_state=0,
        validation_metric=metric,
    )
    plateau = fit_quietly(
        FCNNRegressor(learning_rate="plateau", **kw), X, y, X_val=X, y_val=-y
    )
    assert np.all(np.diff(plateau.loss_curve_) < 0)
    assert np.all(np.diff(plateau.validation_loss_curve_) > 0)
    assert np.all(np.diff(plateau.validation_scores_) < 0)
    lrs, last = _reducing_lrs(0.01, 6, 1)
    assert plateau.n_iter_ == 6
    assert_allclose(plateau._training.optimizer.learning_rate, last, rtol=1e-13)
    adaptive = fit_quietly(
        FCNNRegressor(learning_rate="adaptive", **kw), X, y, X_val=X, y_val=-y
    )
    assert adaptive._training.optimizer.learning_rate == 0.01
    no_val = fit_quietly(FCNNRegressor(learning_rate="plateau", **kw), X, y)
    assert no_val._training.optimizer.learning_rate == 0.01


# =============================================== warm start and partial_fit
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_warm_start_five_plus_five_is_ten(solver, schedule):
    kw = dict(
        hidden_layer_sizes=(7, 5),
        solver=solver,
        learning_rate=schedule,
        momentum=0.9,
        shuffle=False,
        batch_size=16,
        random_state=0,
        learning_rate_init=0.01,
        tol=1e9 if schedule == "adaptive" else 0.0,
        n_iter_no_change=1 if schedule == "adaptive" else 1000,
    )
    ten = fit_quietly(FCNNClassifier(max_iter=10, **kw), X, Y_MULTI)
    ws = FCNNClassifier(max_iter=5, warm_start=True, **kw)
    fit_quietly(ws, X, Y_MULTI)
    fit_quietly(ws, X, Y_MULTI)
    assert_params_equal(ten, ws)
    assert ws.t_ == ten.t_ == 10 * len(X)
    assert_array_equal(ws.loss_curve_, ten.loss_curve_)
    assert_array_equal(ws.grad_norm_curve_, ten.grad_norm_curve_)
    assert ws._training.optimizer.learning_rate == ten._training.optimizer.learning_rate
    if schedule == "adaptive":
        assert ten._training.optimizer.learning_rate < 0.01


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize(
    "Est,y",
    [(FCNNClassifier, Y_MULTI), (FCNNRegressor, Y_REG)],
    ids=["classifier", "regressor"],
)
def test_partial_fit_three_times_is_fit_three_epochs(Est, y, solver):
    kw = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        momentum=0.9,
        shuffle=False,
        batch_size=16,
        random_state=0,
        learning_rate_init=0.01,
        tol=0.0,
        n_iter_no_change=1000,
    )
    full = fit_quietly(Est(max_iter=3, **kw), X, y)
    inc = Est(**kw)
    for _ in range(3):
        if Est is FCNNClassifier:
            inc.partial_fit(X, y, classes=np.unique(y))
        else:
            inc.partial_fit(X, y)
    assert_params_equal(full, inc)
    assert inc.t_ == full.t_
    assert_array_equal(inc.loss_curve_, full.loss_curve_)
