# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled entry points of fcnn_sk.

Python hands over checked, C-contiguous arrays of one float dtype; these functions turn
them into raw pointers, release the GIL and run the work:

- ``train_epoch``: every mini-batch of one epoch (gather, forward, loss, backward,
  update) with no Python and no allocation per batch;
- ``loss_grad``: loss (and gradient) over all rows in fixed-size chunks, for L-BFGS and
  validation losses, in O(chunk x width) memory;
- ``forward_rows``: the forward pass in chunks (predictions, hidden features);
- ``input_grad``: per-sample gradients of the loss with respect to the inputs;
- ``apply_output_link``: raw outputs to predictions or log-probabilities;
- ``lbfgs_direction``: the L-BFGS search direction (fcnn_sk/_lbfgs.py drives it);
- ``cpu_has_avx2_fma``: whether the AVX2 build of this module (_kernels_avx2.pyx,
  the same source) can run here.

The math lives in the headers beside this file: activations, losses (with their
gradients), optimizers, BLAS, the random generator and the layer stack. The public
names of activations, losses and solvers are mapped to their kernel codes here, once.
"""

from cython cimport floating
from libc.math cimport sqrt
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawFree

from _activations cimport (IDENTITY, LOGISTIC, TANH, RELU, LEAKY_RELU, ELU, GELU,
                           SOFTPLUS, SWISH, needs_z)
from _losses cimport (OUT_SQUARED, OUT_BINARY_LOG, OUT_LOG, OUT_POISSON, OUT_ABSOLUTE,
                      OUT_HUBER, apply_link)
from _optimizers cimport Step, SGD, ADAM, RMSPROP, update, penalised_sq_norm
from _random cimport uint64
from _fmath cimport exp_inplace
from _lbfgs cimport two_loop
from _blas cimport (fcnn_split_mode, fcnn_split_openblas, fcnn_blas_set,
                    fcnn_blas_open, fcnn_blas_fn, split_rows, copies_b)
from scipy.linalg.cython_blas cimport sgemm, dgemm
from _network cimport (Net, CSR, BUF_A, BUF_Z, BUF_M, BUF_H, BUF_D, N_BUF, buffer,
                       forward, block_loss_grad)

import numpy as np

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    static int fcnn_cpu_has_avx2_fma(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    #else
    static int fcnn_cpu_has_avx2_fma(void) { return 0; }
    #endif
    """
    int fcnn_cpu_has_avx2_fma() noexcept nogil


def cpu_has_avx2_fma():
    """Whether this CPU (and its operating system) supports AVX2 and FMA."""
    return bool(fcnn_cpu_has_avx2_fma())

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


GEMM_SPLIT_MODES = {"auto": -1, "never": 0, "always": 2}


def set_gemm_split(str mode):
    """How matrix products are split into row blocks (csrc/_blas.pxd): ``"auto"``
    (where it is faster with this BLAS), ``"never"`` or ``"always"`` (wherever a
    block can be formed; for tests of that path). Returns the previous setting."""
    global fcnn_split_mode
    previous = {-1: "auto", 0: "never", 2: "always"}[fcnn_split_mode]
    fcnn_split_mode = GEMM_SPLIT_MODES[mode]
    return previous


def exp_array(floating[::1] x):
    """``x <- exp(x)`` in place, with the vectorised exp of the kernels
    (``exp_inplace`` in csrc/_fmath.pxd); exposed for its tests."""
    if x.shape[0] > 0:
        exp_inplace(&x[0], x.shape[0])


def gemm_block_rows(bint trans_b, bint single, int m, int n, int k):
    """Rows per block in which a row-major product ``op(A)[m, k] @ op(B)[k, n]`` is
    issued now (``m``: whole), given the setting and scipy's BLAS threads; ``single``:
    float32. For the tests of the rule in csrc/_blas.pxd."""
    return split_rows(trans_b, single, m, n, k)


def gemm_copies_b(bint single, int m, int n, int k):
    """Whether a row-major product ``A[m, k] @ B.T[k, n]`` first copies ``B.T`` into
    a plain array now (csrc/_blas.pxd); for its tests."""
    return copies_b(single, m, n, k)


def gemm_split_blas():
    """Whether the BLAS in use is one that ``"auto"`` splits products for (OpenBLAS
    with "SkylakeX"-class kernels); it then does so while it runs one thread."""
    return bool(fcnn_split_openblas(fcnn_blas_fn()))


