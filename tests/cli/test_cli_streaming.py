"""`gmmkit predict` and `gmmkit score` on a .npy DATA: block by block, bounded memory,
a progress bar on stderr (gmmkit.cli.streaming)."""

import csv
import io
import json
import tracemalloc

import numpy as np
import pytest
from helpers import invoke as run
from helpers import make_mixture

from gmmkit import GaussianMixture, save
from gmmkit.cli import build_cli, streaming
from gmmkit.data import row_blocks
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A 3000-row .npy file, read 500 rows at a time, and a model fitted to it."""
    monkeypatch.setattr(row_blocks, "MAP_ROWS", 500)
    X, _, _ = make_mixture(3000, 3, 3, seed=21)
    data = tmp_path / "rows.npy"
    np.save(data, X)
    model = GaussianMixture(3, noise="uniform", random_state=0).fit(X)
    save(model, tmp_path / "m.gmm")
    return X, model, str(data), str(tmp_path / "m.gmm")



def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


def test_predict_writes_labels_npy_with_a_progress_bar(cli, files, tmp_path, monkeypatch):
    X, model, data, model_path = files
    monkeypatch.setattr(streaming, "PROGRESS_INTERVAL", 0.0)  # a line per block in a log
    result = run(cli, "predict", model_path, data, "-o", tmp_path / "labels.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), model.predict(X))
    assert "rows.npy [###" in result.stderr and "1500/3000 rows (50%)" in result.stderr
    assert result.stderr.count("\n") == 7  # six blocks and the end
    assert result.stdout == ""
    quiet = run(cli, "predict", model_path, data, "-o", tmp_path / "again.npy", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_predict_proba_and_score_as_csv_and_json(cli, files, tmp_path):
    X, model, data, model_path = files
    header, proba = read_csv(run(cli, "predict", model_path, data, "--proba", "-q").stdout)
    assert header == ["p0", "p1", "p2", "noise"]
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-15)
    header, log_lik = read_csv(run(cli, "score", model_path, data, "-q").stdout)
    assert header == ["log_likelihood"]
    np.testing.assert_allclose(log_lik[:, 0], model.score_samples(X), rtol=1e-15)
    summary = json.loads(run(cli, "score", model_path, data, "--json", "-q").stdout)
    assert summary["n_samples"] == 3000
    assert summary["mean"] == pytest.approx(model.score(X), rel=1e-12)
    assert summary["log_likelihood"] == pytest.approx(model.score_samples(X).tolist(), rel=1e-15)
    out = tmp_path / "ll.csv"
    written = json.loads(run(cli, "score", model_path, data, "--json", "-q", "-o", out).stdout)
    assert written == {"n_samples": 3000, "mean": summary["mean"], "output": str(out)}
    assert read_csv(out.read_text())[1][:, 0] == pytest.approx(model.score_samples(X), rel=1e-15)


def test_in_memory_data_takes_the_output_option_too(cli, files, tmp_path):
    X, model, data, model_path = files
    np.savetxt(tmp_path / "rows.csv", X, delimiter=",", header="a,b,c", comments="")
    result = run(cli, "predict", model_path, tmp_path / "rows.csv", "-o", tmp_path / "l.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "l.npy"), model.predict(X))


def test_memory_stays_bounded_by_the_blocks(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(row_blocks, "MAP_ROWS", 2048)
    X, _, _ = make_mixture(120_000, 4, 3, seed=22)
    np.save(tmp_path / "big.npy", X)
    save(GaussianMixture(3, random_state=0).fit(X[:5000]), tmp_path / "m.gmm")
    del X
    tracemalloc.start()
    try:
        result = run(cli, "predict", tmp_path / "m.gmm", tmp_path / "big.npy", "--proba", "-q",
                     "-o", tmp_path / "proba.npy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "proba.npy", mmap_mode="r").shape == (120_000, 3)
    assert peak < 0.25 * 120_000 * 4 * 8  # the file is 3.8 MB, the result 2.9 MB


def test_bad_input_messages(cli, files, tmp_path):
    X, model, data, model_path = files
    (tmp_path / "labels.npy").write_bytes(b"keep")
    result = run(cli, "predict", model_path, data, "-o", tmp_path / "labels.npy")
    assert result.exit_code == 2
    assert "already exists; pass --force to replace it" in result.output
    assert (tmp_path / "labels.npy").read_bytes() == b"keep"
    assert run(cli, "predict", model_path, data, "-o", tmp_path / "labels.npy", "--force",
               "-q").exit_code == 0
    result = run(cli, "predict", model_path, data, "-o", tmp_path / "labels.txt")
    assert result.exit_code == 2 and "give a file ending in .npy, .csv" in result.output

    np.save(tmp_path / "wide.npy", np.hstack([X, X]))
    result = run(cli, "predict", model_path, tmp_path / "wide.npy")
    assert result.exit_code == 2
    assert "wide.npy has 6 columns, but" in result.output
    assert "was fitted on 3; pick them with --columns" in result.output
    result = run(cli, "predict", model_path, tmp_path / "wide.npy", "--columns", "3,4,5",
                 "-q", "-o", tmp_path / "picked.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "picked.npy"), model.predict(X))

    bad = X.copy()
    bad[1234, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    result = run(cli, "score", model_path, tmp_path / "bad.npy", "-q", "-o", tmp_path / "s.npy")
    assert result.exit_code == 1
    assert "bad.npy: NaN in row 1235 (the first such row); " in result.output
    assert "was fitted without --missing em" in result.output
    assert not (tmp_path / "s.npy").exists()

    result = run(cli, "predict", model_path, tmp_path / "rows.csv", "--dask-scheduler",
                 "tcp://127.0.0.1:1")
    assert result.exit_code == 2
    assert "with --dask-scheduler DATA must be a .npy file" in result.output
