"""gmmkit_speech score normalisation: Z-, T-, ZT-, S- and adaptive S-norm on hand-made scores."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")

import re

import numpy as np
from gmmkit_speech import normalise_scores
from gmmkit_speech.norm import cohort_statistics
from hypothesis import given, settings
from hypothesis import strategies as st

# two enrolment models, three test utterances, cohorts of four
SCORES = np.array([[3.0, 1.0, 0.0],
                   [2.0, 5.0, 1.0]])
ENROL_COHORT = np.array([[0.0, 1.0, 2.0, 1.0],     # mean 1, sd sqrt(0.5)
                         [1.0, 1.0, 3.0, 3.0]])    # mean 2, sd 1
TEST_COHORT = np.array([[0.0, 2.0, 0.0, 2.0],      # mean 1, sd 1
                        [2.0, 2.0, 2.0, 6.0],      # mean 3, sd sqrt(3)
                        [-1.0, 0.0, 1.0, 4.0]])    # mean 1, sd sqrt(3.5)
Z_MEAN, Z_SD = np.array([1.0, 2.0]), np.array([np.sqrt(0.5), 1.0])
T_MEAN, T_SD = np.array([1.0, 3.0, 1.0]), np.array([1.0, np.sqrt(3.0), np.sqrt(3.5)])


def z_by_hand(i, j):
    return (SCORES[i, j] - Z_MEAN[i]) / Z_SD[i]


def t_by_hand(i, j):
    return (SCORES[i, j] - T_MEAN[j]) / T_SD[j]


def each(function):
    return np.array([[function(i, j) for j in range(3)] for i in range(2)])


def test_cohort_statistics_by_hand():
    mean, sd = cohort_statistics(ENROL_COHORT)
    np.testing.assert_allclose(mean, Z_MEAN)
    np.testing.assert_allclose(sd, Z_SD)
    # top 2 of each row: [2, 1] and [3, 3]: the second has no spread
    with pytest.raises(ValueError, match=re.escape(
        "the cohort scores of row 1 of cohort are all equal (no spread); they cannot normalise "
        "a score; use a cohort of different speakers."
    )):
        cohort_statistics(ENROL_COHORT, top_n=2)
    mean, sd = cohort_statistics(TEST_COHORT[1:], top_n=2)  # [6, 2] and [4, 1]
    np.testing.assert_allclose(mean, [4.0, 2.5])
    np.testing.assert_allclose(sd, [2.0, 1.5])
    # NaN scores are left out
    mean, sd = cohort_statistics([[0.0, np.nan, 2.0, np.nan]])
    assert (mean[0], sd[0]) == (1.0, 1.0)


@pytest.mark.parametrize("method, expected", [
    ("z-norm", each(z_by_hand)),
    ("t-norm", each(t_by_hand)),
    ("s-norm", each(lambda i, j: 0.5 * z_by_hand(i, j) + 0.5 * t_by_hand(i, j))),
])
def test_z_t_and_s_norm_by_hand(method, expected):
    result = normalise_scores(SCORES, method=method, enrol_cohort=ENROL_COHORT,
                              test_cohort=TEST_COHORT)
    np.testing.assert_allclose(result, expected)
    # one score per trial: the same numbers, the cohort rows paired with the trials
    rows, columns = np.indices(SCORES.shape).reshape(2, -1)
    paired = normalise_scores(SCORES[rows, columns], method=method,
                              enrol_cohort=ENROL_COHORT[rows], test_cohort=TEST_COHORT[columns])
    np.testing.assert_allclose(paired, expected.ravel())


def test_s_norm_worked_example():
    # model 0 vs test 1: z = (1 - 1)/sqrt(.5) = 0, t = (1 - 3)/sqrt(3); s = -1/sqrt(3)
    result = normalise_scores(SCORES, enrol_cohort=ENROL_COHORT, test_cohort=TEST_COHORT)
    assert result[0, 1] == pytest.approx(-1 / np.sqrt(3))


def test_adaptive_s_norm_uses_each_sides_top_n_scores():
    enrol_cohort = np.array([[0.0, 1.0, 2.0, 4.0], [1.0, 3.0, 2.0, 0.0]])
    # (top 2 of the first test row, [2, 2], has no spread: take the top 3)
    result = normalise_scores(SCORES, method="as-norm", enrol_cohort=enrol_cohort,
                              test_cohort=TEST_COHORT, top_n=3)
    top_e = [(np.mean([4, 2, 1]), np.std([4, 2, 1])), (np.mean([3, 2, 1]), np.std([3, 2, 1]))]
    top_t = [(np.mean([2, 2, 0]), np.std([2, 2, 0])), (np.mean([6, 2, 2]), np.std([6, 2, 2])),
             (np.mean([4, 1, 0]), np.std([4, 1, 0]))]
    expected = [[0.5 * (SCORES[i, j] - top_e[i][0]) / top_e[i][1]
                 + 0.5 * (SCORES[i, j] - top_t[j][0]) / top_t[j][1] for j in range(3)]
                for i in range(2)]
    np.testing.assert_allclose(result, expected)
    # top_n = the cohort size is plain S-norm
    np.testing.assert_allclose(
        normalise_scores(SCORES, method="as-norm", enrol_cohort=ENROL_COHORT,
                         test_cohort=TEST_COHORT, top_n=4),
        normalise_scores(SCORES, method="s-norm", enrol_cohort=ENROL_COHORT,
                         test_cohort=TEST_COHORT))


def test_zt_norm_t_normalises_with_z_normed_cohort_scores():
    # two cohort models, scored against the four Z-cohort utterances
    cohort_cohort = np.array([[0.0, 2.0, 4.0, 2.0], [1.0, 1.0, 1.0, 5.0]])
    test_cohort = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 3.0]])
    result = normalise_scores(SCORES, method="zt-norm", enrol_cohort=ENROL_COHORT,
                              test_cohort=test_cohort, cohort_cohort=cohort_cohort)
    c_mean = cohort_cohort.mean(axis=1)
    c_sd = cohort_cohort.std(axis=1)
    expected = np.empty((2, 3))
    for i in range(2):
        for j in range(3):
            z = z_by_hand(i, j)
            normed = (test_cohort[j] - c_mean) / c_sd
            expected[i, j] = (z - normed.mean()) / normed.std()
    np.testing.assert_allclose(result, expected)


def test_leaving_out_the_claimed_speakers_own_cohort_speech():
    speakers = np.array(["a", "b", "c", "c"])
    result = normalise_scores(SCORES, enrol_cohort=ENROL_COHORT, test_cohort=TEST_COHORT,
                              enrol_speakers=["a", "b"], cohort_speakers=speakers)
    # model "a" without cohort column 0; model "b" without column 1
    for i, keep in enumerate([[1, 2, 3], [0, 2, 3]]):
        z = (SCORES[i] - ENROL_COHORT[i, keep].mean()) / ENROL_COHORT[i, keep].std()
        t = [(SCORES[i, j] - TEST_COHORT[j, keep].mean()) / TEST_COHORT[j, keep].std()
             for j in range(3)]
        np.testing.assert_allclose(result[i], 0.5 * z + 0.5 * np.array(t))


def test_normalisation_is_a_per_row_affine_map_so_order_within_a_row_is_kept():
    result = normalise_scores(SCORES, method="z-norm", enrol_cohort=ENROL_COHORT)
    for raw, normed in zip(SCORES, result):
        assert np.array_equal(np.argsort(raw), np.argsort(normed))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["z-norm", "t-norm", "s-norm", "as-norm"]))
def test_a_trial_depends_only_on_its_own_scores(seed, method):
    rng = np.random.default_rng(seed)
    scores, enrol, test = (rng.normal(size=s) for s in [(4, 5), (4, 8), (5, 8)])
    full = normalise_scores(scores, method=method, enrol_cohort=enrol, test_cohort=test,
                            top_n=5)
    inputs = [a.copy() for a in (scores, enrol, test)]
    one = normalise_scores(scores[1:2, 2:3], method=method, enrol_cohort=enrol[1:2],
                           test_cohort=test[2:3], top_n=5)
    assert one[0, 0] == pytest.approx(full[1, 2])
    for before, after in zip(inputs, (scores, enrol, test)):
        assert np.array_equal(before, after)  # nothing is overwritten


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "x-norm"}, "method='x-norm' is not valid; use one of z-norm, t-norm, zt-norm, "
                           "s-norm, as-norm."),
    ({"method": "as-norm"}, "method='as-norm' needs top_n, the number of cohort scores kept per "
                            "side (e.g. top_n=100); or use method='s-norm' for the whole cohort."),
    ({"test_cohort": None}, "method='s-norm' needs test_cohort; give the cohort scores of every "
                            "test utterance."),
    ({"enrol_cohort": ENROL_COHORT[:1]}, "enrol_cohort must have shape (2, n_cohort), one row per "
                                         "enrolment model; got (1, 4)."),
    ({"top_n": 10}, "the cohort has only 4 scores for some row of enrol_cohort but top_n=10 "
                    "needs 10; give a cohort of at least 10 speakers or lower top_n."),
    ({"top_n": 1}, "top_n=1 is not valid; use an int >= 2 (e.g. 100), or None for the whole "
                   "cohort."),
    ({"method": "zt-norm"}, "method='zt-norm' needs cohort_cohort, the scores of every cohort "
                            "model against the cohort utterances."),
    ({"enrol_speakers": ["a", "b"]}, "enrol_speakers and cohort_speakers go together: give the "
                                     "speaker of every enrolment model and of every cohort "
                                     "utterance."),
])
def test_bad_input(kwargs, message):
    arguments = {"enrol_cohort": ENROL_COHORT, "test_cohort": TEST_COHORT, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        normalise_scores(SCORES, **arguments)


def test_a_cohort_smaller_than_top_n_after_leaving_out_the_claimed_speaker():
    with pytest.raises(ValueError, match=re.escape(
        "the cohort has only 2 scores for some row of enrol_cohort but top_n=3 needs 3; give a "
        "cohort of at least 3 speakers or lower top_n."
    )):
        normalise_scores(SCORES, method="as-norm", top_n=3, enrol_cohort=ENROL_COHORT,
                         test_cohort=TEST_COHORT, enrol_speakers=["a", "c"],
                         cohort_speakers=["a", "b", "c", "c"])
