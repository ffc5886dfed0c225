"""The parameters every descend estimator shares: their documentation,
constraints and storage.  The optimizer and schedule entries are written
from the rule tables (descend._rules)."""
from __future__ import annotations

import numbers

import numpy as np
from ._rules import OPTIMIZERS, SCHEDULES
from ._validation import BOOLEAN, N_JOBS, NONE, RANDOM_STATE, Interval, Options

#: numpydoc entries of the parameters every estimator shares; an estimator's
#: docstring names them with ``{name}``; ``{default}`` is filled in from the
#: estimator's own signature, so the documentation cannot drift from it.
PARAMETER_DOCS = {
    "batch_size": """batch_size : int or None, default={default}
    Rows per update. None is batch gradient descent: one exact step per
    epoch over all rows (one pass over X computes loss and gradient). 1 is
    stochastic gradient descent (one update per row), k > 1 mini-batch
    gradient descent (rows shuffled each epoch when ``shuffle``).""",
    "optimizer": """optimizer : {{%s}}, default={default}
    Update rule, exactly PyTorch's: %s. The L2 penalty enters the gradient
    as PyTorch's ``weight_decay`` except for "sgd" and "adamw", whose
    update decays w by ``max(0, 1 - eta*l2)``. Intercepts use the same
    rule, never decayed.""" % (", ".join(f'"{name}"' for name in OPTIMIZERS),
                               "; ".join(f'"{o.name}" {o.doc}' for o in OPTIMIZERS.values())),
    "momentum": """momentum : float in [0, 1), default={default}
    Momentum factor of "momentum" and "nesterov".""",
    "beta_1": """beta_1 : float in [0, 1), default={default}
    Decay of Adam's first-moment estimate.""",
    "beta_2": """beta_2 : float in [0, 1), default={default}
    Decay of Adam's second-moment estimate.""",
    "rho": """rho : float in [0, 1), default={default}
    Decay of RMSprop's squared-gradient average (PyTorch's ``alpha``).""",
    "eps": """eps : float > 0, default={default}
    Added to the square root in adagrad, rmsprop, adam and adamw.""",
    "learning_rate": """learning_rate : {{%s}}, default={default}
    Step-size schedule over updates t = 1, 2, ... and epochs e = 1, 2, ...:
    %s.""" % (", ".join(f'"{name}"' for name in SCHEDULES),
               "; ".join(f'"{s.name}" {s.doc}' for s in SCHEDULES.values())),
    "eta0": """eta0 : float > 0 or "auto", default={default}
    Initial step size. "auto" derives it from the data for "sgd": 1/L for
    full batch, L the gradient's Lipschitz constant (largest eigenvalue of
    the sample-weighted covariance of [X, 1], by power iteration, times the
    loss curvature bound, plus alpha); for batches of B rows 1/(2 L(B)) with
    L(B) the expected smoothness of a B-row sample; "momentum"/"nesterov"
    (1 - momentum) times that; adagrad and rmsprop 0.01, adam and adamw
    0.001 (PyTorch's defaults). The value used is ``eta0_``.""",
    "power_t": """power_t : float >= 0, default={default}
    Exponent of the "invscaling" schedule.""",
    "decay_rate": """decay_rate : float in (0, 1], default={default}
    Factor of the "exponential" (per epoch) and "step" schedules.""",
    "decay_steps": """decay_steps : int >= 1, default={default}
    Epochs between decays of the "step" schedule.""",
    "warmup_epochs": """warmup_epochs : float >= 0, default={default}
    Linear warm-up: the step size is multiplied by min(1, t / (warmup_epochs
    * updates per epoch)).""",
    "penalty": """penalty : {{"l2", "l1", "elasticnet"}} or None, default={default}
    Regularisation term added to the mean loss: ``alpha * (r * ||coef||_1 +
    (1 - r)/2 * ||coef||^2)`` with r = 0 for "l2", 1 for "l1" and
    ``l1_ratio`` for "elasticnet"; None adds nothing. The intercept is never
    penalised. The L1 part is applied by a proximal step (exact zeros) for
    full-batch and mini-batch updates, by the cumulative L1 penalty
    (Tsuruoka et al., 2009) for per-sample updates.""",
    "alpha": """alpha : float >= 0, default={default}
    Strength of the penalty. scikit-learn's ``C`` corresponds to ``alpha =
    1 / (C * n_samples)``; Ridge's ``alpha`` to ``alpha / n_samples``;
    Lasso's and ElasticNet's ``alpha`` are the same as here.""",
    "l1_ratio": """l1_ratio : float in [0, 1], default={default}
    The L1 share r of the "elasticnet" penalty.""",
    "clip_norm": """clip_norm : float > 0 or None, default={default}
    Clip the data gradient of each update (coefficients and intercepts
    together) to at most this Euclidean norm, before the penalty.""",
    "fit_intercept": """fit_intercept : bool, default={default}
    Whether to fit an (unpenalised) intercept. X is never augmented with a
    column of ones.""",
    "scale_features": """scale_features : bool, default={default}
    Standardise the features inside the solver: sample-weighted means and
    standard deviations are computed once, training runs on (X - mean)/std
    without a scaled copy of X (the centring is folded into the intercept),
    and the penalty applies to the scaled coefficients, as when fitting on
    StandardScaler output. ``coef_`` and ``intercept_`` are reported for the
    original features.""",
    "max_iter": """max_iter : int >= 1, default={default}
    Maximum number of epochs (passes over the data).""",
    "tol": """tol : float >= 0, "auto" or None, default={default}
    With ``stopping="gap"``: the relative suboptimality the fit must
    certify, (objective - optimum) / optimum <= tol, proved by a duality gap
    from an exact pass over the data ("converged_" is True only then).
    "auto": 1e-6 for batch_size=None, 1e-3 for stochastic and mini-batch
    fits. Without a penalty (alpha = 0) there is no gap to compute: the fit
    stops when the gradient, in standardised coordinates, has fallen to
    ``tol**2`` times its value at the start. With
    ``stopping="no_improvement"``: the improvement of the monitored value
    (objective, or validation score with ``early_stopping``) below which
    an epoch counts as no improvement. None runs all ``max_iter`` epochs.""",
    "stopping": """stopping : {{"gap", "no_improvement"}}, default={default}
    "gap": stop when the certified relative gap is at most ``tol``; the gap
    is computed by every iteration of lbfgs, agd and line_search, and by an
    exact pass every ``certify_every`` epochs of the other optimizers, at
    the coefficients the fit reports. "no_improvement": scikit-learn's rule
    (the monitored value fails to improve by ``tol * max(1, |best|)`` for
    ``n_iter_no_change`` epochs), which certifies nothing.""",
    "certify_every": """certify_every : int >= 1 or "auto", default={default}
    Epochs between the certificate passes of ``stopping="gap"`` for
    optimizers that do not make exact passes themselves (each costs one
    pass over the data). "auto": 1 for batch_size=1, 2 for mini-batches,
    10 for full-batch first-order optimizers.""",
    "n_iter_no_change": """n_iter_no_change : int >= 1, default={default}
    Epochs without sufficient improvement before stopping.""",
    "early_stopping": """early_stopping : bool, default={default}
    Hold out ``validation_fraction`` of the rows (stratified by class for
    classifiers) and stop when the validation score (accuracy, or R^2) stops
    improving; the score is recorded in ``history_``.""",
    "validation_fraction": """validation_fraction : float in (0, 1), default={default}
    Share of the rows held out for ``early_stopping``.""",
    "keep_best": """keep_best : bool, default={default}
    Report the coefficients of the epoch with the best monitored value
    instead of the last ones.""",
    "callback": """callback : callable or None, default={default}
    Called after each epoch with that epoch's history record (a dict); a
    truthy return value stops the fit (``stop_reason`` "callback").""",
    "warm_start": """warm_start : bool, default={default}
    Start ``fit`` from the previous fit's coefficients (the optimizer state
    and the update count start afresh).""",
    "average": """average : bool or int >= 1, default={default}
    Averaged SGD: True (or 1) reports the average of the coefficients over
    all updates; an int a averages from update a on.""",
    "shuffle": """shuffle : bool, default={default}
    Shuffle the rows before each epoch of a stochastic or mini-batch fit
    (full batch visits rows in order; shuffling would not change it).""",
    "random_state": """random_state : int, RandomState instance or None, default={default}
    Seed of the shuffling and of the early-stopping split. With the same
    seed a fit is reproducible bit for bit.""",
    "n_jobs": """n_jobs : int or None, default={default}
    OpenMP threads. None and -1 use every thread OpenMP offers (honouring
    OMP_NUM_THREADS and threadpoolctl); -2 all but one. Full-batch results
    are bitwise identical for any value; dense mini-batches are split across
    threads only when large enough to pay for it. Per-sample and mini-batch
    fits on sparse (CSR) input run lock-free Hogwild epochs with more than
    one thread, which are NOT reproducible; they do so only when n_jobs is
    given (None keeps them on one thread, reproducible from
    ``random_state``). One-vs-rest classes are fitted in parallel threads
    (reproducibly).""",
    "verbose": """verbose : int >= 0, default={default}
    1: print one line per epoch (objective, step size, seconds). 2: show a
    progress bar over epochs with the current objective (needs tqdm, the
    "progress" extra; without it, a warning says so and the lines of 1 are
    printed).""",
}

