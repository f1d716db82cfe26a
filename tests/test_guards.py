"""The guards around the compiled code (fcnn_sk/_guards.py).

- no silent non-finite output: finite inputs and finite weights that overflow give a
  ValueError naming the layer, the rows and the remedy, from every method;
- training that diverges stops with a clear error and leaves the model as it was, with
  every solver and loss, for fit, warm start and partial_fit;
- the memory guard: an absurd layer width raises a MemoryError (also a ValueError)
  naming the estimate and its largest part, in a process that survives; its estimates
  are upper bounds close to the measured peaks;
- edge cases as scikit-learn's MLP: single-class classification, and the
  stratified early-stopping split's error naming the class.
"""

import os
import pickle
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neural_network import MLPClassifier

from _helpers import assert_params_equal
from fcnn_sk import FCNNClassifier, FCNNRegressor, _guards

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.RandomState(0)
X = RNG.randn(40, 4)
Y_REG = X @ np.array([1.0, -1.0, 2.0, 0.5])
Y_CLF = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])


def _fitted(Est, dtype=np.float64, **kw):
    params = dict(
        hidden_layer_sizes=(5, 3), activation="identity", max_iter=5, random_state=0
    )
    params.update(kw)
    y = Y_CLF if Est is FCNNClassifier else np.abs(Y_REG)
    return Est(**params).fit(X.astype(dtype), y)


def _overflowing(est, layer, dtype):
    """Scale the weights of ``est`` and return inputs (rows 0-2 of 8 scaled up) whose
    forward pass overflows first in weight layer ``layer`` (1-based), every value
    finite in ``dtype``: layer j of a scaled row is of order ``scale * big**j``."""
    big, top = (1e100, 1e260) if dtype == np.float64 else (1e10, 1e35)
    for coef in est.coefs_[:layer]:
        coef *= big
    Xb = X[:8].astype(dtype)
    Xb[:3] *= top / big ** (layer - 1)
    assert np.isfinite(Xb).all() and all(np.isfinite(c).all() for c in est.coefs_)
    return Xb


