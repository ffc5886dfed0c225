"""Model files: a fitted descend estimator saved as data, loaded without
running code.

A model file is a zip archive (members stored, not compressed) holding
``metadata.json`` and ``.npy`` arrays. The JSON document names the format
and its version, the descend version, the estimator class, its
``get_params()``, its fitted attributes and the caller's ``extra``; values
JSON cannot hold exactly are tagged objects (``{"$array": member}``, ...).
Loading parses that JSON, reads each array with :mod:`._npyzip` (no pickle,
sizes checked before any allocation) and builds one of the four estimator
classes from a fixed table: nothing named in a file is ever imported or
called. The layout, the tags and the reasons are in docs/model-format.md.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import warnings
import zipfile
from typing import Any

import numpy as np

from ._npyzip import KINDS, ZIP_ERRORS, read_member

FORMAT = "descend-model"
#: Version 1 was the joblib (pickle) bundle of ``descend train --out``;
#: version 2 is the first that loading cannot make run code.
FORMAT_VERSION = 2
METADATA = "metadata.json"
MAX_METADATA_BYTES = 16 * 2**20
#: Deepest nesting of lists and dicts a value may have.
MAX_DEPTH = 32

#: The fitted attributes a model file holds (those the estimator has).
FITTED = ("coef_", "intercept_", "classes_", "n_features_in_", "feature_names_in_",
          "n_iter_", "t_", "converged_", "eta0_", "history_")
#: Python element types of the object arrays that can be stored, with the
#: dtype they are stored as.
_OBJECT_TYPES = {"str": str, "bool": bool, "int": np.int64, "float": np.float64}
#: The keys a dict may have besides text (tuples of these too).
_KEY_TYPES = (str, numbers.Number, type(None), tuple)
_FLOAT_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so that a model always gives the same bytes


def _estimator_classes():
    """The estimators a model file may name (a fixed table: a name read
    from a file is looked up here and nowhere else)."""
    from ._linear import LinearRegression
    from ._logistic import LogisticRegression
    from ._sgd import SGDClassifier, SGDRegressor

    return {cls.__name__: cls for cls in
            (LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor)}


# --------------------------------------------------------------------------
# saving


def save_model(estimator: Any, path: str | os.PathLike, *, extra: Any = None) -> None:
    """Save a fitted descend estimator to ``path`` as a model file.

    The file holds data only (a zip of ``metadata.json`` and ``.npy``
    arrays, see docs/model-format.md): :func:`load_model` rebuilds the
    estimator without unpickling or importing anything named in it.
    Optimizer state (momentum, Adam moments, averages) is not saved: a
    loaded model continues training (``partial_fit``, ``warm_start``) from
    its coefficients with fresh optimizer state.

    Parameters
    ----------
    estimator : LinearRegression, LogisticRegression, SGDClassifier or SGDRegressor
        A fitted descend estimator (not a subclass, not a Pipeline).
    path : str or os.PathLike
        File to write; it is replaced atomically (written beside it, then
        renamed).
    extra : object, default=None
        Anything else to keep with the model, made of None, bool, int,
        float, str, lists, tuples, dicts, NumPy arrays and scalars (number
        or text dtypes); ``load_model(path, return_extra=True)`` returns it.

    Raises
    ------
    TypeError
        When the estimator is not one of descend's four, or a parameter or
        ``extra`` holds something a model file cannot store (a function, a
        ``RandomState``, an object array of mixed types, ...); the message
        names it.
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.
    """
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    name = type(estimator).__name__
    if _estimator_classes().get(name) is not type(estimator):
        raise TypeError(f"save_model saves descend's LinearRegression, LogisticRegression, "
                        f"SGDClassifier and SGDRegressor; got {type(estimator).__qualname__}")
    check_is_fitted(estimator)
    writer = _Writer(name)
    document = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "descend_version": __version__,
        "estimator": name,
        "params": {key: writer.encode(value, f"parameter {key!r}")
                   for key, value in estimator.get_params(deep=False).items()},
        "fitted": {key: writer.encode(getattr(estimator, key), f"attribute {key}")
                   for key in FITTED if hasattr(estimator, key)},
        "extra": writer.encode(extra, "extra"),
    }
    text = json.dumps(document, indent=1, allow_nan=False, ensure_ascii=False)
    _write_zip(os.fspath(path), text.encode("utf-8"), writer.arrays)


class _Writer:
    """Turns values into JSON, collecting the arrays as .npy members."""

    def __init__(self, estimator_name):
        self.estimator_name = estimator_name
        self.arrays = {}

    def _refuse(self, where, what, fix="store it in another file"):
        return TypeError(f"save_model: {where} of {self.estimator_name} is {what}, which "
                         f"a model file cannot hold (it stores data, never code); {fix}")

    def _member(self, array, where):
        where = where.removeprefix("attribute ").removeprefix("parameter ")
        hint = "".join(c if c.isalnum() or c in "_-" else "_" for c in where)[:60]
        name = f"arrays/{len(self.arrays)}-{hint}.npy"
        self.arrays[name] = array
        return name

    def encode(self, value, where, depth=0):
        if depth > MAX_DEPTH:
            raise self._refuse(where, f"nested more than {MAX_DEPTH} deep")
        if isinstance(value, np.generic):  # before str and float: np.str_, np.float64
            return {"$scalar": self._member(self._plain(np.asarray(value), where), where)}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return {"$object_array": self._member(self._objects(value, where), where)}
            return {"$array": self._member(self._plain(value, where), where)}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
            return items if isinstance(value, list) else {"$tuple": items}
        if isinstance(value, dict):
            return self._dict(value, where, depth)
        from scipy import sparse

        from ._history import History

        if isinstance(value, History):
            columns = {key: self.encode(column, f"{where} {key}")
                       for key, column in value.to_dict().items()}
            return {"$history": {"columns": columns, "stop_reason": value.stop_reason}}
        if sparse.issparse(value) and value.format == "csr":
            return {"$csr": {
                "type": "csr_array" if isinstance(value, sparse.sparray) else "csr_matrix",
                "shape": [int(n) for n in value.shape],
                **{part: self.encode(getattr(value, part), f"{where} {part}")
                   for part in ("data", "indices", "indptr")}}}
        fix = {"parameter 'callback'": "set_params(callback=None) before saving",
               "parameter 'random_state'": "set_params(random_state=<an int or None>) "
                                           "before saving"}.get(where, "leave it out")
        raise self._refuse(where, f"a {type(value).__qualname__}", fix)

    def _dict(self, value, where, depth):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: self.encode(v, f"{where}[{k!r}]", depth + 1) for k, v in value.items()}
        pairs = []
        for k, v in value.items():
            if not isinstance(k, _KEY_TYPES):
                raise self._refuse(where, f"a dict with a {type(k).__name__} key")
            pairs.append([self.encode(k, f"{where} key", depth + 1),
                          self.encode(v, f"{where}[{k!r}]", depth + 1)])
        return {"$dict": pairs}

    def _plain(self, array, where):
        if array.dtype.kind not in KINDS or array.dtype.fields is not None:
            raise self._refuse(where, f"an array of dtype {array.dtype}",
                               "use a number or text dtype")
        return array

    def _objects(self, array, where):
        """An object array as an array of the one type its elements have."""
        elements = array.ravel(order="K").tolist()
        for name, kind in _OBJECT_TYPES.items():
            python = {"str": str, "bool": (bool, np.bool_),
                      "int": numbers.Integral, "float": float}[name]
            if all(isinstance(v, python) and (name != "int" or not isinstance(v, bool))
                   for v in elements):
                break
        else:
            found = sorted({type(v).__name__ for v in elements})
            raise self._refuse(where, f"an object array of mixed types ({', '.join(found)})",
                               "use values of one type (all str, all int, ...)")
        try:
            typed = np.array(array.tolist(), dtype=kind)
        except OverflowError:
            raise self._refuse(where, "an object array of integers beyond int64") from None
        # NumPy's text dtype drops trailing NUL characters: keep only exact copies
        if typed.shape != array.shape or not np.array_equal(typed.astype(object), array):
            raise self._refuse(where, "an object array that does not convert exactly "
                                      "(e.g. text ending in NUL characters)")
        return typed


def _write_zip(path, metadata, arrays):
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".descend-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as f, zipfile.ZipFile(f, "w") as archive:
            archive.writestr(zipfile.ZipInfo(METADATA, _ZIP_DATE), metadata)
            for name, array in arrays.items():
                info = zipfile.ZipInfo(name, _ZIP_DATE)
                with archive.open(info, "w", force_zip64=array.nbytes > 2**30) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# --------------------------------------------------------------------------
# loading


def load_model(path: str | os.PathLike, *, return_extra: bool = False) -> Any:
    """Load an estimator saved by :func:`save_model` (or ``descend train --out``).

    Nothing in the file is unpickled, imported or called: the JSON metadata
    is parsed, the arrays are read as numbers or text with their sizes
    checked before any memory is allocated, and the estimator class comes
    from a fixed table of descend's four. The loaded estimator predicts
    exactly as the saved one did.

    Parameters
    ----------
    path : str or os.PathLike
        A model file.
    return_extra : bool, default=False
        Also return the ``extra`` given to :func:`save_model`.

    Returns
    -------
    estimator : LinearRegression, LogisticRegression, SGDClassifier or SGDRegressor
        The fitted estimator.
    extra : object
        Only with ``return_extra=True``.

    Raises
    ------
    ValueError
        When the file is missing, damaged, truncated, not a model file (a
        pickle included: descend never unpickles), crafted, or written in a
        newer format version; the message names the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such model file")
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:  # permission denied, a directory, ...
        raise ValueError(f"{path}: cannot read the model file: {exc.strerror or exc}") from None
    except ZIP_ERRORS as exc:
        raise ValueError(_not_a_model(path, exc)) from None
    with archive:
        reader = _Reader(archive, path)
        document = reader.metadata()
        cls = _check_header(document, path)
        estimator, extra = reader.build(cls, document)
    return (estimator, extra) if return_extra else estimator


