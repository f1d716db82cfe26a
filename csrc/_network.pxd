# cython: cdivision=True, boundscheck=False, wraparound=False, initializedcheck=False
# Forward and backward passes of the whole layer stack over one block of rows.
#
# Parameters live in ONE flat buffer ordered as scikit-learn packs them (all coefs_
# row-major, then all intercepts_); coefs_[l] is (units[l], units[l+1]).
#
# Scratch lives in one workspace. Which buffers exist is decided once per call by a
# plan (Network.plan in _kernels.pyx), a table of offsets with -1 for "absent":
#   BUF_A  layer outputs (layer 0: the gathered input rows; layer L: raw output/delta)
#   BUF_Z  kept pre-activations, for activations whose derivative reads z (backward)
#   BUF_M  dropout mask, BUF_H  dropped-out outputs (training with dropout)
#   BUF_D  back-propagated deltas (backward; layer 0 only for input gradients)
# A feature that is off has no buffer and costs no pass.

from cython cimport floating
from libc.string cimport memset
from _blas cimport gemm
from _activations cimport bias_activation, activation_backward, IDENTITY
from _losses cimport loss_and_delta
from _random cimport uint64, dropout_mask


cdef enum Buffer:
    BUF_A = 0
    BUF_Z = 1
    BUF_M = 2
    BUF_H = 3
    BUF_D = 4
    N_BUF = 5


cdef struct Net:
    Py_ssize_t n_layers          # L, the number of weight layers
    const Py_ssize_t* units      # L + 1 layer widths, input first
    const Py_ssize_t* coef_off   # L offsets of coefs_[l] in the flat buffer
    const Py_ssize_t* icpt_off   # L offsets of intercepts_[l]
    const int* act               # L - 1 hidden activation codes
    const double* dropout        # L rates: [input_dropout, hidden layer 1, ...]
    int out                      # Output code
    double slope                 # leaky_relu's negative slope
    double huber_delta
    const Py_ssize_t* buf        # (L + 1) x N_BUF workspace offsets, -1: absent


cdef struct CSR:
    # Sparse input rows (the values are passed alongside, typed).
    const Py_ssize_t* indices
    const Py_ssize_t* indptr


cdef inline floating* buffer(const Net* net, floating* work, Py_ssize_t l,
                             int kind) noexcept nogil:
    cdef Py_ssize_t off = net.buf[l * N_BUF + kind]
    return work + off if off >= 0 else NULL


cdef inline void sparse_dot(const floating* data, const CSR* sp, const Py_ssize_t* rows,
                            Py_ssize_t n, const floating* W, Py_ssize_t n_out,
                            floating* z) noexcept nogil:
    """``z[i] = X[rows[i]] @ W`` for CSR rows: one axpy of a row of W per non-zero."""
    cdef Py_ssize_t i, p, j
    cdef floating* zi
    cdef const floating* wr
    cdef floating x
    for i in range(n):
        zi = z + i * n_out
        for j in range(n_out):
            zi[j] = 0
        for p in range(sp.indptr[rows[i]], sp.indptr[rows[i] + 1]):
            x = data[p]
            wr = W + sp.indices[p] * n_out
            for j in range(n_out):
                zi[j] += x * wr[j]


cdef inline void sparse_grad(const floating* data, const CSR* sp, const Py_ssize_t* rows,
                             Py_ssize_t n, const floating* delta, Py_ssize_t n_out,
                             floating* grad_W) noexcept nogil:
    """``grad_W += X[rows].T @ delta`` for CSR rows, scattered per non-zero."""
    cdef Py_ssize_t i, p, j
    cdef const floating* di
    cdef floating* gr
    cdef floating x
    for i in range(n):
        di = delta + i * n_out
        for p in range(sp.indptr[rows[i]], sp.indptr[rows[i] + 1]):
            x = data[p]
            gr = grad_W + sp.indices[p] * n_out
            for j in range(n_out):
                gr[j] += x * di[j]


cdef inline const floating* layer_input(const Net* net, floating* work, Py_ssize_t l,
                                        const floating* x) noexcept nogil:
    """What weight layer l multiplies: the dropped-out outputs of layer l where there
    is dropout, else its outputs (layer 0: the input rows ``x``)."""
    cdef floating* h = buffer(net, work, l, BUF_H)
    if h != NULL:
        return h
    return x if l == 0 else buffer(net, work, l, BUF_A)


