"""Declarative parameter constraints, checked at the start of ``fit``.

Each estimator holds one table ``_parameter_constraints`` mapping a
parameter name to a list of accepted forms; a value is valid when any form
accepts it.  The error names the parameter, says what was accepted and what
was received.
"""
from __future__ import annotations

import math
import numbers
import os

import numpy as np

#: Integers a parameter may hold: the kernels read them as C integers
#: (int64) or doubles, so larger Python ints are rejected, never overflowed.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


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
            if not INT_MIN <= value <= INT_MAX:
                return False
        elif not isinstance(value, numbers.Real):
            return False
        elif not _finite_real(value):
            return False
        left_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        right_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return left_ok and right_ok

    def __str__(self):
        integral = self.kind is numbers.Integral
        kind = "an int" if integral else "a float"
        lo = ("-2**63" if integral else "-inf") if self.low is None else repr(self.low)
        hi = ("2**63-1" if integral else "inf") if self.high is None else repr(self.high)
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        if integral:  # the int64 bounds are included
            left = "[" if self.low is None else left
            right = "]" if self.high is None else right
        return f"{kind} in the range {left}{lo}, {hi}{right}"


def _finite_real(value):
    """Whether a real number is finite (a Python int too large for a float
    is not: it would overflow where the solver converts it)."""
    if isinstance(value, numbers.Integral):
        return INT_MIN <= value <= INT_MAX
    try:
        return math.isfinite(float(value))
    except (OverflowError, TypeError, ValueError):
        return False


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
            or (isinstance(value, numbers.Integral)
                and not isinstance(value, (bool, np.bool_)) and 0 <= value < 2**32)
            or isinstance(value, (np.random.RandomState, np.random.Generator))
        )

    def __str__(self):
        return "None, an int in [0, 2**32) or a numpy RandomState/Generator"


class _NJobs:
    def accepts(self, value):
        return value is None or (
            isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and value != 0 and INT_MIN <= value <= INT_MAX
        )

    def __str__(self):
        return "None or a non-zero int (-1: all cores)"


BOOLEAN = _Boolean()
NONE = _NoneValue()
RANDOM_STATE = _RandomState()
N_JOBS = _NJobs()


#: parameter sets that passed check_parameters, by class (each value with
#: its type: 1, 1.0 and True are equal keys but not equally valid); only
#: sets of plain scalars are kept (a callback or a RandomState would be
#: kept alive by the cache)
_passed = {}
_PASSED_MAX = 256
_SCALARS = (type(None), bool, int, float, str, np.generic)


def check_parameters(estimator):
    """Check every entry of ``estimator._parameter_constraints``.  A set of
    hashable values that passed before passes again without the checks (a
    fixed cost of every fit, ~0.15 ms, that a grid search pays per fit)."""
    constraints = estimator._parameter_constraints
    # (the attributes themselves: get_params reads the class's signature
    # with inspect on every call, a fixed cost of every fit)
    values = [getattr(estimator, param) for param in constraints]
    key = None
    if all(isinstance(v, _SCALARS) for v in values):
        try:
            key = (type(estimator), tuple((type(v), v) for v in values))
            if key in _passed:
                return
        except TypeError:  # (an unhashable NumPy scalar)
            key = None
    _check_each(estimator, constraints, values)
    if key is not None:
        if len(_passed) >= _PASSED_MAX:
            _passed.clear()
        _passed[key] = True


def _check_each(estimator, constraints, values):
    name = type(estimator).__name__
    for (param, forms), value in zip(constraints.items(), values):
        if _int_out_of_range(value):
            raise ValueError(
                f"The {param!r} parameter of {name} is an int beyond the int64 range "
                f"[-2**63, 2**63-1] that the solver computes with. Got {_shown(value)} "
                f"instead.")
        if any(form.accepts(value) for form in forms):
            continue
        accepted = " or ".join(str(form) for form in forms)
        raise ValueError(
            f"The {param!r} parameter of {name} must be {accepted}. "
            f"Got {_shown(value)} instead."
        )


def _int_out_of_range(value):
    return (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and not INT_MIN <= value <= INT_MAX)


def _shown(value):
    """repr(value), shortened (a huge int has thousands of digits)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...({len(text)} characters)"


def resolve_n_threads(n_jobs):
    """OpenMP threads for ``n_jobs``: None and -1 mean every thread OpenMP
    offers (``omp_get_max_threads()``, which honours OMP_NUM_THREADS and
    threadpoolctl); -2 all but one, and so on.  A positive n_jobs is capped
    at the larger of that and the CPU count: more threads than CPUs only
    oversubscribe them (no result depends on the count), and a thread count
    of millions makes OpenMP fail to create its threads, which kills the
    process."""
    from ._engine._runtime import max_threads

    available = max_threads()
    if n_jobs is None:
        return available
    if n_jobs < 0:
        return max(1, available + 1 + n_jobs)
    return int(min(n_jobs, max(available, os.cpu_count() or 1)))


#: Weights whose largest value lies outside this range are divided by it
#: (only their ratios matter): their sum could overflow, or their products
#: with losses and gradients underflow to zero.
SAFE_WEIGHT_RANGE = (1e-30, 1e30)


def check_sample_weight(sample_weight, n_samples, dtype):
    """A C-contiguous weight vector of ``dtype`` (ones when None), never the
    caller's array.  The weights are checked in float64 (finite, >= 0, a
    positive sum) before the cast to ``dtype``; weights of extreme scale
    are divided by their maximum, which leaves the weighted mean loss, and
    so the model, unchanged."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    try:
        if np.isscalar(sample_weight):
            sw = np.full(n_samples, sample_weight, dtype=np.float64)
        else:
            sw = np.array(sample_weight, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(
            f"sample_weight must be numeric; could not convert it to float64: {exc}"
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
    if not sw.max(initial=0.0) > 0:
        raise ValueError("sample_weight sums to zero; at least one weight must be positive.")
    return rescale_weights(sw).astype(dtype, copy=False)


def rescale_weights(weights):
    """Finite non-negative weights with a positive maximum, divided by that
    maximum (in place, and returned) when it lies outside
    SAFE_WEIGHT_RANGE; unchanged otherwise.  Only the ratios of the weights
    enter the weighted mean loss, so the model is the same; without it
    their sum overflows (weights ~1e300) or every product with a loss
    underflows (weights ~1e-320).  All-zero weights are left as they are."""
    largest = float(weights.max(initial=0.0))
    if largest > 0 and not SAFE_WEIGHT_RANGE[0] <= largest <= SAFE_WEIGHT_RANGE[1]:
        weights /= largest
    return weights
