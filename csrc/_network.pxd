# cython: cdivision=True
# Forward and backward passes of the whole layer stack over one block of rows.
#
# Parameters live in ONE flat buffer ordered as scikit-learn packs them (all coefs_
# row-major, then all intercepts_); coefs_[l] is (units[l], units[l+1]).
#
# Scratch lives in one workspace, laid out by `plan` for one kind of call (Pass):
# for every layer, the buffers that kind uses, at offsets in the workspace; the
# others are ABSENT.
#   BUF_A  layer outputs (layer 0: gathered input rows; layer L: raw output, then
#          the output delta)
#   BUF_Z  kept pre-activations, for activations whose derivative reads z
#   BUF_M  dropout mask, BUF_H  dropped-out outputs
#   BUF_D  back-propagated deltas (layer 0: the gradient with respect to the input)
# A feature that is off has no buffer and costs no pass.

from cython cimport floating
from libc.string cimport memset
from _blas cimport gemm
from _activations cimport (Activation, IDENTITY, bias_activation,
                           activation_backward, needs_z)
from _losses cimport Output, loss_and_delta
from _random cimport uint64, dropout_mask


cdef enum Buffer:
    BUF_A = 0
    BUF_Z = 1
    BUF_M = 2
    BUF_H = 3
    BUF_D = 4
    N_BUF = 5

cdef enum:
    ABSENT = -1   # the offset of a buffer that a plan leaves out


cdef enum Pass:
    PREDICT          # forward through `n_run` layers, the last into the caller's array
    LOSS             # forward and loss
    GRADIENT         # forward, loss and backward: the parameters' gradient
    INPUT_GRADIENT   # GRADIENT, and the gradient with respect to the input rows
    TRAIN            # GRADIENT with dropout masks (and gathered input rows)


cdef enum Layout:
    DENSE   # the block's own rows, one after another (n x units[0])
    CSR     # rows of a CSR matrix


cdef struct Rows:
    # The rows of one block. Its input values are passed alongside, typed: for DENSE
    # the block's rows, for CSR the values of the whole matrix.
    Layout layout
    Py_ssize_t n                # number of rows
    const Py_ssize_t* sample    # block row i is sample sample[i]: its targets and
    #                             weight, and for CSR its matrix row
    const Py_ssize_t* indptr    # CSR: the matrix's structure
    const Py_ssize_t* indices


cdef struct Net:
    Py_ssize_t n_layers          # L, the number of weight layers
    const Py_ssize_t* units      # L + 1 layer widths, input first
    const Py_ssize_t* coef_off   # L offsets of coefs_[l] in the flat buffer
    const Py_ssize_t* icpt_off   # L offsets of intercepts_[l]
    const Activation* act        # L - 1 hidden activations
    const double* dropout        # L rates: [input_dropout, hidden layer 1, ...]
    Output out
    double slope                 # leaky_relu's negative slope
    double huber_delta
    # the plan of one call (`plan`)
    Pass kind
    Py_ssize_t n_run             # weight layers the forward pass runs
    Py_ssize_t* buf              # (L + 1) x N_BUF workspace offsets
    Py_ssize_t work_size         # elements of the workspace
    uint64* rng                  # state of the dropout masks' generator (TRAIN)


cdef inline void plan(Net* net, Pass kind, Py_ssize_t cap, bint gather,
                      Py_ssize_t n_run) noexcept nogil:
    """Lay out the workspace of a ``kind`` call on blocks of at most ``cap`` rows:
    ``net.buf`` and ``net.work_size``. ``gather``: a buffer for the input rows
    (TRAIN on dense rows that are not consecutive); ``n_run``: the layers a PREDICT
    call runs (every other kind runs all)."""
    cdef Py_ssize_t i, layer, L = net.n_layers, size = 0
    cdef bint backward = kind == GRADIENT or kind == INPUT_GRADIENT or kind == TRAIN
    cdef bint dropout = kind == TRAIN
    net.kind = kind
    net.n_run = n_run if kind == PREDICT else L
    for i in range((L + 1) * N_BUF):
        net.buf[i] = ABSENT
    if gather:
        size = add_buffer(net, 0, BUF_A, cap, size)
    if dropout and net.dropout[0] > 0:
        size = add_buffer(net, 0, BUF_M, cap, size)
        size = add_buffer(net, 0, BUF_H, cap, size)
    if kind == INPUT_GRADIENT:
        size = add_buffer(net, 0, BUF_D, cap, size)
    for layer in range(1, net.n_run + 1):
        if layer < net.n_run or kind != PREDICT:  # PREDICT: the last one is `out`
            size = add_buffer(net, layer, BUF_A, cap, size)
        if layer == L:
            break
        if backward and needs_z(net.act[layer - 1]):
            size = add_buffer(net, layer, BUF_Z, cap, size)
        if dropout and net.dropout[layer] > 0:
            size = add_buffer(net, layer, BUF_M, cap, size)
            size = add_buffer(net, layer, BUF_H, cap, size)
        if backward:
            size = add_buffer(net, layer, BUF_D, cap, size)
    net.work_size = size


