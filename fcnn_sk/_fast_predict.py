"""The short path of prediction, for a plain numpy array of the fitted dtype and width.

``predict``, ``predict_proba``, ``predict_log_proba`` and ``transform`` call their
function here first (``predict_classes`` and ``predict_values`` for ``predict``). It
returns None unless the model is fitted and X is an ``np.ndarray``: 2-D, C-contiguous,
non-empty, of the model's float dtype, with ``n_features_in_`` columns and finite
values; the method then takes its full validation path, which raises the same errors
and warnings as always. Otherwise it runs the same kernels on the same arrays as the
full path (their float32 or float64 specialisation, called directly), so the results
are bit-identical, after direct checks that cost a few attribute lookups and one
``isfinite`` instead of scikit-learn's generic machinery (``check_is_fitted``,
``validate_data``), which dominates the time of a one-row prediction. A model fitted on
a DataFrame warns about the missing feature names through scikit-learn's own check,
as ``validate_data`` does.

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
_all = np.logical_and.reduce  # ndarray.all without its Python-level wrapper


def _specialised(function, dtype):
    """The float32 or float64 specialisation of a compiled function over fused float
    types (its type dispatch costs about a microsecond per call), else the function."""
    signatures = getattr(function, "__signatures__", None) or {}
    return signatures.get("float" if dtype == np.float32 else "double", function)


class _Compiled:
    """A fitted model's compiled network and the kernel functions for its dtype."""

    __slots__ = ("forward", "key", "link", "network", "params")

    def __init__(self, params, key, network):
        self.params, self.key, self.network = params, key, network
        kernels = _compiled.kernels
        self.forward = _specialised(kernels.forward_rows, params.dtype)
        self.link = _specialised(kernels.apply_output_link, params.dtype)

    def outputs(self, X, n_run=None):
        """``_network.forward_rows`` for a C-contiguous ndarray, without its generic
        input handling: the same kernel on the same arrays."""
        network = self.network
        n_run = network.n_layers if n_run is None else n_run
        out = np.empty((X.shape[0], network.width(n_run)), dtype=self.params.dtype)
        self.forward(
            network, self.params, X.reshape(-1), _NO_INDEX, _NO_INDEX, out, n_run
        )
        return out


def _network(model):
    """The model's ``_Compiled`` for the short path, or None where the full path must
    run (not fitted, or ``coefs_`` / ``intercepts_`` no longer views of ``_params``:
    the full path repacks them)."""
    state = model.__dict__
    params = state.get("_params")
    if params is None:
        return None
    if len(state["coefs_"]) != len(state["intercepts_"]):
        return None  # the full path names the problem
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
    key = (
        tuple(units),
        activation,
        model.negative_slope,
        state["out_activation_"],
        state.get("huber_delta"),
        _compiled.kernels,
    )
    try:
        cached = _NETWORKS.get(model)
    except TypeError:  # an unhashable subclass: no cache
        return _Compiled(params, key, model._network())
    if cached is None or cached.params is not params or cached.key != key:
        cached = _Compiled(params, key, model._network())
        _NETWORKS[model] = cached
    return cached


#: the most rows the short path takes: beyond, the generic checks cost little next to
#: the forward pass, and the full path estimates the memory a call needs
MAX_ROWS = 256


def _short_path(model, X):
    """The model's ``_Compiled`` if X and the model pass every check of the full path
    here, else None."""
    if (
        type(X) is not np.ndarray
        or X.ndim != 2
        or X.shape[0] == 0
        or X.shape[0] > MAX_ROWS
    ):
        return None
    compiled = _network(model)
    if compiled is None:
        return None
    if (
        X.dtype != compiled.params.dtype
        or X.shape[1] != model.n_features_in_
        or not X.flags.c_contiguous
        or not _all(np.isfinite(X), axis=None)
    ):
        return None
    if "feature_names_in_" in model.__dict__:
        _check_feature_names(model, X, reset=False)  # its warning, as validate_data
    return compiled


def _outputs(model, X):
    """Predictions (output link applied), or None."""
    compiled = _short_path(model, X)
    if compiled is None:
        return None
    out = compiled.outputs(X)
    compiled.link(compiled.network, out)
    # not finite: the full path names the layer that overflowed
    return out if _all(np.isfinite(out), axis=None) else None


def predict_proba(model, X):
    """``FCNNClassifier.predict_proba`` for the short path, or None."""
    proba = _outputs(model, X)
    if proba is not None and model.n_outputs_ == 1:
        return np.hstack([1 - proba, proba])
    return proba


def predict_log_proba(model, X):
    """``FCNNClassifier.predict_log_proba`` for the short path, or None."""
    compiled = _short_path(model, X)
    if compiled is None:
        return None
    raw = compiled.outputs(X)
    if model.n_outputs_ == 1:
        raw = np.hstack([-raw, raw])
    compiled.link(compiled.network, raw, log=True)
    # not finite: the full path names the layer that overflowed
    return raw if _all(np.isfinite(raw), axis=None) else None


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
    compiled = _short_path(model, X)
    if compiled is None:
        return None
    out = compiled.outputs(X, layer % n_hidden + 1)
    # not finite: the full path names the layer that overflowed
    return out if _all(np.isfinite(out), axis=None) else None
