"""The stop reasons (docs/stopping.md against descend.STOP_REASONS),
BlowUpWarning as a public name, and verbose=2 without tqdm."""
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import descend
from descend import (STOP_REASONS, BlowUpWarning, History, LinearRegression,
                     SGDClassifier, SGDRegressor)

DOC = Path(__file__).resolve().parents[1] / "docs" / "stopping.md"
SRC = Path(descend.__file__).resolve().parent


def documented_reasons():
    text = DOC.read_text()
    table = text[text.index("## Stop reasons"):text.index("## Warnings")]
    return re.findall(r'^\| `"(\w+)"` \|', table, flags=re.M)


def test_the_documented_stop_reasons_are_the_defined_ones():
    documented = documented_reasons()
    assert len(documented) == len(set(documented))
    assert set(documented) == set(STOP_REASONS)


def test_every_stop_reason_in_the_code_is_defined():
    """Every string the code assigns as a stop reason, or returns as one
    from the solvers' loops, is a key of STOP_REASONS."""
    found = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r'stop_reason = "(\w+)"', text))
        found |= set(re.findall(r'reason = "(\w+)"', text))
        found |= set(re.findall(r'return (?:status|point), "(\w+)"', text))
        found |= set(re.findall(r'Status\.\w+, "(\w+)"', text))
    assert found, "the patterns no longer match the code"
    assert found <= set(STOP_REASONS), found - set(STOP_REASONS)


def test_history_refuses_an_undefined_stop_reason():
    history = History()
    with pytest.raises(ValueError, match="stop_reason must be one of"):
        history.stop_reason = "bored"
    for reason in STOP_REASONS:
        history.stop_reason = reason


def test_fits_report_defined_stop_reasons():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X @ [1.0, -2.0, 0.5]
    assert LinearRegression().fit(X, y).history_.stop_reason == "tol"
    with pytest.warns(ConvergenceWarning):
        model = LinearRegression(batch_size=8, max_iter=2, random_state=0).fit(X, y)
    assert model.history_.stop_reason == "max_iter"
    model = LinearRegression(callback=lambda record: True).fit(X, y)
    assert model.history_.stop_reason == "callback"


def test_blowupwarning_is_public():
    from descend import BlowUpWarning as imported

    assert imported is BlowUpWarning
    assert "BlowUpWarning" in descend.__all__
    assert issubclass(BlowUpWarning, ConvergenceWarning)
    assert "eta0" in BlowUpWarning.__doc__


@pytest.mark.parametrize("estimator", [SGDRegressor, SGDClassifier])
def test_sgd_estimators_warn_on_a_blow_up(estimator):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    y = X @ [1.0, 2.0, 3.0]
    if estimator is SGDClassifier:
        y = (y > 0).astype(int)
    model = estimator(loss="squared_error", learning_rate="constant", eta0=2.0,
                      max_iter=3, tol=None, random_state=0)
    with pytest.warns(BlowUpWarning, match="blew up"):
        model.fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert model.history_["objective"][-1] > 1e10


def test_verbose_2_without_tqdm_warns_once_and_prints_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = X @ [1.0, 2.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LinearRegression(verbose=2).fit(X, y)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1, messages
    assert "tqdm" in messages[0] and "pip install tqdm" in messages[0]
    assert "descend[progress]" in messages[0] and "one line per epoch" in messages[0]
    assert caught[0].filename == __file__  # points at the caller's fit
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("epoch")]
    assert len(lines) == model.n_iter_


def test_verbose_1_does_not_warn_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X = np.arange(20.0).reshape(10, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearRegression(verbose=1, alpha=0.1).fit(X, X[:, 0])
