"""The estimator core shared by FCNNClassifier and FCNNRegressor.

Python orchestrates, compiled code computes: ``fit`` validates everything first
(``_validation.py``), then initialises or continues the fitted state (the flat
parameter buffer behind ``coefs_`` / ``intercepts_`` and the training state) and
trains (``_training.py``). The public methods that read a fitted model live here too.
"""

from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from . import _compiled, _fast_predict, _guards, _persistence
from ._callbacks import CallbackSupportMixin
from ._network import kernel_input, layer_units_of, make_network, pack, param_views
from ._optim import StochasticOptimizer
from ._output import LayerOutputMixin, hidden_layer_index
from ._registry import (
    ACTIVATIONS,
    INITIALIZERS,
    LOSSES,
    OUTPUT_LOSSES,
    SCHEDULES,
    SOLVERS,
)
from ._training import Monitor, TrainingState, train_lbfgs, train_stochastic
from ._validation import (
    dropout_rates,
    has_dropout,
    hidden_sizes,
    per_layer,
    split_validation,
    validate_fit,
    validate_X,
)

#: hyperparameters every stochastic solver reads, besides its own
_COMMON_HYPER = (
    "learning_rate_init",
    "power_t",
    "alpha",
    "weight_decay",
    "max_grad_norm",
)

#: ``__init__`` -> the parameter names scikit-learn reads from its signature
_PARAM_NAMES = {}


