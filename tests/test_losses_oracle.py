"""Every loss of the registry against a numpy oracle, incl. absolute error and Huber.

``tests/_reference.py`` knows the four canonical (output activation, loss) pairs,
whose output delta is ``link(z) - y``. The regression losses 'absolute_error' and
'huber' pair with the identity output but have their own (robust) gradients, so the
oracle is extended here: one entry per loss with its per-sample value and its
derivative with respect to the raw output ``z``, back-propagated by
``_reference.reference_backprop``. Parametrising over
``fcnn_sk._network.LOSS_OUTPUTS`` means a newly registered loss is checked (or fails
loudly until the oracle knows it).
"""

import zlib

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from _reference import REF_LOSSES, reference_backprop, reference_preactivations
from fcnn_sk import FCNNRegressor
from fcnn_sk._network import loss_and_gradient
from fcnn_sk._registry import LOSSES, OUTPUT_LOSSES

LOSS_OUTPUTS = {name: loss.link for name, loss in LOSSES.items()}

# every check runs against each kernel build (baseline, and AVX2 where it runs)
pytestmark = pytest.mark.usefixtures("kernel_build", "gemm_split")

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-4, np.float64: 1e-10}
ATOL_SCALE = {np.float32: 1e-5, np.float64: 1e-12}
# distance kept between a target and a kink of its loss (|z - y| = 0 for absolute
# error, |z - y| = delta for Huber), so float32 rounding and finite-difference
# steps never cross one
MARGIN = 0.1


def _seed(*params):
    return zlib.crc32(repr(params).encode()) % (2**31)


ROBUST = ("absolute_error", "huber")


def reference_loss_and_gradient_for(
    coefs,
    intercepts,
    X,
    Y,
    sample_weight=None,
    *,
    loss,
    activation="tanh",
    alpha=0.0,
    huber_delta=1.0,
):
    """As ``_reference.reference_loss_and_gradient``, for any loss of REF_LOSSES."""
    _, per_sample_loss, dloss_dz = REF_LOSSES[loss]
    n_hidden = len(coefs) - 1
    names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    coefs = [np.asarray(W, np.float64) for W in coefs]
    Y = np.asarray(Y, np.float64)
    s = (
        np.ones(len(Y))
        if sample_weight is None
        else np.asarray(sample_weight, np.float64)
    )
    S = s.sum()
    zs, activations = reference_preactivations(coefs, intercepts, X, activation=names)
    z = zs[-1]
    value = float(
        np.sum(s * per_sample_loss(z, Y, huber_delta)) / S
        + 0.5 * alpha * sum(np.sum(W * W) for W in coefs) / S
    )
    delta = s[:, None] * dloss_dz(z, Y, huber_delta) / S
    return (value, *reference_backprop(coefs, zs, activations, names, delta, alpha / S))


# --------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------


def _robust_targets(z, huber_delta, rng):
    """Targets at distance >= MARGIN from every kink of absolute error and Huber
    around the raw outputs z, on both sides of the Huber threshold."""
    r = rng.uniform(MARGIN, 3.0, size=z.shape) * rng.choice([-1.0, 1.0], size=z.shape)
    near = np.abs(np.abs(r) - huber_delta) < MARGIN
    r[near] = np.sign(r[near]) * (huber_delta + 2 * MARGIN)
    return z + r


def _problem(
    random_problem,
    loss,
    dtype,
    *,
    seed,
    n_hidden=1,
    sparse=False,
    sample_weight=False,
    huber_delta=1.0,
    activation="tanh",
):
    out_activation = REF_LOSSES[loss][0]
    p = random_problem(
        seed,
        out_activation,
        dtype,
        n_hidden=n_hidden,
        sparse=sparse,
        sample_weight=sample_weight,
    )
    if loss in ROBUST:
        z = reference_preactivations(
            p["coefs"], p["intercepts"], p["X"], activation=activation
        )[0][-1]
        Y = _robust_targets(z, huber_delta, np.random.RandomState(seed + 3))
        p["Y"] = np.ascontiguousarray(Y, dtype=dtype)
        d = np.abs(z - p["Y"].astype(np.float64))
        assert d.min() > 0.5 * MARGIN
        if loss == "huber":  # both branches of the loss are exercised
            assert np.any(d < huber_delta - 0.5 * MARGIN)
            assert np.any(d > huber_delta + 0.5 * MARGIN)
    return p