cdef inline floating* forward(const Net* net, const floating* params, const floating* x,
                              const floating* sp_data, const CSR* sp,
                              const Py_ssize_t* rows, Py_ssize_t n, floating* work,
                              floating* out, Py_ssize_t n_run,
                              uint64* rng) noexcept nogil:
    """Forward pass of ``n`` rows through the first ``n_run`` weight layers.

    The input is the dense block ``x`` (n x units[0], C order) or, where ``x`` is NULL,
    the CSR rows ``rows``. Returns the last computed layer: the raw output z when
    ``n_run == L``, else the activated hidden layer ``n_run``; it is written to ``out``
    if given, else to the workspace. Dropout applies where the plan has masks.
    """
    cdef Py_ssize_t l, L = net.n_layers, n_in, n_out
    cdef const floating* a_in
    cdef floating* z = NULL
    cdef floating* mask
    mask = buffer(net, work, 0, BUF_M)
    if mask != NULL:
        dropout_mask(rng, mask, buffer(net, work, 0, BUF_H), x, n * net.units[0],
                     net.dropout[0])
    for l in range(n_run):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        a_in = layer_input(net, work, l, x)
        z = out if (l == n_run - 1 and out != NULL) else buffer(net, work, l + 1, BUF_A)
        if l == 0 and x == NULL:
            sparse_dot(sp_data, sp, rows, n, params + net.coef_off[0], n_out, z)
        else:
            gemm(False, False, <int> n, <int> n_out, <int> n_in, <floating> 1.0,
                 a_in, <int> n_in, params + net.coef_off[l], <int> n_out,
                 <floating> 0.0, z, <int> n_out)
        if l == L - 1:
            bias_activation(IDENTITY, z, params + net.icpt_off[l], <floating*> NULL,
                            n, n_out, <floating> 0.0)
        else:
            bias_activation(net.act[l], z, params + net.icpt_off[l],
                            buffer(net, work, l + 1, BUF_Z), n, n_out,
                            <floating> net.slope)
            mask = buffer(net, work, l + 1, BUF_M)
            if mask != NULL:
                dropout_mask(rng, mask, buffer(net, work, l + 1, BUF_H), z,
                             n * n_out, net.dropout[l + 1])
    return z


cdef inline void backward(const Net* net, const floating* params, const floating* x,
                          const floating* sp_data, const CSR* sp,
                          const Py_ssize_t* rows, Py_ssize_t n, floating* work,
                          floating* delta, floating* grads, bint accumulate,
                          floating* input_delta) noexcept nogil:
    """Back-propagate the output delta (n x units[L]) after ``forward`` on the same
    rows, writing (or, if ``accumulate``, adding) the gradient of every parameter into
    the flat buffer ``grads``; and, if ``input_delta`` is given, the gradient with
    respect to the input rows (dense, n x units[0]).

    The delta already carries the sample weights and the 1/sum(weights) scale, so the
    products here are exactly the gradient of the weighted mean loss.
    """
    cdef Py_ssize_t l, i, L = net.n_layers, n_in, n_out
    cdef floating* grad_W
    cdef floating* d_prev
    cdef floating* mask
    # output layer: identity derivative, bias gradient = column sums
    activation_backward(IDENTITY, <floating*> NULL, <floating*> NULL, delta,
                        grads + net.icpt_off[L - 1], n, net.units[L],
                        <floating> 0.0, accumulate)
    for l in range(L - 1, -1, -1):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        grad_W = grads + net.coef_off[l]
        if l == 0 and x == NULL:
            if not accumulate:
                memset(grad_W, 0, n_in * n_out * sizeof(floating))
            sparse_grad(sp_data, sp, rows, n, delta, n_out, grad_W)
        else:
            gemm(True, False, <int> n_in, <int> n_out, <int> n, <floating> 1.0,
                 layer_input(net, work, l, x), <int> n_in, delta, <int> n_out,
                 <floating> (1.0 if accumulate else 0.0), grad_W, <int> n_out)
        if l == 0 and input_delta == NULL:
            break
        d_prev = buffer(net, work, l, BUF_D) if l > 0 else input_delta
        gemm(False, True, <int> n, <int> n_in, <int> n_out, <floating> 1.0,
             delta, <int> n_out, params + net.coef_off[l], <int> n_out,
             <floating> 0.0, d_prev, <int> n_in)
        if l > 0:
            mask = buffer(net, work, l, BUF_M)
            if mask != NULL:
                for i in range(n * n_in):
                    d_prev[i] *= mask[i]
            activation_backward(net.act[l - 1], buffer(net, work, l, BUF_A),
                                buffer(net, work, l, BUF_Z), d_prev,
                                grads + net.icpt_off[l - 1], n, n_in,
                                <floating> net.slope, accumulate)
        delta = d_prev


cdef inline double block_loss_grad(const Net* net, const floating* params,
                                   const floating* x, const floating* sp_data,
                                   const CSR* sp, const Py_ssize_t* rows, Py_ssize_t n,
                                   floating* work, floating* out, const floating* y,
                                   const floating* sw, floating scale, floating* grads,
                                   bint accumulate, floating* input_delta,
                                   uint64* rng) noexcept nogil:
    """One block of rows: forward, loss and, where ``grads`` is not NULL, backward.

    Returns ``sum_i s_i loss_i`` of the rows; the output delta is scaled by
    ``scale``. Arguments as in ``forward``, ``loss_and_delta`` and ``backward``.
    """
    cdef floating* z = forward(net, params, x, sp_data, sp, rows, n, work, out,
                               net.n_layers, rng)
    cdef double loss = loss_and_delta(net.out, z, y, rows, sw, n,
                                      net.units[net.n_layers], scale,
                                      <floating> net.huber_delta)
    if grads != NULL:
        backward(net, params, x, sp_data, sp, rows, n, work, z, grads, accumulate,
                 input_delta)
    return loss
