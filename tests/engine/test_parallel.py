"""Restarts and grids in parallel processes give the serial result."""

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import GaussianMixture
from gmmkit.engine.rng import restart_rngs


def test_restart_generators_are_fixed_before_any_restart_runs():
    first = [rng.integers(1000, size=3).tolist() for rng in restart_rngs(7, 3)]
    again = [rng.integers(1000, size=3).tolist() for rng in restart_rngs(7, 3)]
    assert first == again and len({tuple(r) for r in first}) == 3
    # n_init=1 draws what the seed alone draws
    assert first[0] == np.random.default_rng(7).integers(1000, size=3).tolist()


@pytest.mark.slow
@pytest.mark.parametrize("random_state", [0, "generator"])
def test_parallel_restarts_equal_the_serial_fit(random_state):
    X, _, _ = make_mixture(n_samples=3000, n_features=4, seed=3)

    def seed():
        return np.random.default_rng(11) if random_state == "generator" else random_state

    params = dict(n_components=4, n_init=4, init_params="k-means++", max_iter=200)
    serial = GaussianMixture(random_state=seed(), **params).fit(X)
    parallel = GaussianMixture(random_state=seed(), n_jobs=2, **params).fit(X)
    np.testing.assert_array_equal(parallel.means_, serial.means_)
    np.testing.assert_array_equal(parallel.covariances_, serial.covariances_)
    assert parallel.lower_bounds_ == serial.lower_bounds_


def test_n_jobs_is_validated():
    X, _, _ = make_mixture(n_samples=100)
    with pytest.raises(ValueError, match="n_jobs=0 is not valid"):
        GaussianMixture(2, n_init=2, n_jobs=0).fit(X)
