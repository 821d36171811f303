"""gmmkit_speech on the bundled speech set: recognition quality, the CLI end to end, the demo."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import csv
import json
import sys

import numpy as np
from gmmkit_speech import FeatureConfig, load_audio
from gmmkit_speech.data import load_speech_set
from gmmkit_speech.experiment import bundled_frames, run_bundled_experiment
from speech_helpers import run

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
    answer = json.loads(result.stdout)["results"][0]
    assert answer["speaker"] == "s07" and len(answer["scores"]) == 4
    verdict = run(cli, "speech", "verify", "--store", store, "--speaker", "s07",
                  audio / "test/s07/s07_seven_2.flac", "--json")
    verdict = json.loads(verdict.stdout)["results"][0]
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


# ------------------------------------------------------- score normalisation


def write_trials(audio, path, condition=None):
    """Every third take-2 file against the four enrolled speakers (76 trials)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["speaker", "file", "target"] + (["condition"] if condition else []))
        for i, file in enumerate(sorted((audio / "test").rglob("*_2.flac"))[::3]):
            for speaker in ("s01", "s04", "s07", "s10"):
                row = [speaker, file.relative_to(audio), int(file.parent.name == speaker)]
                writer.writerow(row + ([condition(i)] if condition else []))
    return path


@pytest.mark.slow
def test_cli_evaluate_with_s_norm_against_a_cohort_folder(cli, audio, store, tmp_path):
    trials = write_trials(audio, audio / "trials_norm.csv",
                          condition=lambda i: "even" if i % 2 == 0 else "odd")
    plain = run(cli, "speech", "evaluate", "--store", store, "--trials", trials, "--det",
                tmp_path / "a.png", "-q", "--json")
    assert plain.exit_code == 0, plain.output
    normed = run(cli, "speech", "evaluate", "--store", store, "--trials", trials, "--det",
                 tmp_path / "b.png", "-q", "--json", "--norm", "s-norm", "--cohort",
                 audio / "train")
    assert normed.exit_code == 0, normed.output
    plain, normed = json.loads(plain.stdout), json.loads(normed.stdout)
    assert normed["norm"] == "s-norm" and plain["norm"] == "none"
    assert normed["n_trials"] == 76 and set(normed["conditions"]) == {"even", "odd"}
    assert normed["conditions"]["even"]["n_trials"] + normed["conditions"]["odd"]["n_trials"] == 76
    assert normed["eer"] <= plain["eer"]
    # the same numbers from Python: S-norm with the cohort's take-1 files, own speaker left out
    from gmmkit_speech import SpeakerStore, equal_error_rate, normalise_scores
    from gmmkit_speech.adapt import map_adapt_each
    from gmmkit_speech.scoring import score_matrix
    from gmmkit_speech.trials import Trials, labelled_audio

    opened = SpeakerStore(store)
    listed = labelled_audio([audio / "train"])
    cohort = [opened.features_of(f) for f, _ in listed]
    trial_list = Trials.read(trials)
    names, files = sorted(set(trial_list.speakers)), sorted(set(trial_list.files))
    models = [opened[n] for n in names]
    tests = [opened.features_of(f) for f in files]
    expected = normalise_scores(
        score_matrix(models, opened.ubm, tests, top_c=5),
        enrol_cohort=score_matrix(models, opened.ubm, cohort, top_c=5),
        test_cohort=score_matrix(map_adapt_each(opened.ubm, cohort), opened.ubm, tests,
                                 top_c=5).T,
        enrol_speakers=names, cohort_speakers=[s for _, s in listed])
    scores = [expected[names.index(s), files.index(f)]
              for s, f in zip(trial_list.speakers, trial_list.files)]
    target = [x for x, t in zip(scores, trial_list.is_target) if t]
    nontarget = [x for x, t in zip(scores, trial_list.is_target) if not t]
    assert normed["eer"] == pytest.approx(equal_error_rate(target, nontarget))


@pytest.mark.slow
def test_cli_evaluate_norm_defaults_to_the_ubms_training_speakers(cli, audio, store, tmp_path):
    trials = write_trials(audio, audio / "trials_norm.csv")
    given = run(cli, "speech", "evaluate", "--store", store, "--trials", trials, "--det",
                tmp_path / "a.png", "-q", "--json", "--norm", "as-norm", "--top-n", 20,
                "--cohort", audio / "train")
    default = run(cli, "speech", "evaluate", "--store", store, "--trials", trials, "--det",
                  tmp_path / "b.png", "-q", "--json", "--norm", "as-norm", "--top-n", 20)
    assert given.exit_code == 0 and default.exit_code == 0, default.output
    assert json.loads(default.stdout)["eer"] == json.loads(given.stdout)["eer"]


def test_cli_evaluate_norm_bad_input(cli, audio, store, tmp_path):
    trials = write_trials(audio, audio / "trials_norm.csv")
    base = ["speech", "evaluate", "--store", store, "--trials", trials, "--det",
            tmp_path / "x.png", "-q"]
    result = run(cli, *base, "--norm", "as-norm")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --norm as-norm needs --top-n, the number of cohort scores kept per side (e.g. "
        "--top-n 100).")
    # 14 take-1 words of s01 and s04 each: 14 cohort utterances are left for s01's trials
    cohort = tmp_path / "cohort"
    for speaker in ("s01", "s04"):
        (cohort / speaker).mkdir(parents=True)
        for file in (audio / "train" / speaker).iterdir():
            (cohort / speaker / file.name).write_bytes(file.read_bytes())
    result = run(cli, *base, "--norm", "as-norm", "--top-n", 20, "--cohort", cohort)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: the cohort has 14 utterances after leaving out 14 of speaker s01 but --top-n 20 "
        "needs at least 20; add impostor speech to the cohort or lower --top-n.")
    assert not (tmp_path / "x.png").exists()
