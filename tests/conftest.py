"""Shared test helpers: small random networks and valid targets.

Exposed as fixtures returning factory functions, so tests parametrised over the
registries can build a problem from their own parameters and a seed.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fcnn_sk import _compiled


def _random_network(seed, n_features, hidden_layer_sizes, n_outputs, dtype):
    """Glorot-uniform coefs and intercepts (pre-activations of order one)."""
    rng = np.random.RandomState(seed)
    sizes = [n_features, *hidden_layer_sizes, n_outputs]
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


def _random_targets(seed, n_samples, n_outputs, out_activation, dtype):
    """Targets valid for the loss that goes with ``out_activation``."""
    rng = np.random.RandomState(seed)
    if out_activation == "softmax":
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    elif out_activation == "logistic":
        Y = rng.randint(2, size=(n_samples, n_outputs))
    elif out_activation == "identity":
        Y = rng.normal(size=(n_samples, n_outputs))
    elif out_activation == "exp":
        # Counts, zeros included: xlogy(0, 0) must give 0 in the loss.
        Y = rng.poisson(1.5, size=(n_samples, n_outputs))
    else:
        raise ValueError(f"no target generator for out_activation={out_activation!r}")
    return np.ascontiguousarray(Y, dtype=dtype)


def _random_problem(
    seed,
    out_activation,
    dtype,
    *,
    n_hidden=1,
    n_samples=20,
    n_features=5,
    sparse=False,
    sample_weight=False,
):
    """A small random network, data and targets.

    Layer sizes are drawn from ``seed``; softmax gets 3 outputs, every other
    output activation 2 (so per-output sums are exercised).

    Returns
    -------
    dict with keys coefs, intercepts, X, Y, sample_weight.
    """
    rng = np.random.RandomState(seed)
    hidden = tuple(rng.randint(2, 7, size=n_hidden))
    n_outputs = 3 if out_activation == "softmax" else 2
    coefs, intercepts = _random_network(seed + 1, n_features, hidden, n_outputs, dtype)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    if sparse:
        X[rng.uniform(size=X.shape) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    else:
        X = np.ascontiguousarray(X)
    sw = None
    if sample_weight:
        sw = rng.uniform(0.5, 2.0, size=n_samples).astype(dtype)
        sw[0] = 0.0  # a zero weight must remove the sample, not break S
    Y = _random_targets(seed + 2, n_samples, n_outputs, out_activation, dtype)
    return dict(coefs=coefs, intercepts=intercepts, X=X, Y=Y, sample_weight=sw)


@pytest.fixture
def random_network():
    """Factory ``(seed, n_features, hidden_layer_sizes, n_outputs, dtype)``.

    Returns ``(coefs, intercepts)``.
    """
    return _random_network


@pytest.fixture
def random_targets():
    """Factory ``(seed, n_samples, n_outputs, out_activation, dtype) -> Y``."""
    return _random_targets


@pytest.fixture
def random_problem():
    """Factory for a whole problem, see ``_random_problem``."""
    return _random_problem


@pytest.fixture
def use_kernel_build(monkeypatch):
    """Function ``(name)`` that makes the package run that kernel build (a key of
    ``_compiled.available()``) until the test ends."""

    def use(name):
        monkeypatch.setattr(_compiled, "kernels", _compiled.available()[name])
        monkeypatch.setattr(_compiled, "name", name)

    return use


@pytest.fixture(params=sorted(_compiled.available()))
def kernel_build(request, use_kernel_build):
    """Runs a test once per kernel build this machine can run (baseline, avx2),
    whichever one the package picked on its own."""
    use_kernel_build(request.param)
    return request.param


@pytest.fixture(params=["auto", "always"])
def gemm_split(request):
    """Runs a test with matrix products as the package issues them, and again with
    every product that can be split computed in row blocks (csrc/_blas.pxd), so that
    path is checked on any machine and any size."""
    kernels = _compiled.kernels
    previous = kernels.set_gemm_split(request.param)
    yield request.param
    kernels.set_gemm_split(previous)


# ---- hypothesis profiles (tests/test_properties.py) -----------------------------------
# "ci" (the default): a bounded, derandomised number of examples, so the suite takes
# the same time and draws the same cases on every run, and writes no example database.
# "long": 12.5 times the examples, fresh ones each run, failures kept in the database
# (.hypothesis/) and replayed first: HYPOTHESIS_PROFILE=long python -m pytest
# tests/test_properties.py
try:
    import os as _os

    from hypothesis import HealthCheck as _HealthCheck
    from hypothesis import settings as _settings
except ImportError:  # the property tests then skip
    pass
else:
    _slow_data = [_HealthCheck.too_slow, _HealthCheck.data_too_large]
    _settings.register_profile(
        "ci",
        max_examples=800,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=_slow_data,
    )
    _settings.register_profile(
        "long",
        max_examples=10000,
        deadline=None,
        print_blob=True,
        suppress_health_check=_slow_data,
    )
    _settings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE", "ci"))
