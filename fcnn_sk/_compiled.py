"""The compiled kernels for this CPU.

On x86-64 the kernels are built twice (see setup.py): ``_kernels`` for the baseline
instruction set and ``_kernels_avx2`` with AVX2 and FMA. ``kernels`` is the second
where the CPU supports both, else the first. The two agree to rounding, not bit for
bit: FMA rounds a product and a sum once.

The environment variable ``FCNN_SK_KERNELS`` overrides the choice at import time:
``auto`` (the default), ``baseline`` or ``avx2``.
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

__all__ = ["kernels", "name", "available"]


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
