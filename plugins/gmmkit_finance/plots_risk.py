"""Figures of VaR and ES: the return histogram with the VaR/ES marked, and backtests."""

from __future__ import annotations

from typing import Any

import numpy as np

from gmmkit_finance.plots import _pyplot, _save, plain_log_ticks

#: the traffic-light zones: (name, colour, cumulative binomial probability where it ends)
ZONES = (("green", "#b8e0b8", 0.95), ("yellow", "#f5e3a0", 0.9999), ("red", "#f2b8b0", None))


def plot_var(returns: dict, rows: list, path: Any, *, level: float, position: str = "long",
             model: str = "", horizon: int = 1) -> Any:
    """One panel per series: the histogram of its returns with the VaR and ES marked.

    For ``horizon > 1`` the histogram is of the overlapping ``horizon``-day
    returns (sums of consecutive daily log returns), the returns the VaR is of.

    Parameters
    ----------
    returns : dict of str to array-like of shape (n_dates,)
        The returns each VaR was fitted to, by series name.
    rows : list of dict
        Per series (in the order of ``returns``): ``var``, ``es`` and
        ``as_of`` (``gmmkit finance var``'s results).
    path : str or path
        PNG file to write.
    level : float
    position : {"long", "short"}, default="long"
        Where the losses lie: the lines are drawn at -VaR, -ES (long) or
        +VaR, +ES (short).
    model : str, optional
        Named in the titles.
    horizon : int, default=1
        Days the VaR covers (named in the titles).
    """
    plt = _pyplot()
    sign = -1.0 if position == "long" else 1.0
    figure, axes = plt.subplots(len(returns), 1, figsize=(8, 3.2 * len(returns)), squeeze=False)
    days = "one-day" if horizon == 1 else f"{horizon}-day"
    for panel, (name, values), row in zip(axes[:, 0], returns.items(), rows):
        values = np.asarray(values, dtype=np.float64).ravel()
        what = "daily returns"
        if horizon > 1:
            values = np.convolve(values, np.ones(horizon), mode="valid")
            what = f"overlapping {horizon}-day returns"
        panel.hist(values, bins=min(150, max(20, values.size // 20)), color="0.75",
                   label=f"{values.size} {what}")
        panel.axvline(sign * row["var"], color="tab:red",
                      label=f"VaR {row['var']:.4g} ({'-' if sign < 0 else '+'}VaR drawn)")
        panel.axvline(sign * row["es"], color="tab:red", linestyle="--",
                      label=f"ES {row['es']:.4g}")
        panel.set_yscale("log")
        plain_log_ticks(panel)
        panel.set_xlabel("return")
        panel.set_ylabel("days (log scale)")
        panel.set_title(f"{name}: {days} {level:g} {model} VaR and ES of a {position} "
                        f"position, as of {row['as_of']}", fontsize=10)
        panel.legend(fontsize=8)
    figure.tight_layout()
    return _save(figure, path)


def zone_bounds(n_days: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative exceedance counts where the yellow and red zones start, per day.

    After ``t`` days a count ``c`` is green while ``P(X <= c) < 0.95`` for
    ``X ~ Binomial(t, 1 - level)``, yellow while it is below 0.9999 and red
    beyond: the Basel traffic light (250 days at 0.99: yellow from 5, red
    from 10) applied to every prefix of the test.

    Returns
    -------
    yellow, red : ndarray of shape (n_days,)
    """
    from scipy.stats import binom

    t = np.arange(1, n_days + 1)
    p = 1.0 - level
    # the smallest c with cdf(c) >= q is where the next zone starts
    return binom.ppf(ZONES[0][2], t, p), binom.ppf(ZONES[1][2], t, p)


def plot_backtest(result: Any, path: Any, *, title: str | None = None) -> Any:
    """Per model: returns with its VaR/ES and exceedances, and cumulative exceedances.

    Each model gets a row of two panels: the realised returns with the
    model's VaR (solid) and ES (dashed) loss thresholds and its exceedances
    marked, and its cumulative exceedances against the expected count
    ``(1 - level) t`` over the Basel traffic-light zones (:func:`zone_bounds`).

    Parameters
    ----------
    result : Backtest
    path : str or path
    title : str, optional
    """
    import pandas as pd

    plt = _pyplot()
    returns = result.returns
    x = returns.index if isinstance(returns, pd.Series) else np.arange(len(returns))
    values = np.asarray(returns, dtype=np.float64)
    var, es = np.asarray(result.var), np.asarray(result.es)
    hits = np.asarray(result.exceedances, dtype=bool)
    sign = 1.0 if getattr(result, "position", "long") == "short" else -1.0
    n_models = len(result.models)
    figure, axes = plt.subplots(n_models, 2, figsize=(12, 2.8 * n_models + 0.8),
                                squeeze=False, sharex=True,
                                gridspec_kw={"width_ratios": [3, 2]})
    yellow, red = zone_bounds(values.size, result.level)
    expected = (1.0 - result.level) * np.arange(1, values.size + 1)
    for j, model in enumerate(result.models):
        left, right = axes[j]
        colour = f"C{j}"
        left.plot(x, values, color="0.6", linewidth=0.5, label="return")
        left.plot(x, sign * var[:, j], color=colour, linewidth=0.9, label="VaR")
        left.plot(x, sign * es[:, j], color=colour, linewidth=0.6, linestyle="--", label="ES")
        left.scatter(np.asarray(x)[hits[:, j]], values[hits[:, j]], s=12, color="black",
                     zorder=3, label=f"{int(hits[:, j].sum())} exceedances")
        left.set_ylabel(f"{model}\ndaily return")
        left.legend(fontsize=7, loc="lower left" if sign < 0 else "upper left", ncol=4)
        cumulative = np.cumsum(hits[:, j])
        top = max(float(red.max()), float(cumulative.max())) + 1
        right.fill_between(x, -0.5, yellow - 0.5, color=ZONES[0][1], step="post",
                           label="green")
        right.fill_between(x, yellow - 0.5, red - 0.5, color=ZONES[1][1], step="post",
                           label="yellow")
        right.fill_between(x, red - 0.5, top, color=ZONES[2][1], step="post", label="red")
        right.plot(x, expected, color="black", linestyle=":", label="expected")
        right.step(x, cumulative, where="post", color=colour, label="exceedances")
        right.set_ylim(-0.5, top)
        right.set_ylabel("cumulative\nexceedances")
        right.legend(fontsize=7, loc="upper left", ncol=2)
    axes[0, 0].set_title(title or f"{result.level:g} VaR backtest of a "
                                  f"{getattr(result, 'position', 'long')} position "
                                  "(dashed: ES)")
    axes[0, 1].set_title("cumulative exceedances, Basel traffic-light zones")
    figure.tight_layout()
    return _save(figure, path)
