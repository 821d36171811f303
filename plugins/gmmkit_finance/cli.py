"""``gmmkit finance regimes | var | backtest``: the finance commands.

pandas, scipy and matplotlib load inside the commands, so ``gmmkit --help``
stays fast. Results go to stdout (``--json`` for machines), the backtest's
progress bar to stderr (``-q`` silences it); errors are one line.
"""

from __future__ import annotations

import sys

import click

from gmmkit.cli.helpers import (
    ComponentsType,
    command_outputs,
    echo_json,
    force_option,
    json_option,
    output_option,
    quiet_option,
    seed_option,
)


def _data_options(function):
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


def _weights_option(function):
    return click.option("--weights", metavar="W,W,...",
                        help="Portfolio weights, one per price column.")(function)


def _load_returns(prices, columns, date_column, date_format, kind, missing):
    from gmmkit_finance.data import load_prices, to_returns

    picked = None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]
    price_table = load_prices(prices, date_column=date_column, columns=picked,
                              date_format=date_format)
    if kind == "returns":  # a growth-of-1 index stands in for prices in plots
        import numpy as np

        return np.exp(price_table.cumsum()), price_table
    return price_table, to_returns(price_table, kind=kind, missing=missing)


def _parse_weights(text, returns):
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


def _parse_models(ctx, param, text):
    """--model as a list of distinct known model names (a usage error otherwise)."""
    from gmmkit_finance.backtest import check_models

    try:
        return check_models([m.strip() for m in text.split(",") if m.strip()])
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def _portfolio(returns, weights):
    """One series: the only column, or the weighted portfolio."""
    import pandas as pd

    if isinstance(returns, pd.Series):
        return returns
    if weights is None:
        raise click.BadParameter(
            f"{returns.shape[1]} price columns ({', '.join(map(str, returns.columns))}); give "
            "--weights for a portfolio or --column for one of them", param_hint="PRICES")
    return (returns @ weights).rename("portfolio")


def _records(frame):
    """A DataFrame as JSON-able dicts (index as the first key)."""
    name = frame.index.name or "index"
    return [{name: key, **{k: _plain(v) for k, v in row.items()}}
            for key, row in zip(frame.index, frame.to_dict("records"))]


def _plain(value):
    return value.item() if hasattr(value, "item") else value


@click.group()
def finance():
    """Returns, volatility regimes, mixture VaR/ES and VaR backtests.

    PRICES is a CSV file (a date column and one or more price columns) or a
    bundled series: sp500, nasdaq (daily closes 1999-2018) or us_indices
    (both).
    """


@finance.command()
@_data_options
@click.option("-k", "--n-components", default="auto", show_default=True, type=ComponentsType(),
              help="Number of regimes, or 'auto' (BIC).")
@click.option("--window", type=click.IntRange(min=2),
              help="Fit regimes to the trailing WINDOW-day volatility (persistent regimes) "
                   "instead of each day's return.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write the price with regimes shaded to this PNG.")
@output_option("Write per-date regime labels and probabilities to this CSV.")
@seed_option()
@force_option
def regimes(prices, columns, date_column, date_format, kind, missing, as_json, n_components,
            window, plot_path, output, seed, force):
    """Volatility regimes of PRICES: a table per regime (0 = calmest) and today's regime."""
    from gmmkit_finance.plots import plot_regimes
    from gmmkit_finance.regimes import regimes as find_regimes

    outputs = command_outputs(force, prices)
    csv_file = outputs.file(output, "output")
    plot_file = outputs.figure(plot_path, "plot_path")
    price_table, returns = _load_returns(prices, columns, date_column, date_format, kind, missing)
    found = find_regimes(returns, n_components, window=window, random_state=seed)
    last = found.probabilities.index[-1]
    current = {"date": str(last.date()), "regime": int(found.labels.iloc[-1]),
               "probabilities": [float(p) for p in found.probabilities.iloc[-1]]}
    if csv_file is not None:
        table = found.probabilities.add_prefix("p")
        table.insert(0, "regime", found.labels)
        csv_file.write(lambda temporary: table.to_csv(temporary, index_label="date"))
    if plot_file is not None:
        plot_file.write(lambda temporary: plot_regimes(price_table, found, temporary))
    outputs.commit()
    if as_json:
        echo_json({"data": prices, "n_regimes": len(found.order),
                    "regimes": _records(found.table), "current": current})
        return
    from gmmkit.cli.helpers import format_table

    table = found.table
    click.echo(f"{len(found.order)} regimes of {prices} ({len(found.labels)} dates), "
               "0 = calmest:")
    click.echo(format_table(["regime", *table.columns],
                            [list(row) for row in table.itertuples()]))
    click.echo(f"\n{current['date']}: regime {current['regime']} (probability "
               f"{max(current['probabilities']):.2f})")


@finance.command()
@_data_options
@_weights_option
@click.option("--level", default=0.99, show_default=True, type=float,
              help="VaR confidence level.")
@click.option("--es", is_flag=True, help="Also print the Expected Shortfall.")
@click.option("--model", type=click.Choice(["gmm", "filtered-gmm", "normal", "historical"]),
              default="gmm", show_default=True)
@click.option("-k", "--n-components", default="auto", show_default=True, type=ComponentsType(),
              help="Mixture components, or 'auto' (BIC; 2 for filtered-gmm).")
