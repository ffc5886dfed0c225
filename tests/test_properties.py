"""Property-based tests (hypothesis) of the promises of issue #12: over
random shapes (one row, one column included), dtypes, sparsity patterns and
hyperparameters, descend gives a finite model or a clear error naming the
argument, never anything else.

- Valid data: dense and CSR copies give the same full-batch model (to
  1e-10 in float64), with finite coefficients, and no input is modified.
- Valid but non-canonical CSR (unsorted indices, duplicate entries,
  explicit zeros) trains the model of the canonical matrix, in every batch
  mode (same random_state).
- Corrupted CSR: always the structured ValueError, at fit, partial_fit and
  predict.
- Hyperparameters drawn from each estimator's constraints table, valid or
  not: a fit with finite coefficients, a DivergenceError, or a
  ValueError/TypeError naming the offending parameter.

The budget is fixed (``max_examples`` per test) and the examples are
derandomized, so that CI runs the same cases every time, in well under a
minute.  The (ASan) sanitizer run uses the same file.
"""
from __future__ import annotations

import numbers
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import descend  # noqa: E402
from descend._validation import (  # noqa: E402
    BOOLEAN, N_JOBS, NONE, RANDOM_STATE, Interval, Options)

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile_inputs import (  # noqa: E402
    CORRUPTIONS, _duplicated, _unsorted, corrupt, fingerprint)

ESTIMATORS = (descend.LinearRegression, descend.LogisticRegression, descend.SGDClassifier,
              descend.SGDRegressor)
REGRESSORS = (descend.LinearRegression, descend.SGDRegressor)


def budget(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


@st.composite
def datasets(draw, min_rows=1, classes=None):
    """(X dense, y, estimator class): shape, dtype, sparsity pattern and
    values drawn; classifiers get labels of 2-3 classes (each present)."""
    estimator = draw(st.sampled_from(ESTIMATORS))
    n = draw(st.integers(min_rows, 30))
    p = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * draw(st.sampled_from([1e-2, 1.0, 10.0]))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    X[rng.random((n, p)) >= density] = 0.0
    X = X.astype(dtype)
    if estimator in REGRESSORS:
        y = rng.standard_normal(n)
    else:
        k = classes or draw(st.integers(2, 3))
        y = np.arange(n) % k
        rng.shuffle(y)
    return X, y, estimator


def _fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=Warning,
                                message="(?!.*encountered in)")  # NumPy's FP warnings stay
        return model.fit(*args, **kwargs)


def _finite_model(model):
    coef = model.coef_.toarray() if sp.issparse(model.coef_) else model.coef_
    return np.all(np.isfinite(coef)) and np.all(np.isfinite(model.intercept_))


def _scores(model, X):
    return (model.decision_function(X) if hasattr(model, "decision_function")
            else model.predict(X))


@budget(40)
@given(datasets(min_rows=2))
def test_dense_and_csr_copies_give_the_same_full_batch_model(data):
    X, y, Estimator = data
    if Estimator not in REGRESSORS and len(np.unique(y)) < 2:
        return
    Xs = sp.csr_matrix(X)
    before = fingerprint((X, Xs, y))
    # the same method on both ("auto" runs Newton's method on dense rows only)
    method = dict(batch_size=None, max_iter=30, random_state=0, optimizer="lbfgs")
    dense = _fit_quietly(Estimator(**method), X, y)
    sparse = _fit_quietly(Estimator(**method), Xs, y)
    assert fingerprint((X, Xs, y)) == before, "an input was modified"
    assert _finite_model(dense) and _finite_model(sparse)
    assert dense.coef_.dtype == X.dtype
    probe = np.random.default_rng(1).standard_normal((4, X.shape[1])).astype(X.dtype)
    a, b = _scores(dense, probe), _scores(sparse, probe)
    rtol = 1e-10 if X.dtype == np.float64 else 1e-4
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, np.abs(a).max()))


@budget(40)
@given(datasets(min_rows=2), st.sampled_from([None, 1, 7]),
       st.sampled_from(["sgd", "momentum", "adagrad", "adam"]),
       st.sampled_from(["l2", "l1", "elasticnet"]), st.sampled_from([None, 0.5]),
       st.sampled_from(["unsorted", "duplicates", "explicit zeros"]))
