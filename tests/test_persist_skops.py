"""skops round trips of every estimator: a fitted estimator holds only
arrays, builtins, descend.History and its own class, so that
skops.io.get_untrusted_types gives exactly the trust list that
docs/persistence.md documents, loading with it gives the same predictions,
and partial_fit continues exactly as on the original."""
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from descend import (History, LinearRegression, LogisticRegression, SGDClassifier,
                     SGDRegressor)

sio = pytest.importorskip(
    "skops.io", reason="skops is a test extra (pip install '.[test]'), installed in CI: "
    "skipped only outside it")

DOC = Path(__file__).resolve().parents[1] / "docs" / "persistence.md"


def documented_trust_lists():
    rows = re.findall(r"^\| (\w+) \| `(\[.*?\])` \|$", DOC.read_text(), flags=re.M)
    return {name: eval(listed) for name, listed in rows}  # noqa: S307 (our own doc)


def data(kind, n=120, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[rng.random((n, p)) < 0.3] = 0.0
    score = X @ rng.standard_normal(p)
    if kind == "reg":
        return X, score + 0.1 * rng.standard_normal(n)
    if kind == "multi":
        return X, np.column_stack([score, -score, 2 * score + 1])
    if kind == "binary":
        return X, (score > 0).astype(int)
    return X, np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))


CASES = {
    "linear": (LinearRegression, {}, "reg"),
    "linear-multi-output": (LinearRegression, {}, "multi"),
    "linear-adam-scaled": (LinearRegression, dict(optimizer="adam", batch_size=16,
                                                  scale_features=True, random_state=0),
                           "reg"),
    "logistic-binary": (LogisticRegression, dict(alpha=1e-3), "binary"),
    "logistic-multinomial": (LogisticRegression, dict(batch_size=8, optimizer="momentum",
                                                      random_state=0), "three"),
    "sgd-hinge": (SGDClassifier, dict(random_state=np.random.RandomState(0)), "binary"),
    "sgd-ovr-averaged": (SGDClassifier, dict(loss="log_loss", average=10, random_state=0,
                                             class_weight={0: 1.0, 1: 2.0, 2: 1.0}),
                         "three"),
    "sgd-regressor": (SGDRegressor, dict(random_state=0), "reg"),
    "sgd-regressor-adagrad": (SGDRegressor, dict(optimizer="adagrad", batch_size=8,
                                                 random_state=0), "reg"),
}


def fitted(case, layout):
    cls, params, kind = CASES[case]
    X, y = data(kind)
    if layout == "csr":
        X = sp.csr_matrix(X)
    return cls(max_iter=20, tol=None, **params).fit(X, y), X, y


def plain(value, where):
    """Every value a fitted estimator holds is an array, a builtin or a History."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, (str, int, float)), where
            plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            plain(item, f"{where}[{i}]")
    else:
        assert isinstance(value, (np.ndarray, np.generic, int, float, bool, str,
                                  type(None), History, np.random.RandomState)), (
            f"{where} is a {type(value).__qualname__}")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("case", CASES)
def test_skops_round_trip_with_the_documented_trust_list(case, layout, tmp_path):
    model, X, y = fitted(case, layout)
    plain(vars(model), type(model).__name__)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    trusted = documented_trust_lists()[type(model).__name__]
    assert sio.get_untrusted_types(file=path) == trusted
    loaded = sio.load(path, trusted=trusted)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.history_["objective"],
                                  model.history_["objective"])
    assert loaded.history_.stop_reason == model.history_.stop_reason
    # partial_fit continues the fit state (optimizer buffers, step size,
    # shuffling state) exactly as on the original
    loaded.partial_fit(X, y)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.intercept_, model.intercept_)
    assert loaded.n_iter_ == model.n_iter_ and loaded.t_ == model.t_


def test_the_documented_trust_lists_cover_every_estimator():
    assert set(documented_trust_lists()) == {
        "LinearRegression", "LogisticRegression", "SGDClassifier", "SGDRegressor"}


def test_loading_refuses_without_the_trust_list(tmp_path):
    model, X, y = fitted("linear", "dense")
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)
