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
import numbers
import warnings
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.special import log_expit, logsumexp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if

from . import _solver
from ._base import GradientDescentEstimator, LinearClassifierMixin, LinearModelMixin
from ._classes import (
    ClassWeightDict, check_partial_fit_classes, class_weight_vector, encode_labels,
    partial_fit_labels, weigh_by_class)
from ._inputs import validate_X_y
from ._params import CONSTRAINTS, fill_docstring, store_parameters
from ._rules import LOSSES
from ._typing import ArrayLike, MatrixLike, RandomState
from ._validation import NONE, Interval, Options, check_sample_weight

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
    "power_t": """power_t : float >= -1, default={default}
    Exponent of the "invscaling" schedule. Negative values (a step that
    grows with t) are deprecated, as in scikit-learn 1.8, and warn.""",
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


class _SGDEstimator(LinearModelMixin, GradientDescentEstimator):
    """What SGDClassifier and SGDRegressor share on top of the base."""

    _parameter_constraints = {
        **CONSTRAINTS,
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), NONE],
        "average": [_AverageSGD()],
        # negative values are deprecated in scikit-learn 1.8, still accepted
        # (with a FutureWarning) down to -1, a step growing linearly in t;
        # below, t**-power_t overflows within a few updates
        "power_t": [Interval(numbers.Real, -1, None, closed="left")],
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

    def _settings(self, X, partial=False):
        """The base's, the early-stopping split seeded as scikit-learn
        seeds it (with random_state as given: a RandomState instance in the
        state it has before the shuffling seed is drawn from it), and the
        intercept_decay for X."""
        split_random_state = None
        if isinstance(self.random_state, numbers.Integral):
            split_random_state = int(self.random_state)
        elif isinstance(self.random_state, np.random.RandomState):
            split_random_state = copy.deepcopy(self.random_state)
        settings = super()._settings(X, partial)
        settings.split_random_state = split_random_state
        settings.blowup_check = False  # scikit-learn's SGD fails on non-finite values only
        settings.warn_uncertified = False  # its no-improvement stop is scikit-learn's contract
        settings.intercept_decay = self._intercept_decay(X)
        return settings

    def _intercept_decay(self, X):
        """The intercept_decay to use for X (resolves "auto" from the
        fraction of nonzeros: exact for CSR, whose stored zeros do not count,
        from up to 10,000 evenly spaced rows of a dense array)."""
        if self.intercept_decay != "auto":
            return float(self.intercept_decay)
        n, p = X.shape
        if sp.issparse(X):
            density = np.count_nonzero(X.data) / max(1, n * p)
        else:
            sample = X[::max(1, n // 10000)]
            density = np.count_nonzero(sample) / max(1, sample.size)
        return self.SPARSE_INTERCEPT_DECAY if density < self.SPARSE_DENSITY else 1.0

    def _check_partial(self):
        if self.early_stopping:
            raise ValueError(
                "early_stopping should be False with partial_fit: it holds out "
                "rows of one fit; partial_fit sees one batch at a time.")

    def _problem(self, X, y, sample_weight, regression):
        return _solver.Problem(X=X, y=np.ascontiguousarray(y, dtype=X.dtype),
                               sample_weight=sample_weight, loss=self._loss_code(),
                               n_outputs=1, epsilon=float(self.epsilon),
                               regression=regression)



@fill_docstring(extra_docs=SGD_PARAMETER_DOCS)
class SGDClassifier(LinearClassifierMixin, ClassifierMixin, _SGDEstimator):
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
                 callback: Callable[[dict], object] | None = None,
                 stopping: str = "no_improvement",
                 certify_every: int | str = "auto") -> None:
        store_parameters(self, locals())

    def _loss_code(self):
        return CLASSIFICATION_LOSSES[self.loss]

    def _public_shapes(self, n_outputs, n_features):
        return (n_outputs, n_features), (n_outputs,)

    def _set_coefficients(self, coef, intercept):
        self.coef_ = coef
        self.intercept_ = intercept

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
        X, y = validate_X_y(self, X, y, reset=True)
        self.classes_, y_index = encode_labels(y, type(self).__name__)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._fit_problems(self._problems(X, y_index, sw), coef_init, intercept_init,
                                  split_labels=y_index)

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
        first = not hasattr(self, "classes_")
        check_partial_fit_classes(self, classes, first)
        X, y = validate_X_y(self, X, y, reset=not hasattr(self, "n_features_in_"),
                            dtype=self._partial_dtypes())
        y_index = partial_fit_labels(self, y, classes, first)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._partial_fit_problems(self._problems(X, y_index, sw))

    def _problems(self, X, y_index, sw):
        """One binary problem (two classes), or one per class (one-vs-rest):
        targets +1 for the class, -1 (0 for log_loss) for the rest; the
        class's weight applies to its own samples, the rest weigh 1."""
        per_class = class_weight_vector(self.class_weight, self.classes_, y_index)
        negative = 0.0 if self.loss == "log_loss" else -1.0
        if len(self.classes_) == 2:
            columns = [(y_index == 1, weigh_by_class(sw, per_class[y_index], X.dtype))]
        else:
            columns = [(y_index == c, weigh_by_class(
                sw, np.where(y_index == c, per_class[c], 1.0), X.dtype))
                for c in range(len(self.classes_))]
        return [self._problem(X, np.where(positive, 1.0, negative), weights, False)
                for positive, weights in columns]

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
        return _probabilities(self.loss, scores.astype(np.float64)).astype(scores.dtype)

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


def _probabilities(loss, scores):
    """predict_proba from float64 scores (1-D: two classes)."""
    if loss == "log_loss":
        if scores.ndim == 1:
            p1 = np.exp(log_expit(scores))
            return np.column_stack([1.0 - p1, p1])
        # one-vs-rest: each class's sigmoid, normalised over the classes in
        # log space (in float32 every sigmoid below ~-88 is 0)
        log_raw = log_expit(scores)
        return np.exp(log_raw - logsumexp(log_raw, axis=1, keepdims=True))
    raw = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
    if scores.ndim == 1:
        return np.column_stack([1.0 - raw, raw])
    total = raw.sum(axis=1, keepdims=True)
    zero = total[:, 0] == 0
    raw[zero] = 1.0
    total[zero] = raw.shape[1]
    return raw / total


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
                 callback: Callable[[dict], object] | None = None,
                 stopping: str = "no_improvement",
                 certify_every: int | str = "auto") -> None:
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
        X, y = validate_X_y(self, X, y, reset=True, y_numeric=True)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._fit_problems([self._problem(X, y, sw, True)], coef_init, intercept_init)

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
        X, y = validate_X_y(self, X, y, reset=not hasattr(self, "coef_"),
                            dtype=self._partial_dtypes(), y_numeric=True)
        sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return self._partial_fit_problems([self._problem(X, y, sw, True)])

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
        return self._scores(X).ravel()
