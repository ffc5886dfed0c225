"""``descend train`` and ``descend predict`` on hostile data files.

Each file (malformed, huge or absurd numbers, bad encodings, compression
and zip bombs, arrays whose headers lie, pickled arrays, svmlight indices
up to 2^64) must give exactly one line on stderr naming the file, and exit
code 2 (or succeed, for the few odd but valid files), within a time limit
and an address-space limit: a hang or an allocation bomb fails the test
instead of taking the machine down.

One subprocess per file runs both commands through ``descend.cli.main``
(which the console script calls), with their output captured, so that the
interpreter starts once per file; anything written to the process's own
stderr (a C library's message, a warning at exit) fails the case too. The
files run two at a time.
"""
import bz2
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import textwrap
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

#: Seconds a file may take, for both commands together.
TIMEOUT = 60
#: Address space of the process (the interpreter with descend's imports
#: takes about 0.5 GiB).
MEMORY = 2 * 2**30

DRIVER = textwrap.dedent("""
    import contextlib, io, json, sys
    from descend.cli import main
    results = {}
    for command, args in (("train", ["train", sys.argv[1], "--quiet", "--max-iter", "20"]),
                          ("predict", ["predict", sys.argv[2], sys.argv[1]])):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:
                code = exc.code
        results[command] = {"code": code, "stderr": err.getvalue()}
    print(json.dumps(results))
""")


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_file(path, model):
    """Both commands on ``path`` in one limited subprocess: their exit codes
    and stderr, or what went wrong with the process."""
    env = {**os.environ, "PYTHONWARNINGS": "default", "OMP_NUM_THREADS": "2",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        result = subprocess.run([sys.executable, "-c", DRIVER, str(path), str(model)],
                                capture_output=True, text=True, timeout=TIMEOUT,
                                preexec_fn=limit_memory, env=env)
    except subprocess.TimeoutExpired:
        return {"failure": f"still running after {TIMEOUT} s"}
    if result.returncode != 0 or result.stderr:
        return {"failure": f"exit {result.returncode}: {result.stderr[-2000:]}"}
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# the files


def npy(array, **kwargs):
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def npz(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def bomb(compress, line, megabytes):
    """``megabytes`` MB of ``line`` repeated, as gzip members or bzip2
    streams of 1 MB each, compressed once (built in milliseconds; both
    formats read concatenated streams as one)."""
    return compress(line * (2**20 // len(line))) * megabytes


def deflate_bomb_npz(megabytes):
    """An honest .npz whose X is ``megabytes`` MB of zeros, deflated
    (streamed, so that the test never holds it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("X.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {
                "descr": "<f8", "fortran_order": False, "shape": (megabytes * 2**16, 2)})
            block = bytes(2**20)
            for _ in range(megabytes):
                member.write(block)
        archive.writestr("y.npy", npy(np.zeros(3)))
    return buffer.getvalue()


def xy(X, y):
    """An .npz of arrays X and y."""
    return npz({"X.npy": npy(np.asarray(X)), "y.npy": npy(np.asarray(y))})


GOOD_ROWS = "".join(f"{a:.6f},{b:.6f},{int(a + b > 0)}\n" for a, b in
                    np.random.default_rng(0).standard_normal((40, 2)).tolist())
CSV = "a,b,label\n"


def csv(*rows):
    return (CSV + "".join(f"{row}\n" for row in rows) + GOOD_ROWS).encode()


GARBAGE = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
HUGE_HEADER = npy(np.zeros((1, 2))).replace(b"(1, 2)", b"(6250000000, 2)")  # 100 GB

#: name -> (content (or a function making it), train: fragment of its one error line or "ok",
#:          predict: the same). A tuple of fragments: any of them.
CASES = {
    # CSV: numbers
    "huge-1e308.csv": (csv("1e308,1,0"), "is 1e+308, beyond the 1e+150", "beyond the 1e+150"),
    "overflow-1e309.csv": (csv("1e309,1,0"), "in row 1 is infinite", "in row 1 is infinite"),
    "minus-inf.csv": (csv("1,-inf,0"), "feature column 'b' in row 1 is infinite",
                      "is infinite"),
    "nan.csv": (csv("NaN,1,0"), "has 1 missing value(s) (first in row 1)",
                "missing value"),
    "int-5000-digits.csv": (csv("9" * 5000 + ",1,0"), "is infinite", "is infinite"),
    "int-20-digits.csv": (csv("99999999999999999999,1,0"), "ok", "ok"),
    "huge-target.csv": (csv("1,1,1e300"), "the target column 'label' in row 1 is 1e+300",
                        "ok"),
    # CSV: structure and encodings
    "ragged-first-row.csv": (csv("1,2,0,7"), "the first data row has 4 fields, the header 3",
                             "the first data row has 4 fields"),
    "ragged-later-row.csv": (CSV.encode() + GOOD_ROWS.encode() + b"1,2,0,7\n",
                             "malformed CSV: Error tokenizing data", "Error tokenizing"),
    "short-row.csv": (csv("1,0"), "the target column 'label' has 1 missing value(s)",
                      "ok"),
    "bom.csv": (b"\xef\xbb\xbf" + csv(), "ok", "ok"),
    "utf-16.csv": (csv().decode().encode("utf-16"), "malformed CSV: 'utf-8' codec",
                   "'utf-8' codec"),
    "latin-1.csv": (CSV.replace("a,", "\xe9,").encode("latin-1") + GOOD_ROWS.encode(),
                    "'utf-8' codec can't decode", "'utf-8' codec"),
    "nul.csv": (csv("1\x00,1,0"), "feature column 'a' is not numeric (row 1:",
                "is not numeric"),
    "open-quote.csv": (csv('"1,1,0'), "malformed CSV: Error tokenizing data",
                       "Error tokenizing data"),
    "empty.csv": (b"", "empty file", "empty file"),
    "header-only.csv": (CSV.encode(), "no data rows", "no data rows"),
    "garbage.csv": (GARBAGE, "malformed CSV", "malformed CSV"),
    "30MB-line.csv": (CSV.encode() + b"," * 30_000_000 + b"\n" + GOOD_ROWS.encode(),
                      "the first data row has 30,000,001 fields, the header 3",
                      "the first data row has 30,000,001 fields"),
    # compressed CSV
    "bomb.csv.gz": (gzip.compress(CSV.encode()) + bomb(gzip.compress, b"1,2,0\n", 30),
                    "expands to more than 16,777,216 bytes", "expands to more than"),
    "truncated.csv.gz": (gzip.compress(csv())[:-20], "damaged compressed file",
                         "damaged compressed file"),
    "not-gzip.csv.gz": (csv(), "damaged compressed file", "damaged compressed file"),
    "bomb.csv.bz2": (bz2.compress(CSV.encode()) + bomb(bz2.compress, b"1,2,0\n", 30),
                     "expands to more than", "expands to more than"),
    "two-files.csv.zip": (npz({"a.csv": csv(), "b.csv": csv()}),
                          "must hold exactly one file", "must hold exactly one file"),
    # Parquet (with or without pyarrow installed)
    "garbage.parquet": (GARBAGE, ("needs pyarrow", "not a readable Parquet file"),
                        ("needs pyarrow", "not a readable Parquet file")),
    "magic-only.parquet": (b"PAR1\x00\x00\x00\x00PAR1", ("needs pyarrow", "not a readable"),
                           ("needs pyarrow", "not a readable")),
    # npz / npy
    "pickled.npz": (npz({"X.npy": npy(np.array([[1.0, None]] * 3, dtype=object),
                                      allow_pickle=True), "y.npy": npy(np.arange(3))}),
                    "array 'X': holds Python objects", "holds Python objects"),
    "x-1d.npz": (xy(np.ones(4), np.arange(4)), "array 'X' must be 2-D", "must be 2-D"),
    "y-2d.npz": (xy(np.ones((4, 2)), np.ones((4, 2))), "'y' must be 1-D", "ok"),
    "y-short.npz": (xy(np.ones((4, 2)), np.arange(3)), "one value per row", "ok"),
    "bomb.npz": (lambda: deflate_bomb_npz(300), "a zip bomb or a damaged file",
                 "a zip bomb"),
    "header-100GB.npz": (npz({"X.npy": HUGE_HEADER, "y.npy": npy(np.arange(1))}),
                         "claims shape (6250000000, 2)", "claims shape"),
    "header-100GB.npy": (HUGE_HEADER, "claims shape (6250000000, 2)", "claims shape"),
    "truncated.npz": (npz({"X.npy": npy(np.ones((50, 2))),
                           "y.npy": npy(np.arange(50))})[:900], "not a readable .npz file",
                      "not a readable .npz file"),
    "text-member.npz": (npz({"X.txt": b"1,2"}), "'X.txt' is not one array",
                        "is not one array"),
    "complex.npz": (xy(np.ones((4, 2), complex), np.ones(4)),
                    "unsupported dtype complex128", "unsupported dtype"),
    "text-x.npz": (xy(np.array([["a", "b"]] * 4), np.ones(4)),
                   "array 'X' must be numeric", "must be numeric"),
    "nan.npz": (xy(np.array([[1.0, np.nan]] * 4), np.ones(4)),
                "array 'X' in row 1 is missing (NaN)", "is missing (NaN)"),
    "huge.npz": (xy(np.array([[1.0, 1e200]] * 4), np.ones(4)),
                 "beyond the 1e+150", "beyond the 1e+150"),
    "no-rows.npz": (xy(np.ones((0, 2)), np.ones(0)), "no data rows", "no data rows"),
    "other-arrays.npz": (npz({"a.npy": npy(np.ones((4, 3))), "b.npy": npy(np.ones(4))}),
                         "expected arrays 'X' and 'y', or a single 2-D array",
                         "expected arrays 'X' and 'y'"),
    "garbage.npz": (b"PK" + GARBAGE, "not a readable .npz file", "not a readable .npz file"),
    # svmlight
    "index-2e9.svm": (b"1 2000000000:1\n0 1:1\n",
                      "row 1's feature index implies 2,000,000,000 features",
                      "n_features was set to 4"),
    "index-2^31-1.svm": (b"1 2147483647:1\n", "implies 2,147,483,647 features",
                         "n_features was set to 4"),
    "index-4e9.svm": (b"1 4000000000:1\n", "larger than 2,147,483,647",
                      "larger than 2,147,483,647"),
    "index-2^64.svm": (b"1 18446744073709551617:1\n", "larger than 2,147,483,647",
                       "larger than 2,147,483,647"),
    "index-negative.svm": (b"1 -5:1\n", "Invalid index -5", "Invalid index -5"),
    "index-float.svm": (b"1 1.5:1\n", "malformed svmlight", "malformed svmlight"),
    "nan-value.svm": (b"1 1:2\n0 3:nan\n", "a feature value in row 2 is missing (NaN)",
                      "is missing (NaN)"),
    "inf-value.svm": (b"1 1:2 3:1e999\n", "a feature value in row 1 is infinite",
                      "is infinite"),
    "huge-value.svm": (b"1 1:1e200\n", "beyond the 1e+150", "beyond the 1e+150"),
    "nan-label.svm": (b"nan 1:2\n1 2:1\n", "the label in row 1 is missing (NaN)", "ok"),
    "huge-label.svm": (b"1e300 1:2\n1 2:1\n", "the label in row 1 is 1e+300", "ok"),
    "garbage.svm": (GARBAGE, "malformed svmlight", "malformed svmlight"),
    "20MB-line.svm": (b"1 " + b"x" * 20_000_000 + b"\n", "malformed svmlight",
                      "malformed svmlight"),
    "empty.svm": (b"", "no data rows", "no data rows"),
    "bomb.svm.gz": (bomb(gzip.compress, b"1 1:1\n", 30), "expands to more than",
                    "expands to more"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case run, two at a time: name -> future of run_file's result."""
    from descend.cli import main

    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = (X[:, 0] > 0).astype(int)
    (folder / "good.csv").write_bytes(csv())
    np.savez(folder / "good.npz", X=X[:, :2], y=y)
    from sklearn.datasets import dump_svmlight_file
    dump_svmlight_file(X, y, str(folder / "good.svm"), zero_based=False)
    models = {}
    for kind in ("csv", "npz", "svm"):
        models[kind] = folder / f"{kind}.descend"
        assert main(["train", str(folder / f"good.{kind}"), "--quiet",
                     "--out", str(models[kind])]) == 0
    kinds = {".csv": "csv", ".gz": "csv", ".bz2": "csv", ".zip": "csv", ".parquet": "csv",
             ".npz": "npz", ".npy": "npz", ".svm": "svm"}
    for name, (content, _, _) in CASES.items():
        (folder / name).write_bytes(content() if callable(content) else content)
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {}
    for name in CASES:
        kind = kinds[os.path.splitext(name)[1]]
        kind = "svm" if name.endswith(".svm.gz") else kind
        futures[name] = pool.submit(run_file, folder / name, models[kind])
    yield {name: (folder / name, future) for name, future in futures.items()}
    pool.shutdown(cancel_futures=True)


def check(command, path, outcome, expected):
    assert "failure" not in outcome, outcome.get("failure")
    result = outcome[command]
    lines = result["stderr"].splitlines()
    if expected == "ok":
        assert result["code"] == 0, result["stderr"]
        return
    assert result["code"] == 2, (result["code"], result["stderr"])
    assert len(lines) == 1, result["stderr"]
    line = lines[0]
    assert line.startswith(f"descend {command}: error: {path}"), line
    fragments = expected if isinstance(expected, tuple) else (expected,)
    assert any(fragment in line for fragment in fragments), line


@pytest.mark.parametrize("name", list(CASES))
def test_train_and_predict_fail_cleanly(name, outcomes):
    path, future = outcomes[name]
    outcome = future.result()
    _, train, predict = CASES[name]
    check("train", path, outcome, train)
    check("predict", path, outcome, predict)
