"""Train FCNNClassifier and scikit-learn's MLPClassifier on the same data and compare.

Uses the handwritten digits that ship with scikit-learn (no download).
Run: python examples/quickstart.py
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fcnn_sk import FCNNClassifier


def fit_and_score(model, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    return model.score(X_test, y_test), time.perf_counter() - start


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    params = dict(hidden_layer_sizes=(256, 128), max_iter=100, random_state=0)
    print(
        f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test rows, "
        f"{X.shape[1]} features, network {X.shape[1]}-256-128-10, adam, 100 epochs\n"
    )
    print(f"{'model':<28}{'test accuracy':>15}{'fit time (s)':>15}")
    times = {}
    for name, estimator in [
        ("fcnn_sk.FCNNClassifier", FCNNClassifier(**params)),
        ("sklearn MLPClassifier", MLPClassifier(**params)),
    ]:
        model = make_pipeline(StandardScaler(), estimator)
        score, seconds = fit_and_score(model, X_train, y_train, X_test, y_test)
        times[name] = seconds
        print(f"{name:<28}{score:>15.4f}{seconds:>15.3f}")
    ratio = times["sklearn MLPClassifier"] / times["fcnn_sk.FCNNClassifier"]
    print(f"\nfcnn_sk trained {ratio:.1f}x faster on this machine.")


if __name__ == "__main__":
    main()
