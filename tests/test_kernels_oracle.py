"""The compiled forward pass, loss and gradient against the numpy oracle.

``fcnn_sk._network.loss_and_gradient`` / ``forward`` must agree with
``tests/_reference.py`` for every registered hidden activation x output
activation x dtype, dense and sparse input, with and without sample weights
and L2 penalty, for 0, 1 and 2 hidden layers. Parametrising over the library's
registries means a new activation or output is tested as soon as it is
registered (and fails loudly until the oracle knows it).
"""

import zlib

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import log_loss, mean_poisson_deviance, mean_squared_error

from _reference import HIDDEN_ACTIVATIONS as REF_HIDDEN_ACTIVATIONS
from _reference import OUTPUT_ACTIVATIONS as REF_OUTPUT_ACTIVATIONS
from _reference import (
    reference_forward,
    reference_loss_and_gradient,
    reference_preactivations,
)
from fcnn_sk import _compiled
from fcnn_sk._network import (
    forward,
    kernel_input,
    layer_units_of,
    loss_and_gradient,
    make_network,
    pack,
)
from fcnn_sk._registry import ACTIVATIONS as HIDDEN_ACTIVATIONS
from fcnn_sk._registry import OUTPUT_LOSSES

OUTPUT_ACTIVATIONS = tuple(OUTPUT_LOSSES)

# every check runs against each kernel build (baseline, and AVX2 where it runs)
pytestmark = pytest.mark.usefixtures("kernel_build", "gemm_split")

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-4, np.float64: 1e-10}
# atol is relative to the largest entry of the array compared: the kernels sum
# in a different order than numpy, so entries that nearly cancel can only be
# compared to the scale of their array, not to themselves.
ATOL_SCALE = {np.float32: 1e-5, np.float64: 1e-12}

# sample_weight / alpha combinations: (use sample weights, alpha)
WEIGHTING = {
    "plain": (False, 0.0),
    "sample_weight": (True, 0.0),
    "l2": (False, 0.3),
    "sample_weight+l2": (True, 0.3),
}


def _seed(*params):
    """Deterministic seed per parameter combination (varies the layer sizes)."""
    return zlib.crc32(repr(params).encode()) % (2**31)


def _max_abs(arrays):
    return max((np.max(np.abs(a)) for a in arrays if np.size(a)), default=0.0)


def _assert_close(actual, desired, dtype, scale=None, err_msg=""):
    desired = np.asarray(desired, dtype=np.float64)
    if scale is None:
        scale = _max_abs([desired])
    assert_allclose(
        np.asarray(actual, dtype=np.float64),
        desired,
        rtol=RTOL[dtype],
        atol=ATOL_SCALE[dtype] * scale,
        err_msg=err_msg,
    )


def _check_against_oracle(problem, dtype, activation, out_activation, alpha):
    coefs, intercepts = problem["coefs"], problem["intercepts"]
    X, Y, sw = problem["X"], problem["Y"], problem["sample_weight"]
    before = [p.copy() for p in coefs + intercepts]
    kwargs = dict(activation=activation, out_activation=out_activation, alpha=alpha)

    loss, coef_grads, intercept_grads = loss_and_gradient(
        coefs, intercepts, X, Y, sw, **kwargs
    )
    ref_loss, ref_coef_grads, ref_intercept_grads = reference_loss_and_gradient(
        coefs, intercepts, X, Y, sw, **kwargs
    )

    assert np.isfinite(loss)
    assert_allclose(float(loss), ref_loss, rtol=RTOL[dtype], err_msg="loss")
    # float32 errors are absolute, of the order of eps32 times the upstream
    # delta: a layer whose gradient is tiny (saturated units, ~1e-133 in
    # float64, exactly 0 in float32) is judged against the whole gradient.
    # float64 is held to every array's own scale.
    global_scale = _max_abs(ref_coef_grads + ref_intercept_grads)

    def grad_scale(ref_g):
        return global_scale if dtype == np.float32 else _max_abs([ref_g])

    assert len(coef_grads) == len(coefs)
    assert len(intercept_grads) == len(intercepts)
    for i, (g, ref_g, W) in enumerate(zip(coef_grads, ref_coef_grads, coefs)):
        assert g.dtype == dtype, f"coef_grads[{i}].dtype"
        assert g.shape == W.shape, f"coef_grads[{i}].shape"
        _assert_close(g, ref_g, dtype, grad_scale(ref_g), err_msg=f"coef_grads[{i}]")
    for i, (g, ref_g, b) in enumerate(
        zip(intercept_grads, ref_intercept_grads, intercepts)
    ):
        assert g.dtype == dtype, f"intercept_grads[{i}].dtype"
        assert g.shape == b.shape, f"intercept_grads[{i}].shape"
        _assert_close(
            g, ref_g, dtype, grad_scale(ref_g), err_msg=f"intercept_grads[{i}]"
        )
    # The parameters are inputs: the kernels must not write into them.
    for p, p_before in zip(coefs + intercepts, before):
        np.testing.assert_array_equal(p, p_before)


