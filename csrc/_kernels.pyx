# cython: language_level=3, cdivision=True
"""Compiled entry points of fcnn_sk.

Python hands over checked, C-contiguous arrays of one float dtype; these functions turn
them into raw pointers, release the GIL and run the work:

- ``train_epoch``: every mini-batch of one epoch (gather, forward, loss, backward,
  update) with no Python and no allocation per batch;
- ``loss_grad``: loss (and gradient) over all rows in fixed-size chunks, for L-BFGS and
  validation losses, in O(chunk x width) memory;
- ``forward_rows``: the forward pass in chunks (predictions, hidden features), with
  a check that the outputs are finite;
- ``Predictor``: the forward pass of small batches with its input and output checks
  and a workspace kept between calls (prediction's short path);
- ``input_grad``: per-sample gradients of the loss with respect to the inputs;
- ``apply_output_link``: raw outputs to predictions or log-probabilities;
- ``lbfgs_direction``: the L-BFGS search direction (fcnn_sk/_lbfgs.py drives it);
- ``use_blas`` and ``set_gemm_split``: which BLAS computes the products, and how;
- ``cpu_has_avx2_fma``: whether the AVX2 build of this module (_kernels_avx2.pyx,
  the same source) can run here.

The math lives in the headers beside this file: activations, losses (with their
gradients), optimizers, BLAS, the random generator and the layer stack. The public
names of activations, losses, solvers and split modes are mapped to their kernel
codes here, once; an unknown name is a ValueError.

Ctrl-C: the loops poll for signals between blocks of rows (_signals.pxd).
``train_epoch`` stops at a mini-batch boundary and says so; the chunked passes raise
KeyboardInterrupt.
"""

import threading
from collections import namedtuple

import numpy as np

cimport numpy as cnp
from cython cimport floating
from libc.math cimport sqrt, isfinite
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.pythread cimport PyThread_get_thread_ident
from scipy.linalg.cython_blas cimport sgemm, dgemm

from _activations cimport (Activation, IDENTITY, LOGISTIC, TANH, RELU, LEAKY_RELU,
                           ELU, GELU, SOFTPLUS, SWISH)
from _losses cimport (Output, OUT_SQUARED, OUT_BINARY_LOG, OUT_LOG, OUT_POISSON,
                      OUT_ABSOLUTE, OUT_HUBER, apply_link)
from _optimizers cimport Step, SGD, ADAM, RMSPROP, begin_step, update, clip_factor
from _random cimport uint64
from _fmath cimport exp_inplace
from _lbfgs cimport two_loop
from _blas cimport use_functions
from _openblas cimport (policy, SplitMode, SPLIT_AUTO, SPLIT_NEVER, SPLIT_ALWAYS,
                        split_rows, copies_b, openblas_open)
from _signals cimport Watch, watch_signals, check_signals, interrupted
from _network cimport (Net, Rows, DENSE, CSR, Pass, PREDICT, LOSS, GRADIENT,
                       INPUT_GRADIENT, TRAIN, BUF_A, BUF_D, N_BUF, plan, has, buffer,
                       output, forward, block_loss, backward)

cdef extern from "platform.h":
    bint fcnn_cpu_has_avx2_fma() noexcept nogil

cnp.import_array()


# --- names and codes ------------------------------------------------------------------

ACTIVATIONS = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU,
               "leaky_relu": LEAKY_RELU, "elu": ELU, "gelu": GELU,
               "softplus": SOFTPLUS, "swish": SWISH}
#: loss -> (kernel code, output activation it is paired with)
LOSSES = {"squared_error": (OUT_SQUARED, "identity"),
          "binary_log_loss": (OUT_BINARY_LOG, "logistic"),
          "log_loss": (OUT_LOG, "softmax"),
          "poisson": (OUT_POISSON, "exp"),
          "absolute_error": (OUT_ABSOLUTE, "identity"),
          "huber": (OUT_HUBER, "identity")}
