"""Training control (issue 4): partial_fit, warm starts, early stopping,
keep_best, callbacks, sample and class weights, implicit feature scaling and
divergence, each checked against an independent NumPy/scikit-learn
expectation (or an equivalence the API contract states)."""
import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

import descend
from descend import LinearRegression, LogisticRegression
from reference import binary_objective, multinomial_objective, squared_objective


# --------------------------------------------------------------------------
# data and independent references

def _regression(n=50, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.5 + 0.3 * rng.standard_normal(n)
    return X, y


def _classification(n=50, p=5, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    scores = X @ rng.standard_normal((p, classes)) + rng.standard_normal((n, classes))
    y = scores.argmax(axis=1)
    assert len(np.unique(y)) == classes
    return X, y


def _residuals(loss, Z, Y):
    """d loss / d z for squared loss, binary log loss or softmax (Z: (n, k))."""
    if loss == "squared":
        return Z - Y
    if loss == "log":
        return expit(Z) - Y
    return softmax(Z, axis=1) - Y


def reference_updates(X, y, *, loss, epochs, eta, alpha=0.0, batch_size=None,
                      optimizer="sgd", sample_weight=None, coef=None, intercept=None,
                      beta_1=0.9, beta_2=0.999, eps=1e-8):
    """The contract's update rule in NumPy: rows in order, L2 as weight decay,
    data gradient n / (|B| S) * sum_B sw_i dloss_i [x_i, 1]; "sgd" or "adam".

    y: targets (squared), 0/1 (log) or class indices (softmax).
    Returns the (coef (k, p), intercept (k,)) after each epoch.
    """
    n, p = X.shape
    k = {"squared": 1, "log": 1}.get(loss, int(np.max(y)) + 1)
    Y = np.eye(k)[y] if loss == "softmax" else np.asarray(y, float)[:, None]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    S = sw.sum()
    W = np.zeros((k, p)) if coef is None else np.array(coef, float).reshape(k, p)
    b = np.zeros(k) if intercept is None else np.array(intercept, float).reshape(k)
    B = n if batch_size is None else batch_size
    mW, vW, mb, vb, t = np.zeros_like(W), np.zeros_like(W), np.zeros(k), np.zeros(k), 0
    out = []
    for _ in range(epochs):
        for start in range(0, n, B):
            rows = slice(start, start + B)
            Xb, swb = X[rows], sw[rows]
            R = _residuals(loss, Xb @ W.T + b, Y[rows]) * swb[:, None]
            scale = n / (len(swb) * S)
            gW = scale * R.T @ Xb + alpha * W
            gb = scale * R.sum(axis=0)
            t += 1
            if optimizer == "sgd":
                W, b = W - eta * gW, b - eta * gb
            else:  # adam, PyTorch's formulas
                mW = beta_1 * mW + (1 - beta_1) * gW
                vW = beta_2 * vW + (1 - beta_2) * gW * gW
                mb = beta_1 * mb + (1 - beta_1) * gb
                vb = beta_2 * vb + (1 - beta_2) * gb * gb
                c1, c2 = 1 - beta_1 ** t, 1 - beta_2 ** t
                W = W - eta * (mW / c1) / (np.sqrt(vW / c2) + eps)
                b = b - eta * (mb / c1) / (np.sqrt(vb / c2) + eps)
        out.append((W.copy(), b.copy()))
    return out


def _assert_coefficients(model, coef, intercept, rtol=1e-12):
    coef = np.asarray(coef, float)
    intercept = np.asarray(intercept, float)
    scale = max(np.abs(coef).max(), np.abs(intercept).max(), 1e-300)
    np.testing.assert_allclose(np.reshape(model.coef_, coef.shape), coef,
                               rtol=rtol, atol=rtol * 1e-3 * scale)
    np.testing.assert_allclose(np.reshape(model.intercept_, intercept.shape), intercept,
                               rtol=rtol, atol=rtol * 1e-3 * scale)


def _newton_logistic(X, y, alpha, iters=60):
    """Minimiser of mean log loss + alpha/2 ||w||^2 (intercept unpenalised)
    by damped Newton steps; returns (w, b, objective)."""
    n, p = X.shape
    A = np.column_stack([X, np.ones(n)])
    P = alpha * np.eye(p + 1)
    P[-1, -1] = 0.0
    theta = np.zeros(p + 1)

    def f(th):
        return binary_objective(X, y, th[:-1], th[-1:], alpha)

    for _ in range(iters):
        q = expit(A @ theta)
        g = A.T @ (q - y) / n + P @ theta
        H = (A * (q * (1 - q))[:, None]).T @ A / n + P
        d = np.linalg.solve(H, g)
        step, f0 = 1.0, f(theta)
        while f(theta - step * d) > f0 - 0.25 * step * (g @ d) and step > 1e-10:
            step /= 2
        if f(theta - step * d) >= f0:
            break
        theta = theta - step * d
    return theta[:-1], theta[-1], f(theta)


# --------------------------------------------------------------------------
# partial_fit

PROBLEMS = {
    # name: (Estimator, data, loss, classes)
    "linear": (LinearRegression, lambda: _regression(n=50), "squared"),
    "binary": (LogisticRegression, lambda: _classification(n=50), "log"),
    "multinomial": (LogisticRegression, lambda: _classification(n=50, classes=3), "softmax"),
}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [1, 8, None])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_partial_fit_calls_equal_fit_epochs_and_hand_updates(problem, batch_size, optimizer):
    Estimator, data, loss = PROBLEMS[problem]
    X, y = data()
    eta = 0.05 if optimizer == "sgd" else 0.01
    alpha = 0.01
    for epochs in (1, 3):
        params = dict(batch_size=batch_size, optimizer=optimizer, eta0=eta, alpha=alpha,
                      shuffle=False, tol=None, max_iter=epochs)
        fitted = Estimator(**params).fit(X, y)
        incremental = Estimator(**params)
        for call in range(epochs):
            if Estimator is LogisticRegression:
                incremental.partial_fit(X, y, classes=np.unique(y) if call == 0 else None)
            else:
                incremental.partial_fit(X, y)
            assert len(incremental.history_) == call + 1
        # the contract's equivalence ...
        _assert_coefficients(incremental, fitted.coef_, fitted.intercept_)
        h, hf = incremental.history_, fitted.history_
        np.testing.assert_array_equal(h["epoch"], np.arange(1, epochs + 1))
        np.testing.assert_array_equal(h["updates"], hf["updates"])
        np.testing.assert_allclose(h["objective"], hf["objective"], rtol=1e-12)
        assert incremental.t_ == fitted.t_
        # ... and both equal the update rule written out in NumPy
        expected = reference_updates(X, y, loss=loss, epochs=epochs, eta=eta, alpha=alpha,
                                     batch_size=batch_size, optimizer=optimizer)
        W, b = expected[-1]
        if problem == "linear":
            W, b = W[0], b[0]
        _assert_coefficients(fitted, W, b, rtol=1e-10)
        per_epoch = 1 if batch_size is None else -(-len(y) // batch_size)
        np.testing.assert_array_equal(h["updates"], per_epoch * np.arange(1, epochs + 1))


def test_partial_fit_over_chunks_continues_adam_state():
    """Adam's moments and bias correction t carry across calls on different chunks."""
    X, y = _regression(n=60)
    eta, alpha, B = 0.02, 0.01, 8
    model = LinearRegression(optimizer="adam", eta0=eta, alpha=alpha, batch_size=B,
                             shuffle=False, tol=None)
    chunks = [slice(0, 24), slice(24, 60), slice(0, 60)]  # 3, 5 and 8 batches
    W, b = np.zeros((1, 5)), np.zeros(1)
    state = dict(mW=np.zeros((1, 5)), vW=np.zeros((1, 5)), mb=np.zeros(1), vb=np.zeros(1), t=0)
    updates = 0
    for chunk in chunks:
        Xc, yc = X[chunk], y[chunk]
        for start in range(0, len(yc), B):
            Xb, yb = Xc[start:start + B], yc[start:start + B]
            r = Xb @ W[0] + b[0] - yb
            gW = (r @ Xb / len(yb) + alpha * W[0])[None]
            gb = np.array([r.mean()])
            state["t"] += 1
            t = state["t"]
            for key_m, key_v, g in (("mW", "vW", gW), ("mb", "vb", gb)):
                state[key_m] = 0.9 * state[key_m] + 0.1 * g
                state[key_v] = 0.999 * state[key_v] + 0.001 * g * g
            step = lambda m, v: eta * (m / (1 - 0.9 ** t)) / (  # noqa: E731
                np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
            W = W - step(state["mW"], state["vW"])
            b = b - step(state["mb"], state["vb"])
            updates += 1
        model.partial_fit(Xc, yc)
        _assert_coefficients(model, W[0], b[0], rtol=1e-10)
        assert model.history_["updates"][-1] == updates
    assert len(model.history_) == 3
    np.testing.assert_array_equal(model.history_["updates"], [3, 8, 16])


def test_fit_after_partial_fit_starts_afresh():
    X, y = _classification()
    params = dict(eta0=0.1, optimizer="adam", batch_size=8, shuffle=False, tol=None, max_iter=2)
    model = LogisticRegression(**params)
    model.partial_fit(X, y, classes=[0, 1])
    model.partial_fit(X, y)
    model.fit(X, y)
    (W, b), = reference_updates(X, y, loss="log", epochs=2, eta=0.1, alpha=1e-4,
                                batch_size=8, optimizer="adam")[-1:]
    _assert_coefficients(model, W, b, rtol=1e-10)
    assert len(model.history_) == 2
    np.testing.assert_array_equal(model.history_["updates"], [7, 14])


def test_partial_fit_needs_classes_first_and_rejects_unknown_labels():
    X, y = _classification()
    with pytest.raises(ValueError, match="classes"):
        LogisticRegression().partial_fit(X, y)
    with pytest.raises(ValueError):
        LogisticRegression().partial_fit(X, np.where(y == 1, 2, 0), classes=[0, 1])
    model = LogisticRegression(tol=None).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError):
        model.partial_fit(X, np.where(y == 1, 5, 0))


def test_partial_fit_first_chunk_may_miss_a_declared_class():
    """The model has one row per declared class from the first call on; one
    full-batch step from zero is the softmax gradient step in NumPy."""
    X, y = _classification(n=60, classes=3)
    eta, alpha = 0.5, 0.01
    first = y != 2
    model = LogisticRegression(eta0=eta, alpha=alpha, tol=None, shuffle=False)
    model.partial_fit(X[first], y[first], classes=[2, 0, 1])
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.coef_.shape == (3, 5) and model.intercept_.shape == (3,)
    R = np.full((first.sum(), 3), 1.0 / 3) - np.eye(3)[y[first]]
    W = -eta * R.T @ X[first] / first.sum()
    b = -eta * R.mean(axis=0)
    _assert_coefficients(model, W, b)
    model.partial_fit(X, y)
    R = softmax(X @ W.T + b, axis=1) - np.eye(3)[y]
    W, b = W - eta * (R.T @ X / len(y) + alpha * W), b - eta * R.mean(axis=0)
    _assert_coefficients(model, W, b)
    assert set(model.predict(X)) <= {0, 1, 2}


def test_partial_fit_with_string_labels_and_classes_in_any_order():
    X, y01 = _classification(n=60)
    y = np.where(y01 == 1, "spam", "ham")  # sorted classes: ham, spam -> spam is positive
    params = dict(eta0=0.2, batch_size=4, shuffle=False, tol=None)
    words = LogisticRegression(**params)
    words.partial_fit(X[:30], y[:30], classes=np.array(["spam", "ham"]))
    words.partial_fit(X[30:], y[30:])
    np.testing.assert_array_equal(words.classes_, ["ham", "spam"])
    # the same as 0/1 labels, spam -> 1, in NumPy
    W, b = reference_updates(X[:30], y01[:30], loss="log", epochs=1, eta=0.2, alpha=1e-4,
                             batch_size=4)[-1]
    # the second call's batches: 30 rows of its own, t continues (constant rate)
    W, b = reference_updates(X[30:], y01[30:], loss="log", epochs=1, eta=0.2, alpha=1e-4,
                             batch_size=4, coef=W, intercept=b)[-1]
    _assert_coefficients(words, W, b, rtol=1e-10)
    assert set(words.predict(X)) <= {"ham", "spam"}
    np.testing.assert_array_equal(words.predict(X), np.where(X @ W[0] + b[0] > 0, "spam", "ham"))


# --------------------------------------------------------------------------
# warm_start, coef_init, intercept_init

def test_warm_start_continues_from_the_previous_solution(breast_cancer):
    X, y = breast_cancer
    n, alpha, eta = len(y), 1e-2, 0.5
    model = LogisticRegression(alpha=alpha, tol=None, max_iter=200, warm_start=True).fit(X, y)
    w1, b1 = model.coef_.ravel().copy(), model.intercept_.copy()
    assert binary_objective(X, y, w1, b1, alpha) < 0.2  # far from the start's log(2)

    model.set_params(max_iter=1, eta0=eta)
    model.fit(X, y)
    # the epoch started at the previous solution ...
    assert model.history_["objective"][0] == pytest.approx(
        binary_objective(X, y, w1, b1, alpha), rel=1e-12)
    # ... and made one exact gradient step from it
    r = expit(X @ w1 + b1[0]) - y
    _assert_coefficients(model, (w1 - eta * (X.T @ r / n + alpha * w1))[None],
                         b1 - eta * r.mean())

    # without warm_start the fit restarts from zero
    model.set_params(warm_start=False)
    model.fit(X, y)
    assert model.history_["objective"][0] == pytest.approx(np.log(2), rel=1e-14)
    r = 0.5 - y
    _assert_coefficients(model, (-eta * X.T @ r / n)[None], [-eta * r.mean()])


def test_warm_start_resets_the_optimizer_state():
    """A warm-started Adam fit's first step is Adam's first step (t = 1, zero
    moments): eta * g / (|g| + eps) per coordinate."""
    X, y = _regression(n=40)
    alpha, eta = 0.1, 0.003
    model = LinearRegression(optimizer="adam", eta0=0.05, alpha=alpha, tol=None, max_iter=30,
                             warm_start=True).fit(X, y)
    w1, b1 = model.coef_.copy(), float(model.intercept_)
    model.set_params(max_iter=1, eta0=eta)
    model.fit(X, y)
    r = X @ w1 + b1 - y
    g = np.append(X.T @ r / len(y) + alpha * w1, r.mean())
    expected = np.append(w1, b1) - eta * g / (np.abs(g) + 1e-8)
    _assert_coefficients(model, expected[:-1], expected[-1])
    assert model.history_["updates"][-1] == 1


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_coef_init_is_the_starting_point_of_one_exact_step(problem):
    Estimator, data, loss = PROBLEMS[problem]
    X, y = data()
    k = 3 if problem == "multinomial" else 1
    rng = np.random.default_rng(1)
    if problem == "linear":
        coef_init, intercept_init = rng.standard_normal(5), 0.7
    else:
        coef_init, intercept_init = rng.standard_normal((k, 5)), rng.standard_normal(k)
    saved = np.copy(coef_init), np.copy(intercept_init)
    eta, alpha = 0.3, 0.05
    model = Estimator(eta0=eta, alpha=alpha, tol=None, max_iter=1)
    model.fit(X, y, coef_init=coef_init, intercept_init=intercept_init)
    W0 = np.reshape(coef_init, (k, 5))
    b0 = np.reshape(intercept_init, (k,))
    Y = np.eye(3)[y] if k == 3 else y[:, None]
    R = _residuals(loss, X @ W0.T + b0, Y)
    W = W0 - eta * (R.T @ X / len(y) + alpha * W0)
    b = b0 - eta * R.mean(axis=0)
    if problem == "linear":
        W, b = W[0], b[0]
    _assert_coefficients(model, W, b)
    # the objective of the first epoch is that of the starting point
    if problem == "linear":
        start = squared_objective(X, y, W0[0], b0[0], alpha)
    elif problem == "binary":
        start = binary_objective(X, y, W0, b0, alpha)
    else:
        start = multinomial_objective(X, y, W0, b0, alpha)
    assert model.history_["objective"][0] == pytest.approx(start, rel=1e-12)
    # the caller's arrays are untouched
    np.testing.assert_array_equal(coef_init, saved[0])
    np.testing.assert_array_equal(intercept_init, saved[1])
    assert model.coef_ is not coef_init


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_coef_init_and_intercept_init_of_wrong_shape_are_rejected(problem):
    Estimator, data, _ = PROBLEMS[problem]
    X, y = data()
    k = 3 if problem == "multinomial" else 1
    good_coef = np.zeros(5) if problem == "linear" else np.zeros((k, 5))
    with pytest.raises(ValueError, match="coef_init"):
        Estimator(max_iter=1).fit(X, y, coef_init=np.zeros(6) if problem == "linear"
                                  else np.zeros((k + 1, 5)))
    with pytest.raises(ValueError, match="coef_init"):
        Estimator(max_iter=1).fit(X, y, coef_init=np.zeros((k, 4)))
    with pytest.raises(ValueError, match="intercept_init"):
        Estimator(max_iter=1).fit(X, y, coef_init=good_coef, intercept_init=np.zeros(k + 1))


# --------------------------------------------------------------------------
# early stopping and keep_best
#
# With identity columns in X (row i has feature i), gradient descent from zero
# without a penalty leaves coefficient i exactly 0 iff row i was never trained
# on: the held-out rows can be read off the fitted coefficients.

def test_early_stopping_holds_out_a_stratified_fraction_not_trained_on():
    n = 200
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.3).astype(int)
    X = np.eye(n)
    eta = 2.0
    splits = []
    for seed in (0, 1):
        model = LogisticRegression(alpha=0.0, eta0=eta, tol=None, max_iter=1, early_stopping=True,
                                   validation_fraction=0.2, random_state=seed).fit(X, y)
        w = model.coef_.ravel()
        held_out = w == 0
        assert abs(held_out.sum() - 40) <= 1
        for c in (0, 1):  # stratified by class
            assert abs(np.sum(held_out & (y == c)) - 0.2 * np.sum(y == c)) <= 1
        train = ~held_out
        # one exact gradient step from zero over the training rows only
        np.testing.assert_allclose(w[train], -eta * (0.5 - y[train]) / train.sum(), rtol=1e-12)
        np.testing.assert_allclose(model.intercept_, [-eta * np.mean(0.5 - y[train])],
                                   rtol=1e-12)
        # the recorded score is the accuracy on the held-out rows: their
        # features are unseen, so the intercept's sign predicts them all
        predicted = int(model.intercept_[0] > 0)
        expected = np.mean(y[held_out] == predicted)
        assert model.history_["validation_score"][0] == pytest.approx(expected, abs=1e-12)
        splits.append(held_out)
    assert not np.array_equal(*splits)  # the split comes from random_state
    again = LogisticRegression(alpha=0.0, eta0=eta, tol=None, max_iter=1, early_stopping=True,
                               validation_fraction=0.2, random_state=1).fit(X, y)
    np.testing.assert_array_equal(again.coef_.ravel() == 0, splits[1])


def test_early_stopping_regression_scores_r2_on_held_out_rows():
    n, eta = 80, 1.0
    rng = np.random.default_rng(1)
    y = 3.0 + rng.standard_normal(n)
    X = np.eye(n)
    model = LinearRegression(eta0=eta, tol=None, max_iter=3, early_stopping=True,
                             validation_fraction=0.25, random_state=0).fit(X, y)
    held_out = model.coef_ == 0
    assert held_out.sum() == 20
    train = ~held_out
    # three exact steps over the 60 training rows; held-out rows are predicted
    # by the intercept alone; R^2 after each epoch
    w, b, scores = np.zeros(n), 0.0, []
    for _ in range(3):
        r = X[train] @ w + b - y[train]
        w, b = w - eta * X[train].T @ r / 60, b - eta * r.mean()
        scores.append(r2_score(y[held_out], X[held_out] @ w + b))
    _assert_coefficients(model, w, b)
    np.testing.assert_allclose(model.history_["validation_score"], scores, rtol=1e-10)


def test_early_stopping_stops_on_a_validation_plateau(breast_cancer):
    X, y = breast_cancer
    # (L-BFGS: Newton's method certifies tol before the plateau's 5 epochs)
    model = LogisticRegression(early_stopping=True, random_state=0, max_iter=1000,
                               optimizer="lbfgs").fit(X, y)
    h = model.history_
    assert h.stop_reason == "early_stopping"
    assert model.n_iter_ == len(h) < 1000
    scores = h["validation_score"]
    assert np.all(np.isfinite(scores)) and np.all((0 <= scores) & (scores <= 1))
    # accuracy on roughly 10% of 569 rows: a multiple of 1/n_val
    assert any(np.allclose(scores * m, np.round(scores * m), atol=1e-9) for m in (56, 57, 58))
    assert scores.max() > 0.9
    # the monitored value: no improvement in the last n_iter_no_change epochs
    assert scores[-5:].max() <= scores[:-5].max() + 1e-4
    # without early stopping there is no validation score
    plain = LogisticRegression(max_iter=5, tol=None).fit(X, y)
    assert np.all(np.isnan(plain.history_["validation_score"]))


def test_early_stopping_regression_plateau(diabetes):
    X, y = diabetes
    model = LinearRegression(early_stopping=True, random_state=0, max_iter=5000).fit(X, y)
    scores = model.history_["validation_score"]
    assert model.history_.stop_reason == "early_stopping" and model.n_iter_ < 5000
    assert np.all(np.isfinite(scores)) and np.all(scores <= 1)
    assert scores.max() > 0.2


def test_early_stopping_stratifies_a_tiny_class():
    """12 of 300 rows in class 2: every split holds out 2 or 3 of them (0.2 * 12
    = 2.4) and trains on the rest; a random split misses the class 7% of the
    time and gives 2 or 3 only about half the time."""
    n = 300
    y = np.repeat([0, 1, 2], [144, 144, 12])
    np.random.default_rng(2).shuffle(y)
    X = np.eye(n)
    for seed in range(5):
        model = LogisticRegression(alpha=0.0, eta0=1.0, tol=None, max_iter=2, early_stopping=True,
                                   validation_fraction=0.2, random_state=seed).fit(X, y)
        np.testing.assert_array_equal(model.classes_, [0, 1, 2])
        assert model.coef_.shape == (3, n)
        held_out = np.all(model.coef_ == 0, axis=0)
        assert abs(held_out.sum() - 60) <= 1
        for c, count in zip((0, 1, 2), (144, 144, 12)):
            assert abs(np.sum(held_out & (y == c)) - 0.2 * count) <= 1, (seed, c)
        scores = model.history_["validation_score"]
        assert len(scores) == 2 and np.all(np.isfinite(scores))
        assert np.all((0 <= scores) & (scores <= 1))


@pytest.mark.parametrize("Estimator", [LinearRegression, LogisticRegression])
@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_validation_fraction_outside_the_unit_interval_is_rejected(Estimator, fraction):
    X, y = _classification()
    with pytest.raises(ValueError, match="validation_fraction"):
        Estimator(early_stopping=True, validation_fraction=fraction).fit(X, y)


def test_early_stopping_with_too_few_samples_is_a_clear_error():
    with pytest.raises(ValueError, match=r"(?i)validation|early.stopping"):
        LinearRegression(early_stopping=True).fit([[1.0]], [2.0])
    with pytest.raises(ValueError, match=r"(?i)validation|early.stopping"):
        LogisticRegression(early_stopping=True).fit([[0.0], [1.0]], [0, 1])


def test_keep_best_returns_the_coefficients_of_the_best_validation_epoch():
    """One informative and 69 noise features for 90 training rows overfit: the
    validation R^2 rises, peaks and falls (for any split: checked on 200).
    Identity columns reveal the held-out rows, so the whole fit is reproduced
    in NumPy."""
    n, p = 120, 70
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((n, p))
    y = 2.0 * Z[:, 0] + 2.0 * rng.standard_normal(n) + 1.0
    X = np.hstack([Z, np.eye(n)])
    eta, epochs = 0.15, 150
    params = dict(alpha=0.0, eta0=eta, tol=None, max_iter=epochs, early_stopping=True,
                  validation_fraction=0.25, random_state=0)
    best = LinearRegression(keep_best=True, **params).fit(X, y)
    last = LinearRegression(keep_best=False, **params).fit(X, y)
    held_out = last.coef_[p:] == 0
    assert held_out.sum() == 30
    train = ~held_out
    w, b, path, scores = np.zeros(p + n), 0.0, [], []
    for _ in range(epochs):
        r = X[train] @ w + b - y[train]
        w, b = w - eta * X[train].T @ r / 90, b - eta * r.mean()
        path.append((w.copy(), b))
        scores.append(r2_score(y[held_out], X[held_out] @ w + b))
    scores = np.array(scores)
    np.testing.assert_allclose(best.history_["validation_score"], scores, rtol=1e-9, atol=1e-12)
    e_best = int(np.argmax(scores))
    assert e_best < epochs - 10 and scores[-1] < scores.max() - 0.02  # it overfits
    _assert_coefficients(last, *path[-1], rtol=1e-10)
    _assert_coefficients(best, *path[e_best], rtol=1e-10)
    assert best.score(X[held_out], y[held_out]) == pytest.approx(scores.max(), rel=1e-10)


# --------------------------------------------------------------------------
# callback

def test_callback_gets_every_record_and_can_stop_the_fit(breast_cancer):
    X, y = breast_cancer
    n, alpha, eta = len(y), 1e-3, 0.5
    records = []

    def callback(record):
        records.append(dict(record))
        return record["epoch"] == 3

    model = LogisticRegression(alpha=alpha, eta0=eta, tol=None, max_iter=50,
                               callback=callback).fit(X, y)
    assert model.n_iter_ == 3 == len(model.history_) == len(records)
    assert model.history_.stop_reason == "callback"
    for i, record in enumerate(records):
        assert {"epoch", "objective", "learning_rate", "updates", "seconds",
                "validation_score"} <= set(record)
        assert record["epoch"] == i + 1 and record["updates"] == i + 1
        assert record["learning_rate"] == pytest.approx(eta)
        for key, value in model.history_[i].items():
            assert record[key] == pytest.approx(value, nan_ok=True), key
    assert np.isnan(records[0]["validation_score"])
    assert records[0]["objective"] == pytest.approx(np.log(2), rel=1e-14)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(3):
        r = expit(X @ w + b) - y
        w, b = w - eta * (X.T @ r / n + alpha * w), b - eta * r.mean()
    _assert_coefficients(model, w[None], [b])


def test_callback_with_batches_and_early_stopping_sees_validation_scores():
    X, y = _classification(n=200)
    seen = []

    def callback(record):
        seen.append(record["validation_score"])
        return "stop" if record["epoch"] == 2 else None  # any truthy value stops

    model = LinearRegression(batch_size=10, early_stopping=True, random_state=0, tol=None,
                             max_iter=20, callback=callback).fit(X, y.astype(float))
    assert model.n_iter_ == 2 and model.history_.stop_reason == "callback"
    assert len(seen) == 2 and np.all(np.isfinite(seen))
    np.testing.assert_allclose(model.history_["validation_score"], seen)

    calls = []
    LogisticRegression(tol=None, max_iter=5, callback=calls.append).fit(X, y)
    assert len(calls) == 5  # a falsy return value lets the fit go on


def test_callback_exception_propagates():
    class Stop(Exception):
        pass

    def callback(record):
        if record["epoch"] == 2:
            raise Stop("from the callback")

    X, y = _classification()
    with pytest.raises(Stop, match="from the callback"):
        LogisticRegression(tol=None, max_iter=10, callback=callback).fit(X, y)


# --------------------------------------------------------------------------
# sample_weight and class_weight

def test_integer_weights_equal_duplicated_rows_and_zero_weights_dropped_rows(
        diabetes, breast_cancer):
    for Estimator, (X, y), eta, alpha in ((LinearRegression, diabetes, 0.5, 1e-3),
                                          (LogisticRegression, breast_cancer, 0.5, 1e-3)):
        n = len(y)
        sw = np.ones(n)
        sw[::3] = 2.0
        sw[1::4] = 0.0
        rows = np.repeat(np.arange(n), sw.astype(int))  # doubled and dropped rows
        params = dict(alpha=alpha, eta0=eta, tol=None, max_iter=50)
        weighted = Estimator(**params).fit(X, y, sample_weight=sw)
        expanded = Estimator(**params).fit(X[rows], y[rows])
        _assert_coefficients(weighted, expanded.coef_, expanded.intercept_, rtol=1e-10)
        np.testing.assert_allclose(weighted.history_["objective"],
                                   expanded.history_["objective"], rtol=1e-10)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_weighted_mini_batch_gradient_is_normalised_by_the_total_weight(batch_size):
    X, y = _regression(n=30)
    sw = np.random.default_rng(3).uniform(0.2, 3.0, 30)
    eta, alpha = 0.03, 0.01
    model = LinearRegression(batch_size=batch_size, eta0=eta, alpha=alpha, shuffle=False,
                             tol=None, max_iter=2).fit(X, y, sample_weight=sw)
    W, b = reference_updates(X, y, loss="squared", epochs=2, eta=eta, alpha=alpha,
                             batch_size=batch_size, sample_weight=sw)[-1]
    _assert_coefficients(model, W[0], b[0], rtol=1e-10)


def test_class_weight_dict_and_balanced_equal_sample_weights(breast_cancer):
    X, y = breast_cancer
    params = dict(alpha=1e-3, eta0=0.5, tol=None, max_iter=30)
    by_dict = LogisticRegression(class_weight={0: 2, 1: 1}, **params).fit(X, y)
    by_rows = LogisticRegression(**params).fit(X, y, sample_weight=np.where(y == 0, 2.0, 1.0))
    _assert_coefficients(by_dict, by_rows.coef_, by_rows.intercept_)
    weights = np.where(y == 0, 2.0, 1.0)
    assert by_dict.history_["objective"][-1] == pytest.approx(
        binary_objective(X, y, *reference_updates(X, y, loss="log", epochs=29, eta=0.5,
                                                  alpha=1e-3, sample_weight=weights)[-1],
                         1e-3, weights), rel=1e-11)

    balanced = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    np.testing.assert_allclose(balanced, [len(y) / (2 * np.sum(y == 0)),
                                          len(y) / (2 * np.sum(y == 1))])
    by_balanced = LogisticRegression(class_weight="balanced", **params).fit(X, y)
    by_rows = LogisticRegression(**params).fit(X, y, sample_weight=balanced[y])
    _assert_coefficients(by_balanced, by_rows.coef_, by_rows.intercept_)


def test_class_weight_with_string_labels_multiplies_sample_weight():
    X, y = _classification(n=90, classes=3)
    names = np.array(["bird", "cat", "ant"])[y]  # sorted classes: ant, bird, cat
    class_weight = {"ant": 0.5, "bird": 3.0, "cat": 1.0}
    sw = np.random.default_rng(4).uniform(0.5, 2.0, 90)
    params = dict(alpha=1e-2, eta0=0.4, tol=None, max_iter=10)
    model = LogisticRegression(class_weight=class_weight, **params).fit(X, names, sample_weight=sw)
    np.testing.assert_array_equal(model.classes_, ["ant", "bird", "cat"])
    combined = sw * np.array([class_weight[name] for name in names])
    index = np.searchsorted(["ant", "bird", "cat"], names)
    W, b = reference_updates(X, index, loss="softmax", epochs=10, eta=0.4, alpha=1e-2,
                             sample_weight=combined)[-1]
    _assert_coefficients(model, W, b, rtol=1e-10)
    balanced = LogisticRegression(class_weight="balanced", **params).fit(X, names)
    per_class = compute_class_weight("balanced", classes=np.array(["ant", "bird", "cat"]),
                                     y=names)
    W, b = reference_updates(X, index, loss="softmax", epochs=10, eta=0.4, alpha=1e-2,
                             sample_weight=per_class[index])[-1]
    _assert_coefficients(balanced, W, b, rtol=1e-10)


# --------------------------------------------------------------------------
# scale_features

def _raw(X):
    X = np.array(X, dtype=np.float64, order="C")
    X.flags.writeable = False  # the solver must not scale it in place
    return X


def test_scale_features_reaches_the_standardised_optimum_on_raw_breast_cancer():
    X_raw, y = load_breast_cancer(return_X_y=True)
    X = _raw(X_raw)
    n, alpha = len(y), 1e-2
    scaler = StandardScaler().fit(X)
    m, s = scaler.mean_, scaler.scale_
    Xs = scaler.transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkLogisticRegression(C=1.0 / (n * alpha), tol=1e-12, max_iter=20_000).fit(Xs, y)
    optimum = binary_objective(Xs, y, ref.coef_, ref.intercept_, alpha)

    model = LogisticRegression(alpha=alpha, scale_features=True, tol=None,
                               max_iter=3000).fit(X, y)
    np.testing.assert_array_equal(X, X_raw)
    # coefficients in the original space; mapped to the scaled space they are sklearn's
    coef_scaled = model.coef_ * s
    intercept_scaled = model.intercept_ + model.coef_ @ m
    np.testing.assert_allclose(coef_scaled, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(intercept_scaled, ref.intercept_, atol=1e-4)
    # the objective (penalty on the scaled coefficients) is the optimum
    assert model.history_["objective"][-1] == pytest.approx(optimum, rel=1e-6)
    assert binary_objective(Xs, y, coef_scaled, intercept_scaled, alpha) == pytest.approx(
        optimum, rel=1e-6)
    # predictions on raw X are those of the standardised model
    np.testing.assert_allclose(model.decision_function(X), ref.decision_function(Xs),
                               atol=1e-3)


def test_scale_features_converges_in_far_fewer_epochs_than_raw_features():
    X_raw, y = load_breast_cancer(return_X_y=True)
    X = _raw(X_raw)
    alpha = 1e-2
    Xs = StandardScaler().fit_transform(X)
    _, _, optimum_scaled = _newton_logistic(Xs, y, alpha)
    _, _, optimum_raw = _newton_logistic(X, y, alpha)  # an upper bound at worst
    params = dict(optimizer="sgd", alpha=alpha, tol=1e-6, max_iter=1000,
                  stopping="no_improvement")
    scaled = LogisticRegression(scale_features=True, **params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unscaled = LogisticRegression(**params).fit(X, y)
    assert scaled.history_.stop_reason == "no_improvement" and scaled.n_iter_ < 700
    assert unscaled.history_.stop_reason == "max_iter"
    # after the same number of epochs the scaled fit is far closer to its optimum
    k = scaled.n_iter_
    gap_scaled = scaled.history_["objective"][k - 1] - optimum_scaled
    gap_raw = unscaled.history_["objective"][k - 1] - optimum_raw
    assert 0 <= gap_scaled < 1e-2 * gap_raw, (gap_scaled, gap_raw)


def test_scale_features_linear_regression_on_raw_diabetes_matches_ridge():
    X_raw, y = load_diabetes(return_X_y=True, scaled=False)
    X_raw = np.column_stack([X_raw, np.full(len(y), 5.0)])  # a constant column: s = 1
    X = _raw(X_raw)
    n, alpha = len(y), 1e-2
    scaler = StandardScaler().fit(X)
    assert scaler.scale_[-1] == 1.0
    m, s = scaler.mean_, scaler.scale_
    ridge = Ridge(alpha=n * alpha, solver="cholesky").fit(scaler.transform(X), y)
    model = LinearRegression(alpha=alpha, scale_features=True, tol=None,
                             max_iter=5000).fit(X, y)
    np.testing.assert_array_equal(X, X_raw)
    expected_coef = ridge.coef_ / s
    # the constant column's scaled feature is 0: its coefficient stays 0 (up to
    # the rounding of x_j - m_j computed implicitly)
    assert abs(model.coef_[-1]) <= 1e-12 * np.abs(expected_coef).max()
    expected_intercept = ridge.intercept_ - m @ expected_coef
    np.testing.assert_allclose(model.coef_, expected_coef, rtol=1e-7,
                               atol=1e-9 * np.abs(expected_coef).max())
    assert model.intercept_ == pytest.approx(expected_intercept, rel=1e-7)
    optimum = squared_objective(scaler.transform(X), y, ridge.coef_, ridge.intercept_, alpha)
    assert model.history_["objective"][-1] == pytest.approx(optimum, rel=1e-10)


def test_scale_features_with_mini_batches_gets_near_the_optimum():
    X_raw, y = load_breast_cancer(return_X_y=True)
    X = _raw(X_raw)
    alpha = 1e-2
    scaler = StandardScaler().fit(X)
    Xs = scaler.transform(X)
    _, _, optimum = _newton_logistic(Xs, y, alpha)
    model = LogisticRegression(alpha=alpha, scale_features=True, batch_size=32, tol=None,
                               max_iter=200, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X_raw)
    reached = binary_objective(Xs, y, model.coef_ * scaler.scale_,
                               model.intercept_ + model.coef_ @ scaler.mean_, alpha)
    assert optimum <= reached < 1.01 * optimum


# --------------------------------------------------------------------------
# divergence

@pytest.mark.parametrize("optimizer, eta0, batch_size", [
    ("sgd", 10.0, None), ("momentum", 10.0, None), ("momentum", 10.0, 4),
    ("adam", 1e200, None), ("adam", 1e200, 4),
])
def test_divergence_raises_and_keeps_finite_coefficients(optimizer, eta0, batch_size):
    """Adam's steps are at most about eta0 per coordinate, so only an absurd
    eta0 overflows the objective."""
    assert issubclass(descend.DivergenceError, FloatingPointError)
    assert issubclass(descend.DivergenceError, ValueError)  # as scikit-learn raises
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)) * 10
    y = X @ [1.0, 2.0, 3.0]
    model = LinearRegression(optimizer=optimizer, eta0=eta0, batch_size=batch_size, tol=None,
                             max_iter=500)
    with pytest.raises(descend.DivergenceError, match=r"epoch #\d+") as info:
        model.fit(X, y)
    assert "eta0" in str(info.value)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    assert model.history_.stop_reason == "diverged"
    assert model.n_iter_ == len(model.history_) < 500
    assert np.all(np.isfinite(model.history_["objective"]))
