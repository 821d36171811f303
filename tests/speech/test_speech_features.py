"""gmmkit_speech features: MFCC recipe against librosa, the audio loader, bad audio."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import re
import warnings

import librosa
import numpy as np
import soundfile
from gmmkit_speech import ClippedAudioWarning, FeatureConfig, load_audio, mfcc
from gmmkit_speech.features import clipped_fraction, energy_vad, static_mfcc

from gmmkit.plugins import make_plugin_manager

SR = 16000


def tone(seconds, freq=440.0, amplitude=0.5, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return amplitude * np.sin(2 * np.pi * freq * t)


def chirpy(seconds=1.0, seed=0):
    """A voiced-like signal: a few harmonics with a wandering pitch, plus faint noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = 120 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    signal = sum(np.sin(h * phase) / h for h in range(1, 6))
    return 0.3 * signal / np.abs(signal).max() + 1e-4 * rng.standard_normal(t.size)


def test_static_part_is_librosa_and_deltas_are_librosa_deltas():
    signal = chirpy()
    frames = mfcc(signal, sr=SR, cmvn=None, vad=None)
    static = librosa.feature.mfcc(y=signal.astype(np.float32), sr=SR, n_mfcc=20, n_fft=400,
                                  hop_length=160, n_mels=40)
    assert frames.shape == (static.shape[1], 60) == (101, 60)
    np.testing.assert_allclose(frames[:, :20], static.T, rtol=1e-6)
    np.testing.assert_allclose(frames[:, 20:40], librosa.feature.delta(static, width=9).T,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(frames[:, 40:], librosa.feature.delta(static, order=2).T,
                               rtol=1e-5, atol=1e-5)


def test_cmvn_standardises_every_column_over_the_kept_frames():
    raw = mfcc(chirpy(), sr=SR, cmvn=None, vad=None)
    normalised = mfcc(chirpy(), sr=SR, vad=None)
    np.testing.assert_allclose(normalised, (raw - raw.mean(0)) / raw.std(0), atol=1e-9)
    np.testing.assert_allclose(normalised.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(normalised.std(0), 1, atol=1e-9)


def test_energy_vad_keeps_the_speech_and_drops_the_silence():
    quiet = 1e-5 * np.random.default_rng(1).standard_normal(SR // 2)
    signal = np.concatenate([quiet, chirpy(0.5), quiet])
    n_frames = 1 + signal.size // 160
    keep = energy_vad(signal, n_frames=n_frames, n_fft=400, hop=160)
    # frame t is centred on sample 160 t; the speech is samples 8000-15999
    centres = np.arange(n_frames) * 160
    assert keep[(centres >= 8200) & (centres < 15800)].all()
    assert not keep[(centres < 7800) | (centres >= 16200)].any()
    frames = mfcc(signal, sr=SR, cmvn=None)
    np.testing.assert_allclose(frames, mfcc(signal, sr=SR, cmvn=None, vad=None)[keep])


def test_registered_mfcc_keeps_its_plain_contract_and_speaker_mfcc_is_the_recipe():
    pm = make_plugin_manager(environ={})
    features = {name: entry.obj for name, entry in pm.registry("features").items()}
    signal = tone(0.5, amplitude=1.0)
    assert features["mfcc"](signal, sr=SR).shape == (51, 20)
    np.testing.assert_array_equal(
        features["mfcc"](signal, sr=SR), mfcc(signal, sr=SR, deltas=False, cmvn=None, vad=None)
    )
    np.testing.assert_array_equal(features["speaker_mfcc"](chirpy(), sr=SR), mfcc(chirpy()))
    assert static_mfcc(signal, deltas=True).shape == (51, 60)


def test_integer_pcm_is_scaled_to_full_scale():
    signal = chirpy()
    pcm = np.round(signal * 32767).astype(np.int16)
    np.testing.assert_allclose(mfcc(pcm), mfcc(pcm / 32767.0))
    # a few LSB of int16 hiss is -80 dBFS once scaled: silence to the VAD
    hiss = np.random.default_rng(0).integers(-3, 4, SR).astype(np.int16)
    with pytest.raises(ValueError, match="has no speech"):
        mfcc(hiss)


def test_feature_config_round_trip_and_extract_resamples():
    config = FeatureConfig(n_mfcc=13, vad=None)
    assert FeatureConfig.from_dict(config.to_dict()) == config
    assert config.n_features == 39
    signal = chirpy()
    at_8k = librosa.resample(signal, orig_sr=SR, target_sr=8000)
    np.testing.assert_allclose(
        config.extract(at_8k, sr=8000),
        mfcc(librosa.resample(at_8k, orig_sr=8000, target_sr=SR), n_mfcc=13, vad=None),
    )
    with pytest.raises(ValueError, match=re.escape("cmvn='global' is not valid")):
        FeatureConfig(cmvn="global")


@pytest.mark.parametrize("fmt, suffix", [("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg")])
def test_load_audio_mixes_channels_and_resamples(tmp_path, fmt, suffix):
    left, right = tone(0.5, 300, sr=44100), tone(0.5, 700, sr=44100, amplitude=0.2)
    path = tmp_path / f"stereo.{suffix}"
    soundfile.write(path, np.column_stack([left, right]), 44100, format=fmt)
    signal = load_audio(path, sr=SR)
    assert signal.shape == (8000,)
    expected = librosa.resample((left + right) / 2, orig_sr=44100, target_sr=SR)
    if fmt == "OGG":  # lossy: compare the spectra's peaks, not the samples
        spectrum = np.abs(np.fft.rfft(signal))
        assert {round(f) for f in np.fft.rfftfreq(8000, 1 / SR)[np.argsort(spectrum)[-2:]]} == {
            300, 700}
    else:
        np.testing.assert_allclose(signal, expected, atol=1e-4)  # 16-bit samples


# ------------------------------------------------------------------ bad input


def test_unreadable_audio_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    with pytest.raises(ValueError) as info:
        load_audio(path)
    message = str(info.value)
    assert message.startswith(f"cannot read audio file '{path}' (")
    assert message.endswith("); give a WAV, FLAC or OGG file.")


def test_empty_audio_file(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0), SR)
    with pytest.raises(ValueError) as info:
        load_audio(path)
    assert str(info.value) == (
        f"audio file '{path}' is empty (0 samples); record or choose another."
    )


def test_silence_only_audio_leaves_no_frames_after_vad():
    silence = 1e-5 * np.random.default_rng(0).standard_normal(SR)
    with pytest.raises(ValueError) as info:
        mfcc(silence, source="'quiet.wav'")
    assert str(info.value) == (
        "'quiet.wav' has no speech: the energy VAD dropped all 101 frames (none above -60 dBFS); "
        "check the recording level, or pass vad=None."
    )


def test_clipped_audio_is_scored_with_a_warning():
    clipped = np.clip(6 * chirpy(), -1.0, 1.0)
    assert clipped_fraction(clipped) > 0.05
    with pytest.warns(ClippedAudioWarning) as caught:
        frames = mfcc(clipped, source="'loud.wav'")
    fraction = 100 * clipped_fraction(clipped)
    assert str(caught[0].message) == (
        f"'loud.wav' is clipped: {fraction:.1f}% of its samples sit in flat runs at its peak; "
        "clipping distorts the spectrum and lowers speaker scores; record at a lower gain."
    )
    assert frames.shape[1] == 60
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mfcc(tone(0.5, amplitude=1.0))  # a full-scale sine is not clipped


def test_very_short_utterance():
    with pytest.raises(ValueError) as info:
        mfcc(chirpy(0.05), source="'blip.wav'")
    assert str(info.value) == (
        "'blip.wav' is too short: 0.050 s gives 6 frames; at least 9 frames (0.080 s) are "
        "needed; give a longer utterance."
    )
    assert mfcc(chirpy(0.05), deltas=False, vad=None).shape == (6, 20)


def test_stereo_array_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=re.escape("Mix the channels down first")):
        mfcc(np.zeros((1000, 2)))
