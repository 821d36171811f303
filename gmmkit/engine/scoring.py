"""Scoring rows: every row on its own, against a centre fixed at fit time.

``predict``, ``predict_proba``, ``score_samples`` (and everything built on
them) reduce the weighted log densities of each chunk of rows. Two rules
make a row's result depend on that row alone, whatever else is in the
batch:

- The reference point the chunk is centred on is the model's own
  :func:`model_center` (the mixture mean, a function of the fitted
  parameters), never a statistic of the rows being scored.
- A row far from that centre, more than ``FAR_WIDTHS`` standard deviations
  in the tightest direction of any component, does not go through the
  expanded quadratic form (whose rounding grows with the square of the
  distance and whose pairwise products overflow near 1e154). Its log
  densities are computed directly in float64 by :class:`FarRows` (:mod:`gmmkit.engine.far_rows`), as
  ||P_k'(x - mu_k)||^2 with x and the means scaled by a power of two, and
  handed to the reduction as differences from the row's best component
  plus a per-row ``offset``. The differences stay exact where the log
  densities themselves are beyond float64 (a row at 1e300: the log
  density is -inf, the responsibilities are still the right limit), and
  the check that finds far rows is one pass over the centred chunk.

The rest of the chunk takes the engine's fast path (one GEMM on the
design matrix). The reductions (argmax, responsibilities, entropies) are
unchanged by adding a constant to a row's log densities; ``density=True``
marks the log-sum-exp reduction, to whose result the offset is added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine import helper_thread
from gmmkit.engine.em import chunk_length, chunk_log_prob, make_plan
from gmmkit.engine.far_rows import FarCheck
from gmmkit.engine.threads import has_second_thread

if TYPE_CHECKING:
    from collections.abc import Callable

    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType, EStepPlan
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import FloatArray, IntArray, Rows


def model_center(params: MixtureParams) -> FloatArray:
    """The fixed reference point of scoring: the mixture mean, float64 (D,).

    ``weights @ means / weights.sum()``: after an M-step it is the weighted
    mean of the training data, and it is recomputed from the parameters, so
    models loaded from any file (or built by conditioning) have it too.
    """
    weights = np.asarray(params.weights, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    return weights @ means / weights.sum()


def best_components(log_prob: FloatArray) -> IntArray:
    """Each row's most probable component: ``log_prob.argmax(axis=0)``, bit for bit.

    ``argmax`` over the first axis of a (K, n) C-contiguous block copies it
    into (n, K) order first (about 15x the time of ``max(axis=0)``). This
    takes the column maxima instead, marks the entries equal to them and
    keeps the first mark of each column as a maximum over the first axis of
    the reversed ranks (K - k where marked, else 0; uint8 for K < 256):
    three contiguous passes. Ties go to the first index, and a column with
    a NaN to its first NaN, as in numpy.

    Parameters
    ----------
    log_prob : ndarray of shape (K, n)
        Weighted log densities (any real values, -inf, +inf or NaN).

    Returns
    -------
    ndarray of shape (n,), intp
    """
    n_components = log_prob.shape[0]
    if log_prob.ndim != 2 or not log_prob.flags.c_contiguous or n_components < 2:
        return log_prob.argmax(axis=0)
    top = log_prob.max(axis=0)
    hit = log_prob == top  # (K, n): never True in a column whose max is NaN
    ranks = np.arange(n_components, 0, -1, dtype=np.min_scalar_type(n_components))
    first = np.multiply(hit, ranks[:, None]).max(axis=0)  # K - first marked k, 0 if none
    labels = n_components - first.astype(np.intp)
    lost = np.isnan(top)
    if lost.any():  # numpy's argmax: the first NaN
        labels[lost] = log_prob[:, lost].argmax(axis=0)
    return labels


def score_rows(
    data: ChunkedData,
    cov_type: CovarianceType,
    params: MixtureParams,
    runner: ChunkRunner,
    reduce: Callable[[FloatArray], Any],
    *,
    density: bool = False,
    plan: EStepPlan | None = None,
) -> list[Any]:
    """``reduce(log_prob)`` of every chunk, each row scored on its own.

    Parameters
    ----------
    data : ChunkedData
        Centred on a fixed point (:func:`model_center`), not on the rows.
    reduce : callable
        Turns weighted log densities (K, n) (with a noise component, (K + 1,
        n)) into per-row results (first axis n); may overwrite its input.
        Adding a constant to a row of log_prob must not change the result
        (argmax, responsibilities), unless ``density``.
    density : bool, default=False
        ``reduce`` returns each row's log-sum-exp
        (:func:`gmmkit.engine.responsibilities.log_normalize`), or each row's
        log densities (n, K): the far rows' offsets are added to it.
    plan : EStepPlan, optional
        ``make_plan(cov_type, params, data.center, data.dtype)``, when the
        caller keeps it between calls (:func:`gmmkit.engine.em.make_plan`);
        None builds it.

    Returns
    -------
    list
        One result per chunk, in chunk order.
    """
    if plan is None:
        plan = make_plan(cov_type, params, data.center, data.dtype)
    # one chunk: fresh arrays (a workspace would hold them for nothing)
    workspace = runner.workspace if len(data.slices) > 1 else None
    noise = params.noise_row(data.columns)
    far_check = FarCheck(data, cov_type, params, plan.precision_bound)

    def scored(rows: Rows) -> Any:
        """``reduce`` of the weighted log densities of some rows; far rows the direct way."""
        # the rows go straight into their place in the design when the type allows
        n = chunk_length(rows, data.n_samples)
        stacked, slot = cov_type.rows_slot(data.n_features, n, data.dtype, workspace)
        with np.errstate(over="ignore", invalid="ignore"):
            Xt = data.rows(rows, workspace, out=slot)  # a row at 1e300 is inf in float32
        far = far_check.mask(Xt)
        if far is not None:
            Xt[:, far] = 0.0  # keep the fast path finite; these columns are redone
        design = cov_type.finish_design(stacked, Xt, workspace)
        result = reduce(chunk_log_prob(cov_type, design, plan, noise, workspace))
        if far is None:
            return result
        relative, offset = far_check.rows.log_prob(data.raw(rows)[far])
        far_result = np.asarray(reduce(relative))
        if density:  # per-row results (n,) or per-component ones (n, K)
            far_result = far_result + offset.reshape((-1,) + (1,) * (far_result.ndim - 1))
        merged = np.array(result, dtype=np.result_type(result, far_result))
        merged[far] = far_result
        return merged

    def one_chunk(rows: Rows) -> list[Any]:
        n = chunk_length(rows, data.n_samples)
        cut = split_point(n, plan, data.dtype, runner) if workspace is None else None
        if cut is None:
            return [scored(rows)]
        # two blocks of rows at once, the second on the helper thread
        blocks: tuple[Rows, Rows]
        if isinstance(rows, slice):
            start = range(data.n_samples)[rows].start
            blocks = slice(start, start + cut), slice(start + cut, start + n)
        else:
            blocks = rows[:cut], rows[cut:]
        return runner.map_beside(scored, *blocks)

    return [result for chunk in runner.map(one_chunk, data.slices) for result in chunk]


#: a one-chunk float64 call whose product with the plan takes at least this many
#: multiply-adds (rows x plan size) scores its rows in two blocks at once
SPLIT_MIN_PRODUCTS = 4_000_000

#: the blocks are cut at a multiple of this many rows (BLAS's tiles stay in place)
SPLIT_ALIGN = 64

#: the calling thread's block is longer than half by this many multiply-adds: the
#: helper starts ~25 us later, and a caller that finishes first waits ~15 us more
#: to be woken (here one multiply-add takes ~40 ps: 40 us / 2 / 40 ps)
SPLIT_LEAD_PRODUCTS = 500_000


def split_point(n: int, plan: EStepPlan, dtype: np.dtype[Any], runner: ChunkRunner) -> int | None:
    """Where a one-chunk call's rows are cut in two blocks, or None.

    Only in float64 work (float32 products change in their last bits with
    the number of columns), only when the runner has several threads and
    BLAS can be held to one thread, and the helper thread is in favour
    (:func:`gmmkit.engine.helper_thread.available`); at a multiple of
    ``SPLIT_ALIGN`` rows past the middle, the caller's block the longer.
    """
    size = plan.matrix.size + (0 if plan.extra is None else plan.extra.size)
    if (
        n * size < SPLIT_MIN_PRODUCTS
        or dtype != np.float64
        or not has_second_thread(runner)
        or not helper_thread.available()
    ):
        return None
    cut = SPLIT_ALIGN * round((n / 2 + SPLIT_LEAD_PRODUCTS / size) / SPLIT_ALIGN)
    return cut if 0 < cut < n else None
