"""descend's estimators on Dask: data larger than one machine.

``pip install "descend[dask]"`` (dask and distributed).  Each class here is
the descend estimator of the same name with three more parameters
(``mode``, ``average_every``, ``round_timeout``): in-memory input trains
exactly as with the parent; Dask arrays (dense, or with scipy.sparse CSR
chunks) and Dask DataFrames train on the dask.distributed cluster of the
current Client, with descend's own kernels running on every chunk where it
lives.  X is never collected onto the client: per round only coefficients
and O(n_features) vectors travel.

::

    from distributed import Client
    client = Client()                  # or Client("scheduler-address:8786")
    from descend.dask import LogisticRegression
    model = LogisticRegression(alpha=1e-4).fit(X, y)     # X, y: Dask collections
    model.predict_proba(X)                               # a lazy Dask array
    model.history_.to_frame(), model.rounds_.to_frame()  # per iteration, per round trip

Two modes (``mode=``): "exact", data-parallel full batch (the in-memory
default method, the same optimum and certificate), and "local_sgd", local
SGD with periodic averaging.  docs/dask.md says when to use which, what
travels per round, and how faults and interrupts are handled.
"""
from __future__ import annotations

try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'descend.dask needs dask and distributed: pip install "descend[dask]"') from exc

from sklearn.utils.metaestimators import available_if

from . import _linear, _logistic, _sgd
from ._classes import partial_fit_labels
from ._dask._collection import is_dask
from ._dask._estimator import DaskMixin, dask_estimator
from ._dask._record import ROUND_COLUMNS, Rounds
from ._validation import check_sample_weight

__all__ = ["LinearRegression", "LogisticRegression", "ROUND_COLUMNS", "Rounds",
           "SGDClassifier", "SGDRegressor"]

DASK_INPUT = """

        Dask input (a Dask Array or DataFrame X with y, and sample_weight
        if given, as Dask collections of the same partitions) trains on the
        current dask.distributed Client's cluster in the way ``mode`` says;
        X is never collected onto the client."""


class _Regressor(DaskMixin):
    """partial_fit and predict of the regressors."""

    _y_numeric = True

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over these rows, continuing the previous fit/partial_fit.

        In memory: the parent's ``partial_fit``. On Dask input: one round of
        mode "local_sgd" (one epoch on each chunk, then the average),
        continuing the averaged model and optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Training rows.
        y : array-like or Dask collection of shape (n_samples,)
            Target values.
        sample_weight : array-like or Dask collection of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : estimator
            The updated estimator.
        """
        if not is_dask(X, y, sample_weight):
            return super().partial_fit(X, y, sample_weight)
        return self._partial_fit_dask(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted targets ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray or Dask Array of shape (n_samples,)
            Predictions; a lazy Dask array, computed block by block on the
            workers, for Dask input.
        """
        return self._predict_with("predict", X)


class _Classifier(DaskMixin):
    """partial_fit and the predictions of the classifiers."""

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over these rows, continuing the previous fit/partial_fit.

        In memory: the parent's ``partial_fit``. On Dask input: one round of
        mode "local_sgd" (one epoch on each chunk, then the average),
        continuing the averaged model and optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Training rows.
        y : array-like or Dask collection of shape (n_samples,)
            Their labels, all among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label the model will see; required on the first call.
        sample_weight : array-like or Dask collection of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : estimator
            The updated estimator.
        """
        if not is_dask(X, y, sample_weight):
            return super().partial_fit(X, y, classes, sample_weight)
        return self._partial_fit_dask(X, y, classes, sample_weight)

    def predict(self, X):
        """Class of each sample: the positive side, or the best score.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray or Dask Array of shape (n_samples,)
            Predicted labels, from ``classes_``; a lazy Dask array, computed
            block by block on the workers, for Dask input.
        """
        return self._predict_with("predict", X)

    def decision_function(self, X):
        """Linear scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray or Dask Array of shape (n_samples,) or (n_samples, n_classes)
            As the parent's; a lazy Dask array for Dask input.
        """
        return self._predict_with("decision_function", X)

    def _proba_available(self):
        """As the parent: SGDClassifier gives probabilities for some losses only."""
        check = getattr(super(), "_has_proba", None)
        return True if check is None else check()

    @available_if(_proba_available)
    def predict_proba(self, X):
        """Class probabilities, as the parent computes them.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray or Dask Array of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; a lazy Dask array for
            Dask input.
        """
        return self._predict_with("predict_proba", X)

    @available_if(_proba_available)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask Array, Dask DataFrame} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray or Dask Array of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_``; a lazy Dask array
            for Dask input.
        """
        return self._predict_with("predict_log_proba", X)


def _fit_doc(cls):
    """The parent's fit docstring with a note on Dask input."""
    doc = cls._in_memory_class.fit.__doc__
    first, _, rest = doc.partition("\n\n")
    cls.fit.__doc__ = first + DASK_INPUT + "\n\n" + rest
    return cls


@_fit_doc
@dask_estimator
class LinearRegression(_Regressor, _linear.LinearRegression):
    """Linear regression by gradient descent, in memory or on a Dask cluster."""

    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, sample_weight, coef_init, intercept_init)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return [self._problem(X, y, sample_weight)]


@_fit_doc
@dask_estimator
class LogisticRegression(_Classifier, _logistic.LogisticRegression):
    """Binary and multinomial logistic regression, in memory or on a Dask cluster."""

    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, sample_weight, coef_init, intercept_init)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return [self._problem(X, partial_fit_labels(self, y, None, False), sample_weight)]


@_fit_doc
@dask_estimator
class SGDClassifier(_Classifier, _sgd.SGDClassifier):
    """Linear classifiers by stochastic gradient descent, in memory or on a Dask cluster."""

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, coef_init, intercept_init, sample_weight)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return self._problems(X, partial_fit_labels(self, y, None, False),
                              check_sample_weight(sample_weight, X.shape[0], X.dtype))


@_fit_doc
@dask_estimator
class SGDRegressor(_Regressor, _sgd.SGDRegressor):
    """Linear regression by stochastic gradient descent, in memory or on a Dask cluster."""

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, coef_init, intercept_init, sample_weight)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return [self._problem(X, y, check_sample_weight(sample_weight, X.shape[0], X.dtype),
                              True)]
