"""gmmkit_speech: EER, minDCF, DET, calibration, the speaker store, utterance classes."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import re
import sqlite3
import sys

import numpy as np
from gmmkit_speech import (
    FeatureConfig,
    ScoreCalibration,
    SpeakerStore,
    UtteranceClassifier,
    bayes_threshold,
    confusion_matrix,
    det_curve,
    equal_error_rate,
    identification_accuracy,
    map_adapt,
    min_dcf,
    plot_det,
    train_ubm,
)
from sklearn.metrics import roc_curve
from speech_helpers import blobs, small_ubm


def scores(seed=0, n_target=300, n_nontarget=3000, separation=2.5):
    rng = np.random.default_rng(seed)
    return rng.normal(separation, 1, n_target), rng.normal(0, 1, n_nontarget)


# -------------------------------------------------------------- error rates


def test_det_curve_matches_scikit_learn_roc_curve():
    target, nontarget = scores()
    p_miss, p_fa, thresholds = det_curve(target, nontarget)
    labels = np.r_[np.ones(target.size), np.zeros(nontarget.size)]
    fpr, tpr, roc_thresholds = roc_curve(labels, np.r_[target, nontarget],
                                         drop_intermediate=False)
    # roc_curve accepts score >= threshold, as det_curve does
    mine = dict(zip(thresholds.tolist(), zip(p_miss, p_fa)))
    for threshold, f, t in zip(roc_thresholds[1:], fpr[1:], tpr[1:]):
        assert mine[threshold] == pytest.approx((1 - t, f), abs=1e-12)
    assert (p_miss[0], p_fa[0], p_miss[-1], p_fa[-1]) == (0, 1, 1, 0)


def test_eer_by_hand_and_against_the_normal_closed_form():
    # two targets, two non-targets, interleaved: p_miss/p_fa cross at 0.5
    assert equal_error_rate([2.0, 4.0], [1.0, 3.0]) == pytest.approx(0.5)
    assert equal_error_rate([3.0, 4.0], [1.0, 2.0]) == 0.0
    assert equal_error_rate([1.0, 2.0], [3.0, 4.0]) == 1.0
    # one target among three non-targets below it, and one above: EER 1/3 by interpolation
    assert equal_error_rate([2.5], [1.0, 2.0, 3.0]) == pytest.approx(1 / 3)
    # unit-variance normals d apart: EER = Phi(-d/2)
    from scipy.stats import norm

    target, nontarget = scores(1, 20000, 20000, separation=2.0)
    assert equal_error_rate(target, nontarget) == pytest.approx(norm.cdf(-1.0), abs=0.005)


def test_min_dcf_by_brute_force():
    target, nontarget = scores(2, 50, 400, separation=1.5)
    thresholds = np.r_[np.sort(np.r_[target, nontarget]), np.inf]
    costs = [0.05 * np.mean(target < t) + 0.95 * np.mean(nontarget >= t) for t in thresholds]
    assert min_dcf(target, nontarget, p_target=0.05, normalize=False) == pytest.approx(min(costs))
    assert min_dcf(target, nontarget, p_target=0.05) == pytest.approx(min(costs) / 0.05)
    assert min_dcf([1.0], [0.0]) == 0.0


def test_bad_score_lists():
    with pytest.raises(ValueError) as info:
        equal_error_rate([], [1.0])
    assert str(info.value) == (
        "got 0 target and 1 non-target scores; an error rate needs at least one of each."
    )
    with pytest.raises(ValueError, match=re.escape("p_target=1.5 is not valid")):
        min_dcf([1.0], [0.0], p_target=1.5)


def test_identification_accuracy_and_confusion_matrix():
    true = ["a", "a", "b", "c", "c"]
    predicted = ["a", "b", "b", "c", "a"]
    assert identification_accuracy(true, predicted) == pytest.approx(0.6)
    matrix, labels = confusion_matrix(true, predicted)
    assert labels.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])


def test_plot_det_writes_a_png(tmp_path, monkeypatch):
    target, nontarget = scores()
    path = plot_det(target, nontarget, tmp_path / "det.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(ImportError) as info:
        plot_det(target, nontarget, tmp_path / "none.png")
    assert str(info.value) == "the DET plot needs matplotlib: pip install 'gmmkit[plot]'"


# -------------------------------------------------------------- calibration


def test_calibration_recovers_the_true_log_likelihood_ratio():
    # normals N(d, 1) vs N(0, 1): the true LLR of s is d s - d^2 / 2
    target, nontarget = scores(3, 20000, 20000, separation=2.0)
    raw = np.r_[target, nontarget] * 3.0 + 7.0  # a badly scaled system
    is_target = np.r_[np.ones(target.size, bool), np.zeros(nontarget.size, bool)]
    calibration = ScoreCalibration().fit(raw, is_target)
    s = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(calibration.transform(s * 3.0 + 7.0), 2.0 * s - 2.0, atol=0.05)
    assert bayes_threshold(p_target=0.5) == 0.0
    assert bayes_threshold(p_target=0.01) == pytest.approx(np.log(99))
    raw_threshold = calibration.threshold(p_target=0.01)
    assert calibration.transform(raw_threshold) == pytest.approx(np.log(99))


# ------------------------------------------------------------ speaker store


@pytest.fixture(scope="module")
def ubm():
    return small_ubm()


@pytest.mark.parametrize("index", [True, False])
def test_store_enrols_and_reopens_without_retraining(ubm, tmp_path, index):
    store = SpeakerStore.create(tmp_path / "store", ubm, index=index)
    enrolled = {name: store.enroll(name, blobs(200, seed, shift))
                for name, seed, shift in [("alice", 1, 0.0), ("bob", 2, 0.7), ("carol", 3, -0.7)]}
    reopened = SpeakerStore(tmp_path / "store")
    assert reopened.indexed is index
    assert reopened.names() == ["alice", "bob", "carol"] and len(reopened) == 3
    for name, model in enrolled.items():
        np.testing.assert_array_equal(reopened[name].means_, model.means_)
        assert reopened[name].speech_["n_frames"] == 200
    np.testing.assert_array_equal(
        reopened["bob"].means_, map_adapt(ubm, blobs(200, 2, 0.7)).means_)
    if index:
        with sqlite3.connect(tmp_path / "store" / "index.sqlite") as db:
            rows = db.execute("SELECT name, file, n_frames FROM speakers ORDER BY name").fetchall()
        assert rows[1] == ("bob", "speakers/bob.gmm", 200)


def test_unknown_speaker_name(ubm, tmp_path):
    store = SpeakerStore.create(tmp_path / "store", ubm)
    store.enroll("alice", blobs(100, 1))
    with pytest.raises(ValueError) as info:
        store["mallory"]
    assert str(info.value) == (
        f"unknown speaker 'mallory' in store '{tmp_path / 'store'}'; enrolled: alice (1 in all). "
        "Enrol it first (gmmkit speech enroll)."
    )
    with pytest.raises(ValueError, match=re.escape("speaker name '../x' is not valid")):
        store.enroll("../x", blobs(100, 1))


def test_store_refuses_a_speaker_model_of_other_features(ubm, tmp_path):
    store = SpeakerStore.create(tmp_path / "store", ubm)
    other_config = FeatureConfig(n_mfcc=2, deltas=False, cmvn=None)
    other = train_ubm(blobs(2000, 0), n_components=4, feature_config=other_config, verbose=False)
    with pytest.raises(ValueError) as info:
        store.add("eve", map_adapt(other, blobs(100, 1)))
    assert str(info.value) == (
        "speaker 'eve''s features were made with other settings than the UBM's "
        "(cmvn None != 'utterance', speaker != UBM); extract them with the UBM's feature config "
        "(gmmkit_speech.feature_config(ubm))."
    )


def test_opening_a_folder_that_is_not_a_store(tmp_path):
    with pytest.raises(ValueError) as info:
        SpeakerStore(tmp_path)
    assert str(info.value) == (
        f"'{tmp_path}' is not a speaker store (it has no ubm.gmm); create one with "
        "SpeakerStore.create(directory, ubm) or `gmmkit speech enroll --ubm`."
    )


# ------------------------------------------------------- per-class route


def test_utterance_classifier_sums_frame_scores():
    rng = np.random.default_rng(4)
    classes = {"yes": np.array([0.0, 0.0]), "no": np.array([2.0, 1.0])}

    def utterance(word):
        return classes[word] + rng.standard_normal((30, 2))

    words = ["yes", "no"] * 10
    model = UtteranceClassifier().fit([utterance(w) for w in words], words)
    tests = ["no", "yes"] * 10
    utterances = [utterance(w) for w in tests]
    assert (model.predict(utterances) == np.array(tests)).all()
    u = utterances[0]
    expected = [m.score_samples(u).sum() + np.log(0.5) for m in model.classifier_.estimators_]
    np.testing.assert_allclose(model.utterance_log_likelihood(u), expected)
