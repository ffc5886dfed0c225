"""The epoch loop shared by every estimator.

Python decides what to run and when to stop; each epoch is ONE call into a
compiled kernel that releases the GIL.  Nothing here loops over samples or
coordinates.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._engine import dense as _dense
from ._history import History

# Loss codes shared with csrc/descend/loss.h.
SQUARED, LOG, MULTINOMIAL = 0, 1, 2
# Upper bound of the loss's second derivative in the margin: the loss part of
# the gradient's Lipschitz constant (softmax: Bohning's bound 1/2).
LOSS_CURVATURE = {SQUARED: 1.0, LOG: 0.25, MULTINOMIAL: 0.5}
# Step-size schedules (codes shared with _dense.pyx).
SCHEDULES = {"constant": 0, "invscaling": 1}

# Full batch: rows are reduced in chunks of at least MIN_CHUNK_WORK
# multiply-adds, in at most MAX_CHUNKS chunks; the chunk count depends on the
# data's shape alone, so the result is bitwise the same for any number of
# threads.
MIN_CHUNK_WORK = 1 << 16
MAX_CHUNKS = 64
MAX_SCRATCH = 1 << 24  # doubles of per-chunk gradient buffers, at most
# Epochs per kernel call are sized to take about this many multiply-adds
# (~0.1 s): small problems run many epochs per call, and Ctrl-C is honoured
# between calls.
BLOCK_WORK = 2e8
MAX_BLOCK = 10000
# Status codes of the epoch kernels.
RUNNING, CONVERGED, DIVERGED = 0, 1, 2


class DivergenceError(FloatingPointError):
    """Raised when the objective or the coefficients stop being finite.

    ``result`` holds the fit up to the last finite epoch."""

    result = None


@dataclass
class Problem:
    """Validated data of one fit: X (n, p) C-contiguous float32/float64, y
    (targets, 0/1 labels or class indices, in X's dtype), sample weights."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    loss: int
    n_outputs: int


@dataclass
class Settings:
    batch_size: int | None
    learning_rate: str
    eta0: float | str
    power_t: float
    l2: float
    fit_intercept: bool
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    shuffle: bool
    seed: int
    n_threads: int
    verbose: int


@dataclass
class Result:
    coef: np.ndarray
    intercept: np.ndarray
    history: History
    n_iter: int
    n_updates: int
    converged: bool
    eta0: float


def n_chunks_for(n_rows, n_cols, n_outputs):
    """Chunks of the deterministic full-batch reduction (from the shape only)."""
    width = n_outputs * n_cols + 2 * n_outputs + 1
    rows_per_chunk = max(16, MIN_CHUNK_WORK // max(1, n_outputs * n_cols))
    by_rows = max(1, n_rows // rows_per_chunk)
    by_memory = max(1, MAX_SCRATCH // width)
    return int(min(MAX_CHUNKS, by_rows, by_memory))


def _top_eigenvalue(X, sw, fit_intercept, n_iter=30):
    """Largest eigenvalue of [X 1]^T diag(sw) [X 1] / sum(sw), by power
    iteration with a fixed start (deterministic), on at most ~20,000 evenly
    spaced rows (a strided view: no copy of X)."""
    n, p = X.shape
    stride = max(1, n // 20000)
    Xs = X[::stride]
    ws = sw[::stride].astype(np.float64)
    ws = ws / ws.sum()
    v = np.random.default_rng(0).standard_normal(p + 1)
    if not fit_intercept:
        v[p] = 0.0
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        u = Xs @ v[:p] + v[p]
        wu = ws * u
        new = np.empty(p + 1)
        new[:p] = Xs.T @ wu
        new[p] = wu.sum() if fit_intercept else 0.0
        lam = float(v @ new)
        norm = np.linalg.norm(new)
        if norm == 0.0:
            return 0.0
        v = new / norm
    return lam


def auto_step(problem, settings):
    """Step size from the smoothness of the objective.

    Full batch: 1/L with L = c * lambda_max(X~^T D X~ / sum w) + l2 (c the
    loss curvature bound, X~ = [X 1]).  A batch of B rows: 1 / (2 L(B)),
    L(B) the expected smoothness of sampling B rows without replacement,
    interpolating between L (B = n) and L_max = c * max_i n w_i/sum(w)
    ||x~_i||^2 + l2 (B = 1) (Gower et al., 2019, "SGD: general analysis
    and improved rates").
    """
    X, sw = problem.X, problem.sample_weight
    c = LOSS_CURVATURE[problem.loss]
    lam = _top_eigenvalue(X, sw, settings.fit_intercept)
    L = c * lam + settings.l2
    n = X.shape[0]
    batch = settings.batch_size
    if batch is None or batch >= n:
        return 1.0 / L
    row_sq = np.einsum("ij,ij->i", X, X, dtype=np.float64) + settings.fit_intercept
    L_max = c * float(np.max(row_sq * sw) * n / sw.sum()) + settings.l2
    L_b = (n * (batch - 1) * L + (n - batch) * L_max) / (batch * (n - 1))
    return 1.0 / (2.0 * L_b)


def solve(problem, settings, coef, intercept):
    """Run epochs from (coef, intercept), updated in place; return a Result.

    Divergence (a non-finite objective or coefficients) restores the
    coefficients of the last finite epoch and raises DivergenceError with
    the Result attached; Ctrl-C stops between blocks of epochs and re-raises
    KeyboardInterrupt the same way (``history.stop_reason`` "interrupted").
    """
    X, y, sw = problem.X, problem.y, problem.sample_weight
    n, p = X.shape
    k = problem.n_outputs
    sw_sum = float(sw.sum(dtype=np.float64))
    eta0 = auto_step(problem, settings) if settings.eta0 == "auto" else float(settings.eta0)
    schedule = SCHEDULES[settings.learning_rate]
    full_batch = settings.batch_size is None or settings.batch_size >= n
    width = k * p + 2 * k + 1
    coef_keep, intercept_keep = np.empty_like(coef), np.empty_like(intercept)
    if full_batch:
        work = np.empty((n_chunks_for(n, p, k), width))
    else:
        work = np.empty((max(1, min(settings.n_threads, MAX_SCRATCH // width)), width))
        perm = np.arange(n, dtype=np.int64)
        rng_state = np.array([settings.seed], dtype=np.uint64)
    stop = np.array([-1.0 if settings.tol is None else settings.tol,
                     settings.n_iter_no_change, np.inf, 0.0])
    block = int(np.clip(BLOCK_WORK // max(1, n * p * k), 1, MAX_BLOCK))
    hist = np.empty((block, 5))
    history = History()
    n_epochs = n_updates = 0
    status = RUNNING
    start = time.perf_counter()
    try:
        while status == RUNNING and n_epochs < settings.max_iter:
            rows = hist[:min(block, settings.max_iter - n_epochs)]
            block_start = time.perf_counter() - start
            if full_batch:
                done, status = _dense.full_batch_epochs(
                    X, y, sw, coef, intercept, coef_keep, intercept_keep, work,
                    problem.loss, schedule, eta0, settings.power_t, n_epochs,
                    settings.l2, settings.fit_intercept, sw_sum, stop, rows,
                    settings.n_threads)
            else:
                done, status = _dense.stochastic_epochs(
                    X, y, sw, coef, intercept, coef_keep, intercept_keep, perm,
                    rng_state, settings.shuffle, settings.batch_size, work,
                    problem.loss, schedule, eta0, settings.power_t,
                    float(n_updates), settings.l2, settings.fit_intercept,
                    sw_sum, stop, rows, settings.n_threads)
            _record(history, rows[:done], n_epochs, block_start, settings.verbose)
            n_epochs += done
            if done:
                n_updates = int(rows[done - 1, 4])
    except KeyboardInterrupt as exc:
        history.stop_reason = "interrupted"
        exc.result = Result(coef, intercept, history, n_epochs, n_updates, False, eta0)
        raise
    result = Result(coef, intercept, history, n_epochs, n_updates,
                    status == CONVERGED, eta0)
    if status == DIVERGED:
        history.stop_reason = "diverged"
        exc = DivergenceError(
            f"The fit diverged at epoch {n_epochs + 1}: the objective or the "
            f"coefficients became non-finite (step size {eta0:.3g}). The "
            f"coefficients of the last finite epoch ({n_epochs}) were kept. "
            f"Lower eta0 (or use eta0='auto'), or standardise the features.")
        exc.result = result
        raise exc
    history.stop_reason = "tol" if status == CONVERGED else "max_iter"
    if status != CONVERGED and settings.tol is not None:
        warnings.warn(
            f"Maximum number of epochs ({settings.max_iter}) reached and the "
            f"objective still improved by more than tol={settings.tol} within "
            f"the last {settings.n_iter_no_change} epochs. Increase max_iter, "
            f"or raise tol.", ConvergenceWarning, stacklevel=3)
    return result


def _record(history, rows, epochs_before, block_start, verbose):
    """Append a block of kernel records (objective, grad_norm, eta, seconds,
    updates) to the history, in its column order, and print them if asked."""
    m = len(rows)
    table = np.column_stack([
        np.arange(epochs_before + 1, epochs_before + m + 1), rows[:, 0], rows[:, 1],
        rows[:, 2], rows[:, 4], rows[:, 3] + block_start])
    history.append_block(table)
    if verbose:
        for i in range(m):
            print(format_record(history[epochs_before + i]), flush=True)


def format_record(record):
    """One line of progress, as ``verbose`` prints it."""
    line = (f"epoch {record['epoch']:5d}  objective {record['objective']:.8f}  "
            f"lr {record['learning_rate']:.4g}")
    if np.isfinite(record["grad_norm"]):
        line += f"  grad_norm {record['grad_norm']:.3e}"
    return line + f"  seconds {record['seconds']:.3f}"
