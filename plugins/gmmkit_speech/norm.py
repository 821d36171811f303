"""Score normalisation against an impostor cohort: Z-, T-, ZT-, S- and adaptive S-norm.

A raw verification score s(e, t) of enrolment model e and test utterance t
is normalised with the statistics of cohort scores (impostor speech, never
the trial's speakers):

- **Z-norm** (zero normalisation): mu_e, sd_e of e's scores against the
  cohort *utterances*: (s - mu_e) / sd_e.
- **T-norm** (test normalisation): mu_t, sd_t of t's scores against the
  cohort *models*: (s - mu_t) / sd_t.
- **ZT-norm**: Z-norm, then T-norm with cohort scores that were Z-normed
  themselves (each cohort model against the Z-cohort utterances).
- **S-norm** (symmetric): the mean of the Z- and T-normed scores,
  0.5 (s - mu_e) / sd_e + 0.5 (s - mu_t) / sd_t.
- **Adaptive S-norm** (``as-norm``, Matejka et al. 2017): S-norm where each
  side's mu and sd come from its ``top_n`` highest cohort scores only, the
  impostors most like that side.

For symmetric scoring (i-vector cosine or PLDA) the same cohort serves both
sides. NaN cohort scores are left out; with ``enrol_speakers`` and
``cohort_speakers``, so is the cohort speech of the claimed speaker (a
speaker's own enrolment speech is no impostor), and in ZT-norm every cohort
model scored against its own speaker's utterances.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

METHODS = ("z-norm", "t-norm", "zt-norm", "s-norm", "as-norm")


def normalise_scores(scores: ArrayLike, *, method: str = "s-norm",
                     enrol_cohort: ArrayLike | None = None, test_cohort: ArrayLike | None = None,
                     cohort_cohort: ArrayLike | None = None, top_n: int | None = None,
                     enrol_speakers: Sequence[str] | None = None,
                     cohort_speakers: Sequence[str] | None = None) -> np.ndarray:
    """Normalise verification scores with cohort statistics.

    Parameters
    ----------
    scores : array-like of shape (n_enrol, n_test) or (n_trials,)
        Raw scores: ``scores[i, j]`` of enrolment model i and test utterance
        j, or one score per trial (then the cohort arrays have one row per trial).
    method : {"z-norm", "t-norm", "zt-norm", "s-norm", "as-norm"}, default="s-norm"
    enrol_cohort : array-like of shape (n_enrol, n_cohort) or (n_trials, n_cohort)
        Each enrolment model's scores against the cohort utterances (Z side);
        needed by every method but t-norm.
    test_cohort : array-like of shape (n_test, n_cohort_models) or (n_trials, n_cohort_models)
        Each test utterance's scores against the cohort models (T side);
        needed by every method but z-norm.
    cohort_cohort : array-like of shape (n_cohort_models, n_cohort)
        zt-norm only: each cohort model's scores against the Z-cohort
        utterances, to Z-norm the T-side cohort scores.
    top_n : int, optional
        Statistics over each side's ``top_n`` highest cohort scores (needed
        by ``as-norm``, allowed for every method); None uses the whole cohort.
    enrol_speakers : array-like of shape (n_enrol,) or (n_trials,), optional
        The claimed speaker of every row of ``scores``.
    cohort_speakers : array-like of shape (n_cohort,), optional
        The speaker of every cohort utterance; the cohort models are then the
        same utterances (``n_cohort_models == n_cohort``). With both, a
        cohort speaker who is the claimed speaker is left out of that row's
        statistics.

    Returns
    -------
    ndarray of the shape of ``scores``

    Raises
    ------
    ValueError
        For an unknown method, a missing or misshaped cohort, a cohort with
        fewer than ``top_n`` (or 2) scores, or cohort scores with no spread.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not valid; use one of {', '.join(METHODS)}.")
    if (enrol_speakers is None) != (cohort_speakers is None):
        raise ValueError("enrol_speakers and cohort_speakers go together: give the speaker of "
                         "every enrolment model and of every cohort utterance.")
    if enrol_speakers is not None:
        return _leave_speakers_out(scores, method, enrol_cohort, test_cohort, cohort_cohort,
                                   top_n, enrol_speakers, cohort_speakers)
    if method == "as-norm" and top_n is None:
        raise ValueError("method='as-norm' needs top_n, the number of cohort scores kept per "
                         "side (e.g. top_n=100); or use method='s-norm' for the whole cohort.")
    raw = np.asarray(scores, dtype=np.float64)
    if raw.ndim not in (1, 2):
        raise ValueError(f"scores must have shape (n_enrol, n_test) or (n_trials,); got "
                         f"{raw.shape}.")
    if not np.all(np.isfinite(raw)):
        raise ValueError("the scores hold NaN or infinite values; score every trial.")
    n_enrol, n_test = (raw.shape[0], raw.shape[0]) if raw.ndim == 1 else raw.shape
    z_normed = None
    if method != "t-norm":  # the Z side: each enrolment model's cohort statistics
        z_side = _cohort(enrol_cohort, "enrol_cohort", n_enrol, method)
        z_mean, z_sd = cohort_statistics(z_side, top_n=top_n, name="enrol_cohort")
        if raw.ndim == 2:  # enrolment statistics per row
            z_mean, z_sd = z_mean[:, None], z_sd[:, None]
        z_normed = (raw - z_mean) / z_sd
        if method == "z-norm":
            return z_normed
    t_side = _cohort(test_cohort, "test_cohort", n_test, method)
    if method == "zt-norm":
        t_side = _z_normed_cohort(t_side, cohort_cohort, top_n)
    t_mean, t_sd = cohort_statistics(t_side, top_n=top_n, name="test_cohort")
    if z_normed is None:  # t-norm
        return (raw - t_mean) / t_sd
    if method == "zt-norm":
        return (z_normed - t_mean) / t_sd
    return 0.5 * z_normed + 0.5 * (raw - t_mean) / t_sd


