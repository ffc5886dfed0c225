"""History.plot and descend.plot_histories (the optional plot extra)."""
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from descend import History, LinearRegression, LogisticRegression, plot_histories
from descend._history import COLUMNS


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def make_history(objective, seconds=None, grad_norm=None):
    """A History with the given objective per epoch (other columns made up)."""
    objective = np.asarray(objective, dtype=float)
    n = len(objective)
    epoch = np.arange(1, n + 1, dtype=float)
    table = np.full((n, len(COLUMNS)), np.nan)
    names = list(COLUMNS)
    table[:, names.index("epoch")] = epoch
    table[:, names.index("objective")] = objective
    table[:, names.index("learning_rate")] = 0.1
    table[:, names.index("updates")] = epoch
    table[:, names.index("seconds")] = 0.01 * epoch if seconds is None else seconds
    if grad_norm is not None:
        table[:, names.index("grad_norm")] = grad_norm
    history = History()
    history._append_block(table)
    history.stop_reason = "max_iter"
    return history


@pytest.fixture(scope="module")
def fits(breast_cancer):
    X, y = breast_cancer
    return [LogisticRegression(max_iter=50, tol=None).fit(X, y),
            LogisticRegression(batch_size=32, max_iter=20, tol=None, random_state=0).fit(X, y),
            LogisticRegression(optimizer="adam", batch_size=64, max_iter=20, tol=None,
                               random_state=0).fit(X, y)]


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


# History.plot --------------------------------------------------------------

def test_history_plot_defaults(plt, fits):
    history = fits[0].history_
    ax = history.plot()
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "objective"
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 1
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), history["epoch"])
    np.testing.assert_array_equal(line.get_ydata(), history["objective"])
    assert ax.get_legend() is None  # no label, no legend


def test_history_plot_options(plt, fits):
    history = fits[0].history_
    fig, given = plt.subplots()
    ax = history.plot(x="seconds", y="grad_norm", ax=given, label="full batch",
                      logy=False, title="convergence")
    assert ax is given
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("seconds", "grad_norm")
    assert ax.get_yscale() == "linear"
    assert ax.get_title() == "convergence"
    assert legend_texts(ax) == ["full batch"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), history["seconds"])
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), history["grad_norm"])
    # a second call draws onto the same Axes
    history.plot(x="seconds", y="grad_norm", ax=ax, label="again")
    assert len(ax.get_lines()) == 2


def test_history_plot_saves_png(plt, tmp_path):
    ax = make_history([1.0, 0.5, 0.25]).plot()
    path = tmp_path / "history.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_plot_single_epoch_is_visible(plt):
    line = make_history([0.5]).plot().get_lines()[0]
    assert line.get_marker() == "o"


def test_history_plot_errors(plt, fits):
    history = fits[0].history_
    with pytest.raises(ValueError, match=r"x='time' is not a history column"):
        history.plot(x="time")
    with pytest.raises(ValueError, match=r"y='loss' is not a history column"):
        history.plot(y="loss")
    with pytest.raises(ValueError, match="empty"):
        History().plot()
    # stochastic fits record no gradient norm; early_stopping=False no score
    with pytest.raises(ValueError, match="full-batch fits"):
        fits[1].history_.plot(y="grad_norm")
    with pytest.raises(ValueError, match="early_stopping=True"):
        history.plot(y="validation_score")
    assert not plt.get_fignums(), "a failed plot must not leave a figure behind"


# plot_histories ------------------------------------------------------------

def test_plot_histories_one_line_per_estimator(plt, fits, tmp_path):
    ax = plot_histories(fits)
    assert ax.get_xlabel() == "seconds"
    assert ax.get_ylabel() == "objective"
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == len(fits)
    for line, model in zip(lines, fits):
        np.testing.assert_array_equal(line.get_xdata(), model.history_["seconds"])
        np.testing.assert_array_equal(line.get_ydata(), model.history_["objective"])
    # default labels: the estimators' parameters, all different here
    labels = legend_texts(ax)
    assert labels[0] == "LogisticRegression(max_iter=50, tol=None)"
    assert "optimizer='adam'" in labels[2]
    assert len(set(labels)) == len(fits)
    path = tmp_path / "histories.png"
    ax.figure.savefig(path)
    assert path.is_file() and path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_histories_labels_x_and_ax(plt, fits):
    fig, given = plt.subplots()
    ax = plot_histories([model.history_ for model in fits], x="epoch",
                        labels=["batch", "sgd 32", "adam 64"], ax=given, logy=False,
                        title="three fits")
    assert ax is given
    assert ax.get_xlabel() == "epoch"
    assert ax.get_yscale() == "linear"
    assert ax.get_title() == "three fits"
    assert legend_texts(ax) == ["batch", "sgd 32", "adam 64"]
    assert len(ax.get_lines()) == 3


