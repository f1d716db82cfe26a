"""Data and helpers shared by the test modules.

Comparing the fitted parameters of two models; and, for the tests of the training
toolbox, small data sets and helpers that replay training in numpy (a full-batch step
of a stochastic solver is ``params <- update(params, oracle_gradient(params))``, with
the oracle gradient of ``tests/_reference.py``; the weights a fit starts from are
read off a probe fit whose learning rate (1e-300) is too small to move any weight).
"""

import warnings

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer, MinMaxScaler, scale

from _reference import reference_loss_and_gradient
from fcnn_sk import FCNNClassifier
from fcnn_sk._registry import STOCHASTIC_SOLVERS


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


def assert_params_allclose(est1, est2, rtol=1e-7, atol=1e-10):
    p1, p2 = params_of(est1), params_of(est2)
    assert len(p1) == len(p2)
    for a, b in zip(p1, p2):
        assert a.shape == b.shape
        assert_allclose(a, b, rtol=rtol, atol=atol)


STOCHASTIC = list(STOCHASTIC_SOLVERS)

# ------------------------------------------------------------------------- data
_rng = np.random.RandomState(0)
X = _rng.normal(size=(60, 5))
Y_MULTI = np.digitize(X[:, 0] + 0.5 * X[:, 2], [-0.5, 0.5])
Y_BIN = np.where(X[:, 0] - X[:, 1] + 0.3 * _rng.normal(size=60) > 0, 7, 3)
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + 0.1 * _rng.normal(size=60)
SW = _rng.uniform(0.2, 3.0, size=60)
X_VAL = _rng.normal(size=(25, 5))
Y_VAL_MULTI = np.digitize(X_VAL[:, 0] + 0.5 * X_VAL[:, 2], [-0.5, 0.5])
Y_VAL_REG = X_VAL @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + 0.1 * _rng.normal(size=25)


# ---------------------------------------------------------------------- helpers
def params_differ(a, b):
    return any(not np.array_equal(x, y) for x, y in zip(params_of(a), params_of(b)))


def initial_params(est, X, y):
    """(coefs, intercepts) that ``est.fit(X, y)`` starts from.

    A clone takes one plain SGD epoch with learning rate 1e-300: every step changes
    a weight w by ~1e-300 * gradient, far below half an ulp of w, so the weights stay
    bitwise the initial draw (which depends only on the architecture, activation,
    weight_init and random_state). Zeros (the intercepts of most schemes) are the
    exception: they move to ~1e-300 * gradient, so anything that small is zero.
    """
    probe = clone(est).set_params(
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-300,
        learning_rate="constant",
        max_iter=1,
        warm_start=False,
        early_stopping=False,
        weight_decay=0.0,
        max_grad_norm=None,
    )
    probe.fit(X, y)

    def restore_zeros(a):
        return np.where(np.abs(a) < 1e-250, 0.0, a).astype(a.dtype)

    return (
        [restore_zeros(c) for c in probe.coefs_],
        [restore_zeros(b) for b in probe.intercepts_],
    )


def encoded_targets(est, y):
    """The 2-D targets the network of a fitted estimator learns."""
    if isinstance(est, FCNNClassifier):
        return LabelBinarizer().fit(est.classes_).transform(y).astype(np.float64)
    y = np.asarray(y, np.float64)
    return y.reshape(len(y), -1)


def oracle_grad_fn(est, X, y, sample_weight=None):
    """params (coefs + intercepts) -> oracle gradient, for est's network."""
    Y = encoded_targets(est, y)
    n = len(est.coefs_)

    def grad(params):
        _, gc, gi = reference_loss_and_gradient(
            params[:n],
            params[n:],
            X,
            Y,
            sample_weight,
            activation=est.activation,
            out_activation=est.out_activation_,
            alpha=est.alpha,
        )
        return gc + gi

    return grad


def assert_params_close(est, params, rtol=1e-9, atol=1e-12, err_msg=""):
    got = params_of(est)
    assert len(got) == len(params)
    for i, (g, w) in enumerate(zip(got, params)):
        assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{err_msg} array {i}")


def fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# ------------------------------------------- small data of the estimator tests
_rng_small = np.random.RandomState(0)
X_SMALL = _rng_small.randn(60, 5)
Y_SMALL_BIN = (X_SMALL[:, 0] + X_SMALL[:, 1] > 0).astype(int)
Y_SMALL_MULTI = np.digitize(X_SMALL[:, 0] + 0.5 * X_SMALL[:, 2], [-0.5, 0.5])
Y_SMALL_REG = X_SMALL @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + 0.1 * _rng_small.randn(
    60
)
Y_SMALL_ML = np.c_[Y_SMALL_BIN, X_SMALL[:, 2] > 0, X_SMALL[:, 3] > 0.3].astype(int)
Y_SMALL_REG2 = np.c_[Y_SMALL_REG, X_SMALL[:, 1] ** 2 - 1.0]
Y_SMALL_POIS = _rng_small.poisson(np.exp(0.3 * X_SMALL[:, 0])).astype(float)
SW_SMALL = _rng_small.uniform(0.2, 3.0, size=60)


# ------------------------------------------- 200-row data for the estimators' API tests
_Xd3, _yd3 = load_digits(n_class=3, return_X_y=True)
X_DIGITS3, Y_DIGITS3 = MinMaxScaler().fit_transform(_Xd3[:200]), _yd3[:200]
_Xd2, _yd2 = load_digits(n_class=2, return_X_y=True)
X_DIGITS2, Y_DIGITS2 = MinMaxScaler().fit_transform(_Xd2[:200]), _yd2[:200]
X_REG200, _y_reg200 = make_regression(
    n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7
)
Y_REG200 = scale(_y_reg200)
