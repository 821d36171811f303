"""Model files are bounded: memory and time by the file's own size, paths that are not
regular files never block, metadata cannot recurse, and parameters stay in range."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np
import pytest
from model_files import (
    KINDS,
    X,
    assert_same_fitted,
    edited,
    fit_kind,
    label_of,
    read_members,
    refused,
    saved,
    write_members,
)

from gmmkit import GaussianMixture, ModelFileError, load, read_metadata, save
from gmmkit.modelfiles import read as _io_read
from gmmkit.modelfiles.checks import MAX_EXPANSION, METADATA_MAX_CONTAINERS, METADATA_MAX_DEPTH

# ------------------------------------------------------------- hostile files


def npy_header(shape, descr="<f8"):
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def full_metadata(n_features, n_components=1, version=2):
    """metadata.json of a full GaussianMixture of the given size, as save writes it."""
    k, d = n_components, n_features
    shapes = {"weights": [k], "means": [k, d], "covariances": [k, d, d],
              "precisions_cholesky": [k, d, d]}  # fmt: skip
    return {
        "format": "gmmkit-model", "format_version": version, "gmmkit_version": "0.1.0",
        "model_class": "GaussianMixture", "covariance_type": "full", "n_components": k,
        "n_features": d, "dtype": None,
        "params": {"n_components": k, "covariance_type": "full"}, "dropped_params": [],
        "feature_names": None,
        "arrays": {name: {"shape": shape, "dtype": "float64"} for name, shape in shapes.items()},
        "training": {"converged": True, "n_iter": 1, "lower_bound": 0.0, "lower_bounds": [0.0]},
        "extra": {}, "created": "2026-01-01T00:00:00+00:00",
    }  # fmt: skip


def write_zero_bomb(path, n_features):
    """A full model whose D x D arrays are deflated zeros: the shapes the file declares
    are consistent, only the compression ratio (about 1000) gives it away."""
    d = n_features
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(full_metadata(d)))
        archive.writestr("weights.npy", npy_header((1,)) + np.ones(1).tobytes())
        for name, shape in (("means", (1, d)), ("covariances", (1, d, d)),
                            ("precisions_cholesky", (1, d, d))):  # fmt: skip
            info = zipfile.ZipInfo(f"{name}.npy")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                member.write(npy_header(shape))
                left, zeros = 8 * int(np.prod(shape)), bytes(2**22)
                while left > 0:
                    member.write(zeros[: min(left, len(zeros))])
                    left -= len(zeros)


def write_tiny_members(path, n_features):
    """Full means (deflated zeros), then headers declaring D x D arrays over a few bytes of
    data: reading them allocated the declared 8 D^2 bytes (a raw MemoryError)."""
    d = n_features
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(full_metadata(d)))
        archive.writestr("weights.npy", npy_header((1,)) + np.ones(1).tobytes())
        means = npy_header((1, d)) + bytes(8 * d)
        archive.writestr("means.npy", means, compress_type=zipfile.ZIP_DEFLATED)
        for name in ("covariances", "precisions_cholesky"):
            archive.writestr(f"{name}.npy", npy_header((1, d, d)) + bytes(16))


def write_metadata(path, text, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("metadata.json", text)


def random_keys(count, seed=0):
    """A JSON object of ``count`` distinct random keys: text deflate shrinks about 2.5x."""
    digits = np.random.default_rng(seed).integers(10**11, 10**12, count)
    return "{" + ",".join(f'"{key}":{key % 997}' for key in digits.tolist()) + "}"


def write_honest(path, n_features):
    """A valid stored model of about 2 x 8 D^2 bytes (identity covariances)."""
    d = n_features
    members = {"metadata.json": json.dumps(full_metadata(d)).encode()}
    for name, value in (("weights", np.ones(1)), ("means", np.zeros((1, d))),
                        ("covariances", np.eye(d)[None]),
                        ("precisions_cholesky", np.eye(d)[None])):  # fmt: skip
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, value, allow_pickle=False)
        members[f"{name}.npy"] = buffer.getvalue()
    write_members(path, members)


def write_largest_accepted(path, n_features):
    """A valid model as large as a file of its size may declare: identity covariances
    deflated (about 500x) beside random precisions_init stored (1x), 3x overall."""
    d = n_features
    meta = full_metadata(d)
    meta["arrays"]["precisions_init"] = {"shape": [1, d, d], "dtype": "float64"}
    values = {
        "weights": np.ones(1),
        "means": np.zeros((1, d)),
        "covariances": np.eye(d)[None],
        "precisions_cholesky": np.eye(d)[None],
        "precisions_init": np.random.default_rng(0).random((1, d, d)),
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(meta))
        for name, value in values.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value, allow_pickle=False)
            deflate = name in ("covariances", "precisions_cholesky")
            archive.writestr(
                f"{name}.npy", buffer.getvalue(),
                compress_type=zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED,
            )  # fmt: skip


def write_many_members(path, count):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(full_metadata(2)))
        for i in range(count):
            archive.writestr(f"m{i}", b"")


HOSTILE = {
    "zero_bomb_D4000": lambda path: write_zero_bomb(path, 4000),
    "tiny_members_D100000": lambda path: write_tiny_members(path, 100_000),
    "nested_200000": lambda path: write_metadata(path, "[" * 200_000),
    "nested_200000_deflated": lambda path: write_metadata(
        path, "[" * 200_000, zipfile.ZIP_DEFLATED
    ),
    "nested_objects": lambda path: write_metadata(path, '{"a":' * 5_000 + "1" + "}" * 5_000),
    "many_empty_objects": lambda path: write_metadata(path, "[" + "{}," * 300_000 + "{}]"),
    "many_floats": lambda path: write_metadata(path, "[" + "0.123456789," * 49_000 + "0.5]"),
    "many_keys": lambda path: write_metadata(path, random_keys(49_000)),
    "long_string": lambda path: write_metadata(path, '"' + "ab" * 500_000 + '"'),
    "too_many_keys_deflated": lambda path: write_metadata(
        path, random_keys(90_000), zipfile.ZIP_DEFLATED
    ),
    "many_members": lambda path: write_many_members(path, 10_000),
}
CHILD = """
import json, sys, time
import gmmkit
results = {}
for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        gmmkit.load(path)
        outcome = "loaded"
    except gmmkit.ModelFileError as exc:
        outcome = "refused: " + str(exc)
    except BaseException as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    results[path] = [outcome, time.perf_counter() - start]
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps({"results": results, "peak_kb": peak}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc")
def test_files_under_1_mb_are_read_in_bounded_memory_and_time(tmp_path):
    paths = {}
    for name, write in HOSTILE.items():
        paths[name] = tmp_path / f"{name}.gmm"
        write(paths[name])
        assert paths[name].stat().st_size < 2**20, name
    paths["honest_D230"] = tmp_path / "honest.gmm"
    write_honest(paths["honest_D230"], 230)
    paths["largest_D350"] = tmp_path / "largest.gmm"
    write_largest_accepted(paths["largest_D350"], 350)
    for name in ("honest_D230", "largest_D350"):
        assert 800_000 < paths[name].stat().st_size < 2**20
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, paths.values())],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    outcomes = {name: report["results"][str(path)] for name, path in paths.items()}
    assert outcomes.pop("honest_D230")[0] == "loaded"
    assert outcomes.pop("largest_D350")[0] == "loaded"
    for name, (outcome, seconds) in outcomes.items():
        assert outcome.startswith("refused: "), (name, outcome)
        assert seconds < 10, (name, seconds)
    assert report["peak_kb"] < 100 * 1024, report["peak_kb"]  # the whole process, numpy included


