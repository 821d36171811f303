"""The grid of model selection: its points, distinct rows, collapsed fits and the choice.

:func:`gmmkit.select_model` and ``GaussianMixture(n_components="auto")`` both
run :func:`gmmkit.estimators.selection_run.run_selection`; this module holds
what it validates and chooses with (see :mod:`gmmkit.estimators.selection`
for the criteria and what "degenerate" means).
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import get_covariance_type
from gmmkit.exceptions import ConvergenceWarning

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import NoReturn

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import AnyArray, FloatArray

CRITERIA = ("bic", "aic", "icl")


def grid_points(
    n_components: int | Iterable[int], covariance_types: str | Iterable[str], X: AnyArray
) -> list[tuple[int, str]]:
    """[(K, covariance type), ...] validated, in the order given; K <= distinct rows of X.

    Raises
    ------
    ValueError
        For an unknown covariance type (listing the valid ones), a K that is
        not an integer >= 1 or above the number of distinct rows of X, or
        an empty grid.
    """
    if isinstance(covariance_types, str):
        covariance_types = (covariance_types,)
    covariance_types = list(covariance_types)
    for name in covariance_types:
        get_covariance_type(name)  # an unknown name lists the valid ones
    counts: Iterable[Any] = (
        (n_components,) if isinstance(n_components, (int, numbers.Integral)) else n_components
    )
    if isinstance(counts, range) and counts:
        largest = max(counts[0], counts[-1])  # without listing the range
        if largest > X.shape[0]:
            _too_many(largest, X)
    ks = []
    for k in counts:  # not list(): range(1, 10**9) must be refused, not built
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must hold integers >= 1; got {k!r}")
        if k > X.shape[0]:
            _too_many(k, X)
        ks.append(int(k))
    if ks:
        largest = max(ks)
        if n_distinct_rows(X, up_to=largest) < largest:
            _too_many(largest, X)
    grid = [(int(k), c) for c in covariance_types for k in ks]
    if not grid:
        raise ValueError("the grid is empty; give at least one K and one covariance type.")
    return grid


def _too_many(k: int | numbers.Integral, X: AnyArray) -> NoReturn:
    distinct = n_distinct_rows(X)
    raise ValueError(
        f"n_components holds K={k}, but X has only {distinct} distinct rows (with non-zero "
        f"weight), and a mixture cannot have more components than distinct rows; use K <= "
        f"{distinct}."
    )


def n_distinct_rows(X: ArrayLike, *, up_to: int | None = None) -> int:
    """The number of distinct rows of X; with ``up_to``, counting may stop once it is reached.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    up_to : int, optional
        Only whether there are at least ``up_to`` distinct rows matters: a
        head of X is counted first, and all of X only when the head holds
        fewer.

    Returns
    -------
    int
        The exact count, or a count >= ``up_to`` when there are that many.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        return int(X.shape[0]) if X.ndim else 0
    if up_to is not None and 4 * up_to < X.shape[0]:
        found = len(np.unique(X[: 4 * up_to], axis=0))
        if found >= up_to:
            return found
    return len(np.unique(X, axis=0))


def collapsed_params(
    covariance_type: str, weights: FloatArray, means: FloatArray, covariances: FloatArray,
    reg_covar: float, floor_factor: float = 2.0, spread_factor: float = 100.0,
) -> bool:
    """True when a component has collapsed onto repeated or nearly collinear points.

    A component has collapsed when, along some direction, its covariance
    (in the type's layout) is at the reg_covar floor (at most
    ``floor_factor`` x reg_covar) while the mixture as a whole spreads along
    that direction (more than ``spread_factor`` x reg_covar). Its density,
    and so the log-likelihood and BIC of the fit, then grow without bound as
    reg_covar shrinks. mclust reports no BIC for such fits; gmmkit keeps them
    in the table, marked degenerate, and does not choose them while a clean
    fit exists. A feature that is constant in the data (every component at
    the floor along it) is not a collapse.
    """
    cov_type = get_covariance_type(covariance_type)
    dense = cov_type.dense(covariances, *means.shape)
    weights = weights / weights.sum()
    offsets = means - weights @ means
    spread = np.einsum("k,kij->ij", weights, dense) + np.einsum(
        "k,ki,kj->ij", weights, offsets, offsets
    )
    floor = floor_factor * reg_covar
    for values, vectors in zip(*np.linalg.eigh(dense)):
        thin = vectors[:, values <= floor]
        if thin.size and np.any(np.einsum("ij,ik,kj->j", thin, spread, thin)
                                > spread_factor * reg_covar):
            return True
    return False


def choose(table: Sequence[Mapping[str, Any]], criterion: str) -> int:
    """Index of the best row: the lowest criterion among clean fits, with a fallback.

    Clean: no error, converged, no degenerate component. Without a clean
    fit, the best converged fit, then the best fit at all, with a warning
    naming why; every fit failed is a ValueError.
    """
    fitted = [i for i, row in enumerate(table) if row["error"] is None]
    if not fitted:
        raise ValueError(f"every fit of the grid failed; the first error: {table[0]['error']}")
    converged = [i for i in fitted if table[i]["converged"]]
    clean = [i for i in converged if not table[i]["degenerate"]]
    pool = clean or converged or fitted
    pool = [i for i in pool if table[i][criterion] is not None] or fitted  # no ICL: stopped
    best = min(pool, key=lambda i: table[i][criterion])
    if not clean:
        problem = "had a degenerate component" if converged else "did not converge"
        warnings.warn(
            f"no fit of the grid was clean: the chosen one (K={table[best]['n_components']}, "
            f"{table[best]['covariance_type']}) {problem}. Increase max_iter or reg_covar, or "
            "narrow the grid; the table lists every fit.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best
