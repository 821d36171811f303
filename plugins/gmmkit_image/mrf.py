"""The Potts prior of HMRF-EM on a pixel or voxel lattice: neighbour fields,
mean-field and ICM updates, the prior's share of the objective, and the
pseudo-likelihood estimate of its weight beta.

The Potts prior (Zhang, Brady and Smith 2001, the model of FSL FAST) is

    p(z) = exp(beta * sum over neighbour pairs i~j of w_ij [z_i = z_j]) / Z(beta)

over the face neighbours of every pixel (4 in 2-D, 6 in 3-D). ``w_ij`` is 1
along the axis of the finest voxel spacing and ``min(spacing) / spacing_a``
along axis a, so a coarse slice direction pulls less. It is the only
spatial prior: no mixing weights sit beside it.

Mean-field approximates the posterior of the labels by independent
per-pixel distributions q_i. Updating every pixel of one colour of a
checkerboard at once (no two of them are neighbours) is coordinate ascent
on the mean-field free energy, so each half-sweep raises it. This module
works on arrays only: the Gaussians' log densities come from the engine
(``GaussianMixture.component_log_densities``), the EM loop is in
:mod:`gmmkit_image.hmrf`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import entr

METHODS = ("mean-field", "icm")
#: the largest beta the pseudo-likelihood estimate may return
MAX_BETA = 3.0


@dataclass
class Lattice:
    """The pixels being segmented, as rows, and their place on the grid.

    Attributes
    ----------
    shape : tuple of int
        Spatial shape of the box the lattice works in (the mask's bounding
        box; the image's own shape for :meth:`from_mask` without cropping).
    index : ndarray of intp, shape (n,)
        Flat (C order) index in ``shape`` of each row's pixel.
    weights : tuple of float
        Neighbour weight along each axis.
    spacing : tuple of float
        Pixel or voxel spacing along each axis.
    origin : tuple of int
        Where the box starts in the image.
    """

    shape: tuple
    index: np.ndarray
    weights: tuple
    spacing: tuple
    origin: tuple
    _buffers: dict = dataclass_field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_mask(cls, mask: ArrayLike, spacing: Sequence[float] | None = None) -> Lattice:
        """The lattice of the True pixels of ``mask``, cropped to their bounding box.

        Parameters
        ----------
        mask : ndarray of bool, 2-D or 3-D
        spacing : sequence of float, optional
            Pixel spacing along each axis (default 1).

        Returns
        -------
        Lattice
        """
        mask = np.asarray(mask, dtype=bool)
        spacing = checked_spacing(spacing, mask.ndim)
        found = np.nonzero(mask)
        origin = tuple(int(axis.min()) for axis in found)
        stop = tuple(int(axis.max()) + 1 for axis in found)
        box = mask[tuple(slice(a, b) for a, b in zip(origin, stop))]
        finest = min(spacing)
        return cls(box.shape, np.flatnonzero(box), tuple(finest / s for s in spacing),
                   spacing, origin)

    @property
    def n(self) -> int:
        """Number of rows (pixels inside the mask)."""
        return len(self.index)

    def checkerboard(self) -> np.ndarray:
        """Boolean (n,): True for pixels whose coordinates add up to an even number."""
        parity = sum(np.indices(self.shape, sparse=True)) % 2 == 0
        return np.broadcast_to(parity, self.shape).ravel()[self.index]

    def coordinates(self) -> np.ndarray:
        """Physical coordinates of every row, shape (n, ndim), in units of the spacing."""
        where = np.unravel_index(self.index, self.shape)
        return np.stack([(w + o) * s for w, o, s in zip(where, self.origin, self.spacing)],
                        axis=1)

    def _buffer(self, name, n_classes):
        """A zeroed (*shape, K) float64 array kept for reuse (fresh arrays of this size
        cost page faults on every sweep)."""
        key = (name, n_classes)
        if key not in self._buffers:
            self._buffers[key] = np.zeros((*self.shape, n_classes))
        return self._buffers[key]

    def scatter(self, values: np.ndarray, *, reuse: bool = False) -> np.ndarray:
        """Rows of ``values`` (n, K) placed on the box, 0 elsewhere: ndarray (*shape, K).

        ``reuse=True`` writes into the lattice's own buffer (valid until the
        next such call) instead of a new array.
        """
        n_classes = values.shape[1]
        grid = self._buffer("grid", n_classes) if reuse else \
            np.zeros((*self.shape, n_classes))
        grid.reshape(-1, n_classes)[self.index] = values
        return grid

    def field(self, grid: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Weighted sum of the face neighbours of every row (or of ``rows``): (n, K)."""
        summed = neighbour_sum(grid, self.weights, out=self._buffer("sum", grid.shape[-1]))
        where = self.index if rows is None else self.index[rows]
        return summed.reshape(-1, grid.shape[-1])[where]


