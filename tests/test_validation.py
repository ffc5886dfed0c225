"""Bad input gets a clear error naming the argument, before any kernel runs."""
import numpy as np
import pytest

from descend import LinearRegression, LogisticRegression

ESTIMATORS = [LinearRegression, LogisticRegression]
X_OK = np.random.default_rng(0).standard_normal((20, 3))
Y_OK = np.arange(20) % 2


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("param, value", [
    ("batch_size", 0), ("batch_size", 2.5), ("batch_size", "32"),
    ("learning_rate", "optimal-ish"), ("eta0", 0.0), ("eta0", -1.0), ("eta0", "fast"),
    ("eta0", np.inf), ("power_t", -0.5), ("penalty", "l3"), ("alpha", -1e-4),
    ("alpha", np.nan), ("fit_intercept", "yes"), ("max_iter", 0), ("max_iter", 10.5),
    ("tol", -1.0), ("n_iter_no_change", 0), ("shuffle", 1), ("random_state", "seed"),
    ("n_jobs", 0), ("n_jobs", 1.5), ("verbose", -1),
])
def test_bad_hyperparameter_names_the_parameter(Estimator, param, value):
    model = Estimator(**{param: value})  # __init__ only stores
    assert getattr(model, param) is value
    with pytest.raises(ValueError, match=rf"The '{param}' parameter of {Estimator.__name__} must be .* Got"):
        model.fit(X_OK, Y_OK)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("X, y, error, message", [
    (np.array([[1.0, np.nan]] * 4), [0, 1, 0, 1], ValueError, "Input X contains NaN"),
    (np.array([[1.0, np.inf]] * 4), [0, 1, 0, 1], ValueError, "Input X contains infinity"),
    (np.array([["a", "b"]] * 4), [0, 1, 0, 1], ValueError, "could not convert|dtype"),
    (np.empty((0, 3)), [], ValueError, "0 sample"),
    (np.ones((4, 0)), [0, 1, 0, 1], ValueError, "0 feature"),
    (np.ones(4), [0, 1, 0, 1], ValueError, "Expected a 2-dimensional|2D array"),
    (np.ones((4, 2)), [0, 1, 0], ValueError, "inconsistent numbers of samples"),
    (np.ones((4, 2, 2)), [0, 1, 0, 1], ValueError, "dim 3|3-dimensional|3D"),
])
def test_bad_data_gets_a_clear_error(Estimator, X, y, error, message):
    with pytest.raises(error, match=message):
        Estimator().fit(X, y)


def test_nan_in_y_is_rejected():
    with pytest.raises(ValueError, match="Input y contains NaN"):
        LinearRegression().fit(X_OK, np.where(Y_OK, np.nan, 1.0))


def test_classifier_needs_two_classes_and_class_labels():
    with pytest.raises(ValueError, match="only one class"):
        LogisticRegression().fit(X_OK, np.zeros(20))
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(X_OK, np.linspace(0, 1, 20))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("sample_weight, message", [
    (np.ones(19), r"sample_weight must have shape \(20,\)"),
    (-np.ones(20), "negative"),
    (np.zeros(20), "sums to zero"),
    (np.full(20, np.nan), "NaN or infinity"),
    (["a"] * 20, "sample_weight must be numeric"),
])
def test_bad_sample_weight(Estimator, sample_weight, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Estimator().fit(X_OK, Y_OK, sample_weight=sample_weight)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_predict_checks_the_feature_count(Estimator):
    model = Estimator(max_iter=2, tol=None).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 3), np.nan))
