"""The lazy (O(nnz)) CSR updates against a step-by-step NumPy reference of
their documented semantics (see descend/_engine/_kernels.pyx), on tiny
problems, and their O(nnz) cost."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax

from descend import LinearRegression, LogisticRegression


def tiny_csr(n=12, p=9, density=0.3, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < density)
    X[:, -1] = 0.0  # a feature no row touches
    score = X[:, :3].sum(axis=1) + 0.3 * rng.standard_normal(n)
    if classes == 2:
        y = (score > 0).astype(int)
    else:
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return sp.csr_matrix(X), y


def lazy_reference(X, y, *, loss="log", k=1, epochs=3, eta0=0.1, schedule="constant",
                   power_t=0.5, optimizer="sgd", l2=0.0, l1=0.0, momentum=0.9,
                   beta_1=0.9, beta_2=0.999, rho=0.99, eps=1e-8, clip_norm=None,
                   average=0, fit_intercept=True, sample_weight=None, batch_size=1):
    """The documented lazy semantics, one update at a time, rows in order
    (shuffle=False), written with dense per-coordinate arrays.

    Per update t (rows R, support J = the columns the rows touch):
      1. every coordinate of J is caught up on L1 (below);
      2. the batch's data gradient (clipped as a whole when clip_norm);
      3. the decay a_t = 1 - eta_t * l2 of sgd / adamw multiplies EVERY
         coefficient (dense, exact);
      4. coordinates in J take the optimizer's step, the lazy optimizers
         with the coupled L2 gradient l2 * w_j; only their buffers move;
         the intercepts take theirs every update;
      5. L1: per-sample, the cumulative penalty (Tsuruoka) on J; the
         coordinates outside J accumulate their decayed pending penalty
         pen_j <- a_t pen_j + eta_t l1, applied at their next catch-up:
         w_j moves toward 0 by pen_j or stops at 0, keeping the credit
         pen_j - |w_j| in q.  Mini-batch: soft-thresholding on J, and the
         pending threshold of the others accumulates the same way;
      6. the average of the coefficients as the updates hold them.
    At the end of each epoch every coordinate is caught up."""
    X = sp.csr_matrix(X)
    n, p = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    sw_scale = n / sw.sum()
    W, b = np.zeros((k, p)), np.zeros(k)
    m1, m2 = np.zeros((k, p)), np.zeros((k, p))
    mb1, mb2 = np.zeros(k), np.zeros(k)
    q, pen = np.zeros((k, p)), np.zeros((k, p))
    avg_sum, avg_b_sum = np.zeros((k, p)), np.zeros(k)
    u = 0.0
    t = 0
    decays = optimizer in ("sgd", "adamw")
    l2c = 0.0 if decays else l2
    batch = batch_size

    def catch_up(c, j):
        if W[c, j] == 0.0 or l1 == 0.0:
            pen[c, j] = 0.0
            return
        s = np.sign(W[c, j])
        if abs(W[c, j]) > pen[c, j]:
            W[c, j] -= s * pen[c, j]
            q[c, j] = -s * u
        else:
            credit = pen[c, j] - abs(W[c, j])
            W[c, j] = 0.0
            q[c, j] = -s * (u - credit) if batch == 1 else q[c, j]
        pen[c, j] = 0.0

    objective = []
    for epoch in range(epochs):
        total = 0.0
        for start in range(0, n, batch):
            rows = range(start, min(n, start + batch))
            t += 1
            eta = eta0 / t ** power_t if schedule == "invscaling" else eta0
            J = np.unique(np.concatenate([X.indices[X.indptr[i]:X.indptr[i + 1]] for i in rows]))
            for c in range(k):
                for j in J:
                    catch_up(c, j)
            gW, gb = np.zeros((k, p)), np.zeros(k)
            for i in rows:
                idx = X.indices[X.indptr[i]:X.indptr[i + 1]]
                val = X.data[X.indptr[i]:X.indptr[i + 1]]
                z = W[:, idx] @ val + b
                if loss == "log":
                    total += sw[i] * (np.logaddexp(0.0, z[0]) - y[i] * z[0])
                    d = np.array([expit(z[0]) - y[i]])
                elif loss == "squared":
                    total += sw[i] * 0.5 * (z[0] - y[i]) ** 2
                    d = np.array([z[0] - y[i]])
                else:
                    total += sw[i] * (np.logaddexp.reduce(z) - z[y[i]])
                    d = softmax(z)
                    d[y[i]] -= 1.0
                d = d * sw[i] * sw_scale / len(rows)
                for c in range(k):
                    np.add.at(gW[c], idx, d[c] * val)
                gb += d
            if not fit_intercept:
                gb[:] = 0.0
            if clip_norm:
                norm = np.sqrt((gW ** 2).sum() + (gb ** 2).sum())
                if norm > clip_norm:
                    gW *= clip_norm / norm
                    gb *= clip_norm / norm
            a = 1.0 - eta * l2 if decays else 1.0
            W *= a
            pen *= a
            for c in range(k):
                for j in J:
                    g = gW[c, j] + l2c * W[c, j] / a
                    if optimizer == "sgd":
                        step = g
                    elif optimizer in ("momentum", "nesterov"):
                        m1[c, j] = momentum * m1[c, j] + g
                        step = g + momentum * m1[c, j] if optimizer == "nesterov" else m1[c, j]
                    elif optimizer == "adagrad":
                        m1[c, j] += g * g
                        step = g / (np.sqrt(m1[c, j]) + eps)
                    elif optimizer == "rmsprop":
                        m1[c, j] = rho * m1[c, j] + (1 - rho) * g * g
                        step = g / (np.sqrt(m1[c, j]) + eps)
                    else:
                        m1[c, j] = beta_1 * m1[c, j] + (1 - beta_1) * g
                        m2[c, j] = beta_2 * m2[c, j] + (1 - beta_2) * g * g
                        step = (m1[c, j] / (1 - beta_1 ** t)) / (
                            np.sqrt(m2[c, j] / (1 - beta_2 ** t)) + eps)
                    W[c, j] -= eta * step
            if fit_intercept:
                g = gb
                if optimizer == "sgd":
                    step = g
                elif optimizer in ("momentum", "nesterov"):
                    mb1[:] = momentum * mb1 + g
                    step = g + momentum * mb1 if optimizer == "nesterov" else mb1
                elif optimizer == "adagrad":
                    mb1[:] += g * g
                    step = g / (np.sqrt(mb1) + eps)
                elif optimizer == "rmsprop":
                    mb1[:] = rho * mb1 + (1 - rho) * g * g
                    step = g / (np.sqrt(mb1) + eps)
                else:
                    mb1[:] = beta_1 * mb1 + (1 - beta_1) * g
                    mb2[:] = beta_2 * mb2 + (1 - beta_2) * g * g
                    step = (mb1 / (1 - beta_1 ** t)) / (np.sqrt(mb2 / (1 - beta_2 ** t)) + eps)
                b -= eta * step
            if l1 > 0:
                u += eta * l1
                outside = np.ones(p, bool)
                outside[J] = False
                pen[:, outside] += eta * l1
                for c in range(k):
                    for j in J:
                        w0 = W[c, j]
                        if batch == 1:
                            if w0 > 0:
                                W[c, j] = max(0.0, w0 - (u + q[c, j]))
                            elif w0 < 0:
                                W[c, j] = min(0.0, w0 + (u - q[c, j]))
                            q[c, j] += W[c, j] - w0
                        else:
                            W[c, j] = np.sign(w0) * max(abs(w0) - eta * l1, 0.0)
            if average and t >= average:
                avg_sum += W
                avg_b_sum += b
        for c in range(k):
            for j in range(p):
                catch_up(c, j)
        objective.append(total / sw.sum() + l1 * np.abs(W).sum() + 0.5 * l2 * (W * W).sum())
    if average and t >= average:
        N = t - average + 1
        return avg_sum / N, avg_b_sum / N, np.array(objective)
    return W, b, np.array(objective)


def settings_of(config):
    """The reference's arguments for estimator parameters."""
    alpha = config.get("alpha", 1e-4)
    r = {"l2": 0.0, "l1": 1.0, "elasticnet": config.get("l1_ratio", 0.15), None: 0.0}[
        config.get("penalty", "l2")]
    return dict(l2=alpha * (1 - r), l1=alpha * r, optimizer=config.get("optimizer", "sgd"),
                eta0=config["eta0"], clip_norm=config.get("clip_norm"),
                average=int(config.get("average", 0)),
                schedule=config.get("learning_rate", "constant"),
                power_t=config.get("power_t", 0.5))


