"""State of the stochastic solvers between epochs, and their learning-rate schedules.

The per-step update itself is compiled (``csrc/_optimizers.pxd``); this object keeps
what must survive between epochs and calls: the flat state buffers (SGD velocity, Adam
moments), Adam's step count and the current learning rate. The estimators keep it
across ``warm_start`` fits and ``partial_fit`` calls, so training really continues.
"""

import numpy as np

from . import _kernels


class StochasticOptimizer:
    """Solver state for ``solver in {'sgd', 'adam'}``, as scikit-learn's optimizers.

    Parameters
    ----------
    estimator : BaseFCNN
        Its hyperparameters are read once, here.
    n_params : int
    dtype : numpy dtype of the parameters.
    """

    def __init__(self, estimator, n_params, dtype):
        self.solver = estimator.solver
        self.schedule = estimator.learning_rate
        self.learning_rate_init = float(estimator.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.power_t = estimator.power_t
        self.step = 0
        self.state_1 = np.zeros(n_params, dtype=dtype)
        # SGD needs one state buffer (velocity), Adam two (moments)
        self.state_2 = np.zeros(n_params, dtype) if self.solver == "adam" else self.state_1

    def kernel_hyper(self, estimator):
        """Hyperparameters of the next epoch, for ``_kernels.train_epoch``."""
        return {
            "solver": _kernels.SOLVERS[self.solver],
            "learning_rate": self.learning_rate,
            "momentum": estimator.momentum,
            "nesterov": estimator.nesterovs_momentum,
            "beta_1": estimator.beta_1,
            "beta_2": estimator.beta_2,
            "epsilon": estimator.epsilon,
            "alpha": estimator.alpha,
            "step": self.step,
        }

    def iteration_ends(self, time_step):
        """End of an epoch after ``time_step`` samples: the 'invscaling' decay (SGD)."""
        if self.solver == "sgd" and self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """No improvement for ``n_iter_no_change`` epochs: stop (True), or, for SGD
        with the 'adaptive' schedule, divide the learning rate by 5 and go on."""
        if self.solver != "sgd" or self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False