SOLVERS = {"sgd": SGD, "adam": ADAM, "rmsprop": RMSPROP}
#: how matrix products may be split (csrc/_openblas.pxd): where the policy expects
#: a gain, never, or wherever possible (for tests of that path)
GEMM_SPLIT_MODES = {"auto": SPLIT_AUTO, "never": SPLIT_NEVER, "always": SPLIT_ALWAYS}


def _code(registry, what, name):
    """The kernel code of ``name`` in ``registry``; ValueError if it has none."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown {what} {name!r}; expected one of {sorted(registry)}") from None


# --- platform and BLAS ----------------------------------------------------------------

def cpu_has_avx2_fma():
    """Whether this CPU (and its operating system) supports AVX2 and FMA."""
    return bool(fcnn_cpu_has_avx2_fma())


def use_blas(str path):
    """Compute matrix products with the sgemm and dgemm of the OpenBLAS library at
    ``path`` (a build with scipy's symbol names, such as scipy-openblas32's), or with
    scipy's BLAS where ``path`` is empty. Returns whether it worked; if not, nothing
    changed."""
    cdef void* s = <void*> sgemm
    cdef void* d = <void*> dgemm
    cdef bytes encoded = path.encode()
    if path and not openblas_open(encoded, &s, &d):
        return False
    use_functions(s, d)
    return True


use_blas("")  # scipy's until told otherwise


def set_gemm_split(str mode):
    """How matrix products are split into row blocks (csrc/_openblas.pxd): a key of
    ``GEMM_SPLIT_MODES``. Returns the previous setting."""
    cdef SplitMode code = _code(GEMM_SPLIT_MODES, "split mode", mode)
    previous = next(k for k, v in GEMM_SPLIT_MODES.items() if v == policy.mode)
    policy.mode = code
    return previous


def gemm_block_rows(bint trans_b, bint single, int m, int n, int k):
    """Rows per block in which a row-major product ``op(A)[m, k] @ op(B)[k, n]`` is
    issued now (``m``: whole), given the setting and the BLAS threads; ``single``:
    float32. For the tests of the policy."""
    return split_rows(trans_b, single, m, n, k)


def gemm_copies_b(bint single, int m, int n, int k):
    """Whether a row-major product ``A[m, k] @ B.T[k, n]`` first copies ``B.T`` into
    a plain array now; for the tests of the policy."""
    return copies_b(single, m, n, k)


def gemm_split_blas():
    """Whether the BLAS in use is one that ``"auto"`` splits products for (OpenBLAS
    with AVX-512 kernels); it then does so while it runs one thread."""
    return bool(policy.small_kernels)


def exp_array(floating[::1] x):
    """``x <- exp(x)`` in place, with the vectorised exp of the kernels
    (``exp_inplace`` in csrc/_fmath.pxd); exposed for its tests."""
    if x.shape[0] > 0:
        exp_inplace(&x[0], x.shape[0])


# --- what a call describes to the kernels ---------------------------------------------

cdef class Network:
    """Shape of a network: layer widths, activations, loss and dropout rates.

    Parameters
    ----------
    units : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``, all positive.
    activations : sequence of str
        One name (a key of ``ACTIVATIONS``) per hidden layer.
    loss : str
        A key of ``LOSSES``.
    dropout : sequence of float, optional
        ``[input_dropout, *one rate per hidden layer]``; training only.
    negative_slope, huber_delta : float
        Parameters of leaky_relu and of the Huber loss.
    """
    cdef Py_ssize_t[::1] units, coef_off, icpt_off
    cdef Activation* act
    cdef double[::1] dropout
    cdef Output out
    cdef double slope, huber_delta
    cdef readonly Py_ssize_t n_params, n_coefs, n_outputs, n_layers

    def __init__(self, units, activations, loss, dropout=None, negative_slope=0.01,
                 huber_delta=1.0):
        cdef Py_ssize_t layer, L = len(units) - 1, offset = 0
        codes = [_code(ACTIVATIONS, "activation", a) for a in activations]
        self.out = _code(LOSSES, "loss", loss)[0]
        if L < 1 or len(codes) != L - 1:
            raise ValueError("need one activation per hidden layer")
        widths = np.array(units, dtype=np.intp)
        if widths.min() < 1:
            raise ValueError(f"layer widths must be positive, got {list(units)}")
        self.units = widths
        self.dropout = np.zeros(L) if dropout is None else np.asarray(
            dropout, dtype=np.float64).copy()
        if self.dropout.shape[0] != L:
            raise ValueError("need one dropout rate per layer input")
        PyMem_Free(self.act)
        self.act = <Activation*> PyMem_Malloc(max(L - 1, 1) * sizeof(Activation))
        if self.act == NULL:
            raise MemoryError()
        for layer in range(L - 1):
            self.act[layer] = codes[layer]
        self.slope = negative_slope
        self.huber_delta = huber_delta
        self.n_layers = L
        self.coef_off = np.empty(L, dtype=np.intp)
        self.icpt_off = np.empty(L, dtype=np.intp)
        for layer in range(L):
            self.coef_off[layer] = offset
            offset += self.units[layer] * self.units[layer + 1]
        self.n_coefs = offset
        for layer in range(L):
            self.icpt_off[layer] = offset
            offset += self.units[layer + 1]
        self.n_params = offset
        self.n_outputs = self.units[L]

    def __dealloc__(self):
        PyMem_Free(self.act)

    def width(self, Py_ssize_t layer):
        """Number of units of layer ``layer`` (0: the input)."""
        return self.units[layer]

    cdef Net c_net(self, Py_ssize_t* offsets, Pass kind, Py_ssize_t cap,
                   bint gather=False, Py_ssize_t n_run=0) noexcept:
        """The network with the plan of one call (see ``plan`` in _network.pxd);
        ``offsets``, of ``offset_count()`` elements, must live as long as the call."""
        cdef Net net
        net.n_layers = self.n_layers
        net.units = &self.units[0]
        net.coef_off = &self.coef_off[0]
        net.icpt_off = &self.icpt_off[0]
        net.act = self.act
        net.dropout = &self.dropout[0]
        net.out = self.out
        net.slope = self.slope
        net.huber_delta = self.huber_delta
        net.buf = offsets
        net.rng = NULL
        plan(&net, kind, cap, gather, n_run)
        return net

    cdef Py_ssize_t offset_count(self) noexcept:
        return (self.n_layers + 1) * N_BUF


cdef class Hyperparameters:
    """What one epoch of a stochastic solver does with a gradient (``train_epoch``).

    Parameters
    ----------
    solver : {'sgd', 'adam', 'rmsprop'}
    learning_rate : float
        The epoch's learning rate (Adam's is bias-corrected at every step).
    momentum : float
        SGD's momentum, in [0, 1].
    nesterov : bool
        Whether SGD's momentum is Nesterov's.
    beta_1, beta_2 : float
        Adam's decay rates of the moments, in [0, 1).
    rho : float
        RMSprop's decay rate of the mean square, in [0, 1).
    epsilon : float
        Adam's and RMSprop's guard of the denominator, positive.
    alpha : float
        L2 penalty, as scikit-learn's ``alpha``.
    weight_decay : float
        Decoupled weight decay: ``w <- w * (1 - learning_rate * weight_decay)``.
    max_grad_norm : float or None
        Scale each step's gradient down to this norm where it is longer; None: no
        clipping.
    """
    cdef readonly str solver
    cdef readonly double learning_rate, momentum, beta_1, beta_2, rho, epsilon
    cdef readonly double alpha, weight_decay
    cdef readonly bint nesterov
    cdef Step step

    def __init__(self, str solver="adam", *, double learning_rate=0.001,
                 double momentum=0.9, bint nesterov=True, double beta_1=0.9,
                 double beta_2=0.999, double rho=0.9, double epsilon=1e-8,
                 double alpha=0.0001, double weight_decay=0.0, max_grad_norm=None):
        cdef double clip_norm = 0.0 if max_grad_norm is None else max_grad_norm
        self.step.solver = _code(SOLVERS, "solver", solver)
        for name, value, low, high, closed in [
                ("learning_rate", learning_rate, 0.0, np.inf, True),
                ("momentum", momentum, 0.0, 1.0, True),
                ("beta_1", beta_1, 0.0, 1.0, False),
                ("beta_2", beta_2, 0.0, 1.0, False),
                ("rho", rho, 0.0, 1.0, False),
                ("alpha", alpha, 0.0, np.inf, True),
                ("weight_decay", weight_decay, 0.0, np.inf, True)]:
            if not (low <= value and (value <= high if closed else value < high)
                    and isfinite(value)):
                raise ValueError(f"{name}={value!r} is out of range")
        if not (epsilon > 0 and isfinite(epsilon)):
            raise ValueError(f"epsilon={epsilon!r} must be positive")
        if max_grad_norm is not None and not (clip_norm > 0 and isfinite(clip_norm)):
            raise ValueError(f"max_grad_norm={max_grad_norm!r} must be positive")
        self.solver = solver
        self.learning_rate = self.step.learning_rate = learning_rate
        self.momentum = self.step.momentum = momentum
        self.nesterov = self.step.nesterov = nesterov
        self.beta_1 = self.step.beta_1 = beta_1
        self.beta_2 = self.step.beta_2 = beta_2
        self.rho = self.step.rho = rho
        self.epsilon = self.step.epsilon = epsilon
        self.alpha = self.step.alpha = alpha
        self.weight_decay = self.step.weight_decay = weight_decay
        self.step.clip = max_grad_norm is not None
        self.step.max_grad_norm = clip_norm

    @property
    def max_grad_norm(self):
        """The clipping norm, or None."""
        return self.step.max_grad_norm if self.step.clip else None

    def __repr__(self):
        return (f"Hyperparameters({self.solver!r}, learning_rate={self.learning_rate!r}"
                f", momentum={self.momentum!r}, nesterov={self.nesterov!r}, "
                f"beta_1={self.beta_1!r}, beta_2={self.beta_2!r}, rho={self.rho!r}, "
                f"epsilon={self.epsilon!r}, alpha={self.alpha!r}, "
                f"weight_decay={self.weight_decay!r}, "
                f"max_grad_norm={self.max_grad_norm!r})")


cdef unsigned long MAIN_THREAD = threading.main_thread().ident


cdef inline Watch watch() noexcept:
    """Signal polling for a call: active where Python runs signal handlers."""
    return watch_signals(PyThread_get_thread_ident() == MAIN_THREAD)


cdef inline Rows input_rows(const Py_ssize_t[::1] indices,
                            const Py_ssize_t[::1] indptr) noexcept:
    """Dense rows (``indptr`` empty) or the rows of a CSR matrix; ``n`` and
    ``sample`` are set per block."""
    cdef Rows rows
    rows.layout = CSR if indptr.shape[0] > 0 else DENSE
    rows.indptr = &indptr[0] if rows.layout == CSR else NULL
    rows.indices = &indices[0] if indices.shape[0] > 0 else NULL
    rows.n = 0
    rows.sample = NULL
    return rows


cdef inline const floating* ptr_or_null(const floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    """Whether no value of ``x[:n]`` is inf or NaN (``x - x`` is 0 exactly for the
    finite ones); one branch-free pass that the compiler vectorises."""
    cdef Py_ssize_t i
    cdef int bad = 0
    for i in range(n):
        bad |= (x[i] - x[i]) != 0
    return not bad


cdef floating[::1] workspace(Py_ssize_t size, const floating[::1] like):
    """Scratch memory of ``like``'s dtype, freed with the call however it ends."""
    return np.empty(max(size, 1), dtype=np.float32 if floating is float else np.float64)


