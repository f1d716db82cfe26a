"""The training loops: one compiled call per epoch, Python between epochs.

``train_stochastic`` runs the epochs of SGD, Adam and RMSprop: shuffling, the
schedule, validation curves, the stopping rule (a ``Monitor``), verbose output and
interruption stay readable Python, called once per epoch. ``train_lbfgs`` hands the
compiled loss and gradient to the L-BFGS driver.

What makes training resumable lives in one ``TrainingState`` kept on the estimator
across ``warm_start`` fits and ``partial_fit`` calls: the optimizer (state buffers,
step count, learning rate), the random stream that shuffles and seeds the dropout
masks, and the monitor. So several warm-started fits continue exactly as one longer
fit would.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.optimize import _check_optimize_result

from . import _compiled
from ._callbacks import FitTasks
from ._guards import check_epoch_loss
from ._lbfgs import STOPPED_BY_CALLBACK, Memory, minimize_lbfgs
from ._network import kernel_input, train_epoch


class Monitor:
    """The stopping rule: counts epochs without improvement and, under early
    stopping, keeps the best weights (scikit-learn's rule, which watches the
    training loss, or the validation score under early stopping).

    The watched quantity is "higher is better": a validation score, or a negated
    loss. The public attributes it owns (``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``) are written to the estimator by ``publish``.
    """

    def __init__(self, tol, early_stopping):
        self.tol = tol
        self.early_stopping = early_stopping
        self.count = 0
        self.best_loss = None if early_stopping else np.inf
        self.best_watched = -np.inf
        self.best_score = -np.inf if early_stopping else None
        self.best_params = None

    def training_loss(self, loss):
        """An epoch's training loss, when no validation data is watched."""
        if self.best_loss is None:  # an earlier fit watched a validation score
            self.best_loss = np.inf
        if loss > self.best_loss - self.tol:
            self.count += 1
        else:
            self.count = 0
        self.best_loss = min(self.best_loss, loss)

    def validation(self, watched, score, params):
        """An epoch's watched validation quantity, and its score."""
        if watched < self.best_watched + self.tol:
            self.count += 1
        else:
            self.count = 0
        if watched > self.best_watched:
            self.best_watched = watched
            if self.early_stopping:
                self.best_score = score
                np.copyto(self.best_params, params)

    def publish(self, est):
        est.best_loss_ = self.best_loss
        est.best_validation_score_ = self.best_score


class TrainingState:
    """Everything that carries a stochastic training from one call to the next."""

    def __init__(self, optimizer, random_state, monitor):
        self.optimizer = optimizer
        self.random_state = random_state  # shuffles; seeds the dropout masks
        self.seeded_from = None  # the ``random_state`` parameter it came from
        self.dropout_seed = None
        self.monitor = monitor
        self.order = None  # the rows in their last shuffled order

    def rows(self, n_samples, shuffle):
        """The row order to go on from: the last shuffled one (shuffled in place each
        epoch, as scikit-learn does), or a new one for data of another size; the
        natural order without shuffling."""
        if not shuffle or self.order is None or self.order.shape[0] != n_samples:
            self.order = np.arange(n_samples, dtype=np.intp)
        return self.order


