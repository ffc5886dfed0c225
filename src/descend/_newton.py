"""Newton's method with a sub-sampled Hessian, and the curvature
certificate that the same Hessian gives.

For a single-output loss with a second derivative (log, squared) and an L2
penalty or none, the Hessian of the objective in the coordinates z of an
Objective (the problem's coefficients and intercept; design rows
x_i = [(x_i - mu) inv_sigma, 1]) is

    H(z) = (1/S) sum_i sw_i loss''(x_i . z) x_i x_i^T + P,   P = diag(l2 q^2, 0).

Every row's term is positive semi-definite, so the rows of a subset R
alone give a LOWER bound A(z) <= H(z) - P, at |R| d^2 multiply-adds (d
coefficients) instead of n d^2.

Newton's method.  The direction solves (P + (S / S_R) A(z)) d = -g, the
loss's Hessian estimated from the rows R (S_R their weight); a
backtracking line search (Armijo) on the exact objective of a full pass
makes every step a decrease.  An iteration is one pass plus the Hessian of
|R| ~ 2 n / d rows (about half a pass of work); convergence is
linear with a small rate once close (quadratic with R = all rows).

The certificate.  Both losses have |loss'''| <= c loss'' (c = 1: log, c =
0: squared), so loss''(u + s) >= loss''(u) e^{-c |s|}.  Let D = z* - z,
h(t) = f(z + t D), rho = c max_{i in R} |x_i . D|.  Then h''(t) >=
D'P D + e^{-t rho} D'A D with A = A(z), and since h'(1) = 0:

    (1)  -g.D = h'(1) - h'(0) >= D'(P + kappa(rho) A) D,
         kappa(rho) = (1 - e^{-rho}) / rho.

Fix kappa0 in (0, 1], M0 = P + kappa0 A, r = max_{i in R} |x_i|_{M0^-1}
(|x_i|_{(P+A)^-1} / sqrt(kappa0) bounds it) and nu = c r |g|_{M0^-1}.  If
nu <= rho0, where kappa(rho0) = kappa0, then |D|_{M0} <= |g|_{M0^-1} and
rho <= nu: either kappa(rho) >= kappa0 and (1) gives it at once, or
rho > rho0 and (1) with P + kappa A >= (kappa / kappa0) M0 gives
1 - e^{-c r |D|_{M0}} <= kappa0 nu <= kappa0 rho0 = 1 - e^{-rho0}, a
contradiction.  With rho <= nu, Taylor's formula with the integral
remainder gives f* = h(1) >= f + g.D + D'(P + kappa2 A) D / 2,
kappa2 = 2 (e^{-nu} + nu - 1) / nu^2, so

    f(z) - f* <= g' (P + kappa2 A)^{-1} g / 2,

about the Newton decrement with the Hessian of R's rows only: within a
factor ~n/|R| of the true gap, where the duality gap equals |g|^2 / (2 l2)
(a factor ~eig(H)/l2 off, 1e3-1e4 on ordinary data).  With c = 0 it is
kappa2 = 1 for any D.  (Self-concordant analysis of logistic regression:
Bach, 2010; the argument above is written for this bound.)
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ._certificate import Certificate
from ._engine import kernels
from ._fitstate import MAX_CHUNKS, threads_for
from ._fullbatch import MAX_BACKTRACKS, NEAR_BACKTRACKS, ROUNDING, Objective, Stop, acceptable
from ._problem import zero_model_objective
from ._rules import loss_by_code

#: the most coefficients (features + intercept) Newton's method solves for
MAX_COEFFICIENTS = 256
#: multiply-adds of a Hessian of every row below which all rows are used
WHOLE_HESSIAN_WORK = 500_000
#: the Hessian's multiply-adds count this many times less than a pass's
#: for its threads (compute-bound, in cache): an OpenMP team wakes up
#: slowly after idle time, and a small Hessian is faster on one thread
GRAM_WORK_SHARE = 16
#: rows of the sub-sampled Hessian: HESSIAN_SHARE * n / d, at least
#: MIN_ROWS_PER_COEFFICIENT * d (its work is then about half a pass)
HESSIAN_SHARE, MIN_ROWS_PER_COEFFICIENT = 2, 16
#: and at least this many rows whatever d: fewer gave a noisy Hessian and
#: slow, linear convergence (5,000 x 20: 476 rows took 9-10 iterations,
#: 1,008 rows 5; development note, 2026-12-02)
MIN_HESSIAN_ROWS = 1024
#: "auto" prefers Newton while the Hessian's multiply-adds per row of data,
#: |R| d / n, stay below this (its kernel, in cache, runs ~8x as many
#: multiply-adds a second as a pass, which waits on memory)
AUTO_HESSIAN_PER_ROW = 8
#: the largest change of a row's margin (times c) over which a computed
#: Hessian is reused (its curvature then falls by at most e^-0.1)
STALE_LIMIT = 0.1
#: a step that lowers the objective by more than this fraction moved the
#: margins too far for the last Hessian: it is computed anew unmeasured
REUSE_DECREASE = 1e-3
#: a margin on the certificate's row norms, far beyond their rounding
ROUNDING_MARGIN = 1.0 + 1e-9
#: rows per chunk of the Hessian's deterministic reduction
GRAM_CHUNK_ROWS = 1024
#: the certificate's trial values of kappa0 and the rho0 with kappa(rho0) = kappa0
KAPPAS = (0.95, 0.85, 0.7, 0.5, 0.3)


def _rho0(kappa0):
    lo, hi = 0.0, 1e3
    for _ in range(200):  # (1 - e^-r) / r decreases from 1 to 0
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if -np.expm1(-mid) / mid > kappa0 else (lo, mid)
    return lo


RHO0 = tuple(_rho0(k) for k in KAPPAS)


def coefficients(n_features, fit_intercept):
    return n_features + int(bool(fit_intercept))


def hessian_rows(n_rows, d):
    """How many rows the sub-sampled Hessian reads."""
    if n_rows * d * d <= WHOLE_HESSIAN_WORK:
        return n_rows
    m = max(MIN_HESSIAN_ROWS, MIN_ROWS_PER_COEFFICIENT * d, HESSIAN_SHARE * n_rows // d)
    return n_rows if 2 * m > n_rows else int(m)  # (every row when the stride would be 1)


def obstacle(X, loss, n_outputs, settings):
    """Why Newton's method cannot fit this problem (None when it can)."""
    if sp.issparse(X):
        return "sparse X (its Hessian is dense: n_features^2)"
    if n_outputs != 1:
        return f"{n_outputs} outputs (one Hessian per output pair)"
    if loss_by_code(loss).concordance is None:
        return f"loss {loss_by_code(loss).name!r} (no second derivative)"
    if settings.l1 > 0:
        return "an L1 penalty (not twice differentiable)"
    d = coefficients(X.shape[1], settings.fit_intercept)
    if d > MAX_COEFFICIENTS:
        return f"{d} coefficients (more than {MAX_COEFFICIENTS}: its d^3 solve)"
    return None


