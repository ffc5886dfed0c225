"""L1 and elastic-net penalties (issue 4): scikit-learn's Lasso, ElasticNet and
L1 logistic regression, and hand-written loops of the documented proximal and
cumulative-penalty updates."""
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import ElasticNet, Lasso
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from descend import LinearRegression, LogisticRegression

RTOL, ATOL = 1e-12, 1e-15


def objective(X, y, coef, intercept, alpha, l1_ratio, loss):
    """mean loss + alpha * (r ||w||_1 + (1 - r)/2 ||w||^2), in NumPy."""
    coef = np.ravel(coef)
    z = X @ coef + np.ravel(intercept)[0]
    if loss == "squared":
        mean_loss = 0.5 * np.mean((z - y) ** 2)
    else:
        mean_loss = np.mean(np.logaddexp(0.0, z) - y * z)
    return mean_loss + alpha * (l1_ratio * np.abs(coef).sum()
                                + 0.5 * (1 - l1_ratio) * coef @ coef)


def hand_sgd(X, y, loss, *, eta, epochs, batch_size, alpha, l1_ratio):
    """Plain sgd with the documented penalty handling, rows in order: L2 part
    added to the gradient; L1 part a proximal step (batch_size != 1) or the
    cumulative penalty of Tsuruoka et al. (2009) (batch_size == 1)."""
    n, p = X.shape
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    w, b = np.zeros(p), 0.0
    u, q = 0.0, np.zeros(p)
    clipped = 0  # how often the cumulative penalty stopped a weight at zero
    B = n if batch_size is None else batch_size
    for _ in range(epochs):
        for s in range(0, n, B):
            Xb, yb = X[s:s + B], y[s:s + B]
            z = Xb @ w + b
            d = z - yb if loss == "squared" else expit(z) - yb
            gw, gb = Xb.T @ d / len(yb) + l2 * w, d.mean()
            w, b = w - eta * gw, b - eta * gb
            if batch_size != 1:
                w = np.sign(w) * np.maximum(np.abs(w) - eta * l1, 0.0)
                continue
            u += eta * l1
            for j in range(p):
                w0 = w[j]
                if w0 > 0:
                    w[j] = max(0.0, w0 - (u + q[j]))
                elif w0 < 0:
                    w[j] = min(0.0, w0 + (u - q[j]))
                clipped += w0 != 0 and w[j] == 0
                q[j] += w[j] - w0
    return w, b, clipped


def small_problem(n, loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    signal = X @ np.array([1.5, -1.0, 0.0, 0.0, 0.4, 0.0]) + 0.3
    if loss == "squared":
        return X, signal + 0.2 * rng.standard_normal(n)
    return X, (signal + 0.5 * rng.standard_normal(n) > 0).astype(float)


# --------------------------------------------------------------------------
# full batch against scikit-learn
# --------------------------------------------------------------------------

def _assert_same_solution(model, ref):
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-5, atol=1e-5)
    assert model.intercept_ == pytest.approx(ref.intercept_, abs=1e-5)
    np.testing.assert_array_equal(model.coef_ == 0, ref.coef_ == 0)  # exact zeros


@pytest.mark.parametrize("alpha, n_zeros", [(0.5, 6), (1.5, 8)])
def test_l1_full_batch_matches_lasso_on_diabetes(diabetes, alpha, n_zeros):
    """Lasso minimises 1/(2n) ||y - Xw - b||^2 + alpha ||w||_1: the same
    objective as penalty="l1" with the same alpha."""
    X, y = diabetes
    ref = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    assert np.sum(ref.coef_ == 0) == n_zeros
    model = LinearRegression(penalty="l1", alpha=alpha, tol=None, max_iter=30_000,
                             fit_intercept=True).fit(X, y)  # constant 1/L step
    _assert_same_solution(model, ref)
    assert objective(X, y, model.coef_, model.intercept_, alpha, 1.0, "squared") == \
        pytest.approx(objective(X, y, ref.coef_, ref.intercept_, alpha, 1.0, "squared"),
                      rel=1e-12)


