"""The models a backtest compares: each refits on a window and forecasts VaR, ES and draws.

A forecaster has ``refit(values, lo, hi)`` (fit on ``values[lo:hi]``) and
``forecast(values, lo, start, stop, level)``, which returns a
:class:`Forecast` of days ``start..stop-1`` from returns before each day:
VaR and ES (positive losses), a sampler of the forecast distributions (for
the simulated ES backtests) and the conditional volatility where the model
has one (for McNeil and Frey's residuals).

Models: ``normal``, ``historical``, ``gmm`` (a mixture of the window),
``filtered-gmm`` (GARCH or EWMA, then a mixture of the residuals),
``<filter>-<innovations>`` for filter in garch, gjr, egarch and
innovations in normal, t, mixture (joint maximum likelihood,
:func:`fit_volatility`), and ``hmm`` (a 2-regime Markov-switching model
whose regime probabilities are filtered every day).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gmmkit_finance import risk
from gmmkit_finance.filtered import filter_variance, fit_filter

VOLATILITY_MODELS = tuple(f"{v}-{d}" for v in ("garch", "gjr", "egarch")
                          for d in ("normal", "t", "mixture"))
#: every model name backtest_var accepts
MODELS = ("normal", "historical", "gmm", "filtered-gmm", *VOLATILITY_MODELS, "hmm")


@dataclass
class Forecast:
    """One refit's forecasts of ``n`` consecutive days.

    Attributes
    ----------
    var, es : ndarray of shape (n,)
    sample : callable(rng, n_paths) -> ndarray of shape (n_paths, n)
        Draws from each day's forecast distribution.
    volatility : ndarray of shape (n,) or None
    """

    var: np.ndarray
    es: np.ndarray
    sample: Callable
    volatility: np.ndarray | None = None


def _location_scale(location, scale, standard):
    """A sampler of ``location + scale * Z`` per day, Z from ``standard(rng, shape)``."""
    def sample(rng, n_paths):
        return location + scale * standard(rng, (n_paths, np.size(scale)))
    return sample


def _mixture_sampler(weights, means, stds):
    def standard(rng, shape):
        component = rng.choice(len(weights), size=shape, p=weights / weights.sum())
        return means[component] + stds[component] * rng.standard_normal(shape)
    return standard


class _Normal:
    def refit(self, values, lo, hi):
        train = values[lo:hi]
        self.mean, self.std = train.mean(), train.std(ddof=1)

    def forecast(self, values, lo, start, stop, level):
        var, es = risk.normal_var_es(self.mean, self.std, level)
        n = stop - start
        return Forecast(np.full(n, var), np.full(n, es),
                        _location_scale(self.mean, np.full(n, self.std),
                                        lambda rng, shape: rng.standard_normal(shape)))


class _Historical:
    def refit(self, values, lo, hi):
        self.train = values[lo:hi]

    def forecast(self, values, lo, start, stop, level):
        var, es = risk.historical_var_es(self.train, level)
        n, train = stop - start, self.train
        return Forecast(np.full(n, var), np.full(n, es),
                        _location_scale(0.0, np.ones(n),
                                        lambda rng, shape: rng.choice(train, size=shape)))


class _Mixture:
    """A GaussianMixture of (scaled) data, refitted with warm starts."""

    def __init__(self, n_components, random_state, warm_start):
        from gmmkit import GaussianMixture

        self.model = GaussianMixture(n_components, n_init=3, random_state=random_state)
        self.warm_start = warm_start

    def fit(self, data):
        import warnings

        from gmmkit.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(data[:, None])
        if self.warm_start:
            self.model.set_params(warm_start=True, n_init=1)

    def mixture(self):
        stds = np.sqrt(risk.full_covariances(self.model)[:, 0, 0])
        return self.model.weights_, self.model.means_[:, 0], stds

    def var_es(self, level):
        mixture = self.mixture()
        quantile = risk.mixture_quantile(*mixture, 1.0 - level)
        return -quantile, -risk.mixture_tail_mean(*mixture, quantile)


class _GMM(_Mixture):
    def refit(self, values, lo, hi):
        train = values[lo:hi]
        self.scale = train.std()
        self.fit(train / self.scale)

    def forecast(self, values, lo, start, stop, level):
        var, es = self.var_es(level)
        n = stop - start
        return Forecast(np.full(n, var * self.scale), np.full(n, es * self.scale),
                        _location_scale(0.0, np.full(n, self.scale),
                                        _mixture_sampler(*self.mixture())))


class _FilteredGMM(_Mixture):
    def __init__(self, n_components, random_state, warm_start, method, filter_every):
        super().__init__(n_components, random_state, warm_start)
        self.method, self.filter_every = method, filter_every
        self.params, self.refits = None, 0

    def refit(self, values, lo, hi):
        if self.params is None or self.refits % self.filter_every == 0:
            init = self.params if self.warm_start else None
            self.params = fit_filter(values[lo:hi], self.method, init=init)
        self.refits += 1
        sigma = np.sqrt(filter_variance(values[lo:hi], self.params, self.method))
        self.fit((values[lo:hi] - self.params.mu) / sigma[:-1])

    def forecast(self, values, lo, start, stop, level):
        var, es = self.var_es(level)
        variance = filter_variance(values[lo:stop], self.params, self.method)
        sigma = np.sqrt(variance[start - lo:stop - lo])
        mu = self.params.mu
        return Forecast(sigma * var - mu, sigma * es - mu,
                        _location_scale(mu, sigma, _mixture_sampler(*self.mixture())), sigma)


class _Volatility:
    """A GARCH-family filter with innovations estimated jointly (fit_volatility)."""

    def __init__(self, name, n_components, random_state, warm_start, filter_every):
        self.volatility, self.innovations = name.split("-")
        self.n_components, self.random_state = n_components, random_state
        self.warm_start, self.filter_every = warm_start, filter_every
        self.model, self.refits = None, 0

    def refit(self, values, lo, hi):
        import warnings

        from gmmkit_finance.garch import NonStationaryWarning, fit_volatility

        if self.model is None or self.refits % self.filter_every == 0:
            with warnings.catch_warnings():  # a backtest reports coverage, not each window
                warnings.simplefilter("ignore", NonStationaryWarning)
                self.model = fit_volatility(
                    values[lo:hi], self.volatility, self.innovations,
                    n_components=self.n_components, random_state=self.random_state,
                    init=self.model if self.warm_start else None)
        self.refits += 1

    def forecast(self, values, lo, start, stop, level):
        model = self.model
        sigma = np.sqrt(model.variance(values[lo:stop])[start - lo:stop - lo])
        return Forecast(model.value_at_risk(level, sigma=sigma),
                        model.expected_shortfall(level, sigma=sigma),
                        _location_scale(model.mu, sigma, model.innovations.sample), sigma)


class _Regimes:
    """A 2-regime HMM refitted on the window; regime probabilities filtered daily."""

    def __init__(self, random_state):
        self.random_state = random_state

    def refit(self, values, lo, hi):
        from gmmkit_finance.hmm import fit_regimes

        self.model = fit_regimes(values[lo:hi], 2, random_state=self.random_state, n_init=2)

    def forecast(self, values, lo, start, stop, level):
        model = self.model
        filtered = model.predict_regime(values[start:stop - 1], start="continue")
        priors = np.vstack([model.next_regime_probabilities()[None, :],
                            np.asarray(filtered).reshape(-1, model.n_regimes) @ model.transmat])
        mixtures = [model.next_day_mixture(probabilities=p) for p in priors]
        var = np.array([risk.mixture_var(*m, level) for m in mixtures])
        es = np.array([risk.mixture_es(*m, level) for m in mixtures])
        weights = np.array([m[0] for m in mixtures])
        means, stds = mixtures[0][1], mixtures[0][2]

        def sample(rng, n_paths):
            cumulative = weights.cumsum(axis=1)
            u = rng.random((n_paths, len(weights), 1)) * cumulative[None, :, -1:]
            component = np.minimum((cumulative[None] < u).sum(axis=2), len(means) - 1)
            return means[component] + stds[component] * rng.standard_normal(component.shape)

        return Forecast(var, es, sample)


def make_forecasters(models, *, n_components, random_state, warm_start, volatility,
                     filter_refit_every, gmm_components=None):
    """One forecaster per model name (names already checked).

    ``gmm_components`` (default ``n_components``) is the gmm model's K.
    """
    gmm_components = n_components if gmm_components is None else gmm_components
    makers = {
        "normal": _Normal,
        "historical": _Historical,
        "gmm": lambda: _GMM(gmm_components, random_state, warm_start),
        "filtered-gmm": lambda: _FilteredGMM(n_components, random_state, warm_start,
                                             volatility, filter_refit_every),
        "hmm": lambda: _Regimes(random_state),
    }
    for name in VOLATILITY_MODELS:
        makers[name] = (lambda name=name: _Volatility(name, n_components, random_state,
                                                      warm_start, filter_refit_every))
    return [makers[m]() for m in models]
