"""``gmmkit finance backtest``: rolling VaR/ES backtests of several models side by side."""

from __future__ import annotations

import sys
import warnings

import click

from gmmkit.cli.helpers import (
    ComponentsType,
    command_outputs,
    echo_json,
    force_option,
    output_option,
    quiet_option,
)
from gmmkit_finance.cli_options import (
    data_options,
    level_option,
    load_returns,
    parse_models,
    parse_weights,
    portfolio,
    position_option,
    records,
    weights_option,
)

#: columns of the backtest table per --tests name: (header, table column)
TEST_COLUMNS = {
    "kupiec": [("kupiec p", "kupiec_p")],
    "christoffersen": [("independence p", "independence_p"), ("cond. coverage p", "cc_p")],
    "dq": [("DQ p", "dq_p")],
    "es": [("Z1", "z1"), ("Z1 p", "z1_p"), ("Z2", "z2"), ("Z2 p", "z2_p"),
           ("McNeil-Frey p", "mcneil_frey_p")],
    "traffic": [("zone (250 d)", "zone")],
}


def _parse_tests(ctx, param, text):
    """--tests as a list of distinct known test names (a usage error otherwise)."""
    from gmmkit_finance.backtest_table import check_tests

    try:
        return check_tests([t.strip() for t in text.split(",") if t.strip()])
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


@click.command()
@data_options
@weights_option
@level_option
@position_option
@click.option("--window", default=1000, show_default=True, type=click.IntRange(min=50),
              help="Returns in each fit (the first fit's with --expanding); the days after "
                   "the first window are the test days.")
@click.option("--refit-every", default=20, show_default=True, type=click.IntRange(min=1),
              help="Days between refits; between them each model forecasts from its last fit.")
@click.option("--model", "models", default="normal,historical,gmm,filtered-gmm",
              show_default=True, callback=parse_models,
              help="Comma-separated models to compare, each at most once: normal, historical, "
                   "gmm, filtered-gmm, hmm, and <garch|gjr|egarch>-<normal|t|mixture>.")
@click.option("--tests", default="kupiec,christoffersen", show_default=True,
              callback=_parse_tests,
              help="Comma-separated tests: kupiec, christoffersen, dq (dynamic quantile), es "
                   "(Acerbi-Szekely Z1/Z2 and McNeil-Frey), traffic (Basel zone).")
@click.option("--simulations", default=1000, show_default=True, type=click.IntRange(min=100),
              help="Simulated paths behind the Z1/Z2 p-values.")
@click.option("--expanding", is_flag=True, help="Refit on all returns so far, not a window.")
@click.option("-k", "--n-components", default="2", show_default=True, type=ComponentsType(),
              help="Components of the gmm and filtered-gmm mixtures, or 'auto' (gmm: BIC on "
                   "the first window, kept for every refit; 2 for the filtered mixtures).")
@click.option("--volatility", type=click.Choice(["garch", "ewma"]), default="garch",
              show_default=True, help="The filter of filtered-gmm.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write one panel per model (returns, the VaR and ES lines, exceedances) "
                   "and its cumulative exceedances against the expected count and the Basel "
                   "traffic-light zones to this PNG.")
@output_option("Write the day-by-day series to this CSV: date, return, and the VaR, ES and "
               "exceedance (0/1) of each forecast compared (columns 'var gmm', ...).")
@quiet_option("progress bar")
@force_option
def backtest(prices, columns, date_column, date_format, kind, missing, as_json, weights, level,
             position, window, refit_every, models, tests, simulations, expanding,
             n_components, volatility, plot_path, output, quiet, force):
    """Rolling VaR/ES backtest: exceedances and the --tests p-values per model.

    A warning on stderr says when the test days hold too few expected
    exceedances for the tests to tell a good VaR from a bad one.
    """
    from gmmkit_finance.backtest import LowPowerWarning, backtest_var
    from gmmkit_finance.plots_risk import plot_backtest

    outputs = command_outputs(force, prices)
    plot_file = outputs.figure(plot_path, "plot_path")
    csv_file = outputs.file(output, "output")
    _, returns = load_returns(prices, columns, date_column, date_format, kind, missing)
    series = portfolio(returns, parse_weights(weights, returns))
    options = dict(level=level, window=window, refit_every=refit_every, models=models,
                   expanding=expanding, n_components=n_components, volatility=volatility,
                   tests=tests, n_simulations=simulations, position=position)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LowPowerWarning)  # said below, in CLI words
        if quiet:
            result = backtest_var(series, **options)
        else:
            total = max(1, -(-(len(series) - window) // refit_every))
            with click.progressbar(length=total, label="backtest refits",
                                   file=sys.stderr) as bar:
                result = backtest_var(series, **options,
                                      progress=lambda done, total: bar.update(1))
    _warn_low_power(result)
    if plot_file is not None:
        plot_file.write(lambda temporary: plot_backtest(result, temporary))
    if csv_file is not None:
        csv_file.write(lambda temporary: result.to_frame().to_csv(temporary))
    outputs.commit()
    _print_backtest(result, prices, tests, as_json)


def _warn_low_power(result):
    from gmmkit_finance.backtest import low_power_note

    note = low_power_note(len(result.returns), result.level)
    if note is not None:
        click.echo(f"Warning: {note}; use a shorter --window, a longer series or a lower "
                   "--level.", err=True)


def _print_backtest(result, prices, tests, as_json):
    from gmmkit_finance.backtest import low_power_note

    table = result.table
    if as_json:
        echo_json({"data": prices, "level": result.level, "position": result.position,
                   "n_components": result.n_components, "tests": tests,
                   "low_power": low_power_note(len(result.returns), result.level) is not None,
                   "models": records(table)})
        return
    from gmmkit.cli.helpers import format_table

    columns = [pair for test in tests for pair in TEST_COLUMNS[test]]
    verdict = "kupiec" in tests and "christoffersen" in tests
    rows = [[model, int(row.days), int(row.exceedances), round(row.expected, 1),
             *(row[column] for _, column in columns),
             *(["pass" if result.passes(model) else "fail"] if verdict else [])]
            for model, row in table.iterrows()]
    gmm = f" (gmm: {result.n_components} components)" if "gmm" in result.models else ""
    click.echo(f"{result.level:.4g} VaR backtest of a {result.position} position in {prices}, "
               f"{result.returns.index[0].date()}..{result.returns.index[-1].date()}{gmm}:")
    click.echo(format_table(["model", "days", "exceedances", "expected",
                             *(header for header, _ in columns),
                             *(["5% level"] if verdict else [])], rows))
