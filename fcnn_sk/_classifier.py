"""FCNNClassifier: drop-in replacement for scikit-learn's MLPClassifier."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _compiled, _fast_predict, _guards
from ._base import BaseFCNN, init_arguments
from ._doc import fill_doc


@fill_doc
class FCNNClassifier(ClassifierMixin, BaseFCNN):
    """Multi-layer perceptron classifier with compiled training loops.

    Minimises the log-loss (softmax for multiclass, per-output sigmoid for binary and
    multilabel targets) with L-BFGS, SGD, Adam or RMSprop. Same parameters, defaults and fitted
    attributes as :class:`sklearn.neural_network.MLPClassifier`; each epoch runs in
    compiled code with the GIL released.

    Parameters
    ----------
    {common_parameters}

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict
        ``{{class_label: weight}}``, or 'balanced' for
        ``n_samples / (n_classes * np.bincount(y))`` (not with ``partial_fit``).

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels.

    {common_attributes}

    out_activation_ : str
        'softmax' (multiclass) or 'logistic' (binary, multilabel).

    Notes
    -----
    Differences from scikit-learn's MLPClassifier, all deliberate:

    - the early-stopping split is stratified for multiclass targets too;
    - ``warm_start`` keeps the optimizer state;
    - float32 input gives float32 ``coefs_`` and probabilities with every solver;
    - ``predict_log_proba`` is a log-softmax / log-sigmoid of the raw outputs, so it is
      finite where ``log(predict_proba)`` would be ``-inf``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fcnn_sk import FCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = FCNNClassifier((64,), random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=None,
        input_dropout=0.0,
        negative_slope=0.01,
        weight_init="glorot_uniform",
        rho=0.9,
        weight_decay=0.0,
        max_grad_norm=None,
        validation_metric="score",
        class_weight=None,
    ):
        super().__init__(**init_arguments(locals()))

    def _encode_targets(self, y, incremental, first_pass, classes):
        y, y_type = _as_label_targets(y)
        multilabel = y_type.startswith("multilabel")
        if incremental and not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            binarizer = LabelBinarizer().fit(y if multilabel else classes)
        elif first_pass:
            # fitted on the distinct labels, which give the same encoding as y, faster
            binarizer = LabelBinarizer().fit(
                np.unique(y) if y_type in _SINGLE_LABEL else y
            )
        else:
            binarizer = self._label_binarizer
            if classes is not None and not np.array_equal(
                np.unique(classes), np.asarray(self.classes_)
            ):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call "
                    f"to partial_fit (classes_={self.classes_!r})."
                )
            if self.warm_start and not incremental and not multilabel:
                labels = unique_labels(y)
                if set(labels) != set(binarizer.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {binarizer.classes_}, `y` has {labels}"
                    )
        Y = _binarize(binarizer, y)

        def commit():
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_

        return y, Y, commit, lambda y_more: _encode_labels(binarizer, y_more)

    def _encode_more_targets(self, y):
        return _encode_labels(self._label_binarizer, y)

    def _fit_sample_weight(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the class "
                "frequencies of the whole data are unknown; pass a dict instead."
            )
        weights = compute_sample_weight(self.class_weight, y).astype(
            sample_weight.dtype if sample_weight is not None else np.float64
        )
        return weights if sample_weight is None else sample_weight * weights

    def _training_loss(self):
        return "log_loss" if self.out_activation_ == "softmax" else "binary_log_loss"

    def _output_activation(self):
        return (
            "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        )

    def _score_validation(self, X, y, sample_weight):
        return accuracy_score(
            y, self._predict(X, validate=False), sample_weight=sample_weight
        )

    def _predict(self, X, validate=True):
        proba = self._predict_output(X, validate)
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    @available_if(BaseFCNN._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array-like of shape (n_classes,), default=None
            All classes across calls; required on the first call, where ``y`` need
            not contain them all.

        Returns
        -------
        self : FCNNClassifier
            The updated model.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Predict class labels (or label indicators, for multilabel models).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        # a short path for a plain ndarray of the fitted dtype (_fast_predict.py)
        if (out := _fast_predict.predict_classes(self, X)) is not None:
            return out
        check_is_fitted(self)
        return self._predict(X)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns ordered as ``classes_``; in X's float dtype.
        """
        # a short path for a plain ndarray of the fitted dtype (_fast_predict.py)
        if (out := _fast_predict.predict_proba(self, X)) is not None:
            return out
        check_is_fitted(self)
        proba = self._predict_output(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Log of the probability estimates, computed stably from the raw outputs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, but finite: a log-softmax (multiclass) or
            log-sigmoid (binary, multilabel) that never takes ``log(0)``.
        """
        # a short path for a plain ndarray of the fitted dtype (_fast_predict.py)
        if (out := _fast_predict.predict_log_proba(self, X)) is not None:
            return out
        check_is_fitted(self)
        network = self._network()
        raw = self._raw_output(X, network=network)
        if self.n_outputs_ == 1:
            # log(1 - sigmoid(z)) = log(sigmoid(-z))
            raw = np.hstack([-raw, raw])
        _compiled.kernels.apply_output_link(network, raw, log=True)
        _guards.check_link(self, raw)  # the log link can overflow
        return raw

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


_SINGLE_LABEL = ("binary", "multiclass")


def _as_label_targets(y):
    """``(y, type_of_target(y))``: labels as a 1-D array where they have one column,
    checked to be classes (the check of ``check_classification_targets``)."""
    y = np.asarray(y) if not hasattr(y, "shape") else y
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    y_type = type_of_target(y, input_name="y")
    if y_type not in (
        *_SINGLE_LABEL,
        "multiclass-multioutput",
        "multilabel-indicator",
        "multilabel-sequences",
    ):
        raise ValueError(
            f"Unknown label type: {y_type}. Maybe you are trying to fit a classifier, "
            "which expects discrete classes on a regression target with continuous "
            "values."
        )
    return y, y_type


def _encode_labels(binarizer, y):
    """``(y, Y)`` for more labels of a fitted encoding: checked, and binarized."""
    y, _ = _as_label_targets(y)
    return y, _binarize(binarizer, y)


def _binarize(binarizer, y):
    """One-hot / indicator targets; labels the binarizer does not know are an error."""
    if binarizer.y_type_ == "multilabel-indicator" or y.ndim != 1:
        return binarizer.transform(y)  # (which rejects a 2-D y for single labels)
    classes = binarizer.classes_
    codes = _label_codes(classes, y)
    if codes is None:
        unseen = np.setdiff1d(unique_labels(y), classes)
        raise ValueError(
            f"`y` has classes not in `self.classes_`: {unseen}. "
            f"`self.classes_` has {classes}."
        )
    if len(classes) <= 2:  # one column: the indicator of the second class
        return (codes == 1).astype(np.int64).reshape(-1, 1)
    Y = np.zeros((len(codes), len(classes)), dtype=np.int64)
    Y[np.arange(len(codes)), codes] = 1
    return Y


def _label_codes(classes, y):
    """Index of each label of the 1-D ``y`` in the sorted ``classes``; None if one is
    not in ``classes`` (or cannot be compared with them)."""
    try:
        codes = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
        known = classes[codes] == y
    except TypeError:  # labels of a type the classes cannot be ordered with
        return None
    return codes if np.all(known) else None
