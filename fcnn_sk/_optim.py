"""State of the stochastic solvers between epochs, and their learning-rate schedules.

The per-step update itself is compiled (``csrc/_optimizers.pxd``); this object keeps
what must survive between epochs and calls: the flat state buffers (SGD velocity, Adam
moments, RMSprop mean square), Adam's step count and the current learning rate. The
estimators keep it across ``warm_start`` fits and ``partial_fit`` calls, so training
really continues where it stopped.

Every schedule applies to every stochastic solver (scikit-learn applies them to SGD
only; with the default 'constant' schedule the two agree):

- 'constant': ``learning_rate_init``;
- 'invscaling': ``learning_rate_init / (t + 1) ** power_t`` after each epoch, t the
  number of samples seen;
- 'adaptive': divided by 5 each time ``n_iter_no_change`` epochs bring no improvement
  of the stopping criterion, stopping once it is below 1e-6 (scikit-learn's rule);
- 'plateau': the same division, but watching the validation quantity chosen by
  ``validation_metric`` whenever there is validation data;
- 'cosine': ``0.5 * learning_rate_init * (1 + cos(pi * epoch / max_iter))``, from
  ``learning_rate_init`` at the first epoch of a fit towards zero at ``max_iter``.
"""

import math

import numpy as np

from . import _compiled

#: schedules that divide the learning rate when progress stalls, instead of stopping
REDUCING_SCHEDULES = ("adaptive", "plateau")
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine", "plateau")


class StochasticOptimizer:
    """Solver state for ``solver in {'sgd', 'adam', 'rmsprop'}``.

    Parameters
    ----------
    solver : str
    schedule : str
        One of ``SCHEDULES``.
    learning_rate_init, power_t : float
    n_params : int
    dtype : numpy dtype of the parameters.
    """

    def __init__(self, solver, schedule, learning_rate_init, power_t, n_params, dtype):
        self.solver = solver
        self.schedule = schedule
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.power_t = power_t
        self.step = 0
        self.state_1 = np.zeros(n_params, dtype=dtype)
        # Adam keeps two moment buffers; SGD (velocity) and RMSprop (mean square) one
        self.state_2 = np.zeros(n_params, dtype) if solver == "adam" else self.state_1

    def epoch_begins(self, epoch, max_iter):
        """Before epoch ``epoch`` (0-based) of a fit of ``max_iter`` epochs."""
        if self.schedule == "cosine":
            self.learning_rate = (
                0.5 * self.learning_rate_init * (1 + math.cos(math.pi * epoch / max_iter))
            )

    def iteration_ends(self, time_step):
        """After an epoch, ``time_step`` samples seen in all: the 'invscaling' decay."""
        if self.schedule == "invscaling":
            try:
                decay = (time_step + 1) ** self.power_t
            except OverflowError:  # a huge power_t: the rate is 0 in double precision
                decay = math.inf
            self.learning_rate = self.learning_rate_init / decay

    def trigger_stopping(self, msg, verbose):
        """No improvement for ``n_iter_no_change`` epochs: stop (True), or, for the
        reducing schedules, divide the learning rate by 5 and go on."""
        if self.schedule not in REDUCING_SCHEDULES:
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

    def kernel_hyper(self, estimator, seed):
        """Hyperparameters of the next epoch, for ``_kernels.train_epoch``."""
        return {
            "solver": _compiled.kernels.SOLVERS[self.solver],
            "learning_rate": self.learning_rate,
            "momentum": estimator.momentum,
            "nesterov": estimator.nesterovs_momentum,
            "beta_1": estimator.beta_1,
            "beta_2": estimator.beta_2,
            "rho": estimator.rho,
            "epsilon": estimator.epsilon,
            "alpha": estimator.alpha,
            "weight_decay": estimator.weight_decay,
            "max_grad_norm": estimator.max_grad_norm or 0.0,
            "step": self.step,
            "seed": seed,
        }
