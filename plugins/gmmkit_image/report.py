"""What :func:`gmmkit_image.segment` tells about its choices: the K table of
``n_classes="auto"``, classes that collapsed onto one repeated value, and
how much the smoothing moved the classes' shares.

Each check warns (Python warnings; the command line prints them as
``Warning: ...`` on stderr) with the fix in the message.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gmmkit import DegenerateComponentWarning

#: a class whose smallest variance is within this factor of reg_covar has none of its own
ZERO_VARIANCE_FACTOR = 10.0
#: smoothing that leaves a class with less than this share of its plain-mixture pixels warns
SHRINK_LIMIT = 0.5


class ZeroVarianceClassWarning(DegenerateComponentWarning):
    """A class collapsed onto pixels of one value (its variance is the regularisation floor).

    Its likelihood is unbounded, so it holds exactly those pixels (often
    pure black or saturated white) whatever their meaning.
    """


class SelectionWarning(UserWarning):
    """``n_classes="auto"``: the chosen K is at the end of the range, or larger K were refused."""


class SmoothingShrinkWarning(UserWarning):
    """The smoothing took more than half of a class's pixels (against the plain mixture)."""


def zero_variance_classes(model: Any) -> list[int]:
    """Classes (1-based) whose covariance is at the ``reg_covar`` floor in some direction."""
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    n_classes = len(model.weights_)
    if model.covariance_type == "tied":
        return []
    if model.covariance_type == "full":
        smallest = np.array([np.linalg.eigvalsh(c)[0] for c in covariances])
    else:
        smallest = covariances.reshape(n_classes, -1).min(axis=1)
    floor = ZERO_VARIANCE_FACTOR * model.reg_covar
    return [int(k) + 1 for k in np.flatnonzero(smallest <= floor)]


def commonest_value(rows: np.ndarray) -> tuple[np.ndarray, float]:
    """The most frequent feature row of ``rows`` (n, D) and the share of rows equal to it."""
    values, counts = np.unique(rows, axis=0, return_counts=True)
    top = int(counts.argmax())
    return values[top], float(counts[top]) / len(rows)


def _value_text(value: np.ndarray) -> str:
    return " ".join(f"{v:.3g}" for v in np.ravel(value))


def warn_zero_variance(model: Any, fit_rows: np.ndarray) -> list[int]:
    """Warn (:class:`ZeroVarianceClassWarning`) naming each collapsed class; returns them.

    No warning when every class collapsed: the image has exactly K values
    (a label image), which the classes fit exactly.
    """
    collapsed = zero_variance_classes(model)
    if collapsed and len(collapsed) < len(model.weights_):
        value, share = commonest_value(fit_rows)
        listed = ", ".join(map(str, collapsed))
        one = len(collapsed) == 1
        warnings.warn(
            f"{'class' if one else 'classes'} {listed} of {len(model.weights_)} "
            f"{'has' if one else 'have'} zero variance: "
            f"{'it sits' if one else 'they sit'} on pixels that all have one value (the "
            f"commonest value, {_value_text(value)}, is {share:.1%} of the pixels), so "
            f"{'its' if one else 'their'} likelihood is unbounded and "
            f"{'it takes' if one else 'they take'} only those pixels. Leave them out with a "
            "mask, or use fewer classes.",
            ZeroVarianceClassWarning, stacklevel=3,
        )
    return collapsed


def selection_rows(model: Any) -> list[dict] | None:
    """``n_classes="auto"``: one row per K tried, with why it was not chosen; else None.

    Each row: ``k``, ``bic``, ``log_likelihood``, ``chosen`` and ``status``
    (``"chosen"``, ``"rejected: a class collapsed (zero variance)"``,
    ``"rejected: failed (...)"`` or ``"higher BIC"``).
    """
    table = getattr(model, "selection_", None)
    if not table:
        return None
    rows = []
    for row in table:
        if row.get("chosen"):
            status = "chosen"
        elif row.get("error"):
            status = f"rejected: failed ({row['error']})"
        elif row.get("degenerate"):
            status = "rejected: a class collapsed (zero variance)"
        else:
            status = "higher BIC"
        bic = row.get("bic")
        rows.append({"k": int(row["n_components"]),
                     "bic": None if bic is None or not np.isfinite(bic) else float(bic),
                     "log_likelihood": None if row.get("log_likelihood") is None
                     else float(row["log_likelihood"]),
                     "chosen": bool(row.get("chosen")), "status": status})
    return rows


def warn_selection(rows: list[dict], fit_rows: np.ndarray) -> None:
    """Warn when the chosen K is the largest tried, or when larger K with a lower BIC collapsed."""
    chosen = next(row for row in rows if row["chosen"])
    largest = max(row["k"] for row in rows)
    if chosen["k"] == largest and len(rows) > 1:
        warnings.warn(
            f"n_classes='auto' chose K={chosen['k']}, the largest it tries ({largest} of "
            f"{largest}): more classes may fit better still. Give K explicitly to go beyond.",
            SelectionWarning, stacklevel=3,
        )
    better = [row["k"] for row in rows if row["status"].startswith("rejected: a class")
              and row["bic"] is not None and chosen["bic"] is not None
              and row["bic"] < chosen["bic"]]
    if better:
        value, share = commonest_value(fit_rows)
        warnings.warn(
            f"n_classes='auto' chose K={chosen['k']}: K={_ranges(better)} had a lower BIC but "
            "a class collapsed onto pixels of one value (the commonest value, "
            f"{_value_text(value)}, is {share:.1%} of the pixels) and was refused. Leave those "
            "pixels out with a mask to compare larger K fairly.",
            SelectionWarning, stacklevel=3,
        )


def _ranges(numbers: list[int]) -> str:
    """[4, 5, 6, 8] -> '4-6, 8'."""
    parts = []
    start = previous = numbers[0]
    for number in numbers[1:] + [None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)


def class_shares(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Share of the labelled pixels (label > 0) in each class 1..K: (K,)."""
    counts = np.bincount(np.ravel(labels), minlength=n_classes + 1)[1:n_classes + 1]
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)


def warn_shrunk(before: np.ndarray, after: np.ndarray, what: str) -> list[int]:
    """Warn (:class:`SmoothingShrinkWarning`) for classes that kept under half their share."""
    shrunk = [int(k) + 1 for k in np.flatnonzero((before > 0) & (after < SHRINK_LIMIT * before))]
    if shrunk:
        changes = ", ".join(f"class {k} from {before[k - 1]:.1%} of the pixels (plain mixture) "
                            f"to {after[k - 1]:.1%}" for k in shrunk)
        warnings.warn(
            f"{what} shrank {changes}; the Potts prior is absorbing "
            f"{'it' if len(shrunk) == 1 else 'them'} into the neighbouring classes. Use less "
            "smoothing or fewer classes if the class is real.",
            SmoothingShrinkWarning, stacklevel=3,
        )
    return shrunk
