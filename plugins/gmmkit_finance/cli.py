"""``gmmkit finance regimes | var | backtest``: the finance commands.

pandas, scipy and matplotlib load inside the commands, so ``gmmkit --help``
stays fast. Results go to stdout (``--json`` for machines), the backtest's
progress bar to stderr (``-q`` silences it); errors are one line. ``var``
and ``backtest`` live in :mod:`gmmkit_finance.cli_risk`.
"""

from __future__ import annotations

import click

from gmmkit.cli.helpers import (
    ComponentsType,
    command_outputs,
    echo_json,
    force_option,
    output_option,
    seed_option,
)
from gmmkit_finance.cli_backtest import backtest
from gmmkit_finance.cli_options import data_options, load_returns, records
from gmmkit_finance.cli_risk import var

REGIME_MODELS = ("auto", "hmm", "mixture")


@click.group()
def finance():
    """Returns, volatility regimes, mixture VaR/ES and VaR/ES backtests.

    PRICES is a CSV file (a date column and one or more price columns) or a
    bundled series: sp500, nasdaq (daily closes 1999-2018) or us_indices
    (both).
    """


finance.add_command(var)
finance.add_command(backtest)


@finance.command()
@data_options
@click.option("--model", type=click.Choice(REGIME_MODELS), default="auto", show_default=True,
              help="hmm: Markov-switching regimes that persist; mixture: a mixture of each "
                   "day's return (or of --window volatility); auto: whichever has the lower "
                   "BIC.")
@click.option("-k", "--n-components", default="auto", show_default=True, type=ComponentsType(),
              help="Number of regimes, or 'auto' (BIC).")
@click.option("--switching", type=click.Choice(["both", "mean", "variance"]), default="both",
              show_default=True, help="What changes with an hmm regime: mean and variance, or "
                                      "one of them.")
@click.option("--window", type=click.IntRange(min=2),
              help="Fit a mixture to the trailing WINDOW-day volatility (--model mixture; "
                   "21 is a month): persistent regimes. Without it a mixture labels each "
                   "day by its own return (a warning says so). -k auto then counts the "
                   "overlapping windows as N/WINDOW independent ones in BIC.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write the price and its realised volatility with regimes shaded (and, "
                   "for hmm, the smoothed regime probabilities) to this PNG.")
@output_option("Write per-date regime labels and probabilities to this CSV.")
@seed_option()
@force_option
def regimes(prices, columns, date_column, date_format, kind, missing, as_json, model,
            n_components, switching, window, plot_path, output, seed, force):
    """Regimes of PRICES: a table per regime (0 = calmest) and today's regime."""
    if window is not None and model == "hmm":
        raise click.BadParameter("--window fits a mixture to trailing volatility; drop it "
                                 "for --model hmm", param_hint="--window")
    outputs = command_outputs(force, prices)
    csv_file = outputs.file(output, "output")
    plot_file = outputs.figure(plot_path, "plot_path")
    price_table, returns = load_returns(prices, columns, date_column, date_format, kind, missing)
    chosen, found, bic = _fit_regimes(returns, model, n_components, switching, window, seed)
    if chosen == "mixture" and window is None:
        from gmmkit_finance.regimes import daily_regimes_note

        click.echo(f"Warning: {daily_regimes_note('--window 21', '--model hmm')}.", err=True)
    probabilities = found.smoothed if chosen == "hmm" else found.probabilities
    labels = found.path if chosen == "hmm" else found.labels
    last = probabilities.index[-1]
    current = {"date": str(last.date()), "regime": int(labels.iloc[-1]),
               "probabilities": [float(p) for p in probabilities.iloc[-1]]}
    if csv_file is not None:
        table = probabilities.add_prefix("p")
        table.insert(0, "regime", labels)
        if chosen == "hmm":
            table = table.join(found.filtered.add_prefix("f"))
        csv_file.write(lambda temporary: table.to_csv(temporary, index_label="date"))
    if plot_file is not None:
        plot_file.write(lambda temporary: _plot(price_table, found, chosen, window, temporary))
    outputs.commit()
    summary = {"data": prices, "model": chosen, "n_regimes": int(probabilities.shape[1]),
               "bic": bic, "regimes": records(found.table), "current": current}
    if chosen == "hmm":
        summary["transition_matrix"] = found.transmat.tolist()
    if chosen == "mixture" and found.bic:
        summary["effective_bic"] = {str(k): b for k, b in found.bic.items()}
        summary["n_effective"] = found.n_effective
    if as_json:
        echo_json(summary)
        return
    _print_regimes(summary, found, chosen, prices, len(labels))


def _fit_regimes(returns, model, n_components, switching, window, seed):
    """(model used, fitted regimes, BIC per model fitted)."""
    import warnings

    from gmmkit_finance.fit import fit_returns
    from gmmkit_finance.hmm import fit_regimes
    from gmmkit_finance.regimes import DailyRegimesWarning
    from gmmkit_finance.regimes import regimes as mixture_regimes

    if model == "mixture" or window is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DailyRegimesWarning)  # said in CLI words
            found = mixture_regimes(returns, n_components, window=window, random_state=seed)
        return "mixture", found, {}
    hmm = fit_regimes(returns, n_components, switching=switching, random_state=seed)
    bic = {"hmm": hmm.bic()}
    if model == "auto":
        mixture = fit_returns(returns, n_components, random_state=seed)
        bic["mixture"] = mixture.bic()
        if bic["mixture"] < bic["hmm"]:
            return "mixture", mixture.regimes(), bic
    return "hmm", hmm, bic


def _plot(price_table, found, chosen, window, path):
    from gmmkit_finance.plots import plot_regime_probabilities, plot_regimes

    if chosen == "hmm":
        return plot_regime_probabilities(price_table, found, path)
    return plot_regimes(price_table, found, path, window=window)


def _print_regimes(summary, found, chosen, prices, n_dates):
    from gmmkit.cli.helpers import format_table

    table = found.table
    name = "Markov-switching (hmm)" if chosen == "hmm" else "mixture"
    click.echo(f"{summary['n_regimes']} {name} regimes of {prices} ({n_dates} dates), "
               "0 = calmest:")
    click.echo(format_table(["regime", *table.columns],
                            [list(row) for row in table.itertuples()]))
    if chosen == "hmm":
        click.echo("\ntransition matrix (row: today's regime, column: tomorrow's):")
        click.echo(format_table(["from", *(str(k) for k in range(summary["n_regimes"]))],
                                [[k, *row] for k, row in enumerate(found.transmat)]))
    if "effective_bic" in summary:
        click.echo(f"\nK by BIC over {summary['n_effective']:.1f} effective dates (the "
                   "overlapping windows counted as dates / --window): "
                   + ", ".join(f"K={k} {b:.1f}" for k, b in summary["effective_bic"].items()))
    if len(summary["bic"]) > 1:
        click.echo("\nBIC: " + ", ".join(f"{m} {b:.1f}" for m, b in summary["bic"].items()))
    current = summary["current"]
    click.echo(f"\n{current['date']}: regime {current['regime']} (probability "
               f"{max(current['probabilities']):.2f})")
