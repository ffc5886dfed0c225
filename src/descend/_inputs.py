"""Validating X (and y) for every estimator method, and the structural
check of sparse input.

The kernels read CSR arrays without bounds checks, and scipy's own
``X @ coef`` trusts them too: an index past the last column writes past
the coefficient buffer.  So every sparse matrix is checked in O(nnz)
(index bounds, indptr shape, start, end and order, array lengths, index
dtypes) before anything reads it, and a corrupted one is a ValueError
naming the problem.

Every error names the argument at fault: scikit-learn's messages about
shapes and conversions do not ("Found array with 0 sample(s)", "could not
convert string to float"), so they are prefixed with it.
"""
from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _assert_all_finite, check_array, validate_data

from ._engine import kernels
from ._fitstate import MAX_CHUNKS, threads_for
from ._frames import check_dataframe
from ._typing import FLOAT_DTYPES
from ._validation import resolve_n_threads

#: index dtypes the kernels read
INDEX_DTYPES = (np.int32, np.int64)


def _fail(name, what):
    raise ValueError(
        f"{name} is a corrupted sparse matrix: {what}. Its structure arrays "
        f"(indptr, indices, data) do not describe a valid matrix of its shape; "
        f"rebuild it (e.g. scipy.sparse.csr_matrix((data, indices, indptr), shape=...) "
        f"from valid arrays).")


def _check_index_array(name, label, array):
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        _fail(name, f"{label} must be a 1-D NumPy array")
    if array.dtype.kind not in "iu":
        _fail(name, f"{label} has dtype {array.dtype}; an integer dtype is required")


def _check_compressed(X, name, n_major, n_minor, axis_name):
    """CSR (rows major) or CSC (columns major) structure."""
    indptr, indices, data = X.indptr, X.indices, X.data
    _check_index_array(name, "indptr", indptr)
    _check_index_array(name, "indices", indices)
    if not isinstance(data, np.ndarray) or data.ndim != 1:
        _fail(name, "data must be a 1-D NumPy array")
    if len(indptr) != n_major + 1:
        _fail(name, f"indptr has {len(indptr)} entries; {n_major} {axis_name}s need "
                    f"{n_major + 1}")
    if len(indices) != len(data):
        _fail(name, f"indices has {len(indices)} entries but data has {len(data)}")
    if indptr[0] != 0:
        _fail(name, f"indptr[0] is {indptr[0]}, not 0")
    if int(indptr[-1]) != len(indices):
        _fail(name, f"indptr[-1] is {indptr[-1]} but there are {len(indices)} stored "
                    f"entries")
    if n_major > 0 and np.any(indptr[1:] < indptr[:-1]):
        first = int(np.argmax(indptr[1:] < indptr[:-1]))
        _fail(name, f"indptr decreases at {axis_name} {first} "
                    f"({indptr[first]} then {indptr[first + 1]})")
    if len(indices):
        low, high = int(indices.min()), int(indices.max())
        if low < 0:
            _fail(name, f"an index is negative ({low})")
        if high >= n_minor:
            _fail(name, f"an index ({high}) is out of bounds for {n_minor} "
                        f"{'column' if axis_name == 'row' else 'row'}s")


def check_sparse_structure(X, name="X"):
    """Raise a ValueError naming the problem if the scipy sparse matrix X
    is structurally corrupted; O(nnz), no copy.  CSR and CSC are checked
    array by array; COO's coordinates against the shape; other formats by
    scipy's own full check."""
    n_rows, n_cols = X.shape
    if n_rows < 0 or n_cols < 0:
        _fail(name, f"its shape {X.shape} is negative")
    fmt = X.format
    if fmt == "csr":
        _check_compressed(X, name, n_rows, n_cols, "row")
    elif fmt == "csc":
        _check_compressed(X, name, n_cols, n_rows, "column")
    elif fmt == "coo":
        row, col = X.coords if hasattr(X, "coords") else (X.row, X.col)
        _check_index_array(name, "row", row)
        _check_index_array(name, "col", col)
        if not (len(row) == len(col) == len(X.data)):
            _fail(name, f"row, col and data have {len(row)}, {len(col)} and "
                        f"{len(X.data)} entries")
        for label, idx, bound in (("row", row, n_rows), ("column", col, n_cols)):
            if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= bound):
                _fail(name, f"a {label} index is out of bounds for shape {X.shape}")
    else:
        try:
            X.check_format(full_check=True) if hasattr(X, "check_format") else None
        except (ValueError, IndexError, TypeError) as exc:
            _fail(name, str(exc))


