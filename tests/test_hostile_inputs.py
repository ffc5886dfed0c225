"""The hostile-input battery (issue #12): whatever data, file or settings a
caller passes, descend answers with a correct model or a clear error.

Every case runs in a child process (this file, run as a script), with a
time limit and an address-space limit, so that a segfault, an abort, a
hang or an allocation bomb is a FAILURE naming the case, not a dead test
run.  The cases of one group (estimator x dense/CSR x batch mode, the
hyperparameters of one estimator, the command line) share one child; if
it dies, the case it was running is recorded as the crash (re-run alone to
confirm) and the rest of the group continues in a fresh child.

A case passes when its outcome is the one it expects:

- "ok": a fitted model with finite coefficients whose predictions on
  fresh data are finite (or, for a prediction method, a finite result),
  equal to the model of an equivalent canonical input where the case
  names one (Fortran order, views, read-only, other dtypes, ...);
- "rejected": a ValueError or TypeError (DivergenceError is a ValueError)
  whose message names the offending argument (a regular expression each
  case gives);
- "either" of the two.

Whatever it expects, a case fails on any other exception (a warning from
NumPy's internals included: RuntimeWarnings are errors here, as in the
project's pytest settings), a crash signal, a time-out, non-finite
coefficients returned silently, or an input array that changed.

``python tests/test_hostile_inputs.py --summary [--json FILE]`` runs the
whole battery and prints the outcomes by category (the figures in
RELIABILITY.md), and the failures.
Environment: DESCEND_HOSTILE_TIMEOUT (seconds per case, default 60),
DESCEND_HOSTILE_AS_LIMIT (bytes of address space per child, default
4 GiB; 0 = no limit, needed under AddressSanitizer), DESCEND_HOSTILE_JOBS
(children run at once, default: the CPU count).
"""
from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from corrupt_csr import CORRUPTIONS, corrupt  # noqa: F401  (beside this file; test_properties imports both from here)

CASE_TIMEOUT = float(os.environ.get("DESCEND_HOSTILE_TIMEOUT", "60"))
AS_LIMIT = int(os.environ.get("DESCEND_HOSTILE_AS_LIMIT", str(4 << 30)))
JOBS = int(os.environ.get("DESCEND_HOSTILE_JOBS", "0")) or os.cpu_count() or 1

ESTIMATORS = ("LinearRegression", "LogisticRegression", "SGDClassifier", "SGDRegressor")
REGRESSORS = ("LinearRegression", "SGDRegressor")
CLASSIFIERS = ("LogisticRegression", "SGDClassifier")
LAYOUTS = ("dense", "csr")
BATCHES = (None, 1, 32)
N_ROWS, N_FEATURES, MAX_ITER = 80, 5, 20

#: what a rejection's message must name
X_NAME, Y_NAME = r"\bX\b", r"\by\b"
SW_NAME = r"sample_weight"
CORRUPT = r"X is a corrupted sparse matrix"
LABELS = r"\by\b|class|label"

# ---------------------------------------------------------------------------
# Findings: cases that fail today because of a bug outside the validation
# layer, each written up in docs/reliability-findings.md.  Their tests are
# strict xfails: they turn into failures (to be unmarked) once fixed.

FINDINGS: dict[str, tuple[str, list[str]]] = {
    # R1-R15 are fixed (docs/reliability-findings.md); a new finding is
    # "R<n>": (title, [case id patterns]) until its fix lands.
}


# ---------------------------------------------------------------------------
# Case definitions (built the same way in the test process, for the ids,
# and in the children, to run them)


@dataclass
class Case:
    id: str
    group: str
    category: str
    #: () -> (inputs: dict of the arguments, call: inputs -> result)
    build: object
    expect: str = "ok"
    #: regular expressions; a rejection's message must match one
    names: tuple = ()
    #: () -> (inputs, call) of an equivalent canonical input whose result
    #: an "ok" outcome must equal
    same_as: object = None
    #: an "ok" fit that reports converged_ must be near the optimum
    certify: bool = False
    #: an "ok" result must be finite
    finite: bool = True


@dataclass
class Data:
    """The valid data of a group, which the cases derive their input from."""

    estimator: str
    layout: str
    batch: int | None
    n: int = N_ROWS
    p: int = N_FEATURES
    X: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)

    def __post_init__(self):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((self.n, self.p))
        if self.layout == "csr":
            X[rng.random(X.shape) < 0.5] = 0.0
        self.X = X
        if self.regression:
            self.y = X @ rng.standard_normal(self.p) + 0.1 * rng.standard_normal(self.n)
        else:
            self.y = rng.permutation(np.arange(self.n) % 3)

    @property
    def regression(self):
        return self.estimator in REGRESSORS

    def lay(self, X):
        """X in the group's layout (CSR: a scipy csr_matrix)."""
        return sp.csr_matrix(X) if self.layout == "csr" else X

    def model(self, **params):
        import descend

        base = dict(batch_size=self.batch, random_state=0, max_iter=MAX_ITER)
        return getattr(descend, self.estimator)(**{**base, **params})

    def fit_inputs(self, X=None, y=None, **kwargs):
        return {"X": self.lay(self.X) if X is None else X,
                "y": self.y if y is None else y, **kwargs}


def _fit_call(data, method, params=None):
    """inputs -> the estimator after fit/partial_fit on them."""

    def call(inputs):
        model = data.model(**(params or {}))
        if method == "fit":
            return model.fit(**inputs)
        kwargs = dict(inputs)
        if not data.regression and "classes" not in kwargs:
            kwargs["classes"] = np.unique(data.y)
        return model.partial_fit(**kwargs)

    return call


@dataclass
class InputSpec:
    """A hostile (or valid but unusual) input, applied in every group whose
    layout it lists."""

    name: str
    category: str
    #: Data -> the input (DataCase: fit's keyword arguments; PredictCase: X)
    make: object
    expect: str = "ok"
    names: tuple = (X_NAME,)
    #: Data -> an equivalent canonical input (an "ok" must give the same result)
    same: object = None
    layouts: tuple = LAYOUTS


@dataclass
class DataCase(InputSpec):
    """A training input, at fit and partial_fit."""

    methods: tuple = ("fit", "partial_fit")
    estimators: tuple = ESTIMATORS
    #: expectation at partial_fit, when it differs
    expect_partial: str | None = None
    #: a full-batch LinearRegression/LogisticRegression fit that reports
    #: converged_ must be within its tol of the optimum (a reference solver's)
    certify: bool = False
    #: estimator parameters of the case (on top of the group's)
    params: dict = field(default_factory=dict)


def _scaled(factor, dtype=np.float64):
    def make(d):
        return d.fit_inputs(X=d.lay((d.X * factor).astype(dtype)))
    return make


def _with_value(value, where=(3, 1), target="X"):
    def make(d):
        if target == "X":
            X = d.X.copy()
            X[where] = value
            return d.fit_inputs(X=d.lay(X) if d.layout == "dense" else _csr_with(d, value))
        y = d.y.astype(np.float64)
        y[where[0]] = value
        return d.fit_inputs(y=y)
    return make


def _csr_with(d, value):
    """A CSR copy of the group's X whose first stored entry is ``value``."""
    X = sp.csr_matrix(d.X)
    X.data[0] = value
    return X


def _dense_equivalent(d, X):
    return d.fit_inputs(X=d.lay(np.asarray(X, dtype=np.float64)))


def _sw(values):
    def make(d):
        return d.fit_inputs(sample_weight=values(d))
    return make


def _readonly(*arrays):
    for array in arrays:
        array.setflags(write=False)
    return arrays


def _csr_variant(transform):
    """A CSR input built from the group's X by ``transform(csr) -> sparse``."""
    def make(d):
        return d.fit_inputs(X=transform(sp.csr_matrix(d.X)))
    return make


def _canonical(d):
    return d.fit_inputs(X=sp.csr_matrix(d.X))


def _unsorted(X):
    X = X.copy()
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        X.indices[lo:hi] = X.indices[lo:hi][::-1].copy()
        X.data[lo:hi] = X.data[lo:hi][::-1].copy()
    X.has_sorted_indices = False
    return X


def _duplicated(X):
    """Each stored entry split into two halves at the same index (a valid,
    non-canonical CSR matrix that scipy reads as their sum)."""
    X = X.tocsr()
    counts = np.diff(X.indptr)
    data = np.repeat(X.data / 2.0, 2)
    indices = np.repeat(X.indices, 2)
    indptr = np.concatenate([[0], np.cumsum(2 * counts)])
    out = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    out.has_canonical_format = False
    return out


