"""Threads and BLAS limits: libraries found once per process, pools only for several chunks."""

import re

import numpy as np
import pytest
from helpers import make_mixture

import gmmkit.engine.threads as threads
from gmmkit import GaussianMixture, GaussianMixtureRegressor, GMMClassifier
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams
from gmmkit.engine.far_rows import FAR_WIDTHS, FarCheck

threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture
def fresh_controller(monkeypatch):
    """No cached controller, two worker threads, and a count of library discoveries."""
    monkeypatch.setattr(threads, "_CONTROLLER", {})
    threads._libraries.cache_clear()
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "2")
    discoveries = []
    original = threadpoolctl.ThreadpoolController._load_libraries

    def counting(self):
        discoveries.append(1)
        return original(self)

    monkeypatch.setattr(threadpoolctl.ThreadpoolController, "_load_libraries", counting)
    yield discoveries
    threads._libraries.cache_clear()


def test_hundred_small_calls_discover_the_libraries_at_most_once(fresh_controller):
    X, y, _ = make_mixture(n_samples=400, n_features=3)
    mixture = GaussianMixture(3, random_state=0).fit(X)
    classifier = GMMClassifier(1, random_state=0).fit(X, y)
    regressor = GaussianMixtureRegressor(2, random_state=0).fit(X[:, :2], X[:, 2])
    several_chunks = GaussianMixture(3, chunk_size=50, random_state=0).fit(X)
    calls = [
        mixture.predict, mixture.predict_proba, mixture.score_samples, mixture.score,
        classifier.predict_proba, lambda rows: regressor.predict(rows[:, :2]),
        several_chunks.score_samples,
    ]
    for i in range(100):
        rows = X[i : i + 1 + (i % 3) * 17]
        calls[i % len(calls)](rows)
    assert len(fresh_controller) <= 1


def test_one_chunk_starts_no_thread_pool_and_several_do(monkeypatch, fresh_controller):
    X, _, _ = make_mixture(n_samples=400, n_features=3)
    model = GaussianMixture(3, chunk_size=100, random_state=0).fit(X)
    started = []
    real_pool = threads.ThreadPoolExecutor

    def pool(*args, **kwargs):
        started.append(1)
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(threads, "ThreadPoolExecutor", pool)
    single = model.score_samples(X[:100])  # one chunk
    assert started == []
    several = model.score_samples(X)  # four chunks
    assert started == [1]
    np.testing.assert_array_equal(several[:100], single)


def test_single_blas_thread_limits_and_restores(fresh_controller):
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        libraries = threads._libraries("blas")
        if not libraries:
            pytest.skip("no BLAS library that threadpoolctl can control")
        before = [library.get_num_threads() for library in libraries]
        with threads.single_blas_thread("blas"):
            assert [library.get_num_threads() for library in libraries] == [1] * len(libraries)
        assert [library.get_num_threads() for library in libraries] == before


def test_runner_holds_blas_to_one_thread_inside_and_restores_it(fresh_controller):
    seen = []
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        libraries = threads._libraries("blas")
        if not libraries:
            pytest.skip("no BLAS library that threadpoolctl can control")
        with threads.ChunkRunner(2) as runner:
            runner.map(lambda _: seen.append(libraries[0].get_num_threads()), [0])
        assert seen == [1]
        assert libraries[0].get_num_threads() == 2


def test_without_threadpoolctl_the_limit_does_nothing(monkeypatch):
    monkeypatch.setattr(threads, "_CONTROLLER", {"controller": None})
    threads._libraries.cache_clear()
    try:
        with threads.single_blas_thread():
            pass
        with threads.ChunkRunner(2) as runner:
            assert runner.map(lambda item: item + 1, [1, 2, 3]) == [2, 3, 4]
    finally:
        threads._libraries.cache_clear()


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_cheap_precision_bound_bounds_the_exact_one(covariance_type):
    X, _, _ = make_mixture(n_samples=300, n_features=4)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    cov_type = get_covariance_type(covariance_type)
    chol = model.precisions_cholesky_
    assert cov_type.precision_bound(chol) >= cov_type.max_precision(chol)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_far_rows_are_those_beyond_the_exact_radius(covariance_type):
    # rows between the cheap bound's radius and the exact one must stay near
    X, _, _ = make_mixture(n_samples=300, n_features=4)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    cov_type = get_covariance_type(covariance_type)
    params = MixtureParams(model.weights_, model.means_, model.covariances_,
                           model.precisions_cholesky_)
    exact = FAR_WIDTHS[np.float64] ** 2 / cov_type.max_precision(model.precisions_cholesky_)
    inner = FAR_WIDTHS[np.float64] ** 2 / cov_type.precision_bound(model.precisions_cholesky_)
    assert inner < exact
    radii = np.sqrt(np.linspace(0.5 * inner, 1.5 * exact, 40))
    Xt = np.zeros((4, 40))
    Xt[0] = radii
    data = ChunkedData(X, None, np.zeros(4), np.dtype(np.float64), 300)
    mask = FarCheck(data, cov_type, params).mask(Xt)
    np.testing.assert_array_equal(mask, ~(np.einsum("dn,dn->n", Xt, Xt) <= exact))


def test_unknown_user_api_is_refused():
    with pytest.raises(ValueError, match=re.escape(
        "user_api='lapack' is not valid; use None (every library), 'blas' or 'openmp'."
    )):
        threads.single_blas_thread("lapack")
