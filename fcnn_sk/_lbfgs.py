"""L-BFGS for ``solver='lbfgs'``: scipy's L-BFGS-B algorithm without bounds.

scikit-learn's MLP calls ``scipy.optimize.minimize(method="L-BFGS-B")``. Without bounds,
L-BFGS-B is plain L-BFGS, and this module runs that same algorithm with the same
settings and rules, so that it takes the same steps (to rounding) and stops at the
same iteration for the same reason:

- the direction ``-H g`` from the last ``m = 10`` pairs, ``H_0 = (s'y / y'y) I`` from
  the newest pair, steepest descent before the first pair (computed by the two-loop
  recursion instead of L-BFGS-B's compact representation: equal in exact arithmetic);
- the Moré-Thuente line search (fcnn_sk/_linesearch.py) with ``ftol=1e-3, gtol=0.9,
  xtol=0.1``, first trial step ``1 / ||d||`` on the first iteration and 1 after, at
  most 20 evaluations per search, none repeated at the point just evaluated;
- a pair is skipped when ``s'y <= eps * (-g'd) * stp``; a failed line search restarts
  from steepest descent with an empty memory, and stops the run when the memory was
  already empty;
- the stopping rules and their order: ``max_iter`` iterations, more than
  ``max_fun`` evaluations (checked once an iteration ends), ``max |g_i| <= gtol``,
  ``(f_old - f) / max(|f_old|, |f|, 1) <= ftol``; the same messages and statuses.

What changes is the cost per iteration: the direction is one compiled call with no
allocation (csrc/_lbfgs.pxd), the rest a few numpy calls on preallocated vectors. On
the 7510 parameters of a 64-100-10 network this driver takes about 0.12 ms per
iteration, where scipy's L-BFGS-B step takes 0.37 ms: a fifth of an iteration once the
loss and gradient are compiled (1.3 ms on the 1797 digits).
"""

import math

import numpy as np
from scipy.optimize import OptimizeResult

from . import _compiled
from ._linesearch import LineSearch

EPS = np.finfo(np.float64).eps
STEP_MAX = 1e10  # L-BFGS-B's largest step without bounds

CONVERGED_GRAD = "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
CONVERGED_F = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
STOP_ITER = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
STOP_FUN = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
ABNORMAL = "ABNORMAL: "
INTERRUPTED = "INTERRUPTED BY THE USER"
STOP_CALLBACK = "STOP: REQUESTED BY THE CALLBACK"
STOPPED_BY_CALLBACK = 99  # scipy's status for a stop its callback asks for


class Memory:
    """What L-BFGS carries from one iteration to the next: the last ``m`` pairs
    ``(s, y)`` as a ring (``col`` rows of ``S`` and ``Y`` from row ``head``), the
    initial scale ``gamma`` of ``H_0 = gamma * I``, whether an iteration was taken,
    and the float64 iterate ``x``. A warm-started fit hands it back, so that its
    iterations continue exactly those of the previous fit."""

    def __init__(self, n, m=10):
        self.S, self.Y = np.zeros((m, n)), np.zeros((m, n))
        self.rho, self.alpha = np.zeros(m), np.zeros(m)
        self.head = self.col = 0
        self.gamma = 1.0
        self.started = False
        self.x = None

    def forget(self):
        """Start again from steepest descent."""
        self.head = self.col = 0
        self.gamma = 1.0

    def add(self, s_scaled, d, y, sy):
        """Store the pair ``s = stp * d``, ``y``, with ``s'y = sy``."""
        m = len(self.rho)
        if self.col < m:
            row = (self.head + self.col) % m
            self.col += 1
        else:
            row = self.head
            self.head = (self.head + 1) % m
        np.multiply(d, s_scaled, out=self.S[row])
        np.copyto(self.Y[row], y)
        self.rho[row] = 1.0 / sy
        yy = float(y @ y)
        if yy > 0.0:  # else y'y underflowed to 0: keep the previous scale
            self.gamma = sy / yy

    def direction(self, g, d):
        """``d <- -H g``; returns ``d'd``."""
        return _compiled.kernels.lbfgs_direction(
            g, self.S, self.Y, self.rho, self.alpha, self.head, self.col, self.gamma, d
        )


def minimize_lbfgs(
    fun_grad,
    x0,
    *,
    max_iter,
    max_fun,
    gtol,
    ftol=2.220446049250313e-09,
    m=10,
    max_ls=20,
    callback=None,
    on_iteration=None,
    memory=None,
):
    """Minimise ``f`` from ``x0`` with L-BFGS.

    Parameters
    ----------
    fun_grad : callable
        ``fun_grad(x, g) -> f``: the value at ``x`` (float64, length n), writing the
        gradient into ``g``.
    x0 : ndarray
        The starting point (copied).
    max_iter, max_fun : int
        Limits on iterations and on evaluations (as scipy's ``maxiter``, ``maxfun``).
    gtol, ftol : float
        Stop once ``max |g_i| <= gtol`` or the relative decrease of ``f`` over an
        iteration is at most ``ftol`` (scipy's defaults: ``gtol`` is the caller's,
        ``ftol`` is scipy's).
    m, max_ls : int
        Number of pairs kept; evaluations allowed per line search.
    callback : callable, optional
        ``callback(n_iter, f)`` after each iteration.
    on_iteration : callable, optional
        ``on_iteration(n_iter, f, x)`` after ``callback``; a true return value stops
        the run (status ``STOPPED_BY_CALLBACK``). ``x`` is the iterate itself, not a
        copy.
    memory : Memory, optional
        The memory of a previous run that ended at ``x0``, to continue it (updated
        in place); by default a new one.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, status`` (0 converged, 1 a limit reached, 2 the line
        search failed, 3 interrupted by the user: ``x`` is then the last accepted
        iterate, 99 the callback asked to stop), ``message`` and ``success``, as
        scipy's.
    """
    run = _Run(fun_grad, x0, memory or Memory(x0.size, m), max_ls)
    try:
        run.evaluate()
        status, message = run.iterate(
            max_iter, max_fun, gtol, ftol, callback, on_iteration
        )
    except KeyboardInterrupt:
        run.restore()  # the last accepted iterate
        status, message = 3, INTERRUPTED
    run.memory.x = run.x.copy()
    return OptimizeResult(
        x=run.x,
        fun=run.f,
        jac=run.g,
        nit=run.nit,
        nfev=run.nfev,
        status=status,
        message=message,
        success=status == 0,
    )


