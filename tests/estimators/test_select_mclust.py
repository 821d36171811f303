"""select_model as mclust's Mclust: published choices, starts that do not depend on luck,
monotone log-likelihoods, hopeless fits stopped early, mclust's BIC convention."""

import warnings

import numpy as np
import pytest
from helpers import make_mixture

from gmmkit import select_model
from gmmkit.datasets import load_dataset
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams
from gmmkit.engine.warm_starts import merge_closest, split_widest
from gmmkit.estimators import selection_table
from gmmkit.estimators.selection_fits import Hopeless

#: Scrucca, Fop, Murphy and Raftery (2016), "mclust 5", The R Journal 8(1), and mclust's
#: documentation: Mclust(X) over G = 1..9 and the 14 models; (model, K, BIC, cluster sizes)
PUBLISHED = {
    "faithful": ("EEE", 3, -2314.386, [130, 97, 45]),
    "iris": ("VEV", 2, -561.7285, [50, 100]),
    "diabetes": ("VVV", 3, -4751.316, [81, 36, 28]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_mclust_choices(name):
    X, _ = load_dataset(name)
    model, k, bic, sizes = PUBLISHED[name]
    best, table = select_model(X, bic_convention="mclust", as_frame=False)
    assert (best.covariance_type, best.n_components) == (model, k)
    chosen = next(row for row in table if row["chosen"])
    assert chosen["bic"] >= bic - 1e-3  # no worse than mclust's (a tighter optimum is fine)
    assert chosen["bic"] == pytest.approx(bic, abs=0.05)
    assert sorted(np.bincount(best.predict(X))) == sorted(sizes)
    _assert_monotone_or_flagged(table, 10 * best.tol * len(X))


def _assert_monotone_or_flagged(table, slack):
    """Every K fit reaches its K - 1 fit (within 10 x tol x n, EM's own tolerance) or is flagged."""
    rows = {(r["covariance_type"], r["n_components"]): r for r in table}
    for (model, k), row in rows.items():
        below = rows.get((model, k - 1))
        if below is None or row["stopped"] or below["stopped"] or row["error"] or below["error"]:
            continue
        assert row["log_likelihood"] >= below["log_likelihood"] - slack or not row["monotone"]


def test_the_diabetes_data_are_mclusts():
    dataset = load_dataset("diabetes", return_feature_names=True)
    X, labels, names = dataset
    assert X.shape == (145, 3) and list(names) == ["glucose", "insulin", "sspg"]
    assert {c: int(np.sum(labels == c)) for c in set(labels)} == {
        "normal": 76, "chemical": 36, "overt": 33}
    np.testing.assert_allclose(X.mean(axis=0), [121.9862069, 540.7862069, 186.1172414])
    assert X[103, 1] == 45  # mclust's value ("flawed"; 455 in heplots)


def test_split_and_merge_starts_from_the_neighbours():
    X, _, _ = make_mixture(n_samples=400, n_features=2, n_components=2, seed=3)
    best, table = select_model(X, [1, 2, 3], ["VVV", "EEI"], warm_starts=False, as_frame=False)
    assert not table[0]["stopped"]
    cov_type = get_covariance_type("VVV")
    means = np.array([[0.0, 0.0], [5.0, 5.0]])
    covs = np.stack([np.diag([4.0, 1.0]), np.eye(2)])
    params = MixtureParams(np.array([0.6, 0.4]), means, covs,
                           cov_type.precision_cholesky(covs.copy()))
    split = split_widest(params, cov_type)
    # component 0 is the widest (0.6 x 2 > 0.4 x 1): halves at its mean -+ sd/2 along x
    np.testing.assert_allclose(split.weights, [0.3, 0.4, 0.3])
    np.testing.assert_allclose(np.abs(split.means[[0, 2], 0]), [1.0, 1.0])
    np.testing.assert_allclose(split.covariances[2], covs[0])
    merged = merge_closest(split, cov_type)
    np.testing.assert_allclose(merged.weights, params.weights)
    np.testing.assert_allclose(merged.means, params.means, atol=1e-12)
    # moment matching: the halves' covariance plus the spread of their means
    np.testing.assert_allclose(merged.covariances[0], covs[0] + np.diag([1.0, 0.0]))


def test_warm_starts_repair_a_k_fit_below_the_k_minus_1_fit():
    X, _ = load_dataset("faithful")
    _, plain = select_model(X, range(1, 10), ["EEE"], warm_starts=False, as_frame=False)
    # from the hc start alone, EEE with 4 and 9 components lands below the 3 and 8 fits
    flagged = [r["n_components"] for r in plain if not r["monotone"]]
    assert flagged == [4, 9]
    assert "which a K=4 mixture can reproduce" in plain[3]["warnings"][-1]
    _, repaired = select_model(X, range(1, 10), ["EEE"], as_frame=False)
    assert all(r["monotone"] for r in repaired)
    lls = [r["log_likelihood"] for r in repaired]
    assert np.all(np.diff(lls) > -1e-2)
    assert repaired[3]["start"] == "merge K=5" and repaired[8]["start"] == "split K=8"
    assert repaired[8]["log_likelihood"] > plain[8]["log_likelihood"] + 5


def elongated_clusters(n=500, d=4, seed=5):
    """Three clusters with spreads 3, 1, 0.3, 0.1 along random axes: EII is hopeless."""
    rng = np.random.default_rng(seed)
    return np.vstack([
        rng.normal(size=(n, d)) @ (rng.normal(size=(d, d)) * [3, 1, 0.3, 0.1]).T
        + rng.normal(0, 6, d) for _ in range(3)])


def test_hopeless_fits_stop_early_and_say_so():
    X = elongated_clusters()
    best, table = select_model(X, range(1, 6), ["EII", "VVV"], as_frame=False)
    stopped = [r for r in table if r["stopped"]]
    assert stopped and all(r["covariance_type"] == "EII" for r in stopped)
    best_bic = min(r["bic"] for r in table if r["chosen"])
    for row in stopped:
        assert not row["converged"] and row["bic"] > best_bic + 0.5 * len(X)
        assert row["warnings"][-1].startswith("stopped after")
    full, everything = select_model(X, range(1, 6), ["EII", "VVV"], stop_hopeless=False,
                                    as_frame=False)
    assert not any(r["stopped"] for r in everything)
    assert (full.covariance_type, full.n_components) == (best.covariance_type, best.n_components)
    assert sum(r["n_iter"] for r in everything) > sum(r["n_iter"] for r in table)


def test_hopeless_projects_the_remaining_gain():
    """100 rows: a margin of max(10, 0.5 x 100) = 50 BIC units, 4 x 50 before 5 iterations."""
    bounds = [-10.0, -9.0, -8.5, -8.25, -8.125]  # changes halve: rate 0.5

    def stops(reference, n_bounds):
        return Hopeless(reference=reference, weight=100.0, n_params=0)(bounds[:n_bounds])

    # 5 bounds: 0.125 x 0.5 / 0.5 still to come, 10x: -6.875 per row, a BIC of 1375
    assert stops(1375.0 - 51.0, 5) and not stops(1375.0 - 49.0, 5)
    # 4 bounds: -8.25 + 10 x 0.25 = -5.75 per row, BIC 1150, against 4 x the margin
    assert stops(1150.0 - 201.0, 4) and not stops(1150.0 - 199.0, 4)
    # 3 bounds (one rate): -8.5 + 10 x 0.5 = -3.5 per row, BIC 700
    assert stops(700.0 - 201.0, 3) and not stops(700.0 - 199.0, 3)
    assert not stops(-1e9, 2)  # too early
    assert not Hopeless(0.0, 100.0, 0)([-10.0, -9.0, -8.0, -7.0, -6.0])  # not slowing down


def test_kmeans_starts_keep_the_better_fit():
    X, _, _ = make_mixture(n_samples=600, n_features=2, n_components=4, seed=8)
    _, hc_only = select_model(X, [3, 4, 5], ["VVV", "EEE"], stop_hopeless=False,
                              warm_starts=False, as_frame=False)
    _, more = select_model(X, [3, 4, 5], ["VVV", "EEE"], kmeans_starts=2, random_state=0,
                           stop_hopeless=False, warm_starts=False, as_frame=False)
    for a, b in zip(hc_only, more):
        assert b["log_likelihood"] >= a["log_likelihood"] - 1e-6
        assert b["start"] in ("hc", "k-means++")


def test_mclust_convention_flips_the_sign_and_uses_the_hard_icl():
    X, _ = load_dataset("faithful")
    kwargs = dict(n_components=[2, 3], covariance_types=["EEE"], as_frame=False)
    best, ours = select_model(X, **kwargs)
    best_m, theirs = select_model(X, bic_convention="mclust", **kwargs)
    for a, b in zip(ours, theirs):
        assert b["bic"] == pytest.approx(-a["bic"]) and b["aic"] == pytest.approx(-a["aic"])
    z = best_m.predict_proba(X)
    chosen = next(r for r in theirs if r["chosen"])
    # mclust's icl(): BIC + 2 sum_n log max_k z_nk
    assert chosen["icl"] == pytest.approx(chosen["bic"] + 2 * np.log(z.max(axis=1)).sum(),
                                          rel=1e-6)
    assert chosen["n_components"] == best.n_components == 3


def test_the_table_is_a_data_frame_when_pandas_is_installed(monkeypatch):
    pd = pytest.importorskip("pandas")
    X, _, _ = make_mixture(n_samples=200, n_features=2, seed=1)
    _, frame = select_model(X, [1, 2], ["VVV", "EII"])
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4
    assert frame.loc[frame["chosen"], "n_components"].item() in (1, 2)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(selection_table.importlib.util, "find_spec",
                        lambda name: None if name == "pandas" else real(name))
    _, rows = select_model(X, [1, 2], ["VVV", "EII"])
    assert isinstance(rows, list) and rows[0]["covariance_type"] == "VVV"


def test_one_feature_uses_e_and_v():
    X, _ = load_dataset("galaxies")
    best, table = select_model(X / 1000.0, range(1, 5), as_frame=False)
    assert {r["covariance_type"] for r in table} == {"E", "V"}
    assert best.covariance_type in ("E", "V")


def test_bad_inputs_name_the_problem_and_the_fix():
    X, _, _ = make_mixture(n_samples=300, n_features=2, seed=2)
    with pytest.raises(ValueError, match=r"covariance_type='VVX' is not supported; use one of "
                                         r"mclust's 14 models EII, VII, EEI, VEI, EVI, VVI, EEE, "
                                         r"VEE, EVE, VVE, EEV, VEV, EVV, VVV, the univariate E and "
                                         r"V, or scikit-learn's names full \(= VVV\)"):
        select_model(X, [2], ["VVX"])
    with pytest.raises(ValueError, match="'VEV' is a model for multivariate data, but X has one "
                                         "feature; use 'E'"):
        select_model(X[:, :1], [2], ["VEV"])
    with pytest.raises(ValueError, match="'V' is mclust's univariate model, but X has 2"):
        select_model(X, [2], ["V"])
    with pytest.raises(ValueError, match="bic_convention='R' is not supported; use 'sklearn'"):
        select_model(X, [2], bic_convention="R")
    with pytest.warns(UserWarning, match="select_model: the hierarchical clustering start runs "
                      "on a random subset of 100 of the 300 rows"):
        select_model(X, [2], ["VVV"], hc_subset=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select_model(X, [2], ["VVV"])  # 300 rows <= 2000: no subset, no warning


def test_a_clean_start_beats_a_degenerate_one_of_higher_likelihood():
    """A start whose component collapsed onto repeated rows has an unbounded likelihood; among
    the starts of one (K, model) a clean fit wins over it (astronaut's black pixels)."""
    from gmmkit.estimators.selection_fits import FitResult, empty_row

    def result(log_lik, degenerate=False, stopped=False, error=None):
        row = empty_row(3, "VVV", "hc")
        row.update(log_likelihood=log_lik, degenerate=degenerate, stopped=stopped, error=error)
        return FitResult(row)

    clean, collapsed = result(-100.0), result(5000.0, degenerate=True)
    assert selection_table.best_of([collapsed, clean]) is clean
    assert selection_table.best_of([clean, result(-99.0)]).row["log_likelihood"] == -99.0
    assert selection_table.best_of([result(0.0, stopped=True), collapsed]) is collapsed
    assert selection_table.best_of([result(None, error="failed"), result(-1e9, stopped=True)]
                                   ).row["stopped"]
