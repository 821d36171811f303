"""Outputs never destroy data (issue 15, item 2): gmmkit.outputs, gmmkit.save, every -o.

The guarantees: an output never replaces a file that is not a regular file,
an input of the command, a read-only file, or (CLI) any existing file
without --force, nor (save) a file that is not a gmmkit model file without
overwrite=True; a target is checked before the work starts; a failed command
leaves none of its outputs and no temporary file behind; errors name the
user's path, never the hidden temporary.
"""

import errno
import os
import stat
import time

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import command_installed, needs_extra, needs_matplotlib
from hypothesis import given, settings
from hypothesis import strategies as st

import gmmkit
from gmmkit.cli import build_cli
from gmmkit.cli.helpers import SEED
from gmmkit.outputs import Outputs, atomic_write, check_target
from gmmkit.plugins import make_plugin_manager

OTHER_UID = 12345


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def model():
    X = np.random.default_rng(0).normal(size=(60, 2))
    return gmmkit.GaussianMixture(2, random_state=0).fit(X)


def run(cli, *args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def listing(folder):
    """{name: bytes or kind} of everything in ``folder`` (recursively), hidden files included."""
    found = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            found[str(path.relative_to(folder))] = ("link", os.readlink(path))
        elif stat.S_ISREG(mode):
            found[str(path.relative_to(folder))] = path.read_bytes()
        else:
            found[str(path.relative_to(folder))] = stat.S_IFMT(mode)
    return found


def is_char_device(path):
    return stat.S_ISCHR(os.stat(path).st_mode)


def read_only_of_another_user(path, content=b"someone's notes"):
    path.write_bytes(content)
    os.chown(path, OTHER_UID, -1)
    os.chmod(path, 0o444)
    return path


# ------------------------------------------------------------ gmmkit.save


def test_save_refuses_a_character_device_and_leaves_it_one(model):
    before = os.stat("/dev/null")
    with pytest.raises(ValueError, match=r"^'/dev/null' is a character device, not a regular "
                                         r"file; gmmkit writes outputs only to regular files"):
        gmmkit.save(model, "/dev/null")
    with pytest.raises(ValueError, match="character device"):
        gmmkit.save(model, "/dev/null", overwrite=True)
    after = os.stat("/dev/null")
    assert is_char_device("/dev/null") and after.st_rdev == before.st_rdev


def test_save_refuses_a_fifo_a_socket_and_a_directory_without_blocking(model, tmp_path):
    import socket

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"'.*pipe' is a FIFO \(named pipe\), not a regular file"):
        gmmkit.save(model, fifo, overwrite=True)
    assert time.perf_counter() - start < 5 and stat.S_ISFIFO(os.stat(fifo).st_mode)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(ValueError, match="is a socket, not a regular file"):
            gmmkit.save(model, tmp_path / "sock")
    with pytest.raises(IsADirectoryError, match=f"^'{tmp_path}' is a directory; give a file"):
        gmmkit.save(model, tmp_path)
    with pytest.raises(IsADirectoryError, match="names a directory"):
        gmmkit.save(model, f"{tmp_path}/new/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "sock"]


def test_save_replaces_a_model_file_but_no_other_file_without_overwrite(model, tmp_path):
    notes = tmp_path / "notes.gmm"
    notes.write_bytes(b"not a model")
    with pytest.raises(FileExistsError, match=f"^'{notes}' already exists and is not a gmmkit "
                                              "model file; pass overwrite=True to replace it$"):
        gmmkit.save(model, notes)
    assert notes.read_bytes() == b"not a model"
    gmmkit.save(model, notes, overwrite=True)
    assert gmmkit.load(notes).means_.tolist() == model.means_.tolist()

    target = tmp_path / "m.gmm"
    gmmkit.save(model, target)
    os.chmod(target, 0o640)
    other = gmmkit.GaussianMixture(3, random_state=1).fit(np.random.default_rng(1).normal(
        size=(60, 2)))
    gmmkit.save(other, target)  # a model file is replaced: the usual re-save
    assert len(gmmkit.load(target).weights_) == 3
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # its permissions are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gmm", "notes.gmm"]


def test_save_refuses_read_only_files_even_as_root_and_with_overwrite(model, tmp_path):
    theirs = read_only_of_another_user(tmp_path / "theirs.gmm")
    with pytest.raises(PermissionError, match=rf"^'{theirs}' is read-only \(mode 0444, owner "
                                              rf"uid {OTHER_UID}\); gmmkit does not replace it"):
        gmmkit.save(model, theirs, overwrite=True)
    assert theirs.read_bytes() == b"someone's notes" and theirs.stat().st_uid == OTHER_UID
    # a model file of another user, writable only by them (0644), is not ours to replace either
    gmmkit.save(model, tmp_path / "their_model.gmm")
    os.chown(tmp_path / "their_model.gmm", OTHER_UID, -1)
    with pytest.raises(PermissionError, match="is read-only"):
        gmmkit.save(model, tmp_path / "their_model.gmm")
    # one's own file with the write bit removed
    mine = tmp_path / "mine.gmm"
    gmmkit.save(model, mine)
    os.chmod(mine, 0o444)
    with pytest.raises(PermissionError, match=r"is read-only \(mode 0444"):
        gmmkit.save(model, mine)


def test_save_follows_a_symlink_and_keeps_it(model, tmp_path):
    real = tmp_path / "v1.gmm"
    gmmkit.save(model, real)
    link = tmp_path / "latest.gmm"
    link.symlink_to(real)
    gmmkit.save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    gmmkit.load(link)
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    (tmp_path / "to_notes.gmm").symlink_to(notes)
    with pytest.raises(FileExistsError, match="'.*to_notes.gmm' already exists and is not a"):
        gmmkit.save(model, tmp_path / "to_notes.gmm")
    assert notes.read_text() == "keep me"


def test_save_errors_name_the_path_not_the_temporary(model, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=rf"^cannot write '{tmp_path}/nodir/m.gmm': the "
                                                r"directory '.*nodir' does not exist; create it"):
        gmmkit.save(model, tmp_path / "nodir" / "m.gmm")
    with pytest.raises(ValueError, match=r"^the output path '' is empty; give a file path$"):
        gmmkit.save(model, "")
    old = tmp_path / "m.gmm"
    gmmkit.save(model, old)
    before = old.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match=rf"^cannot write '{old}': No space left on device$") as info:
        gmmkit.save(model, old)
    assert info.value.errno == errno.ENOSPC and ".tmp" not in str(info.value)
    assert old.read_bytes() == before  # the old file is whole
    assert [p.name for p in tmp_path.iterdir()] == ["m.gmm"]  # no temporary left


