"""Finance benchmark: gmmkit_finance against its references, timed in one run.

What it measures (bundled S&P 500 daily log returns, 5030 days)
-------------------------------------------------------------------
1. GARCH(1,1) fit: ``gmmkit_finance.fit_garch`` (scipy SLSQP on an
   ``lfilter`` recursion) against ``arch.arch_model(...).fit()``, on the
   whole series and on a 1000-day window (the backtest's refit), with the
   largest relative parameter difference and the log-likelihood difference.
2. Return mixture fit: ``gmmkit.GaussianMixture`` against
   ``sklearn.mixture.GaussianMixture`` (same K, n_init=1, same data), with
   the mean log-likelihood difference.
3. Mixture VaR/ES: the exact quantile (Brent on the mixture CDF, ES in
   closed form) against Monte Carlo with 10^6 draws (the usual way), and
   the Monte Carlo error relative to the exact value.
4. The issue's backtest (99% VaR, window 1000, refit every 20 days, four
   models): total seconds with warm starts between refits, against the same
   backtest with ``warm_start=False`` (every mixture from 3 fresh EM starts
   and every GARCH from default starting values at each refit).

Each timing is the fastest of ``--repeat`` runs (default 3). Progress to
stderr, the report to stdout (``--json`` for JSON). Exit code 0 whatever
the figures; it is a report.

How to run::

    python benchmarks/bench_finance.py
    python benchmarks/bench_finance.py --repeat 5 --json
    python benchmarks/bench_finance.py --only regimes gjr-backtest
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def fastest(function, repeat):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def bench_garch(returns, repeat):
    from arch import arch_model
    from gmmkit_finance import fit_garch

    rows = []
    for label, data in (("all 5030 days", returns), ("1000-day window", returns[-1000:])):
        percent = 100 * data

        def with_arch(percent=percent):
            return arch_model(percent, mean="Constant", vol="GARCH", dist="normal",
                              rescale=False).fit(disp="off")

        ours_s, ours = fastest(lambda percent=percent: fit_garch(percent), repeat)
        arch_s, theirs = fastest(with_arch, repeat)
        p = theirs.params
        reference = np.array([p["mu"], p["omega"], p["alpha[1]"], p["beta[1]"]])
        mine = np.array([ours.mu, ours.omega, ours.alpha, ours.beta])
        rows.append({
            "case": f"GARCH(1,1) {label}", "gmmkit_s": ours_s, "reference_s": arch_s,
            "reference": "arch", "speedup": arch_s / ours_s,
            "accuracy": f"max param rel diff {np.max(np.abs(mine / reference - 1)):.1e}, "
                        f"loglik diff {ours.loglik - theirs.loglikelihood:+.1e}",
        })
    return rows


def bench_mixture(returns, repeat):
    from sklearn.mixture import GaussianMixture as SkMixture

    from gmmkit import GaussianMixture

    X = (returns / returns.std())[:, None]
    rows = []
    for k in (2, 4):
        ours_s, ours = fastest(lambda k=k: GaussianMixture(k, random_state=0).fit(X), repeat)
        sk_s, theirs = fastest(lambda k=k: SkMixture(k, random_state=0).fit(X), repeat)
        rows.append({
            "case": f"mixture fit K={k}, 5030 x 1", "gmmkit_s": ours_s, "reference_s": sk_s,
            "reference": "scikit-learn", "speedup": sk_s / ours_s,
            "accuracy": f"mean loglik diff {ours.score(X) - theirs.score(X):+.1e}",
        })
    return rows


def bench_var(returns, repeat):
    from gmmkit_finance import fit_returns
    from gmmkit_finance.risk import mixture_es, mixture_var

    weights, means, covariances = fit_returns(returns, 4).components()
    stds = np.sqrt(covariances[:, 0, 0])
    means = means[:, 0]

    def exact():
        return mixture_var(weights, means, stds, 0.99), mixture_es(weights, means, stds, 0.99)

    def monte_carlo():
        rng = np.random.default_rng(0)
        component = rng.choice(len(weights), size=1_000_000, p=weights)
        draws = rng.normal(means[component], stds[component])
        q = np.quantile(draws, 0.01)
        return -q, -draws[draws <= q].mean()

    exact_s, (var, es) = fastest(exact, repeat)
    mc_s, (mc_var, mc_es) = fastest(monte_carlo, repeat)
    return [{
        "case": "99% VaR + ES of a 4-component mixture", "gmmkit_s": exact_s,
        "reference_s": mc_s, "reference": "Monte Carlo 1e6 draws", "speedup": mc_s / exact_s,
        "accuracy": f"MC error: VaR {mc_var / var - 1:+.1e}, ES {mc_es / es - 1:+.1e} (relative)",
    }]


def bench_backtest(returns, repeat):
    from gmmkit_finance import backtest_var

    options = dict(level=0.99, window=1000, refit_every=20)
    warm_s, warm = fastest(lambda: backtest_var(returns, **options), repeat)
    cold_s, cold = fastest(lambda: backtest_var(returns, **options, warm_start=False), repeat)
    hits = warm.table["exceedances"]
    return [{
        "case": "backtest 4 models, window 1000, refit 20 (202 refits)", "gmmkit_s": warm_s,
        "reference_s": cold_s, "reference": "same, cold starts", "speedup": cold_s / warm_s,
        "accuracy": "exceedances warm/cold: " + ", ".join(
            f"{m} {hits[m]}/{cold.table.loc[m, 'exceedances']}" for m in warm.models),
    }]


def bench_regimes(returns, repeat):
    import warnings

    import statsmodels.api as sm
    from gmmkit_finance import fit_regimes
    from hmmlearn.hmm import GaussianHMM

    data = 100 * returns[-5000:]
    ours_s, ours = fastest(lambda: fit_regimes(data, 3, n_init=1), repeat)

    def with_statsmodels():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sm.tsa.MarkovRegression(data, k_regimes=3, trend="c",
                                           switching_variance=True).fit()

    def with_hmmlearn():  # the same stopping rule: 1e-6 per day
        return GaussianHMM(3, covariance_type="full", n_iter=2000, tol=1e-6 * data.size,
                           random_state=0).fit(data[:, None])

    sm_s, sm_fit = fastest(with_statsmodels, repeat)
    hl_s, hl_fit = fastest(with_hmmlearn, repeat)
    hl_loglik = hl_fit.score(data[:, None])
    return [
        {"case": "Baum-Welch 5000 days, 3 regimes (1 start)", "gmmkit_s": ours_s,
         "reference_s": sm_s, "reference": "statsmodels MarkovRegression",
         "speedup": sm_s / ours_s,
         "accuracy": f"loglik gmmkit {ours.loglik:.2f} ({ours.n_iter} iterations), "
                     f"statsmodels {sm_fit.llf:.2f}"},
        {"case": "Baum-Welch 5000 days, 3 regimes (1 start)", "gmmkit_s": ours_s,
         "reference_s": hl_s, "reference": "hmmlearn GaussianHMM", "speedup": hl_s / ours_s,
         "accuracy": f"loglik gmmkit {ours.loglik:.2f}, hmmlearn {hl_loglik:.2f} "
                     f"({hl_fit.monitor_.iter} iterations)"},
    ]


def bench_gjr_backtest(returns, repeat):
    from gmmkit_finance import backtest_var

    data = returns[-5000:]
    cpu = time.process_time()
    seconds, result = fastest(lambda: backtest_var(
        data, level=0.99, window=1000, refit_every=21, models=["gjr-mixture"],
        tests=["kupiec", "christoffersen", "dq", "es", "traffic"]), repeat)
    cpu = (time.process_time() - cpu) / repeat  # this process's CPU seconds per run
    row = result.table.loc["gjr-mixture"]
    return [{
        "case": "GJR-mixture backtest, 4000 days, monthly refits (191), all tests",
        "gmmkit_s": seconds, "reference_s": 30.0, "reference": "target", "speedup":
        30.0 / seconds,
        "accuracy": f"CPU {cpu:.1f} s; {int(row.exceedances)} exceedances "
                    f"({row.expected:.0f} expected), "
                    f"Kupiec p {row.kupiec_p:.2f}, DQ p {row.dq_p:.2f}, Z2 p {row.z2_p:.2f}",
    }]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="CASE",
                        choices=["garch", "mixture", "var", "backtest", "regimes",
                                 "gjr-backtest"],
                        help="Run only these cases.")
    args = parser.parse_args(argv)

    from gmmkit_finance import load_prices, to_returns

    returns = to_returns(load_prices("sp500")).to_numpy()
    rows = []
    benches = {"garch": bench_garch, "mixture": bench_mixture, "var": bench_var,
               "backtest": bench_backtest, "regimes": bench_regimes,
               "gjr-backtest": bench_gjr_backtest}
    for name in args.only or list(benches):
        bench = benches[name]
        print(f"benchmarking {name} ...", file=sys.stderr)
        rows += bench(returns, args.repeat)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| case | gmmkit s | reference | reference s | speedup | accuracy |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['case']} | {row['gmmkit_s']:.4f} | {row['reference']} | "
              f"{row['reference_s']:.4f} | {row['speedup']:.1f}x | {row['accuracy']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
