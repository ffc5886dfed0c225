"""DataFrame input: pandas through fit/predict/partial_fit, feature names,
a clear error naming non-numeric columns, and polars (duck-typed: polars is
not a test dependency, so a small stand-in class plays its DataFrame)."""
import numpy as np
import pandas as pd  # in the test extra
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from descend import LinearRegression, LogisticRegression
from descend._frames import check_dataframe

NON_NUMERIC_MESSAGE = ("X has non-numeric columns ['city', 'kind'] (dtypes: object, "
                       "category); encode them first, e.g. with OneHotEncoder.")


def standardised(frame):
    return (frame - frame.mean()) / frame.std()


@pytest.fixture(scope="module")
def regression_frame():
    data = load_diabetes(as_frame=True)
    return standardised(data.data), data.target


@pytest.fixture(scope="module")
def binary_frame():
    data = load_breast_cancer(as_frame=True)
    return standardised(data.data), data.target


@pytest.fixture(scope="module")
def multiclass_frame():
    data = load_iris(as_frame=True)
    X = standardised(data.data)
    labels = np.array(["setosa", "versicolor", "virginica"])
    return X, pd.Series(labels[data.target], name="species")


def with_bad_columns(X):
    """X plus a string (object) column 'city' and a categorical column 'kind'."""
    X = X.copy()
    n = len(X)
    X["city"] = pd.Series(np.where(np.arange(n) % 2, "Paris", "Lyon"), index=X.index,
                          dtype=object)
    X["kind"] = pd.Categorical(np.where(np.arange(n) % 3, "a", "b"))
    return X


ESTIMATORS = {
    "LinearRegression": (LinearRegression, "regression_frame"),
    "LogisticRegression": (LogisticRegression, "binary_frame"),
    "LogisticRegression-multinomial": (LogisticRegression, "multiclass_frame"),
}


@pytest.fixture(params=list(ESTIMATORS))
def case(request):
    cls, data = ESTIMATORS[request.param]
    X, y = request.getfixturevalue(data)
    return cls, X, y


def outputs(model, X):
    if isinstance(model, LogisticRegression):
        return model.predict(X), model.predict_proba(X), model.decision_function(X)
    return (model.predict(X),)


# pandas input: the same model as from the NumPy array ---------------------

def test_fit_predict_dataframe_equals_array(case):
    cls, X, y = case
    from_frame = cls(max_iter=50, tol=None).fit(X, y)
    from_array = cls(max_iter=50, tol=None).fit(X.to_numpy(), y.to_numpy())
    np.testing.assert_array_equal(from_frame.coef_, from_array.coef_)
    np.testing.assert_array_equal(from_frame.intercept_, from_array.intercept_)
    np.testing.assert_array_equal(from_frame.feature_names_in_, X.columns.to_numpy())
    assert from_frame.n_features_in_ == X.shape[1]
    assert not hasattr(from_array, "feature_names_in_")
    for a, b in zip(outputs(from_frame, X), outputs(from_array, X.to_numpy())):
        np.testing.assert_array_equal(a, b)
    assert from_frame.score(X, y) == from_array.score(X.to_numpy(), y.to_numpy())


def test_partial_fit_dataframe_chunks(case):
    cls, X, y = case
    kwargs = {"classes": np.unique(y)} if cls is LogisticRegression else {}
    from_frames, from_arrays = cls(batch_size=8, random_state=0), cls(batch_size=8, random_state=0)
    for start in range(0, len(X), 50):
        rows = slice(start, start + 50)
        from_frames.partial_fit(X.iloc[rows], y.iloc[rows], **kwargs)
        from_arrays.partial_fit(X.iloc[rows].to_numpy(), y.iloc[rows].to_numpy(), **kwargs)
    np.testing.assert_array_equal(from_frames.feature_names_in_, X.columns.to_numpy())
    np.testing.assert_array_equal(from_frames.coef_, from_arrays.coef_)
    np.testing.assert_array_equal(outputs(from_frames, X)[0],
                                  outputs(from_arrays, X.to_numpy())[0])


