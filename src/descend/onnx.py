"""ONNX export of descend's estimators through skl2onnx.

Importing this module registers a converter with skl2onnx for each of
``LinearRegression``, ``LogisticRegression``, ``SGDClassifier`` and
``SGDRegressor``; then ``skl2onnx.to_onnx(model, X[:1])`` works, alone or
as the last step of a ``sklearn.pipeline.Pipeline``::

    import descend.onnx  # noqa: F401  (registers the converters)
    from skl2onnx import to_onnx
    onx = to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False})

Needs ``pip install "descend[onnx]"`` (skl2onnx and onnxruntime).

The graphs follow scikit-learn's ONNX conventions, so descend can replace a
scikit-learn estimator in an ONNX pipeline:

- Regressors have one output, ``variable``, of shape (N, 1), or (N,
  n_targets) for a multi-output ``LinearRegression``.
- Classifiers output ``label`` (int64, or string for string labels) and
  ``probabilities`` (N, n_classes), followed by skl2onnx's ZipMap unless the
  option ``zipmap`` is False. ``probabilities`` holds ``predict_proba`` where
  the estimator has it (binary ``LogisticRegression`` and log-loss SGD: the
  logistic sigmoid, not the softmax over ``[-z, z]`` of skl2onnx's generic
  linear converter). Where it has none (hinge and the other SGD losses) or
  with the option ``raw_scores=True``, it holds ``decision_function``, two
  columns ``[-z, z]`` for two classes, as skl2onnx does for scikit-learn's
  ``SGDClassifier``.
- Options: ``zipmap`` (True, False, "columns"), ``raw_scores``, ``nocl``
  (labels are class indices) and ``output_class_labels``, as for
  scikit-learn's linear classifiers.

The graph computes ``X @ coef_.T + intercept_`` (``scale_features`` is
already folded into ``coef_``; a sparsified ``coef_`` is stored dense) in the
input's type: float32 input (``FloatTensorType``) or float64
(``DoubleTensorType``). onnxruntime's ZipMap takes float32 only, so float64
classifiers need ``options={"zipmap": False}``, as scikit-learn's do.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType)
    from skl2onnx.common.utils import (
        check_input_and_output_numbers, check_input_and_output_types)
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as error:
    raise ImportError(f'descend.onnx needs skl2onnx ({error}); install it with '
                      f'pip install "descend[onnx]"') from error

from ._linear import LinearRegression
from ._logistic import LogisticRegression
from ._sgd import SGDClassifier, SGDRegressor

__all__ = ["register_converters"]

_FLOAT_TYPES = {FloatTensorType: (np.float32, TensorProto.FLOAT),
                DoubleTensorType: (np.float64, TensorProto.DOUBLE)}

_CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "raw_scores": [False, True],
                       "nocl": [False, True], "output_class_labels": [False, True]}


class _Graph:
    """Adds nodes and constants to the graph of one operator, in its input's
    float type."""

    def __init__(self, scope, operator, container):
        self.scope, self.container = scope, container
        self.dtype, self.onnx_type = _FLOAT_TYPES[type(operator.inputs[0].type)]
        self.prefix = operator.full_name

    def name(self, hint):
        return self.scope.get_unique_variable_name(f"{self.prefix}_{hint}")

    def constant(self, hint, value, onnx_type=None, dtype=None):
        value = np.asarray(value, dtype=dtype or self.dtype)
        name = self.name(hint)
        content = value.ravel().tolist() if value.dtype.kind == "U" else value.ravel()
        self.container.add_initializer(name, onnx_type or self.onnx_type,
                                       list(value.shape), content)
        return name

    def node(self, op_type, inputs, output=None, **attrs):
        output = output or self.name(op_type.lower())
        self.container.add_node(op_type, inputs, output,
                                name=self.scope.get_unique_operator_name(op_type), **attrs)
        return output

    def reduce_sum_rows(self, x):
        """Sum over axis 1, keeping it (axes became an input in opset 13)."""
        if self.container.target_opset < 13:
            return self.node("ReduceSum", [x], axes=[1], keepdims=1)
        axes = self.constant("axes", [1], TensorProto.INT64, np.int64)
        return self.node("ReduceSum", [x, axes], keepdims=1)


def _coefficients(model, dtype):
    """``coef_`` as a dense (n_outputs, n_features) array and ``intercept_``
    as (n_outputs,), in ``dtype``."""
    coef = model.coef_.toarray() if sp.issparse(model.coef_) else model.coef_
    coef = np.atleast_2d(np.asarray(coef, dtype=dtype))
    intercept = np.asarray(model.intercept_, dtype=dtype).reshape(-1)
    return coef, np.broadcast_to(intercept, coef.shape[0])


def _scores(graph, operator, coef, intercept):
    """``X @ coef.T + intercept``, shape (N, n_outputs)."""
    weights = graph.constant("coef", np.ascontiguousarray(coef.T))
    product = graph.node("MatMul", [operator.inputs[0].full_name, weights])
    return graph.node("Add", [product, graph.constant("intercept", intercept)])


def _check_input(operator, n_outputs_range):
    check_input_and_output_numbers(operator, input_count_range=1,
                                   output_count_range=n_outputs_range)
    check_input_and_output_types(operator, good_input_types=list(_FLOAT_TYPES))
    model = operator.raw_operator
    check_is_fitted(model)
    n_features = operator.inputs[0].type.shape[1]
    if isinstance(n_features, int) and n_features != model.n_features_in_:
        raise ValueError(
            f"{type(model).__name__} was fitted on {model.n_features_in_} features but the "
            f"ONNX input has {n_features} columns; give to_onnx a sample of the training X.")
    return operator.inputs[0].get_first_dimension()


def _regressor_shape(operator):
    n = _check_input(operator, 1)
    n_outputs = _coefficients(operator.raw_operator, np.float64)[0].shape[0]
    operator.outputs[0].type = type(operator.inputs[0].type)([n, n_outputs])


def _convert_regressor(scope, operator, container):
    graph = _Graph(scope, operator, container)
    coef, intercept = _coefficients(operator.raw_operator, graph.dtype)
    scores = _scores(graph, operator, coef, intercept)
    graph.node("Identity", [scores], operator.outputs[0].full_name)


def _class_labels(scope, model):
    """The labels the graph outputs: int64 for integer, boolean and
    integer-valued float classes (as skl2onnx's ZipMap), else strings."""
    classes = np.asarray(get_label_classes(scope, model))
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.all(classes == np.round(classes)):
            raise ValueError(f"ONNX labels must be integers or strings; classes_ is "
                             f"{classes!r}. Refit with integer or string labels.")
        return classes.astype(np.int64)
    return classes.astype(str)


def _classifier_shape(operator):
    n = _check_input(operator, 2)
    labels = _class_labels(operator.scope_inst, operator.raw_operator)
    label_type = Int64TensorType if labels.dtype == np.int64 else StringTensorType
    operator.outputs[0].type = label_type([n])
    operator.outputs[1].type = type(operator.inputs[0].type)([n, len(labels)])


def _probability_kind(model):
    """How ``predict_proba`` maps the scores, or None without it."""
    if isinstance(model, LogisticRegression):
        return "softmax" if len(model.classes_) > 2 else "sigmoid"
    return {"log_loss": "sigmoid", "modified_huber": "modified_huber"}.get(model.loss)


def _positive_class_probability(graph, scores, kind):
    """Per-column probability of the class against the rest."""
    if kind == "sigmoid":
        return graph.node("Sigmoid", [scores])
    low = graph.node("Max", [scores, graph.constant("minus_one", -1.0)])
    clipped = graph.node("Min", [low, graph.constant("one", 1.0)])
    shifted = graph.node("Add", [clipped, graph.constant("one", 1.0)])
    return graph.node("Mul", [shifted, graph.constant("half", 0.5)])


def _one_vs_rest_sigmoid(graph, scores, output):
    """Each class's sigmoid divided by the row's sum, as the softmax of the
    log-sigmoids ``min(z, 0) - log(1 + exp(-|z|))``: onnxruntime's float32
    Sigmoid is accurate to 1.5e-7 absolutely, not relatively, which the
    division magnifies in rows where every class is unlikely."""
    decay = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [scores])])])
    log1p = graph.node("Log", [graph.node("Add", [decay, graph.constant("one", 1.0)])])
    upper = graph.node("Min", [scores, graph.constant("zero", 0.0)])
    log_sigmoid = graph.node("Sub", [upper, log1p])
    return graph.node("Softmax", [log_sigmoid], output, axis=1)