def test_save_fsyncs_the_file_before_the_rename(model, tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode)))
        return real_fsync(fd)

    def replace(source, target):
        calls.append(("replace", os.path.getsize(source) > 0))
        return real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    gmmkit.save(model, tmp_path / "m.gmm")
    assert calls == [("fsync", False), ("replace", True), ("fsync", True)]


# ---------------------------------------------------------- the transaction


def test_check_target_refuses_inputs_through_symlinks_and_hard_links(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    (tmp_path / "soft.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    for name in ("data.csv", "soft.csv", "hard.csv"):
        with pytest.raises(ValueError, match=rf"'{tmp_path / name}' is an input of this command"):
            check_target(tmp_path / name, inputs=[data], overwrite=True)
    with pytest.raises(ValueError, match=r"the same file as the input '.*soft.csv'"):
        check_target(data, inputs=[tmp_path / "soft.csv"], overwrite=True)
    assert check_target(tmp_path / "new.csv", inputs=[data, "faithful"]) == tmp_path / "new.csv"


def test_a_failed_block_leaves_nothing_and_a_good_one_writes_everything(tmp_path):
    (tmp_path / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="the work failed"):
        with Outputs(overwrite=True) as outputs:
            a = outputs.file(tmp_path / "a.txt")
            old = outputs.file(tmp_path / "old.txt")
            a.temporary.write_text("A")
            old.temporary.write_text("new")
            raise RuntimeError("the work failed")
    assert listing(tmp_path) == {"old.txt": b"old"}
    with Outputs(overwrite=True) as outputs:
        for name in ("a.txt", "old.txt"):
            outputs.file(tmp_path / name).write(lambda t, n=name: t.write_text(n.upper()))
        folder = outputs.directory(tmp_path / "masks")
        (folder.temporary / "m0.png").write_bytes(b"png")
    assert listing(tmp_path) == {"a.txt": b"A.TXT", "old.txt": b"OLD.TXT", "masks": stat.S_IFDIR,
                                 "masks/m0.png": b"png"}
    with pytest.raises(ValueError, match="is given for two outputs"):
        with Outputs(overwrite=True) as outputs:
            outputs.file(tmp_path / "x.txt")
            outputs.file(tmp_path / "." / "x.txt")
    with pytest.raises(FileNotFoundError, match="nothing was written to"):
        with Outputs() as outputs:
            outputs.file(tmp_path / "forgotten.txt")
    assert "forgotten.txt" not in listing(tmp_path)


def test_atomic_write_renames_errors_of_the_writer(tmp_path):
    with pytest.raises(ValueError, match=rf"^cannot encode '{tmp_path / 'x.bin'}'$"):
        with atomic_write(tmp_path / "x.bin") as temporary:
            temporary.write_bytes(b"half")
            raise ValueError(f"cannot encode '{temporary}'")
    assert listing(tmp_path) == {}


#: what may already be at an output's path
EXISTING = st.sampled_from(["nothing", "regular", "model", "input", "symlink_to_input",
                            "hardlink_to_input", "directory", "fifo", "read_only"])


def make_existing(kind, path, data, model):
    if kind == "regular":
        path.write_bytes(b"a user's file")
    elif kind == "model":
        gmmkit.save(model, path)
    elif kind == "input":
        return data
    elif kind == "symlink_to_input":
        path.symlink_to(data)
    elif kind == "hardlink_to_input":
        os.link(data, path)
    elif kind == "directory":
        path.mkdir()
        (path / "inside").write_bytes(b"x")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "read_only":
        read_only_of_another_user(path)
    return path


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(EXISTING, min_size=1, max_size=3), overwrite=st.booleans(),
       fail_at=st.integers(0, 4), use_save=st.booleans())
def test_outputs_never_replace_what_is_not_ours_and_a_failure_leaves_nothing(
        tmp_path_factory, model, kinds, overwrite, fail_at, use_save):
    """Property: whatever lies at the targets, with or without force, failing or not."""
    folder = tmp_path_factory.mktemp("prop")
    data = folder / "data.csv"
    data.write_bytes(b"1,2\n3,4\n")
    targets = [make_existing(kind, folder / f"out{i}.gmm", data, model)
               for i, kind in enumerate(kinds)]
    before = listing(folder)
    allowed = {"nothing"} | ({"regular", "model"} if overwrite else set())
    refused = any(kind not in allowed for kind in kinds)
    try:
        with Outputs(inputs=[data], overwrite=overwrite) as outputs:
            files = [outputs.file(target) for target in targets]
            for step, out in enumerate(files):
                if step == fail_at:
                    raise RuntimeError("the command failed")
                if use_save:
                    out.write(lambda t: gmmkit.save(model, t))
                else:
                    out.write(lambda t: t.write_bytes(b"new output"))
            if fail_at == len(files):
                raise RuntimeError("the command failed after writing")
    except (ValueError, OSError) as exc:
        assert refused, exc
        assert ".tmp" not in str(exc)
        assert listing(folder) == before
        return
    except RuntimeError:
        assert not refused
        assert listing(folder) == before  # nothing half-written, no temporary left
        return
    assert not refused and fail_at > len(targets)
    after = listing(folder)
    assert after["data.csv"] == before["data.csv"]
    for target in targets:
        assert target.is_file() and (use_save or target.read_bytes() == b"new output")
    assert not [name for name in after if name.startswith(".")]


# ------------------------------------------------------------- the commands


def test_fit_never_overwrites_its_input(cli, tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 2))
    data = tmp_path / "X.npy"
    np.save(data, X)
    before = data.read_bytes()
    (tmp_path / "link.npy").symlink_to(data)
    os.link(data, tmp_path / "hard.npy")
    for target in (data, tmp_path / "link.npy", tmp_path / "hard.npy"):
        result = run(cli, "fit", data, "-k", 2, "-q", "-o", target, "--force")
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '-o' / '--output': '{target}' is an input of this command" \
            in result.output
    assert data.read_bytes() == before
    result = run(cli, "fit", f"{tmp_path / 'X.npz'}:X", "-q", "-o", tmp_path / "X.npz")
    assert result.exit_code == 2 and "No such file" not in result.output


