"""The model file of ``descend train --out``, read by ``descend predict``.

It is descend's model format (:func:`descend.save_model`: data only,
loading runs no code), with what the command needs besides the estimator
in its ``extra`` under ``"descend_cli"``: the standardisation (the
StandardScaler's ``mean_`` and ``scale_``) and how the data file's columns
were matched. A model saved from Python, without that, is applied as it
is, its columns matched by ``feature_names_in_`` or by position.

Version-1 files (a joblib pickle holding the estimator and its scaler) load
only with ``--allow-pickle``, after a warning: unpickling can run any code
the file holds.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._args import CLIError

#: The key of the command's entry in a model file's extra.
KEY = "descend_cli"
_PICKLE_WARNING = ("loading {path} unpickles it, which runs any code it holds: use "
                   "--allow-pickle only with files you trust")


@dataclass
class Bundle:
    """A model and how to apply it to a data file."""

    estimator: Any
    transform: Any  # X -> standardised X, or None
    feature_names: Any  # a sequence of names
    named: bool
    target: Any = None
    target_index: Any = None
    n_columns: Any = None
    sparse_input: bool = True  # False: a dense model, sparse data is densified


def save_bundle(path, estimator, *, scaler, feature_names, named, target, target_index,
                n_columns, sparse_input):
    """Write the model file: the estimator, with the command's extra."""
    from .. import save_model

    extra = {KEY: {
        "scaler": None if scaler is None else {"mean": scaler.mean_, "scale": scaler.scale_},
        # generated names (x0, x1, ...) are not stored: an svmlight file can
        # have a million of them
        "feature_names": np.array(list(feature_names), dtype=object) if named else None,
        "n_features": len(feature_names), "named": bool(named), "target": target,
        "target_index": target_index, "n_columns": n_columns,
        "sparse_input": bool(sparse_input)}}
    save_model(estimator, path, extra=extra)


def load_bundle(path, allow_pickle=False):
    """The Bundle saved at ``path``, or a CLIError that says why not."""
    from .. import load_model
    from .._readers import DataError, check_readable
    from .._persist import looks_like_pickle

    try:
        check_readable(path)
    except DataError as exc:
        raise CLIError(str(exc)) from None
    if looks_like_pickle(path):
        if not allow_pickle:
            raise CLIError(
                f"{path}: is a pickle (a version-1 model file, or not descend's), which can "
                f"run any code when loaded, so descend does not load it; if you trust the "
                f"file, add --allow-pickle (then re-save the model with 'descend train "
                f"--out')")
        return _legacy(path)
    try:
        estimator, extra = load_model(path, return_extra=True)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    saved = extra.get(KEY) if isinstance(extra, dict) else None
    if saved is None:  # saved from Python: applied as it is
        names = getattr(estimator, "feature_names_in_", None)
        return Bundle(estimator, None, _names(names, estimator.n_features_in_),
                      named=names is not None, n_columns=estimator.n_features_in_)
    return _from_extra(saved, estimator, path)


def _names(names, p):
    from .._data import GeneratedNames

    return GeneratedNames(p) if names is None else [str(name) for name in names]


def _from_extra(saved, estimator, path):
    """The Bundle of the command's extra, each field checked (a crafted
    file must fail here, not halfway through a prediction)."""
    def field(key, check, what):
        value = saved.get(key) if isinstance(saved, dict) else None
        if not check(value):
            raise CLIError(f"{path}: damaged model file: {KEY} {key} must be {what}")
        return value

    def integer(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    p = estimator.n_features_in_
    scaler = field("scaler", lambda v: v is None or (
        isinstance(v, dict) and all(isinstance(v.get(k), np.ndarray) and v[k].shape == (p,)
                                    and v[k].dtype.kind == "f" for k in ("mean", "scale"))),
        f"null or mean and scale arrays of {p} floats")
    names = field("feature_names", lambda v: v is None or (
        isinstance(v, np.ndarray) and v.shape == (p,)), f"null or {p} names")
    field("n_features", lambda v: v == p, f"{p}, the model's number of features")
    transform = None
    if scaler is not None:
        mean, scale = scaler["mean"], scaler["scale"]
        transform = lambda X: (X - mean) / scale  # noqa: E731  (StandardScaler.transform)
    return Bundle(
        estimator, transform, _names(names, p),
        named=field("named", lambda v: isinstance(v, bool), "true or false"),
        target=field("target", lambda v: v is None or isinstance(v, str), "null or text"),
        target_index=field("target_index", lambda v: v is None or integer(v),
                           "null or an index"),
        n_columns=field("n_columns", integer, "a number of columns"),
        sparse_input=field("sparse_input", lambda v: isinstance(v, bool), "true or false"))


def _legacy(path):
    """A version-1 model file (joblib), trusted by the user."""
    import joblib

    print(f"descend predict: warning: {_PICKLE_WARNING.format(path=path)}", file=sys.stderr)
    try:
        bundle = joblib.load(path)
    except Exception as exc:  # noqa: BLE001  (unpickling raises anything at all)
        raise CLIError(f"{path}: not a model saved by 'descend train --out' "
                       f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    fields = ("estimator", "scaler", "feature_names", "named_features", "target",
              "target_index", "n_columns", "sparse_input")
    if not (isinstance(bundle, dict) and bundle.get("format") == "descend-model"
            and bundle.get("format_version") == 1 and all(k in bundle for k in fields)
            and hasattr(bundle["estimator"], "predict")):
        raise CLIError(f"{path}: not a model saved by 'descend train --out'")
    scaler = bundle["scaler"]
    return Bundle(bundle["estimator"], None if scaler is None else scaler.transform,
                  bundle["feature_names"], bundle["named_features"], bundle["target"],
                  bundle["target_index"], bundle["n_columns"], bundle["sparse_input"])
