#!/usr/bin/env python
"""Speed benchmarks: fcnn_sk vs scikit-learn's MLP vs a hand-written PyTorch CPU loop.

    python benchmarks/run.py --quick          # < 5 minutes on 2 cores
    python benchmarks/run.py                  # full suite, < 30 minutes on 2 cores
    python benchmarks/run.py --only mnist --threads 1 --reps 3 --json /tmp/r.json

For every configuration it reports the median (over --reps repetitions, libraries
alternating within each repetition) of
  * fit time per epoch (fixed epoch count: tol=0, n_iter_no_change=10**9, max_iter=epochs),
    per iteration for lbfgs, per call for predict;
  * the GEMM floor: the 3L-1 matrix products of one training step alone x steps per epoch
    (one full-batch step for lbfgs, the L forward products for predict), see _floor.py;
the speed-up of N threads over 1 (median over repetitions of the paired 1-thread /
N-thread times: each repetition runs every thread count); and the extra peak RSS of fit
and predict on the MNIST-size case, each library in a fresh subprocess. BLAS (and torch)
threads are pinned with threadpoolctl for each --threads value.
torch is optional (pip install torch); a library that is missing or fails shows "n/a".
"""

import argparse
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np
import scipy
import sklearn
from _core_latency import hop_ns
from _floor import floor_time
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_info, threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = ("fcnn_sk", "sklearn", "torch")
N_ITER_NO_CHANGE = 10**9
COOL_DOWN_S = 0.5
NEAR_FACTOR = 2.0

warnings.filterwarnings("ignore", category=ConvergenceWarning)


# --------------------------------------------------------------------------- libraries


def import_fcnn():
    """The fcnn_sk module, or None. Falls back to the checkout (in-place build)."""
    try:
        from fcnn_sk import FCNNClassifier, FCNNRegressor  # noqa: F401
    except ImportError:
        sys.path.append(os.path.dirname(HERE))
        try:
            from fcnn_sk import FCNNClassifier, FCNNRegressor  # noqa: F401
        except ImportError as exc:
            print(f"fcnn_sk not importable: {exc}", file=sys.stderr)
            return None
    return sys.modules["fcnn_sk"]


def import_torch_loop():
    """The _torch_loop module (needs torch), or None."""
    try:
        import _torch_loop
    except ImportError:
        return None
    return _torch_loop


# --------------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config:
    name: str
    data: str  # "tabular" | "digits" | "regression" | "mnist"
    hidden: tuple
    solver: str = "adam"
    dtype: str = "float64"
    batch: int = 200
    epochs: int = 10  # epochs; lbfgs: max_iter
    kind: str = "fit"  # "fit" | "predict"
    n_rows: int = 0  # 0: the dataset's default size
    reps: int = 5

    @property
    def metric(self):
        return {
            "fit": "ms/iter" if self.solver == "lbfgs" else "ms/epoch",
            "predict": "ms/call",
        }[self.kind]


def mnist_rows(quick):
    return 10_000 if quick else 60_000


def make_configs(quick):
    short = {"float32": "f32", "float64": "f64"}
    mnist_h = (512, 256)
    rows = mnist_rows(quick)
    tag = f" [{rows} rows, --quick]" if quick else ""

    configs = [
        Config("tabular 20-64-3 adam f64 b200", "tabular", (64,), epochs=20),
        Config("digits 64-100-10 adam f64 b200", "digits", (100,), epochs=50),
        Config(
            "regression 50-128-64-1 adam f64 b200", "regression", (128, 64), epochs=10
        ),
    ]
    # MNIST-size: one factor at a time from adam/float32/batch 128 (the full factorial
    # grid would not fit in 30 minutes on 2 cores); --quick keeps only the base case.
    combos = [("adam", "float32", 128)]
    if not quick:
        combos += [
            ("adam", "float64", 128),
            ("sgd", "float32", 128),
            ("adam", "float32", 32),
        ]
    for solver, dtype, batch in combos:
        configs.append(
            Config(
                f"mnist 784-512-256-10 {solver} {short[dtype]} b{batch}{tag}",
                "mnist",
                mnist_h,
                solver=solver,
                dtype=dtype,
                batch=batch,
                epochs=3,
                n_rows=rows,
                reps=3,
            )
        )
    configs.append(
        Config(
            "digits 64-100-10 lbfgs f64", "digits", (100,), solver="lbfgs", epochs=100
        )
    )
    for dtype in ["float32"] if quick else ["float32", "float64"]:
        configs.append(
            Config(
                f"predict mnist 784-512-256-10 {short[dtype]}{tag}",
                "mnist",
                mnist_h,
                dtype=dtype,
                kind="predict",
                n_rows=rows,
                reps=5,
            )
        )
    return configs


