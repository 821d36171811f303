"""Every command that writes a model x every command that reads one (issue 15, item 3).

``gmmkit fit DATA -k auto -o m.gmm`` then ``gmmkit predict m.gmm DATA --proba``
raised "TypeError: 'str' object cannot be interpreted as an integer". This
walk runs every writer (WRITERS) and then every reader (READERS) on what it
wrote, all through the command line: each pair either works, and gives what
the Python API gives on the loaded model, or refuses with a one-line message
that says what the file is and which command reads it (EXPECTED_REFUSALS).

To add a model file (another estimator, another plugin): add a WRITERS entry
(a CLI command, or a Python function writing the file), say which kind of
file it is, and add the refusals its kind expects.
"""

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import extra_installed, needs_extra

import gmmkit
from gmmkit.cli import build_cli
from gmmkit.cli.helpers import load_input
from gmmkit.plugins import make_plugin_manager


@dataclass(frozen=True)
class Writer:
    """How one kind of model file is made.

    command : argv list with "{out}" for the model path and "{data}"/"{audio}"
        placeholders, or a callable(out_path, files) writing the file.
    data : the DATA the readers get ("faithful", or a key of the ``files`` fixture)
    kind : "mixture", "detector" or "speech"
    """

    command: object
    data: str
    kind: str
    out: str = "model.gmm"


WRITERS = {
    "fit -k 2": Writer(["fit", "faithful", "-k", "2", "-q", "-o", "{out}"], "faithful", "mixture"),
    "fit -k auto": Writer(["fit", "faithful", "-k", "auto", "-q", "-o", "{out}"], "faithful",
                          "mixture"),
    "fit spherical": Writer(["fit", "faithful", "-k", "3", "--covariance-type", "spherical", "-q",
                             "-o", "{out}"], "faithful", "mixture"),
    "fit --noise uniform": Writer(["fit", "faithful", "-k", "2", "--noise", "uniform", "-q", "-o",
                                   "{out}"], "faithful", "mixture"),
    "fit --missing em": Writer(["fit", "{holes}", "-k", "2", "--missing", "em", "-q", "-o",
                                "{out}"], "holes", "mixture"),
    "select": Writer(["select", "faithful", "-k", "1..3", "--covariance-types", "full,diag",
                      "-o", "{out}"], "faithful", "mixture"),
    "gmmkit.save": Writer(lambda out, files: gmmkit.save(
        gmmkit.GaussianMixture(2, covariance_type="tied", random_state=0).fit(
            load_input("faithful").data), out), "faithful", "mixture"),
    "outliers fit": Writer(["outliers", "fit", "faithful", "-k", "2", "-q", "-o", "{out}"],
                           "faithful", "detector"),
    "speech ubm": Writer(["speech", "ubm", "{audio}", "-k", "4", "--no-vad", "-q", "-o",
                          "{out}"], "frames", "speech"),
    "speech enroll": Writer(["speech", "enroll", "{audio}", "--ubm", "{ubm}", "--speaker", "s01",
                             "--store", "{store}", "-q"], "frames", "speech",
                            out="store/speakers/s01.gmm"),
}

READERS = {
    "predict": ["predict", "{model}", "{data}"],
    "predict --proba": ["predict", "{model}", "{data}", "--proba"],
    "score": ["score", "{model}", "{data}"],
    "score --json": ["score", "{model}", "{data}", "--json"],
    "sample": ["sample", "{model}", "-n", "7", "--seed", "3"],
    "info": ["info", "{model}"],
    "info --json": ["info", "{model}", "--json"],
    "outliers score": ["outliers", "score", "{model}", "{data}"],
}

#: (kind of file, reader) -> the message of the refusal; every other pair must work
EXPECTED_REFUSALS = {
    **{("detector", reader): r"is an outlier detector \(its mixture is fitted to scaled "
                             r"columns\); use `gmmkit outliers score` with it\."
       for reader in ("predict", "predict --proba", "score", "score --json", "sample")},
    **{(kind, "outliers score"): r"it is a gmmkit model file without detector metadata .* "
                                 r"\(use `gmmkit score` with it\)\. Make a detector with "
                                 r"`gmmkit outliers fit`"
       for kind in ("mixture", "speech")},
}


def run(cli, argv):
    return CliRunner().invoke(cli, [str(a) for a in argv])


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


