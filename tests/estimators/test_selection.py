"""Model selection: the grid, the criteria, honest tables, n_components="auto", the CLI."""

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import COVARIANCE_TYPES, needs_matplotlib

from gmmkit import GaussianMixture, load
from gmmkit.cli import build_cli
from gmmkit.datasets import load_dataset
from gmmkit.estimators.selection import select_model
from gmmkit.plugins import make_plugin_manager


def spherical_clusters(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0, 0], [8, 0, 0], [0, 8, 8]])
    return np.vstack([rng.normal(c, s, (300, 3)) for c, s in zip(centres, (0.5, 1.0, 1.5))])


def correlated_clusters(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [[[2, 1.8], [1.8, 2]], [[1, -0.8], [-0.8, 1]], [[2, 0.5], [0.5, 0.4]]]
    centres = [[0, 0], [7, 7], [-6, 6]]
    return np.vstack([rng.multivariate_normal(c, s, 400) for c, s in zip(centres, shapes)])


@pytest.mark.parametrize(
    ("data", "expected"),
    [(spherical_clusters, (3, "VII")), (correlated_clusters, (3, "VVV"))],
)
def test_picks_the_true_k_and_covariance_type(data, expected):
    best, table = select_model(data(), range(1, 7), random_state=0, as_frame=False)
    assert (best.n_components, best.covariance_type) == expected
    assert len(table) == 6 * 14  # mclust's 14 models by default
    chosen = [row for row in table if row["chosen"]]
    clean = [row["bic"] for row in table if row["converged"] and not row["degenerate"]]
    assert len(chosen) == 1 and chosen[0]["bic"] == min(clean)


def free_parameters(covariance_type, k, d):
    covariance = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d,
                  "spherical": k}[covariance_type]
    return covariance + k * d + k - 1


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_criteria_equal_the_closed_form_and_scikit_learn(covariance_type):
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X = correlated_clusters(1)
    model, table = select_model(X, [3], [covariance_type], "icl", random_state=0,
                                as_frame=False)
    row = table[0]
    log_lik = model.score_samples(X).sum()
    p = free_parameters(covariance_type, 3, 2)
    assert row["n_parameters"] == p
    assert row["log_likelihood"] == pytest.approx(log_lik, rel=1e-12)
    assert row["bic"] == pytest.approx(-2 * log_lik + p * np.log(len(X)), rel=1e-12)
    assert row["aic"] == pytest.approx(-2 * log_lik + 2 * p, rel=1e-12)
    sk = SkGaussianMixture(3, covariance_type=covariance_type)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        setattr(sk, name, getattr(model, name))
    assert row["bic"] == pytest.approx(sk.bic(X), rel=1e-10)
    assert row["aic"] == pytest.approx(sk.aic(X), rel=1e-10)
    z = model.predict_proba(X)
    entropy = -np.sum(z * np.log(np.maximum(z, np.finfo(float).tiny)))
    assert row["icl"] == pytest.approx(row["bic"] + 2 * entropy, rel=1e-10)


def test_icl_prefers_separated_clusters_when_bic_splits_a_skewed_one():
    rng = np.random.default_rng(0)
    skewed = np.column_stack([rng.gamma(2.0, 1.0, 600), rng.normal(0, 0.3, 600)])
    X = np.vstack([skewed, rng.normal([12, 0], 0.3, (600, 2))])
    by_bic, _ = select_model(X, range(1, 6), ["full"], "bic", random_state=0, as_frame=False)
    by_icl, _ = select_model(X, range(1, 6), ["full"], "icl", random_state=0, as_frame=False)
    assert by_icl.n_components == 2 < by_bic.n_components


def test_sample_weights_are_integer_repetitions():
    X = spherical_clusters(2)[::3]
    counts = np.random.default_rng(0).integers(0, 3, size=len(X))
    _, weighted = select_model(X, [1, 2, 3], ["diag"], sample_weight=counts, random_state=0,
                               init_params="random_from_data", tol=1e-9, as_frame=False)
    _, repeated = select_model(np.repeat(X, counts, axis=0), [1, 2, 3], ["diag"],
                               random_state=0, init_params="random_from_data", tol=1e-9,
                               as_frame=False)
    for a, b in zip(weighted, repeated):
        assert a["bic"] == pytest.approx(b["bic"], rel=1e-6)


def test_failed_non_converged_and_degenerate_fits_stay_in_the_table():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), np.tile([[5.0, 5.0]], (30, 1))])
    best, table = select_model(X, [1, 2, 3], ["full"], random_state=0, as_frame=False)
    by_k = {row["n_components"]: row for row in table}
    # K=2 puts a component on the 30 repeated points: a huge, meaningless likelihood
    assert by_k[2]["degenerate"] and by_k[2]["bic"] < by_k[1]["bic"]
    assert "collapsed" in by_k[2]["warnings"][-1]
    assert best.n_components == 1 and by_k[1]["chosen"]

    with pytest.warns(Warning, match="no fit of the grid was clean: the chosen one .* did not"):
        best, table = select_model(spherical_clusters(), [2, 3], ["full"], max_iter=1,
                                   random_state=0, as_frame=False)
    assert not any(row["converged"] for row in table)
    assert any(row["chosen"] for row in table)


