"""What every descend estimator shares: the parameter checks, the settings
the solver reads, the one path from validated data to fitted attributes
(one problem, or several independent ones: one-vs-rest classes, the
targets of a multi-output regression), and the linear model's scores."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted

from . import _multi, _solver
from ._fitstate import FitState
from ._inputs import PLAIN_TYPES, check_squares, validate_X
from ._params import CONSTRAINTS
from ._typing import FLOAT_DTYPES, MatrixLike
from ._validation import check_parameters, resolve_n_threads

#: tol="auto": the relative gap a full-batch fit certifies, and a stochastic one
AUTO_TOL_FULL_BATCH = 1e-6
AUTO_TOL_STOCHASTIC = 1e-3


#: parameter names by estimator class (GradientDescentEstimator._get_param_names)
_PARAM_NAMES = {}


class GradientDescentEstimator(BaseEstimator):
    """Base class: parameter checks, and the calls into the solver.

    Subclasses build their ``_solver.Problem`` list from validated data
    and call ``_fit_problems`` (fit) or ``_partial_fit_problems``
    (partial_fit); they say how the stacked coefficients of the problems
    become ``coef_``/``intercept_`` (``_public_shapes``,
    ``_set_coefficients``)."""

    _parameter_constraints = CONSTRAINTS

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's list (the constructor's signature, read with
        inspect), read once per class: get_params, set_params and clone
        call it for every candidate of a grid search, and with 35
        parameters it was most of their cost."""
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = tuple(super()._get_param_names())
        return list(names)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self):
        """The constraints table, then the checks that involve two parameters."""
        check_parameters(self)
        name = type(self).__name__
        self._check_methods(name)
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                f"alpha must be > 0 since learning_rate is 'optimal' ({name}'s "
                f"step is 1/(alpha*(t0+t)); with penalty=None alpha sets the step "
                f"alone); got alpha={self.alpha!r}. Use another learning_rate or set alpha.")
        if self.learning_rate == "line_search":
            if self.batch_size is not None:
                raise ValueError(
                    f"learning_rate='line_search' of {name} searches the full "
                    f"objective and needs batch_size=None; got batch_size="
                    f"{self.batch_size!r}.")
            if self.optimizer not in ("sgd", "auto"):
                raise ValueError(
                    f"learning_rate='line_search' of {name} chooses plain gradient "
                    f"steps and needs optimizer='sgd'; got {self.optimizer!r}.")
            if self.early_stopping:
                raise ValueError(
                    f"learning_rate='line_search' of {name} monitors the training "
                    f"objective; it cannot be combined with early_stopping=True.")

    def _check_methods(self, name):
        """Checks of the full-batch methods' parameters."""
        if self.optimizer in ("lbfgs", "agd", "newton") and self.batch_size is not None:
            raise ValueError(
                f"optimizer={self.optimizer!r} of {name} works on exact full passes and "
                f"needs batch_size=None; got batch_size={self.batch_size!r}. Use a "
                f"stochastic optimizer (e.g. 'sgd', 'adam') for mini-batches.")

    def _auto_optimizer(self, X, partial):
        """optimizer="auto": lbfgs (full batch) or saga (per sample) when no
        step size is asked for and the method applies, else sgd."""
        if self.eta0 != "auto" or self.learning_rate != "constant":
            return "sgd"
        if self.batch_size is None:
            return "lbfgs"
        if not self._saga_obstacle(X, partial):
            return "saga"
        return "sgd"

    def _saga_obstacle(self, X, partial, explicit=False):
        """Why saga cannot run with these settings (None when it can);
        ``explicit``: optimizer="saga" was asked for (not "auto")."""
        if partial:
            return ("partial_fit: saga keeps a gradient per row of one data set, and "
                    "partial_fit sees new rows at every call")
        if self.batch_size is None:
            return "batch_size=None (saga is stochastic; lbfgs is the full-batch method)"
        if self.scale_features:
            return "scale_features=True (standardise with StandardScaler instead)"
        if self.clip_norm is not None:
            return "clip_norm (a variance-reduced step is not clipped)"
        if not isinstance(self.average, (bool, np.bool_)) or self.average:
            return "average (saga converges without averaging)"
        if self.penalty in ("l1", "elasticnet"):
            if sp.issparse(X):
                return (f"penalty={self.penalty!r} on sparse input (its proximal step "
                        f"needs every coordinate each update)")
            if not explicit:  # "auto" picks by the settings, never by the storage
                return f"penalty={self.penalty!r}"
        return None

    def _settings(self, X, partial=False):
        """Every hyperparameter, resolved for the solver (X: the training
        data; ``partial``: for partial_fit)."""
        if self.optimizer == "saga":
            obstacle = self._saga_obstacle(X, partial, explicit=True)
            if obstacle:
                raise ValueError(f"optimizer='saga' of {type(self).__name__} cannot be "
                                 f"used with {obstacle}.")
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        r = (float(self.l1_ratio) if self.penalty == "elasticnet"
             else {"l2": 0.0, "l1": 1.0, None: 0.0}[self.penalty])
        alpha = 0.0 if self.penalty is None else float(self.alpha)
        average = int(self.average) if not isinstance(self.average, (bool, np.bool_)) \
            else int(bool(self.average))
        full_batch = self.batch_size is None
        optimizer = self.optimizer
        if optimizer == "auto":
            optimizer = self._auto_optimizer(X, partial)
        tol = self.tol
        if isinstance(tol, str):  # "auto"
            tol = AUTO_TOL_FULL_BATCH if full_batch else AUTO_TOL_STOCHASTIC
        certify_every = self.certify_every
        if certify_every == "auto":
            certify_every = 10 if full_batch else (1 if self.batch_size == 1 else 2)
        return _solver.Settings(
            batch_size=self.batch_size, optimizer=optimizer,
            momentum=float(self.momentum), beta_1=float(self.beta_1),
            beta_2=float(self.beta_2), rho=float(self.rho), eps=float(self.eps),
            learning_rate=self.learning_rate, eta0=self.eta0,
            power_t=float(self.power_t), decay_rate=float(self.decay_rate),
            decay_steps=int(self.decay_steps), warmup_epochs=float(self.warmup_epochs),
            l2=alpha * (1.0 - r), l1=alpha * r, schedule_alpha=float(self.alpha),
            clip_norm=self.clip_norm,
            average=average, fit_intercept=bool(self.fit_intercept),
            scale_features=bool(self.scale_features), max_iter=int(self.max_iter),
            tol=None if tol is None else float(tol),
            n_iter_no_change=int(self.n_iter_no_change),
            early_stopping=bool(self.early_stopping),
            validation_fraction=float(self.validation_fraction),
            keep_best=bool(self.keep_best), callback=self.callback,
            shuffle=bool(self.shuffle),
            # spread the 31-bit seed over the 64-bit state
            seed=(seed * 0x9E3779B97F4A7C15 + 1) % 2**64,
            n_threads=resolve_n_threads(self.n_jobs), n_jobs_given=self.n_jobs is not None,
            verbose=int(self.verbose), stopping=self.stopping,
            certify_every=int(certify_every), warn_uncertified=True,
            newton_auto=self.optimizer == "auto" and optimizer == "lbfgs",
        )

    def _initial_coefficients(self, n_outputs, n_features, coef_init, intercept_init):
        """The starting point of fit: coef_init/intercept_init, else the last
        fit's coefficients with warm_start, else zeros (as float64 copies)."""
        coef = np.zeros((n_outputs, n_features))
        intercept = np.zeros(n_outputs)
        if self.warm_start and hasattr(self, "coef_"):
            previous = self.coef_.shape[-1] if self.coef_.ndim else 0
            if previous != n_features or np.size(self.intercept_) != n_outputs:
                raise ValueError(
                    f"warm_start: the previous fit had {previous} features and "
                    f"{np.size(self.intercept_)} outputs, this data {n_features} and "
                    f"{n_outputs}. Refit with warm_start=False.")
            coef, intercept = self._current_coefficients(n_outputs)
        coef_shape, intercept_shape = self._public_shapes(n_outputs, n_features)
        if coef_init is not None:
            coef = _check_init("coef_init", coef_init, (n_outputs, n_features), coef_shape)
        if intercept_init is not None:
            intercept = _check_init("intercept_init", intercept_init, (n_outputs,),
                                    intercept_shape)
        return coef, intercept

    def _current_coefficients(self, n_outputs):
        """coef_, intercept_ as float64 (n_outputs, p) and (n_outputs,) copies
        (a sparsified coef_ included)."""
        coef = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
        return (np.array(coef, dtype=np.float64).reshape(n_outputs, -1),
                np.array(self.intercept_, dtype=np.float64).reshape(n_outputs))

    def _fit_problems(self, problems, coef_init=None, intercept_init=None,
                      split_labels=None):
        """fit: solve the problems afresh and store the result.  With
        early stopping, several problems share one validation split,
        stratified by ``split_labels`` when given."""
        X = problems[0].X
        n_outputs = sum(problem.n_outputs for problem in problems)
        coef, intercept = self._initial_coefficients(n_outputs, X.shape[1], coef_init,
                                                     intercept_init)
        settings = self._settings(X)
        _solver.warn_if_no_progress_bar(settings.verbose, stacklevel=3)
        split = None
        if settings.early_stopping and split_labels is not None:
            split = _solver.validation_split(_solver.Problem(
                X=X, y=split_labels, sample_weight=problems[0].sample_weight,
                loss=problems[0].loss, n_outputs=1, regression=False), settings)
        self._fits = None
        return self._solve(problems, settings, coef=coef, intercept=intercept, split=split)

    def _partial_fit_problems(self, problems):
        """partial_fit: one epoch over these rows, continuing the fit state
        of the previous fit/partial_fit (or from the current coef_, if any)."""
        settings = self._settings(problems[0].X, partial=True)
        _solver.warn_if_no_progress_bar(settings.verbose, stacklevel=3)
        settings.early_stopping = False
        settings.keep_best = False
        fits = getattr(self, "_fits", None)
        if fits is not None:
            return self._solve(problems, settings, fits=fits, epochs=1)
        coef = intercept = None
        if hasattr(self, "coef_"):
            coef, intercept = self._current_coefficients(
                sum(problem.n_outputs for problem in problems))
        return self._solve(problems, settings, coef=coef, intercept=intercept, epochs=1)

    def _partial_dtypes(self):
        """partial_fit keeps the dtype of its first call's data."""
        fits = getattr(self, "_fits", None)
        return np.dtype(fits[0]["dtype"]) if fits else FLOAT_DTYPES

    def _solve(self, problems, settings, fits=None, **kwargs):
        """Solve, continuing ``fits`` (snapshots) if given; the fit states
        are kept as snapshots (``_fits``: per problem a dict of arrays,
        numbers and the History; docs/persistence.md)."""
        if fits is not None:
            fits = [FitState.restore(fit) for fit in fits]
        try:
            results, new_fits = _multi.solve_all(problems, settings, fits=fits, **kwargs)
        except (_solver.DivergenceError, KeyboardInterrupt) as exc:
            # keep what was learnt (the last finite epoch, or the epochs
            # finished before Ctrl-C) before raising; partial_fit continues
            # an interrupted fit, and restarts from coef_ after divergence
            if hasattr(exc, "results"):  # (not if Ctrl-C came before the fit began)
                self._store(exc.results)
                self._fits = ([fit.snapshot() for fit in exc.fits]
                              if isinstance(exc, KeyboardInterrupt) else None)
            raise
        self._store(results)
        self._fits = [fit.snapshot() for fit in new_fits]
        return self

    def _store(self, results):
        result = _multi.combined_result(results)
        self._set_coefficients(result.coef, result.intercept)
        self.n_iter_ = result.n_iter
        self.t_ = result.n_updates + 1
        self.converged_ = result.converged
        self.eta0_ = result.eta0
        self.history_ = result.history


