"""TrainingCurveDisplay: the training curves of a fitted network, drawn with matplotlib.

Follows scikit-learn's Display conventions (``RocCurveDisplay``,
``LearningCurveDisplay``): the constructor takes the data, ``from_estimator`` reads
it from a fitted model and plots, ``plot`` draws and stores the matplotlib objects in
attributes ending in ``_``. matplotlib is imported only when drawing.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

_MATPLOTLIB_HINT = (
    "requires matplotlib, which fcnn_sk's 'plot' extra installs: "
    "pip install 'fcnn_sk[plot]' (or pip install matplotlib)."
)


def _check_matplotlib(caller):
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{caller} {_MATPLOTLIB_HINT}") from e


def _network_of(estimator):
    """The network inside ``estimator``: itself, the last step of a Pipeline, or a
    search's ``best_estimator_`` (and so on, nested)."""
    seen = estimator
    for _ in range(16):
        if hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "steps") and hasattr(estimator, "_final_estimator"):
            estimator = estimator._final_estimator
        else:
            break
    if not hasattr(estimator, "loss_curve_"):
        if hasattr(estimator, "coefs_"):
            raise ValueError(
                f"{type(estimator).__name__} has no loss_curve_: the stochastic "
                "solvers ('sgd', 'adam', 'rmsprop') record the loss of each epoch, "
                "solver='lbfgs' does not."
            )
        check_is_fitted(estimator)
        raise TypeError(
            "TrainingCurveDisplay.from_estimator needs a fitted FCNNClassifier or "
            "FCNNRegressor (alone, as the last step of a Pipeline, or as a search's "
            f"best_estimator_), got {type(seen).__name__}."
        )
    return estimator


def _epochs(n_epochs, values, what):
    """Epoch numbers (from 1) of the curve ``values``: the last ``len(values)`` epochs
    of the ``n_epochs`` (a warm-started fit may add validation data late)."""
    if len(values) > n_epochs:
        raise ValueError(
            f"{what} has {len(values)} entries, more than the {n_epochs} epochs of "
            "loss_curve."
        )
    return np.arange(n_epochs - len(values) + 1, n_epochs + 1)


