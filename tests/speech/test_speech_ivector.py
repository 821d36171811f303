"""gmmkit_speech i-vectors: Baum-Welch statistics, T-matrix EM, extraction, closed forms."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")

import re
import warnings

import numpy as np
from gmmkit_speech import (
    FeatureConfig,
    IvectorExtractor,
    ShortUtteranceWarning,
    baum_welch_statistics,
    extract_ivectors,
    train_ivector_extractor,
    train_ubm,
)
from gmmkit_speech.ivector import ivector_log_likelihood
from gmmkit_speech.statistics import ubm_name
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy.special import logsumexp
from scipy.stats import norm
from speech_helpers import PAIR, blobs


@pytest.fixture(scope="module")
def ubm():
    return train_ubm(blobs(2000, 0), n_components=4, feature_config=PAIR, verbose=False)


@pytest.fixture(scope="module")
def utterances():
    """30 utterances of 30 to 80 frames from four blobs, each shifted a little."""
    rng = np.random.default_rng(1)
    return [blobs(int(rng.integers(30, 80)), seed, shift=rng.normal(0, 0.3, 2))
            for seed in range(30)]


def direct_statistics(ubm, frames):
    """N_k and F_k = sum_t gamma_tk (x_t - mu_k) by a loop over components with scipy."""
    log_joint = np.stack([
        np.log(ubm.weights_[k]) + norm.logpdf(frames, ubm.means_[k],
                                              np.sqrt(ubm.covariances_[k])).sum(axis=1)
        for k in range(len(ubm.weights_))], axis=1)
    gamma = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    first = np.stack([gamma[:, k] @ (frames - ubm.means_[k]) for k in range(len(ubm.weights_))])
    return gamma.sum(axis=0), first


# ------------------------------------------------------ Baum-Welch statistics


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_baum_welch_statistics_equal_a_direct_computation(ubm, utterances, dtype, rtol):
    stats = baum_welch_statistics(ubm, utterances, dtype=dtype, chunk_frames=97)
    assert stats.zeroth.shape == (30, 4) and stats.first.shape == (30, 4, 2)
    assert stats.first.dtype == np.dtype(dtype) and stats.ubm_name == ubm_name(ubm)
    for u, frames in enumerate(utterances):
        zeroth, first = direct_statistics(ubm, frames)
        np.testing.assert_allclose(stats.zeroth[u], zeroth, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(stats.first[u], first, rtol=rtol, atol=10 * rtol)
        assert stats.n_frames[u] == len(frames)
    np.testing.assert_allclose(stats.zeroth.sum(axis=1), stats.n_frames, rtol=1e-6)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=6), st.integers(1, 200))
def test_an_utterances_statistics_depend_only_on_its_frames(ubm, lengths, chunk_frames):
    rng = np.random.default_rng(sum(lengths))
    frames = [blobs(n, int(rng.integers(1000))) for n in lengths]
    copies = [f.copy() for f in frames]
    together = baum_welch_statistics(ubm, frames, dtype="float64", chunk_frames=chunk_frames)
    for u, f in enumerate(frames):
        alone = baum_welch_statistics(ubm, [f], dtype="float64")
        np.testing.assert_allclose(together.zeroth[u], alone.zeroth[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(together.first[u], alone.first[0], rtol=1e-10, atol=1e-10)
    assert all(np.array_equal(a, b) for a, b in zip(frames, copies))  # inputs untouched


# ------------------------------------------------------------- T-matrix EM


@pytest.mark.parametrize("min_divergence", [False, True])
def test_t_matrix_em_raises_its_objective_every_iteration(ubm, utterances, min_divergence):
    extractor = train_ivector_extractor(ubm, utterances, rank=3, n_iter=8,
                                        min_divergence=min_divergence, verbose=False)
    history = np.array(extractor.log_likelihoods_)
    assert len(history) == 9
    assert np.all(np.diff(history) > -1e-9 * np.abs(history[1:]))
    assert history[-1] > history[0] + 1.0
    stats = baum_welch_statistics(ubm, utterances)
    assert ivector_log_likelihood(extractor, stats) == pytest.approx(history[-1])


def test_t_matrix_training_is_deterministic_with_a_seed(ubm, utterances, capsys):
    stats = baum_welch_statistics(ubm, utterances)
    a = train_ivector_extractor(ubm, stats, rank=3, n_iter=3, random_state=5)
    b = train_ivector_extractor(ubm, stats, rank=3, n_iter=3, random_state=5, verbose=False)
    c = train_ivector_extractor(ubm, stats, rank=3, n_iter=3, random_state=6, verbose=False)
    assert np.array_equal(a.T, b.T) and not np.allclose(a.T, c.T)
    err = capsys.readouterr().err.splitlines()  # verbose: two lines, as train_ubm's
    assert err == [
        f"training T matrix: rank 3 on {len(stats)} utterances ({int(stats.n_frames.sum())} "
        "frames, UBM of 4 components x 2 features)",
        f"training T matrix: 3 EM iterations (auxiliary log-likelihood "
        f"{a.log_likelihoods_[0]:.6g} -> {a.log_likelihoods_[-1]:.6g})"]
    again = train_ubm(blobs(2000, 0), n_components=4, feature_config=PAIR, verbose=False)
    assert ubm_name(again) == ubm_name(ubm)  # the UBM is deterministic too


# ------------------------------------------------------ i-vector posteriors


def log_posterior(w, extractor, frames, gamma):
    """log N(w; 0, I) + sum_t sum_k gamma_tk log N(x_t; mu_k + T_k w, S_k), by frames."""
    total = -0.5 * w @ w
    for k in range(extractor.T.shape[0]):
        mean = extractor.ubm_means[k] + extractor.T[k] @ w
        sd = np.sqrt(extractor.ubm_covariances[k])
        total += gamma[:, k] @ norm.logpdf(frames, mean, sd).sum(axis=1)
    return total


def test_ivector_posterior_mean_and_covariance_equal_the_closed_form(ubm, utterances):
    extractor = train_ivector_extractor(ubm, utterances[:20], rank=2, n_iter=3, verbose=False)
    frames = utterances[25]
    means, covariances = extract_ivectors(extractor, [frames], ubm=ubm, return_covariance=True)
    # the closed form, frame by frame
    gamma = ubm.predict_proba(frames)
    precision, linear = np.eye(2), np.zeros(2)
    for t, x in enumerate(frames):
        for k in range(4):
            Tk, Sk_inv = extractor.T[k], np.diag(1 / extractor.ubm_covariances[k])
            precision += gamma[t, k] * Tk.T @ Sk_inv @ Tk
            linear += gamma[t, k] * Tk.T @ Sk_inv @ (x - extractor.ubm_means[k])
    np.testing.assert_allclose(covariances[0], np.linalg.inv(precision), rtol=1e-4)
    np.testing.assert_allclose(means[0], np.linalg.solve(precision, linear), rtol=1e-4)
    # the mean maximises the exact log posterior, whose curvature is the precision
    best = optimize.minimize(lambda w: -log_posterior(w, extractor, frames, gamma), np.zeros(2))
    np.testing.assert_allclose(means[0], best.x, atol=1e-4)
    step = 1e-3
    hessian = np.array([[(log_posterior(step * (e_i + e_j), extractor, frames, gamma)
                          - log_posterior(step * e_i, extractor, frames, gamma)
                          - log_posterior(step * e_j, extractor, frames, gamma)
                          + log_posterior(np.zeros(2), extractor, frames, gamma)) / step**2
                         for e_j in np.eye(2)] for e_i in np.eye(2)])
    np.testing.assert_allclose(-hessian, precision, rtol=1e-3)


def test_the_objective_is_the_marginal_likelihood_up_to_a_constant(ubm, utterances):
    """With rank 1, integrate the posterior numerically: log p(X | T) - objective is fixed."""
    frames = utterances[3]
    gamma = ubm.predict_proba(frames)
    stats = baum_welch_statistics(ubm, [frames], dtype="float64")
    gaps = []
    for seed in (0, 1, 2):
        T = np.random.default_rng(seed).normal(0, 0.3, (4, 2, 1))
        extractor = IvectorExtractor(T, ubm.means_, ubm.covariances_, ubm_name(ubm),
                                     PAIR.to_dict())
        peak = log_posterior(np.zeros(1), extractor, frames, gamma)
        value, _ = integrate.quad(
            lambda w: np.exp(log_posterior(np.array([w]), extractor, frames, gamma) - peak),
            -20, 20, points=[0.0])
        marginal = peak + np.log(value) - 0.5 * np.log(2 * np.pi)
        gaps.append(marginal - ivector_log_likelihood(extractor, stats))
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-7)


# ---------------------------------------------------------------- bad input


def test_an_extractor_of_another_ubm_or_feature_config_is_refused(ubm, utterances):
    extractor = train_ivector_extractor(ubm, utterances, rank=2, n_iter=1, verbose=False)
    other = train_ubm(blobs(2000, 9), n_components=4, feature_config=PAIR, verbose=False)
    with pytest.raises(ValueError, match=re.escape(
        f"the i-vector extractor was trained on UBM {ubm_name(ubm)}, not on the UBM "
        f"{ubm_name(other)}; train an extractor on this UBM (train_ivector_extractor, `gmmkit "
        "speech tv`) or use the UBM it was trained on."
    )):
        extract_ivectors(extractor, utterances[:2], ubm=other)
    stats = baum_welch_statistics(other, utterances[:2])
    with pytest.raises(ValueError, match=re.escape(
        f"the i-vector extractor was trained on UBM {ubm_name(ubm)}, not on the statistics' "
        f"UBM {ubm_name(other)};"
    )):
        extract_ivectors(extractor, stats)
    resampled = train_ubm(blobs(2000, 0), n_components=4, verbose=False,
                          feature_config=FeatureConfig(n_mfcc=2, deltas=False, sr=8000))
    with pytest.raises(ValueError, match=re.escape(
        "the i-vector extractor was trained on features made with other settings than the "
        "UBM's (sr 16000 != 8000, extractor != the UBM); train an extractor on this UBM "
        "(train_ivector_extractor, `gmmkit speech tv`)."
    )):
        extract_ivectors(extractor, utterances[:2], ubm=resampled)


def test_short_utterances_warn(ubm, utterances):
    extractor = train_ivector_extractor(ubm, utterances, rank=2, n_iter=1, verbose=False)
    with pytest.warns(ShortUtteranceWarning, match=re.escape(
        "1 utterance(s) (1) have fewer than 20 frames (fewest: 12); their i-vectors are mostly "
        "the prior and unreliable; enrol and test with longer utterances."
    )):
        extract_ivectors(extractor, [utterances[0], utterances[1][:12]], ubm=ubm)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extract_ivectors(extractor, [utterances[1][:12]], ubm=ubm, min_frames=10)


@pytest.mark.parametrize("kwargs, message", [
    ({"rank": 0}, "rank=0 is not valid; use a positive int (100 to 400 is usual)."),
    ({"n_iter": 0}, "n_iter=0 is not valid; use a positive int (5 to 20)."),
])
def test_bad_training_settings(ubm, utterances, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        train_ivector_extractor(ubm, utterances[:3], verbose=False, **kwargs)


def test_bad_utterances(ubm):
    with pytest.raises(ValueError, match=re.escape(
        "utterances must be a list of (n_frames, n_features) arrays, one per utterance; wrap a "
        "single utterance as [frames]."
    )):
        baum_welch_statistics(ubm, blobs(10, 0))
    with pytest.raises(ValueError, match=re.escape(
        "utterance 1 has shape (10, 3); frames must have shape (n_frames, 2) to match the UBM. "
        "Make them with the UBM's feature config."
    )):
        baum_welch_statistics(ubm, [blobs(10, 0), np.zeros((10, 3))])


def test_extractor_file_round_trip(ubm, utterances, tmp_path):
    extractor = train_ivector_extractor(ubm, utterances, rank=2, n_iter=2, verbose=False)
    extractor.save(tmp_path / "tv.npz")
    loaded = IvectorExtractor.load(tmp_path / "tv.npz")
    assert np.array_equal(loaded.T, extractor.T) and loaded.ubm_name == extractor.ubm_name
    assert loaded.features == extractor.features
    assert loaded.log_likelihoods_ == extractor.log_likelihoods_
    np.testing.assert_array_equal(extract_ivectors(loaded, utterances[:3], ubm=ubm),
                                  extract_ivectors(extractor, utterances[:3], ubm=ubm))
    # a new T is used at once (the extractor caches its products with the T they belong to)
    loaded.T = 2.0 * loaded.T
    doubled = IvectorExtractor(loaded.T, ubm.means_, ubm.covariances_, ubm_name(ubm),
                               PAIR.to_dict())
    np.testing.assert_allclose(extract_ivectors(loaded, utterances[:3], ubm=ubm),
                               extract_ivectors(doubled, utterances[:3], ubm=ubm))
    (tmp_path / "x.npz").write_bytes(b"not a file")
    with pytest.raises(ValueError, match=re.escape(
        f"'{tmp_path / 'x.npz'}' is not an i-vector extractor file (")):
        IvectorExtractor.load(tmp_path / "x.npz")


# ------------------------------------------------------------ the speaker store


def test_the_store_keeps_ivector_models_beside_map_models(ubm, utterances, tmp_path):
    from gmmkit_speech import SpeakerStore

    extractor = train_ivector_extractor(ubm, utterances, rank=2, n_iter=1, verbose=False)
    store = SpeakerStore.create(tmp_path / "store", ubm)
    store.enroll("a", utterances[:3])  # no extractor yet: a MAP model only
    with pytest.raises(ValueError, match=re.escape(
        f"speaker 'a' has no i-vector model in '{tmp_path / 'store'}'; enrol it again with an "
        "i-vector extractor in the store (`gmmkit speech enroll --ivector`).")):
        store.ivectors("a")
    with pytest.raises(ValueError, match=re.escape(
        "this store has no i-vector extractor; add one with store.set_ivector_extractor("
        "extractor) (or `gmmkit speech enroll --ivector --tv TV.npz`).")):
        store.enroll("b", utterances[3:5], ivector=True)
    store.set_ivector_extractor(extractor)
    store.enroll("b", utterances[3:6])
    reopened = SpeakerStore(tmp_path / "store")
    np.testing.assert_allclose(reopened.ivectors("b"),
                               extract_ivectors(extractor, utterances[3:6], ubm=ubm))
    assert reopened["b"].speech_["n_frames"] == sum(len(u) for u in utterances[3:6])
    other_ubm = train_ubm(blobs(2000, 9), n_components=4, feature_config=PAIR, verbose=False)
    other = train_ivector_extractor(other_ubm, utterances, rank=2, n_iter=1, verbose=False)
    with pytest.raises(ValueError, match=re.escape(
        f"the i-vector extractor was trained on UBM {ubm_name(other_ubm)}, not on the store's "
        f"UBM {ubm_name(ubm)};")):
        reopened.set_ivector_extractor(other)
    retrained = train_ivector_extractor(ubm, utterances, rank=2, n_iter=2, verbose=False)
    with pytest.raises(ValueError, match=re.escape(
        f"'{tmp_path / 'store'}' already has another i-vector extractor; its speakers' "
        "i-vectors belong to it. Enrol into a new store to use this one.")):
        reopened.set_ivector_extractor(retrained)
