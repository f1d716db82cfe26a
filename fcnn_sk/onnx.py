"""ONNX export of fitted fcnn_sk models, through skl2onnx.

Importing this module registers a shape calculator and a converter for
:class:`~fcnn_sk.FCNNClassifier` and :class:`~fcnn_sk.FCNNRegressor` with skl2onnx
(``update_registered_converter``, as skl2onnx does for scikit-learn's MLP), so that
``skl2onnx.to_onnx(model, X)`` and ``skl2onnx.convert_sklearn`` convert them, alone or
inside a ``Pipeline`` or ``ColumnTransformer`` with scikit-learn transformers. The
classifier takes the options of scikit-learn's classifiers: ``zipmap`` (True, False or
'columns'), ``nocl`` and ``output_class_labels``. Needs the ``onnx`` extra
(``pip install fcnn_sk[onnx]``).

The graph is the network itself: per layer a ``MatMul`` and an ``Add``, then the
layer's activation, then the output link; each activation and output link has its
ONNX form in the tables ``HIDDEN_FORMS`` and ``OUTPUT_FORMS`` below. The graph computes
in the precision of its input: a float input (skl2onnx's default) gives a float graph,
a double input (``X`` of dtype float64, or ``DoubleTensorType``) a double graph, which
reproduces a float64 model to ~1e-15. onnxruntime implements Gelu, Erf, Softplus and
Elu for float only and LeakyRelu takes its slope as a float attribute, so double graphs
compose those activations from elementary operators (erf from fdlibm's rational
approximations, exact to an ulp).

Outputs: the classifier gives ``label`` (class labels, ``(n,)``; for a multilabel model
the 0/1 indicator matrix ``(n, n_classes)``, as ``predict``) and ``probabilities``
(``(n, n_classes)``, as ``predict_proba``); the regressor gives ``variable`` of shape
``(n, n_outputs)``, also for one output (``predict`` gives ``(n,)`` there), as
skl2onnx's regressors do.
"""

import numpy as np

try:
    from skl2onnx import to_onnx as _skl2onnx_to_onnx
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int32TensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "fcnn_sk.onnx needs skl2onnx (and onnxruntime to run the graphs): "
        "pip install 'fcnn_sk[onnx]'"
    ) from exc

from sklearn.utils.validation import check_is_fitted

from ._classifier import FCNNClassifier
from ._onnx_forms import OUTPUT_FORMS
from ._registry import ACTIVATIONS
from ._regressor import FCNNRegressor
from ._validation import per_layer

__all__ = ["HIDDEN_FORMS", "OUTPUT_FORMS", "to_onnx"]

_INPUT_TYPES = [
    FloatTensorType,
    DoubleTensorType,
    Int64TensorType,
    Int32TensorType,
    BooleanTensorType,
]


class _Graph:
    """Adds nodes to a skl2onnx container in one element type: ``op`` returns the
    name of a new node's output, ``const`` that of a scalar or array initializer.

    Attributes
    ----------
    double : bool
        Whether the graph computes in double (else float).
    opset : int
        Target opset of the main ONNX domain.
    """

    def __init__(self, scope, container, input_type):
        self.scope = scope
        self.container = container
        self.double = isinstance(input_type, DoubleTensorType)
        self.proto = (
            onnx_proto.TensorProto.DOUBLE
            if self.double
            else onnx_proto.TensorProto.FLOAT
        )
        self.dtype = np.float64 if self.double else np.float32
        self.opset = container.target_opset_onnx
        self._consts = {}

    def op(self, op_type, *inputs, output=None, domain="", **attrs):
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            list(inputs),
            output,
            op_domain=domain,
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return output

    def const(self, value, name="c"):
        """A scalar constant of the graph's type (cached) or an array initializer."""
        value = np.asarray(value, dtype=self.dtype)
        key = value.item() if value.ndim == 0 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        init = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(
            init, self.proto, list(value.shape), value.ravel()
        )
        if key is not None:
            self._consts[key] = init
        return init

    def polynomial(self, coefs, t):
        """``sum_i coefs[i] * t**i`` by Horner's rule."""
        acc = self.op(
            "Add", self.op("Mul", t, self.const(coefs[-1])), self.const(coefs[-2])
        )
        for c in coefs[-3::-1]:
            acc = self.op("Add", self.op("Mul", acc, t), self.const(c))
        return acc


