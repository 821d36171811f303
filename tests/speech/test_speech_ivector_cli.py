"""gmmkit speech tv, enroll --ivector and evaluate --backend on four bundled speakers."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import csv
import json

import numpy as np
from gmmkit_speech import IvectorExtractor, SpeakerStore
from gmmkit_speech.data import load_speech_set
from gmmkit_speech.statistics import ubm_name
from speech_helpers import run

from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager

SPEAKERS = ("s02", "s05", "s08", "s09")


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """Four bundled speakers on disk: train/NAME (take 1), test/NAME (take 2), a trials list."""
    root = tmp_path_factory.mktemp("ivector")
    for utterance in load_speech_set():
        if utterance.speaker in SPEAKERS:
            folder = root / ("train" if utterance.take == 1 else "test") / utterance.speaker
            folder.mkdir(parents=True, exist_ok=True)
            (folder / utterance.path.name).write_bytes(utterance.path.read_bytes())
    with open(root / "trials.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["speaker", "file", "target"])
        for file in sorted((root / "test").rglob("*.flac")):
            for speaker in SPEAKERS:
                writer.writerow([speaker, file.relative_to(root), int(file.parent.name == speaker)])
    return root


@pytest.fixture(scope="module")
def trained(cli, audio):
    """ubm.gmm (16 components) and tv.npz (rank 20, with back-end) from train/."""
    result = run(cli, "speech", "ubm", audio / "train", "-k", 16, "-o", audio / "ubm.gmm", "-q")
    assert result.exit_code == 0, result.output
    result = run(cli, "speech", "tv", audio / "train", "--ubm", audio / "ubm.gmm", "-o",
                 audio / "tv.npz", "--rank", 20, "--n-iter", 4, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["backend"] and summary["rank"] == 20 and summary["n_files"] == 56
    stderr = result.stderr.splitlines()  # one line per stage, as `gmmkit speech ubm`
    assert stderr[0].startswith("features (56 files)")
    assert stderr[1].startswith("training T matrix: rank 20 on 56 utterances (")
    assert stderr[2].startswith("training T matrix: 4 EM iterations (auxiliary log-likelihood ")
    assert len(stderr) == 3
    return audio / "ubm.gmm", audio / "tv.npz"


@pytest.fixture(scope="module")
def store(cli, audio, trained):
    ubm, tv = trained
    for i, speaker in enumerate(SPEAKERS):
        extra = ["--ubm", ubm, "--tv", tv] if i == 0 else []  # the store keeps both
        result = run(cli, "speech", "enroll", "--speaker", speaker, audio / "train" / speaker,
                     "--store", audio / "store", "--ivector", *extra, "-q", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ivector"]
    return audio / "store"


@pytest.mark.slow
def test_tv_file_matches_its_ubm_and_the_store_keeps_ivector_models(trained, store):
    ubm, tv = trained
    extractor = IvectorExtractor.load(tv)
    opened = SpeakerStore(store)
    assert extractor.ubm_name == ubm_name(opened.ubm) and extractor.rank == 20
    assert extractor.backend is not None and extractor.backend.plda_ is not None
    assert np.all(np.diff(extractor.log_likelihoods_) > 0)
    for speaker in SPEAKERS:
        assert opened.ivectors(speaker).shape == (14, 20)  # one per enrolment file
        assert opened[speaker].speech_["role"] == "speaker"  # the MAP model beside it
    expected = opened.extract_ivectors([opened.features_of(f) for f in
                                        sorted((store.parent / "train" / "s05").iterdir())])
    np.testing.assert_allclose(opened.ivectors("s05"), expected)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["cosine", "plda"])
def test_evaluate_with_the_ivector_backends(cli, audio, store, backend, tmp_path):
    result = run(cli, "speech", "evaluate", "--store", store, "--trials", audio / "trials.csv",
                 "--backend", backend, "--det", tmp_path / "det.png", "-q", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["backend"] == backend and summary["n_trials"] == 224
    assert summary["eer"] < 0.25  # four speakers, rank 20: far better than chance
    normed = run(cli, "speech", "evaluate", "--store", store, "--trials", audio / "trials.csv",
                 "--backend", backend, "--norm", "s-norm", "--cohort", audio / "train",
                 "--det", tmp_path / "det2.png", "-q", "--json")
    assert normed.exit_code == 0, normed.output
    assert json.loads(normed.stdout)["norm"] == "s-norm"


@pytest.mark.slow
def test_a_tv_of_another_ubm_is_refused_with_both_names(cli, audio, trained, store, tmp_path):
    ubm, tv = trained
    other = tmp_path / "other.gmm"
    assert run(cli, "speech", "ubm", audio / "train" / "s02", "-k", 4, "-o", other,
               "-q").exit_code == 0
    from gmmkit_speech import load_model

    result = run(cli, "speech", "enroll", "--ubm", other, "--speaker", "x", "--store",
                 tmp_path / "new", audio / "train" / "s02", "--ivector", "--tv", tv)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: '{tv}' was trained on UBM {IvectorExtractor.load(tv).ubm_name}, not on "
        f"'{other}' ({ubm_name(load_model(other))}); train an extractor on this UBM with "
        "`gmmkit speech tv AUDIO --ubm UBM.gmm -o TV.npz`.\n")
    assert not (tmp_path / "new").exists()


def test_bad_ivector_options(cli, audio, tmp_path):
    file = sorted((audio / "train" / "s02").iterdir())[0]
    tv = tmp_path / "tv.npz"
    tv.write_bytes(b"x")
    result = run(cli, "speech", "enroll", "--speaker", "x", "--store", tmp_path / "s", file,
                 "--tv", tv)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --tv is for --ivector enrolment; add --ivector.")


@pytest.mark.slow
def test_ivector_enrolment_needs_an_extractor(cli, audio, trained, tmp_path):
    ubm, _ = trained
    broken = tmp_path / "tv.npz"
    broken.write_bytes(b"x")
    result = run(cli, "speech", "enroll", "--speaker", "x", "--store", tmp_path / "s",
                 audio / "train" / "s02", "--ivector", "--ubm", ubm, "--tv", broken)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: '{broken}' is not an i-vector extractor file (")
    result = run(cli, "speech", "enroll", "--speaker", "x", "--store", tmp_path / "s",
                 audio / "train" / "s02", "--ivector", "--ubm", ubm)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: --ivector needs an i-vector extractor and '{tmp_path / 's'}' has none yet; "
        "pass --tv TV.npz (from `gmmkit speech tv`).")
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_tv_refuses_speakers_with_one_file_for_the_plda_backend(cli, audio, trained, tmp_path):
    ubm, _ = trained
    lonely = tmp_path / "lonely"
    files = sorted((audio / "train" / "s02").iterdir())
    for i, file in enumerate(files[:3]):
        folder = lonely / ("a" if i < 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / file.name).write_bytes(file.read_bytes())
    result = run(cli, "speech", "tv", lonely, "--ubm", ubm, "-o", tmp_path / "tv.npz", "-q")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: the PLDA back-end needs at least 2 files per speaker, and 1 speaker(s) have 1 "
        "(b); speakers are the subfolders of AUDIO. Add recordings or pass --no-backend.")
    assert not (tmp_path / "tv.npz").exists()
    result = run(cli, "speech", "tv", lonely, "--ubm", ubm, "-o", tmp_path / "tv.npz", "-q",
                 "--no-backend", "--rank", 2, "--n-iter", 1)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # -q silences the T-matrix progress too
    assert IvectorExtractor.load(tmp_path / "tv.npz").backend is None


@pytest.mark.slow
def test_evaluate_backend_without_ivector_models(cli, audio, trained, tmp_path):
    ubm, _ = trained
    plain = tmp_path / "plain"
    result = run(cli, "speech", "enroll", "--ubm", ubm, "--speaker", "s02", "--store", plain,
                 audio / "train" / "s02", "-q")
    assert result.exit_code == 0, result.output
    result = run(cli, "speech", "evaluate", "--store", plain, "--trials", audio / "trials.csv",
                 "--backend", "plda", "--det", tmp_path / "d.png")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: --backend plda needs i-vector models, and '{plain}' has no i-vector extractor; "
        "train one with `gmmkit speech tv` (speaker subfolders) and enrol with --ivector --tv.")
