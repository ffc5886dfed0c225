"""ONNX export (descend.onnx): onnxruntime runs the exported graphs and gives
descend's own predict / predict_proba / decision_function."""
import functools

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from scipy.special import expit  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine, make_classification,
    make_regression)
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import descend  # noqa: E402
import descend.onnx  # noqa: E402,F401  (registers the converters)

# Model quality does not matter here: short fits that stop at max_iter.
pytestmark = pytest.mark.filterwarnings(f"ignore::{ConvergenceWarning.__module__}."
                                        f"{ConvergenceWarning.__name__}")

CLASSIFIER_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron",
                     "squared_error", "huber", "epsilon_insensitive",
                     "squared_epsilon_insensitive"]
REGRESSOR_LOSSES = ["squared_error", "huber", "epsilon_insensitive",
                    "squared_epsilon_insensitive"]
# float32 graphs and float32 descend round differently: compare to float32
# precision; float64 graphs agree to the last few bits. Probabilities are
# compared absolutely; scores relative to the sum of their terms' magnitudes
# |X| @ |coef_.T| + |intercept_| (scale_features=True on raw features gives
# terms of ~1e3 that cancel to scores of ~1, whose float32 rounding differs
# by more than 1e-5 between two orders of summation).
TOL = {np.float32: 1e-5, np.float64: 1e-10}


@functools.cache
def dataset(name):
    loaders = {"breast_cancer": load_breast_cancer, "wine": load_wine, "iris": load_iris,
               "digits": load_digits, "diabetes": load_diabetes}
    if name in loaders:
        return loaders[name](return_X_y=True)
    if name == "synthetic_classes":
        return make_classification(n_samples=300, n_features=12, n_informative=6,
                                   n_classes=4, random_state=0)
    return make_regression(n_samples=300, n_features=12, noise=1.0, random_state=0)


def data(name, dtype, scale_features=False, labels="int"):
    """X in ``dtype`` (standardised unless the solver scales it) and y, with
    string labels when asked."""
    X, y = dataset(name)
    if not scale_features:
        X = StandardScaler().fit_transform(X)
    if labels == "str":
        y = np.array([f"class {c}" for c in y])
    return X.astype(dtype), y