FITTED_ATTRIBUTE_DOCS = """n_iter_ : int
    Epochs run (for partial_fit: epochs over all calls).
t_ : int
    Parameter updates made, plus one (scikit-learn's SGD convention).
converged_ : bool
    Whether the fit is certified: its relative gap (``history_["gap"]``) is
    at most ``tol`` (without a penalty: the gradient test), proved by an
    exact pass over the data at the returned coefficients.
eta0_ : float
    The initial step size used (resolves ``eta0="auto"``; for the
    "optimal" schedule, its first step ``alpha**-0.25``; for lbfgs and agd,
    which search their steps, 1; for saga with eta0="auto", the step it
    adapted to).
history_ : descend.History
    One record per epoch: epoch, objective, grad_norm, learning_rate,
    updates, seconds, validation_score, gap; ``history_.stop_reason`` says why
    the fit ended: "tol" (certified), "no_improvement", "early_stopping",
    "max_iter", "precision" (no further decrease at working precision),
    "callback", "diverged" or "interrupted" (every value and its meaning:
    ``descend.STOP_REASONS``, docs/stopping.md). ``history_.to_frame()``
    gives a pandas DataFrame.
n_features_in_ : int
    Number of features seen in fit.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Feature names seen in fit, when X has string column names."""


#: The shared parameters, in signature order, as a docstring block.
PARAMETERS_BLOCK = "\n    ".join("{%s}" % name for name in PARAMETER_DOCS)


