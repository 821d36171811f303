"""The gmmkit command line (click's test runner, no subprocess)."""

import json

import numpy as np
from click.testing import CliRunner
from gmmkit.datasets import list_datasets, load_dataset

from gmmkit.cli import cli


def test_fit_bundled_dataset_prints_the_model():
    result = CliRunner().invoke(cli, ["fit", "iris", "-k", "3", "-q"])
    assert result.exit_code == 0, result.output
    assert "GaussianMixture: 3 components, covariance_type=full, 150 samples" in result.output
    assert "converged: True" in result.output


def test_fit_json_is_machine_readable_and_matches_the_api():
    result = CliRunner().invoke(cli, ["fit", "iris", "-k", "2", "--json", "-q", "--seed", "1"])
    summary = json.loads(result.output)
    from gmmkit import GaussianMixture

    X, _ = load_dataset("iris")
    model = GaussianMixture(2, random_state=1).fit(X)
    np.testing.assert_allclose(summary["means"], model.means_)
    assert summary["bic"] == model.bic(X)
    assert summary["features"][0] == "sepal_length"


def test_fit_npy_and_csv_files(tmp_path):
    X, _ = load_dataset("iris")
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", header="a,b,c,d", comments="")
    for name in ("x.npy", "x.csv"):
        result = CliRunner().invoke(cli, ["fit", str(tmp_path / name), "-k", "2", "-q", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["n_samples"] == 150


def test_progress_goes_to_stderr_and_can_be_silenced():
    runner = CliRunner()
    loud = runner.invoke(cli, ["fit", "iris", "--json"])
    assert "Initialization 0" in loud.stderr
    json.loads(loud.stdout)
    quiet = runner.invoke(cli, ["fit", "iris", "--json", "-q"])
    assert quiet.stderr == ""


def test_bad_inputs_give_one_line_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["fit", "nowhere.csv"])
    assert missing.exit_code == 2 and "neither a file nor a bundled data set" in missing.output
    too_many = runner.invoke(cli, ["fit", "iris", "-k", "500", "-q"])
    assert too_many.exit_code == 1
    assert "Error: Expected n_samples >= n_components" in too_many.output
    assert "Traceback" not in too_many.output
    (tmp_path / "bad.csv").write_text("a,b\n1,x\n2,y\n")
    bad = runner.invoke(cli, ["fit", str(tmp_path / "bad.csv")])
    assert bad.exit_code == 2 and "could not read numeric CSV" in bad.output


def test_bundled_datasets():
    assert "iris" in list_datasets()
    X, labels = load_dataset("iris")
    assert X.shape == (150, 4) and labels.shape == (150,)
    assert sorted(set(labels)) == ["setosa", "versicolor", "virginica"]
    np.testing.assert_allclose(X.mean(axis=0), [5.8433, 3.0573, 3.758, 1.1993], atol=1e-3)
