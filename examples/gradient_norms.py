"""
Gradient norms per layer: vanishing gradients
=============================================

Every fit with a stochastic solver ('sgd', 'adam', 'rmsprop') records, per epoch
and per weight matrix ``coefs_[i]``, the norm of its gradient averaged over the
epoch's mini-batches: ``grad_norm_curve_``, of shape ``(n_epochs, n_layers_ - 1)``.
It needs no parameter to switch it on.

With the logistic sigmoid, whose derivative is at most 1/4, the gradient shrinks by
a factor at every layer it is propagated back through: in a deep network the first
layers hardly learn. ReLU's derivative is 1 wherever the unit is active, and the
gradient reaches the first layers intact. Here are the two, in a network of eight
hidden layers of 64 units, on the handwritten digits that ship with scikit-learn.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fcnn_sk import FCNNClassifier, TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# Two deep networks
# -----------------
# The same architecture, initialisation (scikit-learn's Glorot uniform draw) and
# solver (Adam, all 40 epochs); only the activation differs.
models = {}
for activation in ["logistic", "relu"]:
    model = FCNNClassifier(
        (64,) * 8,
        activation=activation,
        max_iter=40,
        n_iter_no_change=40,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
        models[activation] = model.fit(X_train, y_train)
    norms = model.grad_norm_curve_[0]
    print(
        f"{activation:<9} test accuracy {model.score(X_test, y_test):.3f}; "
        f"first epoch: gradient norm of coefs_[0] {norms[0]:.1e}, "
        f"of coefs_[{len(norms) - 1}] {norms[-1]:.1e}"
    )

# %%
# The gradient, layer by layer
# ----------------------------
# The norms of the first epoch, from the first weight matrix (input to first hidden
# layer) to the last (last hidden layer to output). The logistic network's gradient
# falls by a factor of several per layer towards the input; its first layers keep
# their random initial weights, and the network predicts no better than chance.
fig, (ax_layers, ax_loss) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for activation, model in models.items():
    norms = model.grad_norm_curve_[0]
    ax_layers.semilogy(np.arange(len(norms)), norms, "o-", label=activation)
    ax_loss.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, label=activation)
ax_layers.set(
    xlabel="weight matrix i (coefs_[i]; 0 is next to the input)",
    ylabel="gradient norm, first epoch",
    title="Gradient norm per layer",
)
ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
for ax in (ax_layers, ax_loss):
    ax.legend(title="activation")
    ax.grid(alpha=0.3)
plt.show()

# %%
# Over the whole training
# -----------------------
# ``TrainingCurveDisplay`` draws the loss and, with ``show_grad_norms=True``, the
# gradient norm of every layer for every epoch. The ReLU network's norms stay
# within one order of magnitude of each other across the layers; the logistic
# network's are spread over several.
fig, axes = plt.subplots(
    2, 2, figsize=(12, 7), sharex=True, sharey="row", layout="constrained"
)
for column, (activation, model) in enumerate(models.items()):
    display = TrainingCurveDisplay.from_estimator(
        model, ax=axes[:, column], show_grad_norms=True, name=activation
    )
    display.grad_ax_.get_legend().remove()  # one legend for both, beside them
handles, labels = display.grad_ax_.get_legend_handles_labels()
fig.legend(handles, labels, loc="outside right center", title="gradient of")
plt.show()
