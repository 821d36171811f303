"""Coverage tests of VaR exceedances: Kupiec and Christoffersen.

With ``p = 1 - level`` the promised exceedance probability, ``n`` days
and ``x`` exceedances (a 0/1 hit sequence ``I_t``):

- Kupiec's proportion of failures (POF, 1995):
  ``LR_pof = -2 [log L(p) - log L(x/n)]`` with
  ``log L(q) = (n - x) log(1 - q) + x log q``; chi-squared, 1 d.o.f.
- Christoffersen's independence test (1998): ``n_ij`` counts days with
  ``I_{t-1} = i, I_t = j``; a first-order Markov chain with
  ``pi_01 = n_01 / (n_00 + n_01)``, ``pi_11 = n_11 / (n_10 + n_11)``
  against independent hits with ``pi = (n_01 + n_11) / (n - 1)``;
  chi-squared, 1 d.o.f. Exceedances that cluster (a VaR slow to react to a
  crisis) fail it.
- Conditional coverage: ``LR_cc = LR_pof + LR_ind``; chi-squared, 2 d.o.f.

``0 * log 0`` counts as 0 (scipy's xlogy), so sequences with no hits, or
no hit followed by another day, have finite statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoverageTest:
    """A likelihood-ratio test result.

    Attributes
    ----------
    statistic : float
    pvalue : float
    df : int
        Degrees of freedom of the chi-squared reference distribution.
    """

    statistic: float
    pvalue: float
    df: int

    def passes(self, alpha=0.05):
        """True when the test does not reject at significance ``alpha``."""
        return self.pvalue > alpha


def _hits(exceedances):
    hits = np.asarray(exceedances)
    if hits.ndim != 1 or hits.size < 2:
        raise ValueError(f"coverage tests need a 1-D hit sequence of at least 2 days; got "
                         f"shape {hits.shape}.")
    if not np.isin(hits, (0, 1)).all():
        raise ValueError("exceedances must be 0/1 or booleans (1 = the loss exceeded the VaR).")
    return hits.astype(np.int64)


def _bernoulli_loglik(n_zero, n_one, prob):
    from scipy.special import xlog1py, xlogy

    return float(xlog1py(n_zero, -prob) + xlogy(n_one, prob))


def _chi2(statistic, df):
    from scipy.stats import chi2

    statistic = max(float(statistic), 0.0)
    return CoverageTest(statistic, float(chi2.sf(statistic, df)), df)


def kupiec_test(exceedances, level):
    """Kupiec's proportion-of-failures test.

    Parameters
    ----------
    exceedances : array-like of bool or 0/1, shape (n_days,)
    level : float in (0, 1)
        The VaR confidence level (0.99 promises exceedances on 1% of days).

    Returns
    -------
    CoverageTest
    """
    from gmmkit_finance.risk import check_level

    hits = _hits(exceedances)
    p = 1.0 - check_level(level)
    n, x = hits.size, int(hits.sum())
    statistic = -2.0 * (_bernoulli_loglik(n - x, x, p) - _bernoulli_loglik(n - x, x, x / n))
    return _chi2(statistic, 1)


def transition_counts(exceedances):
    """n_00, n_01, n_10, n_11: day pairs (I_{t-1}, I_t) of the hit sequence."""
    hits = _hits(exceedances)
    before, after = hits[:-1], hits[1:]
    return tuple(int(np.sum((before == i) & (after == j))) for i in (0, 1) for j in (0, 1))


def christoffersen_test(exceedances):
    """Christoffersen's independence test (first-order Markov alternative).

    Parameters
    ----------
    exceedances : array-like of bool or 0/1, shape (n_days,)

    Returns
    -------
    CoverageTest
    """
    n00, n01, n10, n11 = transition_counts(exceedances)
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    independent = _bernoulli_loglik(n00 + n10, n01 + n11, pi)
    markov = _bernoulli_loglik(n00, n01, pi01) + _bernoulli_loglik(n10, n11, pi11)
    return _chi2(-2.0 * (independent - markov), 1)


def conditional_coverage_test(exceedances, level):
    """Christoffersen's conditional coverage test: LR_pof + LR_ind, 2 d.o.f."""
    total = kupiec_test(exceedances, level).statistic + christoffersen_test(exceedances).statistic
    return _chi2(total, 2)


def coverage_summary(exceedances, level):
    """Every figure of a VaR backtest's hit sequence, as a dict.

    Returns
    -------
    dict
        days, exceedances, expected, rate, and statistic/p-value of the
        Kupiec, Christoffersen independence and conditional coverage tests
        (keys ``kupiec_lr``, ``kupiec_p``, ``independence_lr``,
        ``independence_p``, ``cc_lr``, ``cc_p``).
    """
    hits = _hits(exceedances)
    tests = {
        "kupiec": kupiec_test(hits, level),
        "independence": christoffersen_test(hits),
        "cc": conditional_coverage_test(hits, level),
    }
    summary = {
        "days": int(hits.size),
        "exceedances": int(hits.sum()),
        "expected": float(hits.size * (1.0 - level)),
        "rate": float(hits.mean()),
    }
    for name, test in tests.items():
        summary[f"{name}_lr"] = test.statistic
        summary[f"{name}_p"] = test.pvalue
    return summary


def kupiec_power(n_days: int, level: float, *, rate: float | None = None,
                 alpha: float = 0.05) -> float:
    """The probability that Kupiec's test rejects a VaR whose true exceedance rate is ``rate``.

    Exact: the sum of the binomial probabilities of the exceedance counts
    ``x = 0..n_days`` whose Kupiec p-value is at most ``alpha``.

    Parameters
    ----------
    n_days : int
        Days in the test.
    level : float in (0, 1)
        The VaR confidence level (the promised rate is ``1 - level``).
    rate : float in (0, 1), optional
        The true exceedance rate; default twice the promised one.
    alpha : float, default=0.05
        The test's significance level.

    Returns
    -------
    float
    """
    from scipy.special import xlog1py, xlogy
    from scipy.stats import binom, chi2

    from gmmkit_finance.risk import check_level

    p = 1.0 - check_level(level)
    rate = 2.0 * p if rate is None else check_level(rate)
    n = int(n_days)
    x = np.arange(n + 1)
    observed = x / n
    statistic = -2.0 * (xlog1py(n - x, -p) + xlogy(x, p)
                        - xlog1py(n - x, -observed) - xlogy(x, observed))
    rejected = chi2.sf(np.maximum(statistic, 0.0), 1) <= alpha
    return float(binom.pmf(x[rejected], n, rate).sum())
