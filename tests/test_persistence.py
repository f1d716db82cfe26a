"""Saving and loading models: pickle, joblib, skops, and the files kept in tests/data.

Round trips must give bit-identical predictions and continue training exactly where
the original would; skops must need no type but fcnn_sk's own to be trusted; model
files written by earlier versions must keep loading (or, where their layout cannot be
upgraded, be refused with both versions named).
"""

import copy
import io
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fcnn_sk
from fcnn_sk import FCNNClassifier, FCNNRegressor, _persistence

#: the types `skops.io.get_untrusted_types` reports for fcnn_sk models (README)
FCNN_SK_TYPES = {
    "fcnn_sk._classifier.FCNNClassifier",
    "fcnn_sk._regressor.FCNNRegressor",
    "fcnn_sk._optim.StochasticOptimizer",
    "fcnn_sk._lbfgs.Memory",
    "fcnn_sk._training.Monitor",
    "fcnn_sk._training.TrainingState",
}
MODEL_FILES = os.path.join(os.path.dirname(__file__), "data", "model_files")


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _models():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    return {
        "adam_multiclass": (
            FCNNClassifier((5,), max_iter=5, random_state=0),
            X,
            rng.choice(["a", "b", "c"], 60),
        ),
        "sgd_binary_dropout": (
            FCNNClassifier(
                (5, 3), solver="sgd", dropout=0.3, max_iter=5, random_state=1
            ),
            X.astype(np.float32),
            rng.randint(2, size=60),
        ),
        "rmsprop_regressor": (
            FCNNRegressor((5,), solver="rmsprop", max_iter=5, random_state=2),
            X,
            rng.normal(size=60),
        ),
        "lbfgs_regressor": (
            FCNNRegressor((4,), solver="lbfgs", max_iter=10, random_state=3),
            X.astype(np.float32),
            rng.normal(size=(60, 2)),
        ),
    }


MODELS = sorted(_models())


def _predictions(model, X):
    out = [model.predict(X)]
    if hasattr(model, "predict_proba"):
        out += [model.predict_proba(X), model.predict_log_proba(X)]
    return out + [model.transform(X)]


def _assert_same_state(a, b):
    """Every fitted array and number of two models bit for bit."""
    np.testing.assert_equal(a.coefs_, b.coefs_)
    np.testing.assert_equal(a.intercepts_, b.intercepts_)
    for name in ("n_iter_", "t_", "loss_", "loss_curve_"):
        assert getattr(a, name, None) == getattr(b, name, None)


def _continue(model, X, y):
    """More training: one partial_fit and a warm-started fit (stochastic solvers),
    or a warm-started fit (lbfgs)."""
    if model.solver != "lbfgs":
        model.partial_fit(X, y)
    model.set_params(warm_start=True, max_iter=3)
    return _fit(model, X, y)