def var(prices, columns, date_column, date_format, kind, missing, as_json, weights, level, es,
        model, n_components):
    """One-day Value-at-Risk (and ES) of each price column, or of a --weights portfolio."""
    from gmmkit_finance.risk import check_level

    level = check_level(level)
    _, returns = _load_returns(prices, columns, date_column, date_format, kind, missing)
    weights = _parse_weights(weights, returns)
    rows = _var_rows(returns, weights, level, model, n_components)
    if as_json:
        echo_json({"data": prices, "level": level, "model": model, "returns": kind,
                    "results": rows})
        return
    from gmmkit.cli.helpers import format_table

    header = ["series", "VaR", *(["ES"] if es else []), "date"]
    click.echo(f"one-day {level:.4g} {model} risk of {kind} returns (positive = loss):")
    click.echo(format_table(header, [[r["series"], r["var"], *([r["es"]] if es else []),
                                      r["date"]] for r in rows]))


def _var_rows(returns, weights, level, model, k):
    import pandas as pd

    from gmmkit_finance import fit_filtered, fit_returns

    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    if weights is not None and model == "gmm":
        fitted = fit_returns(frame, k)
        series = {"portfolio": (fitted.value_at_risk(level, weights=weights),
                                fitted.expected_shortfall(level, weights=weights))}
    else:
        targets = {"portfolio": frame @ weights} if weights is not None else dict(frame.items())
        series = {}
        for name, column in targets.items():
            if model == "gmm":
                fitted = fit_returns(column, k)
            elif model == "filtered-gmm":
                fitted = fit_filtered(column, 2 if k == "auto" else k)
            else:
                fitted = _Unconditional(column, model)
            series[str(name)] = (float(fitted.value_at_risk(level)),
                                 float(fitted.expected_shortfall(level)))
    date = str(frame.index[-1].date()) if hasattr(frame.index[-1], "date") else ""
    return [{"series": name, "var": v, "es": e, "date": date} for name, (v, e) in series.items()]


class _Unconditional:
    """Normal or historical VaR/ES of one whole return series."""

    def __init__(self, column, model):
        from gmmkit_finance.data import require_returns

        self.values, self.model = column.to_numpy(), model
        require_returns(self.values.size, 2 if model == "normal" else 1, f"the {model} model")

    def _var_es(self, level):
        from gmmkit_finance import risk

        if self.model == "normal":
            return risk.normal_var_es(self.values.mean(), self.values.std(ddof=1), level)
        return risk.historical_var_es(self.values, level)

    def value_at_risk(self, level):
        return self._var_es(level)[0]

    def expected_shortfall(self, level):
        return self._var_es(level)[1]


@finance.command()
@_data_options
@_weights_option
@click.option("--level", default=0.99, show_default=True, type=float)
@click.option("--window", default=1000, show_default=True, type=click.IntRange(min=50))
@click.option("--refit-every", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--model", "models", default="normal,historical,gmm,filtered-gmm",
              show_default=True, callback=_parse_models,
              help="Comma-separated models to compare, each at most once.")
@click.option("--expanding", is_flag=True, help="Refit on all returns so far, not a window.")
@click.option("-k", "--n-components", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--volatility", type=click.Choice(["garch", "ewma"]), default="garch",
              show_default=True, help="The filter of filtered-gmm.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write returns, -VaR lines and exceedances to this PNG.")
@quiet_option("progress bar")
@force_option
def backtest(prices, columns, date_column, date_format, kind, missing, as_json, weights, level,
             window, refit_every, models, expanding, n_components, volatility, plot_path, quiet,
             force):
    """Rolling VaR backtest: exceedances and Kupiec / Christoffersen p-values per model."""
    from gmmkit_finance.backtest import backtest_var
    from gmmkit_finance.plots import plot_backtest

    outputs = command_outputs(force, prices)
    plot_file = outputs.figure(plot_path, "plot_path")
    _, returns = _load_returns(prices, columns, date_column, date_format, kind, missing)
    series = _portfolio(returns, _parse_weights(weights, returns))
    options = dict(level=level, window=window, refit_every=refit_every, models=models,
                   expanding=expanding, n_components=n_components, volatility=volatility)
    if quiet:
        result = backtest_var(series, **options)
    else:
        total = max(1, -(-(len(series) - window) // refit_every))
        with click.progressbar(length=total, label="backtest refits", file=sys.stderr) as bar:
            result = backtest_var(series, **options, progress=lambda done, total: bar.update(1))
    if plot_file is not None:
        plot_file.write(lambda temporary: plot_backtest(result, temporary))
    outputs.commit()
    _print_backtest(result, prices, as_json)


def _print_backtest(result, prices, as_json):
    table = result.table
    if as_json:
        echo_json({"data": prices, "level": result.level, "models": _records(table)})
        return
    from gmmkit.cli.helpers import format_table

    rows = [[model, int(row.days), int(row.exceedances), round(row.expected, 1),
             row.kupiec_p, row.independence_p, row.cc_p,
             "pass" if result.passes(model) else "fail"] for model, row in table.iterrows()]
    click.echo(f"{result.level:.4g} VaR backtest of {prices}, "
               f"{result.returns.index[0].date()}..{result.returns.index[-1].date()}:")
    click.echo(format_table(["model", "days", "exceedances", "expected", "kupiec p",
                             "independence p", "cond. coverage p", "5% level"], rows))
