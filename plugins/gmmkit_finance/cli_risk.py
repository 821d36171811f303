"""``gmmkit finance var``: one-day or h-day VaR/ES of a long or short position."""

from __future__ import annotations

import click

from gmmkit.cli.helpers import (
    ComponentsType,
    command_outputs,
    echo_json,
    force_option,
    seed_option,
)
from gmmkit_finance.cli_options import (
    data_options,
    level_option,
    load_returns,
    parse_weights,
    position_option,
    weights_option,
)

#: filters whose names --model takes: <filter>-<innovations>
VOLATILITY_NAMES = tuple(f"{v}-{d}" for v in ("garch", "gjr", "egarch")
                         for d in ("normal", "t", "mixture"))
VAR_MODELS = ("gmm", "filtered-gmm", "normal", "historical", "hmm", *VOLATILITY_NAMES)
#: the models var --horizon can simulate
HORIZON_MODELS = ("gmm", "normal", "hmm", *VOLATILITY_NAMES)


@click.command()
@data_options
@weights_option
@level_option
@position_option
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
@click.option("--window", type=click.IntRange(min=10),
              help="Fit on the last WINDOW returns only (default: all of them).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write each series' return histogram with the VaR and ES marked to this PNG.")
@seed_option()
@force_option
def var(prices, columns, date_column, date_format, kind, missing, as_json, weights, level,
        position, es, model, n_components, horizon, paths, window, plot_path, seed, force):
    """Value-at-Risk (and ES) of each price column, or of a --weights portfolio.

    The 'as of' column is the last date of the data used: the VaR and ES are
    of the return over the next trading day (--horizon days) after it.
    """
    if horizon > 1 and model not in HORIZON_MODELS:
        raise click.BadParameter(f"{model} has no model to simulate {horizon} days with; use "
                                 "--model gmm, normal, hmm or a filter such as gjr-mixture",
                                 param_hint="--horizon")
    outputs = command_outputs(force, prices)
    plot_file = outputs.figure(plot_path, "plot_path")
    _, returns = load_returns(prices, columns, date_column, date_format, kind, missing)
    returns = _last(returns, window)
    _check_horizon(horizon, len(returns))
    weights = parse_weights(weights, returns)
    targets = _targets(returns, weights, model)
    rows = _var_rows(targets, weights, level, position, model, n_components, horizon, paths,
                     seed)
    if plot_file is not None:
        from gmmkit_finance.plots_risk import plot_var

        plot_file.write(lambda temporary: plot_var(
            {name: _one_series(data, weights) for name, data in targets.items()}, rows,
            temporary, level=level, position=position, model=model, horizon=horizon))
    outputs.commit()
    if as_json:
        echo_json({"data": prices, "level": level, "position": position, "model": model,
                   "returns": kind, "horizon": horizon, "window": len(returns),
                   "results": rows})
        return
    from gmmkit.cli.helpers import format_table

    header = ["series", "VaR", *(["ES"] if es else [])]
    if horizon > 1:
        header += ["sqrt-time VaR", *(["sqrt-time ES"] if es else [])]
    keys = {"VaR": "var", "ES": "es", "sqrt-time VaR": "sqrt_time_var",
            "sqrt-time ES": "sqrt_time_es"}
    days = "one-day" if horizon == 1 else f"{horizon}-day"
    click.echo(f"{days} {level:.4g} {model} risk of a {position} position in {kind} returns "
               f"(positive = loss), fitted to {len(returns)} returns; the VaR is of the "
               f"{'next day' if horizon == 1 else f'next {horizon} days'} after 'as of':")
    click.echo(format_table([*header, "as of"], [[r["series"], *(r[keys[h]] for h in header[1:]),
                                                  r["as_of"]] for r in rows]))


def _last(returns, window):
    """The last ``window`` returns (all of them when None), or a usage error."""
    if window is None:
        return returns
    if window > len(returns):
        raise click.BadParameter(f"{window} is more than the {len(returns)} returns of the "
                                 f"data; use --window {len(returns)} or less",
                                 param_hint="--window")
    return returns.iloc[-window:]


def _check_horizon(horizon, n_returns):
    from gmmkit_finance.horizon import HORIZONS_PER_FIT

    if horizon > 1 and horizon * HORIZONS_PER_FIT > n_returns:
        raise click.BadParameter(
            f"{horizon} days is more than the data support: {n_returns} returns, and an "
            f"H-day forecast needs at least {HORIZONS_PER_FIT} H of them; use --horizon "
            f"{max(1, n_returns // HORIZONS_PER_FIT)} or less, or a longer series",
            param_hint="--horizon")


def _targets(returns, weights, model):
    """{series name: returns}: each column, the portfolio, or (gmm, hmm) the joint columns."""
    import pandas as pd

    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    if weights is not None and model in ("gmm", "hmm"):
        return {"portfolio": frame}
    return {"portfolio": frame @ weights} if weights is not None else dict(frame.items())


def _one_series(data, weights):
    """The returns a row's VaR is of: the series, or the joint columns' portfolio."""
    return data @ weights if getattr(data, "ndim", 1) == 2 else data


def _var_rows(targets, weights, level, position, model, k, horizon, paths, seed):
    rows = []
    for name, data in targets.items():
        joint = getattr(data, "ndim", 1) == 2
        fitted = _fit_var_model(data, model, k, seed, horizon)
        rows.append({"series": str(name),
                     **_risk(fitted, data, level, position, horizon, paths, seed,
                             weights if joint else None)})
    last = next(iter(targets.values())).index[-1]
    as_of = str(last.date()) if hasattr(last, "date") else str(last)
    return [{**row, "as_of": as_of} for row in rows]


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


def _risk(fitted, data, level, position, horizon, paths, seed, weights):
    import warnings

    import numpy as np

    from gmmkit_finance.garch import VolatilityModel
    from gmmkit_finance.horizon import SqrtTimeWarning, horizon_risk

    values = np.asarray(data, dtype=np.float64)
    if horizon == 1:
        if isinstance(fitted, VolatilityModel):
            sigma = float(np.sqrt(fitted.variance(values)[-1]))
            return {"var": float(fitted.value_at_risk(level, sigma=sigma, position=position)),
                    "es": float(fitted.expected_shortfall(level, sigma=sigma,
                                                          position=position))}
        options = {"position": position, **({} if weights is None else {"weights": weights})}
        return {"var": float(fitted.value_at_risk(level, **options)),
                "es": float(fitted.expected_shortfall(level, **options))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SqrtTimeWarning)
        found = horizon_risk(fitted, horizon, level, weights=weights, n_paths=paths,
                             random_state=seed, position=position,
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

    def _var_es(self, level, position):
        from gmmkit_finance import risk

        if self.model == "normal":
            return risk.normal_var_es(self.values.mean(), self.values.std(ddof=1), level,
                                      position=position)
        return risk.historical_var_es(self.values, level, position=position)

    def value_at_risk(self, level, *, position="long"):
        return self._var_es(level, position)[0]

    def expected_shortfall(self, level, *, position="long"):
        return self._var_es(level, position)[1]