LAZY_CONFIGS = [
    dict(optimizer="momentum", eta0=0.05, alpha=1e-2),
    dict(optimizer="nesterov", eta0=0.05, alpha=1e-2),
    dict(optimizer="adagrad", eta0=0.1, alpha=1e-2),
    dict(optimizer="rmsprop", eta0=0.01, alpha=1e-2),
    dict(optimizer="adam", eta0=0.05, alpha=1e-2),
    dict(optimizer="adamw", eta0=0.05, alpha=1e-1),
    dict(optimizer="adam", eta0=0.05, penalty="l1", alpha=2e-2),
    dict(optimizer="adamw", eta0=0.05, penalty="elasticnet", alpha=5e-2, l1_ratio=0.5),
    dict(optimizer="momentum", eta0=0.05, penalty="elasticnet", alpha=3e-2, l1_ratio=0.5),
    dict(optimizer="adam", eta0=0.05, clip_norm=0.3),
    dict(optimizer="adagrad", eta0=0.1, average=3),
    dict(optimizer="rmsprop", eta0=0.01, learning_rate="invscaling", power_t=0.3),
    dict(eta0=0.3, penalty="elasticnet", alpha=5e-2, l1_ratio=0.5),
    dict(eta0=0.3, penalty="elasticnet", alpha=5e-2, l1_ratio=0.5, average=4),
    dict(eta0=0.3, penalty="l1", alpha=5e-2, average=True),
    dict(eta0=0.3, penalty="l1", alpha=5e-2, clip_norm=0.5, learning_rate="invscaling"),
]


