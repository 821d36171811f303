"""GMMOutlierDetector: PyOD's API, robust scoring, thresholds, explanations, files."""

import re

import numpy as np
import pytest
from gmmkit_outliers import (
    ConstantColumnWarning,
    GMMOutlierDetector,
    load_detector,
    save_detector,
)
from scipy import stats
from scipy.special import erf
from sklearn.metrics import roc_auc_score

from gmmkit import GaussianMixture, ModelFileError, NotFittedError, save


def blobs_with_tight_anomalies(seed=0):
    """Two broad inlier clusters and a small, tight cluster of anomalies between them."""
    rng = np.random.default_rng(seed)
    inliers = np.vstack([
        rng.normal([0.0, 0.0], 1.0, size=(300, 2)),
        rng.normal([8.0, 0.0], 1.0, size=(300, 2)),
    ])
    anomalies = rng.normal([4.0, 6.0], 0.05, size=(20, 2))
    return np.vstack([inliers, anomalies]), np.r_[np.zeros(600), np.ones(20)]


@pytest.fixture(scope="module")
def blobs():
    return blobs_with_tight_anomalies()


@pytest.fixture(scope="module")
def fitted(blobs):
    return GMMOutlierDetector(random_state=0).fit(blobs[0])


# ------------------------------------------------------------ the failure case


def test_tight_cluster_of_anomalies_is_ranked_above_the_inliers(blobs, fitted):
    X, y = blobs
    # a plain mixture with K = 3 gives the tight cluster the highest density of all
    plain = GaussianMixture(3, random_state=0).fit(X)
    assert roc_auc_score(y, -plain.score_samples(X)) < 0.05
    # the robust detector fits the same kind of mixture but does not trust the small component
    assert len(fitted.model_.weights_) == 3
    small = np.argmin(fitted.model_.weights_)
    assert fitted.trusted_.tolist() == [k != small for k in range(3)]
    assert roc_auc_score(y, fitted.decision_scores_) == 1.0
    assert fitted.labels_[y == 1].all()
    # robust=False is that plain density score: it fails the same way
    naive = GMMOutlierDetector(robust=False, covariance_type="full", random_state=0).fit(X)
    assert roc_auc_score(y, naive.decision_scores_) < 0.05


# ------------------------------------------------------------------ PyOD's API


def test_pyod_attributes_and_methods(blobs, fitted):
    X, _ = blobs
    np.testing.assert_allclose(fitted.decision_function(X), fitted.decision_scores_, rtol=1e-12)
    assert fitted.threshold_ == pytest.approx(np.quantile(fitted.decision_scores_, 0.9))
    np.testing.assert_array_equal(fitted.labels_, fitted.decision_scores_ > fitted.threshold_)
    assert fitted.labels_.mean() == pytest.approx(0.1, abs=1 / len(X))
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    again = GMMOutlierDetector(random_state=0)
    np.testing.assert_array_equal(again.fit_predict(X), fitted.labels_)
    assert fitted.labels_.dtype.kind == "i" and set(np.unique(fitted.labels_)) == {0, 1}


