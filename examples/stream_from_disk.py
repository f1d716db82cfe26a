"""
Training on data on disk, chunk by chunk
========================================

:func:`~fcnn_sk.partial_fit_chunks` trains an estimator with ``partial_fit`` on
data that stays on disk: every epoch visits chunks of rows in a new random order,
the rows of each chunk shuffled, and reads the next chunk in the background while
the current one trains. Only a few chunks are in memory at a time, so the data may
be far larger than memory. The same call takes an h5py or zarr dataset or a dask
array in place of the memory map used here.
"""

import os
import shutil
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

from fcnn_sk import FCNNClassifier, partial_fit_chunks

N_ROWS, N_FEATURES, N_CLASSES = 500_000, 32, 4

# %%
# A data set on disk
# ------------------
# A classification problem written as ``.npy`` files block by block, never all in
# memory, to a temporary directory (deleted at the end).
directory = tempfile.mkdtemp()
rng = np.random.default_rng(0)
W = rng.standard_normal((N_FEATURES, N_CLASSES))
X_file = np.lib.format.open_memmap(
    os.path.join(directory, "X.npy"), "w+", np.float32, shape=(N_ROWS, N_FEATURES)
)
y_file = np.lib.format.open_memmap(
    os.path.join(directory, "y.npy"), "w+", np.int64, shape=(N_ROWS,)
)
for start in range(0, N_ROWS, 100_000):
    block = rng.standard_normal((min(100_000, N_ROWS - start), N_FEATURES))
    X_file[start : start + len(block)] = block
    scores = np.tanh(block) @ W + 0.3 * rng.standard_normal((len(block), N_CLASSES))
    y_file[start : start + len(block)] = scores.argmax(axis=1)
X_file.flush()
y_file.flush()
del X_file, y_file

# %%
# Training from the memory maps
# -----------------------------
# Opened as memory maps, the files are read only where rows are asked for. The first
# tenth of the rows is held out for testing; the rest trains the network in chunks
# of 50 000 rows (6 MiB), one call per epoch. A ``RandomState`` gives new chunk
# orders on every call.
X = np.load(os.path.join(directory, "X.npy"), mmap_mode="r")
y = np.load(os.path.join(directory, "y.npy"), mmap_mode="r")
n_test = N_ROWS // 10
X_train, y_train = X[n_test:], y[n_test:]  # still on disk
X_test, y_test = np.asarray(X[:n_test]), np.asarray(y[:n_test])
print(
    f"{X_train.shape[0]} training rows of {N_FEATURES} float32 features on disk "
    f"({X_train.nbytes / 2**20:.0f} MiB)"
)

model = FCNNClassifier((64,), learning_rate_init=3e-3, random_state=0)
order = np.random.RandomState(0)
accuracies = []
for epoch in range(1, 4):
    start = time.perf_counter()
    partial_fit_chunks(
        model,
        X_train,
        y_train,
        chunk_rows=50_000,
        classes=np.arange(N_CLASSES),
        random_state=order,
    )
    seconds = time.perf_counter() - start
    accuracies.append(model.score(X_test, y_test))
    print(
        f"epoch {epoch}: {X_train.shape[0] / seconds:9.0f} rows/s, "
        f"held-out accuracy {accuracies[-1]:.3f}"
    )

# %%
# The loss of every chunk
# -----------------------
# Each ``partial_fit`` call records one entry of ``loss_curve_``: the training loss
# on its chunk. A dotted line separates the epochs.
n_chunks = len(model.loss_curve_) // len(accuracies)
fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
ax.plot(np.arange(1, len(model.loss_curve_) + 1), model.loss_curve_, ".-")
for epoch in range(1, len(accuracies)):
    ax.axvline(epoch * n_chunks + 0.5, color="0.6", ls=":")
ax.set(xlabel="chunk (partial_fit call)", ylabel="training loss on the chunk")
ax.grid(alpha=0.3)
plt.show()

# %%
# The end: close the memory maps, then delete the files.
del X, y, X_train, y_train
shutil.rmtree(directory)
