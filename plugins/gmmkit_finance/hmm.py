"""fit_regimes: a Markov-switching Gaussian mixture (hidden Markov model) of returns.

Hamilton's (1989) regime-switching model: a hidden regime follows a Markov
chain with transition matrix ``A`` (``A[i, j] = P(regime_t = j | regime_{t-1}
= i)``) and each day's returns are Gaussian (or a small Gaussian mixture)
given the regime. It is a Gaussian mixture whose weights follow a Markov
chain, so it is fitted by Baum-Welch: the E-step is the forward-backward
recursion (:mod:`gmmkit_finance.hmm_scan`), the M-step is the core
engine's Gaussian-mixture M-step on the smoothed regime probabilities
(:mod:`gmmkit_finance.hmm_emissions`) plus the expected transition counts.
Several starts (seeded Gaussian-mixture fits) run; the best likelihood wins.
``n_regimes="auto"`` picks the number of regimes by BIC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gmmkit import information_criteria
from gmmkit_finance.hmm_emissions import SWITCHING, Emissions, EmptyRegimeError
from gmmkit_finance.hmm_scan import forward_backward, viterbi
from gmmkit_finance.regime_model import MarkovRegimes

#: returns needed per regime and per free parameter of a regime's emission
MIN_RETURNS_PER_REGIME = 20
#: "auto" tries 1..MAX_AUTO_REGIMES regimes
MAX_AUTO_REGIMES = 4
#: a regime whose smoothed probabilities add up to fewer days than this is empty
MIN_REGIME_DAYS = 2.0
#: "auto" compares the numbers of regimes at this per-day tolerance, then finishes the best
AUTO_SCREEN_TOL = 1e-4
#: the transition matrix every start begins with: P(stay) on the diagonal
START_PERSISTENCE = 0.9


def fit_regimes(returns: Any, n_regimes: int | str = 2, *, switching: str = "both",
                n_mix: int = 1, covariance_type: str = "full", n_init: int = 3,
                max_iter: int = 1000, tol: float = 1e-6, reg_covar: float = 1e-8,
                random_state: int = 0, periods_per_year: int = 252) -> MarkovRegimes:
    """Fit a Gaussian hidden Markov model (Markov-switching mixture) to returns.

    Parameters
    ----------
    returns : pandas.Series/DataFrame or array-like of shape (n_dates,) or (n_dates, n_assets)
        Returns in date order; several columns are modelled jointly.
    n_regimes : int or "auto", default=2
        "auto" fits 1..4 regimes (as many as the data support) and keeps the
        lowest BIC.
    switching : {"both", "mean", "variance"}, default="both"
        What changes with the regime: mean and covariance, the mean only (one
        shared covariance), or the covariance only (one shared mean).
    n_mix : int, default=1
        Gaussian components inside each regime (switching "both" or "mean").
    covariance_type : {"full", "diag"}, default="full"
        For several assets.
    n_init : int, default=3
        Starts (seeded Gaussian-mixture fits); the highest likelihood is kept.
    max_iter : int, default=1000
        Baum-Welch iterations per start.
    tol : float, default=1e-6
        Stop when the log-likelihood per day improves by less than this.
    reg_covar : float, default=1e-8
        Added to the variances of the standardised returns.
    random_state : int, default=0
    periods_per_year : int, default=252

    Returns
    -------
    MarkovRegimes
        Regimes ordered calm (0) to turbulent, with filtered and smoothed
        probabilities, the Viterbi path, transition matrix, durations, BIC.

    Raises
    ------
    ValueError
        Too few returns for the regimes asked for; bad settings; a regime
        that empties in every start.
    """
    from gmmkit_finance.data import as_returns

    _check_settings(switching, n_mix, covariance_type, n_init)
    values, index, names = as_returns(returns)
    center, scale = values.mean(axis=0), values.std(axis=0)
    if np.any(scale == 0):
        raise ValueError("fit_regimes got constant returns (zero variance); regimes need "
                         "returns that vary.")
    X = (values - center) / scale
    settings = dict(switching=switching, n_mix=n_mix, covariance_type=covariance_type,
                    n_init=n_init, max_iter=int(max_iter), tol=float(tol),
                    reg_covar=float(reg_covar), random_state=random_state)
    labels = dict(center=center, scale=scale, names=names, index=index,
                  periods_per_year=periods_per_year)
    if n_regimes == "auto":
        return _fit_auto(X, settings, labels)
    n_regimes = _check_n_regimes(n_regimes)
    _require(X.shape, n_regimes, settings)
    return _fit(X, n_regimes, settings, labels)


def _check_settings(switching, n_mix, covariance_type, n_init):
    if switching not in SWITCHING:
        raise ValueError(f"switching={switching!r}; use 'both', 'mean' or 'variance'.")
    if covariance_type not in ("full", "diag"):
        raise ValueError(f"covariance_type={covariance_type!r}; use 'full' or 'diag'.")
    if not isinstance(n_mix, (int, np.integer)) or n_mix < 1:
        raise ValueError(f"n_mix={n_mix!r}; give the number of Gaussians per regime, 1 or more.")
    if n_mix > 1 and switching == "variance":
        raise ValueError("n_mix > 1 needs switching='both' or 'mean': mixtures inside regimes "
                         "have one mean per component.")
    if not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise ValueError(f"n_init={n_init!r}; give the number of starts, 1 or more.")


def _check_n_regimes(n_regimes):
    if isinstance(n_regimes, bool) or not isinstance(n_regimes, (int, np.integer)) \
            or n_regimes < 1:
        raise ValueError(f"n_regimes={n_regimes!r}; give a number of regimes such as 2 or 3, "
                         "or 'auto' to choose by BIC.")
    return int(n_regimes)


def required_returns(n_regimes: int, n_features: int, settings: dict) -> int:
    """Fewest returns fit_regimes accepts for ``n_regimes`` regimes (see MIN_RETURNS_PER_REGIME).

    Each regime needs ``MIN_RETURNS_PER_REGIME`` returns, and 10 per free
    parameter of its emission when that is more.
    """
    per_regime = Emissions(1, settings["n_mix"], "both", settings["covariance_type"],
                           1e-8).n_parameters(n_features)
    return n_regimes * max(MIN_RETURNS_PER_REGIME, 10 * per_regime)


def _require(shape, n_regimes, settings):
    needed = required_returns(n_regimes, shape[1], settings)
    if shape[0] < needed:
        per = needed // n_regimes
        raise ValueError(
            f"fit_regimes with n_regimes={n_regimes} needs at least {needed} returns ({per} per "
            f"regime); got {shape[0]}. Give a longer series or fewer regimes."
        )


def _fit_auto(X, settings, labels):
    """Screen 1..MAX_AUTO_REGIMES regimes at a loose tolerance, then finish the BIC winner."""
    supported = [k for k in range(1, MAX_AUTO_REGIMES + 1)
                 if X.shape[0] >= required_returns(k, X.shape[1], settings)]
    if not supported:
        _require(X.shape, 1, settings)
    screening = {**settings, "tol": max(settings["tol"], AUTO_SCREEN_TOL)}
    best, failures = None, []
    for k in supported:
        try:
            run = _best_run(X, k, screening)
        except ValueError as error:  # every start emptied a regime: k is not supported
            failures.append(str(error))
            continue
        if best is None or _bic(X, run) < _bic(X, best):
            best = run
    if best is None:
        raise ValueError(failures[-1])
    if settings["tol"] < screening["tol"]:
        with single_blas_thread():
            best = baum_welch(X, best["emissions"], None, settings["max_iter"], settings["tol"],
                              start=(best["startprob"], best["transmat"]))
    return _result(X, best, settings, labels)


def _bic(X, run):
    return information_criteria(run["loglik"], X.shape[0], _n_parameters(X, run["emissions"]))[0]


def _n_parameters(X, emissions):
    k = emissions.n_regimes
    return (k - 1) + k * (k - 1) + emissions.n_parameters(X.shape[1])


def _fit(X, n_regimes, settings, labels):
    return _result(X, _best_run(X, n_regimes, settings), settings, labels)


def _best_run(X, n_regimes, settings):
    """The Baum-Welch run of highest likelihood over ``n_init`` seeded starts."""
    seeds = np.random.default_rng(settings["random_state"]).integers(0, 2**31 - 1,
                                                                      settings["n_init"])
    best, emptied = None, None
    with single_blas_thread():
        for seed in seeds:
            emissions = Emissions(n_regimes, settings["n_mix"], settings["switching"],
                                  settings["covariance_type"], settings["reg_covar"])
            try:
                run = baum_welch(X, emissions, int(seed), settings["max_iter"], settings["tol"])
            except EmptyRegimeError as error:
                emptied = error
                continue
            if best is None or run["loglik"] > best["loglik"]:
                best = run
    if best is None:
        raise ValueError(
            f"every start of fit_regimes emptied a regime during EM (regime {emptied.regime} "
            f"kept {emptied.mass:.1f} days' weight, fewer than {MIN_REGIME_DAYS:g}): the returns "
            f"do not support {n_regimes} regimes; fit fewer (n_regimes={max(1, n_regimes - 1)}) "
            "or let BIC choose (n_regimes='auto')."
        )
    return best


def single_blas_thread():
    """A context that holds BLAS to one thread (threadpoolctl), or does nothing without it.

    Baum-Welch makes thousands of tiny linear-algebra calls (2 x 2 Cholesky
    factors); a multi-threaded BLAS spends more time waking its threads
    than computing them, most of all on a busy machine.
    """
    from gmmkit import single_blas_thread as cached  # one threadpoolctl scan per process

    return cached()


def baum_welch(X, emissions, seed, max_iter, tol, *, start=None):
    """Run Baum-Welch from a seeded start; returns the fitted pieces as a dict.

    Parameters
    ----------
    X : ndarray of shape (n_days, n_features)
        Standardised returns.
    emissions : Emissions
    seed : int
    max_iter : int
    tol : float
        Per-day log-likelihood improvement below which the run stops.
    start : tuple (startprob, transmat), optional
        Continue from these and the emissions' current parameters instead of
        seeding the emissions with ``seed``.

    Raises
    ------
    EmptyRegimeError
        A regime's smoothed probabilities add up to fewer than
        ``MIN_REGIME_DAYS`` days.
    """
    k = emissions.n_regimes
    if start is None:
        emissions.start(X, seed)
        startprob = np.full(k, 1.0 / k)
        transmat = np.full((k, k), (1.0 - START_PERSISTENCE) / max(k - 1, 1))
        np.fill_diagonal(transmat, START_PERSISTENCE if k > 1 else 1.0)
    else:
        startprob, transmat = start
    previous, converged, n_iter = -np.inf, False, 0
    for n_iter in range(1, max_iter + 1):
        log_density, within = emissions.log_densities(X)
        filtered, smoothed, transitions, loglik = forward_backward(log_density, startprob,
                                                                    transmat)
        if loglik - previous < tol * X.shape[0]:
            converged = True
            break
        previous = loglik
        mass = smoothed.sum(axis=0)
        if mass.min() < MIN_REGIME_DAYS:
            regime = int(mass.argmin())
            raise EmptyRegimeError(regime, float(mass[regime]))
        startprob = smoothed[0]
        transmat = transitions / np.maximum(transitions.sum(axis=1, keepdims=True), 1e-300)
        resp = (smoothed[:, :, None] * within).reshape(X.shape[0], -1)
        emissions.m_step(X, resp)
    else:  # max_iter reached: the E-step of the last parameters
        log_density, within = emissions.log_densities(X)
        filtered, smoothed, transitions, loglik = forward_backward(log_density, startprob,
                                                                    transmat)
    return {"emissions": emissions, "startprob": startprob, "transmat": transmat,
            "log_density": log_density, "filtered": filtered, "smoothed": smoothed,
            "loglik": loglik, "converged": converged, "n_iter": n_iter}


def _result(X, run, settings, labels):
    """A MarkovRegimes from a finished run: regimes ordered by volatility, return units."""
    from gmmkit_finance.risk import full_covariances

    emissions = run["emissions"]
    k, m = emissions.n_regimes, emissions.n_mix
    scale, center = labels["scale"], labels["center"]
    weights = emissions.mix_weights()
    means = emissions.model.means_.reshape(k, m, -1) * scale + center
    covariances = full_covariances(emissions.model) * np.outer(scale, scale)
    covariances = covariances.reshape(k, m, *covariances.shape[1:])
    regime_means = np.einsum("km,kmd->kd", weights, means)
    offsets = means - regime_means[:, None, :]
    total = np.einsum("km,kmij->kij", weights,
                      covariances + offsets[..., :, None] * offsets[..., None, :])
    order = np.argsort(np.trace(total, axis1=1, axis2=2), kind="stable")
    path, _ = viterbi(run["log_density"][:, order], run["startprob"][order],
                      run["transmat"][np.ix_(order, order)])
    n_parameters = _n_parameters(X, emissions)
    return MarkovRegimes(
        startprob=run["startprob"][order], transmat=run["transmat"][np.ix_(order, order)],
        weights=weights[order], means=means[order], covariances=covariances[order],
        loglik=run["loglik"] - X.shape[0] * float(np.log(scale).sum()),
        n_parameters=n_parameters, n_iter=run["n_iter"], converged=run["converged"],
        filtered=run["filtered"][:, order], smoothed=run["smoothed"][:, order], path=path,
        switching=settings["switching"], emissions=emissions, order=order, **labels,
    )
