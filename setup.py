"""Build the Cython kernels in csrc/ into the fcnn_sk package.

The default flags are portable (no -march=native) so the wheel runs on any CPU of the
platform, and carry no debug information, so the extension modules stay small. Flags
are chosen per compiler when the build runs (``build_ext.build_extensions``): GCC and
clang get ``-O3 -fno-math-errno -fno-trapping-math -g0``, MSVC ``/O2`` (it has neither
errno-free math nor trapping-math switches of that name, and keeps no debug
information unless asked).

Opt-in environment variables:

- ``FCNN_SK_NATIVE=1``: -march=native, for a local build (GCC, clang);
- ``FCNN_SK_DEBUG=1``: Cython's bounds, wraparound and initialisation checks, and
  debug information;
- ``FCNN_SK_DEBUG_INFO=1``: debug information alone (``-g``; MSVC ``/Z7``), e.g. for
  a profiler;
- ``FCNN_SK_SANITIZE=address,undefined`` (any list of sanitizers): compile and link
  with ``-fsanitize=<list> -fno-omit-frame-pointer``, keeping debug information
  (GCC, clang).

On x86-64 with GCC or clang the kernels are compiled twice: ``fcnn_sk._kernels`` for
the baseline instruction set and ``fcnn_sk._kernels_avx2`` with AVX2 and FMA. The
package imports the second on CPUs that support both (fcnn_sk/_compiled.py, which asks
the CPU through a GCC/clang builtin, hence no AVX2 variant with MSVC). The element-wise
loops (the optimizer update above all, which is bound by the divider) run on twice as
many lanes per instruction there; matrix products go through BLAS either way. With FMA
a product and a sum are rounded once instead of twice, so the two builds agree to
rounding, not bit for bit (as BLAS itself does not across CPUs).
"""

import os
import sys
import sysconfig

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name):
    return os.environ.get(name, "").strip() == "1"


NATIVE = _flag("FCNN_SK_NATIVE")
DEBUG = _flag("FCNN_SK_DEBUG")
SANITIZE = os.environ.get("FCNN_SK_SANITIZE", "").strip()
DEBUG_INFO = DEBUG or bool(SANITIZE) or _flag("FCNN_SK_DEBUG_INFO")

# Every shape is checked in Python before a kernel runs, so the kernels' memoryviews
# go unchecked; FCNN_SK_DEBUG=1 checks them (.ci/debug_kernels.sh).
directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
}


def _gcc_like_flags():
    """``(compile, link)`` flags for GCC and clang."""
    # Neither -fno-math-errno nor -fno-trapping-math changes a computed value:
    # the first lets sqrt and friends compile to single instructions (nothing here
    # reads errno), the second lets branches such as leaky_relu's become vector
    # selects (nothing reads the floating-point exception flags). Both are needed
    # for the element-wise loops to vectorise.
    compile_args = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
    link_args = []
    if NATIVE:
        compile_args.append("-march=native")
    # Python's own CFLAGS usually hold -g; the last -g / -g0 wins
    compile_args.append("-g" if DEBUG_INFO else "-g0")
    if SANITIZE:
        sanitize = [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer"]
        compile_args += sanitize
        link_args += sanitize
    return compile_args, link_args


def _msvc_flags():
    if NATIVE or SANITIZE:
        raise RuntimeError(
            "FCNN_SK_NATIVE and FCNN_SK_SANITIZE need GCC or clang, not MSVC."
        )
    if DEBUG_INFO:
        return ["/O2", "/Z7"], ["/DEBUG"]
    return ["/O2"], []


def _builds_avx2_variant(compiler_type):
    """An x86-64 target (the platform of the wheel: sysconfig follows the cross
    builds of cibuildwheel, and ARCHFLAGS those of macOS; not universal2), a
    GCC-style compiler, and not already built for this very CPU."""
    target = sysconfig.get_platform().lower()
    return (
        target.endswith(("x86_64", "amd64"))
        and "arm64" not in os.environ.get("ARCHFLAGS", "")
        and compiler_type != "msvc"
        and not NATIVE
    )


class BuildExt(build_ext):
    """Per-compiler flags, and the AVX2 variant only where the compiler can make it."""

    def build_extensions(self):
        compiler_type = self.compiler.compiler_type
        if compiler_type == "msvc":
            compile_args, link_args = _msvc_flags()
        else:
            compile_args, link_args = _gcc_like_flags()
        if not _builds_avx2_variant(compiler_type):
            self.extensions = [
                e for e in self.extensions if not e.name.endswith("_avx2")
            ]
        for ext in self.extensions:
            ext.extra_compile_args = compile_args + (
                ["-mavx2", "-mfma"] if ext.name.endswith("_avx2") else []
            )
            ext.extra_link_args = link_args
        super().build_extensions()


def kernels(name):
    return Extension(
        f"fcnn_sk.{name}",
        [f"csrc/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        # dladdr/dlopen (csrc/openblas_policy.h) live in libdl before glibc 2.34
        libraries=["dl"] if sys.platform.startswith("linux") else [],
    )


setup(
    ext_modules=cythonize(
        [kernels("_kernels"), kernels("_kernels_avx2")],
        include_path=["csrc"],
        compiler_directives=directives,
    ),
    cmdclass={"build_ext": BuildExt},
)
