"""Fuzzing the data-file readers with hypothesis.

Random bytes, and well-formed CSV, svmlight and npz content (with extreme
numbers, odd text, odd dtypes and shapes) mutated byte by byte, are written
to a file and read by ``load_training_data`` and ``load_prediction_data``,
the functions behind ``descend train`` and ``descend predict``. The only
outcomes allowed: a ``DataError`` (one line), or a Dataset whose X is a
2-D float64 array (or CSR matrix) of finite values within the readers'
magnitude limit, with one target per row.

The budget is fixed and the examples derandomised, so that CI runs the
same cases in seconds; ``DESCEND_FUZZ_EXAMPLES=20000`` runs a longer
campaign of new random examples (docs/reliability-readers.md records what
the campaigns found).
"""
import gzip
import io
import os
import warnings
import zipfile
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import descend._readers
from descend._data import GeneratedNames, load_prediction_data, load_training_data
from descend._readers import MAX_MAGNITUDE, DataError

#: CI: a fixed budget of the same (derandomised) examples every run; a
#: campaign (the variable set) draws new ones each time.
CAMPAIGN = "DESCEND_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("DESCEND_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not CAMPAIGN,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def check(read):
    """``read()`` raises DataError (one line) or gives a sound Dataset, and
    warns of nothing (the command would print the warning)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            warnings.simplefilter("error", RuntimeWarning)
            data = read()
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    X = data.X
    values = X.data if sp.issparse(X) else X
    assert X.ndim == 2 and X.shape[0] >= 1
    assert values.dtype == np.float64
    assert np.all(np.abs(values) <= MAX_MAGNITUDE)
    if data.y is not None:
        assert len(data.y) == X.shape[0]
    assert len(data.feature_names) == X.shape[1]


def read_everything(path, fmt=None):
    """Both readers, with the ways the command calls them."""
    check(lambda: load_training_data(path, fmt=fmt))
    check(lambda: load_training_data(path, target=0, fmt=fmt))
    for p in (1, 3):
        check(lambda: load_prediction_data(path, GeneratedNames(p), False, fmt=fmt))
        check(lambda: load_prediction_data(path, GeneratedNames(p), False, target_index=0,
                                           n_columns=p + 1, fmt=fmt))
    check(lambda: load_prediction_data(path, ["a", "b"], True, target="y", fmt=fmt))


# --------------------------------------------------------------------------
# mutation


@st.composite
def mutated(draw, content):
    """``content`` (bytes) with up to 8 bytes replaced, inserted or deleted,
    or cut short."""
    data = bytearray(draw(content))
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data)))
        byte = draw(st.integers(0, 255))
        how = draw(st.sampled_from(["replace", "insert", "delete"]))
        if how == "insert" or not data:
            data.insert(at, byte)
        elif how == "replace":
            data[min(at, len(data) - 1)] = byte
        else:
            del data[min(at, len(data) - 1)]
    if draw(st.booleans()) and draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


# --------------------------------------------------------------------------
# content

#: Cells that have broken readers or could: extremes, non-numbers, quoting.
ODD_CELLS = ["", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309",
             "1e308", "1e151", "1e-400", "-0", "0x10", "1_000", "1,5", '"', '""', '"1"',
             "\x00", " ", "True", "false", "9" * 40, "9" * 400, "-" + "9" * 5000, "1e",
             "\u00e9", "\ufeff1", "\r", "#", "None", "NA", "null"]


def cells():
    return st.one_of(st.sampled_from(ODD_CELLS),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.integers(-2**70, 2**70).map(str),
                     st.text(max_size=6))


@st.composite
def csv_text(draw):
    sep = draw(st.sampled_from([",", ",", "\t", ";"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    width = draw(st.integers(1, 5))
    names = draw(st.one_of(
        st.lists(st.sampled_from(["a", "b", "y", "x0", "", "a"]), min_size=width,
                 max_size=width),
        st.lists(st.text(max_size=5), min_size=width, max_size=width)))
    rows = draw(st.lists(st.lists(cells(), min_size=max(0, width - 1), max_size=width + 1),
                         max_size=6))
    text = newline.join(sep.join(row) for row in [names, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def numbers():
    return st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.integers(-2**66, 2**66).map(str), st.sampled_from(ODD_CELLS))


@st.composite
def svmlight_text(draw):
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        fields = [draw(numbers())]
        if draw(st.booleans()) and draw(st.booleans()):
            fields.append(f"qid:{draw(st.integers(-3, 2**40))}")
        indices = draw(st.lists(st.one_of(st.integers(-3, 40), st.integers(-2**66, 2**66),
                                          st.sampled_from([2**31 - 1, 2**31, 2**32, 2**63])),
                                max_size=5))
        fields += [f"{i}:{draw(numbers())}" for i in indices]
        line = " ".join(fields)
        if draw(st.booleans()) and draw(st.booleans()):
            line += " # " + draw(st.text(max_size=5))
        lines.append(line)
    return "\n".join(lines).encode("utf-8", errors="replace")


DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint64,
                          np.bool_, "U3", "S2", np.complex64, "M8[s]"])


@st.composite
def npz_bytes(draw):
    arrays = {}
    for name in draw(st.lists(st.sampled_from(["X", "y", "feature_names", "a", "arr_0"]),
                              min_size=1, max_size=3, unique=True)):
        shape = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
        arrays[name] = draw(hnp.arrays(draw(DTYPES), shape))
    buffer = io.BytesIO()
    if draw(st.booleans()) and draw(st.booleans()):  # an object array: a pickle inside
        arrays["X"] = np.array([[1.0, None], [2, "x"]], dtype=object)
        np.savez(buffer, allow_pickle=True, **arrays)
    elif draw(st.booleans()):
        np.savez_compressed(buffer, **arrays)
    else:
        np.savez(buffer, **arrays)
    return buffer.getvalue()


@st.composite
def npy_bytes(draw):
    shape = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
    buffer = io.BytesIO()
    np.save(buffer, draw(hnp.arrays(draw(DTYPES), shape)))
    data = buffer.getvalue()
    # the header is where a lie costs memory: mutate it more often
    header = data.index(b"\n") + 1
    return draw(mutated(st.just(data[:header]))) + data[header:]


# --------------------------------------------------------------------------
# the tests


@FUZZ
@given(data=st.binary(max_size=3000),
       suffix=st.sampled_from([".csv", ".tsv", ".svm", ".npz", ".npy", ".parquet",
                               ".csv.gz", ".svm.bz2", ".csv.xz", ".csv.zip"]),
       pandas=st.booleans())
def test_random_bytes(folder, data, suffix, pandas):
    path = folder / f"random{suffix}"
    path.write_bytes(data)
    with mock.patch.object(descend._readers, "_import_pandas",
                           descend._readers._import_pandas if pandas else lambda: None):
        read_everything(path)


@FUZZ
@given(data=mutated(csv_text()), compress=st.booleans(), pandas=st.booleans())
def test_mutated_csv(folder, data, compress, pandas):
    path = folder / ("mutated.csv.gz" if compress else "mutated.csv")
    path.write_bytes(gzip.compress(data) if compress else data)
    with mock.patch.object(descend._readers, "_import_pandas",
                           descend._readers._import_pandas if pandas else lambda: None):
        read_everything(path)


@FUZZ
@given(data=mutated(svmlight_text()), compress=st.booleans())
def test_mutated_svmlight(folder, data, compress):
    path = folder / ("mutated.svm.gz" if compress else "mutated.svm")
    path.write_bytes(gzip.compress(data) if compress else data)
    read_everything(path)


@FUZZ
@given(data=st.one_of(mutated(npz_bytes()), npz_bytes()))
def test_mutated_npz(folder, data):
    path = folder / "mutated.npz"
    path.write_bytes(data)
    read_everything(path)


@FUZZ
@given(data=npy_bytes())
def test_mutated_npy_headers(folder, data):
    path = folder / "mutated.npy"
    path.write_bytes(data)
    read_everything(path)


@FUZZ
@given(members=st.lists(st.tuples(st.sampled_from(["X.npy", "y.npy", "X.npy", "data.csv",
                                                    "dir/", "a.npy"]),
                                  npy_bytes()), max_size=3),
       method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                               zipfile.ZIP_LZMA]))
def test_odd_archives(folder, members, method):
    """Duplicate names, directories, other compressions, lying headers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive, \
            mock.patch("warnings.warn"):  # zipfile: "Duplicate name"
        for name, data in members:
            archive.writestr(name, data)
    for suffix in (".npz", ".csv.zip"):
        path = folder / f"archive{suffix}"
        path.write_bytes(buffer.getvalue())
        read_everything(path)