def test_predict_proba_linear_and_unify_follow_pyod(blobs, fitted):
    X, _ = blobs
    new = np.array([[0.0, 0.0], [4.0, 6.0], [30.0, 30.0]])
    scores = fitted.decision_function(new)
    train = fitted.decision_scores_
    linear = np.clip((scores - train.min()) / (train.max() - train.min()), 0, 1)
    proba = fitted.predict_proba(new)
    np.testing.assert_allclose(proba[:, 1], linear, rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    unify = np.clip(erf((scores - train.mean()) / (train.std() * np.sqrt(2))), 0, 1)
    np.testing.assert_allclose(fitted.predict_proba(new, method="unify")[:, 1], unify)
    with pytest.raises(ValueError, match=re.escape("method='rank' is not supported; use")):
        fitted.predict_proba(new, method="rank")


def test_sklearn_params_and_clone():
    from sklearn.base import clone

    detector = GMMOutlierDetector(3, contamination=0.05, scale="robust")
    params = detector.get_params()
    assert params["n_components"] == 3 and params["contamination"] == 0.05
    copy = clone(detector)
    assert copy.get_params() == params and copy is not detector
    assert detector.set_params(contamination="auto") is detector
    assert detector.contamination == "auto"
    assert repr(detector) == (
        "GMMOutlierDetector(contamination='auto', n_components=3, scale='robust')"
    )
    with pytest.raises(ValueError,
                       match="Invalid parameter 'alpha' for estimator GMMOutlierDetector"):
        detector.set_params(alpha=1)


def test_not_fitted_and_wrong_width(fitted):
    with pytest.raises(NotFittedError, match="This GMMOutlierDetector instance is not fitted"):
        GMMOutlierDetector().decision_function([[0.0, 1.0]])
    with pytest.raises(ValueError, match=re.escape(
        "X has 3 columns, but the detector was fitted on 2; pass the same columns (x0, x1)."
    )):
        fitted.predict(np.zeros((2, 3)))


# ------------------------------------------------------------------ thresholds


def test_auto_threshold_is_the_gaussian_tail():
    """With one Gaussian, score = (d log 2 pi + log det S + D2) / 2 and D2 ~ chi2(d)."""
    rng = np.random.default_rng(1)
    d = 3
    X = rng.multivariate_normal(np.zeros(d), [[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 1]], 4000)
    detector = GMMOutlierDetector(1, contamination="auto", robust=False, random_state=0).fit(X)
    covariance = detector.model_.covariances_  # tied: one (d, d) matrix
    expected = 0.5 * (d * np.log(2 * np.pi) + np.linalg.slogdet(covariance)[1]
                      + stats.chi2.ppf(0.99, d))
    # 20000 draws: the 99% quantile is known to about 1%
    assert detector.threshold_ == pytest.approx(expected, rel=0.01)
    assert detector.labels_.mean() == pytest.approx(0.01, abs=0.005)


def test_novelty_mode_flags_new_anomalies_only():
    rng = np.random.default_rng(2)
    clean = rng.normal(size=(500, 2))
    detector = GMMOutlierDetector(contamination="auto", random_state=0).fit(clean)
    new = np.vstack([rng.normal(size=(200, 2)), [[6.0, 6.0], [-7.0, 1.0]]])
    flags = detector.predict(new)
    assert flags[-2:].tolist() == [1, 1]
    assert flags[:-2].mean() < 0.05


# ---------------------------------------------------------------- explanations


def test_contributions_match_a_hand_computation():
    rng = np.random.default_rng(3)
    X = rng.multivariate_normal([1.0, -2.0], [[1.0, 0.8], [0.8, 2.0]], size=400)
    detector = GMMOutlierDetector(1, covariance_type="full", scale=None, random_state=0).fit(X)
    row = np.array([[3.0, -4.0]])
    explanation = detector.explain(row)
    mean = detector.model_.means_[0]
    precision = np.linalg.inv(detector.model_.covariances_[0])
    delta = row[0] - mean
    by_hand = delta * (precision @ delta)  # c_j = d_j (P d)_j
    np.testing.assert_allclose(explanation.contributions[0], by_hand, rtol=1e-10)
    assert explanation.distance2[0] == pytest.approx(delta @ precision @ delta, rel=1e-12)
    assert explanation.contributions[0].sum() == pytest.approx(explanation.distance2[0])
    top = explanation.top_features(2)[0]
    order = np.argsort(-by_hand)
    assert [name for name, _ in top] == [f"x{j}" for j in order if by_hand[j] > 0]
    assert top[0][1] == pytest.approx(by_hand[order[0]] / by_hand.sum())


def test_diagonal_contributions_are_squared_z_scores_to_the_nearest_trusted_component(blobs):
    X, _ = blobs
    detector = GMMOutlierDetector(3, covariance_type="diag", random_state=0).fit(X)
    rows = np.array([[4.0, 6.0], [8.5, 0.2], [-0.3, 0.1]])
    explanation = detector.explain(rows)
    Z = (rows - detector.center_) / detector.scale_
    trusted = np.flatnonzero(detector.trusted_)
    model = detector.model_
    z2 = (Z[:, None, :] - model.means_[trusted]) ** 2 / model.covariances_[trusted]
    best = z2.sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(explanation.nearest, trusted[best])
    np.testing.assert_allclose(explanation.contributions, z2[np.arange(3), best], rtol=1e-10)
    assert not detector.trusted_[np.argmin(model.weights_)]
    assert explanation.nearest[0] != np.argmin(model.weights_)  # the anomalies' own component


# --------------------------------------------------------- scales and missing values


def test_standardising_makes_the_units_irrelevant(blobs):
    X, _ = blobs
    rescaled = X * np.array([1e6, 1e-3]) + np.array([5e7, -3.0])
    first = GMMOutlierDetector(random_state=0).fit(X)
    second = GMMOutlierDetector(random_state=0).fit(rescaled)
    np.testing.assert_allclose(second.decision_scores_, first.decision_scores_, rtol=1e-6)
    robust = GMMOutlierDetector(scale="robust", random_state=0).fit(rescaled)
    q1, median, q3 = np.percentile(rescaled, [25, 50, 75], axis=0)
    np.testing.assert_allclose(robust.center_, median)
    np.testing.assert_allclose(robust.scale_, (q3 - q1) / stats.norm.ppf(0.75) / 2)
    assert roc_auc_score(blobs[1], robust.decision_scores_) == 1.0


def test_missing_values_are_scored_on_the_observed_features(blobs):
    X, y = blobs
    holes = X.copy()
    holes[::10, 0] = np.nan
    holes[5::10, 1] = np.nan
    detector = GMMOutlierDetector(missing="em", random_state=0).fit(holes)
    assert np.isfinite(detector.decision_scores_).all()
    assert roc_auc_score(y, detector.decision_scores_) > 0.95
    # a row missing feature 0 is scored by the normal mixture's marginal of feature 1
    row = np.array([[np.nan, 0.5]])
    marginal = detector.normal_model_.marginal([1])
    z = (0.5 - detector.center_[1]) / detector.scale_[1]
    assert detector.decision_function(row)[0] == pytest.approx(
        -marginal.score_samples([[z]])[0], rel=1e-10)
    explanation = detector.explain(row)
    assert np.isnan(explanation.contributions[0, 0])
    assert explanation.contributions[0, 1] == pytest.approx(explanation.distance2[0])


# ---------------------------------------------------------------- detector files


def test_detector_file_round_trip(tmp_path, blobs, fitted):
    X, _ = blobs
    save_detector(fitted, tmp_path / "detector.gmm")
    loaded = load_detector(tmp_path / "detector.gmm")
    np.testing.assert_array_equal(loaded.decision_function(X), fitted.decision_scores_)
    assert loaded.threshold_ == fitted.threshold_
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.explain(X[:5]).contributions,
                                  fitted.explain(X[:5]).contributions)


