"""Class labels and class weights: what the classifiers share."""
from __future__ import annotations

import numbers

import numpy as np

from ._validation import rescale_weights


class ClassWeightDict:
    """Constraint: a dict of non-negative finite class weights."""

    def accepts(self, value):
        return isinstance(value, dict) and all(
            isinstance(w, numbers.Real) and not isinstance(w, bool) and w >= 0
            and np.isfinite(w) for w in value.values())

    def __str__(self):
        return "a dict of non-negative finite weights"


def encode_labels(y, name, arg="y"):
    """Sorted classes and each sample's class index.

    One sort of y (``np.unique``) and a binary search per sample: half the
    cost of ``np.unique(return_inverse=True)`` plus scikit-learn's
    ``type_of_target`` on large y, with the same errors.  ``arg`` is the
    argument the labels came from, which the errors name (``classes`` in
    partial_fit).
    """
    binary = _binary_labels(y)
    if binary is not None:
        return binary
    try:
        classes = np.unique(y)
    except TypeError:
        raise ValueError(
            f"Unknown label type: {arg} mixes label types (e.g. strings and numbers); "
            "use labels of one type.") from None
    if y.dtype.kind == "f" and not np.all(classes == np.floor(classes)):
        raise ValueError(
            f"Unknown label type: 'continuous'. {name} needs class labels in {arg} "
            f"(got {'NaN or ' if np.isnan(classes).any() else ''}non-integer "
            f"floats); for real-valued targets use a regressor "
            f"(descend.LinearRegression or descend.SGDRegressor).")
    if len(classes) < 2:
        raise ValueError(
            f"{arg} contains only one class ({classes[0]!r}); a classifier needs samples "
            f"of at least 2 classes to learn from.")
    return classes, np.searchsorted(classes, y)


def _binary_labels(y):
    """encode_labels of numeric y with exactly two integer-valued labels,
    without a sort (four reads of y); None for anything else."""
    if y.dtype.kind not in "biuf" or y.ndim != 1 or len(y) == 0:
        return None
    lo, hi = y.min(), y.max()
    if not lo < hi or (y.dtype.kind == "f" and not (lo == np.floor(lo) and hi == np.floor(hi))):
        return None
    upper = y == hi
    if np.count_nonzero(upper) + np.count_nonzero(y == lo) != len(y):
        return None
    return np.array([lo, hi], dtype=y.dtype), upper.astype(np.intp)


def partial_fit_labels(estimator, y, classes, first):
    """Class indices of y for partial_fit; sets ``classes_`` on the first
    call (from ``classes``, required then), checks them later.  Call it
    after X and y are validated, so a bad first call leaves no classes_."""
    if first:
        estimator.classes_ = encode_labels(np.asarray(classes), type(estimator).__name__,
                                           "classes")[0]
    elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), estimator.classes_):
        raise ValueError(
            f"classes={classes!r} differs from the classes of the first call "
            f"({estimator.classes_!r}).")
    known = estimator.classes_
    y_index = np.searchsorted(known, y)
    unknown = (y_index >= len(known)) | (known[np.minimum(y_index, len(known) - 1)] != y)
    if np.any(unknown):
        raise ValueError(
            f"y has labels not in classes_ {known!r}: "
            f"{np.unique(np.asarray(y)[unknown])[:5]!r}.")
    return y_index


def check_partial_fit_classes(estimator, classes, first):
    """The checks of partial_fit that come before the data's."""
    if first and classes is None:
        raise ValueError(
            "classes must be passed on the first call to partial_fit: "
            "every label the model will ever see, e.g. classes=np.unique(y_all).")
    if estimator.class_weight == "balanced":
        raise ValueError(
            "class_weight 'balanced' is not supported for partial_fit. In order to use "
            "'balanced' weights, use compute_class_weight('balanced', classes=classes, "
            "y=y). In place of y you can use a large enough sample of the full training "
            "set target to properly estimate the class frequency distributions. Pass "
            "the resulting weights as the class_weight parameter. ('balanced' needs "
            "every label at once; partial_fit sees one batch.)")


def weigh_by_class(sw, row_class_weight, dtype):
    """The sample weights ``sw`` times each row's class weight, in ``dtype``.

    The product is formed in float64 from class weights rescaled like the
    sample weights (``rescale_weights``), and rescaled again: only the
    ratios matter, and class weights of 1e308 times sample weights would
    otherwise overflow (a DivergenceError from a valid class_weight)."""
    factor = rescale_weights(np.array(row_class_weight, dtype=np.float64))
    weights = sw.astype(np.float64) * factor
    if not weights.sum() > 0:
        raise ValueError("class_weight and sample_weight leave no positive weight.")
    return rescale_weights(weights).astype(dtype, copy=False)


def class_weight_vector(class_weight, classes, y_index):
    """Weight of each class (in ``classes`` order): 1 when None, a dict's
    value (missing labels weigh 1), or "balanced": ``n_samples / (n_classes
    * count(label))`` as scikit-learn."""
    if class_weight is None:
        return np.ones(len(classes))
    if class_weight == "balanced":
        counts = np.bincount(y_index, minlength=len(classes))
        return len(y_index) / (len(classes) * np.maximum(counts, 1))
    per_class = np.ones(len(classes))
    for label, weight in class_weight.items():
        where = np.flatnonzero(classes == label)
        if not len(where):
            raise ValueError(
                f"class_weight has label {label!r}, which is not among the "
                f"classes {classes!r}.")
        per_class[where[0]] = weight
    return per_class