METHODS = [
    "predict",
    "predict_proba",
    "predict_log_proba",
    "transform",
    "input_gradient",
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layer", [1, 2, 3])
@pytest.mark.parametrize("method", METHODS)
def test_overflow_names_the_layer_and_rows(method, layer, dtype):
    est = _fitted(FCNNClassifier, dtype)
    Xb = _overflowing(est, layer, dtype)
    where = "the output layer" if layer == 3 else f"hidden layer {layer} (of 2)"
    if method == "transform" and layer == 3:
        where = "nothing"  # the last hidden layer's output is finite: no error
    call = getattr(est, method)
    args = (Xb, Y_CLF[:8]) if method == "input_gradient" else (Xb,)
    if where == "nothing":
        assert np.isfinite(call(*args)).all()
        return
    with pytest.raises(ValueError) as info:
        call(*args)
    msg = str(info.value)
    assert f"3 of 8 rows gave inf or NaN: {where} overflowed" in msg, msg
    assert np.dtype(dtype).name in msg and "StandardScaler" in msg
    # rows that do not overflow are fine on their own
    out = call(*(a[3:] for a in args))
    assert np.isfinite(out).all() and out.shape[0] == 5


@pytest.mark.parametrize("sparse", [False, True])
def test_overflow_regressor_and_sparse_input(sparse):
    est = _fitted(FCNNRegressor)
    Xb = _overflowing(est, 1, np.float64)
    with pytest.raises(ValueError, match="3 of 8 rows .* hidden layer 1 .*e\\+260"):
        est.predict(sp.csr_matrix(Xb) if sparse else Xb)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_input_beyond_float32_for_a_float32_model():
    est = _fitted(FCNNRegressor, np.float32)
    Xb = X[:4].copy()
    Xb[1] = 1e39  # finite in float64, which the model casts to float32
    with pytest.raises(ValueError, match="1 of 4 rows are not finite in float32"):
        est.predict(Xb)


def test_non_finite_weights_are_named():
    est = _fitted(FCNNRegressor)
    est.coefs_[1][0, 0] = np.inf
    with pytest.raises(ValueError, match="weights contain inf or NaN"):
        est.predict(X)
    est.coefs_ = [c.copy() for c in est.coefs_]  # replaced arrays, not views
    est.coefs_[1][0, 0] = np.nan
    with pytest.raises(ValueError, match="weights contain inf or NaN"):
        est.predict(X)


def test_exp_link_overflow():
    est = _fitted(FCNNRegressor, loss="poisson", hidden_layer_sizes=())
    est.coefs_[0][...] = 1.0
    est.intercepts_[0][...] = 0.0
    Xb = np.zeros((5, 4))
    Xb[2, 0] = 800.0  # raw output 800: finite, but exp(800) overflows float64
    with pytest.raises(
        ValueError, match="1 of 5 rows .* output activation 'exp' overflowed"
    ):
        est.predict(Xb)
    Xb[2, 0] = 700.0
    assert np.isfinite(est.predict(Xb)).all()


def test_log_softmax_overflow():
    est = _fitted(FCNNClassifier, hidden_layer_sizes=())
    est.coefs_[0][...] = [[1e308, -1e308, 0.0]] + [[0.0, 0.0, 0.0]] * 3
    est.intercepts_[0][...] = 0.0
    Xb = np.zeros((4, 4))
    Xb[0, 0] = 1.5  # raw (1.5e308, -1.5e308, 0): finite, log-softmax -inf
    assert np.isfinite(est.predict_proba(Xb)).all()
    with pytest.raises(
        ValueError, match="1 of 4 rows .* output activation 'softmax' overflowed"
    ):
        est.predict_log_proba(Xb)


def test_all_finite_without_allocating():
    a = np.full((1000, 10), np.finfo(np.float64).max)  # the sum overflows: not finite
    assert _guards.all_finite(a) and _guards.all_finite(a[:, ::2])
    for bad in (np.inf, -np.inf, np.nan):
        b = a.copy()
        b[497, 3] = bad
        assert not _guards.all_finite(b) and not _guards.all_finite(b[::7])
    small = np.ones((1000, 10))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert _guards.all_finite(small)
        assert tracemalloc.get_traced_memory()[1] < small.nbytes // 10
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- training divergence

CASES = [
    (FCNNRegressor, loss)
    for loss in ("squared_error", "poisson", "absolute_error", "huber")
] + [(FCNNClassifier, "multiclass"), (FCNNClassifier, "binary")]
SOLVERS = ["sgd", "adam", "rmsprop", "lbfgs"]


def _overflowing_fit(Est, loss, solver):
    """An estimator and finite float32 data whose first forward pass overflows."""
    rng = np.random.RandomState(0)
    Xh = (rng.uniform(0.9, 1.0, (40, 20)) * 3e38).astype(np.float32)
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=20, random_state=0)
    if Est is FCNNRegressor:
        kw["loss"] = loss
        y = np.abs(Y_REG) if loss == "poisson" else Y_REG
    else:
        y = Y_CLF if loss == "multiclass" else Y_CLF > 0
    return Est(**kw), Xh, y


# numpy warns of the overflow as it happens (validation sums, the line search)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est, loss", CASES)
def test_non_finite_loss_raises_and_leaves_no_fitted_model(Est, loss, solver):
    est, Xh, y = _overflowing_fit(Est, loss, solver)
    with pytest.raises(ValueError, match="training loss .*non-finite") as info:
        est.fit(Xh, y)
    assert "overflowed" in str(info.value) and "left as it was" in str(info.value)
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_iter_")


def _state(est):
    """Everything training changes, serialised for comparison."""
    state = {k: v for k, v in vars(est).items() if not k.startswith("_")}
    state["params"] = [c.copy() for c in (*est.coefs_, *est.intercepts_)]
    training = getattr(est, "_training", None)
    if training is not None:  # optimizer, random stream, stopping rule
        state["training"] = training
    return pickle.dumps(state)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("Est", [FCNNClassifier, FCNNRegressor])
