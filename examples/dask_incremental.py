"""
Incremental training and a Hyperband search on a chunked dask array
===================================================================

dask-ml's ``Incremental`` calls ``partial_fit`` once per block of a dask array, on
the workers; ``HyperbandSearchCV`` trains many candidates by ``partial_fit`` calls
and stops the poor ones early. fcnn_sk keeps the weights and the optimizer state
(Adam's moments and step count) between ``partial_fit`` calls, also when the model
moves between workers, so successive calls continue one training. Needs the
``dask`` extra: ``pip install "fcnn_sk[dask]"``.

The example starts a ``LocalCluster`` of two workers inside this process (threads:
fcnn_sk releases the GIL while it trains) and closes it at the end; it opens no
network port. With a real cluster, connect to its scheduler instead:
``Client("tcp://scheduler-host:8786")``.
"""

import numpy as np

from fcnn_sk import FCNNClassifier

try:
    import dask
    from dask_ml.datasets import make_classification
    from dask_ml.model_selection import HyperbandSearchCV
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster
except ImportError as exc:
    raise ImportError(
        "This example needs dask, distributed and dask-ml: pip install 'fcnn_sk[dask]'."
    ) from exc

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)

# %%
# The data
# --------
# A lazily generated data set of 100 000 rows in blocks of 10 000, made on the
# workers; the first 5000 rows are kept aside (in memory) for testing.
X, y = make_classification(
    n_samples=100_000, n_features=20, n_informative=10, chunks=10_000, random_state=0
)
X = X.astype(np.float32)
X_test, y_test = client.compute([X[:5000], y[:5000]], sync=True)
X_train, y_train = X[5000:], y[5000:]
classes = np.array([0, 1])

# %%
# Incremental training
# --------------------
# Each ``partial_fit`` of ``Incremental`` passes over all blocks, one
# ``partial_fit`` of the network per block, in a new random order.
model = Incremental(
    FCNNClassifier((64,), random_state=0), shuffle_blocks=True, random_state=0
)
for n_pass in range(1, 4):
    model.partial_fit(X_train, y_train, classes=classes)
    fitted = model.estimator_
    print(
        f"pass {n_pass}: {fitted.t_} rows trained on so far, training loss "
        f"{fitted.loss_curve_[-1]:.4f}, held-out accuracy "
        f"{fitted.score(X_test, y_test):.3f}"
    )

# %%
# A Hyperband search
# ------------------
# On dask 2025.3 and later, dask-ml's incremental searches (``HyperbandSearchCV``,
# ``IncrementalSearchCV``, ``SuccessiveHalvingSearchCV``) must run with the client
# named as dask's scheduler (dask-ml issue #1016); the ``dask.config.set`` line does
# it, and changes nothing on older dask. ``Incremental`` needs nothing.
params = {
    "hidden_layer_sizes": [(32,), (64,), (128,)],
    "alpha": [1e-5, 1e-4, 1e-3, 1e-2],
    "learning_rate_init": [1e-3, 3e-3, 1e-2],
}
search = HyperbandSearchCV(
    FCNNClassifier(random_state=0), params, max_iter=9, random_state=0
)
with dask.config.set(scheduler=client.get):
    search.fit(X_train, y_train, classes=classes)
calls = search.cv_results_["partial_fit_calls"]
print(
    f"{len(calls)} candidates, {calls.sum()} partial_fit calls in all; "
    f"best {search.best_params_}, validation accuracy {search.best_score_:.3f}, "
    f"held-out accuracy {search.best_estimator_.score(X_test, y_test):.3f}"
)

# %%
# The end: close the client and the cluster.
client.close()
cluster.close()
