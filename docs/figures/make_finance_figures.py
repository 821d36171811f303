"""Make docs/figures/finance_*.png and print the tables of docs/finance.md.

Run from the repository root: ``python docs/figures/make_finance_figures.py``
(a few minutes: one backtest compares nine models with every test).
"""

from pathlib import Path

from gmmkit_finance import (
    backtest_var,
    fit_regimes,
    fit_returns,
    load_prices,
    plot_backtest,
    plot_density,
    plot_regime_probabilities,
    plot_regimes,
    regimes,
    to_returns,
)

OUT = Path(__file__).resolve().parent
#: the models of the comparison table, with every test
COMPARED = ["normal", "historical", "gmm", "filtered-gmm", "garch-t", "gjr-t", "gjr-mixture",
            "hmm"]
COLUMNS = ["exceedances", "kupiec_p", "cc_p", "dq_p", "z1", "z1_p", "z2", "z2_p",
           "mcneil_frey_p", "zone"]


def main():
    prices = load_prices("sp500")
    returns = to_returns(prices)
    plot_density(returns, fit_returns(returns), OUT / "finance_density.png")
    plot_regimes(prices, regimes(returns, 3, window=21), OUT / "finance_regimes.png",
                 window=21)
    hmm = fit_regimes(returns, 2)
    plot_regime_probabilities(prices, hmm, OUT / "finance_hmm_regimes.png")
    print(hmm.table.round(4).to_string())
    print(hmm.transmat.round(4))
    result = backtest_var(returns, level=0.99, window=1000, refit_every=20)
    plot_backtest(result, OUT / "finance_backtest.png",
                  title="99% VaR backtest, S&P 500 (window 1000, refit every 20 days)")
    print(result.table.round(4).to_string())
    compared = backtest_var(returns, level=0.99, window=1000, refit_every=20, models=COMPARED,
                            tests=["kupiec", "christoffersen", "dq", "es", "traffic"])
    plot_backtest(compared.__class__(
        compared.var[["normal", "gjr-mixture"]], compared.es[["normal", "gjr-mixture"]],
        compared.exceedances[["normal", "gjr-mixture"]], compared.returns,
        compared.table.loc[["normal", "gjr-mixture"]], compared.level,
        ["normal", "gjr-mixture"]), OUT / "finance_es_backtest.png",
        title="99% VaR (solid) and ES (dashed): normal against GJR-GARCH with mixture "
              "innovations")
    table = compared.table[COLUMNS]
    print("| model | " + " | ".join(COLUMNS) + " |")
    print("| --- " * (len(COLUMNS) + 1) + "|")
    for model, row in table.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        print(f"| {model} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
