"""Detector files: a gmmkit model file (no pickle) with the detector's state as metadata.

A single model's fitted mixture ``model_`` is written by :func:`gmmkit.save`;
the rest of the detector (its parameters, the scaler, the trusted
components, the threshold, a summary of the training scores and the sorted
training scores) is JSON under ``extra["outlier_detector"]`` in the same
file. An ensemble's members (their columns, normal mixtures and score
standardisation) are JSON there too, and the file's mixture is the first
member's. docs/outliers.md lists the keys.
"""

from __future__ import annotations

import numbers

import numpy as np

import gmmkit
from gmmkit_outliers.confidence import thinned
from gmmkit_outliers.ensemble import member_from_json, member_to_json

#: the key in a model file's ``extra`` metadata
EXTRA_KEY = "outlier_detector"
#: version of the layout under EXTRA_KEY: 2 adds "ignored_columns" (written only when a
#: detector ignores constant columns, so other files stay readable by version-1 readers);
#: 3 is an ensemble ("ensemble": its members and buckets)
LAYOUT_VERSION = 2
ENSEMBLE_VERSION = 3
#: layouts load_detector reads
READABLE_VERSIONS = (1, 2, 3)
#: what the file's ``extra["reader"]`` tells gmmkit's core commands (predict, score,
#: sample): this mixture is fitted to scaled columns, so they refuse it and name the command
READER = {"what": "an outlier detector (its mixture is fitted to scaled columns)",
          "command": "gmmkit outliers score"}


def save_detector(detector, path):
    """Write a fitted GMMOutlierDetector to ``path`` (a ``.gmm`` model file).

    Parameters
    ----------
    detector : GMMOutlierDetector
        Fitted.
    path : str or os.PathLike
    """
    detector.check_is_fitted()
    ignored = [int(j) for j in getattr(detector, "ignored_columns_", ())]
    state = {
        "version": ENSEMBLE_VERSION if detector.ensemble_ else LAYOUT_VERSION if ignored else 1,
        "params": _json_params(detector.get_params()),
        "center": detector.center_.tolist(),
        "scale": detector.scale_.tolist(),
        "trusted": [] if detector.ensemble_ else [bool(t) for t in detector.trusted_],
        "threshold": float(detector.threshold_),
        "score_summary": dict(detector.score_summary_),
        "feature_names": list(detector.feature_names_in_),
        "training_scores": thinned(detector.training_scores_).tolist(),
    }
    if ignored:
        state["ignored_columns"] = ignored
    steps = getattr(detector, "discrete_steps_", None)
    if steps is not None:
        state["discrete_steps"] = [float(step) for step in steps]
    model = detector.model_
    if detector.ensemble_:
        buckets = detector.buckets_
        state["ensemble"] = {
            "members": [member_to_json(member) for member in detector.members_],
            "buckets": None if buckets is None else [[int(m) for m in b] for b in buckets],
        }
        model = detector.members_[0].normal
    gmmkit.save(model, path, extra={EXTRA_KEY: state, "reader": READER})


