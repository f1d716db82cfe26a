"""Comparing the fitted parameters of two models, shared by the test modules."""

import numpy as np
from numpy.testing import assert_array_equal


def params_of(est):
    """Copies of ``coefs_`` then ``intercepts_``, in that order."""
    return [np.array(p, copy=True) for p in list(est.coefs_) + list(est.intercepts_)]


def assert_params_equal(a, b):
    """Bitwise equal parameters, dtypes included; ``a`` / ``b`` are fitted models or
    lists from ``params_of``."""
    pa = params_of(a) if hasattr(a, "coefs_") else a
    pb = params_of(b) if hasattr(b, "coefs_") else b
    assert len(pa) == len(pb)
    for x, y in zip(pa, pb):
        assert x.dtype == y.dtype
        assert_array_equal(x, y)
