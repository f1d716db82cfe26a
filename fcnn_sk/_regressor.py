"""FCNNRegressor: drop-in replacement for scikit-learn's MLPRegressor."""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _fast_predict
from ._base import BaseFCNN, init_arguments
from ._doc import fill_doc
from ._registry import LOSSES, losses_for


@fill_doc
class FCNNRegressor(RegressorMixin, BaseFCNN):
    """Multi-layer perceptron regressor with compiled training loops.

    Minimises the half squared error, the half Poisson deviance (exp output), the
    absolute error or the Huber loss with L-BFGS, SGD, Adam or RMSprop. Same parameters, defaults and fitted
    attributes as :class:`sklearn.neural_network.MLPRegressor`, except that
    ``hidden_layer_sizes`` stays the first positional parameter.

    Parameters
    ----------
    {common_parameters}

    loss : {{{regression_loss_names}}}, \
            default='squared_error'
        The loss, summed over outputs:

{regression_losses}

    huber_delta : float, default=1.0
        Threshold of the Huber loss.

    Attributes
    ----------
    {common_attributes}

    out_activation_ : str
        'exp' (Poisson) or 'identity' (the other losses).

    Notes
    -----
    For several outputs the squared error is summed over the outputs (scikit-learn
    reports their mean but follows the gradient of the sum), so ``loss_`` is the exact
    objective whose gradient is followed; for one output both agree. ``warm_start``
    keeps the optimizer state, and float32 input gives float32 ``coefs_`` and
    predictions with every solver.

    Examples
    --------
    >>> import numpy as np
    >>> from fcnn_sk import FCNNRegressor
    >>> X = np.random.RandomState(0).rand(200, 2)
    >>> y = X @ [3.0, 5.0] + 2.0
    >>> reg = FCNNRegressor((), solver="lbfgs").fit(X, y)
    >>> np.round(reg.coefs_[0].ravel(), 3), np.round(reg.intercepts_[0], 3)
    (array([3., 5.]), array([2.]))
    """

    _parameter_constraints: dict = {
        **BaseFCNN._parameter_constraints,
        "loss": [StrOptions(set(losses_for("regression")))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
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
        huber_delta=1.0,
    ):
        super().__init__(**init_arguments(locals()))

    def _encode_targets(self, y, incremental, first_pass, classes):
        y = self._check_targets(y)
        return y, y, lambda: None, lambda y_more: self._encode_more_targets(y_more)

    def _encode_more_targets(self, y):
        y = self._check_targets(y)
        return y, y

    def _check_targets(self, y):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' requires non-negative targets y; got negative values."
            )
        return y

    def _output_activation(self):
        return LOSSES[self.loss].link

    def _training_loss(self):
        return self.loss

    def _score_validation(self, X, y, sample_weight):
        y_pred = self._predict(X, validate=False)
        if not np.isfinite(y_pred).all():
            return np.nan
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def _predict(self, X, validate=True):
        y_pred = self._predict_output(X, validate)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    @available_if(BaseFCNN._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : FCNNRegressor
            The updated model.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values, in X's float dtype.
        """
        # a short path for a plain ndarray of the fitted dtype (_fast_predict.py)
        if (out := _fast_predict.predict_values(self, X)) is not None:
            return out
        check_is_fitted(self)
        return self._predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # the Poisson deviance needs non-negative targets (a registry entry's rule)
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
