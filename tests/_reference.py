"""Plain numpy reference implementation of the MLP: the oracle of the test suite.

Everything here is written for readability, not speed, and follows the chain-rule
derivation term by term. It always computes in float64, whatever the input dtype,
so that it can judge the float32 kernels too.

Objective (see the API contract), with ``s_i`` the sample weights (1 if None),
``S = sum_i s_i`` and ``z_i`` the raw network output (logits) of sample ``i``::

    loss = (sum_i s_i * l_i) / S + 0.5 * alpha * sum_layers ||W||_F^2 / S

Each output activation is the inverse canonical link of its loss, so the
derivative of ``l_i`` with respect to ``z_i`` is always ``p_i - y_i`` with
``p_i = out_activation(z_i)``.

Adding an activation is one entry in ``HIDDEN_ACTIVATIONS`` (function and
derivative side by side); adding an output is one entry in ``OUTPUT_ACTIVATIONS``.
"""

import math

import numpy as np
import scipy.sparse as sp
from scipy.special import erf, expit, log_softmax, softmax, xlogy

# --------------------------------------------------------------------------
# Hidden activations: name -> (f, f_prime).
#
# Both take the PRE-activation z = a_prev @ W + b. The oracle keeps every
# pre-activation, so it never needs the "derivative from the output" tricks the
# compiled kernels use to save memory; that makes it an independent check of them.
# --------------------------------------------------------------------------

_LEAKY_RELU_SLOPE = 0.01
_ELU_ALPHA = 1.0


def _identity(z):
    return z


def _identity_prime(z):
    return np.ones_like(z)


def _logistic_prime(z):
    s = expit(z)
    return s * (1.0 - s)


def _tanh_prime(z):
    return 1.0 - np.tanh(z) ** 2


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z):
    # The derivative at the kink z == 0 is taken to be 0 (the contract's choice).
    return (z > 0).astype(np.float64)


def _leaky_relu(z):
    return np.where(z > 0, z, _LEAKY_RELU_SLOPE * z)


def _leaky_relu_prime(z):
    return np.where(z > 0, 1.0, _LEAKY_RELU_SLOPE)


def _elu(z):
    # expm1 of min(z, 0) so the branch np.where discards cannot overflow.
    return np.where(z > 0, z, _ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _elu_prime(z):
    return np.where(z > 0, 1.0, _ELU_ALPHA * np.exp(np.minimum(z, 0.0)))


def _gelu(z):
    # Exact GELU: z * Phi(z), Phi the standard normal CDF.
    return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))


