"""sample_weight: integer weights are repeated rows, zero weights are dropped rows."""

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES, make_mixture

from gmmkit import GaussianMixture


@pytest.fixture
def weighted():
    X, _, _ = make_mixture(n_samples=300, n_features=3, seed=11)
    counts = np.random.default_rng(0).integers(0, 4, size=len(X))
    return X, counts


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_integer_weights_equal_repeated_rows(weighted, covariance_type, init_params):
    X, counts = weighted
    kwargs = dict(
        covariance_type=covariance_type, init_params=init_params, random_state=3, tol=1e-10
    )
    by_weight = GaussianMixture(3, **kwargs).fit(X, sample_weight=counts)
    by_rows = GaussianMixture(3, **kwargs).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(by_weight.weights_, by_rows.weights_, rtol=1e-7)
    np.testing.assert_allclose(by_weight.means_, by_rows.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(by_weight.covariances_, by_rows.covariances_, rtol=1e-7, atol=1e-9)
    assert by_weight.lower_bound_ == pytest.approx(by_rows.lower_bound_, rel=1e-9)


def test_weighted_score_bic_aic_equal_repeated_rows(weighted):
    X, counts = weighted
    model = GaussianMixture(3, random_state=0).fit(X, sample_weight=counts)
    repeated = np.repeat(X, counts, axis=0)
    assert model.score(X, sample_weight=counts) == pytest.approx(model.score(repeated), rel=1e-12)
    assert model.bic(X, sample_weight=counts) == pytest.approx(model.bic(repeated), rel=1e-12)
    assert model.aic(X, sample_weight=counts) == pytest.approx(model.aic(repeated), rel=1e-12)


def test_weights_change_the_model(weighted):
    X, counts = weighted
    plain = GaussianMixture(3, random_state=0).fit(X)
    heavy = GaussianMixture(3, random_state=0).fit(X, sample_weight=counts)
    assert not np.allclose(np.sort(plain.weights_), np.sort(heavy.weights_), atol=1e-3)


def test_fractional_weights_scale_free(weighted):
    X, counts = weighted
    a = GaussianMixture(3, random_state=0).fit(X, sample_weight=counts)
    b = GaussianMixture(3, random_state=0).fit(X, sample_weight=counts * 0.37)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-12)