#: Sum of the squared entries of float64 training data above which the
#: step size's curvature estimate (a weighted Gram matrix, and the second
#: moments of scale_features) could overflow.
MAX_SQUARED_SUM = np.finfo(np.float64).max / 64
#: ... and below which (for X not all zero) it underflows: the step size
#: 1/curvature, and the coefficients X needs (~1/|X|), would overflow.
MIN_SQUARED_SUM = 1.0 / MAX_SQUARED_SUM


#: the array types of the plain path (``_plain``)
PLAIN_TYPES = (np.ndarray, np.memmap)


def _plain(estimator, X, dtype, reset):
    """X is a plain, C-ordered, non-empty float NumPy matrix of an accepted
    dtype, and its feature count and names need no message: then
    scikit-learn's validate_data would return it as it is, after what
    ``_plain_checked`` does (a fixed cost of ~0.3 ms a fit or predict,
    mostly its DataFrame probes, that small fits and grid searches pay
    many times; the first in a process also scans the installed packages'
    entry points, ~8 ms).  A ``np.memmap`` counts as plain: joblib hands a
    grid search's workers X as one when it is over 1 MB.  Anything else
    takes scikit-learn's path, whose messages stay the ones users see."""
    if not (type(X) in PLAIN_TYPES and X.ndim == 2 and X.flags.c_contiguous
            and X.shape[0] >= 1 and X.shape[1] >= 1):
        return False
    if X.dtype not in (dtype if isinstance(dtype, (tuple, list)) else (dtype,)):
        return False
    if reset:
        return True
    return (not hasattr(estimator, "feature_names_in_")
            and getattr(estimator, "n_features_in_", None) == X.shape[1])


def _plain_checked(estimator, X, reset):
    """What validate_data records for a plain NumPy X (see ``_plain``),
    and what it returns: X (a memmap as a plain ndarray view of it, as
    ``np.asarray`` gives)."""
    if reset:
        estimator.n_features_in_ = X.shape[1]
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return X if type(X) is np.ndarray else X.view(np.ndarray)


def validate_X(estimator, X, *, reset, dtype=FLOAT_DTYPES, name="X"):
    """X for fit, partial_fit and the predict methods: DataFrames checked for
    non-numeric columns, sparse structure checked, then scikit-learn's
    validation (feature count and names, finiteness, C order, CSR)."""
    if _plain(estimator, X, dtype, reset):
        with _named(name):
            _assert_all_finite(X, input_name=name, estimator_name=type(estimator).__name__)
        return _kernel_ready(_plain_checked(estimator, X, reset))
    X = check_dataframe(X, name)
    if sp.issparse(X):
        check_sparse_structure(X, name)
    with _named(name), _quiet_fp():
        X = validate_data(estimator, X, dtype=dtype, order="C", accept_sparse="csr",
                          reset=reset)
    return _kernel_ready(X)


def validate_X_y(estimator, X, y, *, reset, dtype=FLOAT_DTYPES, y_numeric=False,
                 multi_output=False):
    """validate_X for training data X and its target y (one value per row);
    a numeric target also checked for what the solver needs (numbers, in
    the range of X's dtype), and X, when a fit starts (``reset``) and the
    solver will estimate its curvature (eta0="auto") or its second moments
    (scale_features), for a magnitude it can square: one more pass over X.
    (With a given step size, such X ends in the kernels' DivergenceError,
    in scikit-learn's words.)"""
    plain = (_plain(estimator, X, dtype, reset) and type(y) in PLAIN_TYPES
             and y.ndim == 1 and len(y) == X.shape[0] and y.dtype.kind in "biuf"
             and (y.dtype.kind != "f" or np.isfinite(y).all()))
    if not plain:
        X = check_dataframe(X)
        if sp.issparse(X):
            check_sparse_structure(X)
    try:
        with _quiet_fp():
            # X's finiteness is checked below, in the same read as its squares
            if plain:  # what check_X_y does to it: nothing (see _plain)
                X = _plain_checked(estimator, X, reset)
            else:
                X, y = validate_data(estimator, X, y, dtype=dtype, order="C",
                                     accept_sparse="csr", y_numeric=y_numeric,
                                     multi_output=multi_output, reset=reset,
                                     ensure_all_finite=False)
            squared = _finite_squares(estimator, X)
    except (TypeError, ValueError) as exc:
        raise _name_the_culprit(exc, estimator, X, y, dtype, y_numeric) from None
    if y_numeric:
        y = _numeric_target(y, X.dtype)
    if reset and (getattr(estimator, "eta0", None) == "auto"
                  or getattr(estimator, "scale_features", False)):
        _check_magnitude(X, squared)
    return _without_explicit_zeros(_without_duplicates(_kernel_ready(X))), y


