"""CSR input: the same fits as dense input, without copies or densifying."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

from descend import LinearRegression, LogisticRegression, _solver


def sparse_problem(n=400, p=40, density=0.2, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < density)
    score = X[:, :5].sum(axis=1) + 0.5 * rng.standard_normal(n)
    if classes == 2:
        y = (score > 0).astype(int)
    else:
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


CONFIGS = [
    dict(),
    dict(optimizer="adam", eta0=0.01),
    dict(optimizer="nesterov", eta0=0.05),
    dict(penalty="l1", alpha=1e-2),
    dict(penalty="elasticnet", alpha=1e-2, l1_ratio=0.5),
    dict(scale_features=True),
    dict(average=True),
    dict(clip_norm=0.5),
]


def lazy_on_csr(batch_size, config):
    """Configurations whose CSR update is lazy, not the dense update (checked
    against the reference of the lazy semantics in test_sparse_lazy.py):
    the adaptive optimizers per sample and in mini-batches, and per-sample
    elastic net (its L1 credit)."""
    if batch_size is None or config.get("scale_features"):
        return False
    if config.get("optimizer", "sgd") != "sgd":
        return True
    return batch_size == 1 and config.get("penalty") == "elasticnet"


EXACT_CASES = [(b, c) for c in CONFIGS for b in (None, 1, 16) if not lazy_on_csr(b, c)]


@pytest.mark.parametrize("batch_size, config", EXACT_CASES, ids=lambda v: (
    ",".join(f"{k}={x}" for k, x in v.items()) or "sgd") if isinstance(v, dict) else str(v))
def test_csr_fit_equals_dense_fit(batch_size, config):
    """Every configuration whose CSR update is exact (the lazy ones are
    checked against their own reference in test_sparse_lazy.py)."""
    X, y = sparse_problem()
    kwargs = dict(batch_size=batch_size, tol=None, max_iter=4, random_state=3, n_jobs=1,
                  **config)
    if batch_size is None and "optimizer" not in config:
        kwargs["optimizer"] = "lbfgs"  # "auto" runs Newton's method on dense rows only
    dense = LogisticRegression(**kwargs).fit(X, y)
    csr = LogisticRegression(**kwargs).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(csr.history_["objective"], dense.history_["objective"],
                               rtol=1e-10)


@pytest.mark.parametrize("batch_size", [None, 1, 8])
def test_csr_multinomial_and_regression_equal_dense(batch_size):
    X, y = sparse_problem(classes=3)
    kwargs = dict(batch_size=batch_size, tol=None, max_iter=3, random_state=0, n_jobs=1)
    if batch_size is None:
        kwargs["optimizer"] = "lbfgs"  # "auto" runs Newton's method on dense rows only
    a = LogisticRegression(**kwargs).fit(X, y)
    b = LogisticRegression(**kwargs).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)
    target = X @ np.arange(X.shape[1]) / 10.0
    a = LinearRegression(alpha=1e-3, **kwargs).fit(X, target)
    b = LinearRegression(alpha=1e-3, **kwargs).fit(sp.csr_matrix(X), target)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.predict(sp.csr_matrix(X)), a.predict(X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("value_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_value_and_index_dtypes(value_dtype, index_dtype):
    X, y = sparse_problem()
    csr = sp.csr_matrix(X.astype(value_dtype))
    csr.indices = csr.indices.astype(index_dtype)
    csr.indptr = csr.indptr.astype(index_dtype)
    model = LogisticRegression(batch_size=1, tol=None, max_iter=3, random_state=0,
                               n_jobs=1).fit(csr, y)
    reference = LogisticRegression(batch_size=1, tol=None, max_iter=3, random_state=0,
                                   n_jobs=1).fit(
        X.astype(value_dtype), y)
    assert model.coef_.dtype == value_dtype
    rtol = 1e-4 if value_dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=rtol * 1e-2)


def test_unsorted_indices_and_explicit_zeros():
    X, y = sparse_problem()
    csr = sp.csr_matrix(X)
    # reverse the entries of each row and add explicit zeros at new columns
    data, indices, indptr = [], [], [0]
    for i in range(csr.shape[0]):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        row_idx = list(csr.indices[lo:hi][::-1])
        row_val = list(csr.data[lo:hi][::-1])
        free = sorted(set(range(csr.shape[1])) - set(row_idx))[:2]
        indices += row_idx + free
        data += row_val + [0.0] * len(free)
        indptr.append(len(indices))
    messy = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=csr.shape)
    assert not messy.has_sorted_indices and messy.nnz > csr.nnz
    for batch_size in (None, 1, 8):
        kwargs = dict(batch_size=batch_size, tol=None, max_iter=3, random_state=0, n_jobs=1)
        a = LogisticRegression(**kwargs).fit(csr, y)
        b = LogisticRegression(**kwargs).fit(messy, y)
        np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-12, atol=1e-14)


def test_csr_input_is_not_copied_and_other_formats_are_converted(monkeypatch):
    seen = []
    real = _solver.solve

    def spy(problem, *args, **kwargs):
        seen.append(problem.X)
        return real(problem, *args, **kwargs)

    monkeypatch.setattr(_solver, "solve", spy)
    X, y = sparse_problem()
    csr = sp.csr_matrix(X)
    LogisticRegression(tol=None, max_iter=2).fit(csr, y)
    assert seen[-1] is csr
    csr_array = sp.csr_array(X)
    LogisticRegression(tol=None, max_iter=2).fit(csr_array, y)
    assert seen[-1] is csr_array
    reference = LogisticRegression(tol=None, max_iter=2).fit(csr, y).coef_
    for other in (sp.csc_matrix(X), sp.coo_matrix(X), sp.lil_matrix(X)):
        model = LogisticRegression(tol=None, max_iter=2).fit(other, y)
        assert sp.isspmatrix_csr(seen[-1]) or isinstance(seen[-1], sp.csr_array)
        np.testing.assert_allclose(model.coef_, reference, rtol=1e-12)


def test_per_sample_l2_step_on_wide_sparse_rows_matches_hand_loop():
    """The O(nnz) path (w = scale * v) against a plain dense loop."""
    rng = np.random.default_rng(1)
    n, p = 60, 1 << 20
    rows = [rng.choice(p, size=7, replace=False) for _ in range(n)]
    data = rng.standard_normal(n * 7)
    X = sp.csr_matrix((data, np.concatenate(rows), np.arange(0, n * 7 + 1, 7)), shape=(n, p))
    y = rng.integers(0, 2, n)
    alpha, eta = 0.05, 0.1
    model = LogisticRegression(batch_size=1, eta0=eta, alpha=alpha, shuffle=False, tol=None,
                               max_iter=2, n_jobs=1).fit(X, y)
    w, b = np.zeros(p), 0.0
    for _ in range(2):
        for i in range(n):
            idx, val = X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]
            d = expit(val @ w[idx] + b) - y[i]
            w *= 1 - eta * alpha
            w[idx] -= eta * d * val
            b -= eta * d
    touched = np.unique(X.indices)
    np.testing.assert_allclose(model.coef_[0, touched], w[touched], rtol=1e-10, atol=1e-14)
    assert np.count_nonzero(model.coef_) == len(touched)
    assert model.intercept_[0] == pytest.approx(b, rel=1e-10)


EXACT_PER_SAMPLE = [
    dict(alpha=1e-2),
    dict(penalty=None),
    dict(penalty="l1", alpha=2e-2),
    dict(penalty="l1", alpha=1e-2, clip_norm=0.3, learning_rate="invscaling"),
    dict(average=True, alpha=1e-2),
    dict(average=7, learning_rate="invscaling", power_t=0.3),
    dict(clip_norm=0.2, alpha=1e-3),
    dict(learning_rate="optimal", alpha=1e-2, eta0=1.0),
    dict(learning_rate="exponential", decay_rate=0.7),
    dict(learning_rate="cosine", warmup_epochs=1.5),
    dict(learning_rate="step", decay_steps=2, decay_rate=0.5, fit_intercept=False),
    dict(alpha=0.5, eta0=0.5),  # strong decay: the scale is folded many times
]


@pytest.mark.parametrize("config", EXACT_PER_SAMPLE + [
    pytest.param(dict(penalty="elasticnet", alpha=5e-2, l1_ratio=0.5, batch_size=5), id="enet-mini5"),
    pytest.param(dict(penalty="elasticnet", alpha=5e-2, l1_ratio=0.5, clip_norm=0.2,
                      batch_size=7, learning_rate="invscaling"), id="enet-clip-mini7"),
    pytest.param(dict(average=3, alpha=1e-2, batch_size=6), id="average-mini6")],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("value_dtype", [np.float32, np.float64])
def test_exact_per_sample_csr_equals_dense(config, value_dtype):
    """Per-sample SGD with L2 (scale factor), L1 (lazy cumulative penalty),
    averaging (Xu's two scalars), clipping and every schedule; mini-batch
    SGD with elastic net (lazy soft-thresholding, which composes exactly):
    O(nnz) and the dense update's result."""
    X, y = sparse_problem(n=150, p=30)
    X = X.astype(value_dtype)
    sw = np.random.default_rng(4).uniform(0.5, 2.0, len(y))
    config = dict(config)
    kwargs = dict(batch_size=config.pop("batch_size", 1), tol=None, max_iter=4, random_state=1, n_jobs=1,
                  **{"eta0": 0.2, **config})
    dense = LogisticRegression(**kwargs).fit(X, y, sample_weight=sw)
    csr = LogisticRegression(**kwargs).fit(sp.csr_matrix(X), y, sample_weight=sw)
    rtol, atol = (1e-10, 1e-12) if value_dtype == np.float64 else (2e-4, 1e-5)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(csr.history_["objective"], dense.history_["objective"],
                               rtol=rtol)


@pytest.mark.parametrize("config", [dict(), dict(penalty="l1", alpha=1e-2),
                                    dict(average=3, clip_norm=0.5)], ids=str)
def test_exact_per_sample_multinomial_and_squared(config):
    X, y = sparse_problem(classes=3, n=120)
    kwargs = dict(batch_size=1, tol=None, max_iter=3, random_state=0, n_jobs=1, eta0=0.1,
                  **config)
    a = LogisticRegression(**kwargs).fit(X, y)
    b = LogisticRegression(**kwargs).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=1e-10, atol=1e-12)
    target = X @ np.arange(X.shape[1]) / 10.0
    kwargs["eta0"] = 0.01
    a = LinearRegression(**kwargs).fit(X, target)
    b = LinearRegression(**kwargs).fit(sp.csr_matrix(X), target)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_exact_per_sample_unsorted_explicit_zeros_index_dtypes(index_dtype):
    X, y = sparse_problem(n=100, p=20)
    csr = sp.csr_matrix(X)
    data, indices, indptr = [], [], [0]
    for i in range(csr.shape[0]):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        free = sorted(set(range(csr.shape[1])) - set(csr.indices[lo:hi]))[:1]
        indices += list(csr.indices[lo:hi][::-1]) + free
        data += list(csr.data[lo:hi][::-1]) + [0.0] * len(free)
        indptr.append(len(indices))
    messy = sp.csr_matrix((np.array(data), np.array(indices, dtype=index_dtype),
                           np.array(indptr, dtype=index_dtype)), shape=csr.shape)
    messy.indices = messy.indices.astype(index_dtype)
    messy.indptr = messy.indptr.astype(index_dtype)
    for config in (dict(penalty="l1", alpha=1e-2), dict(average=2, clip_norm=0.3)):
        kwargs = dict(batch_size=1, tol=None, max_iter=3, random_state=0, n_jobs=1, **config)
        a = LogisticRegression(**kwargs).fit(X, y)
        b = LogisticRegression(**kwargs).fit(messy, y)
        np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)


def test_early_stopping_and_sample_weight_on_csr():
    X, y = sparse_problem(n=600)
    sw = np.random.default_rng(2).uniform(0.5, 2, len(y))
    kwargs = dict(batch_size=32, early_stopping=True, max_iter=20, random_state=0, n_jobs=1)
    a = LogisticRegression(**kwargs).fit(X, y, sample_weight=sw)
    b = LogisticRegression(**kwargs).fit(sp.csr_matrix(X), y, sample_weight=sw)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.history_["validation_score"], a.history_["validation_score"])
