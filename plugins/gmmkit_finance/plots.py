"""Figures: return density, regimes over time, VaR backtest (matplotlib, imported lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _pyplot():
    from gmmkit.demo import pyplot

    plt = pyplot()
    if plt is None:
        raise ValueError("plots need matplotlib: pip install 'gmmkit[plot]'")
    return plt


def _save(figure, path):
    figure.savefig(path, dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path


def plot_density(returns, fitted, path, *, title=None):
    """Histogram of returns against the fitted normal and the fitted mixture (log scale).

    Parameters
    ----------
    returns : pandas.Series or array-like of shape (n_dates,)
    fitted : ReturnMixture
        A one-asset fit of the same returns.
    path : str or path
        PNG file to write.
    """
    from scipy.stats import norm

    plt = _pyplot()
    values = np.asarray(returns, dtype=np.float64).ravel()
    weights, means, covariances = fitted.components()
    stds = np.sqrt(covariances[:, 0, 0])
    grid = np.linspace(values.min(), values.max(), 600)
    mixture = (weights * norm.pdf(grid[:, None], means[:, 0], stds)).sum(axis=1)
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.hist(values, bins=150, density=True, color="0.8", label="daily returns")
    axes.plot(grid, norm.pdf(grid, values.mean(), values.std()), "--", color="tab:blue",
              label="normal")
    axes.plot(grid, mixture, color="tab:red", label=f"{len(weights)}-component mixture")
    axes.set_yscale("log")
    axes.set_ylim(bottom=0.5 / (values.size * (grid[1] - grid[0]) * 4))
    axes.set_xlabel("log return")
    axes.set_ylabel("density (log scale)")
    axes.set_title(title or "Return density: the tails the normal misses")
    axes.legend(fontsize=8)
    return _save(figure, path)


#: regime colours, calmest first: every one visible on white at the shading's alpha
REGIME_COLOURS = ("tab:green", "tab:blue", "tab:orange", "tab:red", "tab:purple", "tab:brown",
                  "tab:pink", "tab:olive", "tab:cyan", "tab:gray")
#: trailing days of the realised-volatility panel (when the regimes have no window)
VOLATILITY_DAYS = 21


def regime_colours(n_regimes: int) -> list:
    """One colour per regime, calmest first (green ... red for two or three regimes)."""
    if n_regimes == 2:
        return ["tab:green", "tab:red"]
    if n_regimes == 3:
        return ["tab:green", "tab:orange", "tab:red"]
    return [REGIME_COLOURS[r % len(REGIME_COLOURS)] for r in range(n_regimes)]


def plain_log_ticks(axes: Any) -> None:
    """Plain numbers (100, 200, 500; not 10^2) on a log-scaled y axis."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(NullFormatter())


def plot_regimes(prices: Any, found: Any, path: Any, *, title: str | None = None,
                 window: int | None = None) -> Any:
    """Price and realised volatility over time, each date shaded by its regime (PNG at ``path``).

    Parameters
    ----------
    prices : pandas.Series or DataFrame
        Prices (the first column is drawn), indexed by date.
    found : Regimes
        With labels indexed by date.
    path : str or path
    title : str, optional
        Default: the series, the number of regimes and what they are fitted to.
    window : int, optional
        The trailing window the regimes were fitted to (None: daily returns);
        also the realised-volatility panel's window (default 21 days).
    """
    k = len(found.order)
    series = _first(prices)
    fitted = (f"trailing {window}-day volatility" if window else "daily returns")
    title = title or (f"{series.name or 'price'}: {k} mixture regimes of {fitted} "
                      "(0 = calmest)")
    names = [f"regime {r}" for r in range(k)]
    return _draw_regimes(series, found.labels, names, path, title, window or VOLATILITY_DAYS)


def plot_regime_probabilities(prices: Any, fitted: Any, path: Any, *,
                              title: str | None = None) -> Any:
    """Price and realised volatility, Viterbi regimes shaded, and the smoothed probabilities.

    Parameters
    ----------
    prices : pandas.Series or DataFrame
        Prices (the first column is drawn), indexed by date.
    fitted : MarkovRegimes
        Fitted to returns indexed by date.
    path : str or path
        PNG file to write.
    title : str, optional
        Default: the series and the number of regimes.
    """
    series = _first(prices)
    k = fitted.n_regimes
    title = title or (f"{series.name or 'price'}: {k} Markov-switching regimes of daily "
                      "returns (Viterbi path shaded, 0 = calmest)")
    names = [f"regime {r} ({d:.0f}-day spells)" for r, d in
             enumerate(fitted.expected_durations())]
    return _draw_regimes(series, fitted.path, names, path, title, VOLATILITY_DAYS,
                         probabilities=fitted.smoothed)


def _first(prices):
    return prices.iloc[:, 0] if hasattr(prices, "columns") else prices


def _draw_regimes(series, labels, names, path, title, vol_days, probabilities=None):
    """Price (log scale), realised volatility and optionally probabilities, regimes shaded."""
    plt = _pyplot()
    colours = regime_colours(len(names))
    series = series.reindex(labels.index)
    returns = np.log(series.astype(float)).diff()
    volatility = returns.rolling(vol_days).std() * np.sqrt(252)
    rows = 3 if probabilities is not None else 2
    figure, axes = plt.subplots(rows, 1, figsize=(10, 2.2 * rows + 1.5), sharex=True,
                                gridspec_kw={"height_ratios": [3, 2, 2][:rows]})
    regime = np.asarray(labels)
    for panel in axes[:2]:
        for r, name in enumerate(names):
            panel.fill_between(labels.index, 0, 1, where=regime == r, step="mid",
                               color=colours[r], alpha=0.45, linewidth=0,
                               transform=panel.get_xaxis_transform(), label=name)
    axes[0].plot(series.index, series.to_numpy(), color="black", linewidth=0.8)
    axes[0].set_yscale("log")
    plain_log_ticks(axes[0])
    axes[0].set_ylabel(str(series.name or "price"))
    axes[0].legend(loc="upper left", fontsize=8, ncol=min(len(names), 5))
    axes[0].set_title(title)
    axes[1].plot(volatility.index, 100 * volatility.to_numpy(), color="black", linewidth=0.8)
    axes[1].set_ylabel(f"{vol_days}-day volatility\n(% a year)")
    if probabilities is not None:
        axes[2].stackplot(probabilities.index, probabilities.to_numpy().T, colors=colours,
                          alpha=0.8, step="mid")
        axes[2].set_ylim(0, 1)
        axes[2].set_ylabel("P(regime | all data)")
    return _save(figure, path)
