"""plot.Mclust for gmmkit: the classification, uncertainty and density of a fitted mixture.

- classification: the rows coloured by their most probable component, with
  each component's ellipse (2 standard deviations) and mean;
- uncertainty: the rows sized by 1 - their largest posterior probability
  (mclust's uncertainty), the most uncertain largest;
- density: contours of the mixture density (in a projection, the density of
  the projected mixture, which is a Gaussian mixture itself).

One feature: histograms and density curves. Two: the plane of the data. Up
to :data:`~gmmkit.estimators.plots.MAX_PAIRS_FEATURES` features:
``pairs``, one panel per pair of features (classification below the
diagonal, density and uncertainty above, each feature's marginal density on
the diagonal). More features, or ``projection="pca"``: the first two
principal axes of the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import get_covariance_type
from gmmkit.estimators.plots import MAX_PAIRS_FEATURES, draw_criterion, pyplot, save

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import FloatArray, PathLike
    from gmmkit.estimators.mixture import GaussianMixture

PANELS = ("classification", "uncertainty", "density")
_CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
_GRID = 120


class Projected:
    """A fitted mixture and its data seen along two directions P (D x 2), or one feature."""

    def __init__(self, model: GaussianMixture, X: FloatArray, P: FloatArray,
                 names: Sequence[str]) -> None:
        k, d = model.means_.shape
        dense = get_covariance_type(model.covariance_type).dense(
            np.asarray(model.covariances_, dtype=np.float64), k, d)
        self.weights = np.asarray(model.weights_, dtype=np.float64)
        self.points = X @ P
        self.means = np.asarray(model.means_, dtype=np.float64) @ P
        self.covariances = P.T @ dense @ P
        self.names = list(names)

    def log_density(self, Z: FloatArray) -> FloatArray:
        """log of the projected mixture's density (the Gaussian part) at rows Z (n, 2)."""
        out = []
        for w, m, c in zip(self.weights, self.means, self.covariances):
            diff = Z - m
            solved = np.linalg.solve(c, diff.T).T
            logdet = np.linalg.slogdet(c)[1]
            out.append(np.log(w) - 0.5 * (np.einsum("nd,nd->n", diff, solved) + logdet
                                          + Z.shape[1] * np.log(2 * np.pi)))
        return np.logaddexp.reduce(np.array(out), axis=0)


def plot_mixture(
    model: GaussianMixture, X: ArrayLike, path: PathLike, *,
    panels: Sequence[str] = PANELS, projection: str = "auto", feature_names: Sequence[str] | None
    = None, table: Any = None, criterion: str = "bic", bic_convention: str = "sklearn",
    title: str | None = None,
) -> None:
    """Draw mclust's plots of a fitted mixture into one PNG file.

    Parameters
    ----------
    model : GaussianMixture
        Fitted, on data with the features of X.
    X : array-like of shape (n_samples, n_features)
        The rows to show (usually the training data; no NaN).
    path : str or PathLike
    panels : sequence of {"classification", "uncertainty", "density"}, default=all three
    projection : {"auto", "pairs", "pca"}, default="auto"
        How data with more than two features are shown: "pairs" (one
        panel per pair of features, every kind of plot in it), "pca" (the
        first two principal axes, one panel per kind); "auto" takes pairs up
        to 5 features and the principal axes beyond.
    feature_names : sequence of str, optional
    table : list of dict or DataFrame, optional
        A :func:`gmmkit.select_model` table: its criterion curves come first.
    criterion : {"bic", "aic", "icl"}, default="bic"
    bic_convention : {"sklearn", "mclust"}, default="sklearn"
        The sign of ``table``'s criteria.
    title : str, optional

    Raises
    ------
    ValueError
        For an unknown panel or projection, or rows with NaN.
    ImportError
        Without matplotlib, with the command that installs it.
    """
    unknown = [p for p in panels if p not in PANELS]
    if unknown or projection not in ("auto", "pairs", "pca"):
        raise ValueError(f"panels must be some of {list(PANELS)} and projection 'auto', "
                         f"'pairs' or 'pca'; got {list(panels)!r} and {projection!r}")
    X = np.asarray(X, dtype=np.float64)
    if np.isnan(X).any():
        raise ValueError("the rows to plot have missing values (NaN); drop or impute them.")
    d = X.shape[1]
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
    labels = model.predict(X)
    uncertainty = 1.0 - model.predict_proba(X).max(axis=1)
    plt = pyplot()
    if d > 2 and table is None and (projection == "pairs" or (
            projection == "auto" and d <= MAX_PAIRS_FEATURES)):
        figure = _pairs(plt, model, X, labels, uncertainty, names)
    else:
        figure = _row(plt, model, X, labels, uncertainty, names, panels, table, criterion,
                      bic_convention)
    if title:
        figure.suptitle(title)
    save(figure, path, plt)


