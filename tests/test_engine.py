"""The engine's contracts: exact update rules, determinism, dtypes, no copies."""
import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax

import descend
from descend import LinearRegression, LogisticRegression, _solver
from reference import binary_objective


def _problem(n=257, p=7, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = rng.integers(0, classes, n)
    return X, y


def test_one_full_batch_epoch_is_one_exact_gradient_step():
    X, y = _problem()
    n, p = X.shape
    alpha, eta = 0.05, 0.3
    model = LogisticRegression(alpha=alpha, eta0=eta, tol=None, max_iter=2).fit(X, y)
    w, b = np.zeros(p), 0.0
    for _ in range(2):
        r = expit(X @ w + b) - y
        gw, gb = X.T @ r / n + alpha * w, r.mean()
        w, b = w - eta * gw, b - eta * gb
    np.testing.assert_allclose(model.coef_.ravel(), w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.intercept_[0], b, rtol=1e-12)
    # the second record holds the exact gradient norm at the first step's result
    w1 = -eta * (X.T @ (0.5 - y) / n)
    b1 = -eta * np.mean(0.5 - y)
    r = expit(X @ w1 + b1) - y
    grad = np.concatenate([X.T @ r / n + alpha * w1, [r.mean()]])
    assert model.history_["grad_norm"][1] == pytest.approx(np.linalg.norm(grad), rel=1e-12)


def test_multinomial_epoch_is_one_exact_gradient_step():
    X, y = _problem(classes=4)
    n, p = X.shape
    alpha, eta = 0.01, 0.5
    model = LogisticRegression(alpha=alpha, eta0=eta, tol=None, max_iter=3).fit(X, y)
    W, b = np.zeros((4, p)), np.zeros(4)
    Y = np.eye(4)[y]
    for _ in range(3):
        R = softmax(X @ W.T + b, axis=1) - Y
        W, b = W - eta * (R.T @ X / n + alpha * W), b - eta * R.mean(axis=0)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-12, atol=1e-15)


def test_per_sample_epoch_matches_hand_loop():
    X, y = _problem(n=50)
    alpha, eta = 0.01, 0.05
    model = LogisticRegression(alpha=alpha, eta0=eta, batch_size=1, shuffle=False,
                               tol=None, max_iter=2).fit(X, y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(2):
        for i in range(len(y)):
            d = expit(X[i] @ w + b) - y[i]
            w = (1 - eta * alpha) * w - eta * d * X[i]
            b -= eta * d
    np.testing.assert_allclose(model.coef_.ravel(), w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.intercept_[0], b, rtol=1e-12)
    assert model.t_ == 2 * 50 + 1


def test_mini_batch_invscaling_matches_hand_loop():
    X, y = _problem(n=70)
    y = X @ np.arange(X.shape[1]) + 0.1 * y
    alpha, eta0, power_t, B = 0.01, 0.05, 0.5, 16
    model = LinearRegression(alpha=alpha, eta0=eta0, batch_size=B, shuffle=False,
                             learning_rate="invscaling", power_t=power_t,
                             tol=None, max_iter=2).fit(X, y)
    w, b, t = np.zeros(X.shape[1]), 0.0, 0
    for _ in range(2):
        for s in range(0, len(y), B):
            Xb, yb = X[s:s + B], y[s:s + B]
            r = Xb @ w + b - yb
            t += 1
            eta = eta0 / t ** power_t
            w = w - eta * (Xb.T @ r / len(yb) + alpha * w)
            b -= eta * r.mean()
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-12)
    assert model.history_["learning_rate"][-1] == pytest.approx(eta0 / t ** power_t)
    assert model.history_["updates"][-1] == t == 10


@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
def test_full_batch_is_bitwise_identical_for_any_n_jobs(optimizer):
    from descend._certificate import certificate_chunks
    from descend._fitstate import n_chunks_for

    rng = np.random.default_rng(3)
    X = rng.standard_normal((20_000, 30))  # large enough for many chunks
    X[:, 3] = 100.0 + 30.0 * X[:, 3]  # badly scaled: the preconditioner matters
    y = (X[:, 0] + rng.standard_normal(20_000) > 0).astype(int)
    assert n_chunks_for(20_000, 30, 1) > 8 and certificate_chunks(20_000, 30, 1, 2) > 8
    fits = [LogisticRegression(optimizer=optimizer, tol=None, max_iter=15, n_jobs=j).fit(X, y)
            for j in (1, 2, 3, 8)]
    for other in fits[1:]:
        assert np.array_equal(fits[0].coef_, other.coef_)
        assert np.array_equal(fits[0].intercept_, other.intercept_)
        assert np.array_equal(fits[0].history_["objective"], other.history_["objective"])


