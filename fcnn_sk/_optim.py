"""State of the stochastic solvers between epochs, and their learning-rate schedules.

The per-step update itself is compiled (``csrc/_optimizers.pxd``); this object keeps
what must survive between epochs and calls: the solver's flat state buffers (as its
registry entry names them), the step count and the current learning rate. The
estimators keep it across ``warm_start`` fits and ``partial_fit`` calls, so training
really continues where it stopped. Every schedule of ``_registry.SCHEDULES`` applies
to every stochastic solver (scikit-learn applies them to SGD only; with the default
'constant' schedule the two agree).
"""

import numpy as np

from ._registry import SCHEDULES, SOLVERS


class StochasticOptimizer:
    """Solver state of a stochastic solver.

    Parameters
    ----------
    solver : _registry.Solver
    schedule : _registry.Schedule
    hyper : dict
        Typed hyperparameters: ``learning_rate_init``, ``power_t``, ``alpha``,
        ``weight_decay``, ``max_grad_norm`` (0.0: no clipping) and the solver's own
        ``solver.params``.
    n_params : int
    dtype : numpy dtype of the parameters.
    """

    def __init__(self, solver, schedule, hyper, n_params, dtype):
        # the names, not the entries, so that a saved model holds plain data
        self.solver_name = solver.name
        self.schedule_name = schedule.name
        self.hyper = dict(hyper)
        self.learning_rate = self.hyper["learning_rate_init"]
        self.step = 0
        self.state = [np.zeros(n_params, dtype) for _ in solver.state]

    @property
    def solver(self):
        return SOLVERS[self.solver_name]

    @property
    def schedule(self):
        return SCHEDULES[self.schedule_name]

    def epoch_begins(self, epoch, max_iter):
        """Before epoch ``epoch`` (0-based) of a fit of ``max_iter`` epochs."""
        if self.schedule.at_epoch is not None:
            self.learning_rate = self.schedule.at_epoch(
                self.hyper["learning_rate_init"], epoch, max_iter
            )

    def epoch_ends(self, time_step):
        """After an epoch, ``time_step`` samples seen in all."""
        if self.schedule.after_epoch is not None:
            self.learning_rate = self.schedule.after_epoch(
                self.hyper["learning_rate_init"], time_step, self.hyper["power_t"]
            )

    def stalled(self, msg, verbose):
        """No improvement for ``n_iter_no_change`` epochs: stop (True), or, for the
        reducing schedules, divide the learning rate by 5 and go on."""
        if not self.schedule.reduces:
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

    def kernel_state(self):
        """The two state buffers the epoch kernel takes (a solver with one passes it
        twice; the kernel reads the second only for solvers that have one)."""
        return self.state[0], self.state[-1]