def test_a_zero_bomb_is_refused_from_its_sizes_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "bomb.gmm"
    write_zero_bomb(path, 1000)
    opened = []
    original_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    size = path.stat().st_size
    refused(
        path,
        rf"the file is {size} bytes but its members would expand to 160\d{{5}} bytes, more "
        rf"than {MAX_EXPANSION} times its size; it was refused before decompressing them \(a "
        r"zip bomb, or members deflated as no real model deflates: store them uncompressed\)",
    )
    assert opened == ["metadata.json"]
    with pytest.raises(ModelFileError, match="more than 4 times its size"):
        read_metadata(path)


def test_a_member_shorter_than_its_declared_shape_is_refused_unread(tmp_path):
    path = tmp_path / "tiny.gmm"
    write_tiny_members(path, 100_000)
    refused(
        path,
        r"member 'covariances.npy' holds 144 bytes but its declared shape \[1, 100000, 100000\] "
        r"float64 needs at least 80000000000; it is truncated\. The file is damaged",
    )


def test_real_model_arrays_deflate_far_less_than_the_limit(tmp_path):
    """The expansion limit leaves a margin over what deflate does to real models."""
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(c, 1.0 + c % 3, (300, 40)) @ rng.normal(size=(40, 40))
                      for c in range(3)])  # fmt: skip
    worst = 0.0
    for kind in KINDS:
        for covariance_type in ("full", "tied", "diag", "spherical"):
            model = fit_kind(kind, covariance_type, data=data, labels=np.arange(900) % 3)
            # the arrays: metadata.json (text, 3-6x) is a few KB, under EXPANSION_SLACK
            members = read_members(saved(tmp_path, model))
            arrays = [data for name, data in members.items() if name.endswith(".npy")]
            raw = sum(len(data) for data in arrays)
            packed = sum(len(zlib.compress(data, 9)) for data in arrays)
            worst = max(worst, raw / packed)
    assert 1.2 < worst < MAX_EXPANSION / 1.5, worst