def test_outliers_detect_never_overwrites_its_input(cli, tmp_path):
    data = tmp_path / "ok.csv"
    rows = np.random.default_rng(0).normal(size=(80, 2))
    data.write_text("a,b\n" + "".join(f"{a},{b}\n" for a, b in rows))
    before = data.read_bytes()
    result = run(cli, "outliers", "detect", data, "-o", data, "--force")
    assert result.exit_code == 2
    assert f"'{data}' is an input of this command; writing it would destroy the input" \
        in result.output
    assert data.read_bytes() == before
    result = run(cli, "outliers", "score", tmp_path / "none.gmm", data, "-o", data)
    assert result.exit_code == 2  # MODEL does not exist: click says so first
    assert data.read_bytes() == before


@pytest.mark.parametrize("target", ["/dev/null", "fifo", "folder", "", "existing", "theirs"])
def test_fit_refuses_bad_targets_before_fitting(cli, tmp_path, monkeypatch, target):
    import gmmkit.estimators.mixture

    monkeypatch.setattr(gmmkit.estimators.mixture.GaussianMixture, "fit",
                        lambda *a, **k: pytest.fail("the fit ran"))
    paths = {"fifo": tmp_path / "fifo", "folder": tmp_path, "existing": tmp_path / "old.gmm",
             "theirs": tmp_path / "theirs.gmm"}
    os.mkfifo(paths["fifo"])
    paths["existing"].write_bytes(b"old")
    read_only_of_another_user(paths["theirs"])
    path = paths.get(target, target)
    messages = {
        "/dev/null": "'/dev/null' is a character device, not a regular file",
        "fifo": f"'{paths['fifo']}' is a FIFO (named pipe), not a regular file",
        "folder": f"File '{tmp_path}' is a directory.",  # click.Path(dir_okay=False) says it
        "": "the output path '' is empty; give a file path",
        "existing": f"'{paths['existing']}' already exists; pass --force to replace it",
        "theirs": f"'{paths['theirs']}' is read-only (mode 0444, owner uid {OTHER_UID})",
    }
    result = run(cli, "fit", "faithful", "-q", "-o", path)
    assert result.exit_code == 2, result.output
    assert f"Error: Invalid value for '-o' / '--output': {messages[target]}" in result.output
    if target == "theirs":  # --force does not help for a read-only file
        forced = run(cli, "fit", "faithful", "-q", "-o", path, "--force")
        assert forced.exit_code == 2 and "is read-only" in forced.output
    assert is_char_device("/dev/null") and stat.S_ISFIFO(os.stat(paths["fifo"]).st_mode)
    assert paths["existing"].read_bytes() == b"old"
    assert paths["theirs"].read_bytes() == b"someone's notes"


