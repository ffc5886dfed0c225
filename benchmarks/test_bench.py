"""pytest-benchmark suite: descend's whole ``fit`` against the whole fit of
the same training in scikit-learn or NumPy, on dense and CSR data, each
case in one benchmark group with its equivalents, so that the report (and
``pytest-benchmark compare``) shows them side by side.

    python -m pytest benchmarks -q                          # smoke test (CI): each body once
    python -m pytest benchmarks -q --benchmark-enable --benchmark-only     # measure
    DESCEND_BENCH_SIZE=full python -m pytest benchmarks --benchmark-enable \\
        --benchmark-only --benchmark-save=full               # ... and keep the results

Groups "MODEL-BATCH-LAYOUT" do a fixed amount of work: MAX_ITER epochs
with a fixed step size (tol=None), L2 penalty ALPHA, unpenalised intercept.

* descend: LinearRegression / LogisticRegression, for each dtype and n_jobs;
* batch "full" and "mini32": the same gradient steps in NumPy (float64;
  SciPy's products for CSR), rows shuffled once per epoch for mini-batches;
* batch "sample", models "linear" and "binary": scikit-learn's SGDRegressor /
  SGDClassifier with the same loss, penalty, constant step and epochs
  (its SGD on 3 classes is one-vs-rest, another model, so "multinomial"
  has no reference there).

Groups "MODEL-optimum-LAYOUT" run each side to its own stopping rule:
descend's defaults (alpha=ALPHA) against scikit-learn's LogisticRegression
(C = 1/(ALPHA n)) or Ridge (alpha = ALPHA n), the same objective.

Every benchmark checks its result: finite coefficients of the right shape
and an objective (computed here in NumPy) below the all-zero model's; the
optimum groups record their distance to a tight scikit-learn solution in
``extra_info["relative_gap"]``. No time is asserted.
"""
import warnings

import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax

import descend

MAX_ITER = 2
ALPHA = 1e-4
#: fixed numeric step sizes: no step-size estimation inside fit
ETA0 = {None: 1.0, 32: 0.1, 1: 0.01}
ETA0_SQUARED_FULL = 0.5  # squared loss, full batch (L ~ 1 on standardised X)

MODELS = ["linear", "binary", "multinomial"]
BATCHES = {"full": None, "mini32": 32, "sample": 1}
LAYOUTS = ["dense", "csr"]
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]
N_JOBS = [pytest.param(1, id="jobs1"), pytest.param(2, id="jobs2")]


def step_size(model, batch):
    if model == "linear" and batch == "full":
        return ETA0_SQUARED_FULL
    return ETA0[BATCHES[batch]]


def n_outputs(model):
    return 3 if model == "multinomial" else 1


def objective(model, X, y, coef, intercept):
    """The training objective, computed independently in float64 NumPy."""
    W = np.asarray(coef, dtype=np.float64).reshape(n_outputs(model), -1)
    b = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    Z = np.asarray(X.astype(np.float64) @ W.T) + b
    if model == "linear":
        loss = 0.5 * (Z[:, 0] - y) ** 2
    elif model == "binary":
        loss = np.logaddexp(0.0, Z[:, 0]) - y * Z[:, 0]
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    return float(loss.mean() + 0.5 * ALPHA * np.sum(W * W))


def zero_objective(model, y):
    """The objective of the all-zero model, where every fit starts."""
    if model == "linear":
        return 0.5 * float(np.mean(np.asarray(y, dtype=np.float64) ** 2))
    return float(np.log(n_outputs(model) + (model == "binary")))  # log 2 or log 3


def check_fit(model, X, y, coef, intercept):
    """Finite coefficients of the right shape, and an objective below the
    all-zero model's; returns the objective."""
    coef, intercept = np.asarray(coef), np.atleast_1d(intercept)
    assert coef.size == n_outputs(model) * X.shape[1] and intercept.size == n_outputs(model)
    assert np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))
    fitted = objective(model, X, y, coef, intercept)
    assert fitted < zero_objective(model, y), (fitted, zero_objective(model, y))
    return fitted


def numpy_descent(model, X, y, batch_size, eta0, epochs, seed=0):
    """Full-batch or mini-batch gradient descent in NumPy: the update of
    descend's "sgd" optimizer with a constant step, L2 on the coefficients."""
    n, p = X.shape
    Y = np.eye(3)[y] if model == "multinomial" else np.asarray(y, dtype=np.float64)[:, None]
    W, b = np.zeros((p, Y.shape[1])), np.zeros(Y.shape[1])
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = None if batch_size is None else rng.permutation(n)
        for start in range(0, n, batch_size or n):
            rows = slice(None) if order is None else order[start:start + batch_size]
            Xb, Yb = X[rows], Y[rows]
            Z = np.asarray(Xb @ W) + b
            if model == "linear":
                R = Z - Yb
            elif model == "binary":
                R = expit(Z) - Yb
            else:
                R = softmax(Z, axis=1) - Yb
            W -= eta0 * (np.asarray(Xb.T @ R) / Z.shape[0] + ALPHA * W)
            b -= eta0 * R.mean(axis=0)
    return W.T, b