# CallbackSupportMixin: set_callbacks; LayerOutputMixin: set_output,
# get_feature_names_out
class BaseFCNN(CallbackSupportMixin, LayerOutputMixin, BaseEstimator, ABC):
    """Base class of the fcnn_sk estimators; use the derived classes."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS)), "array-like"],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
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
    def __init__(self, **params):
        # the derived classes spell out every parameter (scikit-learn reads their
        # signatures) and hand them over here, to be stored as given
        for name, value in params.items():
            setattr(self, name, value)

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads them off __init__'s signature on every get_params call
        # (clone, set_params, parameter validation: about four per fit of a search),
        # a tenth of a millisecond under the GIL each time; they are fixed per class
        names = _PARAM_NAMES.get(cls.__init__)
        if names is None:
            names = _PARAM_NAMES[cls.__init__] = tuple(super()._get_param_names())
        return list(names)

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
        """Name of the loss the network is trained on (a ``_registry.LOSSES`` key)."""

    @abstractmethod
    def _score_validation(self, X, y, sample_weight):
        """Score (accuracy / R^2) of validated data, for early stopping."""

    def _fit_sample_weight(self, y, sample_weight, incremental):
        """Sample weights of the fit (the classifier folds class_weight in)."""
        return sample_weight

    # ---- fitting ----------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
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

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from fcnn_sk import FCNNClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = FCNNClassifier((32,), max_iter=20, random_state=0)
        >>> clf = clf.fit(X[:1000] / 16, y[:1000], X_val=X[1000:] / 16, y_val=y[1000:])
        >>> len(clf.validation_scores_), len(clf.validation_loss_curve_)
        (20, 20)
        """
        return self._fit(
            X, y, sample_weight, validation=(X_val, y_val, sample_weight_val)
        )

    def _check_solver(self):
        if not SOLVERS[self.solver].stochastic:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    @_guards.restore_on_failure  # a failed call leaves the model as it was
    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        incremental=False,
        classes=None,
        validation=(None, None, None),
    ):
        stochastic = SOLVERS[self.solver].stochastic
        plan = validate_fit(self, X, y, sample_weight, incremental, classes, validation)
        random_state = self._random_stream(plan.first_pass)
        val = plan.val
        if stochastic and self.early_stopping and val is None:
            plan.fit, val = split_validation(self, plan.fit, random_state)
        # memory and value range, before anything is allocated
        _guards.check_fit(self, plan.units, plan.fit, val, plan.first_pass)
        # Nothing above changed the model; from here on it is trained.
        plan.commit()
        if plan.first_pass:
            self._initialize(plan.units, plan.fit.Y, plan.fit.X.dtype, random_state)
        params = self._flat_params()
        fit = plan.fit = plan.fit.astype(
            params.dtype
        )  # a model trained on another dtype
        val = val.astype(params.dtype) if val is not None else None
        if stochastic:
            self._prepare_training(random_state, incremental, val)
            train_stochastic(self, plan, val, incremental)
        else:
            train_lbfgs(self, fit)
        _guards.check_fitted(self)  # non-finite weights or loss are an error
        return self

    def _random_stream(self, first_pass):
        """The random stream of this fit: a continuing training keeps its own (so it
        goes on exactly as one longer training would), unless ``random_state`` was
        changed since; a new one is seeded from ``random_state``."""
        state = None if first_pass else getattr(self, "_training", None)
        if state is not None and _same_seed(state.seeded_from, self.random_state):
            return state.random_state
        return check_random_state(self.random_state)

    def _initialize(self, units, Y, dtype, random_state):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._output_activation()
        self._set_params_buffer(self._init_params(units, dtype, random_state), units)
        self._training = self._lbfgs_memory = None
        for name in (
            "loss_curve_",
            "validation_loss_curve_",
            "grad_norm_curve_",
            "validation_scores_",
            "best_loss_",
            "best_validation_score_",
        ):
            self.__dict__.pop(name, None)

    def _prepare_training(self, random_state, incremental, val):
        """Create or continue the training state of a stochastic fit."""
        state = self._training
        if state is None or (not incremental and not self.warm_start):
            optimizer = StochasticOptimizer(
                SOLVERS[self.solver],
                SCHEDULES[self.learning_rate],
                self._solver_hyper(),
                self._params.size,
                self._params.dtype,
            )
            state = self._training = TrainingState(
                optimizer, random_state, Monitor(self.tol, self.early_stopping)
            )
        if state.random_state is not random_state:
            state.random_state, state.dropout_seed = random_state, None
        state.seeded_from = self.random_state
        # drawn only with dropout, so the random stream is otherwise scikit-learn's
        if state.dropout_seed is None and has_dropout(self):
            state.dropout_seed = int(random_state.randint(2**62))
        state.optimizer.hyper = self._solver_hyper()
        if not hasattr(self, "loss_curve_"):  # a first stochastic fit
            self.loss_curve_ = []
            self.grad_norm_curve_ = np.empty((0, self.n_layers_ - 1))
            self.validation_scores_ = [] if self.early_stopping else None
            self.validation_loss_curve_ = None
        if val is not None:
            self.validation_scores_ = self.validation_scores_ or []
            self.validation_loss_curve_ = self.validation_loss_curve_ or []

    def _solver_hyper(self):
        """The typed hyperparameters of this estimator's stochastic solver."""
        names = (*_COMMON_HYPER, *SOLVERS[self.solver].params)
        hyper = {name: getattr(self, name) for name in names}
        return {
            name: value if value is None or isinstance(value, bool) else float(value)
            for name, value in hyper.items()
        }

    # ---- the parameters ---------------------------------------------------------------

    def _init_params(self, units, dtype, random_state):
        params = np.empty(sum(a * b + b for a, b in zip(units[:-1], units[1:])), dtype)
        coefs, intercepts = param_views(params, units)
        init = INITIALIZERS[self.weight_init].init
        for coef, intercept, activation in zip(
            coefs, intercepts, self._gain_activations(len(units) - 2)
        ):
            init(
                coef,
                intercept,
                ACTIVATIONS[activation].glorot_factor
                if activation in ACTIVATIONS
                else 6.0,
                random_state,
            )
        return params

    def _gain_activations(self, n_hidden):
        """The activation whose Glorot gain each weight layer takes: the one it
        feeds; the output layer takes the last hidden one's, so one name behaves as
        in scikit-learn (a network without hidden layers: ``activation`` itself)."""
        if n_hidden == 0:
            return [self.activation if isinstance(self.activation, str) else ""]
        acts = per_layer("activation", self.activation, n_hidden)
        return [*acts, acts[-1]]

    def _set_params_buffer(self, params, units):
        self._params = params
        self.coefs_, self.intercepts_ = param_views(params, units)

    def _flat_params(self):
        """The flat buffer behind ``coefs_`` / ``intercepts_``, rebuilt if they were
        replaced (assigned by the user, or unpickled as separate arrays)."""
        params = getattr(self, "_params", None)
        arrays = [*self.coefs_, *self.intercepts_]
        if (
            params is None
            or len(self.coefs_) != len(self.intercepts_)
            or any(a.base is not params for a in arrays)
        ):
            _guards.check_layout(self)  # assigned arrays must form the fitted network
            packed = pack(self.coefs_, self.intercepts_)
            if not np.isfinite(packed).all():  # before the model changes
                raise ValueError(
                    "The model's weights contain inf or NaN: coefs_ / intercepts_ "
                    f"hold values that are not finite in {packed.dtype} (the arrays "
                    "are packed in coefs_[0]'s dtype); assign finite weights."
                )
            self._set_params_buffer(packed, layer_units_of(self.coefs_))
        return self._params

    def _network(self, loss=None, training=False):
        """The compiled network of the fitted model: with the training loss and the
        dropout rates for training, else with the loss of its output activation."""
        units = layer_units_of(self.coefs_)
        n_hidden = len(units) - 2
        loss = loss or (
            self._training_loss() if training else OUTPUT_LOSSES[self.out_activation_]
        )
        activations = per_layer("activation", self.activation, n_hidden)
        # the parameters the activations and the loss read, from their registries
        options = {
            p: getattr(self, p)
            for name in activations
            for p in ACTIVATIONS[name].params
        }
        options.update({p: getattr(self, p) for p in LOSSES[loss].params})
        return make_network(
            units,
            activations,
            loss,
            dropout=dropout_rates(self, n_hidden) if training else None,
            **options,
        )

    def __getstate__(self):
        # a stamped copy (_persistence.py): object.__getstate__ returns the live
        # __dict__, and the live model keeps its state (a callback's fitted_estimator
        # is a copy.copy of a model during its fit)
        state = _persistence.stamp(super().__getstate__())
        state.pop("_params", None)  # coefs_ / intercepts_ carry the values
        return state

    def __setstate__(self, state):
        # older layouts upgraded, or an error naming both versions (_persistence.py)
        super().__setstate__(_persistence.restore(type(self).__name__, state))

    # ---- prediction and more ----------------------------------------------------------

    def _raw_output(self, X, validate=True, n_run=None, network=None):
        """Raw network outputs (or hidden layer ``n_run``'s activations) for X,
        through ``network`` (default: the fitted model's, built here)."""
        if validate:
            check_is_fitted(self)
            X = validate_X(self, X)
        params = self._flat_params()
        if X.dtype != params.dtype:
            X = X.astype(params.dtype)
        # the memory estimate, and an error naming the layer that overflowed
        return _guards.checked_forward(
            network or self._network(), params, X, n_run, check=validate
        )

    def _predict_output(self, X, validate=True):
        """Network predictions (output link applied), (n_samples, n_outputs_)."""
        network = self._network()
        out = self._raw_output(X, validate, network=network)
        _compiled.kernels.apply_output_link(network, out)
        if validate:
            _guards.check_link(self, out)  # the exp link can overflow
        return out

    def _has_hidden_layer(self):
        try:
            return len(hidden_sizes(self)) > 0
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

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from fcnn_sk import FCNNClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = FCNNClassifier((32, 16), max_iter=20, random_state=0).fit(X / 16, y)
        >>> clf.transform(X / 16).shape, clf.transform(X / 16, layer=0).shape
        ((1797, 16), (1797, 32))
        """
        # a short path for a plain ndarray of the fitted dtype (_fast_predict.py)
        if (out := _fast_predict.transform(self, X, layer)) is not None:
            return out
        check_is_fitted(self)
        return self._raw_output(X, n_run=hidden_layer_index(self, layer) + 1)

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

        Examples
        --------
        The fast gradient sign method: a small step along the sign of the gradient
        raises each sample's loss.

        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.metrics import log_loss
        >>> from fcnn_sk import FCNNClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> X = X / 16
        >>> clf = FCNNClassifier((32,), max_iter=50, random_state=0).fit(X, y)
        >>> grad = clf.input_gradient(X, y)
        >>> grad.shape
        (1797, 64)
        >>> X_adv = X + 0.1 * np.sign(grad)
        >>> bool(log_loss(y, clf.predict_proba(X_adv)) > log_loss(y, clf.predict_proba(X)))
        True
        """
        check_is_fitted(self)
        X, y = validate_X(self, X, y)
        _, Y = self._encode_more_targets(y)
        params = self._flat_params()
        X = X.astype(params.dtype, copy=False)
        network = self._network(loss=self._training_loss())
        _guards.before_input_gradient(network, params, X, np.asarray(Y))
        out = np.empty(X.shape, dtype=params.dtype)
        _compiled.kernels.input_grad(
            network,
            params,
            *kernel_input(X),
            np.ascontiguousarray(Y, dtype=params.dtype).reshape(-1),
            out,
        )
        _guards.check_input_gradient(out, network, params, X)
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


def init_arguments(local_vars):
    """The parameters of a derived class's ``__init__``, from its ``locals()``."""
    return {k: v for k, v in local_vars.items() if k not in ("self", "__class__")}


def _same_seed(a, b):
    """Whether two ``random_state`` values seed the same stream: equal integers,
    the same RandomState instance, or both None (a stream of fresh entropy)."""
    if isinstance(a, Integral | np.integer) and isinstance(b, Integral | np.integer):
        return int(a) == int(b)
    return a is b
