"""The EM engine: additive sufficient statistics over row chunks.

Every fit is the same loop (see docs/engine.md)::

    for each chunk:  E-step -> Stats        (log space, all components in a few GEMMs)
    stats = sum of chunk Stats              (accumulated in float64)
    params = m_step(stats)                  (reads only Stats)

Data are centred on a reference point (in a fit, a trimmed mean of the
data: see "Centring on a reference point" there) chunk by chunk, so second
moments keep their digits for data far from the origin; the N x K
responsibility matrix never exists beyond one chunk.

This module holds the parameters and Stats, the chunk loop
(:func:`map_chunks`) and the M-step; the E-step's Stats are in
:mod:`gmmkit.engine.estep`, the in-memory data source in
:mod:`gmmkit.engine.chunked_data`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from gmmkit.engine.far_rows import FarCheck
from gmmkit.engine.workspace import scratch
from gmmkit.exceptions import DegenerateComponentWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import DTypeLike

    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType, EStepPlan
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import BoolArray, FloatArray, IntArray, Rows
    from gmmkit.engine.workspace import Workspace

R = TypeVar("R")

#: a component whose responsibility mass falls below this fraction of the
#: total has "lost its mass": its mean and covariance are no longer defined.
LOST_MASS_FRACTION = 1e-10

#: float32 E-steps are used only while every component mean lies within this
#: many of its own standard deviations of the data centre (beyond it the
#: lower bound drifts by more than ~1e-5 relative; docs/engine.md).
FLOAT32_MAX_OFFSET = 30.0


@dataclass
class MixtureParams:
    """Parameters of a Gaussian mixture, in the data's own coordinates.

    Attributes
    ----------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    covariances : ndarray or None
        Shape per covariance type (see :mod:`gmmkit.engine.covariance`); None when
        only precisions were given (``precisions_init``).
    precisions_cholesky : ndarray
        Shape per covariance type.
    noise_log_density : ndarray of shape (D,) or None
        With a uniform noise component: minus the log of the data's range
        along each feature (the noise density is the exp of their sum over
        the features served). None: no noise component.
    noise_weight : float
        The noise component's weight; ``weights`` then sum to 1 - noise_weight.
    log_weights : ndarray of shape (K,) or None
        The per-component constants the E-step adds to the Gaussian log
        densities in place of log(weights); None: log(weights). Variational
        Bayes puts E[log pi_k] and its other per-component terms here
        (:mod:`gmmkit.engine.variational`).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray
    noise_log_density: np.ndarray | None = None
    noise_weight: float = 0.0
    log_weights: np.ndarray | None = None

    def noise_row(self, columns: IntArray | None = None) -> float | None:
        """log(noise weight x noise density) over the served features, or None."""
        if self.noise_log_density is None:
            return None
        density = self.noise_log_density if columns is None else self.noise_log_density[columns]
        with np.errstate(divide="ignore"):
            return float(np.log(self.noise_weight) + density.sum())


@dataclass
class Stats:
    """Sufficient statistics of a weighted set of rows; they add up.

    Attributes
    ----------
    nk : ndarray of shape (K,)
        sum_n w_n r_nk.
    sx : ndarray of shape (K, D)
        sum_n w_n r_nk x_n, x centred on the reference point.
    sxx : ndarray
        Second-moment sums in the covariance type's layout.
    loglik : float
        sum_n w_n log p(x_n) under the parameters of the E-step.
    weight : float
        sum_n w_n.
    noise : float
        sum_n w_n r_n,noise: the noise component's responsibility mass.
    """

    nk: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    loglik: float = 0.0
    weight: float = 0.0
    noise: float = 0.0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.nk + other.nk,
            self.sx + other.sx,
            self.sxx + other.sxx,
            self.loglik + other.loglik,
            self.weight + other.weight,
            self.noise + other.noise,
        )

    def normalised(self) -> Stats:
        """These Stats divided by their total weight (a weighted average per row): weight 1."""
        w = self.weight
        return Stats(self.nk / w, self.sx / w, self.sxx / w, self.loglik / w, 1.0, self.noise / w)

    def blend(self, batch: Stats, eta: float) -> Stats:
        """``(1 - eta) self + eta batch``, field by field, for normalised Stats: weight 1.

        Parameters
        ----------
        batch : Stats
            Normalised Stats of the same shapes.
        eta : float
            The step size in [0, 1].
        """
        keep = 1.0 - eta
        return Stats(
            keep * self.nk + eta * batch.nk,
            keep * self.sx + eta * batch.sx,
            keep * self.sxx + eta * batch.sxx,
            keep * self.loglik + eta * batch.loglik,
            1.0,
            keep * self.noise + eta * batch.noise,
        )


