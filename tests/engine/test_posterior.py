"""Conditioning's posterior weights are the engine's far-row scoring (one direct form)."""

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture

from gmmkit import GaussianMixture
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.far_rows import FarRows
from gmmkit.engine.posterior import PosteriorWeights, marginal_params, posterior_weights
from gmmkit.estimators.conditional import conditional_moments

X, _, _ = make_mixture(600, 4, 3, seed=2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_posterior_weights_are_the_marginal_models_responsibilities(covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    observed = [2, 0]
    rows = X[:50, observed]
    weights, _, _ = conditional_moments(model, rows, observed)
    np.testing.assert_allclose(
        weights, model.marginal(observed).predict_proba(rows), rtol=1e-10, atol=1e-300
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_marginal_params_are_the_marginal_models(covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    cov_type = get_covariance_type(covariance_type)
    observed = np.array([3, 1])
    params = marginal_params(cov_type, model.weights_, model.means_, model.covariances_,
                             model.reg_covar, observed)
    marginal = model.marginal(observed)
    np.testing.assert_array_equal(params.means, marginal.means_)
    np.testing.assert_array_equal(params.covariances, marginal.covariances_)
    np.testing.assert_array_equal(params.precisions_cholesky, marginal.precisions_cholesky_)
    weights = posterior_weights(cov_type, params, X[:7, observed])
    assert weights.shape == (7, 3) and np.allclose(weights.sum(axis=1), 1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_rows_score_a_row_alone_as_in_a_block(covariance_type):
    """A one-row block must round as a longer one (a BLAS matrix-vector product does not)."""
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    cov_type = get_covariance_type(covariance_type)
    params = marginal_params(cov_type, model.weights_, model.means_, model.covariances_,
                             model.reg_covar, np.arange(4))
    far = FarRows(cov_type, params, params.weights @ params.means, None)
    rows = np.random.default_rng(5).normal(scale=1e3, size=(40, 4))
    block, offset = far.log_prob(rows)
    for i in range(len(rows)):
        alone, alone_offset = far.log_prob(rows[i : i + 1])
        np.testing.assert_array_equal(alone[:, 0], block[:, i])
        assert alone_offset[0] == offset[i]


@pytest.mark.parametrize("noise", [None, "uniform"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scoring_like_predict_proba_gives_its_weights_at_any_distance(covariance_type, noise):
    # direct=False scores as GaussianMixture.predict_proba (one BLAS product near the
    # centre, the direct form far out): the marginal model's responsibilities, without
    # their floor of the E-step (a component out of reach gets exactly 0)
    model = GaussianMixture(3, covariance_type=covariance_type, noise=noise,
                            random_state=0).fit(X)
    cov_type = get_covariance_type(covariance_type)
    observed = np.array([2, 0])
    params = marginal_params(
        cov_type, model.weights_, model.means_, model.covariances_, model.reg_covar,
        observed, getattr(model, "noise_bounds_", None), float(getattr(model, "noise_weight_", 0))
    )
    rows = np.vstack([X[:60, observed], [[1e6, -1e6], [1e200, 3.0], [-1e300, 1e300]]])
    fast = PosteriorWeights(cov_type, params, direct=False)(rows)
    direct = PosteriorWeights(cov_type, params)(rows)
    expected = model.marginal(observed).predict_proba(rows)
    np.testing.assert_allclose(fast, expected, rtol=1e-12, atol=1e-250)
    np.testing.assert_allclose(fast, direct, rtol=1e-12, atol=1e-250)
    assert fast.shape == (len(rows), 3 + (noise is not None))
    assert np.all(fast[-3:].max(axis=1) == 1.0)  # far out: one component takes the row
