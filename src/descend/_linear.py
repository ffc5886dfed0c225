"""Least-squares linear regression trained by gradient descent."""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _solver
from ._base import GradientDescentEstimator, fill_docstring
from ._validation import check_parameters, check_sample_weight

FLOAT_DTYPES = (np.float64, np.float32)


@fill_docstring
class LinearRegression(RegressorMixin, GradientDescentEstimator):
    """Linear regression by batch, mini-batch or stochastic gradient descent.

    Minimises ``sum_i w_i * 0.5 * (y_i - x_i . coef - intercept)^2 / sum_i w_i
    + alpha/2 * ||coef||^2`` (least squares; ridge when ``alpha > 0``).
    float32 X is trained in float32 and gives float32 coefficients.

    Parameters
    ----------
    {batch_size}
    {learning_rate}
    {eta0}
    {power_t}
    {penalty}
    {alpha}
    {fit_intercept}
    {max_iter}
    {tol}
    {n_iter_no_change}
    {shuffle}
    {random_state}
    {n_jobs}
    {verbose}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients, in X's dtype.
    intercept_ : float
        Intercept (0 when ``fit_intercept=False``), in X's dtype.
    {fitted_attributes}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from descend import LinearRegression
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = LinearRegression(tol=1e-8, max_iter=5000).fit(X, y)
    >>> round(model.score(X, y), 2)
    0.52
    """

    def __init__(self, *, batch_size=None, learning_rate="constant", eta0="auto",
                 power_t=0.5, penalty="l2", alpha=0.0, fit_intercept=True,
                 max_iter=1000, tol=1e-4, n_iter_no_change=5, shuffle=True,
                 random_state=None, n_jobs=None, verbose=0):
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.penalty = penalty
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Fit the model by gradient descent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. C-contiguous float32/float64 arrays are used
            without a copy; other input is converted once.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample; the loss is the weighted mean.

        Returns
        -------
        self : LinearRegression
            The fitted estimator.
        """
        check_parameters(self)
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, order="C",
                             y_numeric=True, multi_output=False)
        y = np.ascontiguousarray(y, dtype=X.dtype)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._run_solver(X, y, sw, _solver.SQUARED, 1)

    def _set_coefficients(self, coef, intercept):
        self.coef_ = coef[0]
        self.intercept_ = intercept[0]

    def predict(self, X):
        """Predicted targets ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions, in the coefficients' dtype.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return X @ self.coef_ + self.intercept_
