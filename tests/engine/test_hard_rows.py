"""The hard-row E-step gives the dense E-step's numbers (gmmkit.engine.responsibilities).

Rows whose every other component lies more than NEGLIGIBLE_LOG_RESP below
their best skip the exponentials and add their design column to that
component's sums; per-row log-likelihoods stay bit for bit those of
log_normalize, the sums equal the dense GEMM's to rounding.
"""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gmmkit.engine.em as em
import gmmkit.engine.estep as estep
import gmmkit.engine.responsibilities as responsibilities
from gmmkit import ConvergenceWarning, GaussianMixture
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams, make_plan
from gmmkit.engine.estep import stats_from_resp, stats_from_split
from gmmkit.engine.responsibilities import (
    NEGLIGIBLE_LOG_RESP,
    PROBE_STEP,
    log_normalize,
    split_rows,
)
from gmmkit.engine.workspace import Workspace

LINEAR_TYPES = ("full", "diag", "spherical", "VEI", "EVE")


def mixed_log_prob(dtype, n=400, n_components=6, seed=0):
    """Log densities (K, n) with hard, soft and non-finite columns."""
    rng = np.random.default_rng(seed)
    cut = NEGLIGIBLE_LOG_RESP[np.dtype(dtype).type]
    log_prob = rng.normal(-50.0, 3.0, size=(n_components, n))
    best = rng.integers(0, n_components, n)
    log_prob[best, np.arange(n)] = 0.0
    hard = rng.random(n) < 0.7
    log_prob[:, hard] += np.where(log_prob[:, hard] < 0, cut - 1.0, 0.0)  # others far below
    log_prob[:, 0] = -np.inf  # every component impossible
    log_prob[2, 1] = np.nan
    log_prob[3, 2] = np.inf
    log_prob[:, 3] = cut - 10.0
    log_prob[0, 3], log_prob[4, 3] = 0.0, cut + 1e-3  # the second just above the cut: soft
    log_prob[:, 5] = 1e3 + cut - 1.0  # large values: the cut moves with the row's best
    log_prob[2, 5] = 1e3
    return log_prob.astype(dtype), hard


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_split_log_likelihoods_and_soft_responsibilities_equal_log_normalize(dtype, monkeypatch):
    monkeypatch.setattr(responsibilities, "MIN_HARD_FRACTION", 0.0)
    log_prob, _ = mixed_log_prob(dtype)
    with np.errstate(invalid="ignore"):
        expected_resp = log_prob.copy()
        expected = log_normalize(expected_resp)
        split = split_rows(log_prob.copy(), None, Workspace())
    assert split is not None
    np.testing.assert_array_equal(split.log_norm, expected)  # bit for bit, NaN included
    np.testing.assert_array_equal(split.soft_resp, expected_resp[:, split.soft])
    # hard rows: one component, its responsibility 1.0 in the dense result
    hard = np.sort(split.hard)
    assert np.intersect1d(hard, split.soft).size == 0
    assert hard.size + split.soft.size == log_prob.shape[1]
    assert {0, 1, 2, 3}.isdisjoint(hard) and 5 in hard
    labels = np.repeat(split.groups, np.diff(np.append(split.starts, split.hard.size)))
    np.testing.assert_array_equal(expected_resp[labels, split.hard], 1.0)
    np.testing.assert_array_equal(labels, np.nanargmax(log_prob[:, split.hard], axis=0))
    # grouped by component, rows ascending within a group
    assert np.all(np.diff(labels) >= 0)
    for start, stop in zip(split.starts, np.append(split.starts[1:], split.hard.size)):
        assert np.all(np.diff(split.hard[start:stop]) > 0)
    # every soft row has a second component above the cut (or no finite best)
    soft = log_prob[:, split.soft]
    top = soft.max(axis=0)  # NaN where a NaN is
    others = np.sort(np.where(np.isnan(soft), -np.inf, soft), axis=0)
    cut = NEGLIGIBLE_LOG_RESP[np.dtype(dtype).type]
    assert np.all(~np.isfinite(top) | (others[-2] > top + cut))


