"""The model file of ``descend train --out``, read by ``descend predict``:
a joblib dict holding the fitted estimator, its scaler, and how the data
file's columns were matched."""
from __future__ import annotations

from ._args import CLIError

#: Format tag of the files ``descend train --out`` writes.
MODEL_FORMAT = "descend-model"
MODEL_FORMAT_VERSION = 1


def save_model(path, **fields):
    """Write the bundle: the format tag and versions, then ``fields``."""
    import joblib

    from .. import __version__

    joblib.dump({"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
                 "descend_version": __version__, **fields}, path)


def load_model(path):
    """The bundle saved at ``path``, or a CLIError that says why not."""
    import pickle

    import joblib

    from .._data import DataError, check_readable

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