def test_an_unfitted_detector_is_not_saved_and_from_fitted_rebuilds_one(tmp_path, blobs, fitted):
    with pytest.raises(NotFittedError, match="^This GMMOutlierDetector instance is not fitted"):
        save_detector(GMMOutlierDetector(), tmp_path / "none.gmm")
    assert not (tmp_path / "none.gmm").exists()
    names = ("trusted_", "center_", "scale_", "threshold_", "score_summary_",
             "feature_names_in_", "ignored_columns_")
    rebuilt = GMMOutlierDetector.from_fitted(
        fitted.model_, {name: getattr(fitted, name) for name in names}, **fitted.get_params()
    )
    np.testing.assert_array_equal(rebuilt.decision_function(blobs[0]), fitted.decision_scores_)
    np.testing.assert_array_equal(rebuilt.normal_model_.weights_, fitted.normal_model_.weights_)


def test_a_plain_model_file_is_not_a_detector(tmp_path, blobs):
    save(GaussianMixture(2, random_state=0).fit(blobs[0]), tmp_path / "plain.gmm")
    with pytest.raises(ModelFileError, match=re.escape(
        f"cannot load '{tmp_path / 'plain.gmm'}' as an outlier detector: it is a gmmkit model "
        "file without detector metadata"
    )):
        load_detector(tmp_path / "plain.gmm")


