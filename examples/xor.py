"""
XOR and its decision boundary
=============================

XOR is the smallest problem a linear model cannot solve: no straight line separates
the points (0, 1) and (1, 0) from (0, 0) and (1, 1). A network without a hidden layer
is a linear model (logistic regression); one hidden layer of a few units solves it.
"""

import matplotlib.pyplot as plt
import numpy as np

from fcnn_sk import FCNNClassifier

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0])

# %%
# Two networks, fitted with L-BFGS: the full-batch solver suits four samples.
linear = FCNNClassifier((), solver="lbfgs", random_state=0).fit(X, y)
net = FCNNClassifier((8,), activation="tanh", solver="lbfgs", random_state=0).fit(X, y)

print("truth            ", y)
print("no hidden layer  ", linear.predict(X), f"accuracy {linear.score(X, y):.2f}")
print("one hidden layer ", net.predict(X), f"accuracy {net.score(X, y):.2f}")
print("P(y=1)           ", net.predict_proba(X)[:, 1].round(3))

# %%
# The decision boundaries
# -----------------------
# The probability of class 1 over the plane: the linear model can only draw one
# straight boundary and settles for probabilities near 0.5 everywhere; the hidden
# layer bends the boundary around the two classes.
xx, yy = np.meshgrid(np.linspace(-0.5, 1.5, 201), np.linspace(-0.5, 1.5, 201))
grid = np.c_[xx.ravel(), yy.ravel()]

fig, axes = plt.subplots(1, 2, figsize=(9.5, 4), layout="constrained")
for ax, model, title in [
    (axes[0], linear, "no hidden layer"),
    (axes[1], net, "8 tanh hidden units"),
]:
    proba = model.predict_proba(grid)[:, 1].reshape(xx.shape)
    filled = ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(
        X[:, 0], X[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1, s=120, edgecolors="k"
    )
    ax.set(
        title=f"{title}: accuracy {model.score(X, y):.2f}",
        xlabel="$x_1$",
        ylabel="$x_2$",
        aspect="equal",
    )
fig.colorbar(filled, ax=axes, label="P(y = 1)")
plt.show()
