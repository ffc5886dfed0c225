"""Predictions on Dask input: lazy Dask arrays, computed block by block on
the workers by the fitted model's in-memory twin (the parent descend
estimator with the same fitted attributes)."""
from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted


def lazy_predictions(estimator, name, X):
    """``estimator.<name>(X)`` for a Dask Array or DataFrame X, as a lazy Dask
    array: one block per block (partition) of X."""
    import dask.array as da
    from dask import delayed

    check_is_fitted(estimator)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D Dask collection; got {X.ndim} dimension(s).")
    estimator._set_features(X, reset=False)  # the feature count and names, at once
    model = in_memory_model(estimator)
    probe = getattr(model, name)(_probe(X, estimator.n_features_in_))
    tail = probe.shape[1:]
    if hasattr(X, "columns"):  # a DataFrame: partitions keep their column names
        apply = delayed(_apply, pure=True)
        model_ = delayed(model, pure=True)
        parts = [da.from_delayed(apply(part, model_, name), shape=(np.nan, *tail),
                                 dtype=probe.dtype, meta=probe[:0])
                 for part in X.to_delayed()]
        return da.concatenate(parts)
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if tail:
        return X.map_blocks(_apply, model, name, dtype=probe.dtype, meta=probe[:0],
                            chunks=(X.chunks[0], tail))
    return X.map_blocks(_apply, model, name, dtype=probe.dtype, meta=probe[:0],
                        drop_axis=1)


def in_memory_model(estimator):
    """The fitted estimator as its in-memory descend class (what the workers
    predict with): its parameters and fitted attributes, no Dask state."""
    parent = estimator._in_memory_class
    names = inspect.signature(parent.__init__).parameters
    model = parent(**{k: v for k, v in estimator.get_params(deep=False).items()
                      if k in names and k != "callback"})
    for attr, value in vars(estimator).items():
        if attr.endswith("_") and not attr.startswith("_") and attr != "rounds_":
            setattr(model, attr, value)
    return model


def _apply(block, model, name):
    """model.<name>(block), on a worker."""
    return getattr(model, name)(block)


def _probe(X, n_features):
    """One row of zeros shaped like X's blocks (for the output's dtype and width)."""
    if hasattr(X, "columns"):
        import pandas as pd

        return pd.DataFrame(np.zeros((1, n_features)), columns=X._meta.columns)
    if sp.issparse(X._meta):
        return sp.csr_matrix((1, n_features), dtype=X.dtype)
    return np.zeros((1, n_features), dtype=X.dtype)
