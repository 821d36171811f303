"""The EM engine: monotonicity, centring, degenerate components, chunks and threads."""

import warnings

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, initial_precisions, make_mixture

from gmmkit import ConvergenceWarning, DegenerateComponentWarning, GaussianMixture
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams
from gmmkit.engine.estep import e_step
from gmmkit.engine.threads import ChunkRunner


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_lower_bound_never_decreases(covariance_type, init_params):
    X, _, _ = make_mixture(n_samples=1500, n_features=3, n_components=4, seed=3)
    model = GaussianMixture(
        5,
        covariance_type=covariance_type,
        init_params=init_params,
        max_iter=60,
        tol=1e-12,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) > 5
    steps = np.diff(bounds)
    assert np.all(steps >= -1e-10 * np.abs(bounds[1:])), steps.min()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(("dtype", "offset"), [(np.float64, 1e8), (np.float32, 1e4)])
def test_data_far_from_origin_fits_like_centred_data(covariance_type, dtype, offset):
    # scikit-learn's diag and tied fail here: E[x^2] - mu^2 loses every digit
    rng = np.random.default_rng(0)
    base = np.vstack([rng.normal(0, 1, (400, 2)), rng.normal(6, 1, (400, 2))])
    shifted = (base + offset).astype(dtype)
    centred = (shifted.astype(np.float64) - offset).astype(dtype)
    kwargs = dict(covariance_type=covariance_type, random_state=0, tol=1e-8, max_iter=300)
    far = GaussianMixture(2, **kwargs).fit(shifted)
    near = GaussianMixture(2, **kwargs).fit(centred)
    order_far, order_near = np.argsort(far.means_[:, 0]), np.argsort(near.means_[:, 0])
    np.testing.assert_allclose(far.means_[order_far] - offset, near.means_[order_near], atol=1e-3)
    np.testing.assert_allclose(
        np.asarray(far.covariances_), np.asarray(near.covariances_), rtol=2e-3, atol=1e-4
    ) if covariance_type == "tied" else np.testing.assert_allclose(
        np.asarray(far.covariances_)[order_far],
        np.asarray(near.covariances_)[order_near],
        rtol=2e-3,
        atol=1e-4,
    )
    assert far.lower_bound_ == pytest.approx(near.lower_bound_, abs=1e-3)
    # and the variances are the truth (1), not garbage
    variances = get_covariance_type(covariance_type).component_covariance(far.covariances_, 0, 2)
    np.testing.assert_allclose(np.diag(variances), 1.0, rtol=0.15)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_stats_add_up_over_chunks(covariance_type):
    X, _, truth = make_mixture(n_samples=300, n_features=3)
    cov_type = get_covariance_type(covariance_type)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    params = MixtureParams(
        model.weights_, model.means_, model.covariances_, model.precisions_cholesky_
    )
    center = X.mean(axis=0)
    with ChunkRunner(1) as runner:
        whole = e_step(
            ChunkedData(X, None, center, np.dtype(np.float64), 300), cov_type, params, runner
        )
        halves = [
            e_step(
                ChunkedData(part, None, center, np.dtype(np.float64), 300), cov_type, params, runner
            )
            for part in (X[:120], X[120:])
        ]
    summed = halves[0] + halves[1]
    for name in ("nk", "sx", "sxx"):
        np.testing.assert_allclose(getattr(summed, name), getattr(whole, name), rtol=1e-12)
    assert summed.loglik == pytest.approx(whole.loglik, rel=1e-12)
    assert whole.loglik / whole.weight == pytest.approx(model.score(X), rel=1e-12)


