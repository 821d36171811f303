"""Memory: fitting never holds an n_samples x n_components array."""

import tracemalloc
import warnings

import numpy as np

from gmmkit import ConvergenceWarning, GaussianMixture


def peak_fit_bytes(X, **kwargs):
    """Peak bytes numpy allocated during fit (X itself excluded)."""
    model = GaussianMixture(**kwargs)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fit_memory_is_bounded_by_the_chunk_not_by_n_samples():
    rng = np.random.default_rng(0)
    kwargs = dict(
        n_components=16, covariance_type="full", chunk_size=2000, max_iter=3, tol=0,
        init_params="random", random_state=0,
    )
    small = rng.standard_normal((20_000, 4))
    large = rng.standard_normal((400_000, 4))
    n_by_k = large.shape[0] * kwargs["n_components"] * 8  # one float64 N x K array: 51 MB
    peak_small, peak_large = peak_fit_bytes(small, **kwargs), peak_fit_bytes(large, **kwargs)
    assert peak_large < n_by_k / 10
    assert peak_large < 1.5 * peak_small + 2**20  # 20x the rows, about the same memory
