"""The loop shared by every estimator.

Python decides what to run and when to stop; each block of epochs is ONE
call into a compiled kernel that releases the GIL, and each pass of the
full-batch methods (lbfgs, agd, line_search) is one kernel call too.
Nothing here loops over samples or coordinates.

Stopping (settings.stopping):

* "gap": the fit stops when it proves a relative suboptimality <= tol: a
  duality gap from an exact pass over the data (_certificate.py), every
  iteration of the full-batch methods and every ``certify_every`` epochs
  of the others (the pass is made at the coefficients the fit reports).
  Without a penalty there is no dual bound: the gradient's norm must fall
  to tol**2 times its starting value.
* "no_improvement": scikit-learn's rule: the monitored value (objective,
  or the validation score with early stopping) has not improved by tol
  for n_iter_no_change epochs.  It certifies nothing.
"""
from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import scipy.sparse as sp

from . import _fullbatch, _interrupt, _newton
from ._engine import _codes, kernels
from ._fitstate import FitState, rows_of, threads_for
from ._problem import (  # noqa: F401  (re-exported: the estimators' vocabulary)
    BlowUpWarning, DivergenceError, Problem, Result, Settings, validation_split,
    warn_outcome, zero_model_objective)
from ._rules import OPTIMIZERS, SCHEDULES
from ._stepsize import auto_step

Status = _codes.Status
H = _codes.HistColumn
SC = _codes.Scalar

# Epochs per kernel call: the first call runs about FIRST_BLOCK_WORK
# multiply-adds (at least one epoch); later calls are sized from the
# measured time per epoch to take about BLOCK_SECONDS, so that small
# problems run many epochs per call.  (Ctrl-C does not wait for a call to
# end: the kernels read the stop flag, _interrupt.py.)
FIRST_BLOCK_WORK = 2e7
BLOCK_SECONDS = 0.1
MAX_BLOCK = 10000
# The fused per-sample sgd path of the kernels (MODE_SGD); tests turn it off
# to check that it equals the general path.
FUSED_PATHS = True
#: optimizers that choose their own steps over full passes (_fullbatch.py)
FULL_BATCH_METHODS = ("lbfgs", "agd", "newton")
#: those of them that work in preconditioned coordinates
PRECONDITIONED = ("lbfgs", "agd")


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
    # the kernels' own rule: scikit-learn's, early stopping's on the
    # validation score, or the "adaptive" schedule's (which divides its step
    # when the objective stalls); the gap is checked here, between calls
    kernel_rule = settings.tol is not None and (
        settings.stopping == "no_improvement" or settings.early_stopping
        or settings.learning_rate == "adaptive")
    return _codes.KernelConfig(
        loss=problem.loss, epsilon=float(problem.epsilon), regression=problem.regression,
        intercept_decay=1.0 if full_batch else float(settings.intercept_decay),
        blowup_check=settings.blowup_check, fit_intercept=settings.fit_intercept,
        scale=settings.scale_features,
        rows_identity=full_batch and len(rows) == problem.X.shape[0],
        batch_size=0 if full_batch else settings.batch_size,
        shuffle=settings.shuffle and not full_batch, sw_sum=sw_sum,
        n_threads=threads_for(settings.n_threads, epoch_work(problem.X, problem.n_outputs))
        if full_batch else settings.n_threads,
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
        tol=settings.tol if kernel_rule else -1.0,
        n_iter_no_change=float(settings.n_iter_no_change),
        early_stopping=settings.early_stopping, val_sst=val_sst,
        keep_best=settings.keep_best)