def _max_abs(arrays):
    return max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)


def _compiled(p, loss, alpha, huber_delta, activation="tanh"):
    return loss_and_gradient(
        p["coefs"],
        p["intercepts"],
        p["X"],
        p["Y"],
        p["sample_weight"],
        activation=activation,
        out_activation=LOSS_OUTPUTS[loss],
        loss=loss,
        alpha=alpha,
        huber_delta=huber_delta,
    )


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------


def test_oracle_knows_every_registered_loss():
    assert set(LOSS_OUTPUTS) <= set(REF_LOSSES), (
        f"losses without an oracle entry: {set(LOSS_OUTPUTS) - set(REF_LOSSES)}"
    )
    for name, out in LOSS_OUTPUTS.items():
        assert REF_LOSSES[name][0] == out, name
    assert {"absolute_error", "huber"} <= set(LOSS_OUTPUTS)
    # the canonical pairing: each output activation's default loss is registered
    # with that output activation
    for out, name in OUTPUT_LOSSES.items():
        assert LOSS_OUTPUTS[name] == out


@pytest.mark.parametrize("loss", sorted(REF_LOSSES))
def test_oracle_gradient_finite_differences(random_problem, loss):
    # The oracle's own dl/dz against its own per-sample loss.
    seed = _seed(loss, "oracle-dz")
    p = _problem(random_problem, loss, np.float64, seed=seed, huber_delta=0.8)
    z = reference_preactivations(
        p["coefs"], p["intercepts"], p["X"], activation="tanh"
    )[0][-1]
    _, per_sample_loss, dloss_dz = REF_LOSSES[loss]
    eps = 1e-6
    fd = np.empty_like(z)
    for j in range(z.shape[1]):
        step = np.zeros_like(z)
        step[:, j] = eps
        fd[:, j] = (
            per_sample_loss(z + step, p["Y"], 0.8)
            - per_sample_loss(z - step, p["Y"], 0.8)
        ) / (2 * eps)
    assert_allclose(fd, dloss_dz(z, p["Y"], 0.8), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------
# Compiled loss and gradient against the oracle
# --------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["no-l2", "l2"])
@pytest.mark.parametrize("sample_weight", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("loss", sorted(LOSS_OUTPUTS))
def test_loss_and_gradient_match_oracle(
    random_problem, loss, dtype, sparse, sample_weight, alpha
):
    huber_delta = 0.7
    seed = _seed(loss, sparse, sample_weight)
    p = _problem(
        random_problem,
        loss,
        dtype,
        seed=seed,
        n_hidden=2,
        sparse=sparse,
        sample_weight=sample_weight,
        huber_delta=huber_delta,
    )
    before = [a.copy() for a in p["coefs"] + p["intercepts"]]
    value, coef_grads, intercept_grads = _compiled(p, loss, alpha, huber_delta)
    ref_value, ref_coef_grads, ref_intercept_grads = reference_loss_and_gradient_for(
        p["coefs"],
        p["intercepts"],
        p["X"],
        p["Y"],
        p["sample_weight"],
        loss=loss,
        alpha=alpha,
        huber_delta=huber_delta,
    )
    assert np.isfinite(value)
    assert_allclose(float(value), ref_value, rtol=RTOL[dtype], err_msg="loss")
    scale = _max_abs(ref_coef_grads + ref_intercept_grads)
    pairs = [
        ("coef_grads", coef_grads, ref_coef_grads, p["coefs"]),
        ("intercept_grads", intercept_grads, ref_intercept_grads, p["intercepts"]),
    ]
    for what, got, ref, params in pairs:
        assert len(got) == len(params)
        for i, (g, r, w) in enumerate(zip(got, ref, params)):
            assert g.dtype == dtype and g.shape == w.shape, f"{what}[{i}]"
            assert_allclose(
                np.asarray(g, np.float64),
                r,
                rtol=RTOL[dtype],
                atol=ATOL_SCALE[dtype] * scale,
                err_msg=f"{what}[{i}]",
            )
    for a, b in zip(p["coefs"] + p["intercepts"], before):
        assert_array_equal(a, b)  # inputs are not written to


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("loss", sorted(LOSS_OUTPUTS))
def test_loss_and_gradient_match_oracle_no_hidden_layer(random_problem, loss, dtype):
    p = _problem(
        random_problem,
        loss,
        dtype,
        seed=_seed(loss, "glm"),
        n_hidden=0,
        sample_weight=True,
        huber_delta=1.3,
    )
    value, coef_grads, intercept_grads = _compiled(p, loss, 0.1, 1.3)
    ref_value, ref_coef_grads, ref_intercept_grads = reference_loss_and_gradient_for(
        p["coefs"],
        p["intercepts"],
        p["X"],
        p["Y"],
        p["sample_weight"],
        loss=loss,
        alpha=0.1,
        huber_delta=1.3,
    )
    assert_allclose(float(value), ref_value, rtol=RTOL[dtype])
    scale = _max_abs(ref_coef_grads + ref_intercept_grads)
    for g, r in zip(coef_grads + intercept_grads, ref_coef_grads + ref_intercept_grads):
        assert_allclose(
            np.asarray(g, np.float64),
            r,
            rtol=RTOL[dtype],
            atol=ATOL_SCALE[dtype] * scale,
        )


@pytest.mark.parametrize("loss", sorted(LOSS_OUTPUTS))
def test_explicit_loss_equals_default_pairing(random_problem, loss):
    # For a canonical loss, naming it gives exactly what its output activation
    # selects by default; huber_delta is ignored by every loss but Huber.
    out = LOSS_OUTPUTS[loss]
    p = _problem(
        random_problem,
        loss,
        np.float64,
        seed=_seed(loss, "pairing"),
        sample_weight=True,
    )
    args = (p["coefs"], p["intercepts"], p["X"], p["Y"], p["sample_weight"])
    explicit = loss_and_gradient(
        *args, activation="tanh", out_activation=out, loss=loss, alpha=0.2
    )
    if OUTPUT_LOSSES.get(out) == loss:
        default = loss_and_gradient(
            *args, activation="tanh", out_activation=out, alpha=0.2
        )
        assert explicit[0] == default[0]
        for a, b in zip(explicit[1] + explicit[2], default[1] + default[2]):
            assert_array_equal(a, b)
    if loss != "huber":
        other_delta = loss_and_gradient(
            *args,
            activation="tanh",
            out_activation=out,
            loss=loss,
            alpha=0.2,
            huber_delta=0.05,
        )
        assert explicit[0] == other_delta[0]
        for a, b in zip(explicit[1] + explicit[2], other_delta[1] + other_delta[2]):
            assert_array_equal(a, b)


def test_huber_delta_default_and_limits(random_problem):
    p = _problem(
        random_problem,
        "huber",
        np.float64,
        seed=_seed("huber-limits"),
        sample_weight=True,
        huber_delta=1.0,
    )
    args = (p["coefs"], p["intercepts"], p["X"], p["Y"], p["sample_weight"])
    kw = dict(activation="tanh", out_activation="identity", alpha=0.0)

    def run(loss, **options):
        value, gc, gi = loss_and_gradient(*args, loss=loss, **kw, **options)
        return value, [g.copy() for g in gc + gi]

    # the default threshold is 1.0, and the threshold matters
    default, one, half = (
        run("huber"),
        run("huber", huber_delta=1.0),
        run("huber", huber_delta=0.5),
    )
    assert default[0] == one[0]
    for a, b in zip(default[1], one[1]):
        assert_array_equal(a, b)
    assert half[0] != one[0]
    # a threshold above every residual: exactly the half squared error
    huge, squared = run("huber", huber_delta=1e6), run("squared_error")
    assert huge[0] == squared[0]
    for a, b in zip(huge[1], squared[1]):
        assert_array_equal(a, b)
    # a vanishing threshold: delta * absolute error (to first order in delta)
    tiny_delta = 1e-9
    tiny, absolute = run("huber", huber_delta=tiny_delta), run("absolute_error")
    assert_allclose(tiny[0] / tiny_delta, absolute[0], rtol=1e-6)
    for a, b in zip(tiny[1], absolute[1]):
        assert_allclose(a / tiny_delta, b, rtol=1e-6, atol=1e-12)


# --------------------------------------------------------------------------
# Finite differences of the compiled loss, float64
# --------------------------------------------------------------------------


def _flatten(coefs, intercepts):
    return np.concatenate([a.ravel() for a in coefs + intercepts]).astype(np.float64)


def _unflatten(theta, coefs, intercepts):
    out, start = [], 0
    for a in coefs + intercepts:
        out.append(theta[start : start + a.size].reshape(a.shape).copy())
        start += a.size
    return out[: len(coefs)], out[len(coefs) :]


def _regime(theta, p, loss, huber_delta):
    """Which piece of the loss every output is on (the kinks of the robust
    losses); a central difference must not straddle two pieces."""
    coefs, intercepts = _unflatten(theta, p["coefs"], p["intercepts"])
    z = reference_preactivations(coefs, intercepts, p["X"], activation="tanh")[0][-1]
    d = z - p["Y"]
    if loss == "absolute_error":
        return np.sign(d)
    if loss == "huber":
        return np.sign(d) * (np.abs(d) <= huber_delta)
    return np.zeros_like(d)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss", sorted(LOSS_OUTPUTS))
def test_gradient_finite_differences_float64(random_problem, loss, sparse):
    huber_delta = 0.6
    seed = _seed(loss, sparse, "fd")
    p = _problem(
        random_problem,
        loss,
        np.float64,
        seed=seed,
        n_hidden=2,
        sparse=sparse,
        sample_weight=True,
        huber_delta=huber_delta,
    )
    coefs, intercepts = p["coefs"], p["intercepts"]

    def compiled_loss(theta):
        c, b = _unflatten(theta, coefs, intercepts)
        return loss_and_gradient(
            c,
            b,
            p["X"],
            p["Y"],
            p["sample_weight"],
            activation="tanh",
            out_activation=LOSS_OUTPUTS[loss],
            loss=loss,
            alpha=0.1,
            huber_delta=huber_delta,
        )[0]

    theta = _flatten(coefs, intercepts)
    value, gc, gi = _compiled(p, loss, 0.1, huber_delta)
    grad = _flatten(list(gc), list(gi))
    base = _regime(theta, p, loss, huber_delta)
    eps = 1e-6
    rng = np.random.RandomState(seed)
    sizes = [a.size for a in coefs + intercepts]
    starts = np.cumsum([0] + sizes[:-1])
    fd, analytic, checked = [], [], []
    for start, size in zip(starts, sizes):  # every coef and intercept array
        for j in start + rng.permutation(size)[:5]:
            step = np.zeros_like(theta)
            step[j] = eps
            assert np.array_equal(base, _regime(theta + step, p, loss, huber_delta))
            assert np.array_equal(base, _regime(theta - step, p, loss, huber_delta))
            fd.append(
                (compiled_loss(theta + step) - compiled_loss(theta - step)) / (2 * eps)
            )
            analytic.append(grad[j])
            checked.append(j)
    assert_allclose(
        fd,
        analytic,
        rtol=1e-6,
        atol=1e-8 * (1 + abs(value)),
        err_msg=f"coordinates {checked}",
    )


# --------------------------------------------------------------------------
# The estimator trains on the loss (and threshold) it is given
# --------------------------------------------------------------------------

REGRESSION_LOSSES = sorted(
    n for n, out in LOSS_OUTPUTS.items() if out in ("identity", "exp")
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_regressor_reports_the_oracle_loss(loss):
    rng = np.random.RandomState(_seed(loss, "estimator"))
    X = rng.normal(size=(40, 3))
    if LOSS_OUTPUTS[loss] == "exp":
        y = rng.poisson(np.exp(0.4 * X[:, 0])).astype(np.float64)
    else:
        y = X @ [1.0, -2.0, 0.5] + rng.standard_t(2, size=40)  # heavy tails
    sw = rng.uniform(0.2, 2.0, size=40)
    est = FCNNRegressor(
        (5,),
        activation="tanh",
        solver="lbfgs",
        loss=loss,
        huber_delta=0.7,
        alpha=1e-2,
        max_iter=15,
        random_state=0,
    )
    est.fit(X, y, sample_weight=sw)
    assert est.out_activation_ == LOSS_OUTPUTS[loss]
    ref_value, _, _ = reference_loss_and_gradient_for(
        est.coefs_,
        est.intercepts_,
        X,
        y[:, None],
        sw,
        loss=loss,
        alpha=1e-2,
        huber_delta=0.7,
    )
    assert_allclose(est.loss_, ref_value, rtol=1e-10)
    # predictions are the output link of the raw outputs
    z = reference_preactivations(est.coefs_, est.intercepts_, X, activation="tanh")[0][
        -1
    ]
    link = np.exp if LOSS_OUTPUTS[loss] == "exp" else (lambda v: v)
    assert_allclose(est.predict(X), link(z).ravel(), rtol=1e-12, atol=1e-12)
