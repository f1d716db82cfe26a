"""GEMM floor: the matrix products of an MLP training step, timed alone.

One training step of an L-layer network needs 3L-1 matrix products:
  forward   L products   A[i] (batch x n_i) @ W[i] (n_i x n_{i+1})
  backward  L products   A[i].T @ D[i+1]          (weight gradients)
            L-1 products D[i+1] @ W[i].T          (deltas of the hidden layers)
Everything else a library does (bias, activation, loss, optimizer, shuffling, Python)
comes on top, so "library time / floor" says how much of the time is not BLAS.
All arrays are preallocated and every product writes with out=, so only the products
(and one numpy call per product) are timed.
"""

import math
import time

import numpy as np


class GemmFloor:
    def __init__(self, layer_sizes, batch, dtype, forward_only=False):
        rng = np.random.default_rng(0)
        dtype = np.dtype(dtype)

        def rand(*shape):
            return rng.standard_normal(shape).astype(dtype) * dtype.type(0.1)

        sizes = list(layer_sizes)
        self.forward_only = forward_only
        self.A = [rand(batch, n) for n in sizes]  # activations, A[0] = input batch
        self.W = [rand(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        if not forward_only:
            self.D = [None] + [rand(batch, n) for n in sizes[1:]]  # deltas
            self.G = [np.empty_like(w) for w in self.W]  # weight gradients

    def step(self):
        A, W = self.A, self.W
        L = len(W)
        for i in range(L):
            np.matmul(A[i], W[i], out=A[i + 1])
        if self.forward_only:
            return
        D, G = self.D, self.G
        for i in range(L - 1, -1, -1):
            np.matmul(A[i].T, D[i + 1], out=G[i])
            if i > 0:
                np.matmul(D[i + 1], W[i].T, out=D[i])

    def time_steps(self, min_time=0.1, max_steps=5000):
        """Seconds per step: mean over consecutive steps (after one warm-up step) until
        min_time has passed or max_steps steps were done."""
        self.step()
        n = 0
        t0 = time.perf_counter()
        while True:
            self.step()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time or n >= max_steps:
                return elapsed / n


def floor_time(layer_sizes, n_rows, batch, dtype, forward_only=False):
    """Floor time of one epoch: (time of one step's products) x ceil(n_rows / batch)."""
    floor = GemmFloor(layer_sizes, batch, dtype, forward_only=forward_only)
    return floor.time_steps() * math.ceil(n_rows / batch)
