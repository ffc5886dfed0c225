"""The ``descend`` command.

``descend train`` with no arguments trains LogisticRegression on
scikit-learn's bundled breast-cancer data (standardised, 80/20 stratified
split), printing one line per epoch, then the held-out accuracy and the fit
time. ``descend train DATA`` does the same on a CSV, Parquet, NumPy .npz or
svmlight/libsvm file, with the model ``--model`` names (``linear``,
``logistic``, or scikit-learn's SGD estimators ``sgd-classifier`` and
``sgd-regressor``, which take ``--loss``), e.g.::

    descend train data.svm --model sgd-classifier --loss log_loss --out model.joblib

``descend predict`` applies a model saved by ``descend train --out``;
``descend bench`` runs the speed comparison of ``benchmarks/compare.py``.

Every expected failure (bad arguments, a missing, unreadable or malformed
file, a bad hyperparameter) prints one line on stderr and exits with 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

from ._data import FORMATS, DataError

PROG = "descend"
#: Format tag of the files ``descend train --out`` writes.
MODEL_FORMAT = "descend-model"
MODEL_FORMAT_VERSION = 1


#: --model: the descend estimator and its task.
MODELS = {
    "linear": ("LinearRegression", "regression"),
    "logistic": ("LogisticRegression", "classification"),
    "sgd-classifier": ("SGDClassifier", "classification"),
    "sgd-regressor": ("SGDRegressor", "regression"),
}
#: the models that take --loss and --epsilon
SGD_MODELS = ("sgd-classifier", "sgd-regressor")
#: the model of the same family for the other task (suggested when the
#: target does not suit the model asked for)
OTHER_TASK = {"linear": "logistic", "logistic": "linear",
              "sgd-classifier": "sgd-regressor", "sgd-regressor": "sgd-classifier"}


class CLIError(Exception):
    """An expected failure of a command; the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Option help wrapped between words only (not inside 'sgd-classifier')."""

    def _split_lines(self, text, width):
        import textwrap

        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)


# --------------------------------------------------------------------------
# argument types


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _batch_size(text):
    if text.lower() in ("none", "full"):
        return "none"  # batch_size=None; the option's default (None) means "not given"
    return _positive_int(text)


def _eta0(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 or 'auto', got {text!r}")
    return value


def _tol(text):
    if text.lower() == "none":
        return "none"  # tol=None; the option's default (None) means "not given"
    return _float(text)


def _test_size(text):
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def _penalty(text):
    return text.lower()


def _model_class(name):
    """The estimator class of a --model name."""
    from . import LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor

    classes = (LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor)
    return {cls.__name__: cls for cls in classes}[MODELS[name][0]]


def _options(cls, parameter):
    """The strings an estimator's constraints table accepts for a parameter."""
    options = []
    for form in cls._parameter_constraints[parameter]:
        options += list(getattr(form, "options", ()))
    return options


def _choices(parameter, models=MODELS):
    """The accepted strings of an estimator parameter, from the constraints
    tables the estimators check (so the command cannot drift from them):
    those of any of these models, in the order of their tables (a value
    one model refuses is the estimator's one-line error)."""
    options = []
    for name in models:
        options += [o for o in _options(_model_class(name), parameter) if o not in options]
    return options


def _shown(value):
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _and(names):
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _defaults(parameter, models=MODELS):
    """'default: ...' of a parameter, read from the estimators' signatures:
    one value, or which models have which."""
    import inspect

    groups = {}
    for name in models:
        default = inspect.signature(_model_class(name)).parameters[parameter].default
        groups.setdefault(_shown(default), []).append(name)
    if len(groups) == 1:
        return f"default: {next(iter(groups))}"
    return "default: " + "; ".join(f"{value} for {_and(names)}"
                                   for value, names in groups.items())


# --------------------------------------------------------------------------
# the parser


