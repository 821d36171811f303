"""``gmmkit demo``: every installed plugin's demo, as one HTML report.

A demo is registered through ``gmmkit_register_demos`` and is
``function(out_dir)`` returning a :class:`DemoSection`. :func:`run_demos`
runs them (a demo that raises becomes a section saying so) and
:func:`write_report` writes ``index.html``: a self-contained page (figures
embedded as data URIs) with the PNG files beside it.

Figures need matplotlib (``pip install 'gmmkit[plot]'``); without it the
report has the tables and text only and says how to get the figures.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from types import ModuleType

    from matplotlib.figure import Figure

    from gmmkit.engine.types import FloatArray, PathLike
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.plugins.manager import Entry

PLOT_HINT = "pip install 'gmmkit[plot]'"


@dataclass
class DemoSection:
    """One demo's part of the report.

    Attributes
    ----------
    title : str
    paragraphs : list of str
        Plain text, one paragraph each (escaped when written).
    figures : list of str
        PNG file names inside the report folder.
    table : list of list, optional
        Rows of cells; the first row is the header.
    plugin : str
        Filled in by :func:`run_demos`.
    seconds : float
        Filled in by :func:`run_demos`.
    error : str
        Set when the demo raised.
    """

    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)
    plugin: str = ""
    seconds: float = 0.0
    error: str = ""


def pyplot() -> ModuleType | None:
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Figure, out_dir: PathLike, name: str) -> str:
    """Write ``figure`` as ``out_dir/name`` (PNG), close it, return the file name.

    A demo (``gmmkit_register_demos``) puts the result in its
    ``DemoSection(figures=[...])``.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        From :func:`pyplot` (None without matplotlib: then make no figure).
    out_dir : str or pathlib.Path
        The folder the demo was given.
    name : str
        The PNG file name, e.g. ``"hello.png"``.

    Returns
    -------
    str
        ``name``.
    """
    figure.savefig(Path(out_dir) / name, dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return name


def run_demos(
    entries: Iterable[Entry], out_dir: Path, progress: Callable[[str], object] | None = None
) -> list[DemoSection]:
    """Run demos into ``out_dir``.

    Parameters
    ----------
    entries : iterable of gmmkit.plugins.manager.Entry
    out_dir : pathlib.Path
    progress : callable(str) or None
        Told the name of each demo as it starts.

    Returns
    -------
    list of DemoSection
    """
    from gmmkit.plugins.manager import describe_error

    sections = []
    for entry in entries:
        if progress is not None:
            progress(f"demo {entry.name} ({entry.plugin}) ...")
        start = time.perf_counter()
        try:
            section = entry.obj(out_dir)
        except Exception as exc:  # noqa: BLE001 - one broken demo must not sink the report
            section = DemoSection(entry.name, error=describe_error(exc))
        section.plugin = entry.plugin
        section.seconds = time.perf_counter() - start
        sections.append(section)
    return sections


def write_report(
    sections: Iterable[DemoSection], out_dir: PathLike, *, notes: Iterable[str] = ()
) -> Path:
    """Write ``out_dir/index.html`` for ``sections``; return its path."""
    out_dir = Path(out_dir)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>gmmkit demo</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>gmmkit demo</h1>",
    ]
    parts += [f'<p class="note">{html.escape(note)}</p>' for note in notes]
    for section in sections:
        parts.append(_section_html(section, out_dir))
    parts.append("</body></html>")
    path = out_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _section_html(section: DemoSection, out_dir: Path) -> str:
    lines = [
        f"<section><h2>{html.escape(section.title)}</h2>",
        f'<p class="meta">plugin {html.escape(section.plugin)}, {section.seconds:.1f} s</p>',
    ]
    if section.error:
        lines.append(f'<p class="error">This demo failed: {html.escape(section.error)}</p>')
    lines += [f"<p>{html.escape(text)}</p>" for text in section.paragraphs]
    if section.table:
        header, *rows = section.table
        lines.append("<table><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in header))
        for row in rows:
            lines.append("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row))
        lines.append("</table>")
    for name in section.figures:
        data = base64.b64encode((out_dir / name).read_bytes()).decode("ascii")
        lines.append(
            f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(name)}</figcaption></figure>"
        )
    lines.append("</section>")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .6em;"
    "text-align:right}img{max-width:100%}.meta{color:#777;font-size:90%}"
    ".error{color:#b00}.note{background:#ffe;padding:.5em}"
)


def faithful_demo(out_dir: Path) -> DemoSection:
    """Old Faithful eruptions: choose K and covariance type by BIC, show the fitted mixture."""
    from gmmkit.datasets import load
    from gmmkit.estimators.selection import plot_criterion, select_model

    dataset = load("faithful")
    X = dataset.data
    best, table = select_model(X, range(1, 7), random_state=0, as_frame=False)
    section = DemoSection(
        "Old Faithful eruptions",
        paragraphs=[
            f"{X.shape[0]} eruptions of the Old Faithful geyser: "
            f"{dataset.feature_names[0]} and {dataset.feature_names[1]} (minutes). "
            f"{len(table)} mixtures were fitted (K = 1..6, mclust's 14 covariance models, "
            f"each from one hierarchical clustering start); BIC chose "
            f"K = {best.n_components}, covariance_type={best.covariance_type}.",
        ],
        table=[["component", "weight", *(f"mean {n}" for n in dataset.feature_names)]]
        + [
            [k, float(w), *(float(m) for m in mean)]
            for k, (w, mean) in enumerate(zip(best.weights_, best.means_))
        ],
    )
    plt = pyplot()
    if plt is not None:
        section.figures.append(_faithful_figure(plt, X, best, dataset.feature_names, out_dir))
        plot_criterion(table, "bic", out_dir / "faithful_bic.png", title="BIC of every fit")
        section.figures.append("faithful_bic.png")
    return section


def _faithful_figure(
    plt: ModuleType, X: FloatArray, model: GaussianMixture, names: Sequence[str], out_dir: Path
) -> str:
    figure, axes = plt.subplots(figsize=(6, 4.5))
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    density = model.score_samples(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    axes.contour(gx, gy, density, levels=12, colors="0.6", linewidths=0.7)
    axes.scatter(X[:, 0], X[:, 1], c=model.predict(X), s=12, cmap="viridis")
    axes.scatter(*model.means_.T, marker="x", s=80, c="red")
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.set_title(f"{model.n_components}-component mixture: labels and log-density contours")
    return save_figure(figure, out_dir, "faithful_mixture.png")
