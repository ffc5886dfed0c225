"""Binary and multinomial logistic regression trained by gradient descent."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import ClassifierMixin

from . import _solver
from ._base import GradientDescentEstimator, LinearClassifierMixin
from ._classes import (
    ClassWeightDict, check_partial_fit_classes, class_weight_vector, encode_labels,
    partial_fit_labels, weigh_by_class)
from ._inputs import validate_X_y
from ._params import CONSTRAINTS, fill_docstring, store_parameters
from ._rules import LOSSES
from ._typing import ArrayLike, MatrixLike, RandomState
from ._validation import NONE, Options, check_sample_weight


@fill_docstring
class LogisticRegression(LinearClassifierMixin, ClassifierMixin, GradientDescentEstimator):
    """Logistic regression by batch, mini-batch or stochastic gradient descent.

    Two classes: binary log loss on one linear function (``coef_`` of shape
    (1, n_features), as scikit-learn). More classes: ONE multinomial
    (softmax) model, not one-vs-rest, with ``coef_`` of shape (n_classes,
    n_features). Minimises the sample-weighted mean cross-entropy +
    ``alpha/2 * ||coef||^2``; with ``alpha = 1/(C * n_samples)`` this is
    scikit-learn's ``LogisticRegression(C=C)`` objective divided by
    ``C * n_samples``. Labels may be of any type (strings included).

    Parameters
    ----------
    {parameters}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights: a dict
        {{label: weight}} (missing labels weigh 1), or "balanced":
        ``n_samples / (n_classes * count(label))`` as scikit-learn.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, in X's dtype.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``). With more than two
        classes they sum to zero when the fit starts from zero.
    {fitted_attributes}

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from descend import LogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = LogisticRegression(alpha=1e-3).fit(X, y)
    >>> model.score(X, y) > 0.97
    True
    """

    def __init__(self, *, batch_size: int | None = None, optimizer: str = "auto",
                 momentum: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999,
                 rho: float = 0.99, eps: float = 1e-8, learning_rate: str = "constant",
                 eta0: float | str = "auto", power_t: float = 0.5,
                 decay_rate: float = 0.9, decay_steps: int = 10,
                 warmup_epochs: float = 0.0, penalty: str | None = "l2",
                 alpha: float = 1e-4, l1_ratio: float = 0.15,
                 clip_norm: float | None = None, fit_intercept: bool = True,
                 scale_features: bool = False, max_iter: int = 1000,
                 tol: float | str | None = "auto", stopping: str = "gap",
                 certify_every: int | str = "auto", n_iter_no_change: int = 5,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 keep_best: bool = False,
                 callback: Callable[[dict], object] | None = None,
                 warm_start: bool = False, average: bool | int = False,
                 shuffle: bool = True, random_state: RandomState = None,
                 n_jobs: int | None = None, verbose: int = 0,
                 class_weight: dict | str | None = None) -> None:
        store_parameters(self, locals())

    _parameter_constraints = {
        **CONSTRAINTS,
        "class_weight": [NONE, Options("balanced"), ClassWeightDict()],
    }

    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
            coef_init: ArrayLike | None = None,
            intercept_init: ArrayLike | float | None = None) -> LogisticRegression:
        """Fit the model by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. C-contiguous float32/float64 arrays and CSR
            matrices (float32/float64 values, int32/int64 indices) are used
            without a copy; other input is converted once.
        y : array-like of shape (n_samples,)
            Class labels, of any type; at least two distinct classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample; the loss is the weighted mean.
        coef_init : array-like of shape (1, n_features) or (n_classes, n_features), default=None
            Starting coefficients (not modified).
        intercept_init : array-like of shape (1,) or (n_classes,), default=None
            Starting intercepts.

        Returns
        -------
        self : LogisticRegression
            The fitted estimator.
        """
        self._check_params()
        X, y = validate_X_y(self, X, y, reset=True)
        self.classes_, y_index = encode_labels(y, type(self).__name__)
        return self._fit_problems([self._problem(X, y_index, sample_weight)], coef_init,
                                  intercept_init)

    def partial_fit(self, X: MatrixLike, y: ArrayLike, classes: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> LogisticRegression:
        """One epoch over these rows, continuing the previous fit/partial_fit
        (coefficients, optimizer state, update count, history).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Their labels, all among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label the model will see; required on the first call, and
            if given later it must equal ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : LogisticRegression
            The updated estimator.
        """
        self._check_params()
        first = not hasattr(self, "classes_")
        check_partial_fit_classes(self, classes, first)
        X, y = validate_X_y(self, X, y, reset=not hasattr(self, "n_features_in_"),
                            dtype=self._partial_dtypes())
        y_index = partial_fit_labels(self, y, classes, first)
        return self._partial_fit_problems([self._problem(X, y_index, sample_weight)])

    def _problem(self, X, y_index, sample_weight):
        """Binary log loss on 0/1 labels, or the multinomial loss on class
        indices; the class weights multiplied into the sample weights."""
        k = len(self.classes_)
        loss, n_outputs = (LOSSES["log_loss"].code, 1) if k == 2 else (
            LOSSES["multinomial"].code, k)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if self.class_weight is not None:
            per_class = class_weight_vector(self.class_weight, self.classes_, y_index)
            sw = weigh_by_class(sw, per_class[y_index], X.dtype)
        return _solver.Problem(X=X, y=np.ascontiguousarray(y_index, dtype=X.dtype),
                               sample_weight=sw, loss=loss, n_outputs=n_outputs)

    def _public_shapes(self, n_outputs, n_features):
        return (n_outputs, n_features), (n_outputs,)

    def _set_coefficients(self, coef, intercept):
        self.coef_ = coef
        self.intercept_ = intercept

    def predict_proba(self, X: MatrixLike) -> np.ndarray:
        """Class probabilities (sigmoid, or softmax for several classes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to 1.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p1 = expit(scores)
            return np.column_stack([1.0 - p1, p1])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """Logarithm of the class probabilities, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)
