"""The dense synthetic problem of compare.py (also used by
convergence.py): L2-penalised logistic regression, objective mean log loss
+ alpha/2 ||w||^2 with an unpenalised intercept, on standardised float64
data, with fixed numeric step sizes so that every implementation does the
same work per epoch."""
from __future__ import annotations

import math

import numpy as np

#: Sizes of a full run and of ``--quick`` (rows, features).
FULL_SIZE = (500_000, 100)
QUICK_SIZE = (20_000, 20)

ALPHA = 1e-4
ETA_FULL = 1.0      # full batch, logistic (L ~ 0.25 * lambda_max ~ 0.26)
ETA_FULL_SQ = 0.5   # full batch, squared loss (L ~ lambda_max ~ 1)
ETA_SAMPLE = 0.01   # per-sample SGD
ETA_MINI = 0.1      # mini-batch SGD
MINI_BATCH = 32


def make_data(n, p, seed=0):
    """Standardised features; binary labels from a random true w with
    logistic noise; a real target for the squared loss."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    w_true = rng.standard_normal(p) * (2.0 / math.sqrt(p))
    margin = X @ w_true + 0.25
    y = (margin + rng.logistic(size=n) > 0).astype(np.float64)
    y_reg = margin + rng.standard_normal(n)
    return np.ascontiguousarray(X), y, y_reg


def log_objective(X, y, w, b, alpha=ALPHA):
    z = X @ w + b
    # log(1 + e^z) - y z, stably
    loss = np.logaddexp(0.0, z) - y * z
    return float(loss.mean() + 0.5 * alpha * (w @ w))


def descend_fit(cls, X, y, **params):
    """A descend estimator with the problem's alpha, fitted for exactly
    max_iter epochs (tol=None), shuffled, seeded."""
    params.setdefault("tol", None)
    params.setdefault("shuffle", True)
    params.setdefault("random_state", 0)
    return cls(alpha=ALPHA, **params).fit(X, y)