# ---------------------------------------------------------------- trimmed refits


def test_trimmed_refit_leaves_the_top_rows_out(blobs):
    X, y = blobs
    detector = GMMOutlierDetector(n_refits=1, trim=0.05, random_state=0).fit(X)
    assert roc_auc_score(y, detector.decision_scores_) == 1.0
    # the refit's weights count only the kept rows: the anomalies' cluster is gone from it
    assert detector.model_.weights_.min() > 0.1


# ------------------------------------------------------------------- bad input


def test_bad_contamination():
    X = np.random.default_rng(0).normal(size=(50, 2))
    for value in (0, 0.7, -0.1, "high"):
        with pytest.raises(ValueError, match=re.escape(
            f"contamination={value!r} is not valid; use a number in (0, 0.5] (the expected "
            "share of anomalies, e.g. 0.05) or 'auto' (a threshold from the fitted mixture's "
            "own tail)."
        )):
            GMMOutlierDetector(contamination=value).fit(X)
    assert GMMOutlierDetector(contamination=0.5, random_state=0).fit(X).labels_.mean() == 0.5


def with_constant_columns(blobs):
    """The blobs (columns 0, 2 of the result) with constant columns 1 (4.0) and 3 (0.0)."""
    X, y = blobs
    return np.column_stack([X[:, 0], np.full(len(X), 4.0), X[:, 1], np.zeros(len(X))]), y


CONSTANT_1_3 = ("columns 1, 3 are constant and are ignored: a constant column cannot show an "
                "anomaly; rows are scored without them.")


def test_constant_columns_are_ignored_with_a_warning(blobs):
    """fit used to refuse them: "column 1 is constant ... drop it" (PyOD's detectors accept)."""
    X, y = with_constant_columns(blobs)
    with pytest.warns(ConstantColumnWarning) as caught:
        detector = GMMOutlierDetector(random_state=0).fit(X)
    assert [str(w.message) for w in caught] == [CONSTANT_1_3]
    assert detector.ignored_columns_.tolist() == [1, 3]
    assert detector.n_features_in_ == 4 and detector.model_.means_.shape[1] == 2
    reduced = GMMOutlierDetector(random_state=0).fit(blobs[0])
    np.testing.assert_array_equal(detector.decision_scores_, reduced.decision_scores_)
    assert roc_auc_score(y, detector.decision_scores_) == 1.0
    # new rows are scored without those columns, whatever they hold there
    new = X[:7].copy()
    new[:, 1], new[:, 3] = [np.arange(7.0), -1e3]
    np.testing.assert_array_equal(detector.decision_function(new),
                                  reduced.decision_function(blobs[0][:7]))
    with pytest.raises(ValueError, match=re.escape("X has 2 columns, but the detector was "
                                                   "fitted on 4")):
        detector.decision_function(blobs[0][:7])


