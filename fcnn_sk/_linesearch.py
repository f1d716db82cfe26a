"""The Moré-Thuente line search, as L-BFGS-B uses it.

J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient
decrease", ACM Trans. Math. Software 20 (1994) 286-307; the algorithm of MINPACK-2's
``dcsrch`` and ``dcstep``, which scipy's L-BFGS-B calls with ``ftol=1e-3, gtol=0.9,
xtol=0.1``. It looks for a step ``stp`` along a descent direction that satisfies the
strong Wolfe conditions

    phi(stp) <= phi(0) + ftol * stp * phi'(0),    |phi'(stp)| <= gtol * |phi'(0)|,

where ``phi(stp) = f(x + stp * d)``. It is a state machine driven by its caller, one
trial step at a time, so that each function evaluation stays with the caller (here:
the compiled loss and gradient). Everything here is scalar.
"""

import math

XTRAPL, XTRAPU = 1.1, 4.0  # bounds of the extrapolated step, relative to the last


class LineSearch:
    """Trial steps for one line search.

    Parameters
    ----------
    f0, g0 : float
        ``phi(0)`` and ``phi'(0) < 0``.
    stp : float
        The first trial step, in ``[stpmin, stpmax]``.
    ftol, gtol, xtol, stpmin, stpmax : float
        Sufficient decrease, curvature, relative interval width and step bounds.

    Attributes
    ----------
    stp : float
        The step to evaluate next, or the accepted step once ``done``.
    done : bool
        Whether ``stp`` is accepted: the Wolfe conditions hold, or the search cannot
        make progress (then ``stp`` is the best step found).
    """

    def __init__(
        self, f0, g0, stp, ftol=1e-3, gtol=0.9, xtol=0.1, stpmin=0.0, stpmax=1e10
    ):
        self.ftol, self.gtol, self.xtol = ftol, gtol, xtol
        self.stpmin, self.stpmax = stpmin, stpmax
        self.stp, self.done = stp, False
        self.brackt, self.stage = False, 1
        self.finit, self.ginit, self.gtest = f0, g0, ftol * g0
        self.width = stpmax - stpmin
        self.width1 = self.width / 0.5
        # best step so far (x) and the other end of the interval (y)
        self.stx, self.fx, self.gx = 0.0, f0, g0
        self.sty, self.fy, self.gy = 0.0, f0, g0
        self.stmin, self.stmax = 0.0, stp + XTRAPU * stp

    def update(self, f, g):
        """Take ``phi(stp) = f`` and ``phi'(stp) = g``; set the next ``stp`` (or
        ``done``)."""
        stp = self.stp
        ftest = self.finit + stp * self.gtest
        if self.stage == 1 and f <= ftest and g >= 0.0:
            self.stage = 2
        brackt = self.brackt
        if (
            (brackt and (stp <= self.stmin or stp >= self.stmax))  # rounding errors
            or (brackt and self.stmax - self.stmin <= self.xtol * self.stmax)
            or (stp == self.stpmax and f <= ftest and g <= self.gtest)
            or (stp == self.stpmin and (f > ftest or g >= self.gtest))
            or (f <= ftest and abs(g) <= self.gtol * -self.ginit)  # converged
        ):
            self.done = True
            return
        if self.stage == 1 and f <= self.fx and f > ftest:
            # a lower value without sufficient decrease: step on the modified
            # function psi(stp) = phi(stp) - phi(0) - ftol * stp * phi'(0)
            gt = self.gtest
            stx, fxm, gxm, sty, fym, gym, stp, brackt = step(
                self.stx,
                self.fx - self.stx * gt,
                self.gx - gt,
                self.sty,
                self.fy - self.sty * gt,
                self.gy - gt,
                stp,
                f - stp * gt,
                g - gt,
                brackt,
                self.stmin,
                self.stmax,
            )
            fx, gx, fy, gy = fxm + stx * gt, gxm + gt, fym + sty * gt, gym + gt
        else:
            stx, fx, gx, sty, fy, gy, stp, brackt = step(
                self.stx,
                self.fx,
                self.gx,
                self.sty,
                self.fy,
                self.gy,
                stp,
                f,
                g,
                brackt,
                self.stmin,
                self.stmax,
            )
        self.stx, self.fx, self.gx, self.sty, self.fy, self.gy = (
            stx,
            fx,
            gx,
            sty,
            fy,
            gy,
        )
        self.brackt = brackt
        if brackt:  # bisect when the interval does not shrink fast enough
            if abs(sty - stx) >= 0.66 * self.width1:
                stp = stx + 0.5 * (sty - stx)
            self.width1 = self.width
            self.width = abs(sty - stx)
            self.stmin, self.stmax = min(stx, sty), max(stx, sty)
        else:
            self.stmin = stp + XTRAPL * (stp - stx)
            self.stmax = stp + XTRAPU * (stp - stx)
        stp = min(max(stp, self.stpmin), self.stpmax)
        if brackt and (
            stp <= self.stmin
            or stp >= self.stmax
            or self.stmax - self.stmin <= self.xtol * self.stmax
        ):
            stp = stx  # no further progress possible: the best step so far
        self.stp = stp


