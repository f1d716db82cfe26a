"""
Recovering a linear map
=======================

The first exercise of the "network from scratch" write-ups: a network without
hidden layers and with the identity output is linear regression,
:math:`y = x W + b`, and training must find :math:`W` and :math:`b`. Here the data
are exact (no noise), so both solvers must recover the map to many decimals.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fcnn_sk import FCNNRegressor

W = np.array([[3.0, 7.0, 4.0], [5.0, 2.0, 6.0]])
b = np.array([2.0, 9.0, 3.0])

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(500, 2))
y = X @ W + b

# %%
# Two solvers
# -----------
# L-BFGS solves this convex problem in a few iterations. Adam takes mini-batch steps
# and runs a fixed 2000 epochs (``tol=0`` and a patience longer than the run, so it
# never stops early; the ``ConvergenceWarning`` at the end is expected). No L2
# penalty (``alpha=0``), which would shrink the weights.
models = {
    "lbfgs": FCNNRegressor(
        (), activation="identity", solver="lbfgs", alpha=0.0, random_state=0
    ),
    "adam": FCNNRegressor(
        (),
        activation="identity",
        solver="adam",
        alpha=0.0,
        learning_rate_init=0.05,
        max_iter=2000,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    ),
}
for solver, model in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    print(f"{solver}: {model.n_iter_} iterations")
    print("  W =", np.array2string(model.coefs_[0], precision=4).replace("\n", ""))
    print("  b =", np.array2string(model.intercepts_[0], precision=4))
    print(
        "  max |error| of W and b:",
        f"{np.abs(model.coefs_[0] - W).max():.1e}",
        f"{np.abs(model.intercepts_[0] - b).max():.1e}",
    )

# %%
# Adam's training loss
# --------------------
# The loss (half the mean squared error) of each epoch falls by many orders of
# magnitude: with exact data the minimum is zero, and the weights approach it until
# the rounding errors of float64 dominate.
loss = models["adam"].loss_curve_
fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
ax.semilogy(np.arange(1, len(loss) + 1), loss)
ax.set(xlabel="epoch", ylabel="training loss", title="Adam on y = x W + b")
ax.grid(True, which="major", alpha=0.3)
plt.show()
