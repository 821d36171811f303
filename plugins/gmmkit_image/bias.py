"""The bias field: a smooth multiplicative intensity field estimated inside EM.

MRI coil sensitivity and uneven lighting multiply the image by a slowly
varying field b: y = b * x. As in Wells et al. (1996) and Van Leemput et
al. (1999) the field lives in the log domain, as a low-order polynomial

    log b(r) = -sum_j c_j phi_j(r),

with phi_j the products of Legendre polynomials of the coordinates
(normalised to [-1, 1] over the mask's bounding box) of total degree 1 to
``order`` (3 in 3-D: 19 functions; 2-D: 9), each centred over the mask so the
field's geometric mean inside the mask is 1 (a constant factor belongs to
the class means). The corrected image is x = y * rho with rho = 1 / b.

The classes are Gaussian in the corrected intensity (Ashburner and Friston
2005), so the likelihood of a pixel carries the Jacobian rho:
p(y | k) = N(rho y | mu_k, sigma_k^2) rho. Given the class posteriors q and
the Gaussians, each EM iteration takes one Newton step on the coefficients
c for

    G(c) = sum_i [ sum_k q_ik log N(rho_i y_i | mu_k, sigma_k^2) + log rho_i ] - penalty(c),

with a backtracking line search that never lets G fall, so the field's
update raises the HMRF-EM objective like the E- and M-steps do.

A smooth field and the class means are not identifiable from each other
when the anatomy itself varies smoothly: a field that dims the centre of a
head and brightens its rim can merge every tissue into one narrow class,
which the likelihood prefers (no class-label cost). Two things stop that
(:mod:`gmmkit_image.hmrf`): the field's degree rises one at a time (linear
first, coarse to fine), and from degree 2 on a Gaussian prior
(:meth:`BiasBasis.anchor`, standard deviation ``ANCHOR_SD`` per pixel)
keeps the field's mean over each class where the linear stage left it.
The basis is evaluated in chunks of rows, so memory stays a few MB beyond
the image.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np
from numpy.polynomial import legendre
from numpy.typing import ArrayLike

from gmmkit_image.checks import is_positive_int

if TYPE_CHECKING:
    from gmmkit_image.mrf import Lattice

#: default polynomial order of the log field
DEFAULT_ORDER = 3
#: prior standard deviation of the log field's mean over each class
ANCHOR_SD = 0.1
#: rows of the basis evaluated at once
CHUNK_ROWS = 65_536


def one_blas_thread() -> contextlib.AbstractContextManager:
    """threadpoolctl's limit of BLAS to one thread, or a no-op context without threadpoolctl."""
    from gmmkit import single_blas_thread  # one threadpoolctl scan per process

    return single_blas_thread("blas")