def test_far_rows_stay_soft_and_few_hard_rows_take_the_dense_path(monkeypatch):
    log_prob, _ = mixed_log_prob(np.float64)
    log_prob = log_prob[:, 3:]  # finite columns only
    far = np.zeros(log_prob.shape[1], dtype=bool)
    far[2] = True  # column 5: hard, unless far
    monkeypatch.setattr(responsibilities, "MIN_HARD_FRACTION", 0.0)
    assert 2 in split_rows(log_prob).hard
    split = split_rows(log_prob, far)
    assert 2 in split.soft and 2 not in split.hard
    # about 70% of the rows are hard: below the threshold the chunk goes dense
    monkeypatch.setattr(responsibilities, "MIN_HARD_FRACTION", 0.8)
    assert split_rows(log_prob) is None
    monkeypatch.setattr(responsibilities, "MIN_HARD_FRACTION", 0.5)
    assert split_rows(log_prob) is not None


def separated_mixture(n_samples, n_features, n_components, seed):
    """Components at +-20 along the axes (K <= 2 D), 0.8 to 1.2 wide: hard rows.

    Every mean lies 16 to 26 of its standard deviations from the data
    centre: float32 work stays float32 (up to 30), and E[x^2] - mean^2
    keeps all but about 3 of float64's digits (r^2 < 1e3).
    """
    rng = np.random.default_rng(seed)
    index = np.arange(n_components)
    means = np.zeros((n_components, n_features))
    means[index, index % n_features] = np.where(index < n_features, 20.0, -20.0)
    means += rng.normal(0.0, 0.3, size=means.shape)
    labels = rng.integers(0, n_components, n_samples)
    scales = rng.uniform(0.8, 1.2, size=(n_components, n_features))
    X = means[labels] + rng.normal(size=(n_samples, n_features)) * scales[labels]
    return X, labels


def test_a_sample_of_the_rows_turns_away_chunks_with_few_hard_rows():
    rng = np.random.default_rng(2)
    n = 64 * PROBE_STEP
    soft = rng.normal(0.0, 3.0, size=(4, n))  # every component within a few units
    assert split_rows(soft) is None
    assert responsibilities._few_hard_rows(soft[:, ::PROBE_STEP], -100.0)
    hard = soft.copy()
    hard[1:] -= 500.0  # component 0 alone on every row
    assert not responsibilities._few_hard_rows(hard[:, ::PROBE_STEP], -100.0)
    assert split_rows(hard).hard.size == n
    # a sample missing the hard rows would turn the chunk away: the probe reads
    # every PROBE_STEP-th row, so hard rows elsewhere are not seen by it
    mostly_hard = hard.copy()
    mostly_hard[:, ::PROBE_STEP] = soft[:, ::PROBE_STEP]
    assert split_rows(mostly_hard) is None
    probe_small = hard[:, : 31 * PROBE_STEP]  # fewer than 32 sampled rows: no probe
    probe_small[:, ::PROBE_STEP] = soft[:, : 31 * PROBE_STEP : PROBE_STEP]
    assert split_rows(probe_small) is not None


def chunk_inputs(cov, dtype, noise=False, seed=0):
    """A chunk of a well separated mixture: design, log densities, the cov type."""
    X, _ = separated_mixture(3000, 3, 4, seed)
    cov_type = get_covariance_type(cov)
    reference = GaussianMixture(
        4, covariance_type=cov, random_state=0, max_iter=20, n_init=3
    ).fit(X)
    params = MixtureParams(
        reference.weights_, reference.means_, reference.covariances_,
        reference.precisions_cholesky_,
    )
    if noise:  # a thin noise density: negligible for the clusters, all of 20 outliers
        params.weights = params.weights * 0.9
        params.noise_weight, params.noise_log_density = 0.1, np.full(3, -np.log(1e40))
        X[:20] += 300.0
    data = ChunkedData(X, None, X.mean(axis=0), np.dtype(dtype), chunk_size=3000)
    design = cov_type.design(data.rows(data.slices[0]))
    log_prob = em.chunk_log_prob(
        cov_type, design, make_plan(cov_type, params, data.center, dtype),
        params.noise_row(), None,
    )
    return cov_type, design, np.array(log_prob)


