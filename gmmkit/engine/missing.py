"""Missing values: exact EM that marginalises NaN features (``missing="em"``).

Rows are grouped by missingness pattern. Under a pattern with observed
features o and missing m, component k's marginal on o is
N(mu_o, Sigma_oo), and the missing part given the observed part is
N(mu_m + B (x_o - mu_o), C) with B = Sigma_mo Sigma_oo^-1 and
C = Sigma_mm - B Sigma_om (:func:`gmmkit.engine.linalg.conditional_blocks`).

E-step of a pattern: the engine's ordinary chunked E-step on the observed
columns under the marginal parameters, giving the responsibilities, the
observed-data log-likelihood and the observed moments
n_k, sum r x_o, sum r x_o x_o'. The moments of the completed data follow
in closed form from those per component (no pass over the rows again):

    sum r x_m      = n_k mu_m + B (sum r x_o - n_k mu_o)
    sum r x_m x_o' = mu_m (sum r x_o)' + B (sum r x_o x_o' - mu_o (sum r x_o)')
    sum r x_m x_m' = n_k (C + a a') + a (B sum r x_o)' + (B sum r x_o) a'
                     + B (sum r x_o x_o') B',        a = mu_m - B mu_o

so the M-step gets the exact conditional expectations of x and x x'. The
cost per pattern is one E-step over its rows plus K small matrix products,
close to the complete-data fit when few patterns occur. Full and tied
models run the pattern E-step with full per-component covariances, diag
and spherical ones with diagonal ones (their B is 0).

The data layer finds the patterns (:func:`gmmkit.data.missing.make_missing_data`);
imputation from a fitted model is :func:`gmmkit.estimators.impute.impute`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import Stats, sum_stats
from gmmkit.engine.linalg import (
    batched_precision_cholesky,
    conditional_blocks,
    triu_pairs,
    unpack_symmetric,
)
from gmmkit.engine.scoring import score_rows

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike, DTypeLike

    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import AnyArray, BoolArray, FloatArray, IntArray

_FULL = get_covariance_type("full")
_DIAG = get_covariance_type("diag")


@dataclass
class Pattern:
    """The rows that miss the same features.

    Attributes
    ----------
    observed, missing : ndarray of int
        Feature indices.
    data : ChunkedData
        The pattern's rows, observed columns only, centred.
    """

    observed: np.ndarray
    missing: np.ndarray
    data: ChunkedData

    @property
    def rows(self) -> IntArray:
        rows = self.data.row_index
        assert rows is not None  # (a pattern's data serve its rows: group_patterns)
        return rows


def group_patterns(
    X: AnyArray,
    sample_weight: FloatArray | None,
    center: FloatArray,
    pattern_of_row: IntArray,
    masks: BoolArray,
    dtype: np.dtype[Any],
    chunk_size: int,
) -> list[Pattern]:
    """One :class:`Pattern` per missingness pattern, in order of first appearance."""
    order = np.argsort(pattern_of_row, kind="stable")
    bounds = np.cumsum(np.bincount(pattern_of_row, minlength=len(masks)))[:-1]
    patterns = []
    features = np.arange(X.shape[1])
    for mask, rows in zip(masks, np.split(order, bounds)):
        observed = features[~mask]
        data = ChunkedData(
            X, sample_weight, center[observed], dtype, chunk_size, row_index=rows,
            columns=None if observed.size == X.shape[1] else observed,
        )
        patterns.append(Pattern(observed, features[mask], data))
    return patterns


@dataclass
class MissingData:
    """Data with NaN entries, served pattern by pattern (duck-types ChunkedData in EM).

    Attributes
    ----------
    filled : ChunkedData
        Every row with NaN replaced by the feature mean: what initialisers see.
    patterns : list of Pattern
    """

    filled: ChunkedData
    patterns: list

    @property
    def center(self) -> FloatArray:
        return self.filled.center

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.filled.dtype

    @property
    def n_samples(self) -> int:
        return self.filled.n_samples

    @property
    def n_features(self) -> int:
        return self.filled.n_features

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """Initialisers see every row with its NaN replaced by the feature mean."""
        return self.filled

    def with_dtype(self, dtype: DTypeLike) -> MissingData:
        return MissingData(
            self.filled.with_dtype(dtype),
            [replace(p, data=p.data.with_dtype(dtype)) for p in self.patterns],
        )

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner) -> Stats:
        """Summed Stats of the completed data (see the module docstring)."""
        return sum_stats(
            [pattern_stats(p, cov_type, params, self.center, runner) for p in self.patterns]
        )

    def map_log_prob(
        self,
        cov_type: CovarianceType,
        params: MixtureParams,
        runner: ChunkRunner,
        reduce: Callable[[FloatArray], ArrayLike],
        *,
        density: bool = False,
    ) -> np.ndarray[Any, Any] | None:
        """``reduce(log_prob)`` per chunk of every pattern, back in row order.

        Each row is scored on its own (:func:`gmmkit.engine.scoring.score_rows`):
        the patterns must be centred on a fixed point, not on the rows.

        Parameters
        ----------
        reduce : callable
            Turns a chunk's weighted log densities (K, n), under the marginal
            on the observed features, into per-row results (first axis n).
        density : bool, default=False
            ``reduce`` is the log-sum-exp (see score_rows).

        Returns
        -------
        ndarray
            Every row's result, in X's row order.
        """
        out: np.ndarray[Any, Any] | None = None
        for pattern in self.patterns:
            part = _pattern_results(pattern, cov_type, params, runner, reduce, density)
            if out is None:
                out = np.empty((self.n_samples,) + part.shape[1:], dtype=part.dtype)
            out[pattern.rows] = part
        return out


# ------------------------------------------------------------ per pattern


def marginal_params(
    pattern: Pattern, cov_type: CovarianceType, params: MixtureParams
) -> tuple[CovarianceType, MixtureParams, FloatArray | None]:
    """The pattern's E-step type and the mixture's marginal on its observed features.

    Returns
    -------
    pattern_type : CovarianceType
        ``cov_type`` itself for complete rows, else full (full and tied
        models) or diag (diag and spherical).
    marginal : MixtureParams
    dense : ndarray of shape (K, D, D) or None
        Dense covariances (None for complete rows).
    """
    if pattern.missing.size == 0:
        return cov_type, params, None
    n_components, n_features = params.means.shape
    covariances = params.covariances
    if covariances is None:  # only precisions were given (precisions_init)
        covariances = cov_type.covariances_from_precisions(
            cov_type.precisions(params.precisions_cholesky)
        )
    dense = cov_type.dense(covariances, n_components, n_features)
    o = pattern.observed
    pattern_type = _FULL if cov_type.layout in ("full", "tied") else _DIAG
    sub = pattern_type.from_dense(dense[:, o][:, :, o])
    marginal = replace(
        params, means=params.means[:, o], covariances=sub,
        precisions_cholesky=_precision_cholesky(pattern_type, sub),
    )
    return pattern_type, marginal, dense


def _precision_cholesky(pattern_type: CovarianceType, covariances: FloatArray) -> FloatArray:
    """Precision factors of a pattern's marginal, batched when they are full matrices."""
    if pattern_type is _FULL:
        factors = batched_precision_cholesky(covariances)
        if factors is not None:
            return factors
    return pattern_type.precision_cholesky(covariances)


