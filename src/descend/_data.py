"""The training and prediction data of the ``descend`` command, from a data
file: the target column, the feature columns and their names, matched at
prediction time to the columns a model was trained on.  The file formats
are read by ``_readers``; every problem raises its one-line ``DataError``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._readers import (MAX_INFERRED_CLASSES, DataError, Dataset, _check_values, _read_csv,
                       _read_npz, _read_parquet, _read_svmlight, check_readable,
                       detect_format)

def _resolve_column(spec, names, path):
    """Position of the column ``spec`` (a name, or an index; negative counts
    from the end) among the columns ``names``."""
    if spec in names:
        if names.count(spec) > 1:
            raise DataError(f"{path}: more than one column is named {spec!r}")
        return names.index(spec)
    if not _is_int(spec):
        shown = ", ".join(repr(name) for name in names[:12]) + (", ..." if len(names) > 12 else "")
        raise DataError(f"{path}: no column named {spec!r} (columns: {shown})")
    return _resolve_index(int(spec), len(names), path)


def _resolve_index(index, n, path):
    if not -n <= index < n:
        raise DataError(f"{path}: column index {index} is out of range for {n} columns "
                        f"(0..{n - 1}, or negative from the end)")
    return index % n


def _numeric_column(values, name, path):
    """A column as float64, or a DataError naming the first bad value."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        column = values.astype(np.float64)
    else:
        column = np.empty(len(values))
        for i, v in enumerate(values.tolist()):
            if v is None:
                column[i] = np.nan
                continue
            try:
                column[i] = float(v)
            except (TypeError, ValueError, OverflowError):
                raise DataError(
                    f"{path}: feature column {name!r} is not numeric (row {i + 1}: "
                    f"{v!r:.40}); encode it as numbers or drop it") from None
    missing = np.isnan(column)
    if missing.any():
        raise DataError(
            f"{path}: feature column {name!r} has {int(missing.sum())} missing value(s) "
            f"(first in row {int(np.argmax(missing)) + 1}); fill or drop them first")
    _check_values(column, path, f"feature column {name!r}")
    return column


def _target_column(values, name, path):
    """The target as an array: numbers as float64, anything else as objects;
    missing values are an error."""
    values = np.asarray(values)
    if values.dtype.kind in "biu":
        return values
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    else:
        values = values.astype(object)
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v))
                            for v in values.tolist()], dtype=bool)
    if missing.any():
        raise DataError(
            f"{path}: the target column {name!r} has {int(missing.sum())} missing "
            f"value(s) (first in row {int(np.argmax(missing)) + 1})")
    if values.dtype.kind == "f":
        _check_values(values, path, f"the target column {name!r}")
    return values


def _features(names, columns, path):
    if not names:
        raise DataError(f"{path}: no feature columns (the only column is the target)")
    if len(columns[0]) == 0:
        raise DataError(f"{path}: no data rows")
    return np.column_stack([_numeric_column(c, n, path) for n, c in zip(names, columns)])


def _as_2d(array, path, what="the array"):
    array = np.asarray(array)
    if array.ndim != 2:
        raise DataError(f"{path}: {what} must be 2-D; it has shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {what} must be numeric; its dtype is {array.dtype}")
    if array.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    X = np.ascontiguousarray(array, dtype=np.float64)
    _check_values(X, path, what, lambda k: k // X.shape[1] + 1)
    return X


class GeneratedNames(Sequence):
    """The names x0, x1, ... of ``p`` unnamed features, made when asked
    for (an svmlight file of a few bytes may have a million features)."""

    def __init__(self, p):
        self.p = int(p)

    def __len__(self):
        return self.p

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(self.p))]
        if not -self.p <= j < self.p:
            raise IndexError(j)
        return f"x{j % self.p}"

    def __eq__(self, other):
        return isinstance(other, Sequence) and len(other) == self.p and all(
            a == b for a, b in zip(self, other))

    def __repr__(self):
        return f"GeneratedNames({self.p})"


def _generated_names(p):
    return GeneratedNames(p)


