"""The default detector, the ensemble: members, standardised scores, combinations,
explanations, files, the fallback, constant columns, ties, scales and missing values."""

import json
import re
import zipfile

import numpy as np
import pytest
from gmmkit_outliers import (
    ConstantColumnWarning,
    EnsembleFallbackWarning,
    GMMOutlierDetector,
    load_detector,
    save_detector,
)
from gmmkit_outliers.combination import combine, member_weights
from gmmkit_outliers.threshold import tail_threshold
from sklearn.metrics import roc_auc_score

from gmmkit import ModelFileError


def planted(seed=0, n=400, d=6):
    """Correlated Gaussian rows, scattered anomalies and a tight cluster of anomalies."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    inliers = np.vstack([rng.normal(size=(n // 2, d)), rng.normal(size=(n // 2, d)) + 4.0])
    inliers = inliers @ mixing
    scattered = rng.uniform(-8, 12, size=(10, d))
    tight = rng.normal(2.0, 0.05, size=(10, d)) @ mixing + 6.0
    X = np.vstack([inliers, scattered, tight])
    return X, np.r_[np.zeros(n), np.ones(20)]


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fitted(data):
    return GMMOutlierDetector(random_state=0).fit(data[0])


def by_hand(detector, X):
    """The combined score, recomputed from the members' mixtures."""
    Z = (X - detector.center_) / detector.scale_
    columns = [
        (-m.normal.score_samples(Z[:, m.features]) - m.center) / m.spread
        for m in detector.members_
    ]
    return combine(np.column_stack(columns), detector.combination, detector.buckets_)


def test_the_default_is_an_ensemble_of_bagged_members(data, fitted):
    X, y = data
    assert fitted.ensemble_ and len(fitted.members_) == 10 and fitted.model_ is None
    for member in fitted.members_:
        assert 3 <= member.features.size <= 6
        assert np.array_equal(member.features, np.unique(member.features))
        assert 1 <= len(member.normal.weights_) <= 5
        raw = -member.normal.score_samples(((X - fitted.center_) / fitted.scale_)
                                           [:, member.features])
        q1, median, q3 = np.percentile(raw, [25, 50, 75])  # member_scale="robust"
        assert member.center == pytest.approx(median)
        assert member.spread == pytest.approx((q3 - q1) / 1.3489795003921634)
    assert len({tuple(m.features) for m in fitted.members_}) > 1  # the subspaces differ
    np.testing.assert_allclose(fitted.decision_scores_, by_hand(fitted, X), rtol=1e-12)
    np.testing.assert_allclose(fitted.decision_function(X[:7]), fitted.decision_scores_[:7],
                               rtol=1e-12)
    assert roc_auc_score(y, fitted.decision_scores_) > 0.99
    tight = slice(-10, None)
    assert fitted.labels_[tight].all()  # the tight cluster is not "normal"


def test_seeds(data, fitted):
    X, _ = data
    again = GMMOutlierDetector(random_state=0).fit(X)
    np.testing.assert_array_equal(again.decision_scores_, fitted.decision_scores_)
    other = GMMOutlierDetector(random_state=1).fit(X)
    assert not np.array_equal(other.decision_scores_, fitted.decision_scores_)
    generator = GMMOutlierDetector(random_state=np.random.default_rng(0)).fit(X)
    np.testing.assert_array_equal(generator.decision_scores_, fitted.decision_scores_)


@pytest.mark.parametrize("combination", ["maximization", "aom", "moa"])
def test_other_combinations(data, combination):
    X, y = data
    detector = GMMOutlierDetector(combination=combination, random_state=0).fit(X)
    if combination == "maximization":
        assert detector.buckets_ is None
    else:
        assert sorted(np.concatenate(detector.buckets_).tolist()) == list(range(10))
    np.testing.assert_allclose(detector.decision_scores_, by_hand(detector, X), rtol=1e-12)
    assert roc_auc_score(y, detector.decision_scores_) > 0.98


def test_auto_threshold_combines_each_members_tail(data):
    X, _ = data
    detector = GMMOutlierDetector(contamination="auto", n_estimators=4, random_state=3).fit(X)
    tails = [(tail_threshold(m.normal, seed=3) - m.center) / m.spread for m in detector.members_]
    assert detector.threshold_ == pytest.approx(np.mean(tails), rel=1e-12)
    assert 0 < detector.labels_.mean() < 0.2


