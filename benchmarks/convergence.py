#!/usr/bin/env python
"""Convergence to the optimum: descend's optimizers and line search against
scikit-learn, objective against wall time, in one run.

    python benchmarks/convergence.py                         # full size, print
    python benchmarks/convergence.py --write BENCHMARKS.md   # ... and record it
    python benchmarks/convergence.py --quick                 # smoke test

Two problems, both L2-penalised binary logistic regression,

    F(w, b) = mean_i(log(1 + exp(z_i)) - y_i z_i) + alpha/2 ||w||^2,  z = X w + b

(unpenalised intercept): scikit-learn's breast-cancer data (569 x 30,
standardised, alpha=1e-3) and the synthetic 500,000 x 100 float64 problem
of benchmarks/compare.py (harness/problem.py; alpha=1e-4).

What is measured, and how:

* F* is the objective of scikit-learn's LogisticRegression(lbfgs,
  C=1/(n alpha), tol=1e-10, max_iter=10000), or the smallest objective seen
  anywhere in the run if that is lower.  Every objective in this script is
  evaluated exactly, in NumPy, from the final coefficients of a fit.
* descend: one fit per configuration (tol=None, fixed max_iter; the
  fastest of a few identical runs) gives the time axis
  (``history_["seconds"]``, plus the fit's setup time: the whole fit() wall
  time minus the last history time).  Full batch: the history
  objective is exact (at each epoch's start), so the curve is the history
  itself, plus the exact objective of the final coefficients.  Stochastic:
  the history objective is a running estimate, so the curve's objective at
  epoch k is the exact objective of the coefficients of a separate fit with
  max_iter=k and the same random_state (the same run stopped after k
  epochs; the script checks that its history repeats the long run's), at
  every epoch up to a few, then at geometrically spaced epochs.  Schedules
  that depend on max_iter (cosine) would break this, so none is used.
* Time to 1e-3: the first epoch k* at which the exact relative gap
  (F - F*)/F* <= 1e-3 (checkpoints refined by bisection), then the whole
  fit() wall time (input validation included, best of a few) of a fit with
  max_iter=k*: the oracle stopping point.  The fastest descend configuration
  and line search are also run with practical stopping rules (full batch: a
  callback that stops when the exact history objective reaches the
  threshold; any: the default tol=1e-4); scikit-learn's lbfgs with its
  default tol and at its own oracle iteration count; scikit-learn's
  SGDClassifier with its defaults.  The issue-4 target: descend's time to
  1e-3 at most 1/3 of lbfgs's (default tol) on the synthetic problem.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import descend  # noqa: E402
from harness.machine import (OtherLoad, blas_description, cpu_model,  # noqa: E402
                             openmp_threads, usable_cpus)
from harness.problem import make_data  # noqa: E402  (compare.py's synthetic problem)
from harness.report import write_section  # noqa: E402

DATA_SOURCE = "benchmarks/harness/problem.py make_data"

MARK_BEGIN = "<!-- convergence:begin -->"
MARK_END = "<!-- convergence:end -->"

SEED = 0
REL_TARGET = 1e-3          # "within 1e-3 (relative) of F*"
TARGET_RATIO = 1.0 / 3.0   # descend's time at most 1/3 of lbfgs's (500,000 x 100)
GAP_FLOOR = 1e-12          # plotted gaps below this are drawn at it
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


# --------------------------------------------------------------------------
# configurations


@dataclass
class Config:
    """One descend configuration: estimator parameters (besides alpha, tol,
    max_iter, random_state) and the epochs of its curve."""

    label: str
    params: dict
    epochs: int

    @property
    def full_batch(self):
        return self.params.get("batch_size") is None

    def describe(self):
        p = self.params
        parts = [p.get("optimizer", "sgd")]
        parts.append("full batch" if self.full_batch else f"batch {p['batch_size']}")
        eta = p.get("eta0", "auto")
        parts.append(f"eta0={eta:g}" if isinstance(eta, float) else f"eta0={eta}")
        parts.append(p.get("learning_rate", "constant"))
        for key in ("momentum", "beta_1", "beta_2", "rho", "average", "warmup_epochs"):
            if key in p:
                parts.append(f"{key}={p[key]}")
        return ", ".join(parts)


def configurations(dataset, quick):
    """The configurations measured on a data set.

    Batch size and eta0 per optimizer were chosen by hand from eta0 x batch
    sweeps on this machine (the exact gap after 1-8 epochs on the synthetic
    problem, 10-1000 epochs on breast cancer): about the fastest to reach
    1e-3 with some margin below it, then fixed here.  On the synthetic data
    batches >= ~1,300 rows (x 100 features) are split across threads; on
    breast cancer (569 rows) full batch suits the momentum methods and Adam,
    small batches the others.  AdamW's decoupled weight decay does not
    minimise the L2 objective (its fixed point differs), so it cannot reach
    F*; it is shown with the eta0 whose gap got lowest in the sweep.
    """
    def cfg(optimizer, batch, eta0, epochs, **extra):
        params = dict(optimizer=optimizer, batch_size=batch, learning_rate="constant",
                      eta0=eta0, **extra)
        return Config(optimizer, params, epochs)

    if dataset == "synthetic":
        k = 6 if quick else 16
        configs = [cfg("sgd", 4096, 0.15, k),
                   cfg("momentum", 8192, 0.04, k),
                   cfg("nesterov", 8192, 0.04, k),
                   cfg("adagrad", 2048, 0.02, k),
                   cfg("rmsprop", 2048, 0.0015, k),
                   cfg("adam", 2048, 0.002, k),
                   cfg("adamw", 2048, 0.002, k)]
        line_search_epochs = 15 if quick else 30
    else:  # breast_cancer, 569 x 30
        k = 200 if quick else 1000
        configs = [cfg("sgd", 32, 0.3, k),
                   cfg("momentum", None, 2.0, k),
                   cfg("nesterov", None, 3.0, k),
                   cfg("adagrad", 32, 0.3, k),
                   cfg("rmsprop", 32, 0.005, k),
                   cfg("adam", None, 0.3, k),
                   cfg("adamw", None, 0.1, k)]
        line_search_epochs = k
    configs.append(Config("line search", dict(
        optimizer="sgd", batch_size=None, learning_rate="line_search", eta0="auto"),
        line_search_epochs))
    return configs


# --------------------------------------------------------------------------
# problems and exact objectives


@dataclass
class Problem:
    name: str
    title: str
    X: np.ndarray
    y: np.ndarray        # 0/1 float64
    alpha: float

    @property
    def n(self):
        return self.X.shape[0]

    def objective(self, w, b):
        z = self.X @ np.asarray(w, dtype=np.float64).ravel() + float(b)
        loss = np.logaddexp(0.0, z) - self.y * z
        w = np.asarray(w, dtype=np.float64).ravel()
        return float(loss.mean() + 0.5 * self.alpha * (w @ w))

    def model_objective(self, model):
        return self.objective(model.coef_, np.ravel(model.intercept_)[0])


def breast_cancer_problem():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler
    X, y = load_breast_cancer(return_X_y=True)
    X = np.ascontiguousarray(StandardScaler().fit_transform(X), dtype=np.float64)
    return Problem("breast_cancer", "breast cancer (569 x 30, standardised)",
                   X, y.astype(np.float64), 1e-3)


def synthetic_problem(n, p):
    X, y, _ = make_data(n, p, seed=SEED)
    return Problem("synthetic", f"synthetic logistic ({n:,} x {p} float64)",
                   X, y, 1e-4)


# --------------------------------------------------------------------------
# fits


def descend_model(problem, params, max_iter, **extra):
    kwargs = dict(alpha=problem.alpha, tol=None, max_iter=max_iter,
                  random_state=SEED)
    kwargs.update(params)
    kwargs.update(extra)
    return descend.LogisticRegression(**kwargs)


def timed_fit(make, X, y, repeats=1):
    """Best whole fit() wall time over ``repeats`` fresh estimators from
    make(); returns (seconds, the estimator of that fastest fit)."""
    best, model = math.inf, None
    for _ in range(repeats):
        est = make()
        with warnings.catch_warnings():  # convergence warnings of fits stopped on purpose
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
        if seconds < best:
            best, model = seconds, est
    return best, model


def epoch_grid(k_max, dense=6, points=12):
    """Epochs 1..dense, then about ``points`` geometrically spaced epochs up
    to k_max (always included)."""
    grid = set(range(1, min(dense, k_max) + 1))
    grid.update(int(round(v)) for v in np.geomspace(1, k_max, points))
    grid.add(k_max)
    return sorted(g for g in grid if 1 <= g <= k_max)


@dataclass
class Curve:
    """Exact objective against wall time of one configuration (or solver)."""

    label: str
    description: str
    epochs: list = field(default_factory=list)     # epochs (iterations) done
    seconds: list = field(default_factory=list)    # wall time at that point
    objective: list = field(default_factory=list)  # exact objective there
    kind: str = ""              # "history" (full batch), "refit", "sklearn"
    fit_seconds: float = math.nan   # whole fit() wall time of the long run
    n_epochs: int = 0
    setup: float = 0.0
    epoch_ms: float = math.nan  # median epoch time from the history
    estimate_final: float = math.nan  # history's final objective (stochastic: running estimate)
    error: str = ""
    config: Config | None = None
    history_seconds: np.ndarray | None = None
    history_objective: np.ndarray | None = None

    def add(self, epoch, seconds, objective):
        self.epochs.append(int(epoch))
        self.seconds.append(float(seconds))
        self.objective.append(float(objective))

    def sort(self):
        order = np.argsort(self.epochs, kind="stable")
        self.epochs = [self.epochs[i] for i in order]
        self.seconds = [self.seconds[i] for i in order]
        self.objective = [self.objective[i] for i in order]

    @property
    def final_objective(self):
        return self.objective[-1] if self.objective else math.nan


def history_time(curve, k):
    """Wall time at the end of epoch k of the long run (k >= 1)."""
    return curve.setup + float(curve.history_seconds[k - 1])


def descend_curve(problem, cfg, repeats, notes):
    """Run cfg for cfg.epochs epochs and build its exact-objective curve (the
    time axis from the fastest of ``repeats`` identical runs)."""
    desc = cfg.describe()
    curve = Curve(cfg.label, desc, config=cfg)
    print(f"  descend {desc}: {cfg.epochs} epochs ...", end="", flush=True)
    try:
        wall, model = timed_fit(lambda: descend_model(problem, cfg.params, cfg.epochs),
                                problem.X, problem.y, repeats)
    except FloatingPointError as exc:  # descend.DivergenceError
        curve.error = f"diverged: {exc}"
        print(f" {curve.error}")
        notes.append(f"{problem.name}: descend {desc} raised {type(exc).__name__}: {exc}")
        return curve
    hist = model.history_
    seconds = np.asarray(hist["seconds"], dtype=np.float64)
    obj_hist = np.asarray(hist["objective"], dtype=np.float64)
    curve.fit_seconds = wall
    curve.n_epochs = len(hist)
    curve.setup = max(0.0, wall - float(seconds[-1]))
    curve.epoch_ms = 1e3 * float(np.median(np.diff(seconds, prepend=0.0)))
    curve.history_seconds, curve.history_objective = seconds, obj_hist
    curve.estimate_final = float(obj_hist[-1])
    final = problem.model_objective(model)
    if curve.n_epochs != cfg.epochs or hist.stop_reason != "max_iter":
        notes.append(f"{problem.name}: descend {desc} with tol=None, max_iter="
                     f"{cfg.epochs} ran {curve.n_epochs} epochs, stop_reason="
                     f"{hist.stop_reason!r}")
    # the starting point: all coefficients zero, F = log 2
    f0 = problem.objective(np.zeros(problem.X.shape[1]), 0.0)
    curve.add(0, curve.setup, f0)
    if cfg.full_batch:
        curve.kind = "history"
        # history objective of epoch e+1 is exact at its start = after e epochs
        if abs(obj_hist[0] - f0) > 1e-12 * max(1.0, f0):
            notes.append(f"{problem.name}: descend {desc}: history objective of epoch 1 "
                         f"is {obj_hist[0]:.15g}, the exact objective at the start "
                         f"(zero coefficients) is {f0:.15g}")
        for e in range(1, curve.n_epochs):
            curve.add(e, history_time(curve, e), obj_hist[e])
        curve.add(curve.n_epochs, history_time(curve, curve.n_epochs), final)
        # cross-check one history value against a refit stopped there
        k = max(1, curve.n_epochs // 2)
        if k < curve.n_epochs:
            _, part = timed_fit(lambda: descend_model(problem, cfg.params, k),
                                problem.X, problem.y)
            exact = problem.model_objective(part)
            if abs(exact - obj_hist[k]) > 1e-9 * max(1.0, abs(exact)):
                notes.append(f"{problem.name}: descend {desc}: history objective at "
                             f"the start of epoch {k + 1} is {obj_hist[k]:.12g}, the "
                             f"exact objective of fit(max_iter={k}) is {exact:.12g}")
    else:
        curve.kind = "refit"
        for k in epoch_grid(curve.n_epochs)[:-1]:
            refit_point(problem, curve, k, notes)
        curve.add(curve.n_epochs, history_time(curve, curve.n_epochs), final)
    curve.sort()
    gap_est = (curve.estimate_final - final) / final
    print(f" {wall:.3f} s, {curve.epoch_ms:.2f} ms/epoch, final objective "
          f"{final:.10f} (history {curve.estimate_final:.10f}, {gap_est:+.1e} rel.)",
          flush=True)
    return curve


def refit_point(problem, curve, k, notes):
    """Add the exact objective after k epochs of curve's configuration (a
    fit with max_iter=k, same seed); returns that objective."""
    if k in curve.epochs:
        return curve.objective[curve.epochs.index(k)]
    cfg = curve.config
    _, part = timed_fit(lambda: descend_model(problem, cfg.params, k),
                        problem.X, problem.y)
    prefix = np.asarray(part.history_["objective"], dtype=np.float64)
    if not np.array_equal(prefix, curve.history_objective[:k]):
        diff = np.max(np.abs(prefix - curve.history_objective[:len(prefix)]))
        notes.append(f"{problem.name}: descend {curve.description}: fit(max_iter={k}) "
                     f"does not repeat the first {k} epochs of the max_iter="
                     f"{curve.n_epochs} run (history objectives differ by up to "
                     f"{diff:.2e}): the curve mixes runs")
    value = problem.model_objective(part)
    curve.add(k, history_time(curve, k), value)
    return value


def first_reaching(curve, threshold, problem, notes):
    """Smallest epoch whose exact objective is <= threshold (refit curves:
    the first checkpoint reaching it, refined by bisection between it and
    the checkpoint before); None when never reached."""
    curve.sort()
    hits = [i for i, f in enumerate(curve.objective) if f <= threshold]
    if not hits:
        return None
    i = hits[0]
    hi = curve.epochs[i]
    if curve.kind != "refit" or i == 0:
        return hi
    lo = curve.epochs[i - 1]   # not reaching
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if refit_point(problem, curve, mid, notes) <= threshold:
            hi = mid
        else:
            lo = mid
    curve.sort()
    return hi


# --------------------------------------------------------------------------
# scikit-learn


def sklearn_lbfgs(problem, **kwargs):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=1.0 / (problem.n * problem.alpha), solver="lbfgs",
                              **kwargs)


def lbfgs_curve(problem, max_k):
    """Exact objective and whole-fit wall time of lbfgs stopped after k
    iterations (tol=1e-10, max_iter=k), one fit per point."""
    curve = Curve("sklearn lbfgs", "scikit-learn LogisticRegression(lbfgs), max_iter=k",
                  kind="sklearn")
    for k in epoch_grid(max_k, dense=10, points=14):
        wall, model = timed_fit(lambda: sklearn_lbfgs(problem, tol=1e-10, max_iter=k),
                                problem.X, problem.y)
        curve.add(int(np.ravel(model.n_iter_)[0]), wall, problem.model_objective(model))
    curve.sort()
    return curve


# --------------------------------------------------------------------------
# the run


@dataclass
class Row:
    dataset: str
    configuration: str
    epochs: str
    seconds: str
    epoch_ms: str
    gap: str
    to_target: str


@dataclass
class DatasetResult:
    problem_name: str
    title: str
    alpha: float
    f_star: float = math.nan
    f_star_source: str = ""
    curves: list = field(default_factory=list)
    lbfgs: Curve | None = None
    sgd_point: tuple | None = None        # (seconds, gap)
    rows: list = field(default_factory=list)
    best_descend: tuple | None = None     # (label, seconds, epochs)
    lbfgs_default: tuple | None = None    # (seconds, gap)
    practical: list = field(default_factory=list)  # (description, seconds, gap)
    plot: str = ""


def fmt_s(seconds):
    if not np.isfinite(seconds):
        return "-"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def fmt_gap(gap):
    if not np.isfinite(gap):
        return "-"
    if abs(gap) < 1e-15:
        return "< 1e-15"
    return f"{gap:.1e}"


def run_dataset(problem, configs, repeats, notes):
    print(f"\n== {problem.title}, alpha={problem.alpha:g} ==", flush=True)
    res = DatasetResult(problem.name, problem.title, problem.alpha)
    n = problem.n
    threshold_of = lambda fstar: fstar * (1.0 + REL_TARGET)  # noqa: E731

    # 1. scikit-learn: the reference optimum, default lbfgs, SGDClassifier
    wall_tight, tight = timed_fit(lambda: sklearn_lbfgs(problem, tol=1e-10, max_iter=10000),
                                  problem.X, problem.y)
    f_tight = problem.model_objective(tight)
    n_tight = int(np.ravel(tight.n_iter_)[0])
    print(f"  sklearn lbfgs tol=1e-10: {n_tight} iterations, {wall_tight:.3f} s, "
          f"objective {f_tight:.12f}", flush=True)
    wall_def, lb_def = timed_fit(lambda: sklearn_lbfgs(problem), problem.X, problem.y,
                                 repeats)
    f_def = problem.model_objective(lb_def)
    n_def = int(np.ravel(lb_def.n_iter_)[0])
    print(f"  sklearn lbfgs default tol: {n_def} iterations, {wall_def:.3f} s "
          f"(best of {repeats}), objective {f_def:.12f}", flush=True)
    res.lbfgs = lbfgs_curve(problem, max(n_tight, n_def))
    print(f"  sklearn lbfgs curve: {len(res.lbfgs.epochs)} fits with max_iter=k",
          flush=True)

    from sklearn.linear_model import SGDClassifier
    wall_sgd, sgd = timed_fit(lambda: SGDClassifier(loss="log_loss", alpha=problem.alpha,
                                                    random_state=SEED),
                              problem.X, problem.y)
    f_sgd = problem.model_objective(sgd)
    n_sgd = int(np.ravel(sgd.n_iter_)[0])
    print(f"  sklearn SGDClassifier defaults: {n_sgd} epochs, {wall_sgd:.3f} s, "
          f"objective {f_sgd:.12f}", flush=True)

    # 2. descend's curves
    for cfg in configs:
        res.curves.append(descend_curve(problem, cfg, repeats, notes))
    good = [c for c in res.curves if not c.error]

    # 3. F*
    candidates = [(f_tight, f"scikit-learn lbfgs (tol=1e-10, {n_tight} iterations)"),
                  (f_def, "scikit-learn lbfgs (default tol)"),
                  (f_sgd, "scikit-learn SGDClassifier"),
                  (min(res.lbfgs.objective), "scikit-learn lbfgs (max_iter=k fits)")]
    candidates += [(min(c.objective), f"descend {c.description}") for c in good]
    f_star, source = min(candidates, key=lambda t: t[0])
    if f_star < f_tight:
        source += f" (below lbfgs tol=1e-10 by {(f_tight - f_star) / f_tight:.1e} rel.)"
    res.f_star, res.f_star_source = f_star, source
    thr = threshold_of(f_star)
    gap = lambda f: (f - f_star) / f_star  # noqa: E731
    print(f"  F* = {f_star:.15f} from {source}; threshold {thr:.15f}", flush=True)

    # 4. time to 1e-3 for every descend configuration (oracle max_iter)
    reach = {}
    for c in good:
        k = first_reaching(c, thr, problem, notes)
        if k is None:
            reach[c.label] = None
            continue
        wall_k, model_k = timed_fit(lambda: descend_model(problem, c.config.params, k),
                                    problem.X, problem.y, repeats)
        g = gap(problem.model_objective(model_k))
        if g > REL_TARGET:
            notes.append(f"{problem.name}: descend {c.description}: fit(max_iter={k}) "
                         f"ends at gap {g:.2e}, but the curve had reached 1e-3 there")
        reach[c.label] = (k, wall_k, g)
        print(f"  descend {c.label}: within 1e-3 after {k} epochs, whole fit() "
              f"{wall_k:.3f} s (best of {repeats}), gap {g:.1e}", flush=True)

    for c in good:
        if reach.get(c.label) is None:
            gaps = [gap(f) for f in c.objective]
            i = int(np.argmin(gaps))
            text = (f"{problem.name}: descend {c.description} never reached 1e-3 in "
                    f"{c.n_epochs} epochs: lowest gap {gaps[i]:.1e} at epoch "
                    f"{c.epochs[i]}, final {gaps[-1]:.1e}")
            if c.label == "adamw":
                text += (" (AdamW's decoupled weight decay does not minimise the L2 "
                         "objective: its fixed point is not F*'s)")
            notes.append(text)
    for c in res.curves:
        if c.error:
            res.rows.append(Row(problem.name, f"descend {c.description}", "-", "-", "-",
                                "diverged", "-"))
            continue
        r = reach.get(c.label)
        to = (f"{fmt_s(r[1])} ({r[0]} ep.)" if r else "not reached")
        res.rows.append(Row(problem.name, f"descend {c.description}", str(c.n_epochs),
                            fmt_s(c.fit_seconds), f"{c.epoch_ms:.3g}",
                            fmt_gap(gap(c.final_objective)), to))
    reached = [(v[1], label, v[0]) for label, v in reach.items() if v]
    best_curve = None
    if reached:
        best_s, best_label, best_k = min(reached)
        res.best_descend = (best_label, best_s, best_k)
        best_curve = next(c for c in good if c.label == best_label)

    # 5. practical stopping rules, for the best configuration and line search
    practical = [best_curve] if best_curve is not None else []
    practical += [c for c in good if c.label == "line search" and c is not best_curve]
    for curve in practical:
        cfg = curve.config
        tag = "the fastest configuration" if curve is best_curve else "line search"
        if cfg.full_batch:
            def stop_at_threshold(record, thr=thr):
                return record["objective"] <= thr
            wall_cb, m_cb = timed_fit(lambda: descend_model(
                problem, cfg.params, cfg.epochs, callback=stop_at_threshold),
                problem.X, problem.y, repeats)
            g = gap(problem.model_objective(m_cb))
            reason = m_cb.history_.stop_reason
            res.practical.append((f"{cfg.label} stopped by a callback on the history "
                                  f"objective", wall_cb, g))
            res.rows.append(Row(problem.name, f"descend {cfg.describe()} ({tag}), stopped "
                                f"by a callback when the history objective <= (1+1e-3) F*",
                                str(m_cb.n_iter_), fmt_s(wall_cb), "-", fmt_gap(g),
                                fmt_s(wall_cb) if g <= REL_TARGET else "not reached"))
            if reason != "callback":
                notes.append(f"{problem.name}: descend {cfg.describe()} with a stopping "
                             f"callback ended with stop_reason={reason!r}")
        wall_tol, m_tol = timed_fit(lambda: descend_model(
            problem, cfg.params, 1000, tol=1e-4), problem.X, problem.y, repeats)
        g = gap(problem.model_objective(m_tol))
        res.practical.append((f"{cfg.label} with tol=1e-4", wall_tol, g))
        res.rows.append(Row(problem.name, f"descend {cfg.describe()} ({tag}), tol=1e-4 "
                            f"(default stopping), max_iter=1000", str(m_tol.n_iter_),
                            fmt_s(wall_tol), "-", fmt_gap(g),
                            fmt_s(wall_tol) if g <= REL_TARGET else "not reached"))
        print(f"  descend {cfg.label} with tol=1e-4: {m_tol.n_iter_} epochs, "
              f"{wall_tol:.3f} s, gap {g:.1e} (stop_reason "
              f"{m_tol.history_.stop_reason!r})", flush=True)
        if g > REL_TARGET:
            notes.append(f"{problem.name}: descend {cfg.describe()} with the default "
                         f"stopping rule (tol=1e-4, n_iter_no_change=5) stopped after "
                         f"{m_tol.n_iter_} epochs (stop_reason "
                         f"{m_tol.history_.stop_reason!r}) at relative gap {g:.1e}")

    # 6. scikit-learn rows
    g_def = gap(f_def)
    res.lbfgs_default = (wall_def, g_def)
    res.rows.append(Row(problem.name, f"scikit-learn LogisticRegression(lbfgs, "
                        f"C=1/(n alpha)), default tol=1e-4", str(n_def), fmt_s(wall_def),
                        "-", fmt_gap(g_def),
                        fmt_s(wall_def) if g_def <= REL_TARGET else "not reached"))
    lb = res.lbfgs
    hits = [i for i, f in enumerate(lb.objective) if f <= thr]
    if hits:
        k = lb.epochs[hits[0]]
        wall_k, m_k = timed_fit(lambda: sklearn_lbfgs(problem, tol=1e-10, max_iter=k),
                                problem.X, problem.y, repeats)
        g = gap(problem.model_objective(m_k))
        res.rows.append(Row(problem.name, "scikit-learn lbfgs stopped at its oracle "
                            "iteration count (max_iter=k)", str(k), fmt_s(wall_k), "-",
                            fmt_gap(g), fmt_s(wall_k) if g <= REL_TARGET else "not reached"))
    res.rows.append(Row(problem.name, "scikit-learn lbfgs, tol=1e-10 (the F* reference)",
                        str(n_tight), fmt_s(wall_tight), "-", fmt_gap(gap(f_tight)), "-"))
    g_sgd = gap(f_sgd)
    res.sgd_point = (wall_sgd, g_sgd)
    res.rows.append(Row(problem.name, f"scikit-learn SGDClassifier(loss=\"log_loss\", "
                        f"alpha={problem.alpha:g}), defaults", str(n_sgd), fmt_s(wall_sgd),
                        f"{1e3 * wall_sgd / max(1, n_sgd):.3g}", fmt_gap(g_sgd),
                        fmt_s(wall_sgd) if g_sgd <= REL_TARGET
                        else f"not reached (stops at {g_sgd:.1e})"))
    return res


# --------------------------------------------------------------------------
# plot


def plot(res, path):
    """Relative gap against seconds, one curve per configuration; returns
    the path written, or "" when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plot "
              f"{path} (pip install matplotlib to get it)")
        return ""
    fig, ax = plt.subplots(figsize=(12, 5.6))
    cmap = plt.get_cmap("tab10")
    styles = ["-o", "-s", "-^", "-v", "-D", "-P", "-X", "-*"]
    for i, c in enumerate(x for x in res.curves if not x.error):
        t = np.asarray(c.seconds)
        g = np.maximum((np.asarray(c.objective) - res.f_star) / res.f_star, GAP_FLOOR)
        dense = c.kind == "history" and len(t) > 40
        style = "-" if dense else styles[i % len(styles)]
        ax.plot(t, g, style, color=cmap(i % 10), ms=3.5, lw=1.4,
                label=f"descend {c.label} ({c.description.split(', ', 1)[1]})")
    lb = res.lbfgs
    if lb is not None:
        g = np.maximum((np.asarray(lb.objective) - res.f_star) / res.f_star, GAP_FLOOR)
        ax.plot(lb.seconds, g, "--o", color="black", ms=3.5, lw=1.2,
                label="scikit-learn lbfgs (whole fit with max_iter=k)")
    if res.sgd_point is not None:
        t, g = res.sgd_point
        ax.plot([t], [max(g, GAP_FLOOR)], "*", color="dimgray", ms=13,
                label="scikit-learn SGDClassifier, defaults (end of fit)")
    ax.axhline(REL_TARGET, color="red", lw=0.9, ls=":", label="relative gap 1e-3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wall-clock seconds since fit() was called (log scale)")
    ax.set_ylabel("relative gap (F - F*) / F*  (exact objective)")
    ax.set_title(f"{res.title}: L2 logistic regression, alpha={res.alpha:g}\n"
                 f"gaps below {GAP_FLOOR:g} drawn at {GAP_FLOOR:g}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    size = os.path.getsize(path)
    print(f"  wrote {path} ({size / 1024:.0f} KB)")
    return path


# --------------------------------------------------------------------------
# report


def machine_info(threads):
    import scipy
    import sklearn
    info = {
        "CPU": f"{cpu_model()} ({os.cpu_count()} logical CPUs, {usable_cpus()} usable)",
        "Python": platform.python_version(),
        "Versions": f"descend {descend.__version__}, numpy {np.__version__}, "
                    f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}",
        "BLAS (threadpoolctl)": blas_description(),
        "Threads": f"{threads} (descend n_jobs=None; BLAS and lbfgs default; "
                   f"SGDClassifier is single-threaded)",
        "Load average before the run": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "Date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }
    try:
        import matplotlib
        info["Versions"] += f", matplotlib {matplotlib.__version__}"
    except ImportError:
        pass
    return info


def table(results):
    head = ["Data set", "Configuration", "Epochs (lbfgs: iterations)", "Seconds (whole fit)", "ms / epoch",
            "Final relative gap", "Time to 1e-3"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for res in results:
        for r in res.rows:
            lines.append("| " + " | ".join([r.dataset, r.configuration, r.epochs,
                                            r.seconds, r.epoch_ms, r.gap,
                                            r.to_target]) + " |")
    return "\n".join(lines)


def target_line(res):
    if res.best_descend is None or res.lbfgs_default is None:
        return (f"{res.problem_name}: no descend configuration reached 1e-3: "
                f"target MISSED")
    label, s, k = res.best_descend
    lb_s, lb_gap = res.lbfgs_default
    ratio = s / lb_s
    verdict = "MET" if ratio <= TARGET_RATIO else "MISSED"
    text = (f"{res.problem_name}: fastest descend configuration to 1e-3 is "
            f"{label} ({k} epoch{'s' if k != 1 else ''} at the oracle stopping point, "
            f"{fmt_s(s)} whole fit); scikit-learn lbfgs with default tol takes "
            f"{fmt_s(lb_s)} (gap {fmt_gap(lb_gap)}): ratio {ratio:.2f} (target <= 1/3: "
            f"{verdict})")
    parts = [f"{d}: {fmt_s(t)}, gap {fmt_gap(g)}, "
             + (f"ratio {t / lb_s:.2f}" if g <= REL_TARGET else "1e-3 not reached")
             for d, t, g in res.practical]
    if parts:
        text += "; with a stopping rule instead of the oracle: " + "; ".join(parts)
    return text


def render_section(results, machine, notes, command, md_path):
    base = os.path.dirname(os.path.abspath(md_path))
    lines = [MARK_BEGIN,
             "<!-- Generated by benchmarks/convergence.py; edits inside these markers "
             "are overwritten. -->", "",
             "## Convergence to the optimum", "",
             f"Command: `{command}`", ""]
    lines += [f"- **{k}:** {v}" for k, v in machine.items()]
    lines += [f"- **Data:** scikit-learn `load_breast_cancer` (StandardScaler); synthetic "
              f"from {DATA_SOURCE}(n, p, seed={SEED}) (standard normal features, labels "
              f"from a random w plus logistic noise)"]
    lines += ["", table(results), ""]
    for res in results:
        lines.append(f"- {target_line(res)}")
        lines.append(f"- {res.problem_name}: F* = {res.f_star:.12f} from "
                     f"{res.f_star_source}")
    lines += [f"- {note}" for note in notes]
    lines.append("")
    for res in results:
        if res.plot:
            rel = os.path.relpath(os.path.abspath(res.plot), base)
            lines += [f"![{res.title}: relative gap against seconds]({rel})", ""]
        else:
            lines += [f"({res.title}: plot skipped, matplotlib not installed)", ""]
    lines += [
        "How it is measured: every objective is evaluated exactly in NumPy from a "
        "fit's final coefficients (mean log loss + alpha/2 ||w||^2). descend curves: one "
        "fit per configuration with tol=None and a fixed max_iter gives the time axis "
        "(`history_[\"seconds\"]` plus the fit's setup time); full batch, the exact "
        "history objective gives every epoch; stochastic, the history objective is a "
        "running estimate, so epoch k's point is the exact objective of a separate fit "
        "with max_iter=k and the same random_state (checked to repeat the long run), at "
        "epochs 1-6 and then geometrically spaced epochs. \"Time to 1e-3\" is the whole "
        "fit() wall time (input validation included, best of a few) of a fit with "
        "max_iter set to the first epoch whose exact relative gap is <= 1e-3 (an oracle "
        "stopping point; the rows with a callback or tol show practical stopping). "
        "scikit-learn's lbfgs curve is one whole fit per point with max_iter=k. "
        "\"ms / epoch\" is the median epoch time from `history_`. The target compares the "
        "fastest descend time to 1e-3 with lbfgs at its default tol.",
        MARK_END]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke-test size: synthetic 20,000 x 20, fewer epochs, "
                             "one repeat")
    parser.add_argument("--write", metavar="FILE",
                        help="rewrite the convergence section of FILE (e.g. BENCHMARKS.md)")
    parser.add_argument("--plot-dir", default="benchmarks", metavar="DIR",
                        help="folder of the PNG plots (default: benchmarks)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="synthetic rows (default 500,000; --quick 20,000)")
    parser.add_argument("--n-features", type=int, default=None,
                        help="synthetic features (default 100; --quick 20)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repetitions of the time-to-1e-3 fits (default 3; "
                             "--quick 1)")
    args = parser.parse_args(argv)
    n = args.n_samples or (20_000 if args.quick else 500_000)
    p = args.n_features or (20 if args.quick else 100)
    repeats = args.repeats or (1 if args.quick else 3)

    threads = openmp_threads()
    machine = machine_info(threads)
    print("Machine:")
    for k, v in machine.items():
        print(f"  {k}: {v}")
    load = OtherLoad()

    notes = []
    if args.quick:
        notes.append("--quick: smoke-test sizes and epochs (the batch sizes and step sizes "
                     "are tuned for the full size): the numbers and verdicts mean little")
    results = []
    problems = [("breast_cancer", breast_cancer_problem),
                ("synthetic", lambda: synthetic_problem(n, p))]
    for name, build in problems:
        problem = build()
        res = run_dataset(problem, configurations(name, args.quick), repeats, notes)
        res.plot = plot(res, os.path.join(args.plot_dir, f"convergence_{name}.png"))
        results.append(res)
        del problem
        gc.collect()

    other = load.describe()
    if other is not None:
        machine["CPU used by other processes"] = other
    machine["Load average after the run"] = " ".join(f"{v:.2f}" for v in os.getloadavg())

    print()
    print(table(results))
    print()
    for res in results:
        print(target_line(res))
    for note in notes:
        print(f"note: {note}")
    for key in ("CPU used by other processes", "Load average after the run"):
        if key in machine:
            print(f"{key}: {machine[key]}")
    if args.write:
        given = sys.argv[1:] if argv is None else argv
        command = ("python benchmarks/convergence.py " + " ".join(given)).strip()
        write_section(args.write, render_section(results, machine, notes, command,
                                                 args.write), MARK_BEGIN, MARK_END)
        print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
