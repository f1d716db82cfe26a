"""Incremental training and a Hyperband search over a chunked dask array.

dask-ml's ``Incremental`` calls ``partial_fit`` once per block of a dask array, on
the workers; ``HyperbandSearchCV`` trains many candidates by ``partial_fit`` calls
and stops the poor ones early. fcnn_sk keeps the weights and the optimizer state
(Adam's moments and step count) between ``partial_fit`` calls, also when the model
moves between workers, so successive calls continue one training.

On dask 2025.3 and later, dask-ml's incremental searches (``HyperbandSearchCV``,
``IncrementalSearchCV``, ``SuccessiveHalvingSearchCV``) must run with the client
named as dask's scheduler (dask-ml issue #1016); the ``with dask.config.set`` line
below does it, and changes nothing on older dask. ``Incremental`` needs nothing.
Starts two worker processes on this machine, or connects to a running cluster
(``--scheduler tcp://host:8786``). Needs ``pip install "fcnn_sk[dask]"``.

Run: python examples/dask_incremental.py [--rows 100000] [--scheduler ADDRESS]
"""

import argparse

import dask
import numpy as np
from dask_ml.datasets import make_classification
from dask_ml.model_selection import HyperbandSearchCV
from dask_ml.wrappers import Incremental
from distributed import Client

from fcnn_sk import FCNNClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 "
        "(default: start a cluster on this machine)",
    )
    args = parser.parse_args()

    # a running cluster, or two worker processes on this machine
    cluster = (
        {"address": args.scheduler}
        if args.scheduler
        else {
            "n_workers": 2,
            "threads_per_worker": 1,
            "host": "127.0.0.1",
            "dashboard_address": None,
        }
    )
    with Client(**cluster) as client:
        # a lazily generated data set in blocks of 10000 rows, made on the workers
        X, y = make_classification(
            n_samples=args.rows,
            n_features=20,
            n_informative=10,
            chunks=10_000,
            random_state=0,
        )
        X = X.astype(np.float32)
        X_test, y_test = client.compute([X[:5000], y[:5000]], sync=True)
        X_train, y_train = X[5000:], y[5000:]
        classes = np.array([0, 1])

        model = Incremental(
            FCNNClassifier((64,), random_state=0), shuffle_blocks=True, random_state=0
        )
        for epoch in range(1, 4):  # each call: one partial_fit per block
            model.partial_fit(X_train, y_train, classes=classes)
            fitted = model.estimator_
            print(
                f"Incremental, pass {epoch}: {fitted.t_} rows trained on so far, "
                f"training loss {fitted.loss_curve_[-1]:.4f}, held-out accuracy "
                f"{fitted.score(X_test, y_test):.3f}"
            )

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
            f"Hyperband: {len(calls)} candidates, {calls.sum()} partial_fit calls "
            f"in all; best {search.best_params_}, validation accuracy "
            f"{search.best_score_:.3f}, held-out accuracy "
            f"{search.best_estimator_.score(X_test, y_test):.3f}"
        )


if __name__ == "__main__":  # worker processes import this file: start nothing then
    main()
