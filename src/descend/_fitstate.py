"""What a fit carries from epoch to epoch and from one partial_fit call to
the next (FitState), and the implicit feature scaling it reads X through."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._engine import _codes, kernels
from ._history import History
from ._interrupt import new_flag

#: Full batch: rows are reduced in chunks of at least MIN_CHUNK_WORK
#: multiply-adds, in at most MAX_CHUNKS chunks; the chunk count depends on
#: the data's shape alone, so the result is bitwise the same for any number
#: of threads.
MIN_CHUNK_WORK = 1 << 16
MAX_CHUNKS = 64
MAX_SCRATCH = 1 << 24  # doubles of per-chunk gradient buffers, at most


#: multiply-adds below which a pass is not worth a second thread: an OpenMP
#: team's start-up and barrier cost tens of microseconds on an idle machine
#: and milliseconds on a busy one (a member waits for a time slice).
MIN_WORK_PER_THREAD = 1 << 21


def threads_for(n_threads, work):
    """Threads for a pass of ``work`` multiply-adds: at most n_threads, one
    per MIN_WORK_PER_THREAD."""
    return int(max(1, min(n_threads, work // MIN_WORK_PER_THREAD)))


def n_chunks_for(n_rows, n_cols, n_outputs):
    """Chunks of the deterministic full-batch reduction (from the shape only)."""
    width = scratch_width(n_cols, n_outputs)
    rows_per_chunk = max(16, MIN_CHUNK_WORK // max(1, n_outputs * n_cols))
    by_rows = max(1, n_rows // rows_per_chunk)
    by_memory = max(1, MAX_SCRATCH // width)
    return int(min(MAX_CHUNKS, by_rows, by_memory))


def rows_of(values, rows):
    """``values[rows]``, or ``values`` itself (no copy) when ``rows`` is
    None or every row (the solver's training rows are then 0..n-1 in order)."""
    if rows is None or len(rows) == len(values):
        return values
    return values[rows]


def scratch_width(n_cols, n_outputs):
    """Doubles per row of the kernels' ``work``: gradient (K*p), intercept
    gradient (K), logits (K), intercept sums of the average (K), loss (1)."""
    return n_outputs * n_cols + 3 * n_outputs + 1


class Scaling:
    """Implicit standardisation: weighted means and 1/std of the features,
    computed once in one pass (no scaled copy of X is ever made).  Identity
    (mu = 0, 1/sigma = 1) when off.  ``rows``: the rows to read (None: all)."""

    BLOCK_ROWS = 8192

    def __init__(self, X, sw, rows, enabled, n_threads=1):
        p = X.shape[1]
        self.mu, self.inv_sigma, self.sigma = np.zeros(p), np.ones(p), np.ones(p)
        if not enabled:
            return
        all_rows = rows is None or len(rows) == X.shape[0]
        w = np.asarray(rows_of(sw, rows), dtype=np.float64)
        total = float(w.sum())
        if sp.issparse(X):  # sparse: moments from sparse products, never densified
            Xr = X if all_rows else X[rows]
            if Xr.dtype != np.float64:  # float32 squares overflow near its limit
                Xr = Xr.astype(np.float64)
            self.mu = np.asarray(Xr.T @ w).ravel() / total
            second = np.asarray(Xr.multiply(Xr).T @ w).ravel() / total
            sigma = np.sqrt(np.maximum(second - self.mu ** 2, 0.0))
        else:  # one stable, parallel pass (a fixed number of chunks: deterministic)
            n_rows = len(w)
            n_chunks = int(min(MAX_CHUNKS, max(1, n_rows // 4096)))
            var = np.empty(p)
            kernels.column_moments(X, sw, np.empty(0, np.int64) if all_rows else rows,
                                   self.mu, var, np.empty((n_chunks, 2 * p + 1)),
                                   threads_for(n_threads, n_rows * p))
            sigma = np.sqrt(var)
        self.sigma = sigma
        self.inv_sigma = np.where(sigma > 0, 1.0 / np.where(sigma > 0, sigma, 1.0), 1.0)

    def to_raw(self, coef, intercept):
        """Coefficients of the scaled model in X's own space."""
        raw = coef * self.inv_sigma
        return raw, intercept - raw @ self.mu

    def to_scaled(self, coef, intercept):
        scaled = coef / self.inv_sigma
        return scaled, intercept + coef @ self.mu

    def matvec(self, Xs, v, v0):
        """[Xs~, 1] @ [v, v0] for the (implicitly scaled) rows Xs."""
        u = v * self.inv_sigma
        return np.asarray(Xs @ u).ravel() - u @ self.mu + v0

    def rmatvec(self, Xs, r):
        """[Xs~, 1].T @ r."""
        return np.append((np.asarray(Xs.T @ r).ravel() - self.mu * r.sum()) * self.inv_sigma,
                         r.sum())

    def dense_rows(self, X, idx):
        """Rows idx of X~ as a dense float64 block (small blocks only)."""
        block = X[idx]
        block = block.toarray() if sp.issparse(block) else block.astype(np.float64)
        return (block - self.mu) * self.inv_sigma

    def row_sq_norms(self, X, rows):
        """||x~_i||^2 of the given rows (sparse: by expanding the square)."""
        if sp.issparse(X):
            Xr = X[rows].astype(np.float64, copy=False)
            s2 = self.inv_sigma ** 2
            out = np.asarray(Xr.multiply(Xr) @ s2).ravel()
            out -= 2.0 * np.asarray(Xr @ (self.mu * s2)).ravel()
            return out + float(self.mu ** 2 @ s2)
        out = np.empty(len(rows))
        for start in range(0, len(rows), self.BLOCK_ROWS):
            block = self.dense_rows(X, rows[start:start + self.BLOCK_ROWS])
            out[start:start + len(block)] = np.einsum("ij,ij->i", block, block)
        return out


class FitState:
    """The state of a fit: the model in the solver's space (scaled when
    scale_features; W_eff, b_eff its raw-space twin the kernels read X
    through), optimizer state (``state`` rows and ``scalars``, laid out as
    codes.h says), the shuffling state, the scaling, the history, and the
    kernels' scratch for the current call (``rows``, ``work``, ``lazy``,
    ``marks``, ``touched``)."""

    def __init__(self, X, sample_weight, settings, coef, intercept, rows, zero_objective):
        n, p = X.shape
        k = coef.shape[0]
        self.dtype = X.dtype
        self.scaling = Scaling(X, sample_weight, rows, settings.scale_features,
                               settings.n_threads)
        W, b = self.scaling.to_scaled(np.asarray(coef, dtype=np.float64),
                                      np.asarray(intercept, dtype=np.float64))
        self.W = np.ascontiguousarray(W, dtype=self.dtype)
        self.b = np.ascontiguousarray(b, dtype=self.dtype)
        self.state = np.zeros((_codes.StateRow.N_STATE_ROWS, k * p + k))
        self.scalars = np.zeros(_codes.Scalar.N_SCALARS)
        self.scalars[_codes.Scalar.SC_BEST] = np.inf
        # the blow-up rule's scale: the smallest objective seen, starting
        # from the all-zero model's (so a first epoch that blows up counts)
        self.scalars[_codes.Scalar.SC_MIN_OBJECTIVE] = zero_objective
        self.rng_state = np.array([settings.seed], dtype=np.uint64)
        self.history = History()
        self.eta0 = None
        self.n_epochs = 0
        self.stop = new_flag()  # the stop flag the kernels read (_interrupt.py)
        self.release()

    @property
    def n_updates(self):
        return int(self.scalars[_codes.Scalar.SC_T])

    #: what a fitted estimator keeps of its fit state (``snapshot``): plain
    #: arrays, numbers and the History, nothing that needs trusting a
    #: private type to load (docs/persistence.md)
    SNAPSHOT = ("W", "b", "state", "scalars", "rng_state", "eta0", "n_epochs", "history")

    def snapshot(self):
        """What partial_fit needs to continue this fit, as a dict of NumPy
        arrays, builtins and the History (no copies: the FitState is not
        used after it is snapshot)."""
        data = {name: getattr(self, name) for name in self.SNAPSHOT}
        data["dtype"] = self.dtype.name
        data["scaling"] = {"mu": self.scaling.mu, "inv_sigma": self.scaling.inv_sigma,
                           "sigma": self.scaling.sigma}
        return data

    @classmethod
    def restore(cls, data):
        """The FitState of a ``snapshot`` (sharing its arrays)."""
        fit = cls.__new__(cls)
        for name in cls.SNAPSHOT:
            setattr(fit, name, data[name])
        fit.dtype = np.dtype(data["dtype"])
        fit.scaling = Scaling.__new__(Scaling)
        for name, value in data["scaling"].items():
            setattr(fit.scaling, name, value)
        fit.stop = new_flag()
        fit.release()
        return fit

    def prepare(self, X, rows, settings, n_threads, full_batch):
        """The kernels' scratch for a call over these rows: ``work`` (a row
        per chunk or thread), the raw-space twin W_eff, b_eff of the model
        (which the kernels refresh from W, b at every epoch's start), the
        epoch's schedule rows ``lazy`` and, for lazy CSR mini-batches, per
        thread, the flags and the list of the coordinates a batch touches
        (room for the K * nnz of the batch_size longest rows)."""
        k, p = self.W.shape
        self.W_eff, self.b_eff = self.W.copy(), self.b.copy()
        width = scratch_width(p, k)
        by_memory = max(1, MAX_SCRATCH // width)
        per_thread = max(1, min(n_threads, by_memory))
        # mini-batches: a row per chunk (BATCH_MAX_CHUNKS, from the batch
        # alone, so any thread count gives the same bits) or per thread
        n_work = (n_chunks_for(len(rows), p, k) if full_batch
                  else max(per_thread, min(_codes.BATCH_MAX_CHUNKS, by_memory)))
        # the kernels shuffle it in place (problems may share rows); a full
        # batch only reads it
        self.rows = rows if full_batch or not settings.shuffle else rows.copy()
        self.work = np.zeros((n_work, width))
        updates = 1 if full_batch else -(-len(rows) // settings.batch_size)
        self.lazy = np.empty((_codes.LazyRow.N_LAZY_ROWS, updates + 1))
        self.marks = np.zeros((1, 1), dtype=np.uint8)
        self.touched = np.empty((1, 1), dtype=np.int64)
        self.memory = np.zeros((1, 1))
        if settings.optimizer == "saga":  # one stored derivative per row and output
            self.memory = np.zeros((X.shape[0], k))
        saga_batch = settings.optimizer == "saga" and not full_batch and settings.batch_size > 1
        if (sp.issparse(X) or saga_batch) and not full_batch and settings.batch_size > 1:
            if sp.issparse(X):
                lengths = np.sort(np.diff(X.indptr))[-settings.batch_size:]
                cap = max(1, min(k * p, k * int(lengths.sum())))
            else:
                cap = k * p
            self.marks = np.zeros((per_thread, k * p), dtype=np.uint8)
            self.touched = np.empty((per_thread, cap), dtype=np.int64)
        return n_work

    def release(self):
        """Drop the scratch of the last call (a fitted model keeps only what
        partial_fit needs to continue)."""
        self.rows = self.work = self.lazy = self.marks = self.touched = None
        self.memory = self.W_eff = self.b_eff = None

    def problem_coefficients(self, settings):
        """The coefficients the fit reports, in the solver's space (scaled
        with scale_features), as float64: the average when averaging."""
        if settings.average and self.n_updates >= settings.average:
            k, p = self.W.shape
            avg = self.state[_codes.StateRow.ROW_AVERAGE]
            return avg[:k * p].reshape(k, p).copy(), avg[k * p:].copy()
        return self.W.astype(np.float64), self.b.astype(np.float64)

    def coefficients(self, settings):
        """coef, intercept in X's space (the average when averaging);
        copies, never the state's own arrays."""
        averaged = settings.average and self.n_updates >= settings.average
        if not averaged and not settings.scale_features:  # one copy, no round trip
            return self.W.copy(), self.b.copy()
        W, b = self.problem_coefficients(settings)
        if settings.scale_features:
            W, b = self.scaling.to_raw(W, b)
        return W.astype(self.dtype), b.astype(self.dtype)

    def restore_best(self):
        k, p = self.W.shape
        best = self.state[_codes.StateRow.ROW_BEST]
        self.W[...] = best[:k * p].reshape(k, p)
        self.b[...] = best[k * p:]
