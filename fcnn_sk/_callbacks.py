"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

A fit is one root task with one subtask per epoch (per iteration for L-BFGS), as
``LogisticRegression`` lays out its tasks. Each task's hooks get the training data, the
sample weights as ``metadata`` and, on request, a ``fitted_estimator``: a copy of the
model as if the fit had stopped at that point, built from independent copies of its
state (never views into the training buffers). A callback whose ``on_fit_task_end``
returns True ends the fit after that epoch, through the same exit as early stopping.

A ``fitted_estimator`` has no callbacks: training it further (``partial_fit`` in a
callback) neither calls the fit's callbacks again nor joins its task tree.

With an older scikit-learn, ``CallbackSupportMixin`` has no ``set_callbacks`` and every
hook of ``FitTasks`` does nothing. With no callback set and no meta-estimator propagating
its context, the hooks do nothing either, so a plain fit pays nothing for them.
"""

import copy

import numpy as np

from ._network import layer_units_of, param_views

try:
    from sklearn.callback import CallbackSupportMixin as _SklearnCallbackSupport
except ImportError:  # scikit-learn < 1.9: no callback API to support

    class _SklearnCallbackSupport:
        pass


#: what scikit-learn's callback machinery keeps on an estimator during a fit
_CALLBACK_STATE = frozenset(
    {
        "_skl_callbacks",
        "_skl_callbacks_to_teardown",
        "_callback_fit_ctx",
        "_parent_callback_ctx",
    }
)


class CallbackSupportMixin(_SklearnCallbackSupport):
    """scikit-learn's ``CallbackSupportMixin`` (``set_callbacks``), and shallow
    copies that, made during a fit (scikit-learn builds a callback's
    ``fitted_estimator`` with ``copy.copy``), leave the fit's callbacks behind."""

    def __copy__(self):
        new = type(self).__new__(type(self))
        during_fit = "_callback_fit_ctx" in self.__dict__
        new.__dict__.update(
            (name, value)
            for name, value in self.__dict__.items()
            if not (during_fit and name in _CALLBACK_STATE)
        )
        return new


def _has_callbacks(estimator):
    """Whether a fit of ``estimator`` must open callback tasks: it has callbacks, or a
    meta-estimator above it that gave it its context (whose task tree the fit's tasks
    join) has some. With none anywhere above, nobody reads the tree: a fit inside a
    search without callbacks opens no task per epoch (they cost GIL-held time that
    threads running a search's fits side by side would wait for)."""
    if not hasattr(estimator, "_init_callback_context"):
        return False
    if getattr(estimator, "_skl_callbacks", None):
        return True
    context = getattr(estimator, "_parent_callback_ctx", None)
    while context is not None:
        if not hasattr(context, "_callbacks") or context._callbacks:
            return True  # (a context of unknown shape: open the tasks)
        context = getattr(context, "parent", None)
    return False


