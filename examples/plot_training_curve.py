"""
Training curves with TrainingCurveDisplay
=========================================

:class:`~fcnn_sk.TrainingCurveDisplay` draws what a fit recorded per epoch: the
training loss, the loss and the score on validation data where there are some (the
score on a second y axis), and, with ``show_grad_norms=True``, the gradient norm of
every weight matrix in a second panel. It follows scikit-learn's display
conventions: ``from_estimator`` reads a fitted model (alone, in a pipeline or a
search) and plots; the matplotlib objects are in ``ax_``, ``figure_`` and
``lines_``.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fcnn_sk import FCNNClassifier, TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(
    X / 16, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# A fit with validation data
# --------------------------
# ``X_val`` and ``y_val`` are scored after every epoch (``validation_loss_curve_``,
# ``validation_scores_``); they do not stop the training unless
# ``early_stopping=True``.
clf = FCNNClassifier(
    (128, 64),
    dropout=0.2,
    learning_rate_init=3e-3,
    max_iter=60,
    n_iter_no_change=60,
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
    clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(
    f"{clf.n_iter_} epochs, final validation accuracy {clf.validation_scores_[-1]:.3f}"
)

# %%
# The display
# -----------
# The training loss is measured on the network thinned by dropout, the validation
# loss on the whole network.
display = TrainingCurveDisplay.from_estimator(
    clf, show_grad_norms=True, name="FCNNClassifier on the digits, 64-128-64-10"
)
display.ax_.get_legend().set_loc("center right")  # clear of the accuracy curve
plt.show()

# %%
# Customising
# -----------
# ``from_estimator`` and ``plot`` also draw on axes of your own, with keyword arguments
# for each kind of curve; here two fits side by side, with and without dropout.
# Without dropout the training loss falls far below the validation loss, which
# levels off: the network learns its training digits by heart. Dropout keeps the
# two closer together.
plain = FCNNClassifier(
    (128, 64), learning_rate_init=3e-3, max_iter=60, n_iter_no_change=60, random_state=0
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    plain.fit(X_train, y_train, X_val=X_val, y_val=y_val)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
for ax, model, name in [(axes[0], plain, "no dropout"), (axes[1], clf, "dropout 0.2")]:
    display = TrainingCurveDisplay.from_estimator(
        model, ax=ax, name=name, loss_kwargs={"lw": 2}, validation_loss_kwargs={"lw": 2}
    )
    ax.set_yscale("log")
    ax.get_legend().remove()  # one legend for both, below them
handles = list(display.lines_.values())
fig.legend(
    handles, [h.get_label() for h in handles], loc="outside lower center", ncols=3
)
plt.show()
