"""The four systems on the bundled set and in a harder condition; the conditions themselves."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import re

import numpy as np
from gmmkit_speech.comparison import (
    IVECTOR_RECIPE,
    SYSTEMS,
    bundled_signals,
    join_words,
    protocol_split,
    run_bundled_comparison,
)
from gmmkit_speech.conditions import add_noise, degrade, telephone


@pytest.fixture(scope="module")
def signals():
    return bundled_signals()


@pytest.fixture(scope="module")
def cache():
    return {}  # the UBMs and T matrix are trained once for the whole module


@pytest.fixture(scope="module")
def comparison(signals, cache):
    """The test protocol (take-2 words seven .. stop), single words, the frozen recipe."""
    return run_bundled_comparison(conditions=("clean", "noise 10 dB"), signals=signals,
                                  cache=cache)


@pytest.fixture(scope="module")
def two_words(signals, cache):
    """The test protocol, two joined words per test unit."""
    return run_bundled_comparison(conditions=("clean", "noise 10 dB"), signals=signals,
                                  cache=cache, test_words=2)


@pytest.mark.slow
def test_ivector_plda_on_two_word_tests_reaches_1_percent_eer_and_99_percent_identified(
        two_words):
    """The issue's target, on the test protocol with two words per test unit (docs/speech.md)."""
    plda = two_words.results["i-vector PLDA", "clean"]
    assert len(plda.true) == 30 and plda.scores.shape == (30, 10)  # 3 two-word units a speaker
    assert plda.eer <= 0.01 and plda.accuracy >= 0.99  # measured: 0.00%, 100%


@pytest.mark.slow
def test_s_norm_lowers_the_gmm_ubm_eer_by_at_least_30_percent(two_words, signals, cache):
    plain = two_words.results["GMM-UBM", "clean"]
    normed = two_words.results["GMM-UBM + S-norm", "clean"]
    assert normed.eer <= 0.7 * plain.eer  # measured: 1.48% -> 0.00%
    assert plain.accuracy >= 0.99 and normed.accuracy >= 0.99
    # single words of the whole take 2 (the GMM-UBM has no setting chosen on development)
    every = run_bundled_comparison(systems=("GMM-UBM", "GMM-UBM + S-norm"), protocol="all",
                                   signals=signals, cache=cache)
    plain, normed = every.results["GMM-UBM", "clean"], every.results["GMM-UBM + S-norm", "clean"]
    assert plain.scores.shape == (140, 10)
    assert normed.eer <= 0.7 * plain.eer  # measured: 2.06% -> 1.19%


@pytest.mark.slow
def test_every_system_on_single_test_words(comparison):
    """One word (~0.4 s) per test: one error each (s01's 'stop' taken for s02), see docs."""
    for system in SYSTEMS:
        result = comparison.results[system, "clean"]
        assert len(result.true) == 70 and result.scores.shape == (70, 10)
        assert result.eer <= 0.015 and result.accuracy >= 0.98  # measured: 1.43%, 98.6%
    plain, normed = (comparison.results[s, "clean"] for s in SYSTEMS[:2])
    assert normed.min_dcf < 0.5 * plain.min_dcf  # measured: 0.371 -> 0.057


@pytest.mark.slow
def test_the_recipe_enrols_on_joined_words_and_adaptively_s_norms(signals, cache, comparison):
    """IVECTOR_RECIPE's enrolment and score normalisation, recomputed step by step."""
    from gmmkit_speech.ivector import IvectorExtractor, extract_ivectors
    from gmmkit_speech.norm import normalise_scores

    assert IVECTOR_RECIPE["enrol"] == "joined" and IVECTOR_RECIPE["norm"] == "as-norm"
    utterances, _ = signals
    enrol, test = protocol_split(utterances, "test")
    train = cache["frames", "clean", tuple(enrol)]
    owners = [utterances[i].speaker for i in enrol]
    extractor = next(v for v in cache.values() if isinstance(v, IvectorExtractor))
    ubm, backend = comparison.results["i-vector PLDA", "clean"].ubm, extractor.backend
    result = comparison.results["i-vector PLDA", "clean"]
    joined = [extract_ivectors(extractor, [np.concatenate(
        [f for f, o in zip(train, owners) if o == name])], ubm=ubm) for name in result.names]
    cohort = extract_ivectors(extractor, train, ubm=ubm)
    tests = extract_ivectors(extractor, cache["frames", "clean", tuple(test)], ubm=ubm)
    for name, model in zip(result.names, joined):
        np.testing.assert_allclose(result.speakers[name], model)  # one i-vector of 14 words
    raw = backend.score(joined, tests)
    expected = normalise_scores(
        raw, method="as-norm", top_n=20, enrol_cohort=backend.score(joined, cohort),
        test_cohort=backend.score([row[None] for row in cohort], tests).T,
        enrol_speakers=result.names, cohort_speakers=owners)
    np.testing.assert_allclose(result.scores, expected.T, rtol=1e-9, atol=1e-9)
    assert not np.allclose(expected, raw)
    # the other settings: an i-vector per enrolment word, raw scores (the same extractor)
    plain = run_bundled_comparison(systems=("i-vector PLDA",), signals=signals, cache=cache,
                                   ivector_recipe={"enrol": "words", "norm": None})
    plain = plain.results["i-vector PLDA", "clean"]
    assert all(plain.speakers[name].shape == (14, 100) for name in plain.names)
    np.testing.assert_allclose(plain.scores, backend.score(
        [cohort[np.asarray(owners) == name] for name in plain.names], tests).T, rtol=1e-9)


