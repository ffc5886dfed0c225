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

    A 2-D target Y of shape (n_samples, n_targets) fits one independent
    problem per column, as scikit-learn's ``LinearRegression`` and ``Ridge``
    do (in parallel threads when ``n_jobs`` allows; each output is trained
    exactly as a 1-D fit of its column with the same settings, except for
    its shuffling seed): ``coef_`` is then (n_targets, n_features),
    ``intercept_`` (n_targets,) and ``predict`` returns (n_samples,
    n_targets), also for a single column. ``converged_`` is True only when
    every output is certified; ``history_`` combines the outputs per epoch
    (objective: their sum; gap: the largest; updates: their sum;
    grad_norm: the norm over all outputs; ``stop_reason`` "tol" only when
    every output was certified, else the first other reason); ``n_iter_``
    is the most epochs any output ran.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients, in X's dtype; one row per target for a 2-D y.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0 when ``fit_intercept=False``), in X's dtype; one per
        target for a 2-D y.
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
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values; a 2-D y fits one independent output per column.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample (shared by every target); the
            loss is the weighted mean.
        coef_init : array-like of shape (n_features,) or (n_targets, n_features), default=None
            Starting coefficients (not modified).
        intercept_init : float or array-like of shape (n_targets,), default=None
            Starting intercept(s).

        Returns
        -------
        self : LinearRegression
            The fitted estimator.
        """
        self._check_params()
        X, y = validate_X_y(self, X, y, reset=True, y_numeric=True, multi_output=True)
        self._targets_2d = y.ndim == 2
        return self._fit_problems(self._problems(X, y, sample_weight), coef_init,
                                  intercept_init)

    def partial_fit(self, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> LinearRegression:
        """One epoch over these rows, continuing the previous fit/partial_fit
        (coefficients, optimizer state, update count, history).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values, of the shape the previous calls had.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : LinearRegression
            The updated estimator.
        """
        self._check_params()
        first = not hasattr(self, "coef_")
        X, y = validate_X_y(self, X, y, reset=first, dtype=self._partial_dtypes(),
                            y_numeric=True, multi_output=True)
        if first:
            self._targets_2d = y.ndim == 2
        elif (y.ndim == 2) != self._multi_output() or (
                y.ndim == 2 and y.shape[1] != np.size(self.intercept_)):
            shape = np.shape(self.intercept_)
            raise ValueError(
                f"partial_fit: y has shape {y.shape}, but the model was fitted on "
                f"{'(n_samples, %d)' % shape[0] if shape else '(n_samples,)'} targets. "
                f"Pass targets of that shape, or fit a new model.")
        return self._partial_fit_problems(self._problems(X, y, sample_weight))

    def _problems(self, X, y, sample_weight):
        """One least-squares problem per column of a 2-D y (one for a 1-D y),
        sharing X and the sample weights."""
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        columns = y.T if y.ndim == 2 else [y]
        return [self._problem(X, column, sample_weight) for column in columns]

    def _problem(self, X, y, sample_weight):
        return _solver.Problem(
            X=X, y=np.ascontiguousarray(y, dtype=X.dtype),
            sample_weight=check_sample_weight(sample_weight, X.shape[0], X.dtype),
            loss=LOSSES["squared_error"].code, n_outputs=1)

    def _multi_output(self):
        """Whether the fit's target was 2-D (a loaded model: from coef_;
        paths that fit 1-D targets only, as descend.dask's, set no flag)."""
        targets_2d = getattr(self, "_targets_2d", None)
        if targets_2d is None:
            return hasattr(self, "coef_") and np.ndim(self.coef_) == 2
        return targets_2d

    def _public_shapes(self, n_outputs, n_features):
        if self._multi_output():
            return (n_outputs, n_features), (n_outputs,)
        return (n_features,), ()

    def _set_coefficients(self, coef, intercept):
        if self._multi_output():
            self.coef_, self.intercept_ = coef, intercept
        else:
            self.coef_ = coef[0]
            self.intercept_ = intercept[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predicted targets ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, in the coefficients' dtype; one column per target
            when the model was fitted on a 2-D y.
        """
        scores = self._scores(X)
        return scores if self._multi_output() else scores.ravel()