def cohort_statistics(cohort_scores: ArrayLike, *, top_n: int | None = None,
                      name: str = "cohort") -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each row's cohort scores (NaN left out).

    Parameters
    ----------
    cohort_scores : array-like of shape (n_rows, n_cohort)
    top_n : int, optional
        Only each row's ``top_n`` highest scores.
    name : str, default="cohort"
        What to call the array in messages.

    Returns
    -------
    mean, sd : ndarray of shape (n_rows,)
    """
    cohort = np.asarray(cohort_scores, dtype=np.float64)
    if np.isinf(cohort).any():
        raise ValueError(f"{name} holds infinite scores; score every cohort trial.")
    available = np.isfinite(cohort)
    smallest = int(available.sum(axis=1).min()) if cohort.size else 0
    needed = 2 if top_n is None else top_n
    if top_n is not None and not (isinstance(top_n, (int, np.integer)) and top_n >= 2):
        raise ValueError(f"top_n={top_n!r} is not valid; use an int >= 2 (e.g. 100), or None "
                         "for the whole cohort.")
    if smallest < needed:
        wanted = f"top_n={top_n}" if top_n is not None else "a standard deviation"
        raise ValueError(
            f"the cohort has only {smallest} scores for some row of {name} but {wanted} needs "
            f"{needed}; give a cohort of at least {needed} speakers"
            + (" or lower top_n." if top_n is not None else ".")
        )
    filled = np.where(available, cohort, -np.inf)
    if top_n is not None:
        filled = -np.sort(-filled, axis=1)[:, :top_n]  # the top_n highest; NaN sorted last
    kept = np.isfinite(filled)
    count = kept.sum(axis=1)
    values = np.where(kept, filled, 0.0)
    mean = values.sum(axis=1) / count
    deviation = np.where(kept, filled - mean[:, None], 0.0)
    sd = np.sqrt((deviation**2).sum(axis=1) / count)
    flat = np.flatnonzero(sd <= 1e-12 * np.maximum(np.abs(mean), 1.0))
    if flat.size:
        raise ValueError(
            f"the cohort scores of row {int(flat[0])} of {name} are all equal (no spread); "
            "they cannot normalise a score; use a cohort of different speakers."
        )
    return mean, sd


def _leave_speakers_out(scores, method, enrol_cohort, test_cohort, cohort_cohort, top_n,
                        enrol_speakers, cohort_speakers):
    """normalise_scores row group by row group, without the claimed speaker's cohort speech."""
    raw = np.asarray(scores, dtype=np.float64)
    claimed = np.asarray(enrol_speakers)
    labels = np.asarray(cohort_speakers)
    if claimed.shape != raw.shape[:1] or labels.ndim != 1:
        raise ValueError(f"enrol_speakers must give one speaker per row of scores ({raw.shape[0]})"
                         f" and cohort_speakers one per cohort utterance; got {claimed.shape} "
                         f"and {labels.shape}.")
    arrays = {}
    for name, values in (("enrol_cohort", enrol_cohort), ("test_cohort", test_cohort)):
        if values is not None:
            arrays[name] = np.asarray(values, dtype=np.float64)
            if arrays[name].ndim != 2 or arrays[name].shape[1] != len(labels):
                raise ValueError(f"{name} must have one column per cohort utterance "
                                 f"({len(labels)}, as cohort_speakers); got shape "
                                 f"{arrays[name].shape}.")
    if cohort_cohort is not None:  # a cohort model is never scored on its own speaker's speech
        matrix = np.array(cohort_cohort, dtype=np.float64)
        if matrix.shape != (len(labels), len(labels)):
            raise ValueError(f"cohort_cohort must have shape ({len(labels)}, {len(labels)}), "
                             f"one row and column per cohort utterance; got {matrix.shape}.")
        matrix[labels[:, None] == labels[None, :]] = np.nan
        cohort_cohort = matrix
    result = np.empty_like(raw)
    for speaker in np.unique(claimed):
        rows = claimed == speaker
        keep = labels != speaker
        parts = {"scores": raw[rows]}
        if "enrol_cohort" in arrays:
            parts["enrol_cohort"] = arrays["enrol_cohort"][rows][:, keep]
        if "test_cohort" in arrays:
            test = arrays["test_cohort"]
            parts["test_cohort"] = (test[rows] if raw.ndim == 1 else test)[:, keep]
        if cohort_cohort is not None:
            parts["cohort_cohort"] = cohort_cohort[keep][:, keep]
        result[rows] = normalise_scores(method=method, top_n=top_n, **parts)
    return result