# --------------------------------------------------------------------------- data


@cache
def load_data(data, n_rows, dtype):
    """(X, y, is_classification); synthetic data from default_rng(0) except digits."""
    rng = np.random.default_rng(0)
    if data == "digits":
        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(dtype), y, True
    n, d, k, classification = {
        "tabular": (10_000, 20, 3, True),
        "regression": (20_000, 50, 1, False),
        "mnist": (60_000, 784, 10, True),
    }[data]
    n = n_rows or n
    X = rng.standard_normal((n, d), dtype=np.dtype(dtype).type)
    if classification:  # labels of a random linear teacher
        W = rng.standard_normal((d, k)).astype(dtype)
        y = np.argmax(X @ W, axis=1)
    else:  # a small random tanh teacher plus noise
        W = rng.standard_normal((d, 16)).astype(dtype) / np.sqrt(d)
        y = np.tanh(X @ W) @ rng.standard_normal(16) + 0.1 * rng.standard_normal(n)
    return X, y, classification


def layer_sizes(cfg, X, y, classification):
    n_out = len(np.unique(y)) if classification else 1
    return [X.shape[1], *cfg.hidden, n_out]


# --------------------------------------------------------------------------- runners


def make_estimator(lib, cfg, classification, max_iter, fcnn):
    if lib == "fcnn_sk":
        cls = fcnn.FCNNClassifier if classification else fcnn.FCNNRegressor
    else:
        cls = MLPClassifier if classification else MLPRegressor
    return cls(
        hidden_layer_sizes=cfg.hidden,
        solver=cfg.solver,
        batch_size=cfg.batch,
        max_iter=max_iter,
        tol=0.0,
        n_iter_no_change=N_ITER_NO_CHANGE,
        random_state=0,
        learning_rate_init=1e-3,
        shuffle=True,
    )


def fit_model(lib, cfg, X, y, classification, max_iter, mods):
    """Fit one library's model; returns (model, iterations done)."""
    if lib == "torch":
        return mods["torch"].fit(
            X,
            y,
            cfg.hidden,
            classification=classification,
            solver=cfg.solver,
            batch_size=cfg.batch,
            epochs=max_iter,
        )
    est = make_estimator(lib, cfg, classification, max_iter, mods["fcnn_sk"])
    est.fit(X, y)
    return est, est.n_iter_


def predict_model(lib, model, X, classification, mods):
    if lib == "torch":
        return mods["torch"].predict(model, X, classification)
    return model.predict(X)


def time_fit(lib, cfg, X, y, classification, mods):
    """Seconds per epoch (per iteration for lbfgs), one-time setup included."""
    gc.collect()
    t0 = time.perf_counter()
    _, n_iter = fit_model(lib, cfg, X, y, classification, cfg.epochs, mods)
    elapsed = time.perf_counter() - t0
    if cfg.solver == "lbfgs":
        return elapsed / max(n_iter, 1)
    if n_iter != cfg.epochs:
        print(
            f"  warning: {lib} ran {n_iter} epochs instead of {cfg.epochs}",
            file=sys.stderr,
        )
    return elapsed / cfg.epochs


def time_predict(lib, model, X, classification, mods):
    gc.collect()
    t0 = time.perf_counter()
    predict_model(lib, model, X, classification, mods)
    return time.perf_counter() - t0


