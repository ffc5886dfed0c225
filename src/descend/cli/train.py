"""``descend train``: read a data file (or the built-in breast-cancer
data), split, standardise, fit with per-epoch lines or a progress bar,
report held-out metrics, and optionally save the model and its plot."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .._readers import FORMATS
from ._args import (CLIError, HelpFormatter, batch_size, check_output_path, eta0,
                    fraction, integer, lower, number, positive_int, tol)
from ._bundle import save_bundle
from ._fitting import fit, format_record, warn_if_grew
from ._models import (MODELS, OTHER_TASK, SGD_MODELS, choices, defaults, model_class,
                      model_label, options)
from ._progress import make_progress
from ._report import check_plot, metrics, save_plot, target_name, target_summary

EPILOG = """\
data files (the format comes from the file name, or --format):
  .csv, .tsv          text with a header row (pandas if installed, else NumPy)
  .parquet            needs pyarrow
  .npz                arrays X and y (optionally feature_names), or a single
                      2-D array whose target column --target gives by index
  .svm, .libsvm       svmlight/libsvm text (label index:value ...), kept sparse
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
  descend train houses.csv --target price --out model.descend
  descend train iris.parquet --model logistic --optimizer adam --batch-size 16
  descend train data.svm --model sgd-classifier --loss log_loss --out model.descend
  descend train houses.csv --target price --model sgd-regressor --loss huber --epsilon 0.5
  descend train data.npz --plot curve.png --progress
  descend predict model.descend new.csv --out predictions.csv

