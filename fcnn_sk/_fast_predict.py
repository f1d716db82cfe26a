"""The short path of prediction, for a plain numpy array of the fitted dtype and width.

``predict``, ``predict_proba``, ``predict_log_proba`` and ``transform`` call the
function of the same name here first. It returns None unless X is an ``np.ndarray``,
2-D, C-contiguous, non-empty, of the model's float dtype, with ``n_features_in_``
columns and finite values, and the model is fitted; the method then takes its full
validation path, which raises the same errors and warnings as always. Otherwise it
runs the same kernels on the same arrays as the full path, so the results are
bit-identical, after checks that cost about a microsecond instead of the ~100 us of
``check_is_fitted`` and ``validate_data`` (scikit-learn's generic machinery, which
dominates one-row predictions). A model fitted on a DataFrame warns about the missing
feature names through scikit-learn's own check, as ``validate_data`` does.

The compiled network of a fitted model is built once and kept in a weak-keyed table
(it cannot be pickled, so it stays out of the model's ``__dict__``), keyed by what it
is built from: the parameter buffer, the layer widths, the activations, the slope, the
output loss and the kernel build. Prediction allocates its own buffers and only reads
the model, so threads may predict with one model at once.
"""

import weakref

import numpy as np
from sklearn.utils.validation import _check_feature_names

from . import _compiled

_NETWORKS = weakref.WeakKeyDictionary()
_NO_INDEX = np.empty(0, dtype=np.intp)


def forward_rows(network, params, X, n_run=None):
    """``_network.forward_rows`` for a C-contiguous ndarray, without its generic input
    handling: the same kernel call on the same arrays."""
    n_run = network.n_layers if n_run is None else n_run
    out = np.empty((X.shape[0], network.width(n_run)), dtype=params.dtype)
    _compiled.kernels.forward_rows(network, params, X.reshape(-1), _NO_INDEX,
                                   _NO_INDEX, out, n_run)
    return out


def _network(model):
    """``(network, params)`` for the short path, or None where the full path must run
    (not fitted, or ``coefs_`` / ``intercepts_`` no longer views of ``_params``: the
    full path repacks them)."""
    state = model.__dict__
    params = state.get("_params")
    if params is None:
        return None
    units = []
    for a in state["coefs_"]:
        if a.base is not params:
            return None
        units.append(a.shape)
    for a in state["intercepts_"]:
        if a.base is not params:
            return None
    activation = model.activation
    if not isinstance(activation, str):
        activation = tuple(activation)
    key = (tuple(units), activation, model.negative_slope, state["out_activation_"],
           state.get("huber_delta"), _compiled.kernels)
    try:
        cached = _NETWORKS.get(model)
    except TypeError:  # an unhashable subclass: no cache
        return model._network(), params
    if cached is None or cached[0] is not params or cached[1] != key:
        cached = (params, key, model._network())
        _NETWORKS[model] = cached
    return cached[2], params


def _short_path(model, X):
    """``(network, params)`` if X and the model pass every check of the full path
    here, else None."""
    if type(X) is not np.ndarray or X.ndim != 2 or X.shape[0] == 0:
        return None
    found = _network(model)
    if found is None:
        return None
    network, params = found
    if (X.dtype != params.dtype or X.shape[1] != model.n_features_in_
            or not X.flags.c_contiguous or not np.isfinite(X).all()):
        return None
    if "feature_names_in_" in model.__dict__:
        _check_feature_names(model, X, reset=False)  # its warning, as validate_data
    return network, params


def _outputs(model, X):
    """Predictions (output link applied), or None."""
    found = _short_path(model, X)
    if found is None:
        return None
    network, params = found
    out = forward_rows(network, params, X)
    _compiled.kernels.apply_output_link(network, out)
    return out


def predict_proba(model, X):
    """``FCNNClassifier.predict_proba`` for the short path, or None."""
    proba = _outputs(model, X)
    if proba is not None and model.n_outputs_ == 1:
        return np.hstack([1 - proba, proba])
    return proba


def predict_log_proba(model, X):
    """``FCNNClassifier.predict_log_proba`` for the short path, or None."""
    found = _short_path(model, X)
    if found is None:
        return None
    network, params = found
    raw = forward_rows(network, params, X)
    if model.n_outputs_ == 1:
        raw = np.hstack([-raw, raw])
    _compiled.kernels.apply_output_link(network, raw, log=True)
    return raw


def predict_classes(model, X):
    """``FCNNClassifier.predict`` for the short path, or None."""
    proba = _outputs(model, X)
    if proba is None:
        return None
    if model.n_outputs_ == 1:
        proba = proba.ravel()
    return model._label_binarizer.inverse_transform(proba)


def predict_values(model, X):
    """``FCNNRegressor.predict`` for the short path, or None."""
    y = _outputs(model, X)
    if y is None:
        return None
    return y.ravel() if y.shape[1] == 1 else y


def transform(model, X, layer):
    """``transform`` for the short path (a plain int ``layer`` in range), or None."""
    if type(layer) is not int:
        return None
    n_hidden = model.__dict__.get("n_layers_", 2) - 2
    if not -n_hidden <= layer < n_hidden:
        return None
    found = _short_path(model, X)
    if found is None:
        return None
    network, params = found
    return forward_rows(network, params, X, layer % n_hidden + 1)
