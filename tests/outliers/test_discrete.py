"""discrete_floor: a variance floor of F x step**2 on discrete columns (dequantisation)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from gmmkit_outliers import GMMOutlierDetector, load_detector, save_detector
from gmmkit_outliers.discrete import column_step, discrete_steps, floor_mixture
from helpers import invoke as run

from gmmkit import ModelFileError
from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager


@pytest.fixture(scope="module")
def X():
    """300 rows: continuous, counts 0..6, continuous x 3, ratings on a 0.5 grid, with a few
    far rows."""
    rng = np.random.default_rng(0)
    n = 300
    X = np.column_stack([
        rng.normal(size=n),
        rng.poisson(2.0, size=n).astype(float),
        rng.normal(size=n) * 3.0,
        rng.choice([1.0, 1.5, 2.0, 3.0], size=n),
    ])
    X[:6, 0] += 6.0
    return X


@pytest.mark.parametrize("values, step", [
    ([0, 1, 2, 5, 2, 0], 1.0),                     # integers: the gcd of the gaps
    ([0, 4, 10, 2, 4], 2.0),                       # even numbers
    ([-3, 4, 1e6 + 8], 1.0),                       # integers far apart still count
    ([-3, 7, 1e6 + 7], 10.0),                      # ... on their common grid
    ([1.0, 1.5, 2.0, 3.5, 1.0], 0.5),              # few values on a common grid
    ([0.1, 0.3, 0.7, np.nan, 0.1], 0.2),           # NaN left out; a grid up to rounding
    ([0.1, 0.35, 0.9], 0.0),                       # few values, but no common grid
    ([2.5, 2.5, np.nan], 0.0),                     # one value: nothing to step
    (list(np.linspace(0.0, 1.0, 33) + 0.25), 0.0),  # 33 values off the integers: continuous
])
def test_column_step(values, step):
    assert column_step(np.array(values, dtype=float)) == pytest.approx(step, rel=1e-9)


def test_continuous_columns_are_not_discrete(X):
    np.testing.assert_array_equal(discrete_steps(X), [0.0, 1.0, 0.0, 0.5])


@pytest.mark.parametrize("ensemble", ["bagging", None])
def test_a_floor_of_zero_is_todays_detector_bit_for_bit(X, ensemble):
    params = dict(ensemble=ensemble, n_estimators=4, random_state=0)
    base = GMMOutlierDetector(**params).fit(X)
    for floor in (0, 0.0):
        zero = GMMOutlierDetector(discrete_floor=floor, **params).fit(X)
        np.testing.assert_array_equal(zero.decision_scores_, base.decision_scores_)
        assert zero.threshold_ == base.threshold_
        np.testing.assert_array_equal(zero.explain(X[:5]).contributions,
                                      base.explain(X[:5]).contributions)


def test_the_floor_moves_only_the_discrete_columns_of_the_single_model(X):
    base = GMMOutlierDetector(ensemble=None, random_state=0).fit(X)
    floored = GMMOutlierDetector(ensemble=None, discrete_floor=4, random_state=0).fit(X)
    added = 4 * (np.array([0.0, 1.0, 0.0, 0.5]) / base.scale_) ** 2
    np.testing.assert_allclose(floored.model_.covariances_ - base.model_.covariances_,
                               np.diag(added), rtol=1e-12, atol=0)
    np.testing.assert_allclose(floored.model_.precisions_ @ floored.model_.covariances_,
                               np.eye(4), atol=1e-10)
    np.testing.assert_array_equal(floored.model_.means_, base.model_.means_)
    assert not np.array_equal(floored.decision_scores_, base.decision_scores_)
    # the score is minus the log density under the floored normal part, exactly
    from scipy.stats import multivariate_normal

    Z = (X - floored.center_) / floored.scale_
    normal = floored.normal_model_
    density = sum(w * multivariate_normal(m, normal.covariances_).pdf(Z)
                  for w, m in zip(normal.weights_, normal.means_))
    np.testing.assert_allclose(floored.decision_scores_, -np.log(density), rtol=1e-9)


def test_every_member_gets_the_floor_of_its_own_columns(X):
    params = dict(n_estimators=5, random_state=1)
    base = GMMOutlierDetector(**params).fit(X)
    floored = GMMOutlierDetector(discrete_floor=1 / 12, **params).fit(X)
    added = (np.array([0.0, 1.0, 0.0, 0.5]) / base.scale_) ** 2 / 12
    for plain, member in zip(base.members_, floored.members_):
        np.testing.assert_array_equal(member.features, plain.features)
        np.testing.assert_allclose(member.normal.covariances_ - plain.normal.covariances_,
                                   np.diag(added[member.features]), rtol=1e-12, atol=0)
    # the explanation stays the exact split of each member's floored distance
    why = floored.explain(X[:8])
    np.testing.assert_allclose(why.contributions.sum(axis=1), why.distance2, rtol=1e-12)
    for member, part in zip(floored.members_, why.members):
        Z = ((X[:8] - floored.center_) / floored.scale_)[:, member.features]
        d = Z - member.normal.means_[part.nearest]
        c = d * (d @ np.linalg.inv(member.normal.covariances_))
        np.testing.assert_allclose(part.contributions, c, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("covariance_type, expected", [
    ("diag", lambda floor: np.broadcast_to(floor, (2, 3))),
    ("spherical", lambda floor: np.full(2, floor.mean())),
    ("full", lambda floor: np.broadcast_to(np.diag(floor), (2, 3, 3))),
])
def test_floor_mixture_layouts(covariance_type, expected):
    from gmmkit import GaussianMixture

    Z = np.random.default_rng(2).normal(size=(80, 3))
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(Z)
    before = model.covariances_.copy()
    floor = np.array([0.5, 0.0, 0.25])
    floored = floor_mixture(model, floor)
    np.testing.assert_allclose(floored.covariances_ - before, expected(floor), atol=1e-15)
    np.testing.assert_array_equal(model.covariances_, before)  # the input is not changed
    reference = GaussianMixture.from_parameters(
        model.weights_, model.means_, floored.covariances_, covariance_type=covariance_type)
    np.testing.assert_allclose(floored.score_samples(Z), reference.score_samples(Z),
                               rtol=1e-12)
    assert floor_mixture(model, np.zeros(3)) is model


def test_floor_mixture_keeps_the_noise_component_and_gives_an_mclust_model_its_layout():
    from gmmkit import GaussianMixture

    Z = np.random.default_rng(2).normal(size=(150, 3))
    Z[:10] *= 8.0  # far rows for the noise component
    model = GaussianMixture(3, covariance_type="VEV", noise="uniform", random_state=0).fit(Z)
    floor = np.array([0.5, 0.0, 0.25])
    floored = floor_mixture(model, floor)
    # a floored VEV model has no equal shapes any more: it is the full mixture of its arrays
    assert floored.covariance_type == "full" and model.covariance_type == "VEV"
    assert floored.noise == "uniform" and floored.noise_weight_ == model.noise_weight_ > 0
    np.testing.assert_array_equal(floored.noise_bounds_, model.noise_bounds_)
    reference = GaussianMixture.from_parameters(
        model.weights_, model.means_, model.covariances_ + np.diag(floor),
        noise_bounds=model.noise_bounds_, noise_weight=model.noise_weight_)
    np.testing.assert_array_equal(floored.score_samples(Z), reference.score_samples(Z))


def test_detector_file_of_a_floored_mclust_model(tmp_path, X):
    """A single constrained mixture, floored, is saved and loaded (it was refused: the
    floored covariances had lost the model's equal shapes)."""
    detector = GMMOutlierDetector(ensemble=None, n_components=3, covariance_type="VEV",
                                  discrete_floor=4, random_state=0).fit(X)
    assert detector.model_.covariance_type == "full"
    save_detector(detector, tmp_path / "vev.gmm")
    loaded = load_detector(tmp_path / "vev.gmm")
    assert loaded.get_params() == detector.get_params()
    np.testing.assert_array_equal(loaded.decision_function(X), detector.decision_scores_)


@pytest.mark.parametrize("ensemble", ["bagging", None])
def test_detector_file_keeps_the_floor(tmp_path, X, ensemble):
    detector = GMMOutlierDetector(ensemble=ensemble, n_estimators=3, discrete_floor=4,
                                  random_state=0).fit(X)
    save_detector(detector, tmp_path / "floor.gmm")
    loaded = load_detector(tmp_path / "floor.gmm")
    assert loaded.get_params() == detector.get_params()
    assert loaded.discrete_floor == 4
    np.testing.assert_array_equal(loaded.discrete_steps_, [0.0, 1.0, 0.0, 0.5])
    np.testing.assert_array_equal(loaded.decision_function(X), detector.decision_scores_)
    np.testing.assert_array_equal(loaded.explain(X[:5]).contributions,
                                  detector.explain(X[:5]).contributions)


@pytest.mark.parametrize("value", [-1, -0.5, float("nan"), float("inf"), "4", True])
def test_bad_floors_are_refused(X, value):
    with pytest.raises(ValueError, match=re.escape(
        f"discrete_floor={value!r} is not supported; use None or a finite number >= 0: the "
        "variance added to each discrete column, in units of its step squared (1/12 is a "
        "uniform spread over one step)."
    )):
        GMMOutlierDetector(discrete_floor=value).fit(X)


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


@pytest.fixture(scope="module")
def table(tmp_path_factory, X):
    path = tmp_path_factory.mktemp("discrete") / "rows.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "counts", "c", "rating"])
        writer.writerows([[repr(float(v)) for v in row] for row in X])
    return path


def test_cli_discrete_floor_reaches_the_detector(cli, table, X, tmp_path):
    result = run(cli, "outliers", "detect", table, "--n-estimators", 3, "--discrete-floor",
                 "4", "-q", "-o", tmp_path / "rows.csv")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "rows.csv") as handle:
        rows = list(csv.reader(handle))[1:]
    expected = GMMOutlierDetector(n_estimators=3, discrete_floor=4.0, random_state=0).fit(X)
    np.testing.assert_allclose([float(row[4]) for row in rows], expected.decision_scores_,
                               rtol=1e-12)