@pytest.mark.parametrize("batch_size", [1, 10])
def test_stochastic_fits_are_reproducible_from_random_state(batch_size):
    X, y = _problem(n=300)
    fit = lambda seed: LogisticRegression(batch_size=batch_size, random_state=seed,  # noqa: E731
                                          tol=None, max_iter=3).fit(X, y).coef_
    assert np.array_equal(fit(7), fit(7))
    assert not np.array_equal(fit(7), fit(8))
    unshuffled = LogisticRegression(batch_size=batch_size, shuffle=False, tol=None,
                                    max_iter=3)
    assert np.array_equal(unshuffled.fit(X, y).coef_, unshuffled.fit(X, y).coef_)


def test_c_contiguous_float_input_is_not_copied(monkeypatch):
    seen = []
    real_solve = _solver.solve

    def spy(problem, *args, **kwargs):
        seen.append(problem.X)
        return real_solve(problem, *args, **kwargs)

    monkeypatch.setattr(_solver, "solve", spy)
    for dtype in (np.float32, np.float64):
        X = np.ascontiguousarray(_problem()[0], dtype=dtype)
        y = _problem()[1]
        LogisticRegression(max_iter=2, tol=None).fit(X, y)
        LinearRegression(max_iter=2, tol=None).fit(X, y.astype(float))
        assert all(seen_X is X for seen_X in seen[-2:])
    # Fortran order must be converted (once) to C order for the kernels
    F = np.asfortranarray(X)
    LogisticRegression(max_iter=2, tol=None).fit(F, y)
    assert seen[-1] is not F and seen[-1].flags.c_contiguous


def test_inputs_are_never_modified():
    X, y = _problem()
    X.flags.writeable = False  # a write would raise
    sw = np.linspace(0.5, 2.0, len(y))
    copies = X.copy(), y.copy(), sw.copy()
    for batch_size in (None, 1, 8):
        LogisticRegression(batch_size=batch_size, max_iter=3, tol=None).fit(X, y, sample_weight=sw)
        LinearRegression(batch_size=batch_size, max_iter=3, tol=None).fit(X, y * 1.0, sample_weight=sw)
    for original, copy in zip((X, y, sw), copies):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_float32_in_float32_out_and_agrees_with_float64(breast_cancer, batch_size):
    X, y = breast_cancer
    kwargs = dict(alpha=1e-2, batch_size=batch_size, tol=None, random_state=0,
                  max_iter=300 if batch_size is None else 30)
    m64 = LogisticRegression(**kwargs).fit(X, y)
    m32 = LogisticRegression(**kwargs).fit(X.astype(np.float32), y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert m64.coef_.dtype == np.float64
    assert m32.predict_proba(X.astype(np.float32)).dtype == np.float32
    scale = np.abs(m64.coef_).max()
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=2e-4 * scale)
    r32 = LinearRegression(alpha=1e-2, max_iter=200, tol=None).fit(X.astype(np.float32), y)
    r64 = LinearRegression(alpha=1e-2, max_iter=200, tol=None).fit(X, y)
    assert r32.coef_.dtype == np.float32
    np.testing.assert_allclose(r32.coef_, r64.coef_, atol=1e-5)


