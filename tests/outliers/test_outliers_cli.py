"""``gmmkit outliers detect | fit | score`` through click's runner on a fresh plugin manager."""

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from gmmkit_outliers import GMMOutlierDetector, load_detector
from helpers import needs_matplotlib

from gmmkit.cli import build_cli
from gmmkit.datasets import load
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


def run(cli, *args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def spending(tmp_path_factory):
    """log(1 + spending) of the wholesale customers as a CSV file with a header."""
    dataset = load("wholesale_customers")
    X = np.log1p(dataset.data)
    path = tmp_path_factory.mktemp("outliers") / "spending.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(dataset.feature_names), comments="")
    return path, X, list(dataset.feature_names)


def read_rows(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def test_detect_writes_rows_with_score_flag_and_top_features(cli, spending, tmp_path):
    path, X, names = spending
    result = run(cli, "outliers", "detect", path, "--contamination", "0.05", "-q",
                 "-o", tmp_path / "flagged.csv")
    assert result.exit_code == 0, result.output
    detector = GMMOutlierDetector(contamination=0.05, random_state=0).fit(X)
    detector.feature_names_in_ = names
    assert result.output.startswith(f"flagged {detector.labels_.sum()} of 440 rows")
    header, rows = read_rows((tmp_path / "flagged.csv").read_text())
    assert header == [*names, "score", "outlier", "top_features"]
    values = np.array([row[:-1] for row in rows], dtype=float)
    np.testing.assert_allclose(values[:, :6], X, rtol=1e-15)
    np.testing.assert_allclose(values[:, 6], detector.decision_scores_, rtol=1e-12)
    np.testing.assert_array_equal(values[:, 7], detector.labels_)
    first = int(np.flatnonzero(detector.labels_)[0])
    top = detector.explain(X[[first]]).top_features(3)[0]
    assert rows[first][-1] == "; ".join(f"{name} {share:.0%}" for name, share in top)
    assert all(row[-1] == "" for row, flag in zip(rows, detector.labels_) if not flag)


def test_detect_auto_columns_and_json(cli, spending, tmp_path):
    path, X, names = spending
    result = run(cli, "outliers", "detect", path, "--contamination", "auto",
                 "--columns", "grocery,detergents_paper", "-q", "--json", "-o", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    detector = GMMOutlierDetector(contamination="auto", random_state=0).fit(X[:, [2, 4]])
    assert summary["threshold"] == pytest.approx(detector.threshold_, rel=1e-12)
    assert summary["n_flagged"] == int(detector.labels_.sum())
    assert summary["features"] == ["grocery", "detergents_paper"]


def test_fit_then_score_new_rows(cli, spending, tmp_path):
    path, X, names = spending
    fitted = run(cli, "outliers", "fit", path, "-o", tmp_path / "detector.gmm", "-q")
    assert fitted.exit_code == 0, fitted.output
    assert f"written to {tmp_path / 'detector.gmm'}" in fitted.output
    detector = load_detector(tmp_path / "detector.gmm")
    new = np.vstack([X[:5], [[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]])
    # columns in another order: score picks the fitted ones by name
    order = [5, 4, 3, 2, 1, 0]
    new_path = tmp_path / "new.csv"
    np.savetxt(new_path, new[:, order], delimiter=",",
               header=",".join(names[j] for j in order), comments="")
    scored = run(cli, "outliers", "score", tmp_path / "detector.gmm", new_path)
    assert scored.exit_code == 0, scored.output
    header, rows = read_rows(scored.output)
    assert header == [*names, "score", "outlier", "top_features"]
    scores = np.array([row[6] for row in rows], dtype=float)
    np.testing.assert_allclose(scores, detector.decision_function(new), rtol=1e-12)
    assert [row[7] for row in rows] == ["0", "0", "0", "0", "0", "1"]


def test_a_constant_column_is_ignored_with_a_warning(cli, spending, tmp_path):
    """`outliers detect` used to stop: "column 2 is constant ... drop it"."""
    path, X, names = spending
    with_fee = np.column_stack([X[:, :2], np.full(len(X), 1.5), X[:, 2:]])
    fee_names = [*names[:2], "fee", *names[2:]]
    fee_path = tmp_path / "fee.csv"
    np.savetxt(fee_path, with_fee, delimiter=",", header=",".join(fee_names), comments="")
    warning = ("Warning: column 2 ('fee') is constant (every value is 1.5) and is ignored: a "
               "constant column cannot show an anomaly; rows are scored without it.\n")
    result = run(cli, "outliers", "detect", fee_path, "-q")
    assert result.exit_code == 0, result.output
    assert result.stderr == warning
    header, rows = read_rows(result.stdout)
    plain = GMMOutlierDetector(random_state=0).fit(X)
    np.testing.assert_allclose([float(row[7]) for row in rows], plain.decision_scores_,
                               rtol=1e-12)
    fitted = run(cli, "outliers", "fit", fee_path, "-o", tmp_path / "fee.gmm", "-q")
    assert fitted.exit_code == 0 and fitted.stderr == warning
    detector = load_detector(tmp_path / "fee.gmm")
    assert detector.ignored_columns_.tolist() == [2] and detector.feature_names_in_ == fee_names
    scored = run(cli, "outliers", "score", tmp_path / "fee.gmm", fee_path)
    assert scored.exit_code == 0 and scored.stderr == ""
    _, rows = read_rows(scored.stdout)
    np.testing.assert_allclose([float(row[7]) for row in rows], plain.decision_scores_,
                               rtol=1e-12)


def test_cli_errors_are_one_line(cli, spending, tmp_path):
    path, _, _ = spending
    bad = run(cli, "outliers", "detect", path, "--contamination", "0.7", "-q")
    assert bad.exit_code == 1
    assert bad.output.strip() == (
        "Error: contamination=0.7 is not valid; use a number in (0, 0.5] (the expected share "
        "of anomalies, e.g. 0.05) or 'auto' (a threshold from the fitted mixture's own tail)."
    )
    word = run(cli, "outliers", "detect", path, "--contamination", "lots")
    assert word.exit_code == 2 and "'lots' is neither 'auto' nor a number" in word.output
    buckets = run(cli, "outliers", "detect", path, "--combination", "aom", "--n-estimators", 7)
    assert buckets.exit_code == 2 and (
        "Error: --combination aom splits the members into 5 equal buckets; --n-estimators 7 "
        "does not split evenly. Use a multiple of 5, such as 5.") in buckets.output
    none = run(cli, "outliers", "detect", path, "--n-estimators", 0)
    assert none.exit_code == 2 and "Invalid value for '--n-estimators'" in none.output
    run(cli, "fit", path, "-k", 2, "-q", "-o", tmp_path / "plain.gmm")
    plain = run(cli, "outliers", "score", tmp_path / "plain.gmm", path)
    assert plain.exit_code == 1
    assert "as an outlier detector: it is a gmmkit model file without detector" in plain.output


@needs_matplotlib
def test_demo_draws_the_scatter_and_the_histogram(tmp_path):
    from gmmkit_outliers.demo import outliers_demo, wholesale_detectors

    section = outliers_demo(tmp_path)
    assert section.figures == ["outliers_scatter.png", "outliers_scores.png"]
    assert all((tmp_path / name).stat().st_size > 5000 for name in section.figures)
    _, log_spending, _, detector = wholesale_detectors()
    top = int(np.argmax(detector.decision_scores_))
    assert section.table[1][:2] == [top, detector.decision_scores_[top]]
    reasons = detector.explain(log_spending[[top]]).top_features(3)[0]
    assert section.table[1][3] == ", ".join(f"{name} {share:.0%}" for name, share in reasons)


def test_registered_names_still_work():
    pm = make_plugin_manager()
    assert pm.registry("demos")["outliers"].plugin == "gmmkit_outliers"
    assert pm.registry("features")["robust_scale"].plugin == "gmmkit_outliers"
    score = pm.registry("postprocessors")["outlier_score"].obj
    X = np.random.default_rng(0).normal(size=(30, 2))
    from gmmkit import GaussianMixture

    model = GaussianMixture(1, random_state=0).fit(X)
    np.testing.assert_allclose(score(model, X, None), -model.score_samples(X))


def test_detect_missing_values_and_csv_on_stdout(cli, spending, tmp_path):
    _, X, names = spending
    holes = tmp_path / "holes.csv"
    with open(holes, "w") as handle:
        handle.write(",".join(names) + "\n")
        for i, row in enumerate(X):
            cells = ["" if (i % 9 == 0 and j == 2) else repr(float(v)) for j, v in enumerate(row)]
            handle.write(",".join(cells) + "\n")
    refused = run(cli, "outliers", "detect", holes, "-q")
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: {holes}: missing values (empty or NA fields) in 49 rows (first: line 2, "
        "column 'grocery'); pass --missing em to fit them as missing values, or drop those rows"
    )
    result = run(cli, "outliers", "detect", holes, "--missing", "em", "-q")
    assert result.exit_code == 0, result.output
    header, rows = read_rows(result.output)
    assert len(rows) == 440 and rows[0][2] == "" and rows[1][2] != ""
    with_holes = X.copy()
    with_holes[::9, 2] = np.nan
    detector = GMMOutlierDetector(missing="em", random_state=0).fit(with_holes)
    np.testing.assert_allclose([float(row[6]) for row in rows], detector.decision_scores_,
                               rtol=1e-12)


def test_ensemble_options_confidence_and_the_single_model(cli, spending, tmp_path):
    path, X, names = spending
    result = run(cli, "outliers", "detect", path, "--n-estimators", "5", "--combination",
                 "moa", "--confidence", "--json", "-q", "-o", tmp_path / "moa.csv")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    detector = GMMOutlierDetector(n_estimators=5, combination="moa", random_state=0).fit(X)
    assert summary["ensemble"] is True and summary["n_members"] == 5
    assert summary["combination"] == "moa"
    header, rows = read_rows((tmp_path / "moa.csv").read_text())
    assert header[-2:] == ["top_features", "confidence"]
    np.testing.assert_allclose([float(row[6]) for row in rows], detector.decision_scores_,
                               rtol=1e-12)
    np.testing.assert_allclose([float(row[-1]) for row in rows], detector.predict_confidence(X),
                               rtol=1e-12)
    single = run(cli, "outliers", "detect", path, "--ensemble", "none", "-q",
                 "-o", tmp_path / "single.csv")
    assert single.exit_code == 0, single.output
    plain = GMMOutlierDetector(ensemble=None, random_state=0).fit(X)
    assert f"mixture: {len(plain.model_.weights_)} components, trusted as normal" in \
        single.output
    _, rows = read_rows((tmp_path / "single.csv").read_text())
    np.testing.assert_allclose([float(row[6]) for row in rows], plain.decision_scores_,
                               rtol=1e-12)
    fitted = run(cli, "outliers", "fit", path, "-o", tmp_path / "d.gmm", "-q")
    assert fitted.exit_code == 0 and "ensemble: 10 mixtures (average)" in fitted.output
    scored = run(cli, "outliers", "score", tmp_path / "d.gmm", path, "--confidence")
    assert scored.exit_code == 0, scored.output
    _, rows = read_rows(scored.output)
    loaded = load_detector(tmp_path / "d.gmm")
    np.testing.assert_allclose([float(row[-1]) for row in rows], loaded.predict_confidence(X),
                               rtol=1e-12)
