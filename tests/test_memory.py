"""Memory that does not grow with the number of rows beyond the data.

L-BFGS evaluates its loss and gradient over all rows in fixed-size chunks, and
predictions run the forward pass in chunks, so neither should allocate anything per
row except the data itself: the targets in the form the loss reads (one-hot for
classifiers; a regressor's float64 y is used as it is) and the returned predictions.
Nothing the width of a hidden layer or of the input may be allocated per row.
Measured with tracemalloc, which sees numpy's array allocations: the extra peak of a
call on 4n rows, minus that on n rows, divided by the 3n added rows, against those
bytes per row.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fcnn_sk import FCNNClassifier, FCNNRegressor

N_SMALL, N_LARGE = 3000, 12000
N_FEATURES, N_CLASSES = 30, 4
SLACK_BYTES_PER_ROW = 2  # well below the 8 bytes of one index or float per row


def _data(n, classifier):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, N_FEATURES))
    y = rng.integers(0, N_CLASSES, n) if classifier else rng.standard_normal(n)
    return X, y


def _extra_peak(call):
    """Peak traced bytes during ``call()`` above what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        return tracemalloc.get_traced_memory()[1] - before, result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("Estimator", [FCNNClassifier, FCNNRegressor])
def test_lbfgs_fit_memory_does_not_grow_beyond_the_targets(Estimator):
    classifier = Estimator is FCNNClassifier
    targets_per_row = 8 * N_CLASSES if classifier else 0  # one-hot float64 Y

    def fit_on(n):
        X, y = _data(n, classifier)
        est = Estimator((64, 32), solver="lbfgs", max_iter=3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return _extra_peak(lambda: est.fit(X, y))[0]

    small, large = fit_on(N_SMALL), fit_on(N_LARGE)
    growth = (large - small) / (N_LARGE - N_SMALL)
    assert growth <= targets_per_row + SLACK_BYTES_PER_ROW, (
        f"lbfgs fit allocates {growth:.1f} bytes per row; the targets take "
        f"{targets_per_row}"
    )


@pytest.mark.parametrize("method", ["predict", "predict_proba", "regress"])
def test_prediction_memory_does_not_grow_beyond_the_output(method):
    classifier = method != "regress"
    est = (FCNNClassifier if classifier else FCNNRegressor)(
        (64, 32), max_iter=2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(*_data(500, classifier))
    call = getattr(est, "predict" if method == "regress" else method)
    X_large, _ = _data(N_LARGE, classifier)
    X_small = X_large[:N_SMALL].copy()

    small, out_small = _extra_peak(lambda: call(X_small))
    large, out_large = _extra_peak(lambda: call(X_large))
    allowed = (out_large.nbytes - out_small.nbytes) / (N_LARGE - N_SMALL)
    if method == "predict":
        # labels come from the class probabilities through their argmax, as
        # scikit-learn's LabelBinarizer.inverse_transform takes them
        allowed += 8 * N_CLASSES + 2 * 8
    growth = (large - small) / (N_LARGE - N_SMALL)
    assert growth <= allowed + SLACK_BYTES_PER_ROW, (
        f"{method} allocates {growth:.1f} bytes per row; {allowed:.1f} expected"
    )
