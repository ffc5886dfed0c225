"""Optimizers, step-size schedules, gradient clipping and averaging (issue 4).

Every expectation is an independent NumPy loop written from the documented
update rules (the hand optimizers below were cross-checked against
torch.optim when the tests were written; the tests themselves need no torch),
or scikit-learn / a closed form.
"""
import math
import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from descend import LinearRegression, LogisticRegression
from reference import binary_objective, squared_objective

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
RTOL, ATOL = 1e-12, 1e-15


# --------------------------------------------------------------------------
# the reference: a hand-written loop of the documented updates
# --------------------------------------------------------------------------

class HandOptimizer:
    """One optimizer's update on theta (K, p+1): coefficients in the first p
    columns, the intercept in the last (never decayed, same optimizer)."""

    def __init__(self, name, shape, momentum=0.9, beta_1=0.9, beta_2=0.999, rho=0.99,
                 eps=1e-8):
        self.name, self.momentum, self.beta_1, self.beta_2 = name, momentum, beta_1, beta_2
        self.rho, self.eps = rho, eps
        self.t = 0
        self.buf = None
        self.m, self.v, self.s = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def step(self, theta, g_d, eta, l2):
        self.t += 1
        theta = theta.copy()
        if self.name == "adamw":  # decoupled weight decay, coefficients only
            g = g_d.copy()
            theta[:, :-1] *= 1.0 - eta * l2
        else:  # weight decay added to the gradient, coefficients only
            g = g_d.copy()
            g[:, :-1] += l2 * theta[:, :-1]
        if self.name == "sgd":
            return theta - eta * g
        if self.name in ("momentum", "nesterov"):
            self.buf = g.copy() if self.t == 1 else self.momentum * self.buf + g
            direction = g + self.momentum * self.buf if self.name == "nesterov" else self.buf
            return theta - eta * direction
        if self.name == "adagrad":
            self.s = self.s + g * g
            return theta - eta * g / (np.sqrt(self.s) + self.eps)
        if self.name == "rmsprop":
            self.v = self.rho * self.v + (1 - self.rho) * g * g
            return theta - eta * g / (np.sqrt(self.v) + self.eps)
        # adam / adamw
        self.m = self.beta_1 * self.m + (1 - self.beta_1) * g
        self.v = self.beta_2 * self.v + (1 - self.beta_2) * g * g
        m_hat = self.m / (1 - self.beta_1 ** self.t)
        v_hat = self.v / (1 - self.beta_2 ** self.t)
        return theta - eta * m_hat / (np.sqrt(v_hat) + self.eps)


def targets(y, loss):
    """y as an (n, K) float target matrix: 0/1 for binary (classes_[1] -> 1),
    one-hot for multinomial, the values for squared loss."""
    if loss == "squared":
        return np.asarray(y, dtype=float)[:, None]
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) == 2:
        return (index == 1).astype(float)[:, None]
    return np.eye(len(classes))[index]


def dloss(Z, Y, loss):
    if loss == "squared":
        return Z - Y
    if Y.shape[1] == 1:
        return expit(Z) - Y
    return softmax(Z, axis=1) - Y


