#!/usr/bin/env python
"""Time to the optimum, honestly: every method with its defaults or a
stopping rule a user would set (a tol), whole fit() against whole fit(),
in one run.

    python benchmarks/convergence.py                         # every data set, print
    python benchmarks/convergence.py --write BENCHMARKS.md   # ... and record it
    python benchmarks/convergence.py --quick                 # small sizes, seconds
    python benchmarks/convergence.py --only synthetic sparse

Problems (L2-penalised logistic regression, objective mean log loss +
alpha/2 ||w||^2, unpenalised intercept; multinomial for digits):
scikit-learn's breast cancer (standardised, alpha 1e-4) and digits
(standardised, alpha 1e-4), the synthetic 500,000 x 100 float64 problem
(harness/problem.py, alpha 1e-4) and the 1,000,000 x 2^20 CSR problem
(harness/sparse.py, 50 nonzeros per row, alpha 1e-6).

Rules of the game:

* Each method runs with its defaults, or at a few settings of its own
  tolerance (a user's knob, set without knowing the optimum); nothing
  stops a fit from outside.  The time is the whole fit(), input
  validation included (best of --repeats runs).
* The gap of a fit is (F - F*) / F*, F evaluated exactly in NumPy at its
  coefficients; F* is the smallest objective reached by any fit here,
  scikit-learn's lbfgs at tol 1e-10 and descend at tol 1e-12 included.
* "Time to 1e-3" / "to 1e-6": the fastest of a method's runs whose gap at
  stop is at most that; for descend, the run with tol=1e-3 / 1e-6 (its
  certificate guarantees the gap, the table shows the true one).  A method
  none of whose runs gets there shows "-".
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.machine import machine_description, openmp_threads  # noqa: E402
from harness.problem import make_data  # noqa: E402
from harness.report import write_section  # noqa: E402
from harness.sparse import make_sparse_data  # noqa: E402
from harness.timing import fmt_time  # noqa: E402

import descend  # noqa: E402

MARK_BEGIN = "<!-- convergence:begin -->"
MARK_END = "<!-- convergence:end -->"
TARGETS = (1e-3, 1e-6)
GLUM_MAX_FEATURES = 4096


# --------------------------------------------------------------------------
# problems

class Problem:
    def __init__(self, name, X, y, alpha, description):
        self.name, self.X, self.y, self.alpha = name, X, y, alpha
        self.description = description
        self.classes = np.unique(y)
        self.multinomial = len(self.classes) > 2

    def objective(self, coef, intercept):
        X = self.X
        W = np.atleast_2d(np.asarray(coef, dtype=np.float64).toarray()
                          if hasattr(coef, "toarray") else np.asarray(coef, dtype=np.float64))
        b = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
        Z = np.asarray(X @ W.T) + b
        if self.multinomial:
            index = np.searchsorted(self.classes, self.y)
            loss = logsumexp(Z, axis=1) - Z[np.arange(len(self.y)), index]
        else:
            z = Z[:, 0]
            loss = np.logaddexp(0.0, z) - self.y * z
        return float(loss.mean() + 0.5 * self.alpha * float((W * W).sum()))


def problems(quick, only):
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.preprocessing import StandardScaler

    out = []
    if not only or "breast_cancer" in only:
        X, y = load_breast_cancer(return_X_y=True)
        out.append(Problem("breast_cancer", StandardScaler().fit_transform(X), y.astype(float),
                           1e-4, "569 x 30, standardised, alpha 1e-4"))
    if not only or "digits" in only:
        X, y = load_digits(return_X_y=True)
        out.append(Problem("digits", StandardScaler().fit_transform(X), y, 1e-4,
                           "1,797 x 64, 10 classes (multinomial), standardised, alpha 1e-4"))
    if not only or "synthetic" in only:
        n, p = (50_000, 100) if quick else (500_000, 100)
        X, y, _ = make_data(n, p)
        out.append(Problem("synthetic", X, y, 1e-4,
                           f"{n:,} x {p} float64, standardised, alpha 1e-4"))
    if not only or "sparse" in only:
        n, p, nnz = (50_000, 1 << 16, 20) if quick else (1_000_000, 1 << 20, 50)
        X, y = make_sparse_data(n, p, nnz)
        out.append(Problem("sparse", X, y, 1e-6,
                           f"{n:,} x 2^{p.bit_length() - 1} CSR, {nnz} nonzeros per row, "
                           f"alpha 1e-6"))
    return out


# --------------------------------------------------------------------------
# methods: (label, family, factory(problem) -> estimator)

def _C(problem):
    return 1.0 / (problem.alpha * problem.X.shape[0])


def methods(problem):
    from sklearn.linear_model import LogisticRegression as SkLR
    from sklearn.linear_model import SGDClassifier as SkSGD

    a = problem.alpha
    # what optimizer="auto" runs here: Newton's method on dense binary
    # problems (L2 penalty, <= 256 coefficients), L-BFGS otherwise
    dense_binary = not sp.issparse(problem.X) and not problem.multinomial
    auto = "newton" if dense_binary else "lbfgs"
    out = [(f"descend {auto}, tol=1e-3", "descend", lambda: descend.LogisticRegression(
               alpha=a, tol=1e-3)),
           (f"descend {auto}, default (tol=1e-6)", "descend",
            lambda: descend.LogisticRegression(alpha=a))]
    if dense_binary:  # L-BFGS, which auto runs elsewhere, for comparison
        out += [("descend lbfgs, tol=1e-3", "descend lbfgs", lambda: descend.LogisticRegression(
                    alpha=a, tol=1e-3, optimizer="lbfgs")),
                ("descend lbfgs, tol=1e-6", "descend lbfgs", lambda: descend.LogisticRegression(
                    alpha=a, optimizer="lbfgs"))]
    out.append(("descend saga (batch_size=1), default (tol=1e-3)", "descend stochastic",
                lambda: descend.LogisticRegression(alpha=a, batch_size=1, random_state=0)))
    for tol in (1e-4, 1e-6, 1e-8):
        label = "default (tol=1e-4)" if tol == 1e-4 else f"tol={tol:g}"
        out.append((f"sklearn lbfgs, {label}", "sklearn lbfgs",
                    lambda tol=tol: SkLR(C=_C(problem), tol=tol, max_iter=10_000)))
    out.append(("sklearn newton-cg, default", "sklearn newton-cg",
                lambda: SkLR(C=_C(problem), solver="newton-cg")))
    out.append(("sklearn saga, default", "sklearn saga",
                lambda: SkLR(C=_C(problem), solver="saga")))
    if not problem.multinomial:
        out.append(("sklearn SGDClassifier(log_loss), default", "sklearn SGD",
                    lambda: SkSGD(loss="log_loss", alpha=a, random_state=0)))
        glum = _glum()
        # glum's IRLS forms the dense p x p Hessian: 2^20 features would need
        # 8 TiB (2^16: 32 GiB), so it runs on the dense problems only
        if glum is not None and problem.X.shape[1] <= GLUM_MAX_FEATURES:
            for tol in (1e-4, 1e-8):
                label = "default" if tol == 1e-4 else f"gradient_tol={tol:g}"
                out.append((f"glum, {label}", "glum",
                            lambda tol=tol: glum.GeneralizedLinearRegressor(
                                family="binomial", alpha=a, l1_ratio=0.0, gradient_tol=tol,
                                max_iter=1000)))
    return out


def _glum():
    try:
        import glum
    except ImportError:
        return None
    return glum


def _repeats(problem, repeats):
    """Best of ``repeats`` for small problems, of 2 for the dense synthetic
    one (a first fit pays for page faults and thread start-up), one fit for
    the 1,000,000-row CSR problem (minutes per baseline)."""
    if problem.X.shape[0] < 200_000:
        return repeats
    return 1 if sp.issparse(problem.X) else min(2, repeats)


def timed_fit(make, problem, repeats):
    best, model = np.inf, None
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(problem.X, problem.y)
        best = min(best, time.perf_counter() - start)
    return best, model


def reference_optimum(problem):
    """The tight references: scikit-learn's lbfgs at tol 1e-10 and
    descend's lbfgs at tol 1e-12."""
    from sklearn.linear_model import LogisticRegression as SkLR

    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkLR(C=_C(problem), tol=1e-10, max_iter=100_000).fit(problem.X, problem.y)
        values.append(problem.objective(sk.coef_, sk.intercept_))
        d = descend.LogisticRegression(alpha=problem.alpha, tol=1e-12, max_iter=5000).fit(
            problem.X, problem.y)
        values.append(problem.objective(d.coef_, d.intercept_))
    return min(values)


