"""The short path of prediction, for a plain numpy array of the fitted dtype and width.

``predict``, ``predict_proba``, ``predict_log_proba`` and ``transform`` call their
function here first (``predict_classes`` and ``predict_values`` for ``predict``). It
returns None unless the model is fitted and X is an ``np.ndarray``: 2-D, C-contiguous,
in native byte order, of the model's float dtype, with 1 to ``MAX_ROWS`` rows of
``n_features_in_`` columns (fewer where the memory a call needs must be checked) and
finite values, and the outputs are finite; the method then takes its full validation
path, which raises the same errors and warnings as always (and names the layer that
overflowed). Otherwise the result comes from one call of the compiled ``Predictor``
(csrc/_predictor.pxi), which checks X, runs the same
forward kernel and output link as the full path on the same arrays, so the results are
bit-identical, and checks the outputs, in place of scikit-learn's generic machinery
(``check_is_fitted``, ``validate_data``), which dominates the time of a one-row
prediction. A model fitted on a DataFrame warns about the missing feature names
through scikit-learn's own check, as ``validate_data`` does.

A fitted model's ``Predictor`` (its compiled network, and a workspace kept between
calls of up to ``KEEP_ROWS`` rows) is built once and kept in a weak-keyed table (it
cannot be pickled, so it stays out of the model's ``__dict__``), with what it was built from: the parameter buffer and
its ``coefs_`` / ``intercepts_`` views, the activations, the slope, the output
activation, the Huber delta, the input width and the kernel build. A change to any of
them (a refit, assigned weights, ``set_params``) builds it again; training in place
(``partial_fit``, warm starts) updates the buffer it reads. Prediction only reads the
model, and a call that finds the workspace in use allocates its own, so threads may
predict with one model at once.
"""

import weakref

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import _check_feature_names

from . import _compiled, _guards

_all = np.logical_and.reduce  # ndarray.all without its Python-level wrapper

#: the most rows the short path takes: one chunk of the full path's forward pass (so
#: the same products); beyond, the generic checks cost little next to the pass
MAX_ROWS = _guards.FORWARD_CHUNK
#: the most rows of a call that uses the workspace kept with the model
KEEP_ROWS = 256

#: weak reference to a model -> its ``Predictor`` (keys removed as models die)
_PREDICTORS = {}
_ref = weakref.ref


def _forget(ref):
    _PREDICTORS.pop(ref, None)


def _build(model, state, params, key):
    """A new ``Predictor`` of the model, or None where the full path must run
    (``coefs_`` / ``intercepts_`` no longer views of ``_params``, which the full path
    repacks, or not the fitted input width)."""
    coefs, intercepts = state["coefs_"], state["intercepts_"]
    if len(coefs) != len(intercepts):
        return None  # the full path names the problem
    for a in (*coefs, *intercepts):
        if not isinstance(a, np.ndarray) or a.base is not params:
            return None
    network = model._network()
    if network.width(0) != state.get("n_features_in_"):
        return None
    # the rows whose memory estimate fits, as the full path checks per call (the
    # estimate grows linearly up to MAX_ROWS)
    max_rows = MAX_ROWS
    limit = _guards.physical_memory()
    if limit is not None:
        per_row = sum(_guards.predict_memory(network, 1, params.itemsize).values())
        max_rows = min(max_rows, limit // per_row)
        if max_rows < 1:
            return None
    return _compiled.kernels.Predictor(
        network, params, max_rows, KEEP_ROWS, (*coefs, *intercepts), key
    )


def _short_path(model):
    """The model's ``Predictor`` if the model can take the short path, else None
    (``Predictor.predict`` checks X)."""
    state = model.__dict__
    params = state.get("_params")
    if params is None:
        return None
    activation = model.activation
    if type(activation) is not str:
        activation = tuple(activation)
    key = (
        activation,
        model.negative_slope,
        state["out_activation_"],
        state.get("huber_delta"),
        state.get("n_features_in_"),
        _compiled.kernels,
    )
    try:
        predictor = _PREDICTORS.get(_ref(model))
    except TypeError:  # an unhashable subclass: no cache
        return _build(model, state, params, key)
    if predictor is not None and predictor.current(
        params, state["coefs_"], state["intercepts_"], key
    ):
        return predictor
    predictor = _build(model, state, params, key)
    if predictor is not None:
        _PREDICTORS[_ref(model, _forget)] = predictor
    return predictor


def takes(model, X):
    """Whether the short path takes X (its values aside)."""
    predictor = _short_path(model)
    return predictor is not None and predictor.accepts(X)


def _answered(model, X, out):
    """``out`` (None: the full path answers), with the warning about missing feature
    names that ``validate_data`` gives a model fitted on a DataFrame, where the short
    path answered."""
    if out is not None and "feature_names_in_" in model.__dict__:
        _check_feature_names(model, X, reset=False)
    return out


def _predict(model, X, *args):
    """``Predictor.predict(X, *args)`` through the model's short path, or None."""
    predictor = _short_path(model)
    if predictor is None:
        return None
    return _answered(model, X, predictor.predict(X, *args))


def _outputs(model, X):
    """Predictions (output link applied), or None."""
    return _predict(model, X, 0, True)


def predict_proba(model, X):
    """``FCNNClassifier.predict_proba`` for the short path, or None."""
    proba = _outputs(model, X)
    if proba is not None and model.n_outputs_ == 1:
        return np.hstack([1 - proba, proba])
    return proba


def predict_log_proba(model, X):
    """``FCNNClassifier.predict_log_proba`` for the short path, or None."""
    predictor = _short_path(model)  # None for a model not fitted
    if predictor is None:
        return None
    if model.n_outputs_ != 1:
        return _answered(model, X, predictor.predict(X, 0, True, True))
    # log(1 - sigmoid(z)) = log(sigmoid(-z)), through the two-column link; the warning
    # only once the outputs are known to be finite (else the full path gives it)
    if (out := predictor.predict(X)) is None:
        return None
    out = np.hstack([-out, out])
    _compiled.kernels.apply_output_link(predictor.network, out, log=True)
    if not _all(np.isfinite(out), axis=None):
        return None  # the full path names what overflowed
    return _answered(model, X, out)


def predict_classes(model, X):
    """``FCNNClassifier.predict`` for the short path, or None."""
    proba = _outputs(model, X)
    if proba is None:
        return None
    binarizer = model._label_binarizer
    if model.n_outputs_ == 1:
        proba = proba.ravel()
    elif (
        type(binarizer) is LabelBinarizer
        and binarizer.y_type_ == "multiclass"
        and not binarizer.sparse_input_
        and type(binarizer.classes_) is np.ndarray
    ):
        # what its inverse_transform returns (the class of the largest probability),
        # without the generic checks that take most of a one-row call
        return binarizer.classes_[proba.argmax(axis=1)]
    return binarizer.inverse_transform(proba)


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
    return _predict(model, X, layer % n_hidden + 1)
