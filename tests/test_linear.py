"""LinearRegression against closed forms on real and synthetic data."""
import numpy as np
import pytest

from descend import LinearRegression

from reference import squared_objective


def lstsq_with_intercept(X, y):
    A = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    return solution[:-1], solution[-1]


def ridge_closed_form(X, y, alpha, sample_weight=None):
    """argmin sum_i w_i (y_i - x_i.c - b)^2 / (2 sum w) + alpha/2 ||c||^2."""
    n, p = X.shape
    w = np.ones(n) if sample_weight is None else sample_weight
    w = w / w.sum()
    A = np.column_stack([X, np.ones(n)])
    H = A.T @ (w[:, None] * A)
    H[:p, :p] += alpha * np.eye(p)
    solution = np.linalg.solve(H, A.T @ (w * y))
    return solution[:-1], solution[-1]


def test_default_fit_matches_lstsq_on_diabetes(diabetes):
    """Every default: coefficients within 1e-6 of lstsq on load_diabetes,
    which is badly conditioned (kappa ~ 5e4), and converged_ says so."""
    X, y = diabetes
    coef, intercept = lstsq_with_intercept(X, y)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-6)
    assert model.converged_ and model.history_.stop_reason == "tol"
    assert model.n_iter_ < 200


def test_gradient_descent_matches_lstsq_on_diabetes(diabetes):
    X, y = diabetes
    coef, intercept = lstsq_with_intercept(X, y)
    # plain gradient descent needs many cheap epochs; the kernels run them
    # in blocks.
    model = LinearRegression(optimizer="sgd", alpha=0.0, tol=None,
                             max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-6)
    assert model.n_iter_ == 1_000_000 and model.history_.stop_reason == "max_iter"


@pytest.mark.parametrize("alpha", [1e-3, 1e-1])
def test_full_batch_ridge_matches_closed_form_on_diabetes(diabetes, alpha):
    X, y = diabetes
    coef, intercept = ridge_closed_form(X, y, alpha)
    # kappa = (1 + alpha) / (alpha + 2e-5): 50k epochs are ample for 1e-6
    model = LinearRegression(optimizer="sgd", alpha=alpha, tol=None,
                             max_iter=50_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-6)
    # the objective at the last epoch's start equals the closed form's
    optimum = squared_objective(X, y, coef, intercept, alpha)
    assert model.history_["objective"][-1] == pytest.approx(optimum, rel=1e-12)
    # the default (lbfgs, certified): the same optimum in few passes
    default = LinearRegression(alpha=alpha).fit(X, y)
    assert default.converged_ and default.n_iter_ < 100
    achieved = squared_objective(X, y, default.coef_, default.intercept_, alpha)
    assert (achieved - optimum) / optimum <= 1e-6
    assert default.history_["gap"][-1] <= 1e-6


def test_full_batch_matches_ridge_on_synthetic_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 40))
    y = X @ rng.standard_normal(40) + 3.0 + 0.5 * rng.standard_normal(3000)
    coef, intercept = ridge_closed_form(X, y, 0.01)
    model = LinearRegression(alpha=0.01, tol=None, max_iter=300).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-9)
    optimum = squared_objective(X, y, coef, intercept, 0.01)
    assert model.history_["objective"][-1] == pytest.approx(optimum, rel=1e-10)


def test_tol_stops_a_converged_fit(diabetes):
    X, y = diabetes
    model = LinearRegression(alpha=0.1, tol=1e-10, n_iter_no_change=3,
                             max_iter=100_000).fit(X, y)
    assert model.converged_ and model.history_.stop_reason == "tol"
    assert model.n_iter_ < 100_000
    coef, intercept = ridge_closed_form(X, y, 0.1)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-3)


def test_without_intercept_matches_closed_form(diabetes):
    X, y = diabetes
    p = X.shape[1]
    alpha = 1e-2
    coef = np.linalg.solve(X.T @ X / len(X) + alpha * np.eye(p), X.T @ y / len(X))
    model = LinearRegression(alpha=alpha, fit_intercept=False, tol=None,
                             max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6)
    assert model.intercept_ == 0.0


@pytest.mark.parametrize("batch_size", [1, 16])
def test_stochastic_fits_reach_one_percent_of_optimum(batch_size):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 10))
    y = X @ rng.standard_normal(10) + 1.0 + rng.standard_normal(2000)
    alpha = 1e-3
    optimum = squared_objective(X, y, *ridge_closed_form(X, y, alpha), alpha)
    # noisy targets: a constant step stalls at a noise floor, a decaying
    # step (eta0/sqrt(t)) converges
    model = LinearRegression(alpha=alpha, batch_size=batch_size, tol=None,
                             learning_rate="invscaling", max_iter=100,
                             random_state=0).fit(X, y)
    achieved = squared_objective(X, y, model.coef_, model.intercept_, alpha)
    assert optimum <= achieved <= 1.01 * optimum


def test_sample_weight_matches_weighted_closed_form(diabetes):
    X, y = diabetes
    sw = np.random.default_rng(2).uniform(0.1, 3.0, len(y))
    coef, intercept = ridge_closed_form(X, y, 0.1, sw)
    model = LinearRegression(alpha=0.1, tol=None, max_iter=200_000).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-6)


def test_weight_two_equals_duplicated_row_full_batch(diabetes):
    X, y = diabetes
    X, y = X[:100], y[:100]
    sw = np.ones(100)
    sw[:10] = 2.0
    weighted = LinearRegression(alpha=0.01, tol=None, max_iter=500).fit(X, y, sample_weight=sw)
    X_dup = np.vstack([X, X[:10]])
    y_dup = np.concatenate([y, y[:10]])
    duplicated = LinearRegression(alpha=0.01, tol=None, max_iter=500).fit(X_dup, y_dup)
    # same objective, same step size; only the summation order differs
    np.testing.assert_allclose(weighted.coef_, duplicated.coef_, rtol=1e-10)
    np.testing.assert_allclose(weighted.eta0_, duplicated.eta0_, rtol=1e-6)


def test_predict_and_score(diabetes):
    X, y = diabetes
    model = LinearRegression(tol=None, max_iter=100).fit(X, y)
    np.testing.assert_allclose(model.predict(X), X @ model.coef_ + model.intercept_)
    residual = y - model.predict(X)
    r2 = 1 - residual @ residual / np.sum((y - y.mean()) ** 2)
    assert model.score(X, y) == pytest.approx(r2)
