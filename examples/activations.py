"""
Activation functions and their derivatives
==========================================

Every hidden-layer activation fcnn_sk offers, and its derivative, computed by the
library's compiled kernels rather than by a second implementation in numpy: the
values come from the forward pass, the derivatives from backpropagation.

The trick: a network with one input, one hidden unit and one linear output, all
weights 1 and biases 0, computes :math:`f(z)` in its hidden unit for the input
:math:`z`, which :meth:`~fcnn_sk.FCNNRegressor.transform` returns. Its gradient of
the half squared error with respect to the input is
:math:`(f(z) - y)\\,f'(z)`, which :meth:`~fcnn_sk.FCNNRegressor.input_gradient`
returns; with the target :math:`y = f(z) - 1` that is :math:`f'(z)` itself.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fcnn_sk import FCNNRegressor

# the values of the ``activation`` parameter
ACTIVATIONS = [
    "identity",
    "logistic",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "swish",
]


def unit_network(activation, negative_slope=0.1):
    """A fitted 1-1-1 network whose hidden unit computes ``activation(z)``."""
    model = FCNNRegressor(
        (1,), activation=activation, negative_slope=negative_slope, max_iter=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.zeros((2, 1)), np.zeros(2))  # to create the weights
    # coefs_ and intercepts_ are views of the parameters: set them in place
    for coef, intercept in zip(model.coefs_, model.intercepts_):
        coef[...] = 1.0
        intercept[...] = 0.0
    return model


z = np.linspace(-4, 4, 401).reshape(-1, 1)
values, derivatives = {}, {}
for name in ACTIVATIONS:
    model = unit_network(name)
    f = model.transform(z).ravel()
    values[name] = f
    derivatives[name] = model.input_gradient(z, f - 1.0).ravel()

# %%
# A check of the derivatives
# --------------------------
# Central differences of the computed values agree with the derivatives from
# backpropagation, up to the error of the central difference itself (of the order
# of the step squared, 4e-4 here), and away from the kinks of relu and leaky_relu
# at zero.
step = z[1, 0] - z[0, 0]
smooth = np.abs(z[1:-1, 0]) > 2 * step
for name in ACTIVATIONS:
    difference = (values[name][2:] - values[name][:-2]) / (2 * step)
    error = np.abs(difference - derivatives[name][1:-1])[smooth].max()
    print(f"{name:<11} max |f' - central difference of f| = {error:.1e}")

# %%
# The plots
# ---------
# ``leaky_relu`` is drawn with ``negative_slope=0.1`` (the default is 0.01) so that
# its slope below zero shows.
fig, axes = plt.subplots(3, 3, figsize=(10, 8.5), sharex=True, layout="constrained")
for ax, name in zip(axes.flat, ACTIVATIONS):
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.plot(z, values[name], label="$f(z)$")
    ax.plot(z, derivatives[name], "--", label="$f'(z)$")
    ax.set_title(name)
    ax.set_ylim(-1.6, 4.1)
for ax in axes[-1]:
    ax.set_xlabel("$z$")
axes[0, 0].legend(loc="upper left")
plt.show()
