"""Newton's method (optimizer="newton", what "auto" runs on dense,
L2-penalised single-output full batches) and its curvature certificate.

References: an exact Newton iteration written here in NumPy (the full
Hessian, solved to machine precision), the closed-form ridge solution, and
the loss's second derivative by finite differences."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.datasets import load_breast_cancer

import descend
from descend import _newton
from descend._engine import _codes, kernels
from reference import binary_objective


def exact_logistic_optimum(X, y, alpha, sw=None, fit_intercept=True):
    """min (sw-weighted) mean log loss + alpha/2 |w|^2 by Newton's method with
    the whole Hessian, to machine precision (independent of descend)."""
    n, p = X.shape
    sw = np.ones(n) if sw is None else np.asarray(sw, dtype=float)
    D = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X.copy()
    pen = np.full(D.shape[1], alpha)
    if fit_intercept:
        pen[-1] = 0.0
    w = np.zeros(D.shape[1])
    for _ in range(100):
        z = D @ w
        s = expit(z)
        g = D.T @ (sw * (s - y)) / sw.sum() + pen * w
        H = (D * (sw * s * (1 - s))[:, None]).T @ D / sw.sum() + np.diag(pen)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-15 * max(1.0, np.abs(w).max()):
            break
    coef, intercept = (w[:-1], w[-1]) if fit_intercept else (w, 0.0)
    return binary_objective(X, y, coef, intercept, alpha, sw)


def gap_of(model, X, y, alpha, optimum, sw=None):
    value = binary_objective(X, y, model.coef_, model.intercept_, alpha, sw)
    return (value - optimum) / optimum


def problem(seed, n, p, row_scale=1.0, correlated=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if correlated:  # features close to a common factor
        X = 0.2 * X + rng.standard_normal((n, 1))
    rows = np.exp(rng.uniform(-np.log(row_scale), np.log(row_scale), n)) if row_scale > 1 \
        else np.ones(n)
    X *= rows[:, None]
    y = (X @ rng.standard_normal(p) / np.sqrt(p) + rng.logistic(size=n) > 0).astype(float)
    return X, y


# --------------------------------------------------------------------------
# the method reaches the optimum
# --------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["auto", "newton"])
def test_breast_cancer_raw_and_standardised_reach_the_optimum(optimizer):
    X, y = load_breast_cancer(return_X_y=True)
    y = y.astype(float)
    for data in (X, (X - X.mean(0)) / X.std(0)):
        optimum = exact_logistic_optimum(data, y, 1e-4)
        model = descend.LogisticRegression(optimizer=optimizer).fit(data, y)
        assert model.converged_ and model.history_.stop_reason == "tol"
        assert model.history_["gap"][-1] <= 1e-6
        assert gap_of(model, data, y, 1e-4, optimum) <= 1e-6


def test_readme_claim_breast_cancer_iterations(breast_cancer):
    """README: on standardised breast cancer (alpha 1e-4) Newton certifies
    1e-6 after 9 iterations, L-BFGS after 95."""
    X, y = breast_cancer
    newton = descend.LogisticRegression().fit(X, y)
    lbfgs = descend.LogisticRegression(optimizer="lbfgs").fit(X, y)
    assert newton.converged_ and lbfgs.converged_
    assert newton.n_iter_ == 9
    assert 90 <= lbfgs.n_iter_ <= 100  # (its dot products round by the BLAS's order)


def test_auto_is_newton_on_dense_l2_and_lbfgs_on_csr():
    X, y = problem(0, 3000, 12)
    auto = descend.LogisticRegression().fit(X, y)
    newton = descend.LogisticRegression(optimizer="newton").fit(X, y)
    lbfgs = descend.LogisticRegression(optimizer="lbfgs").fit(X, y)
    np.testing.assert_array_equal(auto.coef_, newton.coef_)
    assert auto.n_iter_ < lbfgs.n_iter_ / 2
    csr = descend.LogisticRegression().fit(sp.csr_matrix(X), y)
    csr_lbfgs = descend.LogisticRegression(optimizer="lbfgs").fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(csr.coef_, csr_lbfgs.coef_)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sample_weights_float32_and_no_intercept(fit_intercept):
    X, y = problem(1, 4000, 8)
    sw = np.random.default_rng(2).uniform(0.0, 3.0, len(y))
    optimum = exact_logistic_optimum(X, y, 1e-3, sw, fit_intercept)
    model = descend.LogisticRegression(alpha=1e-3, optimizer="newton",
                                       fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    assert model.converged_
    assert gap_of(model, X, y, 1e-3, optimum, sw) <= 1e-6
    model32 = descend.LogisticRegression(alpha=1e-3, optimizer="newton", tol=1e-5,
                                         fit_intercept=fit_intercept).fit(
        X.astype(np.float32), y, sample_weight=sw)
    assert model32.coef_.dtype == np.float32 and model32.converged_
    assert gap_of(model32, X, y, 1e-3, optimum, sw) <= 1e-5


def test_ridge_is_the_closed_form_solution(diabetes):
    X, y = diabetes
    alpha = 1e-2
    n, p = X.shape
    Xc, yc = X - X.mean(0), y - y.mean()
    coef = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(p), Xc.T @ yc / n)
    model = descend.LinearRegression(alpha=alpha, optimizer="newton", tol=1e-12).fit(X, y)
    assert model.converged_
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-9, atol=1e-9 * np.abs(coef).max())
    # the squared loss's Hessian is exact with every row: one Newton step
    assert model.n_iter_ == 1


def test_scale_features_reaches_the_optimum_of_its_own_objective():
    X, y = problem(3, 2000, 6)
    X = X * np.array([1e-3, 1.0, 1e3, 5.0, 0.1, 20.0]) + 7.0
    model = descend.LogisticRegression(optimizer="newton", scale_features=True).fit(X, y)
    Xs = (X - X.mean(0)) / X.std(0)
    optimum = exact_logistic_optimum(Xs, y, 1e-4)
    coef = model.coef_ * X.std(0)  # back to the scaled problem's coefficients
    intercept = model.intercept_ + model.coef_ @ X.mean(0)
    value = binary_objective(Xs, y, coef, intercept, 1e-4)
    assert model.converged_ and (value - optimum) / optimum <= 1e-6


def test_early_stopping_rows_are_left_out_of_the_hessian():
    """The validation rows are held out of every pass and of the Hessian:
    the fit equals one on the training rows alone."""
    X, y = problem(4, 5000, 10)
    model = descend.LogisticRegression(optimizer="newton", early_stopping=True,
                                       validation_fraction=0.2, random_state=0,
                                       n_iter_no_change=50).fit(X, y)
    assert model.history_.stop_reason == "tol"
    train = np.setdiff1d(np.arange(len(y)), _held_out(model, X, y))
    alone = descend.LogisticRegression(optimizer="newton").fit(X[train], y[train])
    np.testing.assert_allclose(model.coef_, alone.coef_, rtol=1e-9, atol=1e-12)


def _held_out(model, X, y):
    """The rows early stopping held out (the solver's own seeded split)."""
    from descend._problem import validation_split
    prob = model._problem(np.ascontiguousarray(X), y.astype(np.int64), None)
    return validation_split(prob, model._settings(X))[1]


# --------------------------------------------------------------------------
# the certificate: converged_ never claims a gap it does not have
# --------------------------------------------------------------------------

CASES = [dict(seed=s, n=n, p=p, row_scale=r, correlated=c)
         for s, (n, p, r, c) in enumerate([
             (600, 5, 1.0, False), (600, 5, 30.0, False), (2000, 20, 1.0, True),
             (2000, 20, 100.0, True), (400, 40, 10.0, False), (3000, 3, 1e3, False),
             (1500, 12, 1.0, False), (1500, 12, 1.0, True)])]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
@pytest.mark.parametrize("subsample", [False, True], ids=["all-rows", "subsampled"])
@pytest.mark.parametrize("alpha", [1e-2, 1e-5])
def test_converged_never_claims_a_gap_it_does_not_have(case, subsample, alpha, monkeypatch):
    """Badly scaled rows (up to 1e3 apart) and correlated features make the
    self-concordance constant large and the Hessian ill-conditioned; the
    certificate with a Hessian from every row, and from a sixteenth of them,
    must stay an upper bound of the true gap at every tol."""
    if subsample:
        monkeypatch.setattr(_newton, "WHOLE_HESSIAN_WORK", 0)
        monkeypatch.setattr(_newton, "HESSIAN_SHARE", 0)
        monkeypatch.setattr(_newton, "MIN_ROWS_PER_COEFFICIENT", 0)
        monkeypatch.setattr(_newton, "hessian_rows", lambda n, d: max(1, n // 16))
    X, y = problem(**case)
    optimum = exact_logistic_optimum(X, y, alpha)
    for tol in (1e-3, 1e-6, 1e-9):
        model = descend.LogisticRegression(alpha=alpha, optimizer="newton", tol=tol,
                                           max_iter=200).fit(X, y)
        true_gap = gap_of(model, X, y, alpha, optimum)
        certified = model.history_["gap"][-1]
        rounding = 1e-13
        assert true_gap <= certified + rounding, (tol, true_gap, certified)
        if model.converged_:
            assert true_gap <= tol + rounding


def test_newton_certifies_a_tight_tol_in_a_third_of_lbfgs_iterations():
    """The point of it: the curvature certificate is within a small factor
    of the true gap, where L-BFGS's duality gap (|g|^2 / (2 alpha) here)
    is orders of magnitude above it, so a tight tol costs few iterations."""
    X, y = problem(5, 5000, 20, correlated=True)
    optimum = exact_logistic_optimum(X, y, 1e-5)
    model = descend.LogisticRegression(alpha=1e-5, optimizer="newton", tol=1e-8).fit(X, y)
    assert model.converged_
    true_gap = gap_of(model, X, y, 1e-5, optimum)
    lbfgs = descend.LogisticRegression(alpha=1e-5, optimizer="lbfgs", tol=1e-8).fit(X, y)
    assert model.n_iter_ < lbfgs.n_iter_ / 3
    assert model.history_["gap"][-1] <= 1e-8


# --------------------------------------------------------------------------
# where it applies
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, fit_kwargs, match", [
    (dict(), dict(sparse=True), "sparse X"),
    (dict(), dict(classes=3), "3 outputs"),
    (dict(penalty="l1"), dict(), "L1 penalty"),
    (dict(penalty="elasticnet", l1_ratio=0.5), dict(), "L1 penalty"),
])
def test_newton_names_what_it_cannot_fit(kwargs, fit_kwargs, match):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = rng.integers(0, fit_kwargs.get("classes", 2), 60)
    if fit_kwargs.get("sparse"):
        X = sp.csr_matrix(X)
    with pytest.raises(ValueError, match=f"optimizer='newton' cannot fit.*{match}"):
        descend.LogisticRegression(optimizer="newton", **kwargs).fit(X, y)


def test_newton_needs_full_batches():
    X, y = problem(6, 100, 3)
    with pytest.raises(ValueError, match="batch_size=None"):
        descend.LogisticRegression(optimizer="newton", batch_size=16).fit(X, y)


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive"])
def test_newton_rejects_a_loss_without_a_second_derivative(loss):
    X, y = problem(7, 100, 3)
    with pytest.raises(ValueError, match="no second derivative"):
        descend.SGDRegressor(optimizer="newton", loss=loss, batch_size=None,
                             learning_rate="constant").fit(X, y)


def test_too_many_coefficients_fall_back_to_lbfgs_under_auto():
    X, y = problem(8, 600, _newton.MAX_COEFFICIENTS)
    auto = descend.LogisticRegression(tol=1e-4).fit(X, y)
    lbfgs = descend.LogisticRegression(optimizer="lbfgs", tol=1e-4).fit(X, y)
    np.testing.assert_array_equal(auto.coef_, lbfgs.coef_)
    with pytest.raises(ValueError, match="more than 256"):
        descend.LogisticRegression(optimizer="newton").fit(X, y)


# --------------------------------------------------------------------------
# the C second derivative
# --------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["log", "squared"])
def test_loss_curvature_is_the_second_derivative(loss):
    code = _codes.LOSS_NAMES.index(loss)
    z = np.array([-40.0, -5.0, -1.0, -1e-3, 0.0, 0.3, 2.0, 7.0, 35.0])
    y = np.full_like(z, 1.0)
    out = np.empty_like(z)
    kernels.loss_curvatures(code, z, np.ones_like(z), out)
    h = 1e-4
    values = [np.empty_like(z) for _ in range(3)]
    for v, shift in zip(values, (-h, 0.0, h)):
        kernels.loss_values(code, 0.0, z + shift, y, v)
    finite = (values[0] - 2 * values[1] + values[2]) / h ** 2
    np.testing.assert_allclose(out, finite, rtol=1e-4, atol=1e-9)
    # the self-concordance the certificate relies on: |(log l'')'| <= c
    c = _newton.loss_by_code(code).concordance
    up, down = np.empty_like(z), np.empty_like(z)
    kernels.loss_curvatures(code, z + h, np.ones_like(z), up)
    kernels.loss_curvatures(code, z - h, np.ones_like(z), down)
    assert np.all(np.abs(np.log(up) - np.log(down)) / (2 * h) <= c + 1e-6)


# --------------------------------------------------------------------------
# one read checks X's finiteness and sums its squares (validation)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_squares_is_exact_and_not_finite_on_any_bad_entry(dtype):
    values = np.random.default_rng(0).standard_normal(100_003).astype(dtype)
    for threads in (1, 2):
        total = kernels.sum_of_squares(values, np.empty(7), threads)
        assert total == pytest.approx(float(values.astype(np.float64) @ values), rel=1e-12)
    for bad in (np.nan, np.inf, -np.inf):
        spoiled = values.copy()
        spoiled[77_777] = bad
        assert not np.isfinite(kernels.sum_of_squares(spoiled, np.empty(7), 2))
    assert kernels.sum_of_squares(values[:0], np.empty(1), 1) == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_bad_entry_of_x_is_named_by_the_fused_check(bad):
    X, y = problem(9, 300, 4)
    X[123, 2] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        descend.LogisticRegression().fit(X, y)


def test_newton_gives_the_same_bits_for_any_thread_count(monkeypatch):
    """Its passes, Hessian and margins reduce over chunks fixed by the shape,
    in a fixed order (the design's promise for full batch).  (Sized so the
    passes use two threads; the Hessian's kernel is made to, too.)"""
    monkeypatch.setattr(_newton, "GRAM_WORK_SHARE", 1)
    X, y = problem(10, 120_000, 40)
    one = descend.LogisticRegression(n_jobs=1).fit(X, y)
    two = descend.LogisticRegression(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)
    np.testing.assert_array_equal(one.history_["gap"], two.history_["gap"])


# --------------------------------------------------------------------------
# the small dense algebra (descend's own Cholesky, no LAPACK)
# --------------------------------------------------------------------------

def _spd(seed, d, condition):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    M = (Q * np.geomspace(1.0, 1.0 / condition, d)) @ Q.T
    scale = np.exp(rng.uniform(-4, 4, d))  # badly scaled rows and columns
    return scale[:, None] * M * scale[None, :], rng.standard_normal(d)


@pytest.mark.parametrize("d", [1, 2, 7, 21, 64])
@pytest.mark.parametrize("condition", [1.0, 1e6, 1e12])
def test_half_norm_and_scaled_solve_match_numpy(d, condition):
    M, g = _spd(d, d, condition)
    exact = np.linalg.solve(M, g)
    half = kernels.half_norm(M, g, np.empty((d, d)), np.empty(d))
    assert half == pytest.approx(0.5 * float(g @ exact), rel=1e-6 * condition ** 0.5 + 1e-12)
    out = np.empty(d)
    assert kernels.scaled_solve(M, g, 0.0, np.empty((d, d)), out)
    np.testing.assert_allclose(M @ out, g, rtol=0, atol=1e-7 * condition * np.abs(g).max())
    # the ridge is added to the Jacobi-scaled matrix: S (S M S + r I)^-1 S g
    s = 1.0 / np.sqrt(np.diag(M))
    ridged = np.linalg.solve(M * np.outer(s, s) + 0.5 * np.eye(d), s * g) * s
    assert kernels.scaled_solve(M, g, 0.5, np.empty((d, d)), out)
    np.testing.assert_allclose(out, ridged, rtol=1e-10, atol=1e-14 * np.abs(ridged).max())


def test_the_factorisation_says_when_a_matrix_is_not_positive_definite():
    M = np.diag([2.0, 1.0, -1e-9])
    g = np.ones(3)
    assert kernels.half_norm(M, g, np.empty((3, 3)), np.empty(3)) == np.inf
    assert not kernels.scaled_solve(M, g, 0.0, np.empty((3, 3)), np.empty(3))
    assert not kernels.cholesky(np.diag([1.0, np.nan]), np.empty((2, 2)))
    # a shift moves the smallest eigenvalue: M + shift I
    A = np.diag([3.0, 0.4])
    L = np.empty((2, 2))
    assert not kernels.cholesky(A, L, -0.5)
    assert kernels.cholesky(A, L, -0.3)
    np.testing.assert_allclose(L @ L.T, A - 0.3 * np.eye(2), rtol=1e-14)
    # Newton's solve with no positive-definite ridge left: the Jacobi step
    H = np.array([[4.0, np.nan], [np.nan, 1.0]])
    np.testing.assert_array_equal(_newton._solve(H, np.array([2.0, 3.0])), [0.5, 3.0])
    # a singular (semi-definite) Hessian is solved with a small ridge
    S = np.array([[1.0, 1.0], [1.0, 1.0]])
    step = _newton._solve(S, np.array([1.0, 1.0]))
    np.testing.assert_allclose(S @ step, [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p, intercept", [(1, False), (4, True), (20, True), (33, False)])
@pytest.mark.parametrize("pick", ["all", "stride", "index"])
def test_curvature_gram_is_the_weighted_gram_of_the_design_rows(dtype, p, intercept, pick):
    """The Hessian's kernel against NumPy: sum_r sw loss''(x_r . z) x_r x_r'
    over the picked rows, x_r = [(X_r - mu) * inv_sigma, 1], any d (its 8-row
    groups leave a remainder), one or several chunks."""
    rng = np.random.default_rng(p)
    n = 1003
    X = (rng.standard_normal((n, p)) * 3 + 1).astype(dtype)
    sw = rng.uniform(0.1, 2.0, n).astype(dtype)
    mu, inv_sigma = rng.standard_normal(p), rng.uniform(0.5, 2.0, p)
    d = p + intercept
    z = rng.standard_normal(d) * 0.3
    picked = {"all": np.arange(n), "stride": np.arange(0, n, 3),
              "index": np.sort(rng.choice(n, 400, replace=False))}[pick]
    rows = picked if pick == "index" else np.empty(0, dtype=np.int64)
    stride = 3 if pick == "stride" else 1
    D = (X[picked].astype(np.float64) - mu) * inv_sigma
    if intercept:
        D = np.hstack([D, np.ones((len(picked), 1))])
    s = expit(D @ z)
    weights = sw[picked].astype(np.float64) * s * (1 - s)
    expected = (D * weights[:, None]).T @ D
    log = _codes.LOSS_NAMES.index("log")
    for chunks in (1, 3):
        out = np.empty((d, d))
        work = np.empty((chunks, d * d + kernels.GRAM_ROWS * (d + 1)))
        kernels.curvature_gram(X, rows, len(picked), stride, sw, mu, inv_sigma, intercept, z,
                               log, out, work, 2)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
        np.testing.assert_array_equal(out, out.T)


@pytest.mark.parametrize("n", [1500, 2500, 4000, 6000, 30_000])
def test_auto_is_newton_for_small_dense_problems_of_every_size(n):
    """Between "every row" and the sub-sampled Hessian's share of the
    rows, the floor of MIN_HESSIAN_ROWS rows keeps "auto" on Newton."""
    X, y = problem(1, n, 20)
    auto = descend.LogisticRegression().fit(X, y)
    newton = descend.LogisticRegression(optimizer="newton").fit(X, y)
    np.testing.assert_array_equal(auto.coef_, newton.coef_)
    assert auto.converged_ and auto.n_iter_ <= 8
