"""Validating X (and y) for every estimator method, and the structural
check of sparse input.

The kernels read CSR arrays without bounds checks, and scipy's own
``X @ coef`` trusts them too: an index past the last column writes past
the coefficient buffer.  So every sparse matrix is checked in O(nnz)
(index bounds, indptr shape, start, end and order, array lengths, index
dtypes) before anything reads it, and a corrupted one is a ValueError
naming the problem.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from ._frames import check_dataframe
from ._typing import FLOAT_DTYPES

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


def validate_X(estimator, X, *, reset, dtype=FLOAT_DTYPES, name="X"):
    """X for fit, partial_fit and the predict methods: DataFrames checked for
    non-numeric columns, sparse structure checked, then scikit-learn's
    validation (feature count and names, finiteness, C order, CSR)."""
    X = check_dataframe(X, name)
    if sp.issparse(X):
        check_sparse_structure(X, name)
    return validate_data(estimator, X, dtype=dtype, order="C", accept_sparse="csr",
                         reset=reset)


def validate_X_y(estimator, X, y, *, reset, dtype=FLOAT_DTYPES, y_numeric=False,
                 multi_output=False):
    """validate_X for X and its target y (one value per row)."""
    X = check_dataframe(X)
    if sp.issparse(X):
        check_sparse_structure(X)
    return validate_data(estimator, X, y, dtype=dtype, order="C", accept_sparse="csr",
                         y_numeric=y_numeric, multi_output=multi_output, reset=reset)