def time_floor(cfg, X, sizes):
    n = X.shape[0]
    if cfg.kind == "predict":
        return floor_time(sizes, n, n, X.dtype, forward_only=True)
    if cfg.solver == "lbfgs":  # one full-batch gradient evaluation per iteration
        return floor_time(sizes, n, n, X.dtype)
    return floor_time(sizes, n, cfg.batch, X.dtype)


def set_threads(n, mods):
    """Pin BLAS/OpenMP threads (process-wide) and torch's intra-op threads to n."""
    threadpool_limits(limits=n)
    if mods["torch"] is not None:
        import torch

        torch.set_num_threads(n)


def warm_up(mods):
    """Tiny fits and predicts so that lazy imports and first-call costs are not timed."""
    for dtype in ("float32", "float64"):
        X, y, _ = load_data("tabular", 400, dtype)
        for solver in ("adam", "sgd", "lbfgs"):
            cfg = Config(
                "warm-up", "tabular", (8,), solver=solver, dtype=dtype, batch=100
            )
            for lib in LIBS:
                if mods[lib] is None:
                    continue
                try:
                    model, _ = fit_model(lib, cfg, X, y, True, 2, mods)
                    predict_model(lib, model, X, True, mods)
                except Exception:  # reported by the real runs
                    pass


# --------------------------------------------------------------------------- one configuration


def bench_config(cfg, thread_counts, reps, mods):
    """Median times of every library and of the floor for one configuration, one
    result per thread count, plus the paired thread scaling.

    Each repetition runs every thread count, and within it every library and the
    floor (both orders rotated per repetition), so runs with different thread counts
    are close in time: the speed-up of N threads over 1 is the median over
    repetitions of that repetition's 1-thread / N-thread time. On a machine whose
    speed drifts, this pairing is steadier than a ratio of two medians.
    """
    X, y, classification = load_data(cfg.data, cfg.n_rows, cfg.dtype)
    sizes = layer_sizes(cfg, X, y, classification)
    libs = [lib for lib in LIBS if mods[lib] is not None]
    errors = {}

    models = {}
    if cfg.kind == "predict":  # weights only need to exist: fit one epoch on a few rows
        set_threads(max(thread_counts), mods)
        for lib in libs:
            try:
                models[lib], _ = fit_model(
                    lib, cfg, X[:1000], y[:1000], classification, 1, mods
                )
            except Exception as exc:
                errors[lib] = f"{type(exc).__name__}: {exc}"

    def run(lib):
        if lib == "floor":
            return time_floor(cfg, X, sizes)
        if cfg.kind == "predict":
            return time_predict(lib, models[lib], X, classification, mods)
        return time_fit(lib, cfg, X, y, classification, mods)

    entries = [lib for lib in libs if lib not in errors] + ["floor"]
    times = {t: {name: [] for name in entries} for t in thread_counts}
    hops = {t: {name: [] for name in entries} for t in thread_counts}
    for rep in range(reps):
        for threads in rotated(thread_counts, rep):
            set_threads(threads, mods)
            for name in rotated(entries, rep):
                if name in errors:
                    continue
                try:
                    before = hop_ns() if threads > 1 else None
                    times[threads][name].append(run(name))
                    after = hop_ns() if threads > 1 else None
                    hops[threads][name].append(slower_hop(before, after))
                except Exception as exc:
                    errors[name] = f"{type(exc).__name__}: {exc}"
                if threads > 1:
                    # Thread pools spin for a while after their work (numpy's and
                    # scipy's OpenBLAS, torch's OpenMP); let them go idle so they do
                    # not steal a core from the next run.
                    time.sleep(COOL_DOWN_S)
    for name, msg in errors.items():
        print(f"  {name} failed on {cfg.name!r}: {msg}", file=sys.stderr)

    results = []
    for threads in thread_counts:
        median = {
            name: statistics.median(t) if t and name not in errors else None
            for name, t in times[threads].items()
        }
        results.append(
            {
                "config": cfg.name,
                "threads": threads,
                "metric": cfg.metric,
                "params": asdict(cfg),
                "n_rows": X.shape[0],
                "layer_sizes": sizes,
                "median_s": {name: median.get(name) for name in (*LIBS, "floor")},
                "times_s": times[threads],
                "errors": errors,
                "ratios": ratios(median),
                "paired_speedups": paired_speedups(times, hops, threads, errors),
            }
        )
    return results


