"""The certificate pass (kernels.evaluate_dense/evaluate_csr through
_certificate.pass_sums) against NumPy's sums, and the vectorised exp its log
loss runs on against libm's."""
import math

import numpy as np
import pytest
import scipy.sparse as sp

from descend import _rules
from descend._certificate import pass_sums
from descend._engine import _kernels, kernels

BUILDS = sorted({_kernels, kernels}, key=lambda m: m.__name__)


def _reference(X, y, sw, w, b, name):
    """Per group: sum sw d x, sum sw d, sum sw d z, sum sw loss (float64)."""
    z = np.asarray(X @ w, dtype=np.float64).ravel() + b
    if name == "log_loss":
        loss = np.logaddexp(0.0, z) - y * z
        d = 0.5 * (1.0 + np.tanh(0.5 * z)) - y
        group = (y < 0.5).astype(int)
    elif name == "squared_error":
        loss, d = 0.5 * (z - y) ** 2, z - y
        group = (d > 0).astype(int)
    else:  # hinge, y in {-1, 1}
        loss = np.maximum(0.0, 1.0 - y * z)
        d = np.where(1.0 - y * z >= 0.0, -y, 0.0)
        group = (d > 0).astype(int)
    out = []
    for g in (0, 1):
        s = sw * (group == g)
        out.append((np.asarray(X.T @ (s * d)).ravel(), float(s @ d), float(s @ (d * z)),
                    float(s @ loss)))
    return out


@pytest.mark.parametrize("name", ["log_loss", "squared_error", "hinge"])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000, 70_001])
def test_pass_sums_equal_numpy(name, n):
    """Every group sum of one pass, for row counts around the kernel's
    block of 16 rows and over several chunks, dense and CSR, float32 and
    float64, with weights and with a subset of rows."""
    rng = np.random.default_rng(n)
    p = 7
    X = rng.standard_normal((n, p)) * rng.uniform(0.1, 30, p)
    X[rng.random((n, p)) < 0.3] = 0.0
    if name == "log_loss":
        y = (rng.random(n) < 0.4).astype(float)
    elif name == "hinge":
        y = np.where(rng.random(n) < 0.4, 1.0, -1.0)
    else:
        y = rng.standard_normal(n) * 3
    w = rng.standard_normal(p) * 0.3
    b = 0.2
    code = _rules.LOSSES[name].code
    for sw in (np.ones(n), rng.uniform(0.0, 3.0, n)):
        for rows in (None, np.sort(rng.choice(n, size=max(1, n // 3), replace=False))):
            Xr, yr, swr = (X, y, sw) if rows is None else (X[rows], y[rows], sw[rows])
            expected = _reference(Xr, yr, swr, w, b, name)
            for dtype in (np.float64, np.float32):
                Xd = X.astype(dtype)
                ref = expected if dtype == np.float64 else _reference(
                    *(a.astype(dtype).astype(np.float64) for a in (Xr, yr, swr)), w, b, name)
                for data in (Xd, sp.csr_matrix(Xd)):
                    sums, _ = pass_sums(data, y.astype(dtype), sw.astype(dtype),
                                        w[None, :], np.array([b]), code, 0.0, 2, rows)
                    for g in (0, 1):
                        G, R, T, L = ref[g]
                        scale = 1e-12 * (np.abs(swr).sum() * (1 + np.abs(Xr).max()) ** 2)
                        np.testing.assert_allclose(sums.G[g, 0], G, rtol=1e-11, atol=scale)
                        assert sums.R[g, 0] == pytest.approx(R, rel=1e-11, abs=scale)
                        assert sums.T[g] == pytest.approx(T, rel=1e-11, abs=scale)
                        assert sums.L[g] == pytest.approx(L, rel=1e-11, abs=scale)


@pytest.mark.parametrize("build", BUILDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_log_loss_exp_is_within_an_ulp_of_libm(build):
    """loss.h's branch-free exp (the log loss's certificate pass) is within
    one ulp of libm's exp(-|z|) down to |z| = 708; beyond, where exp leaves
    the normal range, it stays at exp(-708), and 1 / (1 + e) at 1; NaN
    stays NaN."""
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-708, 708, 20_000), rng.standard_normal(20_000) * 4,
                        rng.uniform(-1e-8, 1e-8, 2_000), np.arange(-708, 708.01, 0.25),
                        [0.0, -0.0, 5e-324, -5e-324, 708.0, -708.0]])
    e, inv = np.empty_like(z), np.empty_like(z)
    build.log_loss_parts(z, e, inv)
    libm = np.array([math.exp(-abs(v)) for v in z])
    assert np.all(np.abs(e - libm) <= np.spacing(libm))
    np.testing.assert_allclose(inv, 1.0 / (1.0 + libm), rtol=4e-16, atol=0)
    far = np.array([708.5, -709.0, 745.2, -800.0, 1e300, -np.inf, np.inf])
    e, inv = np.empty_like(far), np.empty_like(far)
    build.log_loss_parts(far, e, inv)
    assert np.all(e == e[0]) and e[0] == pytest.approx(math.exp(-708.0), rel=1e-15)
    assert np.all(inv == 1.0)
    e, inv = np.empty(1), np.empty(1)
    build.log_loss_parts(np.array([np.nan]), e, inv)
    assert np.isnan(e[0]) and np.isnan(inv[0])
