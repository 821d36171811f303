"""gmmkit_speech: actual DCF, Cllr, the minDCF point, stored calibrations, the one UBM default."""

import pytest

pytest.importorskip("librosa", reason="the speech extra: pip install 'gmmkit[speech]'")
pytest.importorskip("soundfile", reason="the speech extra: pip install 'gmmkit[speech]'")

import inspect
import json
import re

import numpy as np
from gmmkit_speech import (
    ScoreCalibration,
    SpeakerStore,
    Trials,
    actual_dcf,
    cllr,
    det_curve,
    min_dcf,
    min_dcf_point,
    plot_det,
    train_ubm,
)
from gmmkit_speech.experiment import RECIPE
from gmmkit_speech.trials import trial_report
from gmmkit_speech.ubm import DEFAULT_COMPONENTS
from speech_helpers import small_ubm


def test_actual_dcf_is_the_cost_of_the_bayes_decision():
    target = np.array([5.0, 4.0, 3.0, 1.0])
    nontarget = np.array([-3.0, 0.0, 4.7, 6.0, -1.0])
    # p_target 0.01: accept when llr >= log(99) = 4.595: 3 of 4 targets missed, 2 of 5 accepted
    raw = 0.01 * 0.75 + 0.99 * 0.4
    assert actual_dcf(target, nontarget, p_target=0.01, normalize=False) == pytest.approx(raw)
    assert actual_dcf(target, nontarget, p_target=0.01) == pytest.approx(raw / 0.01)
    # threshold 0 at p_target 0.5: 0 misses; nontarget 0.0, 4.7, 6.0 are accepted
    assert actual_dcf(target, nontarget, p_target=0.5) == pytest.approx(0.5 * 0.6 / 0.5)
    # never below minDCF: the Bayes threshold is one of the thresholds minDCF tries
    assert actual_dcf(target, nontarget, p_target=0.2) >= min_dcf(target, nontarget,
                                                                  p_target=0.2)


def test_cllr_closed_form():
    assert cllr([0.0, 0.0], [0.0]) == pytest.approx(1.0)  # llr 0 always: 1 bit
    target, nontarget = np.array([2.0, -1.0]), np.array([0.5])
    expected = (np.mean(np.log2(1 + np.exp(-target))) + np.log2(1 + np.exp(0.5))) / 2
    assert cllr(target, nontarget) == pytest.approx(expected)
    assert cllr([50.0], [-50.0]) == pytest.approx(0.0, abs=1e-20)
    assert np.isfinite(cllr([-1000.0], [1000.0]))  # stable for far-off scores
    with pytest.raises(ValueError, match="got 0 target and 1 non-target scores"):
        cllr([], [1.0])


def test_min_dcf_point_is_where_min_dcf_is_reached():
    rng = np.random.default_rng(4)
    target, nontarget = rng.normal(2, 1, 200), rng.normal(0, 1, 2000)
    miss, fa, threshold = min_dcf_point(target, nontarget, p_target=0.05)
    assert (miss, fa) == pytest.approx((np.mean(target < threshold),
                                        np.mean(nontarget >= threshold)))
    assert (0.05 * miss + 0.95 * fa) / 0.05 == pytest.approx(min_dcf(target, nontarget,
                                                                     p_target=0.05))
    p_miss, p_fa, _ = det_curve(target, nontarget)
    assert any(m == miss and f == fa for m, f in zip(p_miss, p_fa))


