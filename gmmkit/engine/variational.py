"""Variational Bayes for Gaussian mixtures, on the engine's summed Stats.

The model and its updates are scikit-learn's ``BayesianGaussianMixture``
(Bishop 2006, section 10.2; Blei and Jordan 2006 for the Dirichlet
process), written on sufficient statistics so that the chunked engine of
:mod:`gmmkit.engine.em` does all the work over the rows:

- E-step: q(z) is the responsibilities of a Gaussian mixture with the
  expected precisions nu_k W_k and, in place of log weights, the
  per-component constants E[log pi_k] + 1/2 (E[log |Lambda_k|] - log |nu_k W_k|)
  - D / (2 beta_k) (``MixtureParams.log_weights``).  The chunk pass also sums
  sum_n w_n sum_k r_nk log r_nk, the only data term of the lower bound.
- M-step (:func:`update`): the Dirichlet (or stick-breaking Beta)
  concentrations, the Gaussian means and mean precisions, and the Wishart
  degrees of freedom and scales, from nk, the component means xk and the
  component covariances Sk of the Stats (centred on the data centre).
- Lower bound (:func:`lower_bound`): scikit-learn's ``_compute_lower_bound``
  (constant terms dropped), so the values are comparable.

As in scikit-learn, the Wishart scale is kept normalised: ``covariances``
holds W_k^-1 / nu_k, so ``precisions_cholesky`` factors nu_k W_k = E[Lambda_k].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from scipy.special import betaln, digamma, gammaln

from gmmkit.engine.convergence import Progress, guard_float32
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams, map_chunks, sum_stats
from gmmkit.engine.estep import stats_from_resp
from gmmkit.engine.responsibilities import log_normalize
from gmmkit.engine.workspace import scratch

if TYPE_CHECKING:
    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.convergence import EMResult, EMSettings
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import Stats
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import BoolArray, FloatArray, Rows, WeightPrior
    from gmmkit.engine.workspace import Workspace

LOG_2 = np.log(2.0)


class DirichletProcess:
    """Truncated stick-breaking prior: Beta(1, gamma_0) on every stick fraction.

    Concentrations are a pair (a, b) of arrays of shape (K,).
    """

    name = "dirichlet_process"

    def concentration(self, nk: FloatArray, prior: float) -> tuple[FloatArray, FloatArray]:
        """Posterior Beta parameters from the masses nk (K,)."""
        mass_after = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0))
        return (1.0 + nk, prior + mass_after)

    def expected_log_weights(self, concentration: tuple[FloatArray, FloatArray]) -> FloatArray:
        """E[log pi_k]: (K,)."""
        a, b = concentration
        total = digamma(a + b)
        left = digamma(b) - total
        return digamma(a) - total + np.hstack((0.0, np.cumsum(left)[:-1]))

    def weights(self, concentration: tuple[FloatArray, FloatArray]) -> FloatArray:
        """Point-estimate weights (expected stick fractions), normalised: (K,)."""
        a, b = concentration
        total = a + b
        weights = a / total * np.hstack((1.0, np.cumprod((b / total)[:-1])))
        return weights / weights.sum()

    def log_normalizer(self, concentration: tuple[FloatArray, FloatArray]) -> float:
        """The log normaliser of q(pi) in scikit-learn's lower bound."""
        return -np.sum(betaln(*concentration))


class DirichletDistribution:
    """Finite symmetric Dirichlet(gamma_0) prior; concentrations of shape (K,)."""

    name = "dirichlet_distribution"

    def concentration(self, nk: FloatArray, prior: float) -> FloatArray:
        return prior + nk

    def expected_log_weights(self, concentration: FloatArray) -> FloatArray:
        return digamma(concentration) - digamma(concentration.sum())

    def weights(self, concentration: FloatArray) -> FloatArray:
        return concentration / concentration.sum()

    def log_normalizer(self, concentration: FloatArray) -> float:
        return gammaln(concentration.sum()) - gammaln(concentration).sum()


WEIGHT_PRIORS = {cls.name: cls() for cls in (DirichletProcess, DirichletDistribution)}


