#!/usr/bin/env python
"""Training chunk by chunk from a 4 GiB file against the same epochs in memory.

    python benchmarks/stream.py                       # about 15 minutes on 2 cores
    python benchmarks/stream.py --gib 1 --epochs 1 --storage npy

Writes a float32 data set of --gib GiB (256 features, so 1 KiB a row; 10 classes)
under /tmp, once as an HDF5 dataset (h5py, if installed) and once as a ``.npy`` file
opened as a ``numpy.memmap``, and deletes both at the end. Each measurement runs in a
fresh interpreter:

  streamed   ``partial_fit_chunks`` over the whole file for --epochs epochs, chunks of
             --chunk-mib MiB, the next chunk read while the current one trains
             (--no-prefetch-too: also one chunk after another); with --cold the
             file's pages are dropped from the page cache before every epoch
             (posix_fadvise), so every epoch reads the disk
  in memory  ``fit`` for the same epochs on the first --subset-gib GiB of rows,
             loaded into memory first (loading not timed)
  reading    (--read-too) ``partial_fit_chunks`` as streamed, with prefetch off and
             an estimator whose ``partial_fit`` does nothing: what reading and
             shuffling a chunk costs, per row, without the training

Both train the same network (256-128-10, Adam, batch 200) with BLAS limited to
--blas-threads threads. Reported: rows per second (rows x epochs / training time)
and per CPU second (the process's CPU time, all threads: what the reading and
shuffling cost on top of training, whatever else the machine runs), each against
the in-memory fit, and memory: the resident size after setup, and its
peak during training (VmHWM after resetting it) together with the peak of the
process's own (anonymous) memory, sampled every 5 ms. The pages of a memory-mapped
file that the process has read count in its resident size until the kernel reclaims
them (RssFile); the anonymous peak is what the process itself holds. Medians over
--reps repetitions.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
N_FEATURES, N_CLASSES, HIDDEN = 256, 10, (128,)

CHILD = r"""
import json, os, sys, threading, time
import numpy as np
from threadpoolctl import threadpool_limits
from fcnn_sk import FCNNClassifier, partial_fit_chunks

spec = json.loads(sys.argv[1])


def status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


class AnonPeak(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, status()["RssAnon"])
            time.sleep(0.005)


def open_data():
    if spec["storage"] == "hdf5":
        import h5py
        return h5py.File(spec["path"], "r")["X"]
    return np.load(spec["path"], mmap_mode="r")


class Reader:
    # an estimator that only takes the chunks: the cost of reading them

    def partial_fit(self, X, y, classes=None):
        return self


X = open_data()
y = np.load(spec["y"])
if spec["mode"] == "read":
    model = Reader()
else:
    model = FCNNClassifier(tuple(spec["hidden"]), random_state=0, tol=0.0,
                           n_iter_no_change=10**9, max_iter=spec["epochs"])
if spec["mode"] == "memory":
    n = spec["rows"]
    X, y = np.array(X[:n]), y[:n]
    X.setflags(write=False)
else:
    n = X.shape[0]
setup = status()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident size
sampler = AnonPeak()
sampler.start()
seconds = 0.0
cpu = time.process_time()
with threadpool_limits(spec["blas_threads"], user_api="blas"):
    if spec["mode"] == "memory":
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    else:
        rng = np.random.RandomState(0)
        for epoch in range(spec["epochs"]):
            if spec["cold"]:
                # pages still mapped or dirty stay cached: unmap, write back, drop
                del X
                fd = os.open(spec["path"], os.O_RDONLY)
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                os.close(fd)
                X = open_data()
            start = time.perf_counter()
            partial_fit_chunks(model, X, y, chunk_rows=spec["chunk_rows"],
                               classes=np.arange(spec["classes"]), random_state=rng,
                               prefetch=spec["prefetch"])
            seconds += time.perf_counter() - start
cpu = time.process_time() - cpu  # all threads, the sampler's polls included
sampler.running = False
sampler.join()
end = status()
print(json.dumps({"rows_per_s": n * spec["epochs"] / seconds, "seconds": seconds,
                  "rows_per_cpu_s": n * spec["epochs"] / cpu,
                  "rows": n, "setup_rss": setup["VmRSS"], "peak_rss": end["VmHWM"],
                  "peak_anon": sampler.peak, "end_rss_file": end["RssFile"],
                  "loss": float(model.loss_curve_[-1]) if spec["mode"] != "read"
                  else None}))
"""


def write_data(directory, n_rows, storages):
    """X (float32, n_rows x N_FEATURES) in each storage, written in blocks, and y."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((N_FEATURES, N_CLASSES)).astype(np.float32)
    paths = {}
    npy = h5 = None
    if "npy" in storages:
        paths["npy"] = os.path.join(directory, "X.npy")
        npy = np.lib.format.open_memmap(
            paths["npy"], "w+", np.float32, shape=(n_rows, N_FEATURES)
        )
    if "hdf5" in storages:
        import h5py

        paths["hdf5"] = os.path.join(directory, "X.h5")
        h5_file = h5py.File(paths["hdf5"], "w")
        h5 = h5_file.create_dataset("X", shape=(n_rows, N_FEATURES), dtype=np.float32)
    y = np.empty(n_rows, dtype=np.int64)
    block = 1 << 16
    for start in range(0, n_rows, block):
        X = rng.standard_normal(
            (min(block, n_rows - start), N_FEATURES), dtype=np.float32
        )
        y[start : start + len(X)] = (np.tanh(X) @ W).argmax(axis=1)
        if npy is not None:
            npy[start : start + len(X)] = X
        if h5 is not None:
            h5[start : start + len(X)] = X
    if npy is not None:
        npy.flush()
        del npy
    if h5 is not None:
        h5_file.close()
    paths["y"] = os.path.join(directory, "y.npy")
    np.save(paths["y"], y)
    return paths