def looks_like_pickle(path):
    """Whether ``path`` starts like a pickle or a joblib file (the format of
    descend's version-1 model files)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    pickled = len(head) >= 2 and head[0] == 0x80 and head[1] <= 5  # protocol 2..5
    # joblib's compressed files: zlib, gzip, bz2, xz, lzma
    compressed = head[:2] in (b"x\x01", b"x^", b"x\x9c", b"x\xda") \
        or head[:2] == b"\x1f\x8b" or head[:3] in (b"BZh", b"\x5d\x00\x00") \
        or head[:4] == b"\xfd7zX"
    return pickled or compressed


def _not_a_model(path, exc):
    if looks_like_pickle(path):
        return (f"{path}: is a pickle (joblib) file, not a descend model file; descend "
                f"never unpickles, since a pickle can run any code when loaded. If you "
                f"trust the file, load it yourself (joblib.load) and save_model it again")
    with open(path, "rb") as f:
        zipped = f.read(4) == b"PK\x03\x04"
    if zipped:
        return (f"{path}: damaged or truncated model file (a zip archive that cannot be "
                f"read: {' '.join(str(exc).split())[:120]})")
    return f"{path}: not a descend model file (not a zip archive)"


class _Reader:
    """Decodes the JSON of a model file, reading each array member once."""

    def __init__(self, archive, path):
        self.path = path
        self.read = set()
        infos = archive.infolist()
        self.members = {info.filename: info for info in infos}
        if len(self.members) != len(infos):
            raise ValueError(f"{path}: damaged model file: duplicate member names")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: member {info.filename!r} is compressed; descend "
                                 f"model files store their members uncompressed")
            if info.compress_size != info.file_size:
                raise ValueError(f"{path}: damaged model file: member {info.filename!r} "
                                 f"has two sizes")
        size = os.path.getsize(path)
        if sum(i.file_size for i in infos) > size:
            raise ValueError(f"{path}: damaged model file: its members claim more bytes "
                             f"than the file has ({size:,})")
        self.archive = archive

    def error(self, what):
        return ValueError(f"{self.path}: damaged or crafted model file: {what}")

    def metadata(self):
        info = self.members.get(METADATA)
        if info is None:
            raise ValueError(f"{self.path}: not a descend model file (no {METADATA})")
        if info.file_size > MAX_METADATA_BYTES:
            raise self.error(f"{METADATA} is {info.file_size:,} bytes (at most "
                             f"{MAX_METADATA_BYTES:,})")
        try:
            text = self.archive.read(info).decode("utf-8")
            document = json.loads(text, parse_constant=_no_constant)
        except ZIP_ERRORS + (RecursionError,) as exc:
            raise self.error(f"{METADATA}: {' '.join(str(exc).split())[:160]}") from None
        if not isinstance(document, dict):
            raise self.error(f"{METADATA} is not a JSON object")
        return document

    def build(self, cls, document):
        params = self._field(document, "params", dict)
        fitted = self._field(document, "fitted", dict)
        estimator = cls()
        known = estimator.get_params(deep=False)
        unknown = [key for key in params if key not in known]
        if unknown:
            raise ValueError(
                f"{self.path}: {cls.__name__} has no parameter {unknown[0]!r} in this "
                f"descend; the file was written by descend {document.get('descend_version')}"
                f" (upgrade descend to load it)")
        estimator.set_params(**{key: self.decode(value, f"parameter {key!r}")
                                for key, value in params.items()})
        for key, value in fitted.items():
            if key not in FITTED:
                raise self.error(f"unknown fitted attribute {key!r}")
            setattr(estimator, key, self.decode(value, f"attribute {key}"))
        _check_fitted(estimator, self.error)
        return estimator, self.decode(document.get("extra"), "extra")

    def _field(self, document, key, kind):
        value = document.get(key)
        if not isinstance(value, kind):
            raise self.error(f"{key!r} is missing or not a {kind.__name__}")
        return value

    def decode(self, node, where, depth=0):
        if depth > MAX_DEPTH:
            raise self.error(f"{where} is nested more than {MAX_DEPTH} deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, where, depth + 1) for v in node]
        if not isinstance(node, dict):  # pragma: no cover - json gives no other types
            raise self.error(f"{where}: unexpected {type(node).__name__}")
        tags = [key for key in node if key.startswith("$")]
        if not tags:
            return {k: self.decode(v, where, depth + 1) for k, v in node.items()}
        if len(node) != 1 or tags[0] not in _DECODERS:
            raise self.error(f"{where}: unknown tag {tags[0]!r}")
        return _DECODERS[tags[0]](self, node[tags[0]], where, depth)

    def array(self, name, where, kinds=KINDS):
        if not isinstance(name, str) or name not in self.members:
            raise self.error(f"{where}: no array member {name!r:.80}")
        if name in self.read or name == METADATA:
            raise self.error(f"{where}: member {name!r} is used twice")
        self.read.add(name)
        return read_member(self.archive, self.members[name],
                           f"{self.path}: member {name!r}", kinds)

    def _float(self, value, where, depth):
        if value not in _FLOAT_TAGS:
            raise self.error(f"{where}: $float must be one of {list(_FLOAT_TAGS)}")
        return _FLOAT_TAGS[value]

    def _tuple(self, value, where, depth):
        if not isinstance(value, list):
            raise self.error(f"{where}: $tuple must hold a list")
        return tuple(self.decode(v, where, depth + 1) for v in value)

    def _dict(self, value, where, depth):
        if not isinstance(value, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in value):
            raise self.error(f"{where}: $dict must hold [key, value] pairs")
        result = {}
        for key, item in value:
            key = self.decode(key, where, depth + 1)
            try:
                if not isinstance(key, _KEY_TYPES):
                    raise TypeError
                result[key] = self.decode(item, where, depth + 1)
            except TypeError:  # a tuple holding a list is not hashable
                raise self.error(f"{where}: a dict key must be a number, text, null or a "
                                 f"tuple of those") from None
        return result

    def _scalar(self, value, where, depth):
        array = self.array(value, where)
        if array.shape != ():
            raise self.error(f"{where}: $scalar must be a 0-d array")
        return array[()]

    def _object_array(self, value, where, depth):
        array = self.array(value, where, kinds="biufU")
        if array.dtype.kind == "U":
            return array.astype(object)
        # numbers back to Python's own (as the elements were when saved)
        objects = np.empty(array.shape, dtype=object)
        objects.ravel()[:] = array.ravel().tolist()
        return objects

    def _history(self, value, where, depth):
        from ._history import COLUMNS, STOP_REASONS, History

        if not isinstance(value, dict) or not isinstance(value.get("columns"), dict):
            raise self.error(f"{where}: $history must hold columns")
        columns = {key: self.decode(column, where, depth + 1)
                   for key, column in value["columns"].items()}
        lengths = {np.shape(c) for c in columns.values()}
        if len(lengths) > 1 or any(not isinstance(c, np.ndarray) or c.dtype.kind not in "biuf"
                                   or c.ndim != 1 for c in columns.values()):
            raise self.error(f"{where}: the history columns must be 1-D numbers of one length")
        stop_reason = value.get("stop_reason")
        if stop_reason is not None and not isinstance(stop_reason, str):
            raise self.error(f"{where}: stop_reason must be text")
        if stop_reason is not None and stop_reason not in STOP_REASONS:
            raise self.error(f"{where}: stop_reason {stop_reason[:40]!r} is not one of "
                             f"{sorted(STOP_REASONS)}")
        n = lengths.pop()[0] if lengths else 0
        # columns a later descend added are NaN; ones it dropped are left out
        table = np.column_stack([np.asarray(columns[key], dtype=np.float64)
                                 if key in columns else np.full(n, np.nan)
                                 for key in COLUMNS]) if n else np.empty((0, len(COLUMNS)))
        history = History()
        history._append_block(table)
        history.stop_reason = stop_reason
        return history

    def _csr(self, value, where, depth):
        from scipy import sparse

        if not isinstance(value, dict) or value.get("type") not in ("csr_matrix", "csr_array"):
            raise self.error(f"{where}: $csr must name csr_matrix or csr_array")
        shape = value.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2 and all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**62
                for n in shape)):
            raise self.error(f"{where}: $csr shape must be two non-negative integers")
        parts = {}
        for part, kinds in (("data", "f"), ("indices", "iu"), ("indptr", "iu")):
            node = value.get(part)
            if not (isinstance(node, dict) and list(node) == ["$array"]):
                raise self.error(f"{where}: $csr {part} must be an $array")
            parts[part] = self.array(node["$array"], where, kinds)
        cls = getattr(sparse, value["type"])
        try:
            matrix = cls((parts["data"], parts["indices"], parts["indptr"]), shape=tuple(shape))
            matrix.check_format(full_check=True)  # indices in range: no out-of-bounds reads
        except (ValueError, TypeError, IndexError) as exc:
            raise self.error(f"{where}: invalid CSR matrix: {exc}") from None
        return matrix


_DECODERS = {"$float": _Reader._float, "$tuple": _Reader._tuple, "$dict": _Reader._dict,
             "$array": lambda self, value, where, depth: self.array(value, where),
             "$scalar": _Reader._scalar, "$object_array": _Reader._object_array,
             "$history": _Reader._history, "$csr": _Reader._csr}


def _no_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _check_header(document, path):
    """The estimator class the document names, after its format and version."""
    from . import __version__

    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a descend model file (format "
                         f"{document.get('format')!r:.40}, expected {FORMAT!r})")
    version = document.get("format_version")
    written_by = f"descend {document.get('descend_version')!s:.40}"
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path}: damaged model file: format_version {version!r:.40}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path}: written in model format version {version} (by {written_by}); this "
            f"descend ({__version__}) reads format version {FORMAT_VERSION}: upgrade descend")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: model format version {version} (by {written_by}) is not "
                         f"one this descend ({__version__}) reads (version {FORMAT_VERSION})")
    classes = _estimator_classes()
    name = document.get("estimator")
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f"{path}: unknown estimator {name!r:.60}; a model file holds one "
                         f"of {', '.join(classes)}")
    return classes[name]


def _check_fitted(estimator, error):
    """The fitted attributes have the types descend gives them, and the
    model predicts on a row of zeros (so that a crafted file fails here,
    with a clear message, rather than inside predict later)."""
    from scipy import sparse
    from sklearn.base import is_classifier

    from ._history import History

    for key in ("coef_", "intercept_", "n_features_in_") + (
            ("classes_",) if is_classifier(estimator) else ()):
        if not hasattr(estimator, key):
            raise error(f"attribute {key} is missing")
    coef, intercept = estimator.coef_, estimator.intercept_
    values = coef.data if sparse.issparse(coef) else coef
    if not (isinstance(values, np.ndarray) and values.dtype.kind == "f"
            and np.isfinite(values).all()):
        raise error("coef_ must be an array of finite floats")
    if not (np.asarray(intercept).dtype.kind == "f" and np.isfinite(intercept).all()):
        raise error("intercept_ must hold finite floats")
    checks = {
        "n_features_in_": lambda v: _is_int(v) and v >= 1,
        "n_iter_": lambda v: _is_int(v) and v >= 0, "t_": lambda v: _is_int(v) and v >= 0,
        "converged_": lambda v: isinstance(v, (bool, np.bool_)),
        "eta0_": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
        "history_": lambda v: isinstance(v, History),
        "classes_": lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and len(v) >= 2,
        "feature_names_in_": lambda v: isinstance(v, np.ndarray) and v.shape == (
            estimator.n_features_in_,) and all(isinstance(s, str) for s in v.tolist()),
    }
    for key, check in checks.items():
        if hasattr(estimator, key) and not check(getattr(estimator, key)):
            raise error(f"attribute {key} has the wrong type or shape")
    zeros = np.zeros((1, estimator.n_features_in_), dtype=values.dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted = estimator.predict(zeros)
            for method in ("predict_proba", "decision_function"):
                if hasattr(estimator, method):
                    getattr(estimator, method)(zeros)
    except (ValueError, TypeError, IndexError, AttributeError, ArithmeticError) as exc:
        raise error(f"the model cannot predict: {' '.join(str(exc).split())[:160]}") from None
    # one value per row; a multi-output LinearRegression (2-D coef_) one per target
    multi = hasattr(estimator, "_multi_output") and estimator._multi_output()
    if np.shape(predicted) != ((1, np.size(intercept)) if multi else (1,)):
        raise error(f"predict gives shape {np.shape(predicted)} for one row")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
