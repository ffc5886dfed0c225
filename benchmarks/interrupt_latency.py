"""Ctrl-C latency per estimator, layout and batch mode (RELIABILITY.md).

Each case fits for long in a subprocess; a thread sends the process SIGINT
after a second, as a terminal would; the latency is the time from the
signal to the KeyboardInterrupt reaching the caller.  The same run checks
what tests/test_interrupt.py asserts (the finished epochs recorded, no
thread left running, the estimator usable); this script prints the table:

    python benchmarks/interrupt_latency.py [--repeat 3]
"""
import argparse
import json
import os
import platform
import subprocess
import sys

SCRIPT = r'''
import json, os, signal, sys, threading, time
import numpy as np, scipy.sparse as sp
import descend

rng = np.random.default_rng(0)
n, p = 40000, 100
Xd = rng.standard_normal((n, p))
nnz = 40
ind = np.sort(rng.integers(0, 5000, size=(n, nnz)), axis=1)
Xs = sp.csr_matrix((rng.standard_normal(n * nnz), ind.ravel(),
                    np.arange(0, n * nnz + 1, nnz)), shape=(n, 5000))
Xs.sum_duplicates()
# ill-conditioned (condition number 1e5): full-batch fits run for seconds
Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
Xc = Xd @ (Q * np.logspace(0, -5, p)) @ Q.T
# (4,000 x 100: small enough that a full-batch fit runs on the main thread,
# under a handler that raises the stop flag, without the worker: _interrupt.py)
DATA = {"dense": Xd, "csr": Xs, "dense-ill": Xc, "csr-ill": sp.csr_matrix(Xc),
        "dense-ill-small": Xc[:4000].copy()}
signal_at = float(sys.argv[2])

def target(X, kind):
    z = np.asarray(X[:, :3].sum(axis=1)).ravel()
    z = z / z.std() + 0.3 * rng.standard_normal(len(z))
    if kind == "binary":
        return (z > 0).astype(int)
    if kind == "multi":
        return np.digitize(z, [-0.8, 0.8])
    return z

def attempt(case, at):
    name, layout, kind, params = case
    X = DATA[layout]
    y = target(X, kind)
    est = getattr(descend, name)(max_iter=10**6, **params)
    sent, cancel = [], threading.Event()
    def fire():
        if cancel.wait(at):
            return
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    firing = threading.Thread(target=fire)
    firing.start()
    out = {"case": case}
    try:
        est.fit(X, y)
        out["error"] = "the fit finished before the signal"
        cancel.set()
        firing.join()
        return out
    except KeyboardInterrupt:
        out["latency"] = time.perf_counter() - sent[0]
    firing.join()
    time.sleep(0.3)  # the signal thread ends; OpenMP teams go idle
    out["threads"] = sorted(t.name for t in threading.enumerate())
    t0 = time.process_time()
    time.sleep(0.3)
    out["cpu_after"] = time.process_time() - t0
    out["n_iter"] = int(est.n_iter_)
    out["history"] = len(est.history_)
    out["last_epoch"] = int(est.history_["epoch"][-1]) if len(est.history_) else 0
    out["stop_reason"] = est.history_.stop_reason
    out["finite"] = bool(np.all(np.isfinite(np.asarray(est.coef_))))
    out["predict_ok"] = len(est.predict(X[:10])) == 10
    if params.get("optimizer") != "saga":
        extra = {"classes": np.unique(y)} if kind != "regression" else {}
        est.partial_fit(X[:2000], y[:2000], **extra)
        out["n_iter_after_partial"] = int(est.n_iter_)
    out["signal_at"] = at
    return out

# a signal before the first epoch ends (on a loaded machine) would test
# nothing about the epochs kept: then the case runs again, signalled later
for case in json.loads(sys.argv[1]):
    for at in (signal_at, 2 * signal_at, 4 * signal_at):
        out = attempt(case, at)
        if "error" in out or out["n_iter"] >= 1:
            break
    print(json.dumps(out), flush=True)
'''

