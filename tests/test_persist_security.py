"""A crafted model file cannot run code through ``descend predict`` or
``descend.load_model``.

Each payload, if unpickled (or evaluated), writes a marker file. The files
are given to ``descend predict`` (the console script) and to
``descend.load_model`` in fresh subprocesses that also watch Python's audit
events, so that any unpickling of a global (``pickle.find_class``) or
process start is caught even if a payload failed to write its marker. Every
case must fail cleanly (exit 2 with one line / ValueError), leave no marker
and raise no such event. Positive controls show that the payloads are live:
``--allow-pickle``, the one path that unpickles, runs them.
"""
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import descend

from test_cli import descend_command, one_error_line


class Payload:
    """Unpickling this runs ``exec(code)``, which writes the marker file."""

    def __init__(self, marker):
        self.code = f"open({str(marker)!r}, 'w').write('code ran')"

    def __reduce__(self):
        return (exec, (self.code,))


def npy(array, **kwargs):
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def replaced(source, target, members=None, change=None):
    """A copy of the model file ``source`` with some members replaced and
    its metadata changed by ``change(document)``."""
    with zipfile.ZipFile(source) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    document = json.loads(contents["metadata.json"])
    if change is not None:
        change(document)
    contents.update(members or {})
    contents["metadata.json"] = json.dumps(document).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return target


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    """A good model and data file, the marker's path, and the crafted files
    (name -> path)."""
    import joblib

    folder = tmp_path_factory.mktemp("attack")
    marker = folder / "MARKER"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    data = folder / "data.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,c,label",
               comments="")
    good = folder / "good.descend"
    model = descend.LogisticRegression(max_iter=20, tol=None).fit(X, y)
    descend.save_model(model, good)
    with zipfile.ZipFile(good) as archive:
        document = json.loads(archive.read("metadata.json"))
    coef = document["fitted"]["coef_"]["$array"]
    payload = Payload(marker)
    pickled_object = npy(np.array([payload, 1.0], dtype=object), allow_pickle=True)
    files = {}

    def add(name, content):
        files[name] = folder / name
        files[name].write_bytes(content)

    # pickles, whatever their name
    add("payload.pkl", pickle.dumps(payload))
    add("payload.descend", pickle.dumps({"format": "descend-model", "estimator": payload}))
    add("payload-protocol2.model", pickle.dumps(payload, protocol=2))
    for name, compress in (("payload.joblib", 0), ("payload-zlib.joblib", 3),
                           ("payload-xz.joblib", ("xz", 3))):
        files[name] = folder / name
        joblib.dump({"format": "descend-model", "format_version": 1, "estimator": payload},
                    files[name], compress=compress)
    # pickled object arrays inside a model file, wherever an array may be
    files["object-coef.descend"] = replaced(good, folder / "object-coef.descend",
                                            {coef: pickled_object})
    for tag in ("$array", "$scalar", "$object_array"):
        name = f"object-{tag[1:]}-in-extra.descend"
        files[name] = replaced(good, folder / name, {"arrays/evil.npy": pickled_object},
                               lambda d, tag=tag: d.update(extra={tag: "arrays/evil.npy"}))
    header = npy(np.zeros(2)).replace(
        b"'descr': '<f8'", f"'descr': exec({payload.code!r})".encode())
    files["npy-header-code.descend"] = replaced(good, folder / "npy-header-code.descend",
                                                {coef: header})
    # the JSON: names to import, tags to evaluate, attributes to overwrite
    injections = {
        "estimator-import": lambda d: d.update(estimator=f"__import__('os').system('touch "
                                                         f"{marker}')"),
        "estimator-dotted": lambda d: d.update(estimator="builtins.exec"),
        "estimator-private": lambda d: d.update(estimator="_Reader"),
        "tag-reduce": lambda d: d["params"].update(callback={"$reduce": ["builtins.exec",
                                                                          [payload.code]]}),
        "tag-pickle": lambda d: d["params"].update(
            callback={"$pickle": pickle.dumps(payload).hex()}),
        "jsonpickle-style": lambda d: d["fitted"].update(
            coef_={"py/reduce": [{"py/function": "builtins.exec"}, [payload.code]]}),
        "dunder-attribute": lambda d: d["fitted"].update(__class__="LinearRegression"),
        "method-attribute": lambda d: d["fitted"].update(predict={"$array": coef}),
        "dunder-parameter": lambda d: d["params"].update(__reduce__="x"),
        "member-path": lambda d: d["fitted"].update(coef_={"$array": "../../etc/passwd"}),
        "csr-type": lambda d: d["fitted"].update(coef_={"$csr": {
            "type": "__init__", "shape": [1, 3], "data": 1, "indices": 1, "indptr": 1}}),
        "history-reason": lambda d: d["fitted"]["history_"]["$history"].update(
            stop_reason={"$reduce": payload.code}),
    }
    for name, change in injections.items():
        files[f"json-{name}.descend"] = replaced(good, folder / f"json-{name}.descend",
                                                 change=change)
    # a 5000-digit format_version (Python's json refuses to parse it)
    files["json-huge-version.descend"] = folder / "json-huge-version.descend"
    with zipfile.ZipFile(good) as archive, \
            zipfile.ZipFile(files["json-huge-version.descend"], "w") as out:
        for info in archive.infolist():
            content = archive.read(info)
            if info.filename == "metadata.json":
                content = content.replace(b'"format_version": 2',
                                          b'"format_version": ' + b"9" * 5000)
            out.writestr(info.filename, content)
    # a data file holding a pickled object array
    npz = folder / "payload.npz"
    with zipfile.ZipFile(npz, "w") as archive:
        archive.writestr("X.npy", pickled_object)
        archive.writestr("y.npy", npy(np.array([0, 1])))
    return {"folder": folder, "marker": marker, "good": good, "data": data, "npz": npz,
            "files": files, "payload": payload, "pickled_object": pickled_object}