class FitTasks:
    """The callback tasks of one fit, opened by the training loop.

    Parameters
    ----------
    estimator : BaseFCNN
        The estimator being fitted.
    X, y : arrays
        The data the network trains on (passed to the hooks).
    sample_weight : ndarray or None
        The weights the loss uses (class weights folded in), passed to the hooks as
        ``metadata={"sample_weight": ...}``.
    max_subtasks : int
        The most epochs (iterations) the fit can run.
    lbfgs : bool, default=False
        Whether the fit runs L-BFGS: its tasks are named 'iteration', not 'epoch',
        and its model is always the current iterate (early stopping is for the
        stochastic solvers).
    """

    def __init__(self, estimator, X, y, sample_weight, max_subtasks, *, lbfgs=False):
        self._estimator = estimator
        self._task_name = "iteration" if lbfgs else "epoch"
        # the end of a stochastic fit with early stopping restores the best weights
        self._best = not lbfgs and bool(getattr(estimator, "early_stopping", False))
        self._task = None  # the open epoch task
        self._rows = ()  # the loop's gradient-norm rows not yet in grad_norm_curve_
        self._stacked_rows = None  # the same, stacked so far
        self._ctx = None
        if not _has_callbacks(estimator):
            return
        self._X, self._y = X, y
        self._metadata = (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        self._ctx = estimator._init_callback_context(max_subtasks=max_subtasks)
        self._ctx.call_on_fit_task_begin(
            estimator=estimator, X=X, y=y, metadata=self._metadata
        )

    def begin_epoch(self):
        """An epoch (iteration) begins: a new task, with the model as it is now."""
        if self._ctx is None:
            return
        self._task = self._ctx.subcontext(task_name=self._task_name)
        self._task.call_on_fit_task_begin(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._snapshot,
        )

    def end_epoch(self, grad_norm_rows=()):
        """The open epoch ended, the model updated: True if a callback asks to stop.

        ``grad_norm_rows`` is the loop's list of this fit's gradient-norm rows, not
        yet stacked into ``grad_norm_curve_``.
        """
        if self._task is None:
            return False
        self._rows = grad_norm_rows
        task, self._task = self._task, None
        return task.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._snapshot,
        )

    def finish(self):
        """The fit ended. An iteration task still open (an L-BFGS iteration whose
        line search failed) ends empty, as scikit-learn ends the extra L-BFGS task."""
        if self._ctx is None:
            return
        if self._task is not None:
            task, self._task = self._task, None
            task.call_on_fit_task_end(estimator=self._estimator)
        self._rows = ()  # the loop has stacked them into grad_norm_curve_
        self._ctx.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._snapshot,
        )

    def _snapshot(self):
        """``reconstruction_attributes`` of the model as it is now (called by
        scikit-learn only when a callback asks for a ``fitted_estimator``)."""
        return snapshot_attributes(
            self._estimator,
            best=self._best,
            data=(self._X, self._y),
            grad_norm_rows=self._stack_rows(),
        )

    def _stack_rows(self):
        """The pending gradient-norm rows as one array, stacking only those new since
        the last call: a snapshot per epoch costs no time in the number of epochs."""
        rows = self._rows
        done = 0 if self._stacked_rows is None else len(self._stacked_rows)
        if len(rows) > done:
            new = np.array(rows[done:])
            self._stacked_rows = (
                new
                if self._stacked_rows is None
                else np.concatenate([self._stacked_rows, new])
            )
        return self._stacked_rows if len(rows) else ()

    def lbfgs_hooks(self, fun_grad):
        """``(fun_grad, on_iteration)`` for ``minimize_lbfgs``.

        An iteration's task begins with its first evaluation of the loss, so that
        the tasks are the iterations run; ``on_iteration(n_iter, f, x)`` stores the
        iterate in the model (so that a callback that raises leaves the model of
        the last completed iteration), ends the task and returns the callbacks'
        request to stop. Without callbacks, ``(fun_grad, None)``.
        """
        if self._ctx is None:
            return fun_grad, None

        def on_iteration(n_iter, f, x):
            estimator = self._estimator
            estimator._flat_params()[...] = x
            estimator.n_iter_, estimator.loss_ = n_iter, float(f)
            return self.end_epoch()

        def fun(x, g):
            if self._task is None:
                self.begin_epoch()
            return fun_grad(x, g)

        return fun, on_iteration


def snapshot_attributes(estimator, *, best=False, data=(), grad_norm_rows=()):
    """Attributes that turn a shallow copy of ``estimator`` into the model as if its
    fit ended now: ``sklearn.callback``'s ``reconstruction_attributes``.

    Every fitted attribute and every piece of training state (optimizer state,
    early-stopping record) is copied, so the copy can predict, be pickled or be
    trained further without touching the fit in progress. The weights are a new
    flat buffer with ``coefs_`` and ``intercepts_`` views into it; with ``best``, the
    best epoch's weights, which the end of a fit with early stopping restores.
    ``grad_norm_rows`` are rows of ``grad_norm_curve_`` the fit has not stored yet;
    ``data`` are arrays shared, not copied, should the model refer to them.
    """
    skip = (
        _CALLBACK_STATE
        | _param_names(type(estimator))
        | {"_params", "coefs_", "intercepts_"}
    )
    memo = {id(a): a for a in data if a is not None}
    attributes = {
        name: _copy(value, memo)
        for name, value in vars(estimator).items()
        if name not in skip
    }
    params = np.array(
        estimator._training.monitor.best_params if best else estimator._flat_params(),
        copy=True,
    )
    if len(grad_norm_rows):
        attributes["grad_norm_curve_"] = np.concatenate(
            [estimator.grad_norm_curve_, grad_norm_rows]
        )
    attributes["_params"] = params
    attributes["coefs_"], attributes["intercepts_"] = param_views(
        params, layer_units_of(estimator.coefs_)
    )
    return attributes


_PARAM_NAMES = {}
_NUMBERS = {float, int, bool, np.float64, np.float32}


def _param_names(cls):
    """The constructor parameters of ``cls`` (``get_params`` inspects the signature
    on every call; a snapshot per epoch should not)."""
    if cls not in _PARAM_NAMES:
        _PARAM_NAMES[cls] = frozenset(cls._get_param_names())
    return _PARAM_NAMES[cls]


def _copy(value, memo):
    """An independent copy of a fitted attribute, made quickly for the common kinds."""
    if value is None or type(value) in _NUMBERS or isinstance(value, str):
        return value  # immutable
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list) and set(map(type, value)) <= _NUMBERS:
        return list(value)  # the curves: numbers are immutable
    if isinstance(value, np.random.RandomState | np.random.Generator):
        # shared: a fit of the copy draws its stream anew from ``random_state``
        # (which the shallow copy shares anyway), and copying one is slow
        return value
    return copy.deepcopy(value, memo)
