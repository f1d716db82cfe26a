"""What the compiled kernels accept at their Python boundary.

Names of activations, losses, solvers and split modes map to kernel codes in one
place (csrc/_kernels.pyx); anything else is a ValueError before compiled code runs.
``train_epoch`` takes its hyperparameters as a typed ``Hyperparameters`` object and
returns an ``EpochResult``.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fcnn_sk import _compiled
from fcnn_sk._network import kernel_input, make_network

kernels = _compiled.kernels


@pytest.mark.parametrize(
    "activations, loss, match",
    [
        (["relu", "sigmoid"], "log_loss", "unknown activation 'sigmoid'"),
        (["relu", None], "log_loss", "unknown activation None"),
        (["relu", "tanh"], "hinge", "unknown loss 'hinge'"),
    ],
)
def test_network_rejects_unknown_names(activations, loss, match):
    with pytest.raises(ValueError, match=match):
        kernels.Network([4, 3, 3, 2], activations, loss)


def test_network_rejects_bad_shapes():
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        kernels.Network([4, 3, 2], ["relu", "relu"], "log_loss")
    with pytest.raises(ValueError, match="layer widths must be positive"):
        kernels.Network([4, 0, 2], ["relu"], "log_loss")
    with pytest.raises(ValueError, match="one dropout rate per layer input"):
        kernels.Network([4, 3, 2], ["relu"], "log_loss", dropout=[0.1])


def test_every_registered_name_builds_a_network():
    for activation in kernels.ACTIVATIONS:
        for loss in kernels.LOSSES:
            network = kernels.Network([3, 4, 2], [activation], loss)
            assert (network.n_layers, network.n_params) == (2, 3 * 4 + 4 * 2 + 4 + 2)


def test_hyperparameters_are_typed_and_checked():
    hyper = kernels.Hyperparameters(
        "rmsprop", learning_rate=0.01, rho=0.5, max_grad_norm=2
    )
    assert hyper.solver == "rmsprop"
    assert (hyper.learning_rate, hyper.rho, hyper.max_grad_norm) == (0.01, 0.5, 2.0)
    assert kernels.Hyperparameters("sgd").max_grad_norm is None
    with pytest.raises(ValueError, match="unknown solver 'lbfgs'"):
        kernels.Hyperparameters("lbfgs")
    with pytest.raises(TypeError):
        kernels.Hyperparameters("adam", learning_rate="fast")
    with pytest.raises(AttributeError):
        hyper.learning_rate = 1.0
    for bad in [
        dict(learning_rate=-1.0),
        dict(momentum=1.5),
        dict(beta_1=1.0),
        dict(beta_2=np.nan),
        dict(rho=-0.1),
        dict(alpha=np.inf),
        dict(weight_decay=-1.0),
        dict(epsilon=0.0),
        dict(max_grad_norm=0.0),
    ]:
        with pytest.raises(ValueError, match=next(iter(bad))):
            kernels.Hyperparameters("adam", **bad)


def _epoch(solver, step, n=50, batch_size=8):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 4))
    Y = np.eye(3)[rng.randint(3, size=n)]
    network = make_network([4, 5, 3], "tanh", "log_loss")
    params = rng.normal(scale=0.3, size=network.n_params)
    states = np.zeros_like(params), np.zeros_like(params)
    norms = np.empty(network.n_layers)
    result = kernels.train_epoch(
        network,
        kernels.Hyperparameters(solver),
        params,
        *states,
        *kernel_input(X),
        Y.reshape(-1),
        np.empty(0),
        np.arange(n, dtype=np.intp),
        batch_size=batch_size,
        shuffled=False,
        step=step,
        seed=0,
        grad_norms=norms,
    )
    return result, params


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop"])
def test_epoch_result(solver):
    result, _ = _epoch(solver, step=5)
    assert isinstance(result, kernels.EpochResult)
    assert result.n_steps == 7 and result.step == 12  # ceil(50 / 8) steps
    assert result.n_rows == 50 and not result.interrupted
    assert np.isfinite(result.loss_sum) and result.loss_sum > 0


def test_adam_step_count_is_the_bias_correction():
    # Adam's rate at step t is lr * sqrt(1 - beta_2^t) / (1 - beta_1^t): the same
    # epoch from another step count takes other steps
    first, second = _epoch("adam", step=0)[1], _epoch("adam", step=1000)[1]
    assert not np.array_equal(first, second)
    assert_array_equal(first, _epoch("adam", step=0)[1])
