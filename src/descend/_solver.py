"""The epoch loop shared by every estimator.

Python decides what to run and when to stop; each epoch is ONE call into a
compiled kernel that releases the GIL.  Nothing here loops over samples or
coordinates.
"""
from __future__ import annotations

import time
import warnings
import dataclasses
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from ._engine import dense as _dense
from ._engine import sparse as _sparse
from ._history import History

# Loss codes shared with csrc/descend/loss.h.
SQUARED, LOG, MULTINOMIAL = 0, 1, 2
HINGE, PERCEPTRON, SQUARED_HINGE, MODIFIED_HUBER = 3, 4, 5, 6
HUBER, EPSILON_INSENSITIVE, SQUARED_EPSILON_INSENSITIVE = 7, 8, 9
#: Losses of real-valued targets (validation score R^2, unstratified split).
REGRESSION_LOSSES = (SQUARED, HUBER, EPSILON_INSENSITIVE, SQUARED_EPSILON_INSENSITIVE)
# Upper bound of the loss's second derivative in the margin: the loss part of
# the gradient's Lipschitz constant (softmax: Bohning's bound 1/2).  The
# hinge, perceptron and epsilon-insensitive losses are not smooth; 1 is the
# scale eta0="auto" uses for them (a heuristic, not a bound).
LOSS_CURVATURE = {SQUARED: 1.0, LOG: 0.25, MULTINOMIAL: 0.5, HINGE: 1.0, PERCEPTRON: 1.0,
                  SQUARED_HINGE: 2.0, MODIFIED_HUBER: 2.0, HUBER: 1.0,
                  EPSILON_INSENSITIVE: 1.0, SQUARED_EPSILON_INSENSITIVE: 2.0}
# Codes shared with _dense.pyx.  "line_search" runs here, around the kernel.
SCHEDULES = {"constant": 0, "invscaling": 1, "optimal": 2, "adaptive": 3,
             "exponential": 4, "step": 5, "cosine": 6}
OPTIMIZERS = {"sgd": 0, "momentum": 1, "nesterov": 2, "adagrad": 3,
              "rmsprop": 4, "adam": 5, "adamw": 6}
# Step sizes of eta0="auto" for the adaptive optimizers (PyTorch's defaults).
AUTO_ETA = {"adagrad": 0.01, "rmsprop": 0.01, "adam": 0.001, "adamw": 0.001}
ROW_AVERAGE, ROW_GRAD, ROW_BEST, N_STATE_ROWS = 2, 4, 6, 8
SC_T, SC_BEST, SC_ETA_ADAPTIVE, SC_MIN_OBJECTIVE, N_SCALARS = 0, 2, 4, 5, 6
N_HIST = 6
N_LAZY_ROWS = 5  # schedule rows of the CSR lazy updates (_sparse.pyx)

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
# Line search: growth of the step between epochs, and its shrink factor.
LINE_SEARCH_GROW, LINE_SEARCH_SHRINK = 1.25, 0.5


class DivergenceError(FloatingPointError, ValueError):
    """Raised when the objective or the coefficients stop being finite.

    A FloatingPointError, and a ValueError as scikit-learn's SGD raises for
    the same event (so code written for either catches it).  ``result``
    holds the fit up to the last finite epoch."""

    result = None


class BlowUpWarning(ConvergenceWarning):
    """A fit without the blow-up check (the SGD estimators) ended with a
    finite objective 1e10-fold above the all-zero model's."""


