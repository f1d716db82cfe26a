"""Shared machinery of FCNNClassifier and FCNNRegressor.

Python orchestrates, compiled code computes: this module validates everything before
any state changes, lays out the flat parameter buffer, and runs the epoch loop
(schedules, early stopping, validation curves, verbose output, interruption), calling
``_kernels.train_epoch`` once per epoch.
"""

import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _compiled, _guards
from ._init import INITIALIZERS
from ._lbfgs import minimize_lbfgs
from ._network import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_LOSSES,
    hidden_activations,
    kernel_input,
    layer_units_of,
    make_network,
    pack,
    param_views,
)
from ._optim import SCHEDULES, StochasticOptimizer

_STOCHASTIC_SOLVERS = ("sgd", "adam", "rmsprop")


class BaseFCNN(BaseEstimator, ABC):
    """Base class of the fcnn_sk estimators; use the derived classes."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), "array-like"],
        "solver": [StrOptions({"lbfgs", *_STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [None, Interval(Real, 0, 1, closed="left"), "array-like"],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "negative_slope": [Interval(Real, 0, None, closed="left")],
        "weight_init": [StrOptions(set(INITIALIZERS))],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "validation_metric": [StrOptions({"score", "loss"})],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        *,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        dropout,
        input_dropout,
        negative_slope,
        weight_init,
        rho,
        weight_decay,
        max_grad_norm,
        validation_metric,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.negative_slope = negative_slope
        self.weight_init = weight_init
        self.rho = rho
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.validation_metric = validation_metric

    # ---- hooks of the derived classes -------------------------------------------------

    @abstractmethod
    def _encode_targets(self, y, incremental, first_pass, classes):
        """Validated ``y`` -> ``(y, Y, commit, encode)``: the targets as given (1-D
        where they have one column), the 2-D targets the network learns, a function
        that stores the target encoding on ``self`` and one that encodes more
        targets (a validation set) the same way, as ``y -> (y, Y)``. Nothing on
        ``self`` changes before ``commit`` is called."""

    @abstractmethod
    def _encode_more_targets(self, y):
        """``(y, Y)`` for targets of extra data given to a fitted model."""

    @abstractmethod
    def _output_activation(self):
        """Name of the output activation, set once the targets are encoded."""

    @abstractmethod
    def _training_loss(self):
        """Name of the loss the network is trained on (a ``_kernels.LOSSES`` key)."""

    @abstractmethod
    def _score_validation(self, X, y, sample_weight):
        """Score (accuracy / R^2) of validated data, for early stopping."""

    def _fit_sample_weight(self, y, sample_weight, incremental):
        """Sample weights of the fit (the classifier folds class_weight in)."""
        return sample_weight

    # ---- validation -------------------------------------------------------------------

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if np.iterable(sizes) else [sizes]
        for s in sizes:
            if not isinstance(s, Integral | np.integer) or isinstance(s, bool) or s <= 0:
                raise ValueError(
                    f"hidden_layer_sizes must be positive integers, got {sizes}."
                )
        return [int(s) for s in sizes]

    def _per_layer(self, name, value, n_hidden):
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

    def _check_layer_options(self, n_hidden):
        """Cross-parameter checks of the per-layer options."""
        for a in self._per_layer("activation", self.activation, n_hidden):
            if a not in HIDDEN_ACTIVATIONS:
                raise ValueError(
                    f"activation {a!r} is not one of {sorted(HIDDEN_ACTIVATIONS)}."
                )
        rates = self._per_layer("dropout", self.dropout or 0.0, n_hidden)
        for r in rates:
            if not isinstance(r, Real) or not 0 <= r < 1:
                raise ValueError(f"dropout rates must be in [0, 1), got {self.dropout}.")

    def _has_dropout(self):
        return self.input_dropout > 0 or bool(np.any(np.asarray(self.dropout or 0.0) > 0))

    def _dropout_rates(self, n_hidden):
        return [self.input_dropout, *self._per_layer("dropout", self.dropout or 0.0,
                                                     n_hidden)]

    def _validate_X(self, X, y="no_validation", reset=False):
        """``validate_data`` as every method of the estimators uses it: dense
        C-contiguous or sparse CSR/CSC, float32 kept, anything else float64."""
        y_options = {} if isinstance(y, str) else {
            "multi_output": True, "y_numeric": not is_classifier(self)}
        return validate_data(
            self, X, y, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32),
            order="C", reset=reset, **y_options,
        )

    def _validate_fit(self, X, y, sample_weight, incremental, classes, validation):
        """Check everything a fit needs and return what it trains on, changing
        nothing on ``self`` (the caller restores ``self`` if this raises)."""
        hidden = self._hidden_sizes()
        self._check_layer_options(len(hidden))
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_X(X, y, reset=first_pass)
        if sp.issparse(X) and self.input_dropout > 0:
            raise ValueError(
                "input_dropout is not supported for sparse X; pass a dense array."
            )
        y, Y, commit, encode = self._encode_targets(y, incremental, first_pass, classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        sample_weight = self._fit_sample_weight(y, sample_weight, incremental)
        fit = _FitData(X, y, Y, sample_weight)
        units = [X.shape[1], *hidden, fit.Y.shape[1]]
        if not first_pass:
            expected = layer_units_of(self.coefs_)
            if units != expected:
                raise ValueError(
                    f"Layer sizes {units} do not match those of the fitted model "
                    f"{expected}; refit with warm_start=False."
                )
        val = None
        if validation[0] is not None or validation[1] is not None:
            val = self._validate_validation_set(*validation, encode)
        return fit, val, units, first_pass, commit

    def _validate_validation_set(self, X_val, y_val, sample_weight_val, encode):
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together.")
        if self.solver == "lbfgs":
            raise ValueError("X_val / y_val need a stochastic solver, not lbfgs.")
        X_val, y_val = self._validate_X(X_val, y_val)
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(
                sample_weight_val, X_val, dtype=X_val.dtype, ensure_non_negative=True
            )
        y_val, Y_val = encode(y_val)
        return _FitData(X_val, y_val, Y_val, sample_weight_val)

    def _split_validation(self, fit, random_state):
        """Train / validation split for early stopping, stratified for every
        single-label classifier (scikit-learn stratifies only binary ones)."""
        n = fit.X.shape[0]
        if self.validation_fraction * n < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        stratify = None
        if is_classifier(self) and fit.y.ndim == 1:
            labels, counts = np.unique(fit.y, return_counts=True)
            _guards.check_split_classes(labels, counts)  # guards: names a small class
            n_val = int(np.ceil(self.validation_fraction * n))
            if counts.min() >= 2 and min(n_val, n - n_val) >= len(counts):
                stratify = fit.y
        train, val = train_test_split(
            np.arange(n),
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        return fit.take(train), fit.take(val)

    # ---- parameters -------------------------------------------------------------------

    def _init_params(self, units, dtype, random_state):
        params = np.empty(sum(a * b + b for a, b in zip(units[:-1], units[1:])), dtype)
        coefs, intercepts = param_views(params, units)
        acts = hidden_activations(self.activation, len(units) - 2)
        init = INITIALIZERS[self.weight_init]
        for i, (coef, intercept) in enumerate(zip(coefs, intercepts)):
            # Glorot's gain follows the activation the layer feeds; the output layer
            # takes the last hidden one's, so one name behaves as in scikit-learn
            if acts:
                activation = acts[min(i, len(acts) - 1)]
            else:
                activation = self.activation if isinstance(self.activation, str) else ""
            init(coef, intercept, activation, random_state)
        return params

    def _set_params_buffer(self, params, units):
        self._params = params
        self.coefs_, self.intercepts_ = param_views(params, units)

    def _flat_params(self):
        """The flat buffer behind ``coefs_`` / ``intercepts_``, rebuilt if they were
        replaced (assigned by the user, or unpickled as separate arrays)."""
        params = getattr(self, "_params", None)
        arrays = [*self.coefs_, *self.intercepts_]
        if params is None or any(a.base is not params for a in arrays):
            _guards.check_layout(self)  # guards: assigned arrays of the fitted shapes
            units = layer_units_of(self.coefs_)
            self._set_params_buffer(pack(self.coefs_, self.intercepts_), units)
        return self._params

    def _network(self, loss=None, training=False):
        """The compiled network of the fitted model: with the training loss and the
        dropout rates for training, else with the loss of its output activation."""
        units = layer_units_of(self.coefs_)
        n_hidden = len(units) - 2
        return make_network(
            units,
            self.activation,
            loss or (self._training_loss() if training
                     else OUTPUT_LOSSES[self.out_activation_]),
            dropout=self._dropout_rates(n_hidden) if training else None,
            negative_slope=self.negative_slope,
            huber_delta=getattr(self, "huber_delta", 1.0),
        )

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_params", None)  # coefs_ / intercepts_ carry the values
        return state

    # ---- fitting ----------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or a label indicator matrix (classifier), target values
            (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, used instead of the ``validation_fraction`` split:
            scored after every epoch (``validation_scores_``,
            ``validation_loss_curve_``) and watched by early stopping and the
            'plateau' schedule. In a pipeline, route it with metadata routing
            (``set_fit_request``) and ``Pipeline(transform_input=["X_val"])``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.
        sample_weight_val : array-like of shape (n_val,), default=None
            Validation sample weights.

        Returns
        -------
        self : object
            The fitted model.
        """
        return self._fit(X, y, sample_weight,
                         validation=(X_val, y_val, sample_weight_val))

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    @_guards.restore_on_failure  # guards: a failed call leaves the model as it was
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None,
             validation=(None, None, None)):
        snapshot = dict(self.__dict__)
        try:
            fit, val, units, first_pass, commit = self._validate_fit(
                X, y, sample_weight, incremental, classes, validation
            )
            random_state = check_random_state(self.random_state)
            if (self.solver in _STOCHASTIC_SOLVERS and self.early_stopping
                    and val is None):
                fit, val = self._split_validation(fit, random_state)
            _guards.check_fit(self, units, fit, val, first_pass)  # guards: memory, range
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        # Nothing above changed the model; from here on it is trained.
        commit()
        self._random_state = random_state
        if first_pass:
            self._initialize(units, fit.Y, fit.X.dtype)
        params = self._flat_params()
        fit = fit.astype(params.dtype)  # continuing a model trained on another dtype
        val = val.astype(params.dtype) if val is not None else None

        if self.solver == "lbfgs":
            self._fit_lbfgs(fit)
        else:
            self._fit_stochastic(fit, val, incremental)

        _guards.check_fitted(self)  # guards: non-finite weights or loss are an error
        return self

    def _initialize(self, units, Y, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._output_activation()
        self._set_params_buffer(self._init_params(units, dtype, self._random_state), units)
        self._best_params = self._params.copy()
        self._optimizer = None
        for name in ("loss_curve_", "validation_loss_curve_", "grad_norm_curve_"):
            self.__dict__.pop(name, None)
        if self.solver in _STOCHASTIC_SOLVERS:
            self._init_stochastic_state()

    def _init_stochastic_state(self):
        """Epoch bookkeeping of the stochastic solvers (as scikit-learn's)."""
        self.loss_curve_ = []
        self.validation_loss_curve_ = None
        self.grad_norm_curve_ = np.empty((0, self.n_layers_ - 1))
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self._best_monitored = -np.inf

    def _fit_lbfgs(self, fit):
        network = self._network(training=True)
        params = self._params
        data, indices, indptr = kernel_input(fit.X)
        sw = fit.kernel_weights()
        Y_flat = fit.Y.reshape(-1)
        float64 = params.dtype == np.float64
        grad = None if float64 else np.empty_like(params)

        def loss_grad(x, g):
            # L-BFGS works in float64; float32 kernels get a cast copy
            if float64:
                return _compiled.kernels.loss_grad(
                    network, x, g, data, indices, indptr, Y_flat, sw, self.alpha)
            params[...] = x
            loss = _compiled.kernels.loss_grad(
                network, params, grad, data, indices, indptr, Y_flat, sw, self.alpha)
            g[...] = grad
            return loss

        def report(n_iter, loss):
            print("Iteration %d, loss = %.8f" % (n_iter, loss))

        result = minimize_lbfgs(
            loss_grad, params, max_iter=self.max_iter, max_fun=self.max_fun,
            gtol=self.tol, callback=report if self.verbose else None,
        )
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        params[...] = result.x

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _fit_stochastic(self, fit, val, incremental):
        params = self._params
        if not hasattr(self, "loss_curve_"):  # warm start after an lbfgs fit
            self._init_stochastic_state()
        if self._optimizer is None or (not incremental and not self.warm_start):
            self._optimizer = StochasticOptimizer(
                self.solver, self.learning_rate, self.learning_rate_init,
                self.power_t, params.size, params.dtype,
            )
        optimizer = self._optimizer
        network = self._network(training=True)
        if val is not None:
            if self.validation_scores_ is None:
                self.validation_scores_ = []
            if self.validation_loss_curve_ is None:
                self.validation_loss_curve_ = []
        # early stopping and 'plateau' watch the validation data when there is some
        watch_val = val is not None and (
            self.early_stopping or self.learning_rate == "plateau")

        data, indices, indptr = kernel_input(fit.X)
        val_input = kernel_input(val.X) if val is not None else None
        sw = fit.kernel_weights()
        Y_flat = fit.Y.reshape(-1)
        n_samples = fit.X.shape[0]
        batch_size = self._batch_size(n_samples)
        order = np.arange(n_samples, dtype=np.intp)
        norms = np.zeros(network.n_layers)
        grad_norm_rows = []
        # drawn only with dropout, so the random stream is otherwise scikit-learn's
        dropout_seed = (int(self._random_state.randint(2**62))
                        if self._has_dropout() else None)

        try:
            self.n_iter_ = 0
            for epoch in range(self.max_iter):
                if self.shuffle:
                    # in place, the same permutation as scikit-learn's
                    # shuffle(order, random_state) (one Fisher-Yates pass)
                    self._random_state.shuffle(order)
                optimizer.epoch_begins(epoch, self.max_iter)
                # dropout masks: this call's draw plus the model's epoch count, so
                # another partial_fit call or warm-started fit gets new masks
                seed = 0 if dropout_seed is None else dropout_seed + len(self.loss_curve_)
                loss_sum, optimizer.step, n_steps = _compiled.kernels.train_epoch(
                    network, params, optimizer.state_1, optimizer.state_2,
                    data, indices, indptr, Y_flat, sw, order, self.shuffle,
                    batch_size, optimizer.kernel_hyper(self, seed), norms,
                )
                self.n_iter_ += 1
                self.loss_ = loss_sum / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                _guards.check_epoch_loss(self)  # guards: stop at a non-finite loss
                grad_norm_rows.append(norms / max(n_steps, 1))
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                if val is not None:
                    monitored = self._record_validation(val, network, val_input)
                if watch_val:
                    self._update_no_improvement(monitored)
                else:
                    self._update_training_loss()
                optimizer.iteration_ends(self.t_)

                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if watch_val else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            self.grad_norm_curve_ = np.vstack([self.grad_norm_curve_, *grad_norm_rows])

        if self.early_stopping:
            params[...] = self._best_params  # restore the best weights

    def _update_training_loss(self):
        if self.best_loss_ is None:  # an earlier fit watched a validation score
            self.best_loss_ = np.inf
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]

    def _record_validation(self, val, network, val_input):
        """Score and loss of the validation data after an epoch; returns the
        monitored quantity (higher is better). ``val_input`` is
        ``kernel_input(val.X)``."""
        score = self._score_validation(val.X, val.y, val.sample_weight)
        loss = _compiled.kernels.loss_grad(
            network, self._params, np.empty(0, self._params.dtype), *val_input,
            val.Y.reshape(-1), val.kernel_weights(), self.alpha,
        )
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(loss)
        if self.verbose:
            print("Validation score: %f, validation loss: %f" % (score, loss))
        return score if self.validation_metric == "score" else -loss

    def _update_no_improvement(self, monitored):
        if monitored < self._best_monitored + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if monitored > self._best_monitored:
            self._best_monitored = monitored
            if self.early_stopping:
                self.best_validation_score_ = self.validation_scores_[-1]
                self._best_params[...] = self._params

    # ---- prediction and more ----------------------------------------------------------

    def _raw_output(self, X, validate=True, n_run=None, network=None):
        """Raw network outputs (or hidden layer ``n_run``'s activations) for X,
        through ``network`` (default: the fitted model's, built here)."""
        if validate:
            check_is_fitted(self)
            X = self._validate_X(X)
        params = self._flat_params()
        if X.dtype != params.dtype:
            X = X.astype(params.dtype)
        # guards: memory estimate, and an error naming the layer that overflowed
        return _guards.checked_forward(network or self._network(), params, X, n_run,
                                       check=validate)

    def _predict_output(self, X, validate=True):
        """Network predictions (output link applied), (n_samples, n_outputs_)."""
        network = self._network()
        out = self._raw_output(X, validate, network=network)
        _compiled.kernels.apply_output_link(network, out)
        if validate:
            _guards.check_link(self, out)  # guards: exp link overflow
        return out

    def _has_hidden_layer(self):
        try:
            return len(self._hidden_sizes()) > 0
        except ValueError:
            return True  # let fit report the invalid hidden_layer_sizes

    @available_if(_has_hidden_layer)
    def transform(self, X, layer=-1):
        """Activations of a hidden layer: the network as a feature extractor.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        layer : int, default=-1
            Index of the hidden layer (0 is the first, -1 the last).

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_layer_sizes[layer])
            The layer's activations (deterministic: no dropout), in X's float dtype.
        """
        check_is_fitted(self)
        n_hidden = self.n_layers_ - 2
        if n_hidden == 0:
            raise ValueError("The fitted network has no hidden layer to transform to.")
        if not isinstance(layer, Integral | np.integer) or not -n_hidden <= layer < n_hidden:
            raise ValueError(
                f"layer must be an integer in [{-n_hidden}, {n_hidden}), got {layer!r}."
            )
        return self._raw_output(X, n_run=int(layer) % n_hidden + 1)

    @available_if(_has_hidden_layer)
    def fit_transform(self, X, y, **fit_params):
        """Fit the network, then return the last hidden layer's activations of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        **fit_params : dict
            Passed on to ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_layer_sizes[-1])
        """
        return self.fit(X, y, **fit_params).transform(X)

    def input_gradient(self, X, y):
        """Gradient of each sample's loss with respect to its input row.

        The loss of each sample on its own: unweighted, without the L2 penalty, not
        averaged over samples, without dropout. Useful for saliency maps and
        adversarial examples (e.g. the fast gradient sign method).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets (class labels for a classifier).

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
            ``d loss(x_i, y_i) / d x_i`` (dense, even for sparse X), in the model's
            float dtype.
        """
        check_is_fitted(self)
        X, y = self._validate_X(X, y)
        _, Y = self._encode_more_targets(y)
        params = self._flat_params()
        X = X.astype(params.dtype, copy=False)
        network = self._network(loss=self._training_loss())
        _guards.before_input_gradient(network, params, X, np.asarray(Y))  # guards
        out = np.empty(X.shape, dtype=params.dtype)
        _compiled.kernels.input_grad(
            network, params, *kernel_input(X),
            np.ascontiguousarray(Y, dtype=params.dtype).reshape(-1), out,
        )
        _guards.check_input_gradient(out, network, params, X)  # guards
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if self._has_hidden_layer():
            # transform() extracts hidden-layer features, in X's float dtype
            tags.transformer_tags = TransformerTags(
                preserves_dtype=["float64", "float32"]
            )
        return tags


class _FitData:
    """Validated training (or validation) data: X, y as given, encoded Y (2-D, X's
    dtype), sample weights or None."""

    def __init__(self, X, y, Y, sample_weight):
        self.X = X
        self.y = y
        Y = np.asarray(Y)
        self.Y = np.ascontiguousarray(Y.reshape(len(Y), -1), dtype=X.dtype)
        self.sample_weight = sample_weight

    def take(self, rows):
        return _FitData(
            self.X[rows], self.y[rows], self.Y[rows],
            None if self.sample_weight is None else self.sample_weight[rows],
        )

    def astype(self, dtype):
        if self.X.dtype == dtype:
            return self
        return _FitData(
            self.X.astype(dtype), self.y, self.Y.astype(dtype),
            None if self.sample_weight is None else self.sample_weight.astype(dtype),
        )

    def kernel_weights(self):
        """The weights as the kernels take them (empty for all ones)."""
        if self.sample_weight is None:
            return np.empty(0, self.X.dtype)
        return np.ascontiguousarray(self.sample_weight, dtype=self.X.dtype)