#: Run in a fresh interpreter: an audit hook ends the process with status 99
#: (and a line on stderr) at any unpickling of a global or process start.
WATCHED = textwrap.dedent("""
    import os, sys
    WATCHED = {"pickle.find_class", "os.system", "subprocess.Popen", "os.exec",
               "os.posix_spawn", "os.spawn"}
    def hook(event, args):
        if event in WATCHED:
            sys.stderr.write(f"AUDIT {event} {args!r:.200}\\n")
            sys.stderr.flush()
            os._exit(99)
    sys.addaudithook(hook)
""")

#: The descend command, watched.
PREDICT = WATCHED + textwrap.dedent("""
    from descend.cli import main
    sys.exit(main(sys.argv[1:]))
""")

#: descend.load_model and 'descend predict' (its main, stdout and stderr
#: captured) on each model file of argv[2:], with the data file argv[1].
RUN_ALL = WATCHED + textwrap.dedent("""
    import contextlib, io, json
    import descend
    from descend.cli import main
    results = {}
    for path in sys.argv[2:]:
        try:
            descend.load_model(path)
            loaded = "loaded"
        except ValueError as exc:
            loaded = "ValueError: " + str(exc)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["predict", path, sys.argv[1]])
        results[path] = {"load": loaded, "code": code, "stdout": out.getvalue(),
                         "stderr": err.getvalue()}
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def outcomes(attack):
    """What load_model and 'descend predict' did with each crafted file, in
    one watched subprocess."""
    result = python(RUN_ALL, attack["data"], *attack["files"].values())
    assert result.returncode == 0, result.stderr  # 99: an audit event fired
    return {name: json.loads(result.stdout)[str(path)]
            for name, path in attack["files"].items()}


def python(script, *args):
    return subprocess.run([sys.executable, "-c", script, *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_the_payloads_are_live(attack, tmp_path):
    """Controls: unpickled, each payload does write the marker."""
    marker = attack["marker"]
    pickle.loads(pickle.dumps(attack["payload"]))
    assert marker.exists()
    marker.unlink()
    np.load(io.BytesIO(attack["pickled_object"]), allow_pickle=True)
    assert marker.exists()
    marker.unlink()


def test_load_model_never_runs_code(attack, outcomes):
    assert not attack["marker"].exists()
    for name, path in attack["files"].items():
        message = outcomes[name]["load"]
        assert message.startswith(f"ValueError: {path}: "), (name, message)
        assert "\n" not in message
    for name in ("payload.pkl", "payload.descend", "payload.joblib", "payload-zlib.joblib",
                 "payload-xz.joblib", "payload-protocol2.model"):
        assert "is a pickle (joblib) file" in outcomes[name]["load"], name
    for name in ("object-coef.descend", "object-array-in-extra.descend",
                 "object-scalar-in-extra.descend", "object-object_array-in-extra.descend"):
        assert "holds Python objects" in outcomes[name]["load"], name


def test_descend_predict_never_runs_code(attack, outcomes):
    """Every crafted file: exit 2, one line on stderr naming the file,
    nothing on stdout, no marker, no audit event."""
    assert not attack["marker"].exists()
    for name, path in attack["files"].items():
        outcome = outcomes[name]
        assert outcome["code"] == 2 and outcome["stdout"] == "", (name, outcome)
        line, = outcome["stderr"].splitlines()
        assert line.startswith(f"descend predict: error: {path}: "), (name, line)
        if name.startswith("payload"):
            assert "--allow-pickle" in line


@pytest.mark.parametrize("name", ["payload.joblib", "payload.descend",
                                  "object-coef.descend", "json-estimator-import.descend"])
def test_the_console_script_refuses_them(name, attack):
    path = attack["files"][name]
    result = subprocess.run([*descend_command(), "predict", str(path), str(attack["data"])],
                            capture_output=True, text=True, timeout=120)
    line = one_error_line(result, str(path))
    if name.startswith("payload"):
        assert "--allow-pickle" in line
    assert not attack["marker"].exists()


def test_a_pickled_data_file_is_refused(attack):
    for args in (["predict", attack["good"], attack["npz"]], ["train", attack["npz"]]):
        result = python(PREDICT, *args)
        assert result.returncode == 2, result.stderr  # 99: an audit event fired
        one_error_line(result, f"{attack['npz']}: array 'X': holds Python objects")
    assert not attack["marker"].exists()


def test_allow_pickle_is_the_path_that_unpickles(attack):
    """With --allow-pickle the old format loads, so a payload runs (after
    the warning): the flag is what stands between a pickle and the code."""
    marker = attack["marker"]
    try:
        result = subprocess.run(
            [*descend_command(), "predict", str(attack["files"]["payload.joblib"]),
             str(attack["data"]), "--allow-pickle"],
            capture_output=True, text=True, timeout=120)
        assert marker.exists()
        assert result.returncode == 2  # the payload is no model
        warning, error = result.stderr.splitlines()
        assert "warning: loading" in warning and "runs any code it holds" in warning
        assert "not a model saved by 'descend train --out'" in error
    finally:
        marker.unlink(missing_ok=True)


def test_no_unpickling_function_is_called_without_the_flag(attack, tmp_path, capsys,
                                                          monkeypatch):
    """pickle, joblib and numpy.load replaced by recorders: loading,
    predicting (CSV, npz, svmlight data), training and saving call none of
    them; only --allow-pickle does."""
    import joblib

    from descend.cli import main

    calls = []

    def recorder(name):
        def blocked(*args, **kwargs):
            calls.append(name)
            raise RuntimeError(f"{name} is blocked in this test")
        return blocked

    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"),
                         (joblib, "load"), (np, "load")):
        monkeypatch.setattr(module, name, recorder(f"{module.__name__}.{name}"))
    X = np.loadtxt(attack["data"], delimiter=",", skiprows=1)
    npz, svm = tmp_path / "data.npz", tmp_path / "data.svm"
    np.savez(npz, X=X[:, :3], y=X[:, 3])
    from sklearn.datasets import dump_svmlight_file
    dump_svmlight_file(X[:, :3], X[:, 3], str(svm))
    model = tmp_path / "trained.descend"
    assert main(["train", str(attack["data"]), "--quiet", "--out", str(model)]) == 0
    descend.load_model(model)
    descend.load_model(attack["good"])
    for data in (attack["data"], npz, svm):
        assert main(["predict", str(model), str(data)]) == 0, capsys.readouterr().err
    for path in attack["files"].values():
        assert main(["predict", str(path), str(attack["data"])]) == 2
    assert calls == []
    capsys.readouterr()
    assert main(["predict", str(attack["files"]["payload.joblib"]), str(attack["data"]),
                 "--allow-pickle"]) == 2
    assert calls == ["joblib.load"]
    assert "joblib.load is blocked in this test" in capsys.readouterr().err
    assert not attack["marker"].exists()
