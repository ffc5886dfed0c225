"""Declarative parameter constraints, checked at the start of ``fit``.

Each estimator holds one table ``_parameter_constraints`` mapping a
parameter name to a list of accepted forms; a value is valid when any form
accepts it.  The error names the parameter, says what was accepted and what
was received.
"""
from __future__ import annotations

import numbers

import numpy as np


class Interval:
    """A real or integral number in a range; ``closed`` in
    {"both", "left", "right", "neither"} (None bound = unbounded)."""

    def __init__(self, kind, low, high, closed="both"):
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def accepts(self, value):
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is numbers.Integral:
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real):
            return False
        if not np.isfinite(value):
            return False
        left_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        right_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return left_ok and right_ok

    def __str__(self):
        kind = "an int" if self.kind is numbers.Integral else "a float"
        lo = "-inf" if self.low is None else repr(self.low)
        hi = "inf" if self.high is None else repr(self.high)
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{kind} in the range {left}{lo}, {hi}{right}"


class Options:
    """One of a fixed set of strings."""

    def __init__(self, *options):
        self.options = options

    def accepts(self, value):
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return "a str among " + ", ".join(repr(o) for o in self.options)


class _Boolean:
    def accepts(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "a bool"


class _NoneValue:
    def accepts(self, value):
        return value is None

    def __str__(self):
        return "None"


class _RandomState:
    def accepts(self, value):
        return (
            value is None
            or (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and 0 <= value < 2**32)
            or isinstance(value, (np.random.RandomState, np.random.Generator))
        )

    def __str__(self):
        return "None, an int in [0, 2**32) or a numpy RandomState/Generator"


class _NJobs:
    def accepts(self, value):
        return value is None or (
            isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and value != 0
        )

    def __str__(self):
        return "None or a non-zero int (-1: all cores)"


BOOLEAN = _Boolean()
NONE = _NoneValue()
RANDOM_STATE = _RandomState()
N_JOBS = _NJobs()


def check_parameters(estimator):
    """Check every entry of ``estimator._parameter_constraints``."""
    name = type(estimator).__name__
    params = estimator.get_params(deep=False)
    for param, forms in estimator._parameter_constraints.items():
        value = params[param]
        if any(form.accepts(value) for form in forms):
            continue
        accepted = " or ".join(str(form) for form in forms)
        raise ValueError(
            f"The {param!r} parameter of {name} must be {accepted}. "
            f"Got {value!r} instead."
        )


def resolve_n_threads(n_jobs):
    """OpenMP threads for ``n_jobs``: None and -1 mean every thread OpenMP
    offers (``omp_get_max_threads()``, which honours OMP_NUM_THREADS and
    threadpoolctl); -2 all but one, and so on."""
    from ._engine._runtime import max_threads

    available = max_threads()
    if n_jobs is None:
        return available
    if n_jobs < 0:
        return max(1, available + 1 + n_jobs)
    return int(n_jobs)


def check_sample_weight(sample_weight, n_samples, dtype):
    """A C-contiguous weight vector of ``dtype`` (ones when None)."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if np.isscalar(sample_weight):
        sw = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        try:
            sw = np.ascontiguousarray(sample_weight, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"sample_weight must be numeric; could not convert it to "
                f"{np.dtype(dtype).name}: {exc}"
            ) from None
    if sw.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},) to match X; got "
            f"shape {sw.shape}."
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity; pass finite weights.")
    if np.any(sw < 0):
        raise ValueError("sample_weight contains negative values; weights must be >= 0.")
    if not sw.sum() > 0:
        raise ValueError("sample_weight sums to zero; at least one weight must be positive.")
    return sw