def test_reference_knows_every_registered_name():
    # A name registered in the library without an oracle entry would make the
    # parametrised tests below error out; say clearly what is missing instead.
    assert set(HIDDEN_ACTIVATIONS) <= set(REF_HIDDEN_ACTIVATIONS)
    assert set(OUTPUT_ACTIVATIONS) <= set(REF_OUTPUT_ACTIVATIONS)
    assert {"identity", "logistic", "tanh", "relu"} <= set(HIDDEN_ACTIVATIONS)
    assert {"identity", "logistic", "softmax", "exp"} <= set(OUTPUT_ACTIVATIONS)


@pytest.mark.parametrize("out_activation", sorted(REF_OUTPUT_ACTIVATIONS))
def test_reference_loss_matches_sklearn_metrics(random_problem, out_activation):
    # The oracle's own check: its objective (alpha=0) is sklearn's public
    # metric for each loss, with sample weights.
    p = random_problem(0, out_activation, np.float64, sample_weight=True)
    Y, sw = p["Y"], p["sample_weight"]
    loss, _, _ = reference_loss_and_gradient(
        p["coefs"],
        p["intercepts"],
        p["X"],
        Y,
        sw,
        activation="tanh",
        out_activation=out_activation,
    )
    P = reference_forward(
        p["coefs"],
        p["intercepts"],
        p["X"],
        activation="tanh",
        out_activation=out_activation,
    )
    n_outputs = Y.shape[1]
    if out_activation == "softmax":
        expected = log_loss(Y, P, sample_weight=sw)
    elif out_activation == "logistic":
        expected = sum(
            log_loss(Y[:, k], P[:, k], sample_weight=sw) for k in range(n_outputs)
        )
    elif out_activation == "identity":
        # 0.5 * sum over outputs = 0.5 * n_outputs * mean over outputs
        expected = 0.5 * n_outputs * mean_squared_error(Y, P, sample_weight=sw)
    elif out_activation == "exp":
        expected = 0.5 * sum(
            mean_poisson_deviance(Y[:, k], P[:, k], sample_weight=sw)
            for k in range(n_outputs)
        )
    assert_allclose(loss, expected, rtol=1e-12)


