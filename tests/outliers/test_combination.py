"""PyOD's combination functions (gmmkit_outliers.combination) against hand computations."""

import re

import numpy as np
import pytest
from gmmkit_outliers import aom, average, maximization, median, moa, standardizer
from gmmkit_outliers.combination import combine, make_buckets, member_weights

SCORES = np.random.default_rng(0).normal(size=(30, 10)) * np.arange(1, 11)


def test_average_maximization_median():
    np.testing.assert_allclose(average(SCORES), SCORES.mean(axis=1), rtol=1e-12)
    weights = np.arange(1.0, 11.0)
    np.testing.assert_allclose(average(SCORES, weights[None]),
                               (SCORES * weights).sum(axis=1) / weights.sum(), rtol=1e-12)
    np.testing.assert_array_equal(maximization(SCORES), SCORES.max(axis=1))
    np.testing.assert_array_equal(median(SCORES), np.median(SCORES, axis=1))


def test_standardizer_uses_the_training_mean_and_std():
    train, test = SCORES[:20], SCORES[20:]
    z, z_test, (mean, std) = standardizer(train, test, keep_scalar=True)
    np.testing.assert_allclose(mean, train.mean(axis=0))
    np.testing.assert_allclose(z, (train - train.mean(axis=0)) / train.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(z_test, (test - train.mean(axis=0)) / train.std(axis=0),
                               rtol=1e-12)
    flat = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    np.testing.assert_array_equal(standardizer(flat)[:, 0], 0.0)  # no spread: only centred


def test_standardizer_matches_pyod():
    utility = pytest.importorskip("pyod.utils.utility")
    ours = standardizer(SCORES[:20], SCORES[20:])
    theirs = utility.standardizer(SCORES[:20], SCORES[20:])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_static_buckets_partition_the_estimators():
    buckets = make_buckets(10, 5, random_state=0)
    assert [len(b) for b in buckets] == [2] * 5
    assert sorted(np.concatenate(buckets).tolist()) == list(range(10))
    by_hand_aom = np.mean([SCORES[:, b].max(axis=1) for b in buckets], axis=0)
    by_hand_moa = np.max([SCORES[:, b].mean(axis=1) for b in buckets], axis=0)
    np.testing.assert_allclose(aom(SCORES, 5, random_state=0), by_hand_aom, rtol=1e-12)
    np.testing.assert_allclose(moa(SCORES, 5, random_state=0), by_hand_moa, rtol=1e-12)
    # aom lies between the average and the maximum; moa between the average and the max too
    assert (aom(SCORES, 5, random_state=0) <= maximization(SCORES) + 1e-12).all()
    assert (moa(SCORES, 5, random_state=0) >= average(SCORES) - 1e-12).all()


def test_dynamic_buckets_have_two_to_half_the_estimators():
    buckets = make_buckets(12, 6, "dynamic", random_state=2)
    assert len(buckets) == 6
    assert all(2 <= len(b) < 6 and len(np.unique(b)) == len(b) for b in buckets)
    bootstrap = make_buckets(12, 3, "static", True, random_state=3)
    assert all(len(b) == 4 and len(np.unique(b)) == 4 for b in bootstrap)


@pytest.mark.parametrize("combination", ["average", "maximization", "aom", "moa"])
def test_member_weights_reproduce_the_combination_exactly(combination):
    buckets = make_buckets(10, 5, random_state=4)
    weights = member_weights(SCORES, combination, buckets)
    np.testing.assert_allclose((weights * SCORES).sum(axis=1),
                               combine(SCORES, combination, buckets), rtol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (weights >= 0).all()


def test_bad_input():
    with pytest.raises(ValueError, match=re.escape(
        "scores must be a 2-D array of shape (n_samples, n_estimators); got shape (10,)."
    )):
        average(np.arange(10.0))
    with pytest.raises(ValueError, match=re.escape(
        "10 estimators do not split into 4 equal buckets; with method='static' use an "
        "n_buckets that divides the number of estimators, or method='dynamic'."
    )):
        aom(SCORES, 4)
    with pytest.raises(ValueError, match=re.escape(
        "n_buckets=11 is not valid for 10 estimators; use an integer from 2 to 10."
    )):
        moa(SCORES, 11)
    with pytest.raises(ValueError, match=re.escape(
        "method='random' is not supported; use 'static' or 'dynamic'."
    )):
        aom(SCORES, 5, method="random")
    with pytest.raises(ValueError, match=re.escape(
        "estimator_weights has 3 values for 10 estimators; give one weight per column of scores."
    )):
        average(SCORES, np.ones(3))