def _gelu_prime(z):
    # d/dz [z Phi(z)] = Phi(z) + z phi(z), phi the standard normal density.
    cdf = 0.5 * (1.0 + erf(z / np.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return cdf + z * pdf


def _softplus(z):
    # log(1 + exp(z)) without overflow for large z.
    return np.logaddexp(0.0, z)


def _swish(z):
    return z * expit(z)


def _swish_prime(z):
    s = expit(z)
    return s + z * s * (1.0 - s)


HIDDEN_ACTIVATIONS = {
    "identity": (_identity, _identity_prime),
    "logistic": (expit, _logistic_prime),
    "tanh": (np.tanh, _tanh_prime),
    "relu": (_relu, _relu_prime),
    "leaky_relu": (_leaky_relu, _leaky_relu_prime),
    "elu": (_elu, _elu_prime),
    "gelu": (_gelu, _gelu_prime),
    "softplus": (_softplus, expit),  # softplus' = sigmoid
    "swish": (_swish, _swish_prime),
}

# --------------------------------------------------------------------------
# Output activations: name -> (out_activation, per_sample_loss).
#
# per_sample_loss(z, y) works on the raw output z (never on clipped
# probabilities) and returns l_i, shape (n_samples,). Its gradient with
# respect to z is out_activation(z) - y for every entry (canonical links).
# --------------------------------------------------------------------------


def _softmax_loss(z, y):
    # Cross-entropy through log-softmax (log-sum-exp), stable for any |z|.
    return -np.sum(y * log_softmax(z, axis=1), axis=1)


def _logistic_loss(z, y):
    # Binary log-loss per output, -y log p - (1-y) log(1-p) = softplus(z) - y z.
    return np.sum(np.logaddexp(0.0, z) - y * z, axis=1)


def _identity_loss(z, y):
    # Half squared error summed over outputs (not averaged over them).
    return 0.5 * np.sum((z - y) ** 2, axis=1)


def _exp_loss(z, y):
    # Half Poisson deviance with its constant, as sklearn's poisson_loss:
    # y log(y / exp(z)) - y + exp(z).
    return np.sum(np.exp(z) - y * z + xlogy(y, y) - y, axis=1)


OUTPUT_ACTIVATIONS = {
    "softmax": (lambda z: softmax(z, axis=1), _softmax_loss),
    "logistic": (expit, _logistic_loss),
    "identity": (_identity, _identity_loss),
    "exp": (np.exp, _exp_loss),
}


# --------------------------------------------------------------------------
# The oracle of the losses: name -> (output activation, per-sample loss, dl/dz).
#
# Each takes the raw output z (n, k), the targets y (n, k) and the Huber threshold
# (ignored by the others) and works in float64. The per-sample loss is summed over
# the outputs.
# --------------------------------------------------------------------------


def _canonical(out_activation):
    """A canonical pair of _reference.py: its loss, and the delta link(z) - y."""
    link, per_sample_loss = OUTPUT_ACTIVATIONS[out_activation]
    return (
        out_activation,
        lambda z, y, delta: per_sample_loss(z, y),
        lambda z, y, delta: link(z) - y,
    )


def _absolute_loss(z, y, delta):
    return np.sum(np.abs(z - y), axis=1)


def _absolute_grad(z, y, delta):
    return np.sign(z - y)  # 0 at z == y


def _huber_loss(z, y, delta):
    a = np.abs(z - y)
    return np.sum(np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta)), axis=1)


def _huber_grad(z, y, delta):
    return np.clip(z - y, -delta, delta)


REF_LOSSES = {
    "squared_error": _canonical("identity"),
    "binary_log_loss": _canonical("logistic"),
    "log_loss": _canonical("softmax"),
    "poisson": _canonical("exp"),
    "absolute_error": ("identity", _absolute_loss, _absolute_grad),
    "huber": ("identity", _huber_loss, _huber_grad),
}


# --------------------------------------------------------------------------
# Solvers: name -> step(g, lr, t, s1, s2, hyper) -> the change of the weights (s1,
# s2 updated in place), the documented updates: SGD with (Nesterov) momentum and Adam as
# scikit-learn's, RMSprop ``v <- rho v + (1 - rho) g^2, w <- w - lr g / (sqrt(v) + eps)``.
# --------------------------------------------------------------------------


def _sgd_step(g, lr, t, s1, s2, h):
    s1[...] = h["momentum"] * s1 - lr * g
    return h["momentum"] * s1 - lr * g if h["nesterov"] else s1


def _adam_step(g, lr, t, s1, s2, h):
    b1, b2 = h["beta_1"], h["beta_2"]
    s1[...] = b1 * s1 + (1 - b1) * g
    s2[...] = b2 * s2 + (1 - b2) * g * g
    lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    return -lr_t * s1 / (np.sqrt(s2) + h["epsilon"])


def _rmsprop_step(g, lr, t, s1, s2, h):
    s1[...] = h["rho"] * s1 + (1 - h["rho"]) * g * g
    return -lr * g / (np.sqrt(s1) + h["epsilon"])


SOLVER_STEPS = {"sgd": _sgd_step, "adam": _adam_step, "rmsprop": _rmsprop_step}


