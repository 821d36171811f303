"""The benchmark tooling of the third round: --first-seed and benchmarks/outlier_variants.py."""

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from gmmkit_outliers import GMMOutlierDetector
from scipy import stats

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def variants():
    path = list(sys.path)
    yield _load("outlier_variants")
    sys.path[:] = path


@pytest.mark.slow  # it also times the 100,000 x 20 fit + score
def test_first_seed_runs_the_seeds_after_it(variants, tmp_path):
    pytest.importorskip("PIL", reason="the fresh group's china image needs Pillow")
    bench = variants.bench
    out = tmp_path / "r.json"
    bench.main(["--group", "fresh", "--only", "GMM(1)", "--seeds", "1", "--first-seed", "2",
                "--json-out", str(out), "-q"])
    results = json.loads(out.read_text())
    assert results["seeds"] == [2]
    expected = bench.run(bench.FRESH[:2], {"GMM(1)": bench.DETECTORS["GMM(1)"]}, seeds=[2])
    for got, want in zip(results["fresh"]["table"], expected):
        assert got["protocol"] == want["protocol"]
        assert got["GMM(1)"]["auc"] == want["GMM(1)"]["auc"]
    seed0 = bench.run(bench.FRESH[:1], {"GMM(1)": bench.DETECTORS["GMM(1)"]}, seeds=[0])
    assert seed0[0]["GMM(1)"]["auc"] != expected[0]["GMM(1)"]["auc"]  # another draw


def test_quantile_columns_are_normal_scores_of_mid_ranks(variants):
    X = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 5.0], [2.0, 1.0]])
    want = stats.norm.ppf((np.apply_along_axis(stats.rankdata, 0, X) - 0.5) / len(X))
    np.testing.assert_allclose(variants.quantile_columns(X), want)


def test_tail_term_and_robust_z_by_hand(variants):
    X = np.array([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0], [4.0, 7.0]])  # column 1 constant
    # left tails 1/4, 2/4, 3/4, 1; right tails 1, 3/4, 2/4, 1/4
    np.testing.assert_allclose(variants.tail_term(X), -np.log([0.25, 0.5, 0.5, 0.25]))
    scores = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # median 2, IQR 2
    np.testing.assert_allclose(variants.robust_z(scores), (scores - 2) / (2 / 1.3489795003921634))