def test_force_replaces_an_existing_output(cli, tmp_path):
    target = tmp_path / "m.gmm"
    target.write_bytes(b"old")
    result = run(cli, "fit", "faithful", "-k", 2, "-q", "-o", target, "--force")
    assert result.exit_code == 0, result.output
    assert len(gmmkit.load(target).weights_) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gmm"]


def test_a_missing_folder_fails_before_the_work(cli, tmp_path, monkeypatch):
    """Every command checks every output before its long work (the work is patched to fail)."""
    import importlib

    import gmmkit_image
    import gmmkit_outliers.detector
    from gmmkit_speech.data import load_speech_set

    import gmmkit.estimators.mixture
    import gmmkit.estimators.selection

    for module, name in ((gmmkit.estimators.mixture.GaussianMixture, "fit"),
                         (gmmkit.estimators.selection, "select_model"),
                         (gmmkit_outliers.detector.GMMOutlierDetector, "fit"),
                         (gmmkit_image, "segment"),
                         (importlib.import_module("gmmkit_finance.regimes"), "regimes")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("the work ran"))
    image = tmp_path / "img.npy"
    np.save(image, np.random.default_rng(0).random((8, 8)))
    nodir = tmp_path / "nodir"
    commands = [
        (["fit", "faithful", "-o", nodir / "m.gmm"], "-o' / '--output"),
        (["select", "faithful", "-o", tmp_path / "s.gmm", "--plot", nodir / "x.png"], "--plot"),
        (["outliers", "fit", "faithful", "-o", nodir / "d.gmm"], "-o' / '--output"),
        (["outliers", "detect", "faithful", "-o", nodir / "d.csv"], "-o' / '--output"),
        (["image", "segment", image, "-o", tmp_path / "lab.png", "--overlay", nodir / "o.png"],
         "--overlay"),
        (["image", "segment", image, "-o", tmp_path / "lab.bmp"], "-o' / '--output"),
        (["image", "background", tmp_path, "-o", nodir / "masks"], "-o' / '--output"),
        (["finance", "regimes", "sp500", "-o", tmp_path / "r.csv", "--plot", nodir / "x.png"],
         "--plot"),
        (["finance", "regimes", "sp500", "--plot", tmp_path / "regimes"], "--plot"),
        (["finance", "backtest", "sp500", "--plot", nodir / "x.png"], "--plot"),
        (["speech", "ubm", load_speech_set()[0].path, "-o", nodir / "ubm.gmm"],
         "-o' / '--output"),
    ]
    for argv, option in filter(lambda c: command_installed(c[0]), commands):
        start = time.perf_counter()
        result = run(cli, *argv)
        assert result.exit_code == 2, (argv, result.output)
        assert f"Invalid value for '{option}'" in result.output, (argv, result.output)
        assert time.perf_counter() - start < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.npy"]


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@needs_matplotlib
def test_multi_output_commands_leave_nothing_when_a_later_step_fails(cli, tmp_path, monkeypatch):
    import gmmkit_finance.plots

    import gmmkit.cli.plotting

    monkeypatch.setattr(gmmkit.cli.plotting, "draw_fit", no_space)
    result = run(cli, "select", "faithful", "-k", "1..2", "-o", tmp_path / "s.gmm",
                 "--plot", tmp_path / "x.png", "-q")
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write '{tmp_path / 'x.png'}': No space left on " \
                            "device\n"
    monkeypatch.setattr(gmmkit_finance.plots, "plot_regimes", no_space)
    monkeypatch.setattr(gmmkit_finance.plots, "plot_regime_probabilities", no_space)  # hmm
    result = run(cli, "finance", "regimes", "sp500", "-k", 2, "-o", tmp_path / "r.csv",
                 "--plot", tmp_path / "x.png")
    assert result.exit_code == 1 and "cannot write" in result.output
    assert list(tmp_path.iterdir()) == []


