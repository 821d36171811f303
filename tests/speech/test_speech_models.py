"""gmmkit_speech models: UBM training, MAP adaptation (closed form), LLR and top-C scoring."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import math
import re
import warnings

import numpy as np
from gmmkit_speech import FeatureConfig, llr_score, load_model, map_adapt, save_model, train_ubm
from gmmkit_speech.scoring import component_log_densities, identify, score_speakers, verify
from scipy.stats import norm
from speech_helpers import PAIR, blobs, small_ubm

from gmmkit import ConvergenceWarning, GaussianMixture
from gmmkit.estimators.conditional import fitted_mixture

TINY = FeatureConfig(n_mfcc=1, deltas=False)


def tiny_ubm(weights=(0.5, 0.5), means=(0.0, 4.0), variances=(1.0, 1.0)):
    """A 2-component, 1-feature diagonal UBM with the given parameters."""
    template = GaussianMixture(2, covariance_type="diag", reg_covar=0.0)
    ubm = fitted_mixture(template, np.array(weights), np.array(means)[:, None],
                         np.array(variances)[:, None])
    ubm.speech_ = {"role": "ubm", "features": TINY.to_dict()}
    return ubm


@pytest.fixture(scope="module")
def ubm():
    return small_ubm()


# ------------------------------------------------------------- MAP adaptation


def test_map_adapt_matches_a_hand_computation():
    ubm = tiny_ubm()
    x = [0.0, 1.0, 2.0, 5.0]
    r = 2.0
    # log N(x; 0, 1) - log N(x; 4, 1) = 8 - 4x, equal weights: gamma_1 = sigmoid(8 - 4x)
    g1 = [1 / (1 + math.exp(-(8 - 4 * v))) for v in x]
    g2 = [1 - g for g in g1]
    n1, n2 = sum(g1), sum(g2)
    ex1 = sum(g * v for g, v in zip(g1, x)) / n1
    ex2 = sum(g * v for g, v in zip(g2, x)) / n2
    exx1 = sum(g * v * v for g, v in zip(g1, x)) / n1
    exx2 = sum(g * v * v for g, v in zip(g2, x)) / n2
    a1, a2 = n1 / (n1 + r), n2 / (n2 + r)
    mu1, mu2 = a1 * ex1, a2 * ex2 + (1 - a2) * 4.0
    w1, w2 = a1 * n1 / 4 + (1 - a1) * 0.5, a2 * n2 / 4 + (1 - a2) * 0.5
    var1 = a1 * exx1 + (1 - a1) * (1.0 + 0.0) - mu1**2
    var2 = a2 * exx2 + (1 - a2) * (1.0 + 16.0) - mu2**2

    frames = np.array(x)[:, None]
    means_only = map_adapt(ubm, frames, relevance_factor=r, update="m")
    np.testing.assert_allclose(means_only.means_[:, 0], [mu1, mu2], rtol=1e-12)
    np.testing.assert_array_equal(means_only.weights_, ubm.weights_)
    np.testing.assert_array_equal(means_only.covariances_, ubm.covariances_)

    weights_too = map_adapt(ubm, frames, relevance_factor=r, update="mw")
    np.testing.assert_allclose(weights_too.weights_, np.array([w1, w2]) / (w1 + w2), rtol=1e-12)
    np.testing.assert_allclose(weights_too.means_[:, 0], [mu1, mu2], rtol=1e-12)

    everything = map_adapt(ubm, frames, relevance_factor=r, update="mwv")
    np.testing.assert_allclose(everything.covariances_[:, 0], [var1, var2], rtol=1e-10)
    assert everything.speech_ == {"role": "speaker", "features": TINY.to_dict(),
                                  "relevance_factor": 2.0, "update": "mwv", "n_frames": 4}


@pytest.mark.parametrize("update", ["m", "mw", "mwv"])
def test_infinite_relevance_factor_returns_the_ubm(ubm, update):
    speaker = map_adapt(ubm, blobs(300, 5, shift=1.0), relevance_factor=float("inf"),
                        update=update)
    np.testing.assert_array_equal(speaker.weights_, ubm.weights_)
    np.testing.assert_array_equal(speaker.means_, ubm.means_)
    np.testing.assert_array_equal(speaker.covariances_, ubm.covariances_)
    X = blobs(50, 6)
    np.testing.assert_allclose(speaker.score_samples(X), ubm.score_samples(X))
    assert llr_score(speaker, ubm, X) == pytest.approx(0.0, abs=1e-12)
    # a huge but finite r is close to it
    near = map_adapt(ubm, blobs(300, 5, shift=1.0), relevance_factor=1e12, update=update)
    np.testing.assert_allclose(near.means_, ubm.means_, atol=1e-9)


def test_zero_relevance_factor_is_one_maximum_likelihood_m_step(ubm):
    X = blobs(400, 7, shift=0.4)
    speaker = map_adapt(ubm, X, relevance_factor=0.0, update="mwv", variance_floor=0.0)
    # the core engine: one EM iteration started from the UBM, without a variance floor
    one_step = GaussianMixture(
        4, covariance_type="diag", weights_init=ubm.weights_, means_init=ubm.means_,
        precisions_init=1.0 / ubm.covariances_, max_iter=1, tol=0.0, reg_covar=0.0,
    )
    with pytest.warns(ConvergenceWarning):
        one_step.fit(X)
    np.testing.assert_allclose(speaker.weights_, one_step.weights_, rtol=1e-9)
    np.testing.assert_allclose(speaker.means_, one_step.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(speaker.covariances_, one_step.covariances_, rtol=1e-8)
    # and by hand from the UBM's responsibilities
    gamma = ubm.predict_proba(X)
    n_k = gamma.sum(0)
    np.testing.assert_allclose(speaker.means_, gamma.T @ X / n_k[:, None], rtol=1e-10)
    np.testing.assert_allclose(speaker.weights_, n_k / len(X), rtol=1e-10)


def test_map_adapt_bad_arguments(ubm):
    X = blobs(50, 1)
    with pytest.raises(ValueError, match=re.escape("update='v' is not valid; use 'm', 'mw'")):
        map_adapt(ubm, X, update="v")
    with pytest.raises(ValueError, match=re.escape("relevance_factor=-1 is not valid")):
        map_adapt(ubm, X, relevance_factor=-1)
    with pytest.raises(ValueError) as info:
        map_adapt(ubm, np.zeros((10, 3)))
    assert str(info.value) == (
        "the speaker's frames have 3 features but the UBM has 2; make them with the UBM's "
        "feature config."
    )


def test_sample_rate_mismatch_between_ubm_and_speaker_features(ubm):
    at_8k = FeatureConfig(sr=8000, n_mfcc=2, deltas=False)
    with pytest.raises(ValueError) as info:
        map_adapt(ubm, blobs(50, 1), feature_config=at_8k)
    assert str(info.value) == (
        "the speaker's features were made with other settings than the UBM's (sr 8000 != 16000, "
        "speaker != UBM); extract them with the UBM's feature config "
        "(gmmkit_speech.feature_config(ubm))."
    )
    # a speaker model of another UBM is refused when scored against this one
    other = train_ubm(blobs(2000, 0), n_components=4, feature_config=at_8k, verbose=False)
    foreign = map_adapt(other, blobs(50, 1))
    with pytest.raises(ValueError, match=re.escape("(sr 8000 != 16000, speaker != UBM)")):
        llr_score(foreign, ubm, blobs(20, 2))


# -------------------------------------------------------------------- UBM


def test_train_ubm_uses_the_core_engine_and_reports_progress(capsys):
    X = blobs(2000, 0)
    ubm = train_ubm(X, n_components=4, feature_config=PAIR, random_state=3)
    err = capsys.readouterr().err
    assert "training UBM: 4 components on 2000 frames x 2 features (float32)" in err
    assert f"training UBM: converged after {ubm.n_iter_} EM iterations" in err
    assert len(err.splitlines()) == 2  # a line to start and one to end, not one per iteration
    assert "Initialization" not in err and "Iteration" not in err
    direct = GaussianMixture(4, covariance_type="diag", init_params="k-means++", dtype="float32",
                             reg_covar=0.05, random_state=3).fit(X)
    np.testing.assert_allclose(ubm.means_, direct.means_)
    assert ubm.speech_ == {"role": "ubm", "features": PAIR.to_dict(), "n_frames": 2000,
                           "train_dtype": "float32"}
    assert ubm.dtype is None  # it scores in float64
    train_ubm([X[:1000], X[1000:]], n_components=4, feature_config=PAIR, verbose=False)
    assert capsys.readouterr().err == ""


def test_train_ubm_refuses_too_few_frames_and_the_wrong_width():
    with pytest.raises(ValueError) as info:
        train_ubm(blobs(50, 0), n_components=4, feature_config=PAIR, verbose=False)
    assert str(info.value) == (
        "50 frames are too few for a 4-component UBM (at least 80, 20 per component); pool more "
        "audio or lower n_components."
    )
    with pytest.raises(ValueError, match=re.escape("the frames have 2 features but the feature "
                                                   "config gives 60 (20 MFCCs with deltas)")):
        train_ubm(blobs(500, 0), n_components=4, verbose=False)


def test_model_files_keep_the_speech_metadata(ubm, tmp_path):
    speaker = map_adapt(ubm, blobs(100, 3), update="mw")
    save_model(ubm, tmp_path / "ubm.gmm")
    save_model(speaker, tmp_path / "spk.gmm")
    loaded = load_model(tmp_path / "spk.gmm", role="speaker")
    assert loaded.speech_ == speaker.speech_
    np.testing.assert_array_equal(loaded.means_, speaker.means_)
    X = blobs(30, 4)
    assert llr_score(loaded, load_model(tmp_path / "ubm.gmm"), X) == pytest.approx(
        llr_score(speaker, ubm, X), rel=1e-6)
    with pytest.raises(ValueError) as info:
        load_model(tmp_path / "spk.gmm", role="ubm")
    assert str(info.value) == (
        f"'{tmp_path / 'spk.gmm'}' is a speaker model, not a ubm model; give the ubm model file."
    )


# ----------------------------------------------------------------- scoring


def test_llr_is_the_mean_log_likelihood_ratio(ubm):
    speaker = map_adapt(ubm, blobs(200, 8, shift=0.3))
    X = blobs(40, 9, shift=0.3)
    expected = np.mean(speaker.score_samples(X) - ubm.score_samples(X))
    assert llr_score(speaker, ubm, X) == pytest.approx(expected, rel=1e-12)
    assert llr_score(speaker, ubm, X) > 0  # the speaker's own kind of frames


def test_component_log_densities_by_hand():
    ubm = tiny_ubm(weights=(0.3, 0.7), means=(0.0, 4.0), variances=(1.0, 2.0))
    X = np.array([[0.5], [3.0]])
    expected = np.log([0.3, 0.7]) + norm.logpdf(X, [0.0, 4.0], np.sqrt([1.0, 2.0]))
    np.testing.assert_allclose(component_log_densities(ubm, X), expected, rtol=1e-12)
    picked = component_log_densities(ubm, X, np.array([[1], [0]]))
    np.testing.assert_allclose(picked[:, 0], [expected[0, 1], expected[1, 0]], rtol=1e-12)


def test_top_c_scoring_is_exact_with_every_component_and_close_with_a_few(ubm):
    speaker = map_adapt(ubm, blobs(200, 8, shift=0.3))
    X = blobs(40, 9, shift=0.3)
    full = llr_score(speaker, ubm, X)
    assert llr_score(speaker, ubm, X, top_c=4) == pytest.approx(full, rel=1e-10)
    assert llr_score(speaker, ubm, X, top_c=2) == pytest.approx(full, abs=1e-3)
    with pytest.raises(ValueError, match=re.escape("top_c=9 is not valid; use an int from 1 to")):
        llr_score(speaker, ubm, X, top_c=9)


def test_identify_and_verify(ubm):
    speakers = {name: map_adapt(ubm, blobs(300, seed, shift=shift))
                for name, seed, shift in [("near", 1, 0.0), ("far", 2, 0.8)]}
    X = blobs(60, 3, shift=0.8)
    best, scores = identify(speakers, ubm, X, top_c=2)
    assert best == "far" and scores["far"] > scores["near"]
    assert scores == pytest.approx(score_speakers(speakers, ubm, X, top_c=2))
    accepted, score = verify(speakers["far"], ubm, X, threshold=scores["far"] - 1e-9, top_c=2)
    assert accepted and score == pytest.approx(scores["far"])
    assert not verify(speakers["far"], ubm, X, threshold=scores["far"] + 1e-9, top_c=2)[0]


def test_scoring_an_utterance_of_the_wrong_width(ubm):
    with pytest.raises(ValueError) as info:
        llr_score(ubm, ubm, np.zeros((5, 3)))
    assert str(info.value) == (
        "frames must have shape (n_frames, 2) to match the UBM; got (5, 3). Make them with the "
        "UBM's feature config."
    )


def test_no_warnings_in_scoring(ubm):
    speaker = map_adapt(ubm, blobs(100, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llr_score(speaker, ubm, blobs(20, 1), top_c=2)
