"""Training curves of a network: loss, validation loss and accuracy, gradient norms.

Trains FCNNClassifier on the handwritten digits that ship with scikit-learn, with a
held-out validation set scored after every epoch, and draws the run with
``TrainingCurveDisplay`` (needs matplotlib: ``pip install "fcnn_sk[plot]"``).

Run: python examples/plot_training_curve.py [--output training_curve.png]
"""

import argparse
import warnings

import matplotlib

matplotlib.use("Agg")  # draw to a file, no window

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fcnn_sk import FCNNClassifier, TrainingCurveDisplay


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        default="training_curve.png",
        help="where to save the figure (PNG, SVG, ...)",
    )
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = FCNNClassifier(
        (128, 64),
        dropout=0.2,
        learning_rate_init=3e-3,
        max_iter=args.epochs,
        n_iter_no_change=args.epochs,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
        clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    print(
        f"{clf.n_iter_} epochs, final validation accuracy "
        f"{clf.validation_scores_[-1]:.3f}"
    )

    display = TrainingCurveDisplay.from_estimator(
        clf, show_grad_norms=True, name="FCNNClassifier on the digits, 64-128-64-10"
    )
    display.figure_.savefig(args.output, dpi=120)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
