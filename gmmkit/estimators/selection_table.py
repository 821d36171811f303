"""select_model's table: the best of several starts, monotone log-likelihoods, conventions.

Helpers of :mod:`gmmkit.estimators.selection` that only read and write
rows and :class:`~gmmkit.estimators.selection_fits.FitResult` objects.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from gmmkit.estimators.selection_fits import FitResult

Rows = list[dict[str, Any]]
Results = dict[tuple[int, str], "FitResult"]

BIC_CONVENTIONS = ("sklearn", "mclust")


def usable(result: FitResult | None) -> bool:
    """A fit whose parameters can start a neighbour: fitted, not stopped early."""
    return (result is not None and result.params is not None and result.row["error"] is None
            and not result.row["stopped"])


def better(candidate: FitResult, incumbent: FitResult | None) -> bool:
    """Whether ``candidate`` should replace ``incumbent`` for the same (K, model).

    A fitted row beats a failed one, a finished fit one stopped early, a
    clean fit a degenerate one (whose likelihood grows without bound as a
    component collapses), then the higher log-likelihood wins (the first of
    equals stays).
    """
    if incumbent is None:
        return True

    def rank(result: FitResult) -> tuple[int, float]:
        row = result.row
        if row["error"] is not None:
            return (0, 0.0)
        return (1 if row["stopped"] else 2 if row["degenerate"] else 3, row["log_likelihood"])

    return rank(candidate) > rank(incumbent)


def best_of(results: Iterable[FitResult]) -> FitResult:
    """The best :class:`FitResult` of one (K, model) among several starts."""
    best: FitResult | None = None
    for result in results:
        if better(result, best):
            best = result
    assert best is not None  # at least one start
    return best


def violations(results: Results, models: Sequence[str], ks: Sequence[int], slack: float
               ) -> list[tuple[int, str]]:
    """[(K, model)] whose fit has a lower log-likelihood than the K - 1 fit of the model.

    Parameters
    ----------
    results : dict
        (K, model) -> FitResult.
    models : list of str
    ks : list of int
        Sorted; only adjacent values K - 1, K are compared.
    slack : float
        Differences below this (total log-likelihood) are EM's tolerance, not violations.
    """
    found = []
    for model in models:
        for k in ks:
            below, here = results.get((k - 1, model)), results.get((k, model))
            if (below is not None and here is not None and usable(below) and usable(here)
                    and here.row["log_likelihood"] < below.row["log_likelihood"] - slack):
                found.append((k, model))
    return found


def flag_violations(results: Results, models: Sequence[str], ks: Sequence[int],
                    slack: float) -> None:
    """Mark the rows of :func:`violations` ``monotone = False``, with a warning."""
    for k, model in violations(results, models, ks, slack):
        row = results[(k, model)].row
        below = results[(k - 1, model)].row["log_likelihood"]
        row["monotone"] = False
        row["warnings"].append(
            f"its log-likelihood {row['log_likelihood']:.4f} is below the K={k - 1} fit's "
            f"{below:.4f}, which a K={k} mixture can reproduce: a poor local maximum (the "
            "split and merge starts did not do better)"
        )


def reference_bic(rows: Iterable[Mapping[str, Any]]) -> float:
    """The lowest BIC (scikit-learn's sign) of the clean fits among ``rows``: float (inf: none)."""
    values = [r["bic"] for r in rows if r["error"] is None and r["converged"]
              and not r["degenerate"]]
    return min(values, default=np.inf)


def apply_convention(rows: Rows, convention: str) -> Rows:
    """Rows in ``convention``: scikit-learn's (lower is better) or mclust's (higher is better).

    mclust's BIC is 2 log L - p log n; its ICL adds 2 sum_n log max_k z_nk
    (the hard classification, as mclust's ``icl``) where gmmkit's adds the
    soft entropy; AIC becomes 2 log L - 2 p.
    """
    for row in rows:
        map_term = row.pop("_map")
        if convention == "mclust" and row["bic"] is not None:
            row["bic"], row["aic"] = -row["bic"], -row["aic"]
            row["icl"] = None if map_term is None else row["bic"] - 2.0 * map_term
    return rows


def as_table(rows: Rows, as_frame: bool | str) -> Any:
    """The rows as a pandas DataFrame (``as_frame`` True, or "auto" with pandas), else a list."""
    if as_frame not in (True, False, "auto"):
        raise ValueError(f"as_frame={as_frame!r} is not supported; use True, False or 'auto'.")
    if as_frame is False or (as_frame == "auto" and importlib.util.find_spec("pandas") is None):
        return rows
    import pandas as pd

    return pd.DataFrame.from_records(rows)


def table_rows(table: Any) -> Rows:
    """The rows of a table given as a list of dicts or a DataFrame: list of dict."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        return table.to_dict("records")
    return list(table)