def test_development_and_test_trials_are_disjoint_and_neither_is_trained_on(signals):
    utterances, _ = signals
    dev_train, dev = protocol_split(utterances, "development")
    test_train, test = protocol_split(utterances, "test")
    all_train, everything = protocol_split(utterances, "all")
    assert dev_train == test_train == all_train == [
        i for i, u in enumerate(utterances) if u.take == 1]
    assert {utterances[i].take for i in dev + test} == {2}
    assert not set(dev) & set(test) and sorted(dev + test) == everything
    assert {utterances[i].text for i in dev} == {
        "zero", "one", "two", "three", "four", "five", "six"}
    assert len(dev) == len(test) == 70  # 7 words x 10 speakers
    with pytest.raises(ValueError, match=re.escape(
            "protocol='dev' is not known; use one of 'development', 'test', 'all'.")):
        protocol_split(utterances, "dev")


def test_a_bad_enrolment_setting_is_refused(signals):
    with pytest.raises(ValueError, match=re.escape(
            "enrol='all' is not valid; use 'words' or 'joined'.")):
        run_bundled_comparison(systems=("i-vector PLDA",), signals=signals,
                               ivector_recipe={"enrol": "all"})


def test_join_words_keeps_each_speakers_order():
    frames = [np.full((i + 1, 2), i, dtype=float) for i in range(5)]
    joined, owners = join_words(frames, ["a", "b", "a", "a", "b"], 2)
    assert owners == ["a", "b"]  # a's third word has no partner and is dropped
    np.testing.assert_array_equal(joined[0][:, 0], [0, 2, 2, 2])
    np.testing.assert_array_equal(joined[1][:, 0], [1, 1, 4, 4, 4, 4, 4])
    assert join_words(frames, list("abcab"), 1)[1] == list("aabbc")  # grouped by speaker
    single, _ = join_words(frames, ["a"] * 5, 1)
    assert all(np.array_equal(x, y) for x, y in zip(single, frames))
    with pytest.raises(ValueError, match=re.escape(
            "words=0 is not valid; use an int of at least 1.")):
        join_words(frames, ["a"] * 5, 0)


@pytest.mark.slow
def test_the_noisy_condition_is_harder_for_every_system(comparison, two_words):
    for results in (comparison.results, two_words.results):
        for system in SYSTEMS:
            clean = results[system, "clean"]
            noisy = results[system, "noise 10 dB"]
            assert noisy.eer > clean.eer + 0.02 and noisy.accuracy < clean.accuracy
        # the GMM-UBM degrades least: it still identifies most words
        assert results["GMM-UBM + S-norm", "noise 10 dB"].accuracy > 0.7
    rows = comparison.table()
    assert len(rows) == 8 and rows[0][:2] == ["GMM-UBM", "clean"]


@pytest.mark.slow
def test_det_figure_of_the_four_systems(comparison, tmp_path):
    pytest.importorskip("matplotlib")
    path = comparison.plot_det(tmp_path / "det.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


# --------------------------------------------------------------- conditions


def test_noise_has_the_asked_snr_and_a_fixed_seed():
    rng = np.random.default_rng(0)
    signal = np.sin(np.linspace(0, 200, 8000)) * rng.uniform(0.2, 1.0)
    noisy = add_noise(signal, 10.0, seed=3)
    noise = noisy - signal
    assert 10 * np.log10(np.mean(signal**2) / np.mean(noise**2)) == pytest.approx(10.0)
    assert np.array_equal(noisy, add_noise(signal, 10.0, seed=3))
    assert not np.array_equal(noisy, add_noise(signal, 10.0, seed=4))
    with pytest.raises(ValueError, match=re.escape(
        "snr_db=nan is not a finite number of decibels; use e.g. 10.")):
        add_noise(signal, float("nan"))
    with pytest.raises(ValueError, match=re.escape(
        "the signal is silent (power 0); noise at an SNR needs speech.")):
        add_noise(np.zeros(10), 10.0)


def test_the_telephone_channel_keeps_300_to_3400_hz():
    sr = 16000
    t = np.arange(sr) / sr
    tones = {100: None, 1000: None, 6000: None}
    for f in tones:
        out = telephone(np.sin(2 * np.pi * f * t), sr)
        assert out.shape == t.shape
        tones[f] = np.sqrt(np.mean(out[2000:-2000] ** 2) / 0.5)  # gain, edges left out
    assert tones[1000] == pytest.approx(1.0, abs=0.05)
    assert tones[100] < 0.05 and tones[6000] < 0.01
    with pytest.raises(ValueError, match=re.escape(
        "the band 300-5000 Hz does not fit an 8 kHz channel at sr=16000; use 0 < low < high < "
        "4000.")):
        telephone(t, sr, high=5000)
    with pytest.raises(ValueError, match=re.escape(
        "condition='loud' is not known; use one of 'clean', 'noise 10 dB', 'telephone'.")):
        degrade(t, sr, "loud")
