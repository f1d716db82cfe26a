"""XOR: the smallest problem a linear model cannot solve and one hidden layer can.

Run: python examples/xor.py
"""

import numpy as np

from fcnn_sk import FCNNClassifier

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0])


def main():
    linear = FCNNClassifier((), solver="lbfgs", random_state=0).fit(X, y)
    net = FCNNClassifier((8,), activation="tanh", solver="lbfgs", random_state=0).fit(
        X, y
    )
    print("truth            ", y)
    print("no hidden layer  ", linear.predict(X), f"accuracy {linear.score(X, y):.2f}")
    print("one hidden layer ", net.predict(X), f"accuracy {net.score(X, y):.2f}")
    print("P(y=1)           ", net.predict_proba(X)[:, 1].round(3))


if __name__ == "__main__":
    main()
