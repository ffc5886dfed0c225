"""LogisticRegression against scikit-learn's lbfgs solutions and exact formulas."""
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from descend import LogisticRegression
from reference import binary_objective, multinomial_objective


def sklearn_reference(X, y, alpha):
    """scikit-learn's lbfgs at the matched penalty C = 1/(n*alpha)."""
    ref = SkLogisticRegression(C=1.0 / (len(y) * alpha), tol=1e-12, max_iter=20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ref.fit(X, y)


def test_binary_full_batch_matches_lbfgs_on_breast_cancer(breast_cancer):
    X, y = breast_cancer
    alpha = 1e-3
    ref = sklearn_reference(X, y, alpha)
    model = LogisticRegression(alpha=alpha, tol=None, max_iter=60_000).fit(X, y)
    ours = binary_objective(X, y, model.coef_, model.intercept_, alpha)
    theirs = binary_objective(X, y, ref.coef_, ref.intercept_, alpha)
    assert ours == pytest.approx(theirs, rel=1e-8)
    assert ours <= theirs * (1 + 1e-12)  # and no worse than lbfgs
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=1e-4)
    # the recorded objective is exact (at the last epoch's starting point)
    assert model.history_["objective"][-1] == pytest.approx(ours, rel=1e-12)


def test_multinomial_full_batch_matches_lbfgs_on_digits(digits):
    X, y = digits
    alpha = 1e-2
    ref = sklearn_reference(X, y, alpha)
    model = LogisticRegression(alpha=alpha, tol=1e-11).fit(X, y)
    assert model.converged_ and model.history_["gap"][-1] <= 1e-11
    assert model.coef_.shape == (10, 64)
    ours = multinomial_objective(X, y, model.coef_, model.intercept_, alpha)
    theirs = multinomial_objective(X, y, ref.coef_, ref.intercept_, alpha)
    assert ours == pytest.approx(theirs, rel=1e-8)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-4)
    # softmax intercepts are defined up to a common shift: compare centred
    np.testing.assert_allclose(model.intercept_ - model.intercept_.mean(),
                               ref.intercept_ - ref.intercept_.mean(), atol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 32])
def test_stochastic_fits_reach_one_percent_of_optimum(breast_cancer, batch_size):
    X, y = breast_cancer
    alpha = 1e-3
    ref = sklearn_reference(X, y, alpha)
    optimum = binary_objective(X, y, ref.coef_, ref.intercept_, alpha)
    model = LogisticRegression(alpha=alpha, batch_size=batch_size, tol=None,
                               max_iter=1000, random_state=0).fit(X, y)
    achieved = binary_objective(X, y, model.coef_, model.intercept_, alpha)
    assert optimum <= achieved <= 1.01 * optimum
    assert model.t_ == 1 + 1000 * -(-len(y) // batch_size)


def test_multinomial_mini_batch_reaches_one_percent(digits):
    X, y = digits
    alpha = 1e-2
    ref = sklearn_reference(X, y, alpha)
    optimum = multinomial_objective(X, y, ref.coef_, ref.intercept_, alpha)
    model = LogisticRegression(alpha=alpha, batch_size=64, tol=None, max_iter=300,
                               random_state=0).fit(X, y)
    achieved = multinomial_objective(X, y, model.coef_, model.intercept_, alpha)
    assert optimum <= achieved <= 1.01 * optimum


def test_string_labels_and_class_order(breast_cancer):
    X, y = breast_cancer
    labels = np.array(["malignant", "benign"])[y]
    model = LogisticRegression(alpha=1e-3, max_iter=200).fit(X, labels)
    assert list(model.classes_) == ["benign", "malignant"]
    numeric = LogisticRegression(alpha=1e-3, max_iter=200).fit(X, 1 - y)
    # benign (y=1) is class 0 here: the string model equals a 0/1 fit on 1-y
    np.testing.assert_allclose(model.coef_, numeric.coef_, rtol=1e-12)
    assert set(model.predict(X)) <= {"benign", "malignant"}
    assert model.score(X, labels) > 0.97


def test_probabilities_are_consistent(digits, breast_cancer):
    for X, y in (digits, breast_cancer):
        model = LogisticRegression(alpha=1e-2, max_iter=200).fit(X, y)
        proba = model.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-10)
        np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