@pytest.mark.parametrize("value", ["-1", "lots", "inf"])
def test_cli_bad_discrete_floor(cli, table, tmp_path, value):
    result = run(cli, "outliers", "detect", table, "--discrete-floor", value, "-q",
                 "-o", tmp_path / "rows.csv")
    assert result.exit_code == 2
    assert (f"Invalid value for '--discrete-floor': {value!r} is neither 'none' nor a finite "
            "number >= 0: it is the variance added to each discrete column, in units of its "
            "step squared (1/12 is a uniform spread over one step)"
            in " ".join(result.output.split()))
    assert not (tmp_path / "rows.csv").exists()


def test_missing_values_are_scored_under_the_floored_marginal(X):
    from scipy.stats import multivariate_normal

    holes = X.copy()
    holes[::7, 2] = np.nan
    holes[::11, 1] = np.nan  # NaN in the discrete column: its step is that of the others
    detector = GMMOutlierDetector(ensemble=None, missing="em", discrete_floor=4,
                                  random_state=0).fit(holes)
    assert detector.discrete_steps_[1] == 1.0
    Z = (holes - detector.center_) / detector.scale_
    normal = detector.normal_model_
    for row in np.flatnonzero(np.isnan(holes).any(axis=1))[:6]:
        seen = np.flatnonzero(~np.isnan(holes[row]))
        density = sum(w * multivariate_normal(m[seen], normal.covariances_[np.ix_(seen, seen)])
                      .pdf(Z[row, seen]) for w, m in zip(normal.weights_, normal.means_))
        assert detector.decision_scores_[row] == pytest.approx(-np.log(density), rel=1e-9)


@pytest.mark.parametrize("steps", [[0.0, -1.0, 0.0, 0.5], [0.0, 1.0, 0.0]])
def test_a_file_with_damaged_discrete_steps_is_refused(tmp_path, X, steps):
    detector = GMMOutlierDetector(ensemble=None, discrete_floor=4, random_state=0).fit(X)
    detector.discrete_steps_ = np.array(steps)
    save_detector(detector, tmp_path / "damaged.gmm")
    with pytest.raises(ModelFileError, match=re.escape(
        f"cannot load '{tmp_path / 'damaged.gmm'}' as an outlier detector: its discrete steps "
        "are not 4 finite numbers >= 0; the file is damaged. Fit and save the detector again."
    )):
        load_detector(tmp_path / "damaged.gmm")