def store_parameters(estimator, parameters):
    """__init__'s body: store each argument unchanged (scikit-learn's rule)."""
    for name, value in parameters.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def fill_docstring(cls=None, *, extra_docs=None):
    """Fill ``{name}`` placeholders of ``cls.__doc__`` from PARAMETER_DOCS
    and ``extra_docs`` (with the class's own defaults) and
    FITTED_ATTRIBUTE_DOCS.  ``{parameters}`` stands for PARAMETER_DOCS in
    its order, ``{signature_parameters}`` for every documented parameter of
    the signature in signature order.  Use as ``@fill_docstring`` or
    ``@fill_docstring(extra_docs=...)``."""
    import inspect

    if cls is None:
        return lambda c: fill_docstring(c, extra_docs=extra_docs)

    def shown(value):
        return f'"{value}"' if isinstance(value, str) else repr(value)

    docs = {**PARAMETER_DOCS, **(extra_docs or {})}
    defaults = {name: shown(param.default)
                for name, param in inspect.signature(cls.__init__).parameters.items()}
    entries = {name: text.format(default=defaults[name])
               for name, text in docs.items() if name in defaults}
    indent = "    "
    entries = {name: text.replace("\n", "\n" + indent) for name, text in entries.items()}
    entries["fitted_attributes"] = FITTED_ATTRIBUTE_DOCS.replace("\n", "\n" + indent)
    in_signature = "\n    ".join("{%s}" % name for name in defaults if name in docs)
    doc = cls.__doc__.replace("{parameters}", PARAMETERS_BLOCK)
    doc = doc.replace("{signature_parameters}", in_signature)
    cls.__doc__ = doc.format(**entries)
    return cls


class _Callable:
    def accepts(self, value):
        return value is None or callable(value)

    def __str__(self):
        return "None or a callable"


class _Average:
    def accepts(self, value):
        return isinstance(value, (bool, np.bool_)) or (
            isinstance(value, numbers.Integral) and value >= 1)

    def __str__(self):
        return "a bool or an int >= 1"


UNIT = Interval(numbers.Real, 0, 1, closed="left")


#: The constraints of the shared parameters (checked at the start of fit).
CONSTRAINTS = {
    "batch_size": [NONE, Interval(numbers.Integral, 1, None, closed="left")],
    "optimizer": [Options(*OPTIMIZERS)],
    "momentum": [UNIT],
    "beta_1": [UNIT],
    "beta_2": [UNIT],
    "rho": [UNIT],
    "eps": [Interval(numbers.Real, 0, None, closed="neither")],
    "learning_rate": [Options(*SCHEDULES)],
    "eta0": [Options("auto"), Interval(numbers.Real, 0, None, closed="neither")],
    "power_t": [Interval(numbers.Real, 0, None, closed="left")],
    "decay_rate": [Interval(numbers.Real, 0, 1, closed="right")],
    "decay_steps": [Interval(numbers.Integral, 1, None, closed="left")],
    "warmup_epochs": [Interval(numbers.Real, 0, None, closed="left")],
    "penalty": [Options("l2", "l1", "elasticnet"), NONE],
    "alpha": [Interval(numbers.Real, 0, None, closed="left")],
    "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
    "clip_norm": [NONE, Interval(numbers.Real, 0, None, closed="neither")],
    "fit_intercept": [BOOLEAN],
    "scale_features": [BOOLEAN],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left"), Options("auto"), NONE],
    "stopping": [Options("gap", "no_improvement")],
    "certify_every": [Options("auto"), Interval(numbers.Integral, 1, None, closed="left")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "early_stopping": [BOOLEAN],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "keep_best": [BOOLEAN],
    "callback": [_Callable()],
    "warm_start": [BOOLEAN],
    "average": [_Average()],
    "shuffle": [BOOLEAN],
    "random_state": [RANDOM_STATE],
    "n_jobs": [N_JOBS],
    "verbose": [Interval(numbers.Integral, 0, None, closed="left"), BOOLEAN],
}
