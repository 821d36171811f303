"""``gmmkit finance var`` (one-day or h-day VaR/ES) and ``gmmkit finance backtest``."""

from __future__ import annotations

import sys

import click

from gmmkit.cli.helpers import (
    ComponentsType,
    command_outputs,
    echo_json,
    force_option,
    quiet_option,
    seed_option,
)
from gmmkit_finance.cli_options import (
    data_options,
    load_returns,
    parse_models,
    parse_weights,
    portfolio,
    records,
    weights_option,
)

#: filters whose names --model takes: <filter>-<innovations>
VOLATILITY_NAMES = tuple(f"{v}-{d}" for v in ("garch", "gjr", "egarch")
                         for d in ("normal", "t", "mixture"))
VAR_MODELS = ("gmm", "filtered-gmm", "normal", "historical", "hmm", *VOLATILITY_NAMES)
#: the models var --horizon can simulate
HORIZON_MODELS = ("gmm", "normal", "hmm", *VOLATILITY_NAMES)
#: columns of the backtest table per --tests name: (header, table column)
TEST_COLUMNS = {
    "kupiec": [("kupiec p", "kupiec_p")],
    "christoffersen": [("independence p", "independence_p"), ("cond. coverage p", "cc_p")],
    "dq": [("DQ p", "dq_p")],
    "es": [("Z1", "z1"), ("Z1 p", "z1_p"), ("Z2", "z2"), ("Z2 p", "z2_p"),
           ("McNeil-Frey p", "mcneil_frey_p")],
    "traffic": [("zone (250 d)", "zone")],
}


@click.command()
@data_options
@weights_option
@click.option("--level", default=0.99, show_default=True, type=float,
              help="VaR confidence level.")
@click.option("--es", is_flag=True, help="Also print the Expected Shortfall.")
@click.option("--model", type=click.Choice(VAR_MODELS), default="gmm", show_default=True,
              help="A return mixture, a filtered mixture, normal, historical, the regime "
                   "hmm, or a volatility filter with its innovations (gjr-mixture, garch-t, ...).")
@click.option("-k", "--n-components", default="auto", show_default=True, type=ComponentsType(),
              help="Mixture components (or regimes for hmm), or 'auto' (BIC; 2 for "
                   "filtered-gmm and the filters' mixtures).")
@click.option("--horizon", default=1, show_default=True, type=click.IntRange(min=1),
              help="Days ahead: above 1 the VaR/ES of the H-day return is simulated, and the "
                   "square-root-of-time figures are printed beside it.")
@click.option("--paths", default=100_000, show_default=True, type=click.IntRange(min=1000),
              help="Simulated paths for --horizon.")
@seed_option()
def var(prices, columns, date_column, date_format, kind, missing, as_json, weights, level, es,
        model, n_components, horizon, paths, seed):
    """Value-at-Risk (and ES) of each price column, or of a --weights portfolio."""
    from gmmkit_finance.risk import check_level

    try:
        level = check_level(level)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--level") from None
    if horizon > 1 and model not in HORIZON_MODELS:
        raise click.BadParameter(f"{model} has no model to simulate {horizon} days with; use "
                                 "--model gmm, normal, hmm or a filter such as gjr-mixture",
                                 param_hint="--horizon")
    _, returns = load_returns(prices, columns, date_column, date_format, kind, missing)
    _check_horizon(horizon, len(returns))
    weights = parse_weights(weights, returns)
    rows = _var_rows(returns, weights, level, model, n_components, horizon, paths, seed)
    if as_json:
        echo_json({"data": prices, "level": level, "model": model, "returns": kind,
                   "horizon": horizon, "results": rows})
        return
    from gmmkit.cli.helpers import format_table

    header = ["series", "VaR", *(["ES"] if es else [])]
    if horizon > 1:
        header += ["sqrt-time VaR", *(["sqrt-time ES"] if es else [])]
    keys = {"VaR": "var", "ES": "es", "sqrt-time VaR": "sqrt_time_var",
            "sqrt-time ES": "sqrt_time_es"}
    days = "one-day" if horizon == 1 else f"{horizon}-day"
    click.echo(f"{days} {level:.4g} {model} risk of {kind} returns (positive = loss):")
    click.echo(format_table([*header, "date"], [[r["series"], *(r[keys[h]] for h in header[1:]),
                                                 r["date"]] for r in rows]))


def _check_horizon(horizon, n_returns):
    from gmmkit_finance.horizon import HORIZONS_PER_FIT

    if horizon > 1 and horizon * HORIZONS_PER_FIT > n_returns:
        raise click.BadParameter(
            f"{horizon} days is more than the data support: {n_returns} returns, and an "
            f"H-day forecast needs at least {HORIZONS_PER_FIT} H of them; use --horizon "
            f"{max(1, n_returns // HORIZONS_PER_FIT)} or less, or a longer series",
            param_hint="--horizon")


