"""The short path of prediction (fcnn_sk/_fast_predict.py) against the validated one.

The validated path is obtained by switching the short path off (its entry check then
returns None for every input), so each comparison runs the same model on the same
array both ways: results must be bit-identical, errors and warnings the same.
"""

import gc
import pickle
import threading
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fcnn_sk import FCNNClassifier, FCNNRegressor, _compiled, _fast_predict

DTYPES = [np.float32, np.float64]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _problem(kind, dtype, seed=0, n=120, n_features=6):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features)).astype(dtype)
    params = {"hidden_layer_sizes": (7, 5), "max_iter": 10, "random_state": seed}
    if kind == "multiclass":
        return FCNNClassifier(**params), X, rng.choice(["a", "b", "c"], n)
    if kind == "binary":
        return FCNNClassifier(activation="tanh", **params), X, rng.randint(2, size=n)
    if kind == "multilabel":
        return FCNNClassifier(**params), X, rng.randint(2, size=(n, 3))
    if kind == "regression":
        return FCNNRegressor(activation="gelu", **params), X, rng.normal(size=n)
    if kind == "multi_regression":
        return FCNNRegressor(**params), X, rng.normal(size=(n, 2))
    return FCNNRegressor(loss="poisson", **params), X, rng.poisson(2.0, n)


KINDS = [
    "multiclass",
    "binary",
    "multilabel",
    "regression",
    "multi_regression",
    "poisson",
]


def _methods(model):
    names = ["predict", "transform"]
    if isinstance(model, FCNNClassifier):
        names += ["predict_proba", "predict_log_proba"]
    return names