def slower_hop(before, after):
    """The core hop of a multi-threaded run: the slower of the probes just before and
    just after it, since the host may move the virtual CPUs apart in the middle of a
    run; None where either probe is unavailable."""
    return max(before, after) if before is not None and after is not None else None


def rotated(items, rep):
    items = list(items)
    k = rep % len(items)
    return items[k:] + items[:k]


def paired_speedups(times, hops, threads, errors):
    """Per library (and floor), per repetition: [1-thread time / ``threads``-thread
    time, core hop in ns around the ``threads``-thread run]; None without a 1-thread
    run."""
    if threads == 1 or 1 not in times:
        return None
    return {
        name: [
            [a / b, h]
            for a, b, h in zip(
                times[1][name], times[threads][name], hops[threads][name]
            )
        ]
        for name in times[threads]
        if name not in errors
    }


def median_speedups(paired, hop_limit=None):
    """Median of the paired speed-ups per library, over all repetitions or those
    whose core hop was at most ``hop_limit``; None where there is none."""
    out = {}
    for name in (*LIBS, "floor"):
        ratios_ = [
            r
            for r, h in paired.get(name, [])
            if hop_limit is None or (h is not None and h <= hop_limit)
        ]
        out[name] = statistics.median(ratios_) if ratios_ else None
    return out


def core_hops(result):
    """The core-to-core hops (ns) measured around a result's multi-threaded runs."""
    return [
        h for pairs in (result["paired_speedups"] or {}).values() for _, h in pairs if h
    ]


def add_speedups(results):
    """``speedup_over_1_thread`` (all repetitions) and ``speedup_cores_near`` (the
    repetitions whose multi-threaded run began and ended while the cores were near: a
    hop at most NEAR_FACTOR x the fastest hop of the whole benchmark, see
    _core_latency.py)."""
    hops = [h for r in results for h in core_hops(r)]
    limit = NEAR_FACTOR * min(hops) if hops else None
    for r in results:
        paired = r["paired_speedups"]
        r["speedup_over_1_thread"] = median_speedups(paired) if paired else None
        r["speedup_cores_near"] = (
            median_speedups(paired, limit) if paired and limit else None
        )
        r["near_hop_limit_ns"] = limit


def ratios(median):
    def ratio(a, b):
        a, b = median.get(a), median.get(b)
        return a / b if a and b else None

    return {
        "sklearn/fcnn": ratio("sklearn", "fcnn_sk"),
        "torch/fcnn": ratio("torch", "fcnn_sk"),
        "fcnn/floor": ratio("fcnn_sk", "floor"),
    }


# --------------------------------------------------------------------------- memory


def rss_kb(field):
    """VmRSS (current) or VmHWM (peak) of this process in kB, from /proc/self/status."""
    with open("/proc/self/status") as f:
        return int(re.search(rf"{field}:\s+(\d+)", f.read()).group(1))


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(spec):
    """Runs in a fresh interpreter: extra peak RSS of one fit or predict, printed as JSON."""
    mods = {
        "fcnn_sk": import_fcnn() if spec["lib"] == "fcnn_sk" else None,
        "sklearn": sklearn,
        "torch": import_torch_loop() if spec["lib"] == "torch" else None,
    }
    if mods[spec["lib"]] is None:
        print(json.dumps({"error": "not importable"}))
        return
    set_threads(spec["threads"], mods)
    cfg = Config(
        "memory",
        "mnist",
        (512, 256),
        dtype=spec["dtype"],
        batch=128,
        n_rows=spec["rows"],
    )
    X, y, classification = load_data("mnist", cfg.n_rows, cfg.dtype)
    if spec["phase"] == "predict":
        model, _ = fit_model(
            spec["lib"], cfg, X[:1000], y[:1000], classification, 1, mods
        )
    gc.collect()
    baseline = rss_kb("VmRSS")
    exact = reset_peak_rss()
    if spec["phase"] == "fit":
        fit_model(spec["lib"], cfg, X, y, classification, 1, mods)
    else:
        predict_model(spec["lib"], model, X, classification, mods)
    # ru_maxrss (kB on Linux) is the fallback; it may include the data-generation peak
    peak = (
        rss_kb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    )
    print(
        json.dumps(
            {
                "baseline_mb": baseline / 1024,
                "peak_mb": peak / 1024,
                "extra_mb": (peak - baseline) / 1024,
            }
        )
    )


