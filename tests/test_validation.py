"""Bad input gets a clear error naming the argument, before any kernel runs."""
import numpy as np
import pytest

from descend import LinearRegression, LogisticRegression

ESTIMATORS = [LinearRegression, LogisticRegression]
X_OK = np.random.default_rng(0).standard_normal((20, 3))
Y_OK = np.arange(20) % 2


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("param, value", [
    ("batch_size", 0), ("batch_size", 2.5), ("batch_size", "32"),
    ("learning_rate", "optimal-ish"), ("eta0", 0.0), ("eta0", -1.0), ("eta0", "fast"),
    ("eta0", np.inf), ("power_t", -0.5), ("penalty", "l3"), ("alpha", -1e-4),
    ("alpha", np.nan), ("fit_intercept", "yes"), ("max_iter", 0), ("max_iter", 10.5),
    ("tol", -1.0), ("n_iter_no_change", 0), ("shuffle", 1), ("random_state", "seed"),
    ("n_jobs", 0), ("n_jobs", 1.5), ("verbose", -1),
])
def test_bad_hyperparameter_names_the_parameter(Estimator, param, value):
    model = Estimator(**{param: value})  # __init__ only stores
    assert getattr(model, param) is value
    with pytest.raises(ValueError, match=rf"The '{param}' parameter of {Estimator.__name__} must be .* Got"):
        model.fit(X_OK, Y_OK)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("X, y, error, message", [
    (np.array([[1.0, np.nan]] * 4), [0, 1, 0, 1], ValueError, "Input X contains NaN"),
    (np.array([[1.0, np.inf]] * 4), [0, 1, 0, 1], ValueError, "Input X contains infinity"),
    (np.array([["a", "b"]] * 4), [0, 1, 0, 1], ValueError, "could not convert|dtype"),
    (np.empty((0, 3)), [], ValueError, "0 sample"),
    (np.ones((4, 0)), [0, 1, 0, 1], ValueError, "0 feature"),
    (np.ones(4), [0, 1, 0, 1], ValueError, "Expected a 2-dimensional|2D array"),
    (np.ones((4, 2)), [0, 1, 0], ValueError, "inconsistent numbers of samples"),
    (np.ones((4, 2, 2)), [0, 1, 0, 1], ValueError, "dim 3|3-dimensional|3D"),
])
def test_bad_data_gets_a_clear_error(Estimator, X, y, error, message):
    with pytest.raises(error, match=message):
        Estimator().fit(X, y)


def test_nan_in_y_is_rejected():
    with pytest.raises(ValueError, match="Input y contains NaN"):
        LinearRegression().fit(X_OK, np.where(Y_OK, np.nan, 1.0))


def test_classifier_needs_two_classes_and_class_labels():
    with pytest.raises(ValueError, match="only one class"):
        LogisticRegression().fit(X_OK, np.zeros(20))
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(X_OK, np.linspace(0, 1, 20))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("sample_weight, message", [
    (np.ones(19), r"sample_weight must have shape \(20,\)"),
    (-np.ones(20), "negative"),
    (np.zeros(20), "sums to zero"),
    (np.full(20, np.nan), "NaN or infinity"),
    (["a"] * 20, "sample_weight must be numeric"),
])
def test_bad_sample_weight(Estimator, sample_weight, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Estimator().fit(X_OK, Y_OK, sample_weight=sample_weight)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_predict_checks_the_feature_count(Estimator):
    model = Estimator(max_iter=2, tol=None).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 3), np.nan))


# Regression tests of the findings of issue #12 (docs/reliability-findings.md)


@pytest.mark.parametrize("batch_size", [None, 1, 32])
def test_flat_objective_takes_a_finite_auto_step(batch_size):
    """R2: X all zero, no intercept, no penalty: a zero curvature; eta0="auto"
    takes the step 1 (any step is optimal) instead of dividing by zero."""
    model = LinearRegression(fit_intercept=False, batch_size=batch_size).fit(
        np.zeros((40, 3)), np.ones(40))
    assert np.isfinite(model.eta0_) and np.all(model.coef_ == 0)


@pytest.mark.parametrize("batch_size", [None, 1, 32])
def test_x_whose_squares_underflow_is_rejected_naming_x(batch_size):
    """R2: X ~1e-300 has a curvature that underflows to 0 (and needs
    coefficients ~1e300): rejected, naming X, not divided by zero."""
    with pytest.raises(ValueError, match="X is too small in magnitude"):
        LinearRegression(fit_intercept=False, batch_size=batch_size).fit(
            X_OK * 1e-300, X_OK[:, 0])


@pytest.mark.parametrize("Classifier", ["LogisticRegression", "SGDClassifier"])
def test_partial_fit_classes_with_nan_names_classes(Classifier):
    """R3: the message names classes, the argument at fault, not y."""
    import descend

    with pytest.raises(ValueError, match=r"class labels in classes \(got NaN"):
        getattr(descend, Classifier)().partial_fit(X_OK, Y_OK, classes=[0.0, 1.0, np.nan])