CASES = [
    ("SGDRegressor", "dense", "regression", {"batch_size": 1, "tol": None}),
    ("SGDRegressor", "csr", "regression", {"batch_size": 1, "tol": None}),
    ("SGDClassifier", "csr", "binary", {"batch_size": 32, "tol": None}),
    ("SGDClassifier", "dense", "multi", {"batch_size": 64, "tol": None}),
    ("SGDClassifier", "csr", "multi", {"batch_size": 1, "tol": None, "average": True}),
    ("SGDRegressor", "dense", "regression", {"batch_size": None, "tol": None}),
    ("SGDRegressor", "dense-ill", "regression",
     {"batch_size": None, "tol": None, "learning_rate": "line_search"}),
    # (L-BFGS: "auto" runs Newton's method here, which solves a quadratic in
    # one step, before the signal)
    ("LinearRegression", "dense-ill", "regression",
     {"optimizer": "lbfgs", "tol": 1e-15, "alpha": 1e-12}),
    ("LinearRegression", "csr-ill", "regression", {"tol": 1e-15, "alpha": 1e-12}),
    ("LinearRegression", "csr", "regression",
     {"optimizer": "saga", "batch_size": 1, "tol": 1e-15, "alpha": 1e-12}),
    # (ill-conditioned: on the well-conditioned data, depending on the
    # unseeded shuffle, saga certified tol=1e-15 in 0.8 s, before the signal)
    ("LinearRegression", "dense-ill", "regression",
     {"optimizer": "saga", "batch_size": 32, "tol": 1e-15, "alpha": 1e-12}),
    ("LogisticRegression", "dense-ill", "multi", {"tol": 1e-15, "alpha": 1e-12}),
    ("LogisticRegression", "csr", "binary",
     {"optimizer": "saga", "batch_size": 16, "tol": 1e-15, "alpha": 1e-12}),
    ("LogisticRegression", "csr-ill", "binary",
     {"optimizer": "agd", "tol": 1e-15, "alpha": 1e-12}),
    ("LogisticRegression", "dense", "binary",
     {"optimizer": "sgd", "batch_size": 1, "tol": 1e-15, "alpha": 1e-12}),
    # small full batches: fits on the main thread (no hand-off to the worker)
    ("LogisticRegression", "dense-ill-small", "binary",
     {"optimizer": "agd", "tol": 1e-15, "alpha": 1e-12}),
    ("SGDRegressor", "dense-ill-small", "regression",
     {"batch_size": None, "tol": None, "learning_rate": "line_search"}),
]




def run_cases(cases=CASES, signal_at=1.0):
    """One subprocess over ``cases``; a dict per case (see SCRIPT)."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases), str(signal_at)],
                          capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"the interrupt run failed ({proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(lines) != len(cases):
        raise RuntimeError(f"the interrupt run reported {len(lines)} of {len(cases)} cases:\n"
                           f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return lines


def describe(case):
    name, layout, kind, params = case
    batch = params.get("batch_size", "-")
    extra = {k: v for k, v in params.items() if k in ("optimizer", "learning_rate", "average")}
    return f"{name} | {layout} | {kind} | {batch} | {extra or ''}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    runs = [run_cases() for _ in range(args.repeat)]
    print(f"Ctrl-C latency, {args.repeat} runs; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| estimator | data | target | batch_size | other | max latency (s) | epochs kept |")
    print("|---|---|---|---|---|---|---|")
    for i, case in enumerate(CASES):
        outs = [run[i] for run in runs]
        worst = max(o.get("latency", float("inf")) for o in outs)
        kept = all("error" not in o and o["history"] == o["n_iter"] >= 1 for o in outs)
        print(f"| {describe(case)} | {worst:.3f} | {'yes' if kept else 'NO'} |")


if __name__ == "__main__":
    main()
