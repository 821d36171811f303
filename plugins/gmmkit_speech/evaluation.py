"""Evaluation: EER, minDCF, the DET curve, identification accuracy and confusion.

Verification trials give target scores (the claimed speaker spoke) and
non-target scores (someone else did). At threshold t the miss rate is the
fraction of target scores below t and the false-alarm rate the fraction of
non-target scores at or above t. The DET curve is every such pair; the EER
is where the two rates are equal; minDCF is the lowest detection cost

    C_det(t) = C_miss P_target P_miss(t) + C_fa (1 - P_target) P_fa(t)

over thresholds, divided by min(C_miss P_target, C_fa (1 - P_target)), the
cost of always accepting or always rejecting (NIST SRE convention).
"""

from __future__ import annotations

import os

import numpy as np

from gmmkit_speech.calibration import split_scores

PLOT_HINT = "pip install 'gmmkit[plot]'"


def det_curve(target_scores, nontarget_scores):
    """Miss and false-alarm rates at every distinct threshold.

    Parameters
    ----------
    target_scores : array-like of shape (n_target,)
    nontarget_scores : array-like of shape (n_nontarget,)

    Returns
    -------
    p_miss, p_fa : ndarray of shape (n_thresholds + 1,)
        p_miss rises from 0 to 1 and p_fa falls from 1 to 0.
    thresholds : ndarray of shape (n_thresholds + 1,)
        The distinct scores in increasing order, then +inf (reject all).
    """
    target, nontarget = _check_scores(target_scores, nontarget_scores)
    thresholds = np.append(np.unique(np.concatenate([target, nontarget])), np.inf)
    p_miss = np.searchsorted(np.sort(target), thresholds, side="left") / target.size
    p_fa = 1.0 - np.searchsorted(np.sort(nontarget), thresholds, side="left") / nontarget.size
    return p_miss, p_fa, thresholds


def equal_error_rate(target_scores, nontarget_scores):
    """EER: the rate where the DET curve crosses p_miss = p_fa (linearly interpolated).

    Returns
    -------
    float in [0, 1]
    """
    p_miss, p_fa, _ = det_curve(target_scores, nontarget_scores)
    gap = p_miss - p_fa  # rises from -1 to 1
    j = int(np.argmax(gap >= 0))
    if gap[j] == 0 or j == 0:
        return float(p_miss[j])
    # the segment from point j-1 (gap < 0) to point j (gap > 0) crosses the diagonal
    share = -gap[j - 1] / (gap[j] - gap[j - 1])
    return float(p_miss[j - 1] + share * (p_miss[j] - p_miss[j - 1]))


def min_dcf(target_scores, nontarget_scores, *, p_target=0.01, c_miss=1.0, c_fa=1.0,
            normalize=True):
    """The minimum detection cost over thresholds (normalised by default).

    Parameters
    ----------
    target_scores, nontarget_scores : array-like
    p_target : float, default=0.01
        Prior probability of a target trial.
    c_miss, c_fa : float, default=1
        Costs of a miss and of a false alarm.
    normalize : bool, default=True
        Divide by the cost of the best trivial system.

    Returns
    -------
    float
    """
    if not 0 < p_target < 1:
        raise ValueError(f"p_target={p_target!r} is not valid; use a probability in (0, 1).")
    p_miss, p_fa, _ = det_curve(target_scores, nontarget_scores)
    cost = c_miss * p_target * p_miss + c_fa * (1 - p_target) * p_fa
    best = float(cost.min())
    return best / min(c_miss * p_target, c_fa * (1 - p_target)) if normalize else best


def min_dcf_point(target_scores, nontarget_scores, *, p_target=0.01, c_miss=1.0, c_fa=1.0):
    """Where on the DET curve minDCF is reached: (p_miss, p_fa, threshold), floats.

    The threshold is the lowest score accepted there (+inf: reject all).
    """
    if not 0 < p_target < 1:
        raise ValueError(f"p_target={p_target!r} is not valid; use a probability in (0, 1).")
    p_miss, p_fa, thresholds = det_curve(target_scores, nontarget_scores)
    best = int(np.argmin(c_miss * p_target * p_miss + c_fa * (1 - p_target) * p_fa))
    return float(p_miss[best]), float(p_fa[best]), float(thresholds[best])


def actual_dcf(target_llrs, nontarget_llrs, *, p_target=0.01, c_miss=1.0, c_fa=1.0,
               normalize=True):
    """The detection cost of the Bayes decision on scores read as log-likelihood ratios.

    Accept when llr >= log(c_fa (1 - p_target) / (c_miss p_target)). On
    calibrated scores it is close to minDCF; the gap is the cost of bad
    calibration.

    Parameters
    ----------
    target_llrs : array-like of shape (n_target,)
    nontarget_llrs : array-like of shape (n_nontarget,)
    p_target, c_miss, c_fa, normalize
        As in :func:`min_dcf`.

    Returns
    -------
    float
    """
    from gmmkit_speech.calibration import bayes_threshold

    target, nontarget = _check_scores(target_llrs, nontarget_llrs)
    threshold = bayes_threshold(p_target=p_target, c_miss=c_miss, c_fa=c_fa)
    cost = (c_miss * p_target * np.mean(target < threshold)
            + c_fa * (1 - p_target) * np.mean(nontarget >= threshold))
    return float(cost / min(c_miss * p_target, c_fa * (1 - p_target)) if normalize else cost)


