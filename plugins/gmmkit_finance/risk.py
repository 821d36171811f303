"""Value-at-Risk and Expected Shortfall of Gaussian mixtures, exactly.

For returns ``r ~ sum_k w_k N(m_k, s_k^2)`` the CDF is a weighted sum of
normal CDFs. The ``p``-quantile lies between the smallest and largest
component quantile, so Brent's method on that bracket finds it to machine
precision. Expected Shortfall has a closed form: with ``q`` the quantile
and ``z_k = (q - m_k) / s_k``,

    E[r | r <= q] = sum_k w_k (m_k Phi(z_k) - s_k phi(z_k)) / p.

A portfolio ``a' r`` of a multivariate mixture is again a mixture, with
means ``a' m_k`` and variances ``a' S_k a``. VaR and ES are reported as
positive losses: ``VaR = -q``, ``ES = -E[r | r <= q]``.

A short position loses when returns rise: its VaR and ES are those of the
mirrored returns ``-r`` (``position="short"``), i.e. the upper tail:
``VaR = q_level``, ``ES = E[r | r >= q_level]``. A mixture's mirror is the
same mixture with its means negated, so the figures stay exact.
"""

from __future__ import annotations

import numpy as np


def check_level(level):
    """The confidence level as a float in (0, 1), or a ValueError that says how to write it."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level={level!r}; give a probability such as 0.99.") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level:g}; give a probability such as 0.99 (not {level:g}%).")
    return level


#: the positions a VaR/ES can be of: long loses when returns fall, short when they rise
POSITIONS = ("long", "short")


def position_sign(position: str) -> float:
    """+1.0 for a long position, -1.0 for a short one (the sign that mirrors returns).

    Raises
    ------
    ValueError
        For any other value, naming the two choices.
    """
    if position == "long":
        return 1.0
    if position == "short":
        return -1.0
    raise ValueError(f"position={position!r}; use 'long' (losses when returns fall) or "
                     "'short' (losses when returns rise).")


def mixture_quantile(weights, means, stds, prob):
    """The ``prob``-quantile of a 1-D Gaussian mixture.

    Parameters
    ----------
    weights, means, stds : array-like of shape (n_components,)
    prob : float in (0, 1)

    Returns
    -------
    float
    """
    from scipy.optimize import brentq
    from scipy.special import ndtr, ndtri

    weights, means, stds = (np.asarray(a, dtype=np.float64).ravel() for a in (weights, means, stds))
    prob = check_level(prob)
    present = weights > 0  # a component without weight must not bound the bracket
    weights, means, stds = weights[present], means[present], stds[present]
    component_quantiles = means + stds * ndtri(prob)
    low, high = component_quantiles.min(), component_quantiles.max()
    if high - low <= 1e-15 * max(1.0, abs(high)):
        return float(low)

    def excess(x):
        return float(weights @ ndtr((x - means) / stds)) - prob

    tolerance = 1e-15 * max(abs(low), abs(high))
    return float(brentq(excess, low, high, xtol=tolerance, rtol=1e-15))


def mixture_tail_mean(weights, means, stds, threshold):
    """E[r | r <= threshold] of a 1-D Gaussian mixture (closed form).

    Parameters
    ----------
    weights, means, stds : array-like of shape (n_components,)
    threshold : float

    Returns
    -------
    float
    """
    from scipy.special import ndtr

    weights, means, stds = (np.asarray(a, dtype=np.float64).ravel() for a in (weights, means, stds))
    z = (threshold - means) / stds
    density = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    mass = float(weights @ ndtr(z))
    return float(weights @ (means * ndtr(z) - stds * density)) / mass


def mixture_var(weights, means, stds, level=0.99, *, position="long"):
    """Value-at-Risk (a positive loss) of a 1-D mixture of returns at ``level``.

    ``position="short"``: the loss is the return itself (the upper tail).
    """
    means = position_sign(position) * np.asarray(means, dtype=np.float64)
    return -mixture_quantile(weights, means, stds, 1.0 - check_level(level))


def mixture_es(weights, means, stds, level=0.99, *, position="long"):
    """Expected Shortfall (a positive loss) of a 1-D mixture of returns at ``level``.

    ``position="short"``: the mean return beyond the upper ``level`` quantile.
    """
    means = position_sign(position) * np.asarray(means, dtype=np.float64)
    quantile = mixture_quantile(weights, means, stds, 1.0 - check_level(level))
    return -mixture_tail_mean(weights, means, stds, quantile)


def normal_var_es(mean, std, level=0.99, *, position="long"):
    """VaR and ES (positive losses) of normal returns N(mean, std^2), closed form.

    ``position="short"``: of the upper tail (the loss of a short position).
    """
    from scipy.special import ndtri

    level = check_level(level)
    mean = position_sign(position) * mean
    z = ndtri(1.0 - level)
    density = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    return float(-(mean + std * z)), float(-(mean - std * density / (1.0 - level)))


def historical_var_es(returns, level=0.99, *, position="long"):
    """VaR and ES (positive losses) of the empirical distribution of ``returns`` (n_dates,).

    VaR is minus numpy's (linearly interpolated) quantile; ES is minus the
    mean of the returns at or below it. ``position="short"``: the same of
    ``-returns`` (the upper tail).
    """
    returns = position_sign(position) * np.asarray(returns, dtype=np.float64).ravel()
    quantile = np.quantile(returns, 1.0 - check_level(level))
    return float(-quantile), float(-returns[returns <= quantile].mean())


def full_covariances(model):
    """A fitted GaussianMixture's covariances as (n_components, n_features, n_features)."""
    cov = np.asarray(model.covariances_, dtype=np.float64)
    k, d = model.means_.shape
    kind = model.covariance_type
    if kind == "full":
        return cov
    if kind == "tied":
        return np.broadcast_to(cov, (k, d, d)).copy()
    if kind == "diag":
        return np.stack([np.diag(c) for c in cov])
    return cov.reshape(k, 1, 1) * np.eye(d)