def test_constant_columns_are_named_and_the_warning_can_be_filtered():
    import warnings

    import pandas as pd

    frame = pd.DataFrame({"amount": np.arange(20.0), "fee": 1.5, "age": np.arange(20.0) ** 2})
    with pytest.warns(ConstantColumnWarning, match=re.escape(
        "column 1 ('fee') is constant (every value is 1.5) and is ignored: a constant column "
        "cannot show an anomaly; rows are scored without it."
    )):
        GMMOutlierDetector(covariance_type="diag").fit(frame)
    wide = np.random.default_rng(0).normal(size=(40, 14))
    wide[:, 1:13] = 7.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConstantColumnWarning)
        assert GMMOutlierDetector(random_state=0).fit(wide).ignored_columns_.tolist() == list(
            range(1, 13))
    with pytest.warns(ConstantColumnWarning, match=re.escape(
        "columns 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more (12 in all) are constant and are "
        "ignored"
    )):
        GMMOutlierDetector(random_state=0).fit(wide)


def test_no_varying_column_is_still_refused():
    X = np.array([[1.0, np.nan], [np.nan, 2.0], [1.0, 2.0]] * 5)
    with pytest.raises(ValueError, match=re.escape(
        "no column varies: every column has a single value (rows differ only in which values "
        "are missing); an anomaly needs a column in which it can differ."
    )):
        GMMOutlierDetector(missing="em", covariance_type="diag").fit(X)
    with pytest.raises(ValueError, match=re.escape(
        "X has a single row; an anomaly is a row unlike the others, so the data need at least "
        "two distinct rows."
    )):
        GMMOutlierDetector(covariance_type="diag").fit([[1.0, 2.0]])


def test_explanations_name_the_original_columns(blobs):
    X, _ = with_constant_columns(blobs)
    names = ["a", "fee", "b", "zero"]
    with pytest.warns(ConstantColumnWarning):
        detector = GMMOutlierDetector(random_state=0).fit(X)
    detector.feature_names_in_ = names
    reduced = GMMOutlierDetector(random_state=0).fit(blobs[0])
    rows = X[-5:]  # the anomalies
    explanation = detector.explain(rows)
    expected = reduced.explain(blobs[0][-5:])
    assert explanation.contributions.shape == (5, 4)
    np.testing.assert_array_equal(explanation.contributions[:, [0, 2]], expected.contributions)
    assert (explanation.contributions[:, [1, 3]] == 0).all()
    np.testing.assert_allclose(explanation.contributions.sum(axis=1), explanation.distance2,
                               rtol=1e-12)
    assert explanation.feature_names == names
    renamed = [[({"x0": "a", "x1": "b"}[n], share) for n, share in row]
               for row in expected.top_features(4)]
    assert explanation.top_features(4) == renamed


def test_detector_files_keep_the_ignored_columns(tmp_path, blobs, fitted):
    import json
    import zipfile

    X, _ = with_constant_columns(blobs)
    with pytest.warns(ConstantColumnWarning):
        detector = GMMOutlierDetector(random_state=0).fit(X)
    save_detector(detector, tmp_path / "constant.gmm")
    loaded = load_detector(tmp_path / "constant.gmm")
    assert loaded.ignored_columns_.tolist() == [1, 3]
    np.testing.assert_array_equal(loaded.decision_function(X), detector.decision_scores_)
    np.testing.assert_array_equal(loaded.explain(X[:5]).contributions,
                                  detector.explain(X[:5]).contributions)
    with zipfile.ZipFile(tmp_path / "constant.gmm") as archive:
        state = json.loads(archive.read("metadata.json"))["extra"]["outlier_detector"]
    assert state["version"] == 2 and state["ignored_columns"] == [1, 3]
    # a detector without ignored columns keeps the version-1 layout, as files saved before
    save_detector(fitted, tmp_path / "plain.gmm")
    with zipfile.ZipFile(tmp_path / "plain.gmm") as archive:
        state = json.loads(archive.read("metadata.json"))["extra"]["outlier_detector"]
    assert state["version"] == 1 and "ignored_columns" not in state
    assert load_detector(tmp_path / "plain.gmm").ignored_columns_.tolist() == []


