"""The step size of eta0="auto"."""
from __future__ import annotations

import numpy as np

from ._fitstate import Scaling
from ._rules import OPTIMIZERS, loss_by_code

EXACT_EIGEN_MAX_FEATURES = 256
EIGEN_SAMPLE_ROWS = 20000


def top_eigenvalue(X, sw, rows, scaling, fit_intercept, n_iter=50):
    """Largest eigenvalue of [X~ 1]^T diag(sw) [X~ 1] / sum(sw) (X~ the
    implicitly scaled X) on at most ~EIGEN_SAMPLE_ROWS evenly spaced
    training rows: exact (eigvalsh of the Gram matrix, built in row blocks)
    for up to EXACT_EIGEN_MAX_FEATURES features, else power iteration from
    a fixed start (deterministic)."""
    p = X.shape[1]
    stride = max(1, len(rows) // EIGEN_SAMPLE_ROWS)
    sample = rows[::stride]
    ws = sw[sample].astype(np.float64)
    ws = ws / ws.sum()
    if p <= EXACT_EIGEN_MAX_FEATURES:
        gram = np.zeros((p + 1, p + 1))
        for start in range(0, len(sample), Scaling.BLOCK_ROWS):
            idx = sample[start:start + Scaling.BLOCK_ROWS]
            block = np.empty((len(idx), p + 1))
            block[:, :p] = scaling.dense_rows(X, idx)
            block[:, p] = 1.0 if fit_intercept else 0.0
            gram += block.T @ (ws[start:start + len(idx), None] * block)
        return float(np.linalg.eigvalsh(gram)[-1])
    Xs = X[sample] if len(sample) < X.shape[0] else X
    v = np.random.default_rng(0).standard_normal(p + 1)
    if not fit_intercept:
        v[p] = 0.0
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        new = scaling.rmatvec(Xs, ws * scaling.matvec(Xs, v[:p], v[p]))
        if not fit_intercept:
            new[p] = 0.0
        lam = float(v @ new)
        norm = np.linalg.norm(new)
        if norm == 0.0:
            return 0.0
        v = new / norm
    return lam


def max_row_smoothness(X, sw, rows, scaling, c, settings):
    """L_max = c max_i (n w_i / sum w) ||x~_i||^2 + l2 over every training
    row: the largest smoothness constant of one row's term of the objective
    (rows are all read: a sample could miss the one that matters)."""
    row_sq = scaling.row_sq_norms(X, rows) + settings.fit_intercept
    w = sw[rows].astype(np.float64)
    return c * float(np.max(row_sq * w) * len(rows) / w.sum()) + settings.l2


def _inverse(curvature):
    """1 / curvature; 1 for a zero curvature (X all zero without an
    intercept or a penalty: the objective is flat, any step is optimal)."""
    return 1.0 / curvature if curvature > 0 else 1.0


def auto_step(problem, settings, rows, scaling):
    """Step size of eta0="auto".

    Optimizers with a fixed default step (adagrad, rmsprop, adam, adamw:
    PyTorch's) take it.  Otherwise, full batch: 1/L with L = c *
    lambda_max(X~^T D X~ / sum w) + l2 (c the loss curvature bound, X~ =
    [X 1], scaled when scale_features).  A batch of B rows: 1 / (2 L(B)),
    L(B) the expected smoothness of sampling B rows without replacement,
    between L (B = n) and L_max = c * max_i n w_i/sum(w) ||x~_i||^2 + l2
    (B = 1) (Gower et al., 2019, "SGD: general analysis and improved
    rates").  momentum/nesterov: (1 - momentum) times that.  saga: 1 / (3
    L(B)), L(1) = L_max (Defazio et al., 2014; Gazagnadou et al., 2019).
    """
    rule = OPTIMIZERS[settings.optimizer]
    if rule.auto_eta is not None:
        return rule.auto_eta
    X, sw = problem.X, problem.sample_weight
    c = loss_by_code(problem.loss).curvature
    if settings.optimizer == "saga" and settings.batch_size == 1:  # 1/(3 L_max)
        return _inverse(3.0 * max_row_smoothness(X, sw, rows, scaling, c, settings))
    L = c * top_eigenvalue(X, sw, rows, scaling, settings.fit_intercept) + settings.l2
    n = len(rows)
    batch = settings.batch_size
    if batch is None or batch >= n:
        eta = _inverse(L)
    else:
        L_max = max_row_smoothness(X, sw, rows, scaling, c, settings)
        L_b = (n * (batch - 1) * L + (n - batch) * L_max) / (batch * max(1, n - 1))
        # saga: 1/(3 L(B)) (Gazagnadou et al., 2019); sgd: 1/(2 L(B))
        eta = _inverse((3.0 if settings.optimizer == "saga" else 2.0) * L_b)
    if rule.momentum_scaled:
        eta *= 1.0 - settings.momentum
    return eta
