"""What the four estimators share as linear models: scores, sparsify and
densify, and numerically safe probabilities."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.datasets import load_digits

import descend

ALL = [descend.LinearRegression, descend.LogisticRegression, descend.SGDClassifier,
       descend.SGDRegressor]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparsify_and_densify_round_trip(cls, n_classes):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6))
    regression = cls in (descend.LinearRegression, descend.SGDRegressor)
    y = X[:, 0] + 0.1 * rng.standard_normal(120) if regression else np.arange(120) % n_classes
    model = cls(penalty="l1", alpha=0.05, max_iter=20, random_state=0).fit(X, y) \
        if cls is not descend.LinearRegression else cls(penalty="l1", alpha=0.05, max_iter=20).fit(X, y)
    dense_coef = np.array(model.coef_)
    expected = model.predict(X)
    assert model.sparsify() is model and sp.issparse(model.coef_)
    np.testing.assert_allclose(model.predict(X), expected)
    np.testing.assert_allclose(model.predict(sp.csr_matrix(X)), expected)
    assert model.densify() is model and not sp.issparse(model.coef_)
    assert model.coef_.shape == dense_coef.shape
    np.testing.assert_array_equal(model.coef_, dense_coef)
    # warm_start continues from a sparsified model's coefficients
    model.sparsify().set_params(warm_start=True, max_iter=1).fit(X, y)
    assert np.all(np.isfinite(np.asarray(model.coef_)))


def test_one_vs_rest_log_loss_probabilities_do_not_underflow_in_float32():
    """Each class's sigmoid is below float32's smallest normal for some
    digits rows; the probabilities are normalised in log space, so they are
    the ratios of the sigmoids, not 1/K."""
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    model = descend.SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=5, tol=None,
                                  random_state=0).fit(X, y)
    scores = model.decision_function(X).astype(np.float64)
    proba = model.predict_proba(X)
    assert proba.dtype == np.float32
    raw = expit(scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_raw = -np.logaddexp(0.0, -scores)
        expected = np.exp(log_raw - log_raw.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # rows where every class's float32 sigmoid is 0 are not made uniform
    tiny = np.all(raw.astype(np.float32) == 0.0, axis=1)
    assert tiny.any()
    assert np.all(proba[tiny].max(axis=1) > 1.5 / proba.shape[1])
