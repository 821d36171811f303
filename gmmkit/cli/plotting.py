"""``--plot`` of ``gmmkit fit`` and ``gmmkit select``: mclust's plots of the fitted mixture."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gmmkit.data.dataset import Dataset
    from gmmkit.engine.types import FloatArray, PathLike
    from gmmkit.estimators.mixture import GaussianMixture

#: at most this many rows are drawn (evenly spaced); the model saw them all
PLOT_MAX_ROWS = 20_000


def plot_rows(dataset: Dataset) -> FloatArray:
    """The rows a plot shows: at most PLOT_MAX_ROWS evenly spaced rows without NaN."""
    data = dataset.data
    step = max(1, -(-int(data.shape[0]) // PLOT_MAX_ROWS))
    rows = np.asarray(data[::step], dtype=np.float64)
    return rows[~np.isnan(rows).any(axis=1)]


def draw_fit(model: GaussianMixture, dataset: Dataset, path: PathLike, *, title: str,
             table: Any = None, criterion: str = "bic", bic_convention: str = "sklearn") -> None:
    """Classification, uncertainty and density of ``model`` (after ``table``'s curves)."""
    from gmmkit.estimators.mixture_plots import plot_mixture

    plot_mixture(model, plot_rows(dataset), path, feature_names=dataset.feature_names,
                 table=table, criterion=criterion, bic_convention=bic_convention, title=title)
