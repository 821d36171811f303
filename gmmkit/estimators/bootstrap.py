"""The bootstrap likelihood-ratio test for the number of components (McLachlan 1987).

mclust's ``mclustBootstrapLRT``: for K = 1, 2, ... test H0: K components
against H1: K + 1 components of one covariance model. The statistic is
LRTS = 2 (log L1 - log L0) of the two fits; its null distribution is not
chi-squared (the regularity conditions fail at the boundary), so it is
bootstrapped: samples of the data's size drawn from the fitted H0 mixture
are fitted with K and K + 1 components (each EM starting from the fit of
the data, as mclust does), and the p-value is
(1 + #{bootstrap LRTS >= observed}) / (n_bootstrap + 1). The sequence stops
at the first K whose p-value exceeds ``level`` (that K is the choice),
unless ``max_components`` asks for every K up to it.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.validation import check_array
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams
from gmmkit.engine.mclust_models import check_model_dimensions
from gmmkit.engine.processes import TaskPool, effective_n_jobs
from gmmkit.engine.rng import make_rng
from gmmkit.engine.warm_starts import split_widest
from gmmkit.estimators.mixture import GaussianMixture

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.engine.types import FloatArray, RandomStateLike


@dataclass
class LRTResult:
    """The outcome of :func:`bootstrap_lrt`.

    Attributes
    ----------
    covariance_type : str
    n_components : list of int
        The K of each test (H0: K against H1: K + 1).
    statistic : ndarray of shape (n_tests,)
        The observed LRTS = 2 (log L(K + 1) - log L(K)).
    bootstrap : ndarray of shape (n_bootstrap, n_tests)
        The bootstrapped statistics under each H0.
    p_values : ndarray of shape (n_tests,)
    level : float
    chosen : int
        The first K whose p-value exceeds ``level`` (the largest K + 1
        tested when every test rejects).
    """

    covariance_type: str
    n_components: list[int]
    statistic: FloatArray
    bootstrap: FloatArray
    p_values: FloatArray
    level: float
    chosen: int

    def table(self) -> list[dict[str, Any]]:
        """One row per test: H0 and H1 components, the statistic, the p-value."""
        return [{"h0": k, "h1": k + 1, "lrts": float(s), "p_value": float(p)}
                for k, s, p in zip(self.n_components, self.statistic, self.p_values)]


def bootstrap_lrt(
    X: ArrayLike,
    covariance_type: str = "VVV",
    *,
    max_components: int | None = None,
    n_bootstrap: int = 999,
    level: float = 0.05,
    n_jobs: int | None = None,
    random_state: RandomStateLike = None,
    verbose: int = 0,
    **params: Any,
) -> LRTResult:
    """Test K against K + 1 components by a parametric bootstrap of the likelihood ratio.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str, default="VVV"
        The covariance model of both fits (mclust or scikit-learn names).
    max_components : int, optional
        Test every K up to this (H1 up to max_components + 1). None: from
        K = 1 until a p-value exceeds ``level`` (at most K = 8 against 9,
        mclust's default).
    n_bootstrap : int, default=999
    level : float, default=0.05
    n_jobs : int or None, default=None
        The bootstrap fits run in this many processes (-1: every core); the
        result is the serial run's.
    random_state : int, RandomState, Generator or None
        Seeds the fits' hierarchical clustering subset and the bootstrap samples.
    verbose : int, default=0
        1: one line per test on stderr.
    **params
        GaussianMixture parameters of every fit (tol, max_iter, reg_covar).
        The fits of X start from mclust's hierarchical clustering.

    Returns
    -------
    LRTResult

    Raises
    ------
    ValueError
        For an unknown or unfitting covariance model, ``n_bootstrap`` < 1,
        ``level`` outside (0, 1), ``max_components`` < 1, or ``missing`` or
        ``noise`` in ``params``.
    """
    X = check_array(X)
    get_covariance_type(covariance_type)  # an unknown name lists the valid ones
    check_model_dimensions(covariance_type, X.shape[1])
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be an integer >= 1; got {n_bootstrap!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    if max_components is not None and (not isinstance(max_components, int)
                                       or max_components < 1):
        raise ValueError(f"max_components must be an integer >= 1; got {max_components!r}")
    for name in ("missing", "noise"):
        if params.get(name) not in (None, "error"):
            raise ValueError(f"bootstrap_lrt does not take {name}={params[name]!r}: it draws "
                             "complete samples from a Gaussian mixture; fit without it.")
    params = {"tol": 1e-5, "max_iter": 1000, **params}
    last = 8 if max_components is None else max_components
    seeds = np.random.SeedSequence(int(make_rng(random_state).integers(2**63)))
    seed = int(make_rng(random_state).integers(2**31)) if random_state is not None else None
    ks: list[int] = []
    observed: list[float] = []
    boots: list[FloatArray] = []
    p_values: list[float] = []
    fits = {1: _fit_data(X, 1, covariance_type, params, seed)}
    shared = {"covariance_type": covariance_type, "n_samples": len(X), "params": params}
    with TaskPool(_bootstrap_task, shared, effective_n_jobs(n_jobs, n_bootstrap)) as pool:
        for k in range(1, last + 1):
            fits[k + 1] = _fit_data(X, k + 1, covariance_type, params, seed, fits[k])
            h0, h1 = fits[k], fits[k + 1]
            statistic = 2.0 * len(X) * (h1.score(X) - h0.score(X))
            tasks = [(s, _state(h0), _state(h1)) for s in seeds.spawn(n_bootstrap)]
            sample = np.array(pool.map(tasks))
            p_value = (1.0 + np.sum(sample >= statistic)) / (n_bootstrap + 1.0)
            ks.append(k)
            observed.append(statistic)
            boots.append(sample)
            p_values.append(p_value)
            if verbose:
                print(f"bootstrap_lrt: {covariance_type} K={k} vs K={k + 1}: LRTS "
                      f"{statistic:.2f}, p-value {p_value:.4f}", file=sys.stderr, flush=True)
            if max_components is None and p_value > level:
                break
    p = np.array(p_values)
    above = np.flatnonzero(p > level)
    chosen = int(ks[above[0]]) if above.size else ks[-1] + 1
    return LRTResult(covariance_type, ks, np.array(observed), np.column_stack(boots), p,
                     level, chosen)


def _fit_data(X: FloatArray, k: int, covariance_type: str, params: dict[str, Any],
              seed: int | None, below: GaussianMixture | None = None) -> GaussianMixture:
    """The K-component fit of the data: from mclust's hierarchical clustering start, and
    from the K - 1 fit with its widest component split (the better of the two)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the hc subset of large data
        best = GaussianMixture(k, covariance_type=covariance_type, init_params="hc",
                               random_state=seed, **params).fit(X)
    if below is None:
        return best
    cov_type = get_covariance_type(covariance_type)
    split = split_widest(MixtureParams(
        below.weights_, below.means_, below.covariances_, below.precisions_cholesky_),
        cov_type, params.get("reg_covar", 1e-6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = GaussianMixture(
            k, covariance_type=covariance_type, weights_init=split.weights / split.weights.sum(),
            means_init=split.means, precisions_init=cov_type.precisions(split.precisions_cholesky),
            **params).fit(X)
    return other if other.score(X) > best.score(X) else best


def _state(model: GaussianMixture) -> dict[str, Any]:
    """What a bootstrap task needs of a fit: its parameters (a start, and H0 to sample)."""
    k, d = model.means_.shape
    dense = get_covariance_type(model.covariance_type).dense(model.covariances_, k, d)
    return {"n_components": k, "weights": model.weights_, "means": model.means_,
            "precisions": model.precisions_, "covariances": dense}


def _bootstrap_task(task: tuple[np.random.SeedSequence, dict[str, Any], dict[str, Any]], *,
                    covariance_type: str, n_samples: int, params: dict[str, Any]) -> float:
    """One bootstrap LRTS: a sample from H0, fitted with K and K + 1 from the data's fits."""
    seed, h0, h1 = task
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_samples, h0["weights"] / h0["weights"].sum())
    sample = np.vstack([rng.multivariate_normal(m, c, size=n)
                        for m, c, n in zip(h0["means"], h0["covariances"], counts)])
    logliks = []
    for fit in (h0, h1):
        model = GaussianMixture(
            fit["n_components"], covariance_type=covariance_type,
            weights_init=fit["weights"] / fit["weights"].sum(), means_init=fit["means"],
            precisions_init=fit["precisions"], **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(sample)
        logliks.append(float(model.score_samples(sample).sum()))
    return 2.0 * (logliks[1] - logliks[0])