class _Epochs:
    """The epoch loop of one ``fit`` / ``partial_fit`` call of a stochastic solver."""

    def __init__(self, est, plan, val, incremental):
        self.est = est
        self.state = est._training
        self.fit, self.val = plan.fit, val
        self.incremental = incremental
        self.network = est._network(training=True)
        self.input = kernel_input(plan.fit.X)
        self.val_input = kernel_input(val.X) if val is not None else None
        self.batch_size = plan.batch_size
        self.order = self.state.rows(plan.fit.X.shape[0], est.shuffle)
        self.norms = np.zeros(self.network.n_layers)
        # early stopping and 'plateau' watch the validation data when there is some
        self.watch_val = val is not None and (
            est.early_stopping or self.state.optimizer.schedule.watches_validation
        )
        # scikit-learn's callbacks: one task per epoch; a callback may stop the fit
        self.tasks = FitTasks(
            est,
            plan.fit.X,
            plan.fit.y,
            plan.fit.sample_weight,
            1 if incremental else est.max_iter,
        )

    def run(self):
        est, monitor = self.est, self.state.monitor
        est.n_iter_ = 0
        if est.early_stopping and monitor.best_params is None:
            monitor.best_params = est._params.copy()  # kept if no epoch improves
        grad_norm_rows = []
        try:
            for epoch in range(est.max_iter):
                self.tasks.begin_epoch()
                done = self.epoch(epoch, grad_norm_rows)
                stalled = not done and self.stalled()
                # a callback's request to stop ends the fit here, as the stopping
                # rule does
                if self.tasks.end_epoch(grad_norm_rows) or done or stalled:
                    break
                if self.incremental:
                    break
                if est.n_iter_ == est.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and the "
                        "optimization hasn't converged yet." % est.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            est.grad_norm_curve_ = np.vstack([est.grad_norm_curve_, *grad_norm_rows])
            monitor.publish(est)
        if est.early_stopping:
            est._params[...] = monitor.best_params  # the best epoch's weights
        self.tasks.finish()

    def epoch(self, epoch, grad_norm_rows):
        """One compiled epoch and its bookkeeping; True if it was interrupted."""
        est, state, fit = self.est, self.state, self.fit
        optimizer = state.optimizer
        if est.shuffle:
            # in place: scikit-learn's shuffle(order, random_state) permutation
            state.random_state.shuffle(self.order)
        optimizer.epoch_begins(epoch, est.max_iter)
        # dropout masks: the kept seed plus the epochs trained so far, so every epoch
        # of a model, over any number of calls, gets its own masks
        seed = (
            0
            if state.dropout_seed is None
            else state.dropout_seed + len(est.loss_curve_)
        )
        result = train_epoch(
            self.network,
            est._params,
            optimizer,
            self.input,
            fit.Y,
            fit.kernel_weights(),
            self.order,
            est.shuffle,
            self.batch_size,
            seed,
            self.norms,
        )
        optimizer.step = result.step
        if result.n_rows == 0:
            return result.interrupted
        est.n_iter_ += 1
        est.t_ += result.n_rows
        est.loss_ = result.loss_sum / result.n_rows
        est.loss_curve_.append(est.loss_)
        check_epoch_loss(est)  # a non-finite loss stops the fit with an error
        grad_norm_rows.append(self.norms / max(result.n_steps, 1))
        if est.verbose:
            print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))
        if result.interrupted:
            warnings.warn("Training interrupted by user.")
            return True
        self.watch()
        optimizer.epoch_ends(est.t_)
        return False

    def watch(self):
        """Validation curves and the stopping rule after an epoch."""
        est, monitor = self.est, self.state.monitor
        if self.val is None:
            monitor.training_loss(est.loss_)
            return
        score = est._score_validation(self.val.X, self.val.y, self.val.sample_weight)
        loss = _compiled.kernels.loss_grad(
            self.network,
            est._params,
            np.empty(0, est._params.dtype),
            *self.val_input,
            self.val.Y.reshape(-1),
            self.val.kernel_weights(),
            est.alpha,
        )
        est.validation_scores_.append(score)
        est.validation_loss_curve_.append(loss)
        if est.verbose:
            print("Validation score: %f, validation loss: %f" % (score, loss))
        if self.watch_val:
            watched = score if est.validation_metric == "score" else -loss
            monitor.validation(watched, score, est._params)
        else:
            monitor.training_loss(est.loss_)

    def stalled(self):
        """Whether the stopping rule ends the fit after this epoch."""
        est, monitor = self.est, self.state.monitor
        if monitor.count <= est.n_iter_no_change:
            return False
        what = "Validation score" if self.watch_val else "Training loss"
        msg = (
            f"{what} did not improve more than tol={est.tol:f} for "
            f"{est.n_iter_no_change} consecutive epochs."
        )
        if self.state.optimizer.stalled(msg, est.verbose):
            return True
        monitor.count = 0
        return False


def train_stochastic(est, plan, val, incremental):
    """Run the epochs of one fit (or one ``partial_fit`` epoch) in place."""
    _Epochs(est, plan, val, incremental).run()


def train_lbfgs(est, fit):
    """Minimise the full-batch loss with L-BFGS, in place on ``est._params``.

    L-BFGS works in float64; float32 kernels get a cast copy of each iterate.
    """
    network = est._network(training=True)
    params = est._params
    args = (*kernel_input(fit.X), fit.Y.reshape(-1), fit.kernel_weights(), est.alpha)
    if params.dtype == np.float64:

        def loss_grad(x, g):
            return _compiled.kernels.loss_grad(network, x, g, *args)
    else:
        grad = np.empty_like(params)

        def loss_grad(x, g):
            params[...] = x
            loss = _compiled.kernels.loss_grad(network, params, grad, *args)
            g[...] = grad
            return loss

    def report(n_iter, loss):
        print("Iteration %d, loss = %.8f" % (n_iter, loss))

    # a warm-started fit continues the iterations of the last one, memory included
    if getattr(est, "_lbfgs_memory", None) is None:
        est._lbfgs_memory = Memory(params.size)
    # scikit-learn's callbacks: one task per iteration; a callback may stop the fit
    tasks = FitTasks(est, fit.X, fit.y, fit.sample_weight, est.max_iter, lbfgs=True)
    loss_grad, on_iteration = tasks.lbfgs_hooks(loss_grad)
    result = minimize_lbfgs(
        loss_grad,
        params,
        max_iter=est.max_iter,
        max_fun=est.max_fun,
        gtol=est.tol,
        callback=report if est.verbose else None,
        on_iteration=on_iteration,
        memory=est._lbfgs_memory,
    )
    if result.status == 3:
        warnings.warn("Training interrupted by user.")
    if result.status in (3, STOPPED_BY_CALLBACK):  # asked for, not a failure
        est.n_iter_ = result.nit
    else:
        est.n_iter_ = _check_optimize_result("lbfgs", result, est.max_iter)
    est.loss_ = float(result.fun)
    params[...] = result.x
    tasks.finish()