TRAIN_EPILOG = """\
data files (the format comes from the file name, or --format):
  .csv, .tsv          text with a header row (pandas if installed, else NumPy)
  .parquet            needs pyarrow
  .npz                arrays X and y (optionally feature_names), or a single
                      2-D array whose target column --target gives by index
  .svm, .libsvm       svmlight/libsvm text (label index:value ...)
  compressed files (.gz, .bz2, .xz) are read too.

models (--model):
  linear, logistic    descend's LinearRegression and LogisticRegression
                      (full-batch gradient descent unless --batch-size)
  sgd-classifier      descend's SGDClassifier and SGDRegressor, drop-in
  sgd-regressor       replacements for scikit-learn's: per-sample SGD by
                      default, a choice of --loss (and --epsilon), one-vs-rest
                      for more than two classes. Held-out log loss and
                      'descend predict' probabilities need a loss that gives
                      probabilities (log_loss, modified_huber)

examples:
  descend train                                  # breast-cancer demo
  descend train houses.csv --target price --out model.joblib
  descend train iris.parquet --model logistic --optimizer adam --batch-size 16
  descend train data.svm --model sgd-classifier --loss log_loss --out model.joblib
  descend train houses.csv --target price --model sgd-regressor --loss huber --epsilon 0.5
  descend train data.npz --plot curve.png --progress
  descend predict model.joblib new.csv --out predictions.csv

--out writes, with joblib, a dict: "estimator" (the fitted descend
estimator), "scaler" (the fitted StandardScaler, or None), "feature_names",
"target" and how the file's columns were matched. Load it with
joblib.load(path), and only from sources you trust (it is a pickle)."""


