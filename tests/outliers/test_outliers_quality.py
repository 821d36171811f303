"""The benchmark's protocols (benchmarks/outlier_protocols.py) and a small run of it.

benchmarks/bench_outliers.py runs every protocol with five seeds (minutes);
here the protocols are checked to be what they say, and two of them are run
with one seed against the single Gaussian and IsolationForest.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_outliers",
                                                  BENCHMARKS / "bench_outliers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BENCHMARKS))


def test_protocols_are_what_they_say(bench):
    protocols = {p.name: p for p in bench.DEVELOPMENT + bench.HELD_OUT}
    assert len({p.data for p in protocols.values()}) >= 12  # distinct public data sets
    X, y = protocols["breast_cancer malignant 10%"](0)
    assert X.shape == (397, 30) and y.sum() == 40  # 357 benign + 40 malignant (10%)
    X, y = protocols["digits 0 among 1-5"](0)
    assert y.mean() == pytest.approx(0.05, abs=0.001)
    again, _ = protocols["digits 0 among 1-5"](0)
    other, _ = protocols["digits 0 among 1-5"](1)
    np.testing.assert_array_equal(again, X)  # seeded
    assert not np.array_equal(other, X)  # another seed draws other anomalies
    X, y = protocols["geyser + clustered"](0)
    inliers = bench.GROUPS["held-out"][-1]  # geyser's 299 rows are all inliers
    assert inliers.name == "geyser + clustered" and (y == 0).sum() == 299
    X, y = protocols["star98 + subspace"](3)
    shifted = X[y == 1]
    assert shifted.shape[0] == 16 and np.isfinite(shifted).all()


@pytest.mark.slow
def test_the_default_beats_a_single_gaussian_and_isolation_forest_on_two_protocols(bench):
    protocols = [p for p in bench.DEVELOPMENT if p.name in ("wine class 0", "iris setosa")]
    detectors = {label: bench.DETECTORS[label] for label in ("ensemble", "GMM(1)", "IForest")}
    table = bench.run(protocols, detectors, seeds=[0])
    for row in table:
        assert row["ensemble"]["auc"] > row["GMM(1)"]["auc"], row["protocol"]
        assert row["ensemble"]["auc"] > row["IForest"]["auc"], row["protocol"]
    stats = bench.summary(table, list(detectors))
    assert stats["ensemble"]["mean_auc"] > 0.9


def test_tuning_protocols_use_only_development_data_and_fresh_ones_are_new(bench):
    development = {p.data for p in bench.DEVELOPMENT}
    assert {p.data for p in bench.TUNING_EXTRA} <= development
    names = [p.name for p in bench.DEVELOPMENT + bench.TUNING_EXTRA + bench.HELD_OUT + bench.FRESH]
    assert len(names) == len(set(names)) == 42
    assert not {p.data for p in bench.FRESH} & development
    assert bench.GROUPS["fresh"] == bench.FRESH and bench.TUNING == ("development", "tuning-extra")
    X, y = {p.name: p for p in bench.FRESH}["grunfeld General Motors 5%"](0)
    assert X.shape == (211, 3) and y.sum() == 11  # 200 rows of 10 other firms + 11 of GM
    X, y = {p.name: p for p in bench.TUNING_EXTRA}["wine + dependency"](2)
    assert X.shape == (187, 13) and y.sum() == 9 and np.isfinite(X).all()


def test_variant_column_is_the_detector_with_those_parameters(bench, monkeypatch):
    from gmmkit_outliers import GMMOutlierDetector

    monkeypatch.setitem(bench.VARIANT_PARAMS, "discrete_floor", 4)
    X, _ = {p.name: p for p in bench.DEVELOPMENT}["iris setosa"](0)
    expected = GMMOutlierDetector(discrete_floor=4, random_state=0).fit(X).decision_scores_
    np.testing.assert_array_equal(bench.variant_scores(X, 0), expected)
    assert not np.array_equal(bench.ensemble_scores(X, 0), expected)  # iris is on a 0.1 grid