def test_threads_give_identical_results(monkeypatch):
    X, _, _ = make_mixture(n_samples=3000, n_features=3)
    kwargs = dict(n_components=3, random_state=0, chunk_size=100)
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "1")
    one = GaussianMixture(**kwargs).fit(X)
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "2")
    two = GaussianMixture(**kwargs).fit(X)
    np.testing.assert_array_equal(one.means_, two.means_)
    assert one.lower_bounds_ == two.lower_bounds_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_recovers_known_parameters(covariance_type):
    X, labels, truth = make_mixture(n_samples=20000, n_features=2, n_components=3, seed=5)
    if covariance_type != "full":  # data drawn to match the model type
        rng = np.random.default_rng(6)
        shared = np.array([[1.0, 0.3], [0.3, 0.5]])
        spreads = {
            "tied": [shared] * 3,
            "diag": [np.diag([1.0, 0.3]), np.diag([0.4, 1.2]), np.diag([0.7, 0.7])],
            "spherical": [np.eye(2) * 0.5, np.eye(2) * 1.5, np.eye(2)],
        }[covariance_type]
        truth["covariances"] = np.array(spreads)
        X = np.vstack(
            [
                rng.multivariate_normal(
                    truth["means"][k], truth["covariances"][k], (labels == k).sum()
                )
                for k in range(3)
            ]
        )
        labels = np.repeat(np.arange(3), [(labels == k).sum() for k in range(3)])
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0, n_init=2).fit(X)
    order = [int(np.argmin(np.linalg.norm(model.means_ - m, axis=1))) for m in truth["means"]]
    assert sorted(order) == [0, 1, 2]
    counts = np.bincount(labels, minlength=3) / len(labels)
    np.testing.assert_allclose(model.weights_[order], counts, atol=0.01)
    np.testing.assert_allclose(model.means_[order], truth["means"], atol=0.06)
    cov_type = get_covariance_type(covariance_type)
    fitted = np.array([cov_type.component_covariance(model.covariances_, k, 2) for k in order])
    np.testing.assert_allclose(fitted, truth["covariances"], atol=0.08)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_collapsing_onto_a_point_is_floored_not_fatal(covariance_type):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (200, 2)), np.tile([[8.0, 8.0]], (30, 1))])
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0, reg_covar=1e-6)
    model.fit(X)
    cov_type = get_covariance_type(covariance_type)
    point = int(np.argmin(np.linalg.norm(model.means_ - 8.0, axis=1)))
    np.testing.assert_allclose(model.means_[point], [8.0, 8.0], atol=1e-6)
    if covariance_type in ("full", "diag", "spherical"):
        cov = cov_type.component_covariance(model.covariances_, point, 2)
        np.testing.assert_allclose(np.diag(cov), 1e-6, rtol=1e-3)
    assert np.isfinite(model.score(X))


