"""Property-based tests: thousands of hostile cases against both estimators.

The compiled code trusts its inputs because Python checks them. These tests draw, with
hypothesis:

- every hyperparameter at and beyond its bounds, from the estimators'
  ``_parameter_constraints`` (and every name of the registries of activations,
  losses, schedules and initialisers, valid or not for the parameter it is given to);
- data of random shapes (0 and 1 rows or features included), dtypes (float16/32/64,
  ints, bool, object, complex, strings), layouts (C, F, strided, reversed, read-only,
  memory-mapped), containers (lists, every scipy sparse format as matrix and array,
  pandas and polars frames with missing values), magnitudes from 1e-300 to the
  largest float, NaN and inf in X, y and sample_weight;
- random sequences of fit / partial_fit / predict / predict_proba / predict_log_proba
  / transform / input_gradient and parameter changes on one estimator.

The property: each call either works, with finite output of the right shape and dtype,
or raises a ValueError or TypeError with a message; a call that fails leaves the
estimator exactly as it was (compared through pickle), and no prediction changes it.
Fits are deterministic for a fixed ``random_state``.

Profiles (registered in tests/conftest.py): ``ci``, the default, runs 800 derandomised
examples per test (about 20 s on two busy cores); ``long`` (``HYPOTHESIS_PROFILE=long
python -m pytest tests/test_properties.py``, several minutes) runs 10000, fresh random
ones each run, and keeps failures in hypothesis's example database (.hypothesis/) to
replay them first.
"""

import itertools
import os
import pickle
import tempfile
import warnings
from numbers import Integral, Real

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("hypothesis")
from hypothesis import given
from hypothesis import note as _note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from sklearn.base import clone
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    make_constraint,
)

from fcnn_sk import FCNNClassifier, FCNNRegressor
from fcnn_sk._registry import ACTIVATIONS as HIDDEN_ACTIVATIONS
from fcnn_sk._registry import INITIALIZERS, LOSSES, SCHEDULES

LOSS_OUTPUTS = {name: loss.link for name, loss in LOSSES.items()}

try:
    import pandas as pd
except ImportError:
    pd = None
try:
    import polars as pl
except ImportError:
    pl = None

