"""Gradients by finite differences, and optimiser steps against references.

* Central finite differences of the compiled loss check the compiled gradient
  for every registered hidden activation x output activation x dtype,
  independently of the numpy oracle (which gets the same check itself).
* One SGD step and two Adam steps of the estimators are replayed in numpy with
  the oracle's gradient.
* The strongest oracle: scikit-learn's MLP with the same hyperparameters and
  random_state follows the same trajectory (same init draw, same shuffling, same
  update formulas), so the fitted parameters must agree to float rounding.
"""

import zlib

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network import MLPClassifier, MLPRegressor

from _reference import HIDDEN_ACTIVATIONS as REF_HIDDEN_ACTIVATIONS
from _reference import OUTPUT_ACTIVATIONS as REF_OUTPUT_ACTIVATIONS
from _reference import reference_loss_and_gradient, reference_preactivations
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._network import loss_and_gradient
from fcnn_sk._registry import ACTIVATIONS as HIDDEN_ACTIVATIONS
from fcnn_sk._registry import OUTPUT_LOSSES as OUTPUT_ACTIVATIONS

# every check runs against each kernel build (baseline, and AVX2 where it runs)
pytestmark = pytest.mark.usefixtures("kernel_build", "gemm_split")

DTYPES = [np.float32, np.float64]
ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _seed(*params):
    """Deterministic seed per parameter combination."""
    return zlib.crc32(repr(params).encode()) % (2**31)


# --------------------------------------------------------------------------
# Flat parameter vectors
# --------------------------------------------------------------------------


def _flatten(coefs, intercepts):
    return np.concatenate([p.ravel() for p in coefs + intercepts]).astype(np.float64)


def _unflatten(theta, coefs, intercepts, dtype):
    """Split a flat vector back into (coefs, intercepts) shaped like the given."""
    out, start = [], 0
    for p in coefs + intercepts:
        out.append(theta[start : start + p.size].reshape(p.shape).astype(dtype))
        start += p.size
    return out[: len(coefs)], out[len(coefs) :]


def _hidden_signs(theta, problem, activation):
    """Signs of every hidden pre-activation, by the float64 oracle."""
    coefs, intercepts = _unflatten(
        theta, problem["coefs"], problem["intercepts"], np.float64
    )
    zs, _ = reference_preactivations(
        coefs, intercepts, problem["X"], activation=activation
    )
    # (the empty array keeps concatenate valid for a network without hidden layers)
    return np.concatenate([(z > 0).ravel() for z in zs[:-1]] + [np.zeros(0, bool)])


def _crosses_kink(theta, step, problem, activation):
    """Whether moving theta by +-step flips the sign of a hidden pre-activation.

    The piecewise activations (relu, leaky_relu, elu) switch formula at z = 0:
    a central difference across it mixes two one-sided slopes and is not the
    gradient, so such perturbations are skipped rather than tolerated. The check
    is cheap and applied to every activation, so a new piecewise entry needs
    nothing special.
    """
    base = _hidden_signs(theta, problem, activation)
    return not (
        np.array_equal(base, _hidden_signs(theta + step, problem, activation))
        and np.array_equal(base, _hidden_signs(theta - step, problem, activation))
    )


