"""Several independent problems at once: one-vs-rest classes and the
targets of a multi-output regression.  A solver-level operation: each
problem is an ordinary solve, run in parallel threads (the kernels release
the GIL), seeded and sized so that the result does not depend on the
thread count."""
from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from . import _interrupt, _solver
from ._history import combine_histories


def problem_seed(seed, c):
    """A distinct 64-bit shuffling seed for problem c of several."""
    return (seed ^ ((c + 1) * 0xD1B54A32D192ED03)) % 2**64


_running = 0  # fits running in this process now
_running_lock = threading.Lock()


@contextmanager
def _thread_share(settings):
    """The settings of a fit that shares the process's OpenMP threads with
    the fits already running in other Python threads (a threading joblib
    backend, a server handling requests): with n_jobs not given, each of
    k concurrent fits takes 1/k of them, so k fits never start k full
    teams on the same cores.  An explicit n_jobs is used as given.  No
    result depends on the thread count (Hogwild, which does, runs only
    with an explicit n_jobs)."""
    global _running
    with _running_lock:
        _running += 1
        running = _running
    try:
        if running > 1 and not settings.n_jobs_given:
            settings = dataclasses.replace(
                settings, n_threads=max(1, settings.n_threads // running))
        yield settings
    finally:
        with _running_lock:
            _running -= 1


def solve_all(problems, settings, fits=None, coef=None, intercept=None, epochs=None,
              split=None):
    """Solve each problem (its rows of ``coef``/``intercept`` start it, or
    ``fits[c]`` continues it); returns (results, fits).  With several
    problems they run in parallel threads, n_threads shared among them,
    each with its own shuffling seed; ``split`` is the early-stopping split
    they share.  A problem that diverges or is interrupted stops only
    itself; the first such exception is raised after all have finished,
    with ``exc.results`` and ``exc.fits`` holding every problem's result
    and fit state.  Ctrl-C stops every problem (_interrupt.py)."""
    flag = _interrupt.new_flag()
    try:
        with _thread_share(settings) as shared:
            results, new_fits = _interrupt.run(
                lambda: _solve_problems(problems, shared, flag, fits, coef, intercept,
                                        epochs, split),
                flag, short=_short_calls(problems, settings))
    except KeyboardInterrupt as exc:
        if hasattr(exc, "outcome"):  # every problem had finished as Ctrl-C came
            exc.results, exc.fits = exc.outcome
        raise
    # (stacklevel 6 from warn_outcome's callees: warn_outcome, here, the
    # estimator's _solve, its _fit_problems or _partial_fit_problems, fit,
    # then the caller of fit)
    _solver.warn_outcome(problems, [r.history for r in results], combined_history(results),
                         settings, epochs, stacklevel=6)
    return results, new_fits


def _short_calls(problems, settings):
    """Every kernel call of the fit is one pass over a small X (a full batch
    driven from Python, at most _interrupt.SHORT_CALL_WORK entries in all;
    the epoch kernels run blocks of epochs a call): Ctrl-C needs no worker
    thread (_interrupt.py)."""
    if settings.batch_size is not None or _solver.full_batch_method(settings, True) is None:
        return False
    work = sum(_solver.epoch_work(p.X, p.n_outputs) for p in problems)
    return work <= _interrupt.SHORT_CALL_WORK


def _solve_problems(problems, settings, flag, fits, coef, intercept, epochs, split):
    k = len(problems)
    n_threads = settings.n_threads
    per_problem = [dataclasses.replace(
        settings, seed=settings.seed if k == 1 else problem_seed(settings.seed, c),
        n_threads=max(1, n_threads // k) if k > 1 else n_threads) for c in range(k)]
    starts = np.cumsum([0] + [p.n_outputs for p in problems])

    def run(c):
        kwargs = dict(epochs=epochs, split=split, stop=flag)
        if fits is not None:
            kwargs["fit"] = fits[c]
        elif coef is not None:
            kwargs.update(coef=coef[starts[c]:starts[c + 1]],
                          intercept=intercept[starts[c]:starts[c + 1]])
        try:
            return _solver.solve(problems[c], per_problem[c], **kwargs)
        except (_solver.DivergenceError, KeyboardInterrupt) as exc:
            return exc

    workers = max(1, min(k, n_threads))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(run, range(k)))
    else:
        outcomes = [run(c) for c in range(k)]
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    results = [o.result if isinstance(o, BaseException) else o[0] for o in outcomes]
    new_fits = [o.fit if isinstance(o, BaseException) else o[1] for o in outcomes]
    if failures:
        failures[0].results = results
        failures[0].fits = new_fits
        raise failures[0]
    return results, new_fits


def combined_history(results):
    """One history for several problems (their objectives summed per epoch)."""
    if len(results) == 1:
        return results[0].history
    return combine_histories([r.history for r in results])


def combined_result(results):
    """The fitted attributes of several problems: coefficients stacked,
    the most epochs and updates any of them took, converged if all did."""
    return _solver.Result(
        coef=np.vstack([r.coef for r in results]),
        intercept=np.concatenate([r.intercept for r in results]),
        history=combined_history(results),
        n_iter=max(r.n_iter for r in results),
        n_updates=max(r.n_updates for r in results),
        converged=all(r.converged for r in results),
        eta0=results[0].eta0)
