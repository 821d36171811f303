"""MarkovRegimes: a fitted regime HMM, its probabilities, durations and risk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gmmkit import information_criteria
from gmmkit_finance import risk


@dataclass
class MarkovRegimes:
    """A Gaussian hidden Markov model of returns (see :func:`fit_regimes`).

    Regimes are ordered by volatility: 0 is the calmest. Parameters are in
    the units of the returns.

    Attributes
    ----------
    startprob : ndarray of shape (n_regimes,)
        P(regime on the first day | all data).
    transmat : ndarray of shape (n_regimes, n_regimes)
        ``transmat[i, j] = P(regime_t = j | regime_{t-1} = i)``; rows sum to 1.
    weights : ndarray of shape (n_regimes, n_mix)
        Weights of the Gaussians inside each regime (all 1 when n_mix == 1).
    means : ndarray of shape (n_regimes, n_mix, n_assets)
    covariances : ndarray of shape (n_regimes, n_mix, n_assets, n_assets)
    loglik : float
        Log-likelihood of the fitted returns.
    n_parameters : int
        Free parameters (initial probabilities, transitions, emissions).
    n_iter : int
        Baum-Welch iterations of the best start.
    converged : bool
    filtered, smoothed : pandas.DataFrame or ndarray of shape (n_dates, n_regimes)
        P(regime_t | returns up to t) and P(regime_t | all returns).
    path : pandas.Series or ndarray of shape (n_dates,)
        The Viterbi path: the most probable sequence of regimes.
    switching : str
    """

    startprob: np.ndarray
    transmat: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    loglik: float
    n_parameters: int
    n_iter: int
    converged: bool
    filtered: object
    smoothed: object
    path: object
    switching: str
    emissions: Any
    order: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    names: list
    index: object = None
    periods_per_year: int = 252

    def __post_init__(self):
        if self.index is not None:
            import pandas as pd

            columns = range(self.n_regimes)
            self.filtered = pd.DataFrame(self.filtered, index=self.index, columns=columns)
            self.smoothed = pd.DataFrame(self.smoothed, index=self.index, columns=columns)
            self.path = pd.Series(self.path, index=self.index, name="regime")

    @property
    def n_regimes(self):
        return len(self.startprob)

    @property
    def n_obs(self):
        return len(self.path)

    def bic(self) -> float:
        """Bayesian information criterion: ``-2 loglik + n_parameters log n_dates``."""
        return information_criteria(self.loglik, self.n_obs, self.n_parameters)[0]

    def aic(self) -> float:
        """Akaike information criterion: ``-2 loglik + 2 n_parameters``."""
        return information_criteria(self.loglik, self.n_obs, self.n_parameters)[1]

    def expected_durations(self) -> np.ndarray:
        """Expected days in each regime once entered, ``1 / (1 - A[k, k])``, shape (n_regimes,).

        A regime that is never left has an infinite duration.
        """
        stay = np.diag(self.transmat)
        with np.errstate(divide="ignore"):
            return np.where(stay < 1.0, 1.0 / np.maximum(1.0 - stay, 0.0), np.inf)

    def stationary_distribution(self) -> np.ndarray:
        """The long-run share of days in each regime (left eigenvector of ``transmat``)."""
        k = self.n_regimes
        system = np.vstack([self.transmat.T - np.eye(k), np.ones(k)])
        target = np.append(np.zeros(k), 1.0)
        solution = np.linalg.lstsq(system, target, rcond=None)[0]
        solution = np.clip(solution, 0.0, None)
        return solution / solution.sum()

    def regime_means(self) -> np.ndarray:
        """Each regime's mean return, shape (n_regimes, n_assets)."""
        return np.einsum("km,kmd->kd", self.weights, self.means)

    def regime_covariances(self) -> np.ndarray:
        """Each regime's return covariance, shape (n_regimes, n_assets, n_assets)."""
        offsets = self.means - self.regime_means()[:, None, :]
        outer = offsets[..., :, None] * offsets[..., None, :]
        return np.einsum("km,kmij->kij", self.weights, self.covariances + outer)

    @property
    def table(self):
        """One row per regime: long-run share, expected duration, Viterbi days, annual figures."""
        import pandas as pd

        path = np.asarray(self.path)
        rows = {"share": self.stationary_distribution(),
                "duration": self.expected_durations(),
                "days": np.bincount(path, minlength=self.n_regimes)}
        means, variances = self.regime_means(), np.diagonal(self.regime_covariances(), axis1=1,
                                                            axis2=2)
        for j, name in enumerate(self.names):
            prefix = "" if len(self.names) == 1 else f"{name} "
            rows[f"{prefix}annual mean"] = means[:, j] * self.periods_per_year
            rows[f"{prefix}annual volatility"] = np.sqrt(variances[:, j] * self.periods_per_year)
        return pd.DataFrame(rows, index=pd.RangeIndex(self.n_regimes, name="regime"))

    def log_densities(self, returns: Any) -> np.ndarray:
        """log p(returns_t | regime k) in return units, shape (n_dates, n_regimes)."""
        values = np.asarray(returns, dtype=np.float64)
        values = values[:, None] if values.ndim == 1 else values
        if values.ndim != 2 or values.shape[1] != len(self.names):
            raise ValueError(f"returns have shape {np.shape(returns)}; this model has "
                             f"{len(self.names)} asset(s) ({', '.join(self.names)}).")
        log_density, _ = self.emissions.log_densities((values - self.center) / self.scale)
        return log_density[:, self.order] - float(np.log(self.scale).sum())

    def predict_regime(self, returns: Any, *, start: Any = "stationary") -> Any:
        """Filtered regime probabilities of new returns: each day uses only days up to it.

        Parameters
        ----------
        returns : pandas.Series/DataFrame or array-like of shape (n_dates,) or (n_dates, n_assets)
        start : {"stationary", "continue"} or array-like of shape (n_regimes,)
            The regime probabilities before the first new day: the long-run
            shares, the fit's last filtered probabilities moved one day on
            (new days that follow the fitted ones), or given.

        Returns
        -------
        pandas.DataFrame or ndarray of shape (n_dates, n_regimes)
        """
        from gmmkit_finance.data import as_returns
        from gmmkit_finance.hmm_scan import filter_only

        values, index, _ = as_returns(returns)
        prior = self._start(start)
        proba, _ = filter_only(self.log_densities(values), prior, self.transmat)
        if index is None:
            return proba
        import pandas as pd

        return pd.DataFrame(proba, index=index, columns=range(self.n_regimes))

    def _start(self, start):
        if isinstance(start, str):
            if start == "stationary":
                return self.stationary_distribution()
            if start == "continue":
                return self.next_regime_probabilities()
            raise ValueError(f"start={start!r}; use 'stationary', 'continue' or probabilities.")
        prior = np.asarray(start, dtype=np.float64).ravel()
        if prior.shape != (self.n_regimes,) or np.any(prior < 0) or prior.sum() <= 0:
            raise ValueError(f"start has shape {np.shape(start)}; give {self.n_regimes} "
                             "non-negative regime probabilities.")
        return prior / prior.sum()

    def next_regime_probabilities(self) -> np.ndarray:
        """P(regime on the day after the data), shape (n_regimes,): last filtered @ transmat."""
        return np.asarray(self.filtered)[-1] @ self.transmat

    def next_day_mixture(self, weights: Any = None, *,
                         probabilities: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next day's return distribution as a 1-D mixture (weights, means, stds).

        It is the mixture of the regimes weighted by the next day's regime
        probabilities (the last filtered probabilities times the transition
        matrix), each regime contributing its own Gaussian(s).

        Parameters
        ----------
        weights : array-like of shape (n_assets,), optional
            Portfolio weights; needed for several assets.
        probabilities : array-like of shape (n_regimes,), optional
            Regime probabilities to use instead (e.g. a stress scenario).

        Returns
        -------
        weights, means, stds : ndarrays of shape (n_regimes * n_mix,)
        """
        prior = self.next_regime_probabilities() if probabilities is None \
            else self._start(probabilities)
        if weights is None:
            if len(self.names) > 1:
                raise ValueError(f"the model has {len(self.names)} assets "
                                 f"({', '.join(self.names)}); give portfolio weights, one per "
                                 "asset.")
            weights = [1.0]
        mix = (prior[:, None] * self.weights).ravel()
        d = self.means.shape[-1]
        return risk.portfolio_mixture(mix, self.means.reshape(-1, d),
                                      self.covariances.reshape(-1, d, d), weights)

    def value_at_risk(self, level: float = 0.99, *, weights: Any = None,
                      probabilities: Any = None, position: str = "long") -> float:
        """Next-day Value-at-Risk (a positive loss) of the regime-weighted mixture.

        Parameters
        ----------
        level : float in (0, 1), default=0.99
        weights : array-like of shape (n_assets,), optional
        probabilities : array-like of shape (n_regimes,), optional
            See :meth:`next_day_mixture`.
        position : {"long", "short"}, default="long"
            "short": the loss is the return itself (the upper tail).

        Returns
        -------
        float
        """
        return risk.mixture_var(*self.next_day_mixture(weights, probabilities=probabilities),
                                level, position=position)

    def expected_shortfall(self, level: float = 0.99, *, weights: Any = None,
                           probabilities: Any = None, position: str = "long") -> float:
        """Next-day Expected Shortfall (a positive loss), as :meth:`value_at_risk`."""
        return risk.mixture_es(*self.next_day_mixture(weights, probabilities=probabilities),
                               level, position=position)

    def regimes(self):
        """The smoothed probabilities and Viterbi path as a :class:`Regimes` (for plots)."""
        from gmmkit_finance.regimes import Regimes

        return Regimes(self.smoothed, self.path, self.table, np.arange(self.n_regimes))
