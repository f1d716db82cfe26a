"""Build the Cython kernels in csrc/ into the fcnn_sk package.

The default flags are portable (-O3, no -march=native) so the wheel runs on any CPU of
the platform. ``FCNN_SK_NATIVE=1`` opts in to -march=native for a local build;
``FCNN_SK_DEBUG=1`` turns Cython's bounds and wraparound checks back on.
``FCNN_SK_SANITIZE=address,undefined`` (or either one) compiles and links the kernels
with AddressSanitizer / UndefinedBehaviorSanitizer and debug information, for
.ci/sanitize.sh; such a build runs only with the sanitizer runtime preloaded.

On x86-64 the kernels are compiled twice: ``fcnn_sk._kernels`` for the baseline
instruction set and ``fcnn_sk._kernels_avx2`` with AVX2 and FMA. The package imports
the second on CPUs that support both (fcnn_sk/_compiled.py). The element-wise loops
(the optimizer update above all, which is bound by the divider) run on twice as many
lanes per instruction there; matrix products go through BLAS either way. With FMA a
product and a sum are rounded once instead of twice, so the two builds agree to
rounding, not bit for bit (as BLAS itself does not across CPUs).
"""

import os
import platform
import sys
import sysconfig

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

# Neither flag changes a computed value: -fno-math-errno lets sqrt and friends
# compile to single instructions (nothing here reads errno), -fno-trapping-math lets
# branches such as leaky_relu's become vector selects (nothing reads the
# floating-point exception flags). Both are needed for the element-wise loops to
# vectorise.
compile_args = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
if os.environ.get("FCNN_SK_NATIVE") == "1":
    compile_args.append("-march=native")

link_args = []
sanitize = os.environ.get("FCNN_SK_SANITIZE", "").strip()
if sanitize:
    flags = [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-g"]
    compile_args += flags
    link_args += flags

directives = {"language_level": 3}
if os.environ.get("FCNN_SK_DEBUG") == "1":
    directives.update(boundscheck=True, wraparound=True, initializedcheck=True)


def kernels(name, extra_args=()):
    return Extension(
        f"fcnn_sk.{name}",
        [f"csrc/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=compile_args + list(extra_args),
        extra_link_args=link_args,
        # dladdr/dlopen (csrc/_blas.pxd) live in libdl before glibc 2.34
        libraries=["dl"] if sys.platform.startswith("linux") else [],
    )


def builds_avx2_variant():
    """x86-64 with a GCC-style compiler, and not already built for this very CPU."""
    machine = platform.machine().lower()
    return (
        machine in ("x86_64", "amd64")
        and os.name == "posix"
        and "universal2" not in sysconfig.get_platform()
        and os.environ.get("FCNN_SK_NATIVE") != "1"
    )


extensions = [kernels("_kernels")]
if builds_avx2_variant():
    extensions.append(kernels("_kernels_avx2", ["-mavx2", "-mfma"]))

setup(
    ext_modules=cythonize(
        extensions, include_path=["csrc"], compiler_directives=directives
    ),
)
