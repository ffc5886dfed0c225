"""What every descend estimator shares: parameters, their checks and
documentation, and the fit that hands validated data to the solver."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from . import _solver
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
    "learning_rate": """learning_rate : {{"constant", "invscaling"}}, default={default}
    Step-size schedule over updates t = 1, 2, ...: "constant" uses
    ``eta0``; "invscaling" uses ``eta0 / t**power_t`` (full batch: t is
    the epoch).""",
    "eta0": """eta0 : float > 0 or "auto", default={default}
    Initial step size. "auto" derives it from the data: 1/L for full batch,
    L the gradient's Lipschitz constant (largest eigenvalue of the
    sample-weighted covariance of [X, 1], by power iteration, times the
    loss curvature bound, plus alpha); for batches of B rows 1/(2 L(B)) with
    L(B) the expected smoothness of a B-row sample. Safe on any scaling,
    fastest on standardised features. The value used is ``eta0_``.""",
    "power_t": """power_t : float >= 0, default={default}
    Exponent of the "invscaling" schedule.""",
    "penalty": """penalty : {{"l2"}} or None, default={default}
    Regularisation term: "l2" adds ``alpha/2 * ||coef||^2`` to the mean
    loss; None adds nothing. The intercept is never penalised.""",
    "alpha": """alpha : float >= 0, default={default}
    Strength of the penalty. The objective is mean (sample-weighted) loss
    + ``alpha/2 * ||coef||^2``; scikit-learn's ``C`` corresponds to
    ``alpha = 1 / (C * n_samples)``, Ridge's ``alpha`` to
    ``alpha / n_samples`` here.""",
    "fit_intercept": """fit_intercept : bool, default={default}
    Whether to fit an (unpenalised) intercept. X is never augmented with a
    column of ones.""",
    "max_iter": """max_iter : int >= 1, default={default}
    Maximum number of epochs (passes over the data).""",
    "tol": """tol : float >= 0 or None, default={default}
    Stopping tolerance: the fit stops when for ``n_iter_no_change``
    consecutive epochs the objective fails to improve on the best seen by
    more than ``tol * max(1, |best|)``. None runs all ``max_iter`` epochs.""",
    "n_iter_no_change": """n_iter_no_change : int >= 1, default={default}
    Epochs without sufficient improvement before stopping.""",
    "shuffle": """shuffle : bool, default={default}
    Shuffle the rows before each epoch of a stochastic or mini-batch fit
    (full batch visits rows in order; shuffling would not change it).""",
    "random_state": """random_state : int, RandomState instance or None, default={default}
    Seed of the shuffling. With the same seed a fit is reproducible bit for
    bit.""",
    "n_jobs": """n_jobs : int or None, default={default}
    OpenMP threads. None and -1 use every thread OpenMP offers (honouring
    OMP_NUM_THREADS and threadpoolctl); -2 all but one. Full-batch results
    are bitwise identical for any value; mini-batches are split across
    threads only when large enough to pay for it.""",
    "verbose": """verbose : int >= 0, default={default}
    Print one line per epoch (objective, step size, seconds) when > 0.""",
}

FITTED_ATTRIBUTE_DOCS = """n_iter_ : int
    Epochs run.
t_ : int
    Parameter updates made, plus one (scikit-learn's SGD convention).
converged_ : bool
    Whether the ``tol`` criterion ended the fit.
eta0_ : float
    The initial step size used (resolves ``eta0="auto"``).
history_ : descend.History
    One record per epoch: epoch, objective, grad_norm, learning_rate,
    updates, seconds; ``history_.stop_reason`` says why the fit ended
    ("tol", "max_iter" or "diverged"). ``history_.to_frame()`` gives a
    pandas DataFrame.
n_features_in_ : int
    Number of features seen in fit.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Feature names seen in fit, when X has string column names."""


def fill_docstring(cls):
    """Fill ``{name}`` placeholders of ``cls.__doc__`` from PARAMETER_DOCS
    (with the class's own defaults) and FITTED_ATTRIBUTE_DOCS."""
    import inspect

    def shown(value):
        return f'"{value}"' if isinstance(value, str) else repr(value)

    defaults = {name: shown(param.default)
                for name, param in inspect.signature(cls.__init__).parameters.items()}
    entries = {name: text.format(default=defaults[name])
               for name, text in PARAMETER_DOCS.items()}
    indent = "    "
    entries = {name: text.replace("\n", "\n" + indent) for name, text in entries.items()}
    entries["fitted_attributes"] = FITTED_ATTRIBUTE_DOCS.replace("\n", "\n" + indent)
    cls.__doc__ = cls.__doc__.format(**entries)
    return cls


class GradientDescentEstimator(BaseEstimator):
    """Base class: parameter checks and the call into the solver."""

    _parameter_constraints = {
        "batch_size": [NONE, Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Options("constant", "invscaling")],
        "eta0": [Options("auto"), Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "penalty": [Options("l2"), NONE],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": [BOOLEAN],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left"), NONE],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": [BOOLEAN],
        "random_state": [RANDOM_STATE],
        "n_jobs": [N_JOBS],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left"), BOOLEAN],
    }

    def _settings(self):
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        return _solver.Settings(
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            eta0=self.eta0,
            power_t=float(self.power_t),
            l2=float(self.alpha) if self.penalty == "l2" else 0.0,
            fit_intercept=bool(self.fit_intercept),
            max_iter=int(self.max_iter),
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            shuffle=bool(self.shuffle),
            # spread the 31-bit seed over the 64-bit state
            seed=(seed * 0x9E3779B97F4A7C15 + 1) % 2**64,
            n_threads=resolve_n_threads(self.n_jobs),
            verbose=int(self.verbose),
        )

    def _run_solver(self, X, y, sample_weight, loss, n_outputs):
        """Fit from zero; store coefficients and the fitted attributes.

        X is validated (C-contiguous float32/float64), y encoded in X's dtype.
        """
        dtype = X.dtype
        coef = np.zeros((n_outputs, X.shape[1]), dtype=dtype)
        intercept = np.zeros(n_outputs, dtype=dtype)
        problem = _solver.Problem(X=X, y=y, sample_weight=sample_weight,
                                  loss=loss, n_outputs=n_outputs)
        try:
            result = _solver.solve(problem, self._settings(), coef, intercept)
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
