"""Data for the pytest-benchmark suite (benchmarks/test_bench.py).

Size from the environment variable DESCEND_BENCH_SIZE:
  "tiny" (default)  2,000 x 20: the whole suite runs in seconds (CI);
  "full"            200,000 x 100: meaningful timings.
DESCEND_BENCH_ROUNDS sets the measured rounds per benchmark (default 20 for
tiny, 5 for full).
"""
import os

import numpy as np
import pytest

SIZES = {"tiny": (2_000, 20), "full": (200_000, 100)}


def bench_size():
    name = os.environ.get("DESCEND_BENCH_SIZE", "tiny").strip().lower()
    if name not in SIZES:
        raise pytest.UsageError(
            f"DESCEND_BENCH_SIZE must be one of {sorted(SIZES)}; got {name!r}")
    return name


@pytest.fixture(scope="session")
def bench_rounds():
    """Measured rounds per benchmark (DESCEND_BENCH_ROUNDS overrides)."""
    default = 20 if bench_size() == "tiny" else 5
    return int(os.environ.get("DESCEND_BENCH_ROUNDS", default))


@pytest.fixture(scope="session")
def bench_shape():
    return SIZES[bench_size()]


@pytest.fixture(scope="session")
def bench_data64(bench_shape):
    """Standardised float64 X and the three targets: real (squared loss),
    binary labels and 3 classes, each from a random true model plus noise."""
    n, p = bench_shape
    rng = np.random.default_rng(42)
    X = rng.standard_normal((n, p))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    w = rng.standard_normal(p) / np.sqrt(p)
    real = X @ w + 0.5 + 0.5 * rng.standard_normal(n)
    binary = (X @ w + rng.logistic(size=n) > 0).astype(np.int64)
    W = rng.standard_normal((p, 3)) / np.sqrt(p)
    classes = np.argmax(X @ W + rng.gumbel(size=(n, 3)), axis=1)
    return {"X": np.ascontiguousarray(X), "linear": real, "binary": binary,
            "multinomial": classes}


@pytest.fixture(scope="session")
def bench_data(bench_data64):
    """Per-dtype C-contiguous copies of X (made once per session)."""
    cache = {}

    def get(dtype):
        key = np.dtype(dtype).name
        if key not in cache:
            cache[key] = np.ascontiguousarray(bench_data64["X"], dtype=dtype)
        return cache[key], bench_data64

    return get
