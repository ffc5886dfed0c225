"""Multi-output LinearRegression: a 2-D y of shape (n, k) fits k
independent outputs, as scikit-learn's LinearRegression and Ridge do.

References: numpy's lstsq (alpha=0) and scikit-learn's Ridge with
alpha = descend's alpha * n_samples (descend's objective is the mean loss),
per output; and each output against descend's own 1-D fit of its column
(bitwise on full batch, where the shuffling seed plays no part)."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from descend import LinearRegression

N, P, K = 90, 5, 3


def data(seed=0, k=K):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, P)) * rng.uniform(0.5, 2.0, P)
    X[rng.random((N, P)) < 0.3] = 0.0
    Y = X @ rng.standard_normal((P, k)) + rng.standard_normal(k) \
        + 0.1 * rng.standard_normal((N, k))
    return X, Y


def ridge(X, Y, alpha, sample_weight=None):
    return Ridge(alpha=alpha * (N if sample_weight is None else sample_weight.sum()),
                 solver="cholesky", tol=1e-12).fit(X, Y, sample_weight=sample_weight)


LAYOUTS = {"dense": np.asarray, "csr": sp.csr_matrix}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_full_batch_matches_ridge_per_output(layout, weighted):
    X, Y = data()
    sw = np.random.default_rng(1).uniform(0.2, 2.0, N) if weighted else None
    model = LinearRegression(alpha=0.05, tol=1e-10).fit(LAYOUTS[layout](X), Y,
                                                        sample_weight=sw)
    reference = ridge(X, Y, 0.05, sw)
    assert model.coef_.shape == (K, P) and model.intercept_.shape == (K,)
    assert model.converged_ and model.history_.stop_reason == "tol"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-6, atol=1e-7)
    pred = model.predict(LAYOUTS[layout](X))
    assert pred.shape == (N, K)
    np.testing.assert_allclose(pred, reference.predict(X), rtol=1e-6, atol=1e-6)


def test_ordinary_least_squares_matches_lstsq():
    X, Y = data(2)
    model = LinearRegression(tol=1e-6).fit(X, Y)  # gradient to 1e-12 of its start
    assert model.converged_
    A = np.column_stack([X, np.ones(N)])
    solution = np.linalg.lstsq(A, Y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, solution[:P].T, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.intercept_, solution[P], rtol=1e-6, atol=1e-7)


FULL_BATCH = {"lbfgs": {}, "agd": dict(optimizer="agd"), "gd": dict(optimizer="sgd"),
              "line_search": dict(learning_rate="line_search"),
              "adam": dict(optimizer="adam", max_iter=50)}


@pytest.mark.parametrize("name", FULL_BATCH)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_output_is_the_one_dimensional_fit_of_its_column(name, layout):
    """Full batch: bitwise what a 1-D fit of each column gives."""
    X, Y = data(3)
    X = LAYOUTS[layout](X)
    params = dict(alpha=0.01, **FULL_BATCH[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(**params).fit(X, Y)
        singles = [LinearRegression(**params).fit(X, Y[:, j]) for j in range(K)]
    for j, single in enumerate(singles):
        np.testing.assert_array_equal(model.coef_[j], single.coef_)
        assert model.intercept_[j] == single.intercept_
    assert model.n_iter_ == max(s.n_iter_ for s in singles)
    assert model.converged_ == all(s.converged_ for s in singles)
    # history_: the outputs' objectives summed per epoch (each carried
    # forward after it stopped), the largest gap
    objectives = np.zeros(model.n_iter_)
    for s in singles:
        o = s.history_["objective"]
        objectives += np.concatenate([o, np.repeat(o[-1:], model.n_iter_ - len(o))])
    np.testing.assert_allclose(model.history_["objective"], objectives, rtol=1e-12)
    assert len(model.history_) == model.n_iter_


@pytest.mark.parametrize("batch_size", [1, 10])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_stochastic_fits_reach_ridge(batch_size, layout):
    X, Y = data(4)
    model = LinearRegression(alpha=0.05, batch_size=batch_size, random_state=0, tol=1e-6,
                             max_iter=3000).fit(LAYOUTS[layout](X), Y)
    assert model.converged_
    reference = ridge(X, Y, 0.05)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=2e-3)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=2e-3)


def test_one_column_behaves_as_scikit_learn():
    """As scikit-learn's LinearRegression (its Ridge ravels one column)."""
    from sklearn.linear_model import LinearRegression as SklearnLinearRegression

    X, Y = data(5, k=1)
    model = LinearRegression(tol=1e-6).fit(X, Y)
    reference = SklearnLinearRegression().fit(X, Y)
    assert model.coef_.shape == reference.coef_.shape == (1, P)
    assert model.intercept_.shape == reference.intercept_.shape == (1,)
    assert model.predict(X).shape == reference.predict(X).shape == (N, 1)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-7)
    flat = LinearRegression(tol=1e-6).fit(X, Y[:, 0])
    assert flat.coef_.shape == (P,) and flat.predict(X).shape == (N,)
    np.testing.assert_array_equal(model.coef_[0], flat.coef_)


