"""The emission side of the regime HMM: each regime's Gaussian (or small mixture).

Baum-Welch's M-step for the emissions is the Gaussian-mixture M-step with
the smoothed regime probabilities (times the within-regime memberships when
a regime is itself a mixture) as responsibilities. It runs on the core
engine through ``GaussianMixture.fit_from_responsibilities``; the E-step's
log densities come from ``GaussianMixture.component_log_densities``. The
three kinds of switching map onto the engine as follows:

- ``"both"``: means and covariances switch: the plain M-step (``full`` or
  ``diag`` covariances);
- ``"mean"``: only the means switch: the M-step with a ``tied``
  covariance (one covariance pooled over all regimes);
- ``"variance"``: only the covariances switch around one common mean: the
  M-step gives each regime's weighted mean and covariance; the common mean
  is their precision-weighted average and each covariance is re-centred on
  it (``S_k = C_k + (m_k - mu)(m_k - mu)'``), a conditional maximisation
  step (ECM) that keeps Baum-Welch's likelihood non-decreasing.
"""

from __future__ import annotations

import numpy as np

SWITCHING = ("both", "mean", "variance")
#: smallest within-regime weight used in logs (an emptied sub-component)
_TINY = 1e-300


class EmptyRegimeError(Exception):
    """A regime lost (almost) all its probability mass during Baum-Welch."""

    def __init__(self, regime, mass):
        super().__init__(regime, mass)
        self.regime, self.mass = regime, mass


class Emissions:
    """Regime emission densities on standardised returns, fitted by the engine's M-step.

    Parameters
    ----------
    n_regimes, n_mix : int
        Regimes, and Gaussian components inside each regime.
    switching : {"both", "mean", "variance"}
    covariance_type : {"full", "diag"}
    reg_covar : float
        Added to the variances (the data are standardised, so 1e-8 is tiny).
    """

    def __init__(self, n_regimes, n_mix, switching, covariance_type, reg_covar):
        from gmmkit import GaussianMixture

        self.n_regimes, self.n_mix, self.switching = n_regimes, n_mix, switching
        kind = "tied" if switching == "mean" else covariance_type
        self.model = GaussianMixture(n_regimes * n_mix, covariance_type=kind,
                                     reg_covar=reg_covar)
        self._previous = None

    def start(self, X, seed):
        """Initial parameters from a Gaussian mixture of ``X`` (n_days, n_features)."""
        import warnings

        from gmmkit import GaussianMixture
        from gmmkit.exceptions import ConvergenceWarning

        n_total = self.n_regimes * self.n_mix
        kind = "diag" if self.model.covariance_type == "diag" else "full"
        start = GaussianMixture(n_total, covariance_type=kind, n_init=1, max_iter=30,
                                random_state=seed, reg_covar=self.model.reg_covar)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start.fit(X)
        order = np.argsort(_spread(start.covariances_, kind), kind="stable")
        self._previous = None
        self.m_step(X, start.predict_proba(X)[:, order])

    def log_densities(self, X):
        """log p(x_t | regime k) (n_days, n_regimes) and memberships inside each regime.

        Returns
        -------
        log_density : ndarray of shape (n_days, n_regimes)
        within : ndarray of shape (n_days, n_regimes, n_mix)
            P(component m | regime k, x_t); all ones when n_mix == 1.
        """
        joint = self.model.component_log_densities(X)
        n_days = joint.shape[0]
        joint = joint.reshape(n_days, self.n_regimes, self.n_mix)
        if self.n_mix == 1:
            return joint[:, :, 0], np.ones_like(joint)
        joint = joint + np.log(np.maximum(self.mix_weights(), _TINY))
        top = joint.max(axis=2, keepdims=True)
        shifted = np.exp(joint - top)
        total = shifted.sum(axis=2, keepdims=True)
        return (np.log(total) + top)[:, :, 0], shifted / total

    def m_step(self, X, resp):
        """Parameters from responsibilities ``resp`` (n_days, n_regimes * n_mix)."""
        self.model.fit_from_responsibilities(X, resp)
        if self.switching == "variance":
            self._common_mean(resp.sum(axis=0))

    def _common_mean(self, mass):
        from gmmkit_finance.risk import full_covariances

        model = self.model
        centred = full_covariances(model)
        means = model.means_
        previous = centred if self._previous is None else self._previous
        precisions = np.linalg.inv(previous) * mass[:, None, None]
        mean = np.linalg.solve(precisions.sum(axis=0), np.einsum("kij,kj->i", precisions, means))
        offsets = means - mean
        covariances = centred + offsets[:, :, None] * offsets[:, None, :]
        self._previous = covariances
        if model.covariance_type == "diag":
            covariances = np.diagonal(covariances, axis1=1, axis2=2).copy()
        self.model = model.with_parameters(model.weights_, np.tile(mean, (len(mass), 1)),
                                           covariances)

    def mix_weights(self):
        """Weights of the components inside each regime, (n_regimes, n_mix), rows sum to 1."""
        weights = np.asarray(self.model.weights_, dtype=np.float64).reshape(self.n_regimes,
                                                                            self.n_mix)
        return weights / weights.sum(axis=1, keepdims=True)

    def n_parameters(self, n_features):
        """Free emission parameters (for BIC)."""
        k, m, d = self.n_regimes, self.n_mix, n_features
        per_cov = d * (d + 1) // 2 if self.model.covariance_type in ("full", "tied") else d
        mixing = k * (m - 1)
        if self.switching == "both":
            return k * m * (d + per_cov) + mixing
        if self.switching == "mean":
            return k * m * d + per_cov + mixing
        return d + k * per_cov


def _spread(covariances, kind):
    """Total variance of each component (for ordering calm to turbulent)."""
    covariances = np.asarray(covariances)
    return covariances.sum(axis=1) if kind == "diag" else np.trace(covariances, axis1=1, axis2=2)
