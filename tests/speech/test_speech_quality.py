"""gmmkit_speech on the bundled speech set: recognition quality, the CLI end to end, the demo."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import csv
import json
import sys

import numpy as np
from click.testing import CliRunner
from gmmkit_speech import FeatureConfig, load_audio
from gmmkit_speech.data import load_speech_set
from gmmkit_speech.experiment import bundled_frames, run_bundled_experiment

from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def frames():
    return bundled_frames()


def test_bundled_set_is_what_the_manifest_says():
    utterances = load_speech_set()
    assert len(utterances) == 280
    assert len({u.speaker for u in utterances}) == 10
    assert {u.take for u in utterances} == {1, 2}
    first = utterances[0]
    signal = load_audio(first.path.open("rb"), sr=16000)
    assert 0.2 < signal.size / 16000 < 1.5 and 0.2 < np.abs(signal).max() <= 0.81


@pytest.mark.slow
def test_default_recipe_identifies_and_verifies_the_bundled_speakers(frames):
    result = run_bundled_experiment(frames=frames)
    assert len(result.true) == 140 and result.scores.shape == (140, 10)
    assert result.accuracy >= 0.95
    assert result.eer < 0.05
    target, nontarget = result.trial_scores()
    assert target.size == 140 and nontarget.size == 1260
    # top-C scoring gives the same decisions as scoring with every component
    exact = run_bundled_experiment(frames=frames, top_c=None)
    assert exact.predicted == result.predicted
    np.testing.assert_allclose(exact.scores, result.scores, atol=0.05)


# ----------------------------------------------------------------------- CLI


def run(cli, *args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """Four bundled speakers copied to disk: train/ (take 1) and test/ (take 2)."""
    root = tmp_path_factory.mktemp("speech")
    for utterance in load_speech_set():
        if utterance.speaker in ("s01", "s04", "s07", "s10"):
            folder = root / ("train" if utterance.take == 1 else "test") / utterance.speaker
            folder.mkdir(parents=True, exist_ok=True)
            (folder / utterance.path.name).write_bytes(utterance.path.read_bytes())
    return root


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def store(cli, audio):
    result = run(cli, "speech", "ubm", audio / "train", "-k", 32, "-o", audio / "ubm.gmm")
    assert result.exit_code == 0, result.output
    assert "training UBM: 32 components on" in result.stderr
    assert result.stdout.startswith("UBM: 32 components from 56 files (")
    for speaker in ("s01", "s04", "s07", "s10"):
        result = run(cli, "speech", "enroll", "--ubm", audio / "ubm.gmm", "--speaker", speaker,
                     audio / "train" / speaker, "--store", audio / "store", "-q")
        assert result.exit_code == 0, result.output
    assert "the store holds 4 speakers" in result.stdout
    return audio / "store"


@pytest.mark.slow
def test_cli_identify_and_verify(cli, audio, store):
    result = run(cli, "speech", "identify", "--store", store, audio / "test/s07/s07_seven_2.flac",
                 "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["speaker"] == "s07" and len(answer["scores"]) == 4
    verdict = run(cli, "speech", "verify", "--store", store, "--speaker", "s07",
                  audio / "test/s07/s07_seven_2.flac", "--json")
    verdict = json.loads(verdict.stdout)
    assert verdict["accepted"] and verdict["score"] == pytest.approx(answer["scores"]["s07"])
    text = run(cli, "speech", "verify", "--store", store, "--speaker", "s01",
               audio / "test/s07/s07_seven_2.flac").stdout
    assert text.startswith("reject: ") and "as s01 (score -" in text


@pytest.mark.slow
def test_cli_evaluate_prints_eer_and_draws_the_det_curve(cli, audio, store, tmp_path,
                                                         monkeypatch):
    trials = audio / "trials.csv"
    with open(trials, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["speaker", "file", "target"])
        for path in sorted((audio / "test").rglob("*_2.flac"))[::3]:
            for speaker in ("s01", "s04", "s07", "s10"):
                is_target = int(path.parent.name == speaker)
                writer.writerow([speaker, path.relative_to(audio), is_target])
    det = tmp_path / "det.png"
    result = run(cli, "speech", "evaluate", "--store", store, "--trials", trials, "--det", det,
                 "-q", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_trials"] == 76 and summary["n_target"] == 19
    assert summary["eer"] < 0.1 and det.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    result = run(cli, "speech", "evaluate", "--store", store, "--trials", trials, "--det",
                 tmp_path / "none.png", "-q")
    assert result.exit_code == 0, result.output
    assert "Warning: no DET plot: it needs matplotlib: pip install 'gmmkit[plot]'" in result.stderr
    assert "EER" in result.stdout and not (tmp_path / "none.png").exists()


@pytest.mark.slow
def test_cli_unknown_speaker_and_unreadable_file(cli, audio, store, tmp_path):
    result = run(cli, "speech", "verify", "--store", store, "--speaker", "zed",
                 audio / "test/s07/s07_seven_2.flac")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: unknown speaker 'zed' in store '{store}'; enrolled: s01, s04, s07, s10 (4 in "
        "all). Enrol it first (gmmkit speech enroll).\n"
    )
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF1234")
    result = run(cli, "speech", "identify", "--store", store, bad)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot read audio file '{bad}' (")
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_cli_enroll_with_another_ubm_than_the_stores(cli, audio, store, tmp_path):
    other = tmp_path / "other.gmm"
    result = run(cli, "speech", "ubm", audio / "train" / "s01", "-k", 8, "-o", other, "-q")
    assert result.exit_code == 0, result.output
    result = run(cli, "speech", "enroll", "--ubm", other, "--speaker", "s01", "--store", store,
                 audio / "train" / "s01", "-q")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: '{store}' was created with another UBM than '{other}'; its speakers are adapted "
        "from its own UBM. Leave out --ubm, or enrol into a new store.\n"
    )


def test_cli_enroll_without_a_store_or_ubm(cli, tmp_path, audio):
    result = run(cli, "speech", "enroll", "--speaker", "x", "--store", tmp_path / "new",
                 audio / "train" / "s01")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: '{tmp_path / 'new'}' is not a speaker store yet; pass --ubm UBM.gmm to create "
        "it.\n"
    )


@pytest.mark.slow
def test_demo_enrols_identifies_and_draws(tmp_path):
    from gmmkit_speech.demo import speech_demo

    section = speech_demo(tmp_path)
    assert section.figures == ["speech_det.png", "speech_confusion.png"]
    header, *rows = section.table
    assert header[1:] == [f"s{i:02d}" for i in range(1, 11)]
    assert sum(row[i + 1] for i, row in enumerate(rows)) >= 133  # 95% of 140 on the diagonal
    assert "Identification accuracy" in section.paragraphs[1]
    assert FeatureConfig().n_features == 60