cdef inline Py_ssize_t add_buffer(Net* net, Py_ssize_t layer, Buffer kind,
                                  Py_ssize_t cap, Py_ssize_t size) noexcept nogil:
    """Place a buffer of ``cap`` rows of layer ``layer`` at ``size``; the new size."""
    net.buf[layer * N_BUF + kind] = size
    return size + cap * net.units[layer]


cdef inline bint has(const Net* net, Py_ssize_t layer, Buffer kind) noexcept nogil:
    return net.buf[layer * N_BUF + kind] != ABSENT


cdef inline floating* buffer(const Net* net, floating* work, Py_ssize_t layer,
                             Buffer kind) noexcept nogil:
    """A buffer of the plan (one that ``has``)."""
    return work + net.buf[layer * N_BUF + kind]


cdef inline floating* output(const Net* net, floating* work) noexcept nogil:
    """The raw outputs of a LOSS or gradient plan; after ``block_loss``, the output
    delta."""
    return buffer(net, work, net.n_layers, BUF_A)


cdef inline void sparse_dot(const Rows* rows, const floating* data, const floating* W,
                            Py_ssize_t n_out, floating* z) noexcept nogil:
    """``z[i] = X[sample[i]] @ W`` for CSR rows: one axpy of a row of W per
    non-zero."""
    cdef Py_ssize_t i, p, j, r
    cdef floating* zi
    cdef const floating* wr
    cdef floating x
    for i in range(rows.n):
        zi = z + i * n_out
        for j in range(n_out):
            zi[j] = 0
        r = rows.sample[i]
        for p in range(rows.indptr[r], rows.indptr[r + 1]):
            x = data[p]
            wr = W + rows.indices[p] * n_out
            for j in range(n_out):
                zi[j] += x * wr[j]


cdef inline void sparse_grad(const Rows* rows, const floating* data,
                             const floating* delta, Py_ssize_t n_out,
                             floating* grad_W) noexcept nogil:
    """``grad_W += X[sample].T @ delta`` for CSR rows, scattered per non-zero."""
    cdef Py_ssize_t i, p, j, r
    cdef const floating* di
    cdef floating* gr
    cdef floating x
    for i in range(rows.n):
        di = delta + i * n_out
        r = rows.sample[i]
        for p in range(rows.indptr[r], rows.indptr[r + 1]):
            x = data[p]
            gr = grad_W + rows.indices[p] * n_out
            for j in range(n_out):
                gr[j] += x * di[j]


cdef inline const floating* layer_input(const Net* net, floating* work,
                                        Py_ssize_t layer,
                                        const floating* x) noexcept nogil:
    """What weight layer ``layer`` multiplies: the dropped-out outputs of layer
    ``layer`` where there is dropout, else its outputs (layer 0: the input rows
    ``x``)."""
    if has(net, layer, BUF_H):
        return buffer(net, work, layer, BUF_H)
    return x if layer == 0 else buffer(net, work, layer, BUF_A)


