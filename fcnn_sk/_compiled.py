"""The compiled kernels for this CPU.

On x86-64 the kernels are built twice (see setup.py): ``_kernels`` for the baseline
instruction set and ``_kernels_avx2`` with AVX2 and FMA. ``kernels`` is the second
where the CPU supports both, else the first. The two agree to rounding, not bit for
bit: FMA rounds a product and a sum once.

The environment variable ``FCNN_SK_KERNELS`` overrides the choice at import time:
``auto`` (the default), ``baseline`` or ``avx2``.

Matrix products go through scipy's BLAS, or, where the optional package
scipy-openblas32 is installed (``pip install fcnn_sk[fast]``), through the newer
OpenBLAS that it ships: on float32 networks its products are faster (see
csrc/_openblas.pxd). ``FCNN_SK_BLAS=scipy`` keeps scipy's. ``blas`` names the one in use.
"""

import os

try:
    from . import _kernels as _baseline
except ImportError as exc:  # an unbuilt source checkout, e.g. the working directory
    raise ImportError(
        f"fcnn_sk's compiled kernels cannot be imported from {os.path.dirname(__file__)} "
        f"({exc}). Install the package with `pip install .` or build it in place with "
        "`python setup.py build_ext --inplace`. An unbuilt source checkout in the "
        "working directory shadows the installed package: run from elsewhere."
    ) from exc

# Ask the CPU first: even loading the AVX2 build could execute an AVX instruction.
_avx2 = None
if _baseline.cpu_has_avx2_fma():
    try:
        from . import _kernels_avx2 as _avx2
    except ImportError:  # not built: not x86-64, or a -march=native build
        pass

__all__ = ["kernels", "name", "available", "blas"]


def available():
    """``{name: module}`` of the kernel builds this installation can run here."""
    builds = {"baseline": _baseline}
    if _avx2 is not None:
        builds["avx2"] = _avx2
    return builds


def _select(choice):
    builds = available()
    if choice == "auto":
        choice = "avx2" if "avx2" in builds else "baseline"
    if choice not in builds:
        raise ImportError(
            f"FCNN_SK_KERNELS={choice!r}: this installation and CPU offer "
            f"{sorted(builds)} (or 'auto')."
        )
    return choice, builds[choice]


#: Name of the build in use and the module itself.
name, kernels = _select(os.environ.get("FCNN_SK_KERNELS", "").strip().lower() or "auto")


def _newer_openblas():
    """Path of the OpenBLAS library of the scipy-openblas32 package, or None."""
    try:
        import scipy_openblas32
    except ImportError:
        return None
    try:
        return os.path.join(
            scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True)
        )
    except (OSError, IndexError):  # a broken installation: no library file
        return None


def _select_blas(choice):
    if choice not in ("auto", "scipy"):
        raise ImportError(f"FCNN_SK_BLAS={choice!r}: use 'auto' or 'scipy'.")
    path = _newer_openblas() if choice == "auto" else None
    if path is not None and all(build.use_blas(path) for build in available().values()):
        return "scipy-openblas32"
    for build in available().values():
        build.use_blas("")
    return "scipy"


#: The BLAS the products go through: ``"scipy-openblas32"`` or ``"scipy"``.
blas = _select_blas(os.environ.get("FCNN_SK_BLAS", "").strip().lower() or "auto")
