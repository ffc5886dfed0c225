"""Reading data files for the ``descend`` command: the formats (the
columns, targets and feature names they hold are ``_data.py``'s).

Formats, chosen from the file name (``.gz``/``.bz2``/``.xz`` compression
suffixes are looked through) or given explicitly:

``csv``       comma-separated text with a header row (``.tsv``: tab-separated);
              read with pandas when it is installed, else with
              ``numpy.genfromtxt``.
``parquet``   needs pyarrow.
``npz``       NumPy archive: arrays ``X`` and ``y`` (optionally
              ``feature_names``), or a single 2-D array whose target column
              is chosen by index (a ``.npy`` file is read the same way).
              Read without pickle, sizes checked before any allocation
              (``_npyzip``).
``svmlight``  svmlight / libsvm text (``label index:value ...``), read with
              ``sklearn.datasets.load_svmlight_file`` as a SciPy CSR matrix.

Every problem with a file (missing, unreadable, malformed, a non-numeric
feature, a missing or infinite value, an unknown column) raises
:class:`DataError`, a ``ValueError`` whose message is one line naming the
file and what is wrong. Memory stays in proportion to the file: a
compressed file may expand to at most ``_npyzip.expansion_limit`` of its
size, an array's header must match the bytes stored, and an svmlight file
may not imply more features than :func:`feature_limit` allows.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from ._npyzip import (MAX_EXPANSION, MIN_EXPANDED, ZIP_ERRORS, check_expansion,
                      expansion_limit, read_member, read_npy)

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
#: svmlight files: at least this many features are always allowed ...
MIN_FEATURE_LIMIT = 2**20
#: ... and up to this many per value the file stores (see feature_limit).
FEATURES_PER_VALUE = 8
#: Larger magnitudes overflow float64 once squared and summed (variances,
#: step sizes, squared losses): the readers refuse them.
MAX_MAGNITUDE = 1e150
#: The largest feature index of an svmlight file (int32 indices).
MAX_SVMLIGHT_INDEX = 2**31 - 1
#: What a damaged compressed stream can raise while it is read.
_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


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
# opening: compressed files are decompressed through a stream that stops at
# expansion_limit (a gzip bomb is a DataError, not a full memory)


class _Limited(io.RawIOBase):
    """A binary stream that raises DataError once more than ``limit`` bytes
    have been read from ``raw``."""

    def __init__(self, raw, limit, path):
        self._raw, self._limit, self._path, self._count = raw, limit, path, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        try:
            n = self._raw.readinto(buffer)
        except _STREAM_ERRORS as exc:
            raise DataError(f"{self._path}: damaged compressed file: {_one_line(exc)}") from None
        self._count += n
        if self._count > self._limit:
            raise DataError(
                f"{self._path}: expands to more than {self._limit:,} bytes, the most a "
                f"compressed file may ({MAX_EXPANSION}x its size, or "
                f"{MIN_EXPANDED // 2**20} MiB); a compression bomb, or decompress it first")
        return n


class _Opened:
    """``with _Opened(path) as stream``: the file's bytes, decompressed by
    its suffix (.gz, .bz2, .xz, .zip with one member, .zst)."""

    def __init__(self, path):
        self.path = path
        self.closers = []

    def __enter__(self):
        path = self.path
        suffix = os.path.splitext(path)[1].lower()
        try:
            if suffix not in _COMPRESSION:
                return self._keep(open(path, "rb"))
            limit = expansion_limit(os.path.getsize(path))
            if suffix == ".zip":
                raw = self._zip_member(path)
            elif suffix == ".zst":
                try:
                    import zstandard
                except ImportError:
                    raise DataError(f"{path}: reading .zst files needs the zstandard "
                                    f"package (pip install zstandard)") from None
                raw = self._keep(zstandard.open(path, "rb"))
            else:
                opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
                raw = self._keep(opener(path, "rb"))
            return io.BufferedReader(_Limited(raw, limit, path))
        except BaseException:
            self.__exit__()
            raise

    def _keep(self, handle):
        self.closers.append(handle)
        return handle

    def _zip_member(self, path):
        try:
            archive = self._keep(zipfile.ZipFile(path))
            infos = [i for i in archive.infolist() if not i.is_dir()]
        except ZIP_ERRORS as exc:
            raise DataError(f"{path}: not a readable .zip file: {_one_line(exc)}") from None
        if len(infos) != 1:
            raise DataError(f"{path}: a zipped data file must hold exactly one file; it "
                            f"holds {len(infos)}")
        try:
            check_expansion(infos, os.path.getsize(path), path)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        return self._keep(archive.open(infos[0]))

    def __exit__(self, *exc):
        for handle in reversed(self.closers):
            try:
                handle.close()
            except _STREAM_ERRORS + (zipfile.BadZipFile,):
                pass


# --------------------------------------------------------------------------
# readers: each returns (names, columns) for tables, or arrays


def _import_pandas():
    """pandas, or None when it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