def installed(writer_name):
    """Whether the plugin that writes ``writer_name``'s file is installed."""
    return WRITERS[writer_name].kind != "speech" or extra_installed("gmmkit_speech")


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Inputs of the writers and readers: a CSV with holes, audio, MFCC-sized frames."""
    root = tmp_path_factory.mktemp("walk")
    X = load_input("faithful").data.copy()
    X[::7, 0] = np.nan
    X[3::11, 1] = np.nan
    with open(root / "holes.csv", "w") as handle:
        handle.write("eruptions,waiting\n")
        for a, b in X:
            handle.write(f"{'' if np.isnan(a) else a},{'' if np.isnan(b) else b}\n")
    audio = root / "audio"
    audio.mkdir()
    if extra_installed("gmmkit_speech"):
        from gmmkit_speech.data import load_speech_set

        for utterance in load_speech_set():
            if utterance.speaker == "s01":
                (audio / utterance.path.name).write_bytes(utterance.path.read_bytes())
    frames = np.random.default_rng(0).normal(size=(50, 60))  # 20 MFCCs, deltas, delta-deltas
    np.save(root / "frames.npy", frames)
    return {"root": root, "holes": root / "holes.csv", "audio": audio,
            "frames": root / "frames.npy"}


@pytest.fixture(scope="module")
def written(cli, files):
    """{writer name: model file} for every installed writer, each in its own folder."""
    paths = {}
    for name, writer in WRITERS.items():
        if not installed(name):
            continue
        folder = files["root"] / re.sub(r"\W+", "_", name)
        folder.mkdir()
        out = folder / writer.out
        if callable(writer.command):
            writer.command(out, files)
        else:
            ubm = files["root"] / "ubm_for_enroll.gmm"
            if "{ubm}" in writer.command and not ubm.exists():
                made = run(cli, ["speech", "ubm", files["audio"], "-k", "4", "--no-vad", "-q",
                                 "-o", ubm])
                assert made.exit_code == 0, made.output
            argv = [str(a).format(out=out, ubm=ubm, store=folder / "store", **files)
                    for a in writer.command]
            result = run(cli, argv)
            assert result.exit_code == 0, f"{name}: {result.output}"
        assert out.is_file(), name
        paths[name] = out
    return paths


def reader_data(writer, files):
    return writer.data if writer.data == "faithful" else files[writer.data]


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("writer_name", [
    pytest.param(name, marks=needs_extra("gmmkit_speech") if writer.kind == "speech" else ())
    for name, writer in WRITERS.items()
])
def test_every_reader_works_on_every_model_file(cli, files, written, writer_name, reader):
    writer = WRITERS[writer_name]
    model_path = written[writer_name]
    data = reader_data(writer, files)
    argv = [a.format(model=model_path, data=data) for a in READERS[reader]]
    result = run(cli, argv)
    refusal = EXPECTED_REFUSALS.get((writer.kind, reader))
    if refusal is not None:
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
        assert re.search(refusal, result.output), result.output
        assert str(model_path) in result.output
        return
    assert result.exit_code == 0, f"{writer_name} x {reader}: {result.output}"
    check_output(reader, result.stdout, model_path, data)


def check_output(reader, stdout, model_path, data):
    """What the command printed equals what the Python API gives on the loaded model."""
    if reader == "outliers score":
        from gmmkit_outliers.persistence import load_detector

        detector = load_detector(model_path)
        scores = [float(row["score"]) for row in csv.DictReader(io.StringIO(stdout))]
        np.testing.assert_array_equal(scores, detector.decision_function(load_input(data).data))
        return
    model = gmmkit.load(model_path)
    n_components = len(model.weights_)
    if reader.startswith("info"):
        if reader == "info --json":
            assert json.loads(stdout)["n_components"] == n_components
        else:
            assert stdout.startswith(f"GaussianMixture: {n_components} components")
        return
    if reader == "sample":
        header, rows = read_csv(stdout)
        assert rows.shape == (7, model.n_features_in_ + 1) and header[-1] == "component"
        model.random_state = 3
        np.testing.assert_array_equal(rows[:, :-1], model.sample(7)[0])
        return
    X = np.load(data) if str(data).endswith(".npy") else load_input(data).data
    if reader == "score --json":
        assert json.loads(stdout)["log_likelihood"] == model.score_samples(X).tolist()
        return
    header, rows = read_csv(stdout)
    if reader == "predict":
        np.testing.assert_array_equal(rows[:, 0], model.predict(X))
    elif reader == "predict --proba":
        noise = ["noise"] if getattr(model, "noise_bounds_", None) is not None else []
        assert header == [f"p{k}" for k in range(n_components)] + noise
        np.testing.assert_array_equal(rows, model.predict_proba(X))
    else:
        np.testing.assert_array_equal(rows[:, 0], model.score_samples(X))


def test_the_walk_covers_every_command_that_reads_or_writes_a_model(cli):
    """A new command with a MODEL or DETECTOR argument, or a -o for a .gmm file, joins the walk."""
    import click

    def commands(group, prefix=()):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from commands(command, (*prefix, name))
            else:
                yield " ".join((*prefix, name)), command

    def name_of(argv):
        return " ".join(argv[:2]) if argv[0] in ("outliers", "speech") else argv[0]

    readers = {name_of(argv) for argv in READERS.values()}
    writers = {name_of(w.command) for w in WRITERS.values() if not callable(w.command)}
    for name, command in commands(cli):
        arguments = {p.metavar for p in command.params if isinstance(p, click.Argument)}
        if arguments & {"MODEL", "DETECTOR"}:
            assert name in readers, f"{name} reads model files: add it to READERS"
        outputs = " ".join(p.help or "" for p in command.params if isinstance(p, click.Option)
                           and "-o" in p.opts)
        if ".gmm" in outputs or "model" in outputs.lower():
            assert name in writers, f"{name} writes model files: add it to WRITERS"
    assert readers == {"predict", "score", "sample", "info", "outliers score"}
    assert writers == {"fit", "select", "outliers fit", "speech ubm", "speech enroll"}


def test_auto_model_was_the_issue(cli, files, written):
    """The README's first command, then --proba (the TypeError of issue 15)."""
    result = run(cli, ["predict", written["fit -k auto"], "faithful", "--proba"])
    assert result.exit_code == 0, result.output
    header, proba = read_csv(result.stdout)
    assert header == ["p0", "p1"] and np.allclose(proba.sum(axis=1), 1.0)
    assert gmmkit.load(written["fit -k auto"]).n_components == "auto"
    assert Path(written["fit -k auto"]).stat().st_size > 0


@needs_extra("gmmkit_speech")
def test_the_speech_commands_read_the_store_that_enroll_wrote(cli, files, written):
    store = written["speech enroll"].parent.parent
    audio = sorted(files["audio"].iterdir())[0]
    for command in (["identify"], ["verify", "--speaker", "s01"]):
        result = run(cli, ["speech", *command, "--store", store, audio, "--top-c", "0",
                           "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)  # identify and verify take many files: "results"
        found = summary["results"][0].get("speaker", summary.get("speaker"))
        assert found == "s01" and summary["n_files"] == 1
