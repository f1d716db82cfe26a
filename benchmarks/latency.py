#!/usr/bin/env python
"""Prediction latency: fcnn_sk vs scikit-learn's MLP vs the same model in onnxruntime.

    python benchmarks/latency.py                  # ~1 minute on 2 cores
    python benchmarks/latency.py --quick          # fewer repetitions
    python benchmarks/latency.py --json /tmp/latency.json

``predict_proba`` on 1, 10, 100 and 1000 rows of a plain numpy array, for the digits
network (64-100-10, trained on digits) and the MNIST-size network (784-512-256-10,
trained briefly on random data: latency does not depend on the weights), in float32
and float64. onnxruntime runs the model exported by ``fcnn_sk.onnx`` (``zipmap=False``,
only the probabilities requested; a double graph for float64 models, so that all three
compute in the same precision), in one session with one intra- and one inter-op
thread; BLAS is limited to one thread for the other two (threadpoolctl).

Each figure is the median over --reps repetitions of the time per call, each
repetition timing enough calls to last ~20 ms (at least 5), the three libraries
alternating within a repetition. Ratios: time of the other library / time of fcnn_sk
(above 1: fcnn_sk is faster). The machine's load average is printed before and after,
as other work on the machine moves the figures. Needs the ``onnx`` and ``bench``
extras.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = (1, 10, 100, 1000)
LIBS = ("fcnn_sk", "onnxruntime", "sklearn")

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def import_fcnn():
    """fcnn_sk and fcnn_sk.onnx, from the installed package or the checkout."""
    try:
        import fcnn_sk.onnx
    except ImportError:
        sys.path.insert(0, os.path.dirname(HERE))
        import fcnn_sk.onnx  # noqa: F401
    return sys.modules["fcnn_sk"], sys.modules["fcnn_sk.onnx"]


def networks(dtype):
    """name -> (X to predict from, fitted fcnn_sk model, fitted sklearn model)."""
    fcnn, _ = import_fcnn()
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(dtype)
    rows = np.resize(np.arange(len(X)), max(ROWS))  # 1000 rows, repeating digits
    out = {}
    params = {"hidden_layer_sizes": (100,), "max_iter": 30, "random_state": 0}
    out["digits 64-100-10"] = (
        X[rows],
        fcnn.FCNNClassifier(**params).fit(X, y),
        MLPClassifier(**params).fit(X, y),
    )
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 784)).astype(dtype)
    y = np.argmax(X @ rng.standard_normal((784, 10)).astype(dtype), axis=1)
    params = {"hidden_layer_sizes": (512, 256), "max_iter": 1, "random_state": 0}
    out["mnist 784-512-256-10"] = (
        X[: max(ROWS)],
        fcnn.FCNNClassifier(**params).fit(X, y),
        MLPClassifier(**params).fit(X, y),
    )
    return out


def onnx_session(model, X):
    import onnxruntime as ort

    _, fonnx = import_fcnn()
    onx = fonnx.to_onnx(model, dtype=X.dtype, options={"zipmap": False})
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(
        onx.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(["probabilities"], {name: x})[0]


def per_call(fn, x, target_s=0.02):
    """Seconds per call of ``fn(x)``, timing enough calls to last ~``target_s``."""
    fn(x)
    number, elapsed = 5, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn(x)
        elapsed = time.perf_counter() - t0
        if elapsed >= target_s:
            return elapsed / number
        number = max(number * 2, int(number * target_s / max(elapsed, 1e-9) * 1.2))


def machine():
    fcnn, _ = import_fcnn()
    import onnxruntime

    from fcnn_sk import _compiled

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in f
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "onnxruntime": onnxruntime.__version__,
        "fcnn_sk": fcnn.__version__,
        "kernels": _compiled.name,
        "blas": _compiled.blas,
    }


def load_average():
    """The system's load averages over 1, 5 and 15 minutes, or None (not POSIX)."""
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except (AttributeError, OSError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--reps",
        type=int,
        default=None,
        help="repetitions per figure (default 9, --quick 3)",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    reps = args.reps or (3 if args.quick else 9)

    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    load = [load_average()]
    print(f"load average (1, 5, 15 min) at the start: {load[0]}")
    print(
        f"median of {reps} repetitions, microseconds per predict_proba call; "
        "ratios = other / fcnn_sk\n"
    )
    print(
        "| network | dtype | rows | fcnn_sk | onnxruntime | sklearn "
        "| ort/fcnn | sklearn/fcnn |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    results = []
    with threadpool_limits(1):
        for dtype in (np.float32, np.float64):
            for name, (X, model, mlp) in networks(dtype).items():
                fns = {
                    "fcnn_sk": model.predict_proba,
                    "onnxruntime": onnx_session(model, X),
                    "sklearn": mlp.predict_proba,
                }
                for n in ROWS:
                    x = np.ascontiguousarray(X[:n])
                    times = {lib: [] for lib in LIBS}
                    for _ in range(reps):
                        for lib in LIBS:
                            times[lib].append(per_call(fns[lib], x))
                    med = {lib: statistics.median(t) * 1e6 for lib, t in times.items()}
                    row = {
                        "network": name,
                        "dtype": np.dtype(dtype).name,
                        "rows": n,
                        **{f"{lib}_us": med[lib] for lib in LIBS},
                        "ort_over_fcnn": med["onnxruntime"] / med["fcnn_sk"],
                        "sklearn_over_fcnn": med["sklearn"] / med["fcnn_sk"],
                    }
                    results.append(row)
                    print(
                        f"| {name} | {row['dtype']} | {n} | {med['fcnn_sk']:.1f} "
                        f"| {med['onnxruntime']:.1f} | {med['sklearn']:.1f} "
                        f"| {row['ort_over_fcnn']:.2f} | {row['sklearn_over_fcnn']:.1f} |",
                        flush=True,
                    )
    load.append(load_average())
    print(f"\nload average (1, 5, 15 min) at the end: {load[1]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": info, "reps": reps, "load": load, "results": results},
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
