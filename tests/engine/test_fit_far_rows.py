"""One far row in the training data (issue 15, item 1, "the same audit for fit").

A fit centres the data on a reference point. It was the weighted mean, which
one row at 1e12 among 500 drags to 2e9: every component then lay 2e9 of its
widths from the centre and the expanded quadratic forms and moments lost all
their digits. It is now a trimmed mean (gmmkit.engine.reference.reference_point), and the
E-step scores rows far from it directly, so the far row changes the rest of
the fit only through its own weight.
"""

import warnings

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture as SklearnMixture

from gmmkit import GaussianMixture, PrecisionWarning
from gmmkit.engine.reference import ReferenceSample, reference_point, within_extent

FAR_ROW = [1e12, 1e12]


def two_blobs():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(-3, 1, (250, 2)), rng.normal(3, 1, (250, 2))])


def blob_components(model):
    """(means, covariances) of the components near the blobs, ordered by their mean."""
    order = np.argsort(model.means_[:, 0])
    order = order[np.abs(model.means_[order, 0]) < 100]
    covariances = model.covariances_
    if model.covariance_type != "tied":
        covariances = covariances[order]
    return model.means_[order], covariances


def assert_same_blobs(model, clean, rtol=1e-8):
    (means, covariances), (clean_means, clean_covariances) = (
        blob_components(model), blob_components(clean)
    )
    np.testing.assert_allclose(means, clean_means, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(covariances, clean_covariances, rtol=rtol, atol=rtol)


def fit(X, n_components, **kwargs):
    return GaussianMixture(n_components, tol=1e-12, max_iter=500, random_state=0, **kwargs).fit(X)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_a_far_row_in_its_own_component_leaves_the_others_as_without_it(covariance_type):
    """Was: means 1e12 off, covariances 2e9 off, lower bound -6e10 (full)."""
    X = two_blobs()
    model = fit(np.vstack([X, FAR_ROW]), 3, covariance_type=covariance_type)
    clean = fit(X, 2, covariance_type=covariance_type)
    assert_same_blobs(model, clean)
    reference = SklearnMixture(2, covariance_type=covariance_type, tol=1e-12, max_iter=500,
                               random_state=0).fit(X)
    assert_same_blobs(model, reference, rtol=1e-6)
    np.testing.assert_allclose(np.sort(model.weights_)[1:], clean.weights_ * 500 / 501)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_far_row_taken_by_the_noise_component_leaves_the_gaussians_as_without_it(
    covariance_type,
):
    X = two_blobs()
    start = dict(  # k-means would give the far row a component of its own
        weights_init=[0.5, 0.5], means_init=[[-3.0, -3.0], [3.0, 3.0]],
        precisions_init={"full": np.stack([np.eye(2)] * 2), "tied": np.eye(2),
                         "diag": np.ones((2, 2)), "spherical": np.ones(2)}[covariance_type],
    )
    model = fit(np.vstack([X, FAR_ROW]), 2, covariance_type=covariance_type, noise="uniform",
                **start)
    clean = fit(X, 2, covariance_type=covariance_type, **start)
    assert_same_blobs(model, clean)
    assert model.predict(np.array([FAR_ROW]))[0] == -1
    assert model.noise_weight_ == pytest.approx(1 / 501, rel=1e-6)


def direct_log_prob(model, data):
    """log w_k + log N(x | mu_k, P_k^-1) in float64 from dense precision factors: (n, K)."""
    n_components, n_features = model.means_.shape
    factors = np.asarray(model.precisions_cholesky_)
    if model.covariance_type == "tied":
        factors = np.stack([factors] * n_components)
    elif model.covariance_type == "diag":
        factors = np.stack([np.diag(f) for f in factors])
    elif model.covariance_type == "spherical":
        factors = factors.reshape(-1, 1, 1) * np.eye(n_features)
    return np.column_stack([
        np.log(w) + np.log(np.diag(f)).sum() - 0.5 * n_features * np.log(2 * np.pi)
        - 0.5 * np.sum(((data - m) @ f) ** 2, axis=1)
        for w, m, f in zip(model.weights_, model.means_, factors)
    ])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_lower_bound_with_a_far_row_is_the_mean_log_likelihood(covariance_type):
    """The E-step scores the far row directly: its log density keeps its digits."""
    data = np.vstack([two_blobs(), FAR_ROW])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the far row's own component collapses onto it
        model = fit(data, 3, covariance_type=covariance_type)
    log_prob = direct_log_prob(model, data)
    # converged to tol=1e-12: the last E-step's parameters are the fitted ones
    assert model.lower_bound_ == pytest.approx(logsumexp(log_prob, axis=1).mean(), abs=1e-6)


def test_float32_fit_with_a_far_row_keeps_the_blobs():
    X = two_blobs()
    with pytest.warns(PrecisionWarning, match="continuing in float64"):
        model = fit(np.vstack([X, FAR_ROW]).astype(np.float32), 3, covariance_type="diag")
    assert_same_blobs(model, fit(X.astype(np.float32), 2, covariance_type="diag"), rtol=1e-5)


@pytest.mark.parametrize("value", [1e151, 1e300])
def test_values_a_fit_cannot_square_are_refused_by_row(value, tmp_path):
    data = np.vstack([two_blobs(), [[1.0, value]]])
    message = (
        f"X row 500 has {value:.3g} in feature 1, more than 1e+150 from the bulk of the data; "
        "fitting squares such distances, which overflows float64: drop or clip that row, or "
        "rescale X."
    )
    with pytest.raises(ValueError, match=f"^{message.replace('+', '[+]')}$"):
        GaussianMixture(2).fit(data)
    np.save(tmp_path / "X.npy", data)
    with pytest.raises(ValueError, match="X has values in feature 1 more than 1e[+]150 from"):
        GaussianMixture(2).fit(str(tmp_path / "X.npy"))
    with pytest.raises(ValueError, match="X row 500 has"):
        GaussianMixture(2, missing="em").fit(np.vstack([data, [[np.nan, 1.0]]]))


def test_within_extent_proves_only_what_holds():
    X = two_blobs()
    center = reference_point(X)
    assert within_extent(X, center) and within_extent(X) and within_extent(X.T)  # (F order)
    assert within_extent(X.astype(np.float32), center)
    for value in (np.nan, np.inf, -np.inf, 1e151, 0.6e150):  # 0.6e150: no room for rounding
        bad = X.copy()
        bad[7, 1] = value
        assert not within_extent(bad, center)
        assert within_extent(bad) is bool(np.isfinite(value) and value < 1e154)
    assert not within_extent(X, np.array([0.0, 1e150]))  # the centre takes the room
    assert not within_extent(X.astype(np.int64), center)  # the exact checks decide
    assert not within_extent(X[::2], center)  # not contiguous
    # the exact check still lets through what it allows
    near = np.vstack([X, [[1.0, 0.6e150]]])
    model = GaussianMixture(2, random_state=0, means_init=[[-3, -3], [3, 3]]).fit(near)
    assert np.isfinite(model.lower_bound_)


def test_the_row_of_a_nan_is_named_when_scoring_too():
    model = GaussianMixture(2, random_state=0).fit(two_blobs())
    bad = two_blobs()[:40]
    bad[31, 0] = np.nan
    with pytest.raises(ValueError, match=r"^X contains NaN in 1 row \(first: row 31\)"):
        model.score_samples(bad)


def test_reference_point_is_a_trimmed_mean():
    X = two_blobs()
    far = np.vstack([X, FAR_ROW])
    np.testing.assert_allclose(reference_point(far), reference_point(X), atol=0.05)
    assert np.all(np.abs(reference_point(far)) < 0.2)  # the mean is 2e9
    apart = np.vstack([X[:250] - 100, X[250:] + 100])
    assert np.all(np.abs(reference_point(apart)) < 1)  # between the clusters, as the mean
    weights = np.r_[np.ones(250), np.zeros(250)]
    np.testing.assert_allclose(reference_point(X, weights), -3, atol=0.2)
    with_nan = X.copy()
    with_nan[::2, 0] = np.nan
    assert np.all(np.isfinite(reference_point(with_nan)))
    assert np.isnan(reference_point(np.array([[np.nan, 1.0]]))[0])


@settings(max_examples=25, deadline=None)
@given(n_rows=st.integers(1, 20000), block=st.integers(1, 9000), weighted=st.booleans())
def test_a_stream_picks_the_same_reference_rows_as_memory(n_rows, block, weighted):
    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, 2))
    weights = rng.random(n_rows) if weighted else None
    picked = ReferenceSample()
    for start in range(0, n_rows, block):
        picked.add(start, X[start : start + block],
                   None if weights is None else weights[start : start + block])
    np.testing.assert_array_equal(picked.center(), reference_point(X, weights))