def preferred(X, n_rows, loss, n_outputs, settings):
    """optimizer="auto" on full batches: Newton where it applies, the
    objective is strongly convex (an L2 penalty: without one the optimum
    may not be unique, and L-BFGS from zero finds the smallest), and its
    Hessian is cheap beside the passes it saves; else L-BFGS."""
    if settings.l2 <= 0 or obstacle(X, loss, n_outputs, settings) is not None:
        return False
    d = coefficients(X.shape[1], settings.fit_intercept)
    m = hessian_rows(n_rows, d)
    # (the floor of MIN_HESSIAN_ROWS rows costs ~0.1 ms at d = 21, whatever n)
    return m == n_rows or m <= MIN_HESSIAN_ROWS or m * d <= AUTO_HESSIAN_PER_ROW * n_rows


class Curvature:
    """The Hessian's lower bound A(z) from a fixed subset of rows (every
    k-th row: no random draw, so fits stay deterministic), read from X in
    place by the kernels, with the Newton direction and the certificate."""

    def __init__(self, obj, problem, rows, n_threads):
        self.X, sw = problem.X, problem.sample_weight
        n_rows = self.X.shape[0] if rows is None else len(rows)
        d = coefficients(obj.p, obj.fit_intercept)
        m = hessian_rows(n_rows, d)
        stride = max(1, n_rows // m)
        self.n = len(range(0, n_rows, stride))
        if rows is None:  # every stride-th row, read in place: no index array
            self.rows, self.stride = np.empty(0, dtype=np.int64), stride
            picked_sw = sw[::stride]
        else:
            self.rows = np.ascontiguousarray(rows[::stride], dtype=np.int64)
            self.stride = 0
            picked_sw = sw[self.rows]
        self.sw = sw
        self._model(obj, problem.loss)
        self.scale = obj.sw_sum / max(float(picked_sw.sum(dtype=np.float64)), 1e-300)
        n_chunks = int(min(MAX_CHUNKS, max(1, self.n // GRAM_CHUNK_ROWS)))
        self.threads = threads_for(n_threads, self.n * d * d // GRAM_WORK_SHARE)
        self._work = np.empty((n_chunks, d * d + kernels.GRAM_ROWS * (d + 1)))
        self._norm_work = np.empty((n_chunks, 2 * kernels.QUAD_ROWS * d + 1))
        self._A = self._anchor = None

    def _model(self, obj, loss):
        """What the Objective ``obj`` and the loss fix: d, p, the design
        rows' centring and scaling, the weight total, the loss and its
        concordance c, the penalty's diagonal P, tol."""
        self.d, self.p = coefficients(obj.p, obj.fit_intercept), obj.p
        self.mu = np.ascontiguousarray(obj.std.mu, dtype=np.float64)
        self.inv_sigma = np.ascontiguousarray(obj.std.inv_sigma, dtype=np.float64)
        self.intercept = bool(obj.fit_intercept)
        self.total = obj.sw_sum
        self.loss = loss
        self.c = loss_by_code(loss).concordance
        self.penalty = np.zeros(self.d)
        self.penalty[:obj.p] = obj.l2 * obj.q ** 2
        self.penalised = bool(np.any(self.penalty > 0))
        self.tol = obj.settings.tol

    def _z(self, z):
        """z of the Objective (K = 1: coefficients, then the intercept when
        fitted) as one d-vector."""
        return np.ascontiguousarray(z[:self.d], dtype=np.float64)

    def at(self, z, fresh=False):
        """(A, lower) at z: the rows' Hessian A for the direction and a lower
        bound of A(z) for the certificate.  The last A computed, at z', is
        kept while delta = c max_r |x_r . (z - z')| <= STALE_LIMIT, with
        lower = e^-delta A (self-concordance: each row's loss'' falls by at
        most that factor; with the squared loss A never changes); else A(z)
        anew (|R| d^2 / 2 multiply-adds); anew without measuring delta when
        ``fresh`` (a step that moved the objective far moved the margins)."""
        zd = self._z(z)
        if self._A is not None and not fresh:
            if self.c == 0:
                return self._A, self._A
            v = zd - self._anchor
            u = self.inv_sigma * v[:self.p]
            shift = (v[self.p] if self.intercept else 0.0) - float(self.mu @ u)
            delta = self.c * kernels.max_abs_margin(self.X, self.rows, self.n, self.stride, u,
                                                    shift, self._norm_work[:, 0].copy(),
                                                    self.threads)
            if delta <= STALE_LIMIT:
                return self._A, np.exp(-delta) * self._A
        A = np.empty((self.d, self.d))
        X, rows, n, stride, mu, inv_sigma, intercept = self._rows_args()
        kernels.curvature_gram(X, rows, n, stride, self.sw, mu, inv_sigma, intercept, zd,
                               self.loss, A, self._work, self.threads)
        A /= self.total
        self._A, self._anchor = A, zd
        return A, A

    def _max_norm(self, upper):
        """max over the rows of |x_r @ upper|^2 (upper: d x d, or 1 x d)."""
        return ROUNDING_MARGIN * kernels.max_row_quadratic(
            *self._rows_args(), np.ascontiguousarray(upper), self._norm_work, self.threads)

    def row_index(self):
        """The rows R as an index array."""
        if self.stride:
            return np.arange(0, self.n * self.stride, self.stride, dtype=np.int64)
        return self.rows

    def _rows_args(self):
        """The kernels' description of the rows R: X, an index (or none),
        their count and stride, the centring and scaling, the intercept."""
        return (self.X, self.rows, self.n, self.stride, self.mu, self.inv_sigma,
                self.intercept)

    def direction(self, A, g):
        """-(P + scale A)^-1 g, in the Objective's z layout (Cholesky with a
        Jacobi scaling; a tiny ridge when singular)."""
        H = self.scale * A
        H.flat[::self.d + 1] += self.penalty
        step = _solve(H, g[:self.d])
        out = np.zeros_like(g)
        out[:self.d] = -step
        return out

    def certified(self, point):
        """The point's duality gap alone certifies tol (no bound to add)."""
        return self.tol is not None and point.certificate.relative <= self.tol

    def certify(self, point, A):
        """The point with the tighter of its duality gap and the curvature
        bound (when the latter can certify tol)."""
        if self.tol is None or not point.finite or not self.penalised \
                or self.certified(point):
            return point
        cert = point.certificate
        bound = self.bound(point.grad[:self.d], A, point.objective)
        if not bound < cert.gap:
            return point
        dual = point.objective - bound
        relative = bound / dual if dual > 0 else np.inf
        return replace(point, certificate=Certificate(
            objective=point.objective, dual=dual, gap=bound, relative=relative))

    def bound(self, g, A, objective):
        """An upper bound of f(z) - f* (module docstring), inf when it
        cannot certify tol."""
        M = A.copy()
        M.flat[::self.d + 1] += self.penalty
        best = _half_norm(M, g)
        if not (best <= self.tol * max(objective - best, 0.0)):
            return np.inf  # even the Newton decrement of A cannot certify
        if self.c == 0:
            return best
        # r1^2 = max_r |x_r|^2 in M^-1: first bounded by the Jacobi-scaled
        # rows over the smallest eigenvalue of the scaled M (a pass over the
        # rows of O(d)), exactly (O(d^2) a row) only when that cannot certify
        diag = np.diag(M)
        if not np.all(diag > 0):
            return np.inf
        s = 1.0 / np.sqrt(diag)
        smallest = _smallest_eigenvalue_bound(M * s[:, None] * s[None, :])
        if smallest > 0:
            result = self._bound_with(g, A, np.sqrt(self._max_norm(s[None, :]) / smallest))
            if np.isfinite(result):
                return result
        factor = _cholesky(M)
        if factor is None:
            return np.inf
        # upper = L^-T: its row k is L^-1 e_k
        upper = np.array([_forward(factor, e) for e in np.eye(self.d)])
        return self._bound_with(g, A, np.sqrt(self._max_norm(upper)))

    def _bound_with(self, g, A, r1):
        P = np.diag(self.penalty)
        for kappa0, rho0 in zip(KAPPAS, RHO0):
            nu = self.c * r1 / np.sqrt(kappa0) * np.sqrt(2.0 * _half_norm(P + kappa0 * A, g))
            if nu <= rho0:
                kappa2 = 2.0 * (np.expm1(-nu) + nu) / (nu * nu) if nu > 1e-8 else 1.0
                return _half_norm(P + kappa2 * A, g)
        return np.inf


def _cholesky(M):
    """The lower Cholesky factor of M, or None when M is not positive
    definite.  descend's own small kernels, not LAPACK: OpenBLAS's threads
    spin for a while after a call, and would slow the next pass."""
    L = np.empty_like(M)
    return L if kernels.cholesky(np.ascontiguousarray(M), L) else None


def _forward(L, b):
    out = np.empty(len(b))
    kernels.cholesky_solve(L, np.ascontiguousarray(b, dtype=np.float64), out, True)
    return out


def _half_norm(M, g):
    """g' M^-1 g / 2 (inf when M is not positive definite)."""
    d = len(g)
    return kernels.half_norm(np.ascontiguousarray(M), np.ascontiguousarray(g, dtype=np.float64),
                             np.empty((d, d)), np.empty(d))


def _smallest_eigenvalue_bound(M):
    """A lower bound of M's smallest eigenvalue, from Cholesky factors of
    M - tau I (0 when none succeeds)."""
    M = np.ascontiguousarray(M)
    L = np.empty_like(M)
    for tau in (0.5, 0.25, 0.1, 0.03, 0.01):
        if kernels.cholesky(M, L, -tau):
            return tau
    return 0.0


def _solve(H, g):
    """H^-1 g for a symmetric positive semi-definite H: Cholesky of the
    Jacobi-scaled H, with a growing ridge while it fails."""
    H = np.ascontiguousarray(H)
    g = np.ascontiguousarray(g, dtype=np.float64)
    L, out = np.empty_like(H), np.empty(len(g))
    ridge = 0.0
    for _ in range(12):
        if kernels.scaled_solve(H, g, ridge, L, out):
            return out
        ridge = 1e-12 if ridge == 0.0 else ridge * 100.0
    diag = H.diagonal()
    return g / np.where(diag > 0, diag, 1.0)  # Jacobi alone


def estimate(obj, problem, settings, fit, curvature):
    """The start z = 0 without a pass over the data: the zero model's exact
    objective, and the gradient over the Hessian's rows alone."""
    objective = zero_model_objective(problem)
    rows = Objective.for_problem(problem, settings, fit, curvature.row_index(),
                                 precondition=False)
    point = rows.evaluate(np.zeros(obj.k * obj.p + obj.k))
    return replace(point, smooth=objective, objective=objective, certificate=Certificate(
        objective=objective, dual=-np.inf, gap=np.inf, relative=np.inf))


def newton_steps(obj, point, curvature, exact=True):
    """Newton iterations from ``point``, yielding (point, step, passes);
    raises Stop when the line search finds no decrease.

    ``exact=False``: ``point`` is an ``estimate`` of the start (its gradient
    from the Hessian's rows: unbiased, good enough for a first step from
    far away).  That first step is taken when it decreases the exact
    objective at unit length; else the start is evaluated with a pass and
    the method goes on as usual.  It saves the pass at the start."""
    A = None
    while True:
        if A is None:  # (none computed yet, or not at the last, certified point)
            A, _ = curvature.at(point.z)
        z, g = point.z, point.grad
        with np.errstate(all="ignore"):
            d = curvature.direction(A, g)
        slope = float(g @ d)
        if not (np.all(np.isfinite(d)) and slope < 0):
            if not exact:
                point, exact = obj.evaluate(z), True
                continue
            d = -g  # a gradient step (the Hessian's estimate failed)
            slope = -float(g @ g)
            if not slope < 0:
                raise Stop
        F = point.smooth
        noise = ROUNDING * abs(F)
        near = -slope <= noise
        t, passes, accepted = 1.0, 0, False
        for _ in range((NEAR_BACKTRACKS if near else MAX_BACKTRACKS) if exact else 1):
            trial = obj.evaluate(z + t * d)
            passes += 1
            if acceptable(F, trial.smooth, t * slope, near, noise,
                          lambda: float(trial.grad @ d)):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            if exact:
                raise Stop
            point, exact = obj.evaluate(z), True  # the estimated step failed
            continue
        exact = True
        if near and trial.grad_norm_z >= point.grad_norm_z:
            raise Stop  # within rounding and no smaller gradient: precision
        if curvature.certified(trial):  # the duality gap alone: no Hessian needed
            point, A = trial, None
        else:
            moved = point.smooth - trial.smooth > REUSE_DECREASE * abs(trial.smooth)
            A, lower = curvature.at(trial.z, fresh=moved)
            point = curvature.certify(trial, lower)
        yield point, t, passes
