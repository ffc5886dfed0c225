#!/usr/bin/env python
"""descend on Dask against dask-ml: wall time to a 1e-3 and a 1e-6 relative
gap, on one LocalCluster and one data set, in one run.

    python benchmarks/dask_compare.py                        # the issue's setup, print
    python benchmarks/dask_compare.py --write BENCHMARKS.md  # ... and record it
    python benchmarks/dask_compare.py --quick                # a smoke run (seconds)

Setup (issue #13): a distributed.LocalCluster of 2 worker processes with
one thread each; 2,000,000 x 50 float64 standardised logistic data
(harness/problem.py) in 8 chunks, scattered to the workers before anything
is timed; L2-penalised logistic regression with alpha = 1e-4,

    F(w, b) = mean_i(log(1 + exp(z_i)) - y_i z_i) + alpha/2 ||w||^2,  z = X w + b.

dask-ml's LogisticRegression (dask-glm solvers) minimises sum_i loss_i +
lamduh/2 ||(w, b)||^2 with lamduh = 1/C: C = 1/(alpha n) is the same
penalty, except that dask-glm also penalises the intercept (the intercept
here is about 0.25, which moves its optimum by about 1e-8 relative: far
below 1e-6).  Its "newton" and "gradient_descent" solvers drop the penalty
altogether (dask-ml pops it), so they converge to the unpenalised optimum.

What is measured:

* F*: the smallest objective seen in the run (descend in memory with
  tol=1e-12 reaches it).  Every method's relative gap (F - F*)/F* is
  evaluated in NumPy, in memory, from its coefficients.
* descend in memory (all cores) and descend.dask mode "exact": the
  fastest of --repeats fits each; the callback records the wall time (from
  the call of fit) of every iteration with its certified gap (the duality
  gap the fit proves, an upper bound of the true one).  Their times are
  the times to a CERTIFIED gap.
* descend.dask mode "local_sgd" (batch 256, adam, eta0=0.01, averaged,
  one epoch per round): fits of 1, 2, 4, ... epochs (each run a prefix of
  the longer ones: the fit is deterministic), whole fit() wall time and the
  true gap of each.  Its certificate (looser for SGD iterates) is reported
  too.
* dask-ml lbfgs, admm and newton: one fit each (its iterates are recorded
  as it goes: the callback of scipy's L-BFGS, the z-update of ADMM, the
  new beta of Newton), with tight tolerances, stopped after --budget
  seconds; the time of an iterate is from the call of fit.
* scikit-learn's in-memory lbfgs with its default tol, for scale.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
import warnings

import numpy as np

from harness.machine import OtherLoad, blas_description, cpu_model, usable_cpus
from harness.problem import log_objective, make_data
from harness.report import write_section
from harness.timing import fmt_time

LEVELS = (1e-3, 1e-6)
FULL = dict(n_samples=2_000_000, n_features=50, chunks=8, budget=300.0)
QUICK = dict(n_samples=20_000, n_features=10, chunks=8, budget=5.0)
ALPHA = 1e-4
BEGIN, END = "<!-- dask:begin -->", "<!-- dask:end -->"
#: mode "local_sgd": the configuration timed, and its epoch counts
LOCAL_SGD = dict(batch_size=256, optimizer="adam", eta0=0.01, average=True,
                 average_every=1, random_state=0)
LOCAL_EPOCHS = (1, 2, 4, 8, 16)
QUICK_LOCAL_EPOCHS = (1,)


class OverBudget(Exception):
    """A recorded solver ran past its time budget."""


class Trace:
    """A method's progress: (seconds from the call of fit, coefficients or
    None, certified gap or NaN) per iterate; gaps filled in afterwards."""

    def __init__(self, name, note=""):
        self.name, self.note = name, note
        self.points = []  # [seconds, w, b, certified]
        self.gaps = None
        self.total = None  # whole fit() seconds
        self.iterations = ""

    def add(self, seconds, w=None, b=None, certified=np.nan):
        self.points.append((seconds, w, b, certified))

    def evaluate(self, X, y):
        """Objectives of the recorded coefficients (NaN where none)."""
        return np.array([np.nan if w is None else log_objective(X, y, w, b, ALPHA)
                         for _, w, b, _ in self.points])

    def time_to(self, level, certified):
        """Seconds to the first iterate with gap <= level (None if never):
        the certified gap, or (``certified=False``) the true one, which a
        certificate also bounds."""
        proved = np.array([c for *_, c in self.points])
        gaps = proved if certified else np.fmin(proved, self.gaps)
        for (seconds, *_), gap in zip(self.points, gaps):
            if gap <= level:
                return seconds
        return None

    def final_gap(self):
        finite = self.gaps[np.isfinite(self.gaps)] if self.gaps is not None else []
        return finite[-1] if len(finite) else np.nan


def machine(n_workers):
    import dask
    import distributed
    import sklearn

    import descend

    try:
        import dask_ml
        dask_ml_version = dask_ml.__version__
    except ImportError:
        dask_ml_version = "not installed"
    return {
        "CPU": f"{cpu_model()} ({os.cpu_count()} logical CPUs, {usable_cpus()} usable)",
        "Python": platform.python_version(),
        "numpy / scikit-learn": f"{np.__version__} / {sklearn.__version__}",
        "dask / distributed / dask-ml":
            f"{dask.__version__} / {distributed.__version__} / {dask_ml_version}",
        "descend": descend.__version__,
        "BLAS (threadpoolctl)": blas_description(),
        "Cluster": f"distributed.LocalCluster, {n_workers} worker processes x 1 thread",
        "Load average before the run": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "Date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def scatter_blocks(client, X, y, chunks):
    """X and y as Dask arrays whose blocks already live on the workers."""
    import dask.array as da
    from distributed import wait

    n, p = X.shape
    bounds = np.linspace(0, n, chunks + 1).astype(int)
    xs = client.scatter([X[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
    ys = client.scatter([y[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
    wait(xs + ys)
    Xd = da.concatenate([da.from_delayed(f, shape=(b - a, p), dtype=X.dtype)
                         for f, a, b in zip(xs, bounds[:-1], bounds[1:])])
    yd = da.concatenate([da.from_delayed(f, shape=(b - a,), dtype=y.dtype)
                         for f, a, b in zip(ys, bounds[:-1], bounds[1:])])
    return Xd, yd


def best_descend_trace(repeats, *args, **kwargs):
    """The fastest of ``repeats`` descend fits (each a Trace)."""
    runs = [descend_trace(*args, **kwargs) for _ in range(repeats)]
    return min(runs, key=lambda run: run[0].total)


def descend_trace(name, make, X, y, note=""):
    """One descend fit, its iterations timed by the callback (certified gaps)."""
    trace = Trace(name, note)
    start = [0.0]

    def record(entry):
        trace.add(time.perf_counter() - start[0], certified=entry["gap"])

    model = make(record)
    start[0] = time.perf_counter()
    model.fit(X, y)
    trace.total = time.perf_counter() - start[0]
    coef = np.asarray(model.coef_).ravel()
    trace.add(trace.total, coef, float(np.ravel(model.intercept_)[0]),
              model.history_["gap"][-1])
    trace.iterations = f"{model.n_iter_} iterations"
    if hasattr(model, "rounds_"):
        r = model.rounds_
        trace.iterations += (f", {len(r)} rounds ({r['compute_seconds'].sum():.2f} s "
                             f"computing, {r['communication_seconds'].sum():.2f} s not)")
    return trace, model


def local_sgd_trace(Xd, yd, epochs, budget):
    """Mode local_sgd: fits of growing epoch counts (whole fit() times)."""
    import descend.dask as ddk

    trace = Trace("descend.dask local_sgd",
                  "batch 256, adam (eta0=0.01), averaged, 1 epoch per round")
    spent = 0.0
    for k in epochs:
        model = ddk.LogisticRegression(alpha=ALPHA, mode="local_sgd", max_iter=k,
                                       tol=1e-9, **LOCAL_SGD)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=1e-9: a certificate every round
            model.fit(Xd, yd)
        seconds = time.perf_counter() - start
        spent += seconds
        trace.add(seconds, model.coef_.ravel().copy(), float(model.intercept_[0]),
                  model.history_["gap"][-1])
        trace.iterations = f"{k} epochs"
        if spent > budget:
            break
    trace.total = trace.points[-1][0]
    return trace


@contextlib.contextmanager
def recording(solver, trace, start, budget):
    """Record dask-glm's iterates as the solver makes them: scipy L-BFGS's
    callback, ADMM's z-update, Newton's new beta; stop past the budget."""
    import dask_glm.algorithms as algorithms
    import dask_glm.regularizers as regularizers

    def keep(beta):
        seconds = time.perf_counter() - start[0]
        beta = np.asarray(beta, dtype=np.float64).copy()
        trace.add(seconds, beta[:-1], float(beta[-1]))
        if seconds > budget:
            raise OverBudget

    patches = []
    if solver == "lbfgs":
        original = algorithms.fmin_l_bfgs_b

        def lbfgs(*args, **kwargs):
            return original(*args, callback=keep, **kwargs)
        patches.append((algorithms, "fmin_l_bfgs_b", original, lbfgs))
    elif solver == "admm":
        original = regularizers.L2.proximal_operator

        def prox(self, beta, t):
            z = original(self, beta, t)
            keep(z)
            return z
        patches.append((regularizers.L2, "proximal_operator", original, prox))
    elif solver == "newton":
        original = algorithms.dot

        def dot(A, B):
            if isinstance(B, np.ndarray) and B.ndim == 1:
                keep(B)
            return original(A, B)
        patches.append((algorithms, "dot", original, dot))
    for owner, name, _, new in patches:
        setattr(owner, name, new)
    try:
        yield
    finally:
        for owner, name, old, _ in patches:
            setattr(owner, name, old)


def dask_ml_trace(solver, Xd, yd, n, budget):
    from dask_ml.linear_model import LogisticRegression

    kwargs = dict(solver=solver, C=1.0 / (ALPHA * n), max_iter=10_000, tol=1e-14)
    if solver == "admm":
        kwargs["solver_kwargs"] = {"abstol": 1e-14, "reltol": 1e-14}
    note = {"newton": "no penalty: dask-ml drops it for newton",
            "admm": "dask-ml's default solver"}.get(solver, "")
    trace = Trace(f"dask-ml {solver}", note)
    start = [0.0]
    model = LogisticRegression(**kwargs)
    with recording(solver, trace, start, budget):
        start[0] = time.perf_counter()
        try:
            model.fit(Xd, yd)
            trace.add(time.perf_counter() - start[0], np.asarray(model.coef_).ravel(),
                      float(model.intercept_))
        except OverBudget:
            trace.note = (trace.note + "; " if trace.note else "") + \
                f"stopped at the {budget:.0f} s budget"
    trace.total = time.perf_counter() - start[0]
    trace.iterations = f"{len(trace.points)} iterates"
    return trace


def sklearn_trace(X, y):
    from sklearn.linear_model import LogisticRegression

    trace = Trace("scikit-learn lbfgs (in memory)", "default tol=1e-4, for scale")
    model = LogisticRegression(C=1.0 / (ALPHA * X.shape[0]), max_iter=10_000)
    start = time.perf_counter()
    model.fit(X, y)
    trace.total = time.perf_counter() - start
    trace.add(trace.total, model.coef_.ravel(), float(model.intercept_[0]))
    trace.iterations = f"{int(model.n_iter_[0])} iterations"
    return trace


def cell(seconds):
    return "not reached" if seconds is None else fmt_time(seconds)


def run(args):
    import distributed

    import descend
    import descend.dask as ddk

    size = QUICK if args.quick else FULL
    n = args.n_samples or size["n_samples"]
    p = args.n_features or size["n_features"]
    chunks = args.chunks or size["chunks"]
    budget = args.budget or size["budget"]
    load = OtherLoad()
    info = machine(args.workers)
    print("Machine:")
    for key, value in info.items():
        print(f"  {key}: {value}")
    print(f"Data: {n:,} x {p} float64 in {chunks} chunks "
          f"({n * p * 8 / 1e6:,.0f} MB), alpha={ALPHA}", flush=True)
    X, y, _ = make_data(n, p)
    traces = []

    reference = descend.LogisticRegression(alpha=ALPHA, tol=1e-12, max_iter=10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it may stop at working precision first
        reference.fit(X, y)
    memory, _ = best_descend_trace(
        args.repeats, "descend in memory", lambda cb: descend.LogisticRegression(
            alpha=ALPHA, tol=1e-6, callback=cb), X, y,
        f"all cores, tol=1e-6 (certified), best of {args.repeats}")
    traces.append(memory)
    try:
        traces.append(sklearn_trace(X, y))
    except Exception as exc:  # pragma: no cover - scale only
        print(f"  scikit-learn skipped: {exc}")

    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        Xd, yd = scatter_blocks(client, X, y, chunks)
        # warm-up: imports and first calls on the workers, for every library
        small = slice(0, min(n, 4 * chunks * 100))
        ddk.LogisticRegression(alpha=ALPHA).fit(Xd[small], yd[small])
        exact, model = best_descend_trace(
            args.repeats, "descend.dask exact", lambda cb: ddk.LogisticRegression(
                alpha=ALPHA, tol=1e-6, callback=cb), Xd, yd,
            f"Newton (the in-memory default) over exact passes, tol=1e-6 (certified), "
            f"best of {args.repeats}")
        traces.append(exact)
        traces.append(local_sgd_trace(Xd, yd, QUICK_LOCAL_EPOCHS if args.quick
                                      else LOCAL_EPOCHS, budget))
        try:
            import dask_ml  # noqa: F401
        except ImportError:
            print("  dask-ml is not installed: its solvers are skipped "
                  "(pip install dask-ml)", flush=True)
        else:
            from dask_ml.linear_model import LogisticRegression as DaskMLLogistic
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                DaskMLLogistic(solver="lbfgs", max_iter=2).fit(Xd[small], yd[small])
                for solver in args.solvers:
                    print(f"  dask-ml {solver} ...", flush=True)
                    traces.append(dask_ml_trace(solver, Xd, yd, n, budget))
    finally:
        client.close()
        cluster.close()

    objectives = [t.evaluate(X, y) for t in traces]
    f_star = min([log_objective(X, y, reference.coef_[0], reference.intercept_[0], ALPHA)]
                 + [np.nanmin(o) for o in objectives if np.isfinite(o).any()])
    for trace, objective in zip(traces, objectives):
        trace.gaps = (objective - f_star) / f_star
    return report(traces, info, load, n, p, chunks, budget)


def report(traces, info, load, n, p, chunks, budget):
    by_name = {t.name: t for t in traces}
    head = ("| Method | to 1e-3 | to 1e-6 | certified 1e-3 | certified 1e-6 | final gap "
            "| whole fit | work | note |")
    lines = [head, "|" + "---|" * 9]
    for t in traces:
        certified = [t.time_to(level, True) for level in LEVELS]
        has_cert = any(not np.isnan(c) for *_, c in t.points)
        lines.append("| " + " | ".join([
            t.name, *(cell(t.time_to(level, False)) for level in LEVELS),
            *((cell(c) for c in certified) if has_cert else ("-", "-")),
            f"{t.final_gap():.1e}", fmt_time(t.total), t.iterations, t.note]) + " |")
    notes = []
    exact = by_name.get("descend.dask exact")
    memory = by_name.get("descend in memory")
    rivals = [t for t in traces if t.name.startswith("dask-ml")]
    for level in LEVELS:
        ours = exact.time_to(level, True) if exact else None
        best = min((t.time_to(level, False) for t in rivals
                    if t.time_to(level, False) is not None), default=None)
        best_name = next((t.name for t in rivals if t.time_to(level, False) == best), None)
        if ours is not None and best is not None:
            ratio = best / ours
            notes.append(f"to {level:g}: descend.dask exact (certified) {fmt_time(ours)} vs "
                         f"the best dask-ml solver ({best_name}) {fmt_time(best)}: "
                         f"{ratio:.1f}x faster (target >= 10x: "
                         f"{'PASS' if ratio >= 10 else 'MISS'})")
        elif ours is not None and rivals:
            notes.append(f"to {level:g}: descend.dask exact (certified) {fmt_time(ours)}; no "
                         f"dask-ml solver reached it within the {budget:.0f} s budget")
        if ours is not None and memory is not None and memory.time_to(level, True):
            ratio = ours / memory.time_to(level, True)
            notes.append(f"to {level:g}: descend.dask exact / descend in memory = "
                         f"{ratio:.2f} (target <= 2: {'PASS' if ratio <= 2 else 'MISS'})")
    other = load.describe()
    if other:
        notes.append(f"CPU used by other processes: {other}")
    print()
    print("\n".join(lines))
    for note in notes:
        print(f"- {note}")
    return info, lines, notes, (n, p, chunks)


def render(info, lines, notes, size, command):
    n, p, chunks = size
    out = [BEGIN, "<!-- Generated by benchmarks/dask_compare.py; edits inside these "
           "markers are overwritten. -->", "", "### Latest run", "",
           f"Command: `{command}`", ""]
    out += [f"- **{key}:** {value}" for key, value in info.items()]
    out += [f"- **Data:** {n:,} x {p} float64 in {chunks} chunks, alpha={ALPHA}", "",
            *lines, ""]
    out += [f"- {note}" for note in notes]
    out += ["", "Gaps are relative, (F - F*)/F*. \"to\": the first iterate whose true gap "
            "is at most the level; \"certified\": the first whose duality-gap "
            "certificate proves it (descend only). Times are from the call of fit.", END]
    return "\n".join(out)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: {QUICK['n_samples']:,} x {QUICK['n_features']}")
    parser.add_argument("--n-samples", type=int, default=None, metavar="N")
    parser.add_argument("--n-features", type=int, default=None, metavar="P")
    parser.add_argument("--chunks", type=int, default=None, help="row chunks (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="descend's fits (in memory, exact) are the best of this many "
                             "(default 3); every other method runs once")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds each dask-ml solver may run (default 300; 5 quick)")
    parser.add_argument("--solvers", type=lambda s: s.split(","),
                        default=["lbfgs", "admm", "newton"],
                        help="dask-ml solvers, comma-separated (default lbfgs,admm,newton)")
    parser.add_argument("--write", metavar="PATH",
                        help="also write the result into PATH between the dask markers")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    info, lines, notes, size = run(args)
    if args.write:
        command = "python benchmarks/dask_compare.py " + " ".join(
            sys.argv[1:] if argv is None else argv)
        write_section(args.write, render(info, lines, notes, size, command.strip()),
                      BEGIN, END)
        print(f"written to {args.write}")


if __name__ == "__main__":
    main()
