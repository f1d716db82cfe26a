"""L-BFGS (fcnn_sk/_lbfgs.py), its line search (fcnn_sk/_linesearch.py) and its
compiled direction, against independent references:

* the direction against the dense BFGS inverse-Hessian recursion;
* the line search against scipy's Moré-Thuente implementation (the same trial steps);
* whole runs against scipy's L-BFGS-B, which scikit-learn's MLP uses: the same
  iterates, evaluation counts, stopping iteration, status and message.
"""

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_allclose
from scipy.optimize import rosen, rosen_der

from fcnn_sk import _compiled
from fcnn_sk._lbfgs import minimize_lbfgs
from fcnn_sk._linesearch import LineSearch


# ------------------------------------------------------------------ direction
def _dense_inverse_hessian(pairs, gamma, n):
    """H from H_0 = gamma I and the BFGS inverse update, pair by pair (oldest first)."""
    H = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


@pytest.mark.parametrize(
    "kernels", list(_compiled.available().values()), ids=list(_compiled.available())
)
@pytest.mark.parametrize("head,col", [(0, 0), (0, 1), (0, 3), (2, 3), (1, 4), (3, 4)])
def test_direction_matches_dense_bfgs(kernels, head, col):
    rng = np.random.RandomState(head * 10 + col)
    n, m = 9, 4
    A = rng.standard_normal((n, n))
    A = A @ A.T + n * np.eye(n)  # curvature y = A s, s'y > 0
    S, Y = np.full((m, n), np.nan), np.full((m, n), np.nan)  # unused rows stay NaN
    rho = np.full(m, np.nan)
    pairs = []
    for i in range(col):  # oldest first, into the ring from row `head`
        row = (head + i) % m
        S[row] = rng.standard_normal(n)
        Y[row] = A @ S[row]
        rho[row] = 1.0 / (S[row] @ Y[row])
        pairs.append((S[row], Y[row]))
    gamma = 0.37 if col else 1.0
    g = rng.standard_normal(n)
    d = np.empty(n)
    dtd = kernels.lbfgs_direction(g, S, Y, rho, np.empty(m), head, col, gamma, d)
    expected = -_dense_inverse_hessian(pairs, gamma, n) @ g
    assert_allclose(d, expected, rtol=1e-12, atol=1e-14)
    assert_allclose(dtd, d @ d, rtol=1e-14)


# ---------------------------------------------------------------- line search
def _phi_more_thuente(case):
    """(phi, phi') of the test functions of Moré & Thuente (1994), section 5."""
    if case == 1:
        b = 2.0
        return lambda a: -a / (a * a + b), lambda a: (a * a - b) / (a * a + b) ** 2
    if case == 2:
        b = 0.004
        return (
            lambda a: (a + b) ** 5 - 2.0 * (a + b) ** 4,
            lambda a: 5.0 * (a + b) ** 4 - 8.0 * (a + b) ** 3,
        )
    if case == 3:
        b, l_ = 0.01, 39.0

        def phi(a):
            if a <= 1 - b:
                p0 = 1.0 - a
            elif a >= 1 + b:
                p0 = a - 1.0
            else:
                p0 = (a - 1.0) ** 2 / (2 * b) + b / 2
            return p0 + 2 * (1 - b) / (l_ * np.pi) * np.sin(l_ * np.pi * a / 2)

        def dphi(a):
            if a <= 1 - b:
                d0 = -1.0
            elif a >= 1 + b:
                d0 = 1.0
            else:
                d0 = (a - 1.0) / b
            return d0 + (1 - b) * np.cos(l_ * np.pi * a / 2)

        return phi, dphi
    b1, b2 = {4: (0.001, 0.001), 5: (0.01, 0.001), 6: (0.001, 0.01)}[case]
    g1, g2 = np.sqrt(1 + b1 * b1) - b1, np.sqrt(1 + b2 * b2) - b2
    return (
        lambda a: g1 * np.sqrt((1 - a) ** 2 + b2 * b2) + g2 * np.sqrt(a * a + b1 * b1),
        lambda a: (
            -g1 * (1 - a) / np.sqrt((1 - a) ** 2 + b2 * b2)
            + g2 * a / np.sqrt(a * a + b1 * b1)
        ),
    )


def _our_trials(phi, dphi, stp, ftol, gtol, xtol, max_evals=100):
    search = LineSearch(phi(0.0), dphi(0.0), stp, ftol=ftol, gtol=gtol, xtol=xtol)
    trials = []
    while not search.done and len(trials) < max_evals:
        trials.append(search.stp)
        search.update(phi(search.stp), dphi(search.stp))
    return trials, search.stp


