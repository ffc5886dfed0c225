"""descend bench: descend's whole fit against scikit-learn's whole fit, on
this machine, on a problem made on the spot.

Two pairs, each side stopping by its own default rule: descend's
LogisticRegression() against scikit-learn's LogisticRegression with the
same penalty (descend minimises mean log loss + alpha/2 ||w||^2, which is
scikit-learn's objective with C = 1/(alpha * n_samples)), and descend's
SGDClassifier(loss="log_loss") against scikit-learn's, with the same
settings. Each side's objective is computed here, in NumPy, from the
coefficients its fit returned. (The benchmark suite and the detailed
comparison live in the repository's benchmarks/ folder.)
"""
from __future__ import annotations

import math
import os
import platform
import time
import warnings

import numpy as np

from ._args import CLIError, HelpFormatter, positive_int
from ._machine import blas_description, cpu_model, openmp_threads, usable_cpus

#: (rows, features, nonzeros per row) by (--sparse, --quick)
SIZES = {(False, False): (100_000, 100, None), (False, True): (20_000, 20, None),
         (True, False): (100_000, 1 << 18, 50), (True, True): (20_000, 1 << 14, 20)}
#: a fit shorter than this (seconds) mostly measures fixed costs
MEANINGFUL_SECONDS = 0.02


def add_parser(commands):
    bench = commands.add_parser(
        "bench", help="time descend's fit against scikit-learn's on this machine",
        formatter_class=HelpFormatter, description=__doc__.split("\n\n")[1],
        epilog="examples:\n  descend bench --quick              # seconds: a smoke test\n"
               "  descend bench                      # 100,000 x 100 dense\n"
               "  descend bench --sparse --rows 1000000 --features 1048576 --nnz 50")
    bench.add_argument("--quick", action="store_true",
                       help="a small problem that runs in seconds (20,000 x 20 dense, "
                            "or 20,000 x 16,384 sparse) unless --rows or --features say "
                            "otherwise")
    bench.add_argument("--sparse", action="store_true",
                       help="a CSR problem (positive values at random columns, rows of "
                            "unit norm, like hashed text features) instead of dense "
                            "standardised features")
    bench.add_argument("--rows", type=positive_int, default=None, metavar="N",
                       help="rows of the problem (default: 100,000; --quick 20,000)")
    bench.add_argument("--features", type=positive_int, default=None, metavar="P",
                       help="features (default: 100 dense, 262,144 sparse; --quick 20 "
                            "dense, 16,384 sparse)")
    bench.add_argument("--nnz", type=positive_int, default=None, metavar="K",
                       help="with --sparse: nonzeros per row (default: 50; --quick 20)")
    bench.add_argument("--repeats", type=positive_int, default=3, metavar="R",
                       help="fits per side; the fastest counts (default: 3)")
    bench.set_defaults(run=run)
    return bench


# --------------------------------------------------------------------------
# the problem, the fits, the objective


def _problem(n, p, nnz, seed=0):
    """X and 0/1 labels drawn from a logistic model with a random w."""
    rng = np.random.default_rng(seed)
    if nnz is None:
        X = rng.standard_normal((n, p))
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        margin = X @ (rng.standard_normal(p) * 2.0 / math.sqrt(p)) + 0.25
    else:
        from scipy import sparse
        from sklearn.preprocessing import normalize

        columns = rng.integers(0, p, size=n * nnz, dtype=np.int32)
        X = sparse.csr_matrix((rng.random(n * nnz) + 0.1, columns,
                               np.arange(0, n * nnz + 1, nnz)), shape=(n, p))
        X.sum_duplicates()
        X = normalize(X)
        margin = X @ (rng.standard_normal(p) * 3.0)
    y = (margin + rng.logistic(size=n) > 0).astype(np.float64)
    return X, y


def _objective(X, y, model, alpha):
    """mean log loss + alpha/2 ||w||^2 at the model's coefficients."""
    w = np.ravel(model.coef_).astype(np.float64)
    z = X @ w + float(np.ravel(model.intercept_)[0])
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * alpha * (w @ w))


