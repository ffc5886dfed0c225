"""Full-batch methods that choose their own steps: L-BFGS (OWL-QN with an
L1 penalty) and accelerated proximal gradient with backtracking and
adaptive restart.  Each pass over the data is one kernel call
(``Objective.evaluate``) that also gives the duality-gap certificate; the
methods themselves work on O(K p) vectors in NumPy.

Both run in standardised coordinates z = (u, c): the raw coefficients are
W = u / sigma, b = c - W . mu (sigma, mu the features' weighted standard
deviations and means), a diagonal-plus-centring change of variables that
leaves the objective unchanged (the penalty stays on the coefficients the
user asked for) but makes badly scaled features as easy as standardised
ones.  On sparse data the centring folds into the intercept: X is never
densified.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._certificate import certify, pass_sums
from ._fitstate import Scaling, rows_of
from ._rules import loss_by_code

#: L-BFGS memory
MEMORY = 10
#: Armijo's sufficient-decrease constant
ARMIJO = 1e-4
#: passes a line search may take before giving up
MAX_BACKTRACKS = 40
#: a change of the objective below this fraction of it is rounding
ROUNDING = 1e-13
#: passes a line search may take when the decrease is within rounding
NEAR_BACKTRACKS = 3
#: iterations in a row, within rounding, whose gradient is not NEAR_SHRINK
#: times below the smallest seen: working precision is reached
STALL_ITERATIONS, NEAR_SHRINK = 20, 0.9
#: line_search: growth of the step between iterations, and its shrink factor
LINE_SEARCH_GROW, LINE_SEARCH_SHRINK = 1.25, 0.5


def preconditioner(std, settings, curvature):
    """The coordinates L-BFGS works in: centred on the features' (weighted)
    means (when an intercept absorbs the centring), each scaled by
    1 / sqrt(curvature * var_j + l2), the diagonal of the objective's
    Hessian bound in the raw coefficients (Jacobi): in z every coordinate
    has curvature about 1, however the features and the penalty are
    scaled.  ``std`` holds the means and standard deviations."""
    var = std.sigma ** 2 if settings.fit_intercept else std.sigma ** 2 + std.mu ** 2
    diagonal = curvature * var + settings.l2
    std.inv_sigma = np.where(diagonal > 0, 1.0 / np.sqrt(np.where(diagonal > 0, diagonal, 1.0)),
                             1.0)
    if not settings.fit_intercept:  # no intercept to absorb a centring
        std.mu = np.zeros_like(std.mu)
    return std


@dataclass
class Point:
    """An evaluated point: z, the smooth objective (loss + L2) and its
    gradient in z, the full objective, the certificate, the gradient's norm
    in the problem's coefficients."""

    z: np.ndarray
    smooth: float
    grad: np.ndarray
    objective: float
    certificate: object
    grad_norm: float

    @cached_property
    def finite(self):
        """The objective, the gradient and its norms are all finite."""
        return (math.isfinite(self.objective) and math.isfinite(self.smooth)
                and math.isfinite(self.grad_norm) and math.isfinite(self.grad_norm_z))

    @cached_property
    def grad_norm_z(self):
        """The norm of the gradient in z (inf when it overflows)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.linalg.norm(self.grad))


class Objective:
    """The objective of one problem in standardised coordinates, with the
    certificate of every evaluation.

    ``sums(W, b)`` (one pass over the data at raw float64 coefficients,
    returning certificate Sums) is its only access to the data, and
    ``std`` (a Scaling: means and 1/std of the features) its only knowledge
    of their scale, so data elsewhere (a Dask collection) only supplies
    those two: ``Objective.for_problem`` builds them for in-memory data."""

    def __init__(self, settings, n_outputs, n_features, sw_sum, std, sums):
        self.settings = settings
        self.k, self.p = n_outputs, n_features
        self.sw_sum = float(sw_sum)
        self.std = std
        # penalty on the problem's coefficients W_p = u * q
        self.q = np.ones(self.p) if settings.scale_features else std.inv_sigma
        self.l1, self.l2 = settings.l1, settings.l2
        self.l1_weights = np.concatenate([np.tile(self.l1 * self.q, self.k),
                                          np.zeros(self.k)])
        self.fit_intercept = settings.fit_intercept
        self._sums = sums
        self.passes = 0

    @classmethod
    def for_problem(cls, problem, settings, fit, rows, precondition=True):
        """The Objective of an in-memory problem over ``rows`` (None: all).
        z is standardised (the problem's own scaling with scale_features; a
        preconditioner computed here otherwise, or none: z = the raw
        coefficients)."""
        X, sw = problem.X, problem.sample_weight
        sw_sum = float(rows_of(sw, rows).sum(dtype=np.float64))
        if settings.scale_features or not precondition:
            std = fit.scaling
        else:
            std = preconditioner(Scaling(X, sw, rows, True, settings.n_threads), settings,
                                 loss_by_code(problem.loss).curvature)
        work = [None]

        flag = getattr(fit, "stop", None)

        def sums(W, b):
            if flag is not None and flag[0]:  # Ctrl-C (_interrupt.py): before the pass
                raise KeyboardInterrupt
            result, work[0] = pass_sums(X, problem.y, sw, W, b, problem.loss,
                                        problem.epsilon, settings.n_threads, rows, work[0])
            return result

        return cls(settings, fit.W.shape[0], fit.W.shape[1], sw_sum, std, sums)

    # ---- coordinates
    def split(self, z):
        k, p = self.k, self.p
        return z[:k * p].reshape(k, p), z[k * p:]

    def to_raw(self, z):
        u, c = self.split(z)
        return self.std.to_raw(u, c)

    def to_problem(self, z):
        """Coefficients of the problem (scaled or raw) and intercepts."""
        u, c = self.split(z)
        return (u, c) if self.settings.scale_features else self.std.to_raw(u, c)

    def from_problem(self, W, b):
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        u, c = (W, b) if self.settings.scale_features else self.std.to_scaled(W, b)
        if not self.fit_intercept:
            c = np.zeros_like(c)
        return np.concatenate([u.ravel(), c])

    # ---- one pass
    def evaluate(self, z):
        """The smooth objective and gradient at z, and the certificate.  A
        point whose sums overflow evaluates to non-finite values (no
        warning): ``Point.finite`` is False, and it never certifies."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._evaluate(z)

    def _evaluate(self, z):
        k, p = self.k, self.p
        mu, inv_sigma = self.std.mu, self.std.inv_sigma
        u = z[:k * p].reshape(k, p)
        Wr, br = self.std.to_raw(u, z[k * p:])
        if not self.fit_intercept:
            br = np.zeros(k)
        sums = self._sums(Wr, br)
        self.passes += 1
        S = self.sw_sum
        # gradient in z from the raw gradient: d/du = (G - g_b mu) / sigma
        G_raw = sums.G.sum(axis=0) / S
        gb = sums.R.sum(axis=0) / S if self.fit_intercept else np.zeros(k)
        Wp = u * self.q
        penalty_grad = self.l2 * Wp
        grad = np.empty(k * p + k)
        grad[:k * p] = ((G_raw - gb[:, None] * mu) * inv_sigma + penalty_grad * self.q).ravel()
        grad[k * p:] = gb
        smooth = sums.loss / S + 0.5 * self.l2 * float((Wp * Wp).sum())
        # the certificate, in the problem's coefficients
        if self.settings.scale_features:
            Gp = (sums.G - sums.R[:, :, None] * mu) * inv_sigma
            problem_grad = (Gp.sum(axis=0) / S + penalty_grad).ravel()
        else:
            Gp = sums.G
            problem_grad = (G_raw + penalty_grad).ravel()
        cert = certify(sums, S, Wp, Gp, sums.R, self.l1, self.l2, self.fit_intercept)
        grad_norm = float(np.sqrt(np.vdot(problem_grad, problem_grad) + np.vdot(gb, gb)))
        return Point(z=z, smooth=smooth, grad=grad, objective=cert.objective,
                     certificate=cert, grad_norm=grad_norm)

    def l1_term(self, z):
        return float(self.l1_weights @ np.abs(z)) if self.l1 > 0 else 0.0


