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

from . import _linear, _logistic, _sgd
from ._classes import partial_fit_labels
from ._dask._collection import is_dask
from ._dask._estimator import DaskClassifier, DaskRegressor, dask_estimator
from ._dask._record import ROUND_COLUMNS, Rounds
from ._validation import check_sample_weight

__all__ = ["LinearRegression", "LogisticRegression", "ROUND_COLUMNS", "Rounds",
           "SGDClassifier", "SGDRegressor"]

DASK_INPUT = """

        Dask input (a Dask Array or DataFrame X with y, and sample_weight
        if given, as Dask collections of the same partitions) trains on the
        current dask.distributed Client's cluster in the way ``mode`` says;
        X is never collected onto the client."""


def _fit_doc(cls):
    """The parent's fit docstring with a note on Dask input."""
    doc = cls._in_memory_class.fit.__doc__
    first, _, rest = doc.partition("\n\n")
    cls.fit.__doc__ = first + DASK_INPUT + "\n\n" + rest
    return cls


@_fit_doc
@dask_estimator
class LinearRegression(DaskRegressor, _linear.LinearRegression):
    """Linear regression by gradient descent, in memory or on a Dask cluster."""

    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, sample_weight, coef_init, intercept_init)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return [self._problem(X, y, sample_weight)]


@_fit_doc
@dask_estimator
class LogisticRegression(DaskClassifier, _logistic.LogisticRegression):
    """Binary and multinomial logistic regression, in memory or on a Dask cluster."""

    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, sample_weight, coef_init, intercept_init)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return [self._problem(X, partial_fit_labels(self, y, None, False), sample_weight)]


@_fit_doc
@dask_estimator
class SGDClassifier(DaskClassifier, _sgd.SGDClassifier):
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
class SGDRegressor(DaskRegressor, _sgd.SGDRegressor):
    """Linear regression by stochastic gradient descent, in memory or on a Dask cluster."""

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        if not is_dask(X, y, sample_weight):
            return super().fit(X, y, coef_init, intercept_init, sample_weight)
        return self._fit_dask(X, y, sample_weight, coef_init, intercept_init)

    def _chunk_problems(self, X, y, sample_weight):
        return [self._problem(X, y, check_sample_weight(sample_weight, X.shape[0], X.dtype),
                              True)]
