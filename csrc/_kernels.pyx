# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled entry points of fcnn_sk.

Python hands over checked, C-contiguous arrays of one float dtype; these functions turn
them into raw pointers, release the GIL and run the work:

- ``train_epoch``: every mini-batch of one epoch (gather, forward, loss, backward,
  update) with no Python and no allocation per batch;
- ``loss_grad``: loss and gradient over all rows in fixed-size chunks (for L-BFGS), so
  memory is O(chunk x width), not O(n_samples x width);
- ``predict_raw`` / ``apply_output_link``: the forward pass in chunks, then the link.

The math lives in the headers beside this file: activations, losses (with their
gradients), optimizers, BLAS and the layer stack. The public names of activations,
outputs and solvers are mapped to their kernel codes here, once.
"""

from cython cimport floating
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from _activations cimport IDENTITY, LOGISTIC, TANH, RELU
from _losses cimport (OUT_IDENTITY, OUT_LOGISTIC, OUT_SOFTMAX, OUT_EXP,
                      loss_and_delta, apply_link)
from _optimizers cimport SGD, ADAM, sgd_update, adam_update
from _network cimport (Net, CSR, workspace_size, input_buffer, layer_buffer,
                       forward, backward)

import numpy as np

ACTIVATIONS = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU}
OUTPUTS = {"identity": OUT_IDENTITY, "logistic": OUT_LOGISTIC,
           "softmax": OUT_SOFTMAX, "exp": OUT_EXP}
SOLVERS = {"sgd": SGD, "adam": ADAM}


cdef class Network:
    """Shape of a network: layer widths, hidden activations and the output.

    Parameters
    ----------
    units : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    activations : sequence of str
        One name (a key of ``ACTIVATIONS``) per hidden layer.
    output : str
        A key of ``OUTPUTS``.
    """
    cdef Py_ssize_t[::1] units, coef_off, icpt_off
    cdef int[::1] act
    cdef int out
    cdef readonly Py_ssize_t n_params, n_coefs, n_outputs

    def __init__(self, units, activations, output):
        cdef Py_ssize_t l, L = len(units) - 1, offset = 0
        if L < 1 or len(activations) != L - 1:
            raise ValueError("need one activation per hidden layer")
        self.units = np.asarray(units, dtype=np.intp).copy()
        self.act = np.asarray([ACTIVATIONS[a] for a in activations] or [0],
                              dtype=np.intc)
        self.out = OUTPUTS[output]
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

    cdef Net c(self):
        cdef Net net
        net.n_layers = self.units.shape[0] - 1
        net.units = &self.units[0]
        net.coef_off = &self.coef_off[0]
        net.icpt_off = &self.icpt_off[0]
        net.act = &self.act[0]
        net.out = self.out
        return net


cdef inline const floating* ptr_or_null(const floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline CSR csr(const Py_ssize_t[::1] indices, const Py_ssize_t[::1] indptr) noexcept:
    cdef CSR sp
    sp.indices = &indices[0] if indices.shape[0] > 0 else NULL
    sp.indptr = &indptr[0] if indptr.shape[0] > 0 else NULL
    return sp


def train_epoch(Network network, floating[::1] params, floating[::1] state_1,
                floating[::1] state_2, const floating[::1] X_data,
                const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                const floating[::1] Y, const floating[::1] sample_weight,
                const Py_ssize_t[::1] order, bint gather, Py_ssize_t batch_size,
                dict hyper):
    """Run one epoch of mini-batch training in place on ``params``.

    Parameters
    ----------
    network : Network
    params, state_1, state_2 : flat parameter buffer and optimizer state of the same
        length (SGD: velocity, unused; Adam: first and second moments).
    X_data, X_indices, X_indptr : dense rows flattened (indices and indptr empty), or
        the three arrays of a CSR matrix with ``np.intp`` indices.
    Y : flat (n_samples * n_outputs) targets. sample_weight : (n_samples,) or empty.
    order : the rows in the order to visit them; consecutive ``batch_size`` slices
        are the mini-batches.
    gather : whether ``order`` is a permutation (dense rows are then copied into a
        contiguous block); if False it must be ``arange(n_samples)``.
    hyper : dict with ``solver`` (a SOLVERS code), ``learning_rate``, ``momentum``,
        ``nesterov``, ``beta_1``, ``beta_2``, ``epsilon``, ``alpha`` and ``step``
        (Adam's step count before this epoch).

    Returns
    -------
    loss_sum : float
        Sum over batches of (batch loss x batch rows), as scikit-learn accumulates it.
    step : int
        Adam's step count after the epoch.
    """
    cdef Net net = network.c()
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t n = order.shape[0], L = net.n_layers
    cdef Py_ssize_t n_in = net.units[0], k = net.units[L]
    cdef Py_ssize_t cap = min(batch_size, n), start, nb, i
    cdef Py_ssize_t n_params = params.shape[0], n_coefs = network.n_coefs
    cdef int solver = hyper["solver"]
    cdef floating lr = hyper["learning_rate"], momentum = hyper["momentum"]
    cdef bint nesterov = hyper["nesterov"]
    cdef double beta_1 = hyper["beta_1"], beta_2 = hyper["beta_2"]
    cdef floating epsilon = hyper["epsilon"]
    cdef double alpha = hyper["alpha"]
    cdef long step = hyper["step"]
    cdef floating* P = &params[0]
    cdef floating* S1 = &state_1[0]
    cdef floating* S2 = &state_2[0]
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* sw = ptr_or_null(sample_weight)
    cdef const Py_ssize_t* rows
    cdef const floating* xb
    cdef floating* z
    cdef floating lr_t
    cdef double loss_sum = 0.0, batch_loss, w_sum, sq
    cdef floating* work = <floating*> malloc(
        (workspace_size(&net, cap, True, gather and not sparse) + n_params)
        * sizeof(floating))
    cdef floating* G
    if work == NULL:
        raise MemoryError()
    G = work + workspace_size(&net, cap, True, gather and not sparse)
    with nogil:
        start = 0
        while start < n:
            nb = min(cap, n - start)
            rows = &order[start]
            xb = NULL
            if not sparse:
                if gather:
                    xb = input_buffer(&net, work, cap)
                    for i in range(nb):
                        memcpy(<floating*> xb + i * n_in, X + rows[i] * n_in,
                               n_in * sizeof(floating))
                else:
                    xb = X + start * n_in
            z = forward(&net, P, xb, X, &sp, rows, nb, work, cap, NULL)
            if sw != NULL:
                w_sum = 0.0
                for i in range(nb):
                    w_sum += sw[rows[i]]
            else:
                w_sum = nb
            batch_loss = loss_and_delta(net.out, z, &Y[0], rows, sw, nb, k,
                                        <floating> (1.0 / w_sum))
            backward(&net, P, xb, X, &sp, rows, nb, work, cap, z, G, False)
            if solver == ADAM:
                step += 1
                lr_t = lr * (1 - beta_2 ** step) ** 0.5 / (1 - beta_1 ** step)
                sq = adam_update(P, G, S1, S2, n_coefs, lr_t, <floating> beta_1,
                                 <floating> beta_2, epsilon, <floating> (alpha / w_sum))
                adam_update(P + n_coefs, G + n_coefs, S1 + n_coefs, S2 + n_coefs,
                            n_params - n_coefs, lr_t, <floating> beta_1,
                            <floating> beta_2, epsilon, <floating> 0.0)
            else:
                sq = sgd_update(P, G, S1, n_coefs, lr, momentum, nesterov,
                                <floating> (alpha / w_sum))
                sgd_update(P + n_coefs, G + n_coefs, S1 + n_coefs,
                           n_params - n_coefs, lr, momentum, nesterov, <floating> 0.0)
            loss_sum += (batch_loss + 0.5 * alpha * sq) / w_sum * nb
            start += nb
    free(work)
    return loss_sum, step


def loss_grad(Network network, const floating[::1] params, floating[::1] grad,
              const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
              const Py_ssize_t[::1] X_indptr, const floating[::1] Y,
              const floating[::1] sample_weight, double alpha, Py_ssize_t chunk=512):
    """Loss over all rows and its gradient (written to ``grad``), computed in chunks.

    ``loss = sum_i s_i loss_i / S + 0.5 alpha ||coefs||^2 / S`` with ``S = sum_i s_i``;
    the arrays are as in ``train_epoch``.
    """
    cdef Net net = network.c()
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t L = net.n_layers, n_in = net.units[0], k = net.units[L]
    cdef Py_ssize_t n = Y.shape[0] // k
    cdef Py_ssize_t cap = max(1, min(chunk, n)), start, nb, i
    cdef Py_ssize_t n_coefs = network.n_coefs
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* sw = ptr_or_null(sample_weight)
    cdef const floating* P = &params[0]
    cdef floating* G = &grad[0]
    cdef const floating* xb
    cdef floating* z
    cdef double loss = 0.0, w_sum = 0.0, sq = 0.0
    cdef floating l2
    cdef Py_ssize_t[::1] rows_arr = np.arange(n, dtype=np.intp)
    cdef const Py_ssize_t* rows = &rows_arr[0]
    cdef floating* work = <floating*> malloc(
        workspace_size(&net, cap, True, False) * sizeof(floating))
    if work == NULL:
        raise MemoryError()
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
            z = forward(&net, P, xb, X, &sp, rows + start, nb, work, cap, NULL)
            loss += loss_and_delta(net.out, z, &Y[0], rows + start, sw, nb, k,
                                   <floating> (1.0 / w_sum))
            backward(&net, P, xb, X, &sp, rows + start, nb, work, cap, z, G,
                     start > 0)
            start += nb
        l2 = <floating> (alpha / w_sum)
        for i in range(n_coefs):
            sq += P[i] * P[i]
            G[i] += l2 * P[i]
    free(work)
    return (loss + 0.5 * alpha * sq) / w_sum


def predict_raw(Network network, const floating[::1] params,
                const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                const Py_ssize_t[::1] X_indptr, floating[:, ::1] out,
                Py_ssize_t chunk=512):
    """Raw network outputs (before the output link) for every row, into ``out``."""
    cdef Net net = network.c()
    cdef CSR sp = csr(X_indices, X_indptr)
    cdef bint sparse = X_indptr.shape[0] > 0
    cdef Py_ssize_t L = net.n_layers, n_in = net.units[0], k = net.units[L]
    cdef Py_ssize_t n = out.shape[0]
    cdef Py_ssize_t cap = max(1, min(chunk, n)), start, nb
    cdef const floating* X = ptr_or_null(X_data)
    cdef const floating* P = &params[0]
    cdef Py_ssize_t[::1] rows_arr = np.arange(n if sparse else 1, dtype=np.intp)
    cdef const Py_ssize_t* rows = &rows_arr[0]
    cdef floating* work
    if n == 0:
        return
    work = <floating*> malloc(workspace_size(&net, cap, False, False)
                              * sizeof(floating))
    if work == NULL:
        raise MemoryError()
    with nogil:
        start = 0
        while start < n:
            nb = min(cap, n - start)
            forward(&net, P, NULL if sparse else X + start * n_in, X, &sp,
                    rows + start if sparse else rows, nb, work, cap, &out[start, 0])
            start += nb
    free(work)


def apply_output_link(Network network, floating[:, ::1] z, bint log=False):
    """In place: raw outputs -> predictions (or log-probabilities if ``log``)."""
    cdef Net net = network.c()
    if z.shape[0] == 0:
        return
    with nogil:
        apply_link(net.out, &z[0, 0], z.shape[0], z.shape[1], log)