def _directions(X: FloatArray, names: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """(D x 2 directions, axis labels): the two features, or the first two principal axes."""
    d = X.shape[1]
    if d <= 2:
        return np.eye(d), list(names)
    _, _, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return vt[:2].T, ["principal axis 1", "principal axis 2"]


def _row(plt: Any, model: GaussianMixture, X: FloatArray, labels: Any, uncertainty: FloatArray,
         names: Sequence[str], panels: Sequence[str], table: Any, criterion: str,
         bic_convention: str) -> Any:
    count = len(panels) + (table is not None)
    figure, axes = plt.subplots(1, count, figsize=(4.6 * count, 4.2), squeeze=False)
    axes = list(axes[0])
    if table is not None:
        draw_criterion(axes.pop(0), table, criterion, bic_convention=bic_convention,
                       legend=False)
    P, axis_names = _directions(X, names)
    view = Projected(model, X, P, axis_names)
    for ax, panel in zip(axes, panels):
        if X.shape[1] == 1:
            _one_feature(ax, view, labels, uncertainty, panel)
        else:
            _draw(ax, view, labels, uncertainty, panel)
            ax.set_xlabel(axis_names[0])
            ax.set_ylabel(axis_names[1])
        ax.set_title(panel)
    figure.tight_layout()
    return figure


def _pairs(plt: Any, model: GaussianMixture, X: FloatArray, labels: Any,
           uncertainty: FloatArray, names: Sequence[str]) -> Any:
    d = X.shape[1]
    figure, axes = plt.subplots(d, d, figsize=(2.6 * d, 2.6 * d), squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if i == j:
                view = Projected(model, X, np.eye(d)[:, [i]], [names[i]])
                _one_feature(ax, view, labels, uncertainty, "density")
                ax.set_yticks([])
            else:
                view = Projected(model, X, np.eye(d)[:, [j, i]], [names[j], names[i]])
                _draw(ax, view, labels, uncertainty, "classification" if i > j else "uncertainty")
                if i < j:
                    _draw(ax, view, labels, uncertainty, "density", contours_only=True)
            if i == d - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
    figure.suptitle("classification (below the diagonal), uncertainty and density (above)")
    figure.tight_layout()
    return figure


def _colours(labels: Any) -> list[str]:
    return [_CLASS_COLOURS[k % len(_CLASS_COLOURS)] if k >= 0 else "#000000" for k in labels]


def _draw(ax: Any, view: Projected, labels: Any, uncertainty: FloatArray, panel: str,
          contours_only: bool = False) -> None:
    Z = view.points
    if panel == "classification":
        ax.scatter(Z[:, 0], Z[:, 1], c=_colours(labels), s=8, linewidths=0)
        for k, (m, c) in enumerate(zip(view.means, view.covariances)):
            _ellipse(ax, m, c, _CLASS_COLOURS[k % len(_CLASS_COLOURS)])
    elif panel == "uncertainty":
        top = max(float(uncertainty.max()), 1e-12)
        ax.scatter(Z[:, 0], Z[:, 1], s=2 + 60 * uncertainty / top, c="#444444", linewidths=0,
                   alpha=0.6)
    else:
        if not contours_only:
            ax.scatter(Z[:, 0], Z[:, 1], s=3, c="#bbbbbb", linewidths=0)
        lo, hi = Z.min(axis=0), Z.max(axis=0)
        pad = 0.05 * (hi - lo + 1e-12)
        gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], _GRID),
                             np.linspace(lo[1] - pad[1], hi[1] + pad[1], _GRID))
        density = np.exp(view.log_density(np.column_stack([gx.ravel(), gy.ravel()])))
        ax.contour(gx, gy, density.reshape(gx.shape), levels=8, linewidths=0.8,
                   cmap="viridis")


def _ellipse(ax: Any, mean: FloatArray, cov: FloatArray, colour: str) -> None:
    """The 2-standard-deviation ellipse of a 2-D Gaussian and its mean."""
    values, vectors = np.linalg.eigh(cov)
    angle = np.linspace(0.0, 2.0 * np.pi, 100)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    points = mean[:, None] + vectors @ (2.0 * np.sqrt(np.maximum(values, 0.0))[:, None] * circle)
    ax.plot(points[0], points[1], color=colour, linewidth=1.2)
    ax.plot(mean[0], mean[1], "+", color=colour, markersize=9, markeredgewidth=2)


def _one_feature(ax: Any, view: Projected, labels: Any, uncertainty: FloatArray,
                 panel: str) -> None:
    x = view.points[:, 0]
    if panel == "classification":
        groups = sorted(set(labels))
        ax.hist([x[labels == k] for k in groups], bins=30, stacked=True,
                color=[_CLASS_COLOURS[k % len(_CLASS_COLOURS)] if k >= 0 else "#000000"
                       for k in groups])
    elif panel == "uncertainty":
        ax.scatter(x, uncertainty, s=6, c=_colours(labels), linewidths=0)
        ax.set_ylabel("uncertainty")
    else:
        ax.hist(x, bins=30, density=True, color="#dddddd")
        grid = np.linspace(x.min(), x.max(), 300)[:, None]
        ax.plot(grid[:, 0], np.exp(view.log_density(grid)), color="black", linewidth=1.2)
    ax.set_xlabel(view.names[0])
