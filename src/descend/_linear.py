"""Least-squares linear regression trained by gradient descent."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import RegressorMixin

from . import _solver
from ._base import GradientDescentEstimator, LinearModelMixin
from ._inputs import validate_X_y
from ._params import fill_docstring, store_parameters
from ._rules import LOSSES
from ._typing import ArrayLike, MatrixLike, RandomState
from ._validation import check_sample_weight


@fill_docstring
class LinearRegression(LinearModelMixin, RegressorMixin, GradientDescentEstimator):
    """Linear regression by batch, mini-batch or stochastic gradient descent.

    Minimises ``sum_i w_i * 0.5 * (y_i - x_i . coef - intercept)^2 / sum_i w_i
    + alpha/2 * ||coef||^2`` (least squares; ridge when ``alpha > 0``).
    float32 X is trained in float32 and gives float32 coefficients.

    Parameters
    ----------
    {parameters}

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

    def __init__(self, *, batch_size: int | None = None, optimizer: str = "auto",
                 momentum: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999,
                 rho: float = 0.99, eps: float = 1e-8, learning_rate: str = "constant",
                 eta0: float | str = "auto", power_t: float = 0.5,
                 decay_rate: float = 0.9, decay_steps: int = 10,
                 warmup_epochs: float = 0.0, penalty: str | None = "l2",
                 alpha: float = 0.0, l1_ratio: float = 0.15,
                 clip_norm: float | None = None, fit_intercept: bool = True,
                 scale_features: bool = False, max_iter: int = 1000,
                 tol: float | str | None = "auto", stopping: str = "gap",
                 certify_every: int | str = "auto", n_iter_no_change: int = 5,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 keep_best: bool = False,
                 callback: Callable[[dict], object] | None = None,
                 warm_start: bool = False, average: bool | int = False,
                 shuffle: bool = True, random_state: RandomState = None,
                 n_jobs: int | None = None, verbose: int = 0) -> None:
        store_parameters(self, locals())

    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
            coef_init: ArrayLike | None = None,
            intercept_init: ArrayLike | float | None = None) -> LinearRegression:
        """Fit the model by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. C-contiguous float32/float64 arrays and CSR
            matrices (float32/float64 values, int32/int64 indices) are used
            without a copy; other input is converted once.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample; the loss is the weighted mean.
        coef_init : array-like of shape (n_features,), default=None
            Starting coefficients (not modified).
        intercept_init : float, default=None
            Starting intercept.

        Returns
        -------
        self : LinearRegression
            The fitted estimator.
        """
        self._check_params()
        X, y = validate_X_y(self, X, y, reset=True, y_numeric=True)
        return self._fit_problems([self._problem(X, y, sample_weight)], coef_init,
                                  intercept_init)

    def partial_fit(self, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> LinearRegression:
        """One epoch over these rows, continuing the previous fit/partial_fit
        (coefficients, optimizer state, update count, history).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : LinearRegression
            The updated estimator.
        """
        self._check_params()
        X, y = validate_X_y(self, X, y, reset=not hasattr(self, "coef_"),
                            dtype=self._partial_dtypes(), y_numeric=True)
        return self._partial_fit_problems([self._problem(X, y, sample_weight)])

    def _problem(self, X, y, sample_weight):
        return _solver.Problem(
            X=X, y=np.ascontiguousarray(y, dtype=X.dtype),
            sample_weight=check_sample_weight(sample_weight, X.shape[0], X.dtype),
            loss=LOSSES["squared_error"].code, n_outputs=1)

    def _public_shapes(self, n_outputs, n_features):
        return (n_features,), ()

    def _set_coefficients(self, coef, intercept):
        self.coef_ = coef[0]
        self.intercept_ = intercept[0]

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predicted targets ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions, in the coefficients' dtype.
        """
        return self._scores(X).ravel()
