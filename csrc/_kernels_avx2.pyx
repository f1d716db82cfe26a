# cython: language_level=3, cdivision=True
# The same kernels as _kernels.pyx, compiled a second time with AVX2 and FMA enabled
# (see setup.py). fcnn_sk._compiled imports this module only on CPUs that have both.
include "_kernels.pyx"