def test_a_large_deflated_real_model_loads(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(400, 60)) @ rng.normal(size=(60, 60))
    model = GaussianMixture(2, random_state=0).fit(data)
    path = saved(tmp_path, model)
    write_members(path, read_members(path), compression=zipfile.ZIP_DEFLATED)
    assert_same_fitted(model, load(path))


# ------------------------------------------------------------------ metadata


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[" * 200_000, rf"holds 200000 JSON arrays and objects, more than the "
                        rf"{METADATA_MAX_CONTAINERS} allowed"),
        ("[" * 100 + "]" * 100, rf"nests JSON arrays and objects 100 deep, more than the "
                                rf"{METADATA_MAX_DEPTH} allowed"),
        ('{"a":' * 65 + "1" + "}" * 65, r"nests JSON arrays and objects 65 deep, more than "
                                        r"the 64 allowed"),
        ("[" + "1," * 50_000 + "1]", r"holds 50001 JSON items, more than the 50000 allowed"),
    ],
)  # fmt: skip
def test_refuses_metadata_nested_too_deep_or_too_large(tmp_path, text, match):
    path = tmp_path / "deep.gmm"
    write_metadata(path, text)
    refused(path, rf"metadata.json {match}\. The file is damaged")


def test_brackets_and_commas_inside_strings_do_not_count(tmp_path):
    model = fit_kind("GaussianMixture")
    extra = {"note": "[" * 1000 + "," * 300_000 + '\\"{' * 100}
    loaded = load(saved(tmp_path, model, extra=extra))
    assert loaded.metadata_["extra"] == extra


def test_save_refuses_extra_that_load_would_refuse(tmp_path):
    model = fit_kind("GaussianMixture")
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(
        ValueError,
        match=r"extra is too large: metadata.json nests JSON .* \d+ deep, more than the 64",
    ):
        save(model, tmp_path / "m.gmm", extra={"deep": deep})
    very_deep = []
    for _ in range(100_000):
        very_deep = [very_deep]
    with pytest.raises(ValueError, match=r"extra is not JSON-serialisable \(maximum recursion"):
        save(model, tmp_path / "m.gmm", extra={"deep": very_deep})
    assert not (tmp_path / "m.gmm").exists()


# --------------------------------------------------------------------- paths


@contextmanager
def deadline(seconds):
    """Fail instead of hanging: SIGALRM interrupts a blocking call after ``seconds``."""

    def expired(signum, frame):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")


