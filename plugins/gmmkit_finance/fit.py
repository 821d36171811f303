"""fit_returns: a Gaussian mixture of one or many assets' returns, and its risk.

Daily returns have variances near 1e-4, the same order as the engine's
default covariance regularisation, so the mixture is fitted to returns
divided by each asset's standard deviation and mapped back:
:meth:`ReturnMixture.components` gives weights, means and covariances in
the units of the returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_finance import risk
from gmmkit_finance.data import as_returns, require_returns

#: trading days per year, for annualised figures
TRADING_DAYS = 252


@dataclass
class ReturnMixture:
    """A Gaussian mixture fitted to returns.

    Attributes
    ----------
    model : gmmkit.GaussianMixture
        Fitted to ``returns / scale``.
    scale : ndarray of shape (n_assets,)
        Each asset's return standard deviation.
    names : list of str, length n_assets
    returns : ndarray of shape (n_dates, n_assets)
    index : pandas.Index or None
        The dates, when the returns came with them.
    periods_per_year : int
    """

    model: object
    scale: np.ndarray
    names: list
    returns: np.ndarray
    index: object = None
    periods_per_year: int = TRADING_DAYS

    @property
    def n_components(self):
        return len(self.model.weights_)

    def components(self):
        """Weights (K,), means (K, n_assets), covariances (K, n_assets, n_assets), return units."""
        means = self.model.means_ * self.scale
        covariances = risk.full_covariances(self.model) * np.outer(self.scale, self.scale)
        return self.model.weights_.copy(), means, covariances

    def _portfolio(self, weights):
        mix_weights, means, covariances = self.components()
        if weights is None:
            if len(self.names) > 1:
                raise ValueError(
                    f"the mixture has {len(self.names)} assets ({', '.join(self.names)}); "
                    "give portfolio weights, one per asset."
                )
            weights = [1.0]
        risk.check_asset_weights(weights, len(self.names), self.names)
        return risk.portfolio_mixture(mix_weights, means, covariances, weights)

    def value_at_risk(self, level=0.99, *, weights=None, position="long"):
        """One-period Value-at-Risk (a positive loss, in return units).

        Parameters
        ----------
        level : float in (0, 1), default=0.99
        weights : array-like of shape (n_assets,), optional
            Portfolio weights; needed when there is more than one asset.
        position : {"long", "short"}, default="long"
            "short": the loss is the return itself (the upper tail).

        Returns
        -------
        float
        """
        return risk.mixture_var(*self._portfolio(weights), level, position=position)

    def expected_shortfall(self, level=0.99, *, weights=None, position="long"):
        """One-period Expected Shortfall (mean loss beyond the VaR), as :meth:`value_at_risk`."""
        return risk.mixture_es(*self._portfolio(weights), level, position=position)

    def bic(self):
        """BIC of the returns in their own units (comparable with :meth:`MarkovRegimes.bic`).

        The mixture is fitted to ``returns / scale``; the density of the
        returns is that density divided by ``prod(scale)``.
        """
        values = self.returns / self.scale
        return float(self.model.bic(values)
                     + 2.0 * values.shape[0] * np.log(self.scale).sum())

    def regimes(self):
        """Per-date regime posteriors, labels and the regime table (see :func:`regimes`)."""
        from gmmkit_finance.regimes import regimes_of

        return regimes_of(self)


def fit_returns(returns, n_components="auto", *, covariance_type="full", n_init=3,
                random_state=0, periods_per_year=TRADING_DAYS, **params):
    """Fit a Gaussian mixture to returns of one asset or many.

    Parameters
    ----------
    returns : pandas.Series/DataFrame or array-like of shape (n_dates,) or (n_dates, n_assets)
        Returns (see :func:`to_returns`); several columns are fitted jointly
        with full covariances, for portfolios.
    n_components : int or "auto", default="auto"
        "auto" picks K = 1..10 by BIC.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    n_init : int, default=3
    random_state : int or None, default=0
    periods_per_year : int, default=252
        For annualised figures (252 trading days; 52 for weekly, 12 monthly).
    **params
        Other GaussianMixture parameters.

    Returns
    -------
    ReturnMixture
    """
    from gmmkit import GaussianMixture

    values, index, names = as_returns(returns)
    require_returns(values.shape[0], 10, "a mixture of returns")
    scale = values.std(axis=0)
    model = GaussianMixture(n_components, covariance_type=covariance_type, n_init=n_init,
                            random_state=random_state, **params)
    model.fit(values / scale)
    return ReturnMixture(model, scale, names, values, index, periods_per_year)
