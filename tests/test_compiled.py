"""The choice between the kernel builds, and their agreement.

On x86-64 the kernels are compiled twice, for the baseline instruction set and with
AVX2 + FMA (setup.py); ``fcnn_sk._compiled`` imports the second where the CPU runs
it. The oracle and gradient tests run against every build (the ``kernel_build``
fixture); here: the selection itself, and whole trainings compared across builds.
Likewise for matrix products issued in row blocks (csrc/_openblas.pxd): the oracle tests
run with every product split (the ``gemm_split`` fixture); here, whole trainings. And
for the BLAS: scipy's, or scipy-openblas32's where it is installed; the other tests run
with the one selected, and here whole trainings are compared across the two.
"""

import importlib.util
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from _subprocess import PACKAGE_ROOT
from fcnn_sk import FCNNClassifier, FCNNRegressor, _compiled

BUILDS = sorted(_compiled.available())


def _selected_in_fresh_interpreter(value, variable="FCNN_SK_KERNELS", attribute="name"):
    """Run ``print(_compiled.<attribute>)`` in a fresh interpreter with the
    environment variable set to ``value`` (unset: None)."""
    env = {k: v for k, v in os.environ.items() if k != variable}
    if value is not None:
        env[variable] = value
    # the fcnn_sk under test first on the path (an installed package, or a source
    # checkout built in place), run from this directory, where no other can shadow it
    path = [PACKAGE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(path)
    code = f"from fcnn_sk import _compiled; print(_compiled.{attribute})"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(__file__),
    )


def test_selected_build_is_one_that_runs_here():
    assert "baseline" in BUILDS
    assert _compiled.available()[_compiled.name] is _compiled.kernels


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
    reason="the AVX2 build exists on x86-64 only",
)
def test_x86_64_installs_the_avx2_build():
    # setup.py must not skip it silently on the platform it is made for (found, not
    # imported: importing it on a CPU without AVX2 could crash)
    assert importlib.util.find_spec("fcnn_sk._kernels_avx2") is not None
    assert ("avx2" in BUILDS) == _compiled._baseline.cpu_has_avx2_fma()


def test_auto_prefers_avx2_where_it_runs():
    run = _selected_in_fresh_interpreter(None)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("avx2" if "avx2" in BUILDS else "baseline")


@pytest.mark.parametrize("value", ["baseline", "BASELINE", "auto", ""])
def test_environment_variable_selects_a_build(value):
    run = _selected_in_fresh_interpreter(value)
    assert run.returncode == 0, run.stderr
    auto = "avx2" if "avx2" in BUILDS else "baseline"
    expected = "baseline" if value.lower() == "baseline" else auto
    assert run.stdout.strip() == expected


def test_environment_variable_with_unknown_build_fails_clearly():
    run = _selected_in_fresh_interpreter("sse9")
    assert run.returncode != 0
    assert "FCNN_SK_KERNELS='sse9'" in run.stderr
    assert "baseline" in run.stderr


@pytest.mark.skipif(len(BUILDS) < 2, reason="one kernel build on this machine")
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize(
    "make",
    [
        lambda: FCNNClassifier((16, 8), solver="adam", max_iter=5, random_state=0),
        lambda: FCNNClassifier(
            (16,), activation="tanh", solver="sgd", max_iter=5, random_state=0
        ),
        lambda: FCNNRegressor(
            (16,),
            activation="gelu",
            solver="rmsprop",
            max_iter=5,
            max_grad_norm=1.0,
            random_state=0,
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_builds_train_the_same_model(make, dtype, rtol, use_kernel_build):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 10)).astype(dtype)
    y = X[:, 0] - 2 * X[:, 1] ** 2
    if isinstance(make(), FCNNClassifier):
        y = np.digitize(y, [-1.0, 0.5])
    models = []
    for build in BUILDS:
        use_kernel_build(build)
        models.append(make().fit(X, y))
    first = models[0]
    for other in models[1:]:
        for a, b in zip(
            first.coefs_ + first.intercepts_, other.coefs_ + other.intercepts_
        ):
            assert a.dtype == b.dtype == dtype
            assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(a).max())
        assert_allclose(first.loss_curve_, other.loss_curve_, rtol=rtol)
        out = [getattr(m, "predict_proba", m.predict)(X[:20]) for m in (first, other)]
        assert_allclose(*out, rtol=10 * rtol, atol=10 * rtol)