def test_explanations_are_the_members_exact_splits_combined(data, fitted):
    X, _ = data
    rows = X[-12:]
    why = fitted.explain(rows)
    Z = (rows - fitted.center_) / fitted.scale_
    scores = np.column_stack([m.scores(Z) for m in fitted.members_])
    weights = member_weights(scores, "average")
    np.testing.assert_array_equal(why.weights, weights)
    expected = np.zeros((12, 6))
    for m, (member, part) in enumerate(zip(fitted.members_, why.members)):
        # each member's split is exact: c_j = d_j (P d)_j to its nearest component
        k = part.nearest
        d = Z[:, member.features] - member.normal.means_[k]
        precision = np.linalg.inv(member.normal.covariances_)  # tied: one matrix
        c = d * np.einsum("ij,nj->ni", precision, d)
        np.testing.assert_allclose(part.contributions, c, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(part.contributions.sum(axis=1), part.distance2, rtol=1e-12)
        expected[:, member.features] += weights[:, [m]] * c / (2 * member.spread)
    np.testing.assert_allclose(why.contributions, expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(why.contributions.sum(axis=1), why.distance2, rtol=1e-12)
    assert why.nearest.shape == (12, 10)
    top = why.top_features(2)
    assert len(top) == 12 and all(name.startswith("x") for name, _ in top[0])


def test_detector_file_round_trip(tmp_path, data, fitted):
    X, _ = data
    save_detector(fitted, tmp_path / "ensemble.gmm")
    loaded = load_detector(tmp_path / "ensemble.gmm")
    assert loaded.ensemble_ and len(loaded.members_) == 10
    np.testing.assert_array_equal(loaded.decision_function(X), fitted.decision_scores_)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.explain(X[-5:]).contributions,
                                  fitted.explain(X[-5:]).contributions)
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.get_params() == fitted.get_params()
    with zipfile.ZipFile(tmp_path / "ensemble.gmm") as archive:
        names = archive.namelist()
        state = json.loads(archive.read("metadata.json"))["extra"]["outlier_detector"]
    assert not any(name.endswith((".pkl", ".pickle")) for name in names)
    assert state["version"] == 3 and len(state["ensemble"]["members"]) == 10
    aom = GMMOutlierDetector(combination="aom", n_estimators=5, random_state=0).fit(X)
    save_detector(aom, tmp_path / "aom.gmm")
    np.testing.assert_array_equal(load_detector(tmp_path / "aom.gmm").decision_function(X),
                                  aom.decision_scores_)


def test_a_damaged_member_is_refused(tmp_path, data):
    X, _ = data
    detector = GMMOutlierDetector(n_estimators=2, random_state=0).fit(X)
    detector.members_[1].features = np.array([0, 9])  # column 9 does not exist
    save_detector(detector, tmp_path / "damaged.gmm")
    with pytest.raises(ModelFileError, match=re.escape(
        f"cannot load '{tmp_path / 'damaged.gmm'}' as an outlier detector: a member of its "
        "ensemble is damaged (its features [0, 9] are not columns 0..5). Fit and save the "
        "detector again."
    )):
        load_detector(tmp_path / "damaged.gmm")


def test_too_few_rows_fall_back_to_the_single_model():
    X = np.random.default_rng(4).normal(size=(12, 3))
    with pytest.warns(EnsembleFallbackWarning, match=re.escape(
        "X has 12 rows for 3 columns; the ensemble fits each member to a bootstrap sample and "
        "needs at least 20 rows, so the detector fits one robust mixture to all rows instead "
        "(ensemble_ is False). Pass ensemble=None to ask for it, or add rows."
    )):
        detector = GMMOutlierDetector(random_state=0).fit(X)
    assert not detector.ensemble_ and detector.members_ is None
    single = GMMOutlierDetector(ensemble=None, random_state=0).fit(X)
    np.testing.assert_array_equal(detector.decision_scores_, single.decision_scores_)
    wide = np.random.default_rng(5).normal(size=(40, 25))
    with pytest.warns(EnsembleFallbackWarning, match="needs at least 52 rows"):
        GMMOutlierDetector(random_state=0).fit(wide)


def test_constant_columns_are_ignored_by_every_member(data):
    X, _ = data
    with_constant = np.column_stack([X[:, :3], np.full(len(X), 2.5), X[:, 3:]])
    with pytest.warns(ConstantColumnWarning, match="column 3 is constant"):
        detector = GMMOutlierDetector(random_state=0).fit(with_constant)
    reduced = GMMOutlierDetector(random_state=0).fit(X)
    np.testing.assert_array_equal(detector.decision_scores_, reduced.decision_scores_)
    why = detector.explain(with_constant[-3:])
    assert (why.contributions[:, 3] == 0).all() and why.contributions.shape == (3, 7)


def test_ties_duplicates_and_scales():
    rng = np.random.default_rng(6)
    counts = rng.poisson(2.0, size=(500, 5)).astype(float)  # integers: heavy ties
    counts = np.vstack([counts, counts[:100]])  # and 100 duplicated rows
    anomalies = rng.poisson(2.0, size=(15, 5)).astype(float)
    anomalies[:, :2] += 9.0
    X = np.vstack([counts, anomalies])
    y = np.r_[np.zeros(600), np.ones(15)]
    detector = GMMOutlierDetector(random_state=0).fit(X)
    assert np.isfinite(detector.decision_scores_).all()
    assert roc_auc_score(y, detector.decision_scores_) > 0.95
    units = np.array([1e-6, 1.0, 1e4, 3.0, 1e9])
    rescaled = GMMOutlierDetector(random_state=0).fit(X * units)
    np.testing.assert_allclose(rescaled.decision_scores_, detector.decision_scores_,
                               rtol=1e-6, atol=1e-9)


def test_missing_values_inside_the_members(data):
    X, y = data
    holes = X.copy()
    holes[::7, 1] = np.nan
    holes[3::11, 4] = np.nan
    with pytest.raises(ValueError, match=re.escape("X contains NaN in")):
        GMMOutlierDetector(random_state=0).fit(holes)
    detector = GMMOutlierDetector(missing="em", random_state=0).fit(holes)
    assert np.isfinite(detector.decision_scores_).all()
    assert roc_auc_score(y, detector.decision_scores_) > 0.97
    np.testing.assert_allclose(detector.decision_scores_, by_hand(detector, holes), rtol=1e-12)
    # a member scores a row by the marginal density of the row's observed columns
    member = next(m for m in detector.members_ if 1 in m.features)
    row = holes[[0]]  # column 1 missing
    z = ((row - detector.center_) / detector.scale_)[:, member.features]
    observed = np.flatnonzero(~np.isnan(z[0]))
    marginal = member.normal.marginal(observed)
    assert member.raw_scores((row - detector.center_) / detector.scale_)[0] == pytest.approx(
        -marginal.score_samples(z[:, observed])[0], rel=1e-10)


def test_bad_ensemble_parameters():
    X = np.random.default_rng(0).normal(size=(50, 2))
    cases = [
        (dict(ensemble="boosting"), "ensemble='boosting' is not supported; use 'bagging' "
         "(bootstrap rows and random feature subspaces) or None (one robust mixture)."),
        (dict(n_estimators=0), "n_estimators=0 is not valid; use an integer >= 1."),
        (dict(max_features=1.5), "max_features=1.5 is not valid; use a share of the columns "
         "in (0, 1]."),
        (dict(max_samples=1), "max_samples=1 is not valid; use 'auto', a number of rows >= 2 "
         "or a share of the rows in (0, 1]."),
        (dict(bootstrap="yes"), "bootstrap='yes' is not valid; use True or False."),
        (dict(combination="mean"), "combination='mean' is not supported; use one of "
         "'average', 'maximization', 'aom', 'moa'."),
        (dict(combination="aom", n_estimators=7), "combination='aom' splits the members into "
         "5 equal buckets, and n_estimators=7 does not split evenly; use a multiple of 5 "
         "(e.g. 5)."),
        (dict(contamination=0.6), "contamination=0.6 is not valid; use a number in (0, 0.5]"),
    ]
    for params, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            GMMOutlierDetector(**params).fit(X)


def test_progress_names_each_member(capsys):
    X = np.random.default_rng(0).normal(size=(60, 2))
    GMMOutlierDetector(n_estimators=3, random_state=0, verbose=True).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"GMMOutlierDetector: member {m} of 3" for m in (1, 2, 3)
    ]


