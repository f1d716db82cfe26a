"""Training on a file on disk, chunk by chunk, with ``partial_fit_chunks``.

Writes a float32 data set to a temporary directory as ``.npy`` files, opens them as
memory maps and trains on them without loading them: every epoch visits chunks of
rows in a new random order, the rows of each chunk shuffled, and reads the next
chunk in the background while the current one trains. The same call takes an h5py
or zarr dataset or a dask array in place of the memory map. The files are deleted
at the end.

Run: python examples/stream_from_disk.py [--rows 1000000] [--epochs 3]
"""

import argparse
import os
import tempfile
import time

import numpy as np

from fcnn_sk import FCNNClassifier, partial_fit_chunks

N_FEATURES, N_CLASSES = 32, 4


def write_data(directory, n_rows, seed=0):
    """A classification problem written block by block (never all in memory)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((N_FEATURES, N_CLASSES))
    X = np.lib.format.open_memmap(
        os.path.join(directory, "X.npy"), "w+", np.float32, shape=(n_rows, N_FEATURES)
    )
    y = np.lib.format.open_memmap(
        os.path.join(directory, "y.npy"), "w+", np.int64, shape=(n_rows,)
    )
    for start in range(0, n_rows, 100_000):
        block = rng.standard_normal((min(100_000, n_rows - start), N_FEATURES))
        X[start : start + len(block)] = block
        scores = np.tanh(block) @ W + 0.3 * rng.standard_normal((len(block), N_CLASSES))
        y[start : start + len(block)] = scores.argmax(axis=1)
    X.flush()
    y.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        write_data(directory, args.rows)
        X = np.load(os.path.join(directory, "X.npy"), mmap_mode="r")
        y = np.load(os.path.join(directory, "y.npy"), mmap_mode="r")
        n_test = args.rows // 10
        X_train, y_train = X[n_test:], y[n_test:]  # still on disk
        print(
            f"{X_train.shape[0]} training rows of {N_FEATURES} float32 features on "
            f"disk ({X_train.nbytes / 2**20:.0f} MiB), chunks of {args.chunk_rows} "
            f"rows ({args.chunk_rows * N_FEATURES * 4 / 2**20:.1f} MiB)"
        )

        model = FCNNClassifier((64,), learning_rate_init=3e-3, random_state=0)
        rng = np.random.RandomState(0)  # new chunk orders on every call
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            partial_fit_chunks(
                model,
                X_train,
                y_train,
                chunk_rows=args.chunk_rows,
                classes=np.arange(N_CLASSES),
                random_state=rng,
            )
            seconds = time.perf_counter() - start
            accuracy = model.score(X[:n_test], y[:n_test])
            print(
                f"epoch {epoch}: {X_train.shape[0] / seconds:9.0f} rows/s, "
                f"held-out accuracy {accuracy:.3f}"
            )
        del X, y, X_train, y_train  # close the memory maps before the files go


if __name__ == "__main__":
    main()