def test_dequantise_zero_is_the_detector_and_a_floor_moves_only_discrete_columns(variants):
    rng = np.random.default_rng(0)
    continuous = rng.normal(size=(120, 3))
    detector = GMMOutlierDetector(random_state=0).fit(continuous)
    np.testing.assert_allclose(variants.dequantised(detector, continuous, 0.0),
                               detector.decision_scores_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(variants.dequantised(detector, continuous, 4.0),
                               detector.decision_scores_, rtol=1e-10, atol=1e-10)
    discrete = np.column_stack([continuous[:, :2], rng.integers(0, 4, 120)])
    detector = GMMOutlierDetector(random_state=0).fit(discrete)
    before = detector.decision_scores_.copy()
    assert not np.allclose(variants.dequantised(detector, discrete, 4.0), before)


def test_a_variant_scores_the_protocols_as_bench_outliers_does(variants, tmp_path):
    score = variants.variant_scores("gmm10", {})  # weight 0: the default, restandardised
    X, _ = variants.bench.FRESH[0](0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = variants.bench.ensemble_scores(X, 0)
    np.testing.assert_allclose(score(X, 0), variants.robust_z(plain))
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        variants.variant_scores("nope", {})(X, 0)


# ---------------------------------------------------------------- the fifth round's harness


def _data():
    rng = np.random.default_rng(3)
    return np.vstack([rng.normal(size=(150, 3)), rng.normal(4.0, 0.5, size=(10, 3))])


def test_member_fit_and_oob_draw_with_bic_are_the_default_bit_for_bit(variants, monkeypatch):
    from gmmkit_outliers import ensemble, scoring

    X = _data()
    default = GMMOutlierDetector(random_state=0).fit(X).decision_scores_
    monkeypatch.setattr(scoring, "_fit", variants.member_fit(variants.by_criterion("bic")))
    np.testing.assert_array_equal(GMMOutlierDetector(random_state=0).fit(X).decision_scores_,
                                  default)
    bag = variants.OutOfBag()
    monkeypatch.setattr(ensemble, "_draw", bag.draw)
    np.testing.assert_array_equal(GMMOutlierDetector(random_state=0).fit(X).decision_scores_,
                                  default)
    # 160 rows drawn with replacement: the rows never drawn are the out-of-bag ones
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    rng = np.random.default_rng(0)
    features, sample = bag.draw(Z, np.random.default_rng(0), 160, 1.0, True)
    ensemble.draw_subspace(rng, 3, 1.0)
    drawn = np.unique(rng.choice(160, 160, replace=True))
    assert len(bag.rows) == 160 - drawn.size and len(sample) == 160
    np.testing.assert_array_equal(bag.rows, Z[np.setdiff1d(np.arange(160), drawn)][:, features])


def test_fifth_round_variants_differ_from_the_default(variants):
    X = _data()
    default = GMMOutlierDetector(random_state=0).fit(X).decision_scores_
    for name in ("oob-k", "mclust-cov", "random-cov", "lk-subspace", "icl", "rank",
                 "mahalanobis"):
        scores = variants.variant_scores(name, {})(X, 0)
        assert scores.shape == (160,) and np.isfinite(scores).all(), name
        assert not np.allclose(scores, default), name
    ranks = variants.variant_scores("rank", {})(X, 0)
    assert 0 < ranks.min() and ranks.max() <= 1


def test_lk_subspace_is_half_to_all_but_one_column(variants):
    rng = np.random.default_rng(0)
    for d, low, high in ((1, 1, 1), (2, 1, 1), (3, 1, 2), (9, 4, 8)):
        sizes = {variants.lk_subspace(rng, d, 1.0).size for _ in range(200)}
        assert sizes == set(range(low, high + 1)), d


def test_nearest_mahalanobis_by_hand(variants):
    from gmmkit_outliers.scoring import mixture_from_arrays

    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    chol = np.linalg.inv(np.linalg.cholesky(cov)).T
    normal = mixture_from_arrays("tied", "error", [0.5, 0.5], [[0.0, 0.0], [3.0, 1.0]], cov, chol)
    Z = np.array([[0.0, 0.0], [2.5, 1.0], [1.0, -2.0]])
    inverse = np.linalg.inv(cov)
    want = [min((z - m) @ inverse @ (z - m) for m in normal.means_) for z in Z]
    np.testing.assert_allclose(variants.nearest_mahalanobis(normal, Z), want)


def test_outlier_compare_pairs_protocols_by_name(tmp_path):
    compare = _load("outlier_compare")

    def results(values, label="ensemble"):
        rows = [{"protocol": f"p{i}", label: {"auc": v, "ap": v / 2}} for i, v in enumerate(values)]
        return {"seeds": [0], "held-out": {"table": rows[:2]}, "fresh": {"table": rows[2:]}}

    reference = compare.per_protocol(results([0.5, 0.6, 0.7, 0.8]), "ensemble")
    candidate = compare.per_protocol(results([0.6, 0.6, 0.9, 0.81]), "ensemble")
    stats = compare.paired(reference, candidate)
    diff = np.array([0.1, 0.0, 0.2, 0.01])
    assert stats["difference"] == pytest.approx(diff.mean())
    assert stats["se"] == pytest.approx(diff.std(ddof=1) / 2)
    assert (stats["up"], stats["down"], stats["ahead"], stats["n"]) == (3, 0, 3, 4)
    assert stats["passes"] == (diff.mean() > 2 * diff.std(ddof=1) / 2)  # 1.63 se: no
    assert not stats["passes"]
    assert compare.paired(reference, reference)["ratio"] == 0.0
    with pytest.raises(ValueError, match="share 1 protocols; compare runs of the same group"):
        compare.paired(reference, {"p0": 0.5, "other": 0.1})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(results([0.5, 0.6, 0.7, 0.8], "IForest")
                               | {"timing_100000x20": {}}))
    assert compare.per_protocol(json.loads(path.read_text()), "IForest", "ap")["p3"] == 0.4


def test_outlier_compare_best_of_is_the_per_protocol_maximum_of_joined_files(tmp_path, capsys):
    compare = _load("outlier_compare")
    files = {}
    for name, group, values in (("a1", "held-out", [0.5, 0.9]), ("a2", "fresh", [0.7, 0.6]),
                                ("b1", "held-out", [0.6, 0.8]), ("b2", "fresh", [0.9, 0.5])):
        rows = [{"protocol": f"{group}{i}", "ensemble": {"auc": v}, "IForest": {"auc": 0.5}}
                for i, v in enumerate(values)]
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps({group: {"table": rows}}))
    joined = [f"{files[x + '1']}+{files[x + '2']}" for x in "ab"]
    assert sorted(compare.load(joined[0])) == ["fresh", "held-out"]
    compare.main([*joined, "--best-of", "--against", "IForest"])
    out = capsys.readouterr().out.splitlines()
    # the best of each protocol: 0.6, 0.9, 0.9, 0.6 (mean 0.75) against 0.675 and 0.5
    assert out[0].startswith("best of 2 minus the reference: 0.7500 vs 0.6750, +0.0750")
    assert out[1].startswith("best of 2 minus IForest: 0.7500 vs 0.5000, +0.2500")
    for argv, message in (([joined[0], str(tmp_path / "nope.json"), "--best-of"], "nope.json"),
                          ([joined[0], "--within", "ensemble", "--against", "LOF"],
                           "no results of 'LOF' for 4 protocol(s) (first: 'held-out0')"),
                          ([str(files["a1"]), str(files["b2"])], "share 0 protocols")):
        with pytest.raises(SystemExit) as raised:
            compare.main(argv)
        assert raised.value.code == 2 and message in capsys.readouterr().err


