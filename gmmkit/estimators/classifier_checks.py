"""Checks of GMMClassifier's labels, priors and class sizes, kept apart from its logic.

Each error names the bad value and the fix; the wording follows
scikit-learn's where its estimator checks look for it ("Unknown label
type", "1 class", "requires y to be passed").
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.exceptions import DataConversionWarning, compatible

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import AnyArray, FloatArray, IntArray

AUTO = "auto"


def check_components(value: object, name: str) -> None:
    """An int >= 1 or "auto"."""
    if isinstance(value, str) and value == AUTO:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"{name} must be an integer >= 1, 'auto' (chosen by BIC) or, for n_components, "
            f"a dict {{class label: int or 'auto'}}; got {value!r}."
        )


def check_labels(
    y: ArrayLike | None, n_samples: int, estimator_name: str = "GMMClassifier"
) -> tuple[AnyArray, IntArray]:
    """Validate class labels and encode them.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        A column vector (n_samples, 1) is flattened with a DataConversionWarning.
    n_samples : int
        Rows of X.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The sorted distinct labels.
    codes : ndarray of shape (n_samples,)
        The index in ``classes`` of every label.

    Raises
    ------
    ValueError
        For None, a shape other than (n_samples,), NaN labels, continuous
        (non-integer float) targets, labels of mixed types, or fewer than 2 classes.
    """
    if y is None:
        raise ValueError(
            f"{estimator_name} requires y to be passed, but the target y is None; "
            "call fit(X, y) with one class label per row of X."
        )
    y = _as_label_vector(y)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} samples but y has {y.shape[0]} labels; pass one class "
            "label per row of X."
        )
    _check_label_values(y, estimator_name)
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            f"Unknown label type: y mixes labels that cannot be sorted together ({exc}); "
            "use labels of one type, e.g. all strings or all integers."
        ) from None
    if len(classes) < 2:
        raise ValueError(
            f"y has 1 class ({classes[0].item()!r}): a classifier needs at least 2 classes "
            "to tell apart; pass rows of at least two different labels."
        )
    return classes, codes.ravel()


def _as_label_vector(y: ArrayLike) -> AnyArray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples,), for example using ravel().",
            compatible(DataConversionWarning),
            stacklevel=4,
        )
        return y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D with one class label per sample; got shape {y.shape}. For "
            "several label columns, fit one classifier per column."
        )
    return y


def _check_label_values(y: AnyArray, estimator_name: str) -> None:
    """NaN, infinite, complex and continuous labels are refused."""
    if y.dtype.kind == "O":
        bad = [v for v in y if v is None or (isinstance(v, float) and not np.isfinite(v))]
        if bad:
            raise ValueError(
                f"y contains {bad[0]!r} as a label in {len(bad)} row(s); drop those rows "
                "or give them a class."
            )
        return
    if y.dtype.kind == "c":
        raise ValueError("Unknown label type: complex labels; use integers or strings.")
    if y.dtype.kind != "f":
        return
    if not np.all(np.isfinite(y)):
        raise ValueError(
            f"y contains NaN or infinity in {int(np.sum(~np.isfinite(y)))} row(s); drop "
            "those rows or give them a class."
        )
    if np.any(y != np.round(y)):
        raise ValueError(
            "Unknown label type: continuous. y holds non-integer numbers, but "
            f"{estimator_name} needs class labels; for a numeric target use "
            "GaussianMixtureRegressor, or bin y into classes."
        )


def class_sizes(
    codes: IntArray, weights: FloatArray | None, n_classes: int
) -> tuple[IntArray, FloatArray]:
    """(rows with positive weight, total weight) of every class: two (n_classes,) arrays."""
    if weights is None:
        counts = np.bincount(codes, minlength=n_classes)
        return counts, counts.astype(np.float64)
    positive = np.bincount(codes, weights=weights > 0, minlength=n_classes).astype(int)
    # (numpy's stubs type a weighted bincount as int; it is float64)
    return positive, np.bincount(codes, weights=weights, minlength=n_classes)  # type: ignore[return-value]


def class_priors(
    priors: str | ArrayLike | None, classes: AnyArray, totals: FloatArray
) -> FloatArray:
    """The class prior probabilities: ndarray of shape (n_classes,).

    Parameters
    ----------
    priors : None, "uniform" or array-like of shape (n_classes,)
    classes : ndarray of shape (n_classes,)
    totals : ndarray of shape (n_classes,)
        Total sample weight of every class.
    """
    n_classes = len(classes)
    if priors is None:
        return totals / totals.sum()
    if isinstance(priors, str):
        if priors != "uniform":
            raise ValueError(
                f"priors={priors!r} is not supported; use None (class frequencies), "
                "'uniform' or an array of n_classes probabilities."
            )
        return np.full(n_classes, 1.0 / n_classes)
    try:
        values = np.asarray(priors, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"priors must be None, 'uniform' or an array of {n_classes} numbers; got {priors!r}."
        ) from None
    if values.shape != (n_classes,):
        raise ValueError(
            f"priors has shape {values.shape} but y has {n_classes} classes "
            f"{classes.tolist()}; pass one prior per class, in that (sorted) order."
        )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"priors must be finite and non-negative; got {values.tolist()}.")
    if not np.isclose(values.sum(), 1.0):
        raise ValueError(
            f"priors must sum to 1; they sum to {values.sum():.6g}. Divide them by their sum."
        )
    return values / values.sum()


def check_class_sizes(
    classes: AnyArray, positive: IntArray, requested: Iterable[int | str]
) -> None:
    """Every class needs as many samples (with positive weight) as components.

    Raises
    ------
    ValueError
        Naming every class that is too small, its count and the fix.
    """
    problems = []
    for label, count, k in zip(classes.tolist(), positive.tolist(), requested):
        if count == 0:
            problems.append(f"class {label!r} has no sample with positive weight")
        elif k != AUTO and count < k:
            problems.append(f"class {label!r} has {count} sample(s) for {k} components")
    if problems:
        raise ValueError(
            f"{'; '.join(problems)}. Each class needs at least as many samples (with "
            "positive weight) as components: use fewer components for those classes "
            "(n_components={label: k, ...}) or 'auto', collect more samples, or drop "
            "classes without weight."
        )
