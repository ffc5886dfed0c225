"""SGDClassifier and SGDRegressor: the losses against hand-computed steps and
independent solvers, one-vs-rest, probabilities, sparse coefficients, and
the drop-in API."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit
from sklearn import linear_model as sklm
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

from descend import DivergenceError, SGDClassifier, SGDRegressor

CLASSIFIER_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron",
                     "squared_error", "huber", "epsilon_insensitive",
                     "squared_epsilon_insensitive"]
REGRESSOR_LOSSES = ["squared_error", "huber", "epsilon_insensitive",
                    "squared_epsilon_insensitive"]


def reference_dloss(loss, z, y, eps):
    """Loss derivative in the margin z, written from the formulas (y in
    {-1, 1} for classification losses, except log_loss: {0, 1})."""
    m = y * z
    if loss == "hinge":
        return -y if m <= 1 else 0.0
    if loss == "perceptron":
        return -y if m <= 0 else 0.0
    if loss == "squared_hinge":
        return -2 * y * (1 - m) if m < 1 else 0.0
    if loss == "modified_huber":
        return 0.0 if m >= 1 else (-2 * (1 - m) * y if m >= -1 else -4 * y)
    if loss == "log_loss":
        return expit(z) - y
    r = z - y
    if loss == "squared_error":
        return r
    if loss == "huber":
        return r if abs(r) <= eps else eps * np.sign(r)
    if loss == "epsilon_insensitive":
        return np.sign(r) if abs(r) > eps else 0.0
    return 2 * np.sign(r) * (abs(r) - eps) if abs(r) > eps else 0.0


def reference_epoch(X, y, loss, eta, l2, eps):
    """One epoch of per-sample gradient steps in row order: w <- (1 - eta
    l2) w - eta dloss x, b <- b - eta dloss."""
    w, b = np.zeros(X.shape[1]), 0.0
    for xi, yi in zip(X, y):
        d = reference_dloss(loss, xi @ w + b, yi, eps)
        w = (1 - eta * l2) * w - eta * d * xi
        b -= eta * d
    return w, b


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    score = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + 0.3 * rng.standard_normal(60)
    return X, score


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss", CLASSIFIER_LOSSES)
def test_classifier_epoch_equals_hand_computed_steps(small, loss, sparse):
    X, score = small
    labels = (score > 0).astype(int)
    y = labels if loss == "log_loss" else 2.0 * labels - 1
    clf = SGDClassifier(loss=loss, learning_rate="constant", eta0=0.05, alpha=0.01,
                        epsilon=0.3, max_iter=1, tol=None, shuffle=False, n_jobs=1)
    clf.fit(sp.csr_matrix(X) if sparse else X, labels)
    w, b = reference_epoch(X, y, loss, 0.05, 0.01, 0.3)
    np.testing.assert_allclose(clf.coef_.ravel(), w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, [b], rtol=1e-10, atol=1e-12)
    assert clf.t_ == len(X) + 1 and clf.n_iter_ == 1


@pytest.mark.parametrize("loss", REGRESSOR_LOSSES)
def test_regressor_epoch_equals_hand_computed_steps(small, loss):
    X, score = small
    reg = SGDRegressor(loss=loss, learning_rate="constant", eta0=0.02, alpha=0.01,
                       epsilon=0.3, max_iter=1, tol=None, shuffle=False)
    reg.fit(X, score)
    w, b = reference_epoch(X, score, loss, 0.02, 0.01, 0.3)
    np.testing.assert_allclose(reg.coef_, w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reg.intercept_, [b], rtol=1e-10, atol=1e-12)
    assert reg.coef_.shape == (5,) and reg.intercept_.shape == (1,)


def objective(loss, w, b, X, y, alpha, eps=0.1):
    z = X @ w + b
    m = y * z
    r = z - y
    values = {
        "hinge": lambda: np.maximum(0, 1 - m),
        "squared_hinge": lambda: np.maximum(0, 1 - m) ** 2,
        "modified_huber": lambda: np.where(m >= -1, np.maximum(0, 1 - m) ** 2, -4 * m),
        "log_loss": lambda: np.logaddexp(0, -m),
        "huber": lambda: np.where(np.abs(r) <= eps, 0.5 * r * r, eps * np.abs(r) - 0.5 * eps ** 2),
        "epsilon_insensitive": lambda: np.maximum(0, np.abs(r) - eps),
        "squared_epsilon_insensitive": lambda: np.maximum(0, np.abs(r) - eps) ** 2,
    }[loss]()
    return values.mean() + 0.5 * alpha * w @ w


def smooth_optimum(loss, X, y, alpha, eps=0.1):
    """The exact minimiser by L-BFGS on the formula above (smooth losses)."""
    p = X.shape[1]
    res = minimize(lambda v: objective(loss, v[:p], v[p], X, y, alpha, eps), np.zeros(p + 1),
                   method="L-BFGS-B", options=dict(maxiter=10000, ftol=1e-15, gtol=1e-10))
    return res.fun


@pytest.mark.parametrize("loss", ["squared_hinge", "modified_huber", "log_loss"])
def test_classifier_reaches_the_smooth_optimum(breast_cancer, loss):
    X, labels = breast_cancer
    y = 2.0 * labels - 1
    alpha = 1e-2
    best = smooth_optimum(loss, X, y, alpha)
    clf = SGDClassifier(loss=loss, alpha=alpha, batch_size=None, learning_rate="line_search",
                        eta0=1.0, tol=None, max_iter=400).fit(X, labels)
    got = objective(loss, clf.coef_.ravel(), clf.intercept_[0], X, y, alpha)
    assert got == pytest.approx(best, rel=1e-6)
    # per-sample SGD gets close: scikit-learn's default schedule, except for
    # the squared hinge, whose curvature its first steps (~3) overshoot
    schedule = (dict(learning_rate="constant", eta0=0.003) if loss == "squared_hinge"
                else {})
    sgd = SGDClassifier(loss=loss, alpha=alpha, random_state=0, tol=None, max_iter=30,
                        **schedule).fit(X, labels)
    assert objective(loss, sgd.coef_.ravel(), sgd.intercept_[0], X, y, alpha) < best * 1.05


@pytest.mark.parametrize("loss", ["huber", "squared_epsilon_insensitive"])
def test_regressor_reaches_the_smooth_optimum(diabetes, loss):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    alpha = 1e-3
    best = smooth_optimum(loss, X, y, alpha, eps=0.1)
    reg = SGDRegressor(loss=loss, alpha=alpha, epsilon=0.1, batch_size=None,
                       learning_rate="line_search", eta0=1.0, tol=None,
                       max_iter=2000).fit(X, y)
    got = objective(loss, reg.coef_, reg.intercept_[0], X, y, alpha, eps=0.1)
    assert got == pytest.approx(best, rel=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_hinge_matches_linear_svc(breast_cancer):
    """Mean hinge + alpha/2 ||w||^2 is LinearSVC's objective with C = 1/(alpha n)
    (its intercept is barely penalised with a large intercept_scaling)."""
    X, labels = breast_cancer
    y = 2.0 * labels - 1
    alpha = 1e-2
    svc = LinearSVC(loss="hinge", C=1 / (alpha * len(X)), dual=True, intercept_scaling=100,
                    tol=1e-10, max_iter=200000).fit(X, labels)
    best = objective("hinge", svc.coef_.ravel(), svc.intercept_[0], X, y, alpha)
    clf = SGDClassifier(loss="hinge", alpha=alpha, average=True, random_state=0, tol=None,
                        max_iter=200).fit(X, labels)
    got = objective("hinge", clf.coef_.ravel(), clf.intercept_[0], X, y, alpha)
    # non-smooth SGD converges as O(1/sqrt(T)): 1.2% above after 200 epochs
    assert best <= got < best * 1.02


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_epsilon_insensitive_matches_linear_svr(diabetes):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    alpha = 1e-2
    svr = LinearSVR(loss="epsilon_insensitive", epsilon=0.1, C=1 / (alpha * len(X)),
                    dual=True, intercept_scaling=100, tol=1e-10,
                    max_iter=200000).fit(X, y)
    best = objective("epsilon_insensitive", svr.coef_, svr.intercept_[0], X, y, alpha)
    reg = SGDRegressor(loss="epsilon_insensitive", alpha=alpha, average=True,
                       learning_rate="invscaling", eta0=0.05, random_state=0, tol=None,
                       max_iter=300).fit(X, y)
    got = objective("epsilon_insensitive", reg.coef_, reg.intercept_[0], X, y, alpha)
    assert best * 0.999 <= got < best * 1.01


def test_perceptron_separates_separable_data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    labels = (X @ [1.0, 2.0, -1.0] > 0).astype(int)
    X += 0.3 * np.sign(X @ [1.0, 2.0, -1.0])[:, None] * np.array([1.0, 2.0, -1.0]) / 6 ** 0.5
    clf = SGDClassifier(loss="perceptron", penalty=None, learning_rate="constant",
                        eta0=1.0, random_state=0, max_iter=100).fit(X, labels)
    assert clf.score(X, labels) == 1.0


def test_one_vs_rest_rows_are_the_binary_fits(digits):
    X, y = digits
    kwargs = dict(loss="log_loss", alpha=1e-3, max_iter=3, tol=None, shuffle=False)
    clf = SGDClassifier(n_jobs=1, **kwargs).fit(X, y)
    assert clf.coef_.shape == (10, X.shape[1]) and clf.intercept_.shape == (10,)
    for c in (0, 4, 9):
        binary = SGDClassifier(**kwargs).fit(X, (y == c).astype(int))
        np.testing.assert_allclose(clf.coef_[c], binary.coef_[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(clf.intercept_[c], binary.intercept_[0], rtol=1e-12)
    np.testing.assert_allclose(clf.history_["objective"],
                               sum(SGDClassifier(**kwargs).fit(X, (y == c).astype(int))
                                   .history_["objective"] for c in range(10)), rtol=1e-12)


def test_one_vs_rest_in_parallel_equals_sequential(digits):
    X, y = digits
    kwargs = dict(alpha=1e-3, max_iter=3, tol=None, random_state=5)
    one = SGDClassifier(n_jobs=1, **kwargs).fit(X, y)
    two = SGDClassifier(n_jobs=2, **kwargs).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)
    assert one.n_iter_ == 3 and len(one.history_) == 3


def test_one_vs_rest_early_stopping_in_parallel_is_reproducible(digits):
    """The classes share one validation split; fitted in parallel threads
    each shuffles its own copy of the training rows (they once shuffled one
    shared array, and the epochs run varied from fit to fit)."""
    X, y = digits
    kwargs = dict(alpha=1e-3, early_stopping=True, n_iter_no_change=3, random_state=0,
                  max_iter=50)
    sequential = SGDClassifier(n_jobs=1, **kwargs).fit(X, y)
    for _ in range(4):
        parallel = SGDClassifier(n_jobs=2, **kwargs).fit(X, y)
        np.testing.assert_array_equal(parallel.coef_, sequential.coef_)
        assert parallel.n_iter_ == sequential.n_iter_


def test_predict_proba_formulas(breast_cancer):
    X, y = breast_cancer
    log = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    np.testing.assert_allclose(log.predict_proba(X)[:, 1], expit(log.decision_function(X)))
    np.testing.assert_allclose(np.exp(log.predict_log_proba(X)), log.predict_proba(X))
    mh = SGDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    expected = (np.clip(mh.decision_function(X), -1, 1) + 1) / 2
    np.testing.assert_allclose(mh.predict_proba(X)[:, 1], expected)
    assert not hasattr(SGDClassifier(loss="hinge"), "predict_proba")
    iris_X, iris_y = load_iris(return_X_y=True)
    multi = SGDClassifier(loss="log_loss", random_state=0).fit(
        StandardScaler().fit_transform(iris_X), iris_y)
    proba = multi.predict_proba(StandardScaler().fit_transform(iris_X))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    raw = expit(multi.decision_function(StandardScaler().fit_transform(iris_X)))
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True))
    assert multi.score(StandardScaler().fit_transform(iris_X), iris_y) > 0.85


def test_sparsify_and_densify(breast_cancer):
    X, y = breast_cancer
    clf = SGDClassifier(penalty="l1", alpha=1e-2, random_state=0).fit(X, y)
    dense_scores = clf.decision_function(X)
    assert np.sum(clf.coef_ == 0) > 0
    clf.sparsify()
    assert sp.issparse(clf.coef_)
    np.testing.assert_allclose(clf.decision_function(X), dense_scores)
    np.testing.assert_array_equal(clf.predict(sp.csr_matrix(X)), clf.predict(X))
    clf.densify()
    assert isinstance(clf.coef_, np.ndarray) and clf.coef_.shape == (1, X.shape[1])
    reg = SGDRegressor(random_state=0).fit(X, y.astype(float))
    pred = reg.predict(X)
    np.testing.assert_allclose(reg.sparsify().predict(X), pred)
    assert reg.densify().coef_.shape == (X.shape[1],)


def test_partial_fit_equals_fit_without_shuffling(iris_scaled):
    X, y = iris_scaled
    kwargs = dict(loss="hinge", alpha=1e-3, shuffle=False)
    fitted = SGDClassifier(max_iter=4, tol=None, **kwargs).fit(X, y)
    partial = SGDClassifier(**kwargs)
    for _ in range(4):
        partial.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(partial.coef_, fitted.coef_, rtol=1e-12)
    np.testing.assert_allclose(partial.intercept_, fitted.intercept_, rtol=1e-12)
    assert partial.n_iter_ == 4 and partial.t_ == fitted.t_
    reg_fit = SGDRegressor(max_iter=3, tol=None, shuffle=False).fit(X, y.astype(float))
    reg = SGDRegressor(shuffle=False)
    for _ in range(3):
        reg.partial_fit(X, y.astype(float))
    np.testing.assert_allclose(reg.coef_, reg_fit.coef_, rtol=1e-12)


@pytest.fixture(scope="module")
def iris_scaled():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_accuracy_like_scikit_learn(iris_scaled, loss):
    X, y = iris_scaled
    ours = np.mean([SGDClassifier(loss=loss, random_state=s).fit(X, y).score(X, y)
                    for s in range(5)])
    theirs = np.mean([sklm.SGDClassifier(loss=loss, random_state=s).fit(X, y).score(X, y)
                      for s in range(5)])
    assert ours > theirs - 0.05


def test_class_weight_and_sample_weight(iris_scaled):
    X, y = iris_scaled
    kwargs = dict(alpha=1e-3, random_state=0, max_iter=5, tol=None)
    counts = np.bincount(y)
    balanced = SGDClassifier(class_weight="balanced", **kwargs).fit(X, y)
    explicit = SGDClassifier(class_weight={c: len(y) / (3 * counts[c]) for c in range(3)},
                             **kwargs).fit(X, y)
    np.testing.assert_array_equal(balanced.coef_, explicit.coef_)
    heavy = SGDClassifier(class_weight={0: 10.0}, **kwargs).fit(X, y)
    assert not np.allclose(heavy.coef_[0], explicit.coef_[0])
    # full batch: a weight of 2 is the row twice
    full = dict(batch_size=None, eta0=0.1, learning_rate="constant", max_iter=20, tol=None)
    w = np.ones(len(y))
    w[:10] = 2
    a = SGDClassifier(**full).fit(X, y, sample_weight=w)
    b = SGDClassifier(**full).fit(np.vstack([X, X[:10]]), np.concatenate([y, y[:10]]))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(iris_scaled, dtype):
    X, y = iris_scaled
    clf = SGDClassifier(random_state=0, max_iter=5, tol=None).fit(X.astype(dtype), y)
    assert clf.coef_.dtype == dtype and clf.intercept_.dtype == dtype
    reg = SGDRegressor(random_state=0, max_iter=5, tol=None).fit(X.astype(dtype), y)
    assert reg.coef_.dtype == dtype


def test_errors_name_the_argument(iris_scaled):
    X, y = iris_scaled
    with pytest.raises(ValueError, match="'loss' parameter of SGDRegressor"):
        SGDRegressor(loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio must be set"):
        SGDClassifier(penalty="elasticnet", l1_ratio=None).fit(X, y)
    with pytest.raises(ValueError, match="early_stopping should be False"):
        SGDClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="alpha must be > 0"):
        SGDClassifier(alpha=0.0).fit(X, y)
    with pytest.raises(ValueError, match="'eta0' parameter"):
        SGDClassifier(eta0=0.0, learning_rate="constant").fit(X, y)
    with pytest.raises(ValueError, match="classes must be passed"):
        SGDClassifier().partial_fit(X, y)
    with pytest.raises(AttributeError, match="predict_proba"):
        SGDClassifier(loss="hinge").fit(X, y).predict_proba(X)


def test_a_finite_blow_up_warns_and_overflow_raises():
    """scikit-learn returns coefficients of ~1e11 here (R^2 ~ -1e26), silently;
    descend returns the same kind of result (as scikit-learn's own tests
    require) with a warning, and raises once the values overflow."""
    rng = np.random.RandomState(0)
    X = rng.normal(loc=100, size=(100, 2))
    y = rng.normal(size=100)
    with pytest.warns(ConvergenceWarning, match="blew up"):
        SGDRegressor(random_state=0, max_iter=5, tol=None).fit(X, y)
    with pytest.raises(DivergenceError, match="Floating-point under-/overflow"):
        SGDRegressor(random_state=0, learning_rate="constant", eta0=1.0).fit(X * 1e100, y)


def test_early_stopping_classifier_on_regression_loss(iris_scaled):
    """A classifier trained on squared_error monitors accuracy, not R^2."""
    X, y = iris_scaled
    clf = SGDClassifier(loss="squared_error", early_stopping=True, learning_rate="constant",
                        eta0=0.001, random_state=0, max_iter=50).fit(X, y == 0)
    scores = clf.history_["validation_score"]
    assert np.all((scores >= 0) & (scores <= 1)) and scores[-1] > 0.8


def test_max_iter_warns_once_for_one_vs_rest(iris_scaled):
    X, y = iris_scaled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SGDClassifier(max_iter=1, tol=1e-3, random_state=0).fit(X, y)
    assert sum(issubclass(w.category, ConvergenceWarning) for w in caught) == 1


def test_intercept_decay_follows_sparsity_not_storage():
    """'auto' damps the intercept's steps by 0.01 on data with < 10% nonzeros,
    the same for a dense array and its CSR copy; the damped step is exactly
    0.01 times the full one."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 40)) * (rng.random((300, 40)) < 0.05)
    labels = (X[:, :5].sum(axis=1) > 0).astype(int)
    kwargs = dict(loss="log_loss", learning_rate="constant", eta0=0.05, alpha=1e-3,
                  max_iter=3, tol=None, random_state=0, n_jobs=1)
    dense = SGDClassifier(**kwargs).fit(X, labels)
    csr = SGDClassifier(**kwargs).fit(sp.csr_matrix(X), labels)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, rtol=1e-10)
    damped = SGDClassifier(intercept_decay=0.01, **kwargs).fit(X, labels)
    np.testing.assert_array_equal(damped.coef_, dense.coef_)
    full = SGDClassifier(intercept_decay=1.0, **kwargs).fit(X, labels)
    assert not np.allclose(full.intercept_, dense.intercept_)
    # one epoch in row order against the hand-computed steps
    one = SGDClassifier(loss="hinge", learning_rate="constant", eta0=0.05, alpha=0.01,
                        max_iter=1, tol=None, shuffle=False).fit(sp.csr_matrix(X), labels)
    w, b = np.zeros(X.shape[1]), 0.0
    for xi, yi in zip(X, 2.0 * labels - 1):
        d = reference_dloss("hinge", xi @ w + b, yi, 0.1)
        w = (1 - 0.05 * 0.01) * w - 0.05 * d * xi
        b -= 0.01 * 0.05 * d
    np.testing.assert_allclose(one.coef_.ravel(), w, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(one.intercept_, [b], rtol=1e-10)
    # dense data keeps full steps; full batch always does
    assert SGDClassifier()._intercept_decay(np.ones((4, 3))) == 1.0