def _one_vs_rest_normalised(graph, raw, n_classes, output):
    """Rows divided by their sum; rows summing to 0 are uniform."""
    total = graph.reduce_sum_rows(raw)
    positive = graph.node("Greater", [total, graph.constant("zero", 0.0)])
    raw = graph.node("Where", [positive, raw, graph.constant("one", 1.0)])
    total = graph.node("Where", [positive, total, graph.constant("k", float(n_classes))])
    return graph.node("Div", [raw, total], output)


def _convert_classifier(scope, operator, container):
    graph = _Graph(scope, operator, container)
    model = operator.raw_operator
    coef, intercept = _coefficients(model, graph.dtype)
    scores = _scores(graph, operator, coef, intercept)
    binary = coef.shape[0] == 1

    if binary:
        positive = graph.node("Greater", [scores, graph.constant("zero", 0.0)])
        index_2d = graph.node("Cast", [positive], to=TensorProto.INT64)
        shape = graph.constant("shape", [-1], TensorProto.INT64, np.int64)
        index = graph.node("Reshape", [index_2d, shape])
    else:
        index = graph.node("ArgMax", [scores], axis=1, keepdims=0)
    labels = _class_labels(scope, model)
    label_type = TensorProto.INT64 if labels.dtype == np.int64 else TensorProto.STRING
    classes = graph.constant("classes", labels, label_type, labels.dtype)
    graph.node("Gather", [classes, index], operator.outputs[0].full_name, axis=0)

    output = operator.outputs[1].full_name
    raw_scores = container.get_options(model, dict(raw_scores=False))["raw_scores"]
    kind = None if raw_scores else _probability_kind(model)
    if kind is None and binary:
        graph.node("Concat", [graph.node("Neg", [scores]), scores], output, axis=1)
    elif kind is None:
        graph.node("Identity", [scores], output)
    elif kind == "softmax":
        graph.node("Softmax", [scores], output, axis=1)
    elif binary:
        p = _positive_class_probability(graph, scores, kind)
        q = graph.node("Sub", [graph.constant("one", 1.0), p])
        graph.node("Concat", [q, p], output, axis=1)
    elif kind == "sigmoid":
        _one_vs_rest_sigmoid(graph, scores, output)
    else:
        raw = _positive_class_probability(graph, scores, kind)
        _one_vs_rest_normalised(graph, raw, coef.shape[0], output)


def register_converters() -> None:
    """Register descend's estimators with skl2onnx (done when this module is
    imported; calling it again re-registers them)."""
    for model in (LinearRegression, SGDRegressor):
        update_registered_converter(model, f"Descend{model.__name__}", _regressor_shape,
                                    _convert_regressor)
    for model in (LogisticRegression, SGDClassifier):
        update_registered_converter(model, f"Descend{model.__name__}", _classifier_shape,
                                    _convert_classifier, options=_CLASSIFIER_OPTIONS)


register_converters()
