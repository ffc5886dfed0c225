"""What a Dask fit records on the client: ``history_`` (one row per
iteration or averaging round, descend's usual columns), ``rounds_`` (one
row per round trip to the cluster, with its compute and communication
seconds), progress lines, the callback, and the no-improvement rule."""
from __future__ import annotations

import time

import numpy as np

from .. import _solver
from .._engine import _codes, kernels
from .._history import COLUMNS, History

#: the columns of ``rounds_``, with their meaning
ROUND_COLUMNS = {
    "round": "round trip number, from 1 (per problem for one-vs-rest fits)",
    "problem": "the problem the round served (one-vs-rest: the class index; else 0; "
               "-1: every problem at once)",
    "epoch": "the history_ epoch (iteration or averaging round) it belongs to",
    "kind": "0: a certificate pass (loss, gradient, gap); 1: local epochs; "
            "2: setup (weights and moments)",
    "wall_seconds": "seconds on the client from sending the tasks to holding the total",
    "compute_seconds": "seconds the busiest worker spent inside descend's kernels "
                       "(the round's critical path if its chunks ran back to back)",
    "communication_seconds": "wall_seconds - compute_seconds: scheduling, transfers, "
                             "the tree reduction, waiting on stragglers",
    "client_bytes": "bytes the client sent (coefficients, optimizer state) and "
                    "received (the reduced total)",
    "seconds": "cumulative wall-clock seconds since the fit started",
}
PASS, LOCAL, SETUP = 0, 1, 2


class Rounds:
    """Per-round record of a Dask fit: ``rounds[column]`` is a NumPy array,
    ``rounds.to_frame()`` a pandas DataFrame, ``len(rounds)`` the number of
    round trips; the columns are ROUND_COLUMNS."""

    def __init__(self, rows=()):
        self._rows = [tuple(row) for row in rows]

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, column):
        if column not in ROUND_COLUMNS:
            raise KeyError(f"{column!r} is not a rounds_ column; columns: "
                           f"{list(ROUND_COLUMNS)}")
        j = list(ROUND_COLUMNS).index(column)
        return np.array([row[j] for row in self._rows], dtype=np.float64)

    @property
    def columns(self):
        return list(ROUND_COLUMNS)

    def to_frame(self):
        """The rounds as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self._rows, columns=list(ROUND_COLUMNS))

    def __add__(self, other):
        return Rounds(self._rows + other._rows)

    def __repr__(self):
        if not self._rows:
            return "Rounds(empty)"
        return (f"Rounds({len(self)} round trips, {self['wall_seconds'].sum():.3g} s, of "
                f"which {self['communication_seconds'].sum():.3g} s not computing)")


class Recorder:
    """The history of one problem's fit and its round trips, as they grow;
    ``add`` prints progress (verbose) and calls the callback."""

    def __init__(self, settings, problem=0, start=None, history=None):
        self.settings = settings
        self.problem = problem
        self.start = time.perf_counter() if start is None else start
        self.history = History() if history is None else history
        self.rounds = Rounds()

    @property
    def epoch(self):
        """The last epoch recorded (0 before the first)."""
        return int(self.history["epoch"][-1]) if len(self.history) else 0

    def elapsed(self):
        return time.perf_counter() - self.start

    def round(self, stats, kind, epoch=None, problem=None):
        """Log one round trip (a RoundStats) as part of ``epoch`` (default:
        the next one)."""
        self.rounds._rows.append((
            len(self.rounds) + 1, self.problem if problem is None else problem,
            self.epoch + 1 if epoch is None else epoch, kind, stats.wall,
            stats.compute, max(stats.wall - stats.compute, 0.0), stats.client_bytes,
            self.elapsed()))

    def add(self, **record):
        """Append one epoch (columns of History by name; the rest NaN; the
        epoch number defaults to the next); returns True when the callback
        asks to stop."""
        record = {"epoch": self.epoch + 1, "seconds": self.elapsed(), **record}
        self.history._append_block(
            np.array([[record.get(name, np.nan) for name in COLUMNS]], dtype=np.float64))
        last = self.history[-1]
        if self.settings.verbose:
            print(_solver.format_record(last), flush=True)
        callback = self.settings.callback
        return bool(callback is not None and callback(last))


class Monitor:
    """The kernels' no-improvement rule (``stopping="no_improvement"``, and
    the "adaptive" schedule's step division), run on the client on one
    value per epoch, as the in-memory full-batch methods run it."""

    def __init__(self, settings, loss, n_outputs, n_features, eta0=np.nan):
        stub = _solver.Problem(X=np.zeros((1, n_features)), y=np.zeros(1),
                               sample_weight=np.ones(1), loss=loss, n_outputs=n_outputs)
        self.config = _solver.kernel_config(
            stub, settings, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), 1.0,
            1.0 if not np.isfinite(eta0) else eta0, 1, True)
        self.active = settings.tol is not None and (
            settings.stopping == "no_improvement" or settings.learning_rate == "adaptive")
        self.scalars = np.zeros(_codes.Scalar.N_SCALARS)
        self.scalars[_codes.Scalar.SC_BEST] = np.inf
        self.scalars[_codes.Scalar.SC_ETA_ADAPTIVE] = eta0

    @property
    def eta_adaptive(self):
        return float(self.scalars[_codes.Scalar.SC_ETA_ADAPTIVE])

    def set_eta(self, eta0):
        self.scalars[_codes.Scalar.SC_ETA_ADAPTIVE] = eta0

    def stop(self, value):
        """Whether the rule says stop after an epoch with this value."""
        if not self.active:
            return False
        return bool(kernels.check_stop(self.config, self.scalars, value) & 1)
