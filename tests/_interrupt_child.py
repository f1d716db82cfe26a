"""Child process of test_interrupt.py: compiled work that takes seconds, interrupted.

``python _interrupt_child.py kernels|fit`` prints ``ready`` just before each piece of
work starts (the parent then sends SIGINT) and, at the end, one JSON line with what
it found: how far each piece got, and whether its state is the one it should be.
"""

import json
import signal
import sys
import time
import warnings
from functools import lru_cache

import numpy as np
from threadpoolctl import threadpool_limits

from fcnn_sk import FCNNClassifier, _compiled
from fcnn_sk._network import kernel_input, make_network

kernels = _compiled.kernels
N_SAMPLES, N_FEATURES, HIDDEN, N_CLASSES = 30000, 256, (1024, 1024), 10
BATCH, CHUNK = 64, 512
# one BLAS thread, so that the work takes seconds on machines with many cores too
threadpool_limits(1)


def ready():
    print("ready", flush=True)


@lru_cache
def problem(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES), dtype=dtype)
    y = rng.integers(0, N_CLASSES, N_SAMPLES)
    Y = np.eye(N_CLASSES, dtype=dtype)[y]
    return X, y, Y


def network_and_params(dtype, dropout=None):
    network = make_network(
        [N_FEATURES, *HIDDEN, N_CLASSES], "relu", "log_loss", dropout=dropout
    )
    rng = np.random.default_rng(1)
    return network, rng.normal(scale=0.03, size=network.n_params).astype(dtype)


def epoch():
    """An epoch of float32 Adam with dropout on shuffled rows, interrupted; then the
    mini-batches it reports as done, replayed from the same start."""
    X, _, Y = problem(np.float32)
    network, params = network_and_params(np.float32, dropout=[0.1, 0.2, 0.2])
    hyper = kernels.Hyperparameters("adam", learning_rate=1e-3, max_grad_norm=5.0)
    order = np.random.default_rng(2).permutation(N_SAMPLES).astype(np.intp)
    no_weights = np.empty(0, np.float32)

    def run(rows):
        state = [params.copy(), np.zeros_like(params), np.zeros_like(params)]
        norms = np.zeros(network.n_layers)
        result = kernels.train_epoch(
            network,
            hyper,
            *state,
            *kernel_input(X),
            Y.reshape(-1),
            no_weights,
            rows,
            batch_size=BATCH,
            shuffled=True,
            step=3,
            seed=11,
            grad_norms=norms,
        )
        return result, state, norms

    ready()
    result, state, norms = run(order)
    returned_at = time.monotonic()
    replay, replay_state, replay_norms = run(order[: result.n_rows])
    return dict(
        n_samples=N_SAMPLES,
        batch=BATCH,
        returned_at=returned_at,
        result=result._asdict(),
        replay=replay._asdict(),
        same_state=all(np.array_equal(a, b) for a, b in zip(state, replay_state)),
        same_norms=bool(np.array_equal(norms, replay_norms)),
        trained=not np.array_equal(state[0], params),
    )


def interrupt_records(snapshot):
    """A SIGINT handler that stores ``snapshot()`` and raises KeyboardInterrupt: it
    sees the kernel's output as it was when the kernel let it run."""
    seen = {}

    def handler(signum, frame):
        seen["at_signal"] = snapshot()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    return seen


def interrupted(call):
    ready()
    try:
        call()
    except KeyboardInterrupt:
        return True, time.monotonic()
    return False, time.monotonic()


def forward_rows():
    """Predictions in chunks, interrupted: how many rows were written."""
    X, _, _ = problem(np.float64)
    network, params = network_and_params(np.float64)
    out = np.full((N_SAMPLES, N_CLASSES), np.nan)
    seen = interrupt_records(lambda: int(np.isfinite(out[:, 0]).sum()))
    raised, returned_at = interrupted(
        lambda: kernels.forward_rows(network, params, *kernel_input(X), out, None, 2048)
    )
    return dict(
        n_samples=N_SAMPLES,
        chunk=2048,
        raised=raised,
        returned_at=returned_at,
        rows_at_signal=seen.get("at_signal"),
        rows_written=int(np.isfinite(out[:, 0]).sum()),
    )


def loss_grad():
    """Loss and gradient in chunks, interrupted: the gradient as the signal handler
    saw it is the sum over how many whole chunks."""
    X, _, Y = problem(np.float64)
    network, params = network_and_params(np.float64)
    no_weights = np.empty(0)
    grad = np.empty_like(params)
    seen = interrupt_records(grad.copy)
    raised, returned_at = interrupted(
        lambda: kernels.loss_grad(
            network,
            params,
            grad,
            *kernel_input(X),
            Y.reshape(-1),
            no_weights,
            0.0,
            CHUNK,
        )
    )
    signal.signal(signal.SIGINT, signal.default_int_handler)
    n_chunks = -(-N_SAMPLES // CHUNK)
    chunks_at_signal = None
    if "at_signal" in seen:
        # each chunk's share of the gradient of the mean loss over all rows, added up
        # until the sum is what the handler saw
        total, part = np.zeros_like(params), np.empty_like(params)
        for j in range(n_chunks):
            rows = slice(j * CHUNK, (j + 1) * CHUNK)
            kernels.loss_grad(
                network,
                params,
                part,
                *kernel_input(X[rows]),
                Y[rows].reshape(-1),
                no_weights,
                0.0,
                CHUNK,
            )
            total += part * (len(X[rows]) / N_SAMPLES)
            scale = np.abs(total).max()
            if np.allclose(seen["at_signal"], total, rtol=1e-9, atol=1e-12 * scale):
                chunks_at_signal = j + 1
                break
    return dict(
        n_chunks=n_chunks,
        raised=raised,
        returned_at=returned_at,
        chunks_at_signal=chunks_at_signal,
    )


def fit():
    """An estimator's fit, interrupted in its first epoch."""
    X, y, _ = problem(np.float32)
    train_epoch, results = kernels.train_epoch, []

    def announced(*args, **kwargs):
        ready()
        results.append(train_epoch(*args, **kwargs))
        return results[-1]

    kernels.train_epoch = announced
    est = FCNNClassifier(HIDDEN, batch_size=BATCH, max_iter=3, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    returned_at = time.monotonic()
    return dict(
        n_samples=N_SAMPLES,
        returned_at=returned_at,
        calls=len(results),
        result=results[0]._asdict(),
        n_iter=est.n_iter_,
        t=est.t_,
        n_losses=len(est.loss_curve_),
        step=est._training.optimizer.step,
        warnings=[str(w.message) for w in caught],
        predicts=bool(np.isfinite(est.predict_proba(X[:100])).all()),
    )


if __name__ == "__main__":
    if sys.argv[1] == "kernels":
        report = {
            "epoch": epoch(),
            "forward_rows": forward_rows(),
            "loss_grad": loss_grad(),
        }
    else:
        report = {"fit": fit()}
    print(json.dumps(report), flush=True)
