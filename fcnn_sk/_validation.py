"""Validation and data preparation: everything a fit checks before anything changes.

``validate_fit`` checks the data, the targets, the per-layer options and every
cross-parameter rule, and returns a ``FitPlan``; nothing on the estimator changes
until the plan's ``commit`` is called. Compiled code only ever sees what passed here.
"""

import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._network import layer_units_of
from ._registry import ACTIVATIONS, SOLVERS


class FitData:
    """Validated training (or validation) data: X, y as given, encoded Y (2-D, X's
    dtype), sample weights or None."""

    def __init__(self, X, y, Y, sample_weight):
        self.X = X
        self.y = y
        Y = np.asarray(Y)
        self.Y = np.ascontiguousarray(Y.reshape(len(Y), -1), dtype=X.dtype)
        self.sample_weight = sample_weight

    def take(self, rows):
        return FitData(
            self.X[rows],
            self.y[rows],
            self.Y[rows],
            None if self.sample_weight is None else self.sample_weight[rows],
        )

    def astype(self, dtype):
        if self.X.dtype == dtype:
            return self
        return FitData(
            self.X.astype(dtype),
            self.y,
            self.Y.astype(dtype),
            None if self.sample_weight is None else self.sample_weight.astype(dtype),
        )

    def kernel_weights(self):
        """The weights as the kernels take them (empty for all ones)."""
        if self.sample_weight is None:
            return np.empty(0, self.X.dtype)
        return np.ascontiguousarray(self.sample_weight, dtype=self.X.dtype)


@dataclass
class FitPlan:
    """What a validated fit trains on.

    ``commit()`` stores the target encoding on the estimator; ``first_pass`` says
    whether the parameters are (re)initialised; ``batch_size`` is the effective
    mini-batch size (stochastic solvers).
    """

    fit: FitData
    val: FitData | None
    units: list
    first_pass: bool
    batch_size: int
    commit: object


def validate_X(est, X, y="no_validation", reset=False):
    """``validate_data`` as every method of the estimators uses it: dense
    C-contiguous or sparse CSR/CSC, float32 kept, anything else float64."""
    y_options = (
        {}
        if isinstance(y, str)
        else {"multi_output": True, "y_numeric": not is_classifier(est)}
    )
    return validate_data(
        est,
        X,
        y,
        accept_sparse=["csr", "csc"],
        dtype=(np.float64, np.float32),
        order="C",
        reset=reset,
        **y_options,
    )


def hidden_sizes(est):
    """``hidden_layer_sizes`` as a list of positive ints (ValueError otherwise)."""
    sizes = est.hidden_layer_sizes
    sizes = list(sizes) if np.iterable(sizes) else [sizes]
    for s in sizes:
        if not isinstance(s, Integral | np.integer) or isinstance(s, bool) or s <= 0:
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes}."
            )
    return [int(s) for s in sizes]


def per_layer(name, value, n_hidden):
    """A list with one value per hidden layer from a scalar or a sequence."""
    if isinstance(value, str) or not np.iterable(value):
        return [value] * n_hidden
    value = list(value)
    if len(value) != n_hidden:
        raise ValueError(
            f"{name} has {len(value)} entries but there are {n_hidden} hidden "
            "layers; give one value, or one per hidden layer."
        )
    return value


def dropout_rates(est, n_hidden):
    """``[input_dropout, *one rate per hidden layer]``."""
    return [est.input_dropout, *per_layer("dropout", est.dropout or 0.0, n_hidden)]


def has_dropout(est):
    return est.input_dropout > 0 or bool(np.any(np.asarray(est.dropout or 0.0) > 0))


def _check_layer_options(est, n_hidden):
    for a in per_layer("activation", est.activation, n_hidden):
        if a not in ACTIVATIONS:
            raise ValueError(f"activation {a!r} is not one of {sorted(ACTIVATIONS)}.")
    for r in dropout_rates(est, n_hidden)[1:]:
        if not isinstance(r, Real) or not 0 <= r < 1:
            raise ValueError(f"dropout rates must be in [0, 1), got {est.dropout}.")


