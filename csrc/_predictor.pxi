# The compiled short path of prediction, included in _kernels.pyx (it reads the
# Network and the forward pass defined there): a fitted network's forward pass on small
# batches of dense rows, with its plan and workspace kept between calls.

cdef bint predict_block(const Net* net, const floating* P, const floating* X,
                        Py_ssize_t n, floating* work, floating* out, bint link,
                        bint log) noexcept nogil:
    """``forward`` of ``n`` dense rows (one block) into ``out``, then the output link
    if ``link``; False, with ``out`` undefined, where the rows or the outputs (before
    and after the link) are not all finite."""
    cdef Rows rows
    cdef Py_ssize_t size = n * net.units[net.n_run]
    if not all_finite(X, n * net.units[0]):
        return False
    rows.layout = DENSE
    rows.n = n
    rows.sample = NULL
    rows.indptr = NULL
    rows.indices = NULL
    forward(net, P, &rows, X, work, out)
    if not all_finite(out, size):
        return False
    if link:
        apply_link(net.out, out, n, net.units[net.n_run], log)
        return all_finite(out, size)
    return True


cdef class Predictor:
    """The forward pass of a fitted network on small batches of dense rows, with the
    checks that prediction's short path needs done here (fcnn_sk/_fast_predict.py):
    one call checks the input, runs the pass, applies the output link and checks
    that the outputs are finite.

    The workspace and its plan are kept between calls of at most ``keep_rows`` rows
    (the workspace grows to the largest of them seen). Such a call takes them while
    it runs; a call that finds them taken by another thread, or that has more rows,
    allocates its own, so threads may predict with one ``Predictor`` at once. The
    parameters are read where they are at each call, so training them in place is
    seen by the next call.

    Parameters
    ----------
    network : Network
    params : ndarray
        The flat parameters (float32 or float64, C-contiguous, ``network.n_params``
        values).
    max_rows : int
        The most rows a call takes (one block: the products of ``forward_rows``
        on as many rows in one chunk).
    keep_rows : int
        The most rows of a call that uses the kept workspace.
    arrays : sequence of ndarray, optional
        ``coefs_`` then ``intercepts_``, views into ``params`` (see ``current``).
    key : object, optional
        What else the network was built from, compared by ``current``.
    """
    cdef readonly Network network
    cdef readonly object params
    cdef readonly Py_ssize_t max_rows, keep_rows
    cdef readonly tuple arrays
    cdef readonly object key
    cdef int type_num
    cdef Py_ssize_t itemsize
    cdef bint busy                 # a call is using offsets and work
    cdef Py_ssize_t* offsets
    cdef char* work
    cdef Py_ssize_t work_bytes

    def __init__(self, Network network, params, Py_ssize_t max_rows,
                 Py_ssize_t keep_rows, arrays=(), key=None):
        if (type(params) is not np.ndarray or cnp.PyArray_NDIM(params) != 1
                or cnp.PyArray_TYPE(params) not in (cnp.NPY_FLOAT, cnp.NPY_DOUBLE)
                or not cnp.PyArray_ISCARRAY_RO(params)
                or cnp.PyArray_DIM(params, 0) != network.n_params):
            raise ValueError(
                f"params must be a C-contiguous float32 or float64 array of "
                f"{network.n_params} values")
        self.network = network
        self.params = params
        self.max_rows = max(max_rows, 1)
        self.keep_rows = keep_rows
        self.arrays = tuple(arrays)
        self.key = key
        self.type_num = cnp.PyArray_TYPE(params)
        self.itemsize = cnp.PyArray_ITEMSIZE(params)
        PyMem_Free(self.offsets)
        self.offsets = <Py_ssize_t*> PyMem_Malloc(
            network.offset_count() * sizeof(Py_ssize_t))
        if self.offsets == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.offsets)
        PyMem_Free(self.work)

    def current(self, params, coefs, intercepts, key):
        """Whether this is still the network of these: the same ``params`` object,
        ``coefs`` and ``intercepts`` the same array objects as ``arrays`` with the
        network's shapes, and an equal ``key``."""
        cdef Py_ssize_t i, L = self.network.n_layers
        cdef const Py_ssize_t* units = &self.network.units[0]
        if (params is not self.params or len(coefs) != L or len(intercepts) != L
                or len(self.arrays) != 2 * L):
            return False
        for i in range(L):
            a, b = coefs[i], intercepts[i]
            if a is not self.arrays[i] or b is not self.arrays[L + i]:
                return False
            if (cnp.PyArray_NDIM(<cnp.ndarray> a) != 2
                    or cnp.PyArray_DIM(<cnp.ndarray> a, 0) != units[i]
                    or cnp.PyArray_DIM(<cnp.ndarray> a, 1) != units[i + 1]
                    or cnp.PyArray_NDIM(<cnp.ndarray> b) != 1
                    or cnp.PyArray_DIM(<cnp.ndarray> b, 0) != units[i + 1]):
                return False  # a shape set in place
        return key == self.key

    def accepts(self, X):
        """Whether ``predict`` takes X: a 2-D C-contiguous ``np.ndarray`` of the
        parameters' dtype, in native byte order, with 1 to ``max_rows`` rows of the
        network's input width (its values are checked by ``predict``)."""
        return self.rows_of(X) > 0

    cdef Py_ssize_t rows_of(self, X) noexcept:
        """The rows of X where ``accepts`` it, else 0."""
        if type(X) is not np.ndarray:
            return 0
        cdef cnp.ndarray x = <cnp.ndarray> X
        if (cnp.PyArray_NDIM(x) != 2 or cnp.PyArray_TYPE(x) != self.type_num
                or not cnp.PyArray_ISCARRAY_RO(x)
                or cnp.PyArray_DIM(x, 1) != self.network.units[0]
                or cnp.PyArray_DIM(x, 0) > self.max_rows):
            return 0
        return cnp.PyArray_DIM(x, 0)

    def predict(self, X, Py_ssize_t n_run=0, bint link=False, bint log=False):
        """Outputs of weight layer ``n_run`` (0: the last, the raw outputs; fewer:
        that hidden layer's activations) for the rows of X, with the output link
        applied if ``link`` (log-probabilities if ``log``): a new array, or None
        where X is not ``accepts``-ed or not finite, or an output is not finite.
        The same arithmetic as ``forward_rows`` and ``apply_output_link``."""
        cdef Network network = self.network
        cdef Py_ssize_t n = self.rows_of(X), size
        cdef Py_ssize_t layers = n_run or network.n_layers
        cdef cnp.npy_intp dims[2]
        cdef bint own, ok = False
        cdef Py_ssize_t* offsets
        cdef char* work = NULL
        cdef void* P
        cdef void* x
        cdef void* o
        cdef bint single = self.type_num == cnp.NPY_FLOAT
        cdef Net net
        if not 1 <= layers <= network.n_layers:
            raise ValueError(f"n_run must be in [1, {network.n_layers}], got {n_run}")
        if link and layers != network.n_layers:
            raise ValueError("the output link applies to the raw outputs only")
        if n == 0:
            return None
        dims[0] = n
        dims[1] = network.units[layers]
        out = cnp.PyArray_EMPTY(2, dims, self.type_num, 0)
        # (with the GIL held, nothing runs between the test and the set)
        own = self.busy or n > self.keep_rows
        if own:
            offsets = <Py_ssize_t*> PyMem_Malloc(
                network.offset_count() * sizeof(Py_ssize_t))
            if offsets == NULL:
                raise MemoryError()
        else:
            self.busy = True
            offsets = self.offsets
        try:
            net = network.c_net(offsets, PREDICT, n, False, layers)
            size = max(net.work_size, 1) * self.itemsize
            if own:
                work = <char*> PyMem_Malloc(size)
            else:
                if size > self.work_bytes:
                    PyMem_Free(self.work)
                    self.work_bytes = 0
                    self.work = <char*> PyMem_Malloc(size)
                    if self.work != NULL:
                        self.work_bytes = size
                work = self.work
            if work == NULL:
                raise MemoryError()
            P = cnp.PyArray_DATA(<cnp.ndarray> self.params)
            x = cnp.PyArray_DATA(<cnp.ndarray> X)
            o = cnp.PyArray_DATA(<cnp.ndarray> out)
            with nogil:
                if single:
                    ok = predict_block(&net, <const float*> P, <const float*> x, n,
                                       <float*> work, <float*> o, link, log)
                else:
                    ok = predict_block(&net, <const double*> P, <const double*> x,
                                       n, <double*> work, <double*> o, link, log)
        finally:
            if own:
                PyMem_Free(offsets)
                PyMem_Free(work)
            else:
                self.busy = False
        return out if ok else None
