"""``descend predict``: apply a model saved by ``descend train --out`` to a
data file and write one CSV row per data row."""
from __future__ import annotations

import csv
import sys
import warnings

import numpy as np

from .._readers import FORMATS
from ._args import check_output_path, note
from ._bundle import load_bundle


def add_parser(commands):
    predict = commands.add_parser(
        "predict", help="predict with a model saved by 'descend train --out'",
        description="Load a model saved by 'descend train --out' (or by "
                    "descend.save_model), read DATA as 'descend train' does (the target "
                    "column, if present, is left out; columns are matched by name when "
                    "both have names, else by position) and write one CSV row per data "
                    "row: the prediction, and for classifiers that give probabilities "
                    "(logistic; sgd-classifier with a probabilistic loss such as "
                    "log_loss) the probability of each class (columns proba_<class>).",
        epilog="Columns matched by position follow the layout of the training file: "
               "DATA has either the model's features only, or as many columns as the "
               "training file with the target where it was. Model files hold data "
               "only (JSON and arrays): loading one runs no code. Model files of "
               "descend 0.1.0 were pickles, which can run any code when loaded: "
               "they are refused unless --allow-pickle is given.")
    predict.add_argument("model", metavar="MODEL",
                         help="model file from 'descend train --out' or descend.save_model")
    predict.add_argument("data", metavar="DATA",
                         help="data file (CSV, Parquet, .npz or svmlight; see "
                              "'descend train --help')")
    predict.add_argument("--format", choices=FORMATS, default=None,
                         help="format of DATA (default: from its file name)")
    predict.add_argument("--out", metavar="PRED.csv", default=None,
                         help="output CSV file (default: standard output)")
    predict.add_argument("--allow-pickle", action="store_true",
                         help="also load an old pickle (joblib) model file, with a warning: "
                              "unpickling runs any code the file holds, so use it only for "
                              "files you trust")
    predict.set_defaults(run=run)
    return predict


def _cell(value):
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _write(stream, header, columns):
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for row in zip(*(c.tolist() for c in columns)):
        writer.writerow([_cell(v) for v in row])


def run(args):
    from scipy import sparse

    from .._data import load_prediction_data

    if args.out is not None:
        check_output_path(args.out, "--out")
    bundle = load_bundle(args.model, allow_pickle=args.allow_pickle)
    data = load_prediction_data(
        args.data, bundle.feature_names, bundle.named, target=bundle.target,
        target_index=bundle.target_index, n_columns=bundle.n_columns, fmt=args.format)
    for text in data.notes:
        note("predict", text)
    X = data.X
    if sparse.issparse(X) and (not bundle.sparse_input or bundle.transform is not None):
        X = X.toarray()  # a model trained on dense rows, with a dense scaler
    if bundle.transform is not None:
        X = bundle.transform(X)
    estimator = bundle.estimator
    with warnings.catch_warnings():
        # a model fitted on a DataFrame: the columns were matched by name above
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        predictions = estimator.predict(X)
        columns = [predictions]
        header = ["prediction"]
        if hasattr(estimator, "predict_proba"):
            header += [f"proba_{c}" for c in estimator.classes_]
            columns += list(estimator.predict_proba(X).T)

    if args.out is None:
        _write(sys.stdout, header, columns)
    else:
        with open(args.out, "w", newline="") as f:
            _write(f, header, columns)
        print(f"wrote {len(predictions)} predictions to {args.out}", file=sys.stderr)
    return 0