@needs_extra("gmmkit_image")
def test_image_segment_leaves_nothing_when_a_later_output_fails(cli, tmp_path, monkeypatch):
    import gmmkit_image.io

    image = tmp_path / "img.npy"
    np.save(image, np.random.default_rng(0).random((12, 12)))
    monkeypatch.setattr(gmmkit_image.io, "write_rgb", no_space)
    result = run(cli, "image", "segment", image, "-k", 2, "-q", "-o", tmp_path / "lab.png",
                 "--overlay", tmp_path / "o.png", "--probabilities", tmp_path / "p.npz")
    assert result.exit_code == 1 and "cannot write" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.npy"]


@needs_extra("gmmkit_image")
def test_image_background_that_fails_leaves_no_masks(cli, tmp_path):
    import imageio.v3 as iio

    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        iio.imwrite(frames / f"f{i}.png", (rng.random((8, 8)) * 255).astype(np.uint8))
    (frames / "f3.png").write_bytes(b"not a png")
    result = run(cli, "image", "background", frames, "-o", tmp_path / "masks", "--background",
                 tmp_path / "bg.png", "-q")
    assert result.exit_code == 1 and "cannot read" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
    refused = run(cli, "image", "background", frames, "-o", frames, "--force")
    assert refused.exit_code == 2 and "is an input of this command" in refused.output
    (frames / "f3.png").unlink()
    done = run(cli, "image", "background", frames, "-o", tmp_path / "masks", "-q")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == [
        "mask_00000.png", "mask_00001.png", "mask_00002.png"]
    again = run(cli, "image", "background", frames, "-o", tmp_path / "masks", "-q")
    assert again.exit_code == 2 and "exists and is not empty; pass --force" in again.output


