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


def minimize_lbfgs(fun_grad, x0, *, max_iter, max_fun, gtol, ftol=2.220446049250313e-09,
                   m=10, max_ls=20, callback=None):
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

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, status`` (0 converged, 1 a limit reached, 2 the line
        search failed), ``message`` and ``success``, as scipy's.
    """
    n = x0.size
    x = np.array(x0, dtype=np.float64).reshape(-1)
    g, d, x_try, x_old, g_old = (np.empty(n) for _ in range(5))
    S, Y = np.empty((m, n)), np.empty((m, n))
    rho, alpha = np.empty(m), np.empty(m)
    head = col = 0  # the pairs: `col` rows of S and Y from row `head`, as a ring
    gamma = 1.0     # H_0 = gamma * I
    f = fun_grad(x, g)
    nfev, nit = 1, 0
    status, message = 0, CONVERGED_GRAD
    if _inf_norm(g) <= gtol:
        return _result(x, f, g, nit, nfev, status, message)
    while True:
        dtd = _compiled.kernels.lbfgs_direction(g, S, Y, rho, alpha, head, col, gamma, d)
        if nit > 0:
            stp = 1.0
        else:  # 1 / ||d||, and the largest step where d'd underflows to 0
            stp = min(1.0 / math.sqrt(dtd), STEP_MAX) if dtd > 0.0 else STEP_MAX
        np.copyto(x_old, x)
        np.copyto(g_old, g)
        f_old = f
        gd_old = gd = float(g @ d)
        accepted = False
        if gd_old < 0.0:  # else not a descent direction (or not finite)
            search = LineSearch(f_old, gd_old, stp, stpmax=STEP_MAX)
            for _ in range(max_ls):
                np.multiply(d, search.stp, out=x_try)
                x_try += x_old
                # a trial equal to the last point evaluated (a step below rounding)
                # reuses its value and gradient, as scipy's cache does
                if not np.array_equal(x_try, x):
                    x, x_try = x_try, x
                    f = fun_grad(x, g)
                    nfev += 1
                    gd = float(g @ d)
                search.update(f, gd)
                if search.done:
                    accepted = True
                    break
            stp = search.stp
        if not accepted:
            np.copyto(x, x_old)
            np.copyto(g, g_old)
            f = f_old
            if col == 0:
                status = 1 if nit >= max_iter or nfev > max_fun else 2
                message = ABNORMAL
                break
            head = col = 0  # forget the pairs and start again from steepest descent
            gamma = 1.0
            continue

        nit += 1
        if callback is not None:
            callback(nit, f)
        if nit >= max_iter:
            status, message = 1, STOP_ITER
            break
        if nfev > max_fun:
            status, message = 1, STOP_FUN
            break
        if _inf_norm(g) <= gtol:
            status, message = 0, CONVERGED_GRAD
            break
        if f_old - f <= ftol * max(abs(f_old), abs(f), 1.0):
            status, message = 0, CONVERGED_F
            break

        sy = (gd - gd_old) * stp  # s'y, with s = stp * d and y = g - g_old
        if sy <= EPS * (-gd_old * stp):
            continue  # too little curvature: keep the pairs as they are
        if col < m:
            row = (head + col) % m
            col += 1
        else:
            row = head
            head = (head + 1) % m
        np.multiply(d, stp, out=S[row])
        y = np.subtract(g, g_old, out=Y[row])
        rho[row] = 1.0 / sy
        yy = float(y @ y)
        if yy > 0.0:  # else y'y underflowed to 0: keep the previous scale
            gamma = sy / yy
    return _result(x, f, g, nit, nfev, status, message)


def _inf_norm(v):
    """``max |v_i|``; NaN if any element is NaN."""
    return max(float(v.max()), -float(v.min()))


def _result(x, f, g, nit, nfev, status, message):
    return OptimizeResult(x=x, fun=f, jac=g, nit=nit, nfev=nfev, status=status,
                          message=message, success=status == 0)