def run_graph(onx, X):
    """An ONNX model's outputs on X, by onnxruntime."""
    session = ort.InferenceSession(onx.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def run(model, X, **options):
    """The exported model's outputs on X, with these converter options."""
    return run_graph(to_onnx(model, X[:1], options={id(model): options} if options else None),
                     X)


def classifier(estimator, loss, scale_features=False):
    """A short fit. SGD's "optimal" schedule with the default alpha=1e-4
    makes raw-feature coefficients of ~1e3 after 5 epochs, whose float32
    scores descend itself rounds by ~1e-4 (see
    test_float32_scores_are_float32_rounding); alpha=0.01 keeps them sane."""
    if estimator == "logistic":
        return descend.LogisticRegression(scale_features=scale_features, max_iter=30)
    return descend.SGDClassifier(loss=loss, alpha=0.01, scale_features=scale_features,
                                 max_iter=5, tol=None, random_state=0)


def term_magnitude(model, X):
    """|X| @ |coef_.T| + |intercept_|, one column per score."""
    coef = model.coef_.toarray() if hasattr(model.coef_, "toarray") else model.coef_
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    return np.abs(X) @ np.abs(coef.T) + np.abs(np.asarray(model.intercept_)).reshape(-1)


def assert_scores_close(actual, expected, model, X, dtype):
    """|actual - expected| <= TOL * (1 + the scores' term magnitude)."""
    actual = np.asarray(actual).reshape(len(X), -1)
    expected = np.asarray(expected).reshape(actual.shape)
    magnitude = term_magnitude(model, X)
    if magnitude.shape != actual.shape:  # two columns [-z, z]
        magnitude = np.column_stack([magnitude, magnitude])
    ratio = np.abs(actual - expected) / (1 + magnitude)
    assert ratio.max() <= TOL[dtype], f"scores differ by {ratio.max():.3g} x (1 + magnitude)"


def check_classifier(model, X, dtype, **options):
    """Labels exactly; probabilities to TOL absolutely, or, for a model
    without predict_proba, decision_function ([-z, z] for two classes)."""
    label, second = run(model, X, zipmap=False, **options)
    assert_array_equal(label, model.predict(X))
    assert second.dtype == dtype
    if hasattr(model, "predict_proba"):
        assert_allclose(second, model.predict_proba(X), rtol=0, atol=TOL[dtype])
    else:
        scores = model.decision_function(X)
        expected = np.column_stack([-scores, scores]) if scores.ndim == 1 else scores
        assert_scores_close(second, expected, model, X, dtype)


CLASSIFIERS = [("logistic", None)] + [("sgd", loss) for loss in CLASSIFIER_LOSSES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale_features", [False, True])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("data_name", ["breast_cancer", "wine"])
@pytest.mark.parametrize("estimator, loss", CLASSIFIERS)
def test_classifier_matches_descend(estimator, loss, data_name, labels, scale_features, dtype):
    X, y = data(data_name, dtype, scale_features, labels)
    model = classifier(estimator, loss, scale_features).fit(X, y)
    check_classifier(model, X, dtype)


@pytest.mark.parametrize("data_name", ["iris", "digits", "synthetic_classes"])
@pytest.mark.parametrize("estimator, loss", [("logistic", None), ("sgd", "hinge"),
                                             ("sgd", "log_loss"), ("sgd", "modified_huber")])
def test_more_class_counts(estimator, loss, data_name):
    X, y = data(data_name, np.float32)
    model = classifier(estimator, loss).fit(X, y)
    check_classifier(model, X, np.float32)


@pytest.mark.parametrize("data_name", ["breast_cancer", "digits"])
@pytest.mark.parametrize("estimator, loss", [("logistic", None), ("sgd", "log_loss"),
                                             ("sgd", "modified_huber")])
def test_float64_fit_exported_as_float32(estimator, loss, data_name):
    """The usual deployment: fitted on float64, served on float32."""
    X, y = data(data_name, np.float64, scale_features=True)
    model = classifier(estimator, loss, scale_features=True).fit(X, y)
    label, proba = run(model, X.astype(np.float32), zipmap=False)
    assert_array_equal(label, model.predict(X))
    assert_allclose(proba, model.predict_proba(X), atol=1e-5)


def test_one_vs_rest_log_loss_rows_where_every_class_is_unlikely():
    """Rows whose scores are all below about -88 (digits, long SGD steps):
    the graph normalises the sigmoids in log space, so it gives the float64
    value of sigmoid(z) / sum(sigmoid(z)) for its scores (descend's float32
    expit underflows to 0 there and gives uniform rows)."""
    X, y = data("digits", np.float32)
    model = descend.SGDClassifier(loss="log_loss", max_iter=5, tol=None,
                                  random_state=0).fit(X, y)
    proba = run(model, X, zipmap=False)[1]
    scores = run(model, X, zipmap=False, raw_scores=True)[1].astype(np.float64)
    assert np.any(scores.max(axis=1) < -88)
    sigmoid = expit(scores)
    assert_allclose(proba, sigmoid / sigmoid.sum(axis=1, keepdims=True), atol=1e-6)


def test_binary_logistic_probabilities_are_the_sigmoid():
    """The issue: skl2onnx's generic linear converter gave sigmoid(2 z)."""
    X, y = data("breast_cancer", np.float32)
    model = descend.LogisticRegression(max_iter=30).fit(X, y)
    proba = run(model, X, zipmap=False)[1]
    z = model.decision_function(X)
    from scipy.special import expit

    z = z.astype(np.float64)
    assert np.abs(model.predict_proba(X)[:, 1] - expit(2 * z)).max() > 0.01
    assert_allclose(proba[:, 1], expit(z), atol=1e-5)


def regressor(estimator, loss, scale_features):
    if estimator == "linear":
        return descend.LinearRegression(scale_features=scale_features, max_iter=30)
    return descend.SGDRegressor(loss=loss, scale_features=scale_features, max_iter=5,
                                tol=None, random_state=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale_features", [False, True])
@pytest.mark.parametrize("estimator, loss, data_name",
                         [("linear", None, "diabetes"), ("linear", None, "synthetic")]
                         + [("sgd", loss, "synthetic") for loss in REGRESSOR_LOSSES])
def test_regressor_matches_descend(estimator, loss, data_name, scale_features, dtype):
    X, y = data(data_name, dtype, scale_features)
    model = regressor(estimator, loss, scale_features).fit(X, y)
    (prediction,) = run(model, X)
    assert prediction.shape == (len(X), 1) and prediction.dtype == dtype
    assert_scores_close(prediction, model.predict(X), model, X, dtype)


def test_float32_scores_are_float32_rounding():
    """An ill-conditioned float32 model (terms of ~3e3 summing to scores of
    ~1): descend's float32 scores and the graph's each differ from the exact
    ones by float32 rounding of the terms, ~1e-4, not 1e-5."""
    X, y = data("breast_cancer", np.float32, scale_features=True)
    model = descend.SGDClassifier(loss="log_loss", scale_features=True, max_iter=5, tol=None,
                                  random_state=0).fit(X, y)
    exact = X.astype(np.float64) @ model.coef_.T.astype(np.float64) + model.intercept_
    _, scores = run(model, X, zipmap=False, raw_scores=True)
    for computed in (model.decision_function(X), scores[:, 1]):
        assert_scores_close(computed, exact, model, X, np.float32)


def test_multi_output_linear_regression():
    """A 2-D ``coef_`` (n_targets, n_features) gives one column per target."""
    X, Y = make_regression(n_samples=100, n_features=5, n_targets=3, random_state=0)
    model = descend.LinearRegression(max_iter=30)
    try:
        model.fit(X, Y)
        expected = model.predict(X)
    except ValueError:
        # Multi-output fits are not merged yet: set the attributes they
        # will set (scikit-learn's shapes) on a single-output fit.
        model.fit(X, Y[:, 0])
        rng = np.random.default_rng(0)
        model.coef_, model.intercept_ = rng.normal(size=(3, 5)), rng.normal(size=3)
        expected = X @ model.coef_.T + model.intercept_
    (prediction,) = run(model, X)
    assert_allclose(prediction, expected, rtol=1e-10)


def test_zipmap_default_and_columns():
    X, y = data("wine", np.float32, labels="str")
    model = descend.LogisticRegression(max_iter=30).fit(X, y)
    expected = model.predict_proba(X)
    label, dicts = run(model, X)
    assert_array_equal(label, model.predict(X))
    assert_allclose([[row[c] for c in model.classes_] for row in dicts], expected, atol=1e-5)
    label, *columns = run(model, X, zipmap="columns")
    assert_allclose(np.column_stack(columns), expected, atol=1e-5)


@pytest.mark.parametrize("data_name", ["breast_cancer", "wine"])
def test_raw_scores_option_gives_decision_function(data_name):
    X, y = data(data_name, np.float32)
    model = descend.SGDClassifier(loss="log_loss", max_iter=5, tol=None,
                                  random_state=0).fit(X, y)
    scores = model.decision_function(X)
    expected = np.column_stack([-scores, scores]) if scores.ndim == 1 else scores
    assert_allclose(run(model, X, zipmap=False, raw_scores=True)[1], expected,
                    rtol=1e-5, atol=1e-5)


def test_nocl_and_output_class_labels():
    X, y = data("iris", np.float32, labels="str")
    model = descend.LogisticRegression(max_iter=30).fit(X, y)
    label, _ = run(model, X, zipmap=False, nocl=True)
    assert_array_equal(model.classes_[label], model.predict(X))
    label, _, classes = run(model, X, zipmap=False, output_class_labels=True)
    assert_array_equal(classes, model.classes_)


@pytest.mark.parametrize("classes", [[-1.0, 1.0], [False, True], [3, 7]])
def test_numeric_labels_are_int64(classes):
    X, y = data("breast_cancer", np.float32)
    y = np.array(classes)[y]
    model = descend.SGDClassifier(max_iter=5, tol=None, random_state=0).fit(X, y)
    label, _ = run(model, X, zipmap=False)
    assert label.dtype == np.int64
    assert_array_equal(label, model.predict(X).astype(np.int64))


def test_pipeline_with_standard_scaler():
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    pipe = make_pipeline(StandardScaler(), descend.LogisticRegression(max_iter=30)).fit(X, y)
    onx = to_onnx(pipe, X[:1], options={descend.LogisticRegression: {"zipmap": False}})
    label, proba = run_graph(onx, X)
    assert_array_equal(label, pipe.predict(X))
    assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)

    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), descend.SGDRegressor(max_iter=5, tol=None,
                                                                random_state=0)).fit(X, y)
    (prediction,) = run(pipe, X)
    assert_allclose(prediction[:, 0], pipe.predict(X), rtol=1e-10)