def hand_fit(X, y, loss, *, eta, epochs, batch_size=None, optimizer="sgd", alpha=0.0,
             l1_ratio=0.0, clip_norm=None, average=False, sample_weight=None, **hyper):
    """Train from zero by the documented rules.

    eta(t, e, U) is the step size of update t (1-based over the fit) in epoch
    e (1-based) with U updates per epoch.  Returns (coef (K, p), intercept
    (K,), step size of each epoch's last update).
    """
    X = np.asarray(X, dtype=float)
    Y = targets(y, loss)
    n, p = X.shape
    K = Y.shape[1]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    S = sw.sum()
    Xa = np.column_stack([X, np.ones(n)])
    B = n if batch_size is None else batch_size
    batches = [np.arange(s, min(s + B, n)) for s in range(0, n, B)]
    U = len(batches)
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    theta = np.zeros((K, p + 1))
    opt = HandOptimizer(optimizer, theta.shape, **hyper)
    a = int(average)  # True -> 1
    wbar = theta.copy()
    u, q = 0.0, np.zeros((K, p))  # cumulative L1 penalty (batch_size == 1)
    t, last_etas = 0, []
    for e in range(1, epochs + 1):
        for rows in batches:
            t += 1
            step = eta(t, e, U)
            D = dloss(Xa[rows] @ theta.T, Y[rows], loss) * sw[rows, None]
            g_d = n / (len(rows) * S) * D.T @ Xa[rows]
            if clip_norm is not None:
                norm = np.linalg.norm(g_d)
                if norm > clip_norm:
                    g_d = g_d * (clip_norm / norm)
            theta = opt.step(theta, g_d, step, l2)
            if l1 > 0 and batch_size != 1:  # proximal step, coefficients only
                w = theta[:, :-1]
                theta[:, :-1] = np.sign(w) * np.maximum(np.abs(w) - step * l1, 0.0)
            elif l1 > 0:  # cumulative penalty (Tsuruoka et al. 2009)
                u += step * l1
                for k in range(K):
                    for j in range(p):
                        w0 = theta[k, j]
                        if w0 > 0:
                            theta[k, j] = max(0.0, w0 - (u + q[k, j]))
                        elif w0 < 0:
                            theta[k, j] = min(0.0, w0 + (u - q[k, j]))
                        q[k, j] += theta[k, j] - w0
            if a and t >= a:
                wbar = wbar + (theta - wbar) / (t - a + 1)
            else:
                wbar = theta.copy()
        last_etas.append(step)
    out = wbar if a else theta
    return out[:, :-1], out[:, -1], np.array(last_etas)


def constant(eta0):
    return lambda t, e, U: eta0


