"""What runs where a chunk lives, on a Dask worker.

A chunk is one block of rows of X with its y and sample weights, validated
once (``prepare``) into the estimator's own Problems: the same checks, the
same targets and the same weights as an in-memory fit of those rows.  The
functions below take a prepared Chunk and small arrays (coefficients, an
optimizer state) and return a Part: a value the client's tree reduction
adds up (certificate Sums, Moments, Weighted replicas: each defines +),
with the seconds the chunk spent computing on its worker.  Nothing here
talks to the scheduler, and nothing returned is larger than O(K p).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .. import _solver
from .._certificate import pass_sums
from .._engine import _codes, kernels
from .._fitstate import FitState
from .._inputs import validate_X_y
from .._multi import problem_seed
from .._problem import zero_model_objective

ROW = _codes.StateRow
SC = _codes.Scalar
#: optimizer state rows that local SGD averages across replicas (buffers,
#: the running average, the cumulative L1 penalty); the other rows are
#: scratch of one kernel call and start each round at zero
AVERAGED_ROWS = (ROW.ROW_BUF1, ROW.ROW_BUF2, ROW.ROW_AVERAGE, ROW.ROW_L1_Q)


class Each(tuple):
    """One value per problem of a chunk, added problem by problem."""

    def __add__(self, other):
        return Each(a + b for a, b in zip(self, other))


@dataclass
class Part:
    """A chunk's (or a reduced group of chunks') contribution to a round:
    ``value`` (None for a chunk without rows) and the seconds spent
    computing, per worker address."""

    value: object
    seconds: dict

    def __add__(self, other):
        if self.value is None or other.value is None:
            value = other.value if self.value is None else self.value
        else:
            value = self.value + other.value
        seconds = dict(self.seconds)
        for worker, s in other.seconds.items():
            seconds[worker] = seconds.get(worker, 0.0) + s
        return Part(value, seconds)


def combine(*parts):
    """The sum of parts, in the order given (so a round's result does not
    depend on where its tasks ran)."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def run_group(func, chunks, args, shared):
    """``func(chunk, *args[i], **shared)`` for several chunks of one worker in
    one task (a task per chunk costs the scheduler a round trip each); the
    Parts come back one per chunk, for the client to add in chunk order."""
    return [func(chunk, *a, **shared) for chunk, a in zip(chunks, args)]


def _worker_address():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):  # run outside a worker (tests of this module)
        return "local"


def _timed(chunk, compute):
    """Part(compute(), seconds) for a chunk with rows, an empty Part otherwise."""
    if not chunk.problems:
        return Part(None, {})
    start = time.perf_counter()
    value = compute()
    return Part(value, {_worker_address(): time.perf_counter() - start})


@dataclass
class Chunk:
    """A validated block of rows: the estimator's Problems over it (one X
    shared by all of them) and the estimator's Settings for it."""

    problems: list
    settings: object
    #: certificate scratch per problem, reused from round to round
    work: dict = field(default_factory=dict)

    def __sizeof__(self):
        """The bytes of the arrays it holds (X once: its problems share it),
        so that Dask's memory manager counts a chunk at its size."""
        arrays = {}
        for problem in self.problems:
            X = problem.X
            for a in ((X.data, X.indices, X.indptr) if sp.issparse(X) else (X,)):
                arrays[id(a)] = a.nbytes
            arrays[id(problem.y)] = problem.y.nbytes
            arrays[id(problem.sample_weight)] = problem.sample_weight.nbytes
        return object.__sizeof__(self) + sum(arrays.values())


def prepare(template, X, y, sample_weight, dtype, n_features, partial):
    """Validate one block as the estimator validates in-memory data
    (finiteness, sparse structure, dtype, labels, weights) and build its
    Problems.  ``template`` is an unfitted copy of the estimator (with
    ``classes_`` for classifiers).  A block without rows is an empty Chunk."""
    if X.shape[0] == 0:
        return Chunk([], None)
    X, y = validate_X_y(template, X, y, reset=True, dtype=dtype,
                        y_numeric=template._y_numeric)
    if X.shape[1] != n_features:
        raise ValueError(f"X has {n_features} features, but one of its blocks has "
                         f"{X.shape[1]}; every block must hold every column.")
    problems = template._chunk_problems(X, y, sample_weight)
    return Chunk(problems, template._settings(X, partial=partial))


# ---- moments (the preconditioner, scale_features) and weights

@dataclass
class Moments:
    """A problem's loss code and output count, and the sample-weighted
    column moments of some rows: the weight, and (when asked for) the means
    and sums of squared deviations M2, merged by Chan et al.'s pairwise
    rule (as kernels.column_moments merges its chunks)."""

    loss: int
    n_outputs: int
    weight: float
    rows: int
    mean: np.ndarray | None = None
    m2: np.ndarray | None = None

    def __add__(self, other):
        head = (self.loss, self.n_outputs, self.weight + other.weight,
                self.rows + other.rows)
        if self.mean is None:
            return Moments(*head)
        weight = head[2]
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.weight / weight)
        m2 = self.m2 + other.m2 + delta * delta * (self.weight * other.weight / weight)
        return Moments(*head, mean, m2)


