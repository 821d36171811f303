"""Discrete columns and the variance floor of ``GMMOutlierDetector(discrete_floor=F)``.

A column of counts, ratings or codes takes its values on a grid. A
mixture fitted to such a column can put a component on one repeated value
and give it a variance far below the grid's step, so that a row one step
away looks extremely anomalous. ``discrete_floor=F`` adds F x step**2 to
the variance of every discrete column (in the scaled space: the step
divided by the column's scale) in each fitted mixture, after its fit
(1/12 is the variance of a uniform spread over one step: dequantisation).

A column is **discrete** when its observed training values (NaN left out)
take at least two distinct values and either

- all are integers (of magnitude below 2**53): the step is the greatest
  common divisor of the gaps between its distinct values (1 for most
  integer columns, 2 for a column of even numbers); or
- it has at most :data:`MAX_LEVELS` distinct values and every gap between
  neighbouring values is a whole multiple of the smallest gap (relative
  tolerance :data:`GRID_TOLERANCE`): the step is the smallest gap (0.5 for
  ratings 1, 1.5, 2, ...).

Other columns (continuous ones, or a few levels off any common grid) get
no floor.
"""

from __future__ import annotations

import numbers

import numpy as np

from gmmkit_outliers.covariance import layout

#: a non-integer column with at most this many distinct values on a common grid is discrete
MAX_LEVELS = 32
#: gaps within this relative distance of a whole multiple of the smallest gap are on the grid
GRID_TOLERANCE = 1e-6
#: integers beyond this magnitude are not exact in float64
INTEGER_LIMIT = 2.0**53
#: what a floor F means, in the messages of the Python and the CLI checks
FLOOR_MEANING = ("the variance added to each discrete column, in units of its step squared "
                 "(1/12 is a uniform spread over one step)")


def check_discrete_floor(discrete_floor):
    """``discrete_floor`` as a float (0.0 for None); ValueError naming the fix otherwise."""
    if discrete_floor is None:
        return 0.0
    if (isinstance(discrete_floor, numbers.Real) and not isinstance(discrete_floor, bool)
            and np.isfinite(discrete_floor) and discrete_floor >= 0):
        return float(discrete_floor)
    raise ValueError(
        f"discrete_floor={discrete_floor!r} is not supported; use None or a finite number "
        f">= 0: {FLOOR_MEANING}."
    )


def column_step(column):
    """The quantisation step of one column, 0.0 when it is not discrete.

    Parameters
    ----------
    column : ndarray of shape (n_samples,)
        Raw values; NaN are left out.

    Returns
    -------
    float
    """
    values = np.unique(column[~np.isnan(column)])
    if values.size < 2 or not np.isfinite(values).all():
        return 0.0
    gaps = np.diff(values)
    if np.abs(values).max() < INTEGER_LIMIT and np.array_equal(values, np.round(values)):
        return float(np.gcd.reduce(gaps.astype(np.int64)))
    if values.size > MAX_LEVELS:
        return 0.0
    ratios = gaps / gaps.min()
    on_grid = np.abs(ratios - np.round(ratios)) <= GRID_TOLERANCE * ratios
    return float(gaps.min()) if on_grid.all() else 0.0


def discrete_steps(table):
    """The step of every column (:func:`column_step`): ndarray of shape (n_features,).

    Parameters
    ----------
    table : ndarray of shape (n_samples, n_features)
        Raw training values (NaN allowed).
    """
    return np.array([column_step(column) for column in np.asarray(table, dtype=float).T])


def floor_mixture(model, floor):
    """``model`` with ``floor`` added to the variance of each column: a GaussianMixture.

    Parameters
    ----------
    model : gmmkit.GaussianMixture
        Fitted (a noise component is kept as it is).
    floor : ndarray of shape (n_features,) or None
        Variance to add per column (scaled units). A diagonal covariance
        gets it per column, a full or tied one on its diagonal, a spherical
        one (one variance for every column) its mean.

    Returns
    -------
    gmmkit.GaussianMixture
        ``model`` itself when ``floor`` is None or all zero; else
        ``model.with_parameters`` of the floored covariances, with its noise
        component (``model`` is not changed). The copy's covariance type is
        the layout of ``model``'s: an mclust model (say "VEV") floored keeps
        no equalities, so it is the "full" mixture of its arrays.
    """
    if floor is None or not np.any(floor > 0):
        return model
    floor = np.asarray(floor, dtype=np.float64)
    covariances = np.array(model.covariances_, dtype=np.float64)
    kind = layout(model.covariance_type)
    if kind in ("full", "tied"):
        covariances = covariances + np.diag(floor)
    else:
        covariances = covariances + (floor[None] if kind == "diag" else floor.mean())
    return model.with_parameters(model.weights_, model.means_, covariances, keep_noise=True,
                                 covariance_type=kind)
