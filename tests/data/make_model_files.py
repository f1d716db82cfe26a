"""Write the model files that tests/test_persistence.py keeps loading.

Run from the repository root, with the fcnn_sk to take the files from importable
(``python setup.py build_ext --inplace`` for a checkout)::

    python tests/data/make_model_files.py

It writes ``tests/data/model_files/<fcnn_sk version>-layout<LAYOUT>/``: each model of
``MODELS`` pickled (``<name>.pickle``) and saved with skops (``<name>.skops``), and
``<name>.npz`` with the data and what the model gave when it was written: weights,
predictions, and weights after one more ``partial_fit`` (to check that training
continues from the saved state). Write a new set whenever ``_persistence.LAYOUT``
changes; keep the old ones, so that the test checks they are upgraded or refused by
name.
"""

import os
import pickle
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _data(seed, n=40, n_features=5):
    rng = np.random.RandomState(seed)
    return rng, rng.normal(size=(n, n_features))


def _models():
    """name -> (fitted model, X, y) of tiny networks, one per kind of state."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fcnn_sk import FCNNClassifier, FCNNRegressor

    models = {}
    rng, X = _data(0)
    y = rng.choice(["cat", "dog", "eel"], len(X))
    models["classifier_adam_f64_strings"] = (
        FCNNClassifier(
            (6, 4), activation=["gelu", "leaky_relu"], max_iter=20, random_state=0
        ),
        X,
        y,
    )
    rng, X = _data(1)
    models["classifier_sgd_f32_binary_dropout"] = (
        FCNNClassifier((6,), solver="sgd", dropout=0.2, max_iter=20, random_state=1),
        X.astype(np.float32),
        rng.randint(2, size=len(X)),
    )
    rng, X = _data(2)
    models["classifier_lbfgs_multilabel"] = (
        FCNNClassifier(
            (5,), activation="tanh", solver="lbfgs", max_iter=30, random_state=2
        ),
        X,
        rng.randint(2, size=(len(X), 3)),
    )
    rng, X = _data(3)
    models["regressor_adam_f32_two_outputs"] = (
        FCNNRegressor((6,), activation="swish", max_iter=20, random_state=3),
        X.astype(np.float32),
        rng.normal(size=(len(X), 2)).astype(np.float32),
    )
    rng, X = _data(4)
    models["regressor_rmsprop_poisson"] = (
        FCNNRegressor(
            (5,), solver="rmsprop", loss="poisson", max_iter=20, random_state=4
        ),
        X,
        rng.poisson(2.0, len(X)).astype(float),
    )
    rng, X = _data(5)
    models["pipeline_scaler_classifier"] = (
        make_pipeline(
            StandardScaler(), FCNNClassifier((4,), max_iter=20, random_state=5)
        ),
        X * 10 + 3,
        rng.randint(3, size=len(X)),
    )
    for model, X, y in models.values():
        model.fit(X, y)
    return models


def _final(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def expected(model, X, y):
    """What the kept files are checked against (arrays for np.savez)."""
    import copy

    from fcnn_sk import FCNNClassifier

    net = _final(model)
    out = {"X": X, "y": y, "predict": model.predict(X)}
    if isinstance(net, FCNNClassifier):
        out["predict_proba"] = model.predict_proba(X)
    for i, (c, b) in enumerate(zip(net.coefs_, net.intercepts_)):
        out[f"coef_{i}"], out[f"intercept_{i}"] = c, b
    if net.solver != "lbfgs":
        more = copy.deepcopy(model)
        if hasattr(more, "steps"):
            more.steps[-1][1].partial_fit(more[:-1].transform(X), y)
        else:
            more.partial_fit(X, y)
        for i, c in enumerate(_final(more).coefs_):
            out[f"continued_coef_{i}"] = c
    return out


def main():
    import skops.io as sio

    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    import fcnn_sk
    from fcnn_sk import _persistence

    directory = os.path.join(
        HERE, "model_files", f"{fcnn_sk.__version__}-layout{_persistence.LAYOUT}"
    )
    os.makedirs(directory, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of the short fits
        models = _models()
        for name, (model, X, y) in models.items():
            with open(os.path.join(directory, f"{name}.pickle"), "wb") as f:
                pickle.dump(model, f, protocol=4)
            sio.dump(model, os.path.join(directory, f"{name}.skops"))
            np.savez(os.path.join(directory, f"{name}.npz"), **expected(model, X, y))
    print(f"wrote {len(models)} models to {os.path.relpath(directory)}")


if __name__ == "__main__":
    main()
