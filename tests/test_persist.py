"""descend.save_model / descend.load_model: round trips of every estimator,
and every way a damaged or crafted model file is refused.

The security tests (a model file must never run code) are in
tests/test_persist_security.py.
"""
import json
import math
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import descend
from descend import (LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor,
                     load_model, save_model)

# --------------------------------------------------------------------------
# data and fitted models


def problem(kind, n=120, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + rng.uniform(-1, 1, p)
    X[rng.random((n, p)) < 0.3] = 0.0  # zeros, so that the CSR copy is sparse
    score = X @ rng.standard_normal(p)
    if kind == "reg":
        return X, score + 0.1 * rng.standard_normal(n)
    if kind == "binary":
        return X, (score > np.median(score)).astype(np.int64)
    three = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    return X, (np.array(["a", "b", "c"])[three] if kind == "three-str" else three)


CASES = {
    "linear": (LinearRegression, {}, "reg"),
    "linear-adam-scaled": (LinearRegression, dict(scale_features=True, batch_size=16,
                                                  optimizer="adam", random_state=0), "reg"),
    "logistic-binary": (LogisticRegression, dict(alpha=1e-3), "binary"),
    "logistic-multinomial": (LogisticRegression,
                             dict(class_weight={0: 1.0, 1: 2.0, 2: 0.5}), "three"),
    "logistic-strings-l1": (LogisticRegression, dict(penalty="l1", alpha=1e-3,
                                                     scale_features=True), "three-str"),
    "sgd-hinge-binary": (SGDClassifier, dict(random_state=0), "binary"),
    "sgd-log-ovr": (SGDClassifier, dict(loss="log_loss", random_state=0,
                                        class_weight={"a": 1.0, "b": 2.0, "c": 1.0}),
                    "three-str"),
    "sgd-modified-huber-ovr": (SGDClassifier, dict(loss="modified_huber", average=10,
                                                   random_state=0), "three"),
    "sgd-squared-hinge-scaled": (SGDClassifier, dict(loss="squared_hinge",
                                                     scale_features=True, random_state=0),
                                 "binary"),
    "sgd-regressor-huber": (SGDRegressor, dict(loss="huber", random_state=0), "reg"),
    "sgd-regressor-adagrad": (SGDRegressor, dict(optimizer="adagrad", batch_size=8,
                                                 random_state=0), "reg"),
}


def fitted(case, layout="dense", dtype=np.float64):
    cls, params, kind = CASES[case]
    X, y = problem(kind)
    X = X.astype(dtype)
    if layout == "csr":
        X = sp.csr_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits
        return cls(max_iter=30, **params).fit(X, y), X, y


def outputs(model, X):
    """Every prediction method's output (the same warnings ignored)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: getattr(model, name)(X) for name in
                ("predict", "predict_proba", "predict_log_proba", "decision_function")
                if hasattr(model, name)}


def assert_same_predictions(a, b, X):
    for name, expected in outputs(a, X).items():
        got = outputs(b, X)[name]
        assert got.dtype == expected.dtype, name
        assert np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"), name


def assert_same_fitted(a, b):
    for key in descend._persist.FITTED:
        assert hasattr(a, key) == hasattr(b, key), key
        if not hasattr(a, key):
            continue
        x, y = getattr(a, key), getattr(b, key)
        assert type(x) is type(y), key
        if key == "history_":
            assert x.stop_reason == y.stop_reason
            for column, values in x.to_dict().items():
                assert values.dtype == y[column].dtype
                assert np.array_equal(values, y[column], equal_nan=True), column
        elif sp.issparse(x):
            assert x.shape == y.shape
            for part in ("data", "indices", "indptr"):
                assert np.array_equal(getattr(x, part), getattr(y, part))
                assert getattr(x, part).dtype == getattr(y, part).dtype
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, key
            assert x.tolist() == y.tolist() and [type(v) for v in x.ravel().tolist()] == \
                [type(v) for v in y.ravel().tolist()], key
        else:
            assert x == y, key


def assert_same_params(a, b):
    pa, pb = a.get_params(), b.get_params()
    assert pa == pb
    assert {k: type(v) for k, v in pa.items()} == {k: type(v) for k, v in pb.items()}


# --------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_predicts_bit_for_bit(case, layout, dtype, tmp_path):
    model, X, y = fitted(case, layout, dtype)
    path = tmp_path / "model.descend"
    save_model(model, path)
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert_same_params(model, loaded)
    assert_same_fitted(model, loaded)
    assert loaded.coef_.dtype == dtype
    # on the training layout, on the other layout, and on the other dtype
    other = X.toarray() if sp.issparse(X) else sp.csr_matrix(X)
    for data in (X, other, X.astype(np.float32 if dtype == np.float64 else np.float64)):
        assert_same_predictions(model, loaded, data)
    # the same model always gives the same bytes
    save_model(loaded, tmp_path / "again.descend")
    assert (tmp_path / "again.descend").read_bytes() == path.read_bytes()


@pytest.mark.parametrize("case", ["linear", "logistic-multinomial", "sgd-log-ovr",
                                  "sgd-regressor-adagrad"])
def test_loaded_models_keep_training_from_their_coefficients(case, tmp_path):
    """warm_start starts from coef_ with fresh optimizer state in both, so
    the loaded model's warm fit equals the original's bit for bit;
    partial_fit continues from the saved coefficients."""
    model, X, y = fitted(case)
    save_model(model, tmp_path / "m.descend")
    loaded = load_model(tmp_path / "m.descend")
    for estimator in (model, loaded):
        estimator.set_params(warm_start=True, max_iter=3, tol=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X, y)
    assert np.array_equal(model.coef_, loaded.coef_)
    assert np.array_equal(model.intercept_, loaded.intercept_)

    # partial_fit of a loaded model: one epoch from the saved coefficients
    # (partial_fit over rows in order is fit(max_iter=1, shuffle=False))
    again = load_model(tmp_path / "m.descend").set_params(shuffle=False)
    coef, intercept = again.coef_.copy(), again.intercept_.copy()
    again.partial_fit(X, y)
    reference = clone(again).set_params(warm_start=False, max_iter=1, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(X, y, coef_init=coef, intercept_init=intercept)
    assert not np.array_equal(again.coef_, coef)
    np.testing.assert_allclose(again.coef_, reference.coef_, rtol=1e-12, atol=1e-14)


def test_sparsified_coef_round_trips(tmp_path):
    X, y = problem("three", p=20)
    model = SGDClassifier(penalty="l1", alpha=0.02, random_state=0, max_iter=20,
                          tol=None).fit(X, y)
    model.sparsify()
    assert sp.issparse(model.coef_) and model.coef_.nnz < model.coef_.shape[1] * 3
    save_model(model, tmp_path / "m.descend")
    loaded = load_model(tmp_path / "m.descend")
    assert isinstance(loaded.coef_, sp.csr_matrix)
    assert_same_fitted(model, loaded)
    assert_same_predictions(model, loaded, X)
    assert_same_predictions(model, loaded, sp.csr_matrix(X))
    loaded.densify()
    model.densify()
    assert np.array_equal(loaded.coef_, model.coef_)
    # a csr_array too
    reg = SGDRegressor(penalty="l1", alpha=0.05, random_state=0).fit(X, y.astype(float))
    reg.coef_ = sp.csr_array(reg.coef_.reshape(1, -1))
    save_model(reg, tmp_path / "r.descend")
    assert isinstance(load_model(tmp_path / "r.descend").coef_, sp.csr_array)


def test_dataframe_feature_names_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")  # a test dependency; never skipped in CI
    X, y = problem("three-str")
    frame = pd.DataFrame(X, columns=[f"col {j}" for j in range(X.shape[1])])
    model = LogisticRegression(max_iter=20, tol=None).fit(frame, pd.Series(y).astype(object))
    assert model.classes_.dtype == object
    save_model(model, tmp_path / "m.descend")
    loaded = load_model(tmp_path / "m.descend")
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == list(frame.columns)
    assert_same_fitted(model, loaded)
    assert_same_predictions(model, loaded, frame)
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"col 0": "other"}))


@pytest.mark.parametrize("labels", [
    np.array([-3, 7]), np.array([-1.0, 2.0]), np.array([False, True]),
    np.array(["no", "yes"]), np.array(["no", "yes"], dtype=object),
    np.array([10**12, 2**40], dtype=np.int64), np.array([1, 2], dtype=np.uint8),
    np.array([b"n", b"y"]),
], ids=["int", "float", "bool", "str", "object-str", "int64", "uint8", "bytes"])
def test_label_types_round_trip(labels, tmp_path):
    X, y01 = problem("binary")
    y = labels[y01]
    for cls in (LogisticRegression, SGDClassifier):
        model = cls(max_iter=10, tol=None).fit(X, y)
        save_model(model, tmp_path / "m.descend")
        loaded = load_model(tmp_path / "m.descend")
        assert loaded.classes_.dtype == model.classes_.dtype
        assert_same_fitted(model, loaded)
        assert_same_predictions(model, loaded, X)


def test_extra_round_trips_with_its_types(tmp_path):
    model, X, y = fitted("logistic-binary")
    extra = {"scaler": {"mean": np.arange(3.0), "scale": np.ones(3, dtype=np.float32)},
             "names": np.array(["a", "b", "é"], dtype=object), 7: (1, 2.5, None),
             "flags": [True, False], "nested": {"$dollar key": 1, (1, 2): "tuple key"},
             "numbers": [np.int32(5), np.float32(0.25), math.inf, -math.inf],
             "nan": math.nan, "text": np.str_("x"), "empty": np.array([], dtype=object)}
    save_model(model, tmp_path / "m.descend", extra=extra)
    loaded, got = load_model(tmp_path / "m.descend", return_extra=True)
    assert got.keys() == extra.keys()
    assert got["scaler"]["scale"].dtype == np.float32
    assert np.array_equal(got["scaler"]["mean"], extra["scaler"]["mean"])
    assert got["names"].dtype == object and got["names"].tolist() == ["a", "b", "é"]
    assert got[7] == (1, 2.5, None) and got["flags"] == [True, False]
    assert got["nested"] == {"$dollar key": 1, (1, 2): "tuple key"}
    assert [type(v) for v in got["numbers"]] == [np.int32, np.float32, float, float]
    assert got["numbers"][:2] == [5, 0.25] and got["numbers"][2:] == [math.inf, -math.inf]
    assert math.isnan(got["nan"]) and type(got["text"]) is np.str_
    assert got["empty"].shape == (0,) and got["empty"].dtype == object
    assert load_model(tmp_path / "m.descend").get_params() == model.get_params()


def test_the_file_is_a_zip_of_json_and_npy(tmp_path):
    model, X, y = fitted("logistic-multinomial")
    save_model(model, tmp_path / "m.descend")
    with zipfile.ZipFile(tmp_path / "m.descend") as archive:
        infos = archive.infolist()
        document = json.loads(archive.read("metadata.json"))
    assert infos[0].filename == "metadata.json"
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    assert all(i.filename.endswith(".npy") for i in infos[1:])
    assert document["format"] == "descend-model" and document["format_version"] == 2
    assert document["descend_version"] == descend.__version__
    assert document["estimator"] == "LogisticRegression"
    assert document["params"]["class_weight"] == {"$dict": [[0, 1.0], [1, 2.0], [2, 0.5]]}
    assert document["fitted"]["n_iter_"] == model.n_iter_
    assert set(document["fitted"]) == {"coef_", "intercept_", "classes_", "n_features_in_",
                                       "n_iter_", "t_", "converged_", "eta0_", "history_"}


# --------------------------------------------------------------------------
# what save_model refuses


def test_save_refuses_what_a_model_file_cannot_hold(tmp_path):
    model, X, y = fitted("logistic-binary")
    path = tmp_path / "m.descend"
    model.set_params(callback=lambda record: False)
    with pytest.raises(TypeError, match=r"parameter 'callback' of LogisticRegression is a "
                                        r"function.*set_params\(callback=None\)"):
        save_model(model, path)
    model.set_params(callback=None, random_state=np.random.RandomState(0))
    with pytest.raises(TypeError, match=r"parameter 'random_state' .* RandomState.*"
                                        r"set_params\(random_state="):
        save_model(model, path)
    model.set_params(random_state=0)
    with pytest.raises(TypeError, match=r"mixed types \(int, str\)"):
        save_model(model, path, extra={"labels": np.array([1, "a"], dtype=object)})
    with pytest.raises(TypeError, match="does not convert exactly"):
        save_model(model, path, extra=np.array(["ends in NUL\x00"], dtype=object))
    with pytest.raises(TypeError, match="dtype complex128"):
        save_model(model, path, extra=np.zeros(2, dtype=complex))
    with pytest.raises(TypeError, match="a set"):
        save_model(model, path, extra={1, 2})
    loop = []
    loop.append(loop)
    with pytest.raises(TypeError, match="nested more than"):
        save_model(model, path, extra=loop)
    assert not path.exists() and list(tmp_path.iterdir()) == []  # nothing half-written
    with pytest.raises(NotFittedError):
        save_model(LogisticRegression(), path)
    from sklearn.pipeline import make_pipeline
    with pytest.raises(TypeError, match="got Pipeline"):
        save_model(make_pipeline(clone(model)), path)

    class Mine(LinearRegression):
        pass

    with pytest.raises(TypeError, match="got .*Mine"):
        save_model(Mine(max_iter=5, tol=None).fit(X, y), path)


# --------------------------------------------------------------------------
# damaged, crafted and foreign files: one clear ValueError naming the file


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_members(path, contents, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return path


def npy(array, **kwargs):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


@pytest.fixture
def saved(tmp_path):
    """A saved SGDClassifier (one-vs-rest, log loss), its members and metadata."""
    model, X, y = fitted("sgd-log-ovr")
    path = tmp_path / "good.descend"
    save_model(model, path)
    contents = members(path)
    return path, contents, json.loads(contents["metadata.json"])


def crafted(tmp_path, contents, document=None, name="crafted.descend", **kwargs):
    contents = dict(contents)
    if document is not None:
        contents["metadata.json"] = json.dumps(document).encode()
    return write_members(tmp_path / name, contents, **kwargs)


def coef_member(document):
    return document["fitted"]["coef_"]["$array"]


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def edit(change):
    def apply(document):
        change(document)
        return document
    return apply


DOCUMENT_EDITS = {
    "newer format": (edit(lambda d: d.update(format_version=3, descend_version="9.0")),
                     r"written in model format version 3 \(by descend 9.0\); this descend "
                     r"\(0.1.0\) reads format version 2: upgrade descend"),
    "pickle-era version": (edit(lambda d: d.update(format_version=1)),
                           r"model format version 1 .* is not one this descend"),
    "version as text": (edit(lambda d: d.update(format_version="2")), "format_version '2'"),
    "other format": (edit(lambda d: d.update(format="skops")),
                     "not a descend model file \\(format 'skops'"),
    "unknown estimator": (edit(lambda d: d.update(estimator="Ridge")),
                          "unknown estimator 'Ridge'"),
    "importable name": (edit(lambda d: d.update(estimator="sklearn.linear_model.Ridge")),
                        "unknown estimator"),
    "unknown parameter": (edit(lambda d: d["params"].update(new_thing=1)),
                          "SGDClassifier has no parameter 'new_thing'.*upgrade descend"),
    "params not a dict": (edit(lambda d: d.update(params=[1])),
                          "'params' is missing or not a dict"),
    "unknown attribute": (edit(lambda d: d["fitted"].update(predict="x")),
                          "unknown fitted attribute 'predict'"),
    "missing coef_": (edit(lambda d: d["fitted"].pop("coef_")), "attribute coef_ is missing"),
    "unknown tag": (edit(lambda d: d["params"].update(alpha={"$eval": "1+1"})),
                    "unknown tag '\\$eval'"),
    "two tags": (edit(lambda d: d["params"].update(alpha={"$float": "nan", "$x": 1})),
                 "unknown tag"),
    "bad float tag": (edit(lambda d: d["params"].update(alpha={"$float": "1e999"})),
                      "\\$float must be one of"),
    "missing member": (edit(lambda d: d["fitted"]["coef_"].update({"$array": "nope.npy"})),
                       "no array member 'nope.npy'"),
    "member used twice": (edit(lambda d: d["fitted"].update(
        intercept_={"$array": coef_member(d)})), "is used twice"),
    "metadata as an array": (edit(lambda d: d["fitted"].update(
        coef_={"$array": "metadata.json"})), "used twice"),
    "text coef_": (edit(lambda d: d["fitted"].update(coef_=[["a"]])),
                   "coef_ must be an array of finite floats"),
    "wrong n_features_in_": (edit(lambda d: d["fitted"].update(n_features_in_=4)),
                             "the model cannot predict"),
    "classes_ not an array": (edit(lambda d: d["fitted"].update(classes_="ab")),
                              "attribute classes_ has the wrong type"),
    "bool n_iter_": (edit(lambda d: d["fitted"].update(n_iter_=True)),
                     "attribute n_iter_ has the wrong type"),
    "deep nesting": (edit(lambda d: d.update(extra=nested(40))), "nested more than 32 deep"),
    "bad dict tag": (edit(lambda d: d.update(extra={"$dict": [[[1], 2]]})),
                     "a dict key must be"),
    "history length": (edit(lambda d: d["fitted"]["history_"]["$history"]["columns"].update(
        epoch=[1, 2])), "history columns must be 1-D"),
}


@pytest.mark.parametrize("case", list(DOCUMENT_EDITS))
def test_crafted_metadata_is_refused(case, saved, tmp_path):
    path, contents, document = saved
    change, message = DOCUMENT_EDITS[case]
    bad = crafted(tmp_path, contents, change(json.loads(json.dumps(document))))
    with pytest.raises(ValueError, match=message) as info:
        load_model(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def corrupt_members(path, contents, document):
    """(name, file, message) of archives damaged in their members."""
    coef = coef_member(document)
    header_bomb = npy(np.zeros(1)).replace(b"(1,)", b"(12500000000,)")  # 100 GB claimed
    for name, change, message in [
        ("object coef_", {coef: npy(np.array([[1.0, "x"]], dtype=object),
                                    allow_pickle=True)}, "holds Python objects"),
        ("100 GB header", {coef: header_bomb},
         r"claims shape \(12500000000,\) of float64 \(100,000,000,000 bytes\)"),
        ("complex coef_", {coef: npy(np.zeros((3, 5), dtype=complex))}, "unsupported dtype"),
        ("short data", {coef: contents[coef][:-8]}, "bytes of data are stored"),
        ("not npy", {coef: b"hello"}, "not a readable .npy array"),
        ("npy 3.0", {coef: contents[coef].replace(b"\x01\x00", b"\x03\x00", 1)},
         "not a readable .npy array"),
        ("header code", {coef: npy(np.zeros(2)).replace(
            b"'descr': '<f8'", b"'descr': __import__('os').getcwd()")},
         "not a readable .npy array"),
        ("metadata not JSON", {"metadata.json": b"{'format': 1"}, "metadata.json"),
        ("metadata NaN", {"metadata.json": b'{"format": NaN}'}, "non-standard JSON"),
        ("metadata not UTF-8", {"metadata.json": b'{"format": "\xff"}'}, "metadata.json"),
        ("metadata list", {"metadata.json": b"[]"}, "is not a JSON object"),
        ("no metadata", {"metadata.json": None}, "no metadata.json"),
    ]:
        changed = {**contents, **change}
        yield name, {k: v for k, v in changed.items() if v is not None}, message


def test_damaged_members_are_refused(saved, tmp_path):
    path, contents, document = saved
    for name, changed, message in corrupt_members(path, contents, document):
        bad = crafted(tmp_path, changed, name=name.replace(" ", "_") + ".descend")
        with pytest.raises(ValueError, match=message) as info:
            load_model(bad)
        assert str(bad) in str(info.value), name


def test_a_flipped_bit_fails_the_crc(saved, tmp_path):
    path, contents, document = saved
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(coef_member(document))
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    last = info.header_offset + 30 + name_length + extra_length + info.file_size - 1
    data[last] ^= 0x01  # the last coefficient's lowest byte
    bad = tmp_path / "flipped.descend"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"flipped.descend: member .*coef_.*Bad CRC-32"):
        load_model(bad)


def test_damaged_csr_is_refused(tmp_path):
    X, y = problem("binary", p=20)
    model = SGDClassifier(penalty="l1", alpha=0.05, random_state=0).fit(X, y).sparsify()
    save_model(model, tmp_path / "m.descend")
    contents = members(tmp_path / "m.descend")
    document = json.loads(contents["metadata.json"])
    indices = document["fitted"]["coef_"]["$csr"]["indices"]["$array"]
    # an index beyond the 20 columns: scipy would read out of bounds
    contents[indices] = npy(np.full(model.coef_.nnz, 10**6, dtype=np.int32))
    with pytest.raises(ValueError, match="invalid CSR matrix"):
        load_model(crafted(tmp_path, contents))
    document["fitted"]["coef_"]["$csr"]["type"] = "coo_matrix"
    with pytest.raises(ValueError, match="must name csr_matrix or csr_array"):
        load_model(crafted(tmp_path, contents, document))


def test_truncated_and_foreign_files_are_refused(saved, tmp_path):
    path, contents, document = saved
    data = path.read_bytes()
    for n in (0, 1, 4, 30, len(data) // 2, len(data) - 22, len(data) - 1):
        cut = tmp_path / f"cut{n}.descend"
        cut.write_bytes(data[:n])
        message = "not a descend model file" if n < 4 else "damaged or truncated model file"
        with pytest.raises(ValueError, match=f"{cut}: {message}") as info:
            load_model(cut)
        assert "\n" not in str(info.value)
    text = tmp_path / "data.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"data.csv: not a descend model file \(not a zip"):
        load_model(text)
    import pickle
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"estimator": 1}))
    with pytest.raises(ValueError, match="model.pkl: is a pickle .* descend never unpickles"):
        load_model(pickled)
    with pytest.raises(ValueError, match="no such model file"):
        load_model(tmp_path / "missing.descend")
    with pytest.raises(ValueError, match="cannot read the model file"):
        load_model(tmp_path)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, X=np.zeros(3))
    with pytest.raises(ValueError, match="no metadata.json"):
        load_model(npz)
    compressed = crafted(tmp_path, contents, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="is compressed; descend model files store"):
        load_model(compressed)
    twice = tmp_path / "twice.descend"
    with zipfile.ZipFile(twice, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile: "Duplicate name"
        for name, value in [*contents.items(), ("metadata.json", contents["metadata.json"])]:
            archive.writestr(name, value)
    with pytest.raises(ValueError, match="duplicate member names"):
        load_model(twice)


def claim_size(path, member, size):
    """Rewrite a member's sizes in the zip's central directory (a zip bomb's
    claim: the bytes stored stay the same)."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46:entry + 46 + name_length].decode() == member:
            break
        extra, comment = struct.unpack_from("<HH", data, entry + 30)
        entry += 46 + name_length + extra + comment
    struct.pack_into("<II", data, entry + 20, size, size)
    path.write_bytes(bytes(data))


def assert_refused_in_little_memory(path, message):
    """load_model refuses the file, allocating less than 20 MiB on the way."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak


def test_a_claimed_huge_member_is_refused_before_allocation(saved, tmp_path):
    path, contents, document = saved
    for member in (coef_member(document), "metadata.json"):
        bomb = crafted(tmp_path, contents, name="bomb.descend")
        claim_size(bomb, member, 0xFFFFFFF0)  # 4 GB claimed by a few kB
        assert_refused_in_little_memory(bomb, "claim more bytes than the file has")
    # an npy header claiming 100 GB, in a member of the right size
    header_bomb = npy(np.zeros(1)).replace(b"(1,)", b"(12500000000,)")
    bomb = crafted(tmp_path, {**contents, coef_member(document): header_bomb},
                   name="header.descend")
    assert_refused_in_little_memory(bomb, "100,000,000,000 bytes")
    # metadata of more than 16 MiB is not parsed
    big = dict(contents)
    big["metadata.json"] = b'{"format": "' + b"x" * (17 * 2**20) + b'"}'
    with pytest.raises(ValueError, match="metadata.json is 17,825,"):
        load_model(crafted(tmp_path, big, name="big.descend"))