def reference_training(
    solver,
    params,
    n_coefs,
    grad_fn,
    lrs,
    *,
    momentum=0.0,
    nesterov=True,
    beta_1=0.9,
    beta_2=0.999,
    rho=0.9,
    epsilon=1e-8,
    weight_decay=0.0,
    max_grad_norm=None,
):
    """Full-batch training in numpy, one step per learning rate in ``lrs``.

    The gradient's global norm clipped to ``max_grad_norm``; decoupled weight decay
    ``w <- w (1 - lr * weight_decay)`` on the coefs (the first ``n_coefs`` arrays)
    with the scheduled lr; then the solver's step. Returns the list of parameters
    after every step.
    """
    step = SOLVER_STEPS[solver]
    hyper = dict(
        momentum=momentum,
        nesterov=nesterov,
        beta_1=beta_1,
        beta_2=beta_2,
        rho=rho,
        epsilon=epsilon,
    )
    params = [np.asarray(p, np.float64).copy() for p in params]
    s1 = [np.zeros_like(p) for p in params]
    s2 = [np.zeros_like(p) for p in params]
    history = []
    for t, lr in enumerate(lrs, start=1):
        grads = grad_fn(params)
        if max_grad_norm is not None:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            if norm > max_grad_norm:
                grads = [g * (max_grad_norm / norm) for g in grads]
        for i, (p, g) in enumerate(zip(params, grads)):
            keep = 1.0 - lr * weight_decay if i < n_coefs else 1.0
            params[i] = keep * p + step(g, lr, t, s1[i], s2[i], hyper)
        history.append([p.copy() for p in params])
    return history


# --------------------------------------------------------------------------
# Schedules and initialisers
# --------------------------------------------------------------------------


def reference_schedule_lrs(schedule, lr0, max_iter, n_samples, power_t):
    """Documented learning rate of each epoch of one fit (no stall)."""
    e = np.arange(max_iter)
    return {
        "constant": np.full(max_iter, lr0),
        "invscaling": np.where(e == 0, lr0, lr0 / (e * n_samples + 1.0) ** power_t),
        "cosine": 0.5 * lr0 * (1 + np.cos(np.pi * e / max_iter)),
        "adaptive": np.full(max_iter, lr0),
        "plateau": np.full(max_iter, lr0),
    }[schedule]


# scheme -> (distribution, scale of (fan_in, fan_out)): bound of a uniform, std of a
# normal
INIT_FORMULAS = {
    "glorot_uniform": ("uniform", lambda i, o: math.sqrt(6.0 / (i + o))),
    "glorot_normal": ("normal", lambda i, o: math.sqrt(2.0 / (i + o))),
    "he_uniform": ("uniform", lambda i, o: math.sqrt(6.0 / i)),
    "he_normal": ("normal", lambda i, o: math.sqrt(2.0 / i)),
    "lecun_normal": ("normal", lambda i, o: math.sqrt(1.0 / i)),
}


# --------------------------------------------------------------------------
# Forward and backward
# --------------------------------------------------------------------------


def _as_float64(X):
    """Dense float64 copy of X (sparse inputs are densified)."""
    if sp.issparse(X):
        X = X.toarray()
    return np.asarray(X, dtype=np.float64)


def _hidden_activation_names(activation, n_hidden):
    """One activation name per hidden layer, from a name or a list of names."""
    if isinstance(activation, str):
        return [activation] * n_hidden
    names = list(activation)
    if len(names) != n_hidden:
        raise ValueError(f"{len(names)} activations given for {n_hidden} hidden layers")
    return names


def reference_preactivations(coefs, intercepts, X, *, activation="relu"):
    """Pre-activations and activations of every layer.

    Parameters
    ----------
    coefs : list of ndarray
        ``coefs[i]`` has shape ``(n_in, n_out)`` of layer ``i``.
    intercepts : list of ndarray
        ``intercepts[i]`` has shape ``(n_out,)``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input data, any float dtype.
    activation : str or list of str
        Hidden activation name, or one name per hidden layer.

    Returns
    -------
    zs : list of ndarray
        ``zs[i] = a[i] @ coefs[i] + intercepts[i]`` in float64; ``zs[-1]`` is
        the raw network output (logits).
    activations : list of ndarray
        ``activations[0]`` is X, ``activations[i + 1] = f_i(zs[i])`` for the
        hidden layers; the output activation is not applied.
    """
    names = _hidden_activation_names(activation, len(coefs) - 1)
    a = _as_float64(X)
    activations, zs = [a], []
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        z = a @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        zs.append(z)
        if layer < len(coefs) - 1:
            f, _ = HIDDEN_ACTIVATIONS[names[layer]]
            a = f(z)
            activations.append(a)
    return zs, activations


