"""Ctrl-C inside compiled work: it stops at the next mini-batch (or chunk) boundary.

A child process (_interrupt_child.py) runs work that would take seconds; the test
sends it SIGINT shortly after each piece starts and checks the state the child
reports, not the time: the work stopped partway, and what it leaves is exactly what
the mini-batches (chunks) it reports as done produce. How quickly control returns is
measured by benchmarks/interrupt_latency.py; here it is only printed.
"""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import fcnn_sk
from fcnn_sk import FCNNClassifier, _compiled

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="sends SIGINT to a child process (POSIX)"
)

CHILD = os.path.join(os.path.dirname(__file__), "_interrupt_child.py")
WAIT_S = 0.3  # after the child says it starts a piece of work


def _run_child(what):
    """Run the child, interrupt each piece of its work; its report, with the
    seconds from each signal to the return of the work it interrupted."""
    env = dict(os.environ)
    # the child imports the fcnn_sk under test, installed or built in place
    root = os.path.dirname(os.path.dirname(fcnn_sk.__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        [sys.executable, CHILD, what],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=os.path.dirname(__file__),
    )
    lines, sent = [], []
    for line in child.stdout:
        lines.append(line)
        if line.strip() == "ready":
            time.sleep(WAIT_S)
            sent.append(time.monotonic())
            child.send_signal(signal.SIGINT)
    child.wait(timeout=120)
    output = "".join(lines)
    assert child.returncode == 0, output
    report = json.loads(lines[-1])
    pieces = list(report.values())
    assert len(pieces) == len(sent), output
    for piece, t in zip(pieces, sent):
        piece["latency_s"] = piece["returned_at"] - t
    print(
        {name: f"{piece['latency_s'] * 1e3:.0f} ms" for name, piece in report.items()}
    )
    return report


@pytest.fixture(scope="module")
def kernel_report():
    return _run_child("kernels")


def test_epoch_stops_after_a_whole_mini_batch(kernel_report):
    epoch = kernel_report["epoch"]
    result, replay = epoch["result"], epoch["replay"]
    assert result["interrupted"]
    assert 0 < result["n_rows"] < epoch["n_samples"]  # stopped partway through
    assert result["n_rows"] % epoch["batch"] == 0
    assert result["n_steps"] == result["n_rows"] // epoch["batch"]
    assert result["step"] == 3 + result["n_steps"]
    # the parameters, optimizer states and gradient norms are those of the
    # mini-batches done: the same, bit for bit, as an epoch of just those rows
    assert not replay["interrupted"] and replay["n_rows"] == result["n_rows"]
    assert replay["loss_sum"] == result["loss_sum"]
    assert replay["step"] == result["step"]
    assert epoch["trained"] and epoch["same_state"] and epoch["same_norms"]


def test_prediction_stops_after_a_whole_chunk(kernel_report):
    forward = kernel_report["forward_rows"]
    assert forward["raised"]  # KeyboardInterrupt, out of the kernel
    rows = forward["rows_at_signal"]
    assert rows is not None and 0 < rows < forward["n_samples"]
    assert rows % forward["chunk"] == 0
    assert forward["rows_written"] == rows  # nothing after the signal was handled


def test_loss_and_gradient_stop_after_a_whole_chunk(kernel_report):
    loss_grad = kernel_report["loss_grad"]
    assert loss_grad["raised"]
    # the handler ran inside the pass, after that many whole chunks of all
    chunks = loss_grad["chunks_at_signal"]
    assert chunks is not None and 0 < chunks < loss_grad["n_chunks"]


def test_fit_ends_with_a_warning_in_its_first_epoch():
    fit = _run_child("fit")["fit"]
    assert fit["calls"] == 1 and fit["result"]["interrupted"]
    assert 0 < fit["result"]["n_rows"] < fit["n_samples"]
    # the cut epoch counts, with the rows and steps it trained: the model's
    # bookkeeping agrees with its weights
    assert fit["n_iter"] == 1 and fit["n_losses"] == 1
    assert fit["t"] == fit["result"]["n_rows"]
    assert fit["step"] == fit["result"]["step"]
    assert "Training interrupted by user." in fit["warnings"]
    assert fit["predicts"]


def test_lbfgs_keeps_its_last_accepted_iterate(monkeypatch):
    # Ctrl-C arrives as a KeyboardInterrupt out of a loss evaluation (the compiled
    # pass raises it at a chunk boundary): here the 12th evaluation raises it
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    y = y[:300]
    loss_grad, calls = _compiled.kernels.loss_grad, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 12:
            raise KeyboardInterrupt
        return loss_grad(*args, **kwargs)

    monkeypatch.setattr(_compiled.kernels, "loss_grad", interrupted)
    est = FCNNClassifier((20,), solver="lbfgs", max_iter=50, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert "Training interrupted by user." in [str(w.message) for w in caught]
    monkeypatch.setattr(_compiled.kernels, "loss_grad", loss_grad)
    assert 0 < est.n_iter_ < 12
    # exactly the model of a fit that stopped after those iterations
    done = FCNNClassifier((20,), solver="lbfgs", max_iter=est.n_iter_, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # stops at max_iter
        done.fit(X, y)
    for a, b in zip([*est.coefs_, *est.intercepts_], [*done.coefs_, *done.intercepts_]):
        np.testing.assert_array_equal(a, b)
    assert est.loss_ == done.loss_
