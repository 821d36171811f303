"""The finance section of ``gmmkit demo``: S&P 500 density, regimes and a VaR backtest."""

from __future__ import annotations

DEMO_WINDOW = 1000
DEMO_REFIT_EVERY = 50


def finance_demo(out_dir):
    """S&P 500 daily returns: mixture vs normal density, volatility regimes, a VaR backtest."""
    from gmmkit.demo import DemoSection, pyplot
    from gmmkit_finance.backtest import backtest_var
    from gmmkit_finance.data import load_prices, to_returns
    from gmmkit_finance.fit import fit_returns
    from gmmkit_finance.plots import plot_density, plot_regimes
    from gmmkit_finance.plots_risk import plot_backtest
    from gmmkit_finance.regimes import regimes

    prices = load_prices("sp500")
    returns = to_returns(prices)
    fitted = fit_returns(returns)
    found = regimes(returns, 3, window=21)
    tested = backtest_var(returns, level=0.99, window=DEMO_WINDOW,
                          refit_every=DEMO_REFIT_EVERY)
    days = tested.table["days"].iloc[0]
    section = DemoSection(
        "S&P 500: fat tails, regimes and mixture VaR",
        paragraphs=[
            f"{len(returns)} daily log returns of the S&P 500 "
            f"({returns.index[0].date()} to {returns.index[-1].date()}). BIC chose a "
            f"{fitted.n_components}-component mixture: its 99% one-day VaR is "
            f"{fitted.value_at_risk(0.99):.2%} and its Expected Shortfall "
            f"{fitted.expected_shortfall(0.99):.2%}.",
            "Regimes: a 3-component mixture of the 21-day trailing volatility; regime 0 is "
            "the calmest. Annualised figures per regime: "
            + "; ".join(f"regime {r}: mean {row['annual mean']:.1%}, volatility "
                        f"{row['annual volatility']:.1%}, {row['weight']:.0%} of days"
                        for r, row in found.table.iterrows()) + ".",
            f"Backtest of the 99% VaR over the last {days} days (window {DEMO_WINDOW}, refit "
            f"every {DEMO_REFIT_EVERY} days): the table gives the exceedances and the p-values "
            "of Kupiec's and Christoffersen's tests (pass = no rejection at 5%).",
        ],
        table=[["model", "exceedances", "expected", "Kupiec p", "independence p",
                "cond. coverage p", "5% level"]]
        + [[model, int(row["exceedances"]), round(float(row["expected"]), 1),
            float(row["kupiec_p"]), float(row["independence_p"]), float(row["cc_p"]),
            "pass" if tested.passes(model) else "fail"]
           for model, row in tested.table.iterrows()],
    )
    if pyplot() is not None:
        section.figures = [
            plot_density(returns, fitted, out_dir / "finance_density.png").name,
            plot_regimes(prices, found, out_dir / "finance_regimes.png", window=21).name,
            plot_backtest(tested, out_dir / "finance_backtest.png").name,
        ]
    return section
