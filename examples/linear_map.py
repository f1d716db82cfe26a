"""Recover a linear map y = x W + b with a network that has no hidden layer.

The first exercise of the "network from scratch" write-ups: a single dense layer with
the identity activation is linear regression, and training must find W and b.

Run: python examples/linear_map.py
"""

import numpy as np

from fcnn_sk import FCNNRegressor

W = np.array([[3.0, 7.0, 4.0], [5.0, 2.0, 6.0]])
b = np.array([2.0, 9.0, 3.0])


def main():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(500, 2))
    y = X @ W + b
    import warnings

    warnings.simplefilter("ignore")  # adam runs a fixed 2000 epochs on purpose
    for solver, extra in [
        ("lbfgs", {}),
        (
            "adam",
            {
                "learning_rate_init": 0.05,
                "max_iter": 2000,
                "tol": 0.0,
                "n_iter_no_change": 10**9,
            },
        ),
    ]:
        model = FCNNRegressor(
            (), activation="identity", solver=solver, alpha=0.0, random_state=0, **extra
        ).fit(X, y)
        print(f"{solver}: {model.n_iter_} iterations")
        print("  W =", np.array2string(model.coefs_[0], precision=4).replace("\n", ""))
        print("  b =", np.array2string(model.intercepts_[0], precision=4))
        print(
            "  max |error| =",
            np.abs(model.coefs_[0] - W).max().round(6),
            np.abs(model.intercepts_[0] - b).max().round(6),
        )


if __name__ == "__main__":
    main()