def portfolio_mixture(weights, means, covariances, asset_weights):
    """The 1-D mixture of the portfolio return ``asset_weights @ r``.

    Parameters
    ----------
    weights : array-like of shape (n_components,)
    means : array-like of shape (n_components, n_assets)
    covariances : array-like of shape (n_components, n_assets, n_assets)
    asset_weights : array-like of shape (n_assets,)

    Returns
    -------
    weights, means, stds : ndarrays of shape (n_components,)
    """
    means = np.asarray(means, dtype=np.float64)
    a = check_asset_weights(asset_weights, means.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        variances = np.einsum("i,kij,j->k", a, np.asarray(covariances, dtype=np.float64), a)
        portfolio_means = means @ a
    check_portfolio_variance(np.append(variances, portfolio_means), a)
    return np.asarray(weights, dtype=np.float64), portfolio_means, np.sqrt(variances)


def check_asset_weights(asset_weights, n_assets, names=None):
    """Portfolio weights as a float array of shape (n_assets,), or a ValueError."""
    a = np.asarray(asset_weights, dtype=np.float64).ravel()
    if a.size != n_assets:
        listed = f" ({', '.join(names)})" if names else ""
        raise ValueError(
            f"{a.size} portfolio weights for {n_assets} assets{listed}; give one weight per asset."
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"portfolio weights must be finite numbers; got {_listed(a)}.")
    if not np.any(a):
        raise ValueError("portfolio weights are all zero: the portfolio holds nothing; give at "
                         "least one non-zero weight.")
    return a


def check_portfolio_variance(variance, asset_weights):
    """Raise a ValueError when a portfolio's variance (any shape) overflowed to inf or NaN.

    Finite weights can still be too large to compute with: 1e300 times a
    return squares to more than the largest float.

    Parameters
    ----------
    variance : float or ndarray
        The portfolio's variance(s), computed under ``np.errstate(over="ignore")``.
    asset_weights : ndarray of shape (n_assets,)
    """
    if not np.all(np.isfinite(variance)):
        raise ValueError(
            f"portfolio weights {_listed(asset_weights)} are too large: the portfolio's variance "
            "overflows; give weights as fractions of the portfolio's value, such as 0.6,0.4."
        )


def _listed(values):
    return ",".join(f"{v:g}" for v in np.ravel(values))