def test_singular_covariance_without_regularisation_warns_and_jitters():
    X = np.tile([[3.0, -1.0]], (50, 1))  # every row the same point
    with pytest.warns(DegenerateComponentWarning, match="singular covariance.*reg_covar"):
        model = GaussianMixture(1, reg_covar=0.0).fit(X)
    assert np.isfinite(model.score(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_losing_its_mass_is_reseeded_with_a_warning(covariance_type):
    X, _, _ = make_mixture(n_samples=600, n_features=2, n_components=2, seed=2)
    means_init = np.vstack([X[:2], [[1e4, 1e4]]])  # the third starts far from all data
    model = GaussianMixture(
        3,
        covariance_type=covariance_type,
        means_init=means_init,
        precisions_init=initial_precisions(covariance_type, 3, 2),
        random_state=0,
    )
    with pytest.warns(
        DegenerateComponentWarning, match=r"component 2 lost all its mass.*re-seeded"
    ):
        model.fit(X)
    assert np.all(np.abs(model.means_) < 100)
    assert model.weights_[2] > 1e-3  # alive again, inside the data
    assert np.isfinite(model.score(X))


def test_no_convergence_warns_like_sklearn():
    X, _, _ = make_mixture()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = GaussianMixture(3, max_iter=2, tol=0.0, random_state=0).fit(X)
    assert not model.converged_ and model.n_iter_ == 2


def test_n_init_keeps_the_best_lower_bound():
    X, _, _ = make_mixture(n_samples=800, n_components=5, seed=4)
    singles = [
        GaussianMixture(5, init_params="random", random_state=seed, max_iter=500)
        .fit(X)
        .lower_bound_
        for seed in range(4)
    ]
    best = GaussianMixture(5, init_params="random", n_init=8, random_state=0, max_iter=500).fit(X)
    assert best.lower_bound_ >= max(singles) - 1e-9 or best.lower_bound_ == pytest.approx(
        max(singles)
    )
    assert best.lower_bound_ >= np.median(singles)


def test_warm_start_continues_from_the_fitted_parameters():
    X = np.random.default_rng(8).standard_normal((600, 2)) * [1.0, 3.0]  # slow to converge
    cold = GaussianMixture(3, random_state=0, max_iter=3, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold.fit(X)
        first_means = cold.means_.copy()
        warm = GaussianMixture(3, random_state=0, max_iter=3, tol=0, warm_start=True)
        warm.fit(X)
        warm.fit(X)
        six = GaussianMixture(3, random_state=0, max_iter=6, tol=0).fit(X)
    np.testing.assert_allclose(warm.means_, six.means_, rtol=1e-12)
    assert np.max(np.abs(first_means - six.means_)) > 1e-6


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialiser_finds_separated_clusters(init_params):
    X, labels, _ = make_mixture(n_samples=900, n_features=2, seed=7)
    # tol small enough for EM to leave the near-symmetric start of "random" init
    model = GaussianMixture(
        3, init_params=init_params, random_state=0, n_init=3, tol=1e-6, max_iter=500
    ).fit(X)
    predicted = model.predict(X)
    # each true cluster maps to one predicted label (up to a handful of overlaps)
    agreement = sum(np.bincount(predicted[labels == k]).max() for k in range(3)) / len(X)
    assert agreement > 0.97


def test_same_random_state_same_model():
    X, _, _ = make_mixture()
    a = GaussianMixture(3, random_state=42, init_params="random").fit(X)
    b = GaussianMixture(3, random_state=42, init_params="random").fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)


def test_sample_draws_from_the_fitted_mixture():
    X, _, _ = make_mixture(n_samples=3000)
    model = GaussianMixture(3, random_state=0).fit(X)
    drawn, labels = model.sample(20000)
    assert drawn.shape == (20000, 3) and labels.shape == (20000,)
    np.testing.assert_allclose(np.bincount(labels) / 20000, model.weights_, atol=0.015)
    for k in range(3):
        np.testing.assert_allclose(drawn[labels == k].mean(axis=0), model.means_[k], atol=0.1)
        np.testing.assert_allclose(np.cov(drawn[labels == k].T), model.covariances_[k], atol=0.15)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_falls_back_to_float64_far_from_the_centre(covariance_type):
    from gmmkit import PrecisionWarning

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-100, 1, (500, 2)), rng.normal(100, 1, (500, 2))])
    kwargs = dict(covariance_type=covariance_type, random_state=0)
    exact = GaussianMixture(2, **kwargs).fit(X)
    with pytest.warns(PrecisionWarning, match=r"lies 14\d of its standard deviations.*float64"):
        guarded = GaussianMixture(2, dtype="float32", **kwargs).fit(X.astype(np.float32))
    assert guarded.lower_bound_ == pytest.approx(exact.lower_bound_, rel=1e-7)