def make_plan(
    cov_type: CovarianceType, params: MixtureParams, center: FloatArray, dtype: DTypeLike
) -> EStepPlan:
    """E-step plan for parameters, with means relative to ``center``."""
    log_weights = params.log_weights
    if log_weights is None:
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
    return cov_type.plan(log_weights, params.means - center, params.precisions_cholesky, dtype)


def sum_stats(parts: Sequence[Stats]) -> Stats:
    """Sum a list of Stats in order (deterministic whatever the threads did)."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def m_step(
    stats: Stats, cov_type: CovarianceType, reg_covar: float, center: FloatArray,
    previous: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
    """New weights, means and covariances from summed Stats.

    ``previous`` (the covariances entering the step, or None) lets an
    iterative M-step start from them (``CovarianceType.warm_covariances``).

    Returns
    -------
    weights : ndarray of shape (K,)
        They sum to 1 minus the noise component's share of the mass.
    means : ndarray of shape (K, D), in data coordinates
    covariances : ndarray
        In the covariance type's layout.
    lost : ndarray of int
        Components that lost (nearly) all their mass; their mean and
        covariance are undefined and must be re-seeded by the caller.
    """
    nk = stats.nk + 10 * np.finfo(np.float64).eps
    lost = np.flatnonzero(stats.nk < LOST_MASS_FRACTION * stats.weight)
    weights = nk / (nk.sum() + stats.noise)
    means = stats.sx / nk[:, None] + center
    with np.errstate(invalid="ignore"):
        covariances = cov_type.warm_covariances(nk, stats.sx, stats.sxx, reg_covar, previous)
    return weights, means, covariances, lost


def reseed_lost(
    weights: FloatArray,
    means: FloatArray,
    covariances: FloatArray,
    lost: IntArray,
    cov_type: CovarianceType,
    previous: MixtureParams | None = None,
    budget: int | None = None,
) -> int:
    """Re-seed components that lost their mass, in place.

    Each lost component takes half of the component with the largest
    weight x spread, split in two along its main axis.  Beyond ``budget``
    re-seeds, a lost component keeps its ``previous`` mean and covariance
    with a weight near zero instead, which drops it in effect.

    Returns
    -------
    int
        Number of components re-seeded.
    """
    n_features = means.shape[1]
    budget = len(lost) if budget is None or previous is None else budget
    reseeded = 0
    for k in lost:
        if reseeded >= budget and previous is not None:  # without previous: never (budget=len)
            means[k] = previous.means[k]
            cov_type.copy_component(covariances, k, _previous_covariances(previous, cov_type), k)
            warnings.warn(
                f"component {k} lost all its mass again; it keeps weight ~0 "
                "(effectively dropped). Use fewer components.",
                DegenerateComponentWarning,
                stacklevel=4,
            )
            continue
        alive = np.setdiff1d(np.arange(weights.size), lost)
        spreads = [cov_type.split_direction(covariances, j, n_features) for j in alive]
        best = int(np.argmax([weights[j] * s[0] for j, s in zip(alive, spreads)]))
        source, (scale, axis) = int(alive[best]), spreads[best]
        offset = 0.5 * scale * axis
        means[k] = means[source] + offset
        means[source] = means[source] - offset
        weights[k] = weights[source] = 0.5 * weights[source]
        cov_type.copy_component(covariances, k, covariances, source)
        reseeded += 1
        warnings.warn(
            f"component {k} lost all its mass (weight < {LOST_MASS_FRACTION:g}); "
            f"re-seeded it by splitting component {source} along its main axis.",
            DegenerateComponentWarning,
            stacklevel=4,
        )
    weights /= weights.sum()
    return reseeded


def _previous_covariances(previous: MixtureParams, cov_type: CovarianceType) -> FloatArray:
    if previous.covariances is not None:
        return previous.covariances
    return cov_type.covariances_from_precisions(cov_type.precisions(previous.precisions_cholesky))


def params_from_stats(
    stats: Stats,
    cov_type: CovarianceType,
    reg_covar: float,
    center: FloatArray,
    *,
    previous: MixtureParams | None = None,
    reseed_budget: int | None = None,
) -> tuple[MixtureParams, int]:
    """M-step with degenerate components handled, as MixtureParams.

    Parameters
    ----------
    previous : MixtureParams or None
        Parameters entering this step, kept for lost components once
        ``reseed_budget`` re-seeds are spent.
    reseed_budget : int or None
        None: re-seed every lost component.

    Returns
    -------
    params : MixtureParams
    n_reseeded : int
    """
    last = None if previous is None else previous.covariances
    weights, means, covariances, lost = m_step(stats, cov_type, reg_covar, center, last)
    n_reseeded = 0
    gaussian_share = float(weights.sum())
    if lost.size and lost.size < weights.size:
        n_reseeded = reseed_lost(
            weights, means, covariances, lost, cov_type, previous, reseed_budget
        )
        weights *= gaussian_share  # reseed_lost normalises to 1
    prec_chol = cov_type.precision_cholesky(covariances, reg_covar)
    params = MixtureParams(weights, means, covariances, prec_chol)
    if previous is not None and previous.noise_log_density is not None:
        params.noise_log_density = previous.noise_log_density
        # rounding can leave 1 - sum(weights) at -2e-16: a weight is never negative
        params.noise_weight = max(1.0 - gaussian_share, 0.0)
    return params, n_reseeded


def map_chunks(
    data: ChunkedData,
    cov_type: CovarianceType,
    params: MixtureParams,
    runner: ChunkRunner,
    function: Callable[[Rows, FloatArray, FloatArray, BoolArray | None], R],
) -> list[R]:
    """``function(rows, design, log_prob, far)`` for every chunk, in chunk order.

    ``design`` (rows, n) and ``log_prob`` (K, n), the weighted log densities
    under ``params``, are scratch memory: ``function`` must return new arrays.
    With a noise component, ``log_prob`` has a last row for it: (K + 1, n).
    Rows far from the centre get their log densities from the direct form
    (:class:`gmmkit.engine.far_rows.FarCheck`), so the fit's responsibilities and
    lower bound stay exact for them; ``far`` (n,) marks them (None: no far row).

    Returns
    -------
    list
        One result per chunk.
    """
    plan = make_plan(cov_type, params, data.center, data.dtype)
    workspace = runner.workspace
    noise = params.noise_row(data.columns)
    far_check = FarCheck(data, cov_type, params)

    def one_chunk(item: tuple[int, Rows]) -> R:
        index, rows = item
        # the rows go straight into their place in the design when the type allows
        stacked, slot = cov_type.rows_slot(
            data.n_features, chunk_length(rows, data.n_samples), data.dtype, workspace
        )
        Xt = data.rows(rows, workspace, out=slot)
        far = far_check.mask(Xt, index)
        design = cov_type.finish_design(stacked, Xt, workspace)
        log_prob = chunk_log_prob(cov_type, design, plan, noise, workspace)
        if far is not None:  # rows far from the centre: their exact log densities
            relative, offset = far_check.rows.log_prob(data.raw(rows)[far])
            log_prob[:, far] = relative + offset
        return function(rows, design, log_prob, far)

    return runner.map(one_chunk, list(enumerate(data.slices)))


def chunk_log_prob(
    cov_type: CovarianceType,
    design: FloatArray,
    plan: EStepPlan,
    noise: float | None,
    workspace: Workspace | None,
) -> FloatArray:
    """Weighted log densities of a chunk from its design: (K, n), or (K + 1, n)
    with the noise component's constant row ``noise`` last."""
    log_prob = cov_type.log_prob(design, plan, workspace)
    if noise is None:
        return log_prob
    with_noise = scratch(
        workspace, "log_prob_noise", (log_prob.shape[0] + 1, log_prob.shape[1]), log_prob.dtype
    )
    with_noise[:-1] = log_prob
    with_noise[-1] = noise
    return with_noise


def score_chunks(
    data: ChunkedData,
    cov_type: CovarianceType,
    params: MixtureParams,
    runner: ChunkRunner,
    reduce: Callable[[FloatArray], R],
) -> list[R]:
    """``reduce(log_prob)`` of each chunk's weighted log densities (K, n), in order."""
    return map_chunks(data, cov_type, params, runner, lambda rows, design, lp, far: reduce(lp))


def chunk_length(rows: Rows, n_samples: int) -> int:
    """The number of rows of a chunk (a slice of ``n_samples`` rows, or row indices)."""
    return len(range(n_samples)[rows]) if isinstance(rows, slice) else len(rows)
