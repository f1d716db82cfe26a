"""Network layout and thin wrappers around the compiled kernels.

All parameters of a network live in one flat buffer ordered as scikit-learn packs them
(every ``coefs_[i]``, row-major, then every ``intercepts_[i]``); the estimator's
``coefs_`` and ``intercepts_`` are views into it. Gradients and optimizer states are
flat buffers of the same length, so every update is one loop in compiled code.
"""

import numpy as np
import scipy.sparse as sp

from . import _compiled
from ._registry import OUTPUT_LOSSES

_NO_INDEX = np.empty(0, dtype=np.intp)


def make_network(layer_units, activation, loss, **options):
    """The compiled description of a network (see ``_kernels.Network``);
    ``activation`` is one name for every hidden layer or one name per layer."""
    n_hidden = len(layer_units) - 2
    activations = [activation] * n_hidden if isinstance(activation, str) else activation
    return _compiled.kernels.Network(
        list(layer_units), list(activations), loss, **options
    )


def kernel_input(X):
    """``(data, indices, indptr)`` for the kernels: a dense C-contiguous array
    flattened with empty index arrays, or CSR arrays with ``np.intp`` indices."""
    if sp.issparse(X):
        X = X.tocsr()
        return (
            np.ascontiguousarray(X.data),
            X.indices.astype(np.intp, copy=False),
            X.indptr.astype(np.intp, copy=False),
        )
    return np.ascontiguousarray(X).reshape(-1), _NO_INDEX, _NO_INDEX


def param_views(flat, layer_units):
    """``coefs, intercepts``: lists of views into the flat parameter buffer."""
    coefs, intercepts, start = [], [], 0
    for n_in, n_out in zip(layer_units[:-1], layer_units[1:]):
        coefs.append(flat[start : start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
    for n_out in layer_units[1:]:
        intercepts.append(flat[start : start + n_out])
        start += n_out
    return coefs, intercepts


def pack(coefs, intercepts, dtype=None):
    """A new flat buffer holding ``coefs`` then ``intercepts``."""
    return np.concatenate([np.ravel(a) for a in (*coefs, *intercepts)]).astype(
        dtype or coefs[0].dtype, copy=False
    )


def layer_units_of(coefs):
    return [coefs[0].shape[0]] + [c.shape[1] for c in coefs]


def forward_rows(network, params, X, n_run=None, finite=False):
    """Outputs of the first ``n_run`` weight layers (default all: the raw outputs
    before the link; fewer: that hidden layer's activations) for every row of X,
    computed in chunks; with ``finite``, ``(outputs, whether all are finite)``."""
    n_run = network.n_layers if n_run is None else n_run
    data, indices, indptr = kernel_input(X)
    out = np.empty((X.shape[0], network.width(n_run)), dtype=params.dtype)
    all_finite = _compiled.kernels.forward_rows(
        network, params, data, indices, indptr, out, n_run
    )
    return (out, all_finite) if finite else out


def train_epoch(
    network,
    params,
    optimizer,
    X_input,
    Y,
    sample_weight,
    order,
    gather,
    batch_size,
    seed,
    grad_norms,
):
    """One epoch of mini-batch training in place on ``params`` and the optimizer's
    state buffers, through the compiled kernel: ``(loss_sum, step, n_steps, n_rows,
    interrupted)`` (see ``_kernels.train_epoch``; Ctrl-C ends the epoch at a
    mini-batch boundary with ``interrupted`` set)."""
    hyper = dict(optimizer.hyper)
    for name in ("learning_rate_init", "power_t"):  # the schedule's, not the step's
        hyper.pop(name, None)
    if "nesterovs_momentum" in hyper:
        hyper["nesterov"] = hyper.pop("nesterovs_momentum")
    hyper["max_grad_norm"] = hyper["max_grad_norm"] or None
    state_1, state_2 = optimizer.kernel_state()
    return _compiled.kernels.train_epoch(
        network,
        _compiled.kernels.Hyperparameters(
            optimizer.solver.name, learning_rate=optimizer.learning_rate, **hyper
        ),
        params,
        state_1,
        state_2,
        *X_input,
        Y.reshape(-1),
        sample_weight,
        order,
        batch_size=batch_size,
        shuffled=gather,
        step=optimizer.step,
        seed=seed,
        grad_norms=grad_norms,
    )


def loss_and_gradient(
    coefs,
    intercepts,
    X,
    Y,
    sample_weight=None,
    *,
    activation="relu",
    out_activation="softmax",
    loss=None,
    alpha=0.0,
    **options,
):
    """Loss over all rows of X and its exact gradient, by the compiled kernels.

    The loss is ``sum_i s_i loss_i / S + 0.5 * alpha * sum ||W||^2 / S`` with sample
    weights ``s_i`` and ``S = sum_i s_i``: scikit-learn's MLP objective.

    Parameters
    ----------
    coefs, intercepts : lists of arrays of one float dtype
        As the estimators' ``coefs_`` and ``intercepts_``.
    X : ndarray or CSR matrix of shape (n_samples, n_features), of that dtype.
    Y : ndarray of shape (n_samples, n_outputs), of that dtype.
    sample_weight : ndarray of shape (n_samples,), default=None
    activation : str or list of str
        Hidden activation, or one per hidden layer.
    out_activation : {'identity', 'logistic', 'softmax', 'exp'}
        Selects the canonical loss of that output, unless ``loss`` is given.
    loss : str, default=None
        A key of ``_registry.LOSSES``.
    alpha : float
        L2 penalty.
    **options
        ``negative_slope``, ``huber_delta`` (see ``_kernels.Network``).

    Returns
    -------
    loss : float
    coef_grads, intercept_grads : lists of arrays shaped like coefs and intercepts.
    """
    units = layer_units_of(coefs)
    dtype = coefs[0].dtype
    network = make_network(
        units, activation, loss or OUTPUT_LOSSES[out_activation], **options
    )
    params = pack(coefs, intercepts)
    grad = np.empty_like(params)
    sw = (
        np.empty(0, dtype)
        if sample_weight is None
        else np.asarray(sample_weight, dtype)
    )
    data, indices, indptr = kernel_input(X)
    value = _compiled.kernels.loss_grad(
        network,
        params,
        grad,
        data,
        indices,
        indptr,
        np.ascontiguousarray(Y, dtype=dtype).reshape(-1),
        sw,
        alpha,
    )
    coef_grads, intercept_grads = param_views(grad, units)
    return value, coef_grads, intercept_grads


def forward(
    coefs, intercepts, X, *, activation="relu", out_activation="identity", **options
):
    """Network predictions for X: the output link applied to the raw outputs."""
    network = make_network(
        layer_units_of(coefs), activation, OUTPUT_LOSSES[out_activation], **options
    )
    out = forward_rows(network, pack(coefs, intercepts), X)
    _compiled.kernels.apply_output_link(network, out)
    return out
