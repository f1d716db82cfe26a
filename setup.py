"""Build the Cython kernels in csrc/ into the fcnn_sk package.

The default flags are portable (-O3, no -march=native) so the wheel runs on any CPU of
the platform. ``FCNN_SK_NATIVE=1`` opts in to -march=native for a local build;
``FCNN_SK_DEBUG=1`` turns Cython's bounds and wraparound checks back on.
"""

import os

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

directives = {"language_level": 3}
if os.environ.get("FCNN_SK_DEBUG") == "1":
    directives.update(boundscheck=True, wraparound=True, initializedcheck=True)

extensions = [
    Extension(
        "fcnn_sk._kernels",
        ["csrc/_kernels.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=compile_args,
    )
]

setup(
    ext_modules=cythonize(
        extensions, include_path=["csrc"], compiler_directives=directives
    ),
)