@needs_fifo
def test_a_named_pipe_without_a_writer_is_refused_without_hanging(tmp_path, monkeypatch):
    monkeypatch.setattr(_io_read, "PIPE_FIRST_TIMEOUT", 0.3)
    fifo = tmp_path / "model.gmm"
    os.mkfifo(fifo)
    start = time.monotonic()
    with deadline(10):
        refused(
            fifo,
            r"it is a pipe and nothing came through it for 0.3 seconds \(a named pipe needs a "
            r"process writing to it\)\. Save the model to a regular file and pass that\.",
        )
    assert time.monotonic() - start < 5


def feed(path_or_fd, data, *, delay=0.0, close=True):
    """Write ``data`` into a pipe from a thread (opening a named pipe blocks until read)."""

    def run():
        time.sleep(delay)
        fd = path_or_fd if isinstance(path_or_fd, int) else os.open(path_or_fd, os.O_WRONLY)
        os.write(fd, data) if data else None
        if close:
            os.close(fd)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@needs_fifo
@pytest.mark.parametrize("kind", KINDS)
def test_a_named_pipe_with_a_writer_loads(tmp_path, kind):
    model = fit_kind(kind)
    data = saved(tmp_path, model).read_bytes()
    fifo = tmp_path / "pipe.gmm"
    os.mkfifo(fifo)
    thread = feed(fifo, data, delay=0.2)  # the writer comes after the reader
    with deadline(20):
        loaded = load(fifo)
    thread.join()
    assert_same_fitted(model, loaded)


def test_a_process_substitution_pipe_loads(tmp_path):
    """``gmmkit info <(cat m.gmm)`` passes /dev/fd/N, a pipe: it is read, not called empty."""
    model = fit_kind("GaussianMixture")
    data = saved(tmp_path, model).read_bytes()
    read_end, write_end = os.pipe()
    try:
        feed(write_end, data)
        with deadline(20):
            loaded = load(f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
    assert_same_fitted(model, loaded)


def test_an_empty_pipe_is_refused(tmp_path):
    read_end, write_end = os.pipe()
    os.close(write_end)
    try:
        with deadline(10):
            refused(f"/dev/fd/{read_end}", r"it is a pipe and nothing came through it \(0 bytes\)")
    finally:
        os.close(read_end)


def test_a_pipe_that_goes_silent_or_grows_too_large_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_io_read, "PIPE_TIMEOUT", 0.3)
    read_end, write_end = os.pipe()
    try:
        feed(write_end, b"PK\x03\x04" + bytes(100), close=False)
        with deadline(10):
            refused(f"/dev/fd/{read_end}", r"it is a pipe and it went silent for 0.3 seconds after")
    finally:
        os.close(read_end)
        os.close(write_end)
    monkeypatch.setattr(_io_read, "PIPE_MAX_BYTES", 1000)
    read_end, write_end = os.pipe()
    try:
        feed(write_end, bytes(5000))
        with deadline(10):
            refused(f"/dev/fd/{read_end}", r"it is a pipe that delivers more than 1000 bytes")
    finally:
        os.close(read_end)


def test_refuses_paths_that_are_not_regular_files(tmp_path):
    refused(tmp_path, r"it is a directory, not a model file\. Pass a model file written by")
    if os.path.exists("/dev/null"):
        refused("/dev/null", r"it is a character device, not a model file")
    if hasattr(socket, "AF_UNIX"):
        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(str(tmp_path / "s.gmm"))
            refused(tmp_path / "s.gmm", r"it is a socket, not a model file")
        finally:
            server.close()
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.gmm")


# ----------------------------------------------------------- absurd values


def mixture_member(kind, name):
    """The member holding array ``name`` of the (first) mixture of a ``kind`` file."""
    return f"mixtures/0/{name}" if kind in ("GMMClassifier", "GaussianMixtureRegressor") else name


@pytest.mark.parametrize("kind", KINDS)
def test_refuses_means_far_beyond_their_spread(tmp_path, kind):
    member = mixture_member(kind, "means")

    def far(means):
        means[0] = 1e300
        means[1] = -1e300

    path = edited(tmp_path, fit_kind(kind), arrays={member: far})
    label, _ = label_of(member)
    refused(
        path,
        rf"{label}the mean of component 0 lies \d\.\d+e\+(299|300) of its standard deviations from "
        r"the origin, more than the 1e\+100 a model may have \(scoring would overflow\)\. The",
    )


