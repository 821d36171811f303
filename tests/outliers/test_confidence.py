"""ExCeeD confidence (Perini et al. 2020): PyOD's formula, the detector's API, files."""

import re

import numpy as np
import pytest
from gmmkit_outliers import GMMOutlierDetector, exceed_confidence, load_detector, save_detector
from gmmkit_outliers.confidence import MAX_STORED_SCORES, order_statistic_ranks, thinned
from scipy.stats import binom


def pyod_formula(test_scores, train_scores, contamination, predictions):
    """PyOD's predict_confidence, written out as it is there (a Python loop)."""
    n = len(train_scores)
    confidence = []
    for score, label in zip(test_scores, predictions):
        count = np.count_nonzero(train_scores <= score)
        p = (1 + count) / (2 + n)
        sure = 1 - binom.cdf(n - int(n * contamination), n, p)
        confidence.append(sure if label == 1 else 1 - sure)
    return np.array(confidence)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 3)), rng.normal(5.0, 0.5, size=(20, 3))])
    new = np.vstack([rng.normal(size=(40, 3)), [[6.0, 6.0, 6.0], [2.0, 2.0, 2.0]]])
    return X, new


@pytest.fixture(scope="module")
def fitted(data):
    return GMMOutlierDetector(contamination=0.05, n_estimators=5, random_state=0).fit(data[0])


def test_exceed_is_pyods_formula():
    rng = np.random.default_rng(1)
    train, test = rng.gamma(2.0, size=500), rng.gamma(2.0, size=80)
    labels = (test > np.quantile(train, 0.9)).astype(int)
    np.testing.assert_allclose(exceed_confidence(test, train, 0.1, labels),
                               pyod_formula(test, train, 0.1, labels), rtol=1e-10, atol=1e-12)


def test_the_detector_matches_pyods_own_predict_confidence(data):
    """A PyOD detector's scores through our function give its predict_confidence."""
    knn = pytest.importorskip("pyod.models.knn")
    X, new = data
    detector = knn.KNN(contamination=0.05).fit(X)
    labels = detector.predict(new)
    ours = exceed_confidence(detector.decision_function(new), detector.decision_scores_, 0.05,
                             labels)
    np.testing.assert_allclose(ours, detector.predict_confidence(new), rtol=1e-10, atol=1e-12)


def test_predict_with_confidence(data, fitted):
    X, new = data
    labels, confidence = fitted.predict(new, return_confidence=True)
    np.testing.assert_array_equal(labels, fitted.predict(new))
    expected = pyod_formula(fitted.decision_function(new), fitted.decision_scores_, 0.05, labels)
    np.testing.assert_allclose(confidence, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(fitted.predict_confidence(new), confidence)
    assert labels[-2] == 1 and confidence[-2] > 0.99  # far out: flagged, surely
    assert ((confidence >= 0) & (confidence <= 1)).all()
    proba, again = fitted.predict_proba(new, return_confidence=True)
    np.testing.assert_array_equal(again, confidence)
    np.testing.assert_array_equal(proba, fitted.predict_proba(new))
    # the training rows: the ones nearest the threshold are the least sure
    train_confidence = fitted.predict_confidence(X)
    nearest = np.argmin(np.abs(fitted.decision_scores_ - fitted.threshold_))
    assert train_confidence[nearest] < 0.75 < np.median(train_confidence)


def test_auto_contamination_uses_the_share_flagged(data):
    X, new = data
    detector = GMMOutlierDetector(contamination="auto", n_estimators=5, random_state=0).fit(X)
    share = detector.labels_.mean()
    labels, confidence = detector.predict(new, return_confidence=True)
    expected = pyod_formula(detector.decision_function(new), detector.decision_scores_, share,
                            labels)
    np.testing.assert_allclose(confidence, expected, rtol=1e-10, atol=1e-12)


def test_confidence_survives_the_detector_file(tmp_path, data, fitted):
    X, new = data
    save_detector(fitted, tmp_path / "d.gmm")
    loaded = load_detector(tmp_path / "d.gmm")
    np.testing.assert_array_equal(loaded.predict_confidence(new), fitted.predict_confidence(new))
    np.testing.assert_array_equal(loaded.training_scores_, np.sort(fitted.decision_scores_))


def test_many_training_rows_keep_evenly_spaced_order_statistics():
    rng = np.random.default_rng(2)
    scores = np.sort(rng.normal(size=MAX_STORED_SCORES * 2 + 7))
    kept = thinned(scores)
    n = scores.size
    assert kept.size == MAX_STORED_SCORES and kept[0] == scores[0] and kept[-1] == scores[-1]
    np.testing.assert_array_equal(kept, scores[order_statistic_ranks(n, MAX_STORED_SCORES)])
    assert thinned(scores[:1000]) is not None and thinned(scores[:1000]).size == 1000
    # at a stored order statistic the rank, so the confidence, is exact
    at = kept[[10, 5000, 90000]]
    labels = np.array([0, 0, 1])
    np.testing.assert_allclose(exceed_confidence(at, kept, 0.1, labels, n=n),
                               exceed_confidence(at, scores, 0.1, labels), rtol=1e-12)


def test_a_detector_without_training_scores_says_so(data, fitted):
    import copy

    old = copy.deepcopy(fitted)
    old.training_scores_ = None  # as load_detector leaves a file written by gmmkit 0.1
    with pytest.raises(ValueError, match=re.escape(
        "this detector has no training scores (it was loaded from a detector file written by "
        "gmmkit 0.1); fit it again, or save and load it with this version, to get confidences."
    )):
        old.predict_confidence(data[1])