def test_a_fit_that_fails_is_a_row_with_its_error():
    X = spherical_clusters()[:40]
    # VVV with K=9 in 3-D has 89 free parameters: 40 rows cannot fit it
    best, table = select_model(X, [1, 9], ["VVV", "EII"], random_state=0, as_frame=False)
    by_fit = {(row["covariance_type"], row["n_components"]): row for row in table}
    assert by_fit[("VVV", 9)]["error"] == (
        "VVV with K=9 has 89 free parameters, but X has only 40 rows (with non-zero weight); "
        "it needs at least 89.")
    assert by_fit[("VVV", 9)]["bic"] is None and not by_fit[("VVV", 9)]["chosen"]
    assert by_fit[("EII", 9)]["error"] is None


def test_k_above_the_distinct_rows_is_refused_before_any_fit(monkeypatch):
    """Item 7 of issue 15: range(1, 10**9) was listed (MemoryError), 500 > 230 rows was fitted."""
    import gmmkit.estimators.grid as selection

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), np.tile([[5.0, 5.0]], (30, 1))])  # 201 distinct
    import gmmkit.estimators.selection_run as select_module

    monkeypatch.setattr(select_module, "fit_task", lambda *a, **k: pytest.fail("a fit ran"))
    for ks in ([1, 2, 500], range(1, 10**9), 202, iter(range(150, 10**12))):
        with pytest.raises(ValueError, match=r"X has only 201 distinct rows .* use K <= 201"):
            select_model(X, ks, ["full"])
    with pytest.raises(ValueError, match=r"^n_components holds K=999999999, but X has only 201 "
                                         r"distinct rows \(with non-zero weight\), and a mixture "
                                         r"cannot have more components than distinct rows; use "
                                         r"K <= 201\.$"):
        select_model(X, range(1, 10**9), ["full"])
    weights = np.r_[np.ones(10), np.zeros(220)]  # rows of weight 0 do not count
    with pytest.raises(ValueError, match="X has only 10 distinct rows"):
        select_model(X, [11], ["full"], sample_weight=weights)
    assert selection.n_distinct_rows(X) == 201
    assert selection.n_distinct_rows(X, up_to=3) >= 3
    assert selection.n_distinct_rows(np.zeros((1000, 2)), up_to=3) == 1


def test_auto_never_asks_for_more_components_than_distinct_rows():
    X = np.repeat([[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]], 50, axis=0)
    from gmmkit import GaussianMixture

    model = GaussianMixture("auto", random_state=0).fit(X)
    assert [row["n_components"] for row in model.selection_] == [1, 2, 3]


def test_a_constant_feature_is_not_a_collapse():
    X = np.column_stack([spherical_clusters()[:, :2], np.zeros(900)])
    best, table = select_model(X, [1, 2, 3], ["full", "diag"], random_state=0)
    assert not table["degenerate"].any()  # a DataFrame: pandas is installed here
    assert best.n_components == 3


def test_errors():
    X = spherical_clusters()
    with pytest.raises(ValueError, match="criterion='bayes' is not supported"):
        select_model(X, criterion="bayes")
    with pytest.raises(ValueError, match="covariance_type='round' is not supported; use one of "
                                         "mclust's 14 models EII, VII"):
        select_model(X, covariance_types=["round"])
    with pytest.raises(ValueError, match="n_components must hold integers >= 1; got 0"):
        select_model(X, n_components=[0, 1])
    with pytest.raises(ValueError, match=r"^select_model cannot take means_init \(the shapes of "
                                         r"weights_init, means_init and precisions_init depend "
                                         r"on K\); fit GaussianMixture with them for one K\.$"):
        select_model(X, [2], ["full"], means_init=[[0, 0, 0]])
    with pytest.raises(ValueError, match="every fit of the grid failed; the first error: VVV "
                                         "with K=2 has 19 free parameters, but X has only 10"):
        select_model(X[:10], [2], ["VVV"])
    with pytest.raises(ValueError, match="n_jobs=0 is not valid"):
        select_model(X, [1], ["full"], n_jobs=0)


@pytest.mark.slow
def test_parallel_processes_give_the_serial_result():
    X = correlated_clusters()
    serial_best, serial = select_model(X, range(1, 5), random_state=0, as_frame=False)
    parallel_best, parallel = select_model(X, range(1, 5), random_state=0, n_jobs=2,
                                           as_frame=False)
    assert [r["bic"] for r in parallel] == [r["bic"] for r in serial]
    np.testing.assert_array_equal(parallel_best.means_, serial_best.means_)