# --------------------------------------------------------------------------
# the two entry points


def load_training_data(path, target=None, fmt=None, max_features=None):
    """Features and target of ``path`` for ``descend train``.

    ``target`` is a column name or index (negative from the end); the
    default is the last column. For an npz with arrays ``X`` and ``y`` and
    for svmlight files the target is given by the file itself.
    ``max_features`` replaces :func:`feature_limit` for svmlight files.
    """
    check_readable(path)
    fmt = detect_format(path, fmt)
    if fmt in ("csv", "parquet"):
        names, columns = _read_csv(path) if fmt == "csv" else _read_parquet(path)
        if not names:
            raise DataError(f"{path}: no columns")
        t = _resolve_column(-1 if target is None else target, names, path)
        feature_names = names[:t] + names[t + 1:]
        X = _features(feature_names, columns[:t] + columns[t + 1:], path)
        y = _target_column(columns[t], names[t], path)
        return Dataset(X=X, y=y, feature_names=feature_names, named=True, target=names[t],
                       target_index=t, n_columns=len(names), format=fmt, source=path)
    if fmt == "npz":
        arrays = _read_npz(path)
        if "X" in arrays:
            if target is not None:
                raise DataError(
                    f"{path}: --target picks a column of a single 2-D array; this file "
                    f"holds arrays 'X' and 'y' (the target is 'y')")
            if "y" not in arrays:
                raise DataError(f"{path}: has an array 'X' but no target array 'y'")
            X = _as_2d(arrays["X"], path, "array 'X'")
            y = np.asarray(arrays["y"])
            if y.ndim != 1 or len(y) != X.shape[0]:
                raise DataError(f"{path}: 'y' must be 1-D with one value per row of 'X' "
                                f"({X.shape[0]}); it has shape {y.shape}")
            names, named = _npz_names(arrays, X.shape[1], path)
            return Dataset(X=X, y=_target_column(y, "y", path), feature_names=names,
                           named=named, target="y", target_index=None,
                           n_columns=X.shape[1], format=fmt, source=path)
        data = _single_array(arrays, path)
        if data.shape[1] < 2:
            raise DataError(f"{path}: the array has {data.shape[1]} column; it needs "
                            f"features and a target column")
        spec = -1 if target is None else target
        if isinstance(spec, str) and not _is_int(spec):
            raise DataError(f"{path}: --target {spec!r}: the columns of an .npz array have "
                            f"no names; give a column index (0..{data.shape[1] - 1}, or "
                            f"negative from the end)")
        t = _resolve_index(int(spec), data.shape[1], path)
        y = _target_column(data[:, t], f"column {t}", path)
        X = np.ascontiguousarray(np.delete(data, t, axis=1))
        return Dataset(X=X, y=y, feature_names=_generated_names(X.shape[1]), named=False,
                       target=None, target_index=t, n_columns=data.shape[1],
                       format=fmt, source=path)
    # svmlight
    if target is not None:
        raise DataError(f"{path}: --target does not apply to svmlight/libsvm files (the "
                        f"label is the first field of each line)")
    X, y = _read_svmlight(path, max_features=max_features)
    _check_values(y, path, "the label")
    return Dataset(X=X, y=y, feature_names=_generated_names(X.shape[1]), named=False,
                   target=None, target_index=None, n_columns=X.shape[1],
                   format=fmt, source=path)


