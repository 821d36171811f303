"""gmmkit against scikit-learn 1.9 from the same initial parameters."""

import warnings

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, initial_precisions, make_mixture

from gmmkit import GaussianMixture

sklearn_mixture = pytest.importorskip("sklearn.mixture")


def fit_both(X, covariance_type, n_iter, tol=0.0, **extra):
    n_components = 3
    rng = np.random.default_rng(1)
    init = dict(
        covariance_type=covariance_type,
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=X[rng.choice(len(X), n_components, replace=False)],
        precisions_init=initial_precisions(covariance_type, n_components, X.shape[1], 0.5),
        max_iter=n_iter,
        tol=tol,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixture(n_components, **init, **extra).fit(X)
        theirs = sklearn_mixture.GaussianMixture(n_components, **init).fit(X)
    return ours, theirs


def assert_rel(actual, expected, rtol):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


def assert_same_mixture(ours, theirs):
    assert_rel(ours.means_, theirs.means_, 1e-8)
    assert_rel(ours.covariances_, theirs.covariances_, 1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_iter", [1, 8])
def test_same_parameters_and_loglik_after_fixed_iterations(covariance_type, n_iter):
    X, _, _ = make_mixture(n_samples=500, n_features=4)
    ours, theirs = fit_both(X, covariance_type, n_iter)
    assert_rel(ours.weights_, theirs.weights_, 1e-8)
    assert_rel(ours.means_, theirs.means_, 1e-8)
    assert_rel(ours.covariances_, theirs.covariances_, 1e-8)
    assert_rel(ours.precisions_cholesky_, theirs.precisions_cholesky_, 1e-8)
    assert_rel(ours.precisions_, theirs.precisions_, 1e-8)
    assert_rel(ours.score_samples(X), theirs.score_samples(X), 1e-8)
    assert_rel(ours.predict_proba(X) + 1e-3, theirs.predict_proba(X) + 1e-3, 1e-8)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)
    assert_rel(ours.lower_bounds_, theirs.lower_bounds_, 1e-10)
    assert ours.n_iter_ == theirs.n_iter_ == n_iter


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunking_does_not_change_the_answer(covariance_type):
    X, _, _ = make_mixture(n_samples=500, n_features=4)
    assert_same_mixture(*fit_both(X, covariance_type, 5, chunk_size=37))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_information_criteria_and_score_match(covariance_type):
    X, _, _ = make_mixture(n_samples=400, n_features=3)
    ours, theirs = fit_both(X, covariance_type, 4)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    assert ours._n_parameters() == theirs._n_parameters()
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_runs_to_convergence_like_sklearn(covariance_type):
    X, _, _ = make_mixture(n_samples=800, n_features=2)
    ours, theirs = fit_both(X, covariance_type, 500, tol=1e-10)
    assert ours.converged_ and theirs.converged_
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_mixture(ours, theirs)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_close_to_float64(covariance_type):
    X, _, _ = make_mixture(n_samples=2000, n_features=4)
    ours64, _ = fit_both(X, covariance_type, 10)
    ours32, _ = fit_both(X.astype(np.float32), covariance_type, 10)
    assert ours32.lower_bound_ == pytest.approx(ours64.lower_bound_, rel=1e-5)
    np.testing.assert_allclose(ours32.means_, ours64.means_, atol=1e-3)