def test_float32_stays_float32_near_the_centre():
    X, _, _ = make_mixture(n_samples=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = GaussianMixture(3, dtype="float32", random_state=0).fit(X)
    double = GaussianMixture(3, random_state=0).fit(X)
    assert single.lower_bound_ != double.lower_bound_  # really computed in float32
    assert single.lower_bound_ == pytest.approx(double.lower_bound_, rel=1e-5)


def test_weighted_fit_on_more_rows_than_the_kmeans_subsample():
    from gmmkit.engine import seeding as init

    rng = np.random.default_rng(0)
    n = init.KMEANS_MAX_ROWS + 5000
    X = np.vstack([rng.normal(0, 1, (n // 2, 2)), rng.normal(8, 1, (n - n // 2, 2))])
    weights = np.zeros(n)
    weights[::2] = 1.0  # fewer positive rows than the subsample size
    model = GaussianMixture(2, random_state=0).fit(X, sample_weight=weights)
    np.testing.assert_allclose(np.sort(model.means_[:, 0]), [0, 8], atol=0.05)
    heavy = np.ones(n)
    heavy[: n // 2] = 3.0  # all positive, more than the subsample size
    model = GaussianMixture(2, random_state=0).fit(X, sample_weight=heavy)
    np.testing.assert_allclose(np.sort(model.weights_), [0.25, 0.75], atol=0.01)


def test_bad_thread_count_setting(monkeypatch):
    monkeypatch.setenv("GMMKIT_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="GMMKIT_NUM_THREADS='two' is not valid"):
        GaussianMixture(1).fit(np.eye(3))


def test_jittered_covariance_stays_consistent_with_its_precision():
    X = np.vstack(
        [np.tile([[1.0, 2.0]], (40, 1)), np.random.default_rng(0).normal(size=(40, 2)) + 6]
    )
    with pytest.warns(DegenerateComponentWarning, match="singular covariance"):
        model = GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)
    for k in range(2):
        np.testing.assert_allclose(
            model.covariances_[k] @ model.precisions_[k], np.eye(2), atol=1e-6
        )
    drawn, _ = model.sample(100)
    assert np.all(np.isfinite(drawn))


def test_blocked_inner_products_equal_the_plain_product():
    from gmmkit.engine.linalg import inner_block, inner_products

    rng = np.random.default_rng(0)
    for m, k in [(6, 4), (33, 32), (150, 32)]:
        n = 3 * (inner_block(m, k) or 1000) + 17
        A, B = rng.standard_normal((m, n)), rng.standard_normal((k, n))
        np.testing.assert_allclose(inner_products(A, B), A @ B.T, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_large_default_chunks_match_small_chunks(covariance_type):
    # 40,000 rows of a 3-feature, 2-component problem: the default chunk is
    # large enough for the blocked moment products to run
    X, _, _ = make_mixture(n_samples=40000, n_features=3, n_components=2, seed=9)
    kwargs = dict(covariance_type=covariance_type, random_state=0, max_iter=4, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default = GaussianMixture(2, **kwargs).fit(X)
        small = GaussianMixture(2, chunk_size=1000, **kwargs).fit(X)
    assert default._chunk_rows(3, np.dtype(np.float64)) > 16384
    np.testing.assert_allclose(default.means_, small.means_, rtol=1e-10)
    np.testing.assert_allclose(default.lower_bounds_, small.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.filterwarnings("ignore::gmmkit.exceptions.ConvergenceWarning")
def test_one_chunk_fits_are_the_same_bits_on_one_thread_or_two(monkeypatch, dtype):
    # one chunk of 4,000 x 40, full: big enough for OpenBLAS to split its
    # products over a team of threads, which it must not (the runner holds it
    # to one thread whatever GMMKIT_NUM_THREADS says)
    pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(4000, 40)) + 3).astype(dtype)
    fits = []
    for n_threads in ("1", "2"):
        monkeypatch.setenv("GMMKIT_NUM_THREADS", n_threads)
        model = GaussianMixture(3, random_state=0, max_iter=3).fit(X)
        fits.append((model.means_, model.covariances_, model.lower_bound_,
                     model.score_samples(X[:2000])))
    for one, two in zip(*fits):
        np.testing.assert_array_equal(one, two)


def _fitted_outputs(name, X):
    """What a fit of ``name`` on X gives: a tuple of arrays to compare bit for bit."""
    from gmmkit import BayesianGaussianMixture, GaussianMixtureRegressor, GMMClassifier

    rows = X[:1500]
    if name == "bayesian":
        model = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=3).fit(X)
        return model.means_, model.weights_, model.lower_bound_, model.score_samples(rows)
    if name == "classifier":
        y = (X[:, 0] > X[:, 0].mean()).astype(int)
        return (GMMClassifier(2, random_state=0).fit(X, y).predict_proba(rows),)
    if name == "regressor":
        model = GaussianMixtureRegressor(2, random_state=0, max_iter=3).fit(X[:, :30], X[:, 30:])
        return (model.predict(rows[:, :30]),)
    Xm = X.copy()
    Xm[np.random.default_rng(1).random(X.shape) < 0.05] = np.nan
    model = GaussianMixture(3, random_state=0, max_iter=3, missing="em").fit(Xm)
    return model.means_, model.lower_bound_, model.score_samples(Xm[:1500])


@pytest.mark.parametrize("name", ["bayesian", "classifier", "regressor", "missing"])
@pytest.mark.filterwarnings("ignore::gmmkit.exceptions.ConvergenceWarning")
def test_every_estimator_gives_the_same_bits_on_one_thread_or_two(monkeypatch, name):
    pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 40)) @ rng.normal(size=(40, 40)) * 0.3 + 3
    outputs = []
    for n_threads in ("1", "2"):
        monkeypatch.setenv("GMMKIT_NUM_THREADS", n_threads)
        outputs.append(_fitted_outputs(name, X))
    for one, two in zip(*outputs):
        np.testing.assert_array_equal(one, two)