class _Run:
    """One run of the driver: the iterate ``x``, its value ``f`` and gradient ``g``,
    and the last accepted ones (``x_old``, ...) for the line search and for an
    interruption."""

    def __init__(self, fun_grad, x0, memory, max_ls):
        n = x0.size
        self.fun_grad, self.memory, self.max_ls = fun_grad, memory, max_ls
        self.x = np.array(x0, dtype=np.float64).reshape(-1)
        if memory.x is not None and np.array_equal(
            memory.x.astype(x0.dtype), x0.ravel()
        ):
            self.x = memory.x.copy()  # the unrounded iterate behind a float32 model
        self.g, self.d, self.x_try = np.empty(n), np.empty(n), np.empty(n)
        self.x_old, self.g_old = self.x.copy(), np.full(n, np.nan)
        self.f = self.f_old = np.nan
        self.nit = self.nfev = 0

    def evaluate(self):
        self.f = self.fun_grad(self.x, self.g)
        self.nfev += 1

    def accept(self):
        """Make the current point the last accepted one."""
        np.copyto(self.x_old, self.x)
        np.copyto(self.g_old, self.g)
        self.f_old = self.f

    def restore(self):
        """Back to the last accepted point."""
        np.copyto(self.x, self.x_old)
        np.copyto(self.g, self.g_old)
        self.f = self.f_old

    def iterate(self, max_iter, max_fun, gtol, ftol, callback, on_iteration):
        """Iterate until a stopping rule holds; returns ``(status, message)``."""
        memory = self.memory
        self.accept()
        if _inf_norm(self.g) <= gtol:
            return 0, CONVERGED_GRAD
        while True:
            dtd = memory.direction(self.g, self.d)
            if memory.started:
                stp = 1.0
            else:  # 1 / ||d||, and the largest step where d'd underflows to 0
                stp = min(1.0 / math.sqrt(dtd), STEP_MAX) if dtd > 0.0 else STEP_MAX
            gd_old = float(self.g @ self.d)
            accepted, stp, gd = self.line_search(stp, gd_old)
            if not accepted:
                self.restore()
                if memory.col == 0:
                    status = 1 if self.nit >= max_iter or self.nfev > max_fun else 2
                    return status, ABNORMAL
                memory.forget()
                continue
            # the pair first, so that a run stopped here holds what a longer run
            # would continue with
            sy = (gd - gd_old) * stp  # s'y, with s = stp * d and y = g - g_old
            if sy > EPS * (-gd_old * stp):  # else too little curvature: keep the pairs
                memory.add(
                    stp, self.d, np.subtract(self.g, self.g_old, out=self.x_try), sy
                )
            f_old = self.f_old
            self.accept()
            self.nit += 1
            memory.started = True
            if callback is not None:
                callback(self.nit, self.f)
            if on_iteration is not None and on_iteration(self.nit, self.f, self.x):
                return STOPPED_BY_CALLBACK, STOP_CALLBACK
            if self.nit >= max_iter:
                return 1, STOP_ITER
            if self.nfev > max_fun:
                return 1, STOP_FUN
            if _inf_norm(self.g) <= gtol:
                return 0, CONVERGED_GRAD
            if f_old - self.f <= ftol * max(abs(f_old), abs(self.f), 1.0):
                return 0, CONVERGED_F

    def line_search(self, stp, gd_old):
        """The Moré-Thuente search along ``d`` from the accepted point; returns
        ``(accepted, step, g'd at the new point)``."""
        if not gd_old < 0.0:  # not a descent direction (or not finite)
            return False, stp, gd_old
        search = LineSearch(self.f_old, gd_old, stp, stpmax=STEP_MAX)
        gd = gd_old
        for _ in range(self.max_ls):
            np.multiply(self.d, search.stp, out=self.x_try)
            self.x_try += self.x_old
            # a trial equal to the last point evaluated (a step below rounding)
            # reuses its value and gradient, as scipy's cache does
            if not np.array_equal(self.x_try, self.x):
                self.x, self.x_try = self.x_try, self.x
                self.evaluate()
                gd = float(self.g @ self.d)
            search.update(self.f, gd)
            if search.done:
                return True, search.stp, gd
        return False, search.stp, gd


def _inf_norm(v):
    """``max |v_i|``; NaN if any element is NaN."""
    return max(float(v.max()), -float(v.min()))