class _named:
    """Context manager: a TypeError/ValueError raised inside names ``name``."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and kind in (TypeError, ValueError):
            raise _prefixed(exc, self.name) from None
        return False


def _prefixed(exc, name):
    """``exc`` (a TypeError/ValueError, not a subclass: those keep their own
    type and message) with a message that names ``name``."""
    message = str(exc)
    if type(exc) not in (TypeError, ValueError) or _names(message, name):
        return exc
    return type(exc)(f"{name}: {message}")


def _name_the_culprit(exc, estimator, X, y, dtype, y_numeric):
    """The error of validating X and y together, naming the argument at
    fault when its message does not: both when their lengths differ, X if
    X alone fails scikit-learn's check, y if y alone does, else X (its
    feature names or count)."""
    message = str(exc)
    if _names(message, "X") or _names(message, "y"):
        return exc
    if "inconsistent numbers of samples" in message:
        return _prefixed(exc, "X and y")
    for name, value, kwargs in (
            ("X", X, dict(accept_sparse="csr", dtype=dtype, order="C")),
            ("y", y, dict(ensure_2d=False, dtype=np.float64 if y_numeric else None))):
        try:
            with _quiet_fp():
                check_array(value, estimator=estimator, input_name=name, **kwargs)
        except (TypeError, ValueError):
            return _prefixed(exc, name)
    return _prefixed(exc, "X")


def _names(message, name):
    return re.search(rf"(^|\W){re.escape(name)}(\W|$)", message) is not None


def _quiet_fp():
    """scikit-learn's finiteness check first sums X; on large finite values
    (float32 near its maximum) the sum overflows and NumPy warns about it
    although nothing is wrong (the exact check that follows decides)."""
    return np.errstate(over="ignore", invalid="ignore")


#: entries below which check_squares sums in one thread
SMALL_SQUARES = 1 << 20
#: entries per chunk of the finiteness-and-squares read of X
SQUARES_CHUNK = 1 << 16


def check_squares(name, values, verb, why, fix, squared=None):
    """The sum of the squares of float64 ``values`` (one pass, no copy;
    or ``squared``, already summed); a ValueError naming ``name`` when it
    exceeds MAX_SQUARED_SUM."""
    if squared is None:
        with _quiet_fp():
            # small arrays in NumPy's own loop: a BLAS dot may wake its threads
            squared = float(np.dot(values, values) if values.size > SMALL_SQUARES
                            else np.einsum("i,i->", values, values))
    if not squared <= MAX_SQUARED_SUM:
        raise ValueError(
            f"{name} is too large in magnitude to {verb}: its entries reach "
            f"{np.abs(values).max():.3g} and the sum of their squares, {squared:.3g}, is "
            f"beyond what float64 can square safely ({MAX_SQUARED_SUM:.3g}; {why}). {fix}")
    return squared


def _numeric_target(y, dtype):
    """A regression target as numbers that X's dtype can hold."""
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"y must be numeric for a regressor; could not convert it to float: "
                f"{exc}") from None
    limit = np.finfo(dtype).max
    if y.size and dtype != y.dtype and np.abs(y).max() > limit:
        raise ValueError(
            f"y has values up to {np.abs(y).max():.3g}, beyond the range of X's dtype "
            f"{np.dtype(dtype).name} (the target is trained in X's dtype); pass X as "
            f"float64 or rescale y.")
    check_squares("y", y.reshape(-1).astype(np.float64, copy=False), "train on",
                  "the squared loss and its gradient would overflow",
                  "Rescale y, e.g. divide it by its standard deviation "
                  "(sklearn.compose.TransformedTargetRegressor).")
    return y