def test_string_labels_from_a_series(multiclass_frame):
    X, y = multiclass_frame
    model = LogisticRegression().fit(X, y)
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert set(model.predict(X)) <= set(model.classes_)
    assert model.score(X, y) > 0.9


def test_float32_dataframe_trains_in_float32(regression_frame):
    X, y = regression_frame
    model = LinearRegression(max_iter=20, tol=None).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32


def test_nullable_and_boolean_columns_are_numeric(regression_frame):
    X, y = regression_frame
    X = X.copy()
    X["flag"] = X["age"] > 0
    X["count"] = pd.array(np.arange(len(X)) % 5, dtype="Int64")
    model = LinearRegression(max_iter=20, tol=None).fit(X, y)
    assert list(model.feature_names_in_[-2:]) == ["flag", "count"]
    assert model.predict(X).shape == (len(X),)


# feature names: scikit-learn's checks ----------------------------------------

def test_predict_with_reordered_columns_raises(case):
    cls, X, y = case
    model = cls(max_iter=10, tol=None).fit(X, y)
    reordered = X[X.columns[::-1]]
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.predict(reordered)


def test_predict_with_renamed_columns_raises(case):
    cls, X, y = case
    model = cls(max_iter=10, tol=None).fit(X, y)
    renamed = X.rename(columns={X.columns[0]: "unknown_feature"})
    with pytest.raises(ValueError, match="Feature names unseen at fit time") as info:
        model.predict(renamed)
    assert "unknown_feature" in str(info.value)
    assert str(X.columns[0]) in str(info.value)  # ... and the one that is missing


def test_partial_fit_with_reordered_columns_raises(binary_frame):
    X, y = binary_frame
    model = LogisticRegression().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.partial_fit(X[X.columns[::-1]], y)


def test_array_after_dataframe_warns(regression_frame):
    X, y = regression_frame
    model = LinearRegression(max_iter=10, tol=None).fit(X, y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X.to_numpy())


# non-numeric columns -------------------------------------------------------

def test_check_dataframe_names_non_numeric_columns(regression_frame):
    X, _ = regression_frame
    with pytest.raises(ValueError) as info:
        check_dataframe(with_bad_columns(X))
    assert str(info.value) == NON_NUMERIC_MESSAGE