def cllr(target_llrs, nontarget_llrs):
    """The log-likelihood-ratio cost (Brummer and du Preez 2006), in bits: float.

    Cllr = (mean_t log2(1 + e^-s) + mean_n log2(1 + e^s)) / 2 over target
    (t) and non-target (n) scores read as natural-log likelihood ratios.
    1 is the cost of a system that always says llr = 0; a well calibrated
    good system is near 0.
    """
    target, nontarget = _check_scores(target_llrs, nontarget_llrs)
    return float((np.mean(np.logaddexp(0.0, -target)) + np.mean(np.logaddexp(0.0, nontarget)))
                 / (2 * np.log(2)))


def identification_accuracy(true_speakers, predicted_speakers):
    """Fraction of utterances whose predicted speaker is the true one: float."""
    true, predicted = np.asarray(true_speakers), np.asarray(predicted_speakers)
    if true.shape != predicted.shape or true.ndim != 1 or true.size == 0:
        raise ValueError(
            f"true and predicted speakers must be two non-empty lists of one length; got "
            f"{true.shape} and {predicted.shape}."
        )
    return float(np.mean(true == predicted))


def confusion_matrix(true_speakers, predicted_speakers, *, labels=None):
    """Counts of (true, predicted) pairs: ndarray of shape (n_labels, n_labels), and the labels.

    Rows are true speakers, columns predicted ones, in the order of
    ``labels`` (default: the sorted union of both lists).
    """
    true, predicted = np.asarray(true_speakers), np.asarray(predicted_speakers)
    labels = np.unique(np.concatenate([true, predicted])) if labels is None else np.asarray(labels)
    position = {label: i for i, label in enumerate(labels.tolist())}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(true.tolist(), predicted.tolist()):
        matrix[position[t], position[p]] += 1
    return matrix, labels


def plot_det(target_scores, nontarget_scores, path, *, label=None, title="DET curve",
             p_target=None):
    """Draw the DET curve on normal-deviate axes into a PNG file; return ``path``.

    With ``p_target``, the minDCF point of that prior is marked on the curve.
    Needs matplotlib (``pip install 'gmmkit[plot]'``); without it an
    ImportError says so.
    """
    eer = equal_error_rate(target_scores, nontarget_scores)
    systems = {label or f"EER {100 * eer:.1f}%": (target_scores, nontarget_scores)}
    return plot_det_curves(systems, path, title=title, with_eer=False, p_target=p_target)


def plot_det_curves(systems: dict, path: str | os.PathLike, *, title: str = "DET curves",
                    with_eer: bool = True, p_target: float | None = None) -> str | os.PathLike:
    """Several systems' DET curves on one figure (normal-deviate axes, PNG); return ``path``.

    Parameters
    ----------
    systems : dict of str -> (target_scores, nontarget_scores)
        One curve per entry, labelled by its key (and its EER with ``with_eer``).
    path : str or os.PathLike
    title : str
    with_eer : bool, default=True
    p_target : float, optional
        Mark each curve's minDCF point for this target prior (a dot, in the legend).
    """
    from scipy.stats import norm

    plt = _pyplot()
    ticks = np.array([0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4])
    clip = (0.0005, 0.5)
    figure, axes = plt.subplots(figsize=(5, 5))
    for name, (target, nontarget) in systems.items():
        p_miss, p_fa, _ = det_curve(target, nontarget)
        label = f"{name} (EER {100 * equal_error_rate(target, nontarget):.1f}%)" if with_eer \
            else name
        line, = axes.plot(norm.ppf(np.clip(p_fa, *clip)), norm.ppf(np.clip(p_miss, *clip)),
                          label=label)
        if p_target is not None:
            miss, fa, _ = min_dcf_point(target, nontarget, p_target=p_target)
            cost = min_dcf(target, nontarget, p_target=p_target)
            axes.plot(norm.ppf(np.clip(fa, *clip)), norm.ppf(np.clip(miss, *clip)), "o",
                      color=line.get_color(),
                      label=f"minDCF({p_target:g}) {cost:.3f}: miss {100 * miss:.1f}%, "
                            f"false alarm {100 * fa:.2f}%")
    axes.plot(norm.ppf(clip), norm.ppf(clip), color="0.7", linestyle=":", linewidth=1)
    axes.set_xticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    axes.set_yticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    axes.set_xlim(norm.ppf(clip))
    axes.set_ylim(norm.ppf(clip))
    axes.set_xlabel("false alarm rate (%)")
    axes.set_ylabel("miss rate (%)")
    axes.set_title(title)
    axes.grid(True, color="0.9")
    axes.legend(loc="upper right", fontsize=8)
    figure.savefig(path, dpi=96, bbox_inches="tight")
    plt.close(figure)
    return path


def trial_scores(scores, is_target):
    """(target scores, non-target scores) from a score per trial and its bool label."""
    return split_scores(scores, is_target)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"the DET plot needs matplotlib: {PLOT_HINT}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_scores(target_scores, nontarget_scores):
    target = np.asarray(target_scores, dtype=np.float64).ravel()
    nontarget = np.asarray(nontarget_scores, dtype=np.float64).ravel()
    if target.size == 0 or nontarget.size == 0:
        raise ValueError(
            f"got {target.size} target and {nontarget.size} non-target scores; an error rate "
            "needs at least one of each."
        )
    if not (np.all(np.isfinite(target)) and np.all(np.isfinite(nontarget))):
        raise ValueError("the scores hold NaN or infinite values; score every trial.")
    return target, nontarget