# --- the mini-batch loop --------------------------------------------------------------

EpochResult = namedtuple("EpochResult", "loss_sum step n_steps n_rows interrupted")


def train_epoch(Network network, Hyperparameters hyper, floating[::1] params,
                floating[::1] state_1, floating[::1] state_2,
                const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                const Py_ssize_t[::1] X_indptr, const floating[::1] Y,
                const floating[::1] sample_weight, const Py_ssize_t[::1] order, *,
                Py_ssize_t batch_size, bint shuffled, long step, uint64 seed,
                double[::1] grad_norms):
    """Run one epoch of mini-batch training in place on ``params``.

    Parameters
    ----------
    network : Network
        With the training loss and dropout rates.
    hyper : Hyperparameters
    params, state_1, state_2 : flat parameter buffer and optimizer states of the same
        length (SGD: velocity and unused, Adam: moments, RMSprop: mean square).
    X_data, X_indices, X_indptr : dense rows flattened (indices and indptr empty), or
        the three arrays of a CSR matrix with ``np.intp`` indices.
    Y : flat (n_samples * n_outputs) targets. sample_weight : (n_samples,) or empty.
    order : the rows in the order to visit them; consecutive ``batch_size`` slices
        are the mini-batches.
    batch_size : int
    shuffled : bool
        Whether ``order`` is a permutation (dense rows are then gathered into a
        contiguous block); if False it must be ``arange(n_samples)``.
    step : int
        The optimizer's step count before this epoch (Adam's bias correction).
    seed : int
        Seed of the dropout masks.
    grad_norms : (L,) output: per weight layer, the sum over the epoch's steps of the
        norm of its gradient (L2 term included, before clipping).

    Returns
    -------
    EpochResult
        ``(loss_sum, step, n_steps, n_rows, interrupted)``: the sum over the
        mini-batches done of (batch loss x batch rows), as scikit-learn accumulates
        it; the step count after them; the number of steps taken; the rows of
        ``order`` visited (``order[:n_rows]``, mini-batches of zero weight included,
        which take no step); whether Ctrl-C stopped the epoch.

    Ctrl-C: the epoch stops at the next mini-batch boundary (within about 25 ms
    plus a mini-batch, in the main thread) and returns with ``interrupted`` True
    and the KeyboardInterrupt consumed: the parameters, the optimizer states and
    ``grad_norms`` are exactly those after the last mini-batch done, so training
    can resume from ``order[n_rows:]`` with the returned step. Any other exception
    raised by a signal handler propagates: parameters and states are then those
    after a whole mini-batch too, but the epoch's step count and loss are lost.
    """
    cdef Py_ssize_t n = order.shape[0], cap = min(batch_size, n)
    cdef Py_ssize_t L = network.n_layers, n_coefs = network.n_coefs
    cdef Py_ssize_t n_params = params.shape[0], layer, size, pos = 0
    cdef Py_ssize_t n_steps = 0
    cdef Py_ssize_t[::1] offsets = np.empty(network.offset_count(), dtype=np.intp)
    cdef Rows rows = input_rows(X_indices, X_indptr)
    cdef Net net = network.c_net(&offsets[0], TRAIN, cap,
                                 shuffled and rows.layout == DENSE)
    cdef floating[::1] work_array = workspace(net.work_size + n_params, params)
    cdef floating* work = &work_array[0]
    cdef floating* G = work + net.work_size
    cdef floating* P = &params[0]
    cdef floating* S1 = &state_1[0]
    cdef floating* S2 = &state_2[0]
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* sw = ptr_or_null(sample_weight)
    cdef const floating* xb
    cdef Step h = hyper.step, h_icpt
    cdef uint64 rng = seed
    cdef Watch w = watch()
    cdef bint stop = False
    cdef floating l2, clip
    cdef double loss_sum = 0.0, batch_loss, w_sum, sq_w, sq_g
    net.rng = &rng
    with nogil:
        for layer in range(L):
            grad_norms[layer] = 0.0
        while pos < n:
            if interrupted(&w):
                stop = True
                break
            rows.n = min(cap, n - pos)
            rows.sample = &order[pos]
            xb = batch_input(&net, &rows, X, work, pos)
            pos += rows.n
            w_sum = batch_weight(&rows, sw)
            if w_sum <= 0:
                continue  # all weights zero: no gradient to follow
            forward(&net, P, &rows, xb, work, output(&net, work))
            batch_loss = block_loss(&net, &rows, work, &Y[0], sw,
                                    <floating> (1.0 / w_sum))
            backward(&net, P, &rows, xb, work, G, False)

            l2 = <floating> (h.alpha / w_sum)
            clip = clip_factor(&h, P, G, n_coefs, n_params, l2)
            step += 1
            begin_step(&h, step)
            sq_w = 0.0
            for layer in range(L):
                size = net.units[layer] * net.units[layer + 1]
                sq_g = 0.0
                update(&h, P + net.coef_off[layer], G + net.coef_off[layer],
                       S1 + net.coef_off[layer], S2 + net.coef_off[layer], size, l2,
                       clip, &sq_w, &sq_g)
                grad_norms[layer] += sqrt(sq_g)
            # intercepts: no L2 penalty and no weight decay
            h_icpt = h
            h_icpt.decay = 0.0
            update(&h_icpt, P + n_coefs, G + n_coefs, S1 + n_coefs, S2 + n_coefs,
                   n_params - n_coefs, <floating> 0.0, clip, &sq_g, &sq_g)
            loss_sum += (batch_loss + 0.5 * h.alpha * sq_w) / w_sum * rows.n
            n_steps += 1
    return EpochResult(loss_sum, step, n_steps, pos, stop)