def test_member_scale_standard_is_pyods_standardizer(data):
    X, _ = data
    detector = GMMOutlierDetector(member_scale="standard", random_state=0).fit(X)
    robust = GMMOutlierDetector(random_state=0).fit(X)
    Z = (X - detector.center_) / detector.scale_
    for member, other in zip(detector.members_, robust.members_):
        raw = -member.normal.score_samples(Z[:, member.features])
        assert member.center == pytest.approx(raw.mean())
        assert member.spread == pytest.approx(raw.std())
        np.testing.assert_array_equal(member.features, other.features)  # same members
    np.testing.assert_allclose(detector.decision_scores_, by_hand(detector, X), rtol=1e-12)
    assert not np.allclose(detector.decision_scores_, robust.decision_scores_)


def test_member_scale_falls_back_when_most_scores_tie():
    from gmmkit_outliers.ensemble import score_scale

    tied = np.r_[np.zeros(80), np.arange(1.0, 21.0)]   # interquartile range 0
    assert score_scale(tied, "robust") == (0.0, pytest.approx(tied.std()))
    assert score_scale(np.zeros(5), "robust") == (0.0, 1.0)
    assert score_scale(np.r_[np.nan, 1.0, 3.0], "standard") == (2.0, 1.0)


def test_member_scale_is_checked(data):
    with pytest.raises(ValueError, match="member_scale='mad' is not supported; use one of "
                                         "'robust', 'standard'."):
        GMMOutlierDetector(member_scale="mad").fit(data[0])