def test_non_canonical_csr_trains_the_canonical_model(data, batch_size, optimizer,
                                                      penalty, clip_norm, storage):
    X, y, Estimator = data
    if Estimator not in REGRESSORS and len(np.unique(y)) < 2:
        return
    canonical = sp.csr_matrix(X)
    if storage == "unsorted":
        other = _unsorted(canonical)
    elif storage == "duplicates":
        other = _duplicated(canonical)
    else:
        other = _rows_with_zero_first(X)
    params = dict(batch_size=batch_size, optimizer=optimizer, penalty=penalty,
                  clip_norm=clip_norm, max_iter=5, tol=None, random_state=0)
    # (intercept_decay="auto" reads the nonzeros of X.data since R8's fix:
    # explicit zeros leave it unchanged, so it is left at its default)
    before = fingerprint(other)
    a = _fit_quietly(Estimator(**params), canonical, y)
    b = _fit_quietly(Estimator(**params), other, y)
    assert fingerprint(other) == before, "an input was modified"
    assert _finite_model(a) and _finite_model(b)
    probe = np.random.default_rng(1).standard_normal((4, X.shape[1]))
    sa, sb = _scores(a, probe), _scores(b, probe)
    tol = 1e-9 if X.dtype == np.float64 else 1e-3
    np.testing.assert_allclose(sa, sb, rtol=tol, atol=tol * max(1.0, np.abs(sa).max()))


def _rows_with_zero_first(X):
    """A CSR matrix equal to X in which every row also stores an explicit 0
    in its first zero column (when it has one)."""
    rows, cols, vals = [], [], []
    for i, row in enumerate(X):
        nonzero = np.flatnonzero(row)
        zeros = np.flatnonzero(row == 0)
        rows += [i] * len(nonzero)
        cols += list(nonzero)
        vals += list(row[nonzero])
        if len(zeros):
            rows.append(i)
            cols.append(zeros[0])
            vals.append(0.0)
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=X.shape[0]))]
    order = np.argsort(rows, kind="stable")
    return sp.csr_matrix((np.asarray(vals, dtype=X.dtype)[order],
                          np.asarray(cols, dtype=np.int32)[order], indptr), shape=X.shape)


@st.composite
def corrupted(draw):
    """A valid CSR matrix with one structural defect: a listed kind, or a
    random index pushed out of bounds, or indptr broken at a random row."""
    n = draw(st.integers(8, 30))
    p = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = sp.random(n, p, density=0.6, format="csr", random_state=rng)
    index_dtype = draw(st.sampled_from([np.int32, np.int64]))
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    if X.nnz < 8 or np.count_nonzero(np.diff(X.indptr)) < 7:
        X = sp.csr_matrix(np.ones((n, p)))
    kind = draw(st.sampled_from(["listed", "index", "indptr-step"]))
    if kind == "listed":
        return corrupt(draw(st.sampled_from(CORRUPTIONS)), X)
    X = X.copy()
    if kind == "index":
        where = draw(st.integers(0, X.nnz - 1))
        X.indices[where] = draw(st.one_of(st.integers(p, 2**31 - 1),
                                          st.integers(-(2**31), -1)))
        return X
    row = draw(st.integers(1, n - 1))
    X.indptr[row] = X.indptr[row + 1] + draw(st.integers(1, 5))  # past the next row's start
    return X


@budget(60)
@given(corrupted(), st.sampled_from(ESTIMATORS),
       st.sampled_from(["fit", "partial_fit", "predict"]))
def test_corrupted_csr_is_always_the_structured_error(X, Estimator, method):
    n, p = X.shape
    y = np.arange(n) % 2
    model = Estimator(max_iter=3, random_state=0)
    before = fingerprint(X)
    with pytest.raises(ValueError, match="X is a corrupted sparse matrix"):
        if method == "fit":
            model.fit(X, y)
        elif method == "partial_fit":
            kwargs = {} if Estimator in REGRESSORS else {"classes": [0, 1]}
            model.partial_fit(X, y, **kwargs)
        else:
            _fit_quietly(model, np.ones((n, p)) * (np.arange(n) % 2)[:, None], y)
            model.predict(X)
    assert fingerprint(X) == before, "an input was modified"


