"""score_speakers scores the UBM once per utterance: the scores of llr_score, bit for bit."""

import re

import pytest
from gmmkit_speech import FeatureConfig, map_adapt
from gmmkit_speech.scoring import llr_score, score_speakers
from speech_helpers import blobs, small_ubm


def test_score_speakers_equals_llr_score_and_scores_the_ubm_once(monkeypatch):
    ubm = small_ubm()
    speakers = {name: map_adapt(ubm, blobs(300, seed, shift=shift))
                for name, seed, shift in [("a", 1, 0.0), ("b", 2, 0.8), ("c", 3, 0.4)]}
    X = blobs(50, 4, shift=0.4)
    expected = {name: llr_score(model, ubm, X) for name, model in speakers.items()}
    calls = []
    original = type(ubm).score_samples

    def counting(self, rows):
        calls.append(self is ubm)
        return original(self, rows)

    monkeypatch.setattr(type(ubm), "score_samples", counting)
    assert score_speakers(speakers, ubm, X) == expected  # exactly the same floats
    assert calls.count(True) == 1 and calls.count(False) == len(speakers)


def test_score_speakers_still_checks_each_speakers_features():
    ubm = small_ubm()
    other = map_adapt(ubm, blobs(300, 1))
    other.speech_ = {**other.speech_,
                     "features": FeatureConfig(n_mfcc=2, deltas=False, n_mels=30).to_dict()}
    with pytest.raises(ValueError, match=re.escape("the speaker model's features")):
        score_speakers({"other": other}, ubm, blobs(20, 2))
