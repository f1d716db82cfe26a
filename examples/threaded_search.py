"""
A grid search on threads
========================

fcnn_sk trains with the GIL released, so scikit-learn's searches can run their fits
on threads: no worker processes to start and no data to copy into them. While they
run, BLAS is limited to one thread, so that n fits in parallel use n cores rather
than n times the BLAS threads; the limit is lifted when the block ends. Both context
managers come with scikit-learn (joblib and threadpoolctl are among its
dependencies) and work the same for any estimator that releases the GIL.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from fcnn_sk import FCNNClassifier

X, y = load_digits(return_X_y=True)
X = X / 16
grid = {
    "hidden_layer_sizes": [(32,), (64,), (128,), (64, 32)],
    "alpha": [1e-4, 1e-3, 1e-2, 1e-1],
}
search = GridSearchCV(FCNNClassifier(max_iter=50, random_state=0), grid, cv=3)
warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs

# %%
# One fit after another, then on threads
# --------------------------------------
# The same search twice: first its 48 fits one after another, then on as many
# threads as the machine has cores (``n_jobs=-1``).
start = time.perf_counter()
with threadpool_limits(limits=1, user_api="blas"):
    search.fit(X, y)
one_after_another = time.perf_counter() - start
sequential_best = search.best_params_

start = time.perf_counter()
with (
    threadpool_limits(limits=1, user_api="blas"),
    parallel_config(backend="threading", n_jobs=-1),
):
    search.fit(X, y)
threaded = time.perf_counter() - start

n_fits = len(search.cv_results_["params"]) * search.n_splits_
print(f"{n_fits} fits of 50 epochs on the digits")
print(f"one fit after another: {one_after_another:6.2f} s")
print(f"fits on threads:       {threaded:6.2f} s ({one_after_another / threaded:.2f}x)")
print(
    f"best parameters {search.best_params_}, "
    f"cross-validated accuracy {search.best_score_:.3f}"
)
print(
    "same best parameters as one after another:",
    search.best_params_ == sequential_best,
)

# %%
# The results
# -----------
# The cross-validated accuracy of every candidate (the fits are independent of the
# order they run in, so both searches found the same).
sizes, alphas = grid["hidden_layer_sizes"], grid["alpha"]
scores = np.empty((len(sizes), len(alphas)))
results = search.cv_results_
for params, score in zip(results["params"], results["mean_test_score"]):
    row = sizes.index(params["hidden_layer_sizes"])
    scores[row, alphas.index(params["alpha"])] = score
fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
for (row, column), score in np.ndenumerate(scores):
    color = "k" if score > scores.mean() else "w"  # readable on the colour map
    ax.text(column, row, f"{score:.3f}", ha="center", va="center", color=color)
ax.set(
    xticks=range(len(alphas)),
    xticklabels=[f"{alpha:g}" for alpha in alphas],
    yticks=range(len(sizes)),
    yticklabels=[str(size) for size in sizes],
    xlabel="alpha",
    ylabel="hidden_layer_sizes",
    title="Cross-validated accuracy",
)
fig.colorbar(image, ax=ax)
plt.show()
