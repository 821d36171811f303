"""Volatility filters: GARCH(1,1) by maximum likelihood, and EWMA (RiskMetrics).

GARCH(1,1) with a constant mean::

    r_t = mu + e_t,   sigma2_t = omega + alpha * e_{t-1}^2 + beta * sigma2_{t-1}

The variance recursion is a first-order linear filter of the squared
residuals, so it runs as one ``scipy.signal.lfilter`` call, and the
(Gaussian quasi-) likelihood is maximised with SLSQP under
``alpha + beta < 1``. The recursion starts from a backcast: an
exponentially weighted mean of the first squared residuals (weights
0.94**i over at most 75 days), the same convention as the `arch` package,
so estimates agree with it (tests/finance/test_finance_volatility.py checks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKCAST_DAYS = 75
BACKCAST_DECAY = 0.94
#: alpha + beta is kept at most this, so the variance stays stationary
MAX_PERSISTENCE = 0.99999


@dataclass
class GarchParams:
    """GARCH(1,1) parameters in the units of the returns.

    Attributes
    ----------
    mu, omega, alpha, beta : float
    loglik : float
        Gaussian log-likelihood of the fitted returns (nan if not fitted).
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    loglik: float = float("nan")

    @property
    def persistence(self):
        """alpha + beta: how slowly a volatility shock decays."""
        return self.alpha + self.beta

    @property
    def long_run_volatility(self):
        """sqrt(omega / (1 - alpha - beta)), per period."""
        return float(np.sqrt(self.omega / (1.0 - self.persistence)))


def backcast(residuals):
    """Starting variance of the recursion: exponentially weighted mean of e_t^2."""
    head = np.asarray(residuals[:BACKCAST_DAYS], dtype=np.float64) ** 2
    weights = BACKCAST_DECAY ** np.arange(head.size)
    return float(weights @ head / weights.sum())


def garch_variance(returns, params, *, start_variance=None):
    """Conditional variances sigma2_t of GARCH(1,1), t = 0..n (one step past the data).

    Parameters
    ----------
    returns : ndarray of shape (n_dates,)
    params : GarchParams
    start_variance : float, optional
        The variance before the first date (default: :func:`backcast`).

    Returns
    -------
    ndarray of shape (n_dates + 1,)
        ``sigma2[t]`` uses returns up to t-1; the last entry is the forecast
        for the day after the data.
    """
    from scipy.signal import lfilter

    residuals = np.asarray(returns, dtype=np.float64) - params.mu
    start = backcast(residuals) if start_variance is None else float(start_variance)
    squared = np.concatenate([[start], residuals**2])
    drive = params.omega + params.alpha * squared
    return lfilter([1.0], [1.0, -params.beta], drive, zi=[params.beta * start])[0]


def _negative_loglik(theta, returns, start):
    mu, omega, alpha, beta = theta
    residuals = returns - mu
    params = GarchParams(mu, omega, alpha, beta)
    variance = garch_variance(returns, params, start_variance=start)[:-1]
    variance = np.maximum(variance, 1e-300)
    return 0.5 * float(np.sum(np.log(2 * np.pi * variance) + residuals**2 / variance))


