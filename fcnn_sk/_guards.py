"""Guards around the compiled code: what a call may cost and what it may return.

The kernels trust their inputs, which Python validates, but not the arithmetic: finite
inputs and finite weights can still overflow, and a valid network can be too large for
the machine. The estimators call the checks below at a few marked places:

- memory: before a fit allocates anything (parameters, gradient, optimizer state,
  workspaces, data and validation copies) and before a prediction runs its chunks, an
  estimate of the bytes it needs; above the machine's physical memory the call raises
  :class:`NetworkMemoryError` naming the estimate and its largest part, where the
  operating system would otherwise kill the interpreter;
- non-finite output: the compiled forward pass checks its output block as it ends
  (one pass over n x n_outputs values in compiled code; prediction's short path
  checks its inputs and its outputs before and after the link in the same call);
  when it is not finite, the pass is rerun layer by layer on the rows concerned to
  name the first layer that overflowed in the error;
- training: a non-finite loss stops a fit at the epoch where it appears, a non-finite
  weight at the end of a fit is an error, and a failed fit puts the model back as it
  was before the call (:class:`Checkpoint`);
- the stratified early-stopping split names a class too small to be split.
"""

import functools
import itertools
import math
import os

import numpy as np

from ._network import forward_rows
from ._validation import has_dropout

#: Rows per chunk of the compiled passes (the defaults of csrc/_kernels.pyx):
#: forward_rows, and loss_grad / input_grad.
FORWARD_CHUNK = 2048
GRADIENT_CHUNK = 512
#: Vectors of the L-BFGS driver (fcnn_sk/_lbfgs.py), float64, each n_params long:
#: 10 pairs (s, y) and x, g, d, x_try, x_old, g_old.
LBFGS_VECTORS = 2 * 10 + 6


class NetworkMemoryError(MemoryError, ValueError):
    """A fit or prediction would need more memory than the machine has.

    Both a ``MemoryError`` (what it is) and a ``ValueError`` (what scikit-learn's
    conventions expect from a parameter value that cannot work, here the layer sizes).
    """


# ---- memory ---------------------------------------------------------------------------


@functools.cache
def physical_memory():
    """Bytes of physical memory of this machine, or the memory limit of the control
    group (container) the process runs in where that is lower; None where unknown."""
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        try:
            import psutil

            sizes.append(psutil.virtual_memory().total)
        except ImportError:
            pass
    for path in (
        "/sys/fs/cgroup/memory.max",  # cgroup v2, then v1
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ):
        try:
            with open(path) as f:
                sizes.append(int(f.read().strip()))
        except (OSError, ValueError):  # absent, or "max" (no limit)
            pass
    sizes = [s for s in sizes if s > 0]
    return min(sizes) if sizes else None


def _bytes(n):
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def _n_params(units):
    return sum(a * b + b for a, b in itertools.pairwise(units))


def _data_bytes(X):
    """Bytes of a validated X (dense array or sparse matrix)."""
    if hasattr(X, "data") and hasattr(X, "indices"):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def fit_memory(est, units, itemsize, n_train, n_val, X_bytes, first_pass):
    """Estimated bytes a fit needs, by part: ``{description: bytes}``.

    Parameters
    ----------
    est : the estimator (its solver, batch size, dropout and early stopping).
    units : list of int, the layer widths (input first).
    itemsize : bytes per float of the training dtype.
    n_train, n_val : rows trained on and held out for validation.
    X_bytes : bytes of the validated training and validation data (the validation
        split copies them).
    first_pass : whether the parameters are allocated anew.
    """
    n_params = _n_params(units)
    hidden, k = units[1:-1], units[-1]
    params = n_params * itemsize
    parts = {"parameters": params, "early-stopping copy of the parameters": params}
    if first_pass:  # weight draws are float64, one layer at a time
        parts["initial weight draws"] = 8 * max(
            a * b for a, b in itertools.pairwise(units)
        )
    else:
        n_states = 2 if est.solver == "adam" else 1
        parts["copy of the model, restored if the fit fails"] = (2 + n_states) * params
    parts["gradient"] = params
    if est.solver == "lbfgs":
        parts["L-BFGS memory (10 pairs of float64 vectors, and 6 more)"] = (
            LBFGS_VECTORS * n_params * 8
        )
        if itemsize != 8:
            parts["gradient"] += n_params * 8
        rows = min(GRADIENT_CHUNK, n_train)
        parts["workspace of the loss and gradient chunks"] = (
            rows * (3 * sum(hidden) + 2 * k) * itemsize
        )
    else:
        names = {
            "adam": "Adam's two moment buffers",
            "sgd": "SGD's velocity",
            "rmsprop": "RMSprop's mean squares",
        }
        parts[names.get(est.solver, "optimizer state")] = (
            2 if est.solver == "adam" else 1
        ) * params
        rows = min(200 if est.batch_size == "auto" else est.batch_size, n_train)
        dropout = has_dropout(est)
        per_row = units[0] * (1 + 2 * (est.input_dropout > 0)) + 2 * k
        per_row += sum(hidden) * (3 + 2 * dropout)  # outputs, deltas, z, masks
        parts["mini-batch workspace"] = rows * per_row * itemsize
    if n_val:
        parts["validation scoring"] = (
            min(FORWARD_CHUNK, n_val) * sum(hidden) * itemsize
            + min(GRADIENT_CHUNK, n_val) * (sum(hidden) + 2 * k) * itemsize
            + 3 * n_val * k * 8
        )
    # the encoded targets; the rows of a validation split are copies of X's
    parts["encoded targets and copies of the data"] = (n_train + n_val) * k * (
        itemsize + 8
    ) + (X_bytes if n_val else 0)
    return parts


