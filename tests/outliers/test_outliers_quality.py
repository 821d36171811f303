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


#: the fifth round's final group (benchmarks/README.md): rows x columns and anomalies, seed 0
FINAL_SHAPES = {
    "admissions admitted 10%": ((303, 3), 30),  # 273 not admitted + 30 admitted
    "mclust diabetes overt 10%": ((124, 3), 12),  # 76 normal + 36 chemical + 12 overt
    "chelsea pixels among coffee 5%": ((3158, 3), 158),
    "rocket pixels among astronaut 5%": ((3158, 3), 158),
    "lfw non-faces among faces 10%": ((111, 25), 11),  # 5 x 5 block means of 25 x 25
    "make_classification class 1 5%": ((1579, 10), 79),
    "make_blobs tight blob 5%": ((2105, 4), 105),
    "sp500 crisis days 5%": ((2105, 3), 105),
    "index returns + dependency": ((5295, 2), 265),  # 5030 daily returns + 265
    "cancer + dependency": ((317, 2), 16),
    "french factors + local": ((1167, 4), 58),
    "engel + global": ((247, 2), 12),
    "fertility + subspace": ((203, 9), 10),  # 193 countries with every year 1970-2010
    "bond yields + clustered": ((1263, 2), 63),
}
IMAGE_PROTOCOLS = ("chelsea pixels among coffee 5%", "rocket pixels among astronaut 5%",
                   "lfw non-faces among faces 10%")


