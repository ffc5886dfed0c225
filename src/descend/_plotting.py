"""Convergence plots of fit histories.

matplotlib is an optional extra (``pip install 'descend[plot]'``): it is
imported only when a plot is drawn without an ``ax``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
import numbers

import numpy as np

from ._history import COLUMNS, History

INSTALL_HINT = "pip install 'descend[plot]'"

#: Why a column can hold no finite value.
_ONLY_RECORDED = {
    "grad_norm": "grad_norm is recorded by full-batch fits (batch_size=None) only",
    "validation_score": "validation_score is recorded with early_stopping=True only",
}


def _new_axes(caller):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from exc
    return plt.subplots()[1]


def _check_column(name, argument):
    if not isinstance(name, str) or name not in COLUMNS:
        raise ValueError(
            f"{argument}={name!r} is not a history column; choose one of {list(COLUMNS)}.")


def _check_f_star(relative_to):
    if relative_to is None:
        return None
    if isinstance(relative_to, (bool, np.bool_)) or not isinstance(relative_to, numbers.Real) \
            or not math.isfinite(relative_to) or relative_to == 0:
        raise ValueError(
            f"relative_to must be a finite, nonzero number (the optimal value f* of "
            f"the plotted column); got {relative_to!r}.")
    return float(relative_to)


def _curve(history, x, y, f_star, what):
    """The points of ``history[y]`` (relative to f_star) against ``history[x]``,
    checked before anything is drawn."""
    if not len(history):
        raise ValueError(f"{what} is empty (no epoch was recorded): nothing to plot.")
    xs = history[x]
    ys = history[y].astype(np.float64)
    if f_star is not None:
        ys = (ys - f_star) / abs(f_star)
    if not np.isfinite(ys).any():
        why = _ONLY_RECORDED.get(y, "")
        raise ValueError(f"{what} has no finite {y!r} value to plot"
                         + (f" ({why})." if why else "."))
    return xs, ys


def _draw(ax, xs, ys, label):
    # a single epoch would be an invisible line of one point
    return ax.plot(xs, ys, label=label, marker="o" if len(xs) == 1 else None)[0]


def _label_axes(ax, x, y, f_star, logy, title):
    ax.set_xlabel(x)
    ax.set_ylabel(y if f_star is None else f"({y} - f*) / |f*|,  f* = {f_star:.6g}")
    if logy:
        ax.set_yscale("log")
    if title is not None:
        ax.set_title(title)


def plot_history(history, x="epoch", y="objective", ax=None, label=None, logy=True,
                 title=None):
    """The implementation of :meth:`History.plot`."""
    _check_column(x, "x")
    _check_column(y, "y")
    xs, ys = _curve(history, x, y, None, "the history")
    if ax is None:
        ax = _new_axes("History.plot")
    _draw(ax, xs, ys, label)
    _label_axes(ax, x, y, None, logy, title)
    if label is not None:
        ax.legend()
    return ax


def _unwrap(item):
    """The History of a History, a fitted estimator, or a Pipeline or
    search (GridSearchCV, ...) ending in one; else the innermost object."""
    for _ in range(16):  # nesting depth; guards against cycles
        if isinstance(item, History):
            return item, item
        if isinstance(getattr(item, "history_", None), History):
            return item.history_, item
        inner = getattr(item, "best_estimator_", None)
        if inner is None:
            inner = getattr(item, "_final_estimator", None)
        if inner is None or inner is item:
            break
        item = inner
    return None, item


def _default_label(owner, position):
    if isinstance(owner, History):
        return f"history {position}"
    return " ".join(repr(owner).split())  # e.g. LogisticRegression(batch_size=32)


def plot_histories(estimators_or_histories: Any, x: str = "seconds",
                   y: str = "objective", labels: Sequence[str] | None = None,
                   ax: Any = None, relative_to: float | None = None, logy: bool = True,
                   title: str | None = None) -> Any:
    """Plot the convergence of several fits on one Axes, one labelled curve each.

    Parameters
    ----------
    estimators_or_histories : sequence or dict
        Fitted descend estimators (or Pipelines / searches such as
        GridSearchCV ending in one) and/or :class:`descend.History` objects.
        A dict maps labels to them. A single one is accepted too.
    x : str, default="seconds"
        History column on the x axis: "seconds" (wall-clock, to compare
        speed), "epoch" or "updates".
    y : str, default="objective"
        History column on the y axis (any of ``descend.History.columns``).
    labels : sequence of str, default=None
        One legend entry per curve. By default an estimator is labelled by
        its repr (its non-default parameters) and a History by its position.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    relative_to : float, default=None
        The optimal value f* of ``y``: plot the relative gap ``(y - f*) /
        |f*|`` instead of ``y``.
    logy : bool, default=True
        Logarithmic y axis.
    title : str, default=None
        Title of the Axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes, with labelled axes and a legend.

    Examples
    --------
    >>> from descend import LogisticRegression, plot_histories
    >>> fits = {f"batch_size={b}": LogisticRegression(batch_size=b).fit(X, y)
    ...         for b in (None, 32)}                                  # doctest: +SKIP
    >>> plot_histories(fits).figure.savefig("convergence.png")       # doctest: +SKIP
    """
    _check_column(x, "x")
    _check_column(y, "y")
    f_star = _check_f_star(relative_to)
    items = estimators_or_histories
    if isinstance(items, dict):
        if labels is not None:
            raise ValueError("labels cannot be given with a dict: its keys are the labels.")
        labels = [str(key) for key in items]
        items = list(items.values())
    elif isinstance(items, History) or hasattr(items, "fit"):
        items = [items]
    else:
        try:
            items = list(items)
        except TypeError:
            raise TypeError(
                "plot_histories takes a sequence or dict of fitted descend estimators "
                f"or History objects; got {type(items).__name__}.") from None
    if not items:
        raise ValueError("plot_histories needs at least one estimator or History.")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(items):
            raise ValueError(f"labels has {len(labels)} entries for {len(items)} curves.")

    curves = []
    for position, item in enumerate(items):
        history, owner = _unwrap(item)
        if history is None:
            if hasattr(owner, "fit") and hasattr(owner, "partial_fit") \
                    and type(owner).__module__.split(".")[0] == "descend":
                from sklearn.exceptions import NotFittedError
                raise NotFittedError(
                    f"item {position} of plot_histories ({type(owner).__name__}) is "
                    f"not fitted: call fit first.")
            raise TypeError(
                f"item {position} of plot_histories is a {type(item).__name__}, which "
                f"has no convergence history; pass fitted descend estimators (or "
                f"Pipelines/searches ending in one) or History objects.")
        label = labels[position] if labels is not None else _default_label(owner, position)
        curves.append((*_curve(history, x, y, f_star,
                               f"the history of item {position} ({label})"), label))

    if ax is None:
        ax = _new_axes("plot_histories")
    for xs, ys, label in curves:
        _draw(ax, xs, ys, label)
    _label_axes(ax, x, y, f_star, logy, title)
    ax.legend()
    return ax
