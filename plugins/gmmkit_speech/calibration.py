"""Score calibration: raw LLR scores to calibrated log-likelihood ratios, and thresholds.

:class:`ScoreCalibration` fits ``calibrated = scale * score + offset`` by
prior-weighted logistic regression on trials with known labels (as
BOSARIS and the NIST SRE tools do), so the calibrated score is a
log-likelihood ratio and the Bayes decision threshold for a target prior
and costs is ``log(c_fa (1 - p) / (c_miss p))``.
"""

from __future__ import annotations

import numpy as np


def split_scores(scores, is_target):
    """(target scores, non-target scores) from one score and one bool label per trial."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    is_target = np.asarray(is_target).ravel()
    if is_target.dtype != bool:
        raise ValueError("is_target must hold True (target trial) or False for every trial.")
    if scores.shape != is_target.shape:
        raise ValueError(
            f"{scores.size} scores but {is_target.size} labels; give one label per trial."
        )
    return scores[is_target], scores[~is_target]


def bayes_threshold(*, p_target=0.01, c_miss=1.0, c_fa=1.0):
    """The threshold on calibrated LLRs that minimises the expected cost: float."""
    if not 0 < p_target < 1:
        raise ValueError(f"p_target={p_target!r} is not valid; use a probability in (0, 1).")
    return float(np.log(c_fa * (1 - p_target) / (c_miss * p_target)))


class ScoreCalibration:
    """Linear calibration of verification scores by prior-weighted logistic regression.

    Parameters
    ----------
    p_target : float, default=0.5
        The effective target prior the calibration is trained for.

    Attributes
    ----------
    scale_, offset_ : float
        calibrated = scale_ * score + offset_.
    """

    def __init__(self, p_target=0.5):
        self.p_target = p_target

    def fit(self, scores, is_target):
        """Fit on labelled trials: scores (n,), is_target bool (n,). Returns self."""
        from scipy.optimize import minimize

        target, nontarget = split_scores(scores, is_target)
        if target.size == 0 or nontarget.size == 0:
            raise ValueError(
                "calibration needs both target and non-target trials; got "
                f"{target.size} and {nontarget.size}."
            )
        p = self.p_target
        prior_logit = np.log(p / (1 - p))

        def cost(params):
            a, b = params
            # cross-entropy of each class, weighted by the prior (np.logaddexp is stable)
            miss = np.mean(np.logaddexp(0.0, -(a * target + b + prior_logit)))
            false_alarm = np.mean(np.logaddexp(0.0, a * nontarget + b + prior_logit))
            return p * miss + (1 - p) * false_alarm

        spread = np.std(np.concatenate([target, nontarget])) or 1.0
        result = minimize(cost, x0=[1.0 / spread, 0.0], method="BFGS")
        self.scale_, self.offset_ = (float(v) for v in result.x)
        return self

    def transform(self, scores):
        """Calibrated log-likelihood ratios of ``scores``: ndarray like ``scores``."""
        if not hasattr(self, "scale_"):
            raise ValueError("this ScoreCalibration is not fitted; call fit(scores, is_target).")
        return self.scale_ * np.asarray(scores, dtype=np.float64) + self.offset_

    def to_dict(self) -> dict:
        """The fitted calibration as a JSON-ready dict (``from_dict`` reads it back)."""
        if not hasattr(self, "scale_"):
            raise ValueError("this ScoreCalibration is not fitted; call fit(scores, is_target).")
        return {"p_target": self.p_target, "scale": self.scale_, "offset": self.offset_}

    @classmethod
    def from_dict(cls, values: dict) -> ScoreCalibration:
        """A fitted calibration from :meth:`to_dict`'s dict."""
        calibration = cls(p_target=float(values["p_target"]))
        calibration.scale_, calibration.offset_ = float(values["scale"]), float(values["offset"])
        return calibration

    def threshold(self, *, p_target=0.01, c_miss=1.0, c_fa=1.0):
        """The raw-score threshold of the Bayes decision for this prior and costs: float."""
        calibrated = bayes_threshold(p_target=p_target, c_miss=c_miss, c_fa=c_fa)
        return (calibrated - self.offset_) / self.scale_