class TrainingCurveDisplay:
    """Training curves of a fitted network: loss, validation, gradient norms.

    The training loss per epoch, the validation loss and the validation score where
    the model has them (the score on a second y axis), and optionally the
    per-layer gradient norms in a second panel. Build it with
    :meth:`from_estimator`; the constructor takes the curves themselves.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training loss after each epoch.
    validation_loss_curve : array-like of shape (n_val_epochs,), default=None
        The validation loss after each of the last ``n_val_epochs`` epochs.
    validation_scores : array-like of shape (n_val_epochs,), default=None
        The validation score after each of the last ``n_val_epochs`` epochs.
    grad_norm_curve : array-like of shape (n_epochs, n_weight_layers), default=None
        Per epoch, the gradient norm of each weight matrix ``coefs_[i]``.
    score_name : str, default=None
        Label of the validation score ('validation score' if None).
    name : str, default=None
        Name of the model, the title of the plot.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    score_ax_ : matplotlib Axes or None
        The second y axis of ``ax_``, with the validation score, if plotted.
    grad_ax_ : matplotlib Axes or None
        The axes of the gradient norms, if plotted.
    figure_ : matplotlib Figure
        The figure holding the axes.
    lines_ : dict of str to matplotlib Line2D
        The lines drawn: 'loss', 'validation_loss', 'validation_score' and
        'grad_norm_<i>' for ``coefs_[i]``, those that were plotted.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the training size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from fcnn_sk import FCNNClassifier, TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = FCNNClassifier((32,), early_stopping=True, max_iter=30, random_state=0)
    >>> clf = clf.fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf, show_grad_norms=True)
    >>> sorted(display.lines_)
    ['grad_norm_0', 'grad_norm_1', 'loss', 'validation_loss', 'validation_score']
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_loss_curve=None,
        validation_scores=None,
        grad_norm_curve=None,
        score_name=None,
        name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.grad_norm_curve = grad_norm_curve
        self.score_name = score_name
        self.name = name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        show_grad_norms=False,
        loss_kwargs=None,
        validation_loss_kwargs=None,
        validation_score_kwargs=None,
        grad_norm_kwargs=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, or a pair of them with ``show_grad_norms``, default=None
            Where to draw: the losses (and the score, on a second y axis) go to the
            first axes, the gradient norms to the second. None makes a new figure
            (two panels, one above the other, with ``show_grad_norms``).
        name : str, default=None
            Title of the plot; ``self.name`` if None.
        show_grad_norms : bool, default=False
            Also draw the gradient norm of each weight matrix (log scale).
        loss_kwargs, validation_loss_kwargs, validation_score_kwargs, \
grad_norm_kwargs : dict, default=None
            Keyword arguments for matplotlib's ``plot`` of each kind of curve.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, with ``ax_``, ``score_ax_``, ``grad_ax_``, ``figure_`` and
            ``lines_`` set.

        Examples
        --------
        Curves given as lists (a loss per epoch), drawn on given axes:

        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from fcnn_sk import TrainingCurveDisplay
        >>> fig, ax = plt.subplots()
        >>> display = TrainingCurveDisplay(loss_curve=[2.3, 1.1, 0.6, 0.4])
        >>> display = display.plot(ax=ax, name="four epochs")
        >>> display.ax_ is ax, sorted(display.lines_)
        (True, ['loss'])
        """
        _check_matplotlib("TrainingCurveDisplay.plot")
        import matplotlib.pyplot as plt

        loss = np.asarray(self.loss_curve, dtype=float).ravel()
        if loss.size == 0:
            raise ValueError("loss_curve is empty: there is no epoch to plot.")
        grad_norms = None
        if show_grad_norms:
            if self.grad_norm_curve is None:
                raise ValueError(
                    "show_grad_norms=True but there is no grad_norm_curve."
                )
            grad_norms = np.asarray(self.grad_norm_curve, dtype=float)
            if grad_norms.ndim != 2:
                raise ValueError(
                    "grad_norm_curve must be 2-D (n_epochs, n_weight_layers), got "
                    f"shape {grad_norms.shape}."
                )
        if ax is None:
            if show_grad_norms:
                _, (ax, grad_ax) = plt.subplots(
                    2, 1, sharex=True, figsize=(6.4, 6.4), layout="constrained"
                )
            else:
                _, ax = plt.subplots(layout="constrained")
                grad_ax = None
        elif show_grad_norms:
            if np.ndim(ax) != 1 or len(ax) != 2:
                raise ValueError(
                    "With show_grad_norms=True, ax must be a pair of Axes (losses, "
                    "gradient norms)."
                )
            ax, grad_ax = ax
        else:
            if np.ndim(ax) != 0:
                raise ValueError("ax must be one matplotlib Axes.")
            grad_ax = None

        n_epochs = loss.size
        lines = {}
        (lines["loss"],) = ax.plot(
            np.arange(1, n_epochs + 1),
            loss,
            **{"label": "training loss", **(loss_kwargs or {})},
        )
        if self.validation_loss_curve is not None and len(self.validation_loss_curve):
            values = np.asarray(self.validation_loss_curve, dtype=float).ravel()
            kwargs = {"label": "validation loss", **(validation_loss_kwargs or {})}
            (lines["validation_loss"],) = ax.plot(
                _epochs(n_epochs, values, "validation_loss_curve"), values, **kwargs
            )
        if grad_ax is None:
            ax.set_xlabel("epoch")
        ax.set_ylabel("loss")

        score_ax = None
        if self.validation_scores is not None and len(self.validation_scores):
            values = np.asarray(self.validation_scores, dtype=float).ravel()
            score_name = self.score_name or "validation score"
            score_ax = ax.twinx()
            color = f"C{len(lines)}"  # the default cycle's next colour after the losses
            kwargs = {
                "label": score_name,
                "color": color,
                "linestyle": "--",
                **(validation_score_kwargs or {}),
            }
            (lines["validation_score"],) = score_ax.plot(
                _epochs(n_epochs, values, "validation_scores"), values, **kwargs
            )
            score_ax.set_ylabel(score_name)
        if score_ax is not None:
            # the loss axes over the score's, so that their legend (of both) is on top
            ax.set_zorder(score_ax.get_zorder() + 1)
            ax.patch.set_visible(False)
        handles = list(lines.values())
        ax.legend(handles, [line.get_label() for line in handles], loc="best")

        if grad_ax is not None:
            epochs = _epochs(n_epochs, grad_norms, "grad_norm_curve")
            for i in range(grad_norms.shape[1]):
                kwargs = {"label": f"coefs_[{i}]", **(grad_norm_kwargs or {})}
                (lines[f"grad_norm_{i}"],) = grad_ax.plot(
                    epochs, grad_norms[:, i], **kwargs
                )
            grad_ax.set_yscale("log")
            grad_ax.set_xlabel("epoch")
            grad_ax.set_ylabel("gradient norm")
            grad_ax.legend(loc="best")

        name = self.name if name is None else name
        if name is not None:
            ax.set_title(name)
        self.ax_, self.score_ax_, self.grad_ax_ = ax, score_ax, grad_ax
        self.figure_ = ax.figure
        self.lines_ = lines
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, ax=None, name=None, show_grad_norms=False, **kwargs
    ):
        """Plot the training curves of a fitted network.

        Parameters
        ----------
        estimator : estimator instance
            A fitted FCNNClassifier or FCNNRegressor trained by a stochastic
            solver; also the last step of a Pipeline, or a fitted search whose
            ``best_estimator_`` is one of those. Any estimator with scikit-learn's
            MLP attributes (``loss_curve_``, ``validation_scores_``) works too.
        ax : matplotlib Axes, or a pair of them with ``show_grad_norms``, default=None
            Where to draw (see :meth:`plot`).
        name : str, default=None
            Title of the plot; the class name of the network if None.
        show_grad_norms : bool, default=False
            Also draw ``grad_norm_curve_`` in a second panel.
        **kwargs : dict
            The line keyword arguments of :meth:`plot`.

        Returns
        -------
        display : TrainingCurveDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import MinMaxScaler
        >>> from fcnn_sk import FCNNClassifier, TrainingCurveDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> model = make_pipeline(MinMaxScaler(), FCNNClassifier((32,), max_iter=20,
        ...                                                      random_state=0))
        >>> display = TrainingCurveDisplay.from_estimator(model.fit(X, y))
        >>> display.ax_.get_title(), len(display.lines_["loss"].get_xdata())
        ('FCNNClassifier', 20)
        """
        _check_matplotlib("TrainingCurveDisplay.from_estimator")
        network = _network_of(estimator)
        grad_norm_curve = getattr(network, "grad_norm_curve_", None)
        if show_grad_norms and grad_norm_curve is None:
            raise ValueError(
                f"{type(network).__name__} has no grad_norm_curve_ to plot; use "
                "show_grad_norms=False."
            )
        display = cls(
            loss_curve=network.loss_curve_,
            validation_loss_curve=getattr(network, "validation_loss_curve_", None),
            validation_scores=getattr(network, "validation_scores_", None),
            grad_norm_curve=grad_norm_curve,
            score_name=(
                "validation accuracy" if is_classifier(network) else "validation R²"
            ),
            name=type(network).__name__ if name is None else name,
        )
        return display.plot(ax=ax, show_grad_norms=show_grad_norms, **kwargs)