def predict_memory(network, n_rows, itemsize, n_run=None, input_gradient=False):
    """Estimated bytes of a prediction (or of ``input_gradient``) on ``n_rows`` rows,
    by part."""
    L = network.n_layers
    n_run = L if n_run is None else n_run
    units = [network.width(layer) for layer in range(L + 1)]
    if input_gradient:
        rows = min(GRADIENT_CHUNK, n_rows)
        return {
            "input gradients": n_rows * units[0] * itemsize,
            "chunk workspace": rows
            * (units[0] + 3 * sum(units[1:-1]) + 2 * units[-1])
            * itemsize,
            "parameter-gradient scratch": _n_params(units) * itemsize,
        }
    return {
        "outputs": n_rows * units[n_run] * itemsize,
        "chunk workspace": min(FORWARD_CHUNK, n_rows) * sum(units[1:n_run]) * itemsize,
    }


def _check_memory(parts, what, advice):
    limit = physical_memory()
    total = sum(parts.values())
    if limit is None or total <= limit:
        return
    name, largest = max(parts.items(), key=lambda item: item[1])
    raise NetworkMemoryError(
        f"{what} needs about {_bytes(total)} of memory, more than the {_bytes(limit)} "
        f"this machine has; the largest part is the {name}: {_bytes(largest)}. "
        f"{advice}"
    )


def check_fit(est, units, fit, val, first_pass):
    """Before a fit allocates anything: a :class:`NetworkMemoryError` if it could not
    fit in memory, and a ``ValueError`` if the data, finite as given, are not in the
    dtype the network trains in (float32 targets or inputs beyond its range).
    ``fit`` and ``val`` are the validated training and validation data."""
    if not first_pass:
        check_layout(est)
    dtype = fit.X.dtype if first_pass else est.coefs_[0].dtype
    n_val = 0 if val is None else val.X.shape[0]
    X_bytes = _data_bytes(fit.X) + (0 if val is None else _data_bytes(val.X))
    parts = fit_memory(
        est, units, dtype.itemsize, fit.X.shape[0], n_val, X_bytes, first_pass
    )
    _check_memory(
        parts,
        f"Fitting a network of layer sizes {units} ({_n_params(units):,} "
        f"parameters, {_float_name(dtype)})",
        "Use fewer or narrower hidden layers"
        + (", float32 data" if dtype.itemsize == 8 else "")
        + ("" if est.solver == "lbfgs" else ", a smaller batch_size")
        + ".",
    )
    if val is not None and val.Y.shape[1] != fit.Y.shape[1]:
        # the kernels read the validation targets with the network's output width
        raise ValueError(
            f"y_val has {val.Y.shape[1]} outputs (as the network encodes them) but y "
            f"has {fit.Y.shape[1]}; give y_val the columns of y."
        )
    for data, name in ((fit, ""), (val, "_val")):
        if data is None:
            continue
        X = data.X.data if hasattr(data.X, "indices") else data.X
        for values, what in ((X, "X"), (data.Y, "y")):
            with np.errstate(over="ignore"):
                cast = values if values.dtype == dtype else values.astype(dtype)
            if not all_finite(cast):
                raise ValueError(
                    f"{what}{name} has values beyond the range of {_float_name(dtype)}"
                    f", the dtype the network {'is' if first_pass else 'was'} trained "
                    f"in (largest magnitude {np.finfo(dtype).max:.3g}). Scale them, "
                    "or fit on float64 data."
                )