def test_history_records_every_epoch(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(optimizer="sgd", alpha=1e-3, tol=None, max_iter=40).fit(X, y)
    h = model.history_
    assert len(h) == 40 and model.n_iter_ == 40
    np.testing.assert_array_equal(h["epoch"], np.arange(1, 41))
    np.testing.assert_array_equal(h["updates"], np.arange(1, 41))
    assert np.all(np.diff(h["objective"]) < 0)  # a 1/L step decreases the objective
    assert np.all(np.diff(h["seconds"]) >= 0)
    assert np.all(h["learning_rate"] == model.eta0_)
    # the recorded objective at epoch 2 is the objective after one step
    one = LogisticRegression(optimizer="sgd", alpha=1e-3, tol=None, max_iter=1).fit(X, y)
    assert h["objective"][1] == pytest.approx(
        binary_objective(X, y, one.coef_, one.intercept_, 1e-3), rel=1e-12)
    assert h[0]["epoch"] == 1 and set(h[0]) == set(h.columns)
    frame = h.to_frame()
    assert list(frame.columns) == h.columns and len(frame) == 40


def test_auto_step_is_one_over_lipschitz_constant(diabetes):
    X, y = diabetes
    A = np.column_stack([X, np.ones(len(X))])
    L = np.linalg.eigvalsh(A.T @ A / len(X)).max() + 0.5
    model = LinearRegression(optimizer="sgd", alpha=0.5, max_iter=1, tol=None).fit(X, y)
    assert model.eta0_ == pytest.approx(1.0 / L, rel=1e-6)


def test_convergence_warning_and_flags(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(descend_convergence_warning(), match="max_iter"):
        model = LogisticRegression(max_iter=3).fit(X, y)
    assert not model.converged_ and model.history_.stop_reason == "max_iter"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(alpha=1e-2, tol=1e-6, max_iter=5000).fit(X, y)
    assert model.converged_ and model.history_.stop_reason == "tol"
    assert model.n_iter_ == len(model.history_) < 5000


def descend_convergence_warning():
    from sklearn.exceptions import ConvergenceWarning
    return ConvergenceWarning


@pytest.mark.parametrize("batch_size", [None, 1, 4])
def test_divergence_stops_and_keeps_last_finite_coefficients(batch_size):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)) * 10
    y = X @ [1.0, 2.0, 3.0]
    model = LinearRegression(eta0=10.0, batch_size=batch_size, tol=None, max_iter=500)
    with pytest.raises(descend.DivergenceError, match=r"epoch #\d+: the fit diverged.*eta0"):
        model.fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    assert model.history_.stop_reason == "diverged"
    assert model.n_iter_ == len(model.history_)
    assert np.all(np.isfinite(model.history_["objective"]))


def test_verbose_prints_one_line_per_epoch(capsys, breast_cancer):
    X, y = breast_cancer
    LogisticRegression(optimizer="sgd", verbose=1, tol=None, max_iter=4).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("epoch     1  objective 0.69314718")
    assert all("lr" in line and "seconds" in line for line in lines)


def test_large_mini_batches_split_across_threads_match_hand_loop():
    """Batches of >= 2^17 multiply-adds are reduced by several threads."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((9000, 40))
    y = X @ rng.standard_normal(40)
    B, eta = 4000, 0.1
    assert B * 40 >= 1 << 17
    fits = [LinearRegression(alpha=0.0, eta0=eta, batch_size=B, shuffle=False, tol=None,
                             max_iter=2, n_jobs=j).fit(X, y) for j in (1, 2)]
    w, b = np.zeros(40), 0.0
    for _ in range(2):
        for s in range(0, 9000, B):
            r = X[s:s + B] @ w + b - y[s:s + B]
            w, b = w - eta * X[s:s + B].T @ r / len(r), b - eta * r.mean()
    for fit in fits:
        np.testing.assert_allclose(fit.coef_, w, rtol=1e-11)


def test_objective_is_exact_with_unit_mixed_and_zero_weights(breast_cancer):
    """Unit-weight rows share one log per block; others use their own."""
    X, y = breast_cancer
    rng = np.random.default_rng(4)
    for sw in (None, rng.uniform(0.5, 2.0, len(y)),
               np.where(np.arange(len(y)) % 3 == 0, 2.5, 1.0),
               np.where(np.arange(len(y)) % 4 == 0, 0.0, 1.0)):
        model = LogisticRegression(alpha=1e-3, eta0=0.5, tol=None, max_iter=2)
        model.fit(X, y, sample_weight=sw)
        one = LogisticRegression(alpha=1e-3, eta0=0.5, tol=None, max_iter=1)
        one.fit(X, y, sample_weight=sw)
        expected = binary_objective(X, y, one.coef_, one.intercept_, 1e-3, sw)
        assert model.history_["objective"][1] == pytest.approx(expected, rel=1e-13)


def test_baseline_and_avx2_kernel_builds_agree():
    """Both builds of the kernels are importable and agree up to rounding
    (FMA contracts multiply-adds, so the last bits may differ)."""
    import subprocess
    import sys

    code = ("import numpy as np, descend, descend._engine as e\n"
            "rng = np.random.default_rng(0); X = rng.standard_normal((3000, 13))\n"
            "y = (X[:, 0] + rng.standard_normal(3000) > 0).astype(int)\n"
            "m = descend.LogisticRegression(optimizer='sgd', tol=None, max_iter=50).fit(X, y)\n"
            "print(e.ISA, *m.coef_.ravel(), *m.intercept_)\n")
    results = {}
    for kernels in ("baseline", "auto"):
        env = {**__import__("os").environ, "DESCEND_KERNELS": kernels}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        results[kernels] = (out[0], np.array(out[1:], dtype=float))
    assert results["baseline"][0] == "baseline"
    from descend._engine import _runtime
    assert results["auto"][0] == ("avx2" if _runtime.cpu_has_avx2_fma() else "baseline")
    np.testing.assert_allclose(results["auto"][1], results["baseline"][1], rtol=1e-12)


def test_a_finite_blow_up_is_divergence_not_convergence(diabetes):
    """eta0 = 100 on diabetes grows the objective to ~1e29 while it is still
    finite; the fit must not stop as 'converged' there."""
    X, y = diabetes
    model = LinearRegression(eta0=100.0)
    with pytest.raises(descend.DivergenceError, match="1e10-fold"):
        model.fit(X, y)
    assert model.history_.stop_reason == "diverged" and not model.converged_
    objective = model.history_["objective"]
    assert objective[-1] < 1e10 * objective.min()
    np.testing.assert_allclose(model.predict(X[:3]), X[:3] @ model.coef_ + model.intercept_)


def test_stopping_on_a_rising_objective_warns(breast_cancer):
    """Nesterov with eta0=3 overshoots: the exact full-batch objective rises
    after a few epochs and the tol rule stops the fit far above its best."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = breast_cancer
    model = LogisticRegression(optimizer="nesterov", eta0=3.0, alpha=1e-3,
                               stopping="no_improvement")
    with pytest.warns(ConvergenceWarning, match="above the best epoch"):
        model.fit(X, y)
    objective = model.history_["objective"]
    assert model.history_.stop_reason == "no_improvement" and objective[-1] > objective.min()
    # a well-chosen step stops on tol without that warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(alpha=1e-3, tol=1e-6, max_iter=5000).fit(X, y)