def _dumps_loads(backend, model):
    if backend == "pickle":
        return pickle.loads(pickle.dumps(model))
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize("backend", ["pickle", "joblib"])
@pytest.mark.parametrize("name", MODELS)
def test_round_trip_is_exact(name, backend):
    model, X, y = _models()[name]
    _fit(model, X, y)
    loaded = _dumps_loads(backend, model)
    _assert_same_state(model, loaded)
    for a, b in zip(_predictions(model, X), _predictions(loaded, X)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # training goes on exactly as the original's (optimizer state, step counts,
    # random streams of shuffling and dropout)
    _assert_same_state(_continue(model, X, y), _continue(loaded, X, y))


def test_saving_leaves_the_model_as_it_was():
    model, X, y = _models()["adam_multiclass"]
    _fit(model, X, y)
    coef = model.coefs_[0]
    state = dict(model.__dict__)
    pickle.dumps(model)
    assert model.__dict__.keys() == state.keys()
    before = coef.copy()
    model.partial_fit(X, y)
    assert model.coefs_[0] is coef  # still the model's weights, updated in place
    assert not np.array_equal(coef, before)


# --- skops ---------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize("name", MODELS)
def test_skops_trusts_only_fcnn_sk_types(name, pipeline):
    sio = pytest.importorskip("skops.io")
    model, X, y = _models()[name]
    if pipeline:
        model = make_pipeline(StandardScaler(), model)
    _fit(model, X, y)
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= FCNN_SK_TYPES
    loaded = sio.loads(data, trusted=untrusted)
    for a, b in zip(_predictions(model, X), _predictions(loaded, X)):
        np.testing.assert_array_equal(a, b)
    net, loaded_net = (model[-1], loaded[-1]) if pipeline else (model, loaded)
    Xt = model[:-1].transform(X) if pipeline else X
    _assert_same_state(_continue(net, Xt, y), _continue(loaded_net, Xt, y))


def test_skops_refuses_without_trust():
    sio = pytest.importorskip("skops.io")
    model, X, y = _models()["adam_multiclass"]
    data = sio.dumps(_fit(model, X, y))
    with pytest.raises(Exception, match="FCNNClassifier"):
        sio.loads(data)


# --- files kept from earlier versions ------------------------------------------------


def _kept_files():
    cases = []
    if os.path.isdir(MODEL_FILES):
        for version in sorted(os.listdir(MODEL_FILES)):
            folder = os.path.join(MODEL_FILES, version)
            for f in sorted(os.listdir(folder)):
                if f.endswith(".npz"):
                    cases += [(version, f[:-4], fmt) for fmt in ("pickle", "skops")]
    return cases


def _load(path, fmt):
    if fmt == "pickle":
        with open(path, "rb") as f:
            return pickle.load(f)
    sio = pytest.importorskip("skops.io")
    return sio.load(path, trusted=sorted(FCNN_SK_TYPES))


def _readable(layout):
    return layout == _persistence.LAYOUT or (
        layout < _persistence.LAYOUT
        and all(n in _persistence.UPGRADES for n in range(layout, _persistence.LAYOUT))
    )


@pytest.mark.parametrize("version,name,fmt", _kept_files())
def test_kept_model_files(version, name, fmt):
    written_by, layout = version.rsplit("-layout", 1)
    path = os.path.join(MODEL_FILES, version, f"{name}.{fmt}")
    if not _readable(int(layout)):
        with pytest.raises(
            ValueError,
            match=f"saved by fcnn_sk {written_by} \\(model layout {layout}\\)",
        ):
            _load(path, fmt)
        return
    model = _load(path, fmt)
    with np.load(os.path.join(MODEL_FILES, version, f"{name}.npz")) as f:
        expected = dict(f)
    net = model[-1] if hasattr(model, "steps") else model
    for i, (coef, intercept) in enumerate(zip(net.coefs_, net.intercepts_)):
        np.testing.assert_array_equal(coef, expected[f"coef_{i}"])
        np.testing.assert_array_equal(intercept, expected[f"intercept_{i}"])
    # the file holds the same weights; predictions agree to the rounding in which
    # kernel builds and BLAS libraries of other machines may differ
    X, y = expected["X"], expected["y"]
    rtol = 1e-5 if net.coefs_[0].dtype == np.float32 else 1e-12
    if "predict_proba" in expected:
        np.testing.assert_array_equal(model.predict(X), expected["predict"])
        np.testing.assert_allclose(
            model.predict_proba(X), expected["predict_proba"], rtol=rtol, atol=rtol
        )
    else:
        np.testing.assert_allclose(model.predict(X), expected["predict"], rtol=rtol)
    if net.solver != "lbfgs":  # training continues from the saved optimizer state
        more = copy.deepcopy(model)
        Xt = more[:-1].transform(X) if hasattr(more, "steps") else X
        (more[-1] if hasattr(more, "steps") else more).partial_fit(Xt, y)
        net = more[-1] if hasattr(more, "steps") else more
        for i, coef in enumerate(net.coefs_):
            np.testing.assert_allclose(
                coef, expected[f"continued_coef_{i}"], rtol=100 * rtol, atol=100 * rtol
            )


def test_kept_files_of_this_layout_exist():
    """The files of the current layout are kept: regenerate them with
    ``python tests/data/make_model_files.py`` when LAYOUT changes."""
    folder = f"{fcnn_sk.__version__}-layout{_persistence.LAYOUT}"
    assert os.path.isdir(os.path.join(MODEL_FILES, folder)), folder


# --- layouts -------------------------------------------------------------------------


def _saved_state(**stamps):
    model, X, y = _models()["adam_multiclass"]
    _fit(model, X, y)
    state = model.__getstate__()
    state.update(stamps)
    return model, X, state


def _restore(state, cls=FCNNClassifier):
    new = cls.__new__(cls)
    new.__setstate__(state)
    return new


def test_newer_layout_is_refused_with_both_versions():
    _, _, state = _saved_state(
        _fcnn_sk_layout=_persistence.LAYOUT + 1, _fcnn_sk_version="9.9.9"
    )
    here = f"fcnn_sk {fcnn_sk.__version__} (model layout {_persistence.LAYOUT})"
    with pytest.raises(ValueError) as info:
        _restore(state)
    message = str(info.value)
    assert f"fcnn_sk 9.9.9 (model layout {_persistence.LAYOUT + 1})" in message
    assert here in message and "cannot read it" in message


def test_older_layout_without_upgrade_is_refused(monkeypatch):
    _, _, state = _saved_state()
    monkeypatch.setattr(_persistence, "LAYOUT", _persistence.LAYOUT + 1)
    with pytest.raises(ValueError, match="cannot upgrade it"):
        _restore(state)


def test_older_layout_is_upgraded(monkeypatch):
    model, X, state = _saved_state()
    old = _persistence.LAYOUT

    def upgrade(state):  # e.g. an attribute renamed in the new layout
        state = dict(state)
        state["loss_history_"] = state.pop("loss_curve_")
        return state

    monkeypatch.setattr(_persistence, "LAYOUT", old + 1)
    monkeypatch.setitem(_persistence.UPGRADES, old, upgrade)
    new = _restore(state)
    assert new.loss_history_ == model.loss_curve_ and "loss_curve_" not in vars(new)
    np.testing.assert_array_equal(new.predict_proba(X), model.predict_proba(X))


def test_state_without_stamps_is_layout_one():
    model, X, state = _saved_state()
    del state["_fcnn_sk_layout"], state["_fcnn_sk_version"]
    if _persistence.LAYOUT == 1 or 1 in _persistence.UPGRADES:
        # read as layout 1 (upgraded where the layout has moved on; the kept files of
        # layout 1 check the upgrade of real layout-1 states)
        new = _restore(state)
        assert "_fcnn_sk_layout" not in vars(new)
        np.testing.assert_array_equal(new.predict_proba(X), model.predict_proba(X))
    else:
        with pytest.raises(ValueError, match="model layout 1"):
            _restore(state)