def check_predict_memory(network, params, X, n_run=None, input_gradient=False):
    """Raise :class:`NetworkMemoryError` before a prediction that could not fit in
    memory (the forward pass of X up to layer ``n_run``, or its input gradients)."""
    parts = predict_memory(network, X.shape[0], params.itemsize, n_run, input_gradient)
    _check_memory(
        parts, f"This call on {X.shape[0]:,} rows", "Call it on fewer rows at a time."
    )


# ---- the layout of the parameters ------------------------------------------------------


def check_layout(est):
    """``coefs_`` and ``intercepts_``, which users may assign, must form the network
    the model was fitted as before the kernels index them: float arrays (packed in
    ``coefs_[0]``'s dtype, float32 or float64), each layer's width the next one's
    input, an intercept per unit, the fitted input and output widths. A
    ``ValueError`` names the first mismatch."""
    coefs, intercepts = list(est.coefs_), list(est.intercepts_)
    problem = None
    if not coefs or len(coefs) != len(intercepts):
        problem = f"{len(coefs)} coefs_ arrays and {len(intercepts)} intercepts_ arrays"
    else:
        dtypes = [np.asarray(a).dtype for a in (*coefs, *intercepts)]
        if dtypes[0] not in (np.float32, np.float64) or any(
            d.kind != "f" for d in dtypes
        ):
            problem = (
                f"arrays of dtypes {sorted({str(d) for d in dtypes})}: float32 or "
                "float64 expected"
            )
    for i, (c, b) in enumerate(zip(coefs, intercepts)):
        if problem:
            break
        c, b = np.asarray(c), np.asarray(b)
        if c.ndim != 2 or b.shape != (c.shape[1],):
            problem = (
                f"coefs_[{i}] of shape {c.shape} and intercepts_[{i}] of {b.shape}"
            )
        elif i and coefs[i - 1].shape[1] != c.shape[0]:
            problem = (
                f"coefs_[{i - 1}] of shape {coefs[i - 1].shape} followed by "
                f"coefs_[{i}] of shape {c.shape}"
            )
    if not problem and coefs[0].shape[0] != getattr(
        est, "n_features_in_", coefs[0].shape[0]
    ):
        problem = (
            f"coefs_[0] with {coefs[0].shape[0]} rows for {est.n_features_in_} features"
        )
    if not problem and coefs[-1].shape[1] != getattr(
        est, "n_outputs_", coefs[-1].shape[1]
    ):
        problem = (
            f"coefs_[-1] with {coefs[-1].shape[1]} columns for {est.n_outputs_} outputs"
        )
    if problem:
        raise ValueError(
            f"coefs_ and intercepts_ do not form the fitted network: {problem}. Assign "
            "arrays of the shapes the fit gave them, or fit again."
        )


def _check_network(network, params, X):
    """Before a compiled pass over X: the flat parameters and X have the sizes the
    network's layout gives them (its offsets index both). O(1); ``check_layout``
    names the problem."""
    if params.shape[0] != network.n_params or X.shape[1] != network.width(0):
        raise ValueError(
            f"The parameters ({params.shape[0]} values) or the input width "
            f"({X.shape[1]}) do not match the network's layout ({network.n_params} "
            f"parameters, {network.width(0)} inputs): coefs_ / intercepts_ were "
            "assigned arrays of other shapes."
        )


# ---- non-finite outputs ---------------------------------------------------------------


def all_finite(a):
    """Whether every value of the float array ``a`` is finite: the sum of its values
    is finite exactly when they all are, unless it overflows (then checked again
    element-wise). No allocation in the common case, except for small arrays, where
    an element-wise check is faster than entering ``np.errstate``."""
    if a.size <= 2048:
        return bool(np.isfinite(a).all())
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(a.reshape(-1)) if a.flags.c_contiguous else a.sum()
    return math.isfinite(total) or bool(np.isfinite(a).all())


def _float_name(dtype):
    return "float32" if np.dtype(dtype) == np.float32 else "float64"


def _overflow_message(n_bad, n, where, dtype, X_bad):
    if hasattr(X_bad, "toarray"):  # sparse rows
        largest = float(abs(X_bad).max()) if X_bad.nnz else 0.0
    else:
        largest = float(np.max(np.abs(X_bad))) if X_bad.size else 0.0
    return (
        f"{n_bad} of {n} rows gave inf or NaN: {where} overflowed in "
        f"{_float_name(dtype)} arithmetic (largest input magnitude in those rows: "
        f"{largest:.3g}). The inputs are too large for the network's weights: scale "
        "them as the training data were (e.g. with StandardScaler)."
    )


