"""
ONNX export and inference with onnxruntime
==========================================

:mod:`fcnn_sk.onnx` registers converters for ``FCNNClassifier`` and
``FCNNRegressor`` with skl2onnx, so that a fitted model, alone or in a scikit-learn
pipeline, converts to an ONNX graph that onnxruntime (or any other ONNX runtime)
executes without Python, scikit-learn or fcnn_sk. Needs the ``onnx`` extra:
``pip install "fcnn_sk[onnx]"``.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fcnn_sk import FCNNClassifier

try:
    import onnxruntime as ort

    from fcnn_sk.onnx import to_onnx
except ImportError as exc:
    raise ImportError(
        "This example needs skl2onnx and onnxruntime: pip install 'fcnn_sk[onnx]'."
    ) from exc

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# A pipeline to export
# --------------------
# A scaler and a network with two hidden layers of different activations. The data
# are float64, so the network computes in float64.
model = make_pipeline(
    StandardScaler(),
    FCNNClassifier((64, 32), activation=["gelu", "tanh"], max_iter=50, random_state=0),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")

# %%
# Two graphs
# ----------
# The graph computes in the element type of its input: float32 by default (what
# most deployments use), float64 when the sample input ``X`` is float64. The
# ``zipmap=False`` option makes the probabilities a plain matrix rather than a list
# of dictionaries.
graphs = {
    "float32": to_onnx(
        model, X_train[:1].astype(np.float32), options={"zipmap": False}
    ),
    "float64": to_onnx(model, X_train[:1], options={"zipmap": False}),
}
for dtype, onx in graphs.items():
    ops = sorted({node.op_type for node in onx.graph.node})
    print(f"{dtype} graph: {len(onx.SerializeToString())} bytes, operators {ops}")

# %%
# Running them
# ------------
# onnxruntime runs each graph from its serialised bytes (what a file would hold);
# its outputs are the labels and the probabilities, as ``predict`` and
# ``predict_proba`` give them.
expected_labels = model.predict(X_test)
expected_proba = model.predict_proba(X_test)
differences = {}
for dtype, onx in graphs.items():
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {"X": X_test.astype(dtype)})
    differences[dtype] = np.abs(proba - expected_proba).ravel()
    print(
        f"{dtype} graph: labels equal to predict: "
        f"{bool(np.array_equal(labels, expected_labels))}; "
        f"max |probability difference| {differences[dtype].max():.1e}"
    )

# %%
# How close
# ---------
# The float64 graph reproduces the float64 model to about the rounding of float64
# (1e-16); the float32 graph to about that of float32 (1e-7), which never changes
# a label unless two classes are within that of each other.
fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
bins = np.logspace(-20, -4, 65)
for dtype, diff in differences.items():
    # exact zeros drawn in the lowest bin
    ax.hist(np.maximum(diff, bins[0]), bins=bins, alpha=0.7, label=f"{dtype} graph")
ax.set(
    xscale="log",
    xlabel="absolute difference",
    ylabel="count",
    title="onnxruntime against predict_proba, {} x {} probabilities".format(
        *expected_proba.shape
    ),
)
ax.legend()
plt.show()