def test_unweighted_trimmed_mean_equals_unit_weights_bit_for_bit():
    from gmmkit.engine.reference import trimmed_mean

    rng = np.random.default_rng(5)
    sample = np.round(rng.normal(size=(997, 7)), 1)  # ties: the weighted path's stable order
    sample[::7, 2] = np.nan
    sample[:, 4] = np.nan  # a column without values
    with np.errstate(invalid="ignore"):
        unweighted = trimmed_mean(sample)
        unit = trimmed_mean(sample, np.ones(len(sample)))
    np.testing.assert_array_equal(unweighted, unit)
    assert np.isnan(unweighted[4]) and np.isfinite(np.delete(unweighted, 4)).all()
    # a column subset comes in Fortran order: the same numbers (a stream's blocks are C order)
    columns = rng.normal(size=(150, 4))[:, [3, 0]]
    assert columns.flags["F_CONTIGUOUS"]
    contiguous = np.ascontiguousarray(columns)
    np.testing.assert_array_equal(trimmed_mean(columns), trimmed_mean(contiguous))
    np.testing.assert_array_equal(trimmed_mean(columns), trimmed_mean(columns, np.ones(150)))


@settings(max_examples=20, deadline=None)
@given(n_rows=st.integers(1, 5000), n_features=st.integers(1, 9), seed=st.integers(0, 99))
def test_trimmed_mean_without_nan_equals_unit_weights_bit_for_bit(n_rows, n_features, seed):
    # the unweighted path without NaN shares one column of kept weights among all columns
    from gmmkit.engine.reference import trimmed_mean

    rng = np.random.default_rng(seed)
    sample = rng.normal(size=(n_rows, n_features)) * 10.0 ** rng.integers(-3, 4, n_features)
    sample[::5] = np.round(sample[::5], 1)  # ties
    np.testing.assert_array_equal(trimmed_mean(sample), trimmed_mean(sample, np.ones(n_rows)))