@pytest.mark.parametrize("alpha, l1_ratio, n_zeros", [(1.0, 0.8, 4), (0.2, 0.9, 1)])
def test_elasticnet_full_batch_matches_sklearn_on_diabetes(diabetes, alpha, l1_ratio, n_zeros):
    """ElasticNet minimises 1/(2n) ||.||^2 + a r ||w||_1 + a (1 - r)/2 ||w||^2."""
    X, y = diabetes
    ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100_000).fit(X, y)
    assert np.sum(ref.coef_ == 0) == n_zeros
    model = LinearRegression(penalty="elasticnet", alpha=alpha, l1_ratio=l1_ratio, tol=None,
                             max_iter=3000).fit(X, y)
    _assert_same_solution(model, ref)


def test_l1_line_search_reaches_the_lasso_objective(diabetes):
    X, y = diabetes
    alpha = 1.5
    ref = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    optimum = objective(X, y, ref.coef_, ref.intercept_, alpha, 1.0, "squared")
    model = LinearRegression(penalty="l1", alpha=alpha, learning_rate="line_search",
                             eta0=100.0, tol=None, max_iter=3000).fit(X, y)
    achieved = objective(X, y, model.coef_, model.intercept_, alpha, 1.0, "squared")
    assert achieved == pytest.approx(optimum, rel=1e-8)
    np.testing.assert_array_equal(model.coef_ == 0, ref.coef_ == 0)
    # the recorded objective (at each iteration's end point) includes the L1
    # term, starts below the zero model's and never increases
    h = model.history_["objective"]
    first = LinearRegression(penalty="l1", alpha=alpha, learning_rate="line_search",
                             eta0=100.0, tol=None, max_iter=1).fit(X, y)
    assert h[0] == pytest.approx(objective(X, y, first.coef_, first.intercept_, alpha, 1.0,
                                           "squared"), rel=1e-12)
    assert h[0] < 0.5 * np.mean(y ** 2)
    assert np.all(np.diff(h) <= 1e-13 * h[1:])


@pytest.fixture(scope="module")
def l1_logistic_reference(breast_cancer):
    """scikit-learn's saga on C sum(loss) + ||w||_1, i.e. alpha = 1 / (C n)."""
    X, y = breast_cancer
    alpha = 0.03
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogisticRegression(penalty="l1", C=1.0 / (len(y) * alpha), solver="saga",
                                   tol=1e-12, max_iter=100_000).fit(X, y)
    return alpha, ref


@pytest.mark.parametrize("learning_rate, max_iter", [("line_search", 1000),
                                                     ("constant", 20_000)])
def test_l1_logistic_full_batch_matches_saga(breast_cancer, l1_logistic_reference,
                                             learning_rate, max_iter):
    X, y = breast_cancer
    alpha, ref = l1_logistic_reference
    assert np.sum(ref.coef_ == 0) == 24
    model = LogisticRegression(penalty="l1", alpha=alpha, learning_rate=learning_rate,
                               tol=None, max_iter=max_iter).fit(X, y)
    ours = objective(X, y, model.coef_, model.intercept_, alpha, 1.0, "log")
    theirs = objective(X, y, ref.coef_, ref.intercept_, alpha, 1.0, "log")
    assert ours <= theirs * (1 + 1e-8)
    np.testing.assert_array_equal(model.coef_ == 0, ref.coef_ == 0)
    assert model.history_["objective"][-1] == pytest.approx(ours, rel=1e-6)