def _cubic_gamma(theta, d1, d2, clip=False):
    """``sqrt(theta^2 - d1 d2)``, scaled against overflow."""
    s = max(abs(theta), abs(d1), abs(d2))
    disc = (theta / s) ** 2 - (d1 / s) * (d2 / s)
    return s * math.sqrt(max(0.0, disc) if clip else disc)


def _cubic_step(stp, fp, dp, so, fo, do):
    """The minimiser of the cubic with value and slope ``fp, dp`` at ``stp`` and
    ``fo, do`` at ``so``, as a step from ``stp``."""
    theta = 3.0 * (fp - fo) / (so - stp) + do + dp
    gamma = _cubic_gamma(theta, do, dp)
    if stp > so:
        gamma = -gamma
    r = ((gamma - dp) + theta) / (((gamma - dp) + gamma) + do)
    return stp + r * (so - stp)


def step(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One safeguarded step (MINPACK-2's ``dcstep``).

    ``stx`` is the best step so far, ``sty`` the other end of the interval, ``stp``
    the step just evaluated, with their values and derivatives ``fx, dx``, ``fy, dy``
    and ``fp, dp``. Returns the updated ``stx, fx, dx, sty, fy, dy``, the next trial
    step and whether a minimiser is bracketed.
    """
    sgnd = dp * math.copysign(1.0, dx)
    if fp > fx:
        # 1. higher value: bracketed. The cubic step if closer to stx than the
        # quadratic one, else their mean.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _cubic_gamma(theta, dx, dp)
        if stp < stx:
            gamma = -gamma
        r = ((gamma - dx) + theta) / (((gamma - dx) + gamma) + dp)
        stpc = stx + r * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        stpf = stpc if abs(stpc - stx) < abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:
        # 2. lower value, derivatives of opposite sign: bracketed. The cubic step if
        # farther from stp than the secant step, else the secant step.
        stpc = _cubic_step(stp, fp, dp, stx, fx, dx)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # 3. lower value, same sign, the derivative shrinks. The cubic step only if
        # the cubic tends to infinity along the step or its minimum is beyond stp.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _cubic_gamma(theta, dx, dp, clip=True)
        if stp > stx:
            gamma = -gamma
        r = ((gamma - dp) + theta) / ((gamma + (dx - dp)) + gamma)
        if r < 0.0 and gamma != 0.0:
            stpc = stp + r * (stx - stp)
        else:
            stpc = stpmax if stp > stx else stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            limit = stp + 0.66 * (sty - stp)
            stpf = min(limit, stpf) if stp > stx else max(limit, stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = max(stpmin, min(stpmax, stpf))
    elif brackt:
        # 4. lower value, same sign, the derivative does not shrink: the cubic step
        # towards sty once bracketed, else a bound.
        stpf = _cubic_step(stp, fp, dp, sty, fy, dy)
    else:
        stpf = stpmax if stp > stx else stpmin

    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt
