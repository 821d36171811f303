"""Model-based hierarchical clustering (mclust's hc) and the init_params="hc" start."""

import warnings

import numpy as np
import pytest
from helpers import make_mixture
from scipy.cluster.hierarchy import cut_tree, linkage
from sklearn.metrics import adjusted_rand_score

from gmmkit import GaussianMixture
from gmmkit.engine import hc as hc_module
from gmmkit.engine import seeding
from gmmkit.engine.hc import hc_merges, hc_partitions, hc_transform


def _vvv_term(rows, alpha):
    """mclust's VVV criterion of one cluster, from its rows directly."""
    n, d = rows.shape
    centred = rows - rows.mean(axis=0)
    scatter = centred.T @ centred
    spread = (np.trace(scatter) + alpha) / n
    if n <= d:
        return n * np.log(spread)
    return n * np.log(np.linalg.det(scatter / n) + spread)


def _naive_vvv(Z):
    """Every step: all pairs' cost from the rows, merge the cheapest (O(n^4), small n)."""
    alpha = ((Z - Z.mean(axis=0)) ** 2).sum() / Z.size
    clusters = {i: [i] for i in range(len(Z))}
    merges = []
    while len(clusters) > 1:
        keys = sorted(clusters)
        best = None
        for x, a in enumerate(keys):
            for b in keys[x + 1:]:
                cost = (_vvv_term(Z[clusters[a] + clusters[b]], alpha)
                        - _vvv_term(Z[clusters[a]], alpha) - _vvv_term(Z[clusters[b]], alpha))
                if best is None or cost < best[0]:
                    best = (cost, a, b)
        _, a, b = best
        clusters[a] += clusters.pop(b)
        merges.append((a, b))
    return np.array(merges)


@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_vvv_tree_is_the_direct_greedy_search(n_features):
    rng = np.random.default_rng(n_features)
    Z = np.vstack([rng.normal(size=(12, n_features)),
                   rng.normal(size=(12, n_features)) * 0.5 + 3])
    np.testing.assert_array_equal(hc_merges(Z, "VVV"), _naive_vvv(Z))


def test_eii_tree_is_wards():
    Z = make_mixture(n_samples=300, n_features=3, seed=6)[0]
    merges = hc_merges(Z, "EII")
    reference = cut_tree(linkage(Z, "ward"), n_clusters=range(1, 11))
    ours = hc_partitions(merges, len(Z), range(1, 11))
    for k in range(1, 11):
        assert adjusted_rand_score(reference[:, k - 1], ours[k]) == 1.0


def test_partitions_are_nested_and_have_k_clusters():
    Z = make_mixture(n_samples=200, n_features=2, seed=7)[0]
    parts = hc_partitions(hc_merges(hc_transform(Z)), len(Z), range(1, 9))
    for k in range(1, 9):
        assert sorted(np.unique(parts[k])) == list(range(k))
    for k in range(2, 9):  # every cluster at K lies inside one cluster at K - 1
        pairs = {(a, b) for a, b in zip(parts[k], parts[k - 1])}
        assert len({a for a, _ in pairs}) == len(pairs)


def test_svd_transform_is_mclusts():
    """mclust's use="SVD": scale(X) %*% V %*% diag(1 / sqrt(d)) (so Z'Z = diag(d))."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 3)) + [1.0, 100.0, -5.0]
    X = np.hstack([X, np.full((50, 1), 7.0)])  # a constant column is dropped
    Z = hc_transform(X, "SVD")
    standard = (X[:, :3] - X[:, :3].mean(axis=0)) / X[:, :3].std(axis=0, ddof=1)
    singular = np.linalg.svd(standard, compute_uv=False)
    assert Z.shape == (50, 3)
    np.testing.assert_allclose(Z.T @ Z, np.diag(singular), atol=1e-9)
    np.testing.assert_allclose(np.abs(Z @ np.diag(np.sqrt(singular)) @ np.linalg.svd(
        standard)[2]), np.abs(standard), atol=1e-9)


def test_faithful_hc_start_reaches_mclusts_fits():
    """EEE,3 and VVV,2 from the hc start: mclust 5's log-likelihoods (Scrucca et al. 2016)."""
    from gmmkit.datasets import load_dataset

    X = np.asarray(load_dataset("faithful")[0], dtype=float)
    eee = GaussianMixture(3, covariance_type="EEE", init_params="hc", tol=1e-9, max_iter=500)
    vvv = GaussianMixture(2, covariance_type="VVV", init_params="hc", tol=1e-9, max_iter=500)
    # mclust: EEE,3 log-likelihood -1126.361 (BIC -2314.386); VVV,2 BIC -2322.192
    assert eee.fit(X).score(X) * len(X) >= -1126.361
    assert 2 * vvv.fit(X).score(X) * len(X) - 11 * np.log(len(X)) == pytest.approx(
        -2322.192, abs=2e-3)


def test_hc_runs_on_a_subset_of_large_data_and_says_so(monkeypatch):
    assert seeding.HC_MAX_ROWS == 2000  # mclust's subset
    monkeypatch.setattr(seeding, "HC_MAX_ROWS", 300)
    seen = []
    real = hc_module.hc_merges
    monkeypatch.setattr(hc_module, "hc_merges", lambda Z, model="VVV": seen.append(Z.shape)
                        or real(Z, model))
    X = make_mixture(n_samples=1000, n_features=2, seed=8)[0]
    with pytest.warns(UserWarning, match="init_params='hc': hierarchical clustering ran on a "
                      "random subset of 300 of the 1000 rows"):
        model = GaussianMixture(3, init_params="hc", random_state=0).fit(X)
    assert seen == [(300, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixture(3, init_params="hc").fit(X[:300])  # no subset, no warning
    assert model.converged_