@pytest.mark.parametrize("Classifier", ["LogisticRegression", "SGDClassifier"])
@pytest.mark.parametrize("weight", [1e308, 1e-320])
def test_uniform_extreme_class_weights_give_the_unweighted_model(Classifier, weight):
    """R4: class weights enter the sample weights in float64, rescaled:
    uniform weights of 1e308 (which overflowed) or 1e-320 change nothing."""
    import warnings

    import descend

    X = np.random.default_rng(0).standard_normal((60, 4))
    y = np.arange(60) % 2
    Estimator = getattr(descend, Classifier)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        weighted = Estimator(class_weight={0: weight, 1: weight}, random_state=0).fit(X, y)
    plain = Estimator(random_state=0).fit(X, y)
    np.testing.assert_allclose(weighted.coef_, plain.coef_, rtol=1e-12, atol=1e-12)


def test_sgd_power_t_is_bounded_below_by_minus_one():
    """R5: power_t=-1 is deprecated but accepted (scikit-learn's test);
    below -1 the "invscaling" step overflows: rejected naming power_t."""
    from descend import SGDRegressor

    with pytest.raises(ValueError, match="'power_t' parameter of SGDRegressor"):
        SGDRegressor(power_t=-1e308).fit(X_OK, X_OK[:, 0])
    with pytest.warns(FutureWarning, match="Negative values for `power_t`"):
        SGDRegressor(power_t=-1.0, eta0=1e-4, max_iter=5, tol=None).fit(X_OK, X_OK[:, 0])


@pytest.mark.parametrize("Estimator", ["SGDRegressor", "SGDClassifier"])
@pytest.mark.parametrize("batch_size", [1, 32])
def test_explicit_zeros_do_not_change_intercept_decay_auto(Estimator, batch_size):
    """R8: intercept_decay="auto" reads the data's nonzeros, not the stored
    entries: a CSR matrix with explicit zeros trains the same model."""
    import scipy.sparse as sp

    import descend

    rng = np.random.default_rng(0)
    X = np.zeros((80, 10))
    X[::2, 0] = rng.standard_normal(40)  # 5% nonzeros
    A = sp.csr_matrix(X)
    B = sp.csr_matrix(np.where(X == 0, 1.0, X))  # the same pattern, then zeroed in place
    B.data[B.data == 1.0] = 0.0  # 100% stored, 5% nonzero
    y = (np.arange(80) % 2) if Estimator == "SGDClassifier" else rng.standard_normal(80)
    make = getattr(descend, Estimator)
    a = make(random_state=0, batch_size=batch_size, max_iter=5, tol=None).fit(A, y)
    b = make(random_state=0, batch_size=batch_size, max_iter=5, tol=None).fit(B, y)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=1e-12)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-12, atol=1e-15)


def _r12_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    return X, X @ rng.standard_normal(5)


@pytest.mark.parametrize("batch_size", [None, 1, 32])
def test_extreme_finite_inputs_never_certify_an_overflow(batch_size):
    """R12: y ~1e300 and coef_init ~1e300 were "converged" at a wrong model
    after overflowing (RuntimeWarnings); float32 X ~1e-40 gave infinite
    coefficients.  Now each is a clear error naming the input."""
    import warnings

    X, y = _r12_data()
    model = LinearRegression(batch_size=batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="y is too large in magnitude"):
            model.fit(X, y * 1e300)
        with pytest.raises(ValueError, match="coef_init is too large in magnitude"):
            model.fit(X, y, coef_init=np.full(5, 1e300))
        if batch_size is None:
            with pytest.raises(ValueError, match="exceed the range of X's dtype float32"):
                model.fit((X * 1e-40).astype(np.float32), y)


def test_a_start_that_overflows_is_a_divergence_not_a_certificate(monkeypatch):
    """R12: with the magnitude check of coef_init out of the way, a start
    whose objective overflows ends in a DivergenceError (full batch: at
    once; saga's step control: after 60 halvings, where it looped
    forever), never in converged_=True."""
    import warnings

    from descend import DivergenceError, _inputs

    monkeypatch.setattr(_inputs, "MAX_SQUARED_SUM", np.inf)
    X, y = _r12_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DivergenceError, match="overflow at the starting point"):
            LinearRegression().fit(X, y, coef_init=np.full(5, 1e300))
        for batch_size in (1, 32):
            with pytest.raises(DivergenceError):
                LogisticRegression(batch_size=batch_size, max_iter=20).fit(
                    X, np.arange(80) % 3, coef_init=np.full((3, 5), 1e300))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_float32_csr_near_its_limit_fits_like_its_dense_copy(Estimator):
    """R12: the scaling's second moments of float32 CSR are formed in
    float64 (float32 squares overflowed: inf / inf coefficients)."""
    import warnings

    import scipy.sparse as sp

    X, y = _r12_data()
    X32 = (X * np.finfo(np.float32).max / 8).astype(np.float32)
    target = y if Estimator is LinearRegression else np.arange(80) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # (a ConvergenceWarning is fine)
        sparse = Estimator().fit(sp.csr_matrix(X32), target)
        dense = Estimator().fit(X32, target)
    assert np.all(np.isfinite(sparse.coef_))
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-3, atol=0)


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "adagrad"])
def test_explicit_zeros_do_not_change_lazy_per_sample_updates(optimizer):
    """R15 (found by tests/test_properties.py): a CSR row that stores an
    explicit 0 made the lazy per-sample updates catch up that coordinate
    (momentum: coef 0.0016 instead of 0.0008, adam twice the coefficient);
    training data is now used without its stored zeros."""
    import scipy.sparse as sp

    X = np.array([[0.0012573], [0.0], [0.0]])
    y = np.array([1.30400005, 0.94708096, -0.70373524])
    stored = sp.csr_matrix((np.array([0.0012573, 0.0, 0.0]), np.array([0, 0, 0]),
                            np.array([0, 1, 2, 3])), shape=(3, 1))
    params = dict(batch_size=1, optimizer=optimizer, max_iter=5, tol=None, random_state=0)
    a = LinearRegression(**params).fit(sp.csr_matrix(X), y)
    b = LinearRegression(**params).fit(stored, y)
    assert stored.nnz == 3  # the caller's matrix keeps its zeros
    np.testing.assert_array_equal(b.coef_, a.coef_)
    np.testing.assert_array_equal(b.intercept_, a.intercept_)


