# Forward and backward passes of the whole layer stack over one block of rows.
#
# Layout: the parameters live in ONE flat buffer, ordered as scikit-learn packs them
# (all coefs_ row-major, then all intercepts_); coefs_[l] is (units[l], units[l+1]).
# Per-block scratch lives in one workspace of ``workspace_size`` elements:
#     [A_1 .. A_L | D_1 .. D_{L-1} | gathered input rows]
# A_l (cap x units[l]) holds layer l's activations (A_L: raw output z, then the output
# delta), D_l the back-propagated delta of hidden layer l.

from cython cimport floating
from libc.string cimport memset
from _blas cimport gemm
from _activations cimport bias_activation, activation_backward, IDENTITY


cdef struct Net:
    Py_ssize_t n_layers          # L, the number of weight layers
    const Py_ssize_t* units      # L + 1 layer widths, input first
    const Py_ssize_t* coef_off   # L offsets of coefs_[l] in the flat buffer
    const Py_ssize_t* icpt_off   # L offsets of intercepts_[l]
    const int* act               # L - 1 hidden activation codes
    int out                      # Output code


cdef struct CSR:
    # Sparse input rows (the values are passed alongside, typed).
    const Py_ssize_t* indices
    const Py_ssize_t* indptr


cdef inline Py_ssize_t workspace_size(const Net* net, Py_ssize_t cap,
                                      bint with_deltas, bint with_input) noexcept nogil:
    cdef Py_ssize_t l, size = 0
    for l in range(1, net.n_layers + 1):
        size += net.units[l]
    if with_deltas:
        for l in range(1, net.n_layers):
            size += net.units[l]
    if with_input:
        size += net.units[0]
    return size * cap


cdef inline floating* layer_buffer(const Net* net, floating* work, Py_ssize_t cap,
                                   Py_ssize_t l) noexcept nogil:
    """A_l, for l = 1 .. L."""
    cdef Py_ssize_t j, off = 0
    for j in range(1, l):
        off += net.units[j]
    return work + off * cap


cdef inline floating* delta_buffer(const Net* net, floating* work, Py_ssize_t cap,
                                   Py_ssize_t l) noexcept nogil:
    """D_l, for l = 1 .. L-1 (after all A_l)."""
    return layer_buffer(net, work, cap, net.n_layers + 1) + (
        layer_buffer(net, work, cap, l) - work)


cdef inline floating* input_buffer(const Net* net, floating* work,
                                   Py_ssize_t cap) noexcept nogil:
    """Gathered input rows, after all A_l and D_l."""
    return work + workspace_size(net, cap, True, False)


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


cdef inline floating* forward(const Net* net, const floating* params, const floating* x,
                              const floating* sp_data, const CSR* sp,
                              const Py_ssize_t* rows, Py_ssize_t n, floating* work,
                              Py_ssize_t cap, floating* out) noexcept nogil:
    """Forward pass of ``n <= cap`` rows; returns the raw output z (n x units[L]).

    The input is the dense block ``x`` (n x units[0], C order) or, where ``x`` is NULL,
    the CSR rows ``rows``. Hidden activations are left in the workspace for the
    backward pass. z is written to ``out`` if given, else to A_L in the workspace.
    """
    cdef Py_ssize_t l, L = net.n_layers, n_in, n_out
    cdef const floating* a_prev = x
    cdef const floating* W
    cdef floating* z = NULL
    for l in range(L):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        if l < L - 1 or out == NULL:
            z = layer_buffer(net, work, cap, l + 1)
        else:
            z = out
        W = params + net.coef_off[l]
        if l == 0 and x == NULL:
            sparse_dot(sp_data, sp, rows, n, W, n_out, z)
        else:
            gemm(False, False, <int> n, <int> n_out, <int> n_in, <floating> 1.0,
                 a_prev, <int> n_in, W, <int> n_out, <floating> 0.0, z, <int> n_out)
        bias_activation(net.act[l] if l < L - 1 else IDENTITY, z,
                        params + net.icpt_off[l], n, n_out)
        a_prev = z
    return z


cdef inline void backward(const Net* net, const floating* params, const floating* x,
                          const floating* sp_data, const CSR* sp,
                          const Py_ssize_t* rows, Py_ssize_t n, floating* work,
                          Py_ssize_t cap, floating* delta, floating* grads,
                          bint accumulate) noexcept nogil:
    """Back-propagate the output delta (n x units[L]) through the stack after
    ``forward`` on the same rows, writing (or, if ``accumulate``, adding) the gradient
    of every parameter into the flat buffer ``grads`` (same layout as ``params``).

    The delta already carries the sample weights and the 1/sum(weights) scale, so the
    products here are exactly the gradient of the weighted mean loss.
    """
    cdef Py_ssize_t l, L = net.n_layers, n_in, n_out
    cdef const floating* a_in
    cdef floating* grad_W
    cdef floating* d_prev
    cdef floating beta = 1.0 if accumulate else 0.0
    # output layer: identity derivative, bias gradient = column sums
    activation_backward(IDENTITY, <floating*> NULL, delta,
                        grads + net.icpt_off[L - 1], n, net.units[L], accumulate)
    for l in range(L - 1, -1, -1):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        grad_W = grads + net.coef_off[l]
        if l == 0 and x == NULL:
            if not accumulate:
                memset(grad_W, 0, n_in * n_out * sizeof(floating))
            sparse_grad(sp_data, sp, rows, n, delta, n_out, grad_W)
        else:
            a_in = x if l == 0 else layer_buffer(net, work, cap, l)
            gemm(True, False, <int> n_in, <int> n_out, <int> n, <floating> 1.0,
                 a_in, <int> n_in, delta, <int> n_out, beta, grad_W, <int> n_out)
        if l > 0:
            d_prev = delta_buffer(net, work, cap, l)
            gemm(False, True, <int> n, <int> n_in, <int> n_out, <floating> 1.0,
                 delta, <int> n_out, params + net.coef_off[l], <int> n_out,
                 <floating> 0.0, d_prev, <int> n_in)
            activation_backward(net.act[l - 1], layer_buffer(net, work, cap, l),
                                d_prev, grads + net.icpt_off[l - 1], n, n_in,
                                accumulate)
            delta = d_prev