def _check_weights(sample_weight, X):
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )


def _batch_size(est, n_samples):
    """The effective mini-batch size; scikit-learn's clipping (with its warning) of a
    size larger than the data."""
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than "
            "sample size. It is going to be clipped"
        )
    return int(np.clip(est.batch_size, 1, n_samples))


def validate_fit(est, X, y, sample_weight, incremental, classes, validation):
    """Check everything a fit needs and return its ``FitPlan``, changing nothing on
    ``est`` (the caller restores ``est`` if this raises)."""
    hidden = hidden_sizes(est)
    _check_layer_options(est, len(hidden))
    stochastic = SOLVERS[est.solver].stochastic
    if incremental and est.early_stopping:
        raise ValueError("partial_fit does not support early_stopping=True")
    first_pass = not hasattr(est, "coefs_") or (not est.warm_start and not incremental)
    X, y = validate_X(est, X, y, reset=first_pass)
    if sp.issparse(X) and est.input_dropout > 0:
        raise ValueError(
            "input_dropout is not supported for sparse X; pass a dense array."
        )
    y, Y, commit, encode = est._encode_targets(y, incremental, first_pass, classes)
    sample_weight = est._fit_sample_weight(
        y, _check_weights(sample_weight, X), incremental
    )
    fit = FitData(X, y, Y, sample_weight)
    units = [X.shape[1], *hidden, fit.Y.shape[1]]
    if not first_pass and units != layer_units_of(est.coefs_):
        raise ValueError(
            f"Layer sizes {units} do not match those of the fitted model "
            f"{layer_units_of(est.coefs_)}; refit with warm_start=False."
        )
    val = None
    if any(v is not None for v in validation[:2]):
        if not stochastic:
            raise ValueError("X_val / y_val need a stochastic solver, not lbfgs.")
        val = _validation_set(est, *validation, encode)
    n_train = X.shape[0]
    if stochastic and est.early_stopping and val is None:
        n_train -= int(np.ceil(est.validation_fraction * n_train))
    batch_size = _batch_size(est, max(n_train, 1)) if stochastic else 0
    return FitPlan(fit, val, units, first_pass, batch_size, commit)


def _validation_set(est, X_val, y_val, sample_weight_val, encode):
    if X_val is None or y_val is None:
        raise ValueError("X_val and y_val must be given together.")
    X_val, y_val = validate_X(est, X_val, y_val)
    y_val, Y_val = encode(y_val)
    return FitData(X_val, y_val, Y_val, _check_weights(sample_weight_val, X_val))


def split_validation(est, fit, random_state):
    """Train / validation split for early stopping, stratified for every
    single-label classifier (scikit-learn stratifies only binary ones)."""
    n = fit.X.shape[0]
    if est.validation_fraction * n < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    stratify = None
    if is_classifier(est) and fit.y.ndim == 1:
        labels, counts = np.unique(fit.y, return_counts=True)
        _check_split_classes(labels, counts)  # an error naming a class too small
        n_val = int(np.ceil(est.validation_fraction * n))
        if counts.min() >= 2 and min(n_val, n - n_val) >= len(counts):
            stratify = fit.y
    train, val = train_test_split(
        np.arange(n),
        random_state=random_state,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    return fit.take(train), fit.take(val)


def _check_split_classes(labels, counts):
    """Before the stratified early-stopping split of a single-label classifier's
    ``y``: where scikit-learn stratifies too (at most two classes), a class with a
    single sample cannot be split, and the error names it. (With more classes the
    split falls back to an unstratified one, as scikit-learn's always is.)"""
    if len(labels) > 2 or counts.min() >= 2:
        return
    small = [lab for lab, c in zip(labels.tolist(), counts) if c < 2]
    raise ValueError(
        f"The early-stopping validation split is stratified by class, but class "
        f"{small[0]!r} has only 1 sample: each class needs at least 2, one for training "
        "and one for validation. Add samples of that class, pass X_val and y_val, or "
        "set early_stopping=False."
    )
