"""gmmkit_speech back-end: two-covariance PLDA, LDA, WCCN, length normalisation, cosine."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")

import re

import numpy as np
from gmmkit_speech import PLDA, IvectorBackend, cosine_scores, lda, length_normalise, wccn
from gmmkit_speech.backend import speaker_scatter
from scipy.stats import multivariate_normal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics.pairwise import cosine_similarity


def speakers_data(n_speakers=30, n_sessions=6, dim=4, seed=0):
    """Vectors from a two-covariance model: (X, labels, mean, B, W)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(dim, dim))
    C = 0.5 * rng.normal(size=(dim, dim))
    B, W = A @ A.T, C @ C.T + 0.1 * np.eye(dim)
    mean = rng.normal(size=dim)
    identities = rng.multivariate_normal(mean, B, size=n_speakers)
    X = np.repeat(identities, n_sessions, axis=0) + rng.multivariate_normal(
        np.zeros(dim), W, size=n_speakers * n_sessions)
    return X, np.repeat([f"spk{i}" for i in range(n_speakers)], n_sessions), mean, B, W


@pytest.fixture(scope="module")
def plda():
    X, labels, *_ = speakers_data()
    return PLDA(n_iter=20).fit(X, labels), X, labels


def stacked_covariance(model, n):
    """Covariance of n vectors of one speaker: B everywhere plus W on the diagonal blocks."""
    return np.kron(np.ones((n, n)), model.between_) + np.kron(np.eye(n), model.within_)


def test_plda_em_raises_the_likelihood_every_iteration(plda):
    model, X, labels = plda
    history = np.array(model.log_likelihoods_)
    assert len(history) == 21
    assert np.all(np.diff(history) > -1e-9 * np.abs(history[1:]))
    assert history[-1] > history[0]


def test_plda_log_likelihood_equals_the_joint_gaussian(plda):
    model, X, labels = plda
    expected = sum(
        multivariate_normal(np.tile(model.mean_, 6), stacked_covariance(model, 6)).logpdf(
            X[labels == name].ravel())
        for name in np.unique(labels))
    assert model.log_likelihood(X, labels) == pytest.approx(expected, rel=1e-10)


def test_plda_recovers_the_generating_covariances():
    X, labels, mean, B, W = speakers_data(n_speakers=400, n_sessions=8, seed=3)
    model = PLDA(n_iter=30).fit(X, labels)
    np.testing.assert_allclose(model.within_, W, atol=0.05)
    np.testing.assert_allclose(model.between_, B, atol=0.35 * np.abs(B).max())


@pytest.mark.parametrize("n_enrol", [1, 3])
def test_plda_llr_equals_the_closed_form(plda, n_enrol):
    model, X, labels = plda
    enrol, tests = X[:n_enrol], X[[5, 6, 40]]
    llr = model.llr([enrol], tests)
    assert llr.shape == (1, 3)
    mean = model.mean_
    for j, t in enumerate(tests):
        together = np.r_[enrol.ravel(), t]
        same = multivariate_normal(np.tile(mean, n_enrol + 1),
                                   stacked_covariance(model, n_enrol + 1)).logpdf(together)
        enrol_alone = multivariate_normal(np.tile(mean, n_enrol),
                                          stacked_covariance(model, n_enrol)).logpdf(enrol.ravel())
        test_alone = multivariate_normal(mean, model.between_ + model.within_).logpdf(t)
        assert llr[0, j] == pytest.approx(same - enrol_alone - test_alone, rel=1e-9)


def test_plda_llr_of_many_models_at_once(plda):
    model, X, labels = plda
    models = [X[:2], X[6:7], X[12:16]]
    together = model.llr(models, X[30:35])
    for i, m in enumerate(models):
        np.testing.assert_allclose(together[i], model.llr([m], X[30:35])[0], rtol=1e-12)
    # a 2-D array: one enrolment vector per model
    np.testing.assert_allclose(model.llr(X[:3], X[30:32]),
                               model.llr([X[:1], X[1:2], X[2:3]], X[30:32]), rtol=1e-12)


