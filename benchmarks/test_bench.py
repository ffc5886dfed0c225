"""pytest-benchmark suite: one ``fit`` (2 epochs, fixed numeric step) per
batch mode x dtype x n_jobs x model.

    python -m pytest benchmarks -q                                   # run once each (CI)
    python -m pytest benchmarks -q --benchmark-enable --benchmark-only  # measure
    DESCEND_BENCH_SIZE=full python -m pytest benchmarks --benchmark-enable --benchmark-only

The project's pytest configuration passes ``--benchmark-disable``, so by
default each benchmark body runs once as a plain test.  Every benchmark
checks its result too: finite coefficients of the right shape and dtype,
exactly two epochs, and an objective below the one at the zero model.
DESCEND_BENCH_ROUNDS overrides the number of measured rounds.
"""
import numpy as np
import pytest
from scipy.special import logsumexp

import descend

MAX_ITER = 2
ALPHA = 1e-4
#: fixed numeric step sizes (standardised data): no power iteration in fit
ETA0 = {None: 1.0, 32: 0.1, 1: 0.01}
ETA0_SQUARED_FULL = 0.5  # squared loss, full batch (L ~ 1 on standardised X)

MODELS = ["linear", "binary", "multinomial"]
BATCHES = [pytest.param(None, id="full"), pytest.param(32, id="mini32"),
           pytest.param(1, id="sample")]
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]
N_JOBS = [pytest.param(1, id="jobs1"), pytest.param(2, id="jobs2")]


def make_estimator(model, batch_size, n_jobs):
    eta0 = ETA0[batch_size]
    if model == "linear":
        cls = descend.LinearRegression
        if batch_size is None:
            eta0 = ETA0_SQUARED_FULL
    else:
        cls = descend.LogisticRegression
    return cls(batch_size=batch_size, eta0=eta0, learning_rate="constant",
               alpha=ALPHA, max_iter=MAX_ITER, tol=None, shuffle=True,
               random_state=0, n_jobs=n_jobs)


def objective(model, X, y, coef, intercept):
    """The training objective, computed independently in float64 NumPy."""
    X = X.astype(np.float64, copy=False)
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    b = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    Z = X @ W.T + b
    if model == "linear":
        loss = 0.5 * (Z[:, 0] - y) ** 2
    elif model == "binary":
        z = Z[:, 0]
        loss = np.logaddexp(0.0, z) - y * z
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    return float(loss.mean() + 0.5 * ALPHA * np.sum(W * W))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("n_jobs", N_JOBS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", BATCHES)
def test_fit(benchmark, bench_data, bench_rounds, model, batch_size, dtype, n_jobs):
    X, data = bench_data(dtype)
    y = data[model]
    n, p = X.shape
    batch_name = {None: "full", 32: "mini32", 1: "sample"}[batch_size]
    benchmark.group = f"{model}-{batch_name}"
    benchmark.extra_info.update(n_samples=n, n_features=p, epochs=MAX_ITER,
                                dtype=np.dtype(dtype).name, n_jobs=n_jobs)

    def fit():
        return make_estimator(model, batch_size, n_jobs).fit(X, y)

    est = benchmark.pedantic(fit, rounds=bench_rounds, iterations=1, warmup_rounds=1)

    n_out = 3 if model == "multinomial" else 1
    coef = np.asarray(est.coef_)
    intercept = np.atleast_1d(est.intercept_)
    assert coef.size == n_out * p and intercept.size == n_out
    if model != "linear":
        assert coef.shape == (n_out, p)
    assert coef.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))
    assert est.n_iter_ == MAX_ITER
    history = est.history_
    assert len(history) == MAX_ITER
    assert np.all(np.isfinite(history["objective"]))
    seconds = history["seconds"]
    assert np.all(np.diff(seconds) >= 0) and seconds[0] >= 0
    if batch_size is None:
        # exact gradient steps from zero with a safe step: strictly downhill
        assert history["objective"][1] < history["objective"][0]
    if model == "linear":
        zero = 0.5 * float(np.mean(y.astype(np.float64) ** 2))
    else:
        zero = float(np.log(2 if model == "binary" else 3))  # uniform probabilities
    fitted = objective(model, X, y, coef.reshape(n_out, p), intercept)
    assert fitted < zero, (fitted, zero)