def build_parser():
    parser = _Parser(
        prog=PROG, description="Train linear models by gradient descent, fast.",
        epilog="'descend COMMAND --help' describes each command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_train(commands)
    _add_predict(commands)
    _add_bench(commands)
    return parser


def _add_train(commands):
    train = commands.add_parser(
        "train", help="train a model on a data file and report held-out quality",
        formatter_class=_HelpFormatter,
        description="Train a model by gradient descent and report its held-out quality.\n"
                    "Without DATA: LogisticRegression on scikit-learn's breast-cancer data\n"
                    "(standardised, 80/20 stratified split). Prints one line per epoch, then\n"
                    "held-out metrics (classification: accuracy, and log loss when the model\n"
                    "gives probabilities; regression: R^2 and RMSE) and the fit time.",
        epilog=TRAIN_EPILOG)
    data = train.add_argument_group("data")
    data.add_argument("data", nargs="?", metavar="DATA",
                      help="data file (default: scikit-learn's breast-cancer data)")
    data.add_argument("--format", choices=FORMATS, default=None,
                      help="format of DATA (default: from its file name)")
    data.add_argument("--target", metavar="COL", default=None,
                      help="target column: a header name, or an index (negative counts "
                           "from the end; default: the last column). Not used for .npz "
                           "files with arrays X and y, nor for svmlight files")
    data.add_argument("--test-size", type=_test_size, default=0.2, metavar="FRACTION",
                      help="share of the rows held out for the metrics, stratified by "
                           "class for classification; 0 trains on all rows (default: 0.2)")
    scaling = data.add_mutually_exclusive_group()
    scaling.add_argument("--scale-features", action="store_true",
                         help="standardise inside the solver (the estimator's "
                              "scale_features=True) instead of with StandardScaler")
    scaling.add_argument("--no-standardize", action="store_true",
                         help="train on the features as they are (default: standardise "
                              "them with scikit-learn's StandardScaler, fitted on the "
                              "training rows)")

    model = train.add_argument_group("model and training (default: the estimator's own)")
    model.add_argument("--model", choices=list(MODELS), default=None,
                       help="linear (LinearRegression), logistic (LogisticRegression), "
                            "sgd-classifier (SGDClassifier) or sgd-regressor "
                            "(SGDRegressor) (default: logistic when the target looks "
                            "categorical: text, or at most 20 distinct integer values; "
                            "else linear)")
    takes = "; ".join(f"{name} takes {', '.join(_options(_model_class(name), 'loss'))}"
                      for name in SGD_MODELS)
    model.add_argument("--loss", choices=_choices("loss", SGD_MODELS), default=None,
                       metavar="LOSS",
                       help=f"loss of the sgd models: {takes} "
                            f"({_defaults('loss', SGD_MODELS)})")
    model.add_argument("--epsilon", type=_float, default=None, metavar="E",
                       help="margin of the sgd models' huber, epsilon_insensitive and "
                            "squared_epsilon_insensitive losses "
                            f"({_defaults('epsilon', SGD_MODELS)})")
    model.add_argument("--optimizer", choices=_choices("optimizer"), default=None,
                       help=f"update rule ({_defaults('optimizer')})")
    model.add_argument("--batch-size", type=_batch_size, default=None, metavar="K",
                       help="rows per update: 'none' (full batch), 1 (SGD) or k "
                            f"({_defaults('batch_size')})")
    model.add_argument("--learning-rate", choices=_choices("learning_rate"), default=None,
                       metavar="SCHEDULE",
                       help="step-size schedule: " + ", ".join(_choices("learning_rate"))
                            + f" ({_defaults('learning_rate')})")
    model.add_argument("--eta0", type=_eta0, default=None,
                       help=f"initial step size, or 'auto' ({_defaults('eta0')})")
    model.add_argument("--alpha", type=_float, default=None,
                       help=f"penalty strength ({_defaults('alpha')})")
    model.add_argument("--penalty", type=_penalty, default=None,
                       choices=[*_choices("penalty"), "none"],
                       help=f"regularisation ({_defaults('penalty')})")
    model.add_argument("--l1-ratio", type=_float, default=None, metavar="R",
                       help=f"L1 share of the elasticnet penalty ({_defaults('l1_ratio')})")
    model.add_argument("--max-iter", type=_positive_int, default=None, metavar="N",
                       help=f"maximum epochs ({_defaults('max_iter')})")
    model.add_argument("--tol", type=_tol, default=None,
                       help="stopping tolerance on the objective, or 'none' to run "
                            f"all --max-iter epochs ({_defaults('tol')})")
    model.add_argument("--early-stopping", action="store_true",
                       help="stop on the score of a held-out share of the training rows")
    model.add_argument("--n-jobs", type=_int, default=None, metavar="N",
                       help="OpenMP threads (default: all)")
    model.add_argument("--seed", type=_int, default=0,
                       help="seed of the split and the shuffling (default: 0)")

    output = train.add_argument_group("output")
    output.add_argument("--out", metavar="MODEL", default=None,
                        help="save the fitted model (estimator, scaler, feature names) "
                             "to this file with joblib, for 'descend predict'")
    output.add_argument("--plot", metavar="CURVE.png", default=None,
                        help="save the convergence plot (objective per epoch) to this "
                             "image file; needs matplotlib")
    display = output.add_mutually_exclusive_group()
    display.add_argument("--quiet", action="store_true",
                         help="do not print per-epoch lines")
    display.add_argument("--progress", action="store_true",
                         help="show a progress bar on stderr instead of per-epoch lines "
                              "(tqdm when installed; else a one-line bar on a terminal; "
                              "else the per-epoch lines)")
    return train


def _add_predict(commands):
    predict = commands.add_parser(
        "predict", help="predict with a model saved by 'descend train --out'",
        description="Load a model saved by 'descend train --out', read DATA as "
                    "'descend train' does (the target column, if present, is left "
                    "out; columns are matched by name when both have names, else by "
                    "position) and write one CSV row per data row: the prediction, "
                    "and for classifiers that give probabilities (logistic; "
                    "sgd-classifier with a probabilistic loss such as log_loss) the "
                    "probability of each class (columns proba_<class>).",
        epilog="Columns matched by position follow the layout of the training file: "
               "DATA has either the model's features only, or as many columns as the "
               "training file with the target where it was. MODEL is a pickle: load "
               "only model files you trust.")
    predict.add_argument("model", metavar="MODEL", help="model file from 'descend train --out'")
    predict.add_argument("data", metavar="DATA",
                         help="data file (CSV, Parquet, .npz or svmlight; see "
                              "'descend train --help')")
    predict.add_argument("--format", choices=FORMATS, default=None,
                         help="format of DATA (default: from its file name)")
    predict.add_argument("--out", metavar="PRED.csv", default=None,
                         help="output CSV file (default: standard output)")
    return predict


def _add_bench(commands):
    from ._bench import add_arguments

    bench = commands.add_parser(
        "bench", help="compare descend's speed with NumPy, scikit-learn, PyTorch",
        description="Measure, on this machine, descend's epoch times against the read "
                    "bandwidth, a NumPy epoch, scikit-learn's SGDClassifier, a PyTorch "
                    "loop (when torch is installed) and pure Python, and print the "
                    "table (the comparison of benchmarks/compare.py).")
    add_arguments(bench)
    return bench


# --------------------------------------------------------------------------
# helpers


def _note(command, text):
    print(f"descend {command}: note: {text}", file=sys.stderr, flush=True)


def _check_output_path(path, option):
    """Fail before training when an output file cannot be written."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{option} {path}: is a directory")
    if not os.path.isdir(parent):
        raise CLIError(f"{option} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"{option} {path}: the directory {parent} is not writable")


def _check_plot(path):
    """matplotlib is there and can write this file type."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError("--plot needs matplotlib, which is not installed "
                       "(pip install 'descend[plot]')") from None
    _check_output_path(path, "--plot")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise CLIError(f"--plot {path}: unknown image type {ext!r} (use one of "
                       f"{', '.join(sorted(supported))})")