def test_plot_det_marks_the_min_dcf_point(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes
    from scipy.stats import norm

    drawn = []
    plot = Axes.plot
    monkeypatch.setattr(Axes, "plot", lambda self, *a, **k: drawn.append((a, k)) or
                        plot(self, *a, **k))
    rng = np.random.default_rng(5)
    target, nontarget = rng.normal(2, 1, 100), rng.normal(0, 1, 1000)
    plot_det(target, nontarget, tmp_path / "det.png", p_target=0.01)
    marks = [(a, k) for a, k in drawn if len(a) == 3 and a[2] == "o"]
    assert len(marks) == 1
    (x, y, _), options = marks[0]
    miss, fa, _ = min_dcf_point(target, nontarget, p_target=0.01)
    clip = (0.0005, 0.5)  # the axes of the DET plot
    assert (x, y) == pytest.approx((norm.ppf(np.clip(fa, *clip)), norm.ppf(np.clip(miss, *clip))))
    assert options["label"].startswith(f"minDCF(0.01) {min_dcf(target, nontarget):.3f}")
    assert (tmp_path / "det.png").read_bytes()[:4] == b"\x89PNG"


def test_trial_report_identifies_files_and_reads_calibrated_llrs():
    trials = Trials(["a", "b", "a", "b", "a", "b"], ["f1", "f1", "f2", "f2", "f3", "f3"],
                    [True, False, False, True, True, False])
    matrix = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.5]])  # speakers a, b x files f1..f3
    scores = np.array([matrix[0, 0], matrix[1, 0], matrix[0, 1], matrix[1, 1], matrix[0, 2],
                       matrix[1, 2]])
    report = trial_report(scores, trials, matrix, ["a", "b"], ["f1", "f2", "f3"], p_target=0.5)
    ident = report["identification"]
    assert ident["n_files"] == 3 and ident["n_correct"] == 2 and ident["accuracy"] == 2 / 3
    assert ident["confusion"] == [[1, 1], [0, 1]]  # f3 (a) was identified as b
    assert report["cllr"] == pytest.approx(cllr(scores[trials.is_target],
                                                scores[~trials.is_target]))
    assert not report["calibrated"]
    calibration = ScoreCalibration.from_dict({"p_target": 0.5, "scale": 2.0, "offset": -1.0})
    calibrated = trial_report(scores, trials, matrix, ["a", "b"], ["f1", "f2", "f3"],
                              p_target=0.5, calibration=calibration)
    llrs = 2.0 * scores - 1.0
    assert calibrated["calibrated"] and calibrated["actual_dcf"] == pytest.approx(
        actual_dcf(llrs[trials.is_target], llrs[~trials.is_target], p_target=0.5))
    assert calibrated["eer"] == report["eer"]  # calibration is monotone


def test_store_keeps_a_calibration_of_its_scores(tmp_path):
    store = SpeakerStore.create(tmp_path / "store", small_ubm())
    assert store.calibration() is None
    rng = np.random.default_rng(0)
    raw = np.r_[rng.normal(3, 1, 200), rng.normal(0, 1, 2000)]
    is_target = np.arange(raw.size) < 200
    fitted = ScoreCalibration().fit(raw, is_target)
    store.set_calibration(fitted, top_c=5, n_trials=raw.size)
    found, record = SpeakerStore(tmp_path / "store").calibration(top_c=5)
    assert (found.scale_, found.offset_, found.p_target) == (fitted.scale_, fitted.offset_, 0.5)
    assert found.threshold(p_target=0.01) == fitted.threshold(p_target=0.01)
    assert record["n_trials"] == 2200 and record["backend"] == "gmm"
    assert json.loads((tmp_path / "store" / "calibration.json").read_text())["top_c"] == 5
    with pytest.raises(ValueError, match=re.escape(
        f"the calibration of '{tmp_path / 'store'}' was fitted on scores made with top_c=5, not "
        "top_c=None; score the same way or calibrate again."
    )):
        store.calibration(top_c=None)
    with pytest.raises(ValueError, match="is not fitted"):
        ScoreCalibration().to_dict()


def test_one_ubm_size_everywhere():
    """train_ubm, `gmmkit speech ubm -k` and the measured recipe agree (they were 64, 256, 128)."""
    from gmmkit_speech.cli import ubm

    assert inspect.signature(train_ubm).parameters["n_components"].default == DEFAULT_COMPONENTS
    option = next(p for p in ubm.params if p.name == "n_components")
    assert option.default == DEFAULT_COMPONENTS == RECIPE["n_components"] == 128


def test_every_speech_option_has_a_help_text():
    import click
    from gmmkit_speech.cli import speech

    missing = [f"{name} {param.opts[0]}" for name, command in speech.commands.items()
               for param in command.params
               if isinstance(param, click.Option) and not param.help]
    assert missing == []
    assert set(speech.commands) == {"ubm", "tv", "enroll", "identify", "verify", "evaluate",
                                    "calibrate"}