def _bad_rows(a):
    """Indices of the rows of the 2-D ``a`` with a value that is not finite."""
    return np.flatnonzero(~np.isfinite(a).all(axis=1))


def diagnose_forward(network, params, X, rows, n_run=None):
    """Why the forward pass of ``X[rows]`` (rows whose output of layer ``n_run``,
    default the raw outputs, is not finite) gave inf or NaN: the error message naming
    non-finite weights, inputs that overflow the model's dtype, or the first layer
    whose output is not finite for one of those rows."""
    L = network.n_layers
    n_run = L if n_run is None else n_run
    if not all_finite(params):
        return (
            "The model's weights contain inf or NaN (coefs_ / intercepts_ were "
            "set to non-finite values), so its outputs are not finite."
        )
    X_bad = X[rows]
    if not hasattr(X_bad, "toarray") and not all_finite(X_bad):
        return (
            f"{len(_bad_rows(X_bad))} of {X.shape[0]} rows are not finite in "
            f"{_float_name(X.dtype)}, the model's dtype: values of magnitude above "
            f"{np.finfo(X.dtype).max:.3g} overflow it. Scale the inputs."
        )
    for layer in range(1, n_run + 1):
        if all_finite(forward_rows(network, params, X_bad, layer)):
            continue
        where = (
            "the output layer" if layer == L else f"hidden layer {layer} (of {L - 1})"
        )
        return _overflow_message(len(rows), X.shape[0], where, params.dtype, X_bad)
    # not reproduced row by row (chunks may round differently): name no layer
    return _overflow_message(
        len(rows), X.shape[0], "the forward pass", params.dtype, X_bad
    )


def checked_forward(network, params, X, n_run=None, check=True):
    """``forward_rows`` with the guards: the memory estimate before, and a
    ``ValueError`` naming the layer that overflowed if the output is not finite.
    ``check=False`` (training-time validation scores) runs the bare pass."""
    if not check:
        return forward_rows(network, params, X, n_run)
    _check_network(network, params, X)
    check_predict_memory(network, params, X, n_run)
    out, finite = forward_rows(network, params, X, n_run, finite=True)
    if not finite:
        raise ValueError(diagnose_forward(network, params, X, _bad_rows(out), n_run))
    return out


def check_link(est, out):
    """After the output link (exp, log-softmax, log-sigmoid) of finite raw outputs:
    a ``ValueError`` if it overflowed."""
    if all_finite(out):
        return
    raise ValueError(
        f"{len(_bad_rows(out))} of {out.shape[0]} rows gave inf or NaN: the output "
        f"activation {est.out_activation_!r} overflowed in {_float_name(out.dtype)} "
        "arithmetic on finite raw outputs (for 'exp', raw outputs above "
        f"{math.log(np.finfo(out.dtype).max):.4g}). Scale the inputs as the training "
        "data were (e.g. with StandardScaler)."
    )


def before_input_gradient(network, params, X, Y):
    """Before ``input_gradient``'s compiled pass: the layout, the targets' width (the
    kernel reads them with the network's output width) and the memory estimate."""
    _check_network(network, params, X)
    width = Y.shape[1] if Y.ndim == 2 else 1
    if Y.shape[0] != X.shape[0] or width != network.n_outputs:
        raise ValueError(
            f"y has {width} outputs (as the network encodes them) but the network has "
            f"{network.n_outputs}; give y the columns it was fitted with."
        )
    check_predict_memory(network, params, X, input_gradient=True)


def check_input_gradient(out, network, params, X):
    """After ``input_gradient``'s compiled pass: a ``ValueError`` naming where it
    overflowed if a gradient is not finite."""
    if all_finite(out):
        return
    rows = _bad_rows(out)
    raw = forward_rows(network, params, X[rows])
    if not all_finite(raw):
        raise ValueError(diagnose_forward(network, params, X, rows[_bad_rows(raw)]))
    raise ValueError(
        f"{len(rows)} of {X.shape[0]} rows gave inf or NaN input gradients: the "
        f"backward pass overflowed in {_float_name(params.dtype)} arithmetic. Scale the "
        "inputs and targets as the training data were."
    )


# ---- training -------------------------------------------------------------------------


