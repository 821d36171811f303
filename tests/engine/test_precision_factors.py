"""Precision factors through LAPACK directly: the numbers of scipy.linalg's wrappers."""

import numpy as np
import pytest
from scipy import linalg

from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.linalg import precision_cholesky_from_cov


@pytest.mark.parametrize("n_features", [1, 2, 7, 30])
def test_factor_is_bit_identical_to_scipy(n_features):
    rng = np.random.default_rng(n_features)
    for _ in range(20):
        a = rng.normal(size=(n_features, n_features + 2))
        cov = a @ a.T / n_features + 1e-4 * np.eye(n_features)
        expected = linalg.solve_triangular(
            linalg.cholesky(cov, lower=True), np.eye(n_features), lower=True
        ).T
        np.testing.assert_array_equal(precision_cholesky_from_cov(cov.copy(), 0.0, "c"), expected)


def test_singular_covariance_still_gets_jitter_and_warns():
    cov = np.ones((3, 3))  # rank one
    with pytest.warns(UserWarning, match="component 0 has a singular covariance"):
        chol = get_covariance_type("full").precision_cholesky(cov[None].copy(), 1e-6)
    assert np.all(np.isfinite(chol))
