"""partial_fit_chunks: training on data read from storage chunk by chunk.

The chunks come from real storage (a numpy memmap on disk, h5py and zarr datasets,
a dask array); the order of chunks and rows comes from ``random_state`` alone, so
every storage gives the same model. What each ``partial_fit`` call receives is
recorded by a subclass that then trains as usual.
"""

import tracemalloc
from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from fcnn_sk import FCNNClassifier, FCNNRegressor, partial_fit_chunks

N_ROWS, N_FEATURES = 2000, 8


def _problem(n=N_ROWS, dtype=np.float32):
    """X whose first column is the row number (to see which rows a call gets)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, N_FEATURES)).astype(dtype)
    X[:, 0] = np.arange(n)
    y = (X[:, 1] + X[:, 2] > 0).astype(np.int64)
    return X, y


def _memmap(tmp_path, X, name="X.npy"):
    path = tmp_path / name
    stored = np.lib.format.open_memmap(path, "w+", X.dtype, shape=X.shape)
    stored[:] = X
    stored.flush()
    del stored
    return np.load(path, mmap_mode="r")


class RecordingClassifier(FCNNClassifier):
    """FCNNClassifier that records the row numbers (column 0) of each call."""

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        self.__dict__.setdefault("calls_", []).append(
            (
                np.asarray(X[:, 0], dtype=np.int64),
                None if sample_weight is None else np.asarray(sample_weight),
            )
        )
        return super().partial_fit(X, y, sample_weight=sample_weight, classes=classes)


def _model(**params):
    return FCNNClassifier((16,), random_state=0, **params)


def _weights(model):
    return [*model.coefs_, *model.intercepts_]


def _assert_same_model(a, b):
    for p, q in zip(_weights(a), _weights(b)):
        assert p.dtype == q.dtype
        assert_array_equal(p, q)
    assert a.loss_curve_ == b.loss_curve_


def test_every_epoch_visits_every_row_once_in_shuffled_chunks():
    X, y = _problem()
    chunk, n_chunks, epochs = 250, 8, 3
    model = partial_fit_chunks(
        RecordingClassifier((8,), random_state=0),
        X,
        y,
        epochs=epochs,
        chunk_rows=chunk,
        classes=[0, 1],
        random_state=0,
    )
    assert len(model.calls_) == epochs * n_chunks
    chunk_orders = []
    for epoch in range(epochs):
        calls = model.calls_[epoch * n_chunks : (epoch + 1) * n_chunks]
        rows = np.concatenate([r for r, _ in calls])
        assert_array_equal(np.sort(rows), np.arange(N_ROWS))  # each row once
        firsts = []
        for r, _ in calls:
            # a chunk is a block of consecutive rows, in a shuffled order
            assert_array_equal(np.sort(r), np.arange(r.min(), r.min() + chunk))
            assert not np.array_equal(r, np.sort(r))
            firsts.append(r.min() // chunk)
        chunk_orders.append(firsts)
    assert len({tuple(o) for o in chunk_orders}) == epochs  # a new order each epoch
    assert chunk_orders[0] != list(range(n_chunks))
    assert model.t_ == epochs * N_ROWS


def test_same_random_state_same_model_and_another_differs():
    X, y = _problem()

    def fit(seed):
        return partial_fit_chunks(
            _model(), X, y, epochs=2, chunk_rows=500, classes=[0, 1], random_state=seed
        )

    _assert_same_model(fit(0), fit(0))
    assert not np.array_equal(fit(0).coefs_[0], fit(1).coefs_[0])


def test_a_random_state_instance_gives_new_orders_on_each_call():
    # one call per epoch with a RandomState equals one call of several epochs
    X, y = _problem()
    at_once = partial_fit_chunks(
        _model(), X, y, epochs=3, chunk_rows=500, classes=[0, 1], random_state=7
    )
    rng = np.random.RandomState(7)
    by_epoch = _model()
    for _ in range(3):
        partial_fit_chunks(
            by_epoch, X, y, chunk_rows=500, classes=[0, 1], random_state=rng
        )
    _assert_same_model(at_once, by_epoch)


STORAGES = ["memory", "memmap", "hdf5", "zarr", "dask"]


def _stored(storage, tmp_path, X):
    """X in ``storage`` (chunks of 100 rows where it has chunks); skips the test
    where the package is not installed (``pip install ".[stream,dask]"``)."""
    if storage == "memory":
        return X
    if storage == "memmap":
        return _memmap(tmp_path, X)
    if storage == "hdf5":
        h5py = pytest.importorskip("h5py")
        f = h5py.File(tmp_path / "X.h5", "w")
        return f.create_dataset("X", data=X, chunks=(100, X.shape[1]))
    if storage == "zarr":
        zarr = pytest.importorskip("zarr")
        z = zarr.open_array(
            str(tmp_path / "X.zarr"),
            mode="w",
            shape=X.shape,
            dtype=X.dtype,
            chunks=(100, X.shape[1]),
        )
        z[:] = X
        return z
    da = pytest.importorskip("dask.array")
    return da.from_array(X, chunks=(100, X.shape[1]))


class CheckingClassifier(FCNNClassifier):
    """FCNNClassifier that checks that its X does not change during a call (the
    next chunk is read into another buffer)."""

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        before = np.array(X)
        super().partial_fit(X, y, sample_weight=sample_weight, classes=classes)
        assert_array_equal(X, before)
        return self


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize("storage", STORAGES)
def test_every_storage_gives_the_same_model(tmp_path, storage, prefetch):
    X, y = _problem()
    y_stored = _memmap(tmp_path, y, "y.npy")
    reference = partial_fit_chunks(
        _model(), X, y, epochs=2, chunk_rows=300, classes=[0, 1], random_state=0
    )
    X_stored = _stored(storage, tmp_path, X)
    model = partial_fit_chunks(
        CheckingClassifier((16,), random_state=0),
        X_stored,
        y_stored,
        epochs=2,
        chunk_rows=300,
        classes=[0, 1],
        random_state=0,
        prefetch=prefetch,
    )
    assert model.coefs_[0].dtype == np.float32  # float32 stays float32
    _assert_same_model(model, reference)


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize("storage", STORAGES)
def test_each_call_gets_its_rows_in_the_drawn_order(tmp_path, storage, prefetch):
    # the rows and order of every call, whatever the storage: chunks of 300 rows
    # (the last one 200) drawn from random_state, as the in-memory run draws them
    X, y = _problem()
    X_stored = _stored(storage, tmp_path, X)
    runs = [
        partial_fit_chunks(
            RecordingClassifier((8,), random_state=0),
            data,
            y,
            epochs=2,
            chunk_rows=300,
            classes=[0, 1],
            random_state=3,
            prefetch=prefetch,
        )
        for data in (X_stored, X)
    ]
    rng = np.random.RandomState(3)
    bounds = [(s, min(s + 300, N_ROWS)) for s in range(0, N_ROWS, 300)]
    expected = []
    for _ in range(2):
        for c in rng.permutation(len(bounds)):
            start, stop = bounds[c]
            expected.append(start + rng.permutation(stop - start))
    for model in runs:
        assert len(model.calls_) == len(expected)
        for (rows, _), want in zip(model.calls_, expected):
            assert_array_equal(rows, want)


def test_storage_chunks_set_the_default_chunk_size(tmp_path):
    da = pytest.importorskip("dask.array")
    X, y = _problem()
    model = partial_fit_chunks(
        RecordingClassifier((8,), random_state=0),
        da.from_array(X, chunks=(400, N_FEATURES)),
        y,
        classes=[0, 1],
        random_state=0,
    )
    # 64 MiB of rows would be all 2000 rows: a whole number of dask's 400-row blocks
    assert [len(r) for r, _ in model.calls_] == [2000]
    small = partial_fit_chunks(
        RecordingClassifier((8,), random_state=0),
        da.from_array(X, chunks=(400, N_FEATURES)),
        y,
        chunk_rows=400,
        classes=[0, 1],
        random_state=0,
    )
    assert sorted(len(r) for r, _ in small.calls_) == [400] * 5


def test_sample_weight_follows_the_rows():
    X, y = _problem()
    sample_weight = np.linspace(0.5, 2.0, N_ROWS)
    model = partial_fit_chunks(
        RecordingClassifier((8,), random_state=0),
        X,
        y,
        sample_weight=sample_weight,
        chunk_rows=300,
        classes=[0, 1],
        random_state=0,
    )
    for rows, weights in model.calls_:
        assert_array_equal(weights, sample_weight[rows])


def test_regressor_sparse_and_dataframe_inputs():
    X, _ = _problem(dtype=np.float64)
    target = X[:, 1] - X[:, 2]
    dense = partial_fit_chunks(
        FCNNRegressor((8,), random_state=0),
        X,
        target,
        epochs=2,
        chunk_rows=500,
        random_state=0,
    )
    sparse = partial_fit_chunks(
        FCNNRegressor((8,), random_state=0),
        sp.csr_matrix(X),
        target,
        epochs=2,
        chunk_rows=500,
        random_state=0,
    )
    for p, q in zip(_weights(dense), _weights(sparse)):
        assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    pd = pytest.importorskip("pandas")
    frame = partial_fit_chunks(
        FCNNRegressor((8,), random_state=0),
        pd.DataFrame(X),
        pd.Series(target, index=np.arange(N_ROWS) + 5),
        epochs=2,
        chunk_rows=500,
        random_state=0,
    )
    _assert_same_model(frame, dense)


def test_streamed_training_learns():
    X, y = _problem()
    model = partial_fit_chunks(
        _model(learning_rate_init=0.01),
        X[:, 1:],
        y,
        epochs=5,
        chunk_rows=400,
        classes=[0, 1],
        random_state=0,
    )
    assert model.score(X[:, 1:], y) > 0.95


def _extra_peak(call):
    """Peak traced bytes during ``call()`` above what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("prefetch", [True, False])