def solve(problem, settings, fit=None, coef=None, intercept=None, epochs=None,
          split=None, stop=None):
    """Run up to ``epochs`` (default settings.max_iter) epochs; return
    (Result, FitState).  Warnings about the outcome are the caller's
    (``warn_outcome``).

    ``split`` is a precomputed (training rows, validation rows) for early
    stopping (one-vs-rest fits share one split of the original labels).
    A new FitState starts from (coef, intercept) (zeros by default); a given
    one continues (partial_fit).  Divergence restores the coefficients of
    the last finite epoch and raises DivergenceError with the Result and
    the FitState attached (``exc.result``, ``exc.fit``).  ``stop`` is the
    stop flag (_interrupt.py): raised, the kernels stop within 256
    updates, the epochs they finished are recorded and KeyboardInterrupt
    is raised the same way (stop_reason "interrupted"; the coefficients
    include the updates of the epoch that was cut short).
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
    fit.stop = stop if stop is not None else _interrupt.new_flag()
    full_batch = settings.batch_size is None or settings.batch_size >= len(rows)
    method = full_batch_method(settings, full_batch, problem, len(rows))
    if method in FULL_BATCH_METHODS:
        fit.eta0 = 1.0  # the unit step the line search starts from
    elif fit.eta0 is None:
        if settings.eta0 == "auto":
            # (under the caller's BLAS thread limits: limiting them here
            # would change process-wide state, and the bits of concurrent fits)
            fit.eta0 = auto_step(problem, settings, rows, fit.scaling)
        else:
            fit.eta0 = float(settings.eta0)
        fit.scalars[SC.SC_ETA_ADAPTIVE] = fit.eta0
    eta0 = fit.eta0
    sw_sum = float(rows_of(sw, rows).sum(dtype=np.float64))
    n_work = fit.prepare(X, rows, settings, settings.n_threads, full_batch)
    cfg = kernel_config(problem, settings, rows, val_rows, sw_sum, eta0, n_work, full_batch)
    lower = "Lower eta0 (or use eta0='auto')"
    if settings.learning_rate == "optimal":
        # eta0 plays no part: report the schedule's first step, alpha^(-1/4)
        eta0 = cfg.optimal_first_step
        lower = ("The 'optimal' schedule ignores eta0 (its first step is alpha^(-1/4)): "
                 "raise alpha or choose another learning_rate")
    elif settings.learning_rate == "invscaling" and settings.power_t < 0:
        lower = ("power_t < 0 makes the 'invscaling' step eta0 / t**power_t grow with t "
                 "(deprecated): use power_t >= 0, or lower eta0")
    max_epochs = settings.max_iter if epochs is None else epochs
    recorder = _Recorder(fit, settings, max_epochs)
    try:
        if method is not None:
            status, reason, certified = _run_full_batch(
                problem, settings, fit, rows, val_rows, cfg, method, max_epochs, recorder)
        else:
            status, reason, certified = _run_epochs(
                problem, settings, fit, rows, val_rows, cfg, max_epochs, recorder,
                lambda eta: kernel_config(problem, settings, rows, val_rows, sw_sum, eta,
                                          n_work, full_batch))
    except KeyboardInterrupt as exc:
        fit.history.stop_reason = "interrupted"
        exc.result, exc.fit = _result(fit, settings, eta0, False), fit
        raise
    finally:
        recorder.close()
        fit.release()
    if settings.keep_best and np.isfinite(fit.scalars[SC.SC_BEST]):
        fit.restore_best()
    result = _result(fit, settings, eta0, certified)
    if status == Status.DIVERGED:
        fit.history.stop_reason = "diverged"
        message = (
            f"Floating-point under-/overflow occurred at epoch #{fit.n_epochs + 1}: "
            f"the fit diverged (the objective or the coefficients became non-finite "
            f"or grew more than 1e10-fold; step size {eta0:.3g}). The coefficients "
            f"of the last finite epoch ({fit.n_epochs}) were kept. {lower}, "
            f"or pass scale_features=True. Scaling input data with "
            f"StandardScaler or MinMaxScaler might help.")
        if reason == START_NOT_FINITE:
            message = (
                "Floating-point overflow at the starting point: the objective or its "
                "gradient at the coefficients the fit starts from (coef_init and "
                "intercept_init, the previous fit's with warm_start or partial_fit, "
                "else zeros) is not finite, so no step can be measured; no epoch ran. "
                "Pass a smaller coef_init / intercept_init, or rescale X and y (e.g. "
                "StandardScaler).")
        exc = DivergenceError(message)
        exc.result, exc.fit = result, fit
        raise exc
    fit.history.stop_reason = reason
    return result, fit


def full_batch_method(settings, full_batch, problem=None, n_rows=None):
    """The Python-driven full-batch method of these settings, if any
    (optimizer="auto": Newton where it applies and pays, else L-BFGS;
    without a ``problem``, the method before that choice)."""
    if full_batch and settings.optimizer in FULL_BATCH_METHODS:
        if problem is None:
            return settings.optimizer
        return chosen_method(settings, problem.X, problem.loss, problem.n_outputs, n_rows)
    if settings.learning_rate == "line_search":
        return "line_search"
    return None


def chosen_method(settings, X, loss, n_outputs, n_rows):
    """settings.optimizer (one of FULL_BATCH_METHODS) for this problem:
    Newton where "auto" applies and it pays, an error where "newton" was
    asked for and cannot fit.  ``X`` is read for its storage and width
    only (a one-row stub will do)."""
    if settings.optimizer == "newton":
        why = _newton.obstacle(X, loss, n_outputs, settings)
        if why is not None:
            raise ValueError(f"optimizer='newton' cannot fit this problem: {why}. "
                             f"Use optimizer='lbfgs' (or 'auto').")
    if settings.optimizer == "lbfgs" and settings.newton_auto and _newton.preferred(
            X, n_rows, loss, n_outputs, settings):
        return "newton"
    return settings.optimizer


#: the stop reason of a full-batch fit whose starting point overflows
START_NOT_FINITE = "start_not_finite"


def _check_representable(W, b, dtype):
    """The coefficients fit in X's dtype (float32 data: at most ~3.4e38)."""
    if dtype == np.float64:  # the coefficients are float64 already: nothing to check
        return
    largest = max(np.abs(W).max(initial=0.0), np.abs(b).max(initial=0.0))
    limit = np.finfo(dtype).max
    if largest > limit:
        raise ValueError(
            f"The model's coefficients (up to {largest:.3g}) exceed the range of X's dtype {np.dtype(dtype).name} ({limit:.3g}), in which "
            f"they are kept: X is too small in magnitude for {np.dtype(dtype).name}. Pass X "
            f"as float64, or rescale X (e.g. sklearn.preprocessing.StandardScaler).")