def _with_explicit_zeros(X):
    X = X.tocoo()
    extra_r = np.arange(X.shape[0])
    extra_c = np.arange(X.shape[0]) % X.shape[1]
    out = sp.csr_matrix((np.concatenate([X.data, np.zeros(len(extra_r))]),
                         (np.concatenate([X.row, extra_r]), np.concatenate([X.col, extra_c]))),
                        shape=X.shape)
    # the coo -> csr conversion sums duplicates; re-add the zeros as entries
    dense = out.toarray()
    rows, cols = np.nonzero(np.ones_like(dense))
    keep = (dense[rows, cols] != 0) | (cols == rows % X.shape[1])
    return sp.csr_matrix((dense[rows, cols][keep], (rows[keep], cols[keep])), shape=X.shape)


def _sparser(X):
    """X with only its first column's entries: 1/p of the entries nonzero,
    below the 10% at which intercept_decay="auto" damps the intercept."""
    out = np.zeros((X.shape[0], 2 * X.shape[1]))
    out[:, 0] = X[:, 0]
    return out


def _strided_data(X):
    X = X.copy()
    wide = np.zeros(2 * len(X.data))
    wide[::2] = X.data
    X.data = wide[::2]
    return X


def _readonly_csr(X):
    X = X.copy()
    _readonly(X.data, X.indices, X.indptr)
    return X


def _index_dtypes(indices, indptr):
    def transform(X):
        X = X.copy()
        X.indices = X.indices.astype(indices)
        X.indptr = X.indptr.astype(indptr)
        return X
    return transform


def _corrupted(kind):
    def make(d):
        return d.fit_inputs(X=corrupt(kind, sp.csr_matrix(d.X)))
    return make


def _labels(fn):
    def make(d):
        return d.fit_inputs(y=fn(d))
    return make


def _n_classes(k):
    def make(d):
        rng = np.random.default_rng(1)
        n = 2 * k
        X = rng.standard_normal((n, d.p))
        return {"X": d.lay(X), "y": np.arange(n) % k}
    return make


_WIDE = 2**17 + 3


def _wide_csr(d):
    """A valid CSR matrix with 2^17 + 3 columns, int64 indices, few entries."""
    indptr = np.arange(d.n + 1, dtype=np.int64)
    indices = np.full(d.n, _WIDE - 1, dtype=np.int64)
    indices[::2] = np.arange(0, d.n, 2)
    return d.fit_inputs(X=sp.csr_matrix((np.ones(d.n), indices, indptr),
                                        shape=(d.n, _WIDE)))