def test_check_dataframe_message_variants():
    one = pd.DataFrame({"x": [1.0, 2.0], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(ValueError, match=r"^X_test has non-numeric column \['when'\] "
                                         r"\(dtype: datetime64\[\w+\]\); encode it first"):
        check_dataframe(one, name="X_test")
    strings = pd.DataFrame({"name": ["a", "b"], "x": [1.0, 2.0]})  # str or object
    with pytest.raises(ValueError, match=r"non-numeric column \['name'\]"):
        check_dataframe(strings)
    many = pd.DataFrame({f"c{i}": ["a", "b"] for i in range(12)})
    with pytest.raises(ValueError, match=r"\['c0', .*'c9'\] and 2 more \(dtype"):
        check_dataframe(many)


def test_check_dataframe_passes_numeric_frames_through():
    X = pd.DataFrame({"f": [0.5, 1.5], "i": [1, 2], "b": [True, False],
                      "n": pd.array([1, None], dtype="Int64"),
                      "o": pd.Series([1, 2.5], dtype=object)})  # numbers held as objects
    assert check_dataframe(X) is X
    for other in (np.ones((2, 2)), [[1.0, 2.0]], None, "text"):
        assert check_dataframe(other) is other


def test_check_dataframe_accepts_subclasses():
    class MyFrame(pd.DataFrame):
        pass

    with pytest.raises(ValueError, match=r"\['s'\]"):
        check_dataframe(MyFrame({"s": ["a"]}))


@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
@pytest.mark.parametrize("cls", [LinearRegression, LogisticRegression])
def test_estimators_name_non_numeric_columns(cls, method, binary_frame):
    X, y = binary_frame
    bad = with_bad_columns(X)
    model = cls(max_iter=5, tol=None)
    if method == "predict":
        model.fit(bad.drop(columns=["city", "kind"]).assign(city=0.0, kind=1.0), y)
        call = lambda: model.predict(bad)  # noqa: E731
    elif method == "partial_fit" and cls is LogisticRegression:
        call = lambda: model.partial_fit(bad, y, classes=[0, 1])  # noqa: E731
    else:
        call = lambda: getattr(model, method)(bad, y)  # noqa: E731
    with pytest.raises(ValueError, match=r"\['city', 'kind'\].*OneHotEncoder"):
        call()


# polars (duck-typed) ---------------------------------------------------------

class FakePolarsDtype:
    def __init__(self, name, numeric):
        self.name, self.numeric = name, numeric

    def is_numeric(self):
        return self.numeric

    def __repr__(self):
        return self.name


class FakePolarsFrame:
    """Just what check_dataframe uses of a polars DataFrame."""

    def __init__(self, columns):
        self.columns = list(columns)
        self.dtypes = [dtype for dtype, _ in columns.values()]
        self._values = [values for _, values in columns.values()]
        self.converted = False

    def to_numpy(self):
        self.converted = True
        return np.column_stack(self._values)


FakePolarsFrame.__module__ = "polars.dataframe.frame"
FakePolarsFrame.__name__ = FakePolarsFrame.__qualname__ = "DataFrame"

FLOAT64 = FakePolarsDtype("Float64", True)
INT64 = FakePolarsDtype("Int64", True)
BOOLEAN = FakePolarsDtype("Boolean", False)  # polars: booleans are not "numeric"
STRING = FakePolarsDtype("String", False)
CATEGORICAL = FakePolarsDtype("Categorical", False)


def test_polars_frame_is_checked_and_converted():
    frame = FakePolarsFrame({"x": (FLOAT64, [0.5, 1.5, 2.5]), "n": (INT64, [1, 2, 3]),
                             "b": (BOOLEAN, [True, False, True])})
    X = check_dataframe(frame)
    assert frame.converted
    np.testing.assert_array_equal(X, [[0.5, 1, 1], [1.5, 2, 0], [2.5, 3, 1]])


def test_polars_non_numeric_columns_are_named():
    frame = FakePolarsFrame({"x": (FLOAT64, [0.5]), "city": (STRING, ["Paris"]),
                             "kind": (CATEGORICAL, ["a"])})
    with pytest.raises(ValueError, match=r"^X has non-numeric columns \['city', 'kind'\] "
                                         r"\(dtypes: String, Categorical\); encode them"):
        check_dataframe(frame)
    assert not frame.converted


def test_polars_dtype_without_is_numeric_is_judged_by_name():
    class NamedDtype:
        def __init__(self, name):
            self.name = name

        def __str__(self):
            return self.name

    frame = FakePolarsFrame({"u": (NamedDtype("UInt8"), [1]),
                             "d": (NamedDtype("Decimal(precision=10, scale=2)"), [1]),
                             "t": (NamedDtype("Datetime(time_unit='us')"), [1])})
    with pytest.raises(ValueError, match=r"\['t'\]"):
        check_dataframe(frame)


def test_estimators_accept_polars_frames():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)

    def frame():
        return FakePolarsFrame({"a": (FLOAT64, X[:, 0]), "b": (FLOAT64, X[:, 1])})

    model = LogisticRegression().fit(frame(), y)
    np.testing.assert_array_equal(model.predict(frame()), model.predict(X))
    regression = LinearRegression(max_iter=10, tol=None).fit(frame(), X[:, 0])
    np.testing.assert_array_equal(regression.predict(frame()), regression.predict(X))
