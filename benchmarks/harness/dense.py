"""The dense comparison (compare.py's default): descend's epoch times on
the problem of problem.py against the machine's read bandwidth, a NumPy
epoch, scikit-learn's SGDClassifier, a PyTorch loop and pure Python.

* descend's epoch time is read from ``history_["seconds"]`` (measured around
  the compiled kernel): the median over several epochs of one fit.
* Reference implementations are timed with ``time.perf_counter`` (best of a
  few runs), each with the same thread count where it has a knob.
"""
from __future__ import annotations

import gc

import numpy as np

from descend import LinearRegression, LogisticRegression

from .machine import OtherLoad, machine_description, measure_read_bandwidth, \
    openmp_threads, try_import_torch
from .problem import (ALPHA, ETA_FULL, ETA_FULL_SQ, ETA_MINI, ETA_SAMPLE, MINI_BATCH,
                      descend_fit, log_objective, make_data)
from .references import numpy_full_batch, python_per_sample, sklearn_sgd, torch_minibatch
from .report import Report, verdict
from .timing import best_time, fmt_ratio, fmt_time, median_epoch

MARK_BEGIN = "<!-- compare:begin -->"
MARK_END = "<!-- compare:end -->"

TARGETS = {
    "bandwidth": 0.75,  # fraction of the measured read bandwidth
    "numpy": 3.0,
    "sklearn": 3.0,
    "torch": 50.0,
    "python": 500.0,
}


def run(args):
    """Measure everything; print progress lines; return the Report."""
    n, p = args.n_samples, args.n_features
    load = OtherLoad()
    threads = openmp_threads()
    torch = try_import_torch()
    report = Report()
    quick = args.quick
    repeats = 2 if quick else 5
    fit_epochs = 5 if quick else 10

    report.machine = machine_description(threads, torch)
    report.print_machine()
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

    text = load.describe()
    if text is not None:
        report.machine["CPU used by other processes"] = text
        print(f"  CPU used by other processes: {text}")
    return report