@pytest.mark.parametrize("cov", LINEAR_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("noise", [False, True])
def test_split_stats_equal_dense_stats(cov, dtype, weighted, noise):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cov_type, design, log_prob = chunk_inputs(cov, dtype, noise)
    n = log_prob.shape[1]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, n) if weighted else None
    split = split_rows(log_prob.copy(), None, Workspace())
    assert split is not None and split.hard.size > 0.9 * n
    got = stats_from_split(cov_type, design, split, weights, 3, 4, Workspace())
    resp = log_prob.copy()
    log_norm = log_normalize(resp)
    expected = stats_from_resp(cov_type, design, resp, weights, 3, log_norm, None, 4)
    assert got.loglik == expected.loglik and got.weight == expected.weight  # bit for bit
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for name in ("nk", "sx", "sxx"):
        np.testing.assert_allclose(
            getattr(got, name), getattr(expected, name), rtol=rtol,
            atol=rtol * np.abs(getattr(expected, name)).max(), err_msg=name,
        )
    assert got.noise == pytest.approx(expected.noise, rel=rtol, abs=rtol * n)
    if noise:  # the outliers went to the noise component
        assert 19.0 < expected.noise / (1.0 if weights is None else weights[:20].mean()) < 21.0


def starting_parameters(X, labels, n_components=8):
    """Explicit initial parameters (a row of each cluster), shared with scikit-learn."""
    return dict(
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=X[[np.flatnonzero(labels == k)[0] for k in range(n_components)]],
        precisions_init=np.full((n_components, X.shape[1]), 0.5),
    )


def fit(X, init, dtype, monkeypatch, split):
    """A diag fit with the hard-row path on (split=True) or off; counts split chunks."""
    taken = []
    original = estep.split_rows

    def counting(*args):
        result = original(*args)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(estep, "split_rows", counting)
    monkeypatch.setattr(responsibilities, "MIN_HARD_FRACTION", 0.5 if split else 2.0)
    model = GaussianMixture(
        8, covariance_type="diag", dtype=dtype, chunk_size=1000, tol=0, max_iter=10, **init
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model, taken


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_with_hard_rows_equals_dense_fit_and_sklearn(dtype, monkeypatch):
    X, labels = separated_mixture(6000, 5, 8, seed=4)
    init = starting_parameters(X, labels)
    hard, taken = fit(X, init, dtype, monkeypatch, split=True)
    assert sum(taken) >= 0.8 * len(taken)  # the hard-row path ran on most chunks
    dense, taken = fit(X, init, dtype, monkeypatch, split=False)
    assert not any(taken)
    assert hard.lower_bounds_[0] == dense.lower_bounds_[0]  # same start: the same bits
    if dtype == "float32":  # both as far from float64 as float32 sums allow
        exact, _ = fit(X, init, "float64", monkeypatch, split=False)
        np.testing.assert_allclose(hard.lower_bounds_, exact.lower_bounds_, rtol=1e-6)
        for name in ("weights_", "means_", "covariances_"):
            error = np.abs(getattr(hard, name) - getattr(exact, name)).max()
            dense_error = np.abs(getattr(dense, name) - getattr(exact, name)).max()
            assert error <= 3 * dense_error + 1e-6, (name, error, dense_error)
        return
    np.testing.assert_allclose(hard.lower_bounds_, dense.lower_bounds_, rtol=1e-12)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(
            getattr(hard, name), getattr(dense, name), rtol=1e-12, atol=1e-12, err_msg=name
        )
    # scikit-learn's numbers to the parity tests' tolerance
    theirs = SkGaussianMixture(8, covariance_type="diag", tol=0, max_iter=10, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(hard, name), getattr(theirs, name), rtol=1e-8)
    np.testing.assert_allclose(hard.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)