@pytest.fixture
def restore_gemm_split():
    previous = _compiled.kernels.set_gemm_split("auto")
    yield
    _compiled.kernels.set_gemm_split(previous)


def _row_block_problem(name, dtype):
    """(X, y, hidden, batch) of a network whose products are issued in row blocks
    at one BLAS thread (csrc/_openblas.pxd), where the BLAS is OpenBLAS with AVX-512
    kernels."""
    if name == "digits":
        # the first layer's products, 1.28M multiply-adds: just above the small path
        X, y = load_digits(return_X_y=True)
        return (X / 16).astype(dtype), y, (100,), 200
    # the MNIST-size network: its second layer's weight gradient (16.8M
    # multiply-adds) runs as 30-row blocks
    rng = np.random.default_rng(0)
    X = rng.standard_normal((384, 784)).astype(dtype)
    return X, rng.integers(0, 10, 384), (512, 256), 128


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-3)])
@pytest.mark.parametrize("problem", ["digits", "mnist-size"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_row_blocks_train_the_same_model(problem, dtype, rtol, restore_gemm_split):
    # "auto" splits what the rule says (where the BLAS qualifies), "always" splits
    # every product that can be split
    X, y, hidden, batch = _row_block_problem(problem, dtype)
    models = {}
    for mode in ("never", "auto", "always"):
        _compiled.kernels.set_gemm_split(mode)
        with threadpool_limits(1):
            models[mode] = FCNNClassifier(
                hidden, batch_size=batch, max_iter=3, random_state=0
            ).fit(X, y)
    first = models["never"]
    for other in (models["auto"], models["always"]):
        for a, b in zip(
            first.coefs_ + first.intercepts_, other.coefs_ + other.intercepts_
        ):
            assert a.dtype == b.dtype == dtype
            assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(a).max())
        assert_allclose(first.loss_curve_, other.loss_curve_, rtol=rtol)


@pytest.mark.skipif(
    not _compiled.kernels.gemm_split_blas(),
    reason="products are split only with OpenBLAS's AVX-512 kernels",
)
def test_row_block_rule(restore_gemm_split):
    rows = _compiled.kernels.gemm_block_rows  # (trans_b, float32, m, n, k)
    with threadpool_limits(1):
        assert rows(False, False, 200, 100, 64) == 156  # digits' first layer, 1.28M
        assert rows(False, True, 100, 100, 100) == 100  # the small path already
        assert rows(False, True, 20, 256, 512) == 20  # 2.6M, but 7-row blocks
        # beyond 4.5M multiply-adds: blocks of at least 30 rows
        assert rows(False, True, 512, 256, 128) == 30  # MNIST-size, 2nd-layer dW
        assert rows(False, False, 512, 256, 128) == 30
        assert rows(False, True, 784, 512, 32) == 61  # 1st-layer dW at batch 32
        assert rows(False, False, 784, 512, 32) == 784  # float64, rows 512 wide
        assert rows(False, True, 784, 512, 128) == 784  # 15-row blocks
        assert rows(False, True, 128, 256, 512) == 128  # 7-row blocks
        assert rows(True, True, 512, 256, 128) == 512  # op(B) transposed
        # delta @ W.T copies a small W.T (at most 16384 elements) where the product
        # then takes the small path or row blocks: (float32, m, n, k)
        copies = _compiled.kernels.gemm_copies_b
        assert copies(False, 200, 100, 10)  # digits, 0.2M: the small path
        assert copies(False, 200, 128, 64)  # regression network: 122-row blocks
        assert copies(True, 1000, 1000, 16)  # float32: 61-row blocks
        assert not copies(False, 1000, 1000, 16)  # float64 rows 1000 wide: whole
        assert not copies(True, 128, 512, 256)  # MNIST-size: W.T of 131072
        _compiled.kernels.set_gemm_split("never")
        assert rows(False, True, 512, 256, 128) == 512
        assert not copies(False, 200, 100, 10)
        _compiled.kernels.set_gemm_split("always")
        assert rows(False, True, 512, 256, 128) == 171  # three blocks
        assert copies(True, 128, 512, 8) and not copies(True, 128, 512, 256)
    _compiled.kernels.set_gemm_split("auto")
    if (os.cpu_count() or 1) > 1:  # two BLAS threads: whole (row blocks are for one)
        with threadpool_limits(2):
            assert rows(False, True, 512, 256, 128) == 512
            assert not copies(False, 200, 128, 64)  # no row blocks to take
            assert copies(False, 200, 100, 10)  # the small path has no thread limit


def test_gemm_split_setting(restore_gemm_split):
    kernels = _compiled.kernels
    assert isinstance(kernels.gemm_split_blas(), bool)
    assert kernels.set_gemm_split("never") == "auto"
    assert kernels.set_gemm_split("always") == "never"
    assert kernels.set_gemm_split("auto") == "always"
    with pytest.raises(ValueError, match="unknown split mode 'sometimes'"):
        kernels.set_gemm_split("sometimes")
    assert kernels.set_gemm_split("auto") == "auto"  # unchanged by the bad name


def test_unbuilt_source_checkout_says_how_to_build(tmp_path):
    # the module that loads the kernels, in a package without them
    package = tmp_path / "unbuilt"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_compiled.py").write_text(open(_compiled.__file__).read())
    run = subprocess.run(
        [sys.executable, "-c", "import unbuilt._compiled"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "compiled kernels cannot be imported" in run.stderr
    assert "pip install ." in run.stderr


# --- which BLAS the products go through ----------------------------------------------

NEWER_OPENBLAS = _compiled._newer_openblas()


@pytest.fixture
def restore_blas():
    yield
    for build in _compiled.available().values():
        assert build.use_blas(NEWER_OPENBLAS if _compiled.blas != "scipy" else "")


def test_blas_selection():
    # scipy-openblas32 is used wherever it is installed and loads, unless told not to
    told = os.environ.get("FCNN_SK_BLAS", "").strip().lower() == "scipy"
    expected = "scipy" if NEWER_OPENBLAS is None or told else "scipy-openblas32"
    assert _compiled.blas == expected
    with pytest.raises(ImportError, match="FCNN_SK_BLAS='mkl'"):
        _compiled._select_blas("mkl")


def test_blas_selection_in_fresh_interpreter():
    run = _selected_in_fresh_interpreter("scipy", "FCNN_SK_BLAS", "blas")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "scipy"


def test_a_library_that_cannot_be_used_changes_nothing(restore_blas, tmp_path):
    X, y = load_digits(return_X_y=True)
    make = lambda: FCNNClassifier((32,), max_iter=2, random_state=0)  # noqa: E731
    with pytest.warns(ConvergenceWarning):
        before = make().fit(X, y).coefs_[0]
    not_a_library = tmp_path / "libnothing.so"
    not_a_library.write_bytes(b"not a shared library")
    assert not _compiled.kernels.use_blas(str(not_a_library))
    assert not _compiled.kernels.use_blas(str(tmp_path / "missing.so"))
    with pytest.warns(ConvergenceWarning):
        assert_allclose(make().fit(X, y).coefs_[0], before, rtol=0, atol=0)


@pytest.mark.skipif(NEWER_OPENBLAS is None, reason="scipy-openblas32 is not installed")
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-3)])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_both_blas_train_the_same_model(dtype, rtol, threads, restore_blas):
    X, y, hidden, batch = _row_block_problem("mnist-size", dtype)
    models = []
    for path in (NEWER_OPENBLAS, ""):
        assert all(b.use_blas(path) for b in _compiled.available().values())
        with threadpool_limits(threads):
            models.append(
                FCNNClassifier(
                    hidden, batch_size=batch, max_iter=3, random_state=0
                ).fit(X, y)
            )
    first, other = models
    for a, b in zip(first.coefs_ + first.intercepts_, other.coefs_ + other.intercepts_):
        assert a.dtype == b.dtype == dtype
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(a).max())
    assert_allclose(first.loss_curve_, other.loss_curve_, rtol=rtol)
