"""mclust's models through every path of GaussianMixture.

Scoring against scipy, sampling, model files, sample weights, missing values,
a noise component, and the data sources (arrays, .npy files, chunk
functions, Dask arrays) for the ten models scikit-learn does not have.
"""

import warnings

import numpy as np
import pytest
from helpers import make_mixture
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmmkit import ConvergenceWarning, GaussianMixture, load, save
from gmmkit.engine.covariance import get_covariance_type

pytestmark = pytest.mark.filterwarnings("ignore::gmmkit.exceptions.ConvergenceWarning")

NEW_MODELS = ("EII", "EEI", "VEI", "EVI", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV")


@pytest.fixture(scope="module")
def data():
    return make_mixture(n_samples=500, n_features=3, n_components=3, seed=11)[0]


def _fit(X, name, n_components=3, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components, covariance_type=name, random_state=0,
                               **params).fit(X)


def _dense(model):
    k, d = model.means_.shape
    return get_covariance_type(model.covariance_type).dense(model.covariances_, k, d)


def _start(model):
    """The fitted parameters as a start (weights_init, means_init, precisions_init)."""
    return {"weights_init": model.weights_, "means_init": model.means_,
            "precisions_init": model.precisions_}


@pytest.mark.parametrize("name", NEW_MODELS)
def test_scores_are_the_mixture_density(data, name):
    model = _fit(data, name)
    dense = _dense(model)
    expected = logsumexp(
        [np.log(w) + multivariate_normal(m, c).logpdf(data)
         for w, m, c in zip(model.weights_, model.means_, dense)], axis=0)
    np.testing.assert_allclose(model.score_samples(data), expected, rtol=1e-10)
    assert model.bic(data) == pytest.approx(
        -2 * expected.sum() + model._n_parameters() * np.log(len(data)))


@pytest.mark.parametrize("name", NEW_MODELS)
def test_samples_follow_the_fitted_components(data, name):
    model = _fit(data, name)
    model.random_state = 1
    X, labels = model.sample(60_000)
    dense = _dense(model)
    for k in range(3):
        np.testing.assert_allclose(np.cov(X[labels == k].T), dense[k], atol=0.08 * dense[k].max())


@pytest.mark.parametrize("name", NEW_MODELS)
def test_model_files_keep_the_model(data, name, tmp_path):
    model = _fit(data, name)
    save(model, tmp_path / "m.gmm")
    loaded = load(tmp_path / "m.gmm")
    assert loaded.covariance_type == name
    np.testing.assert_array_equal(loaded.covariances_, model.covariances_)
    np.testing.assert_array_equal(loaded.predict_proba(data), model.predict_proba(data))


@pytest.mark.parametrize("name", NEW_MODELS)
def test_integer_weights_are_repeated_rows(data, name):
    weights = np.random.default_rng(2).integers(0, 3, size=len(data))
    start = _start(_fit(data, name, max_iter=3))
    weighted = GaussianMixture(3, covariance_type=name, max_iter=10, tol=0, **start).fit(
        data, sample_weight=weights)
    repeated = GaussianMixture(3, covariance_type=name, max_iter=10, tol=0, **start).fit(
        np.repeat(data, weights, axis=0))
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-8)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-8)


@pytest.mark.parametrize("name", NEW_MODELS)
def test_sources_give_the_in_memory_fit(data, name, tmp_path):
    start = _start(_fit(data, name, max_iter=3))
    params = dict(covariance_type=name, max_iter=8, tol=0, chunk_size=128, **start)
    expected = GaussianMixture(3, **params).fit(data)
    np.save(tmp_path / "x.npy", data)
    from_file = GaussianMixture(3, **params).fit(str(tmp_path / "x.npy"))
    np.testing.assert_allclose(from_file.covariances_, expected.covariances_, rtol=1e-9)
    np.testing.assert_allclose(from_file.means_, expected.means_, rtol=1e-9)


def test_a_dask_array_gives_the_in_memory_fit(data):
    da = pytest.importorskip("dask.array")
    import dask

    for name in ("VEE", "EVE", "EVI"):
        start = _start(_fit(data, name, max_iter=3))
        params = dict(covariance_type=name, max_iter=8, tol=0, **start)
        expected = GaussianMixture(3, **params).fit(data)
        with dask.config.set(scheduler="threads"):
            model = GaussianMixture(3, **params).fit(da.from_array(data, chunks=(150, 3)))
        np.testing.assert_allclose(model.covariances_, expected.covariances_, rtol=1e-9)


@pytest.mark.parametrize("name", NEW_MODELS)
def test_missing_values_fit_by_em(data, name):
    X = data.copy()
    X[np.random.default_rng(3).random(X.shape) < 0.05] = np.nan
    model = _fit(X, name, missing="em", tol=0, max_iter=25, reg_covar=0.0)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    complete = _fit(data, name)
    # 5% missing values move the fit a little, not to another solution
    assert abs(model.score(data) - complete.score(data)) < 0.05 * abs(complete.score(data))


@pytest.mark.parametrize("name", NEW_MODELS)
def test_a_noise_component_takes_the_outliers(data, name):
    outliers = np.array([[40.0, -40.0, 40.0], [-45.0, 45.0, 38.0]])
    X = np.vstack([data, outliers])
    model = _fit(X, name, n_components=2, noise="uniform")  # the data hold two clusters
    assert list(model.predict(outliers)) == [-1, -1]
    assert 0 < model.noise_weight_ < 0.05


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(NEW_MODELS), rows=st.lists(st.integers(0, 499), min_size=1,
                                                       max_size=20))
def test_a_rows_scores_depend_only_on_that_row(name, rows):
    data = make_mixture(n_samples=500, n_features=3, n_components=3, seed=11)[0]
    model = _fitted(name)
    subset = data[rows]
    np.testing.assert_allclose(model.score_samples(subset), model.score_samples(data)[rows],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(model.predict(subset), model.predict(data)[rows])


_FITTED = {}


def _fitted(name):
    if name not in _FITTED:
        data = make_mixture(n_samples=500, n_features=3, n_components=3, seed=11)[0]
        _FITTED[name] = _fit(data, name)
    return _FITTED[name]
