"""partial_fit: stepwise (online) EM over a stream of batches."""

import warnings

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import GaussianMixture
from gmmkit.engine.online import step_size


def stream(X, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            yield X[order[start : start + batch_size]]


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_a_stream_of_batches_reaches_the_batch_fit(covariance_type):
    X, _, _ = make_mixture(n_samples=60000, n_features=4, n_components=4, seed=11)
    train, held_out = X[:50000], X[50000:]
    batch = GaussianMixture(4, covariance_type=covariance_type, n_init=3, random_state=0)
    batch.fit(train)
    online = GaussianMixture(4, covariance_type=covariance_type, random_state=0)
    for chunk in stream(train, 1000, epochs=2):
        online.partial_fit(chunk)
    assert online.n_steps_ == 100
    gap = abs(online.score(held_out) - batch.score(held_out)) / abs(batch.score(held_out))
    assert gap < 0.01


def test_the_first_batch_is_one_em_step_from_the_initialisation():
    X, _, _ = make_mixture(n_samples=2000, seed=3)
    online = GaussianMixture(3, random_state=0).partial_fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 does not converge
        one_step = GaussianMixture(3, random_state=0, max_iter=1).fit(X)
    # the same step, up to the rounding of dividing the sums by the batch weight
    np.testing.assert_allclose(online.means_, one_step.means_, rtol=1e-10)
    np.testing.assert_allclose(online.covariances_, one_step.covariances_, rtol=1e-10)
    assert online.lower_bound_ == pytest.approx(one_step.lower_bound_, rel=1e-12)


def test_step_sizes_and_blending():
    assert step_size(1, 0.7, 10.0) == 1.0
    assert step_size(2, 0.7, 10.0) == pytest.approx(12.0**-0.7)
    assert step_size(5, 1.0, 0.0) == pytest.approx(1 / 5)
    X, _, _ = make_mixture(n_samples=500, seed=4)
    model = GaussianMixture(3, random_state=0).fit(X)
    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import get_covariance_type
    from gmmkit.engine.threads import ChunkRunner

    cov_type = get_covariance_type("full")
    data = ChunkedData(X, None, X.mean(axis=0), np.dtype(np.float64), 128)
    with ChunkRunner() as runner:
        stats = data.e_step(cov_type, model._get_params_object(), runner)
    unit = stats.normalised()
    assert unit.weight == 1.0 and unit.nk.sum() == pytest.approx(1.0)
    half = unit.blend(stats.normalised(), 0.5)
    np.testing.assert_allclose(half.sxx, unit.sxx)


def test_weights_count_as_repeated_rows_within_a_batch():
    X, _, _ = make_mixture(n_samples=600, seed=5)
    counts = np.random.default_rng(0).integers(0, 3, size=len(X))
    start = GaussianMixture(3, random_state=0).fit(X)
    init = dict(weights_init=start.weights_, means_init=start.means_,
                precisions_init=start.precisions_)
    weighted = GaussianMixture(3, **init)
    repeated = GaussianMixture(3, **init)
    for part in np.array_split(np.arange(len(X)), 3):
        weighted.partial_fit(X[part], sample_weight=counts[part])
        repeated.partial_fit(np.repeat(X[part], counts[part], axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-10)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9)


def test_partial_fit_after_fit_continues_and_fit_restarts():
    X, _, _ = make_mixture(n_samples=4000, seed=6)
    model = GaussianMixture(3, random_state=0).fit(X)
    fitted_means = model.means_.copy()
    model.partial_fit(X[:2000])
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.means_[order], fitted_means[np.argsort(fitted_means[:, 0])],
                               atol=0.2)  # continued from the fit, not re-initialised
    assert model.n_steps_ == 1
    model.fit(X)
    assert not hasattr(model, "_online_state")
    np.testing.assert_array_equal(model.means_, fitted_means)


def test_partial_fit_errors():
    X, _, _ = make_mixture(n_samples=300, seed=7)
    with pytest.raises(ValueError, match="noise_bounds is the box of a noise component; pass "
                                         "it with noise='uniform'"):
        GaussianMixture(2).partial_fit(X, noise_bounds=[[0, 1]] * 3)
    with pytest.raises(ValueError, match=r"learning_decay must be in \(0.5, 1\]"):
        GaussianMixture(2, learning_decay=0.4).partial_fit(X)
    model = GaussianMixture(2).partial_fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        model.partial_fit(X[:, :2])


def test_partial_fit_with_missing_values():
    X, _, _ = make_mixture(n_samples=20000, n_features=3, seed=8)
    holes = X.copy()
    holes[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    batch = GaussianMixture(3, missing="em", random_state=0).fit(holes)
    online = GaussianMixture(3, missing="em", random_state=0)
    for chunk in stream(holes, 1000, epochs=2):
        online.partial_fit(chunk)
    gap = abs(online.score(holes) - batch.score(holes)) / abs(batch.score(holes))
    assert gap < 0.01
