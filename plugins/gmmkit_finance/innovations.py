"""Standardised innovations of a volatility model: normal, Student-t, Gaussian mixture.

Every distribution here has mean 0 and variance 1, so ``sigma_t`` of the
filter is the conditional standard deviation. The Student-t is arch's
``StudentsT`` (a t with ``nu`` degrees of freedom scaled by
``sqrt((nu - 2) / nu)``). The mixture ``sum_k w_k N(m_k, s_k^2)`` is
parameterised without constraints: raw weights (softmax), raw means and
log standard deviations, the first component's raw mean and log sd fixed
at 0 (location and scale are the filter's), then shifted and scaled to
mean 0 and variance 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmkit_finance import risk

DISTRIBUTIONS = ("normal", "t", "mixture")
#: degrees of freedom of the t are kept in this range (arch's bounds)
NU_BOUNDS = (2.05, 500.0)
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Innovations:
    """A standardised innovation distribution.

    Attributes
    ----------
    kind : {"normal", "t", "mixture"}
    nu : float or None
        Degrees of freedom (t).
    weights, means, stds : ndarray of shape (n_components,) or None
        The standardised mixture (mean 0, variance 1).
    """

    kind: str
    nu: float | None = None
    weights: np.ndarray | None = None
    means: np.ndarray | None = None
    stds: np.ndarray | None = None

    @property
    def n_parameters(self):
        if self.kind == "normal":
            return 0
        if self.kind == "t":
            return 1
        return 3 * (len(self.weights) - 1)

    def mirrored(self) -> Innovations:
        """The distribution of ``-z``: the same for normal and t, negated means for a mixture."""
        if self.kind != "mixture":
            return self
        return Innovations(self.kind, self.nu, self.weights, -self.means, self.stds)

    def logpdf(self, z):
        """log density at ``z`` (any shape)."""
        if self.kind == "normal":
            return -0.5 * (_LOG_2PI + z**2)
        if self.kind == "t":
            return _t_logpdf(z, self.nu)
        return _mixture_logpdf(z, self.weights, self.means, self.stds)

    def quantile(self, prob):
        """The ``prob``-quantile."""
        from scipy.stats import norm, t

        if self.kind == "normal":
            return float(norm.ppf(prob))
        if self.kind == "t":
            return float(t.ppf(prob, self.nu) * np.sqrt((self.nu - 2) / self.nu))
        return risk.mixture_quantile(self.weights, self.means, self.stds, prob)

    def tail_mean(self, threshold):
        """E[z | z <= threshold]."""
        from scipy.stats import norm, t

        if self.kind == "normal":
            return float(-norm.pdf(threshold) / norm.cdf(threshold))
        if self.kind == "t":
            nu, c = self.nu, np.sqrt((self.nu - 2) / self.nu)
            q = threshold / c
            mean = -(nu + q**2) / (nu - 1) * t.pdf(q, nu) / t.cdf(q, nu)
            return float(c * mean)
        return risk.mixture_tail_mean(self.weights, self.means, self.stds, threshold)

    def sample(self, rng, size):
        """Draws of shape ``size`` from a numpy Generator."""
        if self.kind == "normal":
            return rng.standard_normal(size)
        if self.kind == "t":
            return rng.standard_t(self.nu, size) * np.sqrt((self.nu - 2) / self.nu)
        component = rng.choice(len(self.weights), size=size, p=self.weights)
        return self.means[component] + self.stds[component] * rng.standard_normal(size)

    def negative_square_mean(self):
        """E[z^2 1(z < 0)]: the weight of the GJR leverage term (1/2 when symmetric)."""
        if self.kind != "mixture":
            return 0.5
        from scipy.stats import norm

        m, s = self.means, self.stds
        parts = (m**2 + s**2) * norm.cdf(-m / s) - m * s * norm.pdf(m / s)
        return float(self.weights @ parts)


def _t_logpdf(z, nu):
    from scipy.special import gammaln

    return (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(np.pi * (nu - 2))
            - (nu + 1) / 2 * np.log1p(z**2 / (nu - 2)))


def _mixture_logpdf(z, weights, means, stds):
    z = np.asarray(z, dtype=np.float64)
    parts = (np.log(weights) - np.log(stds) - 0.5 * _LOG_2PI
             - 0.5 * ((z[..., None] - means) / stds) ** 2)
    top = parts.max(axis=-1)
    return top + np.log(np.exp(parts - top[..., None]).sum(axis=-1))


def mixture_from_raw(raw, n_components):
    """The standardised mixture of unconstrained parameters (3 (K - 1) values)."""
    k = n_components
    logits = np.concatenate([[0.0], raw[:k - 1]])
    means = np.concatenate([[0.0], raw[k - 1:2 * (k - 1)]])
    stds = np.exp(np.concatenate([[0.0], raw[2 * (k - 1):]]))
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    mean = weights @ means
    variance = weights @ (stds**2 + means**2) - mean**2
    scale = np.sqrt(variance)
    return Innovations("mixture", weights=weights, means=(means - mean) / scale,
                       stds=stds / scale)


def raw_from_mixture(weights, means, stds):
    """Unconstrained parameters of a mixture (inverse of :func:`mixture_from_raw`, up to
    location and scale)."""
    weights, means, stds = (np.asarray(a, dtype=np.float64) for a in (weights, means, stds))
    weights = np.maximum(weights, 1e-6)
    logits = np.log(weights) - np.log(weights[0])
    shifted = (means - means[0]) / stds[0]
    log_stds = np.log(stds) - np.log(stds[0])
    return np.concatenate([logits[1:], shifted[1:], log_stds[1:]])


def innovations_from(kind, extra, n_components):
    """Innovations of ``kind`` from its slice ``extra`` of the parameter vector."""
    if kind == "normal":
        return Innovations("normal")
    if kind == "t":
        return Innovations("t", nu=float(extra[0]))
    return mixture_from_raw(np.asarray(extra, dtype=np.float64), n_components)
