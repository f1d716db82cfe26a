"""ONNX export (fcnn_sk.onnx): onnxruntime's answers against the models' own.

Tolerances: 1e-5 (absolute) on float32 probabilities and regression outputs, 1e-10 on
float64 ones (double graphs), labels identical. Regression targets are standardised so
that outputs are of order one and an absolute tolerance means something.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common._container import ModelComponentContainer
from skl2onnx.common._topology import Scope
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
)
from sklearn.compose import ColumnTransformer
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import fcnn_sk.onnx as fonnx
from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._network import forward
from fcnn_sk._registry import ACTIVATIONS, OUTPUT_LOSSES

HIDDEN_ACTIVATIONS = list(ACTIVATIONS)
OUTPUT_ACTIVATIONS = list(OUTPUT_LOSSES)

DTYPES = [np.float32, np.float64]
ATOL = {np.float32: 1e-5, np.float64: 1e-10}


def _session(onx):
    onnx.checker.check_model(onx)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(
        onx.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )


def _run(onx, X):
    sess = _session(onx)
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _assert_classifier_parity(clf, X, **kwargs):
    """Labels identical, probabilities within the dtype's tolerance."""
    onx = to_onnx(clf, X[:1], options={"zipmap": False}, **kwargs)
    labels, proba = _run(onx, X)
    expected = clf.predict(X)
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_allclose(
        proba, clf.predict_proba(X), rtol=0, atol=ATOL[X.dtype.type]
    )
    assert proba.dtype == X.dtype
    return onx


def _assert_regressor_parity(reg, X, **kwargs):
    onx = to_onnx(reg, X[:1], **kwargs)
    (pred,) = _run(onx, X)
    assert pred.shape == (len(X), reg.n_outputs_)
    assert pred.dtype == X.dtype
    np.testing.assert_allclose(
        pred.reshape(reg.predict(X).shape),
        reg.predict(X),
        rtol=0,
        atol=ATOL[X.dtype.type],
    )
    return onx


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


# --- every activation has an ONNX form, and it computes what the kernel does ---------