def use_blas(str path):
    """Compute matrix products with the sgemm and dgemm of the OpenBLAS library at
    ``path`` (a build with scipy's symbol names, such as scipy-openblas32's), or with
    scipy's BLAS where ``path`` is empty (csrc/_blas.pxd). Returns whether it worked;
    if not, nothing changed."""
    if not path:
        fcnn_blas_set(<void*> sgemm, <void*> dgemm)
        return True
    cdef bytes encoded = path.encode()
    return bool(fcnn_blas_open(encoded))


fcnn_blas_set(<void*> sgemm, <void*> dgemm)  # scipy's until use_blas says otherwise


cdef class Network:
    """Shape of a network: layer widths, activations, loss and dropout rates.

    Parameters
    ----------
    units : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
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
    cdef int[::1] act
    cdef double[::1] dropout
    cdef int out
    cdef double slope, huber_delta
    cdef readonly Py_ssize_t n_params, n_coefs, n_outputs, n_layers

    def __init__(self, units, activations, loss, dropout=None, negative_slope=0.01,
                 huber_delta=1.0):
        cdef Py_ssize_t l, L = len(units) - 1, offset = 0
        if L < 1 or len(activations) != L - 1:
            raise ValueError("need one activation per hidden layer")
        self.units = np.asarray(units, dtype=np.intp).copy()
        self.act = np.asarray([ACTIVATIONS[a] for a in activations] or [0],
                              dtype=np.intc)
        self.out = LOSSES[loss][0]
        self.dropout = np.zeros(L) if dropout is None else np.asarray(
            dropout, dtype=np.float64).copy()
        if self.dropout.shape[0] != L:
            raise ValueError("need one dropout rate per layer input")
        self.slope = negative_slope
        self.huber_delta = huber_delta
        self.n_layers = L
        self.coef_off = np.empty(L, dtype=np.intp)
        self.icpt_off = np.empty(L, dtype=np.intp)
        for l in range(L):
            self.coef_off[l] = offset
            offset += self.units[l] * self.units[l + 1]
        self.n_coefs = offset
        for l in range(L):
            self.icpt_off[l] = offset
            offset += self.units[l + 1]
        self.n_params = offset
        self.n_outputs = self.units[L]

    def width(self, Py_ssize_t layer):
        """Number of units of layer ``layer`` (0: the input)."""
        return self.units[layer]

    def plan(self, Py_ssize_t cap, bint backward, bint dropout=False,
             bint gather=False, bint input_grad=False, Py_ssize_t n_run=-1):
        """Workspace offsets ((L + 1) * N_BUF, -1 where absent) and total size for
        blocks of ``cap`` rows: only the buffers this kind of call uses (what the
        backward pass reads, dropout masks, gathered input rows, input deltas)."""
        cdef Py_ssize_t L = self.n_layers, l, size = 0
        cdef Py_ssize_t[::1] off = np.full((L + 1) * N_BUF, -1, dtype=np.intp)
        if n_run < 0:
            n_run = L

        def add(Py_ssize_t layer, int kind):
            nonlocal size
            off[layer * N_BUF + kind] = size
            size += cap * self.units[layer]

        if gather:
            add(0, BUF_A)
        if dropout and self.dropout[0] > 0:
            add(0, BUF_M)
            add(0, BUF_H)
        if input_grad:
            add(0, BUF_D)
        for l in range(1, n_run + 1):
            if l < n_run or backward:  # the last layer may go straight to `out`
                add(l, BUF_A)
            if l == L:
                break
            if backward and needs_z(self.act[l - 1]):
                add(l, BUF_Z)
            if dropout and self.dropout[l] > 0:
                add(l, BUF_M)
                add(l, BUF_H)
            if backward:
                add(l, BUF_D)
        return np.asarray(off), size

    cdef Net c(self, const Py_ssize_t[::1] plan):
        cdef Net net
        net.n_layers = self.n_layers
        net.units = &self.units[0]
        net.coef_off = &self.coef_off[0]
        net.icpt_off = &self.icpt_off[0]
        net.act = &self.act[0]
        net.dropout = &self.dropout[0]
        net.out = self.out
        net.slope = self.slope
        net.huber_delta = self.huber_delta
        net.buf = &plan[0]
        return net


cdef inline const floating* ptr_or_null(const floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline CSR csr(const Py_ssize_t[::1] indices, const Py_ssize_t[::1] indptr) noexcept:
    cdef CSR sp
    sp.indices = &indices[0] if indices.shape[0] > 0 else NULL
    sp.indptr = &indptr[0] if indptr.shape[0] > 0 else NULL
    return sp


cdef inline CSR csr_from(CSR sp, Py_ssize_t start) noexcept nogil:
    """The CSR rows from ``start`` on: row ``i`` of the result is row ``start + i``.
    Chunked passes index their rows from 0 this way, with an index array the size
    of a chunk rather than of the data."""
    if sp.indptr != NULL:
        sp.indptr = sp.indptr + start
    return sp


cdef floating* alloc(Py_ssize_t n, floating dtype_tag) except NULL:
    """A workspace of ``n`` floats, to be released with ``PyMem_RawFree``. Python's
    raw allocator is malloc, but tracemalloc sees it, so the tests measure the
    kernels' memory along with numpy's."""
    cdef floating* p = <floating*> PyMem_RawMalloc(max(n, 1) * sizeof(floating))
    if p == NULL:
        raise MemoryError()
    return p


def train_epoch(Network network, floating[::1] params, floating[::1] state_1,
                floating[::1] state_2, const floating[::1] X_data,
                const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                const floating[::1] Y, const floating[::1] sample_weight,
                const Py_ssize_t[::1] order, bint gather, Py_ssize_t batch_size,
                dict hyper, double[::1] grad_norms):
    """Run one epoch of mini-batch training in place on ``params``.

    Parameters
    ----------
    network : Network
    params, state_1, state_2 : flat parameter buffer and optimizer states of the same
        length (SGD: velocity and unused, Adam: moments, RMSprop: mean square).
    X_data, X_indices, X_indptr : dense rows flattened (indices and indptr empty), or
        the three arrays of a CSR matrix with ``np.intp`` indices.
    Y : flat (n_samples * n_outputs) targets. sample_weight : (n_samples,) or empty.
    order : the rows in the order to visit them; consecutive ``batch_size`` slices
        are the mini-batches.
    gather : whether ``order`` is a permutation (dense rows are then copied into a
        contiguous block); if False it must be ``arange(n_samples)``.
    hyper : dict with ``solver`` (a SOLVERS code), ``learning_rate``, ``momentum``,
        ``nesterov``, ``beta_1``, ``beta_2``, ``rho``, ``epsilon``, ``alpha``,
        ``weight_decay``, ``max_grad_norm`` (0: off), ``step`` (Adam's step count
        before this epoch) and ``seed`` (dropout masks).
    grad_norms : (L,) output: per weight layer, the sum over the epoch's steps of the
        norm of its gradient (L2 term included, before clipping).

    Returns
    -------
    loss_sum : float
        Sum over batches of (batch loss x batch rows), as scikit-learn accumulates it.
    step : int
        Adam's step count after the epoch.
    n_steps : int
    """
    cdef Py_ssize_t size
    plan, size = network.plan(min(batch_size, order.shape[0]), True, dropout=True,
                              gather=gather and X_indptr.shape[0] == 0)
    cdef Net net = network.c(plan)
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t n = order.shape[0], L = net.n_layers, n_in = net.units[0]
    cdef Py_ssize_t cap = min(batch_size, n), start, nb, i, l, n_steps = 0
    cdef Py_ssize_t n_params = params.shape[0], n_coefs = network.n_coefs, size_l
    cdef Step h, h_icpt
    cdef double alpha = hyper["alpha"], lr = hyper["learning_rate"]
    cdef double max_norm = hyper["max_grad_norm"], wd = hyper["weight_decay"]
    cdef double beta_1 = hyper["beta_1"], beta_2 = hyper["beta_2"]
    cdef long step = hyper["step"]
    cdef uint64 rng = <uint64> hyper["seed"]
    cdef floating* P = &params[0]
    cdef floating* S1 = &state_1[0]
    cdef floating* S2 = &state_2[0]
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* sw = ptr_or_null(sample_weight)
    cdef const Py_ssize_t* rows
    cdef const floating* xb
    cdef floating* xg
    cdef const floating* xs
    cdef floating* xd
    cdef Py_ssize_t j
    cdef floating l2, clip
    cdef double loss_sum = 0.0, batch_loss, w_sum, sq_w, sq_g
    cdef floating* work = alloc(size + n_params, <floating> 0)
    cdef floating* G = work + size
    h.solver = hyper["solver"]
    h.momentum = hyper["momentum"]
    h.nesterov = hyper["nesterov"]
    h.beta_1 = beta_1
    h.beta_2 = beta_2
    h.rho = hyper["rho"]
    h.epsilon = hyper["epsilon"]
    h.decay = lr * wd
    h.lr = lr
    with nogil:
        for l in range(L):
            grad_norms[l] = 0.0
        start = 0
        while start < n:
            nb = min(cap, n - start)
            rows = &order[start]
            start += nb
            w_sum = nb
            if sw != NULL:
                w_sum = 0.0
                for i in range(nb):
                    w_sum += sw[rows[i]]
                if w_sum <= 0:
                    continue  # all weights zero: no gradient to follow
            xb = NULL
            if not sparse:
                if gather:
                    xg = buffer(&net, work, 0, BUF_A)
                    # a plain loop, not memcpy: rows of tabular data are short
                    # and a library call per row costs more than the copy
                    for i in range(nb):
                        xs = X + rows[i] * n_in
                        xd = xg + i * n_in
                        for j in range(n_in):
                            xd[j] = xs[j]
                    xb = xg
                else:
                    xb = X + (start - nb) * n_in
            batch_loss = block_loss_grad(&net, P, xb, X, &sp, rows, nb, work, NULL,
                                         &Y[0], sw, <floating> (1.0 / w_sum), G,
                                         False, NULL, &rng)

            l2 = <floating> (alpha / w_sum)
            clip = 1
            if max_norm > 0:
                sq_g = penalised_sq_norm(P, G, n_coefs, l2) + penalised_sq_norm(
                    P + n_coefs, G + n_coefs, n_params - n_coefs, <floating> 0.0)
                if sqrt(sq_g) + 1e-6 > max_norm:
                    clip = <floating> (max_norm / (sqrt(sq_g) + 1e-6))
            if h.solver == ADAM:
                step += 1
                h.lr = lr * (1 - beta_2 ** step) ** 0.5 / (1 - beta_1 ** step)
            sq_w = 0.0
            for l in range(L):
                size_l = net.units[l] * net.units[l + 1]
                sq_g = 0.0
                update(&h, P + net.coef_off[l], G + net.coef_off[l],
                       S1 + net.coef_off[l], S2 + net.coef_off[l], size_l, l2, clip,
                       &sq_w, &sq_g)
                grad_norms[l] += sqrt(sq_g)
            # intercepts: no L2 penalty and no weight decay
            h_icpt = h
            h_icpt.decay = 0.0
            update(&h_icpt, P + n_coefs, G + n_coefs, S1 + n_coefs, S2 + n_coefs,
                   n_params - n_coefs, <floating> 0.0, clip, &sq_g, &sq_g)
            loss_sum += (batch_loss + 0.5 * alpha * sq_w) / w_sum * nb
            n_steps += 1
    PyMem_RawFree(work)
    return loss_sum, step, n_steps


def loss_grad(Network network, const floating[::1] params, floating[::1] grad,
              const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
              const Py_ssize_t[::1] X_indptr, const floating[::1] Y,
              const floating[::1] sample_weight, double alpha, Py_ssize_t chunk=512):
    """Loss over all rows and, unless ``grad`` is empty, its gradient (written to
    ``grad``), computed in chunks without dropout.

    ``loss = sum_i s_i loss_i / S + 0.5 alpha ||coefs||^2 / S`` with ``S = sum_i s_i``;
    the arrays are as in ``train_epoch``.
    """
    cdef bint with_grad = grad.shape[0] > 0
    cdef Py_ssize_t k = network.n_outputs, n = Y.shape[0] // k
    cdef Py_ssize_t cap = max(1, min(chunk, n)), start, nb, i, size
    plan, size = network.plan(cap, with_grad)  # no dropout: deterministic
    cdef Net net = network.c(plan)
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t n_in = net.units[0], n_coefs = network.n_coefs
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* sw = ptr_or_null(sample_weight)
    cdef const floating* P = &params[0]
    cdef floating* G = &grad[0] if with_grad else NULL
    cdef const floating* xb
    cdef double loss = 0.0, w_sum = 0.0, sq = 0.0
    cdef floating l2
    cdef Py_ssize_t[::1] rows_arr = np.arange(cap, dtype=np.intp)
    cdef const Py_ssize_t* rows = &rows_arr[0]
    cdef CSR sp_chunk
    cdef floating* work = alloc(size + cap * k, <floating> 0)
    cdef floating* out = work + size
    with nogil:
        if sw != NULL:
            for i in range(n):
                w_sum += sw[i]
        else:
            w_sum = n
        start = 0
        while start < n:
            nb = min(cap, n - start)
            xb = NULL if sparse else X + start * n_in
            sp_chunk = csr_from(sp, start)
            loss += block_loss_grad(&net, P, xb, X, &sp_chunk, rows, nb, work, out,
                                    &Y[start * k], sw + start if sw != NULL else NULL,
                                    <floating> (1.0 / w_sum), G, start > 0, NULL, NULL)
            start += nb
        l2 = <floating> (alpha / w_sum)
        for i in range(n_coefs):
            sq += P[i] * P[i]
            if with_grad:
                G[i] += l2 * P[i]
    PyMem_RawFree(work)
    return (loss + 0.5 * alpha * sq) / w_sum


def forward_rows(Network network, const floating[::1] params,
                 const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                 const Py_ssize_t[::1] X_indptr, floating[:, ::1] out,
                 Py_ssize_t n_run=-1, Py_ssize_t chunk=2048):
    """Outputs of weight layer ``n_run`` (default all: the raw outputs before the
    link; fewer: that hidden layer's activations) for every row, into ``out``."""
    cdef Py_ssize_t n = out.shape[0], cap = max(1, min(chunk, n)), start, nb, size
    if n_run < 0:
        n_run = network.n_layers
    plan, size = network.plan(cap, False, n_run=n_run)
    cdef Net net = network.c(plan)
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t n_in = net.units[0], m = n_run
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* P = &params[0]
    cdef Py_ssize_t[::1] rows_arr = np.arange(cap, dtype=np.intp)
    cdef const Py_ssize_t* rows = &rows_arr[0]
    cdef CSR sp_chunk
    cdef floating* work
    if n == 0:
        return
    work = alloc(size, <floating> 0)
    with nogil:
        start = 0
        while start < n:
            nb = min(cap, n - start)
            sp_chunk = csr_from(sp, start)
            forward(&net, P, NULL if sparse else X + start * n_in, X, &sp_chunk, rows,
                    nb, work, &out[start, 0], m, NULL)
            start += nb
    PyMem_RawFree(work)


def input_grad(Network network, const floating[::1] params,
               const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
               const Py_ssize_t[::1] X_indptr, const floating[::1] Y,
               floating[:, ::1] out, Py_ssize_t chunk=512):
    """Gradient of each row's own loss (unweighted, no penalty) with respect to its
    input row, into ``out`` (n x n_features, dense)."""
    cdef Py_ssize_t n = out.shape[0], cap = max(1, min(chunk, n)), start, nb, size
    plan, size = network.plan(cap, True, input_grad=True)
    cdef Net net = network.c(plan)
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t n_in = net.units[0], k = net.units[net.n_layers]
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* P = &params[0]
    cdef Py_ssize_t[::1] rows_arr = np.arange(cap, dtype=np.intp)
    cdef const Py_ssize_t* rows = &rows_arr[0]
    cdef CSR sp_chunk
    cdef const floating* xb
    cdef floating* work
    cdef floating* scratch
    if n == 0:
        return
    work = alloc(size + network.n_params, <floating> 0)
    scratch = work + size  # parameter gradients, computed on the way and dropped
    with nogil:
        start = 0
        while start < n:
            nb = min(cap, n - start)
            xb = NULL if sparse else X + start * n_in
            sp_chunk = csr_from(sp, start)
            block_loss_grad(&net, P, xb, X, &sp_chunk, rows, nb, work, NULL,
                            &Y[start * k], NULL, <floating> 1.0, scratch, False,
                            &out[start, 0], NULL)
            start += nb
    PyMem_RawFree(work)


def apply_output_link(Network network, floating[:, ::1] z, bint log=False):
    """In place: raw outputs -> predictions (or log-probabilities if ``log``)."""
    if z.shape[0] == 0:
        return
    cdef int out = network.out
    with nogil:
        apply_link(out, &z[0, 0], z.shape[0], z.shape[1], log)


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