def test_log_proba_is_finite_for_extreme_margins():
    X = np.array([[-1.0], [1.0]])
    model = LogisticRegression(tol=None, max_iter=5).fit(X, [0, 1])
    far = np.array([[-1e6], [1e6]])
    log_proba = model.predict_log_proba(far)
    assert np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(log_proba[0, 0], 0.0, atol=1e-12)


def test_first_epoch_objective_is_log_two(breast_cancer):
    """From zero the logits are 0: the loss is exactly log 2 (K classes: log K)."""
    X, y = breast_cancer
    model = LogisticRegression(optimizer="sgd", tol=None, max_iter=3).fit(X, y)
    assert model.history_["objective"][0] == pytest.approx(np.log(2), rel=1e-15)
    X3 = X[:300]
    y3 = np.arange(300) % 3
    model = LogisticRegression(optimizer="sgd", tol=None, max_iter=3).fit(X3, y3)
    assert model.history_["objective"][0] == pytest.approx(np.log(3), rel=1e-15)


def test_stable_loss_for_huge_margins():
    """Separable data with a tiny penalty drives margins far; no NaN/inf."""
    X = np.array([[-3.0], [-2.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    model = LogisticRegression(penalty=None, eta0=1e4, tol=None, max_iter=50).fit(X, y)
    objective = model.history_["objective"]
    assert np.all(np.isfinite(objective)) and np.all(np.isfinite(model.coef_))
    assert objective[-1] < 1e-6


def _accuracy_cases(breast_cancer, digits):
    """(model, X, y, sample_weight) for the score tests: every label type
    the fast path takes, and the ones it passes on to scikit-learn."""
    Xb, yb = breast_cancer
    Xd, yd = digits
    rng = np.random.default_rng(0)
    binary = LogisticRegression(alpha=1e-2).fit(Xb, yb)
    multi = LogisticRegression(alpha=1e-2).fit(Xd, yd)
    floats = LogisticRegression(alpha=1e-2).fit(Xb, yb.astype(float))
    text = LogisticRegression(alpha=1e-2).fit(Xb, np.where(yb == 1, "yes", "no"))
    return [
        (binary, Xb, yb, None),                                  # int64
        (binary, Xb, yb.astype(np.int8), None),                  # small ints
        (binary, Xb, yb.astype(bool), None),                     # booleans
        (floats, Xb, yb.astype(float), None),                    # whole floats
        (binary, Xb, yb, rng.random(len(yb))),                   # weights: scikit-learn
        (binary, Xb, list(yb), None),                            # a list: scikit-learn
        (multi, Xd, yd, None),                                   # 10 classes
        (multi, Xd, (yd + 3) % 10, None),                        # shuffled labels
        (binary, Xb, np.full(len(yb), 7), None),                 # labels not among classes_
        (text, Xb, np.where(yb == 1, "yes", "no"), None),        # strings: scikit-learn
    ]


def test_score_equals_accuracy_score(breast_cancer, digits):
    """score() is accuracy_score of predict(), to the last bit, for every
    label type (the fast path for plain labels and scikit-learn's path)."""
    from sklearn.metrics import accuracy_score

    for model, X, y, w in _accuracy_cases(breast_cancer, digits):
        expected = accuracy_score(y, model.predict(X), sample_weight=w)
        got = model.score(X, y, sample_weight=w)
        assert type(got) is float
        assert got == expected, (type(y), getattr(y, "dtype", None))


@pytest.mark.parametrize("bad", ["nan", "fraction", "length", "continuous"])
def test_score_rejects_what_accuracy_score_rejects(breast_cancer, bad):
    """Labels accuracy_score refuses (NaN, continuous values, a wrong
    length) raise the same error from score()."""
    from sklearn.metrics import accuracy_score

    X, y = breast_cancer
    model = LogisticRegression(alpha=1e-2).fit(X, y)
    labels = {"nan": np.where(np.arange(len(y)) == 3, np.nan, y.astype(float)),
              "fraction": y + 0.5,
              "length": y[:-1],
              "continuous": np.linspace(0, 1, len(y))}[bad]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scikit-learn's own cast of NaN
        with pytest.raises(ValueError) as theirs:
            accuracy_score(labels, model.predict(X))
        with pytest.raises(ValueError) as ours:
            model.score(X, labels)
    assert str(ours.value) == str(theirs.value)