cdef inline const floating* batch_input(const Net* net, const Rows* rows,
                                        const floating* X, floating* work,
                                        Py_ssize_t first) noexcept nogil:
    """The input values of a mini-batch (see ``Rows``): for dense rows, gathered into
    the workspace where the plan has room for them (shuffled rows), else the
    consecutive rows from ``first``."""
    cdef Py_ssize_t i, j, n_in = net.units[0]
    cdef const floating* xs
    cdef floating* xd
    cdef floating* gathered
    if rows.layout == CSR:
        return X
    if not has(net, 0, BUF_A):
        return X + first * n_in
    gathered = buffer(net, work, 0, BUF_A)
    # a plain loop, not memcpy: rows of tabular data are short and a library call
    # per row costs more than the copy
    for i in range(rows.n):
        xs = X + rows.sample[i] * n_in
        xd = gathered + i * n_in
        for j in range(n_in):
            xd[j] = xs[j]
    return gathered


cdef inline double batch_weight(const Rows* rows, const floating* sw) noexcept nogil:
    """The sum of the block's sample weights (``sw`` NULL: all 1)."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    if sw == NULL:
        return rows.n
    for i in range(rows.n):
        total += sw[rows.sample[i]]
    return total


# --- passes over all rows in chunks ---------------------------------------------------

cdef struct Chunks:
    # Walks all rows in chunks of at most `cap`. The current chunk is rows
    # [start, start + rows.n), indexed from 0 (`sample` is 0, 1, ...): its targets
    # and weights start at row `start`, and so does a CSR `rows.indptr`.
    Rows rows
    Py_ssize_t start
    Py_ssize_t n_samples, cap
    const Py_ssize_t* indptr     # CSR: of the whole matrix
    Watch watch


cdef Chunks chunks(Rows rows, Py_ssize_t n_samples, Py_ssize_t cap,
                   const Py_ssize_t[::1] index):
    """Chunks of ``rows``; ``index``, ``arange(cap)``, must live as long as they."""
    cdef Chunks c
    c.rows = rows
    c.rows.sample = &index[0]
    c.rows.n = 0
    c.start = 0
    c.n_samples = n_samples
    c.cap = cap
    c.indptr = rows.indptr
    c.watch = watch()
    return c


cdef inline int next_chunk(Chunks* c) except -1 nogil:
    """Move to the next chunk; 0 once all rows are done. Between chunks, pending
    signals are handled: Ctrl-C raises KeyboardInterrupt."""
    c.start += c.rows.n
    if c.start >= c.n_samples:
        return 0
    check_signals(&c.watch)
    c.rows.n = min(c.cap, c.n_samples - c.start)
    if c.rows.layout == CSR:
        c.rows.indptr = c.indptr + c.start
    return 1


cdef inline const floating* chunk_input(const Chunks* c, const floating* X,
                                        Py_ssize_t n_in) noexcept nogil:
    """The input values of the current chunk (see ``Rows``)."""
    return X + c.start * n_in if c.rows.layout == DENSE else X


def loss_grad(Network network, const floating[::1] params, floating[::1] grad,
              const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
              const Py_ssize_t[::1] X_indptr, const floating[::1] Y,
              const floating[::1] sample_weight, double alpha, Py_ssize_t chunk=512):
    """Loss over all rows and, unless ``grad`` is empty, its gradient (written to
    ``grad``), computed in chunks without dropout.

    ``loss = sum_i s_i loss_i / S + 0.5 alpha ||coefs||^2 / S`` with ``S = sum_i s_i``;
    the arrays are as in ``train_epoch``. Ctrl-C raises KeyboardInterrupt between
    chunks; ``grad`` is then incomplete.
    """
    cdef Py_ssize_t k = network.n_outputs, n = Y.shape[0] // k, i
    cdef Py_ssize_t cap = max(1, min(chunk, n)), n_coefs = network.n_coefs
    cdef Py_ssize_t n_in = network.units[0]
    cdef bint with_grad = grad.shape[0] > 0
    cdef Py_ssize_t[::1] offsets = np.empty(network.offset_count(), dtype=np.intp)
    cdef Py_ssize_t[::1] index = np.arange(cap, dtype=np.intp)
    cdef Net net = network.c_net(&offsets[0], GRADIENT if with_grad else LOSS, cap)
    cdef floating[::1] work_array = workspace(net.work_size, params)
    cdef floating* work = &work_array[0]
    cdef Chunks c = chunks(input_rows(X_indices, X_indptr), n, cap, index)
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* sw = ptr_or_null(sample_weight)
    cdef const floating* P = &params[0]
    cdef floating* G = &grad[0] if with_grad else NULL
    cdef const floating* xb
    cdef double loss = 0.0, w_sum = 0.0, sq = 0.0
    cdef floating l2
    with nogil:
        if sw != NULL:
            for i in range(n):
                w_sum += sw[i]
        else:
            w_sum = n
        while next_chunk(&c):
            xb = chunk_input(&c, X, n_in)
            forward(&net, P, &c.rows, xb, work, output(&net, work))
            loss += block_loss(&net, &c.rows, work, &Y[c.start * k],
                               sw + c.start if sw != NULL else NULL,
                               <floating> (1.0 / w_sum))
            if with_grad:
                backward(&net, P, &c.rows, xb, work, G, c.start > 0)
        l2 = <floating> (alpha / w_sum)
        for i in range(n_coefs):
            sq += P[i] * P[i]
            if with_grad:
                G[i] += l2 * P[i]
    return (loss + 0.5 * alpha * sq) / w_sum


def forward_rows(Network network, const floating[::1] params,
                 const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                 const Py_ssize_t[::1] X_indptr, floating[:, ::1] out,
                 n_run=None, Py_ssize_t chunk=2048):
    """Outputs of weight layer ``n_run`` (None: all layers, the raw outputs before
    the link; fewer: that hidden layer's activations) for every row, into ``out``;
    returns whether they are all finite. Ctrl-C raises KeyboardInterrupt between
    chunks; ``out`` is then incomplete."""
    cdef Py_ssize_t layers = network.n_layers if n_run is None else n_run
    cdef Py_ssize_t n = out.shape[0], cap = max(1, min(chunk, n))
    cdef bint finite
    if not 1 <= layers <= network.n_layers:
        raise ValueError(f"n_run must be in [1, {network.n_layers}], got {n_run}")
    if n == 0:
        return True
    cdef Py_ssize_t[::1] offsets = np.empty(network.offset_count(), dtype=np.intp)
    cdef Py_ssize_t[::1] index = np.arange(cap, dtype=np.intp)
    cdef Net net = network.c_net(&offsets[0], PREDICT, cap, False, layers)
    cdef floating[::1] work_array = workspace(net.work_size, params)
    cdef floating* work = &work_array[0]
    cdef Chunks c = chunks(input_rows(X_indices, X_indptr), n, cap, index)
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* P = &params[0]
    cdef Py_ssize_t n_in = net.units[0]
    with nogil:
        while next_chunk(&c):
            forward(&net, P, &c.rows, chunk_input(&c, X, n_in), work,
                    &out[c.start, 0])
        finite = all_finite(&out[0, 0], n * out.shape[1])
    return finite


def input_grad(Network network, const floating[::1] params,
               const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
               const Py_ssize_t[::1] X_indptr, const floating[::1] Y,
               floating[:, ::1] out, Py_ssize_t chunk=512):
    """Gradient of each row's own loss (unweighted, no penalty) with respect to its
    input row, into ``out`` (n x n_features, dense). Ctrl-C raises
    KeyboardInterrupt between chunks; ``out`` is then incomplete."""
    cdef Py_ssize_t n = out.shape[0], cap = max(1, min(chunk, n)), i
    if n == 0:
        return
    cdef Py_ssize_t[::1] offsets = np.empty(network.offset_count(), dtype=np.intp)
    cdef Py_ssize_t[::1] index = np.arange(cap, dtype=np.intp)
    cdef Net net = network.c_net(&offsets[0], INPUT_GRADIENT, cap)
    # the parameters' gradient is computed on the way, into scratch, and dropped
    cdef floating[::1] work_array = workspace(net.work_size + network.n_params,
                                              params)
    cdef floating* work = &work_array[0]
    cdef floating* scratch = work + net.work_size
    cdef Chunks c = chunks(input_rows(X_indices, X_indptr), n, cap, index)
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* P = &params[0]
    cdef const floating* xb
    cdef const floating* d
    cdef floating* o
    cdef Py_ssize_t n_in = net.units[0], k = net.units[net.n_layers]
    with nogil:
        while next_chunk(&c):
            xb = chunk_input(&c, X, n_in)
            forward(&net, P, &c.rows, xb, work, output(&net, work))
            block_loss(&net, &c.rows, work, &Y[c.start * k], <floating*> NULL,
                       <floating> 1.0)
            backward(&net, P, &c.rows, xb, work, scratch, False)
            d = buffer(&net, work, 0, BUF_D)
            o = &out[c.start, 0]
            for i in range(c.rows.n * n_in):
                o[i] = d[i]


def apply_output_link(Network network, floating[:, ::1] z, bint log=False):
    """In place: raw outputs -> predictions (or log-probabilities if ``log``)."""
    if z.shape[0] == 0:
        return
    cdef Output out = network.out
    with nogil:
        apply_link(out, &z[0, 0], z.shape[0], z.shape[1], log)


# --- small batches, plan and workspace kept ready ---------------------------------

include "_predictor.pxi"


def lbfgs_direction(const double[::1] g, const double[:, ::1] S, const double[:, ::1] Y,
                    const double[::1] rho, double[::1] alpha, int head, int col,
                    double gamma, double[::1] d):
    """``d <- -H g`` for the L-BFGS inverse Hessian H of the ``col`` pairs stored
    from row ``head`` of ``S`` and ``Y`` (a ring of ``m = len(S)`` rows) and the
    initial scale ``gamma`` (csrc/_lbfgs.pxd). ``alpha`` (m) is scratch. Returns
    ``d'd``."""
    cdef double dtd
    with nogil:
        dtd = two_loop(&g[0], &S[0, 0], &Y[0, 0], &rho[0], &alpha[0], g.shape[0],
                       S.shape[0], head, col, gamma, &d[0])
    return dtd