def test_means_a_billion_deviations_out_still_load(tmp_path):
    model = fit_kind("GaussianMixture", covariance_type="spherical")
    path = edited(tmp_path, model, arrays={"means": lambda m: m.__iadd__(1e9)})
    loaded = load(path)
    assert np.all(np.isfinite(loaded.score_samples(X + 1e9)))


def test_save_refuses_a_model_too_far_from_the_origin(tmp_path):
    model = fit_kind("GaussianMixture", covariance_type="diag")
    model.means_ = model.means_ + 1e120
    with pytest.raises(
        ValueError,
        match=r"cannot save the model to .*: the mean of component 0 lies .* standard deviations"
        r" from the origin, .*\. The data lie too far from the origin for their spread: centre",
    ):
        save(model, tmp_path / "m.gmm")


def test_refuses_a_noise_box_wider_than_float64(tmp_path):
    data = np.vstack([X[:, :2], [[-20.0, -20.0], [20.0, 20.0]]])
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(data)
    path = edited(
        tmp_path, model, arrays={"noise_bounds": lambda b: b.__setitem__(0, [-1e308, 1e308])}
    )
    refused(path, r"noise_bounds of feature 0 is wider than float64 can hold")


def test_refuses_precisions_that_overflow(tmp_path):
    tiny = np.float32(2e-39)  # a float32 variance whose inverse overflows float32
    variances = np.array([[tiny, 1.0]], dtype=np.float32)
    arrays = {
        "weights": np.ones(1, np.float32),
        "means": np.zeros((1, 2), np.float32),
        "covariances": np.diag(variances[0])[None],
        "precisions_cholesky": np.diag(1.0 / np.sqrt(variances[0]))[None].astype(np.float32),
    }
    model = fit_kind("GaussianMixture")
    meta = full_metadata(2)
    meta["arrays"] = {
        name: {"shape": list(a.shape), "dtype": "float32"} for name, a in arrays.items()
    }
    path = tmp_path / "overflow.gmm"
    members = {"metadata.json": json.dumps(meta).encode()}
    for name, value in arrays.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, value, allow_pickle=False)
        members[f"{name}.npy"] = buffer.getvalue()
    write_members(path, members)
    del model
    refused(path, r"precisions_cholesky is so large that the precisions overflow")


# found by the property tests of test_io_properties.py


def test_refuses_an_asymmetric_covariance(tmp_path):
    """Cholesky reads one triangle: a huge entry in the other one used to pass."""
    model = fit_kind("GaussianMixture")
    path = edited(
        tmp_path, model, arrays={"covariances": lambda c: c.__setitem__((1, 0, 2), 1e306)}
    )
    refused(path, r"the covariance of component 1 is not symmetric\. The file is damaged")


def test_refuses_factors_too_large_to_check(tmp_path):
    """The agreement tolerance grows with the condition estimate, which overflowed to inf."""
    model = fit_kind("GaussianMixture")
    path = edited(
        tmp_path, model, arrays={"precisions_cholesky": lambda p: p.__setitem__((0, 0, 1), 2e154)}
    )
    refused(path, r"the covariance of component 0 is too ill-conditioned to be used")


def test_refuses_weights_near_the_float64_limit(tmp_path):
    """math.fsum raised OverflowError on them."""
    model = fit_kind("GaussianMixture")
    path = edited(tmp_path, model, arrays={"weights": [1.7e308, 1.7e308, -1e308]})
    refused(path, r"weights has a negative value")
    path = edited(tmp_path, model, arrays={"weights": [1.7e308, 1.7e308, 0.0]})
    refused(path, r"weights has a value above 1 \(1.7e\+308 for component 0\)")


def test_refuses_an_npy_header_that_does_not_parse(tmp_path):
    """A damaged header raised tokenize.TokenError from inside numpy."""
    model = fit_kind("GaussianMixture")
    path = saved(tmp_path, model)
    members = read_members(path)
    members["means.npy"] = members["means.npy"].replace(b"(3, 3)", b"(3, 3(", 1)
    write_members(path, members)
    refused(path, r"member 'means.npy' is not a valid .npy array \(")
