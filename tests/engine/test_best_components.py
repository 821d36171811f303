"""best_components is log_prob.argmax(axis=0) bit for bit: ties, infinities, NaN, any K."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gmmkit import GaussianMixture
from gmmkit.engine.noise import NOISE_LABEL
from gmmkit.engine.scoring import best_components

#: values that make ties, signed zeros and the non-finite cases likely
SPECIAL = [-np.inf, -1e30, -3.0, -0.0, 0.0, 2.5, 1e30, np.inf, np.nan]


def assert_same_as_argmax(log_prob):
    got = best_components(log_prob)
    want = log_prob.argmax(axis=0)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_components", [1, 2, 3, 64, 255, 256, 300])
def test_equals_argmax_with_many_ties(n_components, dtype):
    rng = np.random.default_rng(n_components)
    # few distinct values: most columns have their maximum more than once
    log_prob = rng.integers(-3, 2, size=(n_components, 500)).astype(dtype)
    log_prob[:, :40] = rng.choice(np.array(SPECIAL, dtype=dtype), size=(n_components, 40))
    log_prob[:, 40] = -np.inf  # every component underflows
    log_prob[:, 41] = np.nan
    log_prob[-1, 42] = np.nan  # NaN in the last place only
    log_prob[:, 43] = 7.0  # all tie
    assert_same_as_argmax(log_prob)


def test_continuous_values_and_empty_and_strided_blocks():
    rng = np.random.default_rng(0)
    log_prob = rng.normal(size=(64, 2049))
    assert_same_as_argmax(log_prob)
    assert_same_as_argmax(log_prob[:, :0])
    assert_same_as_argmax(log_prob[:, ::3])  # not C-contiguous: numpy's argmax
    assert_same_as_argmax(np.asfortranarray(log_prob))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                  elements=st.sampled_from(SPECIAL)))
def test_equals_argmax_on_any_block(log_prob):
    assert_same_as_argmax(log_prob)


@pytest.mark.parametrize("noise", [None, "uniform"])
def test_predict_labels_are_the_old_argmax_with_duplicate_components(noise):
    """Two identical components tie on every row: the first wins, as before."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(300, 3)), rng.normal(loc=4.0, size=(300, 3))])
    kwargs = {} if noise is None else {"noise": noise}
    model = GaussianMixture(3, covariance_type="diag", random_state=0, **kwargs).fit(X)
    means = model.means_.copy()
    means[1] = means[0]
    covariances = model.covariances_.copy()
    covariances[1] = covariances[0]
    model.means_, model.covariances_ = means, covariances
    model.precisions_cholesky_ = 1.0 / np.sqrt(covariances)
    model.weights_ = np.array([0.3, 0.3, 0.4]) * model.weights_.sum()
    rows = np.vstack([X, rng.uniform(-40, 40, size=(50, 3)), [[1e300, 0.0, 0.0]]])
    labels = model.predict(rows)
    old = np.concatenate(model._map_log_prob(rows, lambda log_prob: log_prob.argmax(axis=0)))
    old[old == len(model.weights_)] = NOISE_LABEL
    np.testing.assert_array_equal(labels, old)
    assert labels.dtype == old.dtype
    assert (labels == 0).any() and not (labels == 1).any()  # the tie went to the first