def load_prediction_data(path, feature_names, named, target=None, target_index=None,
                         n_columns=None, fmt=None):
    """The features of ``path`` for a model trained on ``feature_names``.

    Columns are matched by name when both the model's and the file's
    features are named (the target column and any other extra column are
    left out), else by position: a file with ``len(feature_names)`` columns
    is all features, one with ``n_columns`` columns has the target at
    ``target_index`` (dropped).
    """
    check_readable(path)
    fmt = detect_format(path, fmt)
    p = len(feature_names)
    notes = []
    if fmt in ("csv", "parquet"):
        names, columns = _read_csv(path) if fmt == "csv" else _read_parquet(path)
        position = {name: j for j, name in reversed(list(enumerate(names)))}
        if named and all(name in position for name in feature_names):
            trained = set(feature_names)
            extra = [n for n in names if n not in trained and n != target]
            if extra:
                notes.append(f"ignored column(s) the model was not trained on: "
                             f"{', '.join(repr(n) for n in extra[:10])}"
                             + (", ..." if len(extra) > 10 else ""))
            picked = [position[name] for name in feature_names]
        elif named and any(name in position for name in feature_names):
            missing = [n for n in feature_names if n not in position]
            raise DataError(
                f"{path}: missing feature column(s) the model was trained on: "
                f"{', '.join(repr(n) for n in missing[:10])}"
                + (", ..." if len(missing) > 10 else ""))
        else:
            picked = _positions(len(names), p, target_index, n_columns, path)
        X = _features([names[j] for j in picked], [columns[j] for j in picked], path)
        return Dataset(X=X, y=None, feature_names=feature_names, named=named,
                       format=fmt, source=path, notes=notes)
    if fmt == "npz":
        arrays = _read_npz(path)
        if "X" in arrays:
            X = _as_2d(arrays["X"], path, "array 'X'")
            if X.shape[1] != p:
                raise DataError(f"{path}: 'X' has {X.shape[1]} columns; the model was "
                                f"trained on {p} features")
        else:
            data = _single_array(arrays, path)
            picked = _positions(data.shape[1], p, target_index, n_columns, path)
            X = np.ascontiguousarray(data[:, picked])
        return Dataset(X=X, y=None, feature_names=feature_names, named=named,
                       format=fmt, source=path)
    X, _ = _read_svmlight(path, n_features=p)
    return Dataset(X=X, y=None, feature_names=feature_names, named=named,
                   format=fmt, source=path)


def _positions(n_cols, p, target_index, n_columns, path):
    """Column positions of the features in a file matched by position."""
    if n_cols == p:
        return list(range(p))
    if target_index is not None and n_cols == n_columns:
        return [j for j in range(n_cols) if j != target_index]
    expected = f"{p}" + (f" (or {n_columns} with the target column {target_index})"
                         if target_index is not None and n_columns != p else "")
    raise DataError(f"{path}: has {n_cols} columns; the model expects {expected}")


def _single_array(arrays, path):
    if len(arrays) != 1:
        found = ", ".join(repr(k) for k in arrays) or "nothing"
        raise DataError(f"{path}: expected arrays 'X' and 'y', or a single 2-D array; "
                        f"found {found}")
    return _as_2d(next(iter(arrays.values())), path)


def _npz_names(arrays, p, path):
    if "feature_names" not in arrays:
        return _generated_names(p), False
    names = [str(n) for n in np.asarray(arrays["feature_names"]).ravel().tolist()]
    if len(names) != p:
        raise DataError(f"{path}: 'feature_names' has {len(names)} entries for {p} features")
    return names, True


def _is_int(text):
    try:
        int(text)
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------
# the target


def describe_target(y):
    """("classification" or "regression", reason) inferred from a target."""
    y = np.asarray(y)
    if y.dtype.kind in "OUSb":
        return "classification", "its values are not numbers"
    if y.dtype.kind in "iu":
        k = len(np.unique(y))
        if k <= MAX_INFERRED_CLASSES:
            return "classification", f"{k} distinct integer values"
        return "regression", f"{k} distinct integer values"
    if np.all(y == np.round(y)):
        k = len(np.unique(y))
        if k <= MAX_INFERRED_CLASSES:
            return "classification", f"{k} distinct integer values"
        return "regression", f"{k} distinct integer values"
    return "regression", "real values"


def class_labels(y):
    """Class labels: integer-valued floats become integers (so that the
    classes print as 0, 1 rather than 0.0, 1.0)."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and np.all(y == np.round(y)) and np.all(np.abs(y) < 2**53):
        return y.astype(np.int64)
    if y.dtype.kind == "O":
        return y.astype(str)
    return y