def _check_fd_float64(loss_and_grad, problem, activation, out_activation, seed):
    """Central differences on ~30 random coordinates, eps=1e-6, float64."""
    coefs, intercepts = problem["coefs"], problem["intercepts"]
    args = (problem["X"], problem["Y"], problem["sample_weight"])
    kwargs = dict(activation=activation, out_activation=out_activation, alpha=0.1)

    def loss_at(theta):
        c, b = _unflatten(theta, coefs, intercepts, np.float64)
        return loss_and_grad(c, b, *args, **kwargs)[0]

    theta = _flatten(coefs, intercepts)
    loss, coef_grads, intercept_grads = loss_and_grad(
        coefs, intercepts, *args, **kwargs
    )
    grad = _flatten(list(coef_grads), list(intercept_grads))

    eps = 1e-6
    rng = np.random.RandomState(seed)
    # ~30 coordinates, spread over every coef and intercept array so that no
    # layer's gradient (e.g. the output intercepts) can go unchecked.
    sizes = [p.size for p in coefs + intercepts]
    starts = np.cumsum([0] + sizes[:-1])
    per_array = max(2, 30 // len(sizes))
    checked, fd, analytic = [], [], []
    for start, size in zip(starts, sizes):
        n_found = 0
        for j in start + rng.permutation(size):
            step = np.zeros_like(theta)
            step[j] = eps
            if _crosses_kink(theta, step, problem, activation):
                continue
            fd.append((loss_at(theta + step) - loss_at(theta - step)) / (2 * eps))
            analytic.append(grad[j])
            checked.append(j)
            n_found += 1
            if n_found == per_array:
                break
        assert n_found >= min(per_array, size // 2)
    # Rounding of the loss, ~1e-16 * |loss| / eps, bounds the absolute error.
    assert_allclose(
        fd,
        analytic,
        rtol=1e-6,
        atol=1e-8 * (1 + abs(loss)),
        err_msg=f"coordinates {checked}",
    )


@pytest.mark.parametrize("out_activation", REF_OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", REF_HIDDEN_ACTIVATIONS)
def test_reference_gradient_finite_differences(
    random_problem, activation, out_activation
):
    # The oracle checked on its own, for all of its entries (registered in the
    # library or not), so a wrong derivative in a new entry shows up here.
    seed = _seed(activation, out_activation, "ref")
    problem = random_problem(
        seed, out_activation, np.float64, n_hidden=2, sample_weight=True
    )
    _check_fd_float64(
        reference_loss_and_gradient, problem, activation, out_activation, seed
    )


@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_gradient_finite_differences_float64(
    random_problem, activation, out_activation
):
    seed = _seed(activation, out_activation, "fd64")
    problem = random_problem(
        seed, out_activation, np.float64, n_hidden=2, sample_weight=True
    )
    _check_fd_float64(loss_and_gradient, problem, activation, out_activation, seed)


@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_gradient_finite_differences_float32(
    random_problem, activation, out_activation
):
    # float32 cannot resolve eps=1e-6, so use directional derivatives with a
    # large eps (1e-2) entirely through the float32 compiled path: the loss
    # difference along a unit direction d against grad . d. The directions are
    # the gradient's own (most sensitive: a wrong gradient cannot be parallel
    # to itself and have the right norm) and random ones.
    seed = _seed(activation, out_activation, "fd32")
    dtype = np.float32
    problem = random_problem(
        seed, out_activation, dtype, n_hidden=1, sample_weight=True
    )
    coefs, intercepts = problem["coefs"], problem["intercepts"]
    args = (problem["X"], problem["Y"], problem["sample_weight"])
    kwargs = dict(activation=activation, out_activation=out_activation, alpha=0.1)

    def loss_at(theta):
        c, b = _unflatten(theta, coefs, intercepts, dtype)
        return float(loss_and_gradient(c, b, *args, **kwargs)[0])

    theta = _flatten(coefs, intercepts)
    _, coef_grads, intercept_grads = loss_and_gradient(
        coefs, intercepts, *args, **kwargs
    )
    grad = _flatten(list(coef_grads), list(intercept_grads))
    grad_norm = np.linalg.norm(grad)

    rng = np.random.RandomState(seed)
    directions = [grad / grad_norm] + [rng.normal(size=theta.size) for _ in range(20)]
    n_checked = 0
    for d in directions:
        d = d / np.linalg.norm(d)
        for eps in (1e-2, 3e-3, 1e-3):
            # Perturbed parameters as float32 stores them, so grad . step uses
            # the step actually taken, not the one intended.
            plus = _flatten(*_unflatten(theta + eps * d, coefs, intercepts, dtype))
            minus = _flatten(*_unflatten(theta - eps * d, coefs, intercepts, dtype))
            if _crosses_kink(theta, eps * d, problem, activation):
                continue
            fd = loss_at(plus) - loss_at(minus)
            expected = grad @ (plus - minus)
            # rtol covers float32 loss rounding (~1e-6 / eps) and the O(eps^2)
            # truncation; atol only a random direction nearly orthogonal to grad.
            assert_allclose(
                fd / (2 * eps),
                expected / (2 * eps),
                rtol=2e-2,
                atol=2e-4 * grad_norm,
                err_msg=f"direction {n_checked}, eps={eps}",
            )
            n_checked += 1
            break
        if n_checked == 3:
            break
    assert n_checked == 3, "no direction avoided the activation kinks"


# --------------------------------------------------------------------------
# Estimator-level checks: tasks, data, target encoding
# --------------------------------------------------------------------------

# task -> (our estimator, sklearn's, extra constructor kwargs, output activation)
TASKS = {
    "regression": (FCNNRegressor, MLPRegressor, {}, "identity"),
    "poisson": (FCNNRegressor, MLPRegressor, {"loss": "poisson"}, "exp"),
    "binary": (FCNNClassifier, MLPClassifier, {}, "logistic"),
    "multiclass": (FCNNClassifier, MLPClassifier, {}, "softmax"),
    "multilabel": (FCNNClassifier, MLPClassifier, {}, "logistic"),
}


def _task_data(task, dtype, n_samples=40, seed=0):
    """X, y for the estimator and Y as the loss sees it (encoded, 2D)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 4)).astype(dtype)
    noise = rng.normal(scale=0.5, size=(n_samples, 3))
    if task == "regression":
        y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + noise[:, 0]
        Y = y[:, None]
    elif task == "poisson":
        y = rng.poisson(np.exp(0.5 * X[:, 0])).astype(np.float64)
        Y = y[:, None]
    elif task == "binary":
        y = np.where(X[:, 0] + noise[:, 0] > 0, 7, 3)  # labels need not be 0/1
        Y = (y == 7)[:, None]
    elif task == "multiclass":
        y = np.argmax(X[:, :3] + noise, axis=1)
        Y = np.eye(3)[y]
    elif task == "multilabel":
        y = (X[:, :3] + noise > 0).astype(int)
        Y = y
    return X, y, np.asarray(Y, dtype=dtype)


def _params(est):
    return [p.copy() for p in est.coefs_], [p.copy() for p in est.intercepts_]


def _assert_params_close(est, coefs, intercepts, rtol, atol=0.0):
    for i, (got, want) in enumerate(zip(est.coefs_, coefs)):
        assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"coefs_[{i}]")
    for i, (got, want) in enumerate(zip(est.intercepts_, intercepts)):
        assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"intercepts_[{i}]")


def _glorot_init(layer_units, activation, random_state=0):
    """sklearn's init draw: per layer coef then intercept, U(-b, b)."""
    rng = np.random.RandomState(random_state)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return coefs, intercepts


@ignore_convergence
@pytest.mark.parametrize(
    "use_sample_weight", [False, True], ids=["unweighted", "weighted"]
)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("task", TASKS)
def test_sgd_step_is_minus_lr_times_reference_gradient(task, dtype, use_sample_weight):
    # With momentum 0 and one full batch per epoch, a warm-started second fit
    # takes exactly one step: new = old - lr * gradient(old).
    Est, _, extra, out_activation = TASKS[task]
    X, y, Y = _task_data(task, dtype)
    sw = np.random.RandomState(1).uniform(0.2, 2, len(X)) if use_sample_weight else None
    lr, alpha = 0.1, 1e-3
    est = Est(
        hidden_layer_sizes=(5,),
        solver="sgd",
        momentum=0.0,
        batch_size=len(X),
        shuffle=False,
        max_iter=1,
        learning_rate_init=lr,
        alpha=alpha,
        random_state=0,
        warm_start=True,
        **extra,
    )
    est.fit(X, y, sample_weight=sw)
    old_coefs, old_intercepts = _params(est)
    est.fit(X, y, sample_weight=sw)

    _, coef_grads, intercept_grads = reference_loss_and_gradient(
        old_coefs,
        old_intercepts,
        X,
        Y,
        sw,
        activation="relu",
        out_activation=out_activation,
        alpha=alpha,
    )
    assert all(c.dtype == dtype for c in est.coefs_ + est.intercepts_)
    assert est.out_activation_ == out_activation
    want_coefs = [W - lr * g for W, g in zip(old_coefs, coef_grads)]
    want_intercepts = [b - lr * g for b, g in zip(old_intercepts, intercept_grads)]
    if dtype == np.float64:
        _assert_params_close(est, want_coefs, want_intercepts, rtol=1e-10, atol=1e-13)
    else:
        # float32 storage of the parameters (~6e-8 relative) dominates.
        _assert_params_close(est, want_coefs, want_intercepts, rtol=1e-5, atol=1e-6)
    # The step must be visible at these tolerances (not a no-op fit).
    assert not np.allclose(est.coefs_[0], old_coefs[0], rtol=1e-4, atol=1e-6)


def _numpy_adam(params, grad_fn, n_steps, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """sklearn's AdamOptimizer, full batch, written out.

    Yields the parameters after each step.
    """
    params = [p.copy() for p in params]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    for t in range(1, n_steps + 1):
        grads = grad_fn(params)
        ms = [beta_1 * m + (1 - beta_1) * g for m, g in zip(ms, grads)]
        vs = [beta_2 * v + (1 - beta_2) * g**2 for v, g in zip(vs, grads)]
        lr_t = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        params = [
            p - lr_t * m / (np.sqrt(v) + epsilon) for p, m, v in zip(params, ms, vs)
        ]
        yield [p.copy() for p in params]


@ignore_convergence
@pytest.mark.parametrize("activation", ["relu", "logistic"])
@pytest.mark.parametrize("task", TASKS)
def test_adam_steps_match_numpy_adam(task, activation):
    # Init reproduced from sklearn's draw (factor 2 for logistic), then two
    # warm-started one-epoch fits must equal two numpy Adam steps: warm_start
    # keeps the Adam moments and step count (a reset would redo step 1).
    Est, _, extra, out_activation = TASKS[task]
    X, y, Y = _task_data(task, np.float64)
    lr, alpha = 0.01, 1e-3
    est = Est(
        hidden_layer_sizes=(5,),
        activation=activation,
        solver="adam",
        batch_size=len(X),
        shuffle=False,
        max_iter=1,
        learning_rate_init=lr,
        alpha=alpha,
        random_state=0,
        warm_start=True,
        **extra,
    )
    layer_units = [X.shape[1], 5, Y.shape[1]]
    coefs0, intercepts0 = _glorot_init(layer_units, activation)
    n_layers = len(coefs0)

    def grad_fn(params):
        _, gc, gi = reference_loss_and_gradient(
            params[:n_layers],
            params[n_layers:],
            X,
            Y,
            activation=activation,
            out_activation=out_activation,
            alpha=alpha,
        )
        return gc + gi

    for _step, params in enumerate(_numpy_adam(coefs0 + intercepts0, grad_fn, 2, lr)):
        est.fit(X, y)
        _assert_params_close(
            est, params[:n_layers], params[n_layers:], rtol=1e-10, atol=1e-13
        )
    assert est.n_iter_ == 1  # per fit call, as sklearn


# --------------------------------------------------------------------------
# Same trajectory as scikit-learn's MLP
# --------------------------------------------------------------------------

SOLVERS = {
    "sgd-nesterov": dict(
        solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.05
    ),
    "sgd-momentum": dict(
        solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.05
    ),
    "sgd-invscaling": dict(
        solver="sgd", learning_rate="invscaling", power_t=0.5, learning_rate_init=0.2
    ),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}
SKLEARN_ACTIVATIONS = [
    a for a in ("identity", "logistic", "tanh", "relu") if a in HIDDEN_ACTIVATIONS
]


def _fit_both(task, dtype, sample_weight=False, **params):
    ours_cls, sk_cls, extra, _ = TASKS[task]
    X, y, _ = _task_data(task, dtype, n_samples=50)
    sw = np.random.RandomState(2).uniform(0.2, 2, len(X)) if sample_weight else None
    params = dict(
        hidden_layer_sizes=(6, 4),
        batch_size=16,
        max_iter=5,
        alpha=1e-3,
        random_state=0,
        **extra,
        **params,
    )
    ours = ours_cls(**params).fit(X, y, sample_weight=sw)
    theirs = sk_cls(**params).fit(X, y, sample_weight=sw)
    return ours, theirs


def _assert_same_fit(ours, theirs, rtol, atol, compare_loss=True):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.out_activation_ == theirs.out_activation_
    _assert_params_close(ours, theirs.coefs_, theirs.intercepts_, rtol=rtol, atol=atol)
    if compare_loss:
        assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)


@ignore_convergence
@pytest.mark.parametrize("shuffle", [False, True], ids=["no-shuffle", "shuffle"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", TASKS)
def test_same_trajectory_as_sklearn(task, solver, shuffle):
    # 50 samples in batches of 16 (a short last batch), 5 epochs, 2 hidden layers.
    ours, theirs = _fit_both(
        task, np.float64, activation="tanh", shuffle=shuffle, **SOLVERS[solver]
    )
    _assert_same_fit(ours, theirs, rtol=1e-8, atol=1e-12)


@ignore_convergence
@pytest.mark.parametrize("activation", SKLEARN_ACTIVATIONS)
@pytest.mark.parametrize("task", TASKS)
def test_same_trajectory_as_sklearn_activations(task, activation):
    ours, theirs = _fit_both(task, np.float64, activation=activation, **SOLVERS["adam"])
    _assert_same_fit(ours, theirs, rtol=1e-8, atol=1e-12)


@ignore_convergence
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", TASKS)
def test_same_trajectory_as_sklearn_sample_weight(task, solver):
    # sklearn's reported loss with sample weights averages batch losses by batch
    # size; that bookkeeping is not part of the trajectory, so only the
    # parameters are compared.
    ours, theirs = _fit_both(
        task, np.float64, sample_weight=True, activation="tanh", **SOLVERS[solver]
    )
    _assert_same_fit(ours, theirs, rtol=1e-8, atol=1e-12, compare_loss=False)


@ignore_convergence
@pytest.mark.parametrize("solver", ["sgd-nesterov", "adam"])
@pytest.mark.parametrize("task", TASKS)
def test_same_trajectory_as_sklearn_float32(task, solver):
    # Both stay in float32; only rounding order differs.
    ours, theirs = _fit_both(task, np.float32, activation="tanh", **SOLVERS[solver])
    assert all(c.dtype == np.float32 for c in ours.coefs_ + ours.intercepts_)
    _assert_same_fit(ours, theirs, rtol=1e-4, atol=1e-5)