def data(n, kind, p=5, seed=0):
    """Small standard-normal problems; labels alternate so that every class
    appears in every few consecutive rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if kind == "linear":
        y = X @ rng.standard_normal(p) + 0.7 + 0.3 * rng.standard_normal(n)
    elif kind == "binary":
        y = np.where(np.arange(n) % 2 == 0, "no", "yes")  # classes_[1] = "yes"
        X[y == "yes"] += 0.3
    else:
        y = np.arange(n) % 3 + 10
        X[:, 0] += 0.5 * (y - 11)
    return X, y


def check_fit(model, coef, intercept):
    if isinstance(model, LinearRegression):
        assert np.ndim(model.coef_) == 1 and np.ndim(model.intercept_) == 0
        coef, intercept = coef[0], intercept[0]
    np.testing.assert_allclose(model.coef_, coef, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------

# non-default hyper-parameters, so an ignored parameter shows
HYPER = dict(momentum=0.8, beta_1=0.85, beta_2=0.99, rho=0.9, eps=1e-6)
ETA = dict(sgd=0.1, momentum=0.05, nesterov=0.05, adagrad=0.1, rmsprop=0.02, adam=0.05,
           adamw=0.05)
MODES = {  # name: (rows, batch_size, epochs)
    "full_batch": (40, None, 3),
    "per_sample": (6, 1, 1),
    "mini_batch": (10, 4, 2),  # batches of 4, 4, 2 rows
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("Estimator", [LinearRegression, LogisticRegression])
def test_optimizer_updates_match_hand_loop(Estimator, mode, optimizer):
    n, batch_size, epochs = MODES[mode]
    loss, kind = ("squared", "linear") if Estimator is LinearRegression else ("log", "binary")
    X, y = data(n, kind, seed=1)
    alpha = 0.3  # large: the weight decay (coupled or decoupled) matters
    model = Estimator(optimizer=optimizer, eta0=ETA[optimizer], penalty="l2", alpha=alpha,
                      batch_size=batch_size, shuffle=False, tol=None, max_iter=epochs,
                      fit_intercept=True, **HYPER).fit(X, y)
    coef, intercept, etas = hand_fit(X, y, loss, eta=constant(ETA[optimizer]), epochs=epochs,
                                     batch_size=batch_size, optimizer=optimizer,
                                     alpha=alpha, **HYPER)
    check_fit(model, coef, intercept)
    updates = epochs * -(-n // (batch_size or n))
    assert model.history_["updates"][-1] == updates
    np.testing.assert_allclose(model.history_["learning_rate"], etas, rtol=1e-15)
    assert model.eta0_ == ETA[optimizer]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer_default_hyperparameters(optimizer):
    """momentum=0.9, beta_1=0.9, beta_2=0.999, rho=0.99, eps=1e-8 by default."""
    X, y = data(40, "binary", seed=2)
    model = LogisticRegression(optimizer=optimizer, eta0=0.05, alpha=0.1, tol=None,
                               max_iter=4).fit(X, y)
    coef, intercept, _ = hand_fit(X, y, "log", eta=constant(0.05), epochs=4,
                                  optimizer=optimizer, alpha=0.1)
    check_fit(model, coef, intercept)


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_multinomial_optimizer_updates_match_hand_loop(optimizer, batch_size):
    X, y = data(40, "multinomial", seed=3)
    model = LogisticRegression(optimizer=optimizer, eta0=0.05, alpha=0.2, tol=None,
                               max_iter=3, batch_size=batch_size, shuffle=False,
                               **HYPER).fit(X, y)
    assert model.coef_.shape == (3, 5) and model.intercept_.shape == (3,)
    coef, intercept, _ = hand_fit(X, y, "multinomial", eta=constant(0.05), epochs=3,
                                  batch_size=batch_size, optimizer=optimizer, alpha=0.2,
                                  **HYPER)
    check_fit(model, coef, intercept)


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "adamw"])
def test_weighted_rows_in_optimizer_updates(optimizer):
    """g_d = n / (|B| S) * sum_B sw_i dloss_i [x_i, 1] for mini-batches."""
    X, y = data(11, "linear", seed=4)
    sw = np.linspace(0.2, 3.0, 11)
    model = LinearRegression(optimizer=optimizer, eta0=0.05, alpha=0.2, batch_size=3,
                             shuffle=False, tol=None, max_iter=2, **HYPER)
    model.fit(X, y, sample_weight=sw)
    coef, intercept, _ = hand_fit(X, y, "squared", eta=constant(0.05), epochs=2,
                                  batch_size=3, optimizer=optimizer, alpha=0.2,
                                  sample_weight=sw, **HYPER)
    check_fit(model, coef, intercept)


def test_adamw_decay_is_decoupled_and_spares_the_intercept():
    """adamw differs from adam with the same alpha; with alpha = 0 they agree."""
    X, y = data(40, "linear", seed=5)
    fits = {(name, a): LinearRegression(optimizer=name, eta0=0.1, alpha=a, tol=None,
                                        max_iter=5).fit(X, y)
            for name in ("adam", "adamw") for a in (0.0, 0.5)}
    np.testing.assert_allclose(fits["adam", 0.0].coef_, fits["adamw", 0.0].coef_, rtol=1e-14)
    assert np.abs(fits["adam", 0.5].coef_ - fits["adamw", 0.5].coef_).max() > 1e-3
    for name in ("adam", "adamw"):
        coef, intercept, _ = hand_fit(X, y, "squared", eta=constant(0.1), epochs=5,
                                      optimizer=name, alpha=0.5)
        check_fit(fits[name, 0.5], coef, intercept)


@pytest.mark.parametrize("optimizer, expected", [
    ("adagrad", 0.01), ("rmsprop", 0.01), ("adam", 0.001), ("adamw", 0.001)])
def test_auto_step_of_adaptive_optimizers_is_pytorchs_default(optimizer, expected):
    X, y = data(40, "binary", seed=6)
    model = LogisticRegression(optimizer=optimizer, tol=None, max_iter=2).fit(X, y)
    assert model.eta0_ == expected
    coef, intercept, _ = hand_fit(X, y, "log", eta=constant(expected), epochs=2,
                                  optimizer=optimizer, alpha=1e-4)
    check_fit(model, coef, intercept)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
@pytest.mark.parametrize("momentum", [0.9, 0.5])
def test_auto_step_of_momentum_is_scaled_by_one_minus_momentum(optimizer, momentum):
    X, y = data(40, "binary", seed=7)
    alpha = 0.01
    A = np.column_stack([X, np.ones(len(X))])
    L = 0.25 * np.linalg.eigvalsh(A.T @ A / len(X)).max() + alpha
    model = LogisticRegression(optimizer=optimizer, momentum=momentum, alpha=alpha,
                               tol=None, max_iter=1).fit(X, y)
    assert model.eta0_ == pytest.approx((1 - momentum) / L, rel=1e-6)
    plain = LogisticRegression(optimizer="sgd", alpha=alpha, tol=None, max_iter=1).fit(X, y)
    assert model.eta0_ == pytest.approx((1 - momentum) * plain.eta0_, rel=1e-12)


@pytest.mark.parametrize("Estimator", [LinearRegression, LogisticRegression])
@pytest.mark.parametrize("param, value", [
    ("optimizer", "lbfgs-b"), ("optimizer", "newton-cg"), ("optimizer", None),
    ("momentum", 1.0), ("momentum", -0.1), ("momentum", 1.5),
    ("beta_1", 1.0), ("beta_1", -0.1), ("beta_2", 1.0), ("beta_2", -1e-3),
    ("eps", 0.0), ("eps", -1e-8), ("rho", 1.0), ("rho", -0.5),
])
def test_bad_optimizer_parameter_names_the_parameter(Estimator, param, value):
    X, y = data(20, "binary", seed=0)
    model = Estimator(**{param: value})
    assert getattr(model, param) is value
    with pytest.raises(ValueError,
                       match=rf"The '{param}' parameter of {Estimator.__name__} must be .* Got"):
        model.fit(X, (y == "yes").astype(int))


@pytest.mark.parametrize("param, value", [
    ("momentum", 0.0), ("beta_1", 0.0), ("beta_2", 0.0), ("rho", 0.0), ("eps", 1e-300)])
def test_boundary_optimizer_parameters_are_accepted(param, value):
    X, y = data(20, "binary", seed=0)
    optimizer = {"momentum": "momentum", "rho": "rmsprop"}.get(param, "adam")
    model = LogisticRegression(optimizer=optimizer, eta0=0.05, tol=None, max_iter=2,
                               **{param: value}).fit(X, y)
    coef, intercept, _ = hand_fit(X, y, "log", eta=constant(0.05), epochs=2,
                                  optimizer=optimizer, alpha=1e-4, **{param: value})
    check_fit(model, coef, intercept)


def test_partial_fit_continues_the_optimizer_state():
    """k partial_fit calls equal fit(max_iter=k, shuffle=False): t and the
    Adam moments carry over."""
    X, y = data(10, "binary", seed=8)
    params = dict(optimizer="adam", eta0=0.05, alpha=0.1, batch_size=4, tol=None, **HYPER)
    model = LogisticRegression(shuffle=False, **params)
    model.partial_fit(X, y, classes=np.array(["no", "yes"]))
    model.partial_fit(X, y)
    model.partial_fit(X, y)
    coef, intercept, _ = hand_fit(X, y, "log", eta=constant(0.05), epochs=3, batch_size=4,
                                  optimizer="adam", alpha=0.1, **HYPER)
    check_fit(model, coef, intercept)


# --------------------------------------------------------------------------
# step-size schedules
# --------------------------------------------------------------------------

ETA0, POWER_T, DECAY_RATE, DECAY_STEPS, MAX_ITER, ALPHA = 0.4, 0.4, 0.7, 2, 5, 0.1


def schedule(name, warmup_epochs=0):
    """eta(t, e, U) of the documented schedules (max_iter = MAX_ITER)."""
    typw = math.sqrt(1.0 / math.sqrt(ALPHA))
    t0 = 1.0 / (typw * ALPHA)
    base = {
        "constant": lambda t, e: ETA0,
        "invscaling": lambda t, e: ETA0 / t ** POWER_T,
        "optimal": lambda t, e: 1.0 / (ALPHA * (t0 + t - 1)),
        "exponential": lambda t, e: ETA0 * DECAY_RATE ** (e - 1),
        "step": lambda t, e: ETA0 * DECAY_RATE ** ((e - 1) // DECAY_STEPS),
        "cosine": lambda t, e: ETA0 * 0.5 * (1 + math.cos(math.pi * (e - 1) / MAX_ITER)),
    }[name]
    if warmup_epochs:
        return lambda t, e, U: base(t, e) * min(1.0, t / (warmup_epochs * U))
    return lambda t, e, U: base(t, e)


SCHEDULES = ["constant", "invscaling", "optimal", "exponential", "step", "cosine"]


@pytest.mark.parametrize("batch_size", [None, 4])
@pytest.mark.parametrize("warmup_epochs", [0, 2])
@pytest.mark.parametrize("learning_rate", SCHEDULES)
def test_schedule_step_sizes_and_coefficients(learning_rate, warmup_epochs, batch_size):
    X, y = data(10 if batch_size else 30, "binary", seed=9)
    model = LogisticRegression(learning_rate=learning_rate, eta0=ETA0, power_t=POWER_T,
                               decay_rate=DECAY_RATE, decay_steps=DECAY_STEPS,
                               warmup_epochs=warmup_epochs, alpha=ALPHA, optimizer="sgd",
                               batch_size=batch_size, shuffle=False, tol=None,
                               max_iter=MAX_ITER).fit(X, y)
    eta = schedule(learning_rate, warmup_epochs)
    U = 1 if batch_size is None else 3
    expected = [eta(e * U, e, U) for e in range(1, MAX_ITER + 1)]  # each epoch's last update
    assert len(model.history_) == MAX_ITER
    np.testing.assert_allclose(model.history_["learning_rate"], expected, rtol=1e-14)
    coef, intercept, etas = hand_fit(X, y, "log", eta=eta, epochs=MAX_ITER,
                                     batch_size=batch_size, alpha=ALPHA)
    np.testing.assert_allclose(etas, expected, rtol=1e-15)
    check_fit(model, coef, intercept)


def test_schedule_values_by_hand():
    """Spot values of the formulas themselves (guards the reference above)."""
    assert schedule("exponential")(7, 3, 3) == pytest.approx(0.4 * 0.49)
    assert schedule("step")(7, 3, 3) == pytest.approx(0.4 * 0.7)
    assert schedule("step")(5, 2, 3) == pytest.approx(0.4)
    assert schedule("cosine")(1, 1, 1) == pytest.approx(0.4)
    assert schedule("cosine")(1, 6, 1) == pytest.approx(0.0, abs=1e-15)  # e = max_iter + 1
    assert schedule("optimal")(1, 1, 1) == pytest.approx(math.sqrt(1 / math.sqrt(0.1)))
    assert schedule("constant", 2)(2, 1, 3) == pytest.approx(0.4 * 2 / 6)


def test_invscaling_and_exponential_mini_batches_with_momentum():
    """Schedules drive every optimizer, not only sgd."""
    X, y = data(10, "linear", seed=10)
    for learning_rate in ("invscaling", "exponential"):
        model = LinearRegression(learning_rate=learning_rate, eta0=0.05, power_t=POWER_T,
                                 decay_rate=DECAY_RATE, optimizer="momentum", alpha=0.1,
                                 batch_size=3, shuffle=False, tol=None, max_iter=4,
                                 **HYPER).fit(X, y)
        eta = {"invscaling": lambda t, e, U: 0.05 / t ** POWER_T,
               "exponential": lambda t, e, U: 0.05 * DECAY_RATE ** (e - 1)}[learning_rate]
        coef, intercept, etas = hand_fit(X, y, "squared", eta=eta, epochs=4, batch_size=3,
                                         optimizer="momentum", alpha=0.1, **HYPER)
        check_fit(model, coef, intercept)
        np.testing.assert_allclose(model.history_["learning_rate"], etas, rtol=1e-14)


def adaptive_reference(X, y, eta0, alpha, tol, n_iter_no_change, epochs):
    """Full-batch ridge gradient descent with scikit-learn's adaptive rule: the
    monitored value is the objective at each epoch's start; after
    n_iter_no_change epochs in a row that fail to beat the best by
    tol * max(1, |best|), eta /= 5 for the following epochs."""
    n, p = X.shape
    w, b, eta = np.zeros(p), 0.0, eta0
    best, bad = np.inf, 0
    objectives, etas = [], []
    for _ in range(epochs):
        r = X @ w + b - y
        objective = 0.5 * np.mean(r * r) + 0.5 * alpha * w @ w
        w, b = w - eta * (X.T @ r / n + alpha * w), b - eta * r.mean()
        objectives.append(objective)
        etas.append(eta)
        if objective > best - tol * max(1.0, abs(best)):
            bad += 1
        else:
            bad = 0
        best = min(best, objective)
        if bad >= n_iter_no_change:
            eta, bad = eta / 5, 0
    return w, b, np.array(objectives), np.array(etas)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adaptive_divides_eta_by_five_after_stalled_epochs():
    X, y = data(50, "linear", seed=11)
    y = y * 20.0  # objective >> 1: the tolerance is relative
    eta0, alpha, tol, k, epochs = 0.3, 0.01, 0.01, 3, 30
    w, b, objectives, etas = adaptive_reference(X, y, eta0, alpha, tol, k, epochs)
    # the case is not degenerate: eta drops several times, first after a while
    drops = np.flatnonzero(np.diff(etas) < 0) + 1
    assert len(drops) >= 3 and drops[0] >= 5 and etas.min() > 1e-6
    model = LinearRegression(learning_rate="adaptive", eta0=eta0, alpha=alpha, tol=tol,
                             n_iter_no_change=k, max_iter=epochs).fit(X, y)
    assert len(model.history_) == epochs
    np.testing.assert_allclose(model.history_["learning_rate"], etas, rtol=1e-15)
    np.testing.assert_allclose(model.history_["objective"], objectives, rtol=1e-12)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12)
    assert model.intercept_ == pytest.approx(b, rel=1e-12)


def test_adaptive_stops_once_eta_falls_below_1e_minus_6():
    """y = 0: zero stays optimal, the objective never improves, eta shrinks by
    5 every n_iter_no_change epochs until it is below 1e-6."""
    X, _ = data(30, "linear", seed=12)
    model = LinearRegression(learning_rate="adaptive", eta0=0.1, alpha=0.1, tol=1e-4,
                             n_iter_no_change=2, max_iter=1000,
                             stopping="no_improvement").fit(X, np.zeros(30))
    assert not model.converged_ and model.history_.stop_reason == "no_improvement"
    lr = model.history_["learning_rate"]
    ratios = lr / 0.1
    powers = np.log(ratios) / np.log(1 / 5)
    np.testing.assert_allclose(powers, np.round(powers), atol=1e-9)
    assert lr[0] == 0.1 and np.all(np.diff(lr) <= 0)
    assert lr[-1] < 5e-6 and len(lr) < 40  # 0.1 / 5**7 = 1.3e-6, 0.1 / 5**8 = 2.6e-7
    assert np.all(model.coef_ == 0) and model.intercept_ == 0


# --------------------------------------------------------------------------
# line search
# --------------------------------------------------------------------------

def line_search_reference(X, y, alpha, eta0, epochs):
    """Backtracking of the documented rule on full-batch ridge regression."""
    n, p = X.shape
    A = np.column_stack([X, np.ones(n)])

    def F(theta):
        r = A @ theta - y
        return 0.5 * np.mean(r * r) + 0.5 * alpha * theta[:p] @ theta[:p]

    theta, eta, etas = np.zeros(p + 1), eta0, []
    for e in range(epochs):
        r = A @ theta - y
        g = A.T @ r / n
        g[:p] += alpha * theta[:p]
        f = F(theta)
        eta = eta0 if e == 0 else 1.25 * eta
        while True:
            trial = theta - eta * g
            d = trial - theta
            if F(trial) <= f + g @ d + d @ d / (2 * eta):
                break
            eta /= 2
        theta = trial
        etas.append(eta)
    return theta, np.array(etas)


def ridge_closed_form(X, y, alpha):
    n = len(y)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(X.shape[1]), Xc.T @ yc / n)
    return w, y.mean() - X.mean(axis=0) @ w


def test_line_search_recovers_from_a_far_too_large_eta0(diabetes):
    X, y = diabetes
    alpha = 1e-3
    w, b = ridge_closed_form(X, y, alpha)
    optimum = squared_objective(X, y, w, b, alpha)
    model = LinearRegression(learning_rate="line_search", eta0=100.0, alpha=alpha,
                             tol=None, max_iter=3000).fit(X, y)
    objective = model.history_["objective"]
    assert np.all(np.isfinite(objective))
    # non-increasing (up to rounding of an objective of ~1500)
    assert np.all(np.diff(objective) <= 1e-13 * objective[1:])
    achieved = squared_objective(X, y, model.coef_, model.intercept_, alpha)
    assert achieved == pytest.approx(optimum, rel=1e-8)
    np.testing.assert_allclose(model.coef_, w, atol=0.5)  # |w| from 18 to 400
    # the first epochs backtrack from 100 and then grow by 1.25 exactly as the rule says
    _, etas = line_search_reference(X, y, alpha, 100.0, 20)
    assert etas[0] < 1.0
    np.testing.assert_allclose(model.history_["learning_rate"][:20], etas, rtol=1e-12)


def test_line_search_beats_the_constant_step_on_breast_cancer(breast_cancer):
    X, y = breast_cancer
    alpha = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogisticRegression(C=1.0 / (len(y) * alpha), tol=1e-12,
                                   max_iter=20_000).fit(X, y)
    optimum = binary_objective(X, y, ref.coef_, ref.intercept_, alpha)
    kwargs = dict(alpha=alpha, tol=None, max_iter=1000)
    searched = LogisticRegression(learning_rate="line_search", **kwargs).fit(X, y)
    constant_step = LogisticRegression(optimizer="sgd", learning_rate="constant",
                                       **kwargs).fit(X, y)
    ours = binary_objective(X, y, searched.coef_, searched.intercept_, alpha)
    plain = binary_objective(X, y, constant_step.coef_, constant_step.intercept_, alpha)
    assert ours == pytest.approx(optimum, rel=1e-8)
    assert ours <= optimum * (1 + 1e-12)
    assert plain > optimum * (1 + 1e-6)  # 1/L needs tens of thousands of epochs
    # epoch 1 tries eta0 = 1/L (the auto step) and is accepted at that size or below
    assert searched.history_["learning_rate"][0] <= constant_step.eta0_ * (1 + 1e-12)
    assert np.all(np.diff(searched.history_["objective"]) <= 1e-14)


# --------------------------------------------------------------------------
# gradient clipping
# --------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [None, 4])
def test_clipped_sgd_steps_match_hand_loop(batch_size):
    X, y = data(10 if batch_size else 40, "linear", seed=13)
    y = 10 * y  # gradients far above the clip
    clip = 0.5
    coef, intercept, _ = hand_fit(X, y, "squared", eta=constant(0.1), epochs=3,
                                  batch_size=batch_size, alpha=0.3)
    model = LinearRegression(eta0=0.1, alpha=0.3, clip_norm=clip, batch_size=batch_size,
                             shuffle=False, tol=None, max_iter=3).fit(X, y)
    coef_c, intercept_c, _ = hand_fit(X, y, "squared", eta=constant(0.1), epochs=3,
                                      batch_size=batch_size, alpha=0.3, clip_norm=clip)
    check_fit(model, coef_c, intercept_c)
    assert np.abs(coef_c - coef).max() > 0.1  # the clip was active
    if batch_size is None:  # the first update is -eta * clip * g / ||g|| (w = 0: no decay)
        first = LinearRegression(eta0=0.1, alpha=0.3, clip_norm=clip, tol=None,
                                 max_iter=1).fit(X, y)
        g = np.append(X.T @ -y, -y.sum()) / len(y)
        step = -0.1 * clip * g / np.linalg.norm(g)
        np.testing.assert_allclose(first.coef_, step[:-1], rtol=1e-13)
        assert first.intercept_ == pytest.approx(step[-1], rel=1e-13)


def test_clipped_multinomial_momentum_matches_hand_loop():
    """The norm runs over all coefficients and intercepts of all classes."""
    X, y = data(40, "multinomial", seed=14)
    model = LogisticRegression(optimizer="momentum", eta0=0.2, alpha=0.1, clip_norm=0.05,
                               tol=None, max_iter=3, **HYPER).fit(X, y)
    coef, intercept, _ = hand_fit(X, y, "multinomial", eta=constant(0.2), epochs=3,
                                  optimizer="momentum", alpha=0.1, clip_norm=0.05, **HYPER)
    check_fit(model, coef, intercept)


@pytest.mark.parametrize("batch_size", [None, 1, 4])
def test_a_clip_above_the_gradient_norm_changes_nothing(batch_size):
    X, y = data(12, "binary", seed=15)
    kwargs = dict(eta0=0.1, alpha=0.1, batch_size=batch_size, shuffle=False, tol=None,
                  max_iter=3)
    free = LogisticRegression(**kwargs).fit(X, y)
    clipped = LogisticRegression(clip_norm=1e6, **kwargs).fit(X, y)
    # the same numbers up to rounding (a clipping code path may round differently)
    np.testing.assert_allclose(clipped.coef_, free.coef_, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(clipped.intercept_, free.intercept_, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("value", [0.0, -1.0, "big"])
def test_bad_clip_norm(value):
    X, y = data(20, "binary")
    with pytest.raises(ValueError,
                       match=r"The 'clip_norm' parameter of LogisticRegression must be .* Got"):
        LogisticRegression(clip_norm=value).fit(X, y)


# --------------------------------------------------------------------------
# averaging
# --------------------------------------------------------------------------

@pytest.mark.parametrize("average", [True, 3, 1, 100])
@pytest.mark.parametrize("Estimator", [LinearRegression, LogisticRegression])
def test_averaged_sgd_matches_hand_loop(Estimator, average):
    loss, kind = ("squared", "linear") if Estimator is LinearRegression else ("log", "binary")
    X, y = data(8, kind, seed=16)
    model = Estimator(average=average, eta0=0.1, alpha=0.05, batch_size=1, shuffle=False,
                      tol=None, max_iter=2).fit(X, y)
    coef, intercept, _ = hand_fit(X, y, loss, eta=constant(0.1), epochs=2, batch_size=1,
                                  alpha=0.05, average=average)
    check_fit(model, coef, intercept)
    last, last_b, _ = hand_fit(X, y, loss, eta=constant(0.1), epochs=2, batch_size=1,
                               alpha=0.05)
    if average == 100:  # never reached in 16 updates: the plain weights
        check_fit(model, last, last_b)
    else:
        assert np.abs(coef - last).max() > 1e-3


def test_average_true_is_the_mean_of_all_iterates():
    X, y = data(8, "linear", seed=17)
    model = LinearRegression(average=True, eta0=0.1, batch_size=1, shuffle=False, tol=None,
                             max_iter=1).fit(X, y)
    w, b, iterates = np.zeros(5), 0.0, []
    for i in range(8):
        r = X[i] @ w + b - y[i]
        w, b = w - 0.1 * r * X[i], b - 0.1 * r
        iterates.append(np.append(w, b))
    mean = np.mean(iterates, axis=0)
    np.testing.assert_allclose(model.coef_, mean[:-1], rtol=1e-12)
    assert model.intercept_ == pytest.approx(mean[-1], rel=1e-12)


@pytest.mark.parametrize("value", [0, -1, 2.5, "yes"])
def test_bad_average(value):
    X, y = data(20, "binary")
    with pytest.raises(ValueError,
                       match=r"The 'average' parameter of LogisticRegression must be .* Got"):
        LogisticRegression(average=value).fit(X, y)