def test_a_detector_file_whose_ignored_columns_do_not_fit(tmp_path, blobs):
    X, _ = with_constant_columns(blobs)
    with pytest.warns(ConstantColumnWarning):
        detector = GMMOutlierDetector(random_state=0).fit(X)
    detector.ignored_columns_ = np.array([1])  # a mixture of 2 features, 4 columns
    save_detector(detector, tmp_path / "damaged.gmm")
    with pytest.raises(ModelFileError, match=re.escape(
        f"cannot load '{tmp_path / 'damaged.gmm'}' as an outlier detector: its ignored columns "
        "[1] do not fit its 4 columns and its mixture of 2 features; the file is damaged."
    )):
        load_detector(tmp_path / "damaged.gmm")


def test_a_public_benchmark_set_as_given():
    """digits has constant pixel columns; PyOD's detectors accept it as it is, and so does this."""
    from sklearn.datasets import load_digits

    X = load_digits().data[:400]
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    assert constant.size >= 3
    with pytest.warns(ConstantColumnWarning):
        detector = GMMOutlierDetector(2, covariance_type="diag", random_state=0).fit(X)
    assert detector.ignored_columns_.tolist() == constant.tolist()
    assert np.isfinite(detector.decision_scores_).all()


def test_all_rows_identical():
    with pytest.raises(ValueError, match=re.escape(
        "all 30 rows are identical; an anomaly is a row unlike the others, so the data need "
        "at least two distinct rows."
    )):
        GMMOutlierDetector(covariance_type="diag").fit(np.tile([1.0, 2.0, 3.0], (30, 1)))


def test_more_columns_than_rows():
    X = np.random.default_rng(0).normal(size=(5, 8))
    with pytest.raises(ValueError, match=re.escape(
        "X has 5 rows and 8 columns; a tied-covariance mixture needs more rows than columns. "
        "Add rows, drop columns, or use covariance_type='diag'."
    )):
        GMMOutlierDetector().fit(X)


def test_nan_without_missing_em():
    X = np.random.default_rng(0).normal(size=(40, 2))
    X[[3, 7], 1] = np.nan
    with pytest.raises(ValueError, match=re.escape(
        "X contains NaN in 2 row(s); pass missing='em' to treat NaN as missing values, or "
        "drop those rows."
    )):
        GMMOutlierDetector().fit(X)
    detector = GMMOutlierDetector(missing="em", random_state=0).fit(X)
    assert np.isfinite(detector.decision_scores_).all()
    clean = GMMOutlierDetector(random_state=0).fit(np.nan_to_num(X))
    with pytest.raises(ValueError, match=re.escape("X contains NaN in 2 row(s)")):
        clean.decision_function(X)


def test_other_parameters_are_checked():
    X = np.random.default_rng(0).normal(size=(50, 2))
    cases = [
        (dict(scale="minmax"),
         "scale='minmax' is not supported; use 'standard', 'robust' or None."),
        (dict(missing="drop"), "missing='drop' is not supported; use 'error' or 'em'."),
        (dict(min_weight=1.5), "min_weight=1.5 is not valid; use 'auto' or a number in [0, 1)."),
        (dict(n_refits=-1), "n_refits=-1 is not valid; use an integer >= 0."),
        (dict(trim=0.9), "trim=0.9 is not valid; use a share of rows in (0, 0.5]."),
    ]
    for params, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            GMMOutlierDetector(**params).fit(X)


def test_progress_goes_to_stderr_only_when_verbose(capsys):
    X = np.random.default_rng(0).normal(size=(60, 2))
    GMMOutlierDetector(n_refits=1, random_state=0).fit(X)
    assert capsys.readouterr().err == ""
    GMMOutlierDetector(n_refits=1, random_state=0, verbose=True).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "GMMOutlierDetector: fitting the mixture (all rows)",
        "GMMOutlierDetector: fitting the mixture (refit 1)",
    ]
