"""
A grid search and predictions on a Dask cluster
===============================================

scikit-learn's searches send their fits to a Dask cluster through joblib's "dask"
backend; dask-ml's ``ParallelPostFit`` predicts on a dask array block by block on
the workers. Needs the ``dask`` extra: ``pip install "fcnn_sk[dask]"``.

The example starts a ``LocalCluster`` of two workers inside this process (threads:
fcnn_sk releases the GIL while it trains and predicts, so they run in parallel) and
closes it at the end; it opens no network port. With a real cluster, connect to its
scheduler instead: ``Client("tcp://scheduler-host:8786")``. A script that starts
worker *processes* on its own machine (``LocalCluster(processes=True)``) must start
them under ``if __name__ == "__main__":``, as the workers import the script.
"""

import warnings

import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from fcnn_sk import FCNNClassifier

try:
    import dask.array as da
    from dask_ml.wrappers import ParallelPostFit
    from distributed import Client, LocalCluster
except ImportError as exc:
    raise ImportError(
        "This example needs dask, distributed and dask-ml: pip install 'fcnn_sk[dask]'."
    ) from exc

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    (X / 16).astype(np.float32), y, test_size=0.25, stratify=y, random_state=0
)
grid = {"hidden_layer_sizes": [(32,), (64,), (64, 32)], "alpha": [1e-4, 1e-2]}
warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)
print(f"cluster: {len(client.scheduler_info()['workers'])} workers")

# %%
# The search
# ----------
# The 6 candidates x 3 folds run as tasks on the workers.
with parallel_config(backend="dask"):
    search = GridSearchCV(
        FCNNClassifier(max_iter=50, random_state=0), grid, cv=3, n_jobs=-1
    ).fit(X_train, y_train)
print(
    f"best parameters {search.best_params_}, "
    f"cross-validated accuracy {search.best_score_:.3f}"
)

# %%
# Predictions on a dask array
# ---------------------------
# Here 100 copies of the test set, as if it were too large for one machine: the
# predictions are a lazy dask array, computed one task per block.
model = ParallelPostFit(search.best_estimator_)
X_large = da.concatenate([da.from_array(X_test)] * 100)
y_large = da.concatenate([da.from_array(y_test)] * 100)
labels = model.predict(X_large)
accuracy = (labels == y_large).mean().compute()
print(
    f"predicted {X_large.shape[0]} rows in {X_large.numblocks[0]} blocks "
    f"on the workers, accuracy {accuracy:.3f} "
    f"(on the test set: {search.score(X_test, y_test):.3f})"
)

# %%
# The end: close the client and the cluster.
client.close()
cluster.close()