def test_plda_needs_two_sessions_per_speaker():
    X, labels, *_ = speakers_data(n_speakers=4, n_sessions=3)
    with pytest.raises(ValueError, match=re.escape(
        "PLDA needs at least 2 sessions per speaker; 1 speaker(s) have fewer (lonely: 1 "
        "session(s)); give more utterances of each speaker or leave those speakers out."
    )):
        PLDA().fit(np.r_[X, X[:1]], np.r_[labels, ["lonely"]])
    with pytest.raises(ValueError, match=re.escape("PLDA needs at least 2 speakers; got 1.")):
        PLDA().fit(X[:3], labels[:3])
    with pytest.raises(ValueError, match=re.escape(
        "this PLDA is not fitted; call fit(vectors, speakers).")):
        PLDA().llr(X[:1], X[:1])


# ------------------------------------------------------------ LDA and WCCN


def test_lda_spans_scikit_learns_discriminant_directions():
    X, labels, *_ = speakers_data(n_speakers=12, n_sessions=5, dim=6, seed=2)
    P = lda(X, labels, n_components=3)
    W, B, _ = speaker_scatter(X, labels)
    np.testing.assert_allclose(P.T @ W @ P, np.eye(3), atol=1e-8)  # within-speaker: identity
    ratios = np.diag(P.T @ B @ P)
    assert np.all(np.diff(ratios) <= 1e-12)  # the Fisher ratios, largest first
    sk = LinearDiscriminantAnalysis(solver="eigen", n_components=3).fit(X, labels)
    mine, theirs = X @ P, sk.transform(X)
    # the same subspace: each of scikit-learn's components is a linear map of ours
    coef, *_ = np.linalg.lstsq(mine - mine.mean(0), theirs - theirs.mean(0), rcond=None)
    np.testing.assert_allclose((mine - mine.mean(0)) @ coef, theirs - theirs.mean(0), atol=1e-6)


def test_wccn_whitens_the_within_speaker_covariance():
    X, labels, *_ = speakers_data(n_speakers=12, n_sessions=5, dim=6, seed=2)
    Bw = wccn(X, labels, ridge=0.0)
    W, _, _ = speaker_scatter(X @ Bw, labels)
    np.testing.assert_allclose(W, np.eye(6), atol=1e-8)


def test_length_normalisation_and_cosine_scores():
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(np.linalg.norm(length_normalise(X), axis=1), 1.0)
    np.testing.assert_allclose(cosine_scores(X[:2], X[2:]), cosine_similarity(X[:2], X[2:]))
    with pytest.raises(ValueError, match=re.escape(
        "a vector of length 0 cannot be length-normalised; centre the i-vectors on a training "
        "mean that none of them equals.")):
        length_normalise(np.zeros((1, 3)))


def test_backend_round_trip_and_scores():
    X, labels, *_ = speakers_data(n_speakers=12, n_sessions=5, dim=6, seed=4)
    backend = IvectorBackend(lda_dim=4).fit(X, labels)
    assert backend.transform(X).shape == (60, 4)
    again = IvectorBackend.from_arrays(backend.to_arrays())
    models = [X[:5], X[5:10]]
    for method in ("plda", "cosine"):
        np.testing.assert_allclose(again.score(models, X[20:30], method=method),
                                   backend.score(models, X[20:30], method=method))
    cosine = backend.score(models, X[20:30], method="cosine")
    expected = cosine_similarity(
        [length_normalise(backend.transform(m)).mean(axis=0) for m in models],
        backend.transform(X[20:30]))
    np.testing.assert_allclose(cosine, expected)
    with pytest.raises(ValueError, match=re.escape(
        "n_components=20 is not valid; LDA of 12 speakers in 6 dimensions gives 1 to 6.")):
        IvectorBackend(lda_dim=20).fit(X, labels)