def _finite_squares(estimator, X):
    """The sum of X's squared entries in float64, from one parallel read
    (kernels.sum_of_squares) that also checks that X is finite: when the
    sum is not, scikit-learn's own check names the NaN or infinity (and
    passes X whose squares alone overflow)."""
    values = np.ascontiguousarray(X.data if sp.issparse(X) else X.reshape(-1))
    chunks = int(min(MAX_CHUNKS, max(1, values.size // SQUARES_CHUNK)))
    squared = kernels.sum_of_squares(values, np.empty(chunks), threads_for(
        resolve_n_threads(getattr(estimator, "n_jobs", None)), values.size))
    if not np.isfinite(squared):
        _assert_all_finite(values, input_name="X", estimator_name=type(estimator).__name__)
    return squared


def _check_magnitude(X, squared):
    """float64 X whose squared entries sum past MAX_SQUARED_SUM cannot be
    trained: its curvature (the step size's scale) overflows; nor X, not all
    zero, whose squared entries sum below MIN_SQUARED_SUM: its curvature
    underflows.  One pass, no copy (float32 data, within ~[1.4e-45,
    3.4e38], squares safely in float64)."""
    if X.dtype != np.float64:
        return
    values = X.data if sp.issparse(X) else X.reshape(-1)
    squared = check_squares("X", values, "train on",
                            "the step size is 1/(curvature ~ sum of squares)",
                            "Rescale X, e.g. with sklearn.preprocessing.StandardScaler.",
                            squared=squared)
    if squared < MIN_SQUARED_SUM and np.any(values):
        raise ValueError(
            f"X is too small in magnitude to train on: its entries reach only "
            f"{max(values.max(), -values.min()):.3g} and the sum of their squares, "
            f"{squared:.3g}, is below what float64 can square safely "
            f"({MIN_SQUARED_SUM:.3g}; the step size 1/(curvature ~ sum of squares) and "
            f"the coefficients such X needs would overflow). "
            f"Rescale X, e.g. with sklearn.preprocessing.StandardScaler.")


def _without_duplicates(X):
    """CSR training data with an index stored twice in a row (valid for
    scipy, which reads the entries as their sum) as a copy with the
    duplicates summed: the kernels' lazy per-sample updates (adaptive
    optimizers, momentum, clip_norm's row norm) visit each stored entry as
    a coordinate of its own, and would train a different model than on the
    matrix the entries sum to.  A canonical matrix (sorted, no duplicates:
    scipy's O(nnz) check) is used as it is; an unsorted one without
    duplicates too (the sorted copy that tells is dropped)."""
    if not sp.issparse(X) or X.has_canonical_format:
        return X
    summed = X.copy()
    summed.sum_duplicates()
    return summed if summed.nnz != X.nnz else X


def _without_explicit_zeros(X):
    """CSR training data that stores explicit zeros as a copy without them:
    the lazy per-sample updates (momentum, adaptive optimizers) catch up a
    coordinate wherever a row stores it, so a stored 0 trained another
    model than the same matrix without it.  One O(nnz) count; a matrix
    without stored zeros is used as it is."""
    if not sp.issparse(X) or np.count_nonzero(X.data) == X.nnz:
        return X
    dropped = X.copy()
    dropped.eliminate_zeros()
    return dropped


def _kernel_ready(X):
    """CSR X whose storage the kernels cannot read as it is (indices and
    indptr of different or other integer dtypes, non-contiguous arrays) as
    an equivalent CSR matrix that they can (a copy; the caller's X is never
    modified); anything else unchanged."""
    if not sp.issparse(X):
        return X
    index_dtype = np.result_type(X.indices.dtype, X.indptr.dtype)
    index_dtype = np.int32 if index_dtype in (np.int8, np.int16, np.int32, np.uint8,
                                              np.uint16) else np.int64
    if (X.indices.dtype == X.indptr.dtype == index_dtype and X.data.flags.c_contiguous
            and X.indices.flags.c_contiguous and X.indptr.flags.c_contiguous):
        return X
    out = X.copy()
    out.data = np.ascontiguousarray(X.data)
    out.indices = np.ascontiguousarray(X.indices, dtype=index_dtype)
    out.indptr = np.ascontiguousarray(X.indptr, dtype=index_dtype)
    return out
