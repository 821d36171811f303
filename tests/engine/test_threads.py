"""Threads and BLAS limits: libraries found once per process, pools only for several chunks."""

import math
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


def test_the_finiteness_check_of_a_scoring_batch_holds_blas_to_one_thread(monkeypatch):
    # 1,000 x 16 values: OpenBLAS would wake its thread team for this dot product
    from gmmkit.engine import reference

    limits = []
    real = reference.single_blas_thread
    monkeypatch.setattr(reference, "single_blas_thread",
                        lambda user_api=None: limits.append(user_api) or real(user_api))
    assert reference.within_extent(np.ones((1_000, 16)))
    assert limits == ["blas"]
    assert reference.within_extent(np.ones((35, 16)))  # a small one takes no limit
    assert limits == ["blas"]


def test_a_scoring_call_takes_the_blas_limit_once(fresh_controller, monkeypatch):
    # the check of X (a dot product OpenBLAS would thread) runs under the runner's limit
    X, _, _ = make_mixture(n_samples=1_000, n_features=16)
    model = GaussianMixture(2, random_state=0).fit(X)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        libraries = threads._libraries("blas")
        if not libraries:
            pytest.skip("no BLAS library that threadpoolctl can control")
        sets = []
        for library in libraries:
            real = library.set_num_threads
            monkeypatch.setattr(library, "set_num_threads",
                                lambda n, real=real: sets.append(n) or real(n))
        model.predict(X)
        assert sorted(sets) == [1] * len(libraries) + [2] * len(libraries)


def test_the_far_row_pass_is_skipped_only_when_the_sum_of_squares_proves_no_row_far():
    X, _, _ = make_mixture(n_samples=400, n_features=3)
    model = GaussianMixture(3, random_state=0).fit(X)
    cov_type = get_covariance_type("full")
    params = MixtureParams(model.weights_, model.means_, model.covariances_,
                           model.precisions_cholesky_)
    radius = FAR_WIDTHS[np.float64] / np.sqrt(cov_type.max_precision(model.precisions_cholesky_))
    Xt = np.zeros((3, 2))
    Xt[0, 1] = 2 * radius  # a far column
    for square_sum, skipped in ((float(np.sum(X**2)), True), (0.3 * radius**2, False),
                                (np.inf, False)):
        data = ChunkedData(X, None, np.zeros(3), np.dtype(np.float64), 400, square_sum=square_sum)
        mask = FarCheck(data, cov_type, params).mask(Xt)
        # skipped: the sum proves no row far, so the pass (which would flag Xt) is not made
        assert (mask is None) if skipped else mask.tolist() == [False, True]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_skipping_the_far_row_pass_changes_no_result(dtype, monkeypatch):
    from gmmkit.data import in_memory

    X, _, _ = make_mixture(n_samples=400, n_features=3)
    model = GaussianMixture(3, dtype=dtype, random_state=0).fit(X)
    chol = model.precisions_cholesky_.astype(np.float64)
    radius = FAR_WIDTHS[np.dtype(dtype).type] / np.sqrt(
        get_covariance_type("full").max_precision(chol))
    batches = [X] + [np.vstack([X[:5], X[5] + offset]) for offset in (0.01 * radius, 2 * radius)]
    skipped = [(model.predict_proba(rows), model.score_samples(rows)) for rows in batches]
    monkeypatch.setattr(in_memory, "square_sum_bound", lambda X, total: np.inf)  # never skip
    for rows, (proba, log_lik) in zip(batches, skipped):
        np.testing.assert_array_equal(model.predict_proba(rows), proba)
        np.testing.assert_array_equal(model.score_samples(rows), log_lik)


def test_square_sum_bound_is_an_upper_bound_and_gives_up_when_too_coarse():
    from gmmkit.engine.reference import square_sum, square_sum_bound

    X = np.random.default_rng(0).normal(size=(1000, 60))
    total = square_sum(X)
    assert total == pytest.approx(np.sum(X**2), rel=1e-12)
    assert square_sum_bound(X, total) >= math.fsum((X**2).ravel())
    assert square_sum_bound(X, np.inf) == np.inf and square_sum_bound(X, None) == np.inf
    wide = np.zeros((1, 2**23 + 2), dtype=np.float32)  # 8 M values: eps32 * size > 1/2
    assert square_sum_bound(wide, 0.0) == np.inf
    assert square_sum(X[::2]) is None  # not contiguous: unknown


def test_the_column_sums_of_the_data_check_do_not_depend_on_blas_threads():
    # float32 sums split over a BLAS team differ in the last bits with its size
    # (a Bayesian mixture's default mean_prior is one)
    from gmmkit.data.validation import scan_rows

    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(5000, 200)) + 3).astype(np.float32)
    weights = rng.random(5000)
    centres = []
    for n_threads in (1, 2):
        with threadpoolctl.threadpool_limits(n_threads, "blas"):
            centres.append((scan_rows(X, None), scan_rows(X, weights)))
    for one, two in zip(*centres):
        np.testing.assert_array_equal(one, two)
