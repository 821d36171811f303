"""`gmmkit speech` option checks: top-C on small UBMs, --n-mfcc range, finite thresholds."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import json
import math
import re

from gmmkit_speech import FeatureConfig
from gmmkit_speech.data import load_speech_set
from gmmkit_speech.scoring import llr_score, verify
from gmmkit_speech.store import SpeakerStore
from speech_helpers import run

from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager

WORDS = ("one", "two", "three", "four", "five")


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def small_store(cli, tmp_path_factory):
    """A 3-component UBM (fewer than the default --top-c 5) and two enrolled speakers."""
    root = tmp_path_factory.mktemp("speech")
    for utterance in load_speech_set():
        if utterance.speaker in ("s01", "s04") and utterance.text in WORDS:
            folder = root / f"take{utterance.take}" / utterance.speaker
            folder.mkdir(parents=True, exist_ok=True)
            (folder / utterance.path.name).write_bytes(utterance.path.read_bytes())
    result = run(cli, "speech", "ubm", root / "take1", "-k", 3, "-o", root / "ubm.gmm", "-q")
    assert result.exit_code == 0, result.output
    for speaker in ("s01", "s04"):
        result = run(cli, "speech", "enroll", "--ubm", root / "ubm.gmm", "--speaker", speaker,
                     root / "take1" / speaker, "--store", root / "store", "-q")
        assert result.exit_code == 0, result.output
    return root


def test_default_top_c_on_a_ubm_with_fewer_components(cli, small_store):
    """--top-c 5 (the default) on a 3-component UBM used to fail: top_c=5 is not valid."""
    store = SpeakerStore(small_store / "store")
    assert len(store.ubm.weights_) == 3
    utterance = small_store / "take2" / "s04" / "s04_three_2.flac"
    frames = store.features_of(utterance)
    exact = {name: llr_score(store[name], store.ubm, frames) for name in ("s01", "s04")}
    found = run(cli, "speech", "identify", "--store", small_store / "store", utterance, "--json")
    assert found.exit_code == 0, found.output
    answer = json.loads(found.stdout)["results"][0]
    assert answer["speaker"] == max(exact, key=exact.get)
    assert answer["scores"] == pytest.approx(exact, rel=1e-9)  # top-C of all 3 is exact
    checked = run(cli, "speech", "verify", "--store", small_store / "store", "--speaker", "s04",
                  utterance, "--json", "--top-c", 50)
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["results"][0]["score"] == pytest.approx(exact["s04"],
                                                                             rel=1e-9)


def test_verify_refuses_a_threshold_that_is_not_finite(cli, small_store):
    utterance = small_store / "take2" / "s04" / "s04_three_2.flac"
    for text in ("nan", "inf", "-inf"):
        result = run(cli, "speech", "verify", "--store", small_store / "store", "--speaker",
                     "s04", utterance, "--threshold", text)
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == (
            f"Error: Invalid value for '--threshold': {float(text)} is not a finite number; give "
            "a log-likelihood-ratio score such as 0 or 0.5"
        )
    store = SpeakerStore(small_store / "store")
    with pytest.raises(ValueError, match=re.escape(
        "threshold=nan is not a finite number; give a log-likelihood-ratio threshold such as 0.0."
    )):
        verify(store["s04"], store.ubm, store.features_of(utterance), threshold=math.nan)


def test_n_mfcc_beyond_the_mel_bands(cli, small_store):
    """--n-mfcc 500 used to fail late, in terms of FeatureConfig."""
    result = run(cli, "speech", "ubm", small_store / "take1", "-k", 2, "--n-mfcc", 500,
                 "-o", small_store / "big.gmm", "-q")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--n-mfcc': 500 is not in 1..40: the MFCCs come from 40 mel "
        "bands, so there are at most 40"
    )
    assert not (small_store / "big.gmm").exists()
    with pytest.raises(ValueError, match=re.escape(
        "n_mfcc=500 is not valid: the cepstrum of n_mels=40 mel bands has 40 coefficients; use "
        "an int from 1 to 40 (or more n_mels)."
    )):
        FeatureConfig(n_mfcc=500)
    assert FeatureConfig(n_mfcc=60, n_mels=64).n_features == 180