class _Validated:
    """Context manager: every call takes the full validation path."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def __enter__(self):
        self.monkeypatch.setattr(_fast_predict, "_short_path", lambda model: None)

    def __exit__(self, *exc):
        self.monkeypatch.undo()


@pytest.fixture
def validated(monkeypatch):
    return _Validated(monkeypatch)


def _call_both(model, method, X, validated, **kwargs):
    fast = getattr(model, method)(X, **kwargs)
    with validated:
        slow = getattr(model, method)(X, **kwargs)
    return fast, slow


def _assert_identical(fast, slow):
    assert type(fast) is type(slow)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


# --- same results ----------------------------------------------------------------


@pytest.mark.parametrize("n_rows", [1, 7, _fast_predict.MAX_ROWS])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_bit_identical_to_validated_path(kind, dtype, n_rows, validated):
    model, X, y = _problem(kind, dtype)
    _fit(model, X, y)
    X_new = np.random.RandomState(1).normal(size=(n_rows, X.shape[1])).astype(dtype)
    assert _fast_predict.takes(model, X_new)  # it is taken
    X_big = np.zeros((_fast_predict.MAX_ROWS + 1, X.shape[1]), dtype)
    assert not _fast_predict.takes(model, X_big)  # large batches are not
    for method in _methods(model):
        _assert_identical(*_call_both(model, method, X_new, validated))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 10, -1]),
        np.array([0.0, 2.0, 7.0]),
        np.array(["cat", "dog", "eel"]),
        np.array(["cat", "dog", "eel"], dtype=object),
        np.array([True, False]),
    ],
)
def test_predicted_labels_of_every_type(labels, validated):
    model, X, _ = _problem("multiclass", np.float32)
    y = labels[np.random.RandomState(0).randint(len(labels), size=len(X))]
    _fit(model, X, y)
    _assert_identical(*_call_both(model, "predict", X[:9], validated))


@pytest.mark.parametrize("layer", [0, 1, -1, -2])
def test_transform_layers(layer, validated):
    model, X, y = _problem("regression", np.float64)
    _fit(model, X, y)
    _assert_identical(*_call_both(model, "transform", X, validated, layer=layer))


def test_inputs_off_the_short_path_give_the_same_results():
    model, X, y = _problem("multiclass", np.float32)
    _fit(model, X, y)
    expected = model.predict_proba(X)
    others = [
        X.tolist(),
        np.asfortranarray(X),
        X.astype(np.float64),
        sp.csr_matrix(X),
        np.asarray(X, dtype=X.dtype.newbyteorder()),
    ]
    for other in others:
        assert not _fast_predict.takes(model, other)
        got = model.predict_proba(other)
        if isinstance(other, np.ndarray) and other.dtype == np.float64:
            continue  # computed in float32 from float64 input: equal to rounding
        np.testing.assert_array_equal(got, expected)


def test_read_only_input():
    model, X, y = _problem("binary", np.float64)
    _fit(model, X, y)
    expected = model.predict_proba(X)
    X_ro = X.copy()
    X_ro.setflags(write=False)
    assert _fast_predict.takes(model, X_ro)
    np.testing.assert_array_equal(model.predict_proba(X_ro), expected)


# --- same errors -----------------------------------------------------------------


def _error_of(method, X):
    with pytest.raises(Exception) as info:
        method(X)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_errors(dtype, validated):
    model, X, y = _problem("binary", dtype)
    unfitted = FCNNClassifier()
    _fit(model, X, y)
    with_nan, with_inf = X.copy(), X.copy()
    with_nan[0, 3], with_inf[2, 1] = np.nan, -np.inf
    bad_inputs = {
        "nan": with_nan,
        "inf": with_inf,
        "width": X[:, :4].copy(),
        "one_dim": X[0].copy(),
        "three_dim": X[None].copy(),
        "no_rows": X[:0].copy(),
    }
    for method in _methods(model):
        fast = _error_of(getattr(unfitted, method), X)
        with validated:
            slow = _error_of(getattr(unfitted, method), X)
        assert fast == slow and fast[0] is NotFittedError
        for name, bad in bad_inputs.items():
            fast = _error_of(getattr(model, method), bad)
            with validated:
                slow = _error_of(getattr(model, method), bad)
            assert fast == slow, name
            assert issubclass(fast[0], ValueError), name


def test_transform_bad_layer_same_error():
    model, X, y = _problem("regression", np.float64)
    _fit(model, X, y)
    for layer in [2, -3, 1.0, "0"]:
        with pytest.raises(ValueError, match="layer must be an integer"):
            model.transform(X, layer=layer)


# --- same warnings ---------------------------------------------------------------


def _warnings_of(call):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = call()
    return result, [(w.category, str(w.message), w.filename) for w in record]


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "transform"]
)
def test_feature_names_warning(method, validated):
    pd = pytest.importorskip("pandas")
    model, X, y = _problem("multiclass", np.float64)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    _fit(model, frame, y)
    fast, fast_warnings = _warnings_of(lambda: getattr(model, method)(X))
    with validated:
        slow, slow_warnings = _warnings_of(lambda: getattr(model, method)(X))
    _assert_identical(fast, slow)
    assert fast_warnings == slow_warnings
    message = (
        "X does not have valid feature names, but FCNNClassifier was fitted "
        "with feature names"
    )
    assert [w[1] for w in fast_warnings] == [message]
    # and a DataFrame to a model fitted on it: no warning either way
    _, fast_warnings = _warnings_of(lambda: getattr(model, method)(frame))
    assert fast_warnings == []


def test_no_warning_for_plain_arrays():
    model, X, y = _problem("multiclass", np.float32)
    _fit(model, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in _methods(model):
            getattr(model, method)(X)


# --- the cached network follows the model ------------------------------------------


def test_follows_parameter_changes(validated):
    model, X, y = _problem("multiclass", np.float64)
    _fit(model, X, y)
    model.predict_proba(X)  # caches the network
    model.set_params(activation="tanh", negative_slope=0.3)
    _assert_identical(*_call_both(model, "predict_proba", X, validated))
    model.set_params(activation=["leaky_relu", "elu"])
    _assert_identical(*_call_both(model, "predict_proba", X, validated))
    model.set_params(negative_slope=0.05)
    _assert_identical(*_call_both(model, "predict_proba", X, validated))


def test_follows_training_and_refits(validated):
    model, X, y = _problem("multi_regression", np.float32)
    _fit(model, X, y)
    before = model.predict(X)
    model.partial_fit(X, y)  # parameters updated in place
    after = model.predict(X)
    assert not np.array_equal(before, after)
    _assert_identical(*_call_both(model, "predict", X, validated))
    model.set_params(hidden_layer_sizes=(3,))
    _fit(model, X, y)  # a new architecture and buffer
    _assert_identical(*_call_both(model, "predict", X, validated))
    _fit(model, X.astype(np.float64), y)  # another dtype
    assert not _fast_predict.takes(model, X)
    _assert_identical(*_call_both(model, "predict", X.astype(np.float64), validated))


def test_replaced_coefs(validated):
    model, X, y = _problem("regression", np.float64)
    _fit(model, X, y)
    model.predict(X)
    model.coefs_ = [c * 2 for c in model.coefs_]  # no longer views of the buffer
    assert not _fast_predict.takes(model, X)
    slow = model.predict(X)  # the full path packs them again ...
    assert _fast_predict.takes(model, X)  # ... and the short path
    np.testing.assert_array_equal(model.predict(X), slow)  # resumes


def test_unpickled_model():
    model, X, y = _problem("binary", np.float32)
    _fit(model, X, y)
    expected = model.predict_proba(X)
    clone = pickle.loads(pickle.dumps(model))
    first = clone.predict_proba(X)  # the full path packs the parameters
    assert _fast_predict.takes(clone, X)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(clone.predict_proba(X), expected)


def test_replaced_list_items_and_activations(validated):
    model, X, y = _problem("multiclass", np.float64)
    _fit(model, X, y)
    model.predict(X)
    model.coefs_[1] = model.coefs_[1] * 3  # the list kept, an item replaced
    assert not _fast_predict.takes(model, X)
    _assert_identical(*_call_both(model, "predict_proba", X, validated))
    assert _fast_predict.takes(model, X)  # repacked by the full path
    model.intercepts_[0][:] += 0.5  # written in place: the buffer the path reads
    _assert_identical(*_call_both(model, "predict_proba", X, validated))
    model.set_params(activation=["relu", "relu"])
    model.predict(X)
    model.activation[1] = "tanh"  # the list changed in place
    _assert_identical(*_call_both(model, "predict_proba", X, validated))
    _assert_identical(*_call_both(model, "transform", X, validated))


def test_cache_stays_out_of_pickles_and_lets_models_go():
    model, X, y = _problem("multiclass", np.float32)
    _fit(model, X, y)
    before = pickle.dumps(model)
    model.predict_proba(X[:1])
    assert _fast_predict._short_path(model) is not None  # built and kept
    after = pickle.dumps(model)
    assert after == before and b"Predictor" not in after
    ref = weakref.ref(model)
    assert ref in _fast_predict._PREDICTORS
    del model
    gc.collect()
    assert ref() is None  # the table does not keep it alive, and drops its entry
    assert all(key() is not None for key in list(_fast_predict._PREDICTORS))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_raw_overflow_behind_a_finite_link_same_error(method, validated):
    # one hidden unit: the raw output of a scaled row is +-inf (not NaN), whose
    # sigmoid, 0 or 1, is finite; the full path reports the overflow
    X, y = _problem("binary", np.float32)[1:]
    model = _fit(FCNNClassifier((1,), activation="identity", max_iter=5), X, y)
    model.coefs_[1][:] = 1e30
    X_big = X[:4].copy()
    X_big[1] *= 1e30 / np.abs(X_big[1]).max()
    fast = _error_of(getattr(model, method), X_big)
    with validated:
        slow = _error_of(getattr(model, method), X_big)
    assert fast == slow
    assert "1 of 4 rows gave inf or NaN: the output layer overflowed" in fast[1]


def test_predictor_takes_only_plain_arrays():
    model, X, y = _problem("multiclass", np.float32)
    _fit(model, X, y)
    predictor = _fast_predict._short_path(model)
    x = X[:5]
    assert predictor.accepts(x)
    for other in [
        x.astype(np.float64),
        x.astype(x.dtype.newbyteorder()),
        np.asfortranarray(X[:5, :3]),
        X[:5, :3].copy(),
        x[::2],
        x[0],
        x[None],
        x[:0],
        np.zeros((_fast_predict.MAX_ROWS + 1, X.shape[1]), np.float32),
        np.ma.masked_array(x),
        x.tolist(),
    ]:
        assert not predictor.accepts(other)
        assert predictor.predict(other) is None
    for bad in (np.nan, np.inf, -np.inf):
        x_bad = x.copy()
        x_bad[3, 2] = bad
        assert predictor.predict(x_bad, 0, True) is None
    with pytest.raises(ValueError, match="n_run"):
        predictor.predict(x, 4)
    with pytest.raises(ValueError, match="raw outputs"):
        predictor.predict(x, 1, True)
    with pytest.raises(ValueError, match="C-contiguous float32 or float64"):
        type(predictor)(predictor.network, predictor.params[:-1], 8, 8)


def test_each_kernel_build(use_kernel_build):
    model, X, y = _problem("multiclass", np.float32)
    _fit(model, X, y)
    for name in sorted(_compiled.available()):
        use_kernel_build(name)
        fast = model.predict_proba(X)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_fast_predict, "_short_path", lambda model: None)
            np.testing.assert_array_equal(fast, model.predict_proba(X))


# --- threads -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["multiclass", "binary", "regression"])
def test_concurrent_predictions(kind, dtype):
    # one model, shared by 4 threads from its first call (nothing cached yet), every
    # short-path method on batches of 1 to MAX_ROWS rows: calls overlap, so they take
    # the kept workspace or their own, and the plans differ from call to call
    model, X, y = _problem(kind, dtype, n=400)
    model.set_params(hidden_layer_sizes=(96, 64), max_iter=3)
    _fit(model, X, y)
    methods = _methods(model)
    rng = np.random.RandomState(0)
    sizes = [1, 2, 3, 17, 64, 200, _fast_predict.MAX_ROWS]
    calls = [
        (methods[i % len(methods)], rng.normal(size=(rng.choice(sizes), X.shape[1])))
        for i in range(64)
    ]
    calls = [(method, x.astype(dtype)) for method, x in calls]
    assert all(_fast_predict.takes(model, x) for _, x in calls)
    expected = [getattr(model, method)(x) for method, x in calls]
    clone = pickle.loads(pickle.dumps(model))  # nothing cached: threads race for it
    start = threading.Barrier(4)

    def work(offset):
        start.wait()
        out = []
        for i in range(400):
            method, x = calls[(i + offset) % len(calls)]
            out.append(getattr(clone, method)(x))
        return out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(0, 64, 16)))
    for offset, got in zip(range(0, 64, 16), results):
        for i, g in enumerate(got):
            _assert_identical(g, expected[(i + offset) % len(calls)])