def _offline(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("the final, sixth and seventh groups must load offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _check_shapes(bench, names, group="FINAL", shapes=FINAL_SHAPES):
    protocols = {p.name: p for p in getattr(bench, group)}
    for name in names:
        X, y = protocols[name](0)
        shape, n_anomalies = shapes[name]
        assert (X.shape, int(y.sum())) == (shape, n_anomalies), name
        assert np.isfinite(X).all() and set(np.unique(y)) == {0, 1}, name
        again, _ = protocols[name](0)
        other, _ = protocols[name](1)
        np.testing.assert_array_equal(again, X)  # seeded
        assert not np.array_equal(other, X), name  # another seed, other rows


def _check_new_group(bench, group, shapes, earlier, n_class=9):
    """``group`` (a GROUPS key): its protocols, new data and names, n_class of class, not in all."""
    protocols = bench.GROUPS[group]
    assert [p.name for p in protocols] == list(shapes)
    assert not {p.data for p in protocols} & {p.data for p in earlier}
    assert not {p.name for p in protocols} & {p.name for p in earlier}
    kinds = [p.kind for p in protocols]
    assert kinds.count("class") == n_class and set(kinds) == {
        "class", "local", "clustered", "global", "dependency", "subspace"}
    assert group not in bench.ALL


def test_final_group_is_new_data_and_not_part_of_all(bench):
    earlier = bench.DEVELOPMENT + bench.TUNING_EXTRA + bench.HELD_OUT + bench.FRESH
    assert bench.GROUPS["final"] == bench.FINAL
    _check_new_group(bench, "final", FINAL_SHAPES, earlier, n_class=8)
    assert bench.SEEN == bench.ALL == ("development", "tuning-extra", "held-out", "fresh")


def test_final_group_builds_offline_with_its_shapes(bench, monkeypatch):
    pytest.importorskip("arch")
    _offline(monkeypatch)
    _check_shapes(bench, [name for name in FINAL_SHAPES if name not in IMAGE_PROTOCOLS])


def test_final_group_images_build_offline(bench, monkeypatch):
    pytest.importorskip("skimage", reason="the image protocols need scikit-image")
    _offline(monkeypatch)
    _check_shapes(bench, IMAGE_PROTOCOLS)


#: the sixth round's group (benchmarks/README.md): rows x columns and anomalies, seed 0;
#: only built, never scored, when it was written down
SIXTH_SHAPES = {
    "grass patches among brick 5%": ((1078, 16), 54),  # 1024 tiles of 16 x 16, 4 x 4 means
    "gravel patches among grass 5%": ((421, 25), 21),  # 400 tiles of 25 x 25, 5 x 5 means
    "text patches among camera 5%": ((1078, 16), 54),
    "hubble pixels among immunohistochemistry 5%": ((3158, 3), 158),
    "vix and oil sell-off days 5%": ((1191, 3), 60),  # 1131 other days + 60 of 2015-16
    "likert far answers 5%": ((2059, 10), 103),  # 1956 rows of Hastie's class -1
    "mixed integer outer shell 5%": ((2105, 6), 105),
    "word counts label 0 5%": ((1647, 20), 82),  # 1565 rows labelled 1 or 2 alone
    "make_circles inner circle 5%": ((1053, 2), 53),
    "crude returns + dependency": ((413, 2), 21),  # 392 monthly returns + 21
    "coins patches + dependency": ((300, 16), 15),  # 285 tiles of 20 x 20
    "core inflation + global": ((769, 2), 38),  # 731 months + 38
    "s_curve + clustered": ((1579, 3), 79),
    "friedman1 + subspace": ((1053, 11), 53),  # 10 columns and the target
    "make_regression + local": ((1263, 9), 63),
}
SIXTH_IMAGES = ("grass patches among brick 5%", "gravel patches among grass 5%",
                "text patches among camera 5%", "hubble pixels among immunohistochemistry 5%",
                "coins patches + dependency")


def test_sixth_group_is_new_data_and_not_part_of_all(bench):
    earlier = bench.DEVELOPMENT + bench.TUNING_EXTRA + bench.HELD_OUT + bench.FRESH + bench.FINAL
    assert bench.GROUPS["sixth"] == bench.SIXTH
    _check_new_group(bench, "sixth", SIXTH_SHAPES, earlier)


def test_sixth_group_builds_offline_with_its_shapes(bench, monkeypatch):
    pytest.importorskip("arch")
    _offline(monkeypatch)
    _check_shapes(bench, [name for name in SIXTH_SHAPES if name not in SIXTH_IMAGES],
                 "SIXTH", SIXTH_SHAPES)
    X, _ = {p.name: p for p in bench.SIXTH}["likert far answers 5%"](0)
    np.testing.assert_array_equal(np.unique(X), np.arange(1.0, 8.0))  # a 1..7 scale


def test_sixth_group_images_build_offline(bench, monkeypatch):
    pytest.importorskip("skimage", reason="the image protocols need scikit-image")
    _offline(monkeypatch)
    _check_shapes(bench, SIXTH_IMAGES, "SIXTH", SIXTH_SHAPES)


#: the seventh round's group (benchmarks/README.md): rows x columns and anomalies, seed 0;
#: only built, never scored, when it was written down
SEVENTH_SHAPES = {
    "clock patches among moon 5%": ((1078, 16), 54),  # 1024 tiles of 16 x 16, 4 x 4 means
    "colorwheel pixels among retina 5%": ((3158, 3), 158),
    "survey careless responders 5%": ((2105, 12), 105),  # 2000 of 3000 attentive ones
    "survey acquiescent responders 5%": ((1579, 30), 79),
    "lognormal flipped dependence 5%": ((2105, 5), 105),
    "multivariate t minor-axis shift 5%": ((2105, 8), 105),
    "make_moons lower moon 5%": ((1053, 2), 53),  # the upper moon's 1000 rows + 53
    "swiss roll outer turn 5%": ((2105, 3), 105),
    "biclusters row cluster 0 5%": ((2105, 30), 105),
    "stereo pixels + dependency": ((2618, 6), 131),  # every 149th pixel: 2487 + 131
    "survey counts + dependency": ((2105, 8), 105),
    "low rank 30 + subspace": ((1053, 30), 53),
    "friedman2 + global": ((1053, 5), 53),  # 4 columns and the target
    "friedman3 + local": ((1053, 5), 53),
    "checkerboard + clustered": ((1263, 12), 63),
}
SEVENTH_IMAGES = ("clock patches among moon 5%", "colorwheel pixels among retina 5%",
                  "stereo pixels + dependency")
SEVENTH_MIXTURES = ("friedman3 + local", "checkerboard + clustered")  # fitted to make anomalies


def test_seventh_group_is_new_data_and_not_part_of_all(bench):
    earlier = (bench.DEVELOPMENT + bench.TUNING_EXTRA + bench.HELD_OUT + bench.FRESH + bench.FINAL
               + bench.SIXTH)
    assert bench.GROUPS["seventh"] == bench.SEVENTH
    _check_new_group(bench, "seventh", SEVENTH_SHAPES, earlier)
    assert len({p.data for p in bench.SEVENTH}) == 15  # every protocol on a data set of its own


def test_seventh_group_builds_offline_with_its_shapes(bench, monkeypatch):
    _offline(monkeypatch)
    _check_shapes(bench, [name for name in SEVENTH_SHAPES
                         if name not in SEVENTH_IMAGES + SEVENTH_MIXTURES],
                 "SEVENTH", SEVENTH_SHAPES)
    protocols = {p.name: p for p in bench.SEVENTH}
    X, y = protocols["survey careless responders 5%"](0)
    np.testing.assert_array_equal(np.unique(X), np.arange(1.0, 6.0))  # a 1..5 scale
    X, _ = protocols["survey acquiescent responders 5%"](0)
    np.testing.assert_array_equal(np.unique(X), np.arange(1.0, 8.0))  # a 1..7 scale
    X, y = protocols["survey counts + dependency"](0)
    np.testing.assert_allclose(X, np.round(X), atol=1e-9)  # counts (resampled: rescaled)
    assert (X > -1e-9).all() and (np.abs(X) < 1e-9).mean() > 0.3  # many zeros
    X, y = protocols["lognormal flipped dependence 5%"](0)
    np.testing.assert_array_less(0.0, X)  # positive, skewed amounts
    assert np.corrcoef(np.log(X[y == 0]).T)[0, 2] > 0.5 > -0.5 > np.corrcoef(
        np.log(X[y == 1]).T)[0, 2]  # the anomalies' dependence is flipped


@pytest.mark.slow
def test_seventh_group_mixture_anomalies_build_offline(bench, monkeypatch):
    _offline(monkeypatch)
    _check_shapes(bench, SEVENTH_MIXTURES, "SEVENTH", SEVENTH_SHAPES)


def test_seventh_group_images_build_offline(bench, monkeypatch):
    pytest.importorskip("skimage", reason="the image protocols need scikit-image")
    _offline(monkeypatch)
    _check_shapes(bench, SEVENTH_IMAGES, "SEVENTH", SEVENTH_SHAPES)
