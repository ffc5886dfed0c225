"""Compare descend's epoch times with the machine's read bandwidth, NumPy,
scikit-learn, PyTorch and plain Python, in one run.

Run by ``descend bench`` and by ``benchmarks/compare.py`` (a thin wrapper,
kept for the repository's documented command)::

    descend bench                           # 500,000 x 100, print
    descend bench --quick                   # smoke test, seconds
    python benchmarks/compare.py --write BENCHMARKS.md  # ... and record it

Every comparison trains the same model (L2-penalised logistic regression,
objective mean log loss + alpha/2 ||w||^2, unpenalised intercept) on the same
synthetic, standardised float64 data with a fixed numeric step size, so the
work per epoch is the same on both sides:

* descend's epoch time is read from ``history_["seconds"]`` (measured around
  the compiled kernel): the median over several epochs of one fit.
* Reference implementations are timed with ``time.perf_counter`` (best of a
  few runs), each with the same thread count where it has a knob.

Optional and heavy dependencies (PyTorch, threadpoolctl, scikit-learn's
SGDClassifier) are imported inside the functions that use them, so importing
this module costs no more than importing descend.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import platform
import random
import re
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from . import LinearRegression, LogisticRegression, __version__
from .cli import _positive_int

__all__ = [
    "ALPHA", "MARK_BEGIN", "MARK_END", "Report", "Row", "TARGETS", "add_arguments",
    "available_threads", "best_time", "blas_description", "machine_description", "blas_threads", "busy_ticks",
    "cpu_model", "descend_fit", "epoch_times", "fmt_ratio", "fmt_time", "log_objective", "main",
    "make_data", "measure_read_bandwidth", "median_epoch", "numpy_full_batch",
    "python_per_sample", "render_section", "resolve_sizes", "run", "sklearn_sgd",
    "torch_minibatch", "try_import_torch", "verdict", "write_section",
]

#: Sizes of a full run and of ``--quick`` (rows, features).
FULL_SIZE = (500_000, 100)
QUICK_SIZE = (20_000, 20)

MARK_BEGIN = "<!-- compare:begin -->"
MARK_END = "<!-- compare:end -->"

ALPHA = 1e-4
ETA_FULL = 1.0      # full batch, logistic (L ~ 0.25 * lambda_max ~ 0.26)
ETA_FULL_SQ = 0.5   # full batch, squared loss (L ~ lambda_max ~ 1)
ETA_SAMPLE = 0.01   # per-sample SGD
ETA_MINI = 0.1      # mini-batch SGD
MINI_BATCH = 32

TARGETS = {
    "bandwidth": 0.75,  # fraction of the measured read bandwidth
    "numpy": 3.0,
    "sklearn": 3.0,
    "torch": 50.0,
    "python": 500.0,
}


# --------------------------------------------------------------------------
# helpers


def best_time(fn, repeats):
    """Smallest wall time of ``repeats`` calls of fn()."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def epoch_times(model):
    """Per-epoch seconds of a fitted descend model (kernel time only)."""
    return np.diff(model.history_["seconds"], prepend=0.0)


def median_epoch(model):
    return float(np.median(epoch_times(model)))


def fmt_time(seconds):
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_ratio(ratio):
    return f"{ratio:.3g}x" if ratio < 100 else f"{ratio:,.0f}x"


def verdict(value, target):
    return "PASS" if value >= target else "MISS"


def available_threads():
    """The thread count descend uses for n_jobs=None (OpenMP's maximum)."""
    try:
        from ._validation import resolve_n_threads
        return int(resolve_n_threads(None))
    except Exception:  # private helper moved: fall back to the CPU set
        return len(os.sched_getaffinity(0))


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not blas:
        return "none found by threadpoolctl"
    return "; ".join(
        f"{info.get('prefix')} {info.get('version')} "
        f"({info.get('architecture', '?')}, {info.get('num_threads')} threads)"
        for info in blas)