def test_verbose_two_shows_a_progress_bar_with_the_objective(monkeypatch, capsys, breast_cancer):
    """verbose=2 drives tqdm (a stand-in module here: tqdm is an optional
    extra) once per block of epochs; without tqdm it prints the lines."""
    import sys
    import types

    bars = []

    class FakeBar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.postfix, self.closed = total, 0, None, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def set_postfix(self, refresh=True, **values):
            self.postfix = values

        def close(self):
            self.closed = True

    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    X, y = breast_cancer
    model = LogisticRegression(verbose=2, tol=None, max_iter=30).fit(X, y)
    (bar,) = bars
    # Newton's method may reach working precision before max_iter
    assert bar.total == 30 and bar.n == model.n_iter_ and bar.closed
    assert float(bar.postfix["objective"]) == pytest.approx(model.history_["objective"][-1], rel=1e-5)
    assert capsys.readouterr().out == ""
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm missing: lines
    LogisticRegression(verbose=2, tol=None, max_iter=3).fit(X, y)
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("config", [
    dict(), dict(alpha=0.3, eta0=4.0), dict(clip_norm=0.05), dict(learning_rate="invscaling"),
    dict(learning_rate="optimal", alpha=1e-3), dict(fit_intercept=False),
    dict(sample_weight=True)], ids=repr)
def test_fused_per_sample_path_equals_the_general_path(monkeypatch, sparse, config):
    """The kernels' fused per-sample sgd path (one output, no L1, no
    averaging) gives the general lazy path's results bit for bit, on dense
    and CSR rows, including eta * alpha > 1 (the decay clamped at 0)."""
    import scipy.sparse as sp

    from descend import _solver

    config = dict(config)
    X, y = _problem(n=300, p=9)
    X[np.abs(X) < 0.7] = 0.0
    if sparse:
        X = sp.csr_matrix(X)
    sw = np.random.default_rng(1).uniform(0.2, 3.0, len(y)) if config.pop("sample_weight", False) else None
    kwargs = {**dict(batch_size=1, eta0=0.05, alpha=1e-3, tol=None, max_iter=3,
                     random_state=0, n_jobs=1), **config}
    fused = LogisticRegression(**kwargs).fit(X, y, sample_weight=sw)
    monkeypatch.setattr(_solver, "FUSED_PATHS", False)
    general = LogisticRegression(**kwargs).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(fused.coef_, general.coef_)
    np.testing.assert_array_equal(fused.intercept_, general.intercept_)
    np.testing.assert_array_equal(fused.history_["objective"], general.history_["objective"])
