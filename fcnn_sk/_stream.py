"""Training on data larger than memory: chunks read from storage into ``partial_fit``.

The storage is any array with a ``shape`` that can be sliced by rows: a numpy array or
``numpy.memmap``, an h5py or zarr dataset, a dask array. Only the chunk being trained
on and the one being read are in memory. Randomness is drawn here, in a fixed order,
from ``random_state``: the order of the chunks anew every epoch, and the order of the
rows within each chunk, so a run is reproducible whatever the estimator itself does
with its own ``random_state`` on each ``partial_fit`` call.
"""

import operator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

#: Bytes of X per chunk when ``chunk_rows`` is not given.
CHUNK_BYTES = 64 * 2**20


def _n_rows(data, name):
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) == 0:
        raise TypeError(
            f"{name} must be an array-like with a shape, such as a numpy array or "
            f"memmap, an h5py or zarr dataset or a dask array; got "
            f"{type(data).__name__}."
        )
    try:
        return operator.index(shape[0])
    except TypeError:  # nan: a dask array with unknown chunk sizes
        raise ValueError(
            f"{name} has an unknown number of rows ({shape[0]}); for a dask array, "
            "call compute_chunk_sizes() first."
        ) from None


def _as_array(data):
    """Storage objects as they are; lists and such as numpy arrays."""
    return data if hasattr(data, "shape") else np.asarray(data)


def _stored_chunk_rows(X):
    """Rows per chunk of the storage itself (dask, zarr, chunked HDF5), or None."""
    chunks = getattr(X, "chunks", None)
    if not chunks:
        return None
    first = chunks[0]
    if isinstance(first, tuple):  # dask: the sizes of every block along the rows
        first = first[0] if first else None
    return int(first) if first else None


