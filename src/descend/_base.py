"""What every descend estimator shares: parameters, their checks and
documentation, and the fit that hands validated data to the solver."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from . import _solver
from ._rules import LOSSES, OPTIMIZERS, SCHEDULES
from ._validation import (
    BOOLEAN, N_JOBS, NONE, RANDOM_STATE, Interval, Options, check_parameters,
    resolve_n_threads)

#: numpydoc entries of the parameters every estimator shares; an estimator's
#: docstring names them with ``{name}``; ``{default}`` is filled in from the
#: estimator's own signature, so the documentation cannot drift from it.
PARAMETER_DOCS = {
    "batch_size": """batch_size : int or None, default={default}
    Rows per update. None is batch gradient descent: one exact step per
    epoch over all rows (one pass over X computes loss and gradient). 1 is
    stochastic gradient descent (one update per row), k > 1 mini-batch
    gradient descent (rows shuffled each epoch when ``shuffle``).""",
    "optimizer": """optimizer : {{"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}}, default={default}
    Update rule, exactly PyTorch's: "sgd" w -= eta*g; "momentum" buf =
    momentum*buf + g (buf = g at the first step), w -= eta*buf; "nesterov"
    w -= eta*(g + momentum*buf); "adagrad" S += g^2, w -= eta*g/(sqrt(S) +
    eps); "rmsprop" V = rho*V + (1-rho)*g^2, w -= eta*g/(sqrt(V) + eps);
    "adam" with bias-corrected moments (beta_1, beta_2, eps); "adamw" Adam
    with decoupled weight decay (w *= 1 - eta*l2 before the step). The L2
    penalty enters the gradient as PyTorch's ``weight_decay`` for all
    others. Intercepts use the same rule, never decayed.""",
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
    "learning_rate": """learning_rate : {{"constant", "optimal", "invscaling", "adaptive", "exponential", "step", "cosine", "line_search"}}, default={default}
    Step-size schedule over updates t = 1, 2, ... and epochs e = 1, 2, ...:
    "constant" ``eta0``; "invscaling" ``eta0 / t**power_t``; "optimal"
    scikit-learn's ``1 / (alpha * (t0 + t - 1))`` (needs alpha > 0);
    "adaptive" scikit-learn's: ``eta0``, divided by 5 each time
    ``n_iter_no_change`` epochs pass without improvement, stopping below
    1e-6; "exponential" ``eta0 * decay_rate**(e-1)``; "step" ``eta0 *
    decay_rate**((e-1) // decay_steps)``; "cosine" ``eta0 * (1 + cos(pi *
    (e-1) / max_iter)) / 2``; "line_search" (batch_size=None only):
    backtracking (Armijo) on the full objective, trying 1.25x the last
    accepted step each epoch and halving until sufficient decrease, so
    batch gradient descent needs no step-size tuning.""",
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
    "tol": """tol : float >= 0 or None, default={default}
    Stopping tolerance: the fit stops when for ``n_iter_no_change``
    consecutive epochs the monitored value (the objective, or the
    validation score with ``early_stopping``) fails to improve on the best
    seen by more than ``tol * max(1, |best|)``. None runs all ``max_iter``
    epochs.""",
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
    "progress" extra; without it, the lines of 1).""",
}

