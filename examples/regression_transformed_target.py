"""
Regression on a large-valued target with TransformedTargetRegressor
===================================================================

A network starts with small weights and outputs of the order of one, and Adam moves
each weight by about ``learning_rate_init`` per step: a target in the tens of
thousands (prices, say) is out of reach in any reasonable number of epochs. The
inputs are standardised with a ``StandardScaler`` in a pipeline; scikit-learn's
:class:`~sklearn.compose.TransformedTargetRegressor` does the same for the target:
it fits the regressor on the standardised target and transforms the predictions
back.

The data: Friedman's benchmark function #1 (a nonlinear function of five of ten
uniform features, with noise), scaled to values around 50 000 to 350 000.
"""

import warnings

import matplotlib.pyplot as plt
from matplotlib.ticker import EngFormatter
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fcnn_sk import FCNNRegressor

X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
y = 10_000 * y + 50_000
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)


def network():
    return make_pipeline(
        StandardScaler(), FCNNRegressor((64, 32), max_iter=200, random_state=0)
    )


# %%
# Three models
# ------------
# A linear baseline, the network on the raw target, and the same network inside a
# ``TransformedTargetRegressor`` that standardises the target.
models = {
    "ridge regression": make_pipeline(StandardScaler(), RidgeCV()),
    "network, raw target": network(),
    "network, standardised target": TransformedTargetRegressor(
        regressor=network(), transformer=StandardScaler()
    ),
}
predictions = {}
print(f"{'model':<30}{'R2':>8}{'mean absolute error':>22}")
for name, model in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    predictions[name] = model.predict(X_test)
    print(
        f"{name:<30}{r2_score(y_test, predictions[name]):>8.3f}"
        f"{mean_absolute_error(y_test, predictions[name]):>22.0f}"
    )

# %%
# Predictions against the truth
# -----------------------------
# After 200 epochs on the raw target, the network's predictions are still far
# below the truth: its output has grown by small steps from zero. On the
# standardised target it learns the nonlinear function that the linear model
# cannot fit.
fig, axes = plt.subplots(
    1, 3, figsize=(12, 4.2), sharex=True, sharey=True, layout="constrained"
)
lims = (0, y.max() * 1.05)
for ax, (name, predicted) in zip(axes, predictions.items()):
    ax.plot(lims, lims, color="0.6", lw=1, label="perfect prediction")
    ax.scatter(y_test, predicted, s=6, alpha=0.5)
    ax.set(
        title=f"{name}\nR2 = {r2_score(y_test, predicted):.3f}",
        xlabel="true value",
        xlim=lims,
        ylim=lims,
        aspect="equal",
    )
    ax.xaxis.set_major_formatter(EngFormatter())
axes[0].yaxis.set_major_formatter(EngFormatter())
axes[0].set_ylabel("predicted value")
axes[0].legend(loc="upper left")
plt.show()