#: ONNX form of each hidden activation, from its registry entry: ``form(graph,
#: input_name, *, negative_slope) -> output_name`` (see _onnx_forms.py).
HIDDEN_FORMS = {name: entry.onnx for name, entry in ACTIVATIONS.items()}


# --- checks --------------------------------------------------------------------------


def _check_exportable(model):
    """Raise a ValueError naming whatever of the fitted ``model`` has no ONNX form."""
    check_is_fitted(model)
    name = type(model).__name__
    acts = per_layer("activation", model.activation, model.n_layers_ - 2)
    for i, act in enumerate(acts):
        if act not in HIDDEN_FORMS:
            raise ValueError(
                f"Cannot export {name} to ONNX: hidden layer {i} has activation "
                f"{act!r}, which has no ONNX form (known: {sorted(HIDDEN_FORMS)})."
            )
    if model.out_activation_ not in OUTPUT_FORMS:
        raise ValueError(
            f"Cannot export {name} to ONNX: output activation "
            f"{model.out_activation_!r} has no ONNX form (known: "
            f"{sorted(OUTPUT_FORMS)})."
        )


def _label_kind(classes):
    """'int' or 'str': how the labels go into the graph; ValueError otherwise."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return "int"
    if classes.dtype.kind == "f":
        if np.all(classes == np.round(classes)):
            return "int"
        raise ValueError(
            f"Cannot export FCNNClassifier to ONNX: class labels {classes.tolist()} "
            "are not integers; use integer or string labels."
        )
    if all(isinstance(c, str) for c in classes.ravel()):
        return "str"
    raise ValueError(
        "Cannot export FCNNClassifier to ONNX: class labels must be integers or "
        f"strings, got {classes.dtype} labels {classes.tolist()[:5]}."
    )


def _check_input(operator):
    model = operator.raw_operator
    check_input_and_output_types(operator, good_input_types=_INPUT_TYPES)
    _check_exportable(model)
    n_features = operator.inputs[0].get_second_dimension()
    if n_features is not None and n_features != model.coefs_[0].shape[0]:
        raise ValueError(
            f"Cannot export {type(model).__name__} to ONNX: the input has {n_features} "
            f"columns, the model {model.coefs_[0].shape[0]} features."
        )


def _is_multilabel(model):
    return model.out_activation_ == "logistic" and model.n_outputs_ > 1


# --- shape calculators and converters ---------------------------------------------


def _float_type(operator):
    """The tensor type of the graph's float outputs: double for a double input."""
    inp = operator.inputs[0].type
    return DoubleTensorType if isinstance(inp, DoubleTensorType) else FloatTensorType


