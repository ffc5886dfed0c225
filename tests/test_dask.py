"""descend.dask on a distributed.LocalCluster of 2 worker processes (one
thread each): mode "exact" equals the in-memory fit, mode "local_sgd"
reaches the optimum's neighbourhood, dense and CSR chunks, DataFrames,
lazy predictions, partial_fit, a worker killed mid-fit, an interrupt, the
client's memory, and the errors."""
import _thread
import gc
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_expit
from sklearn.exceptions import ConvergenceWarning

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
psutil = pytest.importorskip("psutil")

import descend  # noqa: E402
import descend.dask as ddk  # noqa: E402

N, P, CHUNK = 20_000, 20, 2_500  # 8 chunks


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def make_data(kind, seed=0):
    """Standardised-ish features with a shift and varied scales, and targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, P)) * rng.uniform(0.5, 2.0, P) + rng.uniform(-1, 1, P)
    w = rng.standard_normal(P) / np.sqrt(P)
    z = X @ w + 0.3
    if kind == "regression":
        y = z + 0.5 * rng.standard_normal(N)
    elif kind == "binary":
        y = (z + 0.5 * rng.standard_normal(N) > 0).astype(np.float64)
    else:  # three classes, string labels
        W = rng.standard_normal((3, P)) / np.sqrt(P)
        scores = X @ W.T + rng.gumbel(size=(N, 3))
        y = np.array(["ant", "bee", "cat"])[scores.argmax(axis=1)]
    return X, y


def as_dask(X, y, sparse=False):
    Xd = da.from_array(X, chunks=(CHUNK, P))
    if sparse:
        Xd = Xd.map_blocks(sp.csr_matrix, meta=sp.csr_matrix((0, P)))
    return Xd, da.from_array(y, chunks=CHUNK)


def sparsify(X):
    """Zero most entries (so CSR chunks are really sparse)."""
    Xs = X.copy()
    Xs[np.abs(Xs) < 1.0] = 0.0
    return Xs


EXACT_CASES = {
    # explicit lbfgs: the same method's iterates on both sides (auto runs
    # Newton's method on dense chunks: test_exact_newton_*)
    "logistic-binary": (ddk.LogisticRegression, descend.LogisticRegression, "binary",
                        dict(alpha=1e-3, optimizer="lbfgs"), {}),
    "logistic-multinomial": (ddk.LogisticRegression, descend.LogisticRegression, "multi",
                             dict(alpha=1e-3), {}),
    "linear-ridge": (ddk.LinearRegression, descend.LinearRegression, "regression",
                     dict(alpha=1e-2, optimizer="lbfgs"), {}),
    "logistic-scaled-l1": (ddk.LogisticRegression, descend.LogisticRegression, "binary",
                           dict(alpha=1e-2, penalty="elasticnet", l1_ratio=0.5,
                                scale_features=True), {}),
    # the SGD estimators' mode "exact" runs full-batch L-BFGS: in memory, that is
    # batch_size=None, optimizer="lbfgs", stopping="gap"
    "sgd-classifier-ovr": (ddk.SGDClassifier, descend.SGDClassifier, "multi",
                           dict(loss="log_loss", alpha=1e-3, stopping="gap"),
                           dict(batch_size=None, optimizer="lbfgs")),
    "sgd-regressor-huber": (ddk.SGDRegressor, descend.SGDRegressor, "regression",
                            dict(loss="huber", epsilon=1.0, alpha=1e-3, stopping="gap"),
                            dict(batch_size=None, optimizer="lbfgs")),
}


#: every case on dense chunks, three of them on CSR chunks too (CI time)
EXACT_RUNS = [(case, False) for case in EXACT_CASES] + [
    (case, True) for case in ("logistic-binary", "linear-ridge", "sgd-classifier-ovr")]


@pytest.mark.parametrize("case, sparse", EXACT_RUNS,
                         ids=[f"{case}-{'csr' if s else 'dense'}" for case, s in EXACT_RUNS])
def test_exact_equals_the_in_memory_fit(client, case, sparse):
    dask_cls, memory_cls, kind, params, memory_only = EXACT_CASES[case]
    X, y = make_data(kind)
    if sparse:
        X = sparsify(X)
    params = dict(params, tol=1e-10, max_iter=500)
    reference = memory_cls(**params, **memory_only).fit(sp.csr_matrix(X) if sparse else X, y)
    model = dask_cls(**params).fit(*as_dask(X, y, sparse))
    assert model.converged_ and model.history_.stop_reason == "tol"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-8)
    # the same certificate, per iteration
    assert model.history_["gap"][-1] <= 1e-10
    np.testing.assert_allclose(model.history_["objective"][-1],
                               reference.history_["objective"][-1], rtol=1e-12)
    if kind != "regression":
        np.testing.assert_array_equal(model.classes_, reference.classes_)


def test_exact_on_float32_chunks_gives_float32_coefficients(client):
    X, y = make_data("binary")
    X32 = X.astype(np.float32)
    reference = descend.LogisticRegression(alpha=1e-3, tol=1e-8, optimizer="lbfgs").fit(X32, y)
    model = ddk.LogisticRegression(alpha=1e-3, tol=1e-8, optimizer="lbfgs").fit(*as_dask(X32, y))
    assert model.coef_.dtype == np.float32
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-5)


def test_sample_weights_and_balanced_class_weights_equal_the_in_memory_fit(client):
    X, y = make_data("multi")
    sw = np.random.default_rng(1).uniform(0.0, 2.0, N)
    params = dict(alpha=1e-3, class_weight="balanced", tol=1e-10)
    reference = descend.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    Xd, yd = as_dask(X, y)
    model = ddk.LogisticRegression(**params).fit(Xd, yd,
                                                 sample_weight=da.from_array(sw, chunks=CHUNK))
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-8)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-8)


def test_a_diverging_local_fit_raises_and_keeps_the_last_average(client):
    X, y = make_data("binary")
    model = ddk.LogisticRegression(alpha=1e-3, mode="local_sgd", batch_size=32,
                                   optimizer="sgd", eta0=1e8, tol=None, max_iter=5)
    with pytest.raises(descend.DivergenceError, match="Local SGD diverged in round 1"):
        model.fit(*as_dask(X, y))
    assert np.all(np.isfinite(model.coef_)) and model.history_.stop_reason == "diverged"


def test_dataframe_input_keeps_feature_names_and_predicts_lazily(client):
    X, y = make_data("binary")
    columns = [f"f{j}" for j in range(P)]
    frame = pd.DataFrame(X, columns=columns)
    frame["target"] = y
    ddf = dd.from_pandas(frame, npartitions=6)
    model = ddk.LogisticRegression(alpha=1e-3, tol=1e-10, optimizer="lbfgs").fit(ddf[columns], ddf["target"])
    reference = descend.LogisticRegression(alpha=1e-3, tol=1e-10, optimizer="lbfgs").fit(
        frame[columns], y)
    np.testing.assert_array_equal(model.feature_names_in_, columns)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-8)
    proba = model.predict_proba(ddf[columns])
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), reference.predict_proba(frame[columns]),
                               atol=1e-10)


def test_predictions_on_dask_input_are_lazy_dask_arrays(client):
    X, y = make_data("multi")
    Xd, yd = as_dask(X, y)
    model = ddk.SGDClassifier(loss="log_loss", alpha=1e-3, stopping="gap", tol=1e-6,
                              max_iter=200).fit(Xd, yd)
    for name in ("predict", "decision_function", "predict_proba", "predict_log_proba"):
        lazy = getattr(model, name)(Xd)
        assert isinstance(lazy, da.Array), name
        # the workers' predictions equal the in-memory model's
        np.testing.assert_array_equal(lazy.compute(), getattr(model, name)(X))
    hinge = ddk.SGDClassifier(alpha=1e-3, mode="local_sgd", max_iter=2, tol=None).fit(Xd, yd)
    assert not hasattr(hinge, "predict_proba")  # as the parent: no probabilities for hinge
    regressor = ddk.LinearRegression(alpha=1e-2).fit(*as_dask(*make_data("regression")))
    assert regressor.predict(Xd).shape == (N,)


def logistic_objective(X, y, coef, intercept, alpha):
    z = X @ coef.ravel() + intercept[0]
    return float(np.mean(-log_expit(np.where(y > 0, z, -z)))) + 0.5 * alpha * float(
        coef.ravel() @ coef.ravel())


def test_local_sgd_reaches_one_percent_of_the_optimum(client):
    X, y = make_data("binary")
    alpha = 1e-3
    optimum = descend.LogisticRegression(alpha=alpha, tol=1e-10).fit(X, y)
    f_star = logistic_objective(X, y, optimum.coef_, optimum.intercept_, alpha)
    model = ddk.LogisticRegression(alpha=alpha, mode="local_sgd", batch_size=16,
                                   optimizer="momentum", average_every=2, max_iter=10,
                                   tol=None, random_state=0)
    model.fit(*as_dask(X, y))
    f = logistic_objective(X, y, model.coef_, model.intercept_, alpha)
    assert f <= 1.01 * f_star
    # one history row per averaging round
    assert len(model.history_) == 5 and list(model.history_["epoch"]) == [2, 4, 6, 8, 10]
    assert model.n_iter_ == 10 and np.isnan(model.history_["gap"]).all()
    # stopping="gap": a certificate pass per round (the exact objective and a
    # duality gap; the gap of an SGD iterate is far looser than its suboptimality)
    with pytest.warns(ConvergenceWarning, match="last certified relative gap"):
        certified = ddk.LogisticRegression(
            alpha=alpha, mode="local_sgd", batch_size=16, optimizer="momentum",
            average_every=2, max_iter=4, tol=1e-9, random_state=0).fit(*as_dask(X, y))
    f = logistic_objective(X, y, certified.coef_, certified.intercept_, alpha)
    np.testing.assert_allclose(certified.history_["objective"][-1], f, rtol=1e-10)
    gap = certified.history_["gap"]
    assert np.isfinite(gap[-1]) and gap[-1] >= (f - f_star) / f_star


def test_local_sgd_sgd_regressor_and_ovr_classifier(client):
    X, y = make_data("regression")
    Xd, yd = as_dask(X, y)
    optimum = descend.SGDRegressor(alpha=1e-3, batch_size=None, optimizer="lbfgs",
                                   stopping="gap", tol=1e-10).fit(X, y)
    # scikit-learn's defaults: per-sample SGD, invscaling, no_improvement
    model = ddk.SGDRegressor(alpha=1e-3, mode="local_sgd", max_iter=20, random_state=0,
                             average=True).fit(Xd, yd)
    assert model.history_.stop_reason == "no_improvement"
    residual = X @ model.coef_ + model.intercept_ - y
    f = 0.5 * np.mean(residual ** 2) + 0.5e-3 * model.coef_ @ model.coef_
    assert f <= 1.01 * optimum.history_["objective"][-1]
    Xm, ym = make_data("multi")
    ovr = ddk.SGDClassifier(loss="log_loss", alpha=1e-3, mode="local_sgd", batch_size=16,
                            learning_rate="constant", eta0=0.05, average=True,
                            stopping="gap", tol=1e-9, max_iter=10, random_state=0)
    with pytest.warns(ConvergenceWarning):  # tol=1e-9: a certificate every round
        ovr.fit(*as_dask(Xm, ym))
    optimum = descend.SGDClassifier(loss="log_loss", alpha=1e-3, batch_size=None,
                                    optimizer="lbfgs", stopping="gap", tol=1e-10).fit(Xm, ym)
    assert ovr.coef_.shape == (3, P)
    # the one-vs-rest objective: the sum of the classes' (exact, certified each round)
    assert ovr.history_["objective"][-1] <= 1.01 * optimum.history_["objective"][-1]


def test_local_sgd_is_reproducible_and_independent_of_placement(client):
    X, y = make_data("binary")
    params = dict(alpha=1e-3, mode="local_sgd", batch_size=64, max_iter=4,
                  average_every=2, random_state=3, tol=None)
    a = ddk.LogisticRegression(**params).fit(*as_dask(X, y))
    b = ddk.LogisticRegression(**params).fit(*as_dask(X, y))
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_partial_fit_on_dask_arrays(client):
    X, y = make_data("multi")
    Xd, yd = as_dask(X, y)
    model = ddk.LogisticRegression(alpha=1e-3, batch_size=64, optimizer="sgd", eta0=0.05)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(Xd, yd)
    objectives = []
    for _ in range(3):
        model.partial_fit(Xd, yd, classes=["ant", "bee", "cat"])
        objectives.append(model.history_["objective"][-1])
    assert len(model.history_) == 3 and model.n_iter_ == 3
    assert objectives[-1] < objectives[0]
    np.testing.assert_array_equal(model.classes_, ["ant", "bee", "cat"])
    with pytest.raises(ValueError, match="y has labels not in classes_"):
        model.partial_fit(Xd, da.from_array(np.where(y == "ant", "ape", y), chunks=CHUNK))
    regressor = ddk.SGDRegressor(alpha=1e-3, random_state=0)
    Xr, yr = make_data("regression")
    regressor.partial_fit(*as_dask(Xr, yr)).partial_fit(*as_dask(Xr, yr))
    assert regressor.n_iter_ == 2 and regressor.coef_.shape == (P,)


def test_numpy_input_is_the_parent_fit(client):
    X, y = make_data("binary")
    np.testing.assert_array_equal(ddk.LogisticRegression(alpha=1e-3).fit(X, y).coef_,
                                  descend.LogisticRegression(alpha=1e-3).fit(X, y).coef_)
    model = ddk.LogisticRegression(alpha=1e-3, mode="local_sgd", batch_size=64,
                                   max_iter=2, tol=None).fit(*as_dask(X, y))
    assert isinstance(model.predict(X), np.ndarray)


def test_rounds_record_compute_communication_and_small_traffic(client):
    X, y = make_data("binary")
    model = ddk.LogisticRegression(alpha=1e-3, tol=1e-8, optimizer="lbfgs").fit(*as_dask(X, y))
    rounds = model.rounds_
    frame = rounds.to_frame()
    assert list(frame.columns) == rounds.columns
    # the setup round (weights, moments and the first pass at zero), then one
    # round per pass of the iterations (history_'s "updates")
    assert len(rounds) == 1 + int(model.history_["updates"][-1])
    assert list(rounds["kind"]) == [2] + [0] * (len(rounds) - 1)
    np.testing.assert_allclose(rounds["compute_seconds"] + rounds["communication_seconds"],
                               rounds["wall_seconds"], atol=1e-12)
    assert np.all(rounds["compute_seconds"] > 0)
    # O(n_features) per round: far below the data's 3.2 MB
    assert rounds["client_bytes"].max() < 64 * (P + 1) * 8 * 8


def test_many_chunks_reduce_on_the_workers_to_the_same_bits(client, monkeypatch):
    from descend._dask import _rounds

    X, y = make_data("binary")
    grouped = ddk.LogisticRegression(alpha=1e-3, tol=1e-10).fit(*as_dask(X, y))
    monkeypatch.setattr(_rounds, "GATHER_CHUNKS", 4)  # 8 chunks: a task each, a tree
    tree = ddk.LogisticRegression(alpha=1e-3, tol=1e-10).fit(*as_dask(X, y))
    np.testing.assert_array_equal(tree.coef_, grouped.coef_)
    np.testing.assert_array_equal(tree.history_["objective"], grouped.history_["objective"])


def worker_pids(client):
    return client.run(os.getpid)


def test_a_worker_killed_mid_fit_does_not_hang_the_fit(client):
    X, y = make_data("binary")
    reference = descend.LogisticRegression(alpha=1e-3, tol=1e-10, optimizer="lbfgs").fit(X, y)
    killed = []

    def kill_one(record):
        if record["epoch"] == 2 and not killed:
            address, pid = sorted(worker_pids(client).items())[0]
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    outcome = {}

    def fit():
        try:
            outcome["model"] = ddk.LogisticRegression(
                alpha=1e-3, tol=1e-10, optimizer="lbfgs", callback=kill_one,
                round_timeout=60).fit(
                *as_dask(X, y))
        except Exception as exc:  # a clear error is acceptable, a hang is not
            outcome["error"] = exc

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    thread.join(90)
    assert not thread.is_alive(), "the fit hung after a worker was killed"
    assert killed
    if "error" in outcome:
        assert "worker" in str(outcome["error"]).lower(), outcome["error"]
    else:  # Dask recomputed the lost chunks and the fit went on to the same optimum
        np.testing.assert_allclose(outcome["model"].coef_, reference.coef_, atol=1e-8)
        assert len(outcome["model"].history_) > 2
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in worker_pids(client).values()  # it died (and was replaced)


def test_lost_data_that_cannot_be_recomputed_stops_the_fit_with_a_clear_error(client):
    X, y = make_data("binary")
    # blocks put on the workers by hand: no graph to recompute them from
    xs = client.scatter([X[i:i + CHUNK] for i in range(0, N, CHUNK)])
    ys = client.scatter([y[i:i + CHUNK] for i in range(0, N, CHUNK)])
    Xd = da.concatenate([da.from_delayed(f, shape=(CHUNK, P), dtype=float) for f in xs])
    yd = da.concatenate([da.from_delayed(f, shape=(CHUNK,), dtype=float) for f in ys])

    def kill_one(record):
        if record["epoch"] == 2:
            os.kill(sorted(worker_pids(client).items())[0][1], signal.SIGKILL)

    model = ddk.LogisticRegression(alpha=1e-3, tol=1e-10, callback=kill_one)
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="lost and cannot be recomputed"):
        model.fit(Xd, yd)
    assert time.perf_counter() - start < 60
    assert model.history_.stop_reason == "failed" and len(model.history_) >= 2
    assert np.all(np.isfinite(model.coef_)) and np.any(model.coef_ != 0)
    del xs, ys, Xd, yd
    client.wait_for_workers(2, timeout=60)


def test_ctrl_c_on_the_client_stops_the_fit_and_keeps_its_coefficients(client):
    X, y = make_data("binary")

    def interrupt(record):
        if record["epoch"] == 2:
            _thread.interrupt_main()  # what Ctrl-C does
        time.sleep(0.5)  # the interrupt lands while the fit runs

    model = ddk.LogisticRegression(alpha=1e-3, tol=1e-12, callback=interrupt)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        model.fit(*as_dask(X, y))
    assert time.perf_counter() - start < 30
    assert model.history_.stop_reason == "interrupted"
    assert 2 <= len(model.history_) <= 4
    assert np.all(np.isfinite(model.coef_)) and np.any(model.coef_ != 0)
    stopped = ddk.LogisticRegression(alpha=1e-3, tol=1e-12,
                                     callback=lambda r: r["epoch"] == 3).fit(*as_dask(X, y))
    assert stopped.history_.stop_reason == "callback" and len(stopped.history_) == 3


def test_client_memory_stays_small_while_fitting_generated_data(client):
    # 1,600,000 x 20 float64 = 256 MB, generated on the workers, labels too
    n, p, chunk = 1_600_000, 20, 200_000
    w = np.linspace(-1.0, 1.0, p)
    X = da.random.RandomState(0).standard_normal((n, p), chunks=(chunk, p))
    y = X.map_blocks(lambda b: (b @ w > 0).astype(np.float64), drop_axis=1, dtype=np.float64)
    process = psutil.Process()
    ddk.LogisticRegression(alpha=1e-2, tol=1e-3).fit(*as_dask(*make_data("binary")))  # warm
    gc.collect()
    baseline = process.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    model = ddk.LogisticRegression(alpha=1e-2, tol=1e-6).fit(X, y)
    done.set()
    sampler.join()
    assert model.converged_
    growth = (peak[0] - baseline) / 2**20
    print(f"client RSS growth {growth:.1f} MB")
    assert growth < 50, f"the client's memory grew by {growth:.0f} MB (data: 256 MB)"


def test_errors_name_the_argument(client):
    X, y = make_data("binary")
    Xd, yd = as_dask(X, y)
    with pytest.raises(ValueError, match="'mode' parameter"):
        ddk.LogisticRegression(mode="fast").fit(Xd, yd)
    with pytest.raises(ValueError, match="'average_every' parameter"):
        ddk.LogisticRegression(average_every=0).fit(Xd, yd)
    with pytest.raises(ValueError, match="early_stopping"):
        ddk.SGDClassifier(early_stopping=True).fit(Xd, yd)
    with pytest.raises(ValueError, match="batch_size=None would run 'lbfgs'"):
        ddk.LogisticRegression(mode="local_sgd").fit(Xd, yd)
    # y with other (known) chunks is rechunked like X; with other partitions, an error
    ddk.LogisticRegression(alpha=1e-2, tol=1e-3).fit(Xd, da.from_array(y, chunks=8000))
    with pytest.raises(ValueError, match="y has 3 blocks"):
        ddk.LogisticRegression().fit(Xd, dd.from_pandas(pd.Series(y), npartitions=3))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ddk.LogisticRegression().fit(Xd, da.from_array(y[:-5], chunks=CHUNK))
    bad = X.copy()
    bad[N - 3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ddk.LogisticRegression().fit(da.from_array(bad, chunks=(CHUNK, P)), yd)
    with pytest.raises(ValueError, match="only one class"):
        ddk.LogisticRegression().fit(Xd, da.zeros(N, chunks=CHUNK))
    model = ddk.LogisticRegression(alpha=1e-3).fit(Xd, yd)
    with pytest.raises(ValueError, match="X has 5 features"):
        model.predict(da.from_array(X[:, :5], chunks=(CHUNK, 5)))


def test_no_client_is_a_clear_error(monkeypatch):
    X, y = make_data("binary")
    Xd, yd = as_dask(X, y)

    def no_client(*args, **kwargs):
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed.Client, "current", no_client)
    with pytest.raises(ValueError, match="no Client is running"):
        ddk.LogisticRegression().fit(Xd, yd)


def test_the_dask_benchmark_runs_quick():
    """benchmarks/dask_compare.py --quick (its own cluster), so it cannot rot."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "dask_compare.py"
    result = subprocess.run([sys.executable, str(script), "--quick", "--repeats", "1",
                             "--solvers", "lbfgs"], capture_output=True, text=True,
                            timeout=240, cwd=script.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| descend.dask exact |" in result.stdout
    assert "descend.dask exact / descend in memory" in result.stdout


def test_estimator_protocol(client):
    from sklearn.base import clone

    model = ddk.SGDClassifier(loss="log_loss", mode="local_sgd", average_every=3)
    assert clone(model).get_params() == model.get_params()
    assert "average_every=3" in repr(model)
    X, y = make_data("binary")
    model.set_params(max_iter=3, tol=None).fit(*as_dask(X, y))
    restored = pickle.loads(pickle.dumps(model))  # no futures or client kept
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    doc = ddk.LogisticRegression.__doc__
    for name in ("mode :", "average_every :", "round_timeout :", "rounds_ :", "alpha :"):
        assert name in doc


def _spy_newton(monkeypatch):
    """A list that grows by one for each ClusterCurvature (a Newton fit) built."""
    from descend._dask import _exact

    built = []

    class Spy(_exact.ClusterCurvature):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(_exact, "ClusterCurvature", Spy)
    return built


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_exact_runs_newton_on_dense_chunks_and_reaches_the_optimum(client, monkeypatch, kind):
    """Mode "exact" picks what the in-memory "auto" picks: Newton's method
    on dense L2-penalised single-output data. The chunks' Gram matrices
    come back in the round of each pass (an iteration is one round), and
    the fit reaches the in-memory fit's optimum (both certified to 1e-13)
    to 1e-8, in fewer rounds than L-BFGS takes."""
    built = _spy_newton(monkeypatch)
    X, y = make_data(kind)
    dask_cls, memory_cls, alpha = ((ddk.LogisticRegression, descend.LogisticRegression, 1e-3)
                                   if kind == "binary" else
                                   (ddk.LinearRegression, descend.LinearRegression, 1e-2))
    reference = memory_cls(alpha=alpha, tol=1e-13, max_iter=500).fit(X, y)
    newton = dask_cls(alpha=alpha, tol=1e-13, max_iter=500).fit(*as_dask(X, y))
    assert built == [1]
    assert newton.converged_ and newton.history_["gap"][-1] <= 1e-13
    # (the squared loss: a certified 1e-13 leaves each fit ~2e-8 from the
    # closed-form solution, in memory too, so the two agree to 1e-7; both
    # are held to the closed form)
    atol = 1e-8 if kind == "binary" else 1e-7
    np.testing.assert_allclose(newton.coef_, reference.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(newton.intercept_, reference.intercept_, rtol=0, atol=atol)
    if kind == "regression":
        A = np.column_stack([X, np.ones(len(y))])
        penalty = np.diag([alpha] * X.shape[1] + [0.0])
        exact = np.linalg.solve(A.T @ A / len(y) + penalty, A.T @ y / len(y))
        np.testing.assert_allclose(np.append(newton.coef_, newton.intercept_), exact,
                                   rtol=0, atol=1e-7)
    np.testing.assert_allclose(newton.history_["objective"][-1],
                               reference.history_["objective"][-1], rtol=1e-12)
    # the setup round, the start's Gram matrix, a round per pass, and at
    # most a few of the curvature bound's (a maximum over the Hessian's rows)
    passes = int(newton.history_["updates"][-1])
    assert 2 + passes <= len(newton.rounds_) <= 2 + passes + 3
    lbfgs = dask_cls(alpha=alpha, tol=1e-13, max_iter=500, optimizer="lbfgs").fit(
        *as_dask(X, y))
    assert built == [1] and len(newton.rounds_) < len(lbfgs.rounds_)


def test_exact_runs_lbfgs_on_csr_chunks_and_newton_asked_for_there_is_refused(
        client, monkeypatch):
    """Newton's dense Hessian does not apply to sparse data (in memory
    neither): "auto" runs L-BFGS on CSR chunks, and optimizer="newton"
    is refused with the reason."""
    built = _spy_newton(monkeypatch)
    X, y = make_data("binary")
    X = sparsify(X)
    model = ddk.LogisticRegression(alpha=1e-3, tol=1e-8).fit(*as_dask(X, y, True))
    assert built == [] and model.converged_
    with pytest.raises(ValueError, match="optimizer='newton'.*sparse"):
        ddk.LogisticRegression(alpha=1e-3, optimizer="newton").fit(*as_dask(X, y, True))