def _id(config):
    return ",".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("config", LAZY_CONFIGS, ids=_id)
def test_lazy_updates_match_reference(config, batch_size):
    X, y = tiny_csr()
    sw = np.random.default_rng(5).uniform(0.5, 2.0, len(y))
    model = LogisticRegression(batch_size=batch_size, shuffle=False, tol=None, max_iter=3,
                               n_jobs=1, **config).fit(X, y, sample_weight=sw)
    W, b, objective = lazy_reference(X, y, epochs=3, batch_size=batch_size,
                                     sample_weight=sw, **settings_of(config))
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)
    if not config.get("average"):
        np.testing.assert_allclose(model.history_["objective"], objective, rtol=1e-10)
    assert model.coef_[0, -1] == 0.0  # never touched


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("config", [dict(optimizer="adam", eta0=0.05, alpha=1e-2),
                                    dict(eta0=0.2, penalty="elasticnet", alpha=5e-2,
                                         l1_ratio=0.5, average=2),
                                    dict(optimizer="nesterov", eta0=0.05, penalty="l1",
                                         alpha=1e-2, clip_norm=0.2)], ids=_id)
def test_lazy_multinomial_matches_reference(config, batch_size):
    X, y = tiny_csr(n=15, classes=3)
    model = LogisticRegression(batch_size=batch_size, shuffle=False, tol=None, max_iter=2,
                               n_jobs=1, **config).fit(X, y)
    W, b, _ = lazy_reference(X, y, loss="multinomial", k=3, epochs=2, batch_size=batch_size,
                             **settings_of(config))
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)


def test_lazy_regression_without_intercept_matches_reference():
    X, _ = tiny_csr()
    target = np.asarray(X @ np.arange(X.shape[1])).ravel() / 5.0
    config = dict(optimizer="adam", eta0=0.05, alpha=1e-2)
    model = LinearRegression(batch_size=1, shuffle=False, tol=None, max_iter=3, n_jobs=1,
                             fit_intercept=False, **config).fit(X, target)
    W, b, _ = lazy_reference(X, target, loss="squared", epochs=3, fit_intercept=False,
                             **settings_of(config))
    np.testing.assert_allclose(model.coef_.ravel(), W.ravel(), rtol=1e-10, atol=1e-12)


def test_elasticnet_lazy_is_close_to_dense():
    """The one approximation of per-sample SGD: the L1 credit of a
    coordinate stopped at 0 between touches is decayed."""
    X, y = tiny_csr(n=40, p=30)
    kwargs = dict(batch_size=1, shuffle=False, tol=None, max_iter=3, n_jobs=1, eta0=0.3,
                  penalty="elasticnet", alpha=1e-2, l1_ratio=0.5)
    dense = LogisticRegression(**kwargs).fit(X.toarray(), y)
    lazy = LogisticRegression(**kwargs).fit(X, y)
    np.testing.assert_allclose(lazy.coef_, dense.coef_, rtol=0, atol=1e-3)


