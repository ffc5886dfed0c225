"""The epoch loop shared by every estimator.

Python decides what to run and when to stop; each block of epochs is ONE
call into a compiled kernel that releases the GIL.  Nothing here loops over
samples or coordinates.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from ._engine import _codes, kernels
from ._fitstate import FitState, n_chunks_for
from ._rules import OPTIMIZERS, SCHEDULES, loss_by_code
from ._stepsize import auto_step

Status = _codes.Status
H = _codes.HistColumn
SC = _codes.Scalar
LOSS_MULTINOMIAL = _codes.LOSS_NAMES.index("multinomial")

# Epochs per kernel call are sized to take about this many multiply-adds
# (~0.1 s): small problems run many epochs per call, and Ctrl-C is honoured
# between calls.
BLOCK_WORK = 2e8
MAX_BLOCK = 10000
# The fused per-sample sgd path of the kernels (MODE_SGD); tests turn it off
# to check that it equals the general path.
FUSED_PATHS = True
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
    CSR with float32/float64 values and int32/int64 indices, y (targets,
    0/1 labels, +-1 labels or class indices, in X's dtype), sample weights,
    and the loss (a code of _rules.LOSSES) with its epsilon."""

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
            self.regression = loss_by_code(self.loss).regression


@dataclass
class Settings:
    """Every hyperparameter the solver reads, resolved by the estimator
    (GradientDescentEstimator._settings; the defaults live in the
    estimators' signatures only)."""

    batch_size: int | None
    optimizer: str
    momentum: float
    beta_1: float
    beta_2: float
    rho: float
    eps: float
    learning_rate: str
    eta0: float | str
    power_t: float
    decay_rate: float
    decay_steps: int
    warmup_epochs: float
    l2: float
    l1: float
    #: the "optimal" schedule's alpha (the estimator's alpha, also without
    #: a penalty)
    schedule_alpha: float
    clip_norm: float | None
    average: int
    fit_intercept: bool
    scale_features: bool
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    validation_fraction: float
    keep_best: bool
    callback: object
    shuffle: bool
    seed: int
    n_threads: int
    #: n_jobs was given (not None): only then do stochastic CSR fits run
    #: Hogwild, which is not reproducible
    n_jobs_given: bool
    verbose: int
    #: random_state of the early-stopping split (an int or a RandomState),
    #: for estimators that split as scikit-learn's SGD does; None: from seed
    split_random_state: object = None
    #: multiplies the intercept's step in stochastic updates
    intercept_decay: float = 1.0
    #: a finite 1e10-fold blow-up of the objective counts as divergence
    blowup_check: bool = True


@dataclass
class Result:
    coef: np.ndarray
    intercept: np.ndarray
    history: object
    n_iter: int
    n_updates: int
    converged: bool
    eta0: float


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


