#!/usr/bin/env python
"""Epoch times of two builds of descend, in one run: did a change cost
speed?

    python benchmarks/before_after.py --before /path/to/old-venv/bin/python
    python benchmarks/before_after.py --before OLD_PY --after NEW_PY --write BENCHMARKS.md

Each interpreter imports its own installed descend.  The same fixed-work
fits (a given step size, tol=None, a fixed number of epochs, seeded) run
under both, alternating round by round so that a change in the machine's
load hits both sides; the time is the whole ``fit`` divided by its epochs
(after one warm-up fit), the best of the rounds.  (Per-epoch times from
``history_`` are not comparable across versions: what a record's clock
covers has changed.)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.machine import machine_description, openmp_threads  # noqa: E402
from harness.report import write_section  # noqa: E402

MARK_BEGIN = "<!-- before-after:begin -->"
MARK_END = "<!-- before-after:end -->"

# one round: every case once, a JSON line {case: (ms per epoch, objective)}
ROUND = r'''
import json, sys, time, warnings
import numpy as np, scipy.sparse as sp
warnings.simplefilter("ignore")
import descend
from descend import LogisticRegression
rng = np.random.default_rng(0)
n, p = 200_000, 100
X = rng.standard_normal((n, p)); y = (X[:, 0] + rng.standard_normal(n) > 0).astype(int)
ns, ps, nz = 300_000, 1 << 18, 50
ind = rng.integers(0, ps, ns * nz).astype(np.int32)
Xs = sp.csr_matrix((rng.random(ns * nz), ind, np.arange(0, ns * nz + 1, nz)), shape=(ns, ps))
Xs.sum_duplicates()  # canonical CSR, as real data is (non-canonical CSR is
Xs.sort_indices()    # made canonical on a copy first: not the kernels' speed)
ys = (rng.random(ns) > 0.5).astype(int)
common = dict(tol=None, random_state=0)
CASES = {
    "dense, full batch (n_jobs=2)": (X, y, dict(eta0=0.5, max_iter=10, n_jobs=2)),
    "dense, per sample": (X, y, dict(batch_size=1, eta0=0.01, max_iter=3)),
    "dense, mini-batch 32 (n_jobs=2)": (X, y, dict(batch_size=32, eta0=0.1, max_iter=3,
                                                   n_jobs=2)),
    "dense, per sample, adam": (X, y, dict(batch_size=1, optimizer="adam", eta0=0.001,
                                           max_iter=2)),
    "CSR, per sample": (Xs, ys, dict(batch_size=1, eta0=0.1, alpha=1e-6, max_iter=3)),
    "CSR, per sample, Hogwild (n_jobs=2)": (Xs, ys, dict(batch_size=1, eta0=0.1,
                                                         alpha=1e-6, max_iter=3, n_jobs=2)),
    "CSR, mini-batch 32": (Xs, ys, dict(batch_size=32, eta0=0.1, alpha=1e-6, max_iter=3)),
    "CSR, full batch (n_jobs=2)": (Xs, ys, dict(eta0=1.0, alpha=1e-6, max_iter=10,
                                                n_jobs=2)),
}
out = {"version": descend.__version__, "path": descend.__file__}
for name, (A, b, params) in CASES.items():
    LogisticRegression(**common, **params).fit(A, b)  # warm: first-touch, threads
    t0 = time.perf_counter()
    m = LogisticRegression(**common, **params).fit(A, b)
    seconds = time.perf_counter() - t0
    out[name] = (seconds / m.n_iter_ * 1e3, float(m.history_["objective"][-1]))
print(json.dumps(out))
'''


def one_round(python):
    proc = subprocess.run([python, "-c", ROUND], capture_output=True, text=True,
                          timeout=1800, cwd="/")
    if proc.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the old build's python")
    parser.add_argument("--after", default=sys.executable, help="the new build's python")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--label-before", default="before")
    parser.add_argument("--label-after", default="after")
    parser.add_argument("--write", metavar="BENCHMARKS.md", default=None)
    args = parser.parse_args(argv)
    runs = {"before": [], "after": []}
    for r in range(args.rounds):
        for side in ("before", "after"):
            runs[side].append(one_round(getattr(args, side)))
            print(f"round {r + 1} {side} done", flush=True)
    cases = [k for k in runs["after"][0] if k not in ("version", "path")]
    lines = [f"| case | {args.label_before} (ms/epoch) | {args.label_after} (ms/epoch) | "
             f"after / before | same objective |", "|---|---:|---:|---:|---|"]
    for case in cases:
        before = min(run[case][0] for run in runs["before"])
        after = min(run[case][0] for run in runs["after"])
        same = abs(runs["before"][0][case][1] - runs["after"][0][case][1]) <= 1e-9 * max(
            1.0, abs(runs["before"][0][case][1]))
        lines.append(f"| {case} | {before:.1f} | {after:.1f} | {after / before:.2f} | "
                     f"{'yes' if same else 'no'} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        machine = machine_description(openmp_threads())
        machine.pop("torch", None)
        command = (f"python benchmarks/before_after.py --before <{args.label_before}> "
                   f"--after <{args.label_after}> --rounds {args.rounds}")
        section = "\n".join(
            [MARK_BEGIN, "<!-- Generated by benchmarks/before_after.py; edits inside these "
             "markers are overwritten. -->", "",
             f"Command: `{command}`", ""]
            + [f"- **{k}:** {v}" for k, v in machine.items()]
            + ["", "Fixed work (a given step size, tol=None, seeded): whole `fit` divided "
               "by its epochs, best of the rounds, the two builds alternating round by "
               "round:", "", table, MARK_END])
        write_section(args.write, section, MARK_BEGIN, MARK_END)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