def test_memory_does_not_grow_with_the_file(tmp_path, prefetch):
    # the same chunks from a file 4x longer: what is allocated at a time must not
    # change (tracemalloc sees numpy's arrays and the kernels' workspaces)
    chunk_rows, n_features = 1000, 64
    chunk_bytes = chunk_rows * n_features * 4
    peaks = {}
    for n in (8000, 32000):
        rng = np.random.default_rng(0)
        path = tmp_path / f"X{n}.npy"
        X = np.lib.format.open_memmap(path, "w+", np.float32, shape=(n, n_features))
        X[:] = rng.standard_normal(X.shape, dtype=np.float32)
        X.flush()
        del X
        X = np.load(path, mmap_mode="r")
        y = _memmap(tmp_path, rng.integers(0, 3, n), f"y{n}.npy")
        peaks[n] = _extra_peak(
            partial(
                partial_fit_chunks,
                FCNNClassifier((32,), random_state=0),
                X,
                y,
                chunk_rows=chunk_rows,
                classes=[0, 1, 2],
                random_state=0,
                prefetch=prefetch,
            )
        )
    file_bytes = 32000 * n_features * 4
    # the chunk trained on, the one being read and the estimator's own temporaries
    assert peaks[32000] < 6 * chunk_bytes < file_bytes / 5, peaks
    if not prefetch:  # with prefetch, how the two threads overlap varies
        # per-call records (loss curve, gradient norms) grow a few bytes a chunk
        assert abs(peaks[32000] - peaks[8000]) < chunk_bytes / 10, peaks


