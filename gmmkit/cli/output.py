"""What the CLI prints: summaries, tables and CSV on stdout."""

from __future__ import annotations

import csv
import re
import sys
import warnings
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from numpy.typing import ArrayLike, NDArray

    from gmmkit.data.dataset import Dataset
    from gmmkit.estimators.mixture import GaussianMixture

#: numpy's floating-point warnings: "overflow encountered in matmul" and kin
_NUMPY_FLOATING = re.compile(r"^(overflow|underflow|invalid value|divide by zero) encountered in ")

#: what the CLI says instead of numpy's floating-point warnings
NUMERIC_WARNING = (
    "some numbers overflowed float64 or became undefined while computing (numpy: {what}): "
    "the data have values too large or too far apart for float64, so some results may be "
    "inf or NaN. Rescale the data (divide the large columns by a constant, or standardise "
    "them) or drop the rows with extreme values, and run the command again."
)


def warning_messages(caught: Iterable[warnings.WarningMessage], failed: bool) -> list[str]:
    """The messages a command prints as ``Warning: ...`` lines, each once.

    numpy's floating-point RuntimeWarnings ("overflow encountered in
    matmul") say nothing a user can act on: they become one
    :data:`NUMERIC_WARNING` line, or nothing when the command failed (its
    error explains the problem).

    Parameters
    ----------
    caught : list of warnings.WarningMessage
    failed : bool
        Whether the command ended with an error.

    Returns
    -------
    list of str
    """
    def floating(w: warnings.WarningMessage) -> bool | re.Match[str] | None:
        return issubclass(w.category, RuntimeWarning) and _NUMPY_FLOATING.match(str(w.message))

    messages = list(dict.fromkeys(str(w.message) for w in caught if not floating(w)))
    numeric = list(dict.fromkeys(str(w.message) for w in caught if floating(w)))
    if numeric and not failed:
        messages.append(NUMERIC_WARNING.format(what="; ".join(numeric)))
    return messages


def describe(model: GaussianMixture, dataset: Dataset, *, source: str) -> dict[str, Any]:
    """A JSON-able summary of a GaussianMixture fitted to ``dataset``."""
    X = dataset.data
    return {
        "data": source,
        "n_components": len(model.weights_),
        "covariance_type": model.covariance_type,
        "n_samples": int(X.shape[0]),
        "features": list(dataset.feature_names),
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "lower_bound": float(model.lower_bound_),
        "bic": float(model.bic(X)),
        "aic": float(model.aic(X)),
        "noise_weight": float(getattr(model, "noise_weight_", 0.0)),
        "weights": model.weights_.tolist(),
        "means": model.means_.tolist(),
        "covariances": model.covariances_.tolist(),
    }


def provenance(dataset: Dataset, source: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    """What a model file records about how the model was made (its ``extra``)."""
    return {
        "data": source,
        "n_samples": summary["n_samples"],
        "feature_names": list(dataset.feature_names),
        "bic": summary["bic"],
        "aic": summary["aic"],
        "command": "gmmkit fit",
    }


def format_table(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """Plain-text table with columns padded to their widest cell."""
    cells = [[str(c) for c in header]] + [[_text(c) for c in row] for row in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells
    )


def format_selection(table: Sequence[Mapping[str, Any]], criterion: str = "bic") -> str:
    """The table as text, one line per fit, the chosen one marked with *."""
    if hasattr(table, "to_dict"):  # a DataFrame (select_model's table with pandas)
        table = table.to_dict("records")
    header = ["", "K", "covariance", criterion.upper(), "log-lik", "params", "converged",
              "note"]
    rows = []
    for row in table:
        note = row["error"] or ("degenerate: see its warnings" if row["degenerate"] else "")
        value = row[criterion]
        rows.append([
            "*" if row["chosen"] else "",
            row["n_components"],
            row["covariance_type"],
            "" if value is None else f"{value:.2f}",
            "" if row["log_likelihood"] is None else f"{row['log_likelihood']:.2f}",
            row["n_parameters"],
            row["converged"],
            note,
        ])
    return format_table(header, rows)


#: models per block of the criterion matrix (mclust prints wide tables in blocks too)
MATRIX_BLOCK = 7


def format_criterion_matrix(
    table: Sequence[Mapping[str, Any]], criterion: str = "bic", bic_convention: str = "sklearn"
) -> str:
    """The criterion of every fit as a K x model matrix, mclust's BIC table.

    A mark follows each value: * chosen, s stopped early (hopeless), d degenerate,
    n not converged, m below the model's K - 1 fit; failed fits show "-".
    """
    models = list(dict.fromkeys(row["covariance_type"] for row in table))
    ks = sorted({row["n_components"] for row in table})
    cells = {(row["n_components"], row["covariance_type"]): row for row in table}
    better = "higher" if bic_convention == "mclust" else "lower"
    lines = [f"{criterion.upper()} ({bic_convention} sign: {better} is better; * chosen, "
             "s stopped early, d degenerate, n not converged, m below the K-1 fit, - failed)"]
    for start in range(0, len(models), MATRIX_BLOCK):
        block = models[start:start + MATRIX_BLOCK]
        rows = [[k] + [_criterion_cell(cells.get((k, m)), criterion) for m in block] for k in ks]
        lines += ["", format_table(["K", *block], rows)]
    return "\n".join(lines)


def _criterion_cell(row: Mapping[str, Any] | None, criterion: str) -> str:
    if row is None or row[criterion] is None:
        return "-"
    marks = "".join(mark for mark, on in (
        ("*", row["chosen"]), ("s", row.get("stopped")), ("d", row["degenerate"]),
        ("n", not row["converged"] and not row.get("stopped")),
        ("m", not row.get("monotone", True))) if on)
    return f"{row[criterion]:.2f}{marks}"


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def format_summary(summary: Mapping[str, Any]) -> str:
    """Human-readable text of :func:`describe`'s summary."""
    lines = [
        f"GaussianMixture: {summary['n_components']} components, "
        f"covariance_type={summary['covariance_type']}, {summary['n_samples']} samples",
        f"converged: {summary['converged']} after {summary['n_iter']} iterations; "
        f"mean log-likelihood {summary['lower_bound']:.4f}; "
        f"BIC {summary['bic']:.2f}; AIC {summary['aic']:.2f}",
    ]
    if "selection" in summary:
        lines += ["", "K chosen by BIC (* the chosen fit):", format_selection(summary["selection"])]
    header = ["component", "weight", *summary["features"]]
    rows = [[k, w, *m] for k, (w, m) in enumerate(zip(summary["weights"], summary["means"]))]
    if summary.get("noise_weight"):
        rows.append(["noise", summary["noise_weight"], *([""] * len(summary["features"]))])
    lines += ["", "weights and means:", format_table(header, rows)]
    if "model_file" in summary:
        lines += ["", f"model saved to {summary['model_file']}"]
    return "\n".join(lines)


def write_csv(
    header: Sequence[str] | None,
    values: ArrayLike,
    *,
    last_column: NDArray[Any] | None = None,
    file: TextIO | None = None,
) -> None:
    """Rows of ``values`` (n, m) as CSV on stdout (or ``file``), optionally with one more
    column; ``header`` None writes the rows only (a later block of a stream)."""
    writer = csv.writer(sys.stdout if file is None else file, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    values = np.asarray(values)
    formatted = values.astype(object) if values.dtype.kind in "iub" else values
    for i, row in enumerate(formatted):
        cells = [_number(v) for v in row]
        if last_column is not None:
            cells.append(int(last_column[i]))
        writer.writerow(cells)


def _number(value: Any) -> str | int:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return int(value)
