"""Independent NumPy/SciPy references the tests compare descend against."""
import numpy as np
from scipy.special import logsumexp


def binary_objective(X, y, coef, intercept, alpha, sample_weight=None):
    """Mean log loss + alpha/2 ||coef||^2, written independently in NumPy."""
    z = X @ np.ravel(coef) + np.ravel(intercept)[0]
    loss = np.logaddexp(0.0, z) - y * z
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    return np.sum(sw * loss) / np.sum(sw) + 0.5 * alpha * np.sum(np.square(coef))


def multinomial_objective(X, y_index, coef, intercept, alpha):
    Z = X @ coef.T + intercept
    loss = logsumexp(Z, axis=1) - Z[np.arange(len(y_index)), y_index]
    return np.mean(loss) + 0.5 * alpha * np.sum(np.square(coef))


def squared_objective(X, y, coef, intercept, alpha):
    r = X @ coef + intercept - y
    return 0.5 * np.mean(r * r) + 0.5 * alpha * np.sum(np.square(coef))