def pseudo_gradient(z, g, weights):
    """OWL-QN's pseudo-gradient of smooth + sum weights |z| (the minimum-norm
    subgradient)."""
    if not np.any(weights):
        return g
    pg = g.copy()
    pos = z > 0
    neg = z < 0
    zero = ~(pos | neg)
    pg[pos] += weights[pos]
    pg[neg] -= weights[neg]
    right = g[zero] + weights[zero]
    left = g[zero] - weights[zero]
    pg[zero] = np.where(right < 0, right, np.where(left > 0, left, 0.0))
    return pg


def _two_loop(g, pairs):
    """-H g for the L-BFGS inverse Hessian of the stored (s, y) pairs."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * (s @ q)
        alphas.append(a)
        q -= a * y
    if pairs:
        s, y, _ = pairs[-1]
        q *= (s @ y) / (y @ y)
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        q += s * (a - rho * (y @ q))
    return -q


class Stop(Exception):
    """Raised by a step when no decrease can be made (working precision)."""


def acceptable(F, F_new, predicted, near, noise, end_slope):
    """A line search's test of a step from objective F to F_new: Armijo's
    sufficient decrease against the first-order decrease ``predicted``
    (< 0); or, within rounding (``near``: a decrease cannot be seen), no
    rise beyond ``noise`` while the objective still decreases along the
    step at its end (``end_slope()`` <= 0: for a convex phi, phi'(t) <= 0
    implies phi(t) <= phi(0)).  Never a non-finite F_new."""
    if not np.isfinite(F_new):
        return False
    if not near:
        return F_new <= F + ARMIJO * predicted
    return F_new <= F + noise and end_slope() <= 0


def lbfgs_steps(obj, point):
    """L-BFGS iterations from ``point``, yielding (point, step, passes) per
    iteration; OWL-QN (Andrew and Gao, 2007) when the L1 weights are
    nonzero.  Raises Stop when the line search finds no decrease."""
    pairs = deque(maxlen=MEMORY)
    weights = obj.l1_weights
    l1 = bool(np.any(weights))
    best_norm, stalled = np.inf, 0
    while True:
        z, g = point.z, point.grad
        pg = pseudo_gradient(z, g, weights) if l1 else g
        with np.errstate(all="ignore"):  # overflowing pairs: fall back below
            d = _two_loop(pg, list(pairs))
        if not np.all(np.isfinite(d)):
            pairs.clear()
            d = -pg
        if l1:
            d[np.sign(d) != -np.sign(pg)] = 0.0
            orthant = np.where(z != 0, np.sign(z), -np.sign(pg))
        slope = float(pg @ d)
        if not slope < 0:
            pairs.clear()
            d = -pg
            slope = float(pg @ d)
            if not slope < 0:
                raise Stop
        t = 1.0 if pairs else min(1.0, 1.0 / max(np.abs(pg).max(), 1e-300))
        F = point.smooth + obj.l1_term(z)
        # within the objective's rounding, a decrease cannot be seen: a step
        # is then accepted when the objective still decreases along d at its
        # end (for a convex phi, phi'(t) <= 0 implies phi(t) <= phi(0))
        noise = ROUNDING * abs(F)
        near = -slope * t <= noise
        passes = 0
        for _ in range(NEAR_BACKTRACKS if near else MAX_BACKTRACKS):
            trial_z = z + t * d
            if l1:
                trial_z[np.sign(trial_z) != orthant] = 0.0
            trial = obj.evaluate(trial_z)
            passes += 1
            F_new = trial.smooth + obj.l1_term(trial_z)
            if acceptable(F, F_new, float(pg @ (trial_z - z)), near, noise, lambda: float(
                    (trial.grad + weights * np.sign(trial_z)) @ (trial_z - z))):
                break
            t *= 0.5
        else:
            raise Stop
        pg_norm = float(np.linalg.norm(pg))
        if not near or pg_norm < best_norm * NEAR_SHRINK:
            best_norm, stalled = min(best_norm, pg_norm), 0
        else:  # within rounding and the gradient no longer shrinks
            stalled += 1
            if stalled >= STALL_ITERATIONS:
                raise Stop  # working precision
        s, y = trial_z - z, trial.grad - g
        sy = float(s @ y)
        if np.isfinite(sy) and sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            pairs.append((s, y, 1.0 / sy))
        point = trial
        yield point, t, passes


def agd_steps(obj, point):
    """Accelerated proximal gradient (FISTA) with backtracking on the
    Lipschitz estimate and function-value restart (O'Donoghue and Candes,
    2015), yielding (point, step, passes) per iteration."""
    weights = obj.l1_weights
    L = max(float(np.abs(point.grad).max()), 1e-12)
    x, y, t = point, point, 1.0
    while True:
        passes = 0
        for _ in range(MAX_BACKTRACKS):
            z = y.z - y.grad / L
            if np.any(weights):
                z = np.sign(z) * np.maximum(np.abs(z) - weights / L, 0.0)
            trial = obj.evaluate(z)
            passes += 1
            dz = z - y.z
            bound = y.smooth + float(y.grad @ dz) + 0.5 * L * float(dz @ dz)
            if np.isfinite(trial.smooth) and trial.smooth <= bound + 1e-12 * abs(bound):
                break
            L *= 2.0
        else:
            raise Stop
        F_new = trial.smooth + obj.l1_term(trial.z)
        F_old = x.smooth + obj.l1_term(x.z)
        if F_new > F_old:
            if y is x:  # a plain proximal step that does not decrease: precision
                raise Stop
            t, y = 1.0, x  # restart: drop the momentum, step again from x
            continue
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        momentum = (t - 1.0) / t_next
        x_prev, x, t = x, trial, t_next
        if momentum > 0:
            y = obj.evaluate(x.z + momentum * (x.z - x_prev.z))
            passes += 1
        else:
            y = x
        L *= 0.9
        yield x, 1.0 / L, passes


def line_search_steps(obj, point, eta0):
    """Gradient descent with backtracking (Armijo) on the full objective:
    each iteration first tries 1.25 times the last accepted step (eta0 at
    the first), halving until sufficient decrease; proximal for L1."""
    weights = obj.l1_weights
    eta = eta0 / LINE_SEARCH_GROW
    while True:
        eta *= LINE_SEARCH_GROW
        passes = 0
        for _ in range(60):
            z = point.z - eta * point.grad
            if np.any(weights):
                z = np.sign(z) * np.maximum(np.abs(z) - eta * weights, 0.0)
            trial = obj.evaluate(z)
            passes += 1
            dz = z - point.z
            bound = point.smooth + float(point.grad @ dz) + float(dz @ dz) / (2.0 * eta)
            if np.isfinite(trial.smooth) and trial.smooth <= bound + 1e-15 * abs(bound):
                break
            eta *= LINE_SEARCH_SHRINK
        else:
            raise Stop
        point = trial
        yield point, eta, passes


STEPPERS = {"lbfgs": lbfgs_steps, "agd": agd_steps, "line_search": line_search_steps}


def converged(obj, point, start_grad, tol):
    """The certificate holds: a relative gap <= tol; without a penalty
    (no dual bound) the gradient fell to tol**2 times its norm at the
    start, ``start_grad``.  Never at a point, or from a start, whose
    objective or gradient is not finite (an overflow proves nothing)."""
    if not (point.finite and math.isfinite(start_grad if start_grad is not None else 0.0)):
        return False
    if obj.l1 > 0 or obj.l2 > 0:
        return point.certificate.relative <= tol
    return point.grad_norm_z <= tol * tol * start_grad


def minimize(obj, point, method, max_iter, on_iteration, eta0=None, steps=None):
    """Iterations of ``method`` (or of the iterator ``steps``) from the
    evaluated ``point`` until ``on_iteration(point, step, passes, seconds)``
    returns a stop reason, ``max_iter`` iterations ran, or no decrease is
    possible at working precision; returns (point, reason): the reason
    returned, "max_iter" or "precision"."""
    t0 = time.perf_counter()
    if steps is None:
        steps = (line_search_steps(obj, point, eta0) if method == "line_search"
                 else STEPPERS[method](obj, point))
    for _ in range(max_iter):
        try:
            point, step, passes = next(steps)
        except Stop:
            return point, "precision"
        reason = on_iteration(point, step, passes, time.perf_counter() - t0)
        if reason:
            return point, reason
    return point, "max_iter"
