"""Reading data files for the ``descend`` command.

Formats, chosen from the file name (``.gz``/``.bz2``/``.xz`` compression
suffixes are looked through) or given explicitly:

``csv``       comma-separated text with a header row (``.tsv``: tab-separated);
              read with pandas when it is installed, else with
              ``numpy.genfromtxt``.
``parquet``   needs pyarrow.
``npz``       NumPy archive: arrays ``X`` and ``y`` (optionally
              ``feature_names``), or a single 2-D array whose target column
              is chosen by index (a ``.npy`` file is read the same way).
``svmlight``  svmlight / libsvm text (``label index:value ...``), read with
              ``sklearn.datasets.load_svmlight_file`` as a SciPy CSR matrix.

Every problem with a file (missing, unreadable, malformed, a non-numeric
feature, a missing value, an unknown column) raises :class:`DataError`, a
``ValueError`` whose message is one line naming the file and what is wrong.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

import numpy as np

FORMATS = ("csv", "parquet", "npz", "svmlight")

_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".npz": "npz", ".npy": "npz",
    ".svm": "svmlight", ".svmlight": "svmlight", ".libsvm": "svmlight",
}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")

#: An integer-valued target with at most this many distinct values is taken
#: for class labels when the model is not given.
MAX_INFERRED_CLASSES = 20


class DataError(ValueError):
    """A data file cannot be used; the message is one line."""


@dataclass
class Dataset:
    """Features (and target) read from one file.

    ``X`` is a 2-D float64 array, or a SciPy CSR matrix for svmlight files;
    ``y`` is None when the file has no target (prediction data).
    ``named`` says whether the feature names came from the file (CSV and
    Parquet headers, an npz ``feature_names`` array) rather than being
    generated (``x0``, ``x1``, ...). ``target`` is the target column's name
    (or ``None``); ``target_index`` its position among the file's columns
    and ``n_columns`` their number (features + target), for files whose
    columns are matched by position.
    """

    X: object
    y: object
    feature_names: list
    named: bool
    target: object = None
    target_index: object = None
    n_columns: int = 0
    format: str = "csv"
    source: str = ""
    notes: list = field(default_factory=list)


# --------------------------------------------------------------------------
# format and file checks


def detect_format(path, fmt=None):
    """The format of ``path``: ``fmt`` when given, else from the suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise DataError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    name = os.path.basename(path).lower()
    for suffix in _COMPRESSION:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    _, ext = os.path.splitext(name)
    if ext in _SUFFIXES:
        return _SUFFIXES[ext]
    raise DataError(
        f"{path}: cannot tell the format from the file name (known endings: "
        f"{', '.join(sorted(_SUFFIXES))}); give it with --format")


def check_readable(path):
    """A clear error for a missing path, a directory or an unreadable file."""
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: permission denied")


def _one_line(exc):
    """An exception's message squeezed onto one line."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _delimiter(path):
    name = os.path.basename(path).lower()
    for suffix in _COMPRESSION:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    return "\t" if name.endswith((".tsv", ".tab")) else ","


# --------------------------------------------------------------------------
# readers: each returns (names, columns) for tables, or arrays


def _import_pandas():
    """pandas, or None when it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _read_csv(path):
    """(column names, list of 1-D arrays) of a CSV file with a header row."""
    sep = _delimiter(path)
    pd = _import_pandas()
    if pd is None:
        return _read_csv_numpy(path, sep)
    try:
        frame = pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: empty file (a CSV file needs a header row and data rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: malformed CSV: {_one_line(exc)}") from None
    names = [str(name) for name in frame.columns]
    columns = [frame.iloc[:, j].to_numpy() for j in range(frame.shape[1])]
    return names, columns


def _read_csv_numpy(path, sep):
    """The same as _read_csv with NumPy only: the header by the csv module,
    the values by ``numpy.genfromtxt`` as text, converted column by column."""
    import gzip
    import bz2
    import lzma

    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    opener = openers.get(os.path.splitext(path)[1].lower(), open)
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as f:
            header = next(csv.reader(f, delimiter=sep), None)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{path}: malformed CSV: {_one_line(exc)}") from None
    if not header:
        raise DataError(f"{path}: empty file (a CSV file needs a header row and data rows)")
    names = [name.strip() for name in header]
    try:
        table = np.genfromtxt(path, delimiter=sep, skip_header=1, dtype=str,
                              encoding="utf-8", ndmin=2, autostrip=True,
                              comments=None, invalid_raise=True)
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: malformed CSV: {_one_line(exc)}") from None
    if table.size == 0:
        return names, [np.empty(0, dtype=object) for _ in names]
    if table.shape[1] != len(names):
        raise DataError(f"{path}: malformed CSV: the header has {len(names)} columns, "
                        f"the rows {table.shape[1]}")
    columns = []
    for j in range(table.shape[1]):
        text = np.char.strip(table[:, j], '"')
        try:
            values = np.where(text == "", "nan", text).astype(np.float64)
        except ValueError:
            values = np.array([None if v == "" else v for v in text.tolist()], dtype=object)
        columns.append(values)
    return names, columns


def _read_parquet(path):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow, which is not installed "
            f"(pip install pyarrow)") from None
    import pyarrow as pa

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {_one_line(exc)}") from None
    names = [str(name) for name in table.column_names]
    columns = []
    for name in table.column_names:
        column = table.column(name)
        try:
            values = column.to_numpy()
        except (pa.ArrowException, TypeError, ValueError):
            values = np.array(column.to_pylist(), dtype=object)
        columns.append(values)
    return names, columns