DATA_CASES = [
    DataCase("valid", "valid", lambda d: d.fit_inputs()),
    DataCase("float32", "valid", lambda d: d.fit_inputs(X=d.lay(d.X.astype(np.float32)))),
    DataCase("list-of-lists", "layout", lambda d: d.fit_inputs(X=d.X.tolist(), y=list(d.y)),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("fortran-order", "layout", lambda d: d.fit_inputs(X=np.asfortranarray(d.X)),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("row-view", "layout",
             lambda d: d.fit_inputs(X=np.repeat(d.X, 2, axis=0)[::2], y=np.repeat(d.y, 2)[::2]),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("column-view", "layout",
             lambda d: d.fit_inputs(X=np.repeat(d.X, 2, axis=1)[:, ::2]),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("negative-strides", "layout",
             lambda d: d.fit_inputs(X=d.X[::-1][::-1], y=d.y[::-1][::-1]),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("read-only", "layout",
             lambda d: d.fit_inputs(*_readonly(d.X.copy(), d.y.copy()),
                                    sample_weight=_readonly(np.ones(d.n))[0])
             if d.layout == "dense" else d.fit_inputs(
                 X=_readonly_csr(sp.csr_matrix(d.X)), y=_readonly(d.y.copy())[0]),
             same=lambda d: d.fit_inputs()),
    # (scipy.sparse holds neither big-endian nor float16 values)
    DataCase("big-endian", "dtype", lambda d: d.fit_inputs(X=d.X.astype(">f8")),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("float16", "dtype", lambda d: d.fit_inputs(X=d.X.astype(np.float16)),
             same=lambda d: _dense_equivalent(d, d.X.astype(np.float16)), layouts=("dense",)),
    DataCase("int8", "dtype", lambda d: d.fit_inputs(X=d.lay((3 * d.X).astype(np.int8))),
             same=lambda d: _dense_equivalent(d, (3 * d.X).astype(np.int8))),
    DataCase("uint64", "dtype",
             lambda d: d.fit_inputs(X=d.lay(np.abs(3 * d.X).astype(np.uint64))),
             same=lambda d: _dense_equivalent(d, np.abs(3 * d.X).astype(np.uint64))),
    DataCase("bool", "dtype", lambda d: d.fit_inputs(X=d.lay(d.X > 0)),
             same=lambda d: _dense_equivalent(d, d.X > 0)),
    DataCase("object-numbers", "dtype", lambda d: d.fit_inputs(X=d.X.astype(object)),
             same=lambda d: d.fit_inputs(), layouts=("dense",)),
    DataCase("strings", "dtype", lambda d: d.fit_inputs(X=d.X.astype(str)),
             expect="either", layouts=("dense",)),
    DataCase("words", "dtype", lambda d: d.fit_inputs(X=np.full((d.n, d.p), "a")),
             expect="rejected", layouts=("dense",)),
    DataCase("complex", "dtype", lambda d: d.fit_inputs(X=d.lay(d.X + 1j)),
             expect="rejected", names=(X_NAME, "[Cc]omplex")),
    DataCase("object-mixed", "dtype",
             lambda d: d.fit_inputs(X=np.array([[1.0, "a"] + [0.0] * (d.p - 2)] * d.n,
                                               dtype=object)),
             expect="rejected", layouts=("dense",)),
    DataCase("nan-in-X", "non-finite", _with_value(np.nan), expect="rejected"),
    DataCase("inf-in-X", "non-finite", _with_value(np.inf), expect="rejected"),
    DataCase("-inf-in-X", "non-finite", _with_value(-np.inf), expect="rejected"),
    DataCase("nan-in-y", "non-finite", _with_value(np.nan, target="y"), expect="rejected",
             names=(Y_NAME,)),
    DataCase("inf-in-y", "non-finite", _with_value(np.inf, target="y"), expect="rejected",
             names=(Y_NAME,)),
    DataCase("empty-X", "shape", lambda d: d.fit_inputs(X=d.lay(np.empty((0, d.p))),
                                                        y=d.y[:0]), expect="rejected"),
    DataCase("zero-features", "shape", lambda d: d.fit_inputs(X=d.lay(np.empty((d.n, 0)))),
             expect="rejected"),
    DataCase("one-row", "shape", lambda d: d.fit_inputs(X=d.lay(d.X[:1]), y=d.y[:1]),
             expect="ok", estimators=REGRESSORS),
    DataCase("one-row", "shape", lambda d: d.fit_inputs(X=d.lay(d.X[:1]), y=d.y[:1]),
             expect="rejected", names=(LABELS,), estimators=CLASSIFIERS, expect_partial="ok"),
    DataCase("two-rows", "shape",
             lambda d: d.fit_inputs(X=d.lay(d.X[:2]), y=np.array([d.y[0], 1 - d.y[0]]))),
    DataCase("one-feature", "shape", lambda d: d.fit_inputs(X=d.lay(d.X[:, :1]))),
    DataCase("1-D-X", "shape", lambda d: d.fit_inputs(X=d.X[:, 0]), expect="rejected",
             layouts=("dense",)),
    DataCase("3-D-X", "shape", lambda d: d.fit_inputs(X=d.X[:, :, None]), expect="rejected",
             layouts=("dense",)),
    DataCase("scalar-X", "shape", lambda d: d.fit_inputs(X=1.0), expect="rejected",
             layouts=("dense",)),
    DataCase("None-X", "shape", lambda d: d.fit_inputs(X=None) | {"X": None},
             expect="rejected", layouts=("dense",)),
    DataCase("ragged-X", "shape",
             lambda d: d.fit_inputs(X=[[1.0, 2.0]] * (d.n - 1) + [[1.0]]),
             expect="rejected", layouts=("dense",)),
    DataCase("y-too-short", "shape", lambda d: d.fit_inputs(y=d.y[:-1]), expect="rejected",
             names=(Y_NAME, "samples")),
    DataCase("y-column", "shape", lambda d: d.fit_inputs(y=d.y[:, None]), expect="either",
             names=(Y_NAME,)),
    DataCase("y-2-columns", "shape", lambda d: d.fit_inputs(y=np.c_[d.y, d.y]),
             expect="rejected", names=(Y_NAME,),
             estimators=tuple(e for e in ESTIMATORS if e != "LinearRegression")),
    # LinearRegression fits a 2-D y as several targets (scikit-learn's multi-output)
    DataCase("y-2-columns-multioutput", "shape",
             lambda d: d.fit_inputs(y=np.c_[d.y, d.y]), expect="ok",
             estimators=("LinearRegression",)),
    DataCase("y-None", "shape", lambda d: d.fit_inputs() | {"y": None}, expect="rejected",
             names=(Y_NAME,)),
    DataCase("y-strings", "labels", lambda d: d.fit_inputs(y=np.array(["a", "b"] * (d.n // 2))),
             expect="rejected", names=(Y_NAME,), estimators=REGRESSORS),
    DataCase("constant-features", "values",
             lambda d: d.fit_inputs(X=d.lay(np.c_[d.X[:, :2], np.ones((d.n, 3))]))),
    DataCase("all-zero-X", "values", lambda d: d.fit_inputs(X=d.lay(np.zeros((d.n, d.p))))),
    DataCase("duplicate-rows", "values",
             lambda d: d.fit_inputs(X=d.lay(np.repeat(d.X[:10], 8, axis=0)),
                                    y=np.repeat(d.y[:10], 8))),
    DataCase("X*1e-3", "scale", _scaled(1e-3), certify=True),
    DataCase("X*1e3", "scale", _scaled(1e3), certify=True),
    DataCase("mixed-column-scales", "scale",
             lambda d: d.fit_inputs(X=d.lay(d.X * np.logspace(-2, 2, d.p))), certify=True),
    DataCase("X*1e300", "extreme values", _scaled(1e300), expect="either",
             names=(X_NAME, "eta0", "scal")),
    DataCase("X*1e150", "extreme values", _scaled(1e150), expect="either",
             names=(X_NAME, "eta0", "scal")),
    DataCase("X*1e-300", "extreme values", _scaled(1e-300), expect="either",
             names=(X_NAME, "eta0", "scal")),
    DataCase("X*1e-300-no-intercept", "extreme values", _scaled(1e-300), expect="either",
             names=(X_NAME, "eta0", "scal"), methods=("fit",),
             params={"fit_intercept": False}),
    DataCase("X-all-zero-no-intercept", "extreme values",
             lambda d: d.fit_inputs(X=d.lay(np.zeros((d.n, d.p)))), expect="either",
             names=(X_NAME, "eta0", "scal"), methods=("fit",),
             params={"fit_intercept": False}),
    DataCase("float32-near-max", "extreme values",
             _scaled(np.finfo(np.float32).max / 8, np.float32), expect="either",
             names=(X_NAME, "eta0", "scal")),
    DataCase("float32-subnormal", "extreme values", _scaled(1e-40, np.float32),
             expect="either", names=(X_NAME, "eta0", "scal")),
    DataCase("y*1e300", "extreme values", lambda d: d.fit_inputs(y=d.y * 1e300),
             expect="either", names=(Y_NAME, "eta0", "scal"), estimators=REGRESSORS),
    DataCase("y-1e300-float32-X", "extreme values",
             lambda d: d.fit_inputs(X=d.lay(d.X.astype(np.float32)), y=d.y * 1e300),
             expect="either", names=(Y_NAME, "float32"), estimators=REGRESSORS),
    DataCase("one-class", "labels", _labels(lambda d: np.zeros(d.n, dtype=int)),
             expect="rejected", names=(LABELS,), estimators=CLASSIFIERS, expect_partial="ok"),
    DataCase("nan-labels", "labels",
             _labels(lambda d: np.where(np.arange(d.n) == 3, np.nan, d.y)),
             expect="rejected", names=(LABELS,), estimators=CLASSIFIERS),
    DataCase("continuous-labels", "labels", _labels(lambda d: np.linspace(0, 1, d.n)),
             expect="rejected", names=(LABELS,), estimators=CLASSIFIERS),
    DataCase("string-labels", "labels", _labels(lambda d: np.array(["cat", "dog", "eel"])[d.y]),
             same=lambda d: d.fit_inputs(), estimators=CLASSIFIERS, methods=("fit",)),
    DataCase("bool-labels", "labels", _labels(lambda d: d.y == 1), estimators=CLASSIFIERS,
             methods=("fit",)),
    DataCase("negative-int-labels", "labels", _labels(lambda d: d.y - 10**12),
             same=lambda d: d.fit_inputs(), estimators=CLASSIFIERS, methods=("fit",)),
    DataCase("mixed-type-labels", "labels",
             _labels(lambda d: np.array([1, "a", 2.5] * (d.n // 3) + [1] * (d.n % 3),
                                        dtype=object)),
             expect="rejected", names=(LABELS,), estimators=CLASSIFIERS, methods=("fit",)),
    DataCase("None-in-labels", "labels",
             _labels(lambda d: np.array([None, "a"] * (d.n // 2), dtype=object)),
             expect="rejected", names=(LABELS,), estimators=CLASSIFIERS, methods=("fit",)),
    DataCase("1000-classes", "labels", _n_classes(1000), estimators=CLASSIFIERS,
             methods=("fit",), params={"max_iter": 2}),
    DataCase("sw-negative", "sample_weight", _sw(lambda d: -np.ones(d.n)), expect="rejected",
             names=(SW_NAME,)),
    DataCase("sw-zero-sum", "sample_weight", _sw(lambda d: np.zeros(d.n)), expect="rejected",
             names=(SW_NAME,)),
    DataCase("sw-wrong-length", "sample_weight", _sw(lambda d: np.ones(d.n + 1)),
             expect="rejected", names=(SW_NAME,)),
    DataCase("sw-nan", "sample_weight",
             _sw(lambda d: np.where(np.arange(d.n) == 2, np.nan, 1.0)), expect="rejected",
             names=(SW_NAME,)),
    DataCase("sw-inf", "sample_weight",
             _sw(lambda d: np.where(np.arange(d.n) == 2, np.inf, 1.0)), expect="rejected",
             names=(SW_NAME,)),
    DataCase("sw-2-D", "sample_weight", _sw(lambda d: np.ones((d.n, 1))), expect="rejected",
             names=(SW_NAME,)),
    DataCase("sw-strings", "sample_weight", _sw(lambda d: ["a"] * d.n), expect="rejected",
             names=(SW_NAME,)),
    DataCase("sw-scalar", "sample_weight", _sw(lambda d: 2.0)),
    DataCase("sw-list", "sample_weight", _sw(lambda d: [1.0] * d.n)),
    DataCase("sw-one-positive", "sample_weight",
             _sw(lambda d: (np.arange(d.n) < 2).astype(float))),
    DataCase("sw-1e308", "sample_weight", _sw(lambda d: np.full(d.n, 1e308)), expect="either",
             names=(SW_NAME,)),
    DataCase("sw-1e-320", "sample_weight", _sw(lambda d: np.full(d.n, 1e-320)),
             expect="either", names=(SW_NAME,)),
    DataCase("sw-1e300-float32-X", "sample_weight",
             lambda d: d.fit_inputs(X=d.lay(d.X.astype(np.float32)),
                                    sample_weight=np.full(d.n, 1e300)),
             expect="either", names=(SW_NAME,)),
    DataCase("coef_init-nan", "init",
             lambda d: d.fit_inputs(coef_init=np.full(_coef_shape(d), np.nan)),
             expect="rejected", names=("coef_init",), methods=("fit",)),
    DataCase("coef_init-inf", "init",
             lambda d: d.fit_inputs(coef_init=np.full(_coef_shape(d), np.inf)),
             expect="rejected", names=("coef_init",), methods=("fit",)),
    DataCase("coef_init-wrong-shape", "init", lambda d: d.fit_inputs(coef_init=np.ones(d.p + 1)),
             expect="rejected", names=("coef_init",), methods=("fit",)),
    DataCase("coef_init-strings", "init", lambda d: d.fit_inputs(coef_init="abc"),
             expect="rejected", names=("coef_init",), methods=("fit",)),
    DataCase("coef_init-1e300", "init",
             lambda d: d.fit_inputs(coef_init=np.full(_coef_shape(d), 1e300)),
             expect="either", names=("coef_init", "eta0"), methods=("fit",)),
    DataCase("coef_init-read-only", "init",
             lambda d: d.fit_inputs(coef_init=_readonly(np.zeros(_coef_shape(d)))[0]),
             same=lambda d: d.fit_inputs(), methods=("fit",)),
    DataCase("intercept_init-nan", "init",
             lambda d: d.fit_inputs(intercept_init=np.full(_intercept_shape(d), np.nan)),
             expect="rejected", names=("intercept_init",), methods=("fit",)),
    DataCase("intercept_init-wrong-shape", "init",
             lambda d: d.fit_inputs(intercept_init=np.ones(7)),
             expect="rejected", names=("intercept_init",), methods=("fit",)),
    DataCase("intercept_init-strings", "init", lambda d: d.fit_inputs(intercept_init="abc"),
             expect="rejected", names=("intercept_init",), methods=("fit",)),
    # sparse storage: valid but unusual
    DataCase("csr-unsorted-indices", "sparse storage", _csr_variant(_unsorted),
             same=_canonical, layouts=("csr",)),
    DataCase("csr-duplicate-entries", "sparse storage", _csr_variant(_duplicated),
             same=_canonical, layouts=("csr",)),
    *[DataCase(f"csr-duplicate-entries-{label}", "sparse storage", _csr_variant(_duplicated),
               same=_canonical, layouts=("csr",), params=params)
      for label, params in (("adam", {"optimizer": "adam"}),
                            ("momentum", {"optimizer": "momentum"}),
                            ("adagrad-l1", {"optimizer": "adagrad", "penalty": "l1"}),
                            ("clip_norm", {"clip_norm": 0.1}))],
    # (Hogwild threads are not reproducible: no reference to compare with)
    DataCase("csr-duplicate-entries-hogwild", "sparse storage", _csr_variant(_duplicated),
             layouts=("csr",), params={"n_jobs": 2}),
    DataCase("csr-explicit-zeros", "sparse storage", _csr_variant(_with_explicit_zeros),
             same=_canonical, layouts=("csr",)),
    DataCase("csr-explicit-zeros-sparse-data", "sparse storage",
             lambda d: d.fit_inputs(X=_with_explicit_zeros(sp.csr_matrix(_sparser(d.X)))),
             same=lambda d: d.fit_inputs(X=sp.csr_matrix(_sparser(d.X))), layouts=("csr",)),
    *[DataCase(f"csr-{label}-indices", "sparse storage",
               _csr_variant(_index_dtypes(indices, indptr)), same=_canonical, layouts=("csr",))
      for label, indices, indptr in (("int64", np.int64, np.int64),
                                     ("mixed-int32-int64", np.int32, np.int64),
                                     ("uint32", np.uint32, np.uint32),
                                     ("int16", np.int16, np.int16))],
    DataCase("csr-strided-data", "sparse storage", _csr_variant(_strided_data),
             same=_canonical, layouts=("csr",)),
    DataCase("csr-int-data", "sparse storage",
             _csr_variant(lambda X: (3 * X).astype(np.int64)),
             same=lambda d: d.fit_inputs(X=sp.csr_matrix((3 * d.X).astype(np.int64)
                                                         .astype(np.float64))),
             layouts=("csr",)),
    DataCase("csr-no-entries", "sparse storage",
             lambda d: d.fit_inputs(X=sp.csr_matrix((d.n, d.p))), layouts=("csr",)),
    # other sparse classes and formats, converted once
    *[DataCase(kind.__name__, "sparse storage", _csr_variant(kind), same=_canonical,
               layouts=("csr",))
      for kind in (sp.csr_array, sp.csc_matrix, sp.coo_matrix, sp.lil_matrix, sp.dok_matrix,
                   sp.bsr_matrix, sp.dia_matrix)],
    DataCase("csr-2**17-columns", "sparse storage", _wide_csr, layouts=("csr",),
             methods=("fit",)),
    *[DataCase(f"corrupt-{kind}", "corrupted sparse", _corrupted(kind), expect="rejected",
               names=(CORRUPT,), layouts=("csr",)) for kind in CORRUPTIONS],
]


def _coef_shape(d):
    if d.regression:
        return (d.p,)
    return (len(np.unique(d.y)), d.p)


def _intercept_shape(d):
    if d.regression:
        return (1,)
    return (len(np.unique(d.y)),)


@dataclass
class PredictCase(InputSpec):
    """An input to the prediction methods of a fitted model."""

    #: the result must be finite (False: R^2 of one sample is NaN, as in
    #: scikit-learn)
    finite: bool = True


PREDICT_CASES = [
    PredictCase("valid", "valid", lambda d: d.lay(d.X)),
    PredictCase("fortran-order", "layout", lambda d: np.asfortranarray(d.X),
                same=lambda d: d.X, layouts=("dense",)),
    PredictCase("column-view", "layout", lambda d: np.repeat(d.X, 2, axis=1)[:, ::2],
                same=lambda d: d.X, layouts=("dense",)),
    PredictCase("read-only", "layout", lambda d: _readonly(d.X.copy())[0],
                same=lambda d: d.X, layouts=("dense",)),
    PredictCase("int8", "dtype", lambda d: d.lay((3 * d.X).astype(np.int8)),
                same=lambda d: d.lay((3 * d.X).astype(np.int8).astype(float))),
    PredictCase("float32", "dtype", lambda d: d.lay(d.X.astype(np.float32))),
    PredictCase("big-endian", "dtype", lambda d: d.X.astype(">f8"), same=lambda d: d.X,
                layouts=("dense",)),
    PredictCase("complex", "dtype", lambda d: d.lay(d.X + 1j), expect="rejected",
                names=(X_NAME, "[Cc]omplex")),
    PredictCase("nan-in-X", "non-finite", lambda d: d.lay(np.where(d.X > 1, np.nan, d.X)),
                expect="rejected"),
    PredictCase("inf-in-X", "non-finite", lambda d: d.lay(np.where(d.X > 1, np.inf, d.X)),
                expect="rejected"),
    PredictCase("wrong-n_features", "shape", lambda d: d.lay(d.X[:, :-1]), expect="rejected",
                names=(X_NAME, "features")),
    PredictCase("empty-X", "shape", lambda d: d.lay(d.X[:0]), expect="either"),
    PredictCase("one-row", "shape", lambda d: d.lay(d.X[:1]), finite=False),
    PredictCase("1-D-X", "shape", lambda d: d.X[0], expect="rejected", layouts=("dense",)),
    PredictCase("3-D-X", "shape", lambda d: d.X[:, :, None], expect="rejected",
                layouts=("dense",)),
    PredictCase("csr-unsorted-indices", "sparse storage", lambda d: _unsorted(sp.csr_matrix(d.X)),
                same=lambda d: sp.csr_matrix(d.X), layouts=("csr",)),
    PredictCase("csr-duplicate-entries", "sparse storage",
                lambda d: _duplicated(sp.csr_matrix(d.X)), same=lambda d: sp.csr_matrix(d.X),
                layouts=("csr",)),
    PredictCase("csr-strided-data", "sparse storage",
                lambda d: _strided_data(sp.csr_matrix(d.X)), same=lambda d: sp.csr_matrix(d.X),
                layouts=("csr",)),
    *[PredictCase(f"corrupt-{kind}", "corrupted sparse",
                  (lambda kind: lambda d: corrupt(kind, sp.csr_matrix(d.X)))(kind),
                  expect="rejected", names=(CORRUPT,), layouts=("csr",))
      for kind in CORRUPTIONS],
]

PREDICT_METHODS = ("predict", "decision_function", "predict_proba", "predict_log_proba",
                   "score")


def _methods_of(estimator):
    if estimator in REGRESSORS:
        return ("predict", "score")
    return PREDICT_METHODS


def _fitted(d):
    """The group's model, fitted on its valid data (SGDClassifier with
    log_loss, so that it has predict_proba)."""
    if getattr(d, "_fitted", None) is None:
        params = {"loss": "log_loss"} if d.estimator == "SGDClassifier" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d._fitted = d.model(**params).fit(d.lay(d.X), d.y)
    return d._fitted


def _predict_call(d, method):
    def call(inputs):
        model = _fitted(d)
        if method == "score":
            return getattr(model, method)(inputs["X"], inputs["y"])
        return getattr(model, method)(inputs["X"])
    return call


def _predict_inputs(d, X):
    n = X.shape[0] if hasattr(X, "shape") and len(getattr(X, "shape", ())) else 1
    y = d.y[:n] if n <= d.n else np.resize(d.y, n)
    return {"X": X, "y": y}


# --- sequences: partial_fit over changing data, unfitted models, pickling

def _sequence_cases(d):
    """(name, category, call, expect, names) of the multi-step cases."""
    classes = {} if d.regression else {"classes": np.unique(d.y)}
    X = d.lay(d.X)

    def partial_then(**second):
        def call(inputs):
            model = d.model()
            model.partial_fit(X, d.y, **classes)
            kwargs = {"X": X, "y": d.y, **second}
            return model.partial_fit(**kwargs)
        return call

    def fit_then_partial(inputs):
        model = d.model().fit(X, d.y)
        return model.partial_fit(X, d.y)

    def warm_start_new_width(inputs):
        model = d.model(warm_start=True).fit(X, d.y)
        return model.fit(d.lay(d.X[:, :-1]), d.y)

    def before_fit(method):
        def call(inputs):
            args = (X, d.y) if method == "score" else (X,)
            params = {"loss": "log_loss"} if d.estimator == "SGDClassifier" else {}
            return getattr(d.model(**params), method)(*args)
        return call

    def pickled(inputs):
        model = d.model().fit(X, d.y)
        clone = pickle.loads(pickle.dumps(model))
        probe = _probe(model)
        if not np.array_equal(model.predict(probe), clone.predict(probe)):
            raise AssertionError("the unpickled model predicts differently")
        return clone.partial_fit(X, d.y)

    def refit_other_data(inputs):
        model = d.model().fit(X, d.y)
        return model.fit(d.lay(d.X[:, :2] * 3.0), d.y[::-1].copy())

    def partial_fit_layout_switch(inputs):
        model = d.model()
        model.partial_fit(X, d.y, **classes)
        other = d.X if d.layout == "csr" else sp.csr_matrix(d.X)
        return model.partial_fit(other, d.y)

    out = [
        ("partial_fit-then-fewer-features", "sequence",
         partial_then(X=d.lay(d.X[:, :-1])), "rejected", (X_NAME, "features")),
        ("partial_fit-then-float32", "sequence",
         partial_then(X=d.lay(d.X.astype(np.float32))), "ok", ()),
        ("partial_fit-then-other-layout", "sequence", partial_fit_layout_switch, "ok", ()),
        ("fit-then-partial_fit", "sequence", fit_then_partial, "ok", ()),
        ("warm_start-new-n_features", "sequence", warm_start_new_width, "rejected",
         ("warm_start", "features")),
        ("refit-on-other-data", "sequence", refit_other_data, "ok", ()),
        ("pickle-round-trip", "sequence", pickled, "ok", ()),
    ]
    for method in _methods_of(d.estimator):
        out.append((f"{method}-before-fit", "sequence", before_fit(method), "rejected",
                    (r"not fitted", "fit")))
    if d.estimator == "SGDClassifier" and d.batch is not None:
        def ovr_rows(inputs):
            """One-vs-rest with early stopping: each class's fit shuffles its
            training rows in place, so no two may share that array (they
            run in parallel threads).  White box (a race shows only now and
            then; sharing is certain): the row array each fit state holds
            for its kernels (``FitState.rows``, set by ``prepare``) is
            recorded; the split's rows it is prepared from may be shared."""
            from descend import _fitstate

            prepared = []
            original = _fitstate.FitState.prepare

            def recording(self, X, rows, *args, **kwargs):
                result = original(self, X, rows, *args, **kwargs)
                prepared.append((id(self), self.rows))
                return result

            _fitstate.FitState.prepare = recording
            try:
                model = d.model(early_stopping=True, n_jobs=2).fit(X, d.y)
            finally:
                _fitstate.FitState.prepare = original
            if len({owner for owner, _ in prepared}) < 2:
                raise AssertionError("expected one fit state per class")
            if any(a != b and np.shares_memory(ra, rb)
                   for i, (a, ra) in enumerate(prepared) for b, rb in prepared[i + 1:]):
                raise AssertionError("the classes' fits shuffle one shared array of rows")
            return model

        out.append(("ovr-early-stopping-rows-not-shared", "sequence", ovr_rows, "ok", ()))
    if not d.regression:
        out += [
            ("partial_fit-new-label", "sequence", partial_then(y=d.y + 1), "rejected",
             (LABELS,)),
            ("partial_fit-other-classes", "sequence",
             partial_then(classes=np.arange(5)), "rejected", ("classes",)),
            ("partial_fit-first-call-without-classes", "sequence",
             lambda inputs: d.model().partial_fit(X, d.y), "rejected", ("classes",)),
            ("partial_fit-classes-nan", "sequence",
             lambda inputs: d.model().partial_fit(X, d.y, classes=[0.0, 1.0, np.nan]),
             "rejected", ("classes",)),
        ]
    return out


def _probe(model):
    """Fresh finite data for a fitted model's predictions."""
    return np.random.default_rng(7).standard_normal((6, model.n_features_in_))


def data_group_cases(estimator, layout, batch):
    group = f"{estimator}-{layout}-b{batch}"
    d = Data(estimator, layout, batch)
    cases = []
    for spec in DATA_CASES:
        if layout not in spec.layouts or estimator not in spec.estimators:
            continue
        for method in spec.methods:
            expect = spec.expect_partial if (method == "partial_fit"
                                             and spec.expect_partial) else spec.expect
            call = _fit_call(d, method, spec.params)
            same = None
            if spec.same is not None:
                same = (lambda spec, call: lambda: (spec.same(d), call))(spec, call)
            certify = (spec.certify and method == "fit" and batch is None
                       and estimator in ("LinearRegression", "LogisticRegression"))
            cases.append(Case(
                id=f"{group}:{method}:{spec.name}", group=group, category=spec.category,
                build=(lambda spec, call: lambda: (spec.make(d), call))(spec, call),
                expect=expect, names=spec.names, same_as=same, certify=certify))
    for spec in PREDICT_CASES:
        if layout not in spec.layouts:
            continue
        for method in _methods_of(estimator):
            call = _predict_call(d, method)
            same = None
            if spec.same is not None:
                same = (lambda spec, call: lambda: (_predict_inputs(d, spec.same(d)), call))(
                    spec, call)
            cases.append(Case(
                id=f"{group}:{method}:{spec.name}", group=group, category=spec.category,
                build=(lambda spec, call: lambda: (_predict_inputs(d, spec.make(d)), call))(
                    spec, call),
                expect=spec.expect, names=spec.names, same_as=same, finite=spec.finite))
    for name, category, call, expect, names in _sequence_cases(d):
        cases.append(Case(id=f"{group}:{name}", group=group, category=category,
                          build=(lambda call: lambda: ({}, call))(call), expect=expect,
                          names=names))
    return cases


# --- hyperparameters: every entry of each estimator's constraints table

class _Opaque:
    def __repr__(self):
        return "<opaque object>"


HOSTILE_VALUES = {
    "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"),
    "np.float32-nan": np.float32("nan"), "-1": -1, "0": 0, "0.5": 0.5, "1e308": 1e308,
    "-1e308": -1e308, "5e-324": 5e-324, "2**63": 2**63, "10**30": 10**30,
    "10**400": 10**400, "np.int64-max": np.int64(2**63 - 1), "True": True,
    "np.bool-True": np.bool_(True), "None": None, "str": "str", "list": [1],
    "complex": 1j, "object": _Opaque(),
}
#: values no parameter may accept
ALWAYS_REJECTED = ("nan", "np.float32-nan", "str", "list", "complex", "object")


def _constraints(estimator):
    import descend

    return getattr(descend, estimator)._parameter_constraints


def param_group_cases(estimator):
    group = f"params-{estimator}"
    d = Data(estimator, "dense", None)
    cases = []
    for param in sorted(_constraints(estimator)):
        for label, value in HOSTILE_VALUES.items():
            call = (lambda param, value: lambda inputs: d.model(
                **{"batch_size": d.model().batch_size, param: value}).fit(**inputs))(
                    param, value)
            cases.append(Case(
                id=f"{group}:{param}={label}", group=group, category="hyperparameters",
                build=(lambda call: lambda: (d.fit_inputs(), call))(call),
                expect="rejected" if label in ALWAYS_REJECTED else "either",
                names=(re.escape(param),)))
    cross = [
        ("learning_rate=optimal,alpha=0", {"learning_rate": "optimal", "alpha": 0.0},
         "rejected", ("alpha",)),
        ("learning_rate=line_search,batch_size=1",
         {"learning_rate": "line_search", "batch_size": 1}, "rejected", ("batch_size",)),
        ("early_stopping,validation_fraction=1e-9",
         {"early_stopping": True, "validation_fraction": 1e-9}, "either",
         ("validation_fraction",)),
        ("alpha=1e308,learning_rate=optimal", {"alpha": 1e308, "learning_rate": "optimal"},
         "either", ("alpha",)),
        ("max_iter=10**18,tol=1e300", {"max_iter": 10**18, "tol": 1e300}, "ok", ()),
        ("batch_size=10**18", {"batch_size": 10**18}, "ok", ()),
        ("n_jobs=10**6", {"n_jobs": 10**6}, "either", ("n_jobs",)),
        ("n_jobs=-10**6", {"n_jobs": -10**6}, "either", ("n_jobs",)),
        ("eps=5e-324,optimizer=adam", {"eps": 5e-324, "optimizer": "adam"}, "either", ("eps",)),
        ("callback-raises", {"callback": _raising_callback}, "either", ("callback",)),
    ]
    if estimator in CLASSIFIERS:
        cross += [
            ("class_weight-1e308", {"class_weight": {0: 1e308, 1: 1e308, 2: 1e308}},
             "either", ("class_weight",)),
            ("class_weight-1e-320", {"class_weight": {0: 1e-320, 1: 1e-320, 2: 1e-320}},
             "either", ("class_weight",)),
            ("class_weight-unknown-label", {"class_weight": {7: 2.0}}, "rejected",
             ("class_weight",)),
            # (one-vs-rest: the other classes weigh 1, scikit-learn's convention)
            ("class_weight-all-zero", {"class_weight": {0: 0.0, 1: 0.0, 2: 0.0}},
             "rejected" if estimator == "LogisticRegression" else "either",
             ("class_weight",)),
        ]
    for name, params, expect, names in cross:
        call = (lambda params: lambda inputs: d.model(**params).fit(**inputs))(params)
        cases.append(Case(id=f"{group}:{name}", group=group, category="hyperparameters",
                          build=(lambda call: lambda: (d.fit_inputs(), call))(call),
                          expect=expect, names=names))
    return cases


def _raising_callback(record):
    raise ValueError("callback says no")


# --- the command line: hostile files and options

CLI_FILES = {
    "empty.csv": b"",
    "garbage.csv": bytes(range(256)) * 8,
    "header-only.csv": b"a,b,target\n",
    "one-row.csv": b"a,b,target\n1,2,0\n",
    "nan.csv": b"a,b,target\n" + b"".join(b"%d,nan,%d\n" % (i, i % 2) for i in range(40)),
    "inf.csv": b"a,b,target\n" + b"".join(b"%d,inf,%d\n" % (i, i % 2) for i in range(40)),
    "strings.csv": b"a,b,target\n" + b"".join(b"%d,x%d,%d\n" % (i, i, i % 2) for i in range(40)),
    "ragged.csv": b"a,b,target\n1,2,0\n1,2,3,4,5\n1\n" * 10,
    "huge-number.csv": b"a,b,target\n" + b"".join(b"%d,1e400,%d\n" % (i, i % 2)
                                                  for i in range(40)),
    "nul-bytes.csv": b"a,b,target\n" + b"1,\x00\x00,0\n" * 40,
    "one-class.csv": b"a,b,target\n" + b"".join(b"%d,%d,x\n" % (i, i) for i in range(40)),
    "huge-index.svm": b"".join(b"%d 1:1 %d:1\n" % (i % 2, 2**40) for i in range(40)),
    "zero-index.svm": b"".join(b"%d 0:1 1:2\n" % (i % 2) for i in range(40)),
    "negative-index.svm": b"".join(b"%d -3:1 1:2\n" % (i % 2) for i in range(40)),
    "nan-value.svm": b"".join(b"%d 1:nan 2:1\n" % (i % 2) for i in range(40)),
    "garbage.svm": bytes(range(256)) * 8,
    "garbage.npz": b"PK\x03\x04" + bytes(range(256)) * 4,
    "garbage.parquet": b"PAR1" + bytes(range(256)) * 4 + b"PAR1",
}


def _cli_npz_files(directory):
    """npz files made with NumPy: a pickled object array (loading it must not
    run code), a 3-D X, a missing y."""
    marker = os.path.join(directory, "pwned")
    evil = np.array([_Pwn(marker)], dtype=object)
    np.savez(os.path.join(directory, "pickled.npz"), X=evil, y=np.zeros(1))
    np.savez(os.path.join(directory, "3d.npz"), X=np.ones((40, 2, 2)), y=np.arange(40) % 2)
    np.savez(os.path.join(directory, "no-y.npz"), X=np.ones((40, 2)))
    np.savez(os.path.join(directory, "nan.npz"), X=np.full((40, 2), np.nan),
             y=np.arange(40) % 2)
    with open(os.path.join(directory, "evil-model.joblib"), "wb") as f:
        pickle.dump(_Pwn(marker), f)
    return marker


class _Pwn:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


CLI_CASES = [
    # (name, argv with {d} for the directory, expected exit code, what stderr must name)
    *[(f"train-{name}", ["train", "{d}/" + name, "--quiet", "--max-iter", "5"], 2,
       re.escape(name)) for name in CLI_FILES
      if name not in ("one-row.csv", "one-class.csv", "nan-value.svm", "zero-index.svm")],
    ("train-one-row.csv", ["train", "{d}/one-row.csv", "--quiet"], 2, "one-row.csv|row"),
    ("train-one-class.csv", ["train", "{d}/one-class.csv", "--quiet"], 2,
     "one-class.csv|class"),
    ("train-nan-value.svm", ["train", "{d}/nan-value.svm", "--quiet"], 2,
     "nan-value.svm|NaN"),
    # (zero-based indices are valid svmlight: scikit-learn's reader detects them)
    ("train-zero-index.svm", ["train", "{d}/zero-index.svm", "--quiet"], 0, ""),
    ("train-missing-file", ["train", "{d}/nope.csv", "--quiet"], 2, "nope.csv"),
    ("train-directory", ["train", "{d}", "--quiet"], 2, "{d}"),
    ("train-pickled.npz", ["train", "{d}/pickled.npz", "--quiet"], 2, "pickled.npz"),
    ("train-3d.npz", ["train", "{d}/3d.npz", "--quiet"], 2, "3d.npz"),
    ("train-no-y.npz", ["train", "{d}/no-y.npz", "--quiet"], 2, "no-y.npz|y"),
    ("train-nan.npz", ["train", "{d}/nan.npz", "--quiet"], 2, "nan.npz|NaN"),
    ("train-eta0-nan", ["train", "--quiet", "--eta0", "nan"], 2, "eta0"),
    ("train-eta0-inf", ["train", "--quiet", "--eta0", "inf"], 2, "eta0"),
    ("train-tol-nan", ["train", "--quiet", "--tol", "nan"], 2, "tol"),
    ("train-alpha-nan", ["train", "--quiet", "--alpha", "nan"], 2, "alpha"),
    ("train-alpha-1e400", ["train", "--quiet", "--alpha", "1e400"], 2, "alpha"),
    ("train-batch-size-0", ["train", "--quiet", "--batch-size", "0"], 2, "batch"),
    ("train-max-iter-huge", ["train", "--quiet", "--max-iter", "99999999999999999999999"],
     2, "max.iter"),
    ("train-n-jobs-0", ["train", "--quiet", "--n-jobs", "0"], 2, "n.jobs"),
    ("train-target-missing", ["train", "{d}/nan.csv", "--quiet", "--target", "nope"], 2,
     "nope"),
    ("predict-evil-model", ["predict", "{d}/evil-model.joblib", "{d}/nan.csv"], 2,
     "evil-model.joblib"),
    ("predict-garbage-model", ["predict", "{d}/garbage.csv", "{d}/nan.csv"], 2,
     "garbage.csv"),
    ("predict-empty-model", ["predict", "{d}/empty.csv", "{d}/nan.csv"], 2, "empty.csv"),
]


def cli_group_cases():
    cases = []
    for name, argv, code, names in CLI_CASES:
        cases.append(Case(id=f"cli:{name}", group="cli", category="command line",
                          build=(lambda argv, code, names: lambda: _cli_build(argv, code, names))(
                              argv, code, names),
                          expect="cli"))
    return cases


def _cli_build(argv, code, names):
    directory = tempfile.mkdtemp(prefix="descend-hostile-")
    for name, content in CLI_FILES.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(content)
    marker = _cli_npz_files(directory)
    argv = [a.replace("{d}", directory) for a in argv]
    names = names.replace("{d}", re.escape(directory))

    def call(inputs):
        from descend.cli import main

        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code
        return {"rc": rc, "stderr": err.getvalue(), "expected_rc": code, "names": names,
                "code_ran": os.path.exists(marker)}

    return {}, call


# --- the whole battery

def all_groups():
    groups = [(f"{e}-{lay}-b{b}", ("data", e, lay, b))
              for e in ESTIMATORS for lay in LAYOUTS for b in BATCHES]
    groups += [(f"params-{e}", ("params", e)) for e in ESTIMATORS]
    groups.append(("cli", ("cli",)))
    return groups


def cases_of(spec):
    """The cases of a group, and last its clean-exit case: the child must
    exit with status 0 after the others (heap corruption is often caught
    only when the interpreter frees everything at exit)."""
    if spec[0] == "data":
        cases = data_group_cases(*spec[1:])
    elif spec[0] == "params":
        cases = param_group_cases(spec[1])
    else:
        cases = cli_group_cases()
    group = cases[0].group
    return cases + [Case(id=f"{group}:{EXIT_CASE}", group=group, category="process exit",
                         build=lambda: ({}, lambda inputs: None))]


EXIT_CASE = "clean-exit"


# ---------------------------------------------------------------------------
# Running a case (in the child)


def fingerprint(obj):
    """A hash of everything observable about an input: its bytes, shape,
    dtype, strides and writeability (sparse matrices: their arrays)."""
    h = hashlib.sha256()

    def add(o):
        if isinstance(o, np.ndarray):
            h.update(repr((o.shape, o.dtype.str, o.strides, o.flags.writeable)).encode())
            h.update(repr(o.tolist()).encode() if o.dtype.kind == "O"
                     else np.ascontiguousarray(o).tobytes())
        elif sp.issparse(o):
            h.update(repr((type(o).__name__, o.shape)).encode())
            for key in sorted(vars(o)):
                value = vars(o)[key]
                if isinstance(value, (np.ndarray, list, tuple)):
                    h.update(key.encode())
                    add(value)
        elif isinstance(o, (list, tuple)):
            h.update(b"[")
            for item in o:
                add(item)
            h.update(b"]")
        elif isinstance(o, dict):
            for key in sorted(o, key=repr):
                h.update(repr(key).encode())
                add(o[key])
        else:
            h.update(repr(o).encode())

    add(obj)
    return h.hexdigest()


def _finite(values):
    values = values.toarray() if sp.issparse(values) else np.asarray(values)
    return values.dtype.kind not in "fc" or bool(np.all(np.isfinite(values)))


def check_model(model):
    """Problems of a fitted model: non-finite coefficients, or predictions
    on fresh data that are not finite / not among classes_."""
    problems = []
    for attr in ("coef_", "intercept_"):
        if not _finite(getattr(model, attr)):
            problems.append(f"{attr} is not finite")
    probe = _probe(model)
    for method in PREDICT_METHODS[:-1]:
        if not hasattr(model, method):
            continue
        out = getattr(model, method)(probe)
        if method == "predict" and hasattr(model, "classes_"):
            if not np.all(np.isin(out, model.classes_)):
                problems.append("predict returned labels not in classes_")
        elif method != "predict_log_proba" and not _finite(out):
            problems.append(f"{method} on finite data is not finite")
    return problems


def _objective(model, X, y, coef, intercept):
    """The objective descend minimises (mean loss + alpha/2 ||coef||^2) of
    LinearRegression or LogisticRegression at (coef, intercept)."""
    from scipy.special import log_softmax

    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    penalty = 0.5 * model.alpha * float(np.sum(np.square(coef)))
    if not hasattr(model, "classes_"):
        return 0.5 * float(np.mean((X @ coef + intercept - y) ** 2)) + penalty
    coef = np.atleast_2d(coef)
    index = np.searchsorted(model.classes_, y)
    scores = X @ coef.T + intercept
    if coef.shape[0] == 1:
        scores = np.c_[np.zeros(len(y)), scores]
    return -float(np.mean(log_softmax(scores, axis=1)[np.arange(len(y)), index])) + penalty


def _optimum(model, X, y):
    """The optimal objective, from an independent solver: least squares
    (NumPy) or scikit-learn's lbfgs logistic regression, tightly converged."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    if not hasattr(model, "classes_"):
        A = np.c_[Xd, np.ones(len(y))]
        solution = np.linalg.lstsq(A, y, rcond=None)[0]
        return _objective(model, X, y, solution[:-1], solution[-1])
    from sklearn.linear_model import LogisticRegression

    reference = LogisticRegression(C=1.0 / (model.alpha * len(y)), tol=1e-12,
                                   max_iter=100000).fit(Xd, y)
    coef, intercept = reference.coef_, reference.intercept_
    return min(_objective(model, X, y, coef, intercept),
               _objective(model, X, y, model.coef_, model.intercept_))


def _certified(model, inputs):
    """A full-batch fit that says it converged must be within (a few times)
    its tol of the optimum: (objective - optimum) / optimum <= tol, the
    promise of tol (tol="auto": 1e-6 for full batch); the denominator is
    kept above 1e-6 of the all-zero model's objective (an optimum of ~0 has
    no relative scale)."""
    from descend._base import AUTO_TOL_FULL_BATCH

    if not model.converged_:
        return []
    tol = AUTO_TOL_FULL_BATCH if model.tol == "auto" else float(model.tol)
    X, y = inputs["X"], np.asarray(inputs["y"])
    reached = _objective(model, X, y, model.coef_, model.intercept_)
    best = _optimum(model, X, y)
    k = model.coef_.shape[0] if np.ndim(model.coef_) == 2 else 1
    zero = _objective(model, X, y, np.zeros_like(model.coef_), np.zeros(k))
    gap = (reached - best) / max(abs(best), 1e-6 * abs(zero))
    if gap > 10 * tol:
        return [f"converged_ is True but the objective {reached:.9g} is {gap:.2g} "
                f"(relative) above the optimum {best:.9g}, tol={model.tol!r} (a silent "
                f"wrong result)"]
    return []


def _comparable(result):
    """What two results that must agree are compared by."""
    if hasattr(result, "n_features_in_"):
        probe = _probe(result)
        scores = (result.decision_function(probe) if hasattr(result, "decision_function")
                  else result.predict(probe))
        return np.asarray(scores, dtype=np.float64)
    if isinstance(result, np.ndarray) and result.dtype.kind not in "fc":
        return result
    return np.asarray(result, dtype=np.float64)


def _agree(a, b):
    a, b = _comparable(a), _comparable(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind not in "fc":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(b).max(initial=0))))


def run_case(case):
    """The case's outcome as a dict: verdict "pass"/"fail", the outcome
    ("ok", "rejected", "error"), and what went wrong."""
    import time

    import descend

    record = {"id": case.id, "category": case.category, "expect": case.expect}
    start = time.perf_counter()
    try:
        inputs, call = case.build()
    except Exception as exc:  # noqa: BLE001 - a bug of the battery itself
        return {**record, "outcome": "error", "verdict": "fail",
                "problems": [f"building the case failed: {type(exc).__name__}: {exc}"]}
    before = fingerprint(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = call(inputs)
            record["outcome"] = "ok"
        except (ValueError, TypeError) as exc:
            # descend.DivergenceError is a ValueError
            record["outcome"] = "rejected"
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["divergence"] = isinstance(exc, descend.DivergenceError)
        except Exception as exc:  # noqa: BLE001 - every other exception is a failure
            record["outcome"] = "error"
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["traceback"] = traceback.format_exc()[-2000:]
        if before != fingerprint(inputs):
            record["modified_input"] = True
        problems = []
        if case.expect == "cli":
            problems = _cli_problems(record, result if record["outcome"] == "ok" else None)
        elif record["outcome"] == "ok":
            try:
                if hasattr(result, "coef_"):
                    problems += check_model(result)
                elif (isinstance(result, (np.ndarray, float, np.floating)) and case.finite
                      and not _finite(result)):
                    problems.append("the result is not finite")
                if case.certify and not problems:
                    problems += _certified(result, inputs)
                if case.same_as is not None and not problems:
                    ref_inputs, ref_call = case.same_as()
                    if not _agree(result, ref_call(ref_inputs)):
                        problems.append("differs from the result of the equivalent "
                                        "canonical input (a silent wrong result)")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"using the result raised {type(exc).__name__}: {exc}")
    if record.get("modified_input"):
        problems.append("an input was modified")
    if record["outcome"] == "error":
        problems.append(f"raised {record['error'][:300]}")
    elif case.expect == "ok" and record["outcome"] == "rejected":
        problems.append(f"a valid input was rejected: {record['error'][:300]}")
    elif case.expect == "rejected" and record["outcome"] == "ok":
        problems.append("accepted an input that must be rejected (a silent wrong result)")
    if record["outcome"] == "rejected" and case.names:
        if not any(re.search(pattern, record["error"]) for pattern in case.names):
            problems.append(f"the message names none of {list(case.names)}: "
                            f"{record['error'][:300]}")
    record["problems"] = problems
    record["verdict"] = "fail" if problems else "pass"
    record["seconds"] = time.perf_counter() - start
    return record


def _cli_problems(record, result):
    if result is None:
        return []  # the exception itself is the failure
    problems = []
    if result["code_ran"]:
        problems.append("loading a file ran code from it")
    if result["rc"] != result["expected_rc"]:
        problems.append(f"exit code {result['rc']!r}, expected {result['expected_rc']}; "
                        f"stderr: {result['stderr'][-300:]!r}")
    lines = result["stderr"].strip().splitlines()
    if result["expected_rc"] == 2:
        if len(lines) != 1:
            problems.append(f"stderr is not one line: {result['stderr'][-500:]!r}")
        elif not re.search(result["names"], lines[0]):
            problems.append(f"the message names none of {result['names']!r}: {lines[0]!r}")
    record["outcome"] = "exit %s" % result["rc"]
    return problems


def child_main(group, ids, out_path):
    """Run the cases ``ids`` of ``group``, appending one JSON line per case
    start and outcome to out_path."""
    import faulthandler

    spec = dict(all_groups())[group]
    cases = {case.id: case for case in cases_of(spec)}
    with open(out_path, "a") as out:
        for cid in ids:
            out.write(json.dumps({"id": cid, "state": "start"}) + "\n")
            out.flush()
            faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True)
            try:
                record = run_case(cases[cid])
            finally:
                faulthandler.cancel_dump_traceback_later()
            record["state"] = "done"
            out.write(json.dumps(record, default=str) + "\n")
            out.flush()


# ---------------------------------------------------------------------------
# Running a group (in the test process)


def _limits():
    import resource

    if AS_LIMIT > 0:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _spawn(group, ids, out_path, err_path):
    # two OpenMP threads (the threaded paths run too) that sleep when idle:
    # children run side by side, and spinning threads would starve each other
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    env.setdefault("OMP_NUM_THREADS", "2")
    env.setdefault("OMP_WAIT_POLICY", "passive")
    with open(err_path, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", group, out_path, *ids],
            stdout=subprocess.DEVNULL, stderr=err, env=env, preexec_fn=_limits)
        try:
            rc = proc.wait(timeout=CASE_TIMEOUT * 2 + 30 + len(ids) * 2.0)
            hung = False
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            hung = True
    return rc, hung


def _read(out_path):
    done, started = {}, []
    with open(out_path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            if record["state"] == "start":
                started.append(record["id"])
            else:
                done[record["id"]] = record
    return done, started


def _death(rc, hung, stderr_tail):
    if hung or "Timeout (0:" in stderr_tail:
        return f"hang: no answer within {CASE_TIMEOUT:.0f} s"
    if rc < 0:
        return f"crash: killed by signal {signal.Signals(-rc).name}"
    return f"crash: the process exited with {rc}"


def run_group(group, ids):
    """Outcomes of the cases ``ids`` of ``group`` (dict id -> record), each
    batch of cases in one child; a case that kills its child is recorded as
    the crash or hang, confirmed by running it alone, and the group goes on
    in a fresh child."""
    results = {}
    pending = list(ids)
    with tempfile.TemporaryDirectory(prefix="descend-battery-") as tmp:
        attempt = 0
        while pending:
            attempt += 1
            out_path = os.path.join(tmp, f"out{attempt}.jsonl")
            err_path = os.path.join(tmp, f"err{attempt}.txt")
            open(out_path, "w").close()
            rc, hung = _spawn(group, pending, out_path, err_path)
            done, started = _read(out_path)
            results.update(done)
            unfinished = [cid for cid in started if cid not in done]
            with open(err_path, errors="replace") as f:
                stderr_tail = f.read()[-3000:]
            if not hung and not unfinished and all(cid in done for cid in pending):
                if rc != 0:
                    last = pending[-1]
                    results[last] = {
                        "id": last, "verdict": "fail", "outcome": "crash",
                        "category": done[last].get("category"),
                        "problems": [_death(rc, hung, stderr_tail)
                                     + " at exit, after all its cases ran"],
                        "stderr": stderr_tail}
                break
            # the case it died in (or, dead between cases, the next one)
            culprit = (unfinished[0] if unfinished
                       else next(cid for cid in pending if cid not in done))
            why = _death(rc, hung, stderr_tail)
            if len(pending) > 1:
                # confirm alone (a crash may come from memory an earlier case
                # corrupted)
                alone = run_group(group, [culprit])[culprit]
                alone_failed = alone["verdict"] == "fail" and any(
                    p.startswith(("crash", "hang")) for p in alone["problems"])
                if not alone_failed:
                    why += (" after the preceding cases of its group (alone: "
                            f"{alone['verdict']})")
            results[culprit] = {"id": culprit, "verdict": "fail", "outcome": "crash",
                                "problems": [why], "stderr": stderr_tail}
            pending = [cid for cid in pending if cid not in results]
    return results


class Battery:
    """Runs the groups that the selected tests need, JOBS children at a time,
    and hands out their outcomes."""

    def __init__(self, needed_groups):
        self._specs = dict(all_groups())
        self._ids = {}
        for group in needed_groups:
            self._ids[group] = [case.id for case in cases_of(self._specs[group])]
        self._pool = ThreadPoolExecutor(max_workers=JOBS)
        self._lock = threading.Lock()
        self._futures = {group: self._pool.submit(run_group, group, ids)
                         for group, ids in self._ids.items()}

    def outcome(self, case_id):
        group = case_id.split(":", 1)[0]
        return self._futures[group].result()[case_id]

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------
# pytest


def _case_list():
    return [case for _, spec in all_groups() for case in cases_of(spec)]


def _finding_of(case_id):
    for finding, (title, patterns) in FINDINGS.items():
        if any(fnmatch.fnmatchcase(case_id, pattern) for pattern in patterns):
            return finding, title
    return None


def _params():
    import pytest

    params = []
    for case in _case_list():
        marks = []
        finding = _finding_of(case.id)
        if finding is not None:
            marks.append(pytest.mark.xfail(
                strict=True, reason=f"{finding[0]}: {finding[1]} "
                                    f"(docs/reliability-findings.md)"))
        params.append(pytest.param(case.id, marks=marks, id=case.id))
    return params


if __name__ != "__main__":
    import pytest

    @pytest.fixture(scope="module")
    def battery(request):
        selected = {item.callspec.params["case_id"].split(":", 1)[0]
                    for item in request.session.items
                    if item.module is request.module and hasattr(item, "callspec")
                    and "case_id" in item.callspec.params}
        runner = Battery(sorted(selected))
        yield runner
        runner.close()

    @pytest.mark.parametrize("case_id", _params())
    def test_hostile_input(battery, case_id):
        record = battery.outcome(case_id)
        assert record["verdict"] == "pass", (
            f"{case_id}: " + "; ".join(record["problems"])
            + (f"\n{record.get('traceback', '')}" if record.get("traceback") else "")
            + (f"\nstderr of the child:\n{record['stderr']}" if record.get("stderr") else ""))

    def test_battery_covers_every_estimator_layout_and_batch_mode():
        all_ids = [case.id for case in _case_list()]
        assert len(set(all_ids)) == len(all_ids), "two cases share an id"
        ids = set(all_ids)
        for estimator in ESTIMATORS:
            for layout in LAYOUTS:
                for batch in BATCHES:
                    for method in ("fit", "partial_fit", "predict", "score"):
                        assert f"{estimator}-{layout}-b{batch}:{method}:nan-in-X" in ids
        for method in ("fit", "partial_fit", "predict", "score"):
            corrupt_cases = [cid for cid in ids if cid.endswith(f":{method}:corrupt-indptr-empty")]
            assert len(corrupt_cases) == len(ESTIMATORS) * len(BATCHES)  # every CSR group

    def test_findings_name_existing_cases():
        """Every xfail pattern matches a case (a stale one would hide nothing
        and mean nothing)."""
        ids = [case.id for case in _case_list()]
        for finding, (title, patterns) in FINDINGS.items():
            for pattern in patterns:
                assert any(fnmatch.fnmatchcase(cid, pattern) for cid in ids), (finding, pattern)


# ---------------------------------------------------------------------------
# The command line of this file: a child, or the summary of the whole battery


def summary(results):
    """Outcomes by category: cases, passes, and each kind of failure."""
    from collections import Counter, defaultdict

    by_category = defaultdict(Counter)
    for record in results.values():
        category = record.get("category", "?")
        outcome = record.get("outcome", "crash")
        by_category[category]["cases"] += 1
        by_category[category][outcome] += 1
        by_category[category][record["verdict"]] += 1
        by_category[category]["divergence"] += bool(record.get("divergence"))
    columns = ["cases", "ok", "rejected", "divergence", "error", "crash", "pass", "fail"]
    lines = ["| category | " + " | ".join(columns) + " |",
             "|---|" + "---:|" * len(columns)]
    total = Counter()
    for category in sorted(by_category):
        counts = by_category[category]
        total.update(counts)
        lines.append(f"| {category} | " + " | ".join(str(counts[c]) for c in columns) + " |")
    lines.append("| **all** | " + " | ".join(f"**{total[c]}**" for c in columns) + " |")
    return "\n".join(lines)


def main(argv):
    if argv and argv[0] == "--child":
        group, out_path, *ids = argv[1:]
        child_main(group, ids, out_path)
        return 0
    if argv and argv[0] == "--summary":
        import time

        start = time.perf_counter()
        battery = Battery([group for group, _ in all_groups()])
        results = {}
        for group in battery._ids:
            results.update(battery._futures[group].result())
        elapsed = time.perf_counter() - start
        if len(argv) > 2 and argv[1] == "--json":
            with open(argv[2], "w") as f:
                json.dump(results, f, default=str)
        print(summary(results))
        failed = [r for r in results.values() if r["verdict"] == "fail"]
        known = [r for r in failed if _finding_of(r["id"])]
        print(f"\n{len(results)} cases in {elapsed:.0f} s ({JOBS} children at a time); "
              f"{len(failed)} fail, {len(known)} of them known findings (strict xfail).")
        for record in failed:
            finding = _finding_of(record["id"])
            tag = f"[{finding[0]}] " if finding else "[NEW] "
            print(f"  {tag}{record['id']}: {'; '.join(record['problems'])[:300]}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