def test_converged_only_when_every_output_is_certified():
    X, Y = data(6)
    Y[:, 0] = 0.0  # the zero model is optimal: certified at once
    params = dict(alpha=0.01, optimizer="sgd", max_iter=3)
    assert LinearRegression(**params).fit(X, Y[:, 0]).converged_
    with pytest.warns(ConvergenceWarning):
        model = LinearRegression(**params).fit(X, Y)
    assert not model.converged_
    assert model.history_.stop_reason == "max_iter"


def test_score_is_uniform_average_r2():
    X, Y = data(7)
    model = LinearRegression(alpha=0.05).fit(X, Y)
    assert model.score(X, Y) == pytest.approx(r2_score(Y, model.predict(X)))
    assert model.score(X, Y) == pytest.approx(ridge(X, Y, 0.05).score(X, Y), abs=1e-6)


def test_partial_fit_continues_each_output():
    X, Y = data(8)
    model, singles = LinearRegression(alpha=0.01), [LinearRegression(alpha=0.01)
                                                    for _ in range(K)]
    for start in range(0, N, 30):
        rows = slice(start, start + 30)
        model.partial_fit(X[rows], Y[rows])
        for j, single in enumerate(singles):
            single.partial_fit(X[rows], Y[rows, j])
    assert model.coef_.shape == (K, P) and model.n_iter_ == 3
    for j, single in enumerate(singles):
        np.testing.assert_array_equal(model.coef_[j], single.coef_)
    with pytest.raises(ValueError, match="partial_fit: y has shape"):
        model.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="partial_fit: y has shape"):
        model.partial_fit(X, Y[:, :2])


def test_warm_start_and_coef_init():
    X, Y = data(9)
    model = LinearRegression(alpha=0.05, warm_start=True).fit(X, Y)
    first = model.coef_.copy()
    model.fit(X, Y)  # starts at the optimum: certified at once
    assert model.n_iter_ <= 1
    np.testing.assert_allclose(model.coef_, first, atol=1e-6)
    with pytest.raises(ValueError, match="warm_start"):
        model.fit(X, Y[:, :2])
    started = LinearRegression(alpha=0.05, max_iter=1, optimizer="sgd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started.fit(X, Y, coef_init=first, intercept_init=model.intercept_)
    np.testing.assert_allclose(started.coef_, first, atol=1e-5)
    with pytest.raises(ValueError, match="coef_init"):
        LinearRegression().fit(X, Y, coef_init=np.zeros(P))


def test_float32_targets_give_float32_outputs():
    X, Y = data(10)
    model = LinearRegression(alpha=0.05).fit(X.astype(np.float32), Y)
    assert model.coef_.dtype == model.intercept_.dtype == np.float32
    np.testing.assert_allclose(model.coef_, ridge(X, Y, 0.05).coef_, atol=1e-4)


def test_model_file_round_trip(tmp_path):
    from descend import load_model, save_model

    X, Y = data(11)
    for targets in (Y, Y[:, :1]):
        model = LinearRegression(alpha=0.05).fit(X, targets)
        save_model(model, tmp_path / "model.descend")
        loaded = load_model(tmp_path / "model.descend")
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.predict(X).shape == targets.shape
        loaded.partial_fit(X, targets)  # from its coefficients, fresh optimizer state
        assert loaded.coef_.shape == model.coef_.shape


def test_result_does_not_depend_on_the_thread_count():
    """The outputs run in parallel threads, each seeded by its index."""
    X, Y = data(12)
    fits = [LinearRegression(alpha=0.05, batch_size=1, random_state=0, n_jobs=n_jobs)
            .fit(X, Y) for n_jobs in (1, 2, 3)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
    columns = [LinearRegression(alpha=0.05, batch_size=1, random_state=0).fit(X, Y[:, j])
               for j in range(K)]  # the outputs shuffle differently from the 1-D fits
    for j, single in enumerate(columns):
        np.testing.assert_allclose(fits[0].coef_[j], single.coef_, atol=5e-3)