def _best_fit(estimator, X, y, repeats):
    """(fastest seconds, the fitted estimator, whether it warned that it did
    not converge)."""
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    best = math.inf
    for _ in range(repeats):
        model = clone(estimator)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X, y)
            best = min(best, time.perf_counter() - start)
    return best, model, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _check_size(n, p, nnz):
    if n < 10:
        raise CLIError(f"--rows must be at least 10 (both classes must appear), got {n}")
    if nnz is not None and nnz > p:
        raise CLIError(f"--nnz {nnz} is more than --features {p}")
    need = 3 * 8 * n * (p if nnz is None else 2 * nnz)  # X and its temporaries
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > memory / 2:
        raise CLIError(f"--rows {n:,} and --features {p:,} need about {need / 1e9:.1f} GB "
                       f"to generate, more than half of this machine's "
                       f"{memory / 1e9:.1f} GB; choose a smaller size")


def _pairs(n):
    """(title, alpha, (name, estimator) of descend, of scikit-learn) per pair."""
    from sklearn import linear_model as sk

    from .. import LogisticRegression, SGDClassifier

    full_batch, sgd = LogisticRegression(), SGDClassifier(loss="log_loss", random_state=0)
    C = 1.0 / (full_batch.alpha * n)
    settings = dict(loss="log_loss", alpha=sgd.alpha, random_state=0)
    return [(f"LogisticRegression, alpha={full_batch.alpha:g} (scikit-learn: "
             f"C = 1/(alpha*n) = {C:.4g})", full_batch.alpha,
             ("LogisticRegression()", full_batch),
             (f"LogisticRegression(C={C:.4g})", sk.LogisticRegression(C=C))),
            (f"SGDClassifier, loss='log_loss', alpha={sgd.alpha:g}, random_state=0",
             sgd.alpha, ("SGDClassifier(loss='log_loss')", sgd),
             ("SGDClassifier(loss='log_loss')", sk.SGDClassifier(**settings)))]


def run(args):
    import sklearn

    from .. import __version__

    if args.nnz is not None and not args.sparse:
        raise CLIError("--nnz applies to --sparse only")
    n, p, nnz = SIZES[args.sparse, args.quick]
    n, p, nnz = args.rows or n, args.features or p, args.nnz or nnz
    _check_size(n, p, nnz)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"descend bench: whole fit against whole fit (input checks included), fastest "
          f"of {args.repeats}; objective: mean log loss + alpha/2 ||w||^2\n"
          f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs ({usable_cpus()} usable), "
          f"load average {load}\n"
          f"threads: descend {openmp_threads()} (OpenMP); scikit-learn: SGDClassifier 1, "
          f"LogisticRegression through BLAS\nBLAS: {blas_description()}\n"
          f"versions: descend {__version__}, scikit-learn {sklearn.__version__}, numpy "
          f"{np.__version__}, Python {platform.python_version()}", flush=True)
    X, y = _problem(n, p, nnz)
    kind = ("dense float64, standardised" if nnz is None else
            f"CSR float64, {X.nnz / n:.1f} nonzeros per row, rows of unit norm")
    print(f"data: {n:,} x {p:,} {kind}; 0/1 labels from a logistic model (seed 0)")
    shortest = math.inf
    for title, alpha, *sides in _pairs(n):
        print(f"\n{title}")
        seconds, objective = [], []
        for side, (name, estimator) in zip(("descend", "scikit-learn"), sides):
            best, model, warned = _best_fit(estimator, X, y, args.repeats)
            seconds.append(best)
            objective.append(_objective(X, y, model, alpha))
            print(f"  {side:12s} {name:31s} {best:8.4f} s  objective {objective[-1]:.10f}  "
                  f"n_iter_ {int(np.max(model.n_iter_))}"
                  + (" (max_iter reached)" if warned else ""), flush=True)
        shortest = min(shortest, *seconds)
        gap = objective[0] / objective[1] - 1
        print(f"  ratio (scikit-learn time / descend time): {seconds[1] / seconds[0]:.2f}; "
              f"descend's objective {gap:+.2e} relative to scikit-learn's")
        if abs(gap) > 1e-3:
            print(f"  note: the two fits stopped {abs(gap):.2%} apart in objective, so "
                  f"these times are not for the same accuracy")
    if shortest < MEANINGFUL_SECONDS:
        print(f"\nnote: at this size a fit took {shortest * 1e3:.1f} ms, under "
              f"{MEANINGFUL_SECONDS * 1e3:.0f} ms: fixed costs (input checks, thread "
              f"start-up, the timer) weigh as much as the training, so these ratios say "
              f"little about larger data; choose a bigger --rows and --features")
    return 0