def blas_threads(n):
    """Context limiting BLAS to n threads (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def try_import_torch():
    try:
        import torch
    except Exception:
        return None
    return torch


# --------------------------------------------------------------------------
# data


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


# --------------------------------------------------------------------------
# measurements


def measure_read_bandwidth(n_bytes, repeats):
    """GB/s of numpy.dot(a, a) over a float64 array of n_bytes (bytes read
    once per call / best time)."""
    a = np.ones(n_bytes // 8)
    a.dot(a)  # fault the pages in, warm the BLAS threads
    seconds = best_time(lambda: np.dot(a, a), repeats)
    nbytes = a.nbytes
    del a
    gc.collect()
    return nbytes, nbytes / seconds / 1e9


def numpy_full_batch(X, y, epochs, threads):
    """Gradient descent epochs in NumPy; returns (best epoch time, w, b)."""
    n, p = X.shape
    w = np.zeros(p)
    b = 0.0
    times = []
    with blas_threads(threads):
        for _ in range(epochs):
            start = time.perf_counter()
            z = X @ w + b
            r = expit(z) - y
            g = X.T @ r / n + ALPHA * w
            gb = r.mean()
            w -= ETA_FULL * g
            b -= ETA_FULL * gb
            times.append(time.perf_counter() - start)
    return min(times), w, b


def descend_fit(cls, X, y, **params):
    params.setdefault("tol", None)
    params.setdefault("shuffle", True)
    params.setdefault("random_state", 0)
    return cls(alpha=ALPHA, **params).fit(X, y)


def sklearn_sgd(X, y, repeats):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    def fit():
        clf = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=1, tol=None,
                            learning_rate="constant", eta0=ETA_SAMPLE,
                            shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        return clf

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clf = fit()
        times.append(time.perf_counter() - start)
    return min(times), clf


def torch_minibatch(torch, X, y, rows, threads, repeats):
    """Seconds of one shuffled mini-batch SGD epoch over the first ``rows``
    rows with torch.optim.SGD (best of ``repeats``); returns (seconds, last
    loss)."""
    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X[:rows])          # no copy; float64 like descend
    yt = torch.from_numpy(y[:rows])
    p = X.shape[1]
    gen = torch.Generator().manual_seed(0)
    best = math.inf
    last = math.nan
    for rep in range(repeats + 1):           # the first run is a warm-up
        torch.manual_seed(0)
        model = torch.nn.Linear(p, 1, dtype=torch.float64)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        # L2 on the weights only: descend never penalises the intercept
        opt = torch.optim.SGD([
            {"params": [model.weight], "weight_decay": ALPHA},
            {"params": [model.bias], "weight_decay": 0.0},
        ], lr=ETA_MINI)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        n_rows = rows if rep else min(rows, 20 * MINI_BATCH)
        start = time.perf_counter()
        perm = torch.randperm(n_rows, generator=gen)
        for s in range(0, n_rows, MINI_BATCH):
            idx = perm[s:s + MINI_BATCH]
            xb = Xt.index_select(0, idx)
            yb = yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb).squeeze(1), yb)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        if rep:
            best = min(best, seconds)
            last = float(loss.detach())
    return best, last


def python_per_sample(X, y, rows, repeats):
    """Seconds of one shuffled per-sample SGD epoch over ``rows`` rows in
    plain Python (lists, floats, math.exp)."""
    X_list = X[:rows].tolist()
    y_list = y[:rows].tolist()
    p = len(X_list[0])

    def epoch():
        w = [0.0] * p
        b = 0.0
        decay = 1.0 - ETA_SAMPLE * ALPHA
        order = list(range(rows))
        random.Random(0).shuffle(order)
        for i in order:
            x = X_list[i]
            z = b
            for xj, wj in zip(x, w):
                z += xj * wj
            if z >= 0.0:
                sig = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                sig = e / (1.0 + e)
            step = ETA_SAMPLE * (sig - y_list[i])
            w = [decay * wj - step * xj for wj, xj in zip(w, x)]
            b -= step
        return w, b

    return best_time(epoch, repeats)


# --------------------------------------------------------------------------
# the run


@dataclass
class Row:
    name: str
    descend: str
    reference: str
    ratio: str
    target: str = ""
    status: str = ""


@dataclass
class Report:
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    machine: dict = field(default_factory=dict)

    def add(self, *args, index=None, **kwargs):
        row = Row(*args, **kwargs)
        self.rows.insert(len(self.rows) if index is None else index, row)
        print(f"  {row.name}: descend {row.descend} | ref {row.reference} | "
              f"{row.ratio} {row.target} {row.status}".rstrip(), flush=True)

    def note(self, text):
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def table(self):
        head = ["Measurement", "descend", "Reference", "Ratio", "Target", "Result"]
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join(["---"] * len(head)) + "|"]
        for r in self.rows:
            lines.append("| " + " | ".join(
                [r.name, r.descend, r.reference, r.ratio, r.target, r.status]) + " |")
        return "\n".join(lines)


def busy_ticks():
    """Machine-wide busy CPU ticks (USER_HZ) from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    return sum(fields[:3]) + sum(fields[5:8])