_CSV_ERRORS = (csv.Error, ValueError, OverflowError, MemoryError) + _STREAM_ERRORS


def _malformed(path, exc):
    """The DataError for an exception raised while parsing a CSV file."""
    if isinstance(exc, DataError):
        return exc
    if isinstance(exc, MemoryError):
        return DataError(f"{path}: ran out of memory parsing it (rows of millions of fields?)")
    return DataError(f"{path}: malformed CSV: {_one_line(exc)}")


def _csv_header(path, sep):
    """The header row's names, read with the csv module and checked before
    pandas sees the file: distinct names (pandas renames duplicates, in time
    quadratic in their number), and a first data row no longer than the
    header (pandas would take its extra fields for an index, in time
    quadratic in their number)."""
    try:
        with _Opened(path) as stream:
            rows = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""),
                              delimiter=sep)
            header = next(rows, None)
            first = next((row for row in rows if row), None)
    except _CSV_ERRORS as exc:
        raise _malformed(path, exc) from None
    if not header:
        raise DataError(f"{path}: empty file (a CSV file needs a header row and data rows)")
    seen = set()
    for name in header:
        if name.strip() in seen:
            raise DataError(f"{path}: the header names the column {name.strip()!r:.60} "
                            f"twice; give every column a distinct name")
        seen.add(name.strip())
    if first is not None and len(first) > len(header):
        raise DataError(f"{path}: malformed CSV: the first data row has {len(first):,} "
                        f"fields, the header {len(header):,}")
    return header


def _read_csv(path):
    """(column names, list of 1-D arrays) of a CSV file with a header row."""
    sep = _delimiter(path)
    header = _csv_header(path, sep)
    pd = _import_pandas()
    if pd is None:
        return _read_csv_numpy(path, sep, header)
    try:
        with _Opened(path) as stream, warnings.catch_warnings():
            # (the header's width was checked, so this would be a parser disagreement)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(stream, sep=sep, header=0, names=header, index_col=False,
                                compression=None, encoding="utf-8")
    except pd.errors.ParserWarning as exc:
        raise DataError(f"{path}: malformed CSV: {_one_line(exc)}") from None
    except (pd.errors.ParserError,) + _CSV_ERRORS as exc:
        raise _malformed(path, exc) from None
    columns = [frame.iloc[:, j].to_numpy() for j in range(frame.shape[1])]
    return list(header), columns


