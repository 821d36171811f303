"""The E-step's sufficient statistics: Stats of every chunk, summed.

:func:`e_step` is one pass over a data source under given parameters: each
chunk's weighted log densities come from :func:`gmmkit.engine.em.map_chunks`;
a chunk whose rows mostly belong to one component each takes the hard-row
path (:func:`stats_from_split`, :mod:`gmmkit.engine.responsibilities`) when the
covariance type's moments are linear in its design, the others the dense one
(:func:`stats_from_resp`). :func:`stats_of_responsibilities` gives the Stats of
given memberships (an M-step from a plugin's responsibilities).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.em import Stats, map_chunks, sum_stats
from gmmkit.engine.responsibilities import log_normalize, split_rows, split_sums

if TYPE_CHECKING:
    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.responsibilities import RowSplit
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import BoolArray, FloatArray, Rows
    from gmmkit.engine.workspace import Workspace

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