def kernel_config(problem, settings, rows, val_rows, sw_sum, eta0, n_chunks, full_batch):
    """The typed configuration of the kernels for this call."""
    # the "optimal" schedule's alpha: the penalty's, or (penalty=None, as in
    # scikit-learn's SGD) the estimator's alpha, used for the step alone
    alpha = settings.l1 + settings.l2 or settings.schedule_alpha
    typw = np.sqrt(1.0 / np.sqrt(alpha)) if alpha > 0 else 1.0
    n_updates_per_epoch = 1 if full_batch else -(-len(rows) // settings.batch_size)
    val_sst = 0.0
    if settings.early_stopping and problem.regression:
        yv = problem.y[val_rows].astype(np.float64)
        wv = problem.sample_weight[val_rows].astype(np.float64)
        val_sst = float(wv @ (yv - (wv @ yv) / wv.sum()) ** 2)
    csr = sp.issparse(problem.X)
    return _codes.KernelConfig(
        loss=problem.loss, epsilon=float(problem.epsilon), regression=problem.regression,
        intercept_decay=1.0 if full_batch else float(settings.intercept_decay),
        blowup_check=settings.blowup_check, fit_intercept=settings.fit_intercept,
        scale=settings.scale_features,
        rows_identity=full_batch and len(rows) == problem.X.shape[0],
        batch_size=0 if full_batch else settings.batch_size,
        shuffle=settings.shuffle and not full_batch, sw_sum=sw_sum,
        n_threads=settings.n_threads,
        hogwild=settings.n_threads if csr and not full_batch else 1,
        n_chunks=n_chunks, fused=FUSED_PATHS,
        optimizer=OPTIMIZERS[settings.optimizer].code, momentum=settings.momentum,
        beta_1=settings.beta_1, beta_2=settings.beta_2, rho=settings.rho,
        eps=settings.eps, l2=settings.l2, l1=settings.l1,
        clip_norm=settings.clip_norm or 0.0, average_start=float(settings.average),
        schedule=SCHEDULES[settings.learning_rate].code, eta0=eta0,
        power_t=settings.power_t, decay_rate=settings.decay_rate,
        decay_steps=settings.decay_steps, max_iter=settings.max_iter,
        optimal_t0=1.0 / (typw * alpha) if alpha > 0 else 1.0, optimal_alpha=alpha,
        warmup_updates=settings.warmup_epochs * n_updates_per_epoch,
        tol=-1.0 if settings.tol is None else settings.tol,
        n_iter_no_change=float(settings.n_iter_no_change),
        early_stopping=settings.early_stopping, val_sst=val_sst,
        keep_best=settings.keep_best)


def solve(problem, settings, fit=None, coef=None, intercept=None, epochs=None,
          split=None):
    """Run up to ``epochs`` (default settings.max_iter) epochs; return
    (Result, FitState).  Warnings about the outcome are the caller's
    (``warn_outcome``).

    ``split`` is a precomputed (training rows, validation rows) for early
    stopping (one-vs-rest fits share one split of the original labels).

    A new FitState starts from (coef, intercept) (zeros by default); a given
    one continues (partial_fit).  Divergence restores the coefficients of
    the last finite epoch and raises DivergenceError with the Result
    attached; Ctrl-C stops between blocks of epochs and re-raises
    KeyboardInterrupt the same way (stop_reason "interrupted").
    """
    X, sw = problem.X, problem.sample_weight
    n, p = X.shape
    k = problem.n_outputs
    if (sp.issparse(X) and not settings.n_jobs_given and settings.batch_size is not None
            and settings.batch_size < n):
        settings = dataclasses.replace(settings, n_threads=1)  # reproducible by default
    if settings.early_stopping:
        rows, val_rows = split if split is not None else validation_split(problem, settings)
    else:
        rows, val_rows = np.arange(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    if fit is None:
        if coef is None:
            coef, intercept = np.zeros((k, p)), np.zeros(k)
        fit = FitState(X, sw, settings, coef, intercept, rows, zero_model_objective(problem))
    if fit.eta0 is None:
        if settings.eta0 == "auto":
            # one BLAS thread: the eigenvalue is a small computation, and
            # BLAS threads left spinning after it slow the first epochs
            with threadpool_limits(limits=1, user_api="blas"):
                fit.eta0 = auto_step(problem, settings, rows, fit.scaling)
        else:
            fit.eta0 = float(settings.eta0)
        fit.scalars[SC.SC_ETA_ADAPTIVE] = fit.eta0
    eta0 = fit.eta0
    fit.line_search_point = None  # the data may differ from the last call
    sw_sum = float(sw[rows].sum(dtype=np.float64))
    full_batch = settings.batch_size is None or settings.batch_size >= len(rows)
    n_work = fit.prepare(X, rows, settings, settings.n_threads, full_batch)
    cfg = kernel_config(problem, settings, rows, val_rows, sw_sum, eta0, n_work, full_batch)
    lower = "Lower eta0 (or use eta0='auto')"
    if settings.learning_rate == "optimal":
        # eta0 plays no part: report the schedule's first step, alpha^(-1/4)
        eta0 = cfg.optimal_first_step
        lower = ("The 'optimal' schedule ignores eta0 (its first step is alpha^(-1/4)): "
                 "raise alpha or choose another learning_rate")
    max_epochs = settings.max_iter if epochs is None else epochs
    work_per_epoch = (X.nnz if sp.issparse(X) else n * p) * k
    block = 1 if (settings.callback is not None) else int(
        np.clip(BLOCK_WORK // max(1, work_per_epoch), 1, MAX_BLOCK))
    hist = np.empty((block, H.N_HIST))
    status, done_total = Status.RUNNING, 0
    start = time.perf_counter()
    stop_reason = None
    bar = _progress_bar(settings, max_epochs)
    lines = settings.verbose if bar is None else 0
    try:
        while status == Status.RUNNING and done_total < max_epochs:
            block_start = time.perf_counter() - start
            if settings.learning_rate == "line_search":
                done, status = _line_search_epoch(problem, settings, fit, cfg, hist)
            else:
                out = hist[:min(block, max_epochs - done_total)]
                done, status = _run_kernel(problem, fit, val_rows, cfg, fit.n_epochs, out)
            records = _record(fit, hist[:done], block_start, lines)
            done_total += done
            if bar is not None and done:
                bar.set_postfix(objective=f"{hist[done - 1, 0]:.6g}", refresh=False)
                bar.update(done)
            if settings.callback is not None and records and settings.callback(records[-1]):
                stop_reason = "callback"
                break
    except KeyboardInterrupt as exc:
        fit.history.stop_reason = "interrupted"
        exc.result = _result(fit, settings, eta0, False)
        raise
    finally:
        if bar is not None:
            bar.close()
    converged = status == Status.CONVERGED
    if settings.keep_best and np.isfinite(fit.scalars[SC.SC_BEST]):
        fit.restore_best()
    result = _result(fit, settings, eta0, converged)
    if status == Status.DIVERGED:
        fit.history.stop_reason = "diverged"
        exc = DivergenceError(
            f"Floating-point under-/overflow occurred at epoch #{fit.n_epochs + 1}: "
            f"the fit diverged (the objective or the coefficients became non-finite "
            f"or grew more than 1e10-fold; step size {eta0:.3g}). The coefficients "
            f"of the last finite epoch ({fit.n_epochs}) were kept. {lower}, "
            f"or pass scale_features=True. Scaling input data with "
            f"StandardScaler or MinMaxScaler might help.")
        exc.result = result
        raise exc
    fit.history.stop_reason = stop_reason or ("tol" if converged else "max_iter")
    return result, fit


def zero_model_objective(problem):
    """The objective of the all-zero model (margins 0): the loss of 0 at
    each target, weighted; a scale for how large an objective may get."""
    w = problem.sample_weight.astype(np.float64)
    if problem.loss == LOSS_MULTINOMIAL:
        return float(np.log(problem.n_outputs))
    y = np.ascontiguousarray(problem.y, dtype=np.float64)
    losses = np.empty_like(y)
    kernels.loss_values(problem.loss, float(problem.epsilon), np.zeros_like(y), y, losses)
    return float(w @ losses / w.sum())


def warn_outcome(problems, histories, combined, settings, epochs, stacklevel):
    """The warnings about how fits ended: a stop while the objective rose
    (full batch), a finite blow-up (per problem), max_iter reached (on the
    combined history of several problems)."""
    if len(problems) == 1:
        full_batch = (settings.batch_size is None
                      or settings.batch_size >= problems[0].X.shape[0])
        _warn_if_rising(combined, settings, full_batch, stacklevel + 1)
    for problem, history in zip(problems, histories):
        warn_if_blown_up(problem, history, settings, stacklevel + 1)
    if epochs is None:
        warn_not_converged(combined, settings, stacklevel + 1)


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


def _warn_if_rising(history, settings, full_batch, stacklevel):
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
            ConvergenceWarning, stacklevel=stacklevel)


def _result(fit, settings, eta0, converged):
    coef, intercept = fit.coefficients(settings)
    return Result(coef=coef, intercept=intercept, history=fit.history,
                  n_iter=fit.n_epochs, n_updates=fit.n_updates,
                  converged=converged, eta0=eta0)


def _run_kernel(problem, fit, val_rows, cfg, epochs_before, hist):
    """One call of the epoch kernel for X's layout (dense or CSR)."""
    X = problem.X
    common = (problem.y, problem.sample_weight, val_rows, fit, cfg, epochs_before, hist)
    if sp.issparse(X):
        return kernels.run_csr(X.data, X.indices, X.indptr, X.shape[1], *common)
    return kernels.run_dense(X, *common)


def evaluate(problem, fit, settings):
    """Objective (with penalty), the norm of its smooth gradient and that
    gradient (K*p + K, in the solver's space) at the fit's W, b: one pass."""
    X, y, sw = problem.X, problem.y, problem.sample_weight
    k, p = fit.W.shape
    We, be = fit.W, fit.b
    if settings.scale_features:
        raw_W, raw_b = fit.scaling.to_raw(fit.W.astype(np.float64), fit.b.astype(np.float64))
        We, be = raw_W.astype(fit.dtype), raw_b.astype(fit.dtype)
    work = fit.work
    n_chunks = n_chunks_for(X.shape[0], p, k)
    if work.shape[0] < n_chunks:
        work = fit.work = np.zeros((n_chunks, work.shape[1]))
    args = (y, sw, np.ascontiguousarray(We), np.ascontiguousarray(be), problem.loss,
            float(problem.epsilon), work, n_chunks, settings.n_threads)
    if sp.issparse(X):
        total = kernels.evaluate_csr(X.data, X.indices, X.indptr, *args)
    else:
        total = kernels.evaluate_dense(X, *args)
    sw_sum = float(sw.sum(dtype=np.float64))
    G = work[0, :k * p + k] / sw_sum
    GW, Gb = G[:k * p].reshape(k, p), G[k * p:]
    if settings.scale_features:
        GW = (GW - np.outer(Gb, fit.scaling.mu)) * fit.scaling.inv_sigma
    W = fit.W.astype(np.float64)
    GW = GW + settings.l2 * W
    if not settings.fit_intercept:
        Gb = np.zeros_like(Gb)
    grad = np.concatenate([GW.ravel(), Gb])
    objective = total / sw_sum + settings.l1 * np.abs(W).sum() + 0.5 * settings.l2 * (W * W).sum()
    return float(objective), float(np.linalg.norm(grad)), grad


def _line_search_epoch(problem, settings, fit, cfg, hist):
    """One epoch of backtracking (Armijo) gradient descent on the full
    objective: one pass per accepted step; the evaluation at the accepted
    point serves the next epoch.  Returns (1, status) like the kernel."""
    k, p = fit.W.shape
    t0 = time.perf_counter()
    if fit.line_search_point is None:
        fit.line_search_point = evaluate(problem, fit, settings)
    f, grad_norm, g = fit.line_search_point
    l1 = settings.l1
    W0, b0 = fit.W.astype(np.float64), fit.b.astype(np.float64)
    f_smooth = f - l1 * np.abs(W0).sum()
    gW, gb = g[:k * p].reshape(k, p), g[k * p:]
    eta = fit.eta0 if fit.line_search_eta is None else fit.line_search_eta * LINE_SEARCH_GROW
    for _ in range(60):
        W1 = W0 - eta * gW
        if l1 > 0:
            W1 = np.sign(W1) * np.maximum(np.abs(W1) - eta * l1, 0.0)
        b1 = b0 - eta * gb if settings.fit_intercept else b0
        fit.W[...] = W1
        fit.b[...] = b1
        trial = evaluate(problem, fit, settings)
        f1_smooth = trial[0] - l1 * np.abs(fit.W.astype(np.float64)).sum()
        dW, db = fit.W - W0, fit.b - b0
        bound = (f_smooth + float((gW * dW).sum() + gb @ db)
                 + float((dW * dW).sum() + db @ db) / (2.0 * eta))
        if np.isfinite(trial[0]) and f1_smooth <= bound + 1e-15 * abs(bound):
            break
        eta *= LINE_SEARCH_SHRINK
    else:
        fit.W[...] = W0
        fit.b[...] = b0
        return 0, Status.CONVERGED
    fit.line_search_eta = eta
    fit.line_search_point = trial
    fit.scalars[SC.SC_T] += 1
    hist[0] = (f, grad_norm, eta, time.perf_counter() - t0, fit.scalars[SC.SC_T], np.nan)
    if not np.isfinite(f):
        fit.W[...] = W0
        fit.b[...] = b0
        return 0, Status.DIVERGED
    flags = kernels.check_stop(cfg, fit.scalars, f)
    return 1, (Status.CONVERGED if flags & 1 else Status.RUNNING)


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


def _record(fit, rows, block_start, verbose):
    """Append a block of kernel records (HistColumn) to the history; return
    them as dicts."""
    m = len(rows)
    if not m:
        return []
    before = fit.n_epochs
    table = np.column_stack([
        np.arange(before + 1, before + m + 1), rows[:, H.H_OBJECTIVE],
        rows[:, H.H_GRAD_NORM], rows[:, H.H_ETA], rows[:, H.H_UPDATES],
        rows[:, H.H_SECONDS] + block_start, rows[:, H.H_VALIDATION]])
    fit.history._append_block(table)
    fit.n_epochs += m
    records = [fit.history[before + i] for i in range(m)] if verbose else [fit.history[-1]]
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
