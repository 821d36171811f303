"""gmmkit_finance: return distributions, regimes, mixture VaR/ES and backtests (built-in plugin).

Needs the ``finance`` extra (pandas): ``pip install 'gmmkit[finance]'``.
pandas and scipy are imported inside the functions that use them, so
loading the plugin costs nothing.

Python API::

    from gmmkit_finance import load_prices, to_returns, fit_returns, backtest_var
    returns = to_returns(load_prices("sp500"))            # log returns, indexed by date
    fitted = fit_returns(returns)                         # K by BIC
    fitted.value_at_risk(0.99), fitted.expected_shortfall(0.99)
    result = backtest_var(returns, level=0.99, window=1000, refit_every=20)
    result.table                                          # Kupiec / Christoffersen per model

See docs/finance.md.
"""

from __future__ import annotations

from gmmkit import hookimpl
from gmmkit_finance.backtest import DEFAULT_MODELS, Backtest, LowPowerWarning, backtest_var
from gmmkit_finance.backtest_table import TESTS, comparison_table
from gmmkit_finance.backtests import (
    SimulatedTest,
    TrafficLight,
    acerbi_szekely_test,
    acerbi_szekely_tests,
    dynamic_quantile_test,
    mcneil_frey_test,
    traffic_light,
)
from gmmkit_finance.coverage import (
    CoverageTest,
    christoffersen_test,
    conditional_coverage_test,
    coverage_summary,
    kupiec_power,
    kupiec_test,
)
from gmmkit_finance.data import BUNDLED_PRICES, load_prices, to_returns
from gmmkit_finance.features import log_returns
from gmmkit_finance.filtered import FilteredMixture, fit_filtered
from gmmkit_finance.fit import ReturnMixture, fit_returns
from gmmkit_finance.forecasters import MODELS
from gmmkit_finance.garch import NonStationaryWarning, VolatilityModel, fit_volatility
from gmmkit_finance.hmm import fit_regimes
from gmmkit_finance.horizon import HorizonRisk, SqrtTimeWarning, horizon_risk
from gmmkit_finance.innovations import Innovations
from gmmkit_finance.plots import plot_density, plot_regime_probabilities, plot_regimes
from gmmkit_finance.plots_risk import plot_backtest, plot_var
from gmmkit_finance.regime_model import MarkovRegimes
from gmmkit_finance.regimes import DailyRegimesWarning, Regimes, regimes
from gmmkit_finance.risk import mixture_es, mixture_quantile, mixture_var, portfolio_mixture
from gmmkit_finance.volatility import (
    GarchParams,
    conditional_volatility,
    ewma_variance,
    fit_garch,
    garch_variance,
)

requires = ("pandas",)
install_hint = "pip install 'gmmkit[finance]'"

__all__ = [
    "BUNDLED_PRICES",
    "DEFAULT_MODELS",
    "MODELS",
    "Backtest",
    "CoverageTest",
    "DailyRegimesWarning",
    "FilteredMixture",
    "GarchParams",
    "HorizonRisk",
    "Innovations",
    "LowPowerWarning",
    "MarkovRegimes",
    "NonStationaryWarning",
    "Regimes",
    "SimulatedTest",
    "SqrtTimeWarning",
    "TESTS",
    "TrafficLight",
    "VolatilityModel",
    "ReturnMixture",
    "acerbi_szekely_test",
    "acerbi_szekely_tests",
    "backtest_var",
    "christoffersen_test",
    "comparison_table",
    "conditional_coverage_test",
    "conditional_volatility",
    "dynamic_quantile_test",
    "coverage_summary",
    "ewma_variance",
    "fit_filtered",
    "fit_garch",
    "fit_regimes",
    "fit_returns",
    "fit_volatility",
    "garch_variance",
    "horizon_risk",
    "kupiec_power",
    "kupiec_test",
    "load_prices",
    "mcneil_frey_test",
    "log_returns",
    "mixture_es",
    "mixture_quantile",
    "mixture_var",
    "plot_backtest",
    "plot_density",
    "plot_regime_probabilities",
    "plot_regimes",
    "plot_var",
    "portfolio_mixture",
    "regimes",
    "to_returns",
    "traffic_light",
]


@hookimpl
def gmmkit_register_features(register):
    register("log_returns", log_returns)


@hookimpl
def gmmkit_register_commands(cli):
    from gmmkit_finance.cli import finance

    cli.add_command(finance)


@hookimpl
def gmmkit_register_demos(register):
    from gmmkit_finance.demo import finance_demo

    register("finance", finance_demo)