@dataclass
class Setup:
    """What the first round learns of a problem: its Moments, and the
    certificate Sums of a first pass at the all-zero model (or None)."""

    moments: Moments
    sums: object = None

    def __add__(self, other):
        sums = None if self.sums is None else self.sums + other.sums
        return Setup(self.moments + other.moments, sums)


def setup(chunk, with_columns, first_pass):
    """Each problem's Setup over this chunk: the weights, and the column
    moments when ``with_columns``; with ``first_pass`` also the pass at the
    all-zero model where a fit from zeros starts (saving it a round)."""
    n_threads = chunk.settings.n_threads if chunk.settings else 1

    def compute():
        out = []
        for problem in chunk.problems:
            sums = None
            if first_pass:
                p = problem.X.shape[1]
                sums = pass_sums(problem.X, problem.y, problem.sample_weight,
                                 np.zeros((problem.n_outputs, p)), np.zeros(problem.n_outputs),
                                 problem.loss, problem.epsilon, n_threads)[0]
            out.append(Setup(_moments(problem, with_columns, n_threads), sums))
        return Each(out)

    return _timed(chunk, compute)


def _moments(problem, with_columns, n_threads):
    X, sw = problem.X, problem.sample_weight
    head = (problem.loss, problem.n_outputs, float(sw.sum(dtype=np.float64)), X.shape[0])
    weight = head[2]
    if not with_columns:
        return Moments(*head)
    p = X.shape[1]
    if sp.issparse(X):  # sums of x and x^2: never densified
        w = sw.astype(np.float64)
        mean = np.asarray(X.T @ w).ravel() / weight
        second = np.asarray(X.multiply(X).T @ w).ravel()
        m2 = np.maximum(second - weight * mean * mean, 0.0)
        return Moments(*head, mean, m2)
    mean, var = np.empty(p), np.empty(p)
    kernels.column_moments(X, sw, np.empty(0, dtype=np.int64), mean, var,
                           np.empty((1, 2 * p + 1)), n_threads)
    return Moments(*head, mean, var * weight)


# ---- one certificate pass

def certificate_pass(chunk, index, coefficients):
    """Problem ``index``'s certificate Sums over this chunk at the raw
    float64 model ``coefficients`` = (W, b): one pass of descend's fused
    kernel (loss, gradient and the certificate's sums at once)."""
    def compute():
        problem = chunk.problems[index]
        W, b = coefficients
        sums, chunk.work[index] = pass_sums(
            problem.X, problem.y, problem.sample_weight, W, b, problem.loss,
            problem.epsilon, chunk.settings.n_threads, work=chunk.work.get(index))
        return sums

    return _timed(chunk, compute)


@dataclass
class SumsAndGram:
    """A chunk's part of a Newton round: the certificate pass's Sums (None
    in a round without a pass), the unnormalised Gram matrix of the
    Hessian's rows (every stride-th row of each chunk: sum sw loss'' x x')
    and their weight."""

    sums: object
    gram: np.ndarray
    weight: float

    def __add__(self, other):
        sums = None if self.sums is None else self.sums + other.sums
        return SumsAndGram(sums, self.gram + other.gram, self.weight + other.weight)


def newton_pass(chunk, index, coefficients, design, stride, with_pass=True):
    """Problem ``index``'s Newton round over this chunk: the certificate
    Sums at the raw model ``coefficients`` = (W, b) (``with_pass``) and, in
    the same task, the Hessian's Gram matrix at the Objective's point:
    ``design`` = (z, mu, inv_sigma, intercept), the design rows being
    [(x - mu) inv_sigma, 1] (kernels.curvature_gram, as in memory)."""
    def compute():
        problem = chunk.problems[index]
        X, sw = problem.X, problem.sample_weight
        sums = None
        if with_pass:
            W, b = coefficients
            sums, chunk.work[index] = pass_sums(
                X, problem.y, sw, W, b, problem.loss, problem.epsilon,
                chunk.settings.n_threads, work=chunk.work.get(index))
        z, mu, inv_sigma, intercept = design
        d = len(z)
        n = len(range(0, X.shape[0], stride))
        gram = np.zeros((d, d))
        if n:
            work = np.empty((1, d * d + kernels.GRAM_ROWS * (d + 1)))
            kernels.curvature_gram(X, np.empty(0, dtype=np.int64), n, stride, sw, mu,
                                   inv_sigma, intercept, z, problem.loss, gram, work, 1)
        weight = float(sw[::stride].sum(dtype=np.float64))
        return SumsAndGram(sums, gram, weight)

    return _timed(chunk, compute)


@dataclass
class Largest:
    """A maximum as a round's Part value (Parts add their values)."""

    value: float

    def __add__(self, other):
        return Largest(max(self.value, other.value))