@pytest.mark.parametrize("weighting", WEIGHTING)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("n_hidden", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_loss_and_gradient_match_oracle(
    random_problem, activation, out_activation, dtype, n_hidden, sparse, weighting
):
    use_sw, alpha = WEIGHTING[weighting]
    seed = _seed(activation, out_activation, n_hidden)
    problem = random_problem(
        seed,
        out_activation,
        dtype,
        n_hidden=n_hidden,
        sparse=sparse,
        sample_weight=use_sw,
    )
    _check_against_oracle(problem, dtype, activation, out_activation, alpha)


@pytest.mark.parametrize("weighting", WEIGHTING)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
def test_loss_and_gradient_match_oracle_no_hidden_layer(
    random_problem, out_activation, dtype, sparse, weighting
):
    # hidden_layer_sizes=(): a linear / logistic / softmax / Poisson GLM.
    use_sw, alpha = WEIGHTING[weighting]
    problem = random_problem(
        _seed(out_activation),
        out_activation,
        dtype,
        n_hidden=0,
        sparse=sparse,
        sample_weight=use_sw,
    )
    _check_against_oracle(problem, dtype, "relu", out_activation, alpha)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize(
    "out_activation", [o for o in OUTPUT_ACTIVATIONS if o != "softmax"]
)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_loss_and_gradient_match_oracle_single_output(
    random_network, random_targets, activation, out_activation, dtype
):
    # One output column: binary classification, single-target regression.
    rng = np.random.RandomState(_seed(activation, out_activation, "single"))
    coefs, intercepts = random_network(rng.randint(1000), 4, (6,), 1, dtype)
    problem = dict(
        coefs=coefs,
        intercepts=intercepts,
        X=rng.normal(size=(15, 4)).astype(dtype),
        Y=random_targets(rng.randint(1000), 15, 1, out_activation, dtype),
        sample_weight=rng.uniform(0.5, 2, 15).astype(dtype),
    )
    _check_against_oracle(problem, dtype, activation, out_activation, 0.1)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
def test_per_layer_activation_list(random_problem, out_activation, dtype, reverse):
    # One hidden layer per registered activation, each with its own: a kernel
    # that applied activation[0] (or the last one) everywhere would fail here.
    names = list(HIDDEN_ACTIVATIONS)[::-1] if reverse else list(HIDDEN_ACTIVATIONS)
    problem = random_problem(
        _seed(out_activation, reverse),
        out_activation,
        dtype,
        n_hidden=len(names),
        sample_weight=True,
    )
    _check_against_oracle(problem, dtype, names, out_activation, 0.1)
    # The list must actually matter (guards against a degenerate problem).
    ref_list = reference_forward(
        problem["coefs"],
        problem["intercepts"],
        problem["X"],
        activation=names,
        out_activation=out_activation,
    )
    ref_single = reference_forward(
        problem["coefs"],
        problem["intercepts"],
        problem["X"],
        activation=names[0],
        out_activation=out_activation,
    )
    assert not np.allclose(ref_list, ref_single)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("n_hidden", [0, 1, 2])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_forward_matches_oracle(
    random_problem, activation, out_activation, dtype, n_hidden, sparse
):
    p = random_problem(
        _seed(activation, out_activation, n_hidden, "forward"),
        out_activation,
        dtype,
        n_hidden=n_hidden,
        sparse=sparse,
    )
    kwargs = dict(activation=activation, out_activation=out_activation)
    out = forward(p["coefs"], p["intercepts"], p["X"], **kwargs)
    expected = reference_forward(p["coefs"], p["intercepts"], p["X"], **kwargs)
    assert out.dtype == dtype
    assert out.shape == p["Y"].shape
    _assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_forward_output_ranges(random_problem, activation, dtype):
    # Probabilities are probabilities, Poisson means are positive.
    eps = np.finfo(dtype).eps
    p = random_problem(_seed(activation, "ranges"), "softmax", dtype, n_hidden=2)
    proba = forward(
        p["coefs"],
        p["intercepts"],
        p["X"],
        activation=activation,
        out_activation="softmax",
    )
    assert_allclose(proba.sum(axis=1), 1.0, rtol=10 * eps)
    assert np.all((proba >= 0) & (proba <= 1))
    sigmoid = forward(
        p["coefs"],
        p["intercepts"],
        p["X"],
        activation=activation,
        out_activation="logistic",
    )
    assert np.all((sigmoid >= 0) & (sigmoid <= 1))
    mean = forward(
        p["coefs"],
        p["intercepts"],
        p["X"],
        activation=activation,
        out_activation="exp",
    )
    assert np.all(mean > 0)


# Logit magnitude each output can be pushed to without its loss overflowing in
# float32 (exp(50) ~ 5e21 is fine, exp(1000) is not representable).
EXTREME_LOGIT = {"softmax": 1e3, "logistic": 1e3, "identity": 1e3, "exp": 50.0}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
def test_extreme_logits_are_stable(random_targets, out_activation, dtype):
    # No hidden layer, logits of magnitude ~EXTREME_LOGIT with random signs:
    # confidently right and confidently wrong samples. Softmax needs the max
    # subtraction / log-sum-exp, logistic a sigmoid and softplus that do not
    # overflow; all must give the oracle's (finite) loss and gradient.
    rng = np.random.RandomState(_seed(out_activation, "extreme"))
    n_samples, n_features = 12, 3
    n_outputs = 3 if out_activation == "softmax" else 2
    X = np.ascontiguousarray(rng.choice([-1.0, 1.0], (n_samples, n_features)))
    extreme = EXTREME_LOGIT.get(out_activation, 50.0)
    scale = extreme / n_features
    coefs = [rng.uniform(0.5, 1.0, (n_features, n_outputs)) * scale]
    coefs[0] *= rng.choice([-1, 1], coefs[0].shape)
    intercepts = [np.zeros(n_outputs)]
    coefs = [c.astype(dtype) for c in coefs]
    intercepts = [b.astype(dtype) for b in intercepts]
    Y = random_targets(rng.randint(1000), n_samples, n_outputs, out_activation, dtype)
    z = reference_preactivations(coefs, intercepts, X.astype(dtype))[0][-1]
    assert np.max(np.abs(z)) > 0.3 * extreme

    problem = dict(
        coefs=coefs,
        intercepts=intercepts,
        X=X.astype(dtype),
        Y=Y,
        sample_weight=None,
    )
    loss, coef_grads, intercept_grads = loss_and_gradient(
        coefs, intercepts, problem["X"], Y, out_activation=out_activation
    )
    assert np.isfinite(loss)
    for g in coef_grads + intercept_grads:
        assert np.all(np.isfinite(g))
    _check_against_oracle(problem, dtype, "relu", out_activation, 0.0)

    out = forward(coefs, intercepts, problem["X"], out_activation=out_activation)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_extreme_hidden_preactivations_are_stable(random_targets, activation, dtype):
    # Hidden pre-activations of magnitude ~1e3 (saturated sigmoid / tanh,
    # exp(-1000) in elu / gelu / softplus / swish): finite, and equal to the
    # oracle. The output layer is scaled down so only the hidden layer is extreme.
    rng = np.random.RandomState(_seed(activation, "extreme-hidden"))
    n_samples, n_features, n_hidden = 12, 3, 4
    X = rng.choice([-1.0, 1.0], (n_samples, n_features)).astype(dtype)
    W1 = rng.uniform(300, 400, (n_features, n_hidden)) * rng.choice(
        [-1, 1], (n_features, n_hidden)
    )
    W2 = rng.uniform(-1e-3, 1e-3, (n_hidden, 2))
    coefs = [W1.astype(dtype), W2.astype(dtype)]
    intercepts = [np.zeros(n_hidden, dtype), np.zeros(2, dtype)]
    Y = random_targets(rng.randint(1000), n_samples, 2, "identity", dtype)
    problem = dict(coefs=coefs, intercepts=intercepts, X=X, Y=Y, sample_weight=None)
    _check_against_oracle(problem, dtype, activation, "identity", 0.0)
    out = forward(
        coefs, intercepts, X, activation=activation, out_activation="identity"
    )
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("chunk", [1, 7])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
def test_chunked_passes_match_oracle(
    random_problem, out_activation, dtype, sparse, chunk
):
    # The kernels walk all rows in chunks (512 rows for L-BFGS losses, 2048 for
    # predictions); the other tests fit in one. Small chunks here check the rows
    # past the first: their targets, weights and CSR offsets, and the gradient
    # summed over chunks.
    p = random_problem(
        _seed(out_activation, "chunked"),
        out_activation,
        dtype,
        n_hidden=2,
        sparse=sparse,
        sample_weight=True,
    )
    coefs, intercepts, X, Y, sw = (
        p[k] for k in ("coefs", "intercepts", "X", "Y", "sample_weight")
    )
    kernels = _compiled.kernels
    network = make_network(layer_units_of(coefs), "tanh", OUTPUT_LOSSES[out_activation])
    params = pack(coefs, intercepts)
    data, indices, indptr = kernel_input(X)
    Y_flat = np.ascontiguousarray(Y).reshape(-1)
    kwargs = dict(activation="tanh", out_activation=out_activation)

    grad = np.empty_like(params)
    loss = kernels.loss_grad(
        network, params, grad, data, indices, indptr, Y_flat, sw, 0.3, chunk
    )
    ref_loss, ref_coef_grads, ref_intercept_grads = reference_loss_and_gradient(
        coefs, intercepts, X, Y, sw, alpha=0.3, **kwargs
    )
    assert_allclose(loss, ref_loss, rtol=RTOL[dtype], err_msg="loss")
    _assert_close(
        grad,
        pack(ref_coef_grads, ref_intercept_grads, np.float64),
        dtype,
        err_msg="gradient",
    )

    out = np.empty(Y.shape, dtype)
    kernels.forward_rows(network, params, data, indices, indptr, out, None, chunk)
    kernels.apply_output_link(network, out)
    _assert_close(
        out, reference_forward(coefs, intercepts, X, **kwargs), dtype, err_msg="forward"
    )

    in_chunks, whole = np.empty((2,) + X.shape, dtype)
    kernels.input_grad(network, params, data, indices, indptr, Y_flat, in_chunks, chunk)
    kernels.input_grad(
        network, params, data, indices, indptr, Y_flat, whole, X.shape[0]
    )
    _assert_close(in_chunks, whole, dtype, err_msg="input gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_vector_exp_matches_numpy(dtype):
    # The softmax's exp is polynomial arithmetic rather than libm, so that it runs
    # as vector code: within 2 ulp of the correctly rounded value over the whole
    # range, subnormal results included, and exact at the edges and specials.
    info = np.finfo(dtype)
    lo = np.log(float(info.smallest_subnormal)) - 2.0
    hi = np.log(float(info.max)) + 2.0
    rng = np.random.RandomState(0)
    x = np.concatenate(
        [
            np.linspace(lo, hi, 200001),
            rng.uniform(-30.0, 0.0, 20000),  # the softmax's usual inputs
            [0.0, -0.0, 1.0, -1.0, np.log(float(info.max)), np.log(float(info.tiny))],
        ]
    ).astype(dtype)
    got = x.copy()
    _compiled.kernels.exp_array(got)
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(x.astype(np.longdouble)).astype(dtype)
    normal = np.abs(want) >= info.tiny
    assert np.all(np.isfinite(got) == np.isfinite(want))
    finite = normal & np.isfinite(want)
    ulps = np.abs(got[finite] - want[finite]) / np.spacing(want[finite])
    assert ulps.max() <= 2.0
    tiny = ~normal
    assert np.all(np.abs(got[tiny] - want[tiny]) <= 2 * info.smallest_subnormal)
    specials = np.array([np.inf, -np.inf, np.nan], dtype)
    _compiled.kernels.exp_array(specials)
    assert specials[0] == np.inf and specials[1] == 0.0 and np.isnan(specials[2])
