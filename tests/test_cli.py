"""The `descend` command, run as a user runs it (subprocess).

Each subprocess pays descend's import (about a second), so the data-file
cases share small files written once per module, and the failure paths
beyond the four main ones run in-process through ``descend.cli.main``.
"""
import csv
import importlib.util
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest


def descend_command():
    """The installed console script, beside this interpreter."""
    script = Path(sys.executable).with_name("descend")
    return [str(script)] if script.exists() else [sys.executable, "-m", "descend.cli"]


def run(*args, cwd=None):
    return subprocess.run([*descend_command(), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def in_process(capsys, *args):
    """``descend ARGS`` through descend.cli.main in this process (for the
    cases that need a patched environment, or would only repeat a check
    already made in a subprocess): (exit code, stdout, stderr)."""
    from descend.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse: --help, bad arguments
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(result, *fragments):
    """Exit code 2 and exactly one line on stderr, containing fragments."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def metric(name, stdout):
    return float(re.search(rf"held-out {name}: (-?[\d.]+)", stdout).group(1))


def saved(path):
    """(estimator, the command's extra) of a model file of 'descend train --out'."""
    import descend

    estimator, extra = descend.load_model(path, return_extra=True)
    return estimator, extra["descend_cli"]


def standardise(saved_cli, X):
    """StandardScaler.transform with the saved mean_ and scale_ (what
    'descend train' fitted), to check that predict applies it bit for bit."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = saved_cli["scaler"]["mean"], saved_cli["scaler"]["scale"]
    scaler.var_, scaler.n_features_in_ = scaler.scale_ ** 2, X.shape[1]
    scaler.n_samples_seen_ = 1
    return scaler.transform(X)


def test_console_script_is_installed():
    assert Path(sys.executable).with_name("descend").exists()


def test_python_m_descend_cli_and_no_benchmark_code_in_the_package():
    result = subprocess.run([sys.executable, "-m", "descend.cli", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "train" in result.stdout, result.stderr
    # the benchmark harness lives in benchmarks/, not in the installed package
    for name in ("descend._bench", "descend._bench_sparse"):
        assert importlib.util.find_spec(name) is None


def test_train_default_prints_epochs_accuracy_and_time():
    result = run("train")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) >= 10
    # the default optimizer (lbfgs) records each iteration's end point
    first = re.match(r"epoch +1 +objective (0\.\d+) +lr [\d.]+ .*seconds [\d.]+", epochs[0])
    assert first and float(first.group(1)) < np.log(2)
    numbers = [int(line.split()[1]) for line in epochs]
    assert numbers == list(range(1, len(epochs) + 1))
    accuracy = float(re.search(r"held-out accuracy: ([\d.]+)", result.stdout).group(1))
    assert accuracy > 0.95
    assert re.search(r"fit time: [\d.]+ s", result.stdout)


def test_train_options_and_quiet():
    result = run("train", "--batch-size", "16", "--max-iter", "5", "--tol", "0", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "epoch" not in result.stdout.split("held-out")[0].replace("epochs", "")
    assert "stopped after 5 epochs" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--alpha", "-1"], "'alpha' parameter"),
    (["train", "--max-iter", "0"], "--max-iter"),
    (["train", "--eta0", "zero"], "--eta0"),
    (["fly"], "invalid choice"),
])
def test_bad_arguments_give_one_clear_line_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_describes_the_command():
    result = run("train", "--help")
    assert result.returncode == 0
    for option in ("--batch-size", "--eta0", "--alpha", "--max-iter", "--n-jobs"):
        assert option in result.stdout


# --------------------------------------------------------------------------
# data files


N_ROWS = 160


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small data files: a classification CSV (text labels, target in the
    middle), a regression CSV (target last), an npz with X and y, an npz
    holding one 2-D array (target first), an svmlight file (classes), a
    regression svmlight file, and a three-class CSV (clusters)."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_ROWS, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -2.0]
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = np.where(Z @ [2.0, -1.5, 1.0] + 0.3 * rng.standard_normal(N_ROWS) > 0,
                      "yes", "no")
    y_reg = Z @ [3.0, -2.0, 0.5] + 1.0 + 0.1 * rng.standard_normal(N_ROWS)
    paths = {name: folder / name for name in
             ("class.csv", "reg.csv", "xy.npz", "table.npz", "data.svm", "reg.svm",
              "three.csv")}
    with open(paths["class.csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["height", "label", "weight", "age"])
        for row, label in zip(X.tolist(), labels.tolist()):
            writer.writerow([row[0], label, row[1], row[2]])
    with open(paths["reg.csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "target"])
        writer.writerows(np.column_stack([X, y_reg]).tolist())
    y_class = (labels == "yes").astype(np.int64)
    np.savez(paths["xy.npz"], X=X, y=y_class)
    np.savez(paths["table.npz"], np.column_stack([y_class, X]))
    from sklearn.datasets import dump_svmlight_file
    dump_svmlight_file(X, y_class, str(paths["data.svm"]))
    dump_svmlight_file(X, y_reg, str(paths["reg.svm"]))
    species = np.repeat(["a", "b", "c"], N_ROWS // 4)
    centres = {"a": [0.0, 0.0], "b": [4.0, 0.0], "c": [0.0, 4.0]}
    points = np.array([centres[s] for s in species]) + rng.standard_normal((len(species), 2))
    with open(paths["three.csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x1", "x2", "species"])
        writer.writerows([*row, s] for row, s in zip(points.tolist(), species))
    paths["labels"] = labels
    return paths


# --------------------------------------------------------------------------
# descend train DATA


def test_train_csv_classification_by_target_name(files):
    result = run("train", str(files["class.csv"]), "--target", "label", "--quiet")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("descend: LogisticRegression on ")
    assert f"({N_ROWS * 4 // 5} train / {N_ROWS // 5} test rows, 3 features, standardised)" in out
    assert "target 'label': 2 classes (no, yes)" in out
    assert metric("accuracy", out) > 0.85
    assert 0 < metric("log loss", out) < 0.5
    assert re.search(r"fit time: [\d.]+ s", out)


def test_train_csv_regression_default_target_and_options(files):
    result = run("train", str(files["reg.csv"]), "--optimizer", "adam", "--batch-size", "16",
                 "--eta0", "0.05", "--max-iter", "60", "--tol", "none", "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("descend: LinearRegression on ")
    assert "target 'target': numeric" in out
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 60
    assert "stopped after 60 epochs (max_iter)" in out
    assert metric("R2", out) > 0.95
    assert 0 < metric("RMSE", out) < 1.0


def test_train_npz_single_array_target_index(files):
    result = run("train", str(files["table.npz"]), "--target", "0", "--quiet",
                 "--model", "logistic", "--penalty", "elasticnet", "--l1-ratio", "0.5",
                 "--alpha", "1e-3")
    assert result.returncode == 0, result.stderr
    assert "target column 0: 2 classes (0, 1)" in result.stdout
    assert metric("accuracy", result.stdout) > 0.85


def test_train_svmlight_and_predict(files, tmp_path, capsys):
    model = tmp_path / "model.descend"
    result = run("train", str(files["data.svm"]), "--quiet", "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert "LogisticRegression on " in result.stdout
    # the CSR matrix is fitted as it is, standardised inside the solver
    assert ", standardised inside the solver)" in result.stdout
    assert saved(model)[1]["sparse_input"] is True
    assert metric("accuracy", result.stdout) > 0.85
    # the model on the same rows, from the svmlight file and from an npz
    outputs = []
    for data in (files["data.svm"], files["xy.npz"]):
        code, out, err = in_process(capsys, "predict", model, data)
        assert code == 0, err
        rows = list(csv.reader(out.splitlines()))
        assert rows[0] == ["prediction", "proba_0", "proba_1"]
        assert len(rows) == N_ROWS + 1
        outputs.append(np.array(rows[1:], dtype=float))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-10)


def test_train_a_fit_that_certifies_its_start(tmp_path, capsys):
    """R13: constant features and balanced labels: the zero model is
    certified optimal, the fit records no epoch; the command reports it
    (it read the last epoch's objective and died with an IndexError)."""
    data = tmp_path / "zero.svm"
    data.write_bytes(b"".join(b"%d 0:1 1:2\n" % (i % 2) for i in range(40)))
    code, out, err = in_process(capsys, "train", data, "--quiet")
    assert code == 0, err
    assert "stopped after 0 epochs (tol): the starting point was already certified" in out


def test_csv_without_pandas_reads_the_same(files, capsys, monkeypatch):
    import pandas  # noqa: F401  (a test dependency: never skipped)
    import descend._readers

    args = ["train", files["class.csv"], "--target", "label", "--quiet"]
    code, with_pandas, err = in_process(capsys, *args)
    assert code == 0, err
    monkeypatch.setattr(descend._readers, "_import_pandas", lambda: None)
    code, without, err = in_process(capsys, *args)
    assert code == 0, err
    strip = lambda text: re.sub(r"fit time: .*", "", text)  # noqa: E731
    assert strip(with_pandas) == strip(without)


def test_out_and_predict_round_trip(files, tmp_path):
    model, pred = tmp_path / "model.descend", tmp_path / "pred.csv"
    result = run("train", str(files["class.csv"]), "--target", "label", "--quiet",
                 "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert f"saved the model to {model}" in result.stdout
    result = run("predict", str(model), str(files["class.csv"]), "--out", str(pred))
    assert result.returncode == 0, result.stderr
    with open(pred, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["prediction", "proba_no", "proba_yes"]
    assert len(rows) == N_ROWS + 1  # one per input row (the label column was dropped)
    predicted = np.array([row[0] for row in rows[1:]])
    proba = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(predicted, np.where(proba[:, 1] > 0.5, "yes", "no"))
    assert np.mean(predicted == files["labels"]) > 0.85
    _, cli = saved(model)
    assert list(cli["feature_names"]) == ["height", "weight", "age"]
    assert cli["scaler"] is not None and cli["target"] == "label"


def test_predict_regression_matches_the_estimator(files, tmp_path, capsys):
    model = tmp_path / "reg.descend"
    code, out, err = in_process(capsys, "train", files["reg.csv"], "--quiet", "--out", model)
    assert code == 0, err
    code, out, err = in_process(capsys, "predict", model, files["reg.csv"])
    assert code == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["prediction"]
    estimator, cli = saved(model)
    X = np.loadtxt(files["reg.csv"], delimiter=",", skiprows=1)[:, :3]
    expected = estimator.predict(standardise(cli, X))
    np.testing.assert_array_equal(np.array(rows[1:], dtype=float).ravel(), expected)


def test_plot_writes_a_png(files, tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    curve = tmp_path / "curve.png"
    result = run("train", str(files["reg.csv"]), "--quiet", "--plot", str(curve))
    assert result.returncode == 0, result.stderr
    assert f"saved the convergence plot to {curve}" in result.stdout
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_one_line(files, tmp_path, capsys, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    code, out, err = in_process(capsys, "train", files["reg.csv"],
                                "--plot", tmp_path / "c.png")
    assert code == 2 and out == ""
    assert err == ("descend train: error: --plot needs matplotlib, which is not "
                   "installed (pip install 'descend[plot]')\n")


class _Terminal:
    """A stand-in for a terminal's stderr."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_without_tqdm(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, out, _ = in_process(capsys, "train", files["class.csv"], "--target", "label",
                              "--progress")
    assert code == 0
    assert "epoch  " not in out and "held-out accuracy" in out  # no per-epoch lines
    assert re.search(r"\r\[#{30}\] epoch \d+/1000  objective [\d.]+  done\n$",
                     terminal.text), terminal.text


def test_progress_falls_back_to_the_table_off_a_terminal(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    code, out, err = in_process(capsys, "train", files["class.csv"], "--target", "label",
                                "--progress")
    assert code == 0
    assert "printing per-epoch lines instead" in err
    assert re.search(r"^epoch +1 +objective", out, re.M)


def test_parquet(files, tmp_path, capsys):
    path = tmp_path / "data.parquet"
    if importlib.util.find_spec("pyarrow") is None:
        path.write_bytes(b"PAR1 not really")
        code, out, err = in_process(capsys, "train", path)
        assert code == 2 and len(err.splitlines()) == 1
        assert "reading Parquet needs pyarrow" in err
        return
    import pandas as pd
    pd.read_csv(files["reg.csv"]).to_parquet(path)
    code, out, err = in_process(capsys, "train", path, "--quiet")
    assert code == 0, err
    assert metric("R2", out) > 0.95


# --------------------------------------------------------------------------
# model files: descend's format, models saved from Python, old pickles


def legacy_bundle(path, estimator, scaler):
    """A version-1 model file, as descend 0.1.0's 'train --out' wrote it."""
    import joblib

    joblib.dump({"format": "descend-model", "format_version": 1,
                 "descend_version": "0.1.0", "task": "classification",
                 "estimator": estimator, "scaler": scaler,
                 "feature_names": ["height", "weight", "age"], "named_features": True,
                 "target": "label", "target_index": 1, "n_columns": 4,
                 "sparse_input": False}, path)


def test_old_pickle_models_load_only_with_allow_pickle(files, tmp_path, capsys):
    from sklearn.preprocessing import StandardScaler

    model = tmp_path / "model.descend"
    code, out, err = in_process(capsys, "train", files["class.csv"], "--target", "label",
                                "--quiet", "--out", model)
    assert code == 0, err
    code, expected, err = in_process(capsys, "predict", model, files["class.csv"])
    assert code == 0 and err == "", err
    # the same estimator and scaler in an old joblib bundle
    estimator, cli = saved(model)
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = cli["scaler"]["mean"], cli["scaler"]["scale"]
    scaler.var_, scaler.n_features_in_, scaler.n_samples_seen_ = scaler.scale_ ** 2, 3, 1
    old = tmp_path / "old.joblib"
    legacy_bundle(old, estimator, scaler)

    result = run("predict", str(old), str(files["class.csv"]))
    line = one_error_line(result, "old.joblib: is a pickle", "--allow-pickle",
                          "can run any code")
    assert result.stdout == "", line
    result = run("predict", str(old), str(files["class.csv"]), "--allow-pickle")
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    warning, = result.stderr.splitlines()
    assert warning.startswith("descend predict: warning: loading ") and "trust" in warning


def test_predict_with_a_model_saved_from_python(files, tmp_path, capsys):
    """A model saved by descend.save_model (no standardisation, fitted on a
    DataFrame) matches the file's columns by name."""
    import pandas as pd

    import descend

    frame = pd.read_csv(files["class.csv"])
    X, y = frame[["age", "height", "weight"]], frame["label"]
    model = descend.LogisticRegression(scale_features=True).fit(X, y)
    path = tmp_path / "python.descend"
    descend.save_model(model, path)
    code, out, err = in_process(capsys, "predict", path, files["class.csv"])
    assert code == 0, err
    # one note, and no warning about the ndarray the columns were matched into
    assert err == ("descend predict: note: ignored column(s) the model was not trained "
                   "on: 'label'\n")
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["prediction", "proba_no", "proba_yes"]
    assert [row[0] for row in rows[1:]] == model.predict(X).tolist()
    # the command reads C-ordered rows (a DataFrame's columns are F-ordered, and
    # the order changes the last bits of X @ coef_)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        expected = model.predict_proba(np.ascontiguousarray(X))
    np.testing.assert_array_equal(np.array([row[1:] for row in rows[1:]], dtype=float),
                                  expected)


def test_svmlight_feature_limit_and_max_features(tmp_path, capsys):
    path = tmp_path / "wide.svm"
    path.write_text("1 1:1 50:2\n0 2:1 3:1\n1 1:2\n0 3:2\n")
    code, out, err = in_process(capsys, "train", path, "--max-features", "10",
                                "--test-size", "0", "--quiet")
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "row 1's feature index implies 50 features, more than the 10 allowed by " \
           "--max-features" in err
    code, out, err = in_process(capsys, "train", path, "--test-size", "0", "--quiet")
    assert code == 0, err
    assert "50 features" in out


# --------------------------------------------------------------------------
# the sgd models (SGDClassifier, SGDRegressor)


def epoch_numbers(stdout):
    return [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("epoch ")]


def test_sgd_classifier_csv_hinge_then_predict(files, tmp_path):
    """The default loss (hinge) gives no probabilities: accuracy only, and
    predictions without proba_ columns."""
    model, pred = tmp_path / "hinge.descend", tmp_path / "pred.csv"
    result = run("train", str(files["class.csv"]), "--target", "label",
                 "--model", "sgd-classifier", "--out", str(model))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("descend: SGDClassifier(loss='hinge') on ")
    assert "target 'label': 2 classes (no, yes)\n" in out
    n_epochs = int(re.search(r"stopped after (\d+) epochs", out).group(1))
    assert epoch_numbers(out) == list(range(1, n_epochs + 1))
    assert metric("accuracy", out) > 0.85
    assert "log loss" not in out
    result = run("predict", str(model), str(files["class.csv"]), "--out", str(pred))
    assert result.returncode == 0, result.stderr
    with open(pred, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["prediction"]
    assert len(rows) == N_ROWS + 1
    assert np.mean(np.array(rows[1:]).ravel() == files["labels"]) > 0.85


def test_sgd_classifier_svmlight_log_loss_then_predict(files, tmp_path, capsys):
    """log_loss gives probabilities: the held-out log loss, and proba_
    columns; the svmlight matrix stays CSR (standardised in the solver)."""
    model = tmp_path / "log.descend"
    result = run("train", str(files["data.svm"]), "--model", "sgd-classifier",
                 "--loss", "log_loss", "--quiet", "--out", str(model))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("descend: SGDClassifier(loss='log_loss') on ")
    assert "3 features, standardised inside the solver)" in out
    assert metric("accuracy", out) > 0.8
    assert 0 < metric("log loss", out) < 1.5
    _, cli = saved(model)
    assert cli["sparse_input"] and cli["scaler"] is None
    outputs = []
    for data in (files["data.svm"], files["xy.npz"]):
        code, text, err = in_process(capsys, "predict", model, data)
        assert code == 0, err
        rows = list(csv.reader(text.splitlines()))
        assert rows[0] == ["prediction", "proba_0", "proba_1"]
        outputs.append(np.array(rows[1:], dtype=float))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-10)
    np.testing.assert_allclose(outputs[0][:, 1:].sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("data, options", [
    ("reg.csv", ["--loss", "huber", "--epsilon", "0.5"]),
    ("reg.svm", []),
])
def test_sgd_regressor_csv_and_svmlight_then_predict(data, options, files, tmp_path,
                                                      capsys):
    model = tmp_path / "reg.descend"
    result = run("train", str(files[data]), "--model", "sgd-regressor", "--quiet",
                 "--out", str(model), *options)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    loss = options[1] if options else "squared_error"
    assert out.startswith(f"descend: SGDRegressor(loss='{loss}') on ")
    assert metric("R2", out) > 0.95
    assert 0 < metric("RMSE", out) < 1.0
    code, text, err = in_process(capsys, "predict", model, files[data])
    assert code == 0, err
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["prediction"] and len(rows) == N_ROWS + 1
    estimator, cli = saved(model)
    assert estimator.intercept_.shape == (1,)
    if data == "reg.csv":
        X = np.loadtxt(files["reg.csv"], delimiter=",", skiprows=1)[:, :3]
        expected = estimator.predict(standardise(cli, X))
        np.testing.assert_array_equal(np.array(rows[1:], dtype=float).ravel(), expected)


def test_sgd_plot_writes_a_png(files, tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    curve = tmp_path / "sgd.png"
    result = run("train", str(files["reg.svm"]), "--model", "sgd-regressor", "--quiet",
                 "--plot", str(curve))
    assert result.returncode == 0, result.stderr
    assert f"saved the convergence plot to {curve}" in result.stdout
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, fragments", [
    (["@class.csv", "--target", "label", "--model", "logistic", "--loss", "hinge"],
     ["--loss applies to --model sgd-classifier and --model sgd-regressor only",
      "not --model logistic"]),
    (["@reg.csv", "--model", "sgd-regressor", "--loss", "hinge_loss"],
     ["argument --loss: invalid choice: 'hinge_loss'", "squared_epsilon_insensitive"]),
    (["@class.csv", "--target", "label", "--model", "sgd-regressor"],
     ["--model sgd-regressor needs a numeric target; 'label' holds text"]),
])
def test_sgd_failures_exit_2_with_one_line(args, fragments, files):
    result = run("train", *[str(files[a[1:]]) if a.startswith("@") else a for a in args])
    one_error_line(result, *fragments)


def _fitted(capsys, tmp_path, *args):
    """The estimator 'descend train ARGS --out' saves."""
    model = tmp_path / "fitted.descend"
    code, out, err = in_process(capsys, "train", *args, "--quiet", "--out", model)
    assert code == 0, err
    return saved(model)[0]


@pytest.mark.parametrize("name, data", [("sgd-classifier", "data.svm"),
                                        ("sgd-regressor", "reg.csv")])
def test_sgd_models_keep_their_own_defaults(name, data, files, tmp_path, capsys):
    """Options not given keep the estimator's defaults (batch_size=1, the
    'optimal' / 'invscaling' schedule, eta0=0.01, tol=1e-3, ...); svmlight
    input only turns on scale_features."""
    from descend import SGDClassifier, SGDRegressor

    estimator = _fitted(capsys, tmp_path, files[data], "--model", name)
    expected = (SGDClassifier if name == "sgd-classifier" else SGDRegressor)().get_params()
    assert type(estimator).__name__ == ("SGDClassifier" if name == "sgd-classifier"
                                        else "SGDRegressor")
    params = estimator.get_params()
    assert params.pop("random_state") == 0
    expected.pop("random_state")
    assert params.pop("scale_features") == data.endswith(".svm")
    expected.pop("scale_features")
    assert params == expected
    assert params["batch_size"] == 1
    assert params["learning_rate"] == ("optimal" if name == "sgd-classifier" else "invscaling")


def test_sgd_options_reach_the_estimator(files, tmp_path, capsys):
    estimator = _fitted(
        capsys, tmp_path, files["reg.csv"], "--model", "sgd-regressor",
        "--loss", "epsilon_insensitive", "--epsilon", "0.05", "--batch-size", "none",
        "--optimizer", "momentum", "--learning-rate", "constant", "--eta0", "0.05",
        "--alpha", "1e-3", "--penalty", "elasticnet", "--l1-ratio", "0.3",
        "--max-iter", "40", "--tol", "none", "--early-stopping", "--n-jobs", "1",
        "--seed", "7")
    expected = dict(loss="epsilon_insensitive", epsilon=0.05, batch_size=None,
                    optimizer="momentum", learning_rate="constant", eta0=0.05, alpha=1e-3,
                    penalty="elasticnet", l1_ratio=0.3, max_iter=40, tol=None,
                    early_stopping=True, n_jobs=1, random_state=7)
    params = estimator.get_params()
    assert {k: params[k] for k in expected} == expected
    assert estimator.n_iter_ == 40
    code, out, err = in_process(capsys, "train", files["class.csv"], "--target", "label",
                                "--model", "sgd-classifier", "--batch-size", "16",
                                "--penalty", "none", "--learning-rate", "adaptive",
                                "--scale-features", "--quiet")
    assert code == 0, err
    assert "3 features, standardised inside the solver)" in out
    assert metric("accuracy", out) > 0.85


def test_sgd_classifier_one_vs_rest(files, capsys):
    """More than two classes: one binary problem per class, in threads; the
    combined per-epoch lines come after the fit, numbered once."""
    code, out, err = in_process(capsys, "train", files["three.csv"], "--model",
                                "sgd-classifier", "--loss", "modified_huber", "--n-jobs", "2")
    assert code == 0, err
    assert "target 'species': 3 classes (a, b, c)" in out
    assert "one-vs-rest: 3 binary problems" in out
    n_epochs = int(re.search(r"stopped after (\d+) epochs", out).group(1))
    assert epoch_numbers(out) == list(range(1, n_epochs + 1))
    assert metric("accuracy", out) > 0.9
    assert 0 < metric("log loss", out) < 1.0


def test_progress_of_one_vs_rest_only_moves_forward(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, out, _ = in_process(capsys, "train", files["three.csv"], "--model",
                              "sgd-classifier", "--progress", "--n-jobs", "2")
    assert code == 0
    assert not epoch_numbers(out) and "held-out accuracy" in out
    shown = [int(e) for e in re.findall(r"epoch (\d+)/1000", terminal.text)]
    assert shown == sorted(shown) and shown, terminal.text


# --------------------------------------------------------------------------
# descend bench


def test_bench_quick_times_whole_fits_against_scikit_learn():
    result = run("bench", "--quick")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^machine: .+, \d+ logical CPUs \(\d+ usable\)", out, re.M), out
    assert re.search(r"^threads: descend \d+ \(OpenMP\)", out, re.M)
    assert re.search(r"^BLAS: ", out, re.M)
    assert "data: 20,000 x 20 dense float64" in out
    ratios = re.findall(r"ratio \(scikit-learn time / descend time\): ([\d.]+)", out)
    assert len(ratios) == 2 and all(float(r) > 0 for r in ratios)
    # each side's objective, computed from its coefficients; on this
    # well-conditioned problem the full-batch pair (C = 1/(alpha n)) meets
    # at the same optimum
    objectives = [float(v) for v in re.findall(r"objective (0\.\d+)", out)]
    assert len(objectives) == 4 and all(0 < v < np.log(2) for v in objectives)
    assert abs(objectives[0] / objectives[1] - 1) < 1e-3, out
    for word in ("MISS", "PASS", "target", "Target"):
        assert word not in out


def test_bench_sparse_says_when_the_size_is_too_small(capsys):
    code, out, err = in_process(capsys, "bench", "--sparse", "--rows", "500", "--features",
                                "300", "--nnz", "5", "--repeats", "1")
    assert code == 0, err
    assert "data: 500 x 300 CSR float64, " in out
    assert len(re.findall(r"ratio \(scikit-learn time / descend time\)", out)) == 2
    assert re.search(r"note: at this size a fit took [\d.]+ ms, under 20 ms", out), out


# --------------------------------------------------------------------------
# help and failures


@pytest.mark.parametrize("command, options", [
    ("train", ["DATA", "--target", "--model", "--optimizer", "--batch-size",
               "--learning-rate", "--eta0", "--alpha", "--penalty", "--l1-ratio",
               "--max-iter", "--tol", "--early-stopping", "--n-jobs", "--seed",
               "--scale-features", "--no-standardize", "--test-size", "--out", "--plot",
               "--max-features", "loading it runs no code",
               "--quiet", "--progress", "--format", "line_search", "adamw",
               "sgd-classifier", "sgd-regressor", "--loss", "--epsilon", "hinge",
               "log_loss", "squared_epsilon_insensitive", "optimal for sgd-classifier",
               "--model sgd-classifier --loss log_loss"]),
    ("predict", ["MODEL", "DATA", "--out", "--format", "proba_<class>", "--allow-pickle",
                 "loading one runs no code", "use it only for files you trust"]),
    ("bench", ["--quick", "--sparse", "--rows", "--features", "--nnz", "--repeats",
               "C = 1/(alpha * n_samples)", "SGDClassifier(loss=\"log_loss\")"]),
])
def test_help_of_each_command(command, options, capsys):
    code, out, _ = in_process(capsys, command, "--help")
    assert code == 0
    text = " ".join(out.split())  # as wrapped for any terminal width
    for option in options:
        assert option in text, option


@pytest.mark.parametrize("case", ["missing file", "bad target", "malformed csv",
                                  "unknown model"])
def test_failures_exit_2_with_one_line(case, files, tmp_path):
    if case == "missing file":
        result = run("train", str(tmp_path / "nope.csv"))
        one_error_line(result, "nope.csv: no such file")
    elif case == "bad target":
        result = run("train", str(files["class.csv"]), "--target", "colour")
        one_error_line(result, "no column named 'colour'", "'height'")
    elif case == "malformed csv":
        path = tmp_path / "bad.csv"
        path.write_text("a,b,c\n1,2,3\n4,5,6,7\n")
        one_error_line(run("train", str(path)), "bad.csv: malformed CSV")
    else:
        one_error_line(run("train", str(files["reg.csv"]), "--model", "ridge"),
                       "argument --model: invalid choice: 'ridge'")


@pytest.mark.parametrize("args, fragment", [
    (["train", "@class.csv", "--target", "9"], "column index 9 is out of range"),
    (["train", "@class.csv", "--target", "1", "--model", "linear"], "needs a numeric target"),
    (["train", "@class.csv"], "feature column 'label' is not numeric (row 1: 'yes')"),
    (["train", "@reg.csv", "--model", "logistic"], "holds real values"),
    (["train", "@reg.csv", "--model", "sgd-classifier"],
     "holds real values (160 distinct ones), not class labels; use --model sgd-regressor"),
    (["train", "@class.csv", "--target", "label", "--loss", "hinge"],
     "--loss applies to --model sgd-classifier and --model sgd-regressor only"),
    (["train", "@reg.csv", "--model", "linear", "--epsilon", "0.1"],
     "--epsilon applies to --model sgd-classifier"),
    (["train", "@reg.csv", "--model", "sgd-regressor", "--loss", "hinge"],
     "--loss hinge is not a loss of --model sgd-regressor; it takes squared_error, huber"),
    (["train", "@reg.csv", "--model", "sgd-regressor", "--epsilon", "-1"],
     "'epsilon' parameter of SGDRegressor"),
    (["train", "@reg.csv", "--model", "sgd-regressor", "--learning-rate", "optimal",
      "--alpha", "0"], "alpha must be > 0"),
    (["train", "--model", "sgd-regressor"], "--model sgd-regressor needs a DATA file"),
    (["train", "@reg.csv", "--model", "sgd-regressor", "--learning-rate", "constant",
      "--eta0", "1000"], "diverged"),
    (["train", "@xy.npz", "--target", "0"], "holds arrays 'X' and 'y'"),
    (["train", "@table.npz", "--target", "age"], "give a column index"),
    (["train", "@reg.csv", "--alpha", "-1"], "'alpha' parameter"),
    (["train", "@reg.csv", "--format", "npz"], "not a NumPy .npz or .npy file"),
    (["train", "@reg.csv", "--test-size", "1.5"], "--test-size"),
    (["train", "@reg.csv", "--out", "/no/such/dir/m.descend"], "does not exist"),
    (["train", "@reg.csv", "--quiet", "--progress"], "not allowed with"),
    (["train", "--target", "x"], "--target needs a DATA file"),
    (["train", "@data.svm", "--target", "0"], "does not apply to svmlight"),
    (["train", "@dir"], "is a directory"),
    (["train", "@blank.csv"], "empty file"),
    (["train", "@holes.csv"], "feature column 'b' has 1 missing value(s) (first in row 2)"),
    (["train", "@bad.svm"], "malformed svmlight/libsvm file"),
    (["train", "@data.txt"], "cannot tell the format"),
    (["predict", "@reg.csv", "@xy.npz"], "reg.csv: not a descend model file (not a zip"),
    (["predict", "@blank.csv", "@xy.npz"], "blank.csv: not a descend model file (not a zip"),
    (["predict", "@xy.npz", "@xy.npz"], "xy.npz: not a descend model file (no metadata.json)"),
    (["bench", "--rows", "0"], "argument --rows: must be a positive integer, got '0'"),
    (["bench", "--rows", "5"], "--rows must be at least 10"),
    (["bench", "--nnz", "5"], "--nnz applies to --sparse only"),
    (["bench", "--sparse", "--features", "10", "--nnz", "20"],
     "--nnz 20 is more than --features 10"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_more_failures_in_process(args, fragment, files, tmp_path, capsys):
    (tmp_path / "blank.csv").write_text("")
    (tmp_path / "holes.csv").write_text("a,b,y\n1,2,0\n3,,1\n5,6,1\n")
    (tmp_path / "bad.svm").write_text("1 1:2 3:x\n")
    (tmp_path / "data.txt").write_text("1,2\n")
    paths = {"dir": tmp_path, **{k: v for k, v in files.items() if k != "labels"}}
    for name in ("blank.csv", "holes.csv", "bad.svm", "data.txt"):
        paths[name] = tmp_path / name
    args = [paths[a[1:]] if a.startswith("@") else a for a in args]
    code, out, err = in_process(capsys, *args)
    assert code == 2, (out, err)
    assert len(err.splitlines()) == 1, err
    assert fragment in err, err


def test_plot_with_an_unknown_image_type(files, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    code, out, err = in_process(capsys, "train", files["reg.csv"], "--plot",
                                tmp_path / "curve.xyz")
    assert code == 2 and out == ""
    assert "unknown image type 'xyz'" in err and len(err.splitlines()) == 1


def test_choices_match_the_estimators():
    """Every choice the command offers is accepted by each estimator it
    builds, and every value their constraints tables accept is offered."""
    from descend import LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor
    from descend._validation import check_parameters
    from descend.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    actions = {action.dest: action for action in train._actions}
    assert actions["model"].choices == ["linear", "logistic", "sgd-classifier",
                                        "sgd-regressor"]

    def accepted(cls, name):
        return [o for form in cls._parameter_constraints[name]
                for o in getattr(form, "options", ())]

    for cls in (LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor):
        for name in ("optimizer", "learning_rate", "penalty"):
            assert set(accepted(cls, name)) <= set(actions[name].choices)
            for value in actions[name].choices:
                check_parameters(cls(**{name: None if value == "none" else value}))
    losses = accepted(SGDClassifier, "loss")
    assert actions["loss"].choices == losses + [
        loss for loss in accepted(SGDRegressor, "loss") if loss not in losses]
    for loss in actions["loss"].choices:
        check_parameters(SGDClassifier(loss=loss))
