"""The convergence history a fit records, one record per epoch."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: The columns of a history, in order, with their meaning.
COLUMNS = {
    "epoch": "epoch number, from 1 (an iteration of lbfgs, agd and "
             "line_search)",
    "objective": "mean (sample-weighted) loss + penalty; lbfgs, agd, "
                 "line_search: exact, at the iteration's end point; other "
                 "full-batch optimizers: exact, at the point where the epoch "
                 "started; stochastic: the running mean of each sample's loss "
                 "before its update, plus the penalty at the end of the epoch",
    "grad_norm": "Euclidean norm of the objective's smooth gradient (full "
                 "batch only; NaN otherwise)",
    "learning_rate": "step size of the epoch's last update (lbfgs: the line "
                     "search's step along the quasi-Newton direction)",
    "updates": "cumulative number of parameter updates (lbfgs, agd, "
               "line_search: of passes over the data)",
    "seconds": "cumulative wall-clock seconds since fit started",
    "validation_score": "score on the held-out rows (accuracy or R^2) with "
                        "early_stopping; NaN otherwise",
    "gap": "certified relative suboptimality: (objective - D) / D for a "
           "duality-gap lower bound D <= the optimum, from an exact pass over "
           "the data; NaN in epochs without a certificate pass",
}
_INTEGER_COLUMNS = ("epoch", "updates")

#: Every value ``History.stop_reason`` can take, with its meaning: the one
#: definition (docs/stopping.md lists the same, tests/test_stopping_docs.py
#: checks it); assigning any other value is an error.
STOP_REASONS = {
    "tol": "certified: the relative suboptimality (history_['gap']) is at most "
           "tol (without a penalty: the gradient norm fell to tol**2 times its "
           "start); converged_ is True",
    "no_improvement": "stopping='no_improvement' (scikit-learn's rule): the "
                      "objective did not improve by tol for n_iter_no_change "
                      "epochs; nothing is certified",
    "early_stopping": "early_stopping=True: the validation score did not "
                      "improve by tol for n_iter_no_change epochs",
    "max_iter": "max_iter epochs ran without the stopping rule being met "
                "(ConvergenceWarning); also the normal end of a partial_fit call "
                "(one epoch)",
    "precision": "lbfgs, agd, line_search: no further decrease is possible at "
                 "working precision before tol was certified (ConvergenceWarning)",
    "callback": "the callback returned a true value",
    "diverged": "the objective or the coefficients became non-finite (or grew "
                "1e10-fold): DivergenceError was raised and the last finite "
                "epoch's coefficients kept",
    "interrupted": "Ctrl-C (KeyboardInterrupt) stopped the fit; the finished "
                   "epochs are kept and partial_fit can continue",
    "failed": "descend.dask only: a round could not complete on the cluster "
              "(lost workers, round_timeout); the last completed round is kept",
}


class History(Sequence):
    """Per-epoch records of a fit.

    ``history[i]`` is the i-th epoch as a dict; ``history["objective"]`` is a
    column as a NumPy array; ``history.to_frame()`` gives a pandas DataFrame.
    ``stop_reason`` says why the fit ended: one of ``STOP_REASONS`` (listed
    with their meanings in docs/stopping.md): "tol" (the certificate holds),
    "no_improvement" (the objective stopped improving by tol),
    "early_stopping" (the validation score did), "max_iter", "precision"
    (no further decrease at working precision), "callback", "diverged",
    "interrupted" or "failed" (descend.dask); None before any epoch.
    """

    def __init__(self):
        self._blocks = []  # float arrays of shape (epochs, len(COLUMNS))
        self._table = np.empty((0, len(COLUMNS)))
        self._stop_reason = None

    @property
    def stop_reason(self):
        """Why the fit ended: a key of ``STOP_REASONS`` (None before a fit)."""
        return self._stop_reason

    @stop_reason.setter
    def stop_reason(self, reason):
        if reason is not None and reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {sorted(STOP_REASONS)} or None; "
                             f"got {reason!r}")
        self._stop_reason = reason

    def _append_block(self, table):
        """Add epochs given as rows of a (m, len(COLUMNS)) float array."""
        if len(table):
            self._blocks.append(np.array(table, dtype=np.float64))

    def _rows(self):
        if self._blocks:
            self._table = np.concatenate([self._table, *self._blocks])
            self._blocks = []
        return self._table

    def __len__(self):
        return len(self._rows())

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in COLUMNS:
                raise KeyError(f"{key!r} is not a history column; columns: {list(COLUMNS)}")
            column = self._rows()[:, list(COLUMNS).index(key)]
            return column.astype(np.int64) if key in _INTEGER_COLUMNS else column.copy()
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        row = self._rows()[range(len(self))[key]]
        return {name: (int(v) if name in _INTEGER_COLUMNS else float(v))
                for name, v in zip(COLUMNS, row)}

    @property
    def columns(self):
        return list(COLUMNS)

    def to_dict(self) -> dict[str, np.ndarray]:
        """The columns as a dict of NumPy arrays."""
        return {name: self[name] for name in COLUMNS}

    def to_frame(self) -> Any:
        """The history as a pandas DataFrame, one row per epoch (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the env
            raise ImportError("History.to_frame() needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.to_dict())

    def plot(self, x: str = "epoch", y: str = "objective", ax: Any = None,
             label: str | None = None, logy: bool = True, title: str | None = None) -> Any:
        """Plot a column against the epoch (or the seconds) of the fit.

        Needs matplotlib: ``pip install 'descend[plot]'``. To compare several
        fits on one Axes use :func:`descend.plot_histories`.

        Parameters
        ----------
        x : {"epoch", "seconds", "updates"}, default="epoch"
            History column on the x axis (its name labels the axis).
        y : str, default="objective"
            History column on the y axis (its name labels the axis), any of
            ``columns``.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        label : str, default=None
            Legend entry of the curve; a legend is drawn when given.
        logy : bool, default=True
            Logarithmic y axis.
        title : str, default=None
            Title of the Axes.

        Returns
        -------
        ax : matplotlib Axes
            The Axes drawn on.
        """
        from ._plotting import plot_history

        return plot_history(self, x=x, y=y, ax=ax, label=label, logy=logy, title=title)

    def __repr__(self):
        if not len(self):
            return f"History(empty, stop_reason={self.stop_reason!r})"
        return (f"History({len(self)} epochs, objective {self[-1]['objective']:.6g}, "
                f"stop_reason={self.stop_reason!r})")


def combine_histories(histories):
    """One History for a one-vs-rest fit from its per-class Histories.

    Epoch e's objective is the sum of the classes' objectives (the
    one-vs-rest objective; a class that stopped earlier keeps its last
    value), grad_norm the norm over all classes, updates their sum,
    seconds, learning_rate and gap the largest, validation_score the mean.  The
    stop reason is "tol" when every class converged, else the first other
    reason.
    """
    combined = History()
    tables = [h._rows() for h in histories]
    n = max(len(t) for t in tables)
    if n:
        # every class's record carried forward to the longest fit's epochs
        full = np.stack([np.vstack([t, np.repeat(t[-1:], n - len(t), axis=0)])
                         if len(t) else np.full((n, len(COLUMNS)), np.nan) for t in tables])
        col = {name: j for j, name in enumerate(COLUMNS)}
        out = np.empty((n, len(COLUMNS)))
        out[:, col["epoch"]] = np.arange(1, n + 1)
        out[:, col["objective"]] = full[:, :, col["objective"]].sum(axis=0)
        out[:, col["grad_norm"]] = np.sqrt((full[:, :, col["grad_norm"]] ** 2).sum(axis=0))
        out[:, col["learning_rate"]] = full[:, :, col["learning_rate"]].max(axis=0)
        out[:, col["updates"]] = full[:, :, col["updates"]].sum(axis=0)
        out[:, col["seconds"]] = full[:, :, col["seconds"]].max(axis=0)
        out[:, col["validation_score"]] = full[:, :, col["validation_score"]].mean(axis=0)
        # each class's relative gap certifies its own problem: the largest
        # certifies the sum of their objectives
        out[:, col["gap"]] = full[:, :, col["gap"]].max(axis=0)
        combined._append_block(out)
    reasons = [h.stop_reason for h in histories]
    combined.stop_reason = "tol" if all(r == "tol" for r in reasons) else next(
        r for r in reasons if r != "tol")
    return combined
