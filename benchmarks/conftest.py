"""Data for the pytest-benchmark suite (benchmarks/test_bench.py).

Size from the environment variable DESCEND_BENCH_SIZE:
  "tiny" (default)  dense 2,000 x 20, CSR 2,000 x 1,000 (10 nonzeros per
                    row): the whole folder runs in seconds (CI);
  "full"            dense 200,000 x 100, CSR 200,000 x 2^18 (50 nonzeros
                    per row): meaningful timings.
DESCEND_BENCH_ROUNDS sets the measured rounds per benchmark (default 20 for
tiny, 5 for full). The size is printed in pytest's header.
"""
import os

import numpy as np
import pytest

#: (rows, features) of the dense data, and (rows, features, nonzeros per row)
#: of the CSR data, per DESCEND_BENCH_SIZE
DENSE = {"tiny": (2_000, 20), "full": (200_000, 100)}
CSR = {"tiny": (2_000, 1_000, 10), "full": (200_000, 1 << 18, 50)}


def bench_size():
    name = os.environ.get("DESCEND_BENCH_SIZE", "tiny").strip().lower()
    if name not in DENSE:
        raise pytest.UsageError(
            f"DESCEND_BENCH_SIZE must be one of {sorted(DENSE)}; got {name!r}")
    return name


def bench_rounds_value():
    default = 20 if bench_size() == "tiny" else 5
    return int(os.environ.get("DESCEND_BENCH_ROUNDS", default))


def pytest_report_header(config):
    name = bench_size()
    (n, p), (m, q, k) = DENSE[name], CSR[name]
    return (f"descend benchmarks: DESCEND_BENCH_SIZE={name} (dense {n:,} x {p}; CSR "
            f"{m:,} x {q:,}, {k} nonzeros per row); {bench_rounds_value()} rounds each "
            f"with --benchmark-enable")


@pytest.fixture(scope="session")
def bench_rounds():
    """Measured rounds per benchmark (DESCEND_BENCH_ROUNDS overrides)."""
    return bench_rounds_value()


def _targets(rng, X, scale):
    """A real target (squared loss), binary labels and 3 classes, each from
    a random true model plus noise."""
    n, p = X.shape
    w = rng.standard_normal(p) * scale
    W = rng.standard_normal((p, 3)) * scale
    return {"linear": X @ w + 0.5 + 0.5 * rng.standard_normal(n),
            "binary": (X @ w + rng.logistic(size=n) > 0).astype(np.int64),
            "multinomial": np.argmax(X @ W + rng.gumbel(size=(n, 3)), axis=1)}


def _dense(n, p, rng):
    """Standardised features."""
    X = rng.standard_normal((n, p))
    return np.ascontiguousarray((X - X.mean(axis=0)) / X.std(axis=0)), 1.0 / np.sqrt(p)


def _csr(n, p, k, rng):
    """k nonzeros per row at random columns (duplicates summed), positive
    values, rows of unit norm: hashed-text-like features."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    X = sparse.csr_matrix((rng.random(n * k) + 0.1, rng.integers(0, p, size=n * k),
                           np.arange(0, n * k + 1, k)), shape=(n, p))
    X.sum_duplicates()
    return normalize(X), 1.0


@pytest.fixture(scope="session")
def bench_problem():
    """get(layout, dtype) -> (X, targets): "dense" or "csr" X in that dtype
    (made once per session) and the targets by model name."""
    made, cache = {}, {}

    def get(layout, dtype):
        if layout not in made:
            rng = np.random.default_rng(42)
            if layout == "dense":
                X, scale = _dense(*DENSE[bench_size()], rng)
            else:
                X, scale = _csr(*CSR[bench_size()], rng)
            made[layout] = X, _targets(rng, X, scale)
        key = layout, np.dtype(dtype).name
        if key not in cache:
            X, targets = made[layout]
            cache[key] = X.astype(dtype), targets
        return cache[key]

    return get
