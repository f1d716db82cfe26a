"""Shared machinery of FCNNClassifier and FCNNRegressor.

Python orchestrates, compiled code computes: this module validates everything, lays
out the flat parameter buffer, and runs the epoch loop (schedules, early stopping,
verbose output, interruption), calling ``_kernels.train_epoch`` once per epoch.
"""

import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, shuffle
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _kernels
from ._network import (
    HIDDEN_ACTIVATIONS,
    kernel_input,
    make_network,
    pack,
    param_views,
    predict_raw,
)
from ._optim import StochasticOptimizer

_STOCHASTIC_SOLVERS = ("sgd", "adam")


class BaseFCNN(BaseEstimator, ABC):
    """Base class of the fcnn_sk estimators; use the derived classes."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
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

    # ---- hooks of the derived classes -------------------------------------------------

    @abstractmethod
    def _encode_targets(self, y, incremental, first_pass, classes):
        """Validated ``y`` -> ``(y, Y, commit)``: the targets as given (1-D where they
        have one column), the 2-D float targets the network learns, and a function
        that stores the target encoding on ``self``. Nothing on ``self`` changes
        before ``commit`` is called."""

    @abstractmethod
    def _output_activation(self, encoding):
        """Name of the output activation (an entry of the output registry)."""

    @abstractmethod
    def _score_validation(self, X, y, sample_weight):
        """Score (accuracy / R^2) of validated data, for early stopping."""

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

    def _validate_X(self, X, reset):
        return validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            order="C",
            reset=reset,
        )

    def _validate_fit(self, X, y, sample_weight, incremental, classes):
        """Check everything a fit needs and return what it trains on, changing
        nothing on ``self`` (the caller restores ``self`` if this raises)."""
        hidden = self._hidden_sizes()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            order="C",
            y_numeric=not is_classifier(self),
            reset=first_pass,
        )
        if X.shape[0] == 0:
            raise ValueError("X has 0 samples; at least one sample is required.")
        y, Y, commit = self._encode_targets(y, incremental, first_pass, classes)
        Y = np.ascontiguousarray(Y, dtype=X.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        units = [X.shape[1], *hidden, Y.shape[1]]
        if not first_pass:
            expected = [self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)]
            if units != expected:
                raise ValueError(
                    f"Layer sizes {units} do not match those of the fitted model "
                    f"{expected}; refit with warm_start=False."
                )
        return X, y, Y, sample_weight, units, first_pass, commit

    def _split_validation(self, X, y, Y, sample_weight, random_state):
        """Train / validation split for early stopping (row indices), stratified for
        every single-label classifier (scikit-learn stratifies only binary ones)."""
        n = X.shape[0]
        stratify = None
        if is_classifier(self) and y.ndim == 1:
            _, counts = np.unique(y, return_counts=True)
            n_val = int(np.ceil(self.validation_fraction * n))
            if counts.min() >= 2 and min(n_val, n - n_val) >= len(counts):
                stratify = y
        if self.validation_fraction * n < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return train_test_split(
            np.arange(n),
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )

    # ---- parameters -------------------------------------------------------------------

    def _init_params(self, units, dtype, random_state):
        """Glorot-uniform initialisation drawn exactly as scikit-learn draws it."""
        params = np.empty(sum(a * b + b for a, b in zip(units[:-1], units[1:])), dtype)
        coefs, intercepts = param_views(params, units)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for coef, intercept in zip(coefs, intercepts):
            bound = np.sqrt(factor / (coef.shape[0] + coef.shape[1]))
            coef[...] = random_state.uniform(-bound, bound, coef.shape)
            intercept[...] = random_state.uniform(-bound, bound, intercept.shape)
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
            units = [self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)]
            self._set_params_buffer(pack(self.coefs_, self.intercepts_), units)
        return self._params

    def _network(self):
        units = [self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)]
        return make_network(units, self.activation, self.out_activation_)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_params", None)  # coefs_ / intercepts_ carry the values
        return state

    # ---- fitting ----------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        snapshot = dict(self.__dict__)
        try:
            X, y, Y, sample_weight, units, first_pass, commit = self._validate_fit(
                X, y, sample_weight, incremental, classes
            )
            random_state = check_random_state(self.random_state)
            split = None
            if self.solver in _STOCHASTIC_SOLVERS and self.early_stopping:
                split = self._split_validation(X, y, Y, sample_weight, random_state)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        # Nothing above changed the model; from here on it is trained.
        commit()
        self._random_state = random_state
        if first_pass:
            self._initialize(units, Y, X.dtype)
        params = self._flat_params()
        if params.dtype != X.dtype:  # continuing a model trained on the other dtype
            X = X.astype(params.dtype)
            Y = Y.astype(params.dtype)
            if sample_weight is not None:
                sample_weight = sample_weight.astype(params.dtype)

        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, y, Y, sample_weight, split, incremental)

        if not np.isfinite(self._params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _initialize(self, units, Y, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._output_activation(Y)
        self._set_params_buffer(self._init_params(units, dtype, self._random_state), units)
        self._best_params = self._params.copy()
        self._optimizer = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self._init_stochastic_state()

    def _init_stochastic_state(self):
        """Epoch bookkeeping of the stochastic solvers (as scikit-learn's)."""
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _fit_lbfgs(self, X, Y, sample_weight):
        network = self._network()
        params = self._params
        grad = np.empty_like(params)
        data, indices, indptr = kernel_input(X)
        sw = np.empty(0, params.dtype) if sample_weight is None else sample_weight
        Y_flat = Y.reshape(-1)

        def loss_grad(x):
            params[...] = x  # L-BFGS-B works in float64; the kernels in X's dtype
            loss = _kernels.loss_grad(
                network, params, grad, data, indices, indptr, Y_flat, sw, self.alpha
            )
            return loss, grad.astype(np.float64)

        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        if self.verbose:
            options["disp"] = True
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*disp.*", category=DeprecationWarning)
            result = scipy.optimize.minimize(
                loss_grad, params.astype(np.float64), method="L-BFGS-B", jac=True,
                options=options,
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

    def _fit_stochastic(self, X, y, Y, sample_weight, split, incremental):
        params = self._params
        if not hasattr(self, "loss_curve_"):  # warm start after an lbfgs fit
            self._init_stochastic_state()
        if self._optimizer is None or (not incremental and not self.warm_start):
            self._optimizer = StochasticOptimizer(self, params.size, params.dtype)
        optimizer = self._optimizer
        network = self._network()

        if split is not None:
            train, val = split
            X_val, y_val = X[val], y[val]
            sw_val = None if sample_weight is None else sample_weight[val]
            X, Y = X[train], Y[train]
            sample_weight = None if sample_weight is None else sample_weight[train]
        data, indices, indptr = kernel_input(X)
        sw = np.empty(0, params.dtype) if sample_weight is None else sample_weight
        Y_flat = Y.reshape(-1)
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        order = np.arange(n_samples, dtype=np.intp)

        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    # the same permutation stream as scikit-learn's MLP
                    order = shuffle(order, random_state=self._random_state)
                loss_sum, optimizer.step = _kernels.train_epoch(
                    network, params, optimizer.state_1, optimizer.state_2,
                    data, indices, indptr, Y_flat, sw, order, self.shuffle,
                    batch_size, optimizer.kernel_hyper(self),
                )
                self.n_iter_ += 1
                self.loss_ = loss_sum / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                if split is not None:
                    self._update_validation(X_val, y_val, sw_val)
                else:
                    self._update_training_loss()
                optimizer.iteration_ends(self.t_)

                if self._no_improvement_count > self.n_iter_no_change:
                    if split is not None:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
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

        if split is not None:
            params[...] = self._best_params  # restore the best weights

    def _update_training_loss(self):
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]

    def _update_validation(self, X_val, y_val, sw_val):
        score = self._score_validation(X_val, y_val, sw_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print("Validation score: %f" % score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_params[...] = self._params

    # ---- prediction -------------------------------------------------------------------

    def _raw_output(self, X, validate=True):
        """Raw network outputs (n_samples, n_outputs_) for X."""
        if validate:
            check_is_fitted(self)
            X = self._validate_X(X, reset=False)
        params = self._flat_params()
        if X.dtype != params.dtype:
            X = X.astype(params.dtype)
        return predict_raw(self._network(), params, X, params.dtype)

    def _predict_output(self, X, validate=True):
        """Network predictions (output link applied), (n_samples, n_outputs_)."""
        out = self._raw_output(X, validate)
        _kernels.apply_output_link(self._network(), out)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