def wide_csr(n, p, nnz_row, seed=0):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, p // 2, size=n * nnz_row)  # the upper half is never touched
    X = sp.csr_matrix((rng.standard_normal(n * nnz_row) / np.sqrt(nnz_row), indices,
                       np.arange(0, n * nnz_row + 1, nnz_row)), shape=(n, p))
    X.sum_duplicates()
    w = rng.standard_normal(p)
    y = (np.asarray(X @ w).ravel() + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("config", [dict(optimizer="adam", eta0=0.01, alpha=1e-3),
                                    dict(optimizer="momentum", eta0=0.01, alpha=1e-3),
                                    dict(eta0=0.1, penalty="l1", alpha=1e-4)], ids=_id)
def test_untouched_coordinates_are_not_touched_on_2_to_22_features(config):
    """Per-sample fits on 2^22 features: coordinates no row touches keep
    their warm-start value bit for bit (the lazy optimizers never visit
    them; the dense update would decay them through the L2 gradient), their
    optimizer state stays zero; the touched ones move.  (Cost: see
    benchmarks/sparse_lazy.py, p = 2^10 against 2^22.)"""
    p = 1 << 22
    X, y = wide_csr(200, p, 20)
    touched = np.unique(X.indices)
    start = np.zeros((1, p))
    start[0, p - 1000:] = 0.5
    start[0, touched] = 0.25
    model = LogisticRegression(batch_size=1, tol=None, max_iter=2, n_jobs=1, warm_start=True,
                               random_state=0, **config)
    model.coef_, model.intercept_ = start.copy(), np.zeros(1)
    model.fit(X, y)
    if config.get("penalty") == "l1":  # caught up at the epoch's end: 0.5 shrunk by sum eta*l1
        np.testing.assert_allclose(model.coef_[0, p - 1000:], 0.5 - 0.1 * 1e-4 * 400, rtol=1e-12)
    else:
        assert np.array_equal(model.coef_[0, p - 1000:], start[0, p - 1000:])
    assert np.all(model.coef_[0, touched] != 0.25)
    assert np.count_nonzero(model.coef_[0, p // 2:p - 1000]) == 0


def hashed_text_like(n, p, nnz_row, seed=0):
    """Rows of a few frequent (informative) and many rare features."""
    rng = np.random.default_rng(seed)
    frequent = rng.integers(0, 500, size=(n, nnz_row // 3))
    rare = rng.integers(500, p, size=(n, nnz_row - nnz_row // 3))
    indices = np.concatenate([frequent, rare], axis=1).ravel()
    X = sp.csr_matrix((np.ones(n * nnz_row) / np.sqrt(nnz_row), indices,
                       np.arange(0, n * nnz_row + 1, nnz_row)), shape=(n, p))
    X.sum_duplicates()
    w = np.zeros(p)
    w[:500] = 3.0 * rng.standard_normal(500)
    y = (np.asarray(X @ w).ravel() + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def test_hogwild_converges_like_one_thread_and_one_thread_is_reproducible():
    X, y = hashed_text_like(20000, 1 << 16, 30, seed=3)
    for config in (dict(eta0=0.1, alpha=1e-5), dict(optimizer="adagrad", eta0=0.05, alpha=1e-5),
                   dict(eta0=0.1, penalty="l1", alpha=1e-5, average=True),
                   dict(eta0=0.5, alpha=1e-5, batch_size=8),
                   dict(optimizer="adam", eta0=0.01, penalty="elasticnet", alpha=1e-5,
                        batch_size=16)):
        kwargs = dict(tol=None, max_iter=4, random_state=0, **{"batch_size": 1, **config})
        one = LogisticRegression(n_jobs=1, **kwargs).fit(X, y)
        again = LogisticRegression(n_jobs=1, **kwargs).fit(X, y)
        assert np.array_equal(one.coef_, again.coef_)
        assert np.array_equal(one.history_["objective"], again.history_["objective"])
        two = LogisticRegression(n_jobs=2, **kwargs).fit(X, y)
        assert two.n_iter_ == 4 and np.all(np.isfinite(two.coef_))
        # (loose enough for a loaded machine, where one thread may stall)
        np.testing.assert_allclose(two.history_["objective"], one.history_["objective"],
                                   rtol=2e-2)
        assert one.score(X, y) > 0.8
        # (one thread with other random_states spreads over +-0.03 here)
        assert abs(two.score(X, y) - one.score(X, y)) < 0.06