def _estimator_params(args):
    """The hyperparameters given on the command line (the rest keep the
    estimator's defaults)."""
    names = ("loss", "epsilon", "optimizer", "learning_rate", "eta0", "alpha", "l1_ratio",
             "max_iter", "n_jobs")
    params = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    # None is a value of these three, given on the command line as 'none'
    if args.batch_size is not None:
        params["batch_size"] = None if args.batch_size == "none" else args.batch_size
    if args.penalty is not None:
        params["penalty"] = None if args.penalty == "none" else args.penalty
    if args.tol is not None:
        params["tol"] = None if args.tol == "none" else args.tol
    if args.early_stopping:
        params["early_stopping"] = True
    if args.scale_features:
        params["scale_features"] = True
    params["random_state"] = args.seed
    return params


def _accepts_sparse(estimator):
    """Whether this descend estimator fits SciPy sparse input: tried on a
    tiny problem (a TypeError or ValueError means no)."""
    import numpy as np
    from scipy import sparse
    from sklearn.base import clone

    probe = clone(estimator).set_params(max_iter=1, tol=None, verbose=0, callback=None,
                                        early_stopping=False)
    X = sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 2.0]]))
    y = np.array([0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            probe.fit(X, y)
        except (TypeError, ValueError):
            return False
    return True


class _BarProgress:
    """A one-line progress bar redrawn with carriage returns (no tqdm).

    Both bars show the furthest epoch reached: a one-vs-rest SGDClassifier
    calls back from each class's thread, each at its own epoch."""

    def __init__(self, total, stream, width=30):
        self.total, self.stream, self.width = total, stream, width
        self.last_draw = 0.0
        self.shown = 0
        self.record = None

    def __call__(self, record):
        if self.record is not None and record["epoch"] < self.record["epoch"]:
            return False
        self.record = record
        now = time.perf_counter()
        if now - self.last_draw >= 0.1:
            self._draw(False)
            self.last_draw = now
        return False

    def _draw(self, final):
        epoch = int(self.record["epoch"])
        filled = self.width if final else min(self.width, self.width * epoch // self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] epoch {epoch}/{self.total}  "
                f"objective {self.record['objective']:.6g}" + ("  done" if final else ""))
        self.stream.write("\r" + line.ljust(self.shown))
        self.shown = len(line)
        self.stream.flush()

    def close(self):
        if self.record is not None:
            self._draw(True)
            self.stream.write("\n")
            self.stream.flush()


class _TqdmProgress:
    def __init__(self, tqdm, total, stream):
        self.bar = tqdm(total=total, unit="epoch", file=stream, dynamic_ncols=True)

    def __call__(self, record):
        self.bar.set_postfix(objective=f"{record['objective']:.6g}", refresh=False)
        self.bar.update(max(0, int(record["epoch"]) - self.bar.n))
        return False

    def close(self):
        self.bar.total = self.bar.n  # a fit stopped by tol ends at 100%
        self.bar.refresh()
        self.bar.close()


def _make_progress(args, max_iter):
    """The --progress callback, or None (then the per-epoch lines print)."""
    if not args.progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        return _TqdmProgress(tqdm, max_iter, sys.stderr)
    if sys.stderr.isatty():
        return _BarProgress(max_iter, sys.stderr)
    _note("train", "--progress needs tqdm or a terminal; printing per-epoch lines instead")
    return None


#: what to do when the 'optimal' schedule (the SGD models' default) blows up
OPTIMAL_STEPS = ("--learning-rate optimal ignores --eta0 (its steps are "
                 "1/(alpha*(t0+t))): for smaller steps use --learning-rate invscaling "
                 "or constant with a small --eta0")


def _fit(model, X, y, progress, command="train"):
    """fit, with ConvergenceWarnings as one-line notes and divergence as a
    CLIError."""
    from ._solver import BlowUpWarning, DivergenceError

    with warnings.catch_warnings(record=True) as caught:
        try:
            model.fit(X, y)
        except DivergenceError as exc:
            message = " ".join(str(exc).split())
            if model.learning_rate == "optimal":
                message += f" Note: {OPTIMAL_STEPS}."
            raise CLIError(message) from None
        finally:
            if progress is not None:
                progress.close()
    for warning in caught:
        message = " ".join(str(warning.message).split())
        if issubclass(warning.category, BlowUpWarning):
            # a finite blow-up is a divergence for the command: no garbage model saved
            raise CLIError(f"the fit diverged: {message}")
        print(f"descend {command}: warning: {message}", file=sys.stderr)


def _save_plot(history, path, title, n_problems=1):
    import numpy as np
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


# --------------------------------------------------------------------------
# descend train


def train(args, out=None):
    import numpy as np
    from scipy import sparse
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from ._data import class_labels, describe_target, load_training_data

    out = sys.stdout if out is None else out
    builtin = args.data is None
    _check_loss_options(args)
    if builtin:
        for option, value in (("--target", args.target), ("--format", args.format)):
            if value is not None:
                raise CLIError(f"{option} needs a DATA file")
        if args.model is not None and MODELS[args.model][1] == "regression":
            raise CLIError(f"the built-in breast-cancer data is a classification task; "
                           f"--model {args.model} needs a DATA file")
    if args.out is not None:
        _check_output_path(args.out, "--out")
    if args.plot is not None:
        _check_plot(args.plot)

    # the data and the task
    if builtin:
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        X, y = bunch.data, bunch.target
        feature_names = [str(name) for name in bunch.feature_names]
        source, data = "breast_cancer", None
        name, task, reason = args.model or "logistic", "classification", None
    else:
        data = load_training_data(args.data, target=args.target, fmt=args.format)
        X, y, feature_names, source = data.X, data.y, data.feature_names, args.data
        inferred, reason = describe_target(y)
        name = args.model or ("logistic" if inferred == "classification" else "linear")
        task = MODELS[name][1]
        if task == "regression" and np.asarray(y).dtype.kind not in "biuf":
            raise CLIError(f"--model {name} needs a numeric target; {_target_name(data)} "
                           f"holds text")
        if task == "classification" and inferred == "regression" and reason == "real values":
            raise CLIError(f"--model {name}: {_target_name(data)} holds real values "
                           f"({len(np.unique(y))} distinct ones), not class labels; "
                           f"use --model {OTHER_TASK[name]}")
        y = class_labels(y) if task == "classification" else np.asarray(y, dtype=np.float64)
    cls = _model_class(name)

    params = _estimator_params(args)
    model = cls(**params)
    check = getattr(model, "_check_params", None)
    if check is not None:
        check()  # bad hyperparameters: before anything is printed
    max_iter = model.max_iter
    standardize = not (args.no_standardize or args.scale_features)

    # sparse input (svmlight): passed through when descend accepts it
    sparse_input = sparse.issparse(X)
    if sparse_input:
        # standardise inside the solver, which keeps X sparse (unless
        # --no-standardize); fall back to a dense copy when fit refuses CSR
        model.set_params(scale_features=not args.no_standardize)
        if _accepts_sparse(model):
            standardize = False
        else:
            model.set_params(scale_features=bool(args.scale_features))
            dense_mb = X.shape[0] * X.shape[1] * 8 / 1e6
            _note("train", f"descend does not accept sparse input yet: converted the "
                           f"{X.shape[0]:,} x {X.shape[1]:,} CSR matrix "
                           f"({X.nnz / max(1, X.shape[0] * X.shape[1]):.1%} non-zero) to a "
                           f"dense array ({dense_mb:,.1f} MB)")
            X = X.toarray()
            sparse_input = False

    # split and scale
    if args.test_size > 0:
        stratify = None
        if task == "classification":
            stratify = y
            classes, counts = np.unique(y, return_counts=True)
            if counts.min() < 2:
                raise CLIError(
                    f"{int((counts < 2).sum())} of the {len(classes)} classes of the target "
                    f"have a single row, too few for a stratified train/test split "
                    f"(a regression target? try --model {OTHER_TASK[name]}; or "
                    f"--test-size 0)")
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=args.test_size, stratify=stratify, random_state=args.seed)
    else:
        X_train, X_test, y_train, y_test = X, X[:0], y, y[:0]
    scaler = None
    if standardize:
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train)
        X_test = scaler.transform(X_test) if X_test.shape[0] else X_test
        scaling = "standardised"
    elif model.scale_features:
        scaling = "standardised inside the solver"
    else:
        scaling = "not standardised"

    test_rows = f"{X_test.shape[0]} test rows" if X_test.shape[0] else "no test rows"
    label = _model_label(model)
    print(f"descend: {label} on {source} ({X_train.shape[0]} train / {test_rows}, "
          f"{X.shape[1]} features, {scaling})", file=out)
    if not builtin:
        how = "" if args.model is not None else \
            f" -> {cls.__name__} ({reason}; --model overrides)"
        print(f"target {_target_name(data)}: {_target_summary(task, y)}{how}", file=out)
    # SGDClassifier on more than two classes fits one binary problem per
    # class, in parallel threads: their per-epoch lines would interleave, so
    # the combined history is printed after the fit instead
    n_problems = len(np.unique(y_train)) if name == "sgd-classifier" else 1
    n_problems = 1 if n_problems == 2 else n_problems
    out.flush()
    progress = _make_progress(args, max_iter)
    lines = not (args.quiet or progress is not None)
    model.set_params(verbose=int(lines and n_problems == 1), callback=progress)
    start = time.perf_counter()
    _fit(model, X_train, y_train, progress)
    seconds = time.perf_counter() - start
    model.set_params(verbose=0, callback=None)  # picklable, and quiet once loaded
    if lines and n_problems > 1:
        from ._solver import format_record

        print(f"one-vs-rest: {n_problems} binary problems, one per class; the objective "
              f"is their sum", file=out)
        for record in model.history_:
            print(format_record(record), file=out)
    objective = model.history_["objective"]
    if len(objective) > 1 and objective[-1] > objective[0] > 0:
        # a blown-up fit that stayed finite stops by tol as if it converged
        # (not a fit that started at zero loss: the perceptron's, at w = 0)
        if model.learning_rate == "optimal":
            fix = f"the steps are too large; {OPTIMAL_STEPS}"
        else:
            fix = (f"the step size {model.eta0_:.3g} is too large; lower --eta0 (or leave "
                   f"it 'auto')")
        print(f"descend train: warning: the objective grew from {objective[0]:.6g} to "
              f"{objective[-1]:.6g}: {fix}", file=sys.stderr)

    print(f"stopped after {model.n_iter_} epochs ({model.history_.stop_reason}); "
          f"final objective {model.history_['objective'][-1]:.6f}", file=out)
    for line in _metrics(model, task, X_test, y_test, builtin):
        print(line, file=out)
    print(f"fit time: {seconds:.3f} s", file=out)

    if args.out is not None:
        import joblib

        from . import __version__

        bundle = {
            "format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
            "descend_version": __version__, "task": task, "estimator": model,
            "scaler": scaler, "feature_names": list(feature_names),
            "named_features": builtin or data.named,
            "target": "target" if builtin else data.target,
            "target_index": None if builtin else data.target_index,
            "n_columns": X.shape[1] if builtin else data.n_columns,
            "sparse_input": sparse_input,
        }
        joblib.dump(bundle, args.out)
        print(f"saved the model to {args.out}", file=out)
    if args.plot is not None:
        _save_plot(model.history_, args.plot, f"{label} on {os.path.basename(source)}",
                   n_problems)
        print(f"saved the convergence plot to {args.plot}", file=out)
    return 0


