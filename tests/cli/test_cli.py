"""The gmmkit command line (click's test runner on a fresh plugin manager)."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import needs_matplotlib

from gmmkit import GaussianMixture
from gmmkit.cli import build_cli
from gmmkit.datasets import list_datasets, load_dataset
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


def run(cli, *args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


def test_fit_bundled_dataset_prints_the_model(cli):
    result = run(cli, "fit", "iris", "-k", 3, "-q")
    assert result.exit_code == 0, result.output
    assert "GaussianMixture: 3 components, covariance_type=full, 150 samples" in result.output
    assert "converged: True" in result.output


def test_fit_json_is_machine_readable_and_matches_the_api(cli):
    result = run(cli, "fit", "iris", "-k", 2, "--json", "-q", "--seed", 1)
    summary = json.loads(result.stdout)
    X, _ = load_dataset("iris")
    model = GaussianMixture(2, random_state=1).fit(X)
    np.testing.assert_allclose(summary["means"], model.means_)
    assert summary["bic"] == model.bic(X)
    assert summary["features"][0] == "sepal_length"


def test_auto_components_choose_k_by_bic(cli):
    result = run(cli, "fit", "faithful", "-k", "auto", "--json", "-q")
    summary = json.loads(result.stdout)
    X, _ = load_dataset("faithful")
    bics = [GaussianMixture(k, random_state=0).fit(X).bic(X) for k in range(1, 11)]
    assert summary["n_components"] == int(np.argmin(bics)) + 1 == 2
    # every K also starts from GaussianMixture(k, random_state=0)'s own start (besides the hc
    # tree and warm starts), so no row is worse than that fit, unless stopped as hopeless
    rows = summary["selection"]
    assert [row["n_components"] for row in rows] == list(range(1, 11))
    for row, bic in zip(rows, bics):
        assert row["stopped"] or row["bic"] <= bic + 1e-9 * abs(bic)
    assert rows[1]["bic"] == pytest.approx(bics[1], rel=1e-6)


def test_npy_npz_and_csv_files_with_column_selection(cli, tmp_path):
    X, _ = load_dataset("iris")
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "x.npz", X=X, other=X[:10])
    with open(tmp_path / "x.csv", "w") as handle:
        handle.write("a,b,species,c,d\n")
        for row in X:
            handle.write(f"{row[0]},{row[1]},setosa,{row[2]},{row[3]}\n")
    for name in ("x.npy", "x.npz", "x.csv", "x.npz:other"):
        result = run(cli, "fit", tmp_path / name, "-k", 2, "-q", "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["n_samples"] == (10 if name.endswith("other") else 150)
        assert len(summary["features"]) == 4
    picked = json.loads(run(cli, "fit", tmp_path / "x.csv", "--columns", "a,3", "-q", "--json")
                        .stdout)
    assert picked["features"] == ["a", "c"]
    np.testing.assert_allclose(
        picked["means"], GaussianMixture(3, random_state=0).fit(X[:, [0, 2]]).means_
    )


def test_model_file_round_trip_through_predict_score_sample_info(cli, tmp_path):
    model_path = tmp_path / "iris.gmm"
    fitted = run(cli, "fit", "iris", "-k", 3, "-q", "-o", model_path)
    assert fitted.exit_code == 0, fitted.output
    assert f"model saved to {model_path}" in fitted.stdout
    X, _ = load_dataset("iris")
    model = GaussianMixture(3, random_state=0).fit(X)

    header, labels = read_csv(run(cli, "predict", model_path, "iris").stdout)
    assert header == ["label"]
    np.testing.assert_array_equal(labels[:, 0], model.predict(X))
    header, proba = read_csv(run(cli, "predict", model_path, "iris", "--proba").stdout)
    assert header == ["p0", "p1", "p2"]
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-12, atol=1e-300)
    header, log_lik = read_csv(run(cli, "score", model_path, "iris").stdout)
    np.testing.assert_allclose(log_lik[:, 0], model.score_samples(X), rtol=1e-12)
    scored = json.loads(run(cli, "score", model_path, "iris", "--json").stdout)
    assert scored["mean"] == pytest.approx(model.score(X))

    header, drawn = read_csv(run(cli, "sample", model_path, "-n", 500, "--seed", 3).stdout)
    assert header == ["sepal_length", "sepal_width", "petal_length", "petal_width", "component"]
    assert drawn.shape == (500, 5) and set(drawn[:, 4]) <= {0, 1, 2}
    model.random_state = 3
    np.testing.assert_allclose(drawn[:, :4], model.sample(500)[0])

    described = run(cli, "info", model_path)
    assert "GaussianMixture: 3 components, 4 features, covariance_type=full" in described.stdout
    assert "features: sepal_length, sepal_width, petal_length, petal_width" in described.stdout
    metadata = json.loads(run(cli, "info", model_path, "--json").stdout)
    assert metadata["extra"]["data"] == "iris" and metadata["n_components"] == 3


def test_predict_picks_the_fitted_columns_by_name(cli, tmp_path):
    X, species = load_dataset("iris")
    with open(tmp_path / "new.csv", "w") as handle:
        handle.write("petal_width,species,sepal_length,petal_length,sepal_width\n")
        for row, name in zip(X, species):
            handle.write(f"{row[3]},{name},{row[0]},{row[2]},{row[1]}\n")
    run(cli, "fit", "iris", "-q", "-o", tmp_path / "m.gmm")
    _, labels = read_csv(run(cli, "predict", tmp_path / "m.gmm", tmp_path / "new.csv").stdout)
    np.testing.assert_array_equal(labels[:, 0], GaussianMixture(3, random_state=0).fit_predict(X))


def test_progress_and_warnings_go_to_stderr_and_can_be_silenced(cli):
    loud = run(cli, "fit", "iris", "--json")
    assert "Initialization 0" in loud.stderr
    json.loads(loud.stdout)
    quiet = run(cli, "fit", "iris", "--json", "-q")
    assert quiet.stderr == ""
    warned = run(cli, "fit", "iris", "--max-iter", 1, "-q")
    assert warned.exit_code == 0
    assert warned.stderr.startswith("Warning: Best performing initialization did not converge.")
    assert len(warned.stderr.strip().splitlines()) == 1


def test_exit_codes_and_one_line_errors(cli, tmp_path):
    missing = run(cli, "fit", "nowhere.csv")
    assert missing.exit_code == 2 and "neither a file nor a bundled data set" in missing.output
    assert run(cli, "fit", "iris", "-k", "many").exit_code == 2
    assert run(cli, "predict", tmp_path / "no-model.gmm", "iris").exit_code == 2
    too_many = run(cli, "fit", "iris", "-k", 500, "-q")
    assert too_many.exit_code == 1
    assert too_many.output.startswith("Error: Expected n_samples >= n_components")
    assert "Traceback" not in too_many.output
    (tmp_path / "bad.csv").write_text("a,b\n1,x\n2,3\n")
    bad = run(cli, "fit", tmp_path / "bad.csv", "--columns", "a,b")
    assert bad.exit_code == 1
    assert bad.output.strip() == (
        f"Error: {tmp_path / 'bad.csv'}: column 'b' holds 'x' on line 2, not a number; "
        "write a missing value as an empty field or NA, or leave the column out with --columns"
    )
    (tmp_path / "nan.csv").write_text("a,b\n1,2\n,3\n4,5\n")
    nan = run(cli, "fit", tmp_path / "nan.csv", "-k", 1)
    assert nan.exit_code == 1 and nan.output == (
        f"Error: {tmp_path / 'nan.csv'}: missing values (empty or NA fields) in 1 row "
        "(first: line 3, column 'a'); pass --missing em to fit them as missing values, "
        "or drop those rows\n"
    )
    (tmp_path / "junk.gmm").write_bytes(b"not a model")
    junk = run(cli, "info", tmp_path / "junk.gmm")
    assert junk.exit_code == 1 and len(junk.output.strip().splitlines()) == 1


def test_debug_shows_the_original_exception(cli):
    result = run(cli, "--debug", "fit", "iris", "-k", 500, "-q")
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)


def test_plugins_and_datasets_listings(cli):
    listed = json.loads(run(cli, "plugins", "--json").stdout)
    by_name = {row["name"]: row for row in listed}
    assert by_name["gmmkit"]["registers"]["datasets"] == list_datasets()
    assert {"gmmkit_image", "gmmkit_speech", "gmmkit_finance", "gmmkit_outliers"} <= set(by_name)
    assert "robust_scale" in by_name["gmmkit_outliers"]["registers"]["features"]
    text = run(cli, "plugins").stdout
    assert text.splitlines()[0].split() == ["plugin", "version", "status", "registers", "/",
                                            "detail"]
    names = [row["name"] for row in json.loads(run(cli, "datasets", "--json").stdout)]
    assert names == list_datasets()
    assert {"faithful", "wholesale_customers", "iris"} <= set(names)


@needs_matplotlib
@pytest.mark.slow
def test_demo_writes_a_self_contained_report(cli, tmp_path):
    result = run(cli, "demo", "--out", tmp_path / "report", "-q")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Old Faithful eruptions" in page and "BIC chose K = 3, covariance_type=EEE" in page
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert "faithful_mixture.png" in pngs
    assert page.count("data:image/png;base64,") == len(pngs)
    only = run(cli, "demo", "--out", tmp_path / "r2", "--only", "nothing")
    assert only.exit_code == 2 and "no demo called nothing" in only.output


def test_help_is_light():
    """`gmmkit --help` imports no domain library (they load inside commands)."""
    code = (
        "import sys; from gmmkit.cli import build_cli; from click.testing import CliRunner;"
        "CliRunner().invoke(build_cli(), ['--help']);"
        "heavy = {'skimage', 'imageio', 'librosa', 'soundfile', 'matplotlib', 'sklearn', 'pandas',"
        " 'scipy.stats', 'arch', 'dask'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fit_missing_values_and_a_noise_component(cli, tmp_path):
    X, _ = load_dataset("faithful")
    holes = X.copy()
    holes[::7, 0] = np.nan
    holes[3::11, 1] = np.nan
    with open(tmp_path / "holes.csv", "w") as handle:
        handle.write("eruptions,waiting\n")
        for a, b in holes:
            handle.write(f"{'' if np.isnan(a) else a},{'' if np.isnan(b) else b}\n")
    refused = run(cli, "fit", tmp_path / "holes.csv", "-k", 2, "-q")
    assert refused.exit_code == 1 and "pass --missing em" in refused.output
    fitted = run(cli, "fit", tmp_path / "holes.csv", "-k", 2, "-q", "--missing", "em",
                 "--json", "-o", tmp_path / "holes.gmm")
    assert fitted.exit_code == 0, fitted.output
    model = GaussianMixture(2, missing="em", random_state=0).fit(holes)
    np.testing.assert_allclose(json.loads(fitted.stdout)["means"], model.means_, rtol=1e-10)
    _, labels = read_csv(run(cli, "predict", tmp_path / "holes.gmm", tmp_path / "holes.csv")
                         .stdout)
    np.testing.assert_array_equal(labels[:, 0], model.predict(holes))

    noisy = run(cli, "fit", "faithful", "-k", 2, "-q", "--noise", "uniform", "--json",
                "-o", tmp_path / "noise.gmm")
    summary = json.loads(noisy.stdout)
    expected = GaussianMixture(2, noise="uniform", random_state=0).fit(X)
    assert summary["noise_weight"] == pytest.approx(expected.noise_weight_, rel=1e-12)
    assert "noise" in run(cli, "fit", "faithful", "-k", 2, "-q", "--noise", "uniform").stdout
    header, proba = read_csv(run(cli, "predict", tmp_path / "noise.gmm", "faithful", "--proba")
                             .stdout)
    assert header == ["p0", "p1", "noise"]
    np.testing.assert_allclose(proba, expected.predict_proba(X), rtol=1e-12, atol=1e-300)


def test_dask_scheduler_errors_are_one_line_with_the_fix(cli, tmp_path, monkeypatch):
    """--dask-scheduler: refusals, an unreachable scheduler, dask not installed."""
    import socket

    dask = pytest.importorskip("dask", reason="the Dask extra: pip install 'gmmkit[distributed]'")

    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(50, 2)))
    npy = tmp_path / "X.npy"
    csv_file = run(cli, "fit", "iris", "--dask-scheduler", "tcp://127.0.0.1:1")
    assert csv_file.exit_code == 2 and "must be a .npy file that every worker" in csv_file.output
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        unreachable = run(cli, "fit", npy, "-q", "--dask-scheduler", address)
    assert unreachable.exit_code == 1
    assert f"Error: cannot reach the Dask scheduler at {address}" in unreachable.output
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    missing = run(cli, "fit", npy, "-q", "--dask-scheduler", address)
    assert missing.exit_code == 1
    assert "install it with pip install 'gmmkit[distributed]'" in missing.output


def test_a_npy_file_over_the_memory_budget_is_fitted_out_of_core(cli, tmp_path):
    """--memory-budget: the streamed fit prints what the in-memory fit prints."""
    X, _ = load_dataset("iris")
    np.save(tmp_path / "x.npy", X)
    npy = tmp_path / "x.npy"
    for extra in ([], ["--json"], ["--columns", "3,x0", "--noise", "uniform", "--json"]):
        in_memory = run(cli, "fit", npy, "-q", *extra)
        streamed = run(cli, "fit", npy, "-q", "--memory-budget", "1KB", *extra)
        assert streamed.exit_code == 0, streamed.output
        assert streamed.stdout == in_memory.stdout
    assert "features" in json.loads(streamed.stdout)
    assert json.loads(streamed.stdout)["features"] == ["x3", "x0"]
    loud = run(cli, "fit", npy, "--memory-budget", "1KB")
    assert "is over the memory budget of 1.0 KB: fitting out of core" in loud.stderr
    assert "out of core" not in run(cli, "fit", npy, "--memory-budget", "1MB").stderr
    assert run(cli, "fit", npy, "-q", "--memory-budget", "1KB").stderr == ""
    saved = run(cli, "fit", npy, "-q", "--memory-budget", "1KB", "-o", tmp_path / "m.gmm")
    assert saved.exit_code == 0
    assert json.loads(run(cli, "info", tmp_path / "m.gmm", "--json").stdout)["extra"][
        "n_samples"] == 150


def test_memory_budget_errors(cli, tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(50, 2)))
    bad = run(cli, "fit", tmp_path / "x.npy", "--memory-budget", "lots")
    assert bad.exit_code == 2
    assert "'lots' is not a size such as 500MB, 2GB or a number of bytes" in bad.output
    auto = run(cli, "fit", tmp_path / "x.npy", "-k", "auto", "--memory-budget", "100", "-q",
               "--json")  # out of core: the grid's fits share each pass of the file
    assert auto.exit_code == 0, auto.output
    summary = json.loads(auto.stdout)
    chosen = [row for row in summary["selection"] if row["chosen"]]
    assert len(summary["selection"]) == 10 and len(chosen) == 1
    assert summary["n_components"] == chosen[0]["n_components"]
    under = run(cli, "fit", tmp_path / "x.npy", "-k", "auto", "-q")  # in memory, as before
    assert under.exit_code == 0, under.output


# ------------------------------------- numpy's warnings speak gmmkit (issue 15, item 11)

RAW_NUMPY_WARNING = r"^Warning: (overflow|underflow|invalid value|divide by zero) encountered"


def blobs_with(tmp_path, name, extra_rows):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (250, 2)), rng.normal(3, 1, (250, 2)), *extra_rows])
    path = tmp_path / name
    np.savetxt(path, X, delimiter=",", header="a,b", comments="")
    return path


def test_fitting_values_near_1e300_is_one_error_line(cli, tmp_path):
    # the fit cannot square such values; numpy's overflow warnings on the way to
    # that error are not printed (the error says what is wrong)
    for rows in ([[1e300, -1e300]], [[1e200, 0.0]]):
        result = run(cli, "fit", blobs_with(tmp_path, "huge.csv", [rows]), "-k", 2, "-q")
        assert result.exit_code == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: ") and ("float64" in line or "not finite" in line), line


def test_scoring_far_rows_prints_no_raw_numpy_warnings(cli, tmp_path):
    import re

    model = tmp_path / "m.gmm"
    assert run(cli, "fit", blobs_with(tmp_path, "ok.csv", []), "-k", 2, "-q", "-o", model)\
        .exit_code == 0
    far = blobs_with(tmp_path, "far.csv", [[[1e12, 1e12], [1e300, 1e300], [-1e300, 1e300]]])
    for command in ("predict", "score"):
        result = run(cli, command, model, far)
        assert result.exit_code == 0, result.output
        assert not re.search(RAW_NUMPY_WARNING, result.stderr, re.M), result.stderr
        for line in result.stderr.splitlines():  # at most gmmkit's own explanation
            assert line.startswith("Warning: some numbers overflowed float64"), line


def test_numpy_floating_point_warnings_become_one_meaningful_line(tmp_path):
    import click

    cli = build_cli(make_plugin_manager(entry_points=False))

    @cli.command()
    @click.option("--fail", is_flag=True)
    def overflow(fail):
        huge = np.array([1e300, 1e300])
        click.echo(float(huge @ huge) + float(np.float64(1e300) * 1e300))  # twice, both inf
        np.array([np.inf]) - np.array([np.inf])  # invalid value
        if fail:
            raise ValueError("the data are bad; fix them.")

    result = CliRunner().invoke(cli, ["overflow"])
    assert result.exit_code == 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "Warning: some numbers overflowed float64 or became undefined while computing (numpy: "
        "overflow encountered in matmul; overflow encountered in scalar multiply; invalid "
        "value encountered in subtract): the data have values too large or too far apart"
    ), line
    assert line.endswith("or drop the rows with extreme values, and run the command again.")
    # a command that fails says why in its error; numpy's warnings add nothing
    failed = CliRunner().invoke(cli, ["overflow", "--fail"])
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines() == ["Error: the data are bad; fix them."]