# --------------------------------------------------------------------------
# the fixed costs of a fit (issue #14): plain NumPy input skips
# scikit-learn's validate_data, and a parameter set that passed its checks
# skips them; neither may change what users see
# --------------------------------------------------------------------------

@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_plain_arrays_record_what_scikit_learn_records(Estimator):
    pd = pytest.importorskip(
        "pandas", reason="pandas is a test extra (installed in CI); the feature-name "
        "checks need a DataFrame")
    frame = pd.DataFrame(X_OK, columns=["a", "b", "c"])
    model = Estimator().fit(frame, Y_OK)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X_OK)  # fitted with names, given none: scikit-learn's warning
    model.fit(X_OK[:, :2].copy(), Y_OK)  # refit on a plain array forgets the names
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == 2
    with pytest.raises(ValueError, match="2 features"):
        model.predict(X_OK)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_layout_and_dtype_of_x_fits_the_same_model(Estimator):
    """The plain path (C-ordered float) and scikit-learn's (anything else)
    give the same coefficients."""
    X = np.random.default_rng(3).standard_normal((200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    ref = Estimator().fit(X, y)
    for variant in (np.asfortranarray(X), X.tolist(), X[:, ::-1][:, ::-1]):
        np.testing.assert_allclose(Estimator().fit(variant, y).coef_, ref.coef_, rtol=1e-12)
    np.testing.assert_allclose(Estimator().fit(X, y.astype(np.int32)).coef_, ref.coef_,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="Input y contains"):
        Estimator().fit(X, np.where(y > 0, np.inf, 0.0))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator().fit(X, y[:-1])
    with pytest.raises(ValueError, match="X.*NaN"):
        ref.predict(np.full((2, 4), np.nan))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_memmapped_arrays_take_the_plain_path(Estimator, tmp_path, monkeypatch):
    """A read-only np.memmap (what joblib gives a grid search's workers for
    X over 1 MB) is plain: the same model as from the array, without
    scikit-learn's validate_data (whose first call in a process scans the
    installed packages for ~8 ms), for fit, predict and score."""
    from descend import _inputs

    X = np.random.default_rng(4).standard_normal((300, 5))
    y = (X[:, 0] - X[:, 2] > 0).astype(float)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    ym = np.load(tmp_path / "y.npy", mmap_mode="r")
    ref = Estimator().fit(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("validate_data was called")

    monkeypatch.setattr(_inputs, "validate_data", refuse)
    model = Estimator().fit(Xm, ym)
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    np.testing.assert_array_equal(model.intercept_, ref.intercept_)
    assert model.n_features_in_ == 5 and not hasattr(model, "feature_names_in_")
    np.testing.assert_array_equal(model.predict(Xm), ref.predict(X))
    if Estimator is LogisticRegression:
        assert model.score(Xm, ym) == ref.score(X, y)
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy"), X)  # untouched


def test_a_parameter_set_that_passed_is_not_confused_with_an_equal_invalid_one():
    """1, 1.0 and True are equal (and hash alike): only the int is a valid
    max_iter, before and after the valid one has been cached."""
    LogisticRegression(max_iter=1, tol=None).fit(X_OK, Y_OK)
    for value in (True, 1.0, np.float64(1.0)):
        with pytest.raises(ValueError, match="'max_iter' parameter"):
            LogisticRegression(max_iter=value, tol=None).fit(X_OK, Y_OK)
    LogisticRegression(max_iter=np.int64(1), tol=None).fit(X_OK, Y_OK)
    model = LogisticRegression(max_iter=1, tol=None)
    model.fit(X_OK, Y_OK)
    model.max_iter = 0  # set after construction: checked again at fit
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        model.fit(X_OK, Y_OK)