FITTED_ATTRIBUTE_DOCS = """n_iter_ : int
    Epochs run (for partial_fit: epochs over all calls).
t_ : int
    Parameter updates made, plus one (scikit-learn's SGD convention).
converged_ : bool
    Whether the ``tol`` criterion ended the fit.
eta0_ : float
    The initial step size used (resolves ``eta0="auto"``; for the
    "optimal" schedule, its first step ``alpha**-0.25``).
history_ : descend.History
    One record per epoch: epoch, objective, grad_norm, learning_rate,
    updates, seconds, validation_score; ``history_.stop_reason`` says why
    the fit ended ("tol", "max_iter", "callback", "diverged" or
    "interrupted"). ``history_.to_frame()`` gives a
    pandas DataFrame.
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


class GradientDescentEstimator(BaseEstimator):
    """Base class: parameter checks, and the calls into the solver."""

    _parameter_constraints = {
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
        "tol": [Interval(numbers.Real, 0, None, closed="left"), NONE],
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self):
        """The constraints table, then the checks that involve two parameters."""
        check_parameters(self)
        name = type(self).__name__
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
            if self.optimizer != "sgd":
                raise ValueError(
                    f"learning_rate='line_search' of {name} chooses plain gradient "
                    f"steps and needs optimizer='sgd'; got {self.optimizer!r}.")
            if self.early_stopping:
                raise ValueError(
                    f"learning_rate='line_search' of {name} monitors the training "
                    f"objective; it cannot be combined with early_stopping=True.")

    def _settings(self, n_threads=None):
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        r = (float(self.l1_ratio) if self.penalty == "elasticnet"
             else {"l2": 0.0, "l1": 1.0, None: 0.0}[self.penalty])
        alpha = 0.0 if self.penalty is None else float(self.alpha)
        average = int(self.average) if not isinstance(self.average, (bool, np.bool_)) \
            else int(bool(self.average))
        return _solver.Settings(
            batch_size=self.batch_size, optimizer=self.optimizer,
            momentum=float(self.momentum), beta_1=float(self.beta_1),
            beta_2=float(self.beta_2), rho=float(self.rho), eps=float(self.eps),
            learning_rate=self.learning_rate, eta0=self.eta0,
            power_t=float(self.power_t), decay_rate=float(self.decay_rate),
            decay_steps=int(self.decay_steps), warmup_epochs=float(self.warmup_epochs),
            l2=alpha * (1.0 - r), l1=alpha * r, schedule_alpha=float(self.alpha),
            clip_norm=self.clip_norm,
            average=average, fit_intercept=bool(self.fit_intercept),
            scale_features=bool(self.scale_features), max_iter=int(self.max_iter),
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            early_stopping=bool(self.early_stopping),
            validation_fraction=float(self.validation_fraction),
            keep_best=bool(self.keep_best), callback=self.callback,
            shuffle=bool(self.shuffle),
            # spread the 31-bit seed over the 64-bit state
            seed=(seed * 0x9E3779B97F4A7C15 + 1) % 2**64,
            n_threads=resolve_n_threads(self.n_jobs), n_jobs_given=self.n_jobs is not None,
            verbose=int(self.verbose),
        )

    def _initial_coefficients(self, n_outputs, n_features, coef_init, intercept_init):
        """The starting point of fit: coef_init/intercept_init, else the last
        fit's coefficients with warm_start, else zeros (as float64 copies)."""
        coef = np.zeros((n_outputs, n_features))
        intercept = np.zeros(n_outputs)
        if self.warm_start and hasattr(self, "coef_"):
            coef = np.array(self.coef_, dtype=np.float64).reshape(n_outputs, -1)
            intercept = np.array(self.intercept_, dtype=np.float64).reshape(n_outputs)
        coef_shape, intercept_shape = self._public_shapes(n_outputs, n_features)
        if coef_init is not None:
            coef = _check_init("coef_init", coef_init, (n_outputs, n_features), coef_shape)
        if intercept_init is not None:
            intercept = _check_init("intercept_init", intercept_init, (n_outputs,),
                                    intercept_shape)
        if coef.shape[1] != n_features:
            raise ValueError(
                f"warm_start: the previous fit had {coef.shape[1]} features, X has "
                f"{n_features}. Refit with warm_start=False.")
        return coef, intercept

    def _run_solver(self, X, y, sample_weight, loss, n_outputs, coef_init=None,
                    intercept_init=None):
        """fit: a new solve from the initial coefficients."""
        coef, intercept = self._initial_coefficients(n_outputs, X.shape[1],
                                                     coef_init, intercept_init)
        problem = _solver.Problem(X=X, y=y, sample_weight=sample_weight,
                                  loss=loss, n_outputs=n_outputs)
        self._engine = None
        return self._solve(problem, self._settings(), coef=coef, intercept=intercept)

    def _partial_dtypes(self):
        """partial_fit keeps the dtype of its first call's data."""
        engine = getattr(self, "_engine", None)
        return engine.dtype if engine is not None else (np.float64, np.float32)

    def _run_partial(self, X, y, sample_weight, loss, n_outputs):
        """partial_fit: one epoch over these rows, continuing the engine of
        the previous fit/partial_fit (or from the current coef_, if any)."""
        settings = self._settings()
        settings.early_stopping = False
        settings.keep_best = False
        problem = _solver.Problem(X=X, y=y, sample_weight=sample_weight,
                                  loss=loss, n_outputs=n_outputs)
        engine = getattr(self, "_engine", None)
        if engine is not None:
            return self._solve(problem, settings, fit=engine, epochs=1)
        coef = intercept = None
        if hasattr(self, "coef_"):
            coef = np.array(self.coef_, dtype=np.float64).reshape(n_outputs, -1)
            intercept = np.array(self.intercept_, dtype=np.float64).reshape(n_outputs)
        return self._solve(problem, settings, coef=coef, intercept=intercept, epochs=1)

    def _solve(self, problem, settings, **kwargs):
        try:
            result, self._engine = _solver.solve(problem, settings, **kwargs)
        except (_solver.DivergenceError, KeyboardInterrupt) as exc:
            # keep what was learnt (the last finite epoch) before raising
            self._store_result(exc.result)
            raise
        self._store_result(result)
        return self

    def _store_result(self, result):
        self._set_coefficients(result.coef, result.intercept)
        self.n_iter_ = result.n_iter
        self.t_ = result.n_updates + 1
        self.converged_ = result.converged
        self.eta0_ = result.eta0
        self.history_ = result.history


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
    return array.reshape(shape)