def _check_loss_options(args):
    """--loss and --epsilon: only with the sgd models, and a loss the model
    takes (before the data is read)."""
    for option, value in (("--loss", args.loss), ("--epsilon", args.epsilon)):
        if value is not None and args.model not in SGD_MODELS:
            given = f", not --model {args.model}" if args.model else ""
            raise CLIError(f"{option} applies to --model sgd-classifier and --model "
                           f"sgd-regressor only{given}")
    if args.loss is not None:
        losses = _options(_model_class(args.model), "loss")
        if args.loss not in losses:
            raise CLIError(f"--loss {args.loss} is not a loss of --model {args.model}; "
                           f"it takes {', '.join(losses)}")


def _model_label(model):
    """The estimator's name, with its loss when it has a choice of losses."""
    name = type(model).__name__
    return f"{name}(loss={model.loss!r})" if "loss" in model.get_params() else name


def _target_name(data):
    if data.target is not None:
        return repr(data.target)
    if data.target_index is not None:
        return f"column {data.target_index}"
    return "(the labels)"


def _target_summary(task, y):
    import numpy as np

    if task == "classification":
        classes = np.unique(y)
        shown = ", ".join(str(c) for c in classes[:6]) + (", ..." if len(classes) > 6 else "")
        return f"{len(classes)} classes ({shown})"
    return f"numeric, mean {np.mean(y):.4g}, std {np.std(y):.4g}"