cdef inline void forward(const Net* net, const floating* params, const Rows* rows,
                         const floating* x, floating* work,
                         floating* out) noexcept nogil:
    """Forward pass of the block through the plan's ``n_run`` weight layers.

    ``x``: the input values (see ``Rows``). The last layer computed goes to ``out``
    (n x units[n_run]): the raw outputs when all layers run, else the activated
    hidden layer ``n_run``. Dropout applies where the plan has masks.
    """
    cdef Py_ssize_t layer, L = net.n_layers, n = rows.n, n_in, n_out
    cdef floating* z
    if has(net, 0, BUF_M):
        dropout_mask(net.rng, buffer(net, work, 0, BUF_M), buffer(net, work, 0, BUF_H),
                     x, n * net.units[0], net.dropout[0])
    for layer in range(net.n_run):
        n_in = net.units[layer]
        n_out = net.units[layer + 1]
        z = out if layer == net.n_run - 1 else buffer(net, work, layer + 1, BUF_A)
        if layer == 0 and rows.layout == CSR:
            sparse_dot(rows, x, params + net.coef_off[0], n_out, z)
        else:
            gemm(False, False, <int> n, <int> n_out, <int> n_in, <floating> 1.0,
                 layer_input(net, work, layer, x), <int> n_in,
                 params + net.coef_off[layer], <int> n_out, <floating> 0.0, z,
                 <int> n_out)
        if layer == L - 1:
            bias_activation(IDENTITY, z, params + net.icpt_off[layer],
                            <floating*> NULL, n, n_out, <floating> 0.0)
            continue
        bias_activation(net.act[layer], z, params + net.icpt_off[layer],
                        buffer(net, work, layer + 1, BUF_Z)
                        if has(net, layer + 1, BUF_Z) else <floating*> NULL,
                        n, n_out, <floating> net.slope)
        if has(net, layer + 1, BUF_M):
            dropout_mask(net.rng, buffer(net, work, layer + 1, BUF_M),
                         buffer(net, work, layer + 1, BUF_H), z, n * n_out,
                         net.dropout[layer + 1])


cdef inline double block_loss(const Net* net, const Rows* rows, floating* work,
                              const floating* y, const floating* sw,
                              floating scale) noexcept nogil:
    """Loss of the raw outputs that ``forward`` left in the workspace, returned as
    ``sum_i s_i loss_i``; the outputs become the output delta, scaled by
    ``scale``. ``y`` and ``sw`` (NULL: all weights 1) are indexed by
    ``rows.sample`` (see ``loss_and_delta``)."""
    return loss_and_delta(net.out, output(net, work), y, rows.sample, sw, rows.n,
                          net.units[net.n_layers], scale,
                          <floating> net.huber_delta)


cdef inline void backward(const Net* net, const floating* params, const Rows* rows,
                          const floating* x, floating* work, floating* grads,
                          bint accumulate) noexcept nogil:
    """Back-propagate the output delta that ``block_loss`` left in the workspace,
    writing (or, if ``accumulate``, adding) the gradient of every parameter into
    the flat buffer ``grads``; an INPUT_GRADIENT plan also gets the gradient with
    respect to the input rows, in layer 0's BUF_D.

    ``rows`` and ``x`` as given to ``forward``. The delta already carries the sample
    weights and the 1/sum(weights) scale, so the products here are exactly the
    gradient of the weighted mean loss.
    """
    cdef Py_ssize_t layer, i, L = net.n_layers, n = rows.n, n_in, n_out
    cdef floating* delta = output(net, work)
    cdef floating* grad_W
    cdef floating* d_prev
    cdef floating* mask
    cdef Activation act
    # output layer: identity derivative, bias gradient = column sums
    activation_backward(IDENTITY, delta, delta, grads + net.icpt_off[L - 1], n,
                        net.units[L], <floating> 0.0, accumulate)
    for layer in range(L - 1, -1, -1):
        n_in = net.units[layer]
        n_out = net.units[layer + 1]
        grad_W = grads + net.coef_off[layer]
        if layer == 0 and rows.layout == CSR:
            if not accumulate:
                memset(grad_W, 0, n_in * n_out * sizeof(floating))
            sparse_grad(rows, x, delta, n_out, grad_W)
        else:
            gemm(True, False, <int> n_in, <int> n_out, <int> n, <floating> 1.0,
                 layer_input(net, work, layer, x), <int> n_in, delta, <int> n_out,
                 <floating> (1.0 if accumulate else 0.0), grad_W, <int> n_out)
        if layer == 0 and not has(net, 0, BUF_D):
            break
        d_prev = buffer(net, work, layer, BUF_D)
        gemm(False, True, <int> n, <int> n_in, <int> n_out, <floating> 1.0,
             delta, <int> n_out, params + net.coef_off[layer], <int> n_out,
             <floating> 0.0, d_prev, <int> n_in)
        if layer == 0:
            break
        if has(net, layer, BUF_M):
            mask = buffer(net, work, layer, BUF_M)
            for i in range(n * n_in):
                d_prev[i] *= mask[i]
        act = net.act[layer - 1]
        activation_backward(act, buffer(net, work, layer,
                                        BUF_Z if needs_z(act) else BUF_A),
                            d_prev, grads + net.icpt_off[layer - 1], n, n_in,
                            <floating> net.slope, accumulate)
        delta = d_prev