def checked_spacing(spacing: Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    """``spacing`` as a tuple of ``ndim`` positive floats (default all 1)."""
    if spacing is None:
        return (1.0,) * ndim
    values = tuple(float(s) for s in np.ravel(spacing))
    if len(values) != ndim or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f"spacing={spacing!r} must give one positive number per spatial axis ({ndim})."
        )
    return values


def neighbour_sum(maps: np.ndarray, weights: Sequence[float] | None = None,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Weighted sum of every pixel's face neighbours (4 in 2-D, 6 in 3-D).

    Parameters
    ----------
    maps : ndarray of shape (*spatial, K)
    weights : sequence of float, optional
        One weight per spatial axis (default 1).
    out : ndarray of the same shape, optional
        Where to write the sums (overwritten).

    Returns
    -------
    ndarray of the same shape; pixels beyond the border count as 0.
    """
    if out is None:
        total = np.zeros_like(maps)
    else:
        total = out
        total.fill(0.0)
    for axis in range(maps.ndim - 1):
        weight = 1.0 if weights is None else weights[axis]
        head = [slice(None)] * maps.ndim
        tail = [slice(None)] * maps.ndim
        head[axis], tail[axis] = slice(1, None), slice(None, -1)
        if weight == 1.0:
            total[tuple(head)] += maps[tuple(tail)]
            total[tuple(tail)] += maps[tuple(head)]
        else:
            total[tuple(head)] += weight * maps[tuple(tail)]
            total[tuple(tail)] += weight * maps[tuple(head)]
    return total


def softmax(log_values: np.ndarray) -> np.ndarray:
    """Row-wise softmax of an (n, K) array, in place; returns it."""
    log_values -= log_values.max(axis=1, keepdims=True)
    np.exp(log_values, out=log_values)
    log_values /= log_values.sum(axis=1, keepdims=True)
    return log_values


def hard(posteriors: np.ndarray) -> np.ndarray:
    """One-hot rows at the largest entry of each row: (n, K) float64."""
    return np.eye(posteriors.shape[1])[posteriors.argmax(axis=1)]


@dataclass
class Sweep:
    """What one checkerboard sweep returns.

    Attributes
    ----------
    posteriors : ndarray of shape (n, K)
    pairs : float
        sum over neighbour pairs of w_ij q_i . q_j after the sweep.
    """

    posteriors: np.ndarray
    pairs: float


def sweep(log_likelihood: np.ndarray, posteriors: np.ndarray, lattice: Lattice, *,
          beta: float, method: str = "mean-field", halves: np.ndarray | None = None) -> Sweep:
    """One checkerboard sweep of mean-field (or ICM) updates under the Potts prior.

    Each pixel of one colour, then of the other, gets
    q_i(k) proportional to exp(log_likelihood[i, k] + beta * field_i(k)),
    where field_i(k) is the weighted sum of its neighbours' q(k) (ICM: the
    one-hot of the largest). Pixels of one colour are never neighbours, so
    updating them together is exact coordinate ascent.

    Parameters
    ----------
    log_likelihood : ndarray of shape (n, K)
        log p(y_i | class k) of every row (plus any per-row constant).
    posteriors : ndarray of shape (n, K)
        The current q (not modified).
    lattice : Lattice
    beta : float
    method : {"mean-field", "icm"}
    halves : ndarray of bool, shape (n,), optional
        ``lattice.checkerboard()``, when the caller keeps it.

    Returns
    -------
    Sweep
    """
    if halves is None:
        halves = lattice.checkerboard()
    current = hard(posteriors) if method == "icm" else posteriors.copy()
    grid = lattice.scatter(current, reuse=True)
    pairs = 0.0
    for half in (halves, ~halves):
        rows = np.flatnonzero(half)
        field = lattice.field(grid, rows)
        updated = softmax(log_likelihood[rows] + beta * field)
        if method == "icm":
            updated = hard(updated)
        current[rows] = updated
        grid.reshape(-1, grid.shape[-1])[lattice.index[rows]] = updated
        # every neighbour pair has one pixel in each colour: the second half's
        # fields (taken after the first half's update) count each pair once
        pairs = float(np.sum(updated * field))
    return Sweep(current, pairs)


def conditional_posteriors(log_likelihood: np.ndarray, labels_or_posteriors: np.ndarray,
                           lattice: Lattice, *, beta: float) -> np.ndarray:
    """q_i(k) proportional to exp(log_likelihood + beta * field) of fixed neighbours: (n, K)."""
    grid = lattice.scatter(labels_or_posteriors)
    return softmax(log_likelihood + beta * lattice.field(grid))


def free_energy(log_likelihood: np.ndarray, posteriors: np.ndarray, pairs: float,
                beta: float) -> float:
    """The mean-field free energy per pixel, without the constant log Z(beta).

    F = [sum_i sum_k q_ik log p(y_i | k) + beta * sum_{i~j} w_ij q_i . q_j + H(q)] / n,
    a lower bound on log p(y) / n + log Z(beta) / n that every mean-field
    sweep and every M-step raise.

    Parameters
    ----------
    log_likelihood, posteriors : ndarray of shape (n, K)
    pairs : float
        ``Sweep.pairs``.
    beta : float

    Returns
    -------
    float
    """
    data = float(np.einsum("ik,ik->", posteriors, log_likelihood))
    entropy = float(entr(posteriors).sum())
    return (data + beta * pairs + entropy) / len(posteriors)


def estimate_beta(posteriors: np.ndarray, lattice: Lattice, *, start: float = 0.5,
                  max_beta: float = MAX_BETA, max_rows: int = 200_000, seed: int = 0) -> float:
    """Beta that maximises the pseudo-likelihood of the soft labels ``posteriors``.

    The mean-field-like estimate of Celeux, Forbes and Peyrard (2003):
    with every pixel's neighbours fixed at their q, maximise

        sum_i sum_k q_ik log softmax_k(beta * field_i)

    over beta in [0, ``max_beta``] (a concave function of beta, solved by
    safeguarded Newton steps) on at most ``max_rows`` pixels.

    Parameters
    ----------
    posteriors : ndarray of shape (n, K)
    lattice : Lattice
    start : float, default=0.5
    max_beta : float, default=3.0
    max_rows : int, default=200000
        The sum runs over a seeded random subset of this many pixels.
    seed : int

    Returns
    -------
    float
    """
    field = lattice.field(lattice.scatter(posteriors))
    q = posteriors
    if len(q) > max_rows:
        rows = np.random.default_rng(seed).choice(len(q), max_rows, replace=False)
        field, q = field[rows], q[rows]
    observed = float(np.einsum("ik,ik->", q, field))
    low, high, beta = 0.0, max_beta, min(max(start, 0.0), max_beta)
    for _ in range(50):
        p = softmax(beta * field)
        mean = np.einsum("ik,ik->i", p, field)
        gradient = observed - mean.sum()
        curvature = float(np.einsum("ik,ik->", p, field * field) - np.dot(mean, mean))
        if gradient > 0:
            low = beta
        else:
            high = beta
        step = gradient / curvature if curvature > 0 else np.inf
        new = beta + step
        if not low < new < high:
            new = 0.5 * (low + high)  # bisection when Newton leaves the bracket
        if abs(new - beta) < 1e-6:
            return float(new)
        beta = new
    return float(beta)
