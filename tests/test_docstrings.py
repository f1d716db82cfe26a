"""Every public name has an Examples section, and every example in the docstrings runs.

The doctests run on the imported objects, so they test the installed package (CI runs
the suite against a wheel installed in a fresh environment), with the doctest module:
each public name's docstring, and those of its public methods defined in fcnn_sk. An
example that imports an optional extra (matplotlib, skl2onnx, onnxruntime) is
skipped when the extra is missing.
"""

import ast
import doctest
import importlib
import inspect
import re

import pytest

import fcnn_sk

#: the modules whose public names get API pages: the package and its extras' modules
PUBLIC_MODULES = {"fcnn_sk": fcnn_sk.__all__, "fcnn_sk.onnx": None}
_IMPORT = re.compile(r"^\s*(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import\b)", re.M)


def _public_names():
    """``(qualified name, module name, attribute)`` of every public function and
    class, ``fcnn_sk.onnx``'s included whether or not its extra is installed."""
    names = [("fcnn_sk." + n, "fcnn_sk", n) for n in fcnn_sk.__all__]
    # fcnn_sk.onnx needs skl2onnx to import; its __all__ is read from the source
    spec = importlib.util.find_spec("fcnn_sk.onnx")
    with open(spec.origin, encoding="utf-8") as f:
        source = f.read()
    onnx_all = re.search(r"^__all__ = (\[.*?\])", source, re.M | re.S).group(1)
    for n in ast.literal_eval(onnx_all):
        names.append(("fcnn_sk.onnx." + n, "fcnn_sk.onnx", n))
    return names


def _resolve(module_name, attribute):
    """The object, importing its module; a skip where an extra is missing."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        pytest.skip(f"{module_name} needs an optional extra: {exc}")
    return getattr(module, attribute)


def _is_documented_api(obj):
    """Functions and classes get API pages; data (``__version__``, the tables of
    ONNX forms) is described on the API page itself."""
    return inspect.isclass(obj) or inspect.isfunction(obj)


def _docstrings(name, obj):
    """``(name, docstring)`` of ``obj`` and, for a class, of each public method
    defined in fcnn_sk (inherited scikit-learn methods are scikit-learn's)."""
    yield name, obj.__doc__ or ""
    if not inspect.isclass(obj):
        return
    for attr in sorted(dir(obj)):
        if attr.startswith("_"):
            continue
        member = inspect.getattr_static(obj, attr)
        function = getattr(member, "__func__", member)
        function = getattr(function, "fn", function)  # available_if
        if not callable(function):
            continue
        module = getattr(function, "__module__", "") or ""
        if module.split(".")[0] == "fcnn_sk":
            yield f"{name}.{attr}", function.__doc__ or ""


def _cases():
    cases, seen = [], set()
    for qualified, module_name, attribute in _public_names():
        try:
            obj = getattr(importlib.import_module(module_name), attribute)
        except ImportError:
            # one case per module that needs an extra, skipped when it runs
            if module_name not in seen:
                seen.add(module_name)
                cases.append(pytest.param(module_name + ".*", None, id=module_name))
            continue
        if not _is_documented_api(obj):
            continue
        for name, doc in _docstrings(qualified, obj):
            # a method both estimators inherit runs once
            if ">>>" in doc and doc not in seen:
                seen.add(doc)
                cases.append(pytest.param(name, doc, id=name))
    return cases


def _skip_without_imports(source):
    """Skip when an example imports a module that is not installed."""
    for match in _IMPORT.finditer(source):
        module = match.group(1) or match.group(2)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            pytest.skip(f"the example needs {module}: {exc}")


@pytest.fixture
def close_figures():
    yield
    plt = __import__("sys").modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def _api_names():
    """The public names with API pages (data is left out where it can be told)."""
    names = []
    for qualified, module_name, attribute in _public_names():
        try:
            obj = getattr(importlib.import_module(module_name), attribute)
        except ImportError:
            obj = None  # skipped when it runs
        if obj is None or _is_documented_api(obj):
            names.append(pytest.param(qualified, module_name, attribute, id=qualified))
    return names


@pytest.mark.parametrize("qualified, module_name, attribute", _api_names())
def test_public_name_has_examples(qualified, module_name, attribute):
    """Each public class and function has a numpydoc Examples section with at least
    one example."""
    obj = _resolve(module_name, attribute)
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Examples\n-{8}\n", doc, re.M), f"{qualified}: no Examples"
    test = doctest.DocTestParser().get_doctest(doc, {}, qualified, None, 0)
    assert test.examples, f"{qualified}: its Examples section has no example"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name, doc", _cases())
def test_docstring_examples_run(name, doc, close_figures):
    if doc is None:
        module_name = name.rpartition(".")[0]
        _resolve(module_name, "__all__")  # skips: the module needs an extra
    test = doctest.DocTestParser().get_doctest(doc, {}, name, None, 0)
    _skip_without_imports("\n".join(example.source for example in test.examples))
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
