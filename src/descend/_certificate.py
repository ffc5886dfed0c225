"""What a full pass over the data proves: the objective, its gradient, and
a duality gap that bounds the distance to the optimum.

One pass (``pass_sums``) gives, for groups of rows, the gradient sums
sum_i sw_i theta_i [x_i, 1], T_g = sum_i sw_i theta_i z_i and L_g =
sum_i sw_i loss_i, where theta_i = loss'(z_i).  For the objective

    P(w, b) = (1/S) sum_i sw_i loss(z_i) + l1 |w|_1 + l2/2 |w|^2,

Fenchel duality gives, for any theta with theta_i in the domain of the
loss's conjugate and (with an intercept) sum_i sw_i theta_i = 0,

    P* >= D(theta) = -(1/S) sum_i sw_i loss*(theta_i) - h*(-v),
    v = (1/S) sum_i sw_i theta_i x_i,   h = the penalty.

The gradient's theta satisfies loss*(theta_i) = theta_i z_i - loss_i
(Fenchel-Young), but not the intercept's constraint unless the intercept
is optimal.  Scaling the rows of one group toward 0 makes it hold: a
loss's conjugate is finite at 0 (loss* (0) = -inf loss = 0 for every
loss here) and convex, so loss*(u theta) <= u loss*(theta) for u in
[0, 1], and the group sums scale linearly.  Single-output losses use two
groups (theta > 0 and theta <= 0: one of them is scaled); the multinomial
loss one group per class (the scalings are the stationary vector of a
K x K rate matrix).  With l2 = 0 and l1 > 0 the dual also needs
|v|_inf <= l1: theta is scaled by min(1, l1 / |v|_inf).  Without a
penalty there is no finite dual bound; the caller uses a gradient test.

The gap P - D >= P - P* is rigorous up to floating-point rounding of the
sums; ``relative`` divides it by D (a lower bound of P*, positive here),
so relative <= tol proves (P - P*) / P* <= tol.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._engine import _codes, kernels
from ._fitstate import MAX_CHUNKS, MAX_SCRATCH, MIN_CHUNK_WORK, threads_for

LOSS_MULTINOMIAL = _codes.LOSS_NAMES.index("multinomial")


@dataclass
class Sums:
    """The sums of one certificate pass (raw feature space), per group."""

    G: np.ndarray   # (m, K, p): sum sw_i theta_i x_i
    R: np.ndarray   # (m, K): sum sw_i theta_i
    T: np.ndarray   # (m,): sum sw_i theta_i . z_i
    L: np.ndarray   # (m,): sum sw_i loss_i

    def __add__(self, other):
        return Sums(self.G + other.G, self.R + other.R, self.T + other.T, self.L + other.L)

    @property
    def loss(self):
        return float(self.L.sum())


def n_groups(loss, n_outputs):
    """Groups of rows of the certificate pass."""
    return n_outputs if loss == LOSS_MULTINOMIAL else 2


def _width(p, k, m):
    return m * (k * p + k) + 2 * m + 2 * k


def certificate_chunks(n_rows, p, k, m):
    """Chunks of the certificate pass: from the shape alone (so the sums
    are bitwise the same for any thread count), and within MAX_SCRATCH."""
    rows_per_chunk = max(16, MIN_CHUNK_WORK // max(1, k * p))
    by_memory = max(1, MAX_SCRATCH // _width(p, k, m))
    return int(min(MAX_CHUNKS, max(1, n_rows // rows_per_chunk), by_memory))


def pass_sums(X, y, sw, W, b, loss, epsilon, n_threads, rows=None, work=None):
    """One pass over the rows (default all) at the raw-space model (W, b)
    (float64, whatever X's dtype): the certificate's Sums.  ``work`` may be
    a scratch array from an earlier call (reused when of the same shape)."""
    k, p = W.shape
    m = n_groups(loss, k)
    n_rows = X.shape[0] if rows is None else len(rows)
    n_chunks = certificate_chunks(n_rows, p, k, m)
    width = _width(p, k, m)
    if work is None or work.shape != (n_chunks, width):
        work = np.empty((n_chunks, width))
    W = np.ascontiguousarray(W, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    sparse = sp.issparse(X)
    entries = X.nnz * n_rows / max(1, X.shape[0]) if sparse else n_rows * p
    n_threads = threads_for(n_threads, entries * k)
    args = (y, sw, W, b, loss, float(epsilon), work, m, n_threads, rows)
    if sparse:
        kernels.evaluate_csr(X.data, X.indices, X.indptr, *args)
    else:
        kernels.evaluate_dense(X, *args)
    blk = k * p + k
    row = work[0, :m * blk + 2 * m].copy()  # (work is reused by the next pass)
    groups = row[:m * blk].reshape(m, blk)
    return Sums(G=groups[:, :k * p].reshape(m, k, p), R=groups[:, k * p:],
                T=row[m * blk:m * blk + m], L=row[m * blk + m:]), work


@dataclass
class Certificate:
    objective: float    # P at the point
    dual: float         # a lower bound of P* (-inf when there is none)
    gap: float          # objective - dual >= P - P*
    relative: float     # gap / dual (inf when the dual is not positive)


def intercept_scalings(R):
    """Scalings u in [0, 1] of the groups (max 1) with sum_g u_g R_g = 0,
    or None when none can be found.  R: (m, K)."""
    m, k = R.shape
    if m == 2 and k == 1:  # theta <= 0 rows, theta > 0 rows
        neg, pos = R[0, 0], R[1, 0]
        total = neg + pos
        if total > 0:
            return np.array([1.0, -neg / pos])
        if total < 0:
            return np.array([-pos / neg, 1.0])
        return np.ones(2)
    # multinomial: M u = 0 with M[:, g] = R_g (columns sum to 0, off-diagonal
    # >= 0): u is the stationary vector of a rate matrix, positive when
    # every class's rows give every other class some probability
    M = R.T
    j = int(np.argmax(np.diag(-M)))  # fix the largest group's scaling at 1
    free = [g for g in range(m) if g != j]
    u = np.ones(m)
    if free:
        u[free] = np.linalg.lstsq(M[:, free], -M[:, j], rcond=None)[0]
    if not np.all(np.isfinite(u)) or u.min() < 0:
        return None
    u /= u.max()
    scale = np.abs(M).sum()
    if np.abs(M @ u).sum() > 1e-10 * max(scale, 1e-300):
        return None
    return u


def certify(sums, sw_sum, W, G, R, l1, l2, fit_intercept):
    """The Certificate at problem-space coefficients W (K, p), given the
    pass's sums with their gradient parts G (m, K, p) and R (m, K) mapped
    to the problem space (the caller maps scale_features)."""
    penalty = 0.5 * l2 * float(np.vdot(W, W))
    if l1 > 0.0:
        penalty += l1 * float(np.abs(W).sum())
    objective = sums.loss / sw_sum + penalty
    u = intercept_scalings(R) if fit_intercept else np.ones(len(R))
    if u is None or (l1 == 0.0 and l2 == 0.0):
        return Certificate(objective, -np.inf, np.inf, np.inf)
    v = (u @ G.reshape(len(u), -1)) / sw_sum
    conjugate = float(u @ (sums.T - sums.L)) / sw_sum   # an upper bound
    if l2 > 0.0:
        excess = np.maximum(np.abs(v) - l1, 0.0) if l1 > 0.0 else v
        dual = -conjugate - float(np.vdot(excess, excess)) / (2.0 * l2)
    else:
        top = float(np.abs(v).max()) if v.size else 0.0
        scale = 1.0 if top <= l1 else l1 / top
        dual = -scale * conjugate
    gap = max(objective - dual, 0.0)
    # an optimum of 0 (a model that fits exactly) is certified by gap 0 alone
    relative = gap / dual if dual > 0.0 else (0.0 if gap == 0.0 else np.inf)
    return Certificate(objective, dual, gap, relative)
