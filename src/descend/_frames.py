"""DataFrame input: a clear error for non-numeric columns, naming them.

Without this check a string column fails deep inside NumPy ("could not
convert string to float: 'Paris'") and a categorical column of numbers is
silently trained on as if its categories were quantities.  Neither pandas
nor polars is imported unless X is one of their DataFrames.
"""
from __future__ import annotations

import numpy as np

_MAX_NAMED = 10  # columns named in the message; the rest are counted

#: ``pandas.api.types.infer_dtype`` results of object columns that convert
#: to float cleanly (object columns are otherwise non-numeric).
_NUMERIC_OBJECT_KINDS = frozenset(
    {"empty", "integer", "floating", "mixed-integer-float", "decimal", "boolean"})


def _from_library(X, library):
    """Whether X is a DataFrame (or a subclass of one) of ``library``,
    judged from the modules of its type's bases, without importing it."""
    return any(cls.__name__ == "DataFrame" and cls.__module__.split(".")[0] == library
               for cls in type(X).__mro__)


def _pandas_non_numeric(X):
    """(column, dtype) pairs of a pandas DataFrame that are not numeric."""
    from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

    bad = []
    for position, dtype in enumerate(X.dtypes):
        if is_numeric_dtype(dtype) or is_bool_dtype(dtype):
            continue
        if isinstance(dtype, np.dtype) and dtype.kind == "O" and infer_dtype(
                X.iloc[:, position], skipna=True) in _NUMERIC_OBJECT_KINDS:
            continue  # numbers held as Python objects convert cleanly
        bad.append((X.columns[position], dtype))
    return bad


def _polars_is_numeric(dtype):
    is_numeric = getattr(dtype, "is_numeric", None)
    if callable(is_numeric) and is_numeric():
        return True
    name = str(dtype)
    return name == "Boolean" or name.startswith(("Int", "UInt", "Float", "Decimal"))


def check_dataframe(X, name="X"):
    """Check a DataFrame's columns before it is converted to an array.

    Parameters
    ----------
    X : object
        The input of fit, partial_fit or predict.
    name : str, default="X"
        The argument's name, used in the error message.

    Returns
    -------
    X : object
        A pandas DataFrame (or anything that is not a DataFrame) unchanged,
        so that scikit-learn records and checks its column names; a polars
        DataFrame converted with ``X.to_numpy()``.

    Raises
    ------
    ValueError
        When X is a pandas or polars DataFrame with a column that is not
        numeric or boolean (strings, categories, dates, ...), naming them::

            X has non-numeric columns ['city', 'kind'] (dtypes: object,
            category); encode them first, e.g. with OneHotEncoder.
    """
    if _from_library(X, "pandas"):
        _raise_for(name, _pandas_non_numeric(X))
        return X
    if _from_library(X, "polars"):
        _raise_for(name, [(column, dtype) for column, dtype in zip(X.columns, X.dtypes)
                          if not _polars_is_numeric(dtype)])
        return X.to_numpy()
    return X


def _raise_for(name, bad):
    if not bad:
        return
    columns = [column for column, _ in bad]
    shown = repr(columns[:_MAX_NAMED])
    if len(columns) > _MAX_NAMED:
        shown += f" and {len(columns) - _MAX_NAMED} more"
    dtypes = list(dict.fromkeys(str(dtype) for _, dtype in bad))
    several = len(columns) > 1
    raise ValueError(
        f"{name} has non-numeric column{'s' if several else ''} {shown} "
        f"(dtype{'s' if len(dtypes) > 1 else ''}: {', '.join(dtypes)}); encode "
        f"{'them' if several else 'it'} first, e.g. with OneHotEncoder.")