def _classifier_shapes(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    _check_input(operator)
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    classes = get_label_classes(operator.scope_inst, model)
    label_type = StringTensorType if _label_kind(classes) == "str" else Int64TensorType
    operator.outputs[0].type = label_type(
        [n, len(classes)] if _is_multilabel(model) else [n]
    )
    operator.outputs[1].type = _float_type(operator)([n, len(classes)])


def _regressor_shapes(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    _check_input(operator)
    n, k = operator.inputs[0].get_first_dimension(), operator.raw_operator.n_outputs_
    operator.outputs[0].type = _float_type(operator)([n, k])


def _forward(g, model, input_name):
    """The network's raw outputs (before the output link)."""
    x = input_name
    acts = per_layer("activation", model.activation, model.n_layers_ - 2)
    for i, (coef, intercept) in enumerate(zip(model.coefs_, model.intercepts_)):
        x = g.op("MatMul", x, g.const(coef, "coefficient"))
        x = g.op("Add", x, g.const(intercept.reshape(1, -1), "intercepts"))
        if i < len(acts):
            x = HIDDEN_FORMS[acts[i]](g, x, negative_slope=model.negative_slope)
    return x


def _graph_input(scope, operator, container):
    """``(graph, input name in the graph's type)``."""
    g = _Graph(scope, container, operator.inputs[0].type)
    name = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, (FloatTensorType, DoubleTensorType)):
        name = g.op("Cast", name, to=g.proto)
    return g, name


def _convert_classifier(scope, operator, container):
    model = operator.raw_operator
    g, x = _graph_input(scope, operator, container)
    p = OUTPUT_FORMS[model.out_activation_](g, _forward(g, model, x))
    label_out, proba_out = operator.outputs[0].full_name, operator.outputs[1].full_name
    classes = np.asarray(get_label_classes(scope, model))

    if _is_multilabel(model):
        # predict: the indicator matrix of probabilities above 0.5
        g.op("Identity", p, output=proba_out)
        g.op(
            "Cast",
            g.op("Greater", p, g.const(0.5)),
            output=label_out,
            to=onnx_proto.TensorProto.INT64,
        )
        return
    if model.n_outputs_ == 1:
        # one logistic output: probabilities [1 - p, p], class 1 where p > 0.5
        g.op("Concat", g.op("Sub", g.const(1.0), p), p, output=proba_out, axis=1)
        index = g.op(
            "Reshape",
            g.op(
                "Cast",
                g.op("Greater", p, g.const(0.5)),
                to=onnx_proto.TensorProto.INT64,
            ),
            _int64_const(g, [-1]),
        )
    else:
        g.op("Identity", p, output=proba_out)
        index = g.op("ArgMax", proba_out, axis=1, keepdims=0)
    if _label_kind(classes) == "str":
        table = g.scope.get_unique_variable_name("classes")
        g.container.add_initializer(
            table,
            onnx_proto.TensorProto.STRING,
            [len(classes)],
            [str(c).encode("utf-8") for c in classes],
        )
    else:
        table = _int64_const(g, classes.astype(np.int64))
    g.op("Gather", table, index, output=label_out, axis=0)


def _int64_const(g, values):
    name = g.scope.get_unique_variable_name("int64")
    values = np.asarray(values, dtype=np.int64)
    g.container.add_initializer(
        name, onnx_proto.TensorProto.INT64, list(values.shape), values
    )
    return name


def _convert_regressor(scope, operator, container):
    model = operator.raw_operator
    g, x = _graph_input(scope, operator, container)
    y = OUTPUT_FORMS[model.out_activation_](g, _forward(g, model, x))
    g.op("Identity", y, output=operator.outputs[0].full_name)


update_registered_converter(
    FCNNClassifier,
    "FcnnSkFCNNClassifier",
    _classifier_shapes,
    _convert_classifier,
    options={
        "zipmap": [True, False, "columns"],
        "nocl": [True, False],
        "output_class_labels": [False, True],
    },
)
update_registered_converter(
    FCNNRegressor,
    "FcnnSkFCNNRegressor",
    _regressor_shapes,
    _convert_regressor,
)


def to_onnx(model, X=None, *, dtype=np.float32, **kwargs):
    """Convert a fitted model, or a pipeline holding one, to an ONNX model.

    A thin convenience over ``skl2onnx.to_onnx``, which works as well once this
    module is imported.

    Parameters
    ----------
    model : FCNNClassifier, FCNNRegressor or a scikit-learn pipeline with one
        The fitted model.
    X : ndarray of shape (n_samples, n_features), default=None
        Sample input: its dtype and width give the graph's input type (float64 gives
        a double graph). Without it the input is ``dtype`` with the model's
        ``n_features_in_`` columns.
    dtype : {np.float32, np.float64}, default=np.float32
        Element type of the graph when ``X`` is None; float64 reproduces a float64
        model to ~1e-15.
    **kwargs
        Passed to ``skl2onnx.to_onnx``: ``target_opset``, ``options`` (such as
        ``{"zipmap": False}`` or ``{"nocl": True}`` for a classifier), ...

    Returns
    -------
    onx : onnx.ModelProto

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_iris
    >>> from fcnn_sk import FCNNClassifier
    >>> from fcnn_sk.onnx import to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> clf = FCNNClassifier((10,), max_iter=2000, random_state=0).fit(X, y)
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
    >>> sess = ort.InferenceSession(onx.SerializeToString(),
    ...                             providers=["CPUExecutionProvider"])
    >>> labels, proba = sess.run(None, {"X": X})
    >>> bool((labels == clf.predict(X)).all())
    True
    >>> float(np.abs(proba - clf.predict_proba(X)).max()) < 1e-5
    True
    """
    if X is None and "initial_types" not in kwargs:
        n_features = getattr(model, "n_features_in_", None)
        if n_features is None:
            raise ValueError(
                "to_onnx needs X or initial_types for a model without n_features_in_."
            )
        tensor = DoubleTensorType if np.dtype(dtype) == np.float64 else FloatTensorType
        kwargs["initial_types"] = [("X", tensor([None, int(n_features)]))]
    return _skl2onnx_to_onnx(model, X, **kwargs)