--out writes a descend model file: a zip of JSON metadata and NumPy arrays,
data only, so that loading it runs no code (not a pickle). It holds the
fitted estimator, the standardisation (StandardScaler's mean_ and scale_)
and how the data file's columns were matched. 'descend predict' applies it;
in Python, descend.load_model(path, return_extra=True) returns the
estimator and that information (docs/model-format.md).

svmlight files may imply at most max(2^20, 8 x their stored values)
features (a one-line file with index 2000000000 would otherwise ask for
gigabytes); --max-features sets another limit."""


def add_parser(commands):
    train = commands.add_parser(
        "train", help="train a model on a data file and report held-out quality",
        formatter_class=HelpFormatter,
        description="Train a model by gradient descent and report its held-out quality.\n"
                    "Without DATA: LogisticRegression on scikit-learn's breast-cancer data\n"
                    "(standardised, 80/20 stratified split). Prints one line per epoch, then\n"
                    "held-out metrics (classification: accuracy, and log loss when the model\n"
                    "gives probabilities; regression: R^2 and RMSE) and the fit time.",
        epilog=EPILOG)
    data = train.add_argument_group("data")
    data.add_argument("data", nargs="?", metavar="DATA",
                      help="data file (default: scikit-learn's breast-cancer data)")
    data.add_argument("--format", choices=FORMATS, default=None,
                      help="format of DATA (default: from its file name)")
    data.add_argument("--target", metavar="COL", default=None,
                      help="target column: a header name, or an index (negative counts "
                           "from the end; default: the last column). Not used for .npz "
                           "files with arrays X and y, nor for svmlight files")
    data.add_argument("--max-features", type=positive_int, default=None, metavar="N",
                      help="svmlight files: the most features (largest index + 1) a file "
                           "may imply (default: 2^20, or 8 per stored value when that is "
                           "more)")
    data.add_argument("--test-size", type=fraction, default=0.2, metavar="FRACTION",
                      help="share of the rows held out for the metrics, stratified by "
                           "class for classification; 0 trains on all rows (default: 0.2)")
    scaling = data.add_mutually_exclusive_group()
    scaling.add_argument("--scale-features", action="store_true",
                         help="standardise inside the solver (the estimator's "
                              "scale_features=True) instead of with StandardScaler; "
                              "sparse (svmlight) data is always standardised this way")
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
    takes = "; ".join(f"{name} takes {', '.join(options(name, 'loss'))}"
                      for name in SGD_MODELS)
    model.add_argument("--loss", choices=choices("loss", SGD_MODELS), default=None,
                       metavar="LOSS",
                       help=f"loss of the sgd models: {takes} "
                            f"({defaults('loss', SGD_MODELS)})")
    model.add_argument("--epsilon", type=number, default=None, metavar="E",
                       help="margin of the sgd models' huber, epsilon_insensitive and "
                            "squared_epsilon_insensitive losses "
                            f"({defaults('epsilon', SGD_MODELS)})")
    model.add_argument("--optimizer", choices=choices("optimizer"), default=None,
                       help=f"update rule ({defaults('optimizer')})")
    model.add_argument("--batch-size", type=batch_size, default=None, metavar="K",
                       help="rows per update: 'none' (full batch), 1 (SGD) or k "
                            f"({defaults('batch_size')})")
    model.add_argument("--learning-rate", choices=choices("learning_rate"), default=None,
                       metavar="SCHEDULE",
                       help="step-size schedule: " + ", ".join(choices("learning_rate"))
                            + f" ({defaults('learning_rate')})")
    model.add_argument("--eta0", type=eta0, default=None,
                       help=f"initial step size, or 'auto' ({defaults('eta0')})")
    model.add_argument("--alpha", type=number, default=None,
                       help=f"penalty strength ({defaults('alpha')})")
    model.add_argument("--penalty", type=lower, default=None,
                       choices=[*choices("penalty"), "none"],
                       help=f"regularisation ({defaults('penalty')})")
    model.add_argument("--l1-ratio", type=number, default=None, metavar="R",
                       help=f"L1 share of the elasticnet penalty ({defaults('l1_ratio')})")
    model.add_argument("--max-iter", type=positive_int, default=None, metavar="N",
                       help=f"maximum epochs ({defaults('max_iter')})")
    model.add_argument("--tol", type=tol, default=None,
                       help="stopping tolerance on the objective, or 'none' to run "
                            f"all --max-iter epochs ({defaults('tol')})")
    model.add_argument("--early-stopping", action="store_true",
                       help="stop on the score of a held-out share of the training rows")
    model.add_argument("--n-jobs", type=integer, default=None, metavar="N",
                       help="OpenMP threads (default: all)")
    model.add_argument("--seed", type=integer, default=0,
                       help="seed of the split and the shuffling (default: 0)")

    output = train.add_argument_group("output")
    output.add_argument("--out", metavar="MODEL", default=None,
                        help="save the fitted model (estimator, standardisation, feature "
                             "names) to this descend model file, for 'descend predict' "
                             "(data only: loading it runs no code)")
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
    train.set_defaults(run=run)
    return train


def _check_options(args):
    """What can be refused before any data is read."""
    for option, value in (("--loss", args.loss), ("--epsilon", args.epsilon)):
        if value is not None and args.model not in SGD_MODELS:
            given = f", not --model {args.model}" if args.model else ""
            raise CLIError(f"{option} applies to --model sgd-classifier and --model "
                           f"sgd-regressor only{given}")
    if args.loss is not None and args.loss not in options(args.model, "loss"):
        raise CLIError(f"--loss {args.loss} is not a loss of --model {args.model}; "
                       f"it takes {', '.join(options(args.model, 'loss'))}")
    if args.data is None:
        for option, value in (("--target", args.target), ("--format", args.format),
                              ("--max-features", args.max_features)):
            if value is not None:
                raise CLIError(f"{option} needs a DATA file")
        if args.model is not None and MODELS[args.model][1] == "regression":
            raise CLIError(f"the built-in breast-cancer data is a classification task; "
                           f"--model {args.model} needs a DATA file")
    if args.out is not None:
        check_output_path(args.out, "--out")
    if args.plot is not None:
        check_plot(args.plot)


def _estimator_params(args):
    """The hyperparameters given on the command line (the rest keep the
    estimator's defaults)."""
    names = ("loss", "epsilon", "optimizer", "learning_rate", "eta0", "alpha", "l1_ratio",
             "max_iter", "n_jobs")
    params = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    # None is a value of these three, given on the command line as 'none'
    for name in ("batch_size", "penalty", "tol"):
        value = getattr(args, name)
        if value is not None:
            params[name] = None if value == "none" else value
    if args.early_stopping:
        params["early_stopping"] = True
    if args.scale_features:
        params["scale_features"] = True
    params["random_state"] = args.seed
    return params


def _load(args):
    """(X, y, feature names, source, data, model name, task, reason): the
    data file's, or the built-in breast-cancer data's."""
    from .._data import class_labels, describe_target, load_training_data

    if args.data is None:
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        names = [str(name) for name in bunch.feature_names]
        return (bunch.data, bunch.target, names, "breast_cancer", None,
                args.model or "logistic", "classification", None)
    data = load_training_data(args.data, target=args.target, fmt=args.format,
                              max_features=args.max_features)
    y = data.y
    inferred, reason = describe_target(y)
    name = args.model or ("logistic" if inferred == "classification" else "linear")
    task = MODELS[name][1]
    if task == "regression" and np.asarray(y).dtype.kind not in "biuf":
        raise CLIError(f"--model {name} needs a numeric target; {target_name(data)} "
                       f"holds text")
    if task == "classification" and inferred == "regression" and reason == "real values":
        raise CLIError(f"--model {name}: {target_name(data)} holds real values "
                       f"({len(np.unique(y))} distinct ones), not class labels; "
                       f"use --model {OTHER_TASK[name]}")
    y = class_labels(y) if task == "classification" else np.asarray(y, dtype=np.float64)
    return data.X, y, data.feature_names, args.data, data, name, task, reason


def _split(args, X, y, name, task):
    from sklearn.model_selection import train_test_split

    if args.test_size == 0:
        return X, X[:0], y, y[:0]
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
    return train_test_split(X, y, test_size=args.test_size, stratify=stratify,
                            random_state=args.seed)


def run(args):
    from scipy import sparse
    from sklearn.preprocessing import StandardScaler

    _check_options(args)
    builtin = args.data is None
    X, y, feature_names, source, data, name, task, reason = _load(args)
    cls = model_class(name)
    model = cls(**_estimator_params(args))
    # sparse input (svmlight) stays sparse: standardised inside the solver,
    # which keeps it sparse (unless --no-standardize)
    sparse_input = sparse.issparse(X)
    if sparse_input:
        model.set_params(scale_features=not args.no_standardize)
    standardize = not (args.no_standardize or args.scale_features or sparse_input)

    X_train, X_test, y_train, y_test = _split(args, X, y, name, task)
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
    label = model_label(model)
    print(f"descend: {label} on {source} ({X_train.shape[0]} train / {test_rows}, "
          f"{X.shape[1]} features, {scaling})")
    if not builtin:
        how = "" if args.model is not None else \
            f" -> {cls.__name__} ({reason}; --model overrides)"
        print(f"target {target_name(data)}: {target_summary(task, y)}{how}")
    # SGDClassifier on more than two classes fits one binary problem per
    # class, in parallel threads: their per-epoch lines would interleave, so
    # the combined history is printed after the fit instead
    n_problems = len(np.unique(y_train)) if name == "sgd-classifier" else 1
    n_problems = 1 if n_problems == 2 else n_problems
    sys.stdout.flush()
    progress = make_progress(args, model.max_iter)
    lines = not (args.quiet or progress is not None)
    model.set_params(verbose=int(lines and n_problems == 1), callback=progress)
    start = time.perf_counter()
    fit(model, X_train, y_train, progress)
    seconds = time.perf_counter() - start
    model.set_params(verbose=0, callback=None)  # storable, and quiet once loaded
    if lines and n_problems > 1:
        print(f"one-vs-rest: {n_problems} binary problems, one per class; the objective "
              f"is their sum")
        for record in model.history_:
            print(format_record(record))
    warn_if_grew(model)

    objective = model.history_["objective"]
    print(f"stopped after {model.n_iter_} epochs ({model.history_.stop_reason})"
          + (f"; final objective {objective[-1]:.6f}" if len(objective) else
             ": the starting point was already certified optimal"))
    for line in metrics(model, task, X_test, y_test, builtin):
        print(line)
    print(f"fit time: {seconds:.3f} s")

    if args.out is not None:
        save_bundle(args.out, model, scaler=scaler, feature_names=feature_names,
                    named=builtin or data.named,
                    target="target" if builtin else data.target,
                    target_index=None if builtin else data.target_index,
                    n_columns=X.shape[1] if builtin else data.n_columns,
                    sparse_input=sparse_input)
        print(f"saved the model to {args.out}")
    if args.plot is not None:
        save_plot(model.history_, args.plot, f"{label} on {os.path.basename(source)}",
                  n_problems)
        print(f"saved the convergence plot to {args.plot}")
    return 0
