#!/usr/bin/env python
"""How long Ctrl-C takes to stop compiled work: from SIGINT to the return of the call.

    python benchmarks/interrupt_latency.py            # 7 repetitions per case
    python benchmarks/interrupt_latency.py --reps 3 --threads 2

A child process runs each case repeatedly: a fit that would go on for hours, or
predictions (L-BFGS fits) one after the other. Each time it says it has started, the
parent waits a random 0.2-0.5 s, sends SIGINT and takes the time until the child
reports that control came back (the fit ending with its warning, or KeyboardInterrupt
raised). Both read the same monotonic clock. The kernels poll every 25 ms and stop at
the next mini-batch or chunk boundary, so the latency is about half the polling period
plus one mini-batch (or chunk); without polling it is the rest of the epoch or call
under way. POSIX only.
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = {
    "fit 784-512-256-10 adam f32 b128, 10000 rows": "fit",
    "fit 20-64-3 adam f64 b200, 10000 rows": "fit_small",
    "predict 784-512-256-10 f32, 10000 rows (chunks of 2048)": "predict",
    "fit 784-512-256-10 lbfgs f32, 10000 rows (chunks of 512)": "lbfgs",
}

CHILD = r'''
import sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
from fcnn_sk import FCNNClassifier

case, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
threadpool_limits(threads)
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
run = dict(tol=0.0, n_iter_no_change=10**9, random_state=0)
if case == "fit_small":
    X = rng.standard_normal((10_000, 20))
    y = np.argmax(X[:, :3], axis=1)
    est = FCNNClassifier((64,), batch_size=200, max_iter=10**6, **run)
else:
    X = rng.standard_normal((10_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    est = FCNNClassifier((512, 256), batch_size=128, max_iter=10**6, **run,
                         solver="lbfgs" if case == "lbfgs" else "adam")
if case == "predict":
    est.set_params(max_iter=1).fit(X[:1000], y[:1000])

def work():
    """Until Ctrl-C: a fit (its warning ends it) or calls that raise KeyboardInterrupt."""
    if case in ("fit", "fit_small"):
        est.fit(X, y)  # runs until interrupted
        return
    while True:
        est.predict(X) if case == "predict" else est.fit(X, y)

for _ in range(reps):
    print("ready", flush=True)
    try:
        work()
    except KeyboardInterrupt:
        pass
    print("returned", time.monotonic(), flush=True)
'''


def measure(case, reps, threads):
    """Seconds from each SIGINT to the return of the call it interrupted."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.path.dirname(HERE), env.get("PYTHONPATH")])
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, case, str(reps), str(threads)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    latencies, sent = [], None
    for line in child.stdout:
        if line.startswith("ready"):
            time.sleep(random.uniform(0.2, 0.5))
            sent = time.monotonic()
            child.send_signal(signal.SIGINT)
        elif line.startswith("returned"):
            latencies.append(float(line.split()[1]) - sent)
    if child.wait() != 0:
        raise RuntimeError(f"the child of {case!r} failed")
    return latencies


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = p.parse_args()
    random.seed(0)
    print(
        f"Ctrl-C latency, ms ({args.reps} repetitions, {args.threads} BLAS thread(s))\n"
    )
    print("| case | median | min | max |")
    print("|---|---:|---:|---:|")
    for name, case in CASES.items():
        ms = [1e3 * s for s in measure(case, args.reps, args.threads)]
        print(
            f"| {name} | {statistics.median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