def epoch_work(X, k):
    """Multiply-adds of one pass over X for k outputs."""
    return (X.nnz if sp.issparse(X) else X.shape[0] * X.shape[1]) * k


def _kernel_reason(settings, status):
    """Why a kernel's own rule stopped the fit."""
    return "early_stopping" if settings.early_stopping else "no_improvement"


def _run_epochs(problem, settings, fit, rows, val_rows, cfg, max_epochs, recorder,
                reconfigure):
    """Epochs in the compiled kernels, in blocks; with stopping="gap" a
    certificate pass after every ``certify_every`` epochs (and at the end).
    saga with eta0="auto" adapts its step there (_StepControl;
    ``reconfigure(eta0)`` gives the kernel configuration of another step).
    Returns (status, stop reason, certified)."""
    work_per_epoch = epoch_work(problem.X, problem.n_outputs)
    block = 1 if settings.callback is not None else int(
        np.clip(FIRST_BLOCK_WORK // max(1, work_per_epoch), 1, MAX_BLOCK))
    gap_rule = settings.stopping == "gap" and settings.tol is not None
    checker = _Certifier(problem, settings, fit, rows) if gap_rule else None
    control = (_StepControl(fit, fit.eta0) if gap_rule and settings.optimizer == "saga"
               and settings.eta0 == "auto" else None)
    status, done_total, since, certified = Status.RUNNING, 0, 0, False
    reason = "max_iter"
    while status == Status.RUNNING and done_total < max_epochs:
        _interrupt.raise_if_stopped(fit.stop)
        size = min(block, max_epochs - done_total)
        if gap_rule:
            size = min(size, settings.certify_every - since)
        hist = np.empty((size, H.N_HIST))
        block_start = recorder.elapsed()
        done, status = _run_kernel(problem, fit, val_rows, cfg, fit.n_epochs, hist)
        seconds = recorder.elapsed() - block_start
        if status == Status.INTERRUPTED:
            recorder.add(hist[:done], np.full(done, np.nan), block_start)
            raise KeyboardInterrupt
        if done and settings.callback is None:
            block = int(np.clip(BLOCK_SECONDS * done / max(seconds, 1e-6), 1, MAX_BLOCK))
        done_total += done
        since += done
        gaps = np.full(done, np.nan)
        if status == Status.DIVERGED and control is not None and not control.exhausted:
            status = Status.RUNNING  # too long a step: back to the last good one, halved
            cfg = reconfigure(control.reject())
            since = 0
        elif gap_rule and done and status != Status.DIVERGED and (
                since >= settings.certify_every or status != Status.RUNNING
                or done_total >= max_epochs):
            certified, gaps[-1], objective = checker.check()
            since = 0
            if certified:
                status, reason = Status.CONVERGED, "tol"
            elif control is not None:
                eta = control.accept(objective) if objective <= control.objective \
                    else control.reject()
                cfg = reconfigure(eta)
        if status == Status.CONVERGED and reason == "max_iter":
            reason = _kernel_reason(settings, status)
        if recorder.add(hist[:done], gaps, block_start):
            return status, "callback", certified
    return status, reason, certified


class _StepControl:
    """saga's step with eta0="auto": it starts at the safe 1 / (3 L_max)
    and, at each certificate pass, doubles when the exact objective fell
    since the last pass (growing by 1.25 only once a step has failed);
    when it rose, or an epoch diverged, the coefficients, optimizer state
    and stored gradients go back to the last pass's and the step halves.
    The theory's step is safe but far too short on data whose rows differ
    in norm (it is set by the largest); this finds the largest step that
    still descends, deterministically.  After MAX_REJECTIONS rejections in
    a row (the step shrunk 1e18-fold: no step descends, e.g. the start
    overflows) a divergence ends the fit instead of looping."""

    GROW, SLOW_GROW, SHRINK = 2.0, 1.25, 0.5
    MAX_REJECTIONS = 60

    def __init__(self, fit, eta):
        self.fit, self.eta, self.failed = fit, eta, False
        self.objective = np.inf
        self.rejections = 0
        self._save()

    @property
    def exhausted(self):
        return self.rejections >= self.MAX_REJECTIONS

    def _save(self):
        fit = self.fit
        self.saved = (fit.W.copy(), fit.b.copy(), fit.state.copy(), fit.memory.copy())

    def accept(self, objective):
        self.objective = objective
        self.rejections = 0
        self._save()
        self.eta *= self.SLOW_GROW if self.failed else self.GROW
        self.fit.eta0 = self.eta
        return self.eta

    def reject(self):
        fit = self.fit
        W, b, state, memory = self.saved
        fit.W[...] = W
        fit.b[...] = b
        fit.state[...] = state
        fit.memory[...] = memory
        self.failed = True
        self.rejections += 1
        self.eta *= self.SHRINK
        fit.eta0 = self.eta
        return self.eta


class _Certifier:
    """Certificate passes at the coefficients a kernel-run fit reports."""

    def __init__(self, problem, settings, fit, rows):
        self.fit, self.settings = fit, settings
        subset = None if len(rows) == problem.X.shape[0] else rows
        self.objective = _fullbatch.Objective.for_problem(problem, settings, fit, subset,
                                                          precondition=False)
        self.start = None
        if settings.l1 == 0 and settings.l2 == 0:  # the gradient test needs the start
            self.start = self._point().grad_norm_z

    def _point(self):
        W, b = self.fit.problem_coefficients(self.settings)
        return self.objective.evaluate(self.objective.from_problem(W, b))

    def check(self):
        """(certified, relative gap, exact objective) at the reported
        coefficients."""
        point = self._point()
        ok = _fullbatch.converged(self.objective, point, self.start, self.settings.tol)
        return ok, point.certificate.relative, point.objective


def _run_full_batch(problem, settings, fit, rows, val_rows, cfg, method, max_epochs,
                    recorder):
    """lbfgs, agd or line_search: each iteration a few passes, each
    certified.  Returns (status, stop reason, certified)."""
    subset = None if len(rows) == problem.X.shape[0] else rows
    obj = _fullbatch.Objective.for_problem(problem, settings, fit, subset,
                                           precondition=method in PRECONDITIONED)
    gap_rule = settings.stopping == "gap" and settings.tol is not None
    state = {"certified": False, "diverged": False}

    def on_iteration(point, step, passes, seconds):
        W, b = obj.to_problem(point.z)
        if not (point.finite and np.all(np.isfinite(W))):
            state["diverged"] = True
            return "diverged"
        _check_representable(W, b, fit.W.dtype)
        fit.W[...] = W
        fit.b[...] = b
        fit.scalars[SC.SC_T] += passes
        validation = np.nan
        if settings.early_stopping:
            validation = _validation_score(problem, val_rows, *obj.to_raw(point.z))
        record = np.array([[point.objective, point.grad_norm, step, seconds,
                            fit.scalars[SC.SC_T], validation]])
        relative = point.certificate.relative
        if recorder.add(record, np.array([relative]), 0.0):
            return "callback"
        if fit.stop[0]:
            return "interrupted"
        if gap_rule and _fullbatch.converged(obj, point, start, settings.tol):
            state["certified"] = True
            return "tol"
        if settings.tol is not None and (settings.stopping == "no_improvement"
                                         or settings.early_stopping):
            monitored = -validation if settings.early_stopping else point.objective
            if kernels.check_stop(cfg, fit.scalars, monitored) & 1:
                return _kernel_reason(settings, None)
        return None

    z0 = obj.from_problem(fit.W, fit.b)
    steps = None
    if method == "newton":
        curvature = _newton.Curvature(obj, problem, subset, settings.n_threads)
        if subset is None and settings.l2 > 0 and not np.any(z0):
            # a start from zero: its objective is the zero model's, and the
            # first step needs no pass (_newton.newton_steps)
            start = None  # (the gradient test of fits without a penalty is not used)
            first = _newton.estimate(obj, problem, settings, fit, curvature)
            steps = _newton.newton_steps(obj, first, curvature, exact=False)
    if steps is None:
        first = obj.evaluate(z0)
        if not first.finite:  # an overflow at the start: no step can be measured
            return Status.DIVERGED, START_NOT_FINITE, False
        start = first.grad_norm_z
        if gap_rule and _fullbatch.converged(obj, first, start, settings.tol):
            return Status.CONVERGED, "tol", True
        if method == "newton":
            steps = _newton.newton_steps(obj, first, curvature)
    point, reason = _fullbatch.minimize(obj, first, method, max_epochs, on_iteration,
                                        eta0=fit.eta0, steps=steps)
    if state["diverged"]:
        return Status.DIVERGED, "diverged", False
    if reason == "interrupted":
        raise KeyboardInterrupt
    status = Status.CONVERGED if reason == "tol" else Status.RUNNING
    return status, reason, state["certified"]


def _validation_score(problem, rows, W, b, block=8192):
    """Weighted accuracy (classifiers) or R^2 (regression) of the raw
    model on the held-out rows, in row blocks (the kernels' rule)."""
    X, y, sw = problem.X, problem.y, problem.sample_weight
    hit = total = 0.0
    yv, wv = y[rows].astype(np.float64), sw[rows].astype(np.float64)
    sst = float(wv @ (yv - (wv @ yv) / wv.sum()) ** 2)
    for start in range(0, len(rows), block):
        idx = rows[start:start + block]
        Z = np.asarray(X[idx] @ W.T) + b
        w = sw[idx].astype(np.float64)
        t = y[idx].astype(np.float64)
        if Z.shape[1] > 1:
            hit += float(w @ (Z.argmax(axis=1) == t))
        elif problem.regression:
            hit += float(w @ (Z[:, 0] - t) ** 2)
        else:
            hit += float(w @ ((Z[:, 0] > 0) == (t > 0.5)))
        total += float(w.sum())
    if problem.regression and Z.shape[1] == 1:
        return 1.0 - hit / sst if sst > 0 else 0.0
    return hit / total


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


#: the kernels' record columns of the History's objective, grad_norm,
#: learning_rate and updates
_HISTORY_FROM_KERNEL = [H.H_OBJECTIVE, H.H_GRAD_NORM, H.H_ETA, H.H_UPDATES]


class _Recorder:
    """The history of a fit as it grows: records, progress lines or bar,
    and the callback."""

    def __init__(self, fit, settings, total):
        self.fit, self.settings = fit, settings
        self.bar = _progress_bar(settings, total)
        self.lines = settings.verbose if self.bar is None else 0
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start

    def add(self, rows, gaps, block_start):
        """Append kernel-style records (HistColumn columns, seconds since
        ``block_start``) with their gaps; returns True when the callback
        asks to stop."""
        m = len(rows)
        if not m:
            return False
        fit = self.fit
        before = fit.n_epochs
        seconds = rows[:, H.H_SECONDS] + block_start if block_start else \
            np.full(m, self.elapsed())
        table = np.empty((m, 8))  # the History's columns, in its order
        table[:, 0] = np.arange(before + 1, before + m + 1)
        table[:, 1:5] = rows[:, _HISTORY_FROM_KERNEL]
        table[:, 5] = seconds
        table[:, 6] = rows[:, H.H_VALIDATION]
        table[:, 7] = gaps
        fit.history._append_block(table)
        fit.n_epochs += m
        if self.lines:
            for i in range(m):
                print(format_record(fit.history[before + i]), flush=True)
        if self.bar is not None:
            self.bar.set_postfix(objective=f"{rows[-1, H.H_OBJECTIVE]:.6g}", refresh=False)
            self.bar.update(m)
        callback = self.settings.callback
        return bool(callback is not None and callback(fit.history[-1]))

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _progress_bar(settings, total):
    """verbose >= 2: a tqdm progress bar over epochs (showing the objective)
    when tqdm is installed (the "progress" extra); else None, and the
    per-epoch lines of verbose=1 are printed instead (the estimator warned
    about it when the fit started: ``warn_if_no_progress_bar``)."""
    if settings.verbose < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="epoch", desc="descend", leave=True)


def warn_if_no_progress_bar(verbose, stacklevel):
    """One warning per fit when verbose >= 2 asks for a bar tqdm cannot draw."""
    if verbose < 2:
        return
    try:
        import tqdm.auto  # noqa: F401
    except ImportError:
        warnings.warn(
            "verbose=2 shows a progress bar with tqdm, which is not installed: "
            "falling back to printing one line per epoch (as verbose=1). Install it "
            "with `pip install tqdm` (or the extra: `pip install 'descend[progress]'`).",
            UserWarning, stacklevel=stacklevel + 1)


def format_record(record):
    """One line of progress, as ``verbose`` prints it."""
    line = (f"epoch {record['epoch']:5d}  objective {record['objective']:.8f}  "
            f"lr {record['learning_rate']:.4g}")
    if np.isfinite(record["grad_norm"]):
        line += f"  grad_norm {record['grad_norm']:.3e}"
    if np.isfinite(record.get("validation_score", np.nan)):
        line += f"  validation {record['validation_score']:.5f}"
    if np.isfinite(record.get("gap", np.nan)):
        line += f"  gap {record['gap']:.2e}"
    return line + f"  seconds {record['seconds']:.3f}"