def fit_garch(returns, *, init=None, backend="scipy"):
    """Fit GARCH(1,1) with a constant mean by Gaussian maximum likelihood.

    Parameters
    ----------
    returns : array-like of shape (n_dates,)
        One asset's returns (any units; fitted internally on a unit scale).
    init : GarchParams, optional
        Starting values, e.g. the previous window's fit (a warm start).
    backend : {"scipy", "arch"}, default="scipy"
        ``"arch"`` fits with the `arch` package instead (it must be
        installed); the two agree to a few decimals.

    Returns
    -------
    GarchParams
    """
    returns = np.asarray(returns, dtype=np.float64).ravel()
    if returns.size < 10:
        raise ValueError(f"GARCH(1,1) needs at least 10 returns; got {returns.size}.")
    if backend == "arch":
        return _fit_with_arch(returns)
    if backend != "scipy":
        raise ValueError(f"backend={backend!r}; use 'scipy' or 'arch'.")
    from scipy.optimize import minimize

    scale = float(returns.std()) or 1.0
    scaled = returns / scale
    if init is None:
        theta0 = [scaled.mean(), 0.02 * scaled.var(), 0.08, 0.9]
    else:
        theta0 = [init.mu / scale, init.omega / scale**2, init.alpha, init.beta]
    start = backcast(scaled - theta0[0])
    bounds = [(-1.0, 1.0), (1e-8, 10.0), (0.0, 1.0), (0.0, 1.0)]
    theta0 = np.clip(theta0, [b[0] for b in bounds], [b[1] for b in bounds])
    constraint = {"type": "ineq", "fun": lambda t: MAX_PERSISTENCE - t[2] - t[3]}
    if theta0[2] + theta0[3] > MAX_PERSISTENCE:
        theta0[3] = MAX_PERSISTENCE - theta0[2] - 1e-3
    result = minimize(_negative_loglik, theta0, args=(scaled, start), method="SLSQP",
                      bounds=bounds, constraints=[constraint],
                      options={"maxiter": 200, "ftol": 1e-9})
    mu, omega, alpha, beta = result.x
    loglik = -result.fun - returns.size * np.log(scale)
    return GarchParams(float(mu * scale), float(omega * scale**2), float(alpha), float(beta),
                       float(loglik))


def _fit_with_arch(returns):
    try:
        from arch import arch_model
    except ImportError:
        raise ValueError("backend='arch' needs the arch package: pip install arch") from None
    scale = float(returns.std()) or 1.0
    fitted = arch_model(returns / scale, mean="Constant", vol="GARCH", p=1, q=1,
                        dist="normal", rescale=False).fit(disp="off")
    p = fitted.params
    return GarchParams(float(p["mu"]) * scale, float(p["omega"]) * scale**2,
                       float(p["alpha[1]"]), float(p["beta[1]"]),
                       float(fitted.loglikelihood) - returns.size * np.log(scale))


def ewma_variance(returns, *, decay=0.94, start_variance=None):
    """RiskMetrics EWMA variances: sigma2_t = decay * sigma2_{t-1} + (1 - decay) * r_{t-1}^2.

    Parameters
    ----------
    returns : array-like of shape (n_dates,)
    decay : float in (0, 1), default=0.94
    start_variance : float, optional
        Default: :func:`backcast` of the returns.

    Returns
    -------
    ndarray of shape (n_dates + 1,)
        As :func:`garch_variance`: the last entry is the next day's forecast.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay={decay}; it must be between 0 and 1 (RiskMetrics uses 0.94).")
    returns = np.asarray(returns, dtype=np.float64).ravel()
    params = GarchParams(0.0, 0.0, 1.0 - decay, decay)
    return garch_variance(returns, params, start_variance=start_variance)


def conditional_volatility(returns, *, method="garch", params=None, decay=0.94):
    """Fitted per-date volatility of one return series.

    Parameters
    ----------
    returns : pandas.Series or array-like of shape (n_dates,)
    method : {"garch", "ewma"}, default="garch"
    params : GarchParams, optional
        Use these instead of fitting (GARCH only).
    decay : float, default=0.94
        EWMA only.

    Returns
    -------
    pandas.Series or ndarray of shape (n_dates,)
        sigma_t for each date (from returns before it); a Series with the
        input's index when given one.
    """
    values = np.asarray(returns, dtype=np.float64).ravel()
    if method == "garch":
        params = fit_garch(values) if params is None else params
        variance = garch_variance(values, params)
    elif method == "ewma":
        variance = ewma_variance(values, decay=decay)
    else:
        raise ValueError(f"method={method!r}; use 'garch' or 'ewma'.")
    sigma = np.sqrt(variance[:-1])
    index = getattr(returns, "index", None)
    if index is None:
        return sigma
    import pandas as pd

    return pd.Series(sigma, index=index, name="volatility")
