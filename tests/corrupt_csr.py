"""CSR matrices with one structural defect each, for the tests of the
structural check (test_sparse_structure.py), the hostile-input battery
(test_hostile_inputs.py) and the property tests."""
import numpy as np


def corrupt(kind, X):
    """A copy of the CSR matrix X with one structural defect; scipy's
    constructor is bypassed (the arrays are replaced after construction, as
    a caller that edits a matrix in place or deserialises one would)."""
    X = X.copy()
    if kind == "index-eq-n_features":
        X.indices[3] = X.shape[1]
    elif kind == "index-gt-n_features":
        X.indices[-1] = X.shape[1] + 1000
    elif kind == "index-negative":
        X.indices[0] = -1
    elif kind == "index-int64-past-2**31":
        X.indices = X.indices.astype(np.int64)
        X.indptr = X.indptr.astype(np.int64)
        X.indices[2] = 2**31 + 5
    elif kind == "index-uint64-huge":
        X.indices = X.indices.astype(np.uint64)
        X.indices[2] = 2**63 + 5
    elif kind == "indptr0-nonzero":
        X.indptr[0] = 1
    elif kind == "indptr-decreasing":
        X.indptr[5], X.indptr[6] = X.indptr[6], X.indptr[5] - 1
    elif kind == "indptr-last-gt-nnz":
        X.indptr[-1] += 7
    elif kind == "indptr-last-lt-nnz":
        X.indptr[-1] -= 1
    elif kind == "indptr-too-short":
        X.indptr = X.indptr[:-3].copy()
    elif kind == "indptr-too-long":
        X.indptr = np.append(X.indptr, [X.indptr[-1]] * 3).astype(X.indptr.dtype)
    elif kind == "indptr-empty":
        X.indptr = X.indptr[:0].copy()
    elif kind == "indices-shorter-than-data":
        X.indices = X.indices[:-2].copy()
    elif kind == "data-shorter-than-indices":
        X.data = X.data[:-2].copy()
    elif kind == "indices-float":
        X.indices = X.indices.astype(np.float64)
    elif kind == "indptr-float":
        X.indptr = X.indptr.astype(np.float64)
    elif kind == "data-2d":
        X.data = X.data.reshape(-1, 1)
    elif kind == "indices-2d":
        X.indices = X.indices.reshape(-1, 1)
    elif kind == "data-list":
        X.data = list(X.data)
    else:
        raise KeyError(kind)
    return X


CORRUPTIONS = ("index-eq-n_features", "index-gt-n_features", "index-negative",
               "index-int64-past-2**31", "index-uint64-huge", "indptr0-nonzero",
               "indptr-decreasing", "indptr-last-gt-nnz", "indptr-last-lt-nnz",
               "indptr-too-short", "indptr-too-long", "indptr-empty",
               "indices-shorter-than-data", "data-shorter-than-indices", "indices-float",
               "indptr-float", "data-2d", "indices-2d", "data-list")
