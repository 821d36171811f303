"""gmmkit speech identify/verify on many files, evaluate's reports, calibrate, --sr, progress."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import csv
import json
import re
import warnings

import numpy as np
import soundfile
from gmmkit_speech import (
    ScoreCalibration,
    SpeakerStore,
    UpsampledAudioWarning,
    actual_dcf,
    bayes_threshold,
    cllr,
    llr_score,
    load_audio,
    score_files,
)
from gmmkit_speech.data import load_speech_set
from gmmkit_speech.trials import Trials
from speech_helpers import run

from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager

WORDS = ("one", "two", "three", "four", "five", "six")
SPEAKERS = ("s02", "s06")


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def audio(cli, tmp_path_factory):
    """take1/NAME, take2/NAME (6 words of 2 speakers), an 8-component store, trials lists."""
    root = tmp_path_factory.mktemp("batch")
    for utterance in load_speech_set():
        if utterance.speaker in SPEAKERS and utterance.text in WORDS:
            folder = root / f"take{utterance.take}" / utterance.speaker
            folder.mkdir(parents=True, exist_ok=True)
            (folder / utterance.path.name).write_bytes(utterance.path.read_bytes())
    result = run(cli, "speech", "ubm", root / "take1", "-k", 8, "-o", root / "ubm.gmm")
    assert result.exit_code == 0, result.output
    root.joinpath("ubm.stderr").write_text(result.stderr)
    for speaker in SPEAKERS:
        result = run(cli, "speech", "enroll", "--ubm", root / "ubm.gmm", "--speaker", speaker,
                     root / "take1" / speaker, "--store", root / "store", "-q")
        assert result.exit_code == 0, result.output
    with open(root / "trials.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["speaker", "file", "target", "condition"])
        for i, file in enumerate(sorted((root / "take2").rglob("*.flac"))):
            for speaker in SPEAKERS:
                writer.writerow([speaker, file.relative_to(root), int(file.parent.name == speaker),
                                 "odd" if i % 2 else "even"])
    return root


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_identify_many_files_and_folders_in_one_process(cli, audio, tmp_path):
    extra = audio / "take1" / "s02" / "s02_one_1.flac"
    result = run(cli, "speech", "identify", "--store", audio / "store", audio / "take2", extra,
                 "--scores", tmp_path / "ids.csv", "-n", 1, "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_files"] == 13 and summary["scores_csv"] == str(tmp_path / "ids.csv")
    store = SpeakerStore(audio / "store")
    rows = read_csv(tmp_path / "ids.csv")
    assert list(rows[0]) == ["file", "speaker", "score", "decision"] and len(rows) == 26
    for entry in summary["results"]:
        frames = store.features_of(entry["file"])
        exact = {s: llr_score(store[s], store.ubm, frames, top_c=5) for s in SPEAKERS}
        best = max(exact, key=exact.get)
        assert entry["speaker"] == best and entry["scores"] == pytest.approx({best: exact[best]})
        mine = {r["speaker"]: r for r in rows if r["file"] == entry["file"]}
        assert {s: float(r["score"]) for s, r in mine.items()} == pytest.approx(exact, abs=1e-6)
        assert {s: r["decision"] for s, r in mine.items()} == {
            s: "identified" if s == best else "" for s in SPEAKERS}
    assert sum(e["speaker"] == e["file"].split("/")[-2] for e in summary["results"]) >= 11
    text = run(cli, "speech", "identify", "--store", audio / "store", extra, "-n", 2)
    assert text.exit_code == 0 and text.stdout.splitlines()[0] == f"{extra}: s02"
    assert len(text.stdout.splitlines()) == 3


def test_score_files_is_llr_score_file_by_file(audio):
    store = SpeakerStore(audio / "store")
    files = sorted(str(f) for f in (audio / "take2" / "s06").iterdir())
    table = score_files(store, files, top_c=None)
    expected = [[llr_score(store[s], store.ubm, store.features_of(f)) for s in table.speakers]
                for f in files]
    np.testing.assert_allclose(table.scores, expected, rtol=1e-10)
    assert table.speakers == list(SPEAKERS) and table.files == files
    np.testing.assert_array_equal(table.decisions(0.0), table.scores >= 0.0)


def test_verify_many_files_writes_one_scores_csv(cli, audio, tmp_path):
    result = run(cli, "speech", "verify", "--store", audio / "store", "--speaker", "s06",
                 audio / "take2", "--threshold", 0.1, "--scores", tmp_path / "v.csv", "--json",
                 "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_files"] == 12 and summary["threshold"] == 0.1
    assert summary["threshold_source"] == "--threshold"
    rows = read_csv(tmp_path / "v.csv")
    assert [r["speaker"] for r in rows] == ["s06"] * 12
    for row, entry in zip(rows, summary["results"]):
        assert row["file"] == entry["file"]
        assert float(row["score"]) == pytest.approx(entry["score"], abs=1e-6)
        assert row["decision"] == ("accept" if entry["score"] >= 0.1 else "reject")
        assert entry["accepted"] == (entry["score"] >= 0.1)
    assert summary["n_accepted"] == sum(r["decision"] == "accept" for r in rows)
    text = run(cli, "speech", "verify", "--store", audio / "store", "--speaker", "s06",
               audio / "take2" / "s06", "-q")
    assert text.stdout.splitlines()[-1].endswith(
        "threshold +0.0000 (uncalibrated default; run `gmmkit speech calibrate`)")
    unknown = run(cli, "speech", "verify", "--store", audio / "store", "--speaker", "zed",
                  audio / "take2", "-q")
    assert unknown.exit_code == 1 and "unknown speaker 'zed'" in unknown.output


@pytest.mark.slow
def test_calibrate_then_verify_uses_the_calibrated_threshold(cli, audio, tmp_path):
    store_copy = tmp_path / "store"
    run(cli, "speech", "enroll", "--ubm", audio / "ubm.gmm", "--speaker", "s02",
        audio / "take1" / "s02", "--store", store_copy, "-q")
    run(cli, "speech", "enroll", "--speaker", "s06", audio / "take1" / "s06", "--store",
        store_copy, "-q")
    result = run(cli, "speech", "calibrate", "--store", store_copy, "--trials",
                 audio / "trials.csv", "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    trials = Trials.read(audio / "trials.csv")
    store = SpeakerStore(store_copy)
    raw = np.array([llr_score(store[s], store.ubm, store.features_of(f), top_c=5)
                    for s, f in zip(trials.speakers, trials.files)])
    expected = ScoreCalibration().fit(raw, trials.is_target)
    assert summary["scale"] == pytest.approx(expected.scale_, rel=1e-4)
    assert summary["offset"] == pytest.approx(expected.offset_, rel=1e-4, abs=1e-6)
    assert summary["cllr"] <= summary["cllr_raw"] and summary["n_trials"] == 24
    calibration, record = store.calibration(top_c=5)
    assert record["n_trials"] == 24 and calibration.p_target == 0.5
    verified = run(cli, "speech", "verify", "--store", store_copy, "--speaker", "s02",
                   audio / "take2" / "s02", "--p-target", 0.5, "--json", "-q")
    answer = json.loads(verified.stdout)
    assert answer["threshold"] == pytest.approx(calibration.threshold(p_target=0.5))
    assert answer["threshold"] == pytest.approx(-calibration.offset_ / calibration.scale_)
    assert answer["threshold_source"] == "calibrated for --p-target 0.5"
    other = run(cli, "speech", "verify", "--store", store_copy, "--speaker", "s02",
                audio / "take2" / "s02", "--top-c", 0)
    assert other.exit_code == 2 and other.output.splitlines()[-1] == (
        f"Error: the calibration of '{store_copy}' was fitted on scores made with --top-c 5, not "
        "--top-c 0; score them the same way or calibrate again (`gmmkit speech calibrate`). Or "
        "pass --threshold.")
    mismatched = run(cli, "speech", "evaluate", "--store", store_copy, "--trials",
                     audio / "trials.csv", "--det", tmp_path / "m.png", "-q", "--json",
                     "--top-c", 3)
    assert mismatched.exit_code == 0 and not json.loads(mismatched.stdout)["calibrated"]
    assert mismatched.stderr == (
        f"Warning: the calibration of '{store_copy}' was fitted on scores made with --top-c 5, "
        "not --top-c 3; score them the same way or calibrate again (`gmmkit speech "
        "calibrate`). Actual DCF and Cllr are of the raw scores.\n")
    # --prior weights the logistic regression for another target prior
    weighted = json.loads(run(cli, "speech", "calibrate", "--store", store_copy, "--trials",
                              audio / "trials.csv", "--prior", 0.2, "--json", "-q").stdout)
    expected = ScoreCalibration(p_target=0.2).fit(raw, trials.is_target)
    assert weighted["scale"] == pytest.approx(expected.scale_, rel=1e-4)
    assert store.calibration(top_c=5)[0].p_target == 0.2
    targets_only = tmp_path / "targets.csv"
    targets_only.write_text("speaker,file,target\n" + "".join(
        f"s02,{f},1\n" for f in sorted((audio / "take2" / "s02").iterdir())))
    refused = run(cli, "speech", "calibrate", "--store", store_copy, "--trials", targets_only,
                  "-q")
    assert refused.exit_code == 1 and refused.output.splitlines()[-1] == (
        f"Error: '{targets_only}': calibration needs both target and non-target trials; got 6 "
        "and 0. Give development trials of both kinds.")
    assert store.calibration(top_c=5)[0].p_target == 0.2  # the stored one is kept
    # evaluate reads the scores through the calibration for actual DCF and Cllr
    evaluated = json.loads(run(cli, "speech", "evaluate", "--store", store_copy, "--trials",
                               audio / "trials.csv", "--det", tmp_path / "d.png", "-q",
                               "--json").stdout)
    llrs = store.calibration(top_c=5)[0].transform(raw)  # the one fitted with --prior 0.2
    assert evaluated["calibrated"]
    assert evaluated["cllr"] == pytest.approx(cllr(llrs[trials.is_target],
                                                   llrs[~trials.is_target]), rel=1e-6)


def test_evaluate_reports_identification_actual_dcf_cllr_and_writes_scores(cli, audio,
                                                                          tmp_path):
    result = run(cli, "speech", "evaluate", "--store", audio / "store", "--trials",
                 audio / "trials.csv", "--det", tmp_path / "det.png", "--scores",
                 tmp_path / "trials_scores.csv", "--p-target", 0.1, "-q")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"24 trials \(12 target\), gmm: EER \d+\.\d\d%, minDCF\(p_target=0\.1\) "
                        r"\d\.\d{4} (at threshold [+-]\d\.\d{4}|rejecting all) \(miss \d+\.\d%, "
                        r"false alarm \d+\.\d\d%\)", lines[0])
    assert re.fullmatch(r"actual DCF \d+\.\d{4}, Cllr \d+\.\d{4} \(raw scores read as LLRs\)",
                        lines[1])
    assert re.fullmatch(r"identification: \d+ of 12 files \(\d+\.\d%\)", lines[4])
    assert lines[5] == "confusion matrix (rows: true speaker, columns: identified):"
    assert lines[6].split() == ["s02", "s06"] and lines[7].split()[0] == "s02"
    rows = read_csv(tmp_path / "trials_scores.csv")
    assert list(rows[0]) == ["file", "speaker", "score", "decision", "target", "condition"]
    summary = json.loads(run(cli, "speech", "evaluate", "--store", audio / "store", "--trials",
                             audio / "trials.csv", "--det", tmp_path / "det2.png",
                             "--p-target", 0.1, "-q", "--json").stdout)
    scores = np.array([float(r["score"]) for r in rows])
    is_target = np.array([r["target"] == "1" for r in rows])
    assert len(rows) == 24 and {r["condition"] for r in rows} == {"odd", "even"}
    assert [r["decision"] == "accept" for r in rows] == list(
        scores >= bayes_threshold(p_target=0.1))
    assert summary["actual_dcf"] == pytest.approx(
        actual_dcf(scores[is_target], scores[~is_target], p_target=0.1), abs=1e-4)
    assert summary["cllr"] == pytest.approx(cllr(scores[is_target], scores[~is_target]),
                                            abs=1e-4)
    ident = summary["identification"]
    assert ident["labels"] == list(SPEAKERS) and np.sum(ident["confusion"]) == 12
    assert ident["n_correct"] == np.trace(ident["confusion"])


def test_a_trials_line_naming_a_missing_file(cli, audio, tmp_path):
    trials = tmp_path / "trials.csv"
    good = audio / "take2" / "s02" / "s02_one_2.flac"
    trials.write_text(f"speaker,file,target\ns02,{good},1\ns06,gone/s06_one_2.flac,0\n")
    result = run(cli, "speech", "evaluate", "--store", audio / "store", "--trials", trials,
                 "--det", tmp_path / "det.png", "-q")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: '{trials}' line 3: no such file 'gone/s06_one_2.flac' (looked for "
        f"'{tmp_path / 'gone/s06_one_2.flac'}'); files are relative to the trials file's folder.")
    assert not (tmp_path / "det.png").exists()
    assert len(Trials.read(trials)) == 2  # the API reads ids that are not files unless asked


def test_ubm_progress_is_one_line_per_stage(audio):
    stderr = audio.joinpath("ubm.stderr").read_text().splitlines()
    assert stderr[0].startswith("features (12 files)")
    assert stderr[1].startswith("training UBM: 8 components on ")
    assert stderr[2].startswith("training UBM: converged after ") and len(stderr) == 3


def test_8_khz_audio_is_not_upsampled_silently(cli, audio, tmp_path):
    narrow = tmp_path / "narrow"
    for speaker in SPEAKERS:
        (narrow / speaker).mkdir(parents=True)
        for file in (audio / "take1" / speaker).iterdir():
            signal = load_audio(file, sr=8000)
            soundfile.write(narrow / speaker / f"{file.stem}.wav", signal, 8000)
    result = run(cli, "speech", "ubm", narrow, "-k", 4, "-o", tmp_path / "u8.gmm", "--json",
                 "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sr"] == 8000 and "Warning" not in result.stderr
    forced = run(cli, "speech", "ubm", narrow, "-k", 4, "--sr", 16000, "-o",
                 tmp_path / "u16.gmm", "-q")
    assert forced.exit_code == 0, forced.output
    lowest = narrow / "s02" / "s02_five_1.wav"
    assert forced.stderr.splitlines() == [
        f"Warning: 12 of 12 files are sampled below 16000 Hz (lowest: 8000 Hz, '{lowest}'); "
        "they are upsampled to 16000 Hz, which adds no frequencies above 4000 Hz; train the UBM "
        "on audio at their rate (`gmmkit speech ubm --sr`) for such recordings."]
    tested = run(cli, "speech", "identify", "--store", audio / "store", narrow / "s06", "-q")
    assert tested.exit_code == 0 and tested.stderr.startswith(
        "Warning: 6 of 6 files are sampled below 16000 Hz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_audio(lowest, sr=16000)
    assert [str(w.message) for w in caught] == [
        f"'{lowest}' is sampled at 8000 Hz and is upsampled to 16000 Hz, which adds no "
        "frequencies above 4000 Hz; its features will not match those of 16000 Hz audio. Pass "
        "sr=8000 (and FeatureConfig(sr=8000)) to work at its rate."]
    assert caught[0].category is UpsampledAudioWarning


def test_a_failed_batch_writes_no_scores_and_inputs_are_never_overwritten(cli, audio, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF1234")
    result = run(cli, "speech", "identify", "--store", audio / "store", audio / "take2", bad,
                 "--scores", tmp_path / "out.csv", "-q")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith(f"Error: cannot read audio file '{bad}' (")
    assert not (tmp_path / "out.csv").exists()
    some_input = audio / "take2" / "s02" / "s02_one_2.flac"
    before = some_input.read_bytes()
    result = run(cli, "speech", "verify", "--store", audio / "store", "--speaker", "s02",
                 audio / "take2", "--scores", some_input, "-q")
    assert result.exit_code == 2 and some_input.read_bytes() == before
    assert result.output.splitlines()[-1] == (
        f"Error: Invalid value for '--scores': '{some_input}' is an input of this command; "
        "writing it would destroy the input: write the output to another file")