def measure_memory(rows, dtype, threads):
    """Extra peak RSS of fit (1 epoch, adam, batch 128) and predict per library."""
    results = []
    for phase in ("fit", "predict"):
        for lib in LIBS:
            spec = {
                "lib": lib,
                "phase": phase,
                "rows": rows,
                "dtype": dtype,
                "threads": threads,
            }
            proc = subprocess.run(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--_child",
                    json.dumps(spec),
                ],
                capture_output=True,
                text=True,
            )
            try:
                out = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                out = {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
            if out.get("error", "not importable") != "not importable":
                print(f"  memory {lib} {phase} failed: {out['error']}", file=sys.stderr)
            results.append({**spec, **out})
    return results


# --------------------------------------------------------------------------- reporting


def kernel_build():
    """Which compiled build fcnn_sk runs here (baseline, or avx2 with FMA), which BLAS
    it multiplies with, and whether it issues small products to it in row blocks."""
    from fcnn_sk import _compiled

    blocks = (
        "at 1 thread" if _compiled.kernels.gemm_split_blas() else "never (other BLAS)"
    )
    return (
        f"{_compiled.name}; BLAS: {_compiled.blas}; "
        f"small products in row blocks: {blocks}"
    )


def machine_info(mods):
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    torch_version = "n/a"
    if mods["torch"] is not None:
        import torch

        torch_version = torch.__version__
    fcnn = mods["fcnn_sk"]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "torch": torch_version,
        "fcnn_sk": getattr(fcnn, "__version__", "unknown")
        if fcnn
        else "n/a (not importable)",
        "fcnn_sk kernels": kernel_build() if fcnn else "n/a",
        "threadpools": [
            f"{p['user_api']}: {p['internal_api']} {p.get('version')} "
            f"({p.get('architecture', '')}, {os.path.basename(p['filepath'])})"
            for p in threadpool_info()
        ],
    }


def fmt_ms(seconds):
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}x"


def print_machine(info):
    print("## Machine\n")
    for key, value in info.items():
        if key == "threadpools":
            for pool in value:
                print(f"- threadpool: {pool}")
        else:
            print(f"- {key}: {value}")
    print()