def reference_forward(
    coefs, intercepts, X, *, activation="relu", out_activation="identity"
):
    """Network output with the output activation applied, in float64.

    Parameters
    ----------
    coefs, intercepts, X, activation
        As in :func:`reference_preactivations`.
    out_activation : str
        Key of ``OUTPUT_ACTIVATIONS``.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs)
        Softmax / sigmoid probabilities, ``exp(z)`` or ``z``.
    """
    zs, _ = reference_preactivations(coefs, intercepts, X, activation=activation)
    out_fn, _ = OUTPUT_ACTIVATIONS[out_activation]
    return out_fn(zs[-1])


def reference_loss_and_gradient(
    coefs,
    intercepts,
    X,
    Y,
    sample_weight=None,
    *,
    activation="relu",
    out_activation="softmax",
    alpha=0.0,
):
    """Full-batch objective and its gradient by backpropagation, in float64.

    Same signature as ``fcnn_sk._network.loss_and_gradient``, but every result
    is float64 regardless of the input dtype.

    Parameters
    ----------
    coefs : list of ndarray
        ``coefs[i]`` has shape ``(n_in, n_out)``.
    intercepts : list of ndarray
        ``intercepts[i]`` has shape ``(n_out,)``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input data.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets: one-hot (softmax), 0/1 indicators (logistic), reals
        (identity) or non-negative values (exp).
    sample_weight : ndarray of shape (n_samples,), default=None
        Sample weights; None means all ones.
    activation : str or list of str, default="relu"
        Hidden activation, or one per hidden layer.
    out_activation : {"softmax", "logistic", "identity", "exp"}, default="softmax"
        Output activation; it fixes the loss (see the module docstring).
    alpha : float, default=0.0
        L2 penalty on the coefficients (not on the intercepts).

    Returns
    -------
    loss : float
        The objective.
    coef_grads : list of ndarray
        Gradient with respect to each ``coefs[i]``, float64.
    intercept_grads : list of ndarray
        Gradient with respect to each ``intercepts[i]``, float64.
    """
    names = _hidden_activation_names(activation, len(coefs) - 1)
    coefs = [np.asarray(W, np.float64) for W in coefs]
    Y = np.asarray(Y, np.float64)
    n_samples = Y.shape[0]
    s = (
        np.ones(n_samples)
        if sample_weight is None
        else np.asarray(sample_weight, np.float64)
    )
    S = s.sum()

    zs, activations = reference_preactivations(coefs, intercepts, X, activation=names)
    out_fn, per_sample_loss = OUTPUT_ACTIVATIONS[out_activation]
    z_out = zs[-1]

    penalty = 0.5 * alpha * sum(np.sum(W * W) for W in coefs) / S
    loss = float(np.sum(s * per_sample_loss(z_out, Y)) / S + penalty)

    # dloss/dz_out: canonical link gives p - y, weighted and normalised.
    delta = s[:, None] * (out_fn(z_out) - Y) / S
    return (loss, *reference_backprop(coefs, zs, activations, names, delta, alpha / S))


def reference_backprop(coefs, zs, activations, names, delta, l2):
    """``(coef_grads, intercept_grads)`` from the output delta (the gradient of the
    objective with respect to the raw output), with the L2 term ``l2 * W``; ``zs``,
    ``activations`` as returned by ``reference_preactivations``."""
    n_layers = len(coefs)
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers
    for layer in range(n_layers - 1, -1, -1):
        coef_grads[layer] = activations[layer].T @ delta + l2 * coefs[layer]
        intercept_grads[layer] = delta.sum(axis=0)
        if layer > 0:
            # Back through W, then through the hidden activation of layer-1.
            _, f_prime = HIDDEN_ACTIVATIONS[names[layer - 1]]
            delta = (delta @ coefs[layer].T) * f_prime(zs[layer - 1])
    return coef_grads, intercept_grads