def pattern_stats(
    pattern: Pattern,
    cov_type: CovarianceType,
    params: MixtureParams,
    center: FloatArray,
    runner: ChunkRunner,
) -> Stats:
    """Stats of one pattern's completed rows, in ``cov_type``'s layout."""
    pattern_type, marginal, dense = marginal_params(pattern, cov_type, params)
    if dense is None:
        return pattern.data.e_step(cov_type, params, runner)
    if pattern.observed.size == 0:
        observed = _unobserved_stats(pattern, params)
    else:
        observed = pattern.data.e_step(pattern_type, marginal, runner)
    return complete_stats(observed, pattern, cov_type, params, dense, center)


def _unobserved_stats(pattern: Pattern, params: MixtureParams) -> Stats:
    """Rows with nothing observed: responsibilities are the weights, log-likelihood 0."""
    data = pattern.data
    weight = float(data.n_samples if data.sample_weight is None else
                   data.sample_weight[pattern.rows].sum())
    nk = params.weights * weight
    noise = params.noise_weight * weight
    return Stats(nk, np.zeros((nk.size, 0)), np.zeros((nk.size, 0)), 0.0, weight, noise)


def complete_stats(
    observed: Stats,
    pattern: Pattern,
    cov_type: CovarianceType,
    params: MixtureParams,
    dense: FloatArray,
    center: FloatArray,
) -> Stats:
    """Expand a pattern's observed-feature Stats to all features (module docstring)."""
    o, m = pattern.observed, pattern.missing
    nk = observed.nk
    means = params.means - center  # centred, as the Stats are
    mu_o, mu_m = means[:, o], means[:, m]
    sx = np.empty_like(means)
    sx[:, o] = observed.sx
    if cov_type.layout in ("diag", "spherical"):
        sx[:, m] = nk[:, None] * mu_m
        sxx = np.empty_like(means)
        sxx[:, o] = observed.sxx
        variances = np.diagonal(dense, axis1=1, axis2=2)[:, m]
        sxx[:, m] = nk[:, None] * (variances + mu_m**2)
        return replace(observed, sx=sx, sxx=sxx)
    B, C = conditional_blocks(dense, o, m)
    s_o = observed.sx  # (K, o)
    s_oo = unpack_symmetric(observed.sxx, o.size) if o.size else np.zeros((nk.size, 0, 0))
    b_s = np.einsum("kmo,ko->km", B, s_o)
    sx[:, m] = nk[:, None] * mu_m + b_s - np.einsum("kmo,ko->km", B, nk[:, None] * mu_o)
    a = mu_m - np.einsum("kmo,ko->km", B, mu_o)
    second = np.empty((nk.size, means.shape[1], means.shape[1]))
    components = np.arange(nk.size)
    second[np.ix_(components, o, o)] = s_oo
    s_mo = mu_m[:, :, None] * s_o[:, None, :] + B @ (s_oo - mu_o[:, :, None] * s_o[:, None, :])
    second[np.ix_(components, m, o)] = s_mo
    second[np.ix_(components, o, m)] = s_mo.transpose(0, 2, 1)
    cross = a[:, :, None] * b_s[:, None, :]
    second[np.ix_(components, m, m)] = (
        nk[:, None, None] * (C + a[:, :, None] * a[:, None, :])
        + cross + cross.transpose(0, 2, 1) + B @ s_oo @ B.transpose(0, 2, 1)
    )
    if cov_type.layout == "tied":
        return replace(observed, sx=sx, sxx=second.sum(axis=0))
    rows, cols = triu_pairs(means.shape[1])
    return replace(observed, sx=sx, sxx=second[:, rows, cols])


# ------------------------------------------------------------ scoring


def _pattern_results(
    pattern: Pattern,
    cov_type: CovarianceType,
    params: MixtureParams,
    runner: ChunkRunner,
    reduce: Callable[[FloatArray], ArrayLike],
    density: bool,
) -> np.ndarray[Any, Any]:
    if pattern.observed.size == 0:
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        noise = params.noise_row(pattern.observed)
        if noise is not None:
            log_weights = np.append(log_weights, noise)
        log_prob = np.repeat(log_weights[:, None], pattern.data.n_samples, axis=1)
        return np.asarray(reduce(log_prob))
    pattern_type, marginal, _ = marginal_params(pattern, cov_type, params)
    parts = score_rows(pattern.data, pattern_type, marginal, runner, reduce, density=density)
    return np.concatenate(parts)