def _cohort(values, name, n_rows, method):
    if values is None:
        raise ValueError(f"method={method!r} needs {name}; give the cohort scores of every "
                         f"{'enrolment model' if name == 'enrol_cohort' else 'test utterance'}.")
    cohort = np.asarray(values, dtype=np.float64)
    if cohort.ndim != 2 or cohort.shape[0] != n_rows:
        raise ValueError(f"{name} must have shape ({n_rows}, n_cohort), one row per "
                         f"{'enrolment model' if name == 'enrol_cohort' else 'test utterance'}; "
                         f"got {cohort.shape}.")
    return cohort


def _z_normed_cohort(t_side, cohort_cohort, top_n):
    """The T-side cohort scores, each cohort model's column Z-normed by its cohort scores."""
    if cohort_cohort is None:
        raise ValueError("method='zt-norm' needs cohort_cohort, the scores of every cohort "
                         "model against the cohort utterances.")
    matrix = np.asarray(cohort_cohort, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != t_side.shape[1]:
        raise ValueError(f"cohort_cohort must have shape ({t_side.shape[1]}, n_cohort), one row "
                         f"per cohort model of test_cohort; got {matrix.shape}.")
    mean, sd = cohort_statistics(matrix, top_n=top_n, name="cohort_cohort")
    return (t_side - mean) / sd
