"""
Quick start: FCNNClassifier next to scikit-learn's MLPClassifier
=================================================================

``FCNNClassifier`` takes the parameters of scikit-learn's ``MLPClassifier`` with the
same names, defaults and meaning, so replacing the class name is enough. Here both
train the same network, 64-256-128-10 with Adam for up to 100 epochs, on the
handwritten digits that ship with scikit-learn (no download), inside the same
pipeline, and we compare their test accuracy and training time.
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

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(
    f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test rows, "
    f"{X.shape[1]} features"
)

# %%
# The same parameters for both
# ----------------------------
# Both stop when the training loss has not improved by ``tol`` for 10 epochs, or
# after ``max_iter`` epochs (with a ``ConvergenceWarning``, silenced here).
params = dict(hidden_layer_sizes=(256, 128), max_iter=100, random_state=0)

print(f"{'model':<28}{'test accuracy':>15}{'epochs':>8}{'fit time (s)':>14}")
times = {}
for name, estimator in [
    ("fcnn_sk FCNNClassifier", FCNNClassifier(**params)),
    ("sklearn MLPClassifier", MLPClassifier(**params)),
]:
    model = make_pipeline(StandardScaler(), estimator)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    times[name] = time.perf_counter() - start
    print(
        f"{name:<28}{model.score(X_test, y_test):>15.4f}"
        f"{estimator.n_iter_:>8}{times[name]:>14.2f}"
    )

ratio = times["sklearn MLPClassifier"] / times["fcnn_sk FCNNClassifier"]
print(f"\nfcnn_sk trained {ratio:.1f}x as fast on this machine.")

# %%
# For the same ``random_state`` both draw the same initial weights and shuffle the
# rows in the same order, so they learn alike; the difference is the time, which
# fcnn_sk spends in compiled epoch loops rather than in numpy calls made from Python
# for every mini-batch.