# --- bad input: a clear error before any training -----------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, InvalidParameterError, "epochs"),
        ({"chunk_rows": 0}, InvalidParameterError, "chunk_rows"),
        ({"chunk_rows": 2.5}, InvalidParameterError, "chunk_rows"),
        ({"prefetch": "yes"}, InvalidParameterError, "prefetch"),
        ({"random_state": "zero"}, InvalidParameterError, "random_state"),
        ({"sample_weight": np.ones(3)}, ValueError, "sample_weight has 3"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X, y = _problem(100)
    model = _model()
    with pytest.raises(error, match=match):
        partial_fit_chunks(model, X, y, classes=[0, 1], **kwargs)
    assert not hasattr(model, "coefs_")


def test_bad_data():
    X, y = _problem(100)
    with pytest.raises(TypeError, match="X must be an array-like with a shape"):
        partial_fit_chunks(_model(), iter(X), y, classes=[0, 1])
    with pytest.raises(ValueError, match="X must be 2-D"):
        partial_fit_chunks(_model(), X[:, 0], y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has no rows"):
        partial_fit_chunks(_model(), X[:0], y[:0], classes=[0, 1])
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        partial_fit_chunks(_model(), X, y[:99], classes=[0, 1])
    # an estimator that cannot train incrementally is refused before any reading
    with pytest.raises(InvalidParameterError, match="estimator"):
        partial_fit_chunks(_model(solver="lbfgs"), X, y, classes=[0, 1])


def test_unknown_dask_chunk_sizes_are_refused():
    da = pytest.importorskip("dask.array")
    X, y = _problem(100)
    X_dask = da.from_array(X, chunks=50)
    X_dask = X_dask[X_dask[:, 1] > -10]  # rows unknown until computed
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        partial_fit_chunks(_model(), X_dask, y, classes=[0, 1])


@pytest.mark.parametrize("prefetch", [True, False])
def test_an_error_in_partial_fit_reaches_the_caller(prefetch):
    X, y = _problem(1000)
    # a classifier's first partial_fit call needs every class
    with pytest.raises(ValueError, match="classes"):
        partial_fit_chunks(_model(), X, y, chunk_rows=100, prefetch=prefetch)
