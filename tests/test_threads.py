"""Threads and determinism (RELIABILITY.md, "Threads").

Fits running in several Python threads at once give the same bits as the
same fits alone (no fit changes process-wide state: no BLAS or OpenMP
limit is set during a fit); the same random_state with n_jobs=1 gives the
same bits in another process; n_jobs=-1, OMP_NUM_THREADS and threadpoolctl
limits decide the OpenMP team.
"""
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import descend
from descend._validation import resolve_n_threads


def _data():
    rng = np.random.default_rng(7)
    # 120 features: OpenBLAS splits the step estimate's Gram product over
    # its threads, so its bits depend on the BLAS thread count
    X = rng.standard_normal((6000, 120)) * np.logspace(-1, 1, 120)
    z = X @ rng.standard_normal(120) / 10
    Xs = sp.random(3000, 400, density=0.03, format="csr", random_state=3)
    zs = np.asarray(Xs @ rng.standard_normal(400)).ravel()
    return X, z, Xs, zs


# eta0="auto" (the step estimate: an eigenvalue via BLAS), saga, L-BFGS,
# one-vs-rest in threads, CSR mini-batches, n_jobs=1 and n_jobs=2
CONFIGS = [
    ("SGDRegressor", "dense", dict(random_state=0, max_iter=30, tol=None, n_jobs=1,
                                   eta0="auto")),
    ("SGDRegressor", "dense", dict(random_state=1, max_iter=20, tol=None, n_jobs=2,
                                   batch_size=64, eta0="auto")),
    ("SGDClassifier", "dense", dict(random_state=2, max_iter=20, tol=None, n_jobs=1,
                                    eta0="auto", learning_rate="constant")),
    ("SGDClassifier", "csr", dict(random_state=3, max_iter=20, tol=None, batch_size=32,
                                  n_jobs=1)),
    ("LinearRegression", "dense", dict(alpha=1e-3)),
    ("LinearRegression", "csr", dict(optimizer="saga", batch_size=1, random_state=4,
                                     alpha=1e-3, n_jobs=1)),
    ("LogisticRegression", "dense", dict()),
    ("LogisticRegression", "csr", dict(n_jobs=2)),
]


def _fit(config, data):
    name, layout, params = config
    X, z, Xs, zs = data
    if layout == "dense":
        features, target = X, z
    else:
        features, target = Xs, zs
    if name in ("SGDClassifier", "LogisticRegression"):
        target = np.digitize(target, np.quantile(target, [0.3, 0.7]))
    est = getattr(descend, name)(**params).fit(features, target)
    return _digest(est)


def _digest(est):
    h = hashlib.sha256()
    for a in (est.coef_, est.intercept_):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(str(est.n_iter_).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def alone(data):
    return [_fit(c, data) for c in CONFIGS]


def test_concurrent_fits_give_the_bits_of_lone_fits(data, alone):
    jobs = [c for c in range(len(CONFIGS)) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda c: _fit(CONFIGS[c], data), jobs))
    for c, digest in zip(jobs, together):
        assert digest == alone[c], CONFIGS[c]


def test_a_fit_leaves_blas_and_openmp_limits_as_they_were(data):
    from threadpoolctl import threadpool_info
    before = [(m["internal_api"], m["num_threads"]) for m in threadpool_info()]
    _fit(CONFIGS[0], data)
    after = [(m["internal_api"], m["num_threads"]) for m in threadpool_info()]
    assert before == after


def test_same_seed_same_bits_in_another_process(alone):
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import test_threads as t; d = t._data();"
        "print(json.dumps([t._fit(c, d) for c in t.CONFIGS if c[2].get('n_jobs') == 1]))")
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", code, here], capture_output=True,
                         text=True, timeout=300, check=True)
    expected = [d for c, d in zip(CONFIGS, alone) if c[2].get("n_jobs") == 1]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected


def test_n_jobs_follows_openmp_and_threadpoolctl_limits():
    available = resolve_n_threads(None)
    assert resolve_n_threads(-1) == available
    assert resolve_n_threads(-2) == max(1, available - 1)
    with threadpool_limits(limits=1, user_api="openmp"):
        assert resolve_n_threads(None) == 1
        assert resolve_n_threads(-1) == 1
    assert resolve_n_threads(None) == available
    code = ("from descend._validation import resolve_n_threads;"
            "print(resolve_n_threads(None), resolve_n_threads(-1))")
    env = dict(os.environ, OMP_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    assert out.stdout.split() == ["3", "3"]


def test_a_limited_fit_equals_an_n_jobs_1_fit(data):
    # the full-batch passes are chunked by the data's shape alone: the team
    # size never changes the bits
    config = ("LogisticRegression", "dense", dict())
    with threadpool_limits(limits=1, user_api="openmp"):
        limited = _fit(config, data)
    assert limited == _fit(("LogisticRegression", "dense", dict(n_jobs=1)), data)
    assert limited == _fit(config, data)


def test_concurrent_step_estimates_give_the_bits_of_lone_ones(data):
    # many short fits whose time is mostly the eta0="auto" estimate (a Gram
    # product in BLAS): the race a process-wide BLAS limit would lose
    config = ("SGDRegressor", "dense", dict(random_state=0, max_iter=1, tol=None,
                                            n_jobs=1, eta0="auto"))
    lone = _fit(config, data)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda _: _fit(config, data), range(24)))
    assert together == [lone] * 24


def test_concurrent_fits_share_the_openmp_threads(monkeypatch, data):
    # two fits in two Python threads at once, n_jobs not given: the second
    # takes half the team, so the two never start two full teams on the
    # same cores; an explicit n_jobs is used as given
    import threading

    from descend import _solver

    available = resolve_n_threads(None)
    seen, barrier = [], threading.Barrier(2, timeout=60)
    real = _solver.solve

    def spy(problem, settings, **kwargs):
        seen.append(settings.n_threads)
        barrier.wait()  # both fits are inside solve_all before either ends
        return real(problem, settings, **kwargs)

    monkeypatch.setattr(_solver, "solve", spy)
    X, z = data[0], data[1]
    for n_jobs, expected in [(None, [max(1, available // 2), available]),
                             (2, [2, 2])]:
        seen.clear()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda _: descend.LinearRegression(n_jobs=n_jobs).fit(X, z),
                          range(2)))
        assert sorted(seen) == sorted(expected)


@pytest.mark.parametrize("params", [dict(batch_size=4096),
                                    dict(batch_size=2048, optimizer="adam", eta0=1e-3),
                                    dict(batch_size=1000, optimizer="saga")])
def test_dense_mini_batches_give_the_same_bits_for_any_thread_count(params):
    # batches big enough to be summed in several chunks: the chunk count
    # comes from the batch, never from the team
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 100))
    y = X @ rng.standard_normal(100)
    fits = [descend.LinearRegression(max_iter=4, tol=None, random_state=0, n_jobs=n_jobs,
                                     **params).fit(X, y).coef_ for n_jobs in (1, None, 2)]
    with threadpool_limits(limits=1, user_api="openmp"):
        fits.append(descend.LinearRegression(max_iter=4, tol=None, random_state=0,
                                             **params).fit(X, y).coef_)
    for coef in fits[1:]:
        np.testing.assert_array_equal(coef, fits[0])
