"""A grid search and predictions on a Dask cluster.

scikit-learn's searches send their fits to a Dask cluster through joblib's "dask"
backend; dask-ml's ``ParallelPostFit`` predicts on a dask array block by block on
the workers. This script starts a ``LocalCluster`` of two worker processes on this
machine, or connects to a running cluster (``--scheduler tcp://host:8786``). Needs
``pip install "fcnn_sk[dask]"``.

Run: python examples/dask_search.py [--epochs 50] [--scheduler ADDRESS]
"""

import argparse
import warnings

import dask.array as da
import numpy as np
from dask_ml.wrappers import ParallelPostFit
from distributed import Client
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from fcnn_sk import FCNNClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 "
        "(default: start a cluster on this machine)",
    )
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16).astype(np.float32), y, test_size=0.25, stratify=y, random_state=0
    )
    grid = {"hidden_layer_sizes": [(32,), (64,), (64, 32)], "alpha": [1e-4, 1e-2]}
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs

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
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers")
        # the 6 candidates x 3 folds run as tasks on the workers
        with parallel_config(backend="dask"):
            search = GridSearchCV(
                FCNNClassifier(max_iter=args.epochs, random_state=0),
                grid,
                cv=3,
                n_jobs=-1,
            ).fit(X_train, y_train)
        print(
            f"best parameters {search.best_params_}, "
            f"cross-validated accuracy {search.best_score_:.3f}"
        )

        # prediction on a dask array (here 100 copies of the test set, as if it
        # were too large for one machine): one task per block
        model = ParallelPostFit(search.best_estimator_)
        X_large = da.concatenate([da.from_array(X_test)] * 100)
        y_large = da.concatenate([da.from_array(y_test)] * 100)
        labels = model.predict(X_large)  # lazy: a dask array
        accuracy = (labels == y_large).mean()
        print(
            f"predicted {X_large.shape[0]} rows in {X_large.numblocks[0]} blocks "
            f"on the workers, accuracy {accuracy.compute():.3f}"
        )


if __name__ == "__main__":  # worker processes import this file: start nothing then
    main()
