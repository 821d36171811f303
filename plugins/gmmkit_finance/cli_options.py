"""Options and helpers shared by the ``gmmkit finance`` commands."""

from __future__ import annotations

import click

from gmmkit.cli.helpers import json_option


def data_options(function):
    options = [
        click.argument("prices", metavar="PRICES"),
        click.option("--column", "columns", metavar="C[,C...]",
                     help="Price columns to use (default: every numeric column)."),
        click.option("--date-column", metavar="NAME",
                     help="The date column (default: date/Date or the first column)."),
        click.option("--date-format", metavar="FORMAT",
                     help="The dates' strptime format, such as %d/%m/%Y (default: the one "
                          "format that reads every date; day-first or month-first must be "
                          "given when both read them)."),
        click.option("--kind", type=click.Choice(["log", "simple", "returns"]), default="log",
                     show_default=True,
                     help="Log or simple returns of the prices; 'returns': the file holds "
                          "returns already."),
        click.option("--missing", type=click.Choice(["error", "drop", "ffill"]),
                     default="error", show_default=True,
                     help="NaN prices: refuse, drop those dates, or carry the last price."),
        json_option("the result"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _check_level(ctx, param, value):
    from gmmkit_finance.risk import check_level

    try:
        return check_level(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


#: --level of var and backtest
level_option = click.option(
    "--level", default=0.99, show_default=True, type=float, callback=_check_level,
    help="VaR/ES confidence level, a probability: 0.99 promises the loss exceeds the VaR on "
         "1% of days.")

#: --position of var and backtest
position_option = click.option(
    "--position", type=click.Choice(["long", "short"]), default="long", show_default=True,
    help="long loses when returns fall (the lower tail); short loses when they rise (the "
         "upper tail, such as a short VIX position).")


def weights_option(function):
    return click.option("--weights", metavar="W,W,...",
                        help="Portfolio weights, one per price column.")(function)


def load_returns(prices, columns, date_column, date_format, kind, missing):
    from gmmkit_finance.data import load_prices, to_returns

    picked = None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]
    price_table = load_prices(prices, date_column=date_column, columns=picked,
                              date_format=date_format)
    if kind == "returns":  # a growth-of-1 index stands in for prices in plots
        import numpy as np

        return np.exp(price_table.cumsum()), price_table
    return price_table, to_returns(price_table, kind=kind, missing=missing)


def parse_weights(text, returns):
    if text is None:
        return None
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers",
                                 param_hint="--weights") from None
    names = list(getattr(returns, "columns", [getattr(returns, "name", "price")]))
    if len(weights) != len(names):
        raise click.BadParameter(
            f"{len(weights)} weights for {len(names)} price columns ({', '.join(map(str, names))})",
            param_hint="--weights",
        )
    import numpy as np

    from gmmkit_finance.risk import check_asset_weights, check_portfolio_variance

    try:
        weights = check_asset_weights(weights, len(names))
        with np.errstate(over="ignore", invalid="ignore"):
            variance = np.var(np.asarray(returns, dtype=np.float64) @ weights)
        check_portfolio_variance(variance, weights)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--weights") from None
    return [float(w) for w in weights]


def parse_models(ctx, param, text):
    """--model as a list of distinct known model names (a usage error otherwise)."""
    from gmmkit_finance.backtest import check_models

    try:
        return check_models([m.strip() for m in text.split(",") if m.strip()])
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def portfolio(returns, weights):
    """One series: the only column, or the weighted portfolio."""
    import pandas as pd

    if isinstance(returns, pd.Series):
        return returns
    if weights is None:
        raise click.BadParameter(
            f"{returns.shape[1]} price columns ({', '.join(map(str, returns.columns))}); give "
            "--weights for a portfolio or --column for one of them", param_hint="PRICES")
    return (returns @ weights).rename("portfolio")


def records(frame):
    """A DataFrame as JSON-able dicts (index as the first key)."""
    name = frame.index.name or "index"
    return [{name: key, **{k: plain(v) for k, v in row.items()}}
            for key, row in zip(frame.index, frame.to_dict("records"))]


def plain(value):
    return value.item() if hasattr(value, "item") else value
