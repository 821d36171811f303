"""What mclust users look at: the BIC curves of every model, and a fit's classification,
uncertainty and density (plot.mclustBIC and plot.Mclust).

Every function draws into a PNG file (matplotlib's Agg backend, imported
when called) and raises ImportError with the install command without
matplotlib. Data with more than two features are shown as a grid of
pairwise scatter plots (``pairs``, at most :data:`MAX_PAIRS_FEATURES`
features) or, beyond that, projected on their first two principal axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gmmkit.engine.mclust_models import MODEL_NAMES, SKLEARN_ALIASES
from gmmkit.estimators.selection_table import table_rows

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gmmkit.engine.types import PathLike

#: pairs of features are drawn up to this many features; beyond, two principal axes
MAX_PAIRS_FEATURES = 5
#: one colour and one marker per model (mclust's palette runs green, blue, red)
_COLOURS = {name: colour for name, colour in zip(
    MODEL_NAMES, ["#7f7f7f", "#000000", "#228b22", "#2a8c55", "#2e8c8c", "#3a78b0",
                  "#4169e1", "#5a58d0", "#7a49b8", "#9a3a98", "#b22f78", "#c02858",
                  "#c82438", "#cd0000"])}
_MARKERS = dict(zip(MODEL_NAMES, "^v.o+x*sDhpP<>"))
_COLOURS.update({"E": "#7f7f7f", "V": "#000000"})
_MARKERS.update({"E": "^", "V": "v"})


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or ImportError naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'gmmkit[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: PathLike, plt: Any) -> None:
    """Write ``figure`` to ``path`` as PNG and close it."""
    figure.savefig(path, dpi=96, bbox_inches="tight", format="png")
    plt.close(figure)


def _style(name: str) -> tuple[str | None, str]:
    model = SKLEARN_ALIASES.get(name, name)
    return _COLOURS.get(model), _MARKERS.get(model, "o")


def plot_criterion(
    table: Any, criterion: str, path: PathLike, *, title: str | None = None,
    bic_convention: str = "sklearn",
) -> None:
    """Draw the criterion against K, one line per covariance model, into a PNG file.

    mclust's BIC plot: a line and a marker per model; fits that failed are
    left out, fits stopped early or degenerate drawn as hollow markers, the
    chosen fit starred.

    Parameters
    ----------
    table : list of dict or pandas.DataFrame
        As returned by :func:`gmmkit.select_model`.
    criterion : {"bic", "aic", "icl"}
    path : str or PathLike
    title : str, optional
    bic_convention : {"sklearn", "mclust"}, default="sklearn"
        The sign of the table's criteria (mclust's: higher is better).

    Raises
    ------
    ImportError
        Without matplotlib, with the command that installs it.
    """
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    draw_criterion(axes, table, criterion, bic_convention=bic_convention)
    if title:
        axes.set_title(title)
    save(figure, path, plt)


def draw_criterion(axes: Any, table: Any, criterion: str, *, bic_convention: str = "sklearn",
                   legend: bool = True) -> None:
    """:func:`plot_criterion`'s curves on matplotlib ``axes``."""
    table = table_rows(table)
    for model in dict.fromkeys(row["covariance_type"] for row in table):
        rows = [r for r in table if r["covariance_type"] == model and r[criterion] is not None]
        colour, marker = _style(model)
        axes.plot([r["n_components"] for r in rows], [r[criterion] for r in rows], "-",
                  color=colour, linewidth=1, label=model, marker=marker, markersize=5)
        odd = [r for r in rows if r.get("stopped") or r["degenerate"]]
        axes.plot([r["n_components"] for r in odd], [r[criterion] for r in odd], "o",
                  markerfacecolor="white", markeredgecolor=colour, markersize=7)
    chosen = [r for r in table if r["chosen"]]
    if chosen:
        axes.plot(chosen[0]["n_components"], chosen[0][criterion], "*", color="gold",
                  markeredgecolor="black", markersize=16,
                  label=f"chosen: {chosen[0]['covariance_type']}, K={chosen[0]['n_components']}")
    sign = -1.0 if bic_convention == "mclust" else 1.0
    _focus(axes, table, criterion, sign)
    axes.set_xlabel("number of components K")
    better = "higher" if sign < 0 else "lower"
    axes.set_ylabel(f"{criterion.upper()} ({better} is better)")
    if legend:
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)


def _focus(axes: Any, table: Sequence[Mapping[str, Any]], criterion: str,
           sign: float = 1.0) -> None:
    """Zoom the y axis onto where the curves compete (every curve's best point shows).

    One poor model can sit far from the rest and flatten them; ``sign`` -1
    for criteria where higher is better.
    """
    per_type: dict[str, list[float]] = {}
    for r in table:
        if r[criterion] is not None:
            per_type.setdefault(r["covariance_type"], []).append(sign * r[criterion])
    if not per_type:
        return
    values = [v for vs in per_type.values() for v in vs]
    lowest, worst_best = min(values), max(min(v) for v in per_type.values())
    span = max(worst_best - lowest, 1e-9 + 0.02 * abs(lowest))
    top = min(max(values), worst_best + 0.5 * span)
    limits = sorted((sign * (lowest - 0.05 * span), sign * (top + 0.05 * span)))
    axes.set_ylim(*limits)