class BiasBasis:
    """Centred Legendre products of total degree 1..``order`` on a lattice's rows.

    Parameters
    ----------
    lattice : gmmkit_image.mrf.Lattice
    order : int, default=3

    Attributes
    ----------
    terms : list of tuple of int
        The degree along each axis of every basis function.
    """

    def __init__(self, lattice: Lattice, order: int = DEFAULT_ORDER) -> None:
        if not is_positive_int(order):
            raise ValueError(f"bias_order={order!r} must be a positive integer (3 is usual).")
        self.lattice = lattice
        self.order = int(order)
        limits = [min(self.order, n - 1) for n in lattice.shape]
        self.terms = sorted((degrees for degrees in np.ndindex(*(d + 1 for d in limits))
                             if 1 <= sum(degrees) <= self.order), key=sum)
        self._rows = self._evaluate()
        self._centre = np.zeros(self.size)
        self._centre = sum(self._chunk(start).sum(axis=0) for start in self._starts()) / lattice.n

    @property
    def size(self) -> int:
        """Number of basis functions."""
        return len(self.terms)

    def n_terms(self, degree: int) -> int:
        """How many basis functions have total degree <= ``degree`` (they come first)."""
        return sum(sum(term) <= degree for term in self.terms)

    def _starts(self):
        return range(0, self.lattice.n, CHUNK_ROWS)

    def _evaluate(self):
        """Every row's basis values: (n, size) float32.

        Stored once in float32 (4 bytes x rows x functions); every product
        reads them back in float64 chunks, centred there, so the field is
        the same function of its coefficients wherever it is evaluated.
        """
        lattice = self.lattice
        where = np.unravel_index(lattice.index, lattice.shape)
        tables = self._axis_tables([np.arange(n, dtype=np.float64) for n in lattice.shape])
        rows = np.empty((lattice.n, self.size), dtype=np.float32)
        for start in self._starts():
            part = slice(start, start + CHUNK_ROWS)
            values = [table[:, axis[part]] for table, axis in zip(tables, where)]
            block = np.ones((self.size, values[0].shape[1]))  # one contiguous row per function
            for j, degrees in enumerate(self.terms):
                for axis, degree in enumerate(degrees):
                    if degree:
                        block[j] *= values[axis][degree]
            rows[part] = block.T
        return rows

    def _axis_tables(self, positions):
        """Legendre values of degree 0..order at box indices along each axis: (degree, m)."""
        tables = []
        for n, spacing, index in zip(self.lattice.shape, self.lattice.spacing, positions):
            end = (n - 1) * spacing
            half = 0.5 * end if n > 1 else 1.0
            tables.append(legendre.legvander((np.asarray(index) * spacing - 0.5 * end) / half,
                                             self.order).T.copy())
        return tables

    def apply_on_grid(self, coefficients: ArrayLike,
                      positions: list[np.ndarray]) -> np.ndarray:
        """phi(r) . c (centred, as :meth:`apply`) on a grid of positions of the lattice's box.

        Parameters
        ----------
        coefficients : ndarray of shape (size,)
        positions : list of ndarray, one per spatial axis
            Positions along each axis in the box's index units (fractions
            allowed: a finer grid; outside [0, n - 1] the polynomial extends).

        Returns
        -------
        ndarray of float64, shape (len(positions[0]), len(positions[1]), ...)
        """
        coefficients = np.asarray(coefficients, dtype=np.float64)
        tables = self._axis_tables(positions)
        # the field is separable: contract a tensor of the coefficients with each axis's table
        total = np.zeros((self.order + 1,) * len(tables))
        for c, degrees in zip(coefficients, self.terms):
            total[degrees] = c
        for table in tables:
            total = np.tensordot(total, table, axes=([0], [0]))
        return total - float(self._centre @ coefficients)

    def _chunk(self, start):
        """Basis rows start:start+CHUNK_ROWS, centred: (m, size) float64."""
        return self._rows[start:start + CHUNK_ROWS].astype(np.float64) - self._centre

    def apply(self, coefficients: ArrayLike) -> np.ndarray:
        """phi(r_i) . c for every row (centred basis): ndarray of shape (n,) float64.

        One float32 product over the stored rows (the coefficients rounded to
        float32 too), then the centring in float64.
        """
        coefficients = np.asarray(coefficients, dtype=np.float64)
        with one_blas_thread():
            raw = self._rows @ coefficients.astype(np.float32)
        return raw.astype(np.float64) - float(self._centre @ coefficients)

    def weighted_normal_equations(self, weights: np.ndarray,
                                  targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Phi^T diag(weights) Phi, Phi^T targets) of the centred basis.

        Float32 products over chunks of the stored rows, summed in float64;
        the centring is applied to the sums (Phi_c = Phi - 1 c^T). They feed
        a Newton step whose line search guards the objective, so float32's
        rounding slows convergence at worst.
        """
        raw_gram = np.zeros((self.size, self.size))
        raw_right = np.zeros(self.size)
        raw_weights = np.zeros(self.size)
        with one_blas_thread():  # small products: BLAS threads only contend
            for start in self._starts():
                block = self._rows[start:start + CHUNK_ROWS]
                rows = slice(start, start + len(block))
                weighted = block * weights[rows, None].astype(np.float32)
                raw_gram += block.T @ weighted
                raw_weights += weighted.sum(axis=0, dtype=np.float64)
                raw_right += block.T @ targets[rows].astype(np.float32)
        c = self._centre
        gram = raw_gram - np.outer(raw_weights, c) - np.outer(c, raw_weights) \
            + float(np.sum(weights)) * np.outer(c, c)
        right = raw_right - c * float(np.sum(targets))
        return gram, right

    def class_means(self, posteriors: np.ndarray) -> np.ndarray:
        """The posterior-weighted mean of every basis function over each class: (K, size)."""
        sums = np.zeros((posteriors.shape[1], self.size))
        with one_blas_thread():
            for start in self._starts():
                block = self._rows[start:start + CHUNK_ROWS]
                sums += posteriors[start:start + len(block)].T.astype(np.float32) @ block
        mass = np.maximum(posteriors.sum(axis=0), 1e-300)
        return sums / mass[:, None] - self._centre

    def anchor(self, posteriors: np.ndarray, coefficients: np.ndarray,
               sd: float | None = None) -> Anchor:
        """The prior that keeps the field's mean over each class where it is now.

        Over class k (weighted by ``posteriors``) the log field's mean is
        m_k . c. The penalty sum_k n_k (m_k . (c - c0))^2 / (2 sd^2), a
        Gaussian prior of standard deviation ``sd`` per pixel, stops a
        smooth field from dimming one class's region against another's:
        that contrast belongs to the class means, and a field free to trade
        it would flatten the anatomy (every class merged into one).

        Parameters
        ----------
        posteriors : ndarray of shape (n, K)
        coefficients : ndarray of shape (size,)
            c0, where the penalty is 0.
        sd : float, optional
            Default ``ANCHOR_SD`` (0.1).

        Returns
        -------
        Anchor
        """
        sd = ANCHOR_SD if sd is None else sd
        means = self.class_means(posteriors)
        mass = posteriors.sum(axis=0)
        return Anchor((means.T * mass) @ means / sd**2, np.array(coefficients, copy=True))

    def field_image(self, coefficients: np.ndarray, shape: tuple[int, ...],
                    fill: float = 1.0) -> np.ndarray:
        """The bias field b = exp(-phi . c) on the lattice's rows, ``fill`` elsewhere.

        Parameters
        ----------
        coefficients : ndarray of shape (size,)
        shape : tuple of int
            The full image's spatial shape.
        fill : float, default=1.0

        Returns
        -------
        ndarray of float64, ``shape``
        """
        field = np.full(shape, fill, dtype=np.float64)
        box = tuple(slice(o, o + n) for o, n in zip(self.lattice.origin, self.lattice.shape))
        inner = field[box].reshape(-1)
        inner[self.lattice.index] = np.exp(-self.apply(coefficients))
        field[box] = inner.reshape(self.lattice.shape)
        return field


class Anchor:
    """The quadratic penalty (c - centre)^T matrix (c - centre) / 2 on the field's coefficients."""

    def __init__(self, matrix: np.ndarray, centre: np.ndarray) -> None:
        self.matrix = matrix
        self.centre = centre

    @classmethod
    def none(cls, size: int) -> Anchor:
        """No penalty."""
        return cls(np.zeros((size, size)), np.zeros(size))

    def penalty(self, coefficients: np.ndarray) -> float:
        """(c - centre)^T A (c - centre) / 2."""
        offset = coefficients - self.centre
        return 0.5 * float(offset @ self.matrix @ offset)