def test_plot_histories_dict_pipeline_search_and_history(plt, breast_cancer):
    X, y = breast_cancer
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10, tol=None))
    search = GridSearchCV(LinearRegression(max_iter=10, tol=None),
                          {"alpha": [0.0, 0.1]}, cv=2)
    curves = {"pipeline": pipeline.fit(X, y), "search": search.fit(X, y),
              "history": make_history([1.0, 0.5])}
    ax = plot_histories(curves, x="epoch")
    assert legend_texts(ax) == ["pipeline", "search", "history"]
    ydata = [line.get_ydata() for line in ax.get_lines()]
    np.testing.assert_array_equal(ydata[0], pipeline[-1].history_["objective"])
    np.testing.assert_array_equal(ydata[1], search.best_estimator_.history_["objective"])
    np.testing.assert_array_equal(ydata[2], [1.0, 0.5])


def test_plot_histories_single_item(plt, fits):
    ax = plot_histories(fits[0])
    assert len(ax.get_lines()) == 1
    ax = plot_histories(make_history([2.0, 1.0]))
    assert legend_texts(ax) == ["history 0"]


def test_plot_histories_relative_to(plt):
    f_star = 0.5
    history = make_history([1.5, 1.0, 0.75])
    ax = plot_histories([history], relative_to=f_star)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2.0, 1.0, 0.5])
    assert ax.get_ylabel().startswith("(objective - f*) / |f*|")
    assert "0.5" in ax.get_ylabel()


def test_plot_histories_errors(plt, fits):
    with pytest.raises(ValueError, match="labels has 1 entries for 3 curves"):
        plot_histories(fits, labels=["one"])
    with pytest.raises(ValueError, match="labels cannot be given with a dict"):
        plot_histories({"a": fits[0]}, labels=["b"])
    with pytest.raises(ValueError, match="at least one"):
        plot_histories([])
    with pytest.raises(NotFittedError, match=r"item 1 .*LinearRegression.* not fitted"):
        plot_histories([fits[0], LinearRegression()])
    with pytest.raises(NotFittedError, match="not fitted"):
        plot_histories([make_pipeline(StandardScaler(), LogisticRegression())])
    with pytest.raises(TypeError, match="item 0 of plot_histories is a StandardScaler"):
        plot_histories([StandardScaler()])
    with pytest.raises(TypeError, match="sequence or dict"):
        plot_histories(3.0)
    for bad in (0, 0.0, float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match="relative_to must be a finite, nonzero"):
            plot_histories(fits, relative_to=bad)
    with pytest.raises(ValueError, match="x='time'"):
        plot_histories(fits, x="time")
    with pytest.raises(ValueError, match=r"item 1 .*full-batch fits"):
        plot_histories(fits, y="grad_norm")
    assert not plt.get_fignums(), "a failed plot must not leave a figure behind"


# without matplotlib ---------------------------------------------------------

@pytest.fixture
def no_matplotlib(monkeypatch):
    """Make ``import matplotlib`` fail, as when the plot extra is missing."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)


def test_missing_matplotlib_says_how_to_install(no_matplotlib):
    history = make_history([1.0, 0.5])
    with pytest.raises(ImportError, match=r"History\.plot needs matplotlib.*"
                                          r"pip install 'descend\[plot\]'"):
        history.plot()
    with pytest.raises(ImportError, match=r"plot_histories needs matplotlib.*"
                                          r"pip install 'descend\[plot\]'"):
        plot_histories([history])
    # everything else works without matplotlib
    assert len(history) == 2


def test_import_does_not_need_matplotlib():
    """``import descend`` must not import matplotlib (an optional extra)."""
    import subprocess

    code = "import sys, descend; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
