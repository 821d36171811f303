"""Detector files: a gmmkit model file (no pickle) with the detector's state as metadata.

The fitted mixture ``model_`` is written by :func:`gmmkit.save`; the rest
of the detector (its parameters, the scaler, the trusted components, the
threshold and a summary of the training scores) is JSON under
``extra["outlier_detector"]`` in the same file. docs/outliers.md lists the keys.
"""

from __future__ import annotations

import numbers

import numpy as np

import gmmkit

#: the key in a model file's ``extra`` metadata
EXTRA_KEY = "outlier_detector"
#: version of the layout under EXTRA_KEY: 2 adds "ignored_columns" (written only when a
#: detector ignores constant columns, so other files stay readable by version-1 readers)
LAYOUT_VERSION = 2
#: layouts load_detector reads
READABLE_VERSIONS = (1, 2)
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
        "version": LAYOUT_VERSION if ignored else 1,
        "params": _json_params(detector.get_params()),
        "center": detector.center_.tolist(),
        "scale": detector.scale_.tolist(),
        "trusted": [bool(t) for t in detector.trusted_],
        "threshold": float(detector.threshold_),
        "score_summary": dict(detector.score_summary_),
        "feature_names": list(detector.feature_names_in_),
    }
    if ignored:
        state["ignored_columns"] = ignored
    gmmkit.save(detector.model_, path, extra={EXTRA_KEY: state, "reader": READER})


def load_detector(path):
    """Read a detector written by :func:`save_detector`.

    Returns
    -------
    GMMOutlierDetector
        Fitted: ``decision_function``, ``predict``, ``predict_proba`` and
        ``explain`` give what the saved detector gave. ``decision_scores_``
        and ``labels_`` of the training rows are not stored.

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
    names = list(state["feature_names"])
    fitted = {
        "trusted_": state["trusted"],
        "center_": state["center"],
        "scale_": state["scale"],
        "threshold_": state["threshold"],
        "score_summary_": state["score_summary"],
        "feature_names_in_": names,
        "ignored_columns_": _ignored_columns(state, len(names), model.means_.shape[1], path),
    }
    return GMMOutlierDetector.from_fitted(model, fitted, **state["params"])


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
