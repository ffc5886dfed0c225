"""Binary and multinomial logistic regression trained by gradient descent."""
from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _solver
from ._base import GradientDescentEstimator, fill_docstring
from ._validation import check_parameters, check_sample_weight

FLOAT_DTYPES = (np.float64, np.float32)


def _encode_labels(y):
    """Sorted classes and each sample's class index.

    One sort of y (``np.unique``) and a binary search per sample: half the
    cost of ``np.unique(return_inverse=True)`` plus scikit-learn's
    ``type_of_target`` on large y, with the same errors.
    """
    try:
        classes = np.unique(y)
    except TypeError:
        raise ValueError(
            "Unknown label type: y mixes label types (e.g. strings and numbers); "
            "use labels of one type.") from None
    if y.dtype.kind == "f" and not np.all(classes == np.floor(classes)):
        raise ValueError(
            "Unknown label type: 'continuous'. LogisticRegression needs class labels "
            "in y; for real-valued targets use descend.LinearRegression.")
    if len(classes) < 2:
        raise ValueError(
            f"y contains only one class ({classes[0]!r}); a classifier needs samples "
            f"of at least 2 classes to learn from.")
    return classes, np.searchsorted(classes, y)


@fill_docstring
class LogisticRegression(ClassifierMixin, GradientDescentEstimator):
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

    def __init__(self, *, batch_size=None, learning_rate="constant", eta0="auto",
                 power_t=0.5, penalty="l2", alpha=1e-4, fit_intercept=True,
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
            Class labels, of any type; at least two distinct classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample; the loss is the weighted mean.

        Returns
        -------
        self : LogisticRegression
            The fitted estimator.
        """
        check_parameters(self)
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, order="C",
                             multi_output=False)
        self.classes_, y_index = _encode_labels(y)
        n_classes = len(self.classes_)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        y_encoded = np.ascontiguousarray(y_index, dtype=X.dtype)
        if n_classes == 2:
            return self._run_solver(X, y_encoded, sw, _solver.LOG, 1)
        return self._run_solver(X, y_encoded, sw, _solver.MULTINOMIAL, n_classes)

    def _set_coefficients(self, coef, intercept):
        self.coef_ = coef
        self.intercept_ = intercept

    def decision_function(self, X):
        """Linear scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Binary: the log-odds of ``classes_[1]``; multinomial: the logits.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def predict_proba(self, X):
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

    def predict_log_proba(self, X):
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