def _divergence_advice(est):
    return (
        "Scale the inputs (e.g. with StandardScaler) and the targets, lower "
        f"learning_rate_init (now {est.learning_rate_init:g}) or set max_grad_norm. "
        "The model was left as it was before this call."
    )


def check_epoch_loss(est):
    """After each epoch of a stochastic solver: a non-finite training loss means the
    weights diverged, and no later epoch can bring them back, so the fit stops here
    with an error. With early stopping the fit goes on as scikit-learn's does and
    keeps the weights of its best epoch."""
    loss = est.loss_
    if math.isfinite(loss) or est.early_stopping:
        return
    raise ValueError(
        f"The training loss became non-finite ({loss}) at epoch {est.n_iter_} of this "
        "call: the network's outputs, the loss or the weights overflowed. "
        f"{_divergence_advice(est)}"
    )


def check_fitted(est):
    """At the end of a fit: non-finite weights (or, without early stopping, a
    non-finite final loss) are an error."""
    if not np.isfinite(est._params).all():  # (faster than all_finite on float32)
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may contain "
            f"large values and need to be preprocessed. {_divergence_advice(est)}"
        )
    loss = getattr(est, "loss_", 0.0)
    if not est.early_stopping and loss is not None and not math.isfinite(loss):
        raise ValueError(
            f"The training loss is non-finite ({loss}) where the solver stopped: the "
            "network's outputs or the loss overflowed. "
            f"{_divergence_advice(est)}"
        )


#: array trained in place -> the buffer a checkpoint copies it into, kept while the
#: array lives: copying into memory already mapped costs a tenth of a fresh copy, whose
#: pages the system must first provide (on a 535,818-parameter network trained with
#: Adam, 0.2 ms against 2-5 ms per partial_fit call; see benchmarks/guards.py)
class Checkpoint:
    """The state of an estimator, to put back if a call fails.

    Attributes are restored as they were (a shallow copy of ``__dict__``). With
    ``in_place`` (a warm start or ``partial_fit``, which train the existing arrays),
    what training updates in place is saved and written back into the same objects:
    the arrays (the flat parameters, the optimizer's buffers, the shuffled order; so
    that views such as ``coefs_`` stay views of the parameters), the lists (the
    curves), the attributes of fcnn_sk's own objects (the training state, its
    optimizer and monitor) and every ``RandomState`` among them. A ``RandomState``
    given as ``random_state`` always gets its state back, so that a retried call draws
    the same numbers.
    """

    def __init__(self, est, in_place=True):
        self._est = est
        self._state = dict(est.__dict__)
        self._arrays, self._lists, self._objects, self._rngs = [], [], [], []
        seen = set()
        for value in self._state.values():
            if in_place:
                self._save(value, seen)
            elif isinstance(value, np.random.RandomState):
                self._rngs.append((value, value.get_state()))

    def _save(self, value, seen):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            if value.base is None and value.flags.writeable:
                self._arrays.append((value, value.copy()))
        elif isinstance(value, np.random.RandomState):
            self._rngs.append((value, value.get_state()))
        elif isinstance(value, list):
            self._lists.append((value, list(value)))
            for item in value:
                self._save(item, seen)
        elif type(value).__module__.startswith("fcnn_sk.") and hasattr(
            value, "__dict__"
        ):
            self._objects.append((value, dict(vars(value))))
            for item in vars(value).values():
                self._save(item, seen)

    def restore(self):
        est = self._est
        est.__dict__.clear()
        est.__dict__.update(self._state)
        for obj, attrs in self._objects:
            obj.__dict__.clear()
            obj.__dict__.update(attrs)
        for array, saved in self._arrays:
            array[...] = saved
        for lst, saved in self._lists:
            lst[:] = saved
        for rng, saved in self._rngs:
            rng.set_state(saved)


def restore_on_failure(fit):
    """Decorator of the estimators' ``_fit(X, y, ..., incremental=False, ...)``: a call
    that fails (a ValueError, TypeError or MemoryError: bad input, a diverging fit,
    too little memory) leaves the estimator as it was before it. Anything else (an
    exception from a user's callback, KeyboardInterrupt) leaves the model of the last
    completed epoch."""

    @functools.wraps(fit)
    def guarded(est, *args, **kwargs):
        # only warm starts and partial_fit train the existing arrays in place
        incremental = kwargs.get("incremental", args[3] if len(args) > 3 else False)
        checkpoint = Checkpoint(est, in_place=est.warm_start or incremental)
        try:
            return fit(est, *args, **kwargs)
        except (ValueError, TypeError, MemoryError):
            checkpoint.restore()
            raise

    return guarded