@pytest.mark.parametrize("stp0", [1e-3, 1e-1, 1e1, 1e3])
@pytest.mark.parametrize(
    "case,ftol,gtol",
    [
        (1, 1e-3, 0.1),
        (2, 0.1, 0.1),
        (3, 0.1, 0.1),
        (4, 1e-3, 1e-3),
        (5, 1e-3, 1e-3),
        (6, 1e-3, 1e-3),
        (1, 1e-3, 0.9),
        (2, 1e-3, 0.9),
        (3, 1e-3, 0.9),
        (6, 0.3, 0.5),
    ],
)
def test_line_search_same_trials_as_scipy(case, ftol, gtol, stp0):
    DCSRCH = pytest.importorskip("scipy.optimize._dcsrch").DCSRCH
    phi, dphi = _phi_more_thuente(case)
    theirs = []

    def phi_logged(a):
        theirs.append(a)
        return phi(a)

    xtol = 0.1
    ours, stp = _our_trials(phi, dphi, stp0, ftol, gtol, xtol)
    their_stp, *_ = DCSRCH(phi_logged, dphi, ftol, gtol, xtol, 0.0, 1e10)(
        stp0, phi0=phi(0.0), derphi0=dphi(0.0), maxiter=100
    )
    assert_allclose(ours, theirs, rtol=1e-13)
    if their_stp is not None:  # scipy returns None after a warning
        assert stp == their_stp
        assert phi(stp) <= phi(0.0) + ftol * stp * dphi(0.0)
        assert abs(dphi(stp)) <= gtol * abs(dphi(0.0))


def test_line_search_stops_at_stpmax():
    # phi decreases without end: the steps grow up to stpmax, which is accepted
    search = LineSearch(0.0, -1.0, 1.0, stpmax=100.0)
    trials = []
    while not search.done:
        trials.append(search.stp)
        search.update(-search.stp, -1.0)
    assert trials == [1.0, 5.0, 21.0, 85.0, 100.0]
    assert search.stp == 100.0


# Moré & Thuente's tables 1, 4 and 5 (ftol = 0.001): function, gtol, first step; the
# number of evaluations and the step found, to the digits printed there
PAPER = [
    (1, 0.1, 1e-3, 6, 1.4),
    (1, 0.1, 1e-1, 3, 1.4),
    (1, 0.1, 1e1, 1, 10.0),
    (1, 0.1, 1e3, 4, 37.0),
    (4, 0.001, 1e-3, 4, 0.085),
    (4, 0.001, 1e-1, 1, 0.10),
    (4, 0.001, 1e1, 3, 0.35),
    (4, 0.001, 1e3, 4, 0.83),
    (5, 0.001, 1e-3, 6, 0.075),
    (5, 0.001, 1e-1, 3, 0.078),
    (5, 0.001, 1e1, 7, 0.073),
    (5, 0.001, 1e3, 8, 0.076),
]


@pytest.mark.parametrize("case,gtol,stp0,n_evals,stp_found", PAPER)
def test_line_search_reproduces_the_paper(case, gtol, stp0, n_evals, stp_found):
    phi, dphi = _phi_more_thuente(case)
    ftol = 0.001
    trials, stp = _our_trials(phi, dphi, stp0, ftol, gtol, 0.1)
    assert len(trials) == n_evals
    assert abs(stp - stp_found) <= 0.51 * 10.0 ** (np.floor(np.log10(stp_found)) - 1)
    assert phi(stp) <= phi(0.0) + ftol * stp * dphi(0.0)
    assert abs(dphi(stp)) <= gtol * abs(dphi(0.0))


# --------------------------------------------------------------- whole runs
def _logistic_problem():
    rng = np.random.RandomState(0)
    A, b = rng.standard_normal((200, 30)), rng.standard_normal(200) > 0

    def fun(w):
        z = A @ w
        f = np.mean(np.logaddexp(0, z) - b * z) + 5e-4 * w @ w
        return f, A.T @ (1 / (1 + np.exp(-z)) - b) / len(b) + 1e-3 * w

    return fun, np.zeros(30)


def _l1_problem():
    # not smooth: line searches end on a warning with s'y <= 0, and the pair is skipped
    return (lambda x: (np.abs(x).sum(), np.sign(x))), np.array([1.0, -2.0, 0.5])


def _wrong_gradient_problem():
    # the gradient points the wrong way: every line search fails
    return (lambda x: (rosen(x), -rosen_der(x))), np.full(4, -1.2)


def _nan_problem():
    # finite at the start, NaN anywhere else
    x0 = np.array([1.0, 2.0])

    def fun(x):
        if np.array_equal(x, x0):
            return 5.0, np.array([1.0, -1.0])
        return np.nan, np.full(2, np.nan)

    return fun, x0


