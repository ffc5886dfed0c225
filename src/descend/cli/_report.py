"""What ``descend train`` reports about its data and its fitted model: the
target, the held-out metrics, and the convergence plot."""
from __future__ import annotations

import os

import numpy as np

from ._args import CLIError, check_output_path


def target_name(data):
    if data.target is not None:
        return repr(data.target)
    if data.target_index is not None:
        return f"column {data.target_index}"
    return "(the labels)"


def target_summary(task, y):
    if task == "classification":
        classes = np.unique(y)
        shown = ", ".join(str(c) for c in classes[:6]) + (", ..." if len(classes) > 6 else "")
        return f"{len(classes)} classes ({shown})"
    return f"numeric, mean {np.mean(y):.4g}, std {np.std(y):.4g}"


def metrics(model, task, X_test, y_test, builtin):
    """The held-out metric lines."""
    if X_test.shape[0] == 0:
        return ["held-out metrics: none (--test-size 0)"]
    if task == "classification":
        lines = [f"held-out accuracy: {model.score(X_test, y_test):.4f}"]
        # the demo's output stays as the README shows it; the log loss needs
        # probabilities (SGDClassifier's hinge loss, for one, gives none)
        if not builtin and hasattr(model, "predict_proba"):
            from sklearn.metrics import log_loss

            proba = model.predict_proba(X_test)
            lines.append(f"held-out log loss: "
                         f"{log_loss(y_test, proba, labels=model.classes_):.4f}")
        return lines
    from sklearn.metrics import r2_score

    pred = model.predict(X_test)
    rmse = float(np.sqrt(np.mean((np.asarray(pred, dtype=np.float64) - y_test) ** 2)))
    r2 = r2_score(y_test, pred) if len(y_test) > 1 else float("nan")
    return [f"held-out R2: {r2:.4f}", f"held-out RMSE: {rmse:.6g}"]


def check_plot(path):
    """matplotlib is there and can write this file type."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError("--plot needs matplotlib, which is not installed "
                       "(pip install 'descend[plot]')") from None
    check_output_path(path, "--plot")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise CLIError(f"--plot {path}: unknown image type {ext!r} (use one of "
                       f"{', '.join(sorted(supported))})")


def save_plot(history, path, title, n_problems=1):
    """The objective per epoch (log scale when it spans a decade), and the
    validation score when the fit recorded one."""
    from matplotlib.figure import Figure

    epochs = history["epoch"]
    objective = history["objective"]
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    ax.plot(epochs, objective, color="C0", label="objective")
    finite = objective[np.isfinite(objective)]
    if len(finite) and finite.min() > 0 and finite.max() > 10 * finite.min():
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("objective (mean loss + penalty)" if n_problems == 1 else
                  f"objective (sum of {n_problems} one-vs-rest fits)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    validation = history["validation_score"]
    if np.isfinite(validation).any():
        twin = ax.twinx()
        twin.plot(epochs, validation, color="C1", linestyle="--", label="validation score")
        twin.set_ylabel("validation score")
        lines = ax.get_lines() + twin.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