def row_quadratic_max(chunk, index, design, stride, upper):
    """max over this chunk's Hessian rows (every stride-th) of |x @ upper|^2
    (kernels.max_row_quadratic; ``design`` as in newton_pass)."""
    def compute():
        X = chunk.problems[index].X
        _, mu, inv_sigma, intercept = design
        n = len(range(0, X.shape[0], stride))
        if not n:
            return Largest(0.0)
        d = len(mu) + (1 if intercept else 0)
        work = np.empty((1, 2 * kernels.QUAD_ROWS * d + 1))
        return Largest(float(kernels.max_row_quadratic(
            X, np.empty(0, dtype=np.int64), n, stride, mu, inv_sigma, intercept, upper,
            work, 1)))

    return _timed(chunk, compute)


# ---- local epochs (mode "local_sgd")

@dataclass
class Replica:
    """One problem's model in the solver's space (scaled with
    scale_features): the iterate W, b, the optimizer state rows and
    scalars the kernels carry, and the coefficients the fit reports (the
    running average with ``average``).  Local SGD averages these."""

    W: np.ndarray
    b: np.ndarray
    state: np.ndarray
    scalars: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    ARRAYS = ("W", "b", "state", "scalars", "coef", "intercept")

    def scaled(self, factor):
        return Replica(*(factor * getattr(self, name) for name in self.ARRAYS))

    def __add__(self, other):
        return Replica(*(getattr(self, name) + getattr(other, name) for name in self.ARRAYS))


@dataclass
class Weighted:
    """Replicas weighted by their rows' sample-weight sums, summed; with the
    weighted sums of each replica's last epoch record (objective, step) and
    the smallest step sizes and objective scale seen."""

    weight: float
    replica: Replica
    objective: float
    learning_rate: float
    eta0: float
    reported_eta0: float
    min_objective: float

    def __add__(self, other):
        return Weighted(self.weight + other.weight, self.replica + other.replica,
                        self.objective + other.objective,
                        self.learning_rate + other.learning_rate,
                        float(np.fmin(self.eta0, other.eta0)),
                        float(np.fmin(self.reported_eta0, other.reported_eta0)),
                        float(np.fmin(self.min_objective, other.min_objective)))

    def mean(self):
        """(the averaged Replica, the weighted mean objective and step)."""
        return (self.replica.scaled(1.0 / self.weight), self.objective / self.weight,
                self.learning_rate / self.weight)


@dataclass
class Plan:
    """What every chunk needs for one round of local epochs: the averaged
    replicas (one per problem), the epochs to run, each problem's scaling
    and step size (None: each chunk's own eta0="auto", in the first round),
    the epochs run so far, and the seeds."""

    start: list
    epochs: int
    scaling: list
    eta0: list
    epochs_before: int
    seed: int
    round: int


def replica_seed(seed, problem, chunk_index, round_index):
    """The shuffling seed of one problem on one chunk in one round: distinct
    for each, and independent of which worker runs the chunk."""
    return problem_seed(problem_seed(problem_seed(seed, problem), chunk_index), round_index)


def local_epochs(chunk, chunk_index, plan):
    """``plan.epochs`` epochs of descend's own solver (the estimator's
    optimizer, batch size and schedule) over this chunk for each problem,
    from the averaged replicas; returns Each(Weighted)."""
    def compute():
        out = []
        for c, problem in enumerate(chunk.problems):
            settings = dataclasses.replace(
                chunk.settings, tol=None, early_stopping=False, keep_best=False,
                callback=None, verbose=0,
                seed=replica_seed(plan.seed, c, chunk_index, plan.round))
            fit = _restore(problem, settings, plan.start[c], plan, c)
            result, fit = _solver.solve(problem, settings, fit=fit, epochs=plan.epochs)
            out.append(_export(problem, settings, fit, result))
        return Each(out)

    return _timed(chunk, compute)


def _restore(problem, settings, start, plan, index):
    """A FitState over this chunk holding the averaged replica ``start``."""
    # built without scale_features (no moments pass over the chunk): the
    # scaling every replica shares is set below
    fit = FitState(problem.X, problem.sample_weight,
                   dataclasses.replace(settings, scale_features=False),
                   start.W, start.b, None, 0.0)
    fit.scaling = plan.scaling[index]
    fit.state[...] = start.state
    fit.scalars[...] = start.scalars
    if not math.isfinite(fit.scalars[SC.SC_MIN_OBJECTIVE]):
        fit.scalars[SC.SC_MIN_OBJECTIVE] = zero_model_objective(problem)
    fit.eta0 = plan.eta0[index]
    fit.n_epochs = plan.epochs_before
    return fit


def _export(problem, settings, fit, result):
    weight = float(problem.sample_weight.sum(dtype=np.float64))
    coef, intercept = fit.problem_coefficients(settings)
    state = np.zeros_like(fit.state)
    state[list(AVERAGED_ROWS)] = fit.state[list(AVERAGED_ROWS)]
    replica = Replica(fit.W.astype(np.float64), fit.b.astype(np.float64), state,
                      fit.scalars.copy(), coef, intercept)
    history = result.history
    return Weighted(weight, replica.scaled(weight),
                    weight * float(history["objective"][-1]),
                    weight * float(history["learning_rate"][-1]),
                    float(fit.eta0), float(result.eta0),
                    float(fit.scalars[SC.SC_MIN_OBJECTIVE]))