def load_detector(path):
    """Read a detector written by :func:`save_detector`.

    Returns
    -------
    GMMOutlierDetector
        Fitted: ``decision_function``, ``predict``, ``predict_proba``,
        ``predict_confidence`` and ``explain`` give what the saved detector
        gave. ``decision_scores_`` and ``labels_`` of the training rows are
        not stored (their sorted scores are, for the confidence; at most
        100 001 evenly spaced ones).

    Raises
    ------
    gmmkit.ModelFileError
        When ``path`` is not a model file, or a model file without a detector.
    """
    from gmmkit_outliers.detector import GMMOutlierDetector

    model = gmmkit.load(path)
    state = (model.metadata_.get("extra") or {}).get(EXTRA_KEY)
    if not isinstance(state, dict) or state.get("version") not in READABLE_VERSIONS:
        raise gmmkit.ModelFileError(
            f"cannot load '{path}' as an outlier detector: it is a gmmkit model file without "
            "detector metadata (or of a newer layout), such as a mixture from `gmmkit fit` "
            "(use `gmmkit score` with it). Make a detector with `gmmkit outliers fit` or "
            "gmmkit_outliers.save_detector."
        )
    params = dict(state["params"])
    params.setdefault("discrete_floor", None)  # older files: fitted without a floor
    ensemble = state["version"] == ENSEMBLE_VERSION
    if not ensemble:
        params.setdefault("ensemble", None)  # gmmkit 0.1 wrote single-model detectors only
    names = list(state["feature_names"])
    n_used = model.means_.shape[1]
    if ensemble:
        n_used = len(names) - len(state.get("ignored_columns", []))
    fitted = {
        "trusted_": state["trusted"],
        "center_": state["center"],
        "scale_": state["scale"],
        "threshold_": state["threshold"],
        "score_summary_": state["score_summary"],
        "feature_names_in_": names,
        "ignored_columns_": _ignored_columns(state, len(names), n_used, path),
        "training_scores_": state.get("training_scores"),
        "discrete_steps_": _discrete_steps(state, len(names), path),
    }
    if ensemble:
        fitted["members_"], fitted["buckets_"] = _ensemble(
            state["ensemble"], params.get("covariance_type", "tied"),
            params.get("missing", "error"), n_used, path,
        )
    return GMMOutlierDetector.from_fitted(None if ensemble else model, fitted, **params)


def _ensemble(entry, covariance_type, missing, n_used, path):
    """(members, buckets) of a stored ensemble; ModelFileError when damaged."""
    try:
        members = [
            member_from_json(member, covariance_type=covariance_type, missing=missing,
                             n_features=n_used)
            for member in entry["members"]
        ]
        buckets = entry["buckets"]
        buckets = None if buckets is None else [np.asarray(b, dtype=int) for b in buckets]
        if buckets is not None and not all(
            b.size and b.min() >= 0 and b.max() < len(members) for b in buckets
        ):
            raise ValueError("its buckets name members it does not have")
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise gmmkit.ModelFileError(
            f"cannot load '{path}' as an outlier detector: a member of its ensemble is damaged "
            f"({error}). Fit and save the detector again."
        ) from None
    return members, buckets


def _json_params(params):
    """Constructor arguments that survive JSON; a random_state object becomes None."""
    random_state = params.get("random_state")
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return {**params, "random_state": int(random_state)}
    return {**params, "random_state": None}


def _ignored_columns(state, n_columns, n_model_features, path):
    """The stored ignored columns, checked against the model's width: int array."""
    ignored = state.get("ignored_columns", [])
    valid = (
        isinstance(ignored, list)
        and all(isinstance(j, int) and not isinstance(j, bool) and 0 <= j < n_columns
                for j in ignored)
        and len(set(ignored)) == len(ignored)
        and n_columns - len(ignored) == n_model_features
    )
    if not valid:
        raise gmmkit.ModelFileError(
            f"cannot load '{path}' as an outlier detector: its ignored columns {ignored!r} do not "
            f"fit its {n_columns} columns and its mixture of {n_model_features} features; the "
            "file is damaged. Fit and save the detector again."
        )
    return np.asarray(sorted(ignored), dtype=int)


def _discrete_steps(state, n_columns, path):
    """The stored steps of the columns (None when the file has none), checked."""
    steps = state.get("discrete_steps")
    if steps is None:
        return None
    valid = (isinstance(steps, list) and len(steps) == n_columns
             and all(isinstance(s, (int, float)) and not isinstance(s, bool)
                     and np.isfinite(s) and s >= 0 for s in steps))
    if not valid:
        raise gmmkit.ModelFileError(
            f"cannot load '{path}' as an outlier detector: its discrete steps are not "
            f"{n_columns} finite numbers >= 0; the file is damaged. Fit and save the "
            "detector again."
        )
    return np.asarray(steps, dtype=float)
