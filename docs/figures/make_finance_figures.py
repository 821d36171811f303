"""Make docs/figures/finance_*.png (the figures of docs/finance.md).

Run from the repository root: ``python docs/figures/make_finance_figures.py``.
"""

from pathlib import Path

from gmmkit_finance import (
    backtest_var,
    fit_returns,
    load_prices,
    plot_backtest,
    plot_density,
    plot_regimes,
    regimes,
    to_returns,
)

OUT = Path(__file__).resolve().parent


def main():
    prices = load_prices("sp500")
    returns = to_returns(prices)
    plot_density(returns, fit_returns(returns), OUT / "finance_density.png")
    plot_regimes(prices, regimes(returns, 3, window=21), OUT / "finance_regimes.png")
    result = backtest_var(returns, level=0.99, window=1000, refit_every=20)
    plot_backtest(result, OUT / "finance_backtest.png",
                  title="99% VaR backtest, S&P 500 (window 1000, refit every 20 days)")
    print(result.table.round(4).to_string())


if __name__ == "__main__":
    main()