def _read_csv_numpy(path, sep, header):
    """The same as _read_csv with NumPy only: the values by
    ``numpy.genfromtxt`` as text, converted column by column."""
    try:
        with _Opened(path) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            next(csv.reader(text, delimiter=sep))  # the header, read by _csv_header
            with warnings.catch_warnings():  # a header without rows: 'no data rows' below
                warnings.filterwarnings("ignore", "genfromtxt: Empty input file")
                table = np.genfromtxt(text, delimiter=sep, dtype=str, ndmin=2,
                                      autostrip=True, comments=None, invalid_raise=True)
    except _CSV_ERRORS as exc:
        raise _malformed(path, exc) from None
    names = [name.strip() for name in header]
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
        except (ValueError, OverflowError):
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
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
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
    """dict of the arrays in an .npz (or {'': array} for a .npy), read by
    ``_npyzip``: no pickle, each array's size checked before it is read."""
    with open(path, "rb") as f:
        magic = f.read(6)
    size = os.path.getsize(path)
    try:
        if magic == b"\x93NUMPY":
            with open(path, "rb") as f:
                return {"": read_npy(f, size, path)}
        if not magic.startswith(b"PK"):
            raise DataError(f"{path}: not a NumPy .npz or .npy file")
        try:
            archive = zipfile.ZipFile(path)
        except ZIP_ERRORS as exc:
            raise DataError(f"{path}: not a readable .npz file: {_one_line(exc)}") from None
        with archive:
            infos = archive.infolist()
            check_expansion(infos, size, path)
            arrays = {}
            for info in infos:
                key = info.filename[:-len(".npy")]
                if not info.filename.endswith(".npy") or key in arrays:
                    raise DataError(f"{path}: member {info.filename!r:.80} is not one array "
                                    f"of an .npz file (np.savez writes NAME.npy members)")
                arrays[key] = read_member(archive, info, f"{path}: array {key!r:.80}")
            return arrays
    except DataError:
        raise
    except ValueError as exc:
        raise DataError(str(exc)) from None


def feature_limit(nnz):
    """The most features an svmlight file storing ``nnz`` values may imply:
    2^20, or 8 per stored value when that is more. Memory and time of a fit
    grow with the number of features, and a feature that no row holds is
    never learnt, so a file whose indices reach far beyond its values (one
    line ``1 2000000000:1``) is refused rather than allocated."""
    return max(MIN_FEATURE_LIMIT, FEATURES_PER_VALUE * int(nnz))


def _read_svmlight(path, n_features=None, max_features=None):
    from sklearn.datasets import load_svmlight_file

    try:
        with _Opened(path) as stream:
            X, y = load_svmlight_file(stream, n_features=n_features, dtype=np.float64)
    except OverflowError:
        raise DataError(f"{path}: a feature index is larger than {MAX_SVMLIGHT_INDEX:,} "
                        f"(2^31 - 1), the largest an svmlight file may use") from None
    except (ValueError, UnicodeDecodeError, TypeError) + _STREAM_ERRORS as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: malformed svmlight/libsvm file: {_one_line(exc)}") from None
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    _check_values(X.data, path, "a feature value", lambda k: _row_of(X.indptr, k))
    limit = feature_limit(X.nnz) if max_features is None else max_features
    if n_features is None and X.shape[1] > limit:
        row = _row_of(X.indptr, int(np.argmax(X.indices)))
        how = ("--max-features" if max_features is not None else
               f"max(2^20, {FEATURES_PER_VALUE} x its {X.nnz:,} stored values); a fit's "
               f"memory and time grow with the features, and features no row holds are "
               f"never learnt. If the indices are right, raise the limit with "
               f"--max-features")
        raise DataError(f"{path}: row {row}'s feature index implies {X.shape[1]:,} "
                        f"features, more than the {limit:,} allowed by {how}")
    return X, y


def _check_values(values, path, what, row_of=lambda k: k + 1):
    """DataError naming the first row (``row_of`` a flat index) whose
    ``values`` are NaN, infinite or beyond MAX_MAGNITUDE."""
    # (a float64 bound: a Python float would be cast to float32 values' type)
    bad = ~(np.abs(values) <= np.float64(MAX_MAGNITUDE))
    if not bad.any():
        return
    k = int(np.argmax(bad))
    value = float(values.flat[k])
    if np.isnan(value):
        problem, fix = "is missing (NaN)", "fill or drop it"
    elif np.isinf(value):
        problem, fix = "is infinite", "fix or drop it"
    else:
        problem = f"is {value:.3g}, beyond the {MAX_MAGNITUDE:.0e} descend reads"
        fix = "rescale it (larger values overflow once squared and summed)"
    raise DataError(f"{path}: {what} in row {row_of(k)} {problem}; {fix}")


def _row_of(indptr, k):
    """The row (from 1) of a CSR matrix's k-th stored value."""
    return int(np.searchsorted(indptr, k, side="right"))