def _read_npz(path):
    """dict of the arrays in an .npz (or {'': array} for a .npy)."""
    import pickle
    import zipfile

    with open(path, "rb") as f:
        magic = f.read(6)
    if not (magic.startswith(b"PK") or magic == b"\x93NUMPY"):
        raise DataError(f"{path}: not a NumPy .npz or .npy file")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise DataError(f"{path}: not a readable .npz file: {_one_line(exc)}") from None
    if isinstance(loaded, np.ndarray):
        return {"": loaded}
    try:
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file: {_one_line(exc)}") from None


def _read_svmlight(path, n_features=None):
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(path, n_features=n_features, dtype=np.float64)
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: malformed svmlight/libsvm file: {_one_line(exc)}") from None
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    return X, y


# --------------------------------------------------------------------------
# columns


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
            except (TypeError, ValueError):
                raise DataError(
                    f"{path}: feature column {name!r} is not numeric (row {i + 1}: "
                    f"{v!r:.40}); encode it as numbers or drop it") from None
    missing = np.isnan(column)
    if missing.any():
        raise DataError(
            f"{path}: feature column {name!r} has {int(missing.sum())} missing value(s) "
            f"(first in row {int(np.argmax(missing)) + 1}); fill or drop them first")
    if not np.isfinite(column).all():
        raise DataError(f"{path}: feature column {name!r} contains infinity")
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
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise DataError(f"{path}: the target column {name!r} contains infinity")
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
    if not np.isfinite(X).all():
        raise DataError(f"{path}: {what} contains NaN or infinity")
    return X


def _generated_names(p):
    return [f"x{j}" for j in range(p)]


# --------------------------------------------------------------------------
# the two entry points


def load_training_data(path, target=None, fmt=None):
    """Features and target of ``path`` for ``descend train``.

    ``target`` is a column name or index (negative from the end); the
    default is the last column. For an npz with arrays ``X`` and ``y`` and
    for svmlight files the target is given by the file itself.
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
    X, y = _read_svmlight(path)
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
        if named and all(name in names for name in feature_names):
            extra = [n for n in names if n not in feature_names and n != target]
            if extra:
                notes.append(f"ignored column(s) the model was not trained on: "
                             f"{', '.join(repr(n) for n in extra[:10])}"
                             + (", ..." if len(extra) > 10 else ""))
            picked = [names.index(name) for name in feature_names]
        elif named and any(name in names for name in feature_names):
            missing = [n for n in feature_names if n not in names]
            raise DataError(
                f"{path}: missing feature column(s) the model was trained on: "
                f"{', '.join(repr(n) for n in missing[:10])}"
                + (", ..." if len(missing) > 10 else ""))
        else:
            picked = _positions(len(names), p, target_index, n_columns, path)
        X = _features([names[j] for j in picked], [columns[j] for j in picked], path)
        return Dataset(X=X, y=None, feature_names=list(feature_names), named=named,
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
        return Dataset(X=X, y=None, feature_names=list(feature_names), named=named,
                       format=fmt, source=path)
    X, _ = _read_svmlight(path, n_features=p)
    return Dataset(X=X, y=None, feature_names=list(feature_names), named=named,
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