def test_sixth_and_seventh_round_variants_reduce_to_what_they_combine(variants):
    X = _data()
    default = GMMOutlierDetector(random_state=0).fit(X).decision_scores_
    # k10 with the default's range is the default, bit for bit; 1..10 is another model
    np.testing.assert_array_equal(variants.wider_k({}, X, 0, largest=5), default)
    assert not np.allclose(variants.wider_k({}, X, 0), default)
    # with-single: the mean of the two robustly standardised scores; the single
    # model sees every row up to SINGLE_ROWS, a draw of them beyond
    single = GMMOutlierDetector(random_state=0, ensemble=None).fit(X).decision_scores_
    np.testing.assert_array_equal(variants.single_model_scores({}, X, 0), single)
    np.testing.assert_allclose(variants.with_single({}, X, 0),
                               (variants.robust_z(default) + variants.robust_z(single)) / 2)
    k = np.mean([variants.robust_z(GMMOutlierDetector(random_state=0, n_components=k)
                                   .fit(X).decision_scores_) for k in (1, 2, 3, 4, 5)], axis=0)
    np.testing.assert_array_equal(variants.k_averaged({}, X, 0), k)


def test_single_model_beyond_its_row_cap_is_fitted_to_a_draw_and_scores_every_row(
        variants, monkeypatch):
    X = _data()
    monkeypatch.setattr(variants, "SINGLE_ROWS", 100)
    rows = np.sort(np.random.default_rng(3).choice(len(X), 100, replace=False))
    want = GMMOutlierDetector(random_state=3, ensemble=None).fit(X[rows]).decision_function(X)
    np.testing.assert_array_equal(variants.single_model_scores({}, X, 3), want)


def test_jitter_moves_only_members_of_discrete_data(variants):
    X = _data()  # continuous: no discrete column, no jitter
    default = GMMOutlierDetector(random_state=0).fit(X).decision_scores_
    np.testing.assert_array_equal(
        variants.jittered({}, X, 0), default)
    counts = np.round(X * 3)  # integer columns: jittered before each member's fit
    plain = GMMOutlierDetector(random_state=0).fit(counts).decision_scores_
    jittered = variants.jittered({}, counts, 0)
    assert np.isfinite(jittered).all() and not np.allclose(jittered, plain)
    assert variants.discrete_share(counts) == 1.0 and variants.discrete_share(X) == 0.0