def sklearn_sgd(model, X, y, eta0, epochs):
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    cls, loss = (SGDRegressor, "squared_error") if model == "linear" else \
        (SGDClassifier, "log_loss")
    est = cls(loss=loss, penalty="l2", alpha=ALPHA, learning_rate="constant", eta0=eta0,
              max_iter=epochs, tol=None, shuffle=True, random_state=0).fit(X, y)
    return est.coef_, est.intercept_


def run(benchmark, rounds, group, fn, **info):
    benchmark.group = group
    benchmark.extra_info.update(info)
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


# --------------------------------------------------------------------------
# fixed work: MAX_ITER epochs with a fixed step


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("n_jobs", N_JOBS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", list(BATCHES))
def test_descend(benchmark, bench_problem, bench_rounds, batch, dtype, n_jobs, model,
                 layout):
    X, targets = bench_problem(layout, dtype)
    y = targets[model]
    cls = descend.LinearRegression if model == "linear" else descend.LogisticRegression
    make = lambda: cls(batch_size=BATCHES[batch], eta0=step_size(model, batch),  # noqa: E731
                       learning_rate="constant", alpha=ALPHA, max_iter=MAX_ITER,
                       tol=None, shuffle=True, random_state=0, n_jobs=n_jobs)
    est = run(benchmark, bench_rounds, f"{model}-{batch}-{layout}", lambda: make().fit(X, y),
              n_samples=X.shape[0], n_features=X.shape[1], epochs=MAX_ITER,
              dtype=np.dtype(dtype).name, n_jobs=n_jobs)
    check_fit(model, X, y, est.coef_, est.intercept_)
    assert np.asarray(est.coef_).dtype == np.dtype(dtype)
    assert est.n_iter_ == MAX_ITER and len(est.history_) == MAX_ITER
    assert np.all(np.isfinite(est.history_["objective"]))
    if batch == "full":
        # exact gradient steps from zero with a safe step: strictly downhill
        assert est.history_["objective"][1] < est.history_["objective"][0]


REFERENCES = [(model, batch, layout, "numpy") for model in MODELS
              for batch in ("full", "mini32") for layout in LAYOUTS]
REFERENCES += [(model, "sample", layout, "sklearn") for model in ("linear", "binary")
               for layout in LAYOUTS]


@pytest.mark.parametrize("model, batch, layout, tool", REFERENCES,
                         ids=["-".join(case) for case in REFERENCES])
def test_reference(benchmark, bench_problem, bench_rounds, model, batch, layout, tool):
    X, targets = bench_problem(layout, np.float64)
    y = targets[model]
    eta0 = step_size(model, batch)
    if tool == "numpy":
        fit = lambda: numpy_descent(model, X, y, BATCHES[batch], eta0, MAX_ITER)  # noqa: E731
    else:
        fit = lambda: sklearn_sgd(model, X, y, eta0, MAX_ITER)  # noqa: E731
    coef, intercept = run(benchmark, bench_rounds, f"{model}-{batch}-{layout}", fit,
                          n_samples=X.shape[0], n_features=X.shape[1], epochs=MAX_ITER,
                          dtype="float64", tool=tool)
    check_fit(model, X, y, coef, intercept)


# --------------------------------------------------------------------------
# to the optimum: each side's own stopping rule


def sklearn_model(model, n, tight=False):
    from sklearn.linear_model import LogisticRegression, Ridge

    extra = dict(tol=1e-10) if tight else {}
    if model == "linear":
        return Ridge(alpha=ALPHA * n, **extra)
    return LogisticRegression(C=1.0 / (ALPHA * n), **extra, **(
        dict(max_iter=10_000) if tight else {}))


@pytest.fixture(scope="session")
def optimum(bench_problem):
    """get(model, layout): the objective of a tight scikit-learn solution."""
    cache = {}

    def get(model, layout):
        if (model, layout) not in cache:
            X, targets = bench_problem(layout, np.float64)
            est = sklearn_model(model, X.shape[0], tight=True).fit(X, targets[model])
            cache[model, layout] = objective(model, X, targets[model], est.coef_,
                                             est.intercept_)
        return cache[model, layout]

    return get


@pytest.mark.parametrize("tool", ["descend", "sklearn"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("model", MODELS)
def test_optimum(benchmark, bench_problem, bench_rounds, optimum, model, layout, tool):
    X, targets = bench_problem(layout, np.float64)
    y = targets[model]
    if tool == "descend":
        cls = descend.LinearRegression if model == "linear" else descend.LogisticRegression
        make = lambda: cls(alpha=ALPHA)  # noqa: E731
    else:
        make = lambda: sklearn_model(model, X.shape[0])  # noqa: E731

    def fit():
        with warnings.catch_warnings():  # a max_iter stop is in the recorded gap
            warnings.simplefilter("ignore", UserWarning)
            return make().fit(X, y)

    est = run(benchmark, bench_rounds, f"{model}-optimum-{layout}", fit,
              n_samples=X.shape[0], n_features=X.shape[1], dtype="float64", tool=tool)
    fitted = check_fit(model, X, y, est.coef_, est.intercept_)
    gap = fitted / optimum(model, layout) - 1
    benchmark.extra_info["relative_gap"] = gap
    assert gap > -1e-6  # nothing beats the tight solution
