"""The four systems on the bundled set and in a harder condition; the conditions themselves."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import re

import numpy as np
from gmmkit_speech.comparison import (
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
def comparison(signals):
    return run_bundled_comparison(conditions=("clean", "noise 10 dB"), signals=signals)


@pytest.mark.slow
def test_s_norm_lowers_the_gmm_ubm_eer_by_at_least_30_percent(comparison):
    plain = comparison.results["GMM-UBM", "clean"]
    normed = comparison.results["GMM-UBM + S-norm", "clean"]
    assert len(plain.true) == 140 and plain.scores.shape == (140, 10)
    assert normed.eer <= 0.7 * plain.eer  # measured: 2.06% -> 1.19%
    assert plain.accuracy >= 0.99 and normed.accuracy >= 0.99


@pytest.mark.slow
def test_ivector_systems_on_single_words(comparison):
    """One word (~0.4 s) per test: 1.5% EER, 97.9% identified, short of 1% / 99% (see docs)."""
    plda = comparison.results["i-vector PLDA", "clean"]
    cosine = comparison.results["i-vector cosine", "clean"]
    assert plda.eer <= 0.02 and plda.accuracy >= 0.97
    assert cosine.eer <= 0.06 and cosine.accuracy >= 0.95
    assert plda.min_dcf < cosine.min_dcf


@pytest.mark.slow
def test_ivector_plda_on_two_word_tests_reaches_1_percent_eer_and_99_percent_identified(signals):
    """The issue's target, on the protocol docs/speech.md states: two words per test unit."""
    result = run_bundled_comparison(systems=("i-vector PLDA",), test_words=2, signals=signals)
    plda = result.results["i-vector PLDA", "clean"]
    assert len(plda.true) == 70 and plda.scores.shape == (70, 10)  # 7 two-word units a speaker
    assert plda.eer <= 0.01 and plda.accuracy >= 0.99  # measured: 0.00%, 100%


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
def test_the_noisy_condition_is_harder_for_every_system(comparison):
    for system in SYSTEMS:
        clean = comparison.results[system, "clean"]
        noisy = comparison.results[system, "noise 10 dB"]
        assert noisy.eer > 2 * clean.eer and noisy.accuracy < clean.accuracy
    # the GMM-UBM degrades least: it still identifies most words
    assert comparison.results["GMM-UBM + S-norm", "noise 10 dB"].accuracy > 0.6
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
