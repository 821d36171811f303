"""HMRF-EM on a coarse grid, then refined at full resolution (big images and volumes).

One HMRF-EM iteration is a few passes over every pixel; with a bias field
it takes tens of iterations, so a 4-megapixel photo costs about a minute.
The parameters HMRF-EM estimates (the class Gaussians, the field's few
coefficients, beta) need far fewer pixels than the image has. For an image
with more than ``hmrf_max_pixels`` pixels to segment, :func:`coarse_to_fine`

1. runs HMRF-EM on a strided grid (every f-th pixel along each axis, f the
   smallest stride that leaves at most ``coarse_pixels``). Striding, not
   averaging, keeps every pixel's noise, so the Gaussians fit the full
   image; the field is a polynomial of the position, so it is exact at
   every full-resolution pixel too;
2. at full resolution, corrects every pixel by the field, starts each
   pixel's q from its nearest coarse pixel (the plain mixture's posterior
   where that one is outside the mask) and runs ``FINE_SWEEPS`` mean-field
   (or ICM) sweeps of the Potts prior with the coarse beta, then one M-step
   so the reported Gaussians and shares are those of every pixel.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from gmmkit_image.bias import BiasBasis
from gmmkit_image.hmrf import HMRFResult, hmrf_em
from gmmkit_image.mrf import (
    Lattice,
    free_energy,
    neighbour_sum,
    softmax,
)

if TYPE_CHECKING:
    from gmmkit import GaussianMixture

#: mean-field sweeps at full resolution after the coarse HMRF-EM
FINE_SWEEPS = 2


@dataclass
class CoarseToFine:
    """What :func:`coarse_to_fine` returns: the full-resolution q and the coarse run.

    Attributes
    ----------
    posteriors : ndarray of shape (n, K)
        q of every row at full resolution.
    coarse : HMRFResult
        The coarse grid's HMRF-EM (objective, beta, vanished classes).
    stride : int
    log_rho : ndarray of shape (n,) or None
        log of the correction factor of every full-resolution row.
    objective : float
        The free energy per pixel at full resolution after the last sweep.
    """

    posteriors: np.ndarray
    coarse: HMRFResult
    stride: int
    log_rho: np.ndarray | None
    objective: float


def stride_for(n_pixels: int, ndim: int, coarse_pixels: int) -> int:
    """The smallest integer stride f with n_pixels / f**ndim <= coarse_pixels (at least 2)."""
    stride = max(2, int(np.ceil((n_pixels / coarse_pixels) ** (1.0 / ndim))))
    while n_pixels / stride**ndim > coarse_pixels:
        stride += 1
    return stride


def coarse_to_fine(model: GaussianMixture, features: np.ndarray, valid: np.ndarray,
                   spacing: tuple, *, beta: float | str, method: str, bias_order: int | None,
                   coarse_pixels: int, max_iter: int, tol: float,
                   progress: Callable[[int, float, float, float], None] | None = None,
                   say: Callable[[str], None] = lambda message: None) -> CoarseToFine:
    """HMRF-EM on a strided grid, then ``FINE_SWEEPS`` sweeps at full resolution.

    Parameters
    ----------
    model : fitted GaussianMixture
        The starting Gaussians; updated in place.
    features : ndarray of shape (n, D)
        The rows of the True pixels of ``valid`` in C order.
    valid : ndarray of bool, the image's spatial shape
        The pixels to segment (HMRF-EM works in their bounding box).
    spacing : tuple of float
    beta : float or "auto"
    method : {"mean-field", "icm"}
    bias_order : int or None
        The field's polynomial order; None: no field.
    coarse_pixels : int
        Most pixels of the coarse grid.
    max_iter, tol : HMRF-EM's, on the coarse grid.
    progress : callable, optional
        HMRF-EM's progress callback (coarse iterations).
    say : callable(str), optional
        Progress messages.

    Returns
    -------
    CoarseToFine
    """
    n_rows = len(features)
    found = np.nonzero(valid)  # work in the mask's bounding box (the rows keep their order)
    valid = valid[tuple(slice(int(a.min()), int(a.max()) + 1) for a in found)]
    stride = stride_for(n_rows, valid.ndim, coarse_pixels)
    picked = tuple(slice(None, None, stride) for _ in range(valid.ndim))
    coarse_valid = valid[picked]
    flat_full = np.flatnonzero(valid)
    coarse_grid_index = np.zeros(valid.shape, dtype=bool)
    coarse_grid_index[picked] = coarse_valid
    coarse_rows = np.searchsorted(flat_full, np.flatnonzero(coarse_grid_index))
    coarse_lattice = Lattice.from_mask(coarse_valid, tuple(s * stride for s in spacing))
    basis = None if bias_order is None else BiasBasis(coarse_lattice, bias_order)
    say(f"segment: HMRF-EM on a coarse grid (stride {stride}: {len(coarse_rows):,} of "
        f"{n_rows:,} pixels), then {FINE_SWEEPS} sweeps at full resolution")
    coarse = hmrf_em(model, features[coarse_rows], coarse_lattice, beta=beta, method=method,
                     basis=basis, max_iter=max_iter, tol=tol, progress=progress)
    log_rho = None
    corrected = features
    if basis is not None:
        positions = [np.arange(n) / stride - origin
                     for n, origin in zip(valid.shape, coarse_lattice.origin)]
        log_rho = basis.apply_on_grid(coarse.coefficients, positions).reshape(-1)[flat_full]
        corrected = features * np.exp(log_rho)[:, None]
    log_likelihood = model.component_log_densities(corrected)
    if log_rho is not None:
        log_likelihood += log_rho[:, None]
    final_beta = coarse.beta[-1]
    full = len(flat_full) == valid.size
    inside = None if full else valid
    ll_grid = _on_grid(log_likelihood, flat_full, valid.shape)
    q_grid = _nearest_coarse(coarse.posteriors, coarse_valid, stride, valid.shape)
    missing = q_grid.sum(axis=0) == 0
    if not full:
        missing &= valid
        q_grid *= inside
    if missing.any():
        q_grid[:, missing] = softmax(ll_grid[:, missing].T + np.log(model.weights_)).T
    weights = tuple(min(spacing) / s for s in spacing)
    pairs = 0.0
    for _ in range(FINE_SWEEPS):
        pairs = grid_sweep(ll_grid, q_grid, inside, weights, beta=final_beta, method=method)
    if method == "icm":
        q_grid = softmax_classes(ll_grid + final_beta * class_neighbour_sum(q_grid, weights))
        if inside is not None:
            q_grid *= inside
    posteriors = q_grid.reshape(len(q_grid), -1).T
    posteriors = np.ascontiguousarray(posteriors if full else posteriors[flat_full])
    objective = free_energy(log_likelihood, posteriors, pairs, final_beta)
    model.fit_from_responsibilities(corrected, posteriors)
    return CoarseToFine(posteriors, coarse, stride, log_rho, objective)


def _on_grid(rows, flat_index, shape):
    """Rows (n, K) placed at ``flat_index`` of a zero grid, classes first: (K, *shape)."""
    if len(flat_index) == int(np.prod(shape)):
        return np.ascontiguousarray(rows.T).reshape(rows.shape[1], *shape)
    grid = np.zeros((rows.shape[1], int(np.prod(shape))))
    grid[:, flat_index] = rows.T
    return grid.reshape(rows.shape[1], *shape)


def _nearest_coarse(coarse_posteriors, coarse_valid, stride, shape):
    """Every full-resolution pixel's q from its nearest coarse pixel: (K, *shape).

    Zeros where that coarse pixel is outside the mask.
    """
    grid = _on_grid(coarse_posteriors, np.flatnonzero(coarse_valid), coarse_valid.shape)
    for axis, (n, m) in enumerate(zip(shape, coarse_valid.shape)):
        nearest = np.minimum(np.rint(np.arange(n) / stride).astype(np.intp), m - 1)
        grid = np.take(grid, nearest, axis=axis + 1)
    return grid


def softmax_classes(log_values: np.ndarray) -> np.ndarray:
    """Softmax along the first (class) axis, in place; returns it."""
    log_values -= log_values.max(axis=0)
    np.exp(log_values, out=log_values)
    log_values /= log_values.sum(axis=0)
    return log_values


def class_neighbour_sum(maps: np.ndarray, weights: tuple,
                        out: np.ndarray | None = None) -> np.ndarray:
    """:func:`gmmkit_image.mrf.neighbour_sum` of class-first maps (K, *spatial)."""
    moved = np.moveaxis(maps, 0, -1)
    target = None if out is None else np.moveaxis(out, 0, -1)
    return np.moveaxis(neighbour_sum(moved, weights, out=target), -1, 0)


def _parity_blocks(ndim):
    """Slices of the checkerboard's two colours: ([even blocks], [odd blocks]).

    A pixel's colour is the parity of its coordinates' sum; each colour is a
    union of 2**(ndim - 1) strided blocks (in 2-D: [0::2, 0::2] and [1::2, 1::2]),
    after the class axis.
    """
    colours = ([], [])
    for starts in itertools.product((0, 1), repeat=ndim):
        colours[sum(starts) % 2].append((slice(None),) + tuple(slice(s, None, 2)
                                                               for s in starts))
    return colours


def grid_sweep(log_likelihood: np.ndarray, posteriors: np.ndarray, inside: np.ndarray | None,
               weights: tuple, *, beta: float, method: str) -> float:
    """One checkerboard sweep of :func:`gmmkit_image.mrf.sweep`, on grids, in place.

    The same updates as ``sweep`` (each colour of the checkerboard at once,
    from its neighbours' q), written with strided slices of class-first
    grids instead of gathers of rows, which on millions of pixels is
    several times faster.

    Parameters
    ----------
    log_likelihood : ndarray of shape (K, *spatial)
        0 outside ``inside``.
    posteriors : ndarray of shape (K, *spatial)
        The current q (0 outside ``inside``); updated in place.
    inside : ndarray of bool, shape spatial, or None
        The pixels being segmented (None: all).
    weights : tuple of float
        Neighbour weight along each spatial axis (``Lattice.weights``).
    beta : float
    method : {"mean-field", "icm"}

    Returns
    -------
    float
        The pairs term sum over neighbour pairs of w_ij q_i . q_j after the sweep.
    """
    pairs = 0.0
    summed = np.empty_like(posteriors)
    if method == "icm":
        posteriors[...] = hard_classes(posteriors)
        if inside is not None:
            posteriors *= inside
    for colour in _parity_blocks(posteriors.ndim - 1):
        class_neighbour_sum(posteriors, weights, out=summed)
        pairs = 0.0
        for block in colour:
            field = summed[block]
            updated = softmax_classes(log_likelihood[block] + beta * field)
            if method == "icm":
                updated = hard_classes(updated)
            if inside is not None:
                updated *= inside[block[1:]]
            posteriors[block] = updated
            pairs += float(np.vdot(updated, field))
    return pairs


def hard_classes(posteriors: np.ndarray) -> np.ndarray:
    """One-hot of the largest entry along the first (class) axis: float64, the same shape."""
    n_classes = len(posteriors)
    return np.moveaxis(np.eye(n_classes)[posteriors.argmax(axis=0)], -1, 0)