@pytest.mark.parametrize("data_name", ["breast_cancer", "wine"])
def test_sparsified_classifier(data_name):
    X, y = data(data_name, np.float64)
    model = descend.SGDClassifier(loss="modified_huber", penalty="l1", alpha=0.05, max_iter=5,
                                  tol=None, random_state=0).fit(X, y).sparsify()
    assert model.coef_.nnz < np.prod(model.coef_.shape)
    check_classifier(model, X, np.float64)


def test_sparsified_regressor():
    X, y = data("synthetic", np.float64)
    model = descend.SGDRegressor(penalty="l1", alpha=1.0, max_iter=5, tol=None,
                                 random_state=0).fit(X, y)
    expected = model.predict(X)
    (prediction,) = run(model.sparsify(), X)
    assert_allclose(prediction[:, 0], expected, rtol=1e-10)


def test_modified_huber_rows_with_no_class_are_uniform():
    X, y = data("wine", np.float32)
    model = classifier("sgd", "modified_huber").fit(X, y)
    # Shift every score so that about half the rows have all of them <= -1.
    model.intercept_ -= np.median(model.decision_function(X).max(axis=1)) + 1
    uniform = np.all(model.predict_proba(X) == np.float32(1 / 3), axis=1)
    assert 0.2 < uniform.mean() < 0.8
    check_classifier(model, X, np.float32)


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_opset_before_13(loss):
    """ReduceSum took its axes as an attribute, and Softmax flattened its
    input to 2-D, before opset 13."""
    X, y = data("wine", np.float32)
    model = classifier("sgd", loss).fit(X, y)
    onx = to_onnx(model, X[:1], target_opset=12, options={"zipmap": False})
    assert max(opset.version for opset in onx.opset_import if opset.domain == "") == 12
    assert_allclose(run_graph(onx, X)[1], model.predict_proba(X), atol=1e-5)


def test_a_sample_with_other_features_is_refused():
    X, y = data("breast_cancer", np.float32)
    model = descend.LogisticRegression(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="fitted on 30 features but the ONNX input has 3"):
        to_onnx(model, X[:1, :3])


def test_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        to_onnx(descend.LinearRegression(), np.zeros((1, 3), dtype=np.float32))