def _form_graph(form, dtype, opset, **params):
    """A one-activation ONNX model built from ``form`` at ``opset``, directly (so that
    opsets beyond those skl2onnx accepts are covered too)."""
    tensor, proto = (
        (FloatTensorType, TensorProto.FLOAT)
        if dtype == np.float32
        else (DoubleTensorType, TensorProto.DOUBLE)
    )
    container = ModelComponentContainer(opset)
    graph = fonnx._Graph(Scope("s", target_opset=opset), container, tensor([None, 1]))
    out = form(graph, "x", **params)
    if out == "x":
        out = graph.op("Identity", "x")
    model = helper.make_model(
        helper.make_graph(
            container.nodes,
            "g",
            [helper.make_tensor_value_info("x", proto, [None, 1])],
            [helper.make_tensor_value_info(out, proto, [None, 1])],
            container.initializers,
        ),
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = 10
    return model, [n.op_type for n in container.nodes]


@pytest.mark.parametrize("opset", [18, 22, 24])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_hidden_activation_form_matches_kernel(activation, dtype, opset):
    assert activation in fonnx.HIDDEN_FORMS, f"{activation!r} has no ONNX form"
    model, ops = _form_graph(
        fonnx.HIDDEN_FORMS[activation], dtype, opset, negative_slope=0.03
    )
    big = 700.0 if dtype == np.float64 else 80.0
    x = np.concatenate(
        [np.linspace(-40, 40, 4001), [0.0, -0.0, 1e-30, -1e-30, big, -big]]
    ).astype(dtype)[:, None]
    (got,) = _run(model, x)
    # the kernel's activation: a 1-1-1 network with unit weights and no intercepts
    one, zero = np.ones((1, 1), dtype), np.zeros(1, dtype)
    expected = forward(
        [one, one],
        [zero, zero],
        x,
        activation=activation,
        out_activation="identity",
        negative_slope=0.03,
    )
    # relative to the value beyond 1, as an ulp-level comparison of both sides
    err = np.abs(got - expected) / np.maximum(np.abs(expected), 1)
    assert err.max() <= (4e-6 if dtype == np.float32 else 1e-14)
    # the dedicated operator where the opset (and onnxruntime's types) allow it
    if activation == "gelu" and dtype == np.float32:
        assert ("Gelu" in ops) == (opset >= 20)
    if activation == "swish" and dtype == np.float32:
        assert ("Swish" in ops) == (opset >= 24)


def _model_with_output(out_activation, dtype):
    """A small fitted model whose output activation is ``out_activation``."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4)).astype(dtype)
    models = {
        "softmax": lambda: (FCNNClassifier((5,)), rng.randint(3, size=80)),
        "logistic": lambda: (FCNNClassifier((5,)), rng.randint(2, size=80)),
        "identity": lambda: (FCNNRegressor((5,)), rng.normal(size=80)),
        "exp": lambda: (FCNNRegressor((5,), loss="poisson"), rng.poisson(2, 80)),
    }
    model, y = models[out_activation]()
    return _fit(model.set_params(max_iter=20, random_state=0), X, y), X


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
def test_every_output_activation_exports(out_activation, dtype):
    assert out_activation in fonnx.OUTPUT_FORMS
    model, X = _model_with_output(out_activation, dtype)
    assert model.out_activation_ == out_activation
    if isinstance(model, FCNNClassifier):
        _assert_classifier_parity(model, X)
    else:
        _assert_regressor_parity(model, X)


# --- real data ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_digits_every_activation(digits, activation, dtype):
    X, y = digits
    X = X[:600].astype(dtype)
    clf = _fit(
        FCNNClassifier((24,), activation=activation, max_iter=15, random_state=0),
        X,
        y[:600],
    )
    _assert_classifier_parity(clf, X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_digits_one_activation_per_layer(digits, dtype):
    X, y = digits
    X = X.astype(dtype)
    clf = _fit(
        FCNNClassifier(
            (40, 30, 20, 20),
            activation=["gelu", "leaky_relu", "swish", "softplus"],
            negative_slope=0.2,
            max_iter=30,
            random_state=0,
        ),
        X,
        y,
    )
    _assert_classifier_parity(clf, X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_breast_cancer_string_labels(dtype):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(dtype)
    names = np.array(["malignant", "benign"])[y]
    clf = _fit(
        FCNNClassifier((16,), activation="tanh", max_iter=50, random_state=0), X, names
    )
    assert clf.out_activation_ == "logistic"
    onx = _assert_classifier_parity(clf, X)
    assert onx.graph.output[0].type.tensor_type.elem_type == TensorProto.STRING


@pytest.mark.parametrize("dtype", DTYPES)
def test_diabetes_single_and_multi_output(diabetes, dtype):
    X, y = diabetes
    X = X.astype(dtype)
    reg = _fit(
        FCNNRegressor((32, 16), activation="elu", max_iter=100, random_state=0), X, y
    )
    onx = _assert_regressor_parity(reg, X)
    dims = onx.graph.output[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 1  # (n, 1), as skl2onnx's regressors
    Y = np.column_stack([y, np.tanh(y), X[:, 2]])
    reg = _fit(FCNNRegressor((32,), max_iter=100, random_state=0), X, Y)
    _assert_regressor_parity(reg, X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_diabetes_poisson(diabetes, dtype):
    X, y = diabetes
    counts = np.round(np.exp(y)).astype(np.int64)
    reg = _fit(
        FCNNRegressor((16,), loss="poisson", max_iter=100, random_state=0),
        X.astype(dtype),
        counts,
    )
    assert reg.out_activation_ == "exp"
    _assert_regressor_parity(reg, X.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel(dtype):
    X, Y = make_multilabel_classification(400, 12, n_classes=5, random_state=0)
    X = (X / X.max()).astype(dtype)
    clf = _fit(FCNNClassifier((24,), max_iter=60, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 5
    _assert_classifier_parity(clf, X)


def test_integer_labels_other_than_indices(digits):
    X, y = digits
    X = X[:500].astype(np.float32)
    labels = (y[:500] * 7 + 3).astype(np.int32)
    clf = _fit(FCNNClassifier((16,), max_iter=20, random_state=0), X, labels)
    _assert_classifier_parity(clf, X)


# --- options and containers ---------------------------------------------------------


@pytest.fixture(scope="module")
def small_classifier(digits):
    X, y = digits
    X = X[:300].astype(np.float32)
    return _fit(FCNNClassifier((16,), max_iter=20, random_state=0), X, y[:300]), X


def test_zipmap_default(small_classifier):
    clf, X = small_classifier
    labels, proba = _run(to_onnx(clf, X[:1]), X)
    np.testing.assert_array_equal(labels, clf.predict(X))
    assert isinstance(proba, list) and list(proba[0]) == list(clf.classes_)
    dense = np.array([[row[c] for c in clf.classes_] for row in proba])
    np.testing.assert_allclose(dense, clf.predict_proba(X), rtol=0, atol=1e-5)


def test_zipmap_columns(small_classifier):
    clf, X = small_classifier
    out = _run(to_onnx(clf, X[:1], options={"zipmap": "columns"}), X)
    np.testing.assert_array_equal(out[0], clf.predict(X))
    np.testing.assert_allclose(
        np.column_stack(out[1:]), clf.predict_proba(X), rtol=0, atol=1e-5
    )


def test_nocl_gives_class_indices():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    names = np.array(["malignant", "benign"])[y]
    clf = _fit(FCNNClassifier((8,), max_iter=30, random_state=0), X, names)
    labels, _ = _run(to_onnx(clf, X[:1], options={"zipmap": False, "nocl": True}), X)
    np.testing.assert_array_equal(clf.classes_[labels], clf.predict(X))


def test_output_class_labels(small_classifier):
    clf, X = small_classifier
    onx = to_onnx(clf, X[:1], options={"zipmap": False, "output_class_labels": True})
    labels, _, classes = _run(onx, X)
    np.testing.assert_array_equal(classes, clf.classes_)
    np.testing.assert_array_equal(labels, clf.predict(X))


def test_convert_sklearn_and_to_onnx_helper(small_classifier):
    clf, X = small_classifier
    onx = convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, 64]))],
        options={id(clf): {"zipmap": False}},
    )
    labels, _ = _run(onx, X)
    np.testing.assert_array_equal(labels, clf.predict(X))
    onx = fonnx.to_onnx(clf, options={"zipmap": False})  # the input from the model
    assert onx.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    labels, _ = _run(onx, X)
    np.testing.assert_array_equal(labels, clf.predict(X))


def test_float64_model_double_graph_on_request(digits):
    X, y = digits
    X = X[:400]
    clf = _fit(
        FCNNClassifier((16,), activation="gelu", max_iter=20, random_state=0),
        X,
        y[:400],
    )
    double = fonnx.to_onnx(clf, dtype=np.float64, options={"zipmap": False})
    assert double.graph.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE
    _, proba = _run(double, X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-10)
    # a float graph (the default) of the same model: float32 precision
    _, proba = _run(fonnx.to_onnx(clf, options={"zipmap": False}), X.astype(np.float32))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-5)


def test_pipeline_with_scaler(digits):
    X, y = digits
    X = (X * 16).astype(np.float32)
    pipe = _fit(
        make_pipeline(
            StandardScaler(), FCNNClassifier((32,), max_iter=30, random_state=0)
        ),
        X,
        y,
    )
    labels, proba = _run(to_onnx(pipe, X[:1], options={"zipmap": False}), X)
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)


def test_column_transformer_pipeline(diabetes):
    X, y = load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    pre = ColumnTransformer(
        [
            ("std", StandardScaler(), [0, 2, 3, 4, 5]),
            ("minmax", MinMaxScaler(), [1, 6, 7, 8, 9]),
        ]
    )
    pipe = _fit(
        make_pipeline(pre, FCNNRegressor((16,), max_iter=200, random_state=0)),
        X,
        (y - y.mean()) / y.std(),
    )
    (pred,) = _run(to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(pred.ravel(), pipe.predict(X), rtol=0, atol=1e-5)


# --- randomly drawn architectures ----------------------------------------------------


def _random_model(seed):
    rng = np.random.RandomState(seed)
    n_hidden = rng.randint(0, 4)
    sizes = tuple(int(s) for s in rng.randint(1, 13, size=n_hidden))
    activation = [str(a) for a in rng.choice(HIDDEN_ACTIVATIONS, n_hidden)] or "relu"
    dtype = DTYPES[rng.randint(2)]
    n, n_features = 90, rng.randint(1, 9)
    X = rng.normal(size=(n, n_features)).astype(dtype)
    kind = rng.choice(
        [
            "multiclass",
            "binary",
            "multilabel",
            "regression",
            "multi_regression",
            "poisson",
        ]
    )
    params = {
        "hidden_layer_sizes": sizes,
        "activation": activation,
        "max_iter": 8,
        "negative_slope": float(rng.uniform(0, 0.5)),
        "random_state": seed,
        "solver": str(rng.choice(["adam", "sgd", "lbfgs"])),
    }
    if kind == "multiclass":  # labels such as 30, 31, 32, 33
        y = rng.randint(2, 6) * 10 + rng.randint(4, size=n)
        model = FCNNClassifier(**params)
    elif kind == "binary":
        model, y = FCNNClassifier(**params), rng.choice(["no", "yes"], n)
    elif kind == "multilabel":
        model, y = FCNNClassifier(**params), rng.randint(2, size=(n, 3))
        y[:3] = [[0, 0, 0], [1, 1, 1], [0, 1, 0]]
    elif kind == "regression":
        model, y = FCNNRegressor(**params), rng.normal(size=n)
    elif kind == "multi_regression":
        model, y = FCNNRegressor(**params), rng.normal(size=(n, 2))
    else:
        model, y = FCNNRegressor(loss="poisson", **params), rng.poisson(1.5, n)
    return _fit(model, X, y), X


@pytest.mark.parametrize("seed", range(24))
def test_random_architectures(seed):
    model, X = _random_model(seed)
    if isinstance(model, FCNNClassifier):
        _assert_classifier_parity(model, X)
    else:
        _assert_regressor_parity(model, X)


# --- what cannot be exported is refused, by name -------------------------------------


def test_activation_without_form_is_named(small_classifier, monkeypatch):
    clf, X = small_classifier
    monkeypatch.delitem(fonnx.HIDDEN_FORMS, "relu")
    with pytest.raises(ValueError, match="hidden layer 0 has activation 'relu'"):
        to_onnx(clf, X[:1])


def test_output_without_form_is_named(small_classifier, monkeypatch):
    clf, X = small_classifier
    monkeypatch.delitem(fonnx.OUTPUT_FORMS, "softmax")
    with pytest.raises(ValueError, match="output activation 'softmax'"):
        to_onnx(clf, X[:1])


def test_non_integer_float_labels_are_refused():
    # fit never produces them; a model whose classes_ were replaced may have them
    X = np.random.RandomState(0).normal(size=(40, 3)).astype(np.float32)
    clf = _fit(FCNNClassifier((4,), max_iter=5), X, np.tile([0.0, 1.0], 20))
    clf.classes_ = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match="not integers"):
        to_onnx(clf, X[:1], options={"zipmap": False})


def test_wrong_input_width_is_refused(small_classifier):
    clf, _ = small_classifier
    with pytest.raises(ValueError, match="the input has 10 columns, the model 64"):
        convert_sklearn(clf, initial_types=[("X", FloatTensorType([None, 10]))])


def test_unfitted_model_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        convert_sklearn(
            FCNNRegressor(), initial_types=[("X", FloatTensorType([None, 3]))]
        )