@needs_extra("gmmkit_image")
def test_segment_writes_exactly_the_paths_given(cli, tmp_path):
    image = tmp_path / "img.npy"
    np.save(image, np.random.default_rng(0).random((12, 12)))
    result = run(cli, "image", "segment", image, "-k", 2, "-q", "-o", tmp_path / "lab.NPY",
                 "--probabilities", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.npy", "lab.NPY", "maps"]
    assert np.load(tmp_path / "lab.NPY").shape == (12, 12)
    assert sorted(np.load(tmp_path / "maps")) == ["class_1", "class_2"]


@needs_extra("gmmkit_speech")
def test_speech_enroll_that_fails_leaves_no_new_store(cli, tmp_path):
    from gmmkit_speech.data import load_speech_set

    audio = tmp_path / "audio"
    audio.mkdir()
    for utterance in load_speech_set():
        if utterance.speaker == "s01":
            (audio / utterance.path.name).write_bytes(utterance.path.read_bytes())
    ubm = tmp_path / "ubm.gmm"
    assert run(cli, "speech", "ubm", audio, "-k", 4, "-q", "-o", ubm).exit_code == 0
    (tmp_path / "bad.wav").write_bytes(b"RIFF1234")
    result = run(cli, "speech", "enroll", audio, tmp_path / "bad.wav", "--ubm", ubm,
                 "--speaker", "s01", "--store", tmp_path / "store", "-q")
    assert result.exit_code == 1 and "cannot read audio file" in result.output
    assert not (tmp_path / "store").exists()
    bad_name = run(cli, "speech", "enroll", audio, "--ubm", ubm, "--speaker", "../x",
                   "--store", tmp_path / "store")
    assert bad_name.exit_code == 2 and "'../x' is not a valid name" in bad_name.output
    ok = run(cli, "speech", "enroll", audio, "--ubm", ubm, "--speaker", "s01", "--store",
             tmp_path / "store", "-q")
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [
        "index.sqlite", "speakers", "ubm.gmm"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_every_seed_option_is_a_usage_error_naming_seed(cli):
    """Item 7: --seed -5 was exit 1 with a message that did not name the option."""
    import click

    def commands(group, prefix=()):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from commands(command, (*prefix, name))
            else:
                yield [*prefix, name], command

    with_seed = []
    for argv, command in commands(cli):
        seeds = [p for p in command.params if p.name == "seed"]
        if not seeds:
            continue
        with_seed.append(" ".join(argv))
        assert seeds[0].type is SEED
        for bad in ("-5", "4294967296", "1.5"):
            result = run(cli, *argv, "--seed", bad)
            assert result.exit_code == 2, (argv, result.output)
            assert "Invalid value for '--seed'" in result.output, (argv, result.output)
    expected = {"fit", "select", "sample", "outliers detect", "outliers fit", "image segment",
                "finance regimes", "speech ubm"}
    assert set(with_seed) >= {name for name in expected if command_installed(name.split())}