PROBLEMS = {
    "rosen2": lambda: ((lambda x: (rosen(x), rosen_der(x))), np.array([-1.2, 1.0])),
    "rosen10": lambda: ((lambda x: (rosen(x), rosen_der(x))), np.full(10, -1.2)),
    "logistic": _logistic_problem,
    "l1": _l1_problem,
    "wrong_gradient": _wrong_gradient_problem,
    "nan": _nan_problem,
}
LIMITS = {
    "default": dict(max_iter=15000, max_fun=15000, gtol=1e-5),
    "max_iter": dict(max_iter=12, max_fun=15000, gtol=1e-5),
    "max_fun": dict(max_iter=15000, max_fun=17, gtol=1e-5),
    "gtol_tight": dict(max_iter=15000, max_fun=15000, gtol=1e-10),
    "gtol_at_start": dict(max_iter=100, max_fun=100, gtol=1e3),
    # short line searches fail, and the runs restart from steepest descent or stop
    "max_ls_1": dict(max_iter=15000, max_fun=15000, gtol=1e-5, max_ls=1),
    "max_ls_2": dict(max_iter=15000, max_fun=15000, gtol=1e-5, max_ls=2),
}


def _filling(fun):
    """scipy's ``fun(x) -> (f, g)`` as ``fun_grad(x, g) -> f`` filling ``g``."""

    def fun_grad(x, g):
        f, g[...] = fun(x)
        return f

    return fun_grad


def _run_both(problem, limits):
    fun, x0 = PROBLEMS[problem]()
    ours_f, theirs_f = [], []

    ours = minimize_lbfgs(
        _filling(fun), x0, callback=lambda k, f: ours_f.append(f), **limits
    )
    theirs = scipy.optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        callback=lambda intermediate_result: theirs_f.append(intermediate_result.fun),
        options=dict(
            maxiter=limits["max_iter"],
            maxfun=limits["max_fun"],
            gtol=limits["gtol"],
            maxls=limits.get("max_ls", 20),
        ),
    )
    return ours, theirs, np.array(ours_f), np.array(theirs_f)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("limits", list(LIMITS))
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_same_run_as_scipy_lbfgsb(problem, limits):
    ours, theirs, ours_f, theirs_f = _run_both(problem, LIMITS[limits])
    assert ours.message == theirs.message
    assert ours.status == theirs.status
    assert ours.success == theirs.success
    assert ours.nit == theirs.nit
    assert ours.nfev == theirs.nfev
    # the same iterates, to rounding (which grows over Rosenbrock's long valley)
    assert_allclose(ours_f, theirs_f, rtol=1e-6, atol=1e-8)
    assert_allclose(ours.x, theirs.x, rtol=1e-6, atol=1e-8)
    assert_allclose(ours.jac, theirs.jac, rtol=1e-5, atol=1e-6)
    fun, _ = PROBLEMS[problem]()
    if ours.message.startswith("ABNORMAL"):
        # back at the last iterate, with its value (scipy returns the last trial's)
        assert ours.fun == fun(ours.x)[0]
    else:
        assert_allclose(ours.fun, theirs.fun, rtol=1e-6, atol=1e-12)


def test_runs_cover_every_ending():
    # the problems above reach each way a run can end
    endings = {_run_both(p, LIMITS[lim])[0].message for p in PROBLEMS for lim in LIMITS}
    assert endings == {
        "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
        "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
        "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
        "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
        "ABNORMAL: ",
    }


def test_failed_line_search_restarts_from_steepest_descent(monkeypatch):
    # with 2 evaluations per line search some searches fail; with pairs in memory the
    # run forgets them and goes on, and still converges
    failed = []

    class Recorded(LineSearch):
        def update(self, f, g):
            super().update(f, g)
            self.n_updates = getattr(self, "n_updates", 0) + 1
            if self.n_updates == 2 and not self.done:
                failed.append(self)

    monkeypatch.setattr("fcnn_sk._lbfgs.LineSearch", Recorded)
    fun, x0 = PROBLEMS["rosen2"]()

    result = minimize_lbfgs(
        _filling(fun), x0, max_iter=1000, max_fun=1000, gtol=1e-5, max_ls=2
    )
    assert failed
    assert result.status == 0 and result.nit > 1
    assert_allclose(result.x, [1.0, 1.0], atol=1e-4)


def test_x0_untouched_and_float32_start():
    fun, _ = PROBLEMS["rosen2"]()
    x0 = np.array([-1.2, 1.0], dtype=np.float32)
    copy = x0.copy()

    def fun_grad(x, g):
        assert x.dtype == np.float64 and g.dtype == np.float64
        f, grad = fun(x)
        g[...] = grad
        return f

    result = minimize_lbfgs(fun_grad, x0, max_iter=200, max_fun=500, gtol=1e-6)
    assert result.x.dtype == np.float64
    assert_allclose(result.x, [1.0, 1.0], atol=1e-5)
    assert np.array_equal(x0, copy)


def test_tiny_gradient_with_zero_tolerance():
    # d'd and g'd underflow to 0: no division by zero, the run stops where it started
    def fun_grad(x, g):
        g[...] = 1e-170 * np.sign(x)
        return 1e-170 * float(np.abs(x).sum())

    x0 = np.array([1.0, -1.0])
    result = minimize_lbfgs(fun_grad, x0, max_iter=3, max_fun=50, gtol=0.0)
    assert result.message == "ABNORMAL: " and result.status == 2
    assert np.array_equal(result.x, x0) and result.fun == 2e-170