def _metrics(model, task, X_test, y_test, builtin):
    """The held-out metric lines."""
    import numpy as np

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


# --------------------------------------------------------------------------
# descend predict


def _load_model(path):
    import pickle

    import joblib

    from ._data import check_readable

    try:
        check_readable(path)
    except DataError as exc:
        raise CLIError(str(exc)) from None
    try:
        bundle = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError,
            AttributeError, ImportError, TypeError) as exc:
        raise CLIError(f"{path}: not a model saved by 'descend train --out' "
                       f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    if not (isinstance(bundle, dict) and bundle.get("format") == MODEL_FORMAT):
        raise CLIError(f"{path}: not a model saved by 'descend train --out'")
    if bundle.get("format_version", 0) > MODEL_FORMAT_VERSION:
        raise CLIError(f"{path}: saved by a newer descend ({bundle.get('descend_version')}); "
                       f"upgrade descend to use it")
    return bundle


def predict(args, out=None):
    import csv

    import numpy as np
    from scipy import sparse

    from ._data import load_prediction_data

    out = sys.stdout if out is None else out
    if args.out is not None:
        _check_output_path(args.out, "--out")
    bundle = _load_model(args.model)
    data = load_prediction_data(
        args.data, bundle["feature_names"], bundle["named_features"],
        target=bundle["target"], target_index=bundle["target_index"],
        n_columns=bundle["n_columns"], fmt=args.format)
    for text in data.notes:
        _note("predict", text)
    X = data.X
    if sparse.issparse(X) and not bundle["sparse_input"]:
        X = X.toarray()
    if bundle["scaler"] is not None:
        X = bundle["scaler"].transform(X)
    estimator = bundle["estimator"]
    predictions = estimator.predict(X)
    columns = [predictions]
    header = ["prediction"]
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        header += [f"proba_{c}" for c in estimator.classes_]
        columns += list(proba.T)

    def cell(value):
        if isinstance(value, (float, np.floating)):
            return repr(float(value))
        return str(value)

    def write(stream):
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for row in zip(*(c.tolist() for c in columns)):
            writer.writerow([cell(v) for v in row])

    if args.out is None:
        write(out)
    else:
        with open(args.out, "w", newline="") as f:
            write(f)
        print(f"wrote {len(predictions)} predictions to {args.out}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------
# descend bench


def bench(args, argv):
    from ._bench import report_and_write

    given = list(argv)[1:]  # after "bench"
    report_and_write(args, "descend bench " + " ".join(given))
    return 0


# --------------------------------------------------------------------------


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return train(args)
        if args.command == "predict":
            return predict(args)
        if args.command == "bench":
            return bench(args, argv)
    except (CLIError, DataError, ValueError) as exc:
        # bad hyperparameters (the estimators' ValueError), bad data files
        print(f"descend {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `descend train | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # writing an output file
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"descend {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"descend {args.command}: interrupted", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