class LinearModelMixin:
    """Scores of a linear model, and its coefficients' storage."""

    def _scores(self, X):
        """X @ coef_.T + intercept_ as an (n_samples, n_outputs) array."""
        check_is_fitted(self)
        X = validate_X(self, X, reset=False)
        coef = self.coef_ if sp.issparse(self.coef_) else np.reshape(self.coef_,
                                                                     (-1, X.shape[1]))
        return safe_sparse_dot(X, coef.T, dense_output=True) + self.intercept_

    def densify(self):
        """Convert a sparse ``coef_`` (after :meth:`sparsify`) back to a NumPy array.

        Returns
        -------
        self : estimator
            The estimator, with a dense ``coef_``.
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            shape = self._public_shapes(self.coef_.shape[0], self.coef_.shape[1])[0]
            self.coef_ = self.coef_.toarray().reshape(shape)
        return self

    def sparsify(self):
        """Store ``coef_`` as a SciPy CSR matrix: smaller and faster to apply
        when most coefficients are zero (e.g. after an L1 fit).

        Returns
        -------
        self : estimator
            The estimator, with a sparse ``coef_``.
        """
        check_is_fitted(self)
        if not sp.issparse(self.coef_):
            coef = np.asarray(self.coef_)
            self.coef_ = sp.csr_matrix(coef.reshape(1, -1) if coef.ndim == 1 else coef)
        return self


class LinearClassifierMixin(LinearModelMixin):
    """decision_function and predict of a linear classifier with ``classes_``."""

    def decision_function(self, X: MatrixLike) -> np.ndarray:
        """Linear scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: the score of ``classes_[1]`` (for logistic
            regression, its log-odds); else one score per class.
        """
        scores = self._scores(X)
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

    def score(self, X: MatrixLike, y, sample_weight=None) -> float:
        """Mean accuracy on the given samples: scikit-learn's
        ``ClassifierMixin.score`` (``accuracy_score``), the same number.

        Plain labels (a 1-D NumPy array of integers, booleans or whole
        finite floats, as long as X, and numeric ``classes_``, no weights)
        are compared directly, without ``accuracy_score``'s checks of the
        target type (they cost ~10x a small model's predictions: a grid
        search scores every fold); anything else goes to scikit-learn's.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels for X.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` against ``y``.
        """
        if sample_weight is None and _plain_labels(y, self):
            predicted = self.predict(X)
            if len(predicted) == len(y):
                return float(np.mean(predicted == y))
        return super().score(X, y, sample_weight=sample_weight)


def _plain_labels(y, model):
    """y is labels whose accuracy needs no target-type check: a 1-D NumPy
    array (or memmap) of integers, booleans or whole finite floats (what
    ``type_of_target`` calls binary or multiclass), against numeric
    ``classes_``."""
    classes = getattr(model, "classes_", None)
    if type(y) not in PLAIN_TYPES or y.ndim != 1 or classes is None \
            or classes.dtype.kind not in "biuf":
        return False
    if y.dtype.kind in "biu":
        return True
    if y.dtype.kind != "f":
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def _check_init(name, value, shape, public_shape):
    """A float64 copy of coef_init/intercept_init in the solver's shape."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric; got {value!r:.80}.") from None
    if array.ndim == 0 and int(np.prod(shape)) == 1:
        array = array.reshape(shape)  # a number for a single intercept
    if array.shape != tuple(public_shape) and array.shape != tuple(shape):
        raise ValueError(
            f"Provided {name} does not match dataset: it has shape {array.shape}; "
            f"expected {public_shape} for this data (as {name.replace('_init', '_')}).")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity.")
    check_squares(name, array.ravel(), "start from",
                  "the penalty and the objective would overflow",
                  f"Pass a smaller {name}, or none.")
    return array.reshape(shape)