def measure(spec):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]
        ),
    }
    run = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr)
    return json.loads(run.stdout.strip().splitlines()[-1])


def mib(n):
    return f"{n / 2**20:8.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--subset-gib", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--chunk-mib", type=float, default=64.0)
    parser.add_argument(
        "--storage", nargs="+", default=["hdf5", "npy"], choices=["hdf5", "npy"]
    )
    parser.add_argument("--cold", action="store_true")
    parser.add_argument(
        "--no-prefetch-too", action="store_true", help="also stream with prefetch=False"
    )
    parser.add_argument(
        "--read-too", action="store_true", help="also read the chunks without training"
    )
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args(argv)
    storages = list(args.storage)
    if "hdf5" in storages:
        try:
            import h5py  # noqa: F401
        except ImportError:
            print("h5py is not installed: HDF5 left out")
            storages.remove("hdf5")

    row_bytes = N_FEATURES * 4
    n_rows = int(args.gib * 2**30) // row_bytes
    chunk_rows = int(args.chunk_mib * 2**20) // row_bytes
    subset_rows = int(args.subset_gib * 2**30) // row_bytes
    directory = tempfile.mkdtemp(prefix="fcnn_sk_stream_", dir=args.dir)
    try:
        start = time.perf_counter()
        paths = write_data(directory, n_rows, storages)
        print(
            f"{n_rows} rows x {N_FEATURES} float32 features ({args.gib:g} GiB) "
            f"written to {directory} as {', '.join(storages)} in "
            f"{time.perf_counter() - start:.0f} s; network {N_FEATURES}-"
            f"{'-'.join(map(str, HIDDEN))}-{N_CLASSES}, {args.epochs} epochs, "
            f"BLAS threads {args.blas_threads}, chunks of {chunk_rows} rows "
            f"({args.chunk_mib:g} MiB){', cold page cache' if args.cold else ''}",
            flush=True,
        )
        base = {
            "hidden": HIDDEN,
            "epochs": args.epochs,
            "classes": N_CLASSES,
            "blas_threads": args.blas_threads,
            "y": paths["y"],
            "chunk_rows": chunk_rows,
            "cold": args.cold,
        }
        runs = {
            "in memory": dict(
                base,
                mode="memory",
                storage=storages[0],
                path=paths[storages[0]],
                rows=subset_rows,
            )
        }
        for storage in storages:
            for prefetch in (True, False) if args.no_prefetch_too else (True,):
                name = f"streamed {storage}" + ("" if prefetch else ", no prefetch")
                runs[name] = dict(
                    base,
                    mode="stream",
                    storage=storage,
                    path=paths[storage],
                    prefetch=prefetch,
                )
            if args.read_too:
                runs[f"reading {storage}"] = dict(
                    base,
                    mode="read",
                    storage=storage,
                    path=paths[storage],
                    prefetch=False,
                )
        results = {name: [] for name in runs}
        for rep in range(args.reps):
            names = list(runs)[rep % len(runs) :] + list(runs)[: rep % len(runs)]
            for name in names:
                results[name].append(measure(runs[name]))
            print(
                f"repetition {rep + 1}/{args.reps} done; load average "
                f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}",
                flush=True,
            )
    finally:
        shutil.rmtree(directory)

    def med(name, key):
        return statistics.median(r[key] for r in results[name])

    memory_speed = med("in memory", "rows_per_s")
    memory_cpu = med("in memory", "rows_per_cpu_s")
    print(
        f"\n{'run':<30}{'rows':>10}{'rows/s':>10}{'vs memory':>11}"
        f"{'rows/cpu s':>12}{'vs memory':>11}"
        f"{'setup RSS':>11}{'peak RSS':>10}{'peak anon':>11}{'file RSS':>10}  MiB"
    )
    for name in runs:
        speed = med(name, "rows_per_s")
        per_cpu = med(name, "rows_per_cpu_s")
        print(
            f"{name:<30}{results[name][0]['rows']:>10}{speed:>10.0f}"
            f"{speed / memory_speed:>10.2f}x{per_cpu:>12.0f}"
            f"{per_cpu / memory_cpu:>10.2f}x{mib(med(name, 'setup_rss')):>11}"
            f"{mib(med(name, 'peak_rss')):>10}{mib(med(name, 'peak_anon')):>11}"
            f"{mib(med(name, 'end_rss_file')):>10}"
        )
    rates = {name: [round(r["rows_per_s"]) for r in results[name]] for name in runs}
    print(f"\nrows/s per repetition: {rates}")
    print(f"chunk: {mib(chunk_rows * row_bytes).strip()} MiB of X")


if __name__ == "__main__":
    main()