@dataclass
class Priors:
    """Resolved prior parameters (scikit-learn's ``*_prior_`` attributes).

    Attributes
    ----------
    weight : DirichletProcess or DirichletDistribution
    weight_concentration : float
    mean_precision : float
    mean : ndarray of shape (D,)
    degrees_of_freedom : float
    covariance : ndarray of shape (D, D) (full, tied), (D,) (diag) or float (spherical)
    """

    weight: WeightPrior
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray | float


@dataclass
class Posterior:
    """Parameters of the variational posterior, in scikit-learn's conventions.

    Attributes
    ----------
    weight_concentration : ndarray of shape (K,) or pair of them
    mean_precision : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    degrees_of_freedom : ndarray of shape (K,), or float (tied)
    covariances : ndarray
        W_k^-1 / nu_k in the covariance type's layout.
    precisions_cholesky : ndarray
        Cholesky factors of nu_k W_k, in the covariance type's layout.
    """

    #: an array (K,), or a pair of them for the dirichlet_process prior
    weight_concentration: Any
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray | float
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


def _wishart_full(
    nk: FloatArray,
    sk: FloatArray,
    diff: FloatArray,
    shrink: FloatArray,
    dof_prior: float,
    cov_prior: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    dof = dof_prior + nk
    spread = sk + shrink[:, None, None] * diff[:, :, None] * diff[:, None, :]
    return dof, (cov_prior + nk[:, None, None] * spread) / dof[:, None, None]


def _wishart_tied(
    nk: FloatArray,
    sk: FloatArray,
    diff: FloatArray,
    shrink: FloatArray,
    dof_prior: float,
    cov_prior: FloatArray | float,
) -> tuple[float, FloatArray]:
    n_components = nk.size
    dof = dof_prior + nk.sum() / n_components
    spread = sk * nk.sum() + ((nk * shrink) * diff.T) @ diff
    return dof, (cov_prior + spread / n_components) / dof


def _wishart_diag(
    nk: FloatArray,
    sk: FloatArray,
    diff: FloatArray,
    shrink: FloatArray,
    dof_prior: float,
    cov_prior: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    dof = dof_prior + nk
    spread = sk + shrink[:, None] * diff**2
    return dof, (cov_prior + nk[:, None] * spread) / dof[:, None]


def _wishart_spherical(
    nk: FloatArray,
    sk: FloatArray,
    diff: FloatArray,
    shrink: FloatArray,
    dof_prior: float,
    cov_prior: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    dof = dof_prior + nk
    spread = sk + shrink * np.mean(diff**2, axis=1)
    return dof, (cov_prior + nk * spread) / dof


@dataclass(frozen=True)
class CovariancePrior:
    """How one covariance type's prior looks and updates.

    Attributes
    ----------
    ndim : int
        Dimensions of ``covariance_prior``: 2 (D, D), 1 (D,) or 0 (a number).
    sums : str
        The covariance type whose moment sums give the data's covariance in
        this layout (the default prior).
    wishart : callable
        ``(nk, sk, diff, shrink, dof_prior, cov_prior) -> (dof, covariances)``:
        the Wishart update, covariances normalised by dof.
    """

    ndim: int
    sums: str
    wishart: Callable[..., tuple[Any, FloatArray]]

    def shape(self, n_features: int) -> tuple[int, ...]:
        return (n_features,) * self.ndim


COVARIANCE_PRIORS = {
    "full": CovariancePrior(2, "tied", _wishart_full),
    "tied": CovariancePrior(2, "tied", _wishart_tied),
    "diag": CovariancePrior(1, "diag", _wishart_diag),
    "spherical": CovariancePrior(0, "spherical", _wishart_spherical),
}


def data_covariance(
    data: ChunkedData, cov_type: CovarianceType, runner: ChunkRunner
) -> FloatArray | float:
    """The (weighted) covariance of the data, ddof=1, in the type's prior layout.

    One chunked pass in float64; with sample weights the divisor is
    sum(w) - 1, so integer weights give the covariance of repeated rows.

    Returns
    -------
    ndarray of shape (D, D) (full, tied), (D,) (diag) or float (spherical)
    """
    layout = COVARIANCE_PRIORS[cov_type.name]
    sums_type = get_covariance_type(layout.sums)
    data = data.with_dtype(np.float64)

    def chunk(rows: Rows) -> Stats:
        Xt = data.rows(rows)
        ones = np.ones((1, Xt.shape[1]))
        return stats_from_resp(
            sums_type, sums_type.design(Xt), ones, data.weights(rows), data.n_features
        )

    stats = sum_stats(runner.map(chunk, data.slices))
    covariance = sums_type.covariances(stats.nk, stats.sx, stats.sxx, 0.0)
    if stats.weight > 1.0:
        covariance *= stats.weight / (stats.weight - 1.0)
    covariance = covariance.reshape(layout.shape(data.n_features))
    return float(covariance) if layout.ndim == 0 else covariance


def update(
    stats: Stats, priors: Priors, cov_type: CovarianceType, reg_covar: float, center: FloatArray
) -> Posterior:
    """The variational M-step from summed Stats.

    Parameters
    ----------
    stats : gmmkit.engine.em.Stats
        Sums centred on ``center``.
    priors : Priors
    reg_covar : float
        Added to the diagonal of each component's data covariance Sk.
    center : ndarray of shape (D,)

    Returns
    -------
    Posterior
    """
    nk = stats.nk + 10 * np.finfo(np.float64).eps
    xk = stats.sx / nk[:, None]  # centred
    sk = cov_type.covariances(nk, stats.sx, stats.sxx, reg_covar)
    mean_precision = priors.mean_precision + nk
    prior_mean = priors.mean - center
    means = (priors.mean_precision * prior_mean + nk[:, None] * xk) / mean_precision[:, None]
    dof, covariances = COVARIANCE_PRIORS[cov_type.name].wishart(
        nk,
        sk,
        xk - prior_mean,
        priors.mean_precision / mean_precision,
        priors.degrees_of_freedom,
        priors.covariance,
    )
    return Posterior(
        weight_concentration=priors.weight.concentration(nk, priors.weight_concentration),
        mean_precision=mean_precision,
        means=means + center,
        degrees_of_freedom=dof,
        covariances=covariances,
        precisions_cholesky=cov_type.precision_cholesky(covariances, reg_covar),
    )


def _wishart_sum(
    function: Callable[[FloatArray], FloatArray],
    degrees_of_freedom: FloatArray | float,
    n_features: int,
) -> FloatArray:
    """sum_j function((nu - j) / 2) over j < D, for nu of shape (K,) or a scalar."""
    half = 0.5 * (np.asarray(degrees_of_freedom)[..., None] - np.arange(n_features))
    return function(half).sum(axis=-1)


def mixture_params(posterior: Posterior, weight_prior: WeightPrior) -> MixtureParams:
    """The E-step's Gaussian mixture: expected precisions and per-component constants.

    Parameters
    ----------
    posterior : Posterior
    weight_prior : DirichletProcess or DirichletDistribution

    Returns
    -------
    MixtureParams
        ``weights`` are the point-estimate weights; ``log_weights`` carry
        E[log pi_k] + 1/2 (E[log |Lambda_k|] - log |nu_k W_k| - D / beta_k).
    """
    n_features = posterior.means.shape[1]
    dof = posterior.degrees_of_freedom
    log_lambda = n_features * LOG_2 + _wishart_sum(digamma, dof, n_features)
    log_weights = (
        weight_prior.expected_log_weights(posterior.weight_concentration)
        + 0.5 * (log_lambda - n_features / posterior.mean_precision)
        - 0.5 * n_features * np.log(dof)
    )
    return MixtureParams(
        weights=weight_prior.weights(posterior.weight_concentration),
        means=posterior.means,
        covariances=posterior.covariances,
        precisions_cholesky=posterior.precisions_cholesky,
        log_weights=log_weights,
    )


def lower_bound(
    posterior: Posterior, weight_prior: WeightPrior, cov_type: CovarianceType, resp_log_resp: float
) -> float:
    """scikit-learn's evidence lower bound (without its constant terms).

    Parameters
    ----------
    posterior : Posterior
        After the M-step.
    weight_prior : DirichletProcess or DirichletDistribution
    cov_type : gmmkit.engine.covariance.CovarianceType
    resp_log_resp : float
        sum_n w_n sum_k r_nk log r_nk of the E-step before it.

    Returns
    -------
    float
    """
    n_components, n_features = posterior.means.shape
    dof = posterior.degrees_of_freedom
    log_det = cov_type.log_det(posterior.precisions_cholesky, n_features)
    log_det = log_det - 0.5 * n_features * np.log(dof)  # of the Cholesky factor of W_k
    log_wishart = -(
        dof * log_det + 0.5 * n_features * LOG_2 * dof + _wishart_sum(gammaln, dof, n_features)
    )
    return float(
        -resp_log_resp
        - np.broadcast_to(log_wishart, (n_components,)).sum()
        - weight_prior.log_normalizer(posterior.weight_concentration)
        - 0.5 * n_features * np.log(posterior.mean_precision).sum()
    )


def _resp_log_resp(
    resp: FloatArray, weights: FloatArray | None, workspace: Workspace | None
) -> float:
    """sum_n w_n sum_k r_kn log r_kn of one chunk's responsibilities (K, n)."""
    terms = scratch(workspace, "resp_log_resp", resp.shape, resp.dtype)
    np.log(resp, out=terms)
    terms *= resp
    per_row = terms.sum(axis=0, dtype=np.float64)
    return float(per_row.sum() if weights is None else weights @ per_row)


def variational_e_step(
    data: ChunkedData, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner
) -> tuple[Stats, float]:
    """One chunked pass: Stats of q(z) and sum_n w_n sum_k r_nk log r_nk.

    Returns
    -------
    stats : gmmkit.engine.em.Stats
    resp_log_resp : float
    """
    workspace = runner.workspace
    n_components = params.weights.size

    def chunk(
        rows: Rows, design: FloatArray, log_prob: FloatArray, far: BoolArray | None
    ) -> tuple[Stats, float]:
        log_normalize(log_prob)
        weights = data.weights(rows)
        entropy_term = _resp_log_resp(log_prob, weights, workspace)
        stats = stats_from_resp(
            cov_type, design, log_prob, weights, data.n_features, None, workspace, n_components
        )
        return stats, entropy_term

    parts = map_chunks(data, cov_type, params, runner, chunk)
    return sum_stats([stats for stats, _ in parts]), sum(term for _, term in parts)


def resp_stats(
    data: ChunkedData, cov_type: CovarianceType, resp: FloatArray, runner: ChunkRunner
) -> Stats:
    """Stats of given responsibilities (K, n_samples), chunk by chunk."""

    def chunk(rows: Rows) -> Stats:
        Xt = data.rows(rows)
        chunk_resp = np.array(resp[:, rows], dtype=Xt.dtype)  # a copy: weighted in place
        design = cov_type.design(Xt)
        return stats_from_resp(cov_type, design, chunk_resp, data.weights(rows), data.n_features)

    return sum_stats(runner.map(chunk, data.slices))


def run_variational(
    data: ChunkedData,
    cov_type: CovarianceType,
    posterior: Posterior,
    priors: Priors,
    settings: EMSettings,
    runner: ChunkRunner,
    *,
    lower_bound_start: float = -np.inf,
    init_index: int = 0,
) -> EMResult[Posterior]:
    """Coordinate ascent from ``posterior`` until the lower bound changes by less than tol.

    The lower bound of iteration t combines the E-step's responsibilities
    with the posterior after the M-step (scikit-learn's order); it is the
    total over the (weighted) rows, not a mean.

    Returns
    -------
    gmmkit.engine.em.EMResult
        Its ``params`` is the final :class:`Posterior`.
    """
    progress = Progress(settings, init_index, lower_bound_start)
    for n_iter in range(1, settings.max_iter + 1):
        params = mixture_params(posterior, priors.weight)
        data = guard_float32(data, cov_type, params)
        stats, resp_log_resp = variational_e_step(data, cov_type, params, runner)
        posterior = update(stats, priors, cov_type, settings.reg_covar, data.center)
        bound = lower_bound(posterior, priors.weight, cov_type, resp_log_resp)
        if progress.record(n_iter, bound):
            break
    return progress.result(posterior)