ESTIMATORS = [FCNNClassifier, FCNNRegressor]
#: the registries, and the parameter that names their entries
REGISTRIES = {
    "activation": HIDDEN_ACTIVATIONS,
    "learning_rate": SCHEDULES,
    "weight_init": INITIALIZERS,
    "loss": LOSS_OUTPUTS,
}
#: the cost of a call grows with these: their unbounded ranges are drawn up to here
CHEAP = {"max_iter": 3, "max_fun": 30, "hidden_layer_sizes": 5}
#: every estimator starts small and seeded; the drawn parameters override this
BASE = {"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0}
FRESH_RNG = "a new RandomState"  # drawn as a marker, made per example


# ----------------------------------------------------------------- hyperparameters


def _interval_candidates(c, name):
    """Values at, just inside and beyond the bounds of an Interval, and wrong types."""
    out = [None, "1", np.nan, True]
    for bound, step in ((c.left, -1), (c.right, 1)):
        if bound is None:
            continue
        out += [bound, bound - step, bound + step]
        if c.type is Real:
            out += [
                float(np.nextafter(bound, -np.inf)),
                float(np.nextafter(bound, np.inf)),
            ]
    if c.type is Integral:
        lo = c.left if c.left is not None else 0
        top = CHEAP.get(name, 10**12)
        out += [lo + 1, lo + 2, top, 1.5, np.int64(lo + 1)]
    else:
        lo = c.left if c.left is not None else -1.0
        hi = c.right if c.right is not None else 1e300
        out += [(lo + min(hi, lo + 2.0)) / 2, hi, np.inf, -np.inf, np.float32(0.5)]
    return out


def _candidates(name, constraints):
    """Values to try for one parameter, from its constraints."""
    out = []
    element_pool = []
    for c in constraints:
        if isinstance(c, Interval):
            values = _interval_candidates(c, name)
            out += values
            element_pool += [v for v in values if make_constraint(c).is_satisfied_by(v)]
        elif isinstance(c, StrOptions):
            options = sorted(c.options - set(c.deprecated))
            out += options + ["not-an-option", options[0].upper()]
            element_pool += options
        elif isinstance(c, Options):
            out += sorted(c.options)
        elif c == "boolean":
            out += [True, False, np.True_, "yes", 2]
        elif c == "verbose":
            out += [False, 0, 1, -1, "loud"]
        elif c == "random_state":
            out += [None, 0, 2**32 - 1, -1, 2**32, "seed", FRESH_RNG]
        elif c is None:
            out.append(None)
        elif c is dict:  # class_weight
            out += [
                {},
                {0: 2.0},
                {0: 0.0, 1: 3.0},
                {1: 1e300},
                {0: -1.0},
                {0: np.nan},
                {"a": 1.0},
                "balanced",
                ["balanced"],
            ]
    if "array-like" in constraints:  # sequences of the other constraints' values
        pool = element_pool or [1, 2]
        out += [
            (),
            [pool[0]],
            tuple(pool[:2]),
            tuple(pool[:3]),
            np.array(pool[:2]),
            [pool[-1]] * 2,
            "abc",
            [[1, 2]],
        ]
    out += list(REGISTRIES.get(name, ()))
    return out


def _satisfies(constraints, value):
    if isinstance(value, str) and value == FRESH_RNG:
        return True
    return any(make_constraint(c).is_satisfied_by(value) for c in constraints)


def _pools(Est):
    """``{name: (valid values, invalid values)}`` for every parameter of ``Est``."""
    pools = {}
    for name, constraints in Est._parameter_constraints.items():
        values = _candidates(name, constraints)
        valid = [v for v in values if _satisfies(constraints, v)]
        invalid = [v for v in values if not _satisfies(constraints, v)]
        pools[name] = (valid, invalid)
    return pools


POOLS = {Est: _pools(Est) for Est in ESTIMATORS}


def note(text):
    """hypothesis's ``note``, a no-op outside a hypothesis test."""
    try:
        _note(text)
    except InvalidArgument:
        pass


def _fresh(value, seed):
    if isinstance(value, str) and value == FRESH_RNG:
        return np.random.RandomState(seed)
    return value


@st.composite
def estimators(draw, Est=None, invalid=True):
    """An estimator with up to four parameters drawn from their pools (one in five
    from the values its constraints reject), the rest small."""
    Est = Est or draw(st.sampled_from(ESTIMATORS))
    pools = POOLS[Est]
    names = draw(st.lists(st.sampled_from(sorted(pools)), max_size=4, unique=True))
    params = dict(BASE)
    for name in names:
        valid, bad = pools[name]
        use_bad = invalid and bad and draw(st.integers(0, 4)) == 0
        params[name] = _fresh(
            draw(st.sampled_from(bad if use_bad else valid)), draw(st.integers(0, 9))
        )
    # per-layer lists mostly as long as there are hidden layers
    hidden = params["hidden_layer_sizes"]
    for name in ("activation", "dropout"):
        value = params.get(name)
        if (
            isinstance(value, list | tuple | np.ndarray)
            and len(value)
            and isinstance(hidden, tuple)
            and draw(st.integers(0, 3))
        ):
            params[name] = [value[i % len(value)] for i in range(len(hidden))]
    note(f"params: {params}")
    return Est(**params)


# ----------------------------------------------------------------------------- data

SCALES = [1.0] * 6 + [1e-300, 1e-40, 1e4, 1e30, 1e300, np.finfo(np.float64).max / 8]
DTYPES = (
    ["float64"] * 4
    + ["float32"] * 2
    + ["float16", "int64", "int8", "uint8", "bool", "object", "complex128", "str"]
)
LAYOUTS = ["C"] * 4 + ["F", "strided", "reversed", "readonly", "memmap", "list"]
SPARSE = [
    "csr_matrix",
    "csc_matrix",
    "coo_matrix",
    "csr_array",
    "csc_array",
    "coo_array",
    "lil_matrix",
    "dok_array",
    "bsr_matrix",
    "dia_matrix",
]
_MEMMAP_DIR = tempfile.TemporaryDirectory(prefix="fcnn-properties-")
_memmap_count = itertools.count()


def _inject(rng, a, kinds):
    """Put a NaN, inf or -inf (one of ``kinds``) at a random place of ``a``."""
    if a.size:
        a.flat[rng.randint(a.size)] = kinds[rng.randint(len(kinds))]
    return a


def _memmap(a):
    path = os.path.join(_MEMMAP_DIR.name, f"{next(_memmap_count)}.npy")
    np.save(path, a)
    return np.load(path, mmap_mode="r")


def _container(draw, rng, X):
    """X (float64, 2-D) as a drawn dtype, layout or container."""
    frames = [name for name, lib in (("pandas", pd), ("polars", pl)) if lib is not None]
    kind = draw(st.sampled_from(["array"] * 6 + ["sparse"] * 2 + frames))
    if kind == "sparse":
        X = np.where(rng.uniform(size=X.shape) < 0.5, X, 0.0)
        fmt = draw(st.sampled_from(SPARSE))
        dtype = draw(st.sampled_from(["float64", "float32", "int64", "bool"]))
        with np.errstate(all="ignore"):
            return getattr(sp, fmt)(X.astype(dtype))
    if kind == "pandas":
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        if draw(st.integers(0, 3)) == 0 and X.size:  # a missing value, nullable dtype
            frame = frame.astype("Float64")
            frame.iat[rng.randint(X.shape[0]), rng.randint(X.shape[1])] = pd.NA
        return frame
    if kind == "polars":
        rows = X.tolist()
        if draw(st.integers(0, 3)) == 0 and X.size:
            rows[rng.randint(X.shape[0])][rng.randint(X.shape[1])] = None
        return pl.DataFrame(
            rows, schema=[f"f{i}" for i in range(X.shape[1])], orient="row"
        )
    dtype = draw(st.sampled_from(DTYPES))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        X = X.astype(dtype)
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        wide = np.repeat(X, 2, axis=1)
        X = wide[:, ::2]
    elif layout == "reversed":
        X = np.ascontiguousarray(X[::-1])[::-1]
    elif layout == "readonly":
        X.setflags(write=False)
    elif layout == "memmap" and X.dtype != object:
        X = _memmap(X)
    elif layout == "list":
        X = X.tolist()
    return X


@st.composite
def matrices(draw, n_rows=None, n_features=None):
    """An X: drawn shape (or the given one, mostly), values, magnitude, specials."""
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    n = (
        n_rows
        if n_rows is not None
        else draw(st.sampled_from([0, 1, 2, 3, 5, 8, 13, 30]))
    )
    d = n_features
    if d is None or draw(st.integers(0, 9)) == 0:
        d = draw(st.integers(0, 6))
    X = rng.standard_normal((n, d)) * draw(st.sampled_from(SCALES))
    if draw(st.integers(0, 7)) == 0:
        X = _inject(rng, X, [np.nan, np.inf, -np.inf])
    return rng, _container(draw, rng, X)


def _labels(draw, rng, n, classes=None):
    """Classification targets: from ``classes`` (mostly) or drawn label types."""
    if classes is not None and draw(st.integers(0, 7)):
        if getattr(classes, "ndim", 1) == 2:  # multilabel: classes are the columns
            return rng.randint(0, 2, (n, classes.shape[1]))
        labels = np.asarray(classes)
        return labels[rng.randint(len(labels), size=n)]
    kind = draw(
        st.sampled_from(
            ["int"] * 4
            + [
                "str",
                "bool",
                "float-int",
                "multilabel",
                "column",
                "continuous",
                "nan",
                "mixed",
                "one-class",
            ]
        )
    )
    k = draw(st.integers(2, 4))
    codes = rng.randint(k, size=n)
    if kind == "str":
        return np.array(["ab", "cd", "ef", "gh"])[codes]
    if kind == "bool":
        return codes % 2 == 0
    if kind == "float-int":
        return codes.astype(float)
    if kind == "multilabel":
        return rng.randint(0, 2, (n, k))
    if kind == "column":
        return codes.reshape(-1, 1)
    if kind == "continuous":
        return rng.standard_normal(n)
    if kind == "nan":
        return _inject(rng, codes.astype(float), [np.nan])
    if kind == "mixed":
        return np.array(["a", 1] * n, dtype=object)[:n]
    if kind == "one-class":
        return np.zeros(n, dtype=int)
    return codes


def _values(draw, rng, n, n_outputs=None):
    """Regression targets: drawn outputs, magnitude, specials and types."""
    m = n_outputs if n_outputs is not None and draw(st.integers(0, 7)) else None
    if m is None:
        m = draw(st.sampled_from([1, 1, 1, 2, 3]))
    y = rng.standard_normal((n, m)) * draw(st.sampled_from(SCALES))
    if m == 1 and draw(st.integers(0, 3)):
        y = y.ravel()
    kind = draw(
        st.sampled_from(
            ["float"] * 6 + ["int", "nan", "str", "complex", "positive", "float32"]
        )
    )
    if kind == "int":
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return y.astype(np.int64)
    if kind == "nan":
        return _inject(rng, y, [np.nan, np.inf, -np.inf])
    if kind == "str":
        return y.astype(str)
    if kind == "complex":
        return y + 1j
    if kind == "positive":
        return np.abs(y)
    if kind == "float32":
        with np.errstate(all="ignore"):
            return y.astype(np.float32)
    return y


def _targets(draw, rng, est, n):
    if isinstance(est, FCNNClassifier):
        classes = getattr(est, "classes_", None)
        binarizer = getattr(est, "_label_binarizer", None)
        if classes is not None and binarizer.y_type_.startswith("multilabel"):
            classes = np.empty((0, len(classes)))  # the width is what matters
        return _labels(draw, rng, n, classes)
    return _values(draw, rng, n, getattr(est, "n_outputs_", None))


def _weights(draw, rng, n):
    kind = draw(
        st.sampled_from(
            ["none"] * 6
            + ["uniform", "zeros-some", "zeros", "negative", "nan", "short", "huge"]
        )
    )
    if kind == "none":
        return None
    w = rng.uniform(0.1, 3.0, n)
    if kind == "zeros-some":
        w[: n // 2] = 0.0
    elif kind == "zeros":
        w[:] = 0.0
    elif kind == "negative":
        w = -w
    elif kind == "nan":
        w = _inject(rng, w, [np.nan, np.inf])
    elif kind == "short":
        w = w[:-1]
    elif kind == "huge":
        w *= 1e300
    return w


# ------------------------------------------------------------------------ the property


def _state(est, repacks=False):
    """The estimator's state as bytes. ``repacks``: with assigned weights, which the
    estimator packs into one buffer of ``coefs_[0]``'s dtype on first use, compared
    by value."""
    if not repacks:
        return pickle.dumps(est)
    state = dict(vars(est))
    for name in ("coefs_", "intercepts_"):
        state[name] = [np.asarray(a, dtype=np.float64) for a in state[name]]
    state.pop("_params", None)
    return pickle.dumps(state)


def _params(est):
    return [*est.coefs_, *est.intercepts_]


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _call(est, method, *args, repacks=False, **kwargs):
    """``est.method(*args, **kwargs)`` under the property: it works, or it raises a
    ValueError / TypeError with a message and the estimator is as it was; a
    prediction that works leaves it as it was too, unless ``repacks`` (assigned
    weights are packed into one buffer, in ``coefs_[0]``'s dtype, on first use).
    Returns ``(worked, output)``."""
    before = _state(est, repacks)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(est, method)(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        note(f"{method}: {type(exc).__name__}: {exc}")
        assert len(str(exc)) >= 10, f"{method} raised {exc!r} without a message"
        assert _state(est, repacks) == before, (
            f"the failed {method} changed the estimator"
        )
        return False, exc
    note(f"{method}: worked")
    if method not in ("fit", "partial_fit") and not repacks:
        assert _state(est) == before, f"{method} changed the estimator"
    return True, out


def _check_fitted(est, X):
    dtype = est.coefs_[0].dtype
    assert dtype in (np.float32, np.float64)
    for p in _params(est):
        assert p.dtype == dtype and np.isfinite(p).all(), "non-finite fitted weights"
    assert est.n_features_in_ == X.shape[1] if hasattr(X, "shape") else True


def _check_output(est, method, X, out):
    """Finite output of the right shape and dtype."""
    n, dtype = _n_rows(X), est.coefs_[0].dtype
    if method == "predict":
        if isinstance(est, FCNNRegressor):
            assert out.dtype == dtype and np.isfinite(out).all()
            assert out.shape == ((n,) if est.n_outputs_ == 1 else (n, est.n_outputs_))
        elif est._label_binarizer.y_type_.startswith("multilabel"):
            assert out.shape == (n, est.n_outputs_)
        else:
            assert out.shape == (n,) and np.isin(out, est.classes_).all()
        return
    width = {
        "predict_proba": max(len(est.classes_), 2)
        if hasattr(est, "classes_")
        else None,
        "predict_log_proba": max(len(est.classes_), 2)
        if hasattr(est, "classes_")
        else None,
        "transform": est.coefs_[-1].shape[0],
        "input_gradient": est.n_features_in_,
    }[method]
    assert out.shape == (n, width) and out.dtype == dtype, (out.shape, out.dtype)
    assert np.isfinite(out).all(), f"{method} returned inf or NaN"
    if method == "predict_proba":
        assert ((out >= 0) & (out <= 1)).all()
    if method == "predict_log_proba":
        assert (out <= 0).all()


def _fit_kwargs(draw, rng, est, X, first_partial):
    n = _n_rows(X)
    y = _targets(draw, rng, est, n)
    kwargs = {"sample_weight": _weights(draw, rng, n)}
    if first_partial and isinstance(est, FCNNClassifier):
        labels = np.asarray(y)
        # every label once, in order of appearance (mixed types cannot be sorted)
        kwargs["classes"] = (
            np.arange(labels.shape[1])
            if labels.ndim == 2
            else list(dict.fromkeys(labels.ravel().tolist())) or [0, 1]
        )
    return y, kwargs


METHODS = [
    "predict",
    "predict_proba",
    "predict_log_proba",
    "transform",
    "input_gradient",
    "partial_fit",
    "fit",
    "warm_start",
    "early_stopping",
    "assign_weights",
]


def _assign_weights(draw, est):
    """Replace one of ``coefs_`` / ``intercepts_`` as a user may: an array of the
    same shape (in another dtype, sometimes), or of another shape."""
    name = draw(st.sampled_from(["coefs_", "intercepts_"]))
    arrays = list(getattr(est, name))
    i = draw(st.integers(0, len(arrays) - 1))
    shape = arrays[i].shape
    if draw(st.integers(0, 2)) == 0:
        shape = tuple(max(0, s + draw(st.integers(-1, 1))) for s in shape)
    dtype = draw(st.sampled_from(["float64", "float32", "int64"]))
    with np.errstate(all="ignore"):  # 1e300 is inf in float32
        arrays[i] = np.full(
            shape, draw(st.sampled_from([0.0, 0.5, -2.0, 1e300])), dtype
        )
    setattr(est, name, arrays)
    note(f"assigned {name}[{i}]: shape {shape}, {dtype}")


@given(est=estimators(), data=st.data())
def test_every_call_works_or_raises_cleanly(est, data):
    draw = data.draw
    rng, X = draw(matrices())
    y, kwargs = _fit_kwargs(draw, rng, est, X, first_partial=False)
    if draw(st.integers(0, 5)) == 0:  # a validation set of its own
        width = X.shape[1] if hasattr(X, "shape") else None
        _, kwargs["X_val"] = draw(matrices(n_features=width))
        kwargs["y_val"] = _targets(draw, rng, est, _n_rows(kwargs["X_val"]))
    worked, _ = _call(est, "fit", X, y, **kwargs)
    if worked:
        _check_fitted(est, X)
    else:
        assert not hasattr(est, "coefs_"), "a failed first fit left a fitted model"
    assigned = False
    for method in draw(st.lists(st.sampled_from(METHODS), max_size=5)):
        if method in ("warm_start", "early_stopping"):  # a parameter change
            est.set_params(**{method: not getattr(est, method)})
            continue
        if method == "assign_weights":
            if hasattr(est, "coefs_"):
                _assign_weights(draw, est)
                assigned = True
            continue
        if not hasattr(est, method):  # partial_fit with lbfgs, transform with no layer
            continue
        fitted = hasattr(est, "coefs_")
        rng, X = draw(matrices(n_features=getattr(est, "n_features_in_", None)))
        if method in ("fit", "partial_fit", "input_gradient"):
            y, kwargs = _fit_kwargs(
                draw, rng, est, X, first_partial=method == "partial_fit" and not fitted
            )
            if method == "input_gradient":
                worked, out = _call(est, method, X, y, repacks=assigned)
            else:
                worked, out = _call(est, method, X, y, **kwargs)
                if worked:
                    _check_fitted(est, X)
                continue
        else:
            worked, out = _call(est, method, X, repacks=assigned)
        if worked:
            _check_output(est, method, X, out)


# --------------------------------------------------------------------- determinism


@st.composite
def valid_problems(draw):
    """An estimator with valid parameters and valid data of at least 4 rows."""
    est = draw(estimators(invalid=False))
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(4, 30)), draw(st.integers(1, 5))
    X = rng.standard_normal((n, d)).astype(
        draw(st.sampled_from(["float64", "float32"]))
    )
    if isinstance(est, FCNNClassifier):
        y = rng.randint(0, draw(st.integers(1, 3)), n)
    else:
        y = np.abs(rng.standard_normal(n))
    return est, X, y


@given(problem=valid_problems())
def test_fits_are_deterministic_for_a_fixed_random_state(problem):
    est, X, y = problem
    est.set_params(random_state=7)
    runs = []
    for model in (clone(est), clone(est)):
        outcome = []
        for method in ("fit", "partial_fit", "predict"):
            if not hasattr(model, method):
                continue
            args = (X,) if method == "predict" else (X, y)
            if method == "partial_fit" and not hasattr(model, "coefs_"):
                continue
            worked, out = _call(model, method, *args)
            outcome.append(pickle.dumps(out if worked else str(out)))
        if hasattr(model, "coefs_"):
            outcome.append(pickle.dumps([p.tobytes() for p in _params(model)]))
        runs.append(outcome)
    assert runs[0] == runs[1], "two fits with the same random_state differ"


# -------------------------------------------------------- every registered option


def _options(Est):
    return [
        (name, value)
        for name, (valid, _) in POOLS[Est].items()
        for value in valid
        if not (isinstance(value, str) and value == FRESH_RNG)
    ]


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_every_valid_parameter_value_fits_or_raises_cleanly(Est):
    # each valid value of every parameter once, on data of the usual scale
    rng = np.random.RandomState(0)
    X = rng.standard_normal((25, 3))
    y = rng.randint(0, 3, 25) if Est is FCNNClassifier else X[:, 0] ** 2
    failed = []
    for name, value in _options(Est):
        est = Est(**{**BASE, name: value})
        worked, out = _call(est, "fit", X, y)
        if worked:
            _check_fitted(est, X)
            pred_worked, pred = _call(est, "predict", X)
            if pred_worked:
                _check_output(est, "predict", X, pred)
        else:
            failed.append((name, value, str(out)[:80]))
    # constraints-valid values may fail only through the guards (overflow) or a
    # cross-parameter check; never most of them
    assert len(failed) < len(_options(Est)) / 4, failed


def test_registries_are_valid_values_of_their_parameters():
    for Est in ESTIMATORS:
        constraints = Est._parameter_constraints
        for name, registry in REGISTRIES.items():
            if name not in constraints:
                continue
            valid = [v for v in registry if _satisfies(constraints[name], v)]
            if name == "loss":  # the regressor's: the losses with a regression output
                registry = [
                    v for v in registry if LOSS_OUTPUTS[v] in ("identity", "exp")
                ]
            assert sorted(valid) == sorted(registry), (Est.__name__, name)


def test_pools_cover_both_sides_of_every_bound():
    for Est in ESTIMATORS:
        for name, (valid, invalid) in POOLS[Est].items():
            assert valid, f"{Est.__name__}.{name}: no valid value drawn"
            assert invalid or name in ("shuffle",), (
                f"{Est.__name__}.{name}: no invalid value"
            )
