"""Drop-in replacements for scikit-learn's SGDClassifier and SGDRegressor.

Same parameter names, defaults, fitted attributes and methods as
scikit-learn's, trained by descend's kernels (so they also take descend's
optimizers, batch sizes, schedules, clipping, implicit scaling and record
``history_``).  Multi-class classification is one-vs-rest, as in
scikit-learn: one binary problem per class, solved in parallel threads when
``n_jobs`` allows (the kernels release the GIL).
"""
from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numbers

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.special import expit
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _solver
from ._rules import LOSSES
from ._base import GradientDescentEstimator, fill_docstring, store_parameters
from ._classes import (
    ClassWeightDict, check_partial_fit_classes, class_weight_vector, encode_labels,
    partial_fit_labels)
from ._frames import check_dataframe
from ._history import combine_histories
from ._validation import NONE, Interval, Options, check_sample_weight

FLOAT_DTYPES = (np.float64, np.float32)
#: X: an array-like or a scipy.sparse matrix/array
MatrixLike = Any
RandomState = Any  # None, an int, or a numpy RandomState/Generator

#: scikit-learn's loss names and descend's loss codes.
REGRESSION_LOSSES = {
    "squared_error": LOSSES["squared_error"].code,
    "huber": LOSSES["huber"].code,
    "epsilon_insensitive": LOSSES["epsilon_insensitive"].code,
    "squared_epsilon_insensitive": LOSSES["squared_epsilon_insensitive"].code,
}
CLASSIFICATION_LOSSES = {
    "hinge": LOSSES["hinge"].code,
    "log_loss": LOSSES["log_loss"].code,
    "modified_huber": LOSSES["modified_huber"].code,
    "squared_hinge": LOSSES["squared_hinge"].code,
    "perceptron": LOSSES["perceptron"].code,
    **REGRESSION_LOSSES,
}

SGD_PARAMETER_DOCS = {
    "loss": """loss : {{"hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", "squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"}}, default={default}
    Loss of one sample with margin z = x . coef + intercept: "hinge"
    max(0, 1 - y z) (a linear SVM), "log_loss" log(1 + exp(-y z)) (logistic
    regression, probabilities), "modified_huber" (1 - y z)^2 for y z >= -1,
    else -4 y z (0 from y z >= 1; probabilities), "squared_hinge",
    "perceptron" max(0, -y z); with y in {{-1, +1}} per class (one-vs-rest).
    The regression losses: "squared_error" (z - y)^2 / 2, "huber" (squared
    within ``epsilon``, linear beyond), "epsilon_insensitive" max(0, |z - y|
    - epsilon) (a linear SVR) and "squared_epsilon_insensitive".""",
    "epsilon": """epsilon : float >= 0, default={default}
    Margin of "huber", "epsilon_insensitive" and
    "squared_epsilon_insensitive": errors below it are squared (Huber) or
    ignored (epsilon-insensitive).""",
    "intercept_decay": """intercept_decay : float in (0, 1] or "auto", default={default}
    Multiplies the intercept's step in per-sample and mini-batch updates.
    The intercept moves on every row while a feature of sparse data moves
    only on the rows where it is nonzero; scikit-learn damps the intercept's
    steps by 0.01 on sparse input for that reason. "auto": 0.01 when fewer
    than 10% of X's entries are nonzero, else 1. The rule reads the data's
    sparsity, not its storage, so a dense array and its CSR copy train the
    same model (scikit-learn's rule differs for dense arrays of mostly
    zeros and for CSR matrices of mostly nonzeros). Full-batch fits always
    take the full step.""",
    "class_weight": """class_weight : dict, "balanced" or None, default={default}
    Weights of the classes, multiplied into the sample weights: a dict
    {{label: weight}} (missing labels weigh 1), or "balanced":
    ``n_samples / (n_classes * count(label))`` as scikit-learn. In a
    one-vs-rest problem the class's weight applies to its own samples, the
    rest weigh 1 (scikit-learn's convention).""",
}

REGRESSOR_LOSS_DOC = {
    "loss": """loss : {{"squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"}}, default={default}
    "squared_error" (z - y)^2 / 2 (least squares), "huber" (squared within
    ``epsilon``, linear beyond: robust to outliers), "epsilon_insensitive"
    max(0, |z - y| - epsilon) (a linear SVR), "squared_epsilon_insensitive"
    its square; z = x . coef + intercept.""",
}



