"""Dask input: arrays (dense, or with scipy.sparse chunks) and DataFrames
as aligned blocks of rows, their labels, and the prepared chunks.

Nothing here computes X on the client.  The blocks are delayed objects;
``prepare`` turns each (X, y, sample_weight) triple into a Chunk on the
worker that computes it (``_chunks.prepare``), and the fit keeps only the
futures of the Chunks.  Classifiers fetch the labels' unique values and
counts (a few numbers per block).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._classes import encode_labels
from .._frames import check_dataframe
from ._chunks import prepare


def is_dask(*values):
    """Whether any value is a Dask collection."""
    from dask import is_dask_collection

    return any(is_dask_collection(v) for v in values)


def _is_frame(value):
    import dask.dataframe as dd

    return isinstance(value, (dd.DataFrame, dd.Series))


@dataclass
class Blocks:
    """X, y and sample weights as aligned lists of delayed blocks of rows
    (sample_weight: None, or a number, or blocks), with X's column count,
    dtype, storage and column names."""

    X: list
    y: list
    sample_weight: object
    n_features: int
    dtype: np.dtype
    sparse: bool
    feature_names: np.ndarray | None


def _float_dtype(dtype):
    """The dtype descend trains in for data of ``dtype``."""
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def blocks(X, y, sample_weight):
    """The aligned Blocks of a fit's input (X a Dask Array or DataFrame; y and
    sample_weight Dask collections of the same rows, or NumPy arrays when
    X is an array with known chunk sizes)."""
    import dask.array as da

    names = None
    if _is_frame(X):
        if X.ndim != 2:
            raise TypeError("X must be a Dask DataFrame (2-D), not a Dask Series.")
        meta = X._meta
        check_dataframe(meta)
        columns = list(meta.columns)
        if columns and all(isinstance(c, str) for c in columns):
            names = np.asarray(columns, dtype=object)
        dtype = _float_dtype(np.result_type(*meta.dtypes) if len(columns) else np.float64)
        x_parts = list(X.to_delayed())
        n_features, sparse, rows = len(columns), False, None
    elif isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D Dask array; got {X.ndim} dimension(s) "
                             f"(shape {X.shape}). Reshape it, e.g. X.reshape(-1, 1) for "
                             f"a single feature.")
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})  # one block per group of rows, every column in it
        sparse = sp.issparse(X._meta)
        dtype = _float_dtype(X.dtype)
        x_parts = list(X.to_delayed()[:, 0])
        n_features, rows = int(X.shape[1]), X.chunks[0]
    else:
        raise TypeError(
            f"X must be a Dask Array or DataFrame when y or sample_weight is a Dask "
            f"collection; got {type(X).__name__}. Pass all of them as Dask "
            f"collections (or all in memory).")
    if y is None:
        raise ValueError("y must be given (a Dask array or Series of the same rows as X); "
                         "got None.")
    y_parts = _aligned(y, "y", rows, len(x_parts))
    if sample_weight is None or np.isscalar(sample_weight):
        sw_parts = sample_weight
    else:
        sw_parts = _aligned(sample_weight, "sample_weight", rows, len(x_parts))
    return Blocks(x_parts, y_parts, sw_parts, n_features, dtype, sparse, names)


def _aligned(value, name, rows, n_blocks):
    """The blocks of y or sample_weight, one per block of X's rows."""
    import dask.array as da

    if isinstance(value, da.Array):
        if value.ndim == 2 and value.shape[1] == 1:
            value = value[:, 0]
        if value.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got a Dask array of shape {value.shape}.")
        known = rows is not None and not any(np.isnan(c) for c in rows + value.chunks[0])
        if known and value.chunks[0] != rows:
            if value.shape[0] != sum(rows):
                raise ValueError(
                    f"Found input variables with inconsistent numbers of samples: "
                    f"X has {sum(rows)} rows, {name} {value.shape[0]}.")
            value = value.rechunk((rows,))
        parts = list(value.to_delayed())
    elif _is_frame(value):
        if value.ndim == 2:
            if len(value.columns) != 1:
                raise ValueError(f"{name} must be one column; got a Dask DataFrame with "
                                 f"{len(value.columns)} columns.")
            value = value[value.columns[0]]
        parts = list(value.to_delayed())
    elif rows is not None and not any(np.isnan(c) for c in rows):
        array = np.asarray(value)
        if array.ndim != 1 or array.shape[0] != sum(rows):
            raise ValueError(f"{name} must be 1-D with one entry per row of X ({sum(rows)}); "
                             f"got shape {array.shape}.")
        parts = list(da.from_array(array, chunks=(rows,)).to_delayed())
    else:
        raise TypeError(
            f"{name} must be a Dask collection with the same partitions as X (e.g. a "
            f"column of the same Dask DataFrame); got {type(value).__name__}.")
    if len(parts) != n_blocks:
        raise ValueError(
            f"{name} has {len(parts)} blocks (partitions) but X has {n_blocks}; give them "
            f"the same partitions (e.g. both columns of one Dask DataFrame, or "
            f"{name}.rechunk(X.chunks[0])).")
    return parts


def _unique_counts(y):
    """The distinct labels of one block and their counts."""
    y = np.asarray(y).ravel()
    try:
        return np.unique(y, return_counts=True)
    except TypeError:
        raise ValueError("Unknown label type: y mixes label types (e.g. strings and "
                         "numbers); use labels of one type.") from None


def labels(client, y_parts, name):
    """The sorted classes of y (descend's checks: at least two, not
    continuous) and their counts, from each block's unique values."""
    from dask import delayed

    futures = client.compute([delayed(_unique_counts)(part) for part in y_parts])
    found = client.gather(futures)
    values = np.concatenate([v for v, _ in found])
    classes = encode_labels(values, name)[0]
    counts = np.zeros(len(classes), dtype=np.int64)
    for v, c in found:
        np.add.at(counts, np.searchsorted(classes, v), c)
    return classes, counts


def prepare_chunks(client, data, template, partial):
    """Futures of the Chunks of every block, computed on the workers."""
    from dask import delayed

    step = delayed(prepare, pure=False)
    sw = data.sample_weight
    chunks = [step(template, x, y, sw if sw is None or np.isscalar(sw) else sw[i],
                   data.dtype, data.n_features, partial)
              for i, (x, y) in enumerate(zip(data.X, data.y))]
    return client.compute(chunks)
