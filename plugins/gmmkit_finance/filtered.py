"""Volatility-filtered mixtures: GARCH(1,1) or EWMA volatility, GMM residuals.

``r_t = mu + sigma_t z_t``: a volatility filter gives ``sigma_t`` from past
returns, and the standardised residuals ``z_t`` get a Gaussian mixture
(fat tails and skew that a normal or t misses). The next day's return is
then the mixture of ``z`` scaled by the forecast ``sigma_{t+1}``, so VaR
and ES move with the market: filtered historical simulation, with a
mixture in place of the empirical residuals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_finance import risk, volatility


@dataclass
class FilteredMixture:
    """A volatility filter plus a Gaussian mixture of the standardised residuals.

    Attributes
    ----------
    params : GarchParams
        The filter (for EWMA: mu = 0, alpha = 1 - decay, beta = decay).
    residual_model : gmmkit.GaussianMixture
        1-D mixture of ``z_t = (r_t - mu) / sigma_t``.
    volatility : ndarray of shape (n_dates + 1,)
        sigma_t over the fitted dates plus the next day's forecast (last).
    index : pandas.Index or None
    """

    params: volatility.GarchParams
    residual_model: object
    volatility: np.ndarray
    index: object = None

    def residual_mixture(self):
        """Weights, means and standard deviations (K,) of the residual mixture."""
        model = self.residual_model
        stds = np.sqrt(risk.full_covariances(model)[:, 0, 0])
        return model.weights_, model.means_[:, 0], stds

    def value_at_risk(self, level=0.99, *, sigma=None, position="long"):
        """Next-day VaR (a positive loss); ``sigma`` overrides the forecast volatility.

        Parameters
        ----------
        level : float in (0, 1), default=0.99
        sigma : float or ndarray, optional
        position : {"long", "short"}, default="long"
            "short": the loss is the return itself (the upper tail).

        Returns
        -------
        float or ndarray (the shape of ``sigma``)
        """
        mu, mixture = self._mirrored(position)
        quantile = risk.mixture_quantile(*mixture, 1.0 - risk.check_level(level))
        return -(mu + self._sigma(sigma) * quantile)

    def expected_shortfall(self, level=0.99, *, sigma=None, position="long"):
        """Next-day Expected Shortfall (a positive loss), as :meth:`value_at_risk`."""
        mu, mixture = self._mirrored(position)
        quantile = risk.mixture_quantile(*mixture, 1.0 - risk.check_level(level))
        return -(mu + self._sigma(sigma) * risk.mixture_tail_mean(*mixture, quantile))

    def _mirrored(self, position):
        """The mean and residual mixture of the position's returns (negated when short)."""
        sign = risk.position_sign(position)
        weights, means, stds = self.residual_mixture()
        return sign * self.params.mu, (weights, sign * means, stds)

    def _sigma(self, sigma):
        return self.volatility[-1] if sigma is None else np.asarray(sigma, dtype=np.float64)

    def conditional_volatility(self):
        """sigma_t per fitted date (a pandas Series when the returns had dates)."""
        sigma = self.volatility[:-1]
        if self.index is None:
            return sigma
        import pandas as pd

        return pd.Series(sigma, index=self.index, name="volatility")


def filter_variance(returns, params, method):
    """Conditional variances of ``returns`` (n_dates + 1,) under a fitted filter."""
    if method == "ewma":
        return volatility.ewma_variance(returns, decay=params.beta)
    return volatility.garch_variance(returns, params)


def fit_filter(returns, method, *, init=None, decay=0.94, backend="scipy"):
    """Fit the volatility filter ``method`` ("garch" or "ewma") to one return series."""
    if method == "garch":
        return volatility.fit_garch(returns, init=init, backend=backend)
    if method == "ewma":
        return volatility.GarchParams(0.0, 0.0, 1.0 - decay, decay)
    raise ValueError(f"volatility={method!r}; use 'garch' or 'ewma'.")


def fit_filtered(returns, n_components=2, *, volatility="garch", decay=0.94, random_state=0,
                 n_init=3, backend="scipy"):
    """Fit a volatility-filtered Gaussian mixture to one return series.

    Parameters
    ----------
    returns : pandas.Series or array-like of shape (n_dates,)
        One asset's (or one portfolio's) returns.
    n_components : int or "auto", default=2
        Components of the residual mixture.
    volatility : {"garch", "ewma"}, default="garch"
        GARCH(1,1) by maximum likelihood, or RiskMetrics EWMA with ``decay``.
    decay : float, default=0.94
    random_state : int or None, default=0
    n_init : int, default=3
    backend : {"scipy", "arch"}, default="scipy"
        Who estimates the GARCH parameters (see :func:`fit_garch`).

    Returns
    -------
    FilteredMixture
    """
    from gmmkit import GaussianMixture
    from gmmkit_finance.data import as_one_series, require_returns

    values, index, _ = as_one_series(returns, "fit_filtered models")
    require_returns(values.size, 50, "a volatility filter")
    params = fit_filter(values, volatility, decay=decay, backend=backend)
    sigma = np.sqrt(filter_variance(values, params, volatility))
    residuals = (values - params.mu) / sigma[:-1]
    model = GaussianMixture(n_components, n_init=n_init, random_state=random_state)
    model.fit(residuals[:, None])
    return FilteredMixture(params, model, sigma, index)
