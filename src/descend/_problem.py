"""What a solve takes and gives: the validated problem, the resolved
settings, the result, the early-stopping split, and the warnings about how
a fit ended."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._engine import _codes, kernels
from ._rules import loss_by_code

LOSS_MULTINOMIAL = _codes.LOSS_NAMES.index("multinomial")


class DivergenceError(FloatingPointError, ValueError):
    """Raised when the objective or the coefficients stop being finite.

    A FloatingPointError, and a ValueError as scikit-learn's SGD raises for
    the same event (so code written for either catches it).  ``result``
    holds the fit up to the last finite epoch."""

    result = None


class BlowUpWarning(ConvergenceWarning):
    """The fit blew up: its coefficients are finite but meaningless.

    Emitted by ``SGDClassifier`` and ``SGDRegressor`` (which, like
    scikit-learn's SGD, fail only on non-finite values) when a fit ends
    with a finite objective more than 1e10 times the all-zero model's,
    once per blown-up problem. (``LinearRegression`` and
    ``LogisticRegression`` raise :class:`DivergenceError` for the same
    event.) A :class:`sklearn.exceptions.ConvergenceWarning`, so filters
    for that catch it too. What to do: lower the step size (``eta0``, or
    raise ``alpha`` with the "optimal" schedule), use ``eta0="auto"``, or
    scale the features (``StandardScaler``, or ``scale_features=True``).
    To make it an error: ``warnings.simplefilter("error", BlowUpWarning)``.
    """


@dataclass
class Problem:
    """Validated data of one fit: X (n, p) C-contiguous float32/float64 or
    CSR with float32/float64 values and int32/int64 indices, y (targets,
    0/1 labels, +-1 labels or class indices, in X's dtype), sample weights,
    and the loss (a code of _rules.LOSSES) with its epsilon."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    loss: int
    n_outputs: int
    epsilon: float = 0.1
    #: real-valued targets (R^2 validation score, unstratified split); None:
    #: from the loss (a classifier may train on a regression loss of +-1)
    regression: bool | None = None

    def __post_init__(self):
        if self.regression is None:
            self.regression = loss_by_code(self.loss).regression


@dataclass
class Settings:
    """Every hyperparameter the solver reads, resolved by the estimator
    (GradientDescentEstimator._settings; the defaults live in the
    estimators' signatures only)."""

    batch_size: int | None
    optimizer: str
    momentum: float
    beta_1: float
    beta_2: float
    rho: float
    eps: float
    learning_rate: str
    eta0: float | str
    power_t: float
    decay_rate: float
    decay_steps: int
    warmup_epochs: float
    l2: float
    l1: float
    #: the "optimal" schedule's alpha (the estimator's alpha, also without
    #: a penalty)
    schedule_alpha: float
    clip_norm: float | None
    average: int
    fit_intercept: bool
    scale_features: bool
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    validation_fraction: float
    keep_best: bool
    callback: object
    shuffle: bool
    seed: int
    n_threads: int
    #: n_jobs was given (not None): only then do stochastic CSR fits run
    #: Hogwild, which is not reproducible
    n_jobs_given: bool
    verbose: int
    #: random_state of the early-stopping split (an int or a RandomState),
    #: for estimators that split as scikit-learn's SGD does; None: from seed
    split_random_state: object = None
    #: multiplies the intercept's step in stochastic updates
    intercept_decay: float = 1.0
    #: a finite 1e10-fold blow-up of the objective counts as divergence
    blowup_check: bool = True
    #: "gap": stop when the certified relative gap is <= tol;
    #: "no_improvement": scikit-learn's rule on the monitored value
    stopping: str = "gap"
    #: epochs between the certificate passes of kernel-run fits
    certify_every: int = 1
    #: a stop by the no-improvement rule is worth a warning (descend's own
    #: estimators; scikit-learn's SGD contract makes it a normal stop)
    warn_uncertified: bool = False
    #: optimizer="auto" chose lbfgs for full batches: Newton's method
    #: replaces it where it applies and pays (_newton.preferred)
    newton_auto: bool = False


@dataclass
class Result:
    coef: np.ndarray
    intercept: np.ndarray
    history: object
    n_iter: int
    n_updates: int
    converged: bool
    eta0: float


def validation_split(problem, settings):
    """Training and validation rows (sorted int64) for early stopping:
    stratified by class for classifiers, as scikit-learn's SGD."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    n = problem.X.shape[0]
    splitter_class = ShuffleSplit if problem.regression else StratifiedShuffleSplit
    random_state = (settings.split_random_state if settings.split_random_state is not None
                    else settings.seed % 2**32)
    splitter = splitter_class(test_size=settings.validation_fraction,
                              random_state=random_state)
    try:
        train, val = next(splitter.split(np.zeros((n, 1)), problem.y))
    except ValueError as exc:
        raise ValueError(
            f"early_stopping could not hold out validation_fraction="
            f"{settings.validation_fraction} of {n} samples: {exc} Use more "
            f"samples, another validation_fraction, or early_stopping=False.") from None
    if len(train) == 0 or len(val) == 0:
        raise ValueError(
            f"early_stopping with validation_fraction={settings.validation_fraction} "
            f"leaves an empty training or validation set for {n} samples.")
    if not problem.sample_weight[val].sum() > 0:
        raise ValueError(
            "The sample weights for validation set are all zero, consider using a "
            "different random state (or other sample weights, or early_stopping=False).")
    return np.sort(train).astype(np.int64), np.sort(val).astype(np.int64)




def zero_model_objective(problem):
    """The objective of the all-zero model (margins 0): the loss of 0 at
    each target, weighted; a scale for how large an objective may get, and
    the objective a Newton fit from zero starts at.  One read of y and the
    weights, no scratch."""
    if problem.loss == LOSS_MULTINOMIAL:
        return float(np.log(problem.n_outputs))
    y = np.ascontiguousarray(problem.y)
    sw = np.ascontiguousarray(problem.sample_weight, dtype=y.dtype)
    loss, weight = kernels.zero_model_sums(problem.loss, float(problem.epsilon), y, sw)
    return loss / weight


def warn_outcome(problems, histories, combined, settings, epochs, stacklevel):
    """The warnings about how fits ended: a stop while the objective rose
    (full batch), a finite blow-up (per problem), max_iter reached (on the
    combined history of several problems)."""
    if len(problems) == 1:
        full_batch = (settings.batch_size is None
                      or settings.batch_size >= problems[0].X.shape[0])
        _warn_if_rising(combined, settings, full_batch, stacklevel + 1)
    for problem, history in zip(problems, histories):
        warn_if_blown_up(problem, history, settings, stacklevel + 1)
    if epochs is None or combined.stop_reason == "precision":
        warn_not_converged(combined, settings, stacklevel + 1)


def warn_if_blown_up(problem, history, settings, stacklevel=3):
    """Without the blow-up check (scikit-learn's SGD semantics), a fit
    whose objective ended 1e10-fold above the all-zero model's is garbage
    that is still finite: say so."""
    objective = history["objective"]
    if settings.blowup_check or not len(objective):
        return
    scale = max(1.0, zero_model_objective(problem))
    if objective[-1] > 1e10 * scale:
        warnings.warn(
            f"The fit blew up: its objective ended at {objective[-1]:.3g}, more than "
            f"1e10 times the all-zero model's ({scale:.3g}); the coefficients are "
            f"finite but meaningless. Lower the step size (eta0, or raise alpha for "
            f"the 'optimal' schedule), or scale the features (StandardScaler, or "
            f"scale_features=True).", BlowUpWarning, stacklevel=stacklevel)


def warn_not_converged(history, settings, stacklevel=3):
    """The ConvergenceWarning of a fit that ended without its stopping rule
    being met: ``max_iter`` reached, no further decrease possible at
    working precision, or (descend's estimators) a stop by the
    no-improvement rule, which certifies nothing."""
    reason, gap = history.stop_reason, history["gap"] if len(history) else np.array([])
    known = gap[np.isfinite(gap)]
    if len(known):
        last = f"the last certified relative gap was {known[-1]:.3g}"
    elif len(gap) and np.any(np.isinf(gap)):
        last = ("no finite gap could be certified (the objective may have no finite "
                "minimiser, e.g. separable classes, or a class with no weight)")
    else:
        last = "no certificate was computed"
    scale = ("Badly scaled features converge slowly: scale_features=True or "
             "StandardScaler may help.")
    if reason == "max_iter" and settings.tol is not None:
        if settings.stopping == "gap":
            message = (f"Maximum number of iteration reached before convergence: "
                       f"max_iter={settings.max_iter} epochs ran and {last}, above "
                       f"tol={settings.tol:g}. Consider increasing max_iter, or tol. {scale}")
        else:
            message = (
                f"Maximum number of iteration reached before convergence. Consider "
                f"increasing max_iter to improve the fit. (max_iter={settings.max_iter} "
                f"epochs ran and the monitored objective still improved by more than "
                f"tol={settings.tol} within the last {settings.n_iter_no_change} epochs; "
                f"raising tol stops earlier.)")
    elif reason == "precision" and settings.tol is not None:
        message = (f"The fit stopped because the objective could not decrease further "
                   f"at working precision; {last}, above tol={settings.tol:g}: the "
                   f"result is not certified. Raise tol, or train on float64 data.")
    elif reason == "no_improvement" and settings.warn_uncertified:
        message = (f"The fit stopped because the objective stopped improving by "
                   f"tol={settings.tol:g} (stopping='no_improvement'); that does not "
                   f"certify how far from the optimum it is ({last}). Use "
                   f"stopping='gap' for a certified result.")
    else:
        return
    warnings.warn(message, ConvergenceWarning, stacklevel=stacklevel)


def _warn_if_rising(history, settings, full_batch, stacklevel):
    """A full-batch objective is exact: if the fit stopped by tol while it
    ended clearly above the best epoch, the step is too large, and the fit
    did not converge in any useful sense (scikit-learn's SGD stops there
    silently)."""
    if history.stop_reason != "no_improvement" or not full_batch:
        return
    objective = history["objective"]
    best = objective.min()
    if objective[-1] > best + 1e-3 * max(abs(best), 1e-12):
        warnings.warn(
            f"The fit stopped because the objective stopped improving, but it ended "
            f"at {objective[-1]:.6g}, above the best epoch's {best:.6g}: the step "
            f"size is too large. Lower eta0, use eta0='auto' or "
            f"learning_rate='line_search', or keep_best=True.",
            ConvergenceWarning, stacklevel=stacklevel)