# --- hyperparameters from the constraints tables

def _form_values(form):
    """Values a constraint form accepts, with its edges."""
    if isinstance(form, Interval):
        integral = form.kind is numbers.Integral
        low = form.low if form.low is not None else (-(2**63) if integral else -1e300)
        high = form.high if form.high is not None else (2**63 - 1 if integral else 1e300)
        if integral:
            edges = [v for v in (low, low + 1, high) if form.accepts(v)]
            return st.one_of(st.integers(max(low, -3), min(high, 40)).filter(form.accepts),
                             st.sampled_from(edges or [1]))
        edges = [v for v in (low, high, np.nextafter(low, np.inf), np.nextafter(high, -np.inf),
                             5e-324) if form.accepts(v)]
        return st.one_of(st.floats(low, high, allow_nan=False).filter(form.accepts),
                         st.sampled_from(edges or [0.5]))
    if isinstance(form, Options):
        return st.sampled_from(form.options)
    if form is BOOLEAN:
        return st.booleans()
    if form is NONE:
        return st.none()
    if form is RANDOM_STATE:
        return st.integers(0, 2**32 - 1)
    if form is N_JOBS:
        return st.sampled_from([None, 1, 2, -1, -2, 64])
    if type(form).__name__ == "_Callable":
        return st.sampled_from([None, lambda record: record["epoch"] >= 3])
    if type(form).__name__ == "ClassWeightDict":
        return st.sampled_from([{0: 2.0}, {1: 0.5, 0: 1.0}])
    if type(form).__name__ in ("_Average", "_AverageSGD"):
        return st.one_of(st.booleans(), st.integers(1, 50))
    raise AssertionError(f"no strategy for the constraint {form!r}: add one")


INVALID = st.sampled_from([float("nan"), float("inf"), -float("inf"), -1, -1e308, 1e308,
                           10**30, "nonsense", [1], True, 0.5, 0, None, 1j])

#: parameters whose valid values are kept small, to bound the run time
SMALL = {"max_iter": st.integers(1, 15), "n_iter_no_change": st.integers(1, 5),
         "decay_steps": st.integers(1, 5), "verbose": st.just(0)}


@st.composite
def hyperparameters(draw, Estimator):
    """A few parameters of ``Estimator``, each valid or not, the rest at
    their defaults (max_iter kept small)."""
    table = Estimator._parameter_constraints
    chosen = draw(st.lists(st.sampled_from(sorted(table)), min_size=1, max_size=4,
                           unique=True))
    params = {"max_iter": 10}
    for name in chosen:
        if name in SMALL and draw(st.booleans()):
            params[name] = draw(SMALL[name])
        elif draw(st.integers(0, 3)) == 0:
            params[name] = draw(INVALID)
        else:
            params[name] = draw(st.one_of(*[_form_values(form) for form in table[name]]))
    return params


@budget(120)
@given(st.data(), datasets(min_rows=4, classes=2), st.booleans())
def test_random_hyperparameters_give_a_model_or_an_error_naming_one(draw, data, sparse):
    _, y, Estimator = data
    X = data[0]
    params = draw.draw(hyperparameters(Estimator))
    model = Estimator(**params)
    Xin = sp.csr_matrix(X) if sparse else X
    before = fingerprint((Xin, y))
    try:
        _fit_quietly(model, Xin, y)
    except descend.DivergenceError:
        event("outcome: DivergenceError")  # a valid but too large step: a clear error
    except (ValueError, TypeError) as exc:
        event(f"outcome: {type(exc).__name__}")
        named = [name for name in params if re.search(rf"\b{re.escape(name)}\b", str(exc))]
        assert named, f"{type(exc).__name__} names none of {sorted(params)}: {exc}"
    else:
        event("outcome: fitted")
        assert _finite_model(model), f"non-finite coefficients with {params}"
        probe = np.random.default_rng(1).standard_normal((3, X.shape[1]))
        assert np.all(np.isfinite(_scores(model, probe)))
    assert fingerprint((Xin, y)) == before, "an input was modified"