def print_table(results):
    print("## Time (median; lower is better)\n")
    print(
        "| configuration | threads | unit | fcnn_sk | sklearn | torch | GEMM floor "
        "| sklearn/fcnn | torch/fcnn | fcnn/floor |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        m, q = r["median_s"], r["ratios"]
        print(
            f"| {r['config']} | {r['threads']} | {r['metric']} | {fmt_ms(m['fcnn_sk'])} "
            f"| {fmt_ms(m['sklearn'])} | {fmt_ms(m['torch'])} | {fmt_ms(m['floor'])} "
            f"| {fmt_ratio(q['sklearn/fcnn'])} | {fmt_ratio(q['torch/fcnn'])} "
            f"| {fmt_ratio(q['fcnn/floor'])} |"
        )
    print()


def print_scaling(results):
    rows = [r for r in results if r["speedup_over_1_thread"]]
    if not rows:
        return
    print(
        "## Speed-up over 1 thread (median over repetitions of the paired "
        "1-thread / N-thread time; higher is better)\n"
    )
    near = rows[0]["near_hop_limit_ns"]
    head = "| configuration | threads | fcnn_sk | sklearn | torch | GEMM floor |"
    if near:
        print(
            f"*near*: only the repetitions whose N-thread run began and ended while "
            f"a core-to-core hop took <= {near:.0f} ns ({NEAR_FACTOR:g}x the fastest "
            f"hop seen); *core hop*: range over the N-thread runs.\n"
        )
        head += " fcnn_sk, near | floor, near | core hop, ns |"
    print(head)
    print("|---|---:" + "|---:" * (4 + (3 if near else 0)) + "|")
    for r in rows:
        s = r["speedup_over_1_thread"]
        cells = [fmt_ratio(s[name]) for name in (*LIBS, "floor")]
        if near:
            n = r["speedup_cores_near"]
            hops = core_hops(r)
            cells += [
                fmt_ratio(n["fcnn_sk"]),
                fmt_ratio(n["floor"]),
                f"{min(hops):.0f}-{max(hops):.0f}" if hops else "n/a",
            ]
        print(f"| {r['config']} | {r['threads']} | " + " | ".join(cells) + " |")
    print()


def print_memory(mem, rows, dtype, threads):
    print(
        f"## Extra peak RSS, MB (mnist 784-512-256-10 {dtype}, {rows} rows, adam b128, "
        f"fit = 1 epoch, {threads} threads; fresh process each, baseline = RSS after "
        f"loading data)\n"
    )
    print("| phase | fcnn_sk | sklearn | torch |")
    print("|---|---:|---:|---:|")
    for phase in ("fit", "predict"):
        cells = []
        for lib in LIBS:
            row = next(m for m in mem if m["lib"] == lib and m["phase"] == phase)
            cells.append(f"{row['extra_mb']:.0f}" if "extra_mb" in row else "n/a")
        print(f"| {phase} | " + " | ".join(cells) + " |")
    print()


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small run (< 5 minutes)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--json", default=os.path.join(HERE, "results.json"), metavar="PATH")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run configurations whose name contains NAME (repeatable; "
        "'memory' selects the memory measurement)",
    )
    p.add_argument(
        "--reps",
        type=int,
        help="repetitions per configuration (default 3 for MNIST-size fits, else 5)",
    )
    p.add_argument("--_child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def selected(name, only):
    return not only or any(s in name for s in only)


def main(argv=None):
    args = parse_args(argv)
    if args._child:
        memory_child(json.loads(args._child))
        return
    start = time.perf_counter()
    mods = {"fcnn_sk": import_fcnn(), "sklearn": sklearn, "torch": import_torch_loop()}
    info = machine_info(mods)
    print_machine(info)
    sys.stdout.flush()
    warm_up(mods)

    results = []
    for cfg in make_configs(args.quick):
        if not selected(cfg.name, args.only):
            continue
        threads = "/".join(map(str, args.threads))
        print(
            f"running {cfg.name}, {threads} thread(s) ...", file=sys.stderr, flush=True
        )
        results += bench_config(cfg, args.threads, args.reps or cfg.reps, mods)

    mem, mem_rows, mem_dtype, mem_threads = (
        [],
        mnist_rows(args.quick),
        "float32",
        max(args.threads),
    )
    if selected(f"memory mnist {mem_dtype}", args.only):
        print("running memory (fresh subprocesses) ...", file=sys.stderr, flush=True)
        mem = measure_memory(mem_rows, mem_dtype, mem_threads)

    runtime = time.perf_counter() - start
    add_speedups(results)
    if results:
        print_table(results)
        print_scaling(results)
    if mem:
        print_memory(mem, mem_rows, mem_dtype, mem_threads)
    print(f"mode: {'quick' if args.quick else 'full'}, total runtime {runtime:.0f} s")
    with open(args.json, "w") as f:
        json.dump(
            {
                "machine": info,
                "mode": "quick" if args.quick else "full",
                "args": {k: v for k, v in vars(args).items() if k != "_child"},
                "runtime_s": runtime,
                "results": results,
                "memory": {
                    "rows": mem_rows,
                    "dtype": mem_dtype,
                    "threads": mem_threads,
                    "runs": mem,
                },
            },
            f,
            indent=1,
        )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