def _moments(intensity, posteriors, means, variances):
    """a_i = y_i^2 sum_k q_ik / s_k^2 and m_i = y_i sum_k q_ik mu_k / s_k^2."""
    precision = 1.0 / variances
    a = intensity * intensity * (posteriors @ precision)
    m = intensity * (posteriors @ (precision * means))
    return a, m


def _objective(a, m, log_rho, coefficients, anchor):
    """G up to a constant, minus the anchor's penalty."""
    rho = np.exp(log_rho)
    return float(np.sum(rho * (m - 0.5 * a * rho) + log_rho)) - anchor.penalty(coefficients)


def bias_step(basis: BiasBasis, coefficients: np.ndarray, log_rho: np.ndarray,
              intensity: np.ndarray, posteriors: np.ndarray, means: np.ndarray,
              variances: np.ndarray, *, anchor: Anchor, active: int | None = None,
              max_halvings: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """One safeguarded Newton step on the log-field coefficients.

    Parameters
    ----------
    basis : BiasBasis
    coefficients : ndarray of shape (basis.size,)
        The current c.
    log_rho : ndarray of shape (n,)
        The current log correction of every row (phi . c, as the last step
        returned it).
    intensity : ndarray of shape (n,)
        The observed (uncorrected) intensity y of every row.
    posteriors : ndarray of shape (n, K)
    means, variances : ndarray of shape (K,)
        The classes' Gaussians in the corrected intensity.
    anchor : Anchor
        The prior of :meth:`BiasBasis.anchor` (``Anchor.none(size)``: none).
    active : int, optional
        Only the first ``active`` coefficients move (the lower degrees);
        default all.
    max_halvings : int, default=12

    Returns
    -------
    coefficients : ndarray of shape (basis.size,)
        The new c; the old one if no step along Newton's direction raised G
        (the objective is a function of ``log_rho``, which each step moves by
        exactly t times the direction's rows).
    log_rho : ndarray of shape (n,)
        The new log correction of every row.
    """
    a, m = _moments(intensity, posteriors, means, variances)
    rho = np.exp(log_rho)
    gradient = 1.0 + rho * (m - a * rho)
    curvature = np.maximum(rho * (2.0 * a * rho - m), a * rho * rho)
    gram, right = basis.weighted_normal_equations(curvature, gradient)
    gram += anchor.matrix
    right -= anchor.matrix @ (coefficients - anchor.centre)
    active = basis.size if active is None else active
    gram, right = gram[:active, :active], right[:active]
    gram[np.diag_indices_from(gram)] += 1e-9 * np.trace(gram) / len(gram) + 1e-300
    direction = np.zeros(basis.size)
    direction[:active] = np.linalg.solve(gram, right)
    before = _objective(a, m, log_rho, coefficients, anchor)
    step_rows = basis.apply(direction)
    for halving in range(max_halvings):
        t = 0.5 ** halving
        trial = log_rho + t * step_rows
        moved = coefficients + t * direction
        if _objective(a, m, trial, moved, anchor) >= before:
            return moved, trial
    return coefficients, log_rho
