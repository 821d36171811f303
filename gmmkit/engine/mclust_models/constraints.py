"""Whether covariances have the structure their mclust model name promises.

A model's M-step builds every covariance as lambda_k D_k A_k D_k' with the
equalities of its name (see :mod:`.names`), so a fitted model satisfies
them to rounding. Covariances read from elsewhere (a model file) may not:
a file that calls unequal covariances "EEE" would be scored with the
wrong number of parameters and refitted under constraints it never had.
:func:`structure_problem` says what is broken, or None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.mclust_models.names import SKLEARN_ALIASES, describe

if TYPE_CHECKING:
    from gmmkit.engine.types import FloatArray


def has_equalities(name: str) -> bool:
    """Whether model ``name`` (or its scikit-learn alias) ties its components together."""
    return SKLEARN_ALIASES.get(name, name) not in ("VVV", "VVI", "VII", "V")


def structure_problem(name: str, dense: FloatArray, rtol: float) -> str | None:
    """What keeps ``dense`` from being covariances of model ``name``; None when nothing does.

    Parameters
    ----------
    name : str
        An mclust model name (EII ... VVV, E, V) or a scikit-learn alias.
    dense : ndarray of shape (n_components, n_features, n_features)
        Symmetric positive definite covariances.
    rtol : float
        Relative tolerance of every equality (rounding of the stored values).

    Returns
    -------
    str or None
        The first broken equality, naming the components, or None.
    """
    model = SKLEARN_ALIASES.get(name, name)
    if len(dense) < 2 or not has_equalities(model):
        return None  # no equality across components (or only one component)
    letters = (model + "II")[:3]  # the univariate E is EII's maths
    volume, shape, orientation = letters[0], letters[1], letters[2]
    values = np.linalg.eigvalsh(dense)
    if not np.all(values > 0):
        return None  # not positive definite: the covariance checks say so, not this one
    volumes = np.exp(np.log(values).mean(axis=1))
    if volume == "E":
        k = _first_differing(volumes[:, None], rtol)
        if k is not None:
            return _message(model, "volume", k, volumes[0], volumes[k])
    normalised = dense / volumes[:, None, None]
    if orientation == "I":  # shapes in the feature axes: the diagonals
        compared = np.diagonal(normalised, axis1=1, axis2=2) if shape == "E" else None
    elif shape == "E" and orientation == "E":  # the normalised matrices themselves
        compared = normalised.reshape(len(dense), -1)
    elif shape == "E":  # sorted eigenvalues, in any orientation
        compared = values / volumes[:, None]
    else:
        compared = None
    if compared is not None:
        k = _first_differing(compared, rtol)
        if k is not None:
            return _message(model, "shape" if orientation != "E" else "shape and orientation",
                            k)
    if orientation == "E" and shape == "V":  # one orientation: the matrices commute
        first = normalised[0]
        for k in range(1, len(dense)):
            gap = np.abs(normalised[k] @ first - first @ normalised[k]).max()
            if gap > rtol * np.abs(normalised[k]).max() * np.abs(first).max():
                return _message(model, "orientation", k)
    return None


def _first_differing(rows: FloatArray, rtol: float) -> int | None:
    """The first row (component) that differs from row 0 by more than ``rtol``, or None."""
    scale = np.abs(rows).max()
    gaps = np.abs(rows - rows[0]).max(axis=1)
    bad = np.flatnonzero(gaps > rtol * scale)
    return int(bad[0]) if bad.size else None


def _message(model: str, what: str, k: int, first: float | None = None,
             other: float | None = None) -> str:
    figures = "" if first is None else f" ({other:.6g} against {first:.6g})"
    return (
        f"covariance_type {model} ({describe(model)}) needs the same {what} in every "
        f"component, but component {k}'s differs from component 0's{figures}"
    )