def test_auto_does_not_depend_on_the_seed_and_its_log_likelihood_grows_with_k():
    """Issue 17: geyser's auto table went 3113 (K=5), 2826, 3137, 2860 and picked K=6 by luck;
    with hc starts beside the model's own and warm starts every seed gives the same K, and
    the log-likelihood never drops with K."""
    X, _ = load_dataset("geyser")
    chosen = set()
    for seed in range(3):
        model = GaussianMixture("auto", random_state=seed).fit(X)
        chosen.add(model.n_components_)
        log_lik = np.array([row["log_likelihood"] for row in model.selection_])
        assert np.all(np.diff(log_lik) >= -1e-6 * np.abs(log_lik[1:]))
        assert all(row["monotone"] for row in model.selection_)
    assert chosen == {4}


def test_n_components_auto(tmp_path):
    X = spherical_clusters()
    model = GaussianMixture("auto", covariance_type="spherical", random_state=0).fit(X)
    assert model.n_components == "auto" and model.n_components_ == 3
    assert [row["n_components"] for row in model.selection_] == list(range(1, 11))
    reference = GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    np.testing.assert_allclose(np.sort(model.means_, axis=0), np.sort(reference.means_, axis=0),
                               atol=1e-3)
    assert model.bic(X) <= reference.bic(X) + 1e-9 * abs(reference.bic(X))
    assert model.predict(X).max() == 2
    refit = model.set_params(n_components=2).fit(X)
    assert refit.n_components_ == 2 and not hasattr(refit, "selection_")
    with pytest.raises(ValueError, match="n_components='auto' cannot take weights_init"):
        GaussianMixture("auto", means_init=[[0, 0, 0]]).fit(X)
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    on_disk = GaussianMixture("auto", covariance_type="spherical", random_state=0).fit(mapped)
    assert on_disk.n_components_ == 3
    streamed = GaussianMixture("auto", covariance_type="spherical", random_state=0)
    assert streamed.fit(lambda: iter([X])).n_components_ == 3  # the grid on shared passes
    with pytest.raises(ValueError, match="n_components must be an integer >= 1; got 'many'"):
        GaussianMixture("many").fit(X)


@needs_matplotlib
def test_select_command(tmp_path, monkeypatch):
    cli = build_cli(make_plugin_manager())
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["select", "faithful", "-k", "1..4", "--seed", "0"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("BIC (sklearn sign: lower is better; * chosen")
    assert lines[2].split() == ["K", "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE"]
    assert lines[6].split()[0] == "4" and lines[8].split()[-1] == "VVV"
    assert sum(line.count("*") for line in lines[2:]) == 1
    assert "best: K=3, EEE" in result.stdout and "model saved to faithful.gmm" in result.stdout
    assert "select_model: K=4, 14 fits" in result.stderr  # progress, unless -q
    X, _ = load_dataset("faithful")
    best, _ = select_model(X, range(1, 5), random_state=0)
    np.testing.assert_array_equal(load("faithful.gmm").means_, best.means_)

    as_json = runner.invoke(cli, ["select", "faithful", "-k", "2,3", "--covariance-types",
                                  "full,diag", "--criterion", "icl", "--json", "-o", "b.gmm"])
    summary = json.loads(as_json.stdout)
    assert len(summary["table"]) == 4 and summary["model_file"] == "b.gmm"
    assert {row["covariance_type"] for row in summary["table"]} == {"full", "diag"}

    again = runner.invoke(cli, ["select", "faithful", "-k", "1..3", "--plot", "bic.png"])
    assert again.exit_code == 2 and "'faithful.gmm' already exists; pass --force" in again.output
    assert not (tmp_path / "bic.png").exists()
    plotted = runner.invoke(cli, ["select", "faithful", "-k", "1..3", "--plot", "bic.png",
                                  "--force"])
    assert plotted.exit_code == 0, plotted.output
    with open("bic.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"

    start = time.perf_counter()
    huge = runner.invoke(cli, ["select", "faithful", "-k", "1..100000000", "-o", "huge.gmm"])
    assert huge.exit_code == 2 and time.perf_counter() - start < 10
    assert ("Error: Invalid value for -k: '1..100000000' asks for K up to 100000000, but "
            "faithful has only 256 distinct rows, and a mixture cannot have more components "
            "than distinct rows; give K <= 256, for example -k 1..10") in huge.output

    bad = runner.invoke(cli, ["select", "faithful", "-k", "3..1"])
    assert bad.exit_code == 2 and "write 1..10, 2,3,5 or 4" in bad.output


def test_auto_always_fits_one_component_even_with_more_parameters_than_rows():
    """GaussianMixture(1) fits 12 rows of 8 features (44 parameters) on reg_covar; "auto"
    must too, while select_model and auto's larger K refuse such fits with an error row."""
    X = np.random.default_rng(0).normal(size=(12, 8))
    model = GaussianMixture("auto", random_state=0).fit(X)
    single = GaussianMixture(1, random_state=0).fit(X)
    assert model.n_components_ == 1
    np.testing.assert_allclose(model.means_, single.means_)
    np.testing.assert_allclose(model.covariances_, single.covariances_, rtol=1e-10)
    assert "free parameters, but X has only 12 rows" in model.selection_[1]["error"]
    with pytest.raises(ValueError, match="VVV with K=1 has 44 free parameters, but X has only "
                                         "12 rows"):
        select_model(X, [1], ["VVV"])
