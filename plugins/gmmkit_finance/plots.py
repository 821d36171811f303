"""Figures: return density, regimes over time, VaR backtest (matplotlib, imported lazily)."""

from __future__ import annotations

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


def plot_regimes(prices, found, path, *, title=None):
    """Prices over time with each date shaded by its regime; saved as PNG at ``path``.

    Parameters
    ----------
    prices : pandas.Series or DataFrame
        Prices (the first column is drawn), indexed by date.
    found : Regimes
        With labels indexed by date.
    path : str or path
    """
    plt = _pyplot()
    series = prices.iloc[:, 0] if hasattr(prices, "columns") else prices
    labels = found.labels
    series = series.reindex(labels.index)
    figure, axes = plt.subplots(figsize=(9, 4))
    colours = plt.get_cmap("coolwarm")(np.linspace(0, 1, max(2, len(found.order))))
    for r in range(len(found.order)):
        axes.fill_between(labels.index, 0, 1, where=(labels == r).to_numpy(), step="mid",
                          color=colours[r], alpha=0.35, transform=axes.get_xaxis_transform(),
                          linewidth=0, label=f"regime {r}")
    axes.plot(series.index, series.to_numpy(), color="black", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_ylabel(str(series.name or "price"))
    axes.set_title(title or "Price with volatility regimes (0 = calmest)")
    axes.legend(loc="upper left", fontsize=8)
    return _save(figure, path)


def plot_backtest(result, path, *, title=None):
    """Realised returns, each model's -VaR, and the exceedances; saved as PNG at ``path``.

    Parameters
    ----------
    result : Backtest
    path : str or path
    """
    import pandas as pd

    plt = _pyplot()
    returns = result.returns
    x = returns.index if isinstance(returns, pd.Series) else np.arange(len(returns))
    var, es = np.asarray(result.var), np.asarray(result.es)
    hits = np.asarray(result.exceedances)
    figure, axes = plt.subplots(figsize=(9, 4))
    axes.plot(x, np.asarray(returns), color="0.6", linewidth=0.5, label="return")
    for j, model in enumerate(result.models):
        line = axes.plot(x, -var[:, j], linewidth=0.9,
                         label=f"-VaR {model} ({int(hits[:, j].sum())} exceedances)")[0]
        axes.plot(x, -es[:, j], linewidth=0.6, linestyle="--", color=line.get_color(),
                  label=f"-ES {model}")
        axes.scatter(np.asarray(x)[hits[:, j]], np.asarray(returns)[hits[:, j]], s=9,
                     color=line.get_color(), zorder=3)
    axes.set_ylabel("daily return")
    axes.set_title(title or f"{result.level:.0%} VaR and ES backtest (dashed: -ES)")
    axes.legend(fontsize=7, loc="lower left")
    return _save(figure, path)


def plot_regime_probabilities(prices, fitted, path, *, title=None):
    """Price with the Viterbi regimes shaded, above the smoothed regime probabilities.

    Parameters
    ----------
    prices : pandas.Series or DataFrame
        Prices (the first column is drawn), indexed by date.
    fitted : MarkovRegimes
        Fitted to returns indexed by date.
    path : str or path
        PNG file to write.
    """
    plt = _pyplot()
    series = prices.iloc[:, 0] if hasattr(prices, "columns") else prices
    smoothed = fitted.smoothed
    series = series.reindex(smoothed.index)
    k = fitted.n_regimes
    colours = plt.get_cmap("coolwarm")(np.linspace(0, 1, max(2, k)))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 2]})
    labels = np.asarray(fitted.path)
    for r in range(k):
        top.fill_between(smoothed.index, 0, 1, where=labels == r, step="mid", color=colours[r],
                         alpha=0.35, transform=top.get_xaxis_transform(), linewidth=0,
                         label=f"regime {r} ({fitted.expected_durations()[r]:.0f}-day spells)")
    top.plot(series.index, series.to_numpy(), color="black", linewidth=0.8)
    top.set_yscale("log")
    top.set_ylabel(str(series.name or "price"))
    top.legend(loc="upper left", fontsize=8)
    top.set_title(title or "Markov-switching regimes: Viterbi path (shaded) and smoothed "
                           "probabilities")
    bottom.stackplot(smoothed.index, smoothed.to_numpy().T, colors=colours[:k], alpha=0.8,
                     step="mid")
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("P(regime | all data)")
    return _save(figure, path)