def _var_rows(returns, weights, level, model, k, horizon, paths, seed):
    import pandas as pd

    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    joint = weights is not None and model in ("gmm", "hmm")
    targets = {"portfolio": frame} if joint else (
        {"portfolio": frame @ weights} if weights is not None else dict(frame.items()))
    rows = []
    for name, data in targets.items():
        fitted = _fit_var_model(data, model, k, seed, horizon)
        rows.append({"series": str(name), **_risk(fitted, data, level, horizon, paths, seed,
                                                  weights if joint else None)})
    date = str(frame.index[-1].date()) if hasattr(frame.index[-1], "date") else ""
    return [{**row, "date": date} for row in rows]


def _fit_var_model(data, model, k, seed, horizon):
    from gmmkit_finance import fit_filtered, fit_regimes, fit_returns, fit_volatility

    if model == "gmm":
        return fit_returns(data, k, random_state=seed)
    if model == "normal" and horizon > 1:
        return fit_returns(data, 1)  # a one-component mixture simulates independent days
    if model == "hmm":
        return fit_regimes(data, 2 if k == "auto" else k, random_state=seed)
    if model == "filtered-gmm":
        return fit_filtered(data, 2 if k == "auto" else k)
    if model in ("normal", "historical"):
        return _Unconditional(data, model)
    volatility, innovations = model.split("-")
    return fit_volatility(data, volatility, innovations, random_state=seed,
                          n_components=2 if k == "auto" else k)


def _risk(fitted, data, level, horizon, paths, seed, weights):
    import warnings

    import numpy as np

    from gmmkit_finance.garch import VolatilityModel
    from gmmkit_finance.horizon import SqrtTimeWarning, horizon_risk

    values = np.asarray(data, dtype=np.float64)
    if horizon == 1:
        if isinstance(fitted, VolatilityModel):
            sigma = float(np.sqrt(fitted.variance(values)[-1]))
            return {"var": float(fitted.value_at_risk(level, sigma=sigma)),
                    "es": float(fitted.expected_shortfall(level, sigma=sigma))}
        options = {} if weights is None else {"weights": weights}
        return {"var": float(fitted.value_at_risk(level, **options)),
                "es": float(fitted.expected_shortfall(level, **options))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SqrtTimeWarning)
        found = horizon_risk(fitted, horizon, level, weights=weights, n_paths=paths,
                             random_state=seed,
                             returns=values if isinstance(fitted, VolatilityModel) else None)
    for warning in caught:
        click.echo(f"Warning: {warning.message}", err=True)
    return {"var": found.var, "es": found.es, "sqrt_time_var": found.sqrt_time_var,
            "sqrt_time_es": found.sqrt_time_es}


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
@click.option("--level", default=0.99, show_default=True, type=float)
@click.option("--window", default=1000, show_default=True, type=click.IntRange(min=50))
@click.option("--refit-every", default=20, show_default=True, type=click.IntRange(min=1))
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
@click.option("-k", "--n-components", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--volatility", type=click.Choice(["garch", "ewma"]), default="garch",
              show_default=True, help="The filter of filtered-gmm.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write returns, -VaR and -ES lines and exceedances to this PNG.")
@quiet_option("progress bar")
@force_option
def backtest(prices, columns, date_column, date_format, kind, missing, as_json, weights, level,
             window, refit_every, models, tests, simulations, expanding, n_components,
             volatility, plot_path, quiet, force):
    """Rolling VaR/ES backtest: exceedances and the --tests p-values per model."""
    from gmmkit_finance.backtest import backtest_var
    from gmmkit_finance.plots import plot_backtest

    outputs = command_outputs(force, prices)
    plot_file = outputs.figure(plot_path, "plot_path")
    _, returns = load_returns(prices, columns, date_column, date_format, kind, missing)
    series = portfolio(returns, parse_weights(weights, returns))
    options = dict(level=level, window=window, refit_every=refit_every, models=models,
                   expanding=expanding, n_components=n_components, volatility=volatility,
                   tests=tests, n_simulations=simulations)
    if quiet:
        result = backtest_var(series, **options)
    else:
        total = max(1, -(-(len(series) - window) // refit_every))
        with click.progressbar(length=total, label="backtest refits", file=sys.stderr) as bar:
            result = backtest_var(series, **options, progress=lambda done, total: bar.update(1))
    if plot_file is not None:
        plot_file.write(lambda temporary: plot_backtest(result, temporary))
    outputs.commit()
    _print_backtest(result, prices, tests, as_json)


def _print_backtest(result, prices, tests, as_json):
    table = result.table
    if as_json:
        echo_json({"data": prices, "level": result.level, "tests": tests,
                   "models": records(table)})
        return
    from gmmkit.cli.helpers import format_table

    columns = [pair for test in tests for pair in TEST_COLUMNS[test]]
    verdict = "kupiec" in tests and "christoffersen" in tests
    rows = [[model, int(row.days), int(row.exceedances), round(row.expected, 1),
             *(row[column] for _, column in columns),
             *(["pass" if result.passes(model) else "fail"] if verdict else [])]
            for model, row in table.iterrows()]
    click.echo(f"{result.level:.4g} VaR backtest of {prices}, "
               f"{result.returns.index[0].date()}..{result.returns.index[-1].date()}:")
    click.echo(format_table(["model", "days", "exceedances", "expected",
                             *(header for header, _ in columns),
                             *(["5% level"] if verdict else [])], rows))