def test_failed_training_restores_the_model_exactly(Est, solver, how):
    if how == "partial_fit" and solver == "lbfgs":
        pytest.skip("partial_fit needs a stochastic solver")
    y = Y_CLF if Est is FCNNClassifier else Y_REG
    X32 = X.astype(np.float32)
    est = Est(
        (6,),
        activation="identity",
        solver=solver,
        max_iter=3,
        random_state=0,
        warm_start=how == "warm_start",
    ).fit(X32, y)
    twin = pickle.loads(pickle.dumps(est))
    before = _state(est)
    # finite float32 inputs through which the first layer overflows: the first step
    # turns the weights (and optimizer state) into NaN in place, then the epoch fails
    X_huge = np.full_like(X32, 3e38) * np.sign(est.coefs_[0][:, :1].T)
    with pytest.raises(ValueError, match="non-finite"):
        getattr(est, "partial_fit" if how == "partial_fit" else "fit")(X_huge, y)
    assert _state(est) == before
    # training goes on as if the failed call had never happened: the optimizer state
    # (moments, step count, learning rate) was restored along with the weights
    for model in (est, twin):
        getattr(model, "partial_fit" if how == "partial_fit" else "fit")(X32, y)
    assert_params_equal(est, twin)


def test_early_stopping_divergence_keeps_the_best_weights():
    # as scikit-learn: no error; the weights of the best epoch, all finite
    est = FCNNRegressor(
        (20,),
        solver="sgd",
        learning_rate_init=0.5,
        early_stopping=True,
        max_iter=30,
        random_state=0,
        activation="identity",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X * 10, Y_REG)
    assert not np.isfinite(est.loss_curve_[-1])
    assert all(np.isfinite(c).all() for c in est.coefs_)
    assert np.isfinite(est.predict(X)).all()


# ------------------------------------------------------------------------- memory