def run_problem(problem, repeats, quick):
    print(f"\n== {problem.name}: {problem.description}", flush=True)
    rows = []
    for label, family, make in methods(problem):
        seconds, model = timed_fit(make, problem, _repeats(problem, repeats))
        objective = problem.objective(model.coef_, model.intercept_)
        certified = getattr(model, "converged_", None)
        if not label.startswith("descend"):
            certified = None
        rows.append(dict(label=label, family=family, seconds=seconds, objective=objective,
                         certified=certified))
        print(f"  {label:48s} {fmt_time(seconds):>9s}  objective {objective:.10f}", flush=True)
    optimum = min([reference_optimum(problem)] + [r["objective"] for r in rows])
    for row in rows:
        row["gap"] = max(0.0, (row["objective"] - optimum) / optimum)
    return optimum, rows


def time_to(rows, family, target):
    times = [r["seconds"] for r in rows if r["family"] == family and r["gap"] <= target]
    return min(times) if times else None


def render(problem, optimum, rows):
    lines = [f"#### {problem.name}: {problem.description}", "",
             "| method | fit time | relative gap at stop | certified |",
             "|---|---|---|---|"]
    for r in rows:
        cert = "" if r["certified"] is None else ("yes" if r["certified"] else "no")
        lines.append(f"| {r['label']} | {fmt_time(r['seconds'])} | {r['gap']:.1e} | {cert} |")
    lines += ["", "| time to a gap of | " + " | ".join(f"{t:g}" for t in TARGETS) + " |",
              "|---|" + "---|" * len(TARGETS)]
    families = []
    for r in rows:
        if r["family"] not in families:
            families.append(r["family"])
    best_descend = {t: time_to(rows, "descend", t) for t in TARGETS}
    for family in families:
        cells = []
        for t in TARGETS:
            tt = time_to(rows, family, t)
            cell = "-" if tt is None else fmt_time(tt)
            if tt is not None and family != "descend" and best_descend[t]:
                cell += f" ({tt / best_descend[t]:.1f}x descend)"
            cells.append(cell)
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    if problem.X.shape[1] > GLUM_MAX_FEATURES and not problem.multinomial:
        lines += ["", f"glum is not run here: its IRLS solver forms the dense "
                  f"{problem.X.shape[1]:,} x {problem.X.shape[1]:,} Hessian "
                  f"({problem.X.shape[1] ** 2 * 8 / 2**30:,.0f} GiB)."]
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--only", nargs="*", default=[],
                        choices=["breast_cancer", "digits", "synthetic", "sparse"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", metavar="BENCHMARKS.md", default=None)
    args = parser.parse_args(argv)
    machine = machine_description(openmp_threads())
    print("Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()), flush=True)
    sections = []
    for problem in problems(args.quick, args.only):
        optimum, rows = run_problem(problem, args.repeats, args.quick)
        text = render(problem, optimum, rows)
        print("\n" + text, flush=True)
        sections.append(text)
    if args.write:
        command = "python benchmarks/convergence.py" + (" --quick" if args.quick else "") + (
            " --only " + " ".join(args.only) if args.only else "")
        body = [MARK_BEGIN, "<!-- Generated by benchmarks/convergence.py; edits inside these "
                "markers are overwritten. -->", "", f"Command: `{command}`", ""]
        body += [f"- **{k}:** {v}" for k, v in machine.items()] + [""] + sections + [MARK_END]
        write_section(args.write, "\n".join(body), MARK_BEGIN, MARK_END)
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