@dataclass
class Problem:
    """Validated data of one fit: X (n, p) C-contiguous float32/float64 or
    CSR with float32/float64 values and int32/int64 indices, y
    (targets, 0/1 labels or class indices, in X's dtype), sample weights."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    loss: int
    n_outputs: int
    epsilon: float = 0.1
    #: real-valued targets (R^2 validation score, unstratified split); None:
    #: from the loss (a classifier may train on a regression loss of +-1)
    regression: bool | None = None

    def __post_init__(self):
        if self.regression is None:
            self.regression = self.loss in REGRESSION_LOSSES


@dataclass
class Settings:
    """Every hyperparameter the solver reads (see the estimators' docs)."""

    batch_size: int | None = None
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.99
    eps: float = 1e-8
    learning_rate: str = "constant"
    eta0: float | str = "auto"
    power_t: float = 0.5
    decay_rate: float = 0.9
    decay_steps: int = 10
    warmup_epochs: float = 0.0
    l2: float = 0.0
    l1: float = 0.0
    schedule_alpha: float = 0.0
    clip_norm: float | None = None
    average: int = 0
    fit_intercept: bool = True
    scale_features: bool = False
    max_iter: int = 1000
    tol: float | None = 1e-4
    n_iter_no_change: int = 5
    early_stopping: bool = False
    validation_fraction: float = 0.1
    keep_best: bool = False
    callback: object = None
    shuffle: bool = True
    seed: int = 0
    #: random_state of the early-stopping split (an int or a RandomState),
    #: for estimators that split as scikit-learn's SGD does; None: seeded
    #: from ``seed``
    split_random_state: object = None
    n_threads: int = 1
    #: n_jobs was given (not None): only then do stochastic CSR fits run
    #: Hogwild, which is not reproducible; n_jobs=None keeps them on one thread
    n_jobs_given: bool = True
    #: multiplies the intercept's data gradient in stochastic updates
    intercept_decay: float = 1.0
    #: a finite 1e10-fold blow-up of the objective counts as divergence
    blowup_check: bool = True
    verbose: int = 0


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


class Scaling:
    """Implicit standardisation: weighted means and 1/std of the features,
    computed once in row blocks (no scaled copy of X is ever made).  Identity
    (mu = 0, 1/sigma = 1) when off."""

    BLOCK_ROWS = 8192

    def __init__(self, X, sw, rows, enabled):
        p = X.shape[1]
        self.mu, self.inv_sigma = np.zeros(p), np.ones(p)
        if not enabled:
            return
        w = sw[rows].astype(np.float64)
        total = float(w.sum())
        if sp.issparse(X):  # sparse: moments from sparse products, never densified
            Xr = X[rows] if len(rows) < X.shape[0] else X
            self.mu = np.asarray(Xr.T @ w).ravel() / total
            second = np.asarray(Xr.multiply(Xr).T @ w).ravel() / total
            sigma = np.sqrt(np.maximum(second - self.mu ** 2, 0.0))
        else:
            s1, s2 = np.zeros(p), np.zeros(p)
            for start in range(0, len(rows), self.BLOCK_ROWS):
                idx = rows[start:start + self.BLOCK_ROWS]
                s1 += w[start:start + len(idx)] @ X[idx].astype(np.float64)
            self.mu = s1 / total
            for start in range(0, len(rows), self.BLOCK_ROWS):
                idx = rows[start:start + self.BLOCK_ROWS]
                block = X[idx].astype(np.float64) - self.mu
                s2 += w[start:start + len(idx)] @ (block * block)
            sigma = np.sqrt(s2 / total)
        self.inv_sigma = np.where(sigma > 0, 1.0 / np.where(sigma > 0, sigma, 1.0), 1.0)

    def to_raw(self, coef, intercept):
        """Coefficients of the scaled model in X's own space."""
        raw = coef * self.inv_sigma
        return raw, intercept - raw @ self.mu

    def to_scaled(self, coef, intercept):
        scaled = coef / self.inv_sigma
        return scaled, intercept + coef @ self.mu

    def matvec(self, Xs, v, v0):
        """[Xs~, 1] @ [v, v0] for the (implicitly scaled) rows Xs."""
        u = v * self.inv_sigma
        return np.asarray(Xs @ u).ravel() - u @ self.mu + v0

    def rmatvec(self, Xs, r):
        """[Xs~, 1].T @ r."""
        return np.append((np.asarray(Xs.T @ r).ravel() - self.mu * r.sum()) * self.inv_sigma,
                         r.sum())

    def dense_rows(self, X, idx):
        """Rows idx of X~ as a dense float64 block (small blocks only)."""
        block = X[idx]
        block = block.toarray() if sp.issparse(block) else block.astype(np.float64)
        return (block - self.mu) * self.inv_sigma

    def row_sq_norms(self, X, rows):
        """||x~_i||^2 of the given rows (sparse: by expanding the square)."""
        if sp.issparse(X):
            Xr = X[rows]
            s2 = self.inv_sigma ** 2
            out = np.asarray(Xr.multiply(Xr) @ s2).ravel()
            out -= 2.0 * np.asarray(Xr @ (self.mu * s2)).ravel()
            return out + float(self.mu ** 2 @ s2)
        out = np.empty(len(rows))
        for start in range(0, len(rows), self.BLOCK_ROWS):
            block = self.dense_rows(X, rows[start:start + self.BLOCK_ROWS])
            out[start:start + len(block)] = np.einsum("ij,ij->i", block, block)
        return out


EXACT_EIGEN_MAX_FEATURES = 256


def _top_eigenvalue(X, sw, rows, scaling, fit_intercept, n_iter=50):
    """Largest eigenvalue of [X~ 1]^T diag(sw) [X~ 1] / sum(sw) (X~ the
    implicitly scaled X) on at most ~20,000 evenly spaced training rows:
    exact (eigvalsh of the Gram matrix, built in row blocks) for up to
    EXACT_EIGEN_MAX_FEATURES features, else power iteration from a fixed
    start (deterministic)."""
    p = X.shape[1]
    stride = max(1, len(rows) // 20000)
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


def auto_step(problem, settings, rows, scaling):
    """Step size of eta0="auto".

    sgd, full batch: 1/L with L = c * lambda_max(X~^T D X~ / sum w) + l2 (c
    the loss curvature bound, X~ = [X 1], scaled when scale_features).  A
    batch of B rows: 1 / (2 L(B)), L(B) the expected smoothness of sampling B
    rows without replacement, between L (B = n) and L_max = c * max_i n
    w_i/sum(w) ||x~_i||^2 + l2 (B = 1) (Gower et al., 2019, "SGD: general
    analysis and improved rates").  momentum/nesterov: (1 - momentum) times
    that; adagrad, rmsprop, adam, adamw: PyTorch's default step.
    """
    if settings.optimizer in AUTO_ETA:
        return AUTO_ETA[settings.optimizer]
    X, sw = problem.X, problem.sample_weight
    c = LOSS_CURVATURE[problem.loss]
    L = c * _top_eigenvalue(X, sw, rows, scaling, settings.fit_intercept) + settings.l2
    n = len(rows)
    batch = settings.batch_size
    if batch is None or batch >= n:
        eta = 1.0 / L
    else:
        row_sq = scaling.row_sq_norms(X, rows) + settings.fit_intercept
        w = sw[rows].astype(np.float64)
        L_max = c * float(np.max(row_sq * w) * n / w.sum()) + settings.l2
        L_b = (n * (batch - 1) * L + (n - batch) * L_max) / (batch * max(1, n - 1))
        eta = 1.0 / (2.0 * L_b)
    if settings.optimizer in ("momentum", "nesterov"):
        eta *= 1.0 - settings.momentum
    return eta


def validation_split(problem, settings):
    """Training and validation rows (sorted int64) for early stopping:
    stratified by class for classifiers, as scikit-learn's SGD."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    n = problem.X.shape[0]
    splitter_class = ShuffleSplit if problem.regression else StratifiedShuffleSplit
    random_state = (settings.split_random_state if settings.split_random_state is not None
                    else settings.seed % 2**32)
    splitter = splitter_class(test_size=settings.validation_fraction,
                              random_state=random_state)
    try:
        train, val = next(splitter.split(np.zeros((n, 1)), problem.y))
    except ValueError as exc:
        raise ValueError(
            f"early_stopping could not hold out validation_fraction="
            f"{settings.validation_fraction} of {n} samples: {exc} Use more "
            f"samples, another validation_fraction, or early_stopping=False.") from None
    if len(train) == 0 or len(val) == 0:
        raise ValueError(
            f"early_stopping with validation_fraction={settings.validation_fraction} "
            f"leaves an empty training or validation set for {n} samples.")
    if not problem.sample_weight[val].sum() > 0:
        raise ValueError(
            "The sample weights for validation set are all zero, consider using a "
            "different random state (or other sample weights, or early_stopping=False).")
    return np.sort(train).astype(np.int64), np.sort(val).astype(np.int64)


class Engine:
    """Everything a fit carries from epoch to epoch, and from one
    partial_fit call to the next: the model in the solver's space (scaled
    when scale_features), optimizer state, counters, the shuffling state,
    the scaling and the history."""

    def __init__(self, problem, settings, coef, intercept, rows=None):
        X = problem.X
        n, p = X.shape
        k = problem.n_outputs
        rows = np.arange(n, dtype=np.int64) if rows is None else rows
        self.dtype = X.dtype
        self.scaling = Scaling(X, problem.sample_weight, rows, settings.scale_features)
        W, b = self.scaling.to_scaled(np.asarray(coef, dtype=np.float64),
                                      np.asarray(intercept, dtype=np.float64))
        self.W = np.ascontiguousarray(W, dtype=self.dtype)
        self.b = np.ascontiguousarray(b, dtype=self.dtype)
        self.W_eff, self.b_eff = self.W.copy(), self.b.copy()
        self.state = np.zeros((N_STATE_ROWS, k * p + k))
        self.scalars = np.zeros(N_SCALARS)
        self.scalars[SC_BEST] = np.inf
        # the blow-up rule's scale: the smallest objective seen, starting
        # from the all-zero model's (so a first epoch that blows up counts)
        self.scalars[SC_MIN_OBJECTIVE] = zero_model_objective(problem)
        self.rng_state = np.array([settings.seed], dtype=np.uint64)
        self.history = History()
        self.eta0 = None
        self.line_search_eta = None
        self.line_search_point = None  # (objective, grad norm, gradient) at W
        self.n_epochs = 0

    @property
    def n_updates(self):
        return int(self.scalars[SC_T])

    def coefficients(self, settings):
        """coef, intercept in X's space (the average when averaging);
        copies, never the engine's own arrays."""
        if settings.average and self.n_updates >= settings.average:
            k, p = self.W.shape
            avg = self.state[ROW_AVERAGE]
            W, b = avg[:k * p].reshape(k, p), avg[k * p:]
        elif not settings.scale_features:  # one copy, no float64 round trip
            return self.W.copy(), self.b.copy()
        else:
            W, b = self.W.astype(np.float64), self.b.astype(np.float64)
        if settings.scale_features:
            W, b = self.scaling.to_raw(W, b)
        return W.astype(self.dtype), b.astype(self.dtype)

    def restore_best(self):
        k, p = self.W.shape
        best = self.state[ROW_BEST]
        self.W[...] = best[:k * p].reshape(k, p)
        self.b[...] = best[k * p:]


def _config(problem, settings, rows, val_rows, sw_sum, eta0):
    l1 = settings.l1
    # the "optimal" schedule's alpha: the penalty's, or (penalty=None, as in
    # scikit-learn's SGD) the estimator's alpha, used for the step alone
    alpha = settings.l1 + settings.l2 or settings.schedule_alpha
    typw = np.sqrt(1.0 / np.sqrt(alpha)) if alpha > 0 else 1.0
    full_batch = settings.batch_size is None or settings.batch_size >= len(rows)
    n_updates_per_epoch = 1 if full_batch else -(-len(rows) // settings.batch_size)
    val_sst = 0.0
    if settings.early_stopping and problem.regression:
        yv = problem.y[val_rows].astype(np.float64)
        wv = problem.sample_weight[val_rows].astype(np.float64)
        val_sst = float(wv @ (yv - (wv @ yv) / wv.sum()) ** 2)
    return dict(
        loss=problem.loss, epsilon=float(problem.epsilon), regression=problem.regression,
        fit_intercept=settings.fit_intercept,
        scale=settings.scale_features,
        rows_identity=full_batch and len(rows) == problem.X.shape[0],
        batch_size=0 if full_batch else settings.batch_size,
        shuffle=settings.shuffle and not full_batch, sw_sum=sw_sum,
        n_threads=settings.n_threads, optimizer=OPTIMIZERS[settings.optimizer],
        momentum=settings.momentum, beta_1=settings.beta_1, beta_2=settings.beta_2,
        rho=settings.rho, eps=settings.eps, l2=settings.l2, l1=l1,
        clip_norm=settings.clip_norm or 0.0, average_start=float(settings.average),
        schedule=SCHEDULES.get(settings.learning_rate, 0), eta0=eta0,
        power_t=settings.power_t, decay_rate=settings.decay_rate,
        decay_steps=settings.decay_steps, max_iter=settings.max_iter,
        optimal_t0=1.0 / (typw * alpha) if alpha > 0 else 1.0, optimal_alpha=alpha,
        warmup_updates=settings.warmup_epochs * n_updates_per_epoch,
        tol=-1.0 if settings.tol is None else settings.tol,
        n_iter_no_change=float(settings.n_iter_no_change),
        early_stopping=settings.early_stopping, val_sst=val_sst,
        keep_best=settings.keep_best, evaluate_only=False,
        intercept_decay=1.0 if full_batch else float(settings.intercept_decay),
        blowup_check=settings.blowup_check)


def solve(problem, settings, engine=None, coef=None, intercept=None, epochs=None,
          quiet=False, split=None):
    """Run up to ``epochs`` (default settings.max_iter) epochs; return a Result.

    ``quiet`` leaves the ConvergenceWarnings to the caller (one-vs-rest fits
    warn once for all their classes, see ``warn_not_converged``); ``split``
    is a precomputed (training rows, validation rows) for early stopping
    (one-vs-rest fits share one split of the original labels).

    A new Engine starts from (coef, intercept) (zeros by default); a given
    Engine continues (partial_fit).  Divergence restores the coefficients of
    the last finite epoch and raises DivergenceError with the Result
    attached; Ctrl-C stops between blocks of epochs and re-raises
    KeyboardInterrupt the same way (stop_reason "interrupted").
    """
    X, y, sw = problem.X, problem.y, problem.sample_weight
    n, p = X.shape
    k = problem.n_outputs
    if (sp.issparse(X) and not settings.n_jobs_given and settings.batch_size is not None
            and settings.batch_size < n):
        settings = dataclasses.replace(settings, n_threads=1)  # reproducible by default
    if settings.early_stopping:
        rows, val_rows = split if split is not None else validation_split(problem, settings)
    else:
        rows, val_rows = np.arange(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    if engine is None:
        if coef is None:
            coef, intercept = np.zeros((k, p)), np.zeros(k)
        engine = Engine(problem, settings, coef, intercept, rows)
    if engine.eta0 is None:
        if settings.eta0 == "auto":
            # one BLAS thread: the eigenvalue is a small computation, and
            # BLAS threads left spinning after it slow the first epochs
            # (measured: 22-52 ms instead of 14 ms at 500,000 x 100)
            with threadpool_limits(limits=1, user_api="blas"):
                engine.eta0 = auto_step(problem, settings, rows, engine.scaling)
        else:
            engine.eta0 = float(settings.eta0)
        engine.scalars[SC_ETA_ADAPTIVE] = engine.eta0
    eta0 = engine.eta0
    engine.line_search_point = None  # the data may differ from the last call
    sw_sum = float(sw[rows].sum(dtype=np.float64))
    full_batch = settings.batch_size is None or settings.batch_size >= len(rows)
    width = k * p + 3 * k + 1
    n_chunks = (n_chunks_for(len(rows), p, k) if full_batch
                else max(1, min(settings.n_threads, MAX_SCRATCH // width)))
    work = np.empty((n_chunks, width))
    work = (work, *_lazy_scratch(X, settings, rows, k, n_chunks, full_batch))
    cfg = _config(problem, settings, rows, val_rows, sw_sum, eta0)
    lower = "Lower eta0 (or use eta0='auto')"
    if settings.learning_rate == "optimal":
        # eta0 plays no part: report the schedule's first step, alpha^(-1/4)
        eta0 = 1.0 / (cfg["optimal_alpha"] * cfg["optimal_t0"])
        lower = ("The 'optimal' schedule ignores eta0 (its first step is alpha^(-1/4)): "
                 "raise alpha or choose another learning_rate")
    max_epochs = settings.max_iter if epochs is None else epochs
    work_per_epoch = (problem.X.nnz if sp.issparse(problem.X) else n * p) * k
    block = 1 if (settings.callback is not None) else int(
        np.clip(BLOCK_WORK // max(1, work_per_epoch), 1, MAX_BLOCK))
    hist = np.empty((block, N_HIST))
    status, done_total = RUNNING, 0
    start = time.perf_counter()
    stop_reason = None
    bar = _progress_bar(settings, max_epochs)
    lines = settings.verbose if bar is None else 0
    try:
        while status == RUNNING and done_total < max_epochs:
            block_start = time.perf_counter() - start
            if settings.learning_rate == "line_search":
                done, status = _line_search_epoch(problem, settings, engine, cfg, rows,
                                                  val_rows, work, hist)
            else:
                out = hist[:min(block, max_epochs - done_total)]
                done, status = _run_kernel(problem, engine, rows, val_rows, work, cfg,
                                           engine.n_epochs, out)
            records = _record(engine, hist[:done], block_start, lines)
            done_total += done
            if bar is not None and done:
                bar.set_postfix(objective=f"{hist[done - 1, 0]:.6g}", refresh=False)
                bar.update(done)
            if settings.callback is not None and records and settings.callback(records[-1]):
                stop_reason = "callback"
                break
    except KeyboardInterrupt as exc:
        engine.history.stop_reason = "interrupted"
        exc.result = _result(engine, settings, eta0, False)
        raise
    finally:
        if bar is not None:
            bar.close()
    converged = status == CONVERGED
    if settings.keep_best and np.isfinite(engine.scalars[SC_BEST]):
        engine.restore_best()
    result = _result(engine, settings, eta0, converged)
    if status == DIVERGED:
        engine.history.stop_reason = "diverged"
        exc = DivergenceError(
            f"Floating-point under-/overflow occurred at epoch #{engine.n_epochs + 1}: "
            f"the fit diverged (the objective or the coefficients became non-finite "
            f"or grew more than 1e10-fold; step size {eta0:.3g}). The coefficients "
            f"of the last finite epoch ({engine.n_epochs}) were kept. {lower}, "
            f"or pass scale_features=True. Scaling input data with "
            f"StandardScaler or MinMaxScaler might help.")
        exc.result = result
        raise exc
    engine.history.stop_reason = stop_reason or ("tol" if converged else "max_iter")
    if not quiet:
        _warn_if_rising(engine.history, settings, full_batch)
        warn_if_blown_up(problem, engine.history, settings, stacklevel=4)
        if epochs is None:
            warn_not_converged(engine.history, settings, stacklevel=4)
    return result, engine


def zero_model_objective(problem):
    """The objective of the all-zero model (margins 0): the loss of 0 at
    each target, weighted; a scale for how large an objective may get."""
    y = problem.y.astype(np.float64)
    w = problem.sample_weight.astype(np.float64)
    eps = problem.epsilon
    losses = {
        SQUARED: lambda: 0.5 * y * y,
        LOG: lambda: np.full_like(y, np.log(2.0)),
        MULTINOMIAL: lambda: np.full_like(y, np.log(problem.n_outputs)),
        HINGE: lambda: np.ones_like(y),
        PERCEPTRON: lambda: np.zeros_like(y),
        SQUARED_HINGE: lambda: np.ones_like(y),
        MODIFIED_HUBER: lambda: np.ones_like(y),
        HUBER: lambda: np.where(np.abs(y) <= eps, 0.5 * y * y, eps * np.abs(y) - 0.5 * eps ** 2),
        EPSILON_INSENSITIVE: lambda: np.maximum(0.0, np.abs(y) - eps),
        SQUARED_EPSILON_INSENSITIVE: lambda: np.maximum(0.0, np.abs(y) - eps) ** 2,
    }
    return float(w @ losses[problem.loss]() / w.sum())


def warn_if_blown_up(problem, history, settings, stacklevel=3):
    """Without the blow-up check (scikit-learn's SGD semantics), a fit
    whose objective ended 1e10-fold above the all-zero model's is garbage
    that is still finite: say so."""
    objective = history["objective"]
    if settings.blowup_check or not len(objective):
        return
    scale = max(1.0, zero_model_objective(problem))
    if objective[-1] > 1e10 * scale:
        warnings.warn(
            f"The fit blew up: its objective ended at {objective[-1]:.3g}, more than "
            f"1e10 times the all-zero model's ({scale:.3g}); the coefficients are "
            f"finite but meaningless. Lower the step size (eta0, or raise alpha for "
            f"the 'optimal' schedule), or scale the features (StandardScaler, or "
            f"scale_features=True).", BlowUpWarning, stacklevel=stacklevel)


def warn_not_converged(history, settings, stacklevel=3):
    """The ConvergenceWarning of a fit that ``max_iter`` ended while its
    monitored value was still improving (not when tol=None asked for it)."""
    if history.stop_reason == "max_iter" and settings.tol is not None:
        warnings.warn(
            f"Maximum number of iteration reached before convergence. Consider "
            f"increasing max_iter to improve the fit. (max_iter={settings.max_iter} "
            f"epochs ran and the monitored objective still improved by more than "
            f"tol={settings.tol} within the last {settings.n_iter_no_change} epochs; "
            f"raising tol stops earlier.)", ConvergenceWarning, stacklevel=stacklevel)


def _warn_if_rising(history, settings, full_batch):
    """A full-batch objective is exact: if the fit stopped by tol while it
    ended clearly above the best epoch, the step is too large, and the fit
    did not converge in any useful sense (scikit-learn's SGD stops there
    silently)."""
    if history.stop_reason != "tol" or not full_batch or settings.early_stopping:
        return
    objective = history["objective"]
    best = objective.min()
    if objective[-1] > best + 1e-3 * max(abs(best), 1e-12):
        warnings.warn(
            f"The fit stopped because the objective stopped improving, but it ended "
            f"at {objective[-1]:.6g}, above the best epoch's {best:.6g}: the step "
            f"size is too large. Lower eta0, use eta0='auto' or "
            f"learning_rate='line_search', or keep_best=True.",
            ConvergenceWarning, stacklevel=3)


def _result(engine, settings, eta0, converged):
    coef, intercept = engine.coefficients(settings)
    return Result(coef=coef, intercept=intercept, history=engine.history,
                  n_iter=engine.n_epochs, n_updates=engine.n_updates,
                  converged=converged, eta0=eta0)


def _lazy_scratch(X, settings, rows, k, n_threads, full_batch):
    """Scratch of the CSR kernels' lazy updates (per-sample and mini-batch,
    unless scale_features): the epoch's schedule rows; per thread, the
    flags and the list of the coordinates a mini-batch touches (room for
    the K * nnz of the batch_size longest rows).  1-wide when unused."""
    lazy = np.empty((N_LAZY_ROWS, 1))
    marks = np.zeros((1, 1), dtype=np.uint8)
    touched = np.empty((1, 1), dtype=np.int64)
    if sp.issparse(X) and not full_batch and not settings.scale_features:
        batch = settings.batch_size
        lazy = np.empty((N_LAZY_ROWS, -(-len(rows) // batch) + 1))
        if batch > 1:
            lengths = np.sort(np.diff(X.indptr))[-batch:]
            cap = max(1, min(k * X.shape[1], k * int(lengths.sum())))
            marks = np.zeros((n_threads, k * X.shape[1]), dtype=np.uint8)
            touched = np.empty((n_threads, cap), dtype=np.int64)
    return lazy, marks, touched


def _run_kernel(problem, engine, rows, val_rows, work, cfg, epochs_before, hist):
    """One call of the epoch kernel for X's layout (dense or CSR).  ``work``
    is (gradient scratch, *scratch of the CSR lazy updates)."""
    X = problem.X
    work, *lazy = work
    common = (problem.y, problem.sample_weight, engine.W, engine.b, engine.W_eff,
              engine.b_eff, engine.scaling.mu, engine.scaling.inv_sigma, rows, val_rows,
              engine.rng_state, work, engine.state, engine.scalars, cfg, epochs_before,
              hist)
    if sp.issparse(X):
        return _sparse.run_epochs(X.data, X.indices, X.indptr, X.shape[1], *common, *lazy)
    return _dense.run_epochs(X, *common)


def _evaluate(problem, engine, cfg, rows, val_rows, work):
    """Objective (with penalty) and smooth gradient at the engine's W, b."""
    one = np.empty((1, N_HIST))
    _run_kernel(problem, engine, rows, val_rows, work, {**cfg, "evaluate_only": True}, 0, one)
    return float(one[0, 0]), float(one[0, 1]), engine.state[ROW_GRAD].copy()


def _line_search_epoch(problem, settings, engine, cfg, rows, val_rows, work, hist):
    """One epoch of backtracking (Armijo) gradient descent on the full
    objective: one pass per accepted step; the evaluation at the accepted
    point serves the next epoch.  Returns (1, status) like the kernel."""
    k, p = engine.W.shape
    t0 = time.perf_counter()
    if engine.line_search_point is None:
        engine.line_search_point = _evaluate(problem, engine, cfg, rows, val_rows, work)
    f, grad_norm, g = engine.line_search_point
    l1 = settings.l1
    W0, b0 = engine.W.astype(np.float64), engine.b.astype(np.float64)
    f_smooth = f - l1 * np.abs(W0).sum()
    gW, gb = g[:k * p].reshape(k, p), g[k * p:]
    eta = engine.eta0 if engine.line_search_eta is None else engine.line_search_eta * LINE_SEARCH_GROW
    for _ in range(60):
        W1 = W0 - eta * gW
        if l1 > 0:
            W1 = np.sign(W1) * np.maximum(np.abs(W1) - eta * l1, 0.0)
        b1 = b0 - eta * gb if settings.fit_intercept else b0
        engine.W[...] = W1
        engine.b[...] = b1
        trial = _evaluate(problem, engine, cfg, rows, val_rows, work)
        f1_smooth = trial[0] - l1 * np.abs(engine.W.astype(np.float64)).sum()
        dW, db = engine.W - W0, engine.b - b0
        bound = (f_smooth + float((gW * dW).sum() + gb @ db)
                 + float((dW * dW).sum() + db @ db) / (2.0 * eta))
        if np.isfinite(trial[0]) and f1_smooth <= bound + 1e-15 * abs(bound):
            break
        eta *= LINE_SEARCH_SHRINK
    else:
        engine.W[...] = W0
        engine.b[...] = b0
        return 0, CONVERGED
    engine.line_search_eta = eta
    engine.line_search_point = trial
    engine.scalars[SC_T] += 1
    hist[0] = (f, grad_norm, eta, time.perf_counter() - t0, engine.scalars[SC_T], np.nan)
    if not np.isfinite(f):
        engine.W[...] = W0
        engine.b[...] = b0
        return 0, DIVERGED
    flags = _dense.check_stop(cfg, engine.scalars, f)
    return 1, (CONVERGED if flags & 1 else RUNNING)


def _progress_bar(settings, total):
    """verbose >= 2: a tqdm progress bar over epochs (showing the objective)
    when tqdm is installed (the "progress" extra); else None, and the
    per-epoch lines of verbose=1 are printed instead."""
    if settings.verbose < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="epoch", desc="descend", leave=True)


def _record(engine, rows, block_start, verbose):
    """Append a block of kernel records (objective, grad_norm, eta, seconds,
    updates, validation score) to the history; return them as dicts."""
    m = len(rows)
    if not m:
        return []
    before = engine.n_epochs
    table = np.column_stack([
        np.arange(before + 1, before + m + 1), rows[:, 0], rows[:, 1],
        rows[:, 2], rows[:, 4], rows[:, 3] + block_start, rows[:, 5]])
    engine.history._append_block(table)
    engine.n_epochs += m
    records = [engine.history[before + i] for i in range(m)] if verbose else [engine.history[-1]]
    if verbose:
        for record in records:
            print(format_record(record), flush=True)
    return records


def format_record(record):
    """One line of progress, as ``verbose`` prints it."""
    line = (f"epoch {record['epoch']:5d}  objective {record['objective']:.8f}  "
            f"lr {record['learning_rate']:.4g}")
    if np.isfinite(record["grad_norm"]):
        line += f"  grad_norm {record['grad_norm']:.3e}"
    if np.isfinite(record.get("validation_score", np.nan)):
        line += f"  validation {record['validation_score']:.5f}"
    return line + f"  seconds {record['seconds']:.3f}"
