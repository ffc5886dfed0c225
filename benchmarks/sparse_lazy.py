"""Per-epoch time of per-sample CSR fits (the lazy O(nnz) updates) against
scikit-learn's SGDClassifier, and the O(nnz) check: an epoch on 2^22
features costs about what one on 2^10 does.

    python benchmarks/sparse_lazy.py                      # 200,000 x 2^20, 50 nnz/row
    python benchmarks/sparse_lazy.py --rows 1000000
    python benchmarks/sparse_lazy.py --rows 20000 --quick  # smoke size
"""
import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

import descend

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.machine import blas_description, cpu_model, openmp_threads  # noqa: E402
from harness.timing import best_time  # noqa: E402


def make_csr(n, p, nnz_row, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, p, size=n * nnz_row, dtype=np.int32)
    data = rng.standard_normal(n * nnz_row).astype(dtype) / np.sqrt(nnz_row)
    indptr = np.arange(0, n * nnz_row + 1, nnz_row, dtype=np.int32)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, p))
    X.sum_duplicates()
    w = rng.standard_normal(p)
    y = (X @ w + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


def epoch_seconds(model, X, y, epochs):
    """Seconds per epoch of the fastest of ``epochs`` one-epoch-apart runs
    (the model's own per-epoch history)."""
    model.set_params(max_iter=epochs, tol=None)
    start = time.perf_counter()
    model.fit(X, y)
    wall = time.perf_counter() - start
    seconds = np.diff(np.concatenate([[0.0], model.history_["seconds"]]))
    return float(seconds.min()), wall


CONFIGS = {
    "sgd": dict(),
    "adagrad": dict(optimizer="adagrad", eta0=0.05),
    "adam": dict(optimizer="adam", eta0=1e-3),
    "average": dict(average=True),
    "l1": dict(penalty="l1"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=1 << 20)
    parser.add_argument("--nnz", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    X, y = make_csr(args.rows, args.features, args.nnz)
    print(f"machine: {cpu_model()}; {openmp_threads()} OpenMP threads; BLAS "
          f"{blas_description()}")
    print(f"X: {X.shape[0]} x {X.shape[1]}, nnz {X.nnz} ({X.nnz / X.shape[0]:.1f}/row)")
    from sklearn.linear_model import SGDClassifier

    sk = SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=1, tol=None, random_state=0)
    sk_epoch = best_time(lambda: sk.fit(X, y), args.epochs)
    print(f"{'scikit-learn SGDClassifier':32s} {sk_epoch:8.3f} s/epoch  "
          f"{X.nnz / sk_epoch / 1e6:7.1f} M nnz/s")
    for name, config in CONFIGS.items():
        for n_jobs in (1, 2):
            model = descend.LogisticRegression(batch_size=1, alpha=1e-6, random_state=0,
                                               n_jobs=n_jobs, **{"eta0": 0.1, **config})
            per_epoch, _ = epoch_seconds(model, X, y, args.epochs)
            print(f"descend {name:10s} n_jobs={n_jobs}          {per_epoch:8.3f} s/epoch  "
                  f"{X.nnz / per_epoch / 1e6:7.1f} M nnz/s  x{sk_epoch / per_epoch:5.2f} "
                  f"vs sklearn  objective {model.history_['objective'][-1]:.5f}")
        if args.quick:
            break
    # O(nnz): the same rows over 2^10 and 2^22 features
    rows = min(args.rows, 50_000)
    for p in (1 << 10, 1 << 22):
        Xp, yp = make_csr(rows, p, args.nnz, seed=1)
        for name in ("sgd", "adam", "l1"):
            model = descend.LogisticRegression(batch_size=1, alpha=1e-6, random_state=0,
                                               n_jobs=1, **{"eta0": 0.1, **CONFIGS[name]})
            per_epoch, wall = epoch_seconds(model, Xp, yp, 2)
            print(f"p = 2^{int(np.log2(p)):2d} {name:6s}: {per_epoch * 1e6 / rows:6.3f} us/row "
                  f"(fit wall {wall:.2f} s, incl. O(p) per-epoch bookkeeping)")


if __name__ == "__main__":
    main()
