"""Corrupted CSR structure is a clear ValueError before any kernel or
scipy product reads it, at every method of every estimator."""
import numpy as np
import pytest
import scipy.sparse as sp

import descend
from corrupt_csr import corrupt

ESTIMATORS = {
    "LinearRegression": lambda: descend.LinearRegression(max_iter=3),
    "LogisticRegression": lambda: descend.LogisticRegression(max_iter=3),
    "SGDClassifier": lambda: descend.SGDClassifier(max_iter=3, random_state=0),
    "SGDRegressor": lambda: descend.SGDRegressor(max_iter=3, random_state=0),
}


def _valid(n=40, p=12, seed=0, index_dtype=np.int32):
    X = sp.random(n, p, density=0.3, format="csr", random_state=seed)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    return X


def _target(name, n):
    rng = np.random.default_rng(0)
    if name in ("LinearRegression", "SGDRegressor"):
        return rng.standard_normal(n)
    return np.arange(n) % 3


#: the battery's defects that a well-typed CSR matrix can carry
KINDS = ["index-eq-n_features", "index-gt-n_features", "index-negative",
         "index-int64-past-2**31", "indptr0-nonzero", "indptr-decreasing",
         "indptr-last-gt-nnz", "indptr-last-lt-nnz", "indptr-too-short", "indptr-too-long",
         "indices-shorter-than-data", "data-shorter-than-indices"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_corrupted_csr_is_rejected_at_fit_and_partial_fit(name, kind):
    X = _valid()
    y = _target(name, X.shape[0])
    bad = corrupt(kind, X)
    with pytest.raises(ValueError, match="corrupted sparse matrix"):
        ESTIMATORS[name]().fit(bad, y)
    kwargs = {} if name in ("LinearRegression", "SGDRegressor") else {"classes": np.unique(y)}
    with pytest.raises(ValueError, match="corrupted sparse matrix"):
        ESTIMATORS[name]().partial_fit(bad, y, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_corrupted_csr_is_rejected_at_predict_methods(name, kind):
    X = _valid()
    y = _target(name, X.shape[0])
    model = ESTIMATORS[name]().fit(X, y)
    bad = corrupt(kind, X)
    methods = ["predict", "score"]
    if hasattr(model, "decision_function"):
        methods.append("decision_function")
    if hasattr(model, "predict_proba"):
        methods.append("predict_proba")
    for method in methods:
        args = (bad, y) if method == "score" else (bad,)
        with pytest.raises(ValueError, match="corrupted sparse matrix"):
            getattr(model, method)(*args)


def test_the_message_names_the_problem():
    X = _valid()
    with pytest.raises(ValueError, match=r"an index \(12\) is out of bounds for 12 columns"):
        descend.LinearRegression().fit(corrupt("index-eq-n_features", X), np.ones(40))
    with pytest.raises(ValueError, match="indptr decreases at row 5"):
        descend.LinearRegression().fit(corrupt("indptr-decreasing", X), np.ones(40))
    with pytest.raises(ValueError, match="indptr has 38 entries; 40 rows need 41"):
        descend.LinearRegression().fit(corrupt("indptr-too-short", X), np.ones(40))


def test_valid_csr_of_every_index_dtype_and_other_formats_pass():
    """The check rejects nothing valid: int32/int64 indices, unsorted
    indices, explicit zeros, empty rows, CSC and COO input."""
    for index_dtype in (np.int32, np.int64):
        X = _valid(index_dtype=index_dtype)
        X.data[::5] = 0.0  # explicit zeros
        rows = X.indptr
        X.indices[rows[1]:rows[2]] = X.indices[rows[1]:rows[2]][::-1].copy()  # unsorted
        y = _target("LinearRegression", X.shape[0])
        model = descend.LinearRegression(max_iter=3).fit(X, y)
        assert np.all(np.isfinite(model.predict(X)))
        for other in (X.tocsc(), X.tocoo()):
            np.testing.assert_allclose(model.predict(other), model.predict(X))
    empty = sp.csr_matrix((5, 4))
    assert descend.LinearRegression(max_iter=2).fit(empty, np.ones(5)).predict(empty).shape == (5,)


def test_corrupted_coo_and_csc_are_rejected():
    """Each corrupted matrix has arrays of its own: ``X.tocoo()`` shares
    X.indices as coo.col, and corrupting it corrupted X, which scipy's C
    conversion ``X.tocsc()`` then read out of bounds (heap corruption,
    finding R9).  No corrupted matrix reaches scipy in this process."""
    X = _valid()
    coo = X.tocoo(copy=True)
    coo.col[0] = X.shape[1] + 3
    assert not np.shares_memory(coo.col, X.indices)
    with pytest.raises(ValueError, match="corrupted sparse matrix"):
        descend.LinearRegression().fit(coo, np.ones(40))
    csc = X.tocsc(copy=True)
    csc.indices[0] = X.shape[0] + 1
    with pytest.raises(ValueError, match="corrupted sparse matrix"):
        descend.LinearRegression().fit(csc, np.ones(40))