ABSURD = """
import os, resource, sys
# a safety net: should the guard fail, numpy raises MemoryError instead of the
# operating system killing the process (under AddressSanitizer, which reserves its
# shadow memory up front, the test sets the allocator's own limit instead)
if "libasan" not in os.environ.get("LD_PRELOAD", ""):
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
from sklearn.datasets import load_digits
from fcnn_sk import FCNNClassifier
X, y = load_digits(return_X_y=True)
for width in (30_000_000, 10**9):
    for solver in ("adam", "sgd", "lbfgs"):
        try:
            FCNNClassifier((width,), solver=solver, max_iter=1).fit(X, y)
        except ValueError as exc:
            assert isinstance(exc, MemoryError), type(exc)
            print(exc)
        else:
            sys.exit(f"width {width} with {solver} was fitted")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS safety net")
def test_absurd_layer_width_raises_and_the_process_survives():
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (
        env.get("ASAN_OPTIONS", "")
        + ":allocator_may_return_null=1:max_allocation_size_mb=6144"
    )
    run = subprocess.run(
        [sys.executable, "-c", ABSURD],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(__file__),  # not the checkout: the installed package
        timeout=300,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 6, run.stdout
    for line in lines:
        assert "needs about" in line and "largest part is the" in line, line
    assert "[64, 30000000, 10] (2,250,000,010 parameters, float64)" in lines[0]
    assert "TB" in lines[-1] and "L-BFGS memory" in lines[-1]


def test_fit_memory_guard_against_the_machine(monkeypatch):
    est = FCNNRegressor((50,), max_iter=2, random_state=0, warm_start=True).fit(
        X, Y_REG
    )
    before = _state(est)
    needed = sum(
        _guards.fit_memory(est, [4, 50, 1], 8, 40, 0, X.nbytes, False).values()
    )
    monkeypatch.setattr(_guards, "physical_memory", lambda: needed - 1)
    with pytest.raises(MemoryError, match="needs about .* the largest part is the"):
        est.fit(X, Y_REG)
    assert _state(est) == before
    monkeypatch.setattr(_guards, "physical_memory", lambda: needed)
    est.fit(X, Y_REG)


@pytest.mark.parametrize("method", ["predict", "transform", "input_gradient"])
def test_predict_memory_guard_per_call(monkeypatch, method):
    est = _fitted(FCNNClassifier, hidden_layer_sizes=(64,))
    network = est._network()
    # the short path leaves a call whose memory estimate is over the limit to the
    # full path, which raises
    XX, YY = np.tile(X, (8, 1)), np.tile(Y_CLF, 8)
    n = len(XX)

    def args(n):
        return (XX[:n], YY[:n]) if method == "input_gradient" else (XX[:n],)

    parts = _guards.predict_memory(
        network,
        n,
        8,
        None if method == "predict" else 1,
        input_gradient=method == "input_gradient",
    )
    monkeypatch.setattr(_guards, "physical_memory", lambda: sum(parts.values()) - 1)
    with pytest.raises(MemoryError, match=f"This call on {n} rows needs about"):
        getattr(est, method)(*args(n))
    getattr(est, method)(*args(10))


ESTIMATE_CASES = [
    dict(hidden_layer_sizes=(1500,)),
    dict(hidden_layer_sizes=(1500,), solver="lbfgs"),
    dict(hidden_layer_sizes=(400, 400), solver="sgd", batch_size=1000),
    dict(
        hidden_layer_sizes=(800,), dropout=0.5, input_dropout=0.2, early_stopping=True
    ),
    dict(hidden_layer_sizes=(1500,), activation="gelu", solver="rmsprop"),
]


@pytest.mark.parametrize("kw", ESTIMATE_CASES, ids=str)
def test_fit_memory_estimate_bounds_the_measured_peak(kw, monkeypatch):
    rng = np.random.RandomState(0)
    Xm, ym = rng.randn(2000, 40), rng.randint(0, 5, 2000)
    estimates = []
    real = _guards.fit_memory
    monkeypatch.setattr(
        _guards, "fit_memory", lambda *a: estimates.append(sum(real(*a).values())) or {}
    )
    est = FCNNClassifier(max_iter=1, random_state=0, **kw)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        est.fit(Xm, ym)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak <= estimates[0] <= 2 * peak, (estimates[0], peak)


@pytest.mark.parametrize("method", ["predict_proba", "transform", "input_gradient"])
def test_predict_memory_estimate_bounds_the_measured_peak(method):
    rng = np.random.RandomState(0)
    Xm, ym = rng.randn(5000, 40), rng.randint(0, 5, 5000)
    est = FCNNClassifier((1000, 300), max_iter=1, random_state=0).fit(
        Xm[:200], ym[:200]
    )
    parts = _guards.predict_memory(
        est._network(),
        len(Xm),
        8,
        2 if method == "transform" else None,
        input_gradient=method == "input_gradient",
    )
    args = (Xm, ym) if method == "input_gradient" else (Xm,)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        getattr(est, method)(*args)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    # what the estimate leaves out is per-call bookkeeping (validation, labels)
    assert 0.8 * peak <= sum(parts.values()) <= 2 * peak, (parts, peak)


@pytest.mark.parametrize("scale", [1.0, 1.5e308])
def test_validation_targets_of_another_width_are_rejected_before_training(scale):
    # with non-finite validation predictions (scale) the score is NaN without looking
    # at y_val, and the kernels read y_val with the network's width: past its end
    est = FCNNRegressor((3,), activation="identity", max_iter=2, random_state=0)
    X_val = np.full((50, 4), scale)
    with pytest.raises(ValueError, match="y_val has 3 outputs .* but y has 1"):
        est.fit(X, Y_REG, X_val=X_val, y_val=np.ones((50, 3)))
    assert not hasattr(est, "coefs_")
    clf = FCNNClassifier((3,), max_iter=2, random_state=0)
    with pytest.raises(ValueError):
        clf.fit(X, np.c_[Y_CLF > 0, Y_CLF > 1], X_val=X[:5], y_val=np.ones((5, 3)))


LAYOUTS = {
    "intercept too long": lambda est: setattr(
        est, "intercepts_", [np.zeros(500), est.intercepts_[1]]
    ),
    "intercept too short": lambda est: setattr(
        est, "intercepts_", [np.zeros(2), est.intercepts_[1]]
    ),
    "hidden width changed": lambda est: setattr(
        est, "coefs_", [np.zeros((4, 50)), est.coefs_[1]]
    ),
    "input width changed": lambda est: setattr(
        est, "coefs_", [np.zeros((40, 5)), est.coefs_[1]]
    ),
    "integer weights": lambda est: setattr(
        est, "coefs_", [c.astype(int) for c in est.coefs_]
    ),
    "a layer missing": lambda est: setattr(est, "intercepts_", est.intercepts_[:1]),
}


@pytest.mark.parametrize("change", sorted(LAYOUTS))
def test_assigned_weights_of_other_shapes_are_rejected(change):
    # the kernels index the flat parameters with the fitted layout: before these
    # checks, predict read and partial_fit wrote past the buffers
    est = FCNNRegressor((5,), max_iter=2, random_state=0).fit(X, Y_REG)
    LAYOUTS[change](est)
    before = pickle.dumps(est)
    for call in (
        lambda: est.predict(X),
        lambda: est.input_gradient(X, Y_REG),
        lambda: est.partial_fit(X, Y_REG),
        lambda: est.transform(X),
    ):
        with pytest.raises(ValueError, match="coefs_|Layer sizes"):
            call()
        assert pickle.dumps(est) == before


def test_assigned_weights_of_the_fitted_shapes_are_used():
    est = FCNNRegressor((5,), max_iter=2, random_state=0).fit(X, Y_REG)
    est.coefs_ = [np.zeros_like(c) for c in est.coefs_]
    est.intercepts_ = [np.zeros_like(b) for b in est.intercepts_]
    est.intercepts_[-1][:] = 3.0
    assert_array_equal(est.predict(X), 3.0)
    est.coefs_ = [
        c.astype(np.float32) for c in est.coefs_
    ]  # packed in coefs_[0]'s dtype
    assert est.predict(X).dtype == np.float32


def test_input_gradient_targets_of_another_width_are_rejected():
    est = FCNNRegressor((5,), max_iter=2, random_state=0).fit(X, np.c_[Y_REG, Y_REG])
    with pytest.raises(ValueError, match="y has 1 outputs .* the network has 2"):
        est.input_gradient(X, Y_REG)  # read 2 values per row of a 1-column y


def test_physical_memory_is_known_here():
    total = _guards.physical_memory()
    if sys.platform.startswith("linux"):
        assert total == min(
            total, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        )
        assert total > 1 << 28


def test_network_memory_error_is_both_exceptions():
    exc = _guards.NetworkMemoryError("x")
    assert isinstance(exc, MemoryError) and isinstance(exc, ValueError)


# ------------------------------------------------------- edge cases as scikit-learn's


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("label", [0, "only"])
def test_single_class_fits_as_mlp_classifier(solver, label):
    y = np.array([label] * 40, dtype=object if isinstance(label, str) else int)
    ours = FCNNClassifier((5,), solver=solver, max_iter=5, random_state=0).fit(X, y)
    ref = MLPClassifier((5,), solver=solver, max_iter=5, random_state=0).fit(X, y)
    assert_array_equal(ours.classes_, ref.classes_)
    assert ours.out_activation_ == ref.out_activation_ and ours.n_outputs_ == 1
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_array_equal(ours.predict(X), y)
    proba = ours.predict_proba(X)
    assert proba.shape == ref.predict_proba(X).shape == (40, 2)
    assert_allclose(proba, ref.predict_proba(X), rtol=1e-5, atol=1e-7)
    assert_allclose(np.exp(ours.predict_log_proba(X)), proba, rtol=1e-10)
    assert ours.score(X, y) == 1.0


def test_single_class_partial_fit_and_early_stopping():
    y = np.full(40, 7)
    est = FCNNClassifier((5,), random_state=0).partial_fit(X, y, classes=[7])
    assert_array_equal(est.classes_, [7])
    est.partial_fit(X, y)
    with pytest.raises(ValueError, match="classes not in"):
        est.partial_fit(X, np.r_[y[:-1], 8])
    est = FCNNClassifier((5,), early_stopping=True, max_iter=3, random_state=0).fit(
        X, y
    )
    assert len(est.validation_scores_) == 3 and est.validation_scores_[-1] == 1.0


@pytest.mark.parametrize("common, rare", [(0, 1), ("common", "rare")])
def test_stratified_split_names_a_class_too_small(common, rare):
    y = np.array([common] * 39 + [rare])
    clf = FCNNClassifier((5,), early_stopping=True, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match=f"class {rare!r} has only 1 sample"):
        clf.fit(X, y)
    # scikit-learn raises for this target as well (it stratifies binary targets)
    with pytest.raises(ValueError, match="only 1 member"):
        MLPClassifier((5,), early_stopping=True, max_iter=3).fit(X, y)
    clf.fit(X, y, X_val=X[:5], y_val=y[-5:])  # the remedy the message names


def test_multiclass_split_with_a_rare_class_is_unstratified_as_documented():
    # scikit-learn never stratifies multiclass targets, so it fits; so do we
    y = np.r_[[0] * 20, [1] * 19, [2]]
    clf = FCNNClassifier((5,), early_stopping=True, max_iter=3, random_state=0)
    assert len(clf.fit(X, y).validation_scores_) == 3
    MLPClassifier((5,), early_stopping=True, max_iter=3).fit(X, y)
