"""A hand-written PyTorch CPU training loop equivalent to sklearn's MLP (for benchmarks only).

Same architecture (ReLU hidden layers, softmax + cross-entropy or identity + half squared
error), same Glorot-uniform init bounds, same optimizer hyperparameters, same L2 penalty
(sklearn adds alpha * W / batch to the gradient of the weights only: emulated by the loss
term 0.5 * alpha * sum ||W||^2 / batch), same batch size, reshuffling every epoch.
Imported only when torch is installed; fcnn_sk never depends on torch.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def _make_mlp(layer_sizes, dtype):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        linear = nn.Linear(n_in, n_out, dtype=dtype)
        bound = math.sqrt(6.0 / (n_in + n_out))  # sklearn's Glorot bound for relu
        nn.init.uniform_(linear.weight, -bound, bound)
        nn.init.uniform_(linear.bias, -bound, bound)
        layers.append(linear)
        if i < len(layer_sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _weights(model):
    return [m.weight for m in model if isinstance(m, nn.Linear)]


def _objective(model, weights, xb, yb, classification, alpha):
    out = model(xb)
    if classification:
        loss = F.cross_entropy(out, yb)
    else:
        loss = 0.5 * F.mse_loss(
            out, yb
        )  # sklearn: mean over samples of 0.5 * (y - p)^2
    penalty = sum((w * w).sum() for w in weights)
    return loss + (0.5 * alpha / xb.shape[0]) * penalty


def _tensors(X, y, classification):
    X_t = torch.from_numpy(X)
    if classification:
        y_t = torch.from_numpy(np.searchsorted(np.unique(y), y).astype(np.int64))
    else:
        y_t = torch.from_numpy(np.asarray(y, dtype=X.dtype).reshape(len(y), -1))
    return X_t, y_t


def fit(
    X,
    y,
    hidden,
    *,
    classification,
    solver,
    batch_size,
    epochs,
    alpha=1e-4,
    learning_rate_init=1e-3,
    momentum=0.9,
    max_fun=15000,
    seed=0,
):
    """Train for exactly `epochs` epochs (lbfgs: at most `epochs` iterations).

    Returns (model, iterations done)."""
    torch.manual_seed(seed)
    X_t, y_t = _tensors(X, y, classification)
    n_out = int(y_t.max()) + 1 if classification else y_t.shape[1]
    model = _make_mlp([X.shape[1], *hidden, n_out], X_t.dtype)
    weights = _weights(model)

    if solver == "lbfgs":
        return model, _fit_lbfgs(
            model, weights, X_t, y_t, classification, alpha, epochs, max_fun
        )

    if solver == "adam":
        opt = torch.optim.Adam(
            model.parameters(), lr=learning_rate_init, betas=(0.9, 0.999), eps=1e-8
        )
    else:
        opt = torch.optim.SGD(
            model.parameters(), lr=learning_rate_init, momentum=momentum, nesterov=True
        )
    n = X_t.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = _objective(model, weights, X_t[idx], y_t[idx], classification, alpha)
            loss.backward()
            opt.step()
    return model, epochs


def _fit_lbfgs(model, weights, X_t, y_t, classification, alpha, max_iter, max_fun):
    # Full batch, history 10 and Wolfe line search like scipy's L-BFGS-B used by sklearn.
    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=max_iter,
        max_eval=max_fun,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        history_size=10,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = _objective(model, weights, X_t, y_t, classification, alpha)
        loss.backward()
        return loss

    opt.step(closure)
    return opt.state[next(iter(model.parameters()))]["n_iter"]


def predict(model, X, classification):
    """Forward pass under no_grad; class indices (argmax) or regression outputs."""
    with torch.no_grad():
        out = model(torch.from_numpy(X))
        return out.argmax(dim=1).numpy() if classification else out.numpy()
