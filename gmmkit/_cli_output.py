"""What the CLI prints: summaries, tables and CSV on stdout."""

from __future__ import annotations

import csv
import sys

import numpy as np


def describe(model, dataset, *, source):
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


def provenance(dataset, source, summary):
    """What a model file records about how the model was made (its ``extra``)."""
    return {
        "data": source,
        "n_samples": summary["n_samples"],
        "feature_names": list(dataset.feature_names),
        "bic": summary["bic"],
        "aic": summary["aic"],
        "command": "gmmkit fit",
    }


def format_table(header, rows):
    """Plain-text table with columns padded to their widest cell."""
    cells = [[str(c) for c in header]] + [[_text(c) for c in row] for row in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells
    )


def _text(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def format_summary(summary):
    """Human-readable text of :func:`describe`'s summary."""
    lines = [
        f"GaussianMixture: {summary['n_components']} components, "
        f"covariance_type={summary['covariance_type']}, {summary['n_samples']} samples",
        f"converged: {summary['converged']} after {summary['n_iter']} iterations; "
        f"mean log-likelihood {summary['lower_bound']:.4f}; "
        f"BIC {summary['bic']:.2f}; AIC {summary['aic']:.2f}",
    ]
    if "selection" in summary:
        from gmmkit.selection import format_selection

        lines += ["", "K chosen by BIC (* the chosen fit):", format_selection(summary["selection"])]
    header = ["component", "weight", *summary["features"]]
    rows = [[k, w, *m] for k, (w, m) in enumerate(zip(summary["weights"], summary["means"]))]
    if summary.get("noise_weight"):
        rows.append(["noise", summary["noise_weight"], *([""] * len(summary["features"]))])
    lines += ["", "weights and means:", format_table(header, rows)]
    if "model_file" in summary:
        lines += ["", f"model saved to {summary['model_file']}"]
    return "\n".join(lines)


def write_csv(header, values, *, last_column=None):
    """Rows of ``values`` (n, m) as CSV on stdout, optionally with one more column."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    values = np.asarray(values)
    formatted = values.astype(object) if values.dtype.kind in "iub" else values
    for i, row in enumerate(formatted):
        cells = [_number(v) for v in row]
        if last_column is not None:
            cells.append(int(last_column[i]))
        writer.writerow(cells)


def _number(value):
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return int(value)