def machine_description(threads, torch=None):
    """What the run's numbers depend on: CPU, versions, BLAS, threads, load."""
    import sklearn

    return {
        "CPU": f"{cpu_model()} ({os.cpu_count()} logical CPUs, "
               f"{len(os.sched_getaffinity(0))} usable)",
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__ if torch is not None else "not installed",
        "descend": __version__,
        "BLAS (threadpoolctl)": blas_description(),
        "Threads used": f"{threads} (descend n_jobs, BLAS, torch.set_num_threads)",
        "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE":
            f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')} / "
            f"{os.environ.get('OPENBLAS_L2_SIZE', 'unset')}",
        "Load average before the run": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "Date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def run(args):
    """Measure everything; print progress lines; return the Report."""
    n, p = args.n_samples, args.n_features
    ticks0, own0, wall0 = busy_ticks(), os.times(), time.perf_counter()
    threads = available_threads()
    torch = try_import_torch()
    report = Report()
    quick = args.quick
    repeats = 2 if quick else 5
    fit_epochs = 5 if quick else 10

    report.machine = machine_description(threads, torch)
    print("Machine:")
    for key, value in report.machine.items():
        print(f"  {key}: {value}")
    print(f"Data: {n:,} x {p} float64, standardised, logistic labels, seed 0; "
          f"alpha={ALPHA}", flush=True)
    print("Results:")

    # 1. read bandwidth, before the data exists (keep peak memory low); it
    # is measured again at the end (after freeing the data), because on a
    # shared virtual machine it can change during a run.
    bw_bytes = (1 << 26) if quick else (1 << 30)
    nbytes, bw_start = measure_read_bandwidth(bw_bytes, repeats)
    print(f"  read bandwidth at the start: {bw_start:.1f} GB/s", flush=True)

    X, y, y_reg = make_data(n, p)
    data_gb = X.nbytes / 1e9

    # 2. full batch, logistic: bandwidth and NumPy
    descend_fit(LogisticRegression, X, y, eta0=ETA_FULL, max_iter=1,
                n_jobs=threads)  # warm-up (OpenMP pool, page cache)
    full = descend_fit(LogisticRegression, X, y, eta0=ETA_FULL,
                       max_iter=fit_epochs, n_jobs=threads)
    t_full = median_epoch(full)
    print(f"  full-batch logistic epoch: {fmt_time(t_full)} = "
          f"{data_gb / t_full:.1f} GB/s", flush=True)
    t_numpy, w_np, b_np = numpy_full_batch(X, y, fit_epochs, threads)
    ratio = t_numpy / t_full
    report.add(f"Full-batch epoch vs NumPy (`X@w`, expit, `X.T@r`; best of "
               f"{fit_epochs})", fmt_time(t_full), fmt_time(t_numpy),
               fmt_ratio(ratio), f">= {TARGETS['numpy']:g}x",
               verdict(ratio, TARGETS["numpy"]))
    diff = max(float(np.max(np.abs(full.coef_.ravel() - w_np))),
               abs(float(full.intercept_[0]) - b_np))
    report.note(f"full batch: after {fit_epochs} epochs descend and the NumPy "
                f"loop agree to max |coef difference| = {diff:.1e} "
                f"(the same algorithm, so only rounding should differ)")
    if threads > 1:
        one = descend_fit(LogisticRegression, X, y, eta0=ETA_FULL,
                          max_iter=fit_epochs, n_jobs=1)
        t_one = median_epoch(one)
        report.add("Full-batch logistic epoch, 1 thread (scaling reference)",
                   f"{fmt_time(t_one)} = {data_gb / t_one:.1f} GB/s", "",
                   f"{t_one / t_full:.2f}x speed-up with {threads} threads")
        del one

    # 3. per-sample SGD vs scikit-learn
    descend_fit(LogisticRegression, X, y, batch_size=1, eta0=ETA_SAMPLE,
                max_iter=1, n_jobs=threads)  # warm-up
    sgd = descend_fit(LogisticRegression, X, y, batch_size=1,
                      eta0=ETA_SAMPLE, max_iter=max(3, fit_epochs // 2),
                      n_jobs=threads)
    t_sgd = median_epoch(sgd)
    sk_repeats = 2 if quick else 3
    fits = []
    wall_sgd = best_time(lambda: fits.append(descend_fit(
        LogisticRegression, X, y, batch_size=1, eta0=ETA_SAMPLE,
        max_iter=1, n_jobs=threads)), sk_repeats)
    one_epoch = fits[-1]
    t_sk, clf = sklearn_sgd(X, y, sk_repeats)
    ratio = t_sk / t_sgd
    report.add("Per-sample SGD epoch vs scikit-learn `SGDClassifier(max_iter=1)` fit",
               fmt_time(t_sgd), fmt_time(t_sk), fmt_ratio(ratio),
               f">= {TARGETS['sklearn']:g}x", verdict(ratio, TARGETS["sklearn"]))
    ratio = t_sk / wall_sgd
    report.add("Per-sample SGD: descend `fit(max_iter=1)` wall time (with input "
               "validation) vs the same sklearn fit", fmt_time(wall_sgd),
               fmt_time(t_sk), fmt_ratio(ratio), f">= {TARGETS['sklearn']:g}x",
               verdict(ratio, TARGETS["sklearn"]))
    obj_d = log_objective(X, y, one_epoch.coef_.ravel(), float(one_epoch.intercept_[0]))
    obj_s = log_objective(X, y, clf.coef_.ravel(), float(clf.intercept_[0]))
    report.note(f"per-sample, objective after one epoch: descend {obj_d:.5f}, "
                f"scikit-learn {obj_s:.5f}")
    del sgd, fits, one_epoch, clf

    # 4. mini-batch SGD vs PyTorch
    mini = descend_fit(LogisticRegression, X, y, batch_size=MINI_BATCH,
                       eta0=ETA_MINI, max_iter=max(3, fit_epochs // 2),
                       n_jobs=threads)
    t_mini = median_epoch(mini)
    if torch is None:
        report.add(f"Mini-batch ({MINI_BATCH}) epoch vs PyTorch", fmt_time(t_mini),
                   "skipped (torch not installed)", "", f">= {TARGETS['torch']:g}x",
                   "n/a")
    else:
        rows = min(n, 100_000)
        t_rows, _ = torch_minibatch(torch, X, y, rows, threads,
                                    1 if quick else 3)
        t_torch = t_rows * n / rows
        ratio = t_torch / t_mini
        scaled = f", {rows:,} rows scaled x{n / rows:g}" if rows < n else ""
        report.add(f"Mini-batch ({MINI_BATCH}) epoch vs PyTorch `torch.optim.SGD` "
                   f"loop ({threads} threads{scaled})", fmt_time(t_mini),
                   fmt_time(t_torch), fmt_ratio(ratio), f">= {TARGETS['torch']:g}x",
                   verdict(ratio, TARGETS["torch"]))
    del mini

    # diagnostic: the same stochastic epochs visiting rows in order
    seq = {}
    for batch, eta in ((1, ETA_SAMPLE), (MINI_BATCH, ETA_MINI)):
        seq[batch] = median_epoch(descend_fit(
            LogisticRegression, X, y, batch_size=batch, eta0=eta,
            max_iter=3, shuffle=False, n_jobs=threads))
    report.note(f"diagnostic: with shuffle=False (rows in order) the per-sample "
                f"epoch takes {fmt_time(seq[1])} (shuffled {fmt_time(t_sgd)}) and "
                f"the mini-batch ({MINI_BATCH}) epoch {fmt_time(seq[MINI_BATCH])} "
                f"(shuffled {fmt_time(t_mini)}): the difference is the cost of "
                f"fetching rows in random order")

    # 5. per-sample vs pure Python
    rows = min(n, 2_000)
    t_rows = python_per_sample(X, y, rows, 3)
    t_python = t_rows * n / rows
    ratio = t_python / t_sgd
    report.add(f"Per-sample epoch vs pure Python loop ({rows:,} rows scaled "
               f"x{n / rows:g})", fmt_time(t_sgd), fmt_time(t_python),
               fmt_ratio(ratio), f">= {TARGETS['python']:g}x",
               verdict(ratio, TARGETS["python"]))

    # 6. squared loss, full batch, for reference
    lin = descend_fit(LinearRegression, X, y_reg, eta0=ETA_FULL_SQ,
                      max_iter=fit_epochs, n_jobs=threads)
    t_lin = median_epoch(lin)
    x_mb = X.nbytes / 1e6
    del X, y, y_reg, full, lin
    gc.collect()

    # 7. read bandwidth again; the fractions use the larger of the two
    _, bw_end = measure_read_bandwidth(bw_bytes, repeats)
    bandwidth = max(bw_start, bw_end)
    report.add(f"Read bandwidth: `numpy.dot(a, a)`, {nbytes / 1e9:.2f} GB float64, "
               f"best of {repeats}, at the start / end of the run", "",
               f"{bw_start:.1f} / {bw_end:.1f} GB/s", "", index=0)
    eff_bw = data_gb / t_full
    frac = eff_bw / bandwidth
    report.add(f"Full-batch logistic epoch, {threads} threads (X read once: "
               f"{x_mb:,.0f} MB)",
               f"{fmt_time(t_full)} = {eff_bw:.1f} GB/s",
               f"read bandwidth {bandwidth:.1f} GB/s", f"{frac:.0%} of bandwidth",
               f">= {TARGETS['bandwidth']:.0%}", verdict(frac, TARGETS["bandwidth"]),
               index=1)
    report.add(f"Full-batch LinearRegression epoch, {threads} threads (reference)",
               f"{fmt_time(t_lin)} = {data_gb / t_lin:.1f} GB/s", "",
               f"{data_gb / t_lin / bandwidth:.0%} of bandwidth")
    if max(bw_start, bw_end) > 1.25 * min(bw_start, bw_end):
        report.note(f"the read bandwidth changed during the run ({bw_start:.1f} -> "
                    f"{bw_end:.1f} GB/s): on a shared VM it can flip between two "
                    f"levels; fractions use the larger")

    ticks1, own1, wall = busy_ticks(), os.times(), time.perf_counter() - wall0
    if ticks0 is not None and ticks1 is not None:
        hz = os.sysconf("SC_CLK_TCK")
        own = (own1.user + own1.system) - (own0.user + own0.system)
        other = max(0.0, (ticks1 - ticks0) / hz - own)
        text = (f"{other / wall:.2f} cores on average over the {wall:.0f} s run "
                f"(machine-wide /proc/stat minus this process)")
        report.machine["CPU used by other processes"] = text
        print(f"  CPU used by other processes: {text}")
    return report


def render_section(report, command, begin=MARK_BEGIN, end=MARK_END):
    lines = [begin,
             "<!-- Generated by benchmarks/compare.py; edits inside these "
             "markers are overwritten. -->",
             "",
             "### Latest run", "",
             f"Command: `{command}`", ""]
    lines += [f"- **{key}:** {value}" for key, value in report.machine.items()]
    lines += ["", report.table(), ""]
    if report.notes:
        lines += [f"- {note}" for note in report.notes] + [""]
    lines += [
        "descend epoch times are the median of one fit's per-epoch "
        "`history_[\"seconds\"]` (kernel only); reference times are the best of "
        "a few runs (wall clock). scikit-learn's time is a whole "
        "`fit(max_iter=1)`, input validation included, hence the second "
        "per-sample row comparing whole fits.",
        end]
    return "\n".join(lines)


def write_section(path, section, begin=MARK_BEGIN, end=MARK_END):
    """Replace the text between the markers in ``path`` (or append it)."""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    else:
        text = "# Benchmarks\n\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


def add_arguments(parser):
    """The comparison's options, shared by ``descend bench`` and
    ``benchmarks/compare.py``."""
    parser.add_argument("--n-samples", type=_positive_int, default=None, metavar="N",
                        help=f"rows of the synthetic data (default: {FULL_SIZE[0]:,}; "
                             f"{QUICK_SIZE[0]:,} with --quick)")
    parser.add_argument("--n-features", type=_positive_int, default=None, metavar="P",
                        help=f"features of the synthetic data (default: {FULL_SIZE[1]}; "
                             f"{QUICK_SIZE[1]} with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke-test size (20,000 x 20, 64 MiB "
                             "bandwidth array) unless sizes are given")
    parser.add_argument("--sparse", action="store_true",
                        help="run the sparse case instead: per-sample log-loss SGD on a "
                             "1,000,000 x 2^20 CSR matrix (50 nonzeros per row; "
                             "20,000 x 2^16 with --quick) against scikit-learn's "
                             "SGDClassifier and LogisticRegression")
    parser.add_argument("--write", metavar="FILE",
                        help="rewrite the marked section of FILE (e.g. "
                             "BENCHMARKS.md) with the results")
    return parser


def resolve_sizes(args):
    """Fill in the sizes not given: the full size, or the quick one."""
    n, p = QUICK_SIZE if args.quick else FULL_SIZE
    if args.n_samples is None:
        args.n_samples = n
    if args.n_features is None:
        args.n_features = p
    return args


def report_and_write(args, command):
    """Run the comparison, print its table, and with ``args.write`` rewrite
    that file's marked section (``command`` is recorded in it)."""
    if getattr(args, "sparse", False):
        from . import _bench_sparse

        report = Report(machine=machine_description(available_threads()))
        print("Machine:")
        for key, value in report.machine.items():
            print(f"  {key}: {value}")
        _bench_sparse.run_sparse(args, report)
        begin, end = _bench_sparse.MARK_BEGIN, _bench_sparse.MARK_END
    else:
        report = run(resolve_sizes(args))
        begin, end = MARK_BEGIN, MARK_END
    print()
    print(report.table())
    if args.write:
        write_section(args.write, render_section(report, command.strip(), begin, end),
                      begin, end)
        print(f"\nwrote {args.write}")
    return report


def main(argv=None, prog=None, command="python benchmarks/compare.py"):
    """Command-line entry point of ``benchmarks/compare.py``."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    report_and_write(args, command + " " + " ".join(given))
    return 0