def _default_chunk_rows(X):
    """About ``CHUNK_BYTES`` of rows, a whole number of the storage's own chunks."""
    row_bytes = max(1, X.shape[1]) * np.dtype(getattr(X, "dtype", np.float64)).itemsize
    rows = max(1, CHUNK_BYTES // row_bytes)
    stored = _stored_chunk_rows(X)
    if stored:
        rows = max(stored, rows // stored * stored)
    return rows


def _read(data, start, stop, order):
    """Rows ``start:stop`` of ``data`` in memory, in the given order."""
    part = (data.iloc if hasattr(data, "iloc") else data)[start:stop]
    if not sp.issparse(part):
        part = np.asarray(part)  # reads a memmap or dataset, computes a dask array
    return part[order]


class _DenseReader:
    """Reads rows of dense storage in a given order into buffers kept for the run.

    Chunks go to ``partial_fit`` in ``n_buffers`` buffers used in turn, so a chunk's
    buffer is filled again only once its training is over (with prefetch, one chunk
    trains while the next is read). No chunk-sized array is allocated per chunk: a
    fresh one costs the kernel's page faults and zeroing on top of the copy. An h5py
    dataset is read with ``read_direct`` into one more buffer, then gathered in order.
    """

    def __init__(self, X, chunk_rows, n_buffers):
        self.X = X
        shape = (min(chunk_rows, X.shape[0]), X.shape[1])
        self.buffers = [np.empty(shape, X.dtype) for _ in range(n_buffers)]
        self.staging = np.empty(shape, X.dtype) if hasattr(X, "read_direct") else None
        self.turn = 0

    @staticmethod
    def handles(X):
        """Whether X is dense storage of a numpy dtype that this reader can take."""
        if sp.issparse(X) or hasattr(X, "iloc"):
            return False
        try:
            return np.dtype(X.dtype).kind in "biuf"
        except (AttributeError, TypeError):
            return False

    def __call__(self, start, stop, order):
        out = self.buffers[self.turn][: stop - start]
        self.turn = (self.turn + 1) % len(self.buffers)
        if self.staging is not None:
            part = self.staging[: stop - start]
            self.X.read_direct(part, np.s_[start:stop], np.s_[0 : stop - start])
        else:  # a numpy array or memmap as it is; zarr reads, dask computes
            part = np.asarray(self.X[start:stop])
        # mode="clip": every index is valid, and "raise" would buffer the output
        return np.take(part, order, axis=0, out=out, mode="clip")


@validate_params(
    {
        "estimator": [HasMethods(["partial_fit"])],
        "X": "no_validation",
        "y": "no_validation",
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "chunk_rows": [Interval(Integral, 1, None, closed="left"), None],
        "sample_weight": "no_validation",
        "random_state": ["random_state"],
        "prefetch": ["boolean"],
    },
    prefer_skip_nested_validation=False,  # the estimator checks its own parameters
)
def partial_fit_chunks(
    estimator,
    X,
    y,
    *,
    epochs=1,
    chunk_rows=None,
    sample_weight=None,
    random_state=None,
    prefetch=True,
    **partial_fit_params,
):
    """Train an estimator with ``partial_fit`` on data read from storage in chunks.

    Each epoch visits the chunks of consecutive rows in a new random order and
    calls ``estimator.partial_fit`` once per chunk, on its rows in a random order.
    Only about two chunks are in memory at a time (three while ``prefetch`` reads
    the next one), so X may be far larger than memory: a ``numpy.memmap``, an h5py
    or zarr dataset, or a dask array. With fcnn_sk's estimators, successive calls
    continue one training (weights, optimizer state and step count are kept).
    Dense X reaches ``partial_fit`` in buffers that later chunks fill again, so the
    estimator must not keep a reference to its X once the call returns (fcnn_sk's
    do not; one that did would find later chunks' rows in it).

    Parameters
    ----------
    estimator : estimator with a ``partial_fit`` method
        Trained in place, e.g. ``FCNNClassifier(solver="adam")``.
    X : array-like of shape (n_samples, n_features)
        Anything that has a ``shape`` and gives rows ``X[start:stop]`` as an array:
        a numpy array or memmap, an h5py or zarr dataset, a dask array (each chunk
        is computed when it is read), a pandas DataFrame or a scipy sparse matrix.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets, in memory or in storage like X.
    epochs : int, default=1
        Passes over the data.
    chunk_rows : int, default=None
        Rows per chunk: the rows in memory at a time, and the rows shuffled
        together. None: about 64 MiB of X, rounded down to a whole number of the
        storage's own chunks where it has them (dask, zarr, chunked HDF5).
    sample_weight : array-like of shape (n_samples,), default=None
        Passed to ``partial_fit`` chunk by chunk.
    random_state : int, RandomState instance or None, default=None
        Draws the order of the chunks in each epoch and of the rows within each
        chunk. An int gives the same orders on every call; pass a ``RandomState``
        to call this function once per epoch with new orders each time.
    prefetch : bool, default=True
        Read the next chunk in a background thread while ``partial_fit`` trains
        on the current one (fcnn_sk's training runs without the GIL): reading from
        disk, decompressing or computing a dask array then overlaps training.
        Where the data is in the page cache and no core is idle, reading in turn
        (False) can be faster.
    **partial_fit_params : dict
        Passed to every ``partial_fit`` call, e.g. ``classes`` for a classifier.

    Returns
    -------
    estimator : estimator
        The estimator, trained.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fcnn_sk import FCNNClassifier, partial_fit_chunks
    >>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
    >>> X = np.lib.format.open_memmap(path, "w+", np.float32, shape=(20000, 10))
    >>> X[:] = np.random.default_rng(0).standard_normal(X.shape, dtype=np.float32)
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> X.flush(); del X
    >>> X = np.load(path, mmap_mode="r")  # read from disk chunk by chunk
    >>> clf = partial_fit_chunks(FCNNClassifier((16,), learning_rate_init=0.01,
    ...                                         random_state=0), X, y,
    ...                          epochs=3, chunk_rows=5000, classes=[0, 1],
    ...                          random_state=0)
    >>> clf.score(X[:2000], y[:2000]) > 0.95
    True
    """
    X, y = _as_array(X), _as_array(y)
    n = _n_rows(X, "X")
    if len(X.shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    if n == 0:
        raise ValueError("X has no rows.")
    arrays = {"y": y}
    if sample_weight is not None:
        arrays["sample_weight"] = _as_array(sample_weight)
    for name, data in arrays.items():
        if _n_rows(data, name) != n:
            raise ValueError(
                f"X has {n} rows but {name} has {_n_rows(data, name)}; they must match."
            )
    if chunk_rows is None:
        chunk_rows = _default_chunk_rows(X)
    rng = check_random_state(random_state)
    bounds = [(start, min(start + chunk_rows, n)) for start in range(0, n, chunk_rows)]

    def chunks():
        # drawn here, in the caller's thread and always in the same order
        for _ in range(epochs):
            for c in rng.permutation(len(bounds)):
                start, stop = bounds[c]
                yield start, stop, rng.permutation(stop - start)

    # one buffer trains while the next chunk is read into the other
    read_X = (
        _DenseReader(X, chunk_rows, 2 if prefetch else 1)
        if _DenseReader.handles(X)
        else partial(_read, X)
    )

    def load(chunk):
        start, stop, order = chunk
        part = {name: _read(data, start, stop, order) for name, data in arrays.items()}
        return {"X": read_X(start, stop, order), **part}

    def train(part):
        X_part = part.pop("X")
        y_part = part.pop("y")
        estimator.partial_fit(X_part, y_part, **part, **partial_fit_params)

    if not prefetch:
        for chunk in chunks():
            train(load(chunk))
        return estimator
    with ThreadPoolExecutor(max_workers=1) as reader:
        todo = chunks()
        pending = reader.submit(load, next(todo))
        for chunk in todo:
            part = pending.result()
            pending = reader.submit(load, chunk)
            train(part)
        train(pending.result())
    return estimator
