"""Issue 24's options of ``gmmkit outliers``: --label, --plot, --no-robust, --min-weight,
--n-refits, --trim and mclust's covariance types, through click's runner."""

import csv
import io
import json

import numpy as np
import pytest
from gmmkit_outliers import GMMOutlierDetector
from gmmkit_outliers.metrics import average_precision, label_report, roc_auc
from helpers import invoke as run
from helpers import needs_matplotlib

from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())



@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """200 normal rows (two groups, 160 and 40) and 10 far ones in 3 columns, then a 0/1
    column 'bad' and a text one."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(160, 3)), rng.normal([4.0, 0.0, 0.0], 0.7, size=(40, 3)),
                   rng.normal(6.0, 0.5, size=(10, 3))])
    y = np.r_[np.zeros(200, int), np.ones(10, int)]
    y[:3] = 1  # three labelled anomalies the detector cannot see
    path = tmp_path_factory.mktemp("labelled") / "rows.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "c", "bad", "note"])
        for row, label in zip(X, y):
            writer.writerow([*(repr(float(v)) for v in row), label, "x"])
    return path, X, y


def read_rows(path):
    rows = list(csv.reader(io.StringIO(path.read_text())))
    return rows[0], rows[1:]


def test_label_is_left_out_of_the_features_and_scored(cli, labelled, tmp_path):
    path, X, y = labelled
    out = tmp_path / "rows.csv"
    result = run(cli, "outliers", "detect", path, "--label", "bad", "--json", "-q", "-o", out)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["features"] == ["a", "b", "c"]
    detector = GMMOutlierDetector(random_state=0).fit(X)  # the label is not a feature
    flags = detector.labels_
    expected = label_report(y, detector.decision_scores_, flags)
    assert summary["label"] == {"column": "bad", **expected}
    from sklearn.metrics import average_precision_score, precision_score, roc_auc_score

    assert summary["label"]["roc_auc"] == pytest.approx(roc_auc_score(y, detector.decision_scores_))
    assert summary["label"]["average_precision"] == pytest.approx(
        average_precision_score(y, detector.decision_scores_))
    assert summary["label"]["precision_at_threshold"] == pytest.approx(precision_score(y, flags))
    header, rows = read_rows(out)
    assert header == ["a", "b", "c", "score", "outlier", "top_features", "bad"]
    assert [int(row[-1]) for row in rows] == y.tolist()


def test_label_text_summary_and_with_columns(cli, labelled, tmp_path):
    path, X, y = labelled
    result = run(cli, "outliers", "detect", path, "--label", "bad", "--columns", "a,c", "-q",
                 "-o", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.output
    detector = GMMOutlierDetector(random_state=0).fit(X[:, [0, 2]])
    found = label_report(y, detector.decision_scores_, detector.labels_)
    assert (f"known anomalies (column 'bad'): 13; ROC-AUC {found['roc_auc']:.3f}, average "
            f"precision {found['average_precision']:.3f}, precision at the threshold "
            f"{found['precision_at_threshold']:.3f}") in result.output


@pytest.mark.parametrize("args, message", [
    (["--label", "note"], "'note' is a text column ('x' on line 2); --label needs 0/1 values"),
    (["--label", "a"], "column 'a' has values other than 0 and 1"),
    (["--label", "zz"], "has no column 'zz'; its numeric columns are a, b, c, bad"),
    (["--label", "bad", "--columns", "a,bad"], "'bad' is also in --columns; the label column "
                                               "cannot be a feature"),
])
def test_label_bad_input(cli, labelled, tmp_path, args, message):
    path, _, _ = labelled
    result = run(cli, "outliers", "detect", path, *args, "-q", "-o", tmp_path / "x.csv")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "x.csv").exists()


def test_label_with_one_class_is_refused(cli, tmp_path):
    path = tmp_path / "one.csv"
    rng = np.random.default_rng(1)
    np.savetxt(path, np.column_stack([rng.normal(size=(50, 2)), np.zeros(50)]), delimiter=",",
               header="a,b,y", comments="")
    result = run(cli, "outliers", "detect", path, "--label", "y", "-q")
    assert result.exit_code == 2
    assert "column 'y' is 0 in every row; ROC-AUC and average precision need both" in \
        " ".join(result.output.split())


@needs_matplotlib
def test_plot_writes_a_png_with_histogram_and_projection(cli, labelled, tmp_path):
    path, X, y = labelled
    figure = tmp_path / "detect.png"
    result = run(cli, "outliers", "detect", path, "--label", "bad", "--plot", figure, "-q",
                 "-o", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.output
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"figure written to {figure}" in result.output
    vector = tmp_path / "detect.svg"  # the format follows the suffix
    result = run(cli, "outliers", "detect", path, "--label", "bad", "--n-estimators", 2,
                 "--plot", vector, "-q", "-o", tmp_path / "rows2.csv")
    assert result.exit_code == 0, result.output
    assert b"<svg" in vector.read_bytes()[:500]


@needs_matplotlib
def test_plot_figure_contents():
    from gmmkit_outliers.plots import detection_figure, projection

    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 3)) * [1.0, 5.0, 0.1]
    detector = GMMOutlierDetector(random_state=0).fit(X)
    figure = detection_figure(detector, X, detector.decision_scores_, detector.labels_)
    left, right = figure.axes
    assert left.lines[0].get_xdata()[0] == pytest.approx(detector.threshold_)
    flagged = right.collections[1].get_offsets()
    assert len(flagged) == detector.labels_.sum()
    coordinates, explained = projection(detector, X)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)  # the detector's standard scaling
    values = np.linalg.svd(Z - Z.mean(axis=0), compute_uv=False) ** 2
    np.testing.assert_allclose(explained, values[:2] / values.sum())
    np.testing.assert_allclose(np.abs(coordinates).sum(axis=0),
                               np.abs(Z @ np.linalg.svd(Z, full_matrices=False)[2][:2].T).sum(0))
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_plot_bad_suffix_is_refused_before_fitting(cli, labelled, tmp_path):
    path, _, _ = labelled
    result = run(cli, "outliers", "detect", path, "--plot", tmp_path / "figure.txt", "-q")
    assert result.exit_code == 2
    assert "--plot" in result.output


@pytest.mark.parametrize("args, params", [
    (["--no-robust"], {"robust": False}),
    (["--min-weight", "0.3"], {"min_weight": 0.3}),
    (["--min-weight", "0"], {"min_weight": 0.0}),
    (["--n-refits", "1", "--trim", "0.2"], {"n_refits": 1, "trim": 0.2}),
    (["--covariance-type", "VEV", "--ensemble", "none"],
     {"covariance_type": "VEV", "ensemble": None}),
    (["--covariance-type", "EEI"], {"covariance_type": "EEI"}),
    (["--member-scale", "standard"], {"member_scale": "standard"}),
])
def test_detector_options_reach_the_detector(cli, labelled, tmp_path, args, params):
    path, X, _ = labelled
    result = run(cli, "outliers", "detect", path, "--columns", "a,b,c", "--n-estimators", 3,
                 *args, "-q", "-o", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.output
    detector = GMMOutlierDetector(random_state=0, n_estimators=3, **params).fit(X)
    values = np.array([row[3] for row in read_rows(tmp_path / "rows.csv")[1]], dtype=float)
    np.testing.assert_allclose(values, detector.decision_scores_, rtol=1e-12)
    default = GMMOutlierDetector(random_state=0, n_estimators=3,
                                 ensemble=params.get("ensemble", "bagging")).fit(X).decision_scores_
    assert not np.allclose(values, default)  # the option changed the scores


@pytest.mark.parametrize("args, message", [
    (["--min-weight", "1.5"], "1.5 is not in [0, 1): it is the share of the rows a component "
                              "must hold to be trusted as normal"),
    (["--min-weight", "lots"], "'lots' is neither 'auto' nor a number such as 0.05"),
    (["--no-robust", "--min-weight", "0.1"], "with --no-robust every component is trusted. "
                                             "Drop one of the two options."),
    (["--n-refits", "-1"], "-1 is not in the range x>=0"),
    (["--covariance-type", "XYZ"], "'XYZ' is not one of 'full', 'tied'"),
    (["--covariance-type", "V"], "Invalid value for --covariance-type: V is mclust's "
                                 "univariate model, but DATA has 3 varying columns; pick one "
                                 "with --columns, or use a multivariate model such as VVI"),
])
def test_detector_option_errors(cli, labelled, tmp_path, args, message):
    path, _, _ = labelled
    result = run(cli, "outliers", "detect", path, "--columns", "a,b,c", *args, "-q",
                 "-o", tmp_path / "rows.csv")
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "rows.csv").exists()


def test_every_option_has_help(cli):
    for command in ("detect", "fit", "score"):
        result = run(cli, "outliers", command, "--help")
        assert result.exit_code == 0
        options = cli.commands["outliers"].commands[command].params
        missing = [p.name for p in options if hasattr(p, "help") and p.param_type_name == "option"
                   and not p.help]
        assert missing == [], (command, missing)


def test_metrics_match_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(3)
    for trial in range(30):
        y = rng.integers(0, 2, 40)
        y[:2] = [0, 1]
        scores = rng.integers(0, 5, 40).astype(float) if trial % 2 else rng.normal(size=40)
        assert roc_auc(y, scores) == pytest.approx(roc_auc_score(y, scores))
        assert average_precision(y, scores) == pytest.approx(average_precision_score(y, scores))


# ------------------------------------------------------ mclust's models in the detector


@pytest.mark.parametrize("ensemble", ["bagging", None])
def test_mclust_aliases_score_as_scikit_learn_names(labelled, ensemble):
    _, X, _ = labelled
    for mclust, sklearn in (("EEE", "tied"), ("VVV", "full"), ("VVI", "diag")):
        a = GMMOutlierDetector(covariance_type=mclust, ensemble=ensemble, n_estimators=3,
                               random_state=0).fit(X)
        b = GMMOutlierDetector(covariance_type=sklearn, ensemble=ensemble, n_estimators=3,
                               random_state=0).fit(X)
        np.testing.assert_allclose(a.decision_scores_, b.decision_scores_, rtol=1e-10)


@pytest.mark.parametrize("ensemble", ["bagging", None])
def test_mclust_model_explains_exactly_and_round_trips(labelled, tmp_path, ensemble):
    from gmmkit_outliers import load_detector, save_detector

    _, X, y = labelled
    detector = GMMOutlierDetector(covariance_type="VEV", ensemble=ensemble, n_estimators=3,
                                  random_state=0).fit(X)
    assert roc_auc(y, detector.decision_scores_) > 0.7
    why = detector.explain(X[:20])
    np.testing.assert_allclose(why.contributions.sum(axis=1), why.distance2)
    save_detector(detector, tmp_path / "vev.gmm")
    again = load_detector(tmp_path / "vev.gmm")
    np.testing.assert_array_equal(again.decision_function(X), detector.decision_scores_)


def test_mclust_model_on_one_column_uses_the_univariate_model(labelled):
    _, X, _ = labelled
    single = GMMOutlierDetector(covariance_type="EVV", ensemble=None, random_state=0).fit(X[:, :1])
    assert single.model_.covariance_type == "E"
    expected = GMMOutlierDetector(covariance_type="E", ensemble=None, random_state=0).fit(X[:, :1])
    np.testing.assert_array_equal(single.decision_scores_, expected.decision_scores_)


def test_explaining_a_row_at_1e300_warns_nothing(labelled):
    _, X, _ = labelled
    detector = GMMOutlierDetector(random_state=0, n_estimators=3).fit(X)
    far = np.array([[1e300, -1e300, 1e300], [1e12, 1e12, 0.0]])
    why = detector.explain(far)  # RuntimeWarning is an error in the test suite
    assert not np.isfinite(why.distance2[0]) and np.isfinite(why.distance2[1])
