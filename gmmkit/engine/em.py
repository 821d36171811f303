"""The EM engine: additive sufficient statistics over row chunks.

Every fit is the same loop (see docs/engine.md)::

    for each chunk:  E-step -> Stats        (log space, all components in a few GEMMs)
    stats = sum of chunk Stats              (accumulated in float64)
    params = m_step(stats)                  (reads only Stats)

Data are centred on a reference point (in a fit, a trimmed mean of the
data: see "Centring on a reference point" there) chunk by chunk, so second
moments keep their digits for data far from the origin; the N x K
responsibility matrix never exists beyond one chunk.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from gmmkit.engine.far_rows import FarCheck
from gmmkit.engine.responsibilities import log_normalize, split_rows, split_sums
from gmmkit.engine.workspace import scratch
from gmmkit.exceptions import DegenerateComponentWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import DTypeLike
    from typing_extensions import Self

    from gmmkit.engine.covariance import CovarianceType, EStepPlan
    from gmmkit.engine.responsibilities import RowSplit
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import BoolArray, FloatArray, IntArray, Rows, RowSource
    from gmmkit.engine.workspace import Workspace

R = TypeVar("R")

#: a component whose responsibility mass falls below this fraction of the
#: total has "lost its mass": its mean and covariance are no longer defined.
LOST_MASS_FRACTION = 1e-10

#: float32 E-steps are used only while every component mean lies within this
#: many of its own standard deviations of the data centre (beyond it the
#: lower bound drifts by more than ~1e-5 relative; docs/engine.md).
FLOAT32_MAX_OFFSET = 30.0


#: ChunkedData.rows writes a chunk through the transposed view of its
#: output when the output's rows are at most this far apart (bytes)
TRANSPOSED_WRITE_BYTES = 8192

#: The L1 data cache (here and on most x86 cores): 64-byte lines in sets of 8
#: ways, the set chosen by the address within 4 KiB
CACHE_WAYS, CACHE_SET_SPAN = 8, 4096


def column_write_thrashes(row_bytes: int, n_rows: int) -> bool:
    """Whether writing down a column of ``n_rows`` rows ``row_bytes`` apart thrashes L1.

    The transposed write fills one cache line per row and comes back to each
    line for the next few columns; when the rows' lines fall into fewer sets
    than ``n_rows / CACHE_WAYS`` (rows a multiple of 1 KiB apart: chunks of
    128, 256, 512 or 1,024 float64 rows), they evict each other: centring
    512 x 60 float64 rows took 180 us instead of 18.
    """
    places = CACHE_SET_SPAN // math.gcd(row_bytes, CACHE_SET_SPAN)
    return n_rows > CACHE_WAYS * places


#: ChunkedData.rows centres longer chunks through a contiguous scratch block
#: when they have at least this many features
SCRATCH_MIN_FEATURES = 32

#: the most memory ChunkedData.keep_rows spends on the centred rows of a fit
KEEP_ROWS_MAX_BYTES = 2**30


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


@dataclass
class ChunkedData:
    """Rows of X served chunk by chunk, centred and cast to the working dtype.

    The engine's data protocol, which other data sources (missing-value
    patterns, files read in chunks, Dask arrays) follow too: ``center``,
    ``dtype``, ``n_samples``, ``n_features``, ``with_dtype(dtype)``,
    ``e_step(cov_type, params, runner) -> Stats`` and ``init_data(rng)``,
    an in-memory ChunkedData the initialisers run on (the data themselves,
    or a random sample of them for data that are not in memory).

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Any array supporting row slicing (ndarray, memmap, or a reader of rows such
        as the data layer's NpyFile: :class:`gmmkit.engine.types.RowSource`); never
        copied whole.
    sample_weight : ndarray of shape (n_samples,) or None
    center : ndarray of shape (n_served_features,)
        Reference point subtracted from every chunk (in the served features).
    dtype : numpy dtype
        Working dtype of the E-step (float32 or float64).
    chunk_size : int
    row_index : ndarray of int or None
        Serve only these rows of X (a missingness pattern's rows); chunks
        then hold row indices instead of slices. None serves every row.
    columns : ndarray of int or None
        Serve only these features (a pattern's observed ones); None: all.
    fill_missing : bool
        Replace NaN by the centre (0 after centring): the mean-imputed data
        that initialisers of ``missing="em"`` fits start from.
    square_sum : float
        An upper bound of the sum of the squares of X's values (inf: not
        known); with the centre it bounds every row's distance from it, so
        that :class:`gmmkit.engine.far_rows.FarCheck` may skip its pass.
    """

    X: RowSource
    sample_weight: np.ndarray | None
    center: np.ndarray
    dtype: np.dtype
    chunk_size: int
    row_index: np.ndarray | None = None
    columns: np.ndarray | None = None
    fill_missing: bool = False
    square_sum: float = np.inf
    slices: list = field(init=False)

    def __post_init__(self) -> None:
        # subtract in the wider of X's float type and the working dtype (float32
        # data in float32 work stay float32), about a centre that type holds
        # exactly, so ``center`` is the point actually subtracted
        if self.X.dtype.kind == "f":
            self._center_in_x = self.center.astype(np.result_type(self.X.dtype, self.dtype))
            self.center = self._center_in_x.astype(np.float64)
        else:
            self._center_in_x = self.center
        n, size = self.n_samples, self.chunk_size
        if self.row_index is None:
            self.slices = [slice(s, min(s + size, n)) for s in range(0, n, size)]
        else:
            self.slices = [self.row_index[s : s + size] for s in range(0, n, size)]

    @property
    def n_samples(self) -> int:
        return self.X.shape[0] if self.row_index is None else len(self.row_index)

    @property
    def n_features(self) -> int:
        return self.X.shape[1] if self.columns is None else len(self.columns)

    def with_dtype(self, dtype: DTypeLike) -> Self:
        """The same data served in another working dtype."""
        return replace(self, dtype=np.dtype(dtype))

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner) -> Stats:
        """Summed Stats of every row under ``params``."""
        return e_step(self, cov_type, params, runner)

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """What initialisers run on: the data themselves (in memory, every row)."""
        return self

    def keep_rows(self) -> bool:
        """Keep the centred, transposed rows of every chunk from their first pass on.

        A fit's later passes then copy a chunk's rows instead of centring
        and transposing X again (0.3 of about 2.5 ms per 8,192 x 39 chunk).
        Only for an in-memory ndarray of at least ``SCRATCH_MIN_FEATURES``
        features (narrow rows transpose cheaply) served whole, and only when
        the copy takes no more memory than X and at most
        ``KEEP_ROWS_MAX_BYTES``. Same values as :meth:`rows` computes.

        Returns
        -------
        bool
            Whether the rows are kept.
        """
        n_bytes = self.n_samples * self.n_features * self.dtype.itemsize
        if (
            type(self.X) is not np.ndarray
            or self.row_index is not None
            or self.columns is not None
            or self.fill_missing
            or self.n_features < SCRATCH_MIN_FEATURES
            or n_bytes > min(self.X.nbytes, KEEP_ROWS_MAX_BYTES)
        ):
            return False
        if "_kept" not in self.__dict__:
            # chunk after chunk, each (D, n) block contiguous: a chunk's first
            # pass writes (and faults in) one stretch of memory, not D of them;
            # pages are only touched as the first pass writes them
            self._kept = np.empty(self.n_samples * self.n_features, dtype=self.dtype)
            self._kept_chunks: set[tuple[int, int]] = set()
        return True

    def raw(self, rows: Rows) -> FloatArray:
        """A chunk's served features as they are in X, in float64: (n, D)."""
        block = self.X[rows]
        if self.columns is not None:
            block = block[:, self.columns]
        return np.asarray(block, dtype=np.float64)

    def rows(
        self, rows: Rows, workspace: Workspace | None = None, out: FloatArray | None = None
    ) -> FloatArray:
        """Centred chunk in the working dtype, transposed: (D, n).

        Subtraction happens in the wider of X's precision and the working
        dtype, then the result is rounded to the working dtype (so float64
        data far from the origin keep their digits in float32 work).
        ``out`` (D, n) of the working dtype receives it, e.g. the rows'
        place in a design matrix (``CovarianceType.design_rows``).
        """
        kept = self.__dict__.get("_kept")
        if kept is not None and isinstance(rows, slice):
            start, stop, _ = rows.indices(self.n_samples)
            block = kept[start * self.n_features : stop * self.n_features]
            block = block.reshape(self.n_features, stop - start)
            if (start, stop) in self._kept_chunks:
                if out is None:
                    out = scratch(workspace, "rows", block.shape, self.dtype)
                out[...] = block
                return out
            out = self._centred(rows, workspace, out)
            block[...] = out
            self._kept_chunks.add((start, stop))
            return out
        return self._centred(rows, workspace, out)

    def _centred(
        self, rows: Rows, workspace: Workspace | None, out: FloatArray | None
    ) -> FloatArray:
        """:meth:`rows` computed from X."""
        block = self.X[rows]
        if self.columns is not None:
            block = block[:, self.columns]
        if out is None:
            out = scratch(workspace, "rows", block.shape[::-1], self.dtype)
        # Short chunks are written through the transposed view: reading the
        # rows in their own order is ~1.5x faster at 1,000 rows, but writing
        # rows of ``out`` far apart thrashes the TLB (20x slower at 4,096
        # rows). Long chunks of wide rows are centred in their own order into
        # a scratch block that is then copied transposed: reading the columns
        # of X from memory directly took 1.5-3x as long (0.9 against 0.3 ms
        # for 8,192 x 39 float64, 0.9 against 0.6 for 16,384 x 39 float32),
        # while narrow rows (3 to 24 features) read their columns as fast or
        # faster. Same values every way.
        center = self._center_in_x
        if out.strides[0] <= TRANSPOSED_WRITE_BYTES and not column_write_thrashes(
            out.strides[0], out.shape[0]
        ):
            np.subtract(block, center, out=out.T, casting="unsafe", dtype=center.dtype)
        elif block.shape[1] < SCRATCH_MIN_FEATURES:
            np.subtract(block.T, center[:, None], out=out, casting="unsafe", dtype=center.dtype)
        else:
            centred = scratch(workspace, "rows_centred", block.shape, center.dtype)
            np.subtract(block, center, out=centred, casting="unsafe", dtype=center.dtype)
            out[...] = centred.T
        if self.fill_missing:
            np.nan_to_num(out, copy=False, nan=0.0)
        return out

    def weights(self, rows: Rows) -> FloatArray | None:
        """Weights of a chunk: (n,) or None."""
        return None if self.sample_weight is None else self.sample_weight[rows]


def stats_from_resp(
    cov_type: CovarianceType,
    S: FloatArray,
    resp: FloatArray,
    weights: FloatArray | None,
    n_features: int,
    log_norm: FloatArray | None = None,
    workspace: Workspace | None = None,
    n_components: int | None = None,
) -> Stats:
    """Sufficient statistics of one chunk from its responsibilities.

    Parameters
    ----------
    S : ndarray of shape (rows, n)
        The chunk's design matrix (``cov_type.design``).
    resp : ndarray of shape (K, n)
        Responsibilities; multiplied in place by the weights.
    weights : ndarray of shape (n,) or None
    n_features : int
    log_norm : ndarray of shape (n,) or None
        Per-row log-likelihoods, summed (weighted) into ``Stats.loglik``.
    n_components : int, optional
        K when ``resp`` has one more row, the noise component's (K + 1, n).
    """
    if weights is not None:
        resp *= weights.astype(resp.dtype)
    noise = 0.0
    if n_components is not None and resp.shape[0] > n_components:
        noise = float(resp[n_components].sum(dtype=np.float64))
        resp = resp[:n_components]
    nk, sx, sxx = cov_type.moments(S, resp, n_features, workspace)
    return _chunk_stats(nk, sx, sxx, S.shape[1], weights, log_norm, noise)


def stats_from_split(
    cov_type: CovarianceType,
    S: FloatArray,
    split: RowSplit,
    weights: FloatArray | None,
    n_features: int,
    n_components: int,
    workspace: Workspace | None = None,
) -> Stats:
    """Sufficient statistics of one chunk split into hard and soft rows.

    The same Stats as :func:`stats_from_resp` with the chunk's
    responsibilities, to the rounding of the sums
    (:mod:`gmmkit.engine.responsibilities`); for types whose moments are
    linear in the design (``cov_type.linear_design``).

    Parameters
    ----------
    S : ndarray of shape (rows, n)
        The chunk's design matrix.
    split : RowSplit
        From :func:`gmmkit.engine.responsibilities.split_rows`.
    weights : ndarray of shape (n,) or None
    n_features : int
    n_components : int
        K; the split has K + 1 components with a noise component.
    """
    sums = split_sums(cov_type, S, split, weights, n_features, workspace)
    nk, sx, sxx = cov_type.moments_from_sums(sums.T, n_features)
    noise = 0.0
    if nk.shape[0] > n_components:
        noise = float(nk[n_components])
        nk, sx, sxx = nk[:n_components], sx[:n_components], sxx[:n_components]
    return _chunk_stats(nk, sx, sxx, S.shape[1], weights, split.log_norm, noise)


def _chunk_stats(
    nk: FloatArray,
    sx: FloatArray,
    sxx: FloatArray,
    n_rows: int,
    weights: FloatArray | None,
    log_norm: FloatArray | None,
    noise: float,
) -> Stats:
    """Stats of a chunk of ``n_rows`` rows from its moments, in float64."""
    if weights is None:
        weight = float(n_rows)
        loglik = 0.0 if log_norm is None else float(log_norm.sum())
    else:
        weight = float(weights.sum())
        loglik = 0.0 if log_norm is None else float(weights @ log_norm)
    return Stats(
        nk=nk.astype(np.float64),
        sx=sx.astype(np.float64),
        sxx=sxx.astype(np.float64),
        loglik=loglik,
        weight=weight,
        noise=noise,
    )


def stats_of_responsibilities(
    data: ChunkedData, cov_type: CovarianceType, resp: FloatArray, runner: ChunkRunner
) -> Stats:
    """Summed Stats of the rows of ``data`` with given responsibilities.

    Parameters
    ----------
    data : ChunkedData
    resp : ndarray of shape (n_samples, K)
        Non-negative memberships of every row (rows need not sum to 1).
    runner : ChunkRunner

    Returns
    -------
    Stats
    """

    def one_chunk(rows: Rows) -> Stats:
        Xt = data.rows(rows)
        chunk = np.array(resp[rows].T, dtype=Xt.dtype)  # (K, n), a copy: weighted in place
        design = cov_type.design(Xt)
        return stats_from_resp(cov_type, design, chunk, data.weights(rows), data.n_features)

    return sum_stats(runner.map(one_chunk, data.slices))


def make_plan(
    cov_type: CovarianceType, params: MixtureParams, center: FloatArray, dtype: DTypeLike
) -> EStepPlan:
    """E-step plan for parameters, with means relative to ``center``."""
    log_weights = params.log_weights
    if log_weights is None:
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
    return cov_type.plan(log_weights, params.means - center, params.precisions_cholesky, dtype)


def e_step(
    data: ChunkedData, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner
) -> Stats:
    """One pass over the data: summed Stats under ``params``.

    Chunks whose rows mostly belong to one component each take the
    hard-row path (:mod:`gmmkit.engine.responsibilities`) when the type's
    moments are linear in its design; the others the dense one.
    """
    workspace = runner.workspace
    n_components = params.weights.size

    def chunk_stats(
        rows: Rows, design: FloatArray, log_prob: FloatArray, far: BoolArray | None
    ) -> Stats:
        weights = data.weights(rows)
        if cov_type.linear_design:
            split = split_rows(log_prob, far, workspace)
            if split is not None:
                return stats_from_split(
                    cov_type, design, split, weights, data.n_features, n_components, workspace
                )
        log_norm = log_normalize(log_prob)
        return stats_from_resp(
            cov_type, design, log_prob, weights, data.n_features, log_norm, workspace,
            n_components=n_components,
        )

    return sum_stats(map_chunks(data, cov_type, params, runner, chunk_stats))


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
