"""Responsibilities from log densities: the log-sum-exp, and the hard-row split.

:func:`log_normalize` turns a chunk's weighted log densities (K, n) into
responsibilities. :func:`split_rows` and :func:`split_sums` do the E-step
and the M-step sums of a chunk whose rows mostly belong to one component.

On well separated data most rows belong to one component to far below the
working precision: every other component's log responsibility lies more
than ``NEGLIGIBLE_LOG_RESP`` below the row's best (e^-80 = 1.8e-35 in
float64 work). Such a **hard** row has the log-likelihood of its best
component (the log-sum-exp adds log(1.0) = 0 to it, bit for bit), and adds
its design column with weight 1.0 to that component's sums. So a chunk
needs:

- the exponentials, the row sums and the normalisation only for its
  **soft** rows (taken out of the (K, n) block: the same numbers as
  :func:`log_normalize` on the whole block);
- for the hard rows, the sums of their design columns per component
  (gathered in component order, then one segmented sum), in place of the
  GEMM over every (component, row) pair that the M-step sums take otherwise;
- the GEMM only over the soft rows.

What changes against the dense sums: the negligible responsibilities of
hard rows are left out, and the order of the additions. A left-out
responsibility is below e^-80 (float64 work) or e^-70 (float32 work). For
rows within the far-row bound (1e4 of the smallest standard deviation of
any component, 1e3 in float32), all of them together move the mean and
the covariance of a component that has not lost its mass (at least 1e-10
of the total weight) by at most 1e10 x (1e4)^2 x e^-80 = 2e-17 of its
variance (float32: 4e-15): below the rounding of the sums. Rows scored by
the direct form (far rows) are always soft. Per-row log-likelihoods, and
so the lower bound under given parameters, are bit for bit those of the
dense path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gmmkit.engine.linalg import inner_products
from gmmkit.engine.workspace import scratch

if TYPE_CHECKING:
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.types import BoolArray, FloatArray, IntArray
    from gmmkit.engine.workspace import Workspace

#: floor of log responsibilities before exp(): exp(-70) = 4e-31 and
#: exp(-650) = 5e-283 stay normal numbers in float32 and float64.
LOG_RESP_FLOOR = {np.float32: -70.0, np.float64: -650.0}

#: a component whose log density lies this far below a row's best one has a
#: negligible responsibility for that row (per working dtype; see module doc)
NEGLIGIBLE_LOG_RESP = {np.float32: -70.0, np.float64: -80.0}

#: the hard rows' design is rebuilt in blocks of about this many bytes
GATHER_BYTES = 2**21

#: a chunk's hard fraction is first estimated on every PROBE_STEP-th row, when
#: that is at least PROBE_MIN_COLUMNS rows
PROBE_STEP = 32
PROBE_MIN_COLUMNS = 32

#: the split pays off only when at least this fraction of a chunk's rows is hard
#: (otherwise the chunk takes the dense path: one GEMM over every row)
MIN_HARD_FRACTION = 0.5


def log_normalize(log_prob: FloatArray) -> FloatArray:
    """Turn weighted log densities into responsibilities, in place.

    Parameters
    ----------
    log_prob : ndarray of shape (K, n)
        Overwritten with the responsibilities.

    Returns
    -------
    ndarray of shape (n,), float64
        log sum_k exp(log_prob[k, n]) per sample.
    """
    top = log_prob.max(axis=0)
    top[~np.isfinite(top)] = 0.0
    # exp() of very negative values gives subnormal numbers, which slow every
    # later operation on them by 10-100x on x86; floor them at a normal tiny
    # responsibility (far below the dtype's resolution of the sums).  The
    # floor is a per-sample row: numpy's maximum is ~4x faster against an
    # array than against a scalar.
    np.maximum(log_prob, top + LOG_RESP_FLOOR[log_prob.dtype.type], out=log_prob)
    log_prob -= top
    np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=0)
    log_prob /= total
    with np.errstate(divide="ignore"):
        log_norm = np.log(total, dtype=np.float64)
    log_norm += top
    return log_norm


@dataclass
class RowSplit:
    """A chunk's rows split into hard and soft ones, with their log-likelihoods.

    Attributes
    ----------
    log_norm : ndarray of shape (n,), float64
        log sum_k exp(log_prob[k, n]) of every row, as
        :func:`log_normalize` returns it.
    hard : ndarray of int, shape (n_hard,)
        The hard rows, grouped by their component (in component order, rows
        ascending within a group).
    groups : ndarray of int, shape (n_groups,)
        The component of each group of ``hard``.
    starts : ndarray of int, shape (n_groups,)
        Where each group starts in ``hard``.
    soft : ndarray of int, shape (n_soft,)
        The other rows, ascending.
    soft_resp : ndarray of shape (K, n_soft)
        The responsibilities of the soft rows.
    """

    log_norm: FloatArray
    hard: IntArray
    groups: IntArray
    starts: IntArray
    soft: IntArray
    soft_resp: FloatArray


def split_rows(
    log_prob: FloatArray,
    far: BoolArray | None = None,
    workspace: Workspace | None = None,
) -> RowSplit | None:
    """Split a chunk's rows into hard and soft ones (see the module docstring).

    Parameters
    ----------
    log_prob : ndarray of shape (K, n)
        Weighted log densities (with a noise component, its row last). Not
        modified.
    far : ndarray of bool, shape (n,), or None
        Rows scored by the direct form; they are kept soft.
    workspace : Workspace or None
        Scratch memory for the (K, n) mask.

    Returns
    -------
    RowSplit or None
        None when fewer than ``MIN_HARD_FRACTION`` of the rows are hard: the
        dense path is then cheaper.
    """
    n_components, n = log_prob.shape
    cut = NEGLIGIBLE_LOG_RESP[log_prob.dtype.type]
    if _few_hard_rows(log_prob[:, ::PROBE_STEP], cut):
        return None
    top = log_prob.max(axis=0)
    # a component is "above" when it is not negligible; top - 80 is below top
    # for every finite top of a log density, and -inf, +inf and NaN tops mark
    # nothing (their rows stay soft)
    above = scratch(workspace, "above", log_prob.shape, np.bool_)
    np.greater(log_prob, top + cut, out=above)
    count = np.add.reduce(
        above.view(np.uint8), axis=0, dtype=np.min_scalar_type(n_components)
    )
    hard_mask = count == 1
    if far is not None:
        hard_mask &= ~far
    if np.count_nonzero(hard_mask) < MIN_HARD_FRACTION * n:
        return None
    soft = np.flatnonzero(~hard_mask)
    # each row's highest component above the cut: a hard row's one component
    # (a uint8 product and maximum: argmax over the first axis would copy the
    # block into (n, K) order first)
    label_type = np.min_scalar_type(n_components - 1)
    if label_type == np.uint8:
        marks = above.view(np.uint8)  # in place: the mask is not needed any more
    else:
        marks = scratch(workspace, "marks", log_prob.shape, label_type)
    np.multiply(above, np.arange(n_components, dtype=label_type)[:, None], out=marks)
    hard = np.flatnonzero(hard_mask)
    labels = np.maximum.reduce(marks, axis=0)[hard]
    order = np.argsort(labels, kind="stable")  # a radix sort of small integers
    hard = hard[order]
    counts = np.bincount(labels, minlength=n_components)
    groups = np.flatnonzero(counts)
    starts = (np.cumsum(counts) - counts)[groups]
    # hard rows: log(1.0) + top, exactly what the log-sum-exp gives
    log_norm = top.astype(np.float64)
    # in scratch memory, as the chunk's other blocks (no fresh pages per chunk)
    soft_resp = scratch(workspace, "soft_resp", (n_components, soft.size), log_prob.dtype)
    np.take(log_prob, soft, axis=1, out=soft_resp, mode="clip")
    if soft.size:
        log_norm[soft] = log_normalize(soft_resp)
    return RowSplit(log_norm, hard, groups, starts, soft, soft_resp)


def _few_hard_rows(probe: FloatArray, cut: float) -> bool:
    """Whether a sample of a chunk's columns (K, m) clearly has too few hard rows.

    Saves the full classification on data whose rows mostly overlap several
    components (a margin of 0.1 below ``MIN_HARD_FRACTION``; at least 32 columns).
    """
    if probe.shape[1] < PROBE_MIN_COLUMNS:
        return False
    count = np.count_nonzero(probe > probe.max(axis=0) + cut, axis=0)
    return np.count_nonzero(count == 1) < (MIN_HARD_FRACTION - 0.1) * probe.shape[1]


def split_sums(
    cov_type: CovarianceType,
    S: FloatArray,
    split: RowSplit,
    weights: FloatArray | None,
    n_features: int,
    workspace: Workspace | None = None,
) -> FloatArray:
    """The M-step sums of a split chunk: S @ resp.T, resp weighted by the rows' weights.

    Parameters
    ----------
    cov_type : CovarianceType
        A type with ``linear_design``.
    S : ndarray of shape (rows, n)
        The chunk's design matrix.
    split : RowSplit
        Its soft responsibilities are multiplied in place by the weights.
    weights : ndarray of shape (n,) or None
    n_features : int

    Returns
    -------
    ndarray of shape (rows, K), S's dtype
        Column k: sum_n w_n r_kn S[:, n].
    """
    n_components = split.soft_resp.shape[0]
    sums = np.zeros((S.shape[0], n_components), dtype=S.dtype)
    if split.hard.size:
        sums[:, split.groups] = _hard_sums(cov_type, S, split, weights, n_features, workspace)
    if split.soft.size:
        resp = split.soft_resp
        if weights is not None:
            resp *= weights[split.soft].astype(resp.dtype)
        soft_design = scratch(workspace, "soft_design", (S.shape[0], split.soft.size), S.dtype)
        np.take(S, split.soft, axis=1, out=soft_design, mode="clip")
        sums += inner_products(soft_design, resp)
    return sums


def _hard_sums(
    cov_type: CovarianceType,
    S: FloatArray,
    split: RowSplit,
    weights: FloatArray | None,
    n_features: int,
    workspace: Workspace | None,
) -> FloatArray:
    """Sums of the hard rows' (weighted) design columns per group: (rows, n_groups).

    The hard rows' centred values are gathered in component order, a block
    of about GATHER_BYTES of design at a time, and their design is rebuilt
    from them (the same numbers: half the memory traffic of gathering the
    whole design); each block adds its part of every group it holds.
    """
    hard, starts = split.hard, split.starts
    ends = np.append(starts[1:], hard.size)
    step = max(1, GATHER_BYTES // (S.shape[0] * S.itemsize))
    rows = cov_type.design_rows(S, n_features)
    grouped = np.zeros((S.shape[0], starts.size), dtype=S.dtype)
    for begin in range(0, hard.size, step):
        end = min(begin + step, hard.size)
        stacked = cov_type.empty_design(n_features, end - begin, S.dtype, workspace, "hard")
        assert stacked is not None  # (every type with linear_design has one)
        np.take(rows, hard[begin:end], axis=1, mode="clip",  # valid indices: no check
                out=cov_type.design_rows(stacked, n_features))
        block = cov_type.complete_design(stacked, n_features)
        if weights is not None:
            block *= weights[hard[begin:end]].astype(S.dtype)
        # the groups this block holds part of; their starts within it rise strictly
        first = int(np.searchsorted(ends, begin, side="right"))
        last = int(np.searchsorted(starts, end, side="left"))
        local = np.maximum(starts[first:last] - begin, 0)
        grouped[:, first:last] += np.add.reduceat(block, local, axis=1)
    return grouped