class _AverageSGD:
    """scikit-learn's ``average``: a bool, or an int > 0 (averaging starts
    after that many updates)."""

    def accepts(self, value):
        return isinstance(value, (bool, np.bool_)) or (
            isinstance(value, numbers.Integral) and value > 0)

    def __str__(self):
        return "a bool or an int > 0"


class _SGDEstimator(GradientDescentEstimator):
    """What SGDClassifier and SGDRegressor share on top of the base."""

    _parameter_constraints = {
        **GradientDescentEstimator._parameter_constraints,
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), NONE],
        "average": [_AverageSGD()],
        # negative values are deprecated in scikit-learn 1.8, still accepted
        "power_t": [Interval(numbers.Real, None, None)],
        "intercept_decay": [Options("auto"), Interval(numbers.Real, 0, 1, closed="right")],
    }

    #: "auto" intercept_decay: damped below this fraction of nonzeros
    SPARSE_DENSITY = 0.1
    SPARSE_INTERCEPT_DECAY = 0.01

    def _check_params(self):
        super()._check_params()
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated in scikit-learn 1.8 (its "
                "step grows with t); descend accepts them for compatibility only.",
                FutureWarning, stacklevel=3)
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError(
                "l1_ratio must be set when penalty is 'elasticnet'; got l1_ratio=None.")

    def _settings(self, n_threads=None, X=None):
        """The base's, the early-stopping split seeded as scikit-learn
        seeds it (with random_state as given: a RandomState instance in the
        state it has before the shuffling seed is drawn from it), and the
        intercept_decay for X."""
        split_random_state = None
        if isinstance(self.random_state, numbers.Integral):
            split_random_state = int(self.random_state)
        elif isinstance(self.random_state, np.random.RandomState):
            split_random_state = copy.deepcopy(self.random_state)
        settings = super()._settings(n_threads)
        settings.split_random_state = split_random_state
        settings.blowup_check = False  # scikit-learn's SGD fails on non-finite values only
        if X is not None:
            settings.intercept_decay = self._intercept_decay(X)
        return settings

    def _intercept_decay(self, X):
        """The intercept_decay to use for X (resolves "auto" from the
        fraction of nonzeros: exact for CSR, from up to 10,000 evenly spaced
        rows of a dense array)."""
        if self.intercept_decay != "auto":
            return float(self.intercept_decay)
        n, p = X.shape
        if sp.issparse(X):
            density = X.nnz / max(1, n * p)
        else:
            sample = X[::max(1, n // 10000)]
            density = np.count_nonzero(sample) / max(1, sample.size)
        return self.SPARSE_INTERCEPT_DECAY if density < self.SPARSE_DENSITY else 1.0

    def _check_partial(self):
        if self.early_stopping:
            raise ValueError(
                "early_stopping should be False with partial_fit: it holds out "
                "rows of one fit; partial_fit sees one batch at a time.")

    def _problem(self, X, y, sample_weight):
        return _solver.Problem(X=X, y=y, sample_weight=sample_weight,
                               loss=self._loss_code(), n_outputs=1,
                               epsilon=float(self.epsilon), regression=self._is_regressor)

    def _run_solver(self, X, y, sample_weight, loss, n_outputs, coef_init=None,
                    intercept_init=None):
        coef, intercept = self._initial_coefficients(n_outputs, X.shape[1],
                                                     coef_init, intercept_init)
        self._engine = None
        settings = self._settings(X=X)
        return self._solve(self._problem(X, y, sample_weight), settings,
                           coef=coef, intercept=intercept)

    def _run_partial(self, X, y, sample_weight, loss, n_outputs):
        settings = self._settings(X=X)
        settings.keep_best = False
        problem = self._problem(X, y, sample_weight)
        engine = getattr(self, "_engine", None)
        if engine is not None:
            return self._solve(problem, settings, fit=engine, epochs=1)
        coef = intercept = None
        if hasattr(self, "coef_"):
            coef = _dense(self.coef_).reshape(1, -1)
            intercept = np.array(self.intercept_, dtype=np.float64).reshape(1)
        return self._solve(problem, settings, coef=coef, intercept=intercept, epochs=1)

    def _initial_coefficients(self, n_outputs, n_features, coef_init, intercept_init):
        if self.warm_start and hasattr(self, "coef_") and sp.issparse(self.coef_):
            self.densify()
        return super()._initial_coefficients(n_outputs, n_features, coef_init,
                                             intercept_init)

    def _linear_scores(self, X):
        check_is_fitted(self)
        X = validate_data(self, check_dataframe(X), dtype=FLOAT_DTYPES,
                          accept_sparse="csr", reset=False)
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    def densify(self) -> _SGDEstimator:
        """Convert a sparse ``coef_`` (after :meth:`sparsify`) back to a NumPy array.

        Returns
        -------
        self : estimator
            The estimator, with a dense ``coef_``.
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            dense = self.coef_.toarray()
            self.coef_ = dense.ravel() if self._is_regressor else dense
        return self

    def sparsify(self) -> _SGDEstimator:
        """Store ``coef_`` as a SciPy CSR matrix: smaller and faster to apply
        when most coefficients are zero (e.g. after an L1 fit).

        Returns
        -------
        self : estimator
            The estimator, with a sparse ``coef_``.
        """
        check_is_fitted(self)
        coef = np.asarray(self.coef_)
        self.coef_ = sp.csr_matrix(coef.reshape(1, -1) if coef.ndim == 1 else coef)
        return self


def _dense(coef):
    return np.array(coef.toarray() if sp.issparse(coef) else coef, dtype=np.float64)


def _class_seed(seed, c):
    """A distinct 64-bit shuffling seed for one-vs-rest class c."""
    return (seed ^ ((c + 1) * 0xD1B54A32D192ED03)) % 2**64


@fill_docstring(extra_docs=SGD_PARAMETER_DOCS)
class SGDClassifier(ClassifierMixin, _SGDEstimator):
    """Linear classifiers (SVM, logistic regression, ...) by stochastic gradient descent.

    A drop-in replacement for ``sklearn.linear_model.SGDClassifier``: the same
    parameters and defaults, fitted attributes and methods, trained by
    descend's compiled kernels. Minimises the mean (sample- and class-
    weighted) loss + ``alpha * (l1_ratio * ||coef||_1 + (1 - l1_ratio)/2 *
    ||coef||^2)``, the intercept unpenalised. Two classes: one binary
    problem; more: one-vs-rest, one binary problem per class, solved in
    parallel with ``n_jobs``. Beyond scikit-learn it takes descend's
    ``batch_size`` (default 1: per-sample SGD as scikit-learn), ``optimizer``,
    schedules, ``clip_norm``, ``scale_features``, ``keep_best``,
    ``callback``, and records ``history_``.

    Differences from scikit-learn's, by design: the intercept's steps are
    damped on sparse data, not on sparse storage (``intercept_decay``), a
    diverging fit raises :class:`descend.DivergenceError`, the stopping
    rule monitors the penalised objective, and ``t_`` counts updates (the
    same as samples seen for ``batch_size=1``). The passive-aggressive
    schedules "pa1"/"pa2" are not offered (use
    ``sklearn.linear_model.PassiveAggressiveClassifier``).

    Parameters
    ----------
    {signature_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients (a CSR matrix after :meth:`sparsify`).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    {fitted_attributes}

    Notes
    -----
    One-vs-rest fits (more than two classes) record in ``history_`` the sum
    of the classes' objectives per epoch and run as many epochs as the
    slowest class (``n_iter_`` is the largest).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from descend import SGDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = SGDClassifier(random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.8
    True
    """

    _is_regressor = False
    #: the losses by name (scikit-learn's attribute; values are descend's
    #: loss codes)
    loss_functions = {name: (code,) for name, code in CLASSIFICATION_LOSSES.items()}

    _parameter_constraints = {
        **_SGDEstimator._parameter_constraints,
        "loss": [Options(*CLASSIFICATION_LOSSES)],
        "class_weight": [NONE, Options("balanced"), ClassWeightDict()],
    }

    def __init__(self, loss: str = "hinge", *, penalty: str | None = "l2",
                 alpha: float = 1e-4, l1_ratio: float | None = 0.15,
                 fit_intercept: bool = True, max_iter: int = 1000,
                 tol: float | None = 1e-3, shuffle: bool = True, verbose: int = 0,
                 epsilon: float = 0.1, n_jobs: int | None = None,
                 random_state: RandomState = None, learning_rate: str = "optimal",
                 eta0: float | str = 0.01, power_t: float = 0.5,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 5, class_weight: dict | str | None = None,
                 warm_start: bool = False, average: bool | int = False,
                 batch_size: int | None = 1, optimizer: str = "sgd",
                 momentum: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999,
                 rho: float = 0.99, eps: float = 1e-8, decay_rate: float = 0.9,
                 decay_steps: int = 10, warmup_epochs: float = 0.0,
                 clip_norm: float | None = None, scale_features: bool = False,
                 intercept_decay: float | str = "auto", keep_best: bool = False,
                 callback: Callable[[dict], object] | None = None) -> None:
        store_parameters(self, locals())

    def _loss_code(self):
        return CLASSIFICATION_LOSSES[self.loss]

    def _public_shapes(self, n_outputs, n_features):
        return (n_outputs, n_features), (n_outputs,)

    def fit(self, X: MatrixLike, y: ArrayLike, coef_init: ArrayLike | None = None,
            intercept_init: ArrayLike | None = None,
            sample_weight: ArrayLike | None = None) -> SGDClassifier:
        """Fit the model: ``max_iter`` epochs at most, stopping by ``tol``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. C-contiguous float32/float64 arrays and CSR
            matrices (float32/float64 values, int32/int64 indices) are used
            without a copy; other input is converted once.
        y : array-like of shape (n_samples,)
            Class labels, of any type; at least two distinct classes.
        coef_init : array-like of shape (n_classes, n_features), default=None
            Starting coefficients ((1, n_features) for two classes).
        intercept_init : array-like of shape (n_classes,), default=None
            Starting intercepts ((1,) for two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : SGDClassifier
            The fitted estimator.
        """
        self._check_params()
        X = check_dataframe(X)
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, order="C", accept_sparse="csr",
                             multi_output=False)
        self.classes_, y_index = encode_labels(y, type(self).__name__)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        k = self._n_columns()
        coef, intercept = self._initial_coefficients(k, X.shape[1], coef_init,
                                                     intercept_init)
        self._engines = None
        settings = self._settings(X=X)
        return self._fit_columns(X, y_index, sw, settings, coef, intercept, epochs=None)

    def partial_fit(self, X: MatrixLike, y: ArrayLike, classes: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> SGDClassifier:
        """One epoch over these rows, continuing the previous fit/partial_fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Their labels, all among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label the model will see; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : SGDClassifier
            The updated estimator.
        """
        self._check_params()
        self._check_partial()
        X = check_dataframe(X)
        first = not hasattr(self, "classes_")
        check_partial_fit_classes(self, classes, first)
        X, y = validate_data(self, X, y, dtype=self._partial_dtypes(), order="C",
                             accept_sparse="csr", multi_output=False,
                             reset=not hasattr(self, "n_features_in_"))
        y_index = partial_fit_labels(self, y, classes, first)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        settings = self._settings(X=X)
        settings.keep_best = False
        engines = getattr(self, "_engines", None)
        coef = intercept = None
        if engines is None:
            k = self._n_columns()
            coef, intercept = np.zeros((k, X.shape[1])), np.zeros(k)
            if hasattr(self, "coef_"):
                coef = _dense(self.coef_).reshape(k, -1)
                intercept = np.array(self.intercept_, dtype=np.float64).reshape(k)
        return self._fit_columns(X, y_index, sw, settings, coef, intercept, epochs=1,
                                 engines=engines)

    def _partial_dtypes(self):
        engines = getattr(self, "_engines", None)
        return engines[0].dtype if engines else FLOAT_DTYPES

    def _n_columns(self):
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _fit_columns(self, X, y_index, sw, settings, coef, intercept, epochs,
                     engines=None):
        """Solve the binary problem of each one-vs-rest column (one for two
        classes), in parallel threads when there are several columns and
        threads; store the combined result."""
        k = self._n_columns()
        per_class = class_weight_vector(self.class_weight, self.classes_, y_index)
        negative = 0.0 if self.loss == "log_loss" else -1.0
        if k == 1:
            columns = [(y_index == 1, sw * per_class[y_index].astype(X.dtype))]
        else:
            columns = []
            for c in range(k):
                positive = y_index == c
                columns.append((positive, sw * np.where(positive, per_class[c], 1.0)
                                .astype(X.dtype)))
        for _, weights in columns:
            if not weights.sum() > 0:
                raise ValueError("class_weight and sample_weight leave no positive weight.")
        split = None
        if settings.early_stopping:  # one split of the labels, shared by the classes
            split = _solver.validation_split(_solver.Problem(
                X=X, y=y_index, sample_weight=sw, loss=LOSSES["log_loss"].code, n_outputs=1,
                regression=False), settings)
        n_threads = settings.n_threads
        workers = max(1, min(k, n_threads))
        column_settings = [dataclasses.replace(
            settings, seed=settings.seed if k == 1 else _class_seed(settings.seed, c),
            n_threads=max(1, n_threads // k) if k > 1 else n_threads) for c in range(k)]

        problems = [_solver.Problem(
            X=X, y=np.where(positive, 1.0, negative).astype(X.dtype), sample_weight=weights,
            loss=self._loss_code(), n_outputs=1, epsilon=float(self.epsilon),
            regression=False) for positive, weights in columns]

        def run(c):
            problem = problems[c]
            kwargs = dict(epochs=epochs, quiet=True, split=split)
            if engines is not None:
                kwargs["fit"] = engines[c]
            else:
                kwargs.update(coef=coef[c:c + 1], intercept=intercept[c:c + 1])
            try:
                return _solver.solve(problem, column_settings[c], **kwargs)
            except (_solver.DivergenceError, KeyboardInterrupt) as exc:
                return exc

        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(run, range(k)))
        else:
            outcomes = [run(c) for c in range(k)]
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        results = [o.result if isinstance(o, BaseException) else o[0] for o in outcomes]
        if not failures:
            self._engines = [o[1] for o in outcomes]
        self._store_columns(results)
        if failures:
            raise failures[0]
        for result, problem in zip(results, problems):
            _solver.warn_if_blown_up(problem, result.history, settings, stacklevel=3)
        if epochs is None:
            _solver.warn_not_converged(self.history_, settings, stacklevel=3)
        return self

    def _store_columns(self, results):
        self.coef_ = np.vstack([r.coef for r in results])
        self.intercept_ = np.concatenate([r.intercept for r in results])
        self.n_iter_ = max(r.n_iter for r in results)
        self.t_ = max(r.n_updates for r in results) + 1
        self.converged_ = all(r.converged for r in results)
        self.eta0_ = results[0].eta0
        self.history_ = (results[0].history if len(results) == 1
                         else combine_histories([r.history for r in results]))

    def decision_function(self, X: MatrixLike) -> np.ndarray:
        """Signed distance of each sample to each class's hyperplane.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: the score of ``classes_[1]``; else one per class.
        """
        scores = self._linear_scores(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Class of each sample: the positive side, or the best score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def _has_proba(self):
        if self.loss not in ("log_loss", "modified_huber"):
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r}; "
                f"use loss='log_loss' or 'modified_huber'.")
        return True

    @available_if(_has_proba)
    def predict_proba(self, X: MatrixLike) -> np.ndarray:
        """Class probabilities (loss "log_loss" or "modified_huber").

        "log_loss": the sigmoid of each class's score (normalised over the
        classes for one-vs-rest). "modified_huber": ``(clip(score, -1, 1) +
        1) / 2``, normalised likewise (uniform where every class gives 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to 1.
        """
        scores = self.decision_function(X)
        if self.loss == "log_loss":
            raw = expit(scores)
        else:
            raw = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if scores.ndim == 1:
            return np.column_stack([1.0 - raw, raw])
        total = raw.sum(axis=1, keepdims=True)
        zero = total[:, 0] == 0
        raw[zero] = 1.0
        total[zero] = raw.shape[1]
        return raw / total

    @available_if(_has_proba)
    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


@fill_docstring(extra_docs={**SGD_PARAMETER_DOCS, **REGRESSOR_LOSS_DOC})
class SGDRegressor(RegressorMixin, _SGDEstimator):
    """Linear regression (least squares, Huber, linear SVR) by stochastic gradient descent.

    A drop-in replacement for ``sklearn.linear_model.SGDRegressor``: the same
    parameters and defaults, fitted attributes and methods, trained by
    descend's compiled kernels. Minimises the mean (sample-weighted) loss +
    ``alpha * (l1_ratio * ||coef||_1 + (1 - l1_ratio)/2 * ||coef||^2)``, the
    intercept unpenalised. Beyond scikit-learn it takes ``n_jobs``
    (threads), descend's ``batch_size`` (default 1: per-sample SGD as
    scikit-learn), ``optimizer``, schedules, ``clip_norm``,
    ``scale_features``, ``keep_best``, ``callback``, and records
    ``history_``. The same differences from scikit-learn's as
    :class:`SGDClassifier` (``intercept_decay`` from the data's sparsity,
    DivergenceError, the penalised objective monitored, no "pa1"/"pa2").

    Parameters
    ----------
    {signature_parameters}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients (a CSR matrix after :meth:`sparsify`).
    intercept_ : ndarray of shape (1,)
        Intercept.
    {fitted_attributes}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from descend import SGDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = SGDRegressor(random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.45
    True
    """

    _is_regressor = True
    loss_functions = {name: (code,) for name, code in REGRESSION_LOSSES.items()}

    _parameter_constraints = {
        **_SGDEstimator._parameter_constraints,
        "loss": [Options(*REGRESSION_LOSSES)],
    }

    def __init__(self, loss: str = "squared_error", *, penalty: str | None = "l2",
                 alpha: float = 1e-4, l1_ratio: float | None = 0.15,
                 fit_intercept: bool = True, max_iter: int = 1000,
                 tol: float | None = 1e-3, shuffle: bool = True, verbose: int = 0,
                 epsilon: float = 0.1, random_state: RandomState = None,
                 learning_rate: str = "invscaling", eta0: float | str = 0.01,
                 power_t: float = 0.25, early_stopping: bool = False,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 5,
                 warm_start: bool = False, average: bool | int = False,
                 n_jobs: int | None = None, batch_size: int | None = 1,
                 optimizer: str = "sgd", momentum: float = 0.9, beta_1: float = 0.9,
                 beta_2: float = 0.999, rho: float = 0.99, eps: float = 1e-8,
                 decay_rate: float = 0.9, decay_steps: int = 10,
                 warmup_epochs: float = 0.0, clip_norm: float | None = None,
                 scale_features: bool = False, intercept_decay: float | str = "auto",
                 keep_best: bool = False,
                 callback: Callable[[dict], object] | None = None) -> None:
        store_parameters(self, locals())

    def _loss_code(self):
        return REGRESSION_LOSSES[self.loss]

    def fit(self, X: MatrixLike, y: ArrayLike, coef_init: ArrayLike | None = None,
            intercept_init: ArrayLike | None = None,
            sample_weight: ArrayLike | None = None) -> SGDRegressor:
        """Fit the model: ``max_iter`` epochs at most, stopping by ``tol``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. C-contiguous float32/float64 arrays and CSR
            matrices (float32/float64 values, int32/int64 indices) are used
            without a copy; other input is converted once.
        y : array-like of shape (n_samples,)
            Target values.
        coef_init : array-like of shape (n_features,), default=None
            Starting coefficients.
        intercept_init : array-like of shape (1,), default=None
            Starting intercept.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : SGDRegressor
            The fitted estimator.
        """
        self._check_params()
        X = check_dataframe(X)
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, order="C", accept_sparse="csr",
                             y_numeric=True, multi_output=False)
        y = np.ascontiguousarray(y, dtype=X.dtype)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._run_solver(X, y, sw, self._loss_code(), 1, coef_init, intercept_init)

    def partial_fit(self, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> SGDRegressor:
        """One epoch over these rows, continuing the previous fit/partial_fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : SGDRegressor
            The updated estimator.
        """
        self._check_params()
        self._check_partial()
        X = check_dataframe(X)
        X, y = validate_data(self, X, y, dtype=self._partial_dtypes(), order="C",
                             accept_sparse="csr", y_numeric=True, multi_output=False,
                             reset=not hasattr(self, "coef_"))
        y = np.ascontiguousarray(y, dtype=X.dtype)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._run_partial(X, y, sw, self._loss_code(), 1)

    def _public_shapes(self, n_outputs, n_features):
        return (n_features,), (1,)

    def _set_coefficients(self, coef, intercept):
        self.coef_ = coef[0]
        self.intercept_ = intercept

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predicted targets ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions.
        """
        return self._linear_scores(X).ravel()
