"""A grid search whose fits run on threads, one core each.

fcnn_sk trains with the GIL released, so scikit-learn's searches can run their fits
on threads: no worker processes to start and no data to copy into them. While they
run, BLAS is limited to one thread, so that n fits in parallel use n cores rather
than n times the BLAS threads; the limit is lifted when the block ends. Both context
managers come with scikit-learn (joblib and threadpoolctl are among its
dependencies) and work the same for any estimator that releases the GIL.

Run: python examples/threaded_search.py [--epochs 50]
"""

import argparse
import time
import warnings

from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from fcnn_sk import FCNNClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {
        "hidden_layer_sizes": [(32,), (64,), (128,), (64, 32)],
        "alpha": [1e-4, 1e-3, 1e-2, 1e-1],
    }
    search = GridSearchCV(
        FCNNClassifier(max_iter=args.epochs, random_state=0), grid, cv=3
    )
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs

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

    print(f"{len(search.cv_results_['params'])} candidates x 3 folds on digits")
    print(f"one fit after another: {one_after_another:6.2f} s")
    print(
        f"fits on threads:       {threaded:6.2f} s "
        f"({one_after_another / threaded:.2f}x)"
    )
    print(
        f"best parameters {search.best_params_}, "
        f"cross-validated accuracy {search.best_score_:.3f}"
    )
    print(
        "same best parameters as one after another:",
        search.best_params_ == sequential_best,
    )


if __name__ == "__main__":
    main()
