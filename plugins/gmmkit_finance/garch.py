"""GARCH(1,1), GJR-GARCH(1,1) and EGARCH(1,1) with normal, t or mixture innovations.

``r_t = mu + e_t``, ``e_t = sigma_t z_t`` with standardised innovations
``z_t`` (:mod:`gmmkit_finance.innovations`) and

- GARCH: ``s2_t = omega + alpha e2_{t-1} + beta s2_{t-1}``;
- GJR: ``s2_t = omega + (alpha + gamma 1[e_{t-1} < 0]) e2_{t-1} + beta s2_{t-1}``;
- EGARCH: ``ln s2_t = omega + alpha (|z_{t-1}| - sqrt(2/pi)) + gamma z_{t-1}
  + beta ln s2_{t-1}``.

All parameters, the innovations' included (t degrees of freedom, mixture
weights, means and scales), are estimated jointly by maximum likelihood:
the mixture density sits inside the GARCH likelihood. The conventions are
arch's, so the estimates agree with it (tests/finance/test_finance_garch.py):
the recursion starts from the backcast (an exponentially weighted mean of
the first squared residuals), GJR's leverage term starts at half of it,
EGARCH's log variance at its log, and EGARCH centres ``|z|`` by
``sqrt(2/pi)`` whatever the innovations. Estimation runs on returns
divided by their standard deviation; the parameters are mapped back.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmmkit import information_criteria
from gmmkit_finance.innovations import (
    DISTRIBUTIONS,
    NU_BOUNDS,
    Innovations,
    innovations_from,
    raw_from_mixture,
)
from gmmkit_finance.volatility import MAX_PERSISTENCE, backcast

VOLATILITIES = ("garch", "gjr", "egarch")
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
#: a fitted persistence at or above this is reported as not stationary
NON_STATIONARY = 0.9999
#: a mixture component's weight, relative to the first's, is at least exp(-4) (no component
#: of a few days), and its standard deviation at least exp(-1.5) of the first's: a component
#: that shrinks onto one crash day would make the likelihood unbounded
MIXTURE_LOGIT_BOUNDS = (-4.0, 4.0)
MIXTURE_LOG_SD_BOUNDS = (-1.5, 3.0)
#: bounds of the standardised log variance of EGARCH (keeps exp() finite)
_LOG_VARIANCE_BOUNDS = (-60.0, 60.0)


class NonStationaryWarning(UserWarning):
    """A volatility estimate without a long-run variance (persistence >= 1)."""


@dataclass
class VolatilityModel:
    """A fitted volatility filter and its innovation distribution (return units).

    Attributes
    ----------
    volatility : {"garch", "gjr", "egarch"}
    innovations : Innovations
    mu, omega, alpha, gamma, beta : float
        ``gamma`` is 0 for GARCH.
    loglik : float
    start_variance : float
        The backcast the recursion starts from.
    n_obs : int
    """

    volatility: str
    innovations: Innovations
    mu: float
    omega: float
    alpha: float
    gamma: float
    beta: float
    loglik: float = float("nan")
    start_variance: float = float("nan")
    n_obs: int = 0

    @property
    def n_parameters(self):
        return (4 if self.volatility == "garch" else 5) + self.innovations.n_parameters

    def bic(self) -> float:
        """``-2 loglik + n_parameters log n_obs``."""
        return information_criteria(self.loglik, self.n_obs, self.n_parameters)[0]

    @property
    def persistence(self):
        """How slowly a shock to the variance decays; < 1 is stationary.

        ``alpha + beta`` (GARCH), ``alpha + kappa gamma + beta`` with
        ``kappa = E[z^2 1(z < 0)]`` (GJR), ``|beta|`` (EGARCH).
        """
        if self.volatility == "egarch":
            return abs(self.beta)
        kappa = self.innovations.negative_square_mean()
        return self.alpha + kappa * self.gamma + self.beta

    def variance(self, returns: Any) -> np.ndarray:
        """Conditional variances over ``returns`` (n_dates,) plus the next day's: (n_dates + 1,)."""
        residuals = np.asarray(returns, dtype=np.float64).ravel() - self.mu
        return variance_path(self.volatility, residuals, self.omega, self.alpha, self.gamma,
                             self.beta, self.start_variance)

    def step(self, variance: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """Next variances from today's ``variance`` and residual ``e`` (arrays of one shape)."""
        if self.volatility == "egarch":
            z = residual / np.sqrt(variance)
            log_next = (self.omega + self.alpha * (np.abs(z) - SQRT_2_OVER_PI)
                        + self.gamma * z + self.beta * np.log(variance))
            return np.exp(np.minimum(log_next, 700.0))
        squared = residual**2
        return (self.omega + self.alpha * squared + self.gamma * squared * (residual < 0)
                + self.beta * variance)

    def value_at_risk(self, level: float = 0.99, *, sigma: Any, position: str = "long") -> Any:
        """One-day VaR (a positive loss) for a volatility ``sigma`` (float or array).

        ``position="short"``: the loss is the return itself (the upper tail).
        """
        mu, innovations, quantile = self._tail(level, position)
        return -(mu + np.asarray(sigma) * quantile)

    def expected_shortfall(self, level: float = 0.99, *, sigma: Any,
                           position: str = "long") -> Any:
        """One-day ES (a positive loss) for a volatility ``sigma`` (float or array), as VaR."""
        mu, innovations, quantile = self._tail(level, position)
        return -(mu + np.asarray(sigma) * innovations.tail_mean(quantile))

    def _tail(self, level, position):
        """The position's mean return, innovations (mirrored when short) and their quantile."""
        from gmmkit_finance.risk import check_level, position_sign

        sign = position_sign(position)
        innovations = self.innovations if sign > 0 else self.innovations.mirrored()
        return sign * self.mu, innovations, innovations.quantile(1.0 - check_level(level))


def variance_path(volatility: str, residuals: np.ndarray, omega: float, alpha: float,
                  gamma: float, beta: float, start: float) -> np.ndarray:
    """Conditional variances s2_0..s2_n of a residual series (n,): shape (n + 1,)."""
    if volatility == "egarch":
        return _egarch_variance(residuals, omega, alpha, gamma, beta, start)
    from scipy.signal import lfilter

    squared = np.concatenate([[start], residuals**2])
    negative = np.concatenate([[0.5 * start], residuals**2 * (residuals < 0)])
    drive = omega + alpha * squared + gamma * negative
    return lfilter([1.0], [1.0, -beta], drive, zi=[beta * start])[0]


def _egarch_variance(residuals, omega, alpha, gamma, beta, start):
    low, high = _LOG_VARIANCE_BOUNDS
    log_variance = min(max(omega + beta * math.log(start), low), high)
    out = [log_variance]
    centre = alpha * SQRT_2_OVER_PI
    exp, sqrt = math.exp, math.sqrt
    for e in residuals.tolist():
        z = e / sqrt(exp(log_variance))
        log_variance = omega + alpha * abs(z) - centre + gamma * z + beta * log_variance
        log_variance = low if log_variance < low else high if log_variance > high else \
            log_variance
        out.append(log_variance)
    return np.exp(np.asarray(out))


def _split(theta, volatility):
    """(mu, omega, alpha, gamma, beta) and the innovations' slice of theta."""
    if volatility == "garch":
        mu, omega, alpha, beta = theta[:4]
        return (mu, omega, alpha, 0.0, beta), theta[4:]
    return tuple(theta[:5]), theta[5:]


def negative_loglik(theta, y, volatility, kind, n_components, start):
    """Mean negative log-likelihood of standardised returns ``y`` at ``theta``."""
    (mu, omega, alpha, gamma, beta), extra = _split(theta, volatility)
    residuals = y - mu
    variance = variance_path(volatility, residuals, omega, alpha, gamma, beta, start)[:-1]
    variance = np.maximum(variance, 1e-12)
    innovations = innovations_from(kind, extra, n_components)
    z = residuals / np.sqrt(variance)
    return -float(np.mean(innovations.logpdf(z) - 0.5 * np.log(variance)))


def _bounds(volatility, kind, n_components):
    mean = [(-1.0, 1.0)]
    if volatility == "egarch":
        core = [(-5.0, 5.0), (0.0, 2.0), (-2.0, 2.0), (0.0, MAX_PERSISTENCE)]
    else:
        core = [(1e-8, 10.0), (0.0, 1.0)] + ([(-1.0, 2.0)] if volatility == "gjr" else []) \
            + [(0.0, 1.0)]
    if kind == "t":
        extra = [NU_BOUNDS]
    elif kind == "mixture":
        k = n_components - 1
        extra = [MIXTURE_LOGIT_BOUNDS] * k + [(-10.0, 10.0)] * k + [MIXTURE_LOG_SD_BOUNDS] * k
    else:
        extra = []
    return mean + core + extra


def _constraints(volatility):
    """SLSQP inequality constraints: stationarity (arch's, kappa = 1/2) and alpha + gamma >= 0."""
    if volatility == "egarch":
        return []
    if volatility == "garch":
        return [{"type": "ineq", "fun": lambda t: MAX_PERSISTENCE - t[2] - t[3]}]
    return [{"type": "ineq", "fun": lambda t: MAX_PERSISTENCE - t[2] - 0.5 * t[3] - t[4]},
            {"type": "ineq", "fun": lambda t: t[2] + t[3]}]


def _default_start(volatility, y):
    if volatility == "egarch":
        return [y.mean(), 0.0, 0.1, -0.05, 0.95]
    if volatility == "gjr":
        return [y.mean(), 0.045, 0.03, 0.05, 0.9]
    return [y.mean(), 0.02, 0.08, 0.9]


def _to_unit_scale(model, scale):
    """The core parameters of a fitted model on returns divided by ``scale``."""
    omega = model.omega / scale**2 if model.volatility != "egarch" else \
        model.omega - 2 * math.log(scale) * (1 - model.beta)
    core = [model.mu / scale, omega, model.alpha, model.gamma, model.beta]
    return core if model.volatility != "garch" else core[:3] + core[4:]


def _extra_start(kind, n_components, innovations=None):
    """Starting innovation parameters, or None for "from the residuals' mixture"."""
    if kind == "normal":
        return []
    if kind == "t":
        return [innovations.nu if innovations is not None and innovations.kind == "t" else 8.0]
    # a mixture starts from a Gaussian mixture of the filter's residuals, also when warm:
    # the previous window's mixture can hold EM in a poor local optimum
    return None


def _minimise(theta0, y, volatility, kind, n_components, start):
    from scipy.optimize import minimize

    bounds = _bounds(volatility, kind, n_components)
    theta0 = np.clip(np.asarray(theta0, dtype=np.float64), [b[0] for b in bounds],
                     [b[1] for b in bounds])
    with np.errstate(over="ignore", under="ignore"):
        result = minimize(negative_loglik, theta0,
                          args=(y, volatility, kind, n_components, start), method="SLSQP",
                          bounds=bounds, constraints=_constraints(volatility),
                          options={"maxiter": 500, "ftol": 1e-12})
    return result.x, result.fun


def fit_volatility(returns: Any, volatility: str = "gjr", innovations: str = "t", *,
                   n_components: int = 2, init: VolatilityModel | None = None,
                   random_state: int = 0) -> VolatilityModel:
    """Fit a GARCH-family filter and its innovations jointly by maximum likelihood.

    Parameters
    ----------
    returns : pandas.Series or array-like of shape (n_dates,)
        One series of returns.
    volatility : {"garch", "gjr", "egarch"}, default="gjr"
    innovations : {"normal", "t", "mixture"}, default="t"
    n_components : int, default=2
        Components of the mixture innovations.
    init : VolatilityModel, optional
        Starting values (a warm start, e.g. the previous window's fit).
    random_state : int, default=0
        Seeds the Gaussian mixture that starts the mixture innovations.

    Returns
    -------
    VolatilityModel

    Warns
    -----
    NonStationaryWarning
        When the estimate has no long-run variance (persistence >= 0.9999).
    """
    from gmmkit_finance.data import as_one_series, require_returns

    if volatility not in VOLATILITIES:
        raise ValueError(f"volatility={volatility!r}; use 'garch', 'gjr' or 'egarch'.")
    if innovations not in DISTRIBUTIONS:
        raise ValueError(f"innovations={innovations!r}; use 'normal', 't' or 'mixture'.")
    values = as_one_series(returns, "fit_volatility models")[0]
    n_extra = 3 * (n_components - 1) if innovations == "mixture" else 1
    require_returns(values.size, max(50, 25 * (5 + n_extra)), f"a {volatility}-{innovations} "
                    "model")
    scale = float(values.std())
    y = values / scale
    start = backcast(y - y.mean())
    if init is not None and init.volatility == volatility:
        core = _to_unit_scale(init, scale)  # warm: the previous filter, fresh innovations
    else:
        core, _ = _minimise(_default_start(volatility, y), y, volatility, "normal", 1, start)
    extra = _extra_start(innovations, n_components, None if init is None else init.innovations)
    if extra is None:
        extra = _mixture_start(core, y, volatility, start, n_components, random_state)
    theta0 = list(core) + list(extra)
    theta, nll = _minimise(theta0, y, volatility, innovations, n_components, start)
    model = _model(theta, nll, y, scale, volatility, innovations, n_components, start)
    if model.persistence >= NON_STATIONARY:
        warnings.warn(
            f"the {volatility} estimate is not stationary (persistence {model.persistence:.5f} "
            ">= 1 in effect): the variance has no long-run level, so multi-day forecasts grow "
            "without bound; one-day VaR and ES stay finite. Use a longer window, EWMA or a "
            "model with fewer breaks.", NonStationaryWarning, stacklevel=2)
    return model


def _mixture_start(core, y, volatility, start, n_components, random_state):
    """Raw mixture parameters from a Gaussian mixture of the normal fit's residuals."""
    from gmmkit import GaussianMixture

    (mu, omega, alpha, gamma, beta), _ = _split(np.asarray(core), volatility)
    sigma = np.sqrt(variance_path(volatility, y - mu, omega, alpha, gamma, beta, start)[:-1])
    z = ((y - mu) / sigma)[:, None]
    mixture = GaussianMixture(n_components, n_init=2, random_state=random_state).fit(z)
    stds = np.sqrt(mixture.covariances_.reshape(n_components, -1)[:, 0])
    order = np.argsort(-mixture.weights_)  # the heaviest component first: it is fixed
    return raw_from_mixture(mixture.weights_[order], mixture.means_[order, 0], stds[order])


def _model(theta, nll, y, scale, volatility, kind, n_components, start):
    (mu, omega, alpha, gamma, beta), extra = _split(theta, volatility)
    if volatility == "egarch":
        omega = omega + 2 * math.log(scale) * (1 - beta)
    else:
        omega = omega * scale**2
    loglik = -nll * y.size - y.size * math.log(scale)
    return VolatilityModel(volatility, innovations_from(kind, extra, n_components),
                           float(mu * scale), float(omega), float(alpha), float(gamma),
                           float(beta), float(loglik), float(start * scale**2), int(y.size))

