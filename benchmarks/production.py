#!/usr/bin/env python
"""Small fits, repeated fits and grid searches, side by side with
scikit-learn, in one run (issue #14: production path).

    python benchmarks/production.py                         # print
    python benchmarks/production.py --write BENCHMARKS.md   # ... and record it
    python benchmarks/production.py --quick                 # fewer repeats

1. Small fits: descend's ``LogisticRegression()`` with every default
   against scikit-learn's default ``LogisticRegression`` with the same
   penalty (``C = 1 / (alpha n)``, alpha 1e-4), 20 standardised features,
   2,000 to 50,000 rows: the median whole ``fit`` of 21 (the fits taking
   turns), and the
   relative gap each reached (each fit after 0.3 s of rest, so that no
   library's busy-waiting BLAS threads are about), (F - F*) / F*, F* the
   smallest objective of
   scikit-learn's lbfgs at tol 1e-12 and descend at tol 1e-12; and
   descend certifying tol=1e-10, below any gap scikit-learn's default
   reaches here (its stopping rule sometimes lands below descend's
   default 1e-6 target by luck: equal or better gap, compared fairly).
2. Stalls: 20 identical fits in a row (20,000 x 20, default n_jobs), the
   slowest against the median; the same 20 fits as the candidates of one
   ``GridSearchCV(n_jobs=2)`` (one split, so each candidate is one fit,
   timed by scikit-learn in its worker), in the worker processes a first
   such search started (one search, then five alternating with
   scikit-learn's, all 100 fits against their median), and, separately,
   that first search (each worker's first fit pays the process's one-time
   costs: imports, thread start-up); scikit-learn's default fit the same
   ways, for reference (two worker processes and the parent on a 2-core
   machine share its cores); and 20
   descend fits each started right
   after a scikit-learn fit on 50,000 rows (OpenBLAS's threads, which
   busy-wait after a call, then share the cores).  Measured first, before
   anything else in the run has started BLAS threads.
3. A grid search of 100 small fits: 20 penalties x 5 folds on 5,000 x 20,
   ``GridSearchCV(n_jobs=1)`` and ``n_jobs=2``, descend's
   ``LogisticRegression()`` against scikit-learn's, whole ``fit`` of the
   search, the median of 7, the two libraries' searches taking turns.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.machine import machine_description, openmp_threads  # noqa: E402
from harness.problem import log_objective, make_data  # noqa: E402
from harness.report import write_section  # noqa: E402
from harness.timing import fmt_time  # noqa: E402

import descend  # noqa: E402

MARK_BEGIN = "<!-- production:begin -->"
MARK_END = "<!-- production:end -->"
ALPHA = 1e-4
P = 20
IDLE = 0.3  # seconds of rest before each timed small fit
SEARCHES = 5  # GridSearchCV(n_jobs=2) runs of each library in the stall test
TIGHT = 1e-10  # the certified tol of the second descend column of the small fits


def _sklearn(n, **params):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=1.0 / (ALPHA * n), **params)


def _median_fits(makers, X, y, repeats):
    """The median whole fit of each maker's model, the makers taking turns
    (so that the machine's drift falls on all of them alike); each fit
    starts on an idle machine (OpenBLAS's threads busy-wait for a while
    after a call: a fit started right after the other library's would
    share the cores with them).  Returns [(median seconds, last model)]."""
    times = [[] for _ in makers]
    models = [None] * len(makers)
    for _ in range(repeats):
        for k, make in enumerate(makers):
            time.sleep(IDLE)
            model = make()
            t0 = time.perf_counter()
            model.fit(X, y)
            times[k].append(time.perf_counter() - t0)
            models[k] = model
    return [(float(np.median(t)), m) for t, m in zip(times, models)]


def _objective(model, X, y):
    return log_objective(X, y, np.ravel(model.coef_), float(np.ravel(model.intercept_)[0]),
                         alpha=ALPHA)


def small_fits(sizes, repeats):
    rows = []
    for n in sizes:
        X, y, _ = make_data(n, P, seed=1)
        f_star = min(
            _objective(_sklearn(n, tol=1e-12, max_iter=10000).fit(X, y), X, y),
            _objective(descend.LogisticRegression(alpha=ALPHA, tol=1e-12,
                                                  max_iter=10000).fit(X, y), X, y))
        for make in (lambda: descend.LogisticRegression(), lambda: _sklearn(n)):
            make().fit(X, y)  # warm: imports, first-touch, thread start-up
        (t_d, m_d), (t_s, m_s), (t_t, m_t) = _median_fits(
            (lambda: descend.LogisticRegression(), lambda: _sklearn(n),
             lambda: descend.LogisticRegression(tol=TIGHT)), X, y, repeats)
        gap_d, gap_s, gap_t = ((_objective(m, X, y) - f_star) / f_star
                               for m in (m_d, m_s, m_t))
        rows.append((n, t_d, gap_d, t_s, gap_s, t_t, gap_t))
        print(f"  {n} x {P}: descend {fmt_time(t_d)} (gap {gap_d:.1e}) | "
              f"scikit-learn {fmt_time(t_s)} (gap {gap_s:.1e}) | "
              f"{t_s / t_d:.2f}x | descend tol={TIGHT:g} {fmt_time(t_t)} (gap {gap_t:.1e}) "
              f"{t_s / t_t:.2f}x", flush=True)
    return rows


def _gap_text(gap):
    return "< 1e-15" if gap < 1e-15 else f"{gap:.1e}"


class _TimedFit:
    """fit records its own wall time in ``fit_seconds_``: GridSearchCV's
    ``fit_time`` also counts its split of X (a copy of the training rows),
    which is not the estimator's work."""

    def fit(self, X, y, **params):
        t0 = time.perf_counter()
        super().fit(X, y, **params)
        self.fit_seconds_ = time.perf_counter() - t0
        return self


class TimedDescend(_TimedFit, descend.LogisticRegression):
    pass


def _timed_sklearn(n):
    from sklearn.linear_model import LogisticRegression

    class TimedSklearn(_TimedFit, LogisticRegression):
        pass

    return TimedSklearn(C=1.0 / (ALPHA * n))


def _own_fit_time(estimator, X, y):
    """A 'scorer' that reports the fit's own time (what the stall test reads)."""
    return estimator.fit_seconds_


def stalls(fits):
    from sklearn.model_selection import GridSearchCV

    X, y, _ = make_data(20000, P, seed=2)
    descend.LogisticRegression().fit(X, y)
    out = {}
    times = []
    for _ in range(fits):
        t0 = time.perf_counter()
        descend.LogisticRegression().fit(X, y)
        times.append(time.perf_counter() - t0)
    out["in a row"] = np.array(times)
    _sklearn(len(y)).fit(X, y)
    times = []
    for _ in range(fits):  # the same with scikit-learn's default LogisticRegression
        t0 = time.perf_counter()
        _sklearn(len(y)).fit(X, y)
        times.append(time.perf_counter() - t0)
    reference = np.array(times)
    split = [(np.arange(len(y)), np.arange(min(len(y), 2000)))]

    def search(estimator, grid, new_workers):
        """(the fits' own times, GridSearchCV's fit_time) of one
        GridSearchCV(n_jobs=2) of identical fits; ``new_workers``: in
        worker processes started for it (their first fit pays the
        process's one-time costs), else in the ones the last search left
        running (joblib reuses them)."""
        if new_workers:
            from joblib.externals.loky import get_reusable_executor
            get_reusable_executor().shutdown(wait=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = GridSearchCV(estimator, grid, cv=split, n_jobs=2, refit=False,
                                  scoring=_own_fit_time).fit(X, y)
        return (np.asarray(result.cv_results_["mean_test_score"]),
                np.asarray(result.cv_results_["mean_fit_time"]))

    ours = (TimedDescend(), {"alpha": [ALPHA] * fits})
    theirs = (_timed_sklearn(len(y)), {"C": [1.0 / (ALPHA * len(y))] * fits})
    new_d = search(*ours, new_workers=True)
    new_s = search(*theirs, new_workers=True)
    # then SEARCHES searches of each in the running workers, alternating
    # (one search's fits are a sample of the machine's state then); the
    # first of descend's runs in workers that have fitted only scikit-learn
    ours_warm, theirs_warm = [], []
    for _ in range(SEARCHES):
        ours_warm.append(search(*ours, new_workers=False))
        theirs_warm.append(search(*theirs, new_workers=False))
    for who, warm, new in (("", ours_warm, new_d), ("scikit-learn's, ", theirs_warm, new_s)):
        for k, what in ((0, "fit calls"), (1, "cv_results_ fit_time")):
            label = f"{who}GridSearchCV(n_jobs=2), {what}"
            out[f"{label}, 1 search"] = warm[-1][k]
            out[f"{label}, {SEARCHES} searches"] = np.concatenate([w[k] for w in warm])
            out[f"{label}, new worker processes"] = new[k]
        if not who:
            # each fit right after scikit-learn's on 50,000 rows (BLAS, 2
            # threads): OpenBLAS's threads busy-wait after a call, sharing the cores
            Xb, yb, _ = make_data(50000, P, seed=4)
            times = []
            for _ in range(fits):
                _sklearn(len(yb)).fit(Xb, yb)
                t0 = time.perf_counter()
                descend.LogisticRegression().fit(X, y)
                times.append(time.perf_counter() - t0)
            out["each right after a BLAS-heavy scikit-learn fit"] = np.array(times)
            out["scikit-learn's LogisticRegression, in a row"] = reference
    for name, t in out.items():
        print(f"  {name}: median {fmt_time(np.median(t))}, max {fmt_time(t.max())} "
              f"({t.max() / np.median(t):.2f}x), over 1.5x median: "
              f"{int((t > 1.5 * np.median(t)).sum())} of {len(t)}", flush=True)
    return out


def grid_search(n_jobs_list, repeats):
    from sklearn.model_selection import GridSearchCV

    n = 5000
    X, y, _ = make_data(n, P, seed=3)
    alphas = np.logspace(-5, -1, 20)
    n_train = n - n // 5  # 5-fold: each fit sees 4/5 of the rows
    rows = []
    for n_jobs in n_jobs_list:
        def run_descend():
            return GridSearchCV(descend.LogisticRegression(), {"alpha": alphas},
                                cv=5, n_jobs=n_jobs).fit(X, y)

        def run_sklearn():
            return GridSearchCV(_sklearn(n_train), {"C": 1.0 / (alphas * n_train)},
                                cv=5, n_jobs=n_jobs).fit(X, y)

        def run_scorer():  # descend scored by scikit-learn's accuracy scorer
            return GridSearchCV(descend.LogisticRegression(), {"alpha": alphas},
                                cv=5, n_jobs=n_jobs, scoring="accuracy").fit(X, y)

        run_descend(), run_sklearn(), run_scorer()  # warm (and start the workers)
        (t_d, s_d), (t_s, s_s), (t_a, s_a) = _median_searches(
            (run_descend, run_sklearn, run_scorer), repeats)
        assert s_a.best_score_ == s_d.best_score_  # the same accuracies either way
        rows.append((n_jobs, t_d, s_d.best_score_, t_s, s_s.best_score_, t_a))
        print(f"  n_jobs={n_jobs}: descend {fmt_time(t_d)} (best accuracy "
              f"{s_d.best_score_:.4f}) | scikit-learn {fmt_time(t_s)} "
              f"({s_s.best_score_:.4f}) | {t_s / t_d:.2f}x | descend with "
              f"scoring='accuracy' {fmt_time(t_a)}: {t_s / t_a:.2f}x", flush=True)
    return rows


def _median_searches(runs, repeats):
    """The median whole search of each run, the runs taking turns (the
    machine's drift falls on both alike); [(median seconds, last search)]."""
    times = [[] for _ in runs]
    searches = [None] * len(runs)
    for _ in range(repeats):
        for k, run in enumerate(runs):
            t0 = time.perf_counter()
            searches[k] = run()
            times[k].append(time.perf_counter() - t0)
    return [(float(np.median(t)), s) for t, s in zip(times, searches)]


def render(machine, small, stall, grid, command):
    lines = [MARK_BEGIN,
             "<!-- Generated by benchmarks/production.py; edits inside these markers "
             "are overwritten. -->", "",
             f"Command: `{command}`", ""]
    lines += [f"- **{k}:** {v}" for k, v in machine.items()]
    lines += ["", f"Default fits, 20 standardised features, alpha {ALPHA} (scikit-learn: "
              "`LogisticRegression(C=1/(alpha n))`, its defaults otherwise); median "
              "whole `fit`; gap (F - F*) / F*; and descend with a tighter certified "
              f"`tol={TIGHT:g}`, for the sizes where scikit-learn's default happens to "
              "stop at a smaller gap than descend's default:", "",
              "| rows | descend | gap | scikit-learn | gap | scikit-learn / descend | "
              f"descend, tol={TIGHT:g} | gap | scikit-learn / it |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, t_d, g_d, t_s, g_s, t_t, g_t in small:
        lines.append(f"| {n:,} | {fmt_time(t_d)} | {_gap_text(g_d)} | {fmt_time(t_s)} | "
                     f"{_gap_text(g_s)} | {t_s / t_d:.2f}x | {fmt_time(t_t)} | "
                     f"{_gap_text(g_t)} | {t_s / t_t:.2f}x |")
    lines += ["", "Stalls: 20 identical default fits of 20,000 x 20 (default n_jobs). "
              "In GridSearchCV, \"fit calls\" are the times of the `fit` calls "
              "themselves (each estimator records its own; a scorer reads them), "
              "\"cv_results_ fit_time\" what GridSearchCV reports, which also counts "
              "its split of X (a copy of the 20,000 training rows, and the first "
              "reads of the memory-mapped X in each worker). \"1 search\" is the last "
              f"of {SEARCHES} in running workers, alternating with scikit-learn's; "
              "\"new worker processes\" a search in workers started for it:", "",
              "| run | median | slowest | slowest / median | fits over 1.5x median |",
              "|---|---:|---:|---:|---:|"]
    for name, t in stall.items():
        med = float(np.median(t))
        lines.append(f"| {name} | {fmt_time(med)} | {fmt_time(t.max())} | "
                     f"{t.max() / med:.2f}x | {int((t > 1.5 * med).sum())} of {len(t)} |")
    lines += ["", "Grid search: 20 penalties x 5 folds = 100 fits on 5,000 x 20, whole "
              "`GridSearchCV.fit` (refit included), median.  Each fold is scored by "
              "the estimator's `score` (descend's compares plain labels directly, "
              "the same accuracy as scikit-learn's `accuracy_score`, which scikit-learn's "
              "estimator calls); the last two columns score descend with "
              "`scoring='accuracy'` (scikit-learn's scorer), so that only the fits "
              "differ:", "",
              "| n_jobs | descend | best accuracy | scikit-learn | best accuracy | "
              "scikit-learn / descend | descend, scoring='accuracy' | scikit-learn / it |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n_jobs, t_d, s_d, t_s, s_s, t_a in grid:
        lines.append(f"| {n_jobs} | {fmt_time(t_d)} | {s_d:.4f} | {fmt_time(t_s)} | "
                     f"{s_s:.4f} | {t_s / t_d:.2f}x | {fmt_time(t_a)} | {t_s / t_a:.2f}x |")
    lines.append(MARK_END)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--write", metavar="BENCHMARKS.md", default=None)
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 21
    machine = machine_description(openmp_threads())
    machine.pop("torch", None)
    print("Repeated fits", flush=True)  # first: no other library's threads about
    stall = stalls(20)
    print("Small fits", flush=True)
    small = small_fits((2000, 5000, 20000, 50000), repeats)
    print("Grid search of 100 fits", flush=True)
    grid = grid_search((1, 2), 1 if args.quick else 7)
    command = "python benchmarks/production.py" + (" --quick" if args.quick else "")
    section = render(machine, small, stall, grid, command)
    if args.write:
        write_section(args.write, section, MARK_BEGIN, MARK_END)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