# --------------------------------------------------------------------------
# exact update rules
# --------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["squared", "log"])
@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.6)])
@pytest.mark.parametrize("batch_size", [None, 8])
def test_proximal_steps_match_hand_loop(loss, penalty, l1_ratio, batch_size):
    X, y = small_problem(30, loss, seed=1)
    alpha, eta = 0.15, 0.2
    Estimator = LinearRegression if loss == "squared" else LogisticRegression
    model = Estimator(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, eta0=eta,
                      batch_size=batch_size, shuffle=False, tol=None, max_iter=4).fit(X, y)
    w, b, _ = hand_sgd(X, y, loss, eta=eta, epochs=4, batch_size=batch_size, alpha=alpha,
                       l1_ratio=l1_ratio)
    assert np.sum(w == 0) >= 1  # the prox produced exact zeros ...
    np.testing.assert_allclose(np.ravel(model.coef_), w, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(np.ravel(model.coef_) == 0, w == 0)  # ... and so did descend
    assert np.ravel(model.intercept_)[0] == pytest.approx(b, rel=RTOL)


@pytest.mark.parametrize("loss", ["squared", "log"])
@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.7)])
def test_per_sample_cumulative_l1_penalty_matches_hand_loop(loss, penalty, l1_ratio):
    X, y = small_problem(12, loss, seed=2)
    alpha, eta = 0.08, 0.1
    Estimator = LinearRegression if loss == "squared" else LogisticRegression
    model = Estimator(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, eta0=eta,
                      batch_size=1, shuffle=False, tol=None, max_iter=3).fit(X, y)
    w, b, clipped = hand_sgd(X, y, loss, eta=eta, epochs=3, batch_size=1, alpha=alpha,
                             l1_ratio=l1_ratio)
    assert clipped >= 3  # the penalty stopped weights at zero several times
    np.testing.assert_allclose(np.ravel(model.coef_), w, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(np.ravel(model.coef_) == 0, w == 0)
    assert np.ravel(model.intercept_)[0] == pytest.approx(b, rel=RTOL)


def test_cumulative_penalty_differs_from_a_per_step_prox():
    """Per-sample L1 is NOT the naive per-step soft-threshold."""
    X, y = small_problem(12, "squared", seed=2)
    model = LinearRegression(penalty="l1", alpha=0.08, eta0=0.1, batch_size=1, shuffle=False,
                             tol=None, max_iter=3).fit(X, y)
    w, _, _ = hand_sgd(X, y, "squared", eta=0.1, epochs=3, batch_size=1, alpha=0.08,
                       l1_ratio=1.0)
    naive = np.zeros(6)
    b = 0.0
    for _ in range(3):
        for i in range(12):
            r = X[i] @ naive + b - y[i]
            naive, b = naive - 0.1 * r * X[i], b - 0.1 * r
            naive = np.sign(naive) * np.maximum(np.abs(naive) - 0.1 * 0.08, 0.0)
    assert np.abs(w - naive).max() > 1e-4
    np.testing.assert_allclose(model.coef_, w, rtol=RTOL, atol=ATOL)


def test_l1_mini_batches_give_exact_zeros():
    """Shuffled mini-batches: the proximal step leaves the irrelevant features
    at exactly zero (batches of 100 keep the gradient noise well below alpha)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 12))
    y = X[:, :3] @ np.array([2.0, -1.5, 1.0]) + 0.1 * rng.standard_normal(400)
    model = LinearRegression(penalty="l1", alpha=0.2, batch_size=100, eta0=0.1,
                             random_state=0, tol=None, max_iter=30).fit(X, y)
    assert np.all(model.coef_[3:] == 0.0)
    assert np.all(np.abs(model.coef_[:3]) > 0.5)
    lasso = Lasso(alpha=0.2).fit(X, y)
    np.testing.assert_array_equal(model.coef_ == 0, lasso.coef_ == 0)
    np.testing.assert_allclose(model.coef_, lasso.coef_, atol=0.05)
    clf = LogisticRegression(penalty="l1", alpha=0.1, batch_size=100, eta0=0.1,
                             random_state=0, tol=None, max_iter=15).fit(X, y > 0)
    assert np.sum(clf.coef_[0, 3:] == 0.0) >= 6
    assert np.all(clf.coef_[0, :3] != 0.0)


def test_intercept_is_never_penalised():
    """A constant target with a huge L1 penalty: all weights 0, intercept = mean."""
    X, _ = small_problem(40, "squared", seed=4)
    y = np.full(40, 7.0) + 0.01 * X[:, 0]
    for penalty in ("l1", "elasticnet"):
        model = LinearRegression(penalty=penalty, alpha=10.0, tol=None, max_iter=500).fit(X, y)
        assert np.all(model.coef_ == 0.0)
        assert model.intercept_ == pytest.approx(y.mean(), rel=1e-12)


# --------------------------------------------------------------------------
# consistency of the penalty family
# --------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [None, 1, 5])
def test_elasticnet_endpoints_equal_l2_and_l1(batch_size):
    X, y = small_problem(20, "log", seed=5)
    kwargs = dict(alpha=0.1, eta0=0.2, batch_size=batch_size, shuffle=False, tol=None,
                  max_iter=3)
    pairs = [(LogisticRegression(penalty="elasticnet", l1_ratio=0.0, **kwargs),
              LogisticRegression(penalty="l2", **kwargs)),
             (LogisticRegression(penalty="elasticnet", l1_ratio=1.0, **kwargs),
              LogisticRegression(penalty="l1", **kwargs))]
    for a, b in pairs:
        a.fit(X, y), b.fit(X, y)
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-14)


def test_l1_ratio_is_ignored_outside_elasticnet():
    X, y = small_problem(20, "squared", seed=6)
    for penalty in ("l1", "l2", None):
        a = LinearRegression(penalty=penalty, l1_ratio=0.15, alpha=0.1, eta0=0.1, tol=None,
                             max_iter=3).fit(X, y)
        b = LinearRegression(penalty=penalty, l1_ratio=0.9, alpha=0.1, eta0=0.1, tol=None,
                             max_iter=3).fit(X, y)
        np.testing.assert_array_equal(a.coef_, b.coef_)


def test_no_penalty_ignores_alpha():
    X, y = small_problem(20, "squared", seed=7)
    a = LinearRegression(penalty=None, alpha=5.0, eta0=0.1, tol=None, max_iter=3).fit(X, y)
    b = LinearRegression(penalty="l2", alpha=0.0, eta0=0.1, tol=None, max_iter=3).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-14)
    w, b0, _ = hand_sgd(X, y, "squared", eta=0.1, epochs=3, batch_size=None, alpha=0.0,
                        l1_ratio=0.0)
    np.testing.assert_allclose(a.coef_, w, rtol=RTOL)
    assert a.intercept_ == pytest.approx(b0, rel=RTOL)


def test_default_l1_ratio_is_0_15(diabetes):
    X, y = diabetes
    assert LinearRegression().l1_ratio == 0.15 and LogisticRegression().l1_ratio == 0.15
    ref = ElasticNet(alpha=0.2, l1_ratio=0.15, tol=1e-12, max_iter=100_000).fit(X, y)
    model = LinearRegression(penalty="elasticnet", alpha=0.2, tol=None, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-5)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------

@pytest.mark.parametrize("Estimator", [LinearRegression, LogisticRegression])
@pytest.mark.parametrize("param, value", [
    ("l1_ratio", -0.1), ("l1_ratio", 1.1), ("l1_ratio", np.nan), ("l1_ratio", "half"),
    ("penalty", "l3"), ("penalty", "elastic_net"),
])
def test_bad_penalty_parameters_name_the_parameter(Estimator, param, value):
    X, y = small_problem(20, "log")
    model = Estimator(**{"penalty": "elasticnet", param: value})
    assert getattr(model, param) is value
    with pytest.raises(ValueError,
                       match=rf"The '{param}' parameter of {Estimator.__name__} must be .* Got"):
        model.fit(X, y)


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0, 0.5])
def test_l1_ratio_bounds_are_inclusive(l1_ratio):
    X, y = small_problem(20, "log")
    LogisticRegression(penalty="elasticnet", l1_ratio=l1_ratio, tol=None, max_iter=2).fit(X, y)
