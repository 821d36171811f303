"""HMRF-EM: Gaussian classes, a Potts prior and (optionally) a bias field, fitted together.

The model (Zhang, Brady and Smith 2001; with the field of Wells et al. 1996
and Van Leemput et al. 1999):

    labels z ~ Potts(beta)                    (the only spatial prior)
    y_i | z_i = k ~ N(rho_i y_i | mu_k, Sigma_k) rho_i,   log rho = phi . c

Mean-field EM maximises the free energy

    F(q, theta, c) = E_q[log p(y | z, theta, c)] + beta E_q[sum_{i~j} w_ij [z_i = z_j]] + H(q)

(the log-evidence bound up to the constant log Z(beta)) by coordinate
ascent, each step of an iteration raising it:

1. E-step: one checkerboard sweep of mean-field (or ICM) updates of q
   (:func:`gmmkit_image.mrf.sweep`);
2. M-step: the Gaussians from q through the engine
   (``GaussianMixture.fit_from_responsibilities``), on every pixel;
3. the bias field: a safeguarded Newton step (:func:`gmmkit_image.bias.bias_step`).

F is recorded after every E-step, with the parameters it used (as
scikit-learn's ``lower_bound_``), so the recorded values never decrease.
The log densities come from ``GaussianMixture.component_log_densities``.

With beta = 0 there is no spatial prior and the model is the plain
mixture: the mixing weights are the class prior and F is the usual EM
lower bound. With beta > 0 the Potts prior replaces them (counting both
would make the largest class feed on itself). ``beta="auto"`` re-estimates
beta before every E-step from the current q by pseudo-likelihood
(:func:`gmmkit_image.mrf.estimate_beta`); F then changes meaning with beta
and is not guaranteed to rise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np
from numpy.typing import ArrayLike

from gmmkit import DegenerateComponentWarning
from gmmkit_image.bias import Anchor, bias_step
from gmmkit_image.mrf import (
    METHODS,
    conditional_posteriors,
    estimate_beta,
    free_energy,
    softmax,
    sweep,
)

if TYPE_CHECKING:
    from gmmkit import GaussianMixture
    from gmmkit_image.bias import BiasBasis
    from gmmkit_image.mrf import Lattice

#: the smallest posterior mass (in pixels) a class keeps before it counts as vanished
VANISHED_MASS = 1.0
#: rise of the objective per pixel under which the field's next degree joins
STAGE_TOL = 1e-3
#: fewest iterations at each degree of the field
MIN_STAGE_ITER = 10


class EmptyClassWarning(DegenerateComponentWarning):
    """A class of the segmentation lost all its pixels (in HMRF-EM or in the labels).

    Strong smoothing (a large ``smoothing`` beta, especially with ICM) or
    merging small regions can absorb a whole class into its neighbours. The
    class keeps its number (and, in HMRF-EM, its last Gaussian); its mean
    colour in the statistics is undefined (NaN). Filter it with
    ``warnings.filterwarnings("ignore", category=EmptyClassWarning)``.
    """


@dataclass
class HMRFResult:
    """What :func:`hmrf_em` returns.

    Attributes
    ----------
    posteriors : ndarray of shape (n, K)
        q of every row (ICM: the conditional posteriors of the final labels).
    n_iter : int
        E-steps run.
    objective : list of float
        The free energy per pixel after each E-step.
    beta : list of float
        Beta of each E-step.
    log_rho : ndarray of shape (n,) or None
        log of the correction factor of every row (the field is exp(-log_rho)).
    coefficients : ndarray or None
        The field's coefficients on the basis.
    vanished : list of int
        Classes (0-based) whose posterior mass fell below one pixel.
    """

    posteriors: np.ndarray
    n_iter: int
    objective: list = field(default_factory=list)
    beta: list = field(default_factory=list)
    log_rho: np.ndarray | None = None
    coefficients: np.ndarray | None = None
    vanished: list = field(default_factory=list)


def _checked_beta(beta):
    if beta == "auto":
        return beta
    if isinstance(beta, str) or not np.isscalar(beta) or not beta >= 0 or beta == np.inf:
        raise ValueError(
            f"smoothing={beta!r} must be a number >= 0 (0 = no smoothing) or 'auto'."
        )
    return float(beta)


def hmrf_em(model: GaussianMixture, features: ArrayLike, lattice: Lattice, *,
            beta: float | str, method: str = "mean-field", basis: BiasBasis | None = None,
            max_iter: int = 20, tol: float = 1e-5,
            progress: Callable[[int, float, float, float], None] | None = None) -> HMRFResult:
    """HMRF-EM from a fitted mixture: alternate Potts mean-field E-steps, M-steps and field steps.

    Parameters
    ----------
    model : fitted GaussianMixture
        The starting Gaussians; updated in place by the M-steps.
    features : ndarray of shape (n, D)
        Every row of ``lattice``; with ``basis``, D must be 1 (an intensity).
    lattice : gmmkit_image.mrf.Lattice
    beta : float or "auto"
    method : {"mean-field", "icm"}
    basis : gmmkit_image.bias.BiasBasis or None
        Estimate a bias field on this basis (None: no field).
    max_iter : int, default=20
        Most E-steps.
    tol : float, default=1e-5
        Stop when the objective per pixel rises by less than this.
    progress : callable(iteration, objective, changed, beta) or None
        Told after each E-step: its number, the objective, the fraction of
        labels it changed (the first: against the plain mixture's) and beta.

    Returns
    -------
    HMRFResult
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}.")
    beta = _checked_beta(beta)
    features = np.asarray(features, dtype=np.float64)
    bias = _Field(basis, features) if basis is not None else None
    corrected = features
    log_likelihood = _log_likelihood(model, corrected, bias)
    posteriors = softmax(log_likelihood + np.log(model.weights_))  # the plain mixture's
    labels = posteriors.argmax(axis=1)
    halves = lattice.checkerboard()
    result = HMRFResult(posteriors, 0)
    current_beta = 0.5
    for iteration in range(1, max_iter + 1):
        current_beta = (estimate_beta(posteriors, lattice, start=current_beta)
                        if isinstance(beta, str) else beta)
        if current_beta == 0:  # no spatial prior: the mixture's own E-step
            prior = log_likelihood + np.log(model.weights_)
            posteriors = softmax(prior.copy()) if method == "mean-field" else \
                np.eye(prior.shape[1])[prior.argmax(axis=1)]
            objective = free_energy(prior, posteriors, 0.0, 0.0)
        else:
            swept = sweep(log_likelihood, posteriors, lattice, beta=current_beta,
                          method=method, halves=halves)
            posteriors = swept.posteriors
            objective = free_energy(log_likelihood, posteriors, swept.pairs, current_beta)
        if bias is not None:
            objective -= bias.anchor.penalty(bias.coefficients) / len(features)
        new_labels = posteriors.argmax(axis=1)
        changed = float(np.mean(new_labels != labels))
        labels = new_labels
        result.objective.append(objective)
        result.beta.append(current_beta)
        result.n_iter = iteration
        if progress is not None:
            progress(iteration, objective, changed, current_beta)
        rise = objective - result.objective[-2] if iteration > 1 else np.inf
        refining = bias is not None and bias.next_degree(rise, posteriors)
        if not refining and rise < tol and (beta != "auto" or _settled(result.beta)):
            break
        if iteration == max_iter:
            break
        _m_step(model, corrected, posteriors, result, iteration)
        if bias is not None:
            corrected = bias.step(model, posteriors)
        log_likelihood = _log_likelihood(model, corrected, bias)
    if method == "icm":
        posteriors = conditional_posteriors(log_likelihood, posteriors, lattice,
                                            beta=current_beta)
    result.posteriors = posteriors
    if bias is not None:
        result.log_rho, result.coefficients = bias.log_rho, bias.coefficients
    return result


class _Field:
    """The bias field's state inside :func:`hmrf_em`: coefficients, degree, anchor."""

    def __init__(self, basis: BiasBasis, features: np.ndarray) -> None:
        self.basis = basis
        self.features = features
        self.coefficients = np.zeros(basis.size)
        self.log_rho = np.zeros(len(features))
        self.anchor = Anchor.none(basis.size)
        self.degree, self.stage_iter = 1, 0

    def next_degree(self, rise: float, posteriors: np.ndarray) -> bool:
        """Count an iteration; raise the degree when this one has settled.

        Returns whether the field is still below its full degree (HMRF-EM
        must not stop yet). From degree 2 on the field may not change its
        mean over any class (:meth:`BiasBasis.anchor`).
        """
        self.stage_iter += 1
        if self.degree >= self.basis.order:
            return False
        if rise < STAGE_TOL and self.stage_iter >= MIN_STAGE_ITER:
            self.degree, self.stage_iter = self.degree + 1, 0
            if self.degree == 2:
                self.anchor = self.basis.anchor(posteriors, self.coefficients)
        return True

    def step(self, model: GaussianMixture, posteriors: np.ndarray) -> np.ndarray:
        """One Newton step on the field; returns the corrected features."""
        means, variances = class_gaussians(model)
        self.coefficients, self.log_rho = bias_step(
            self.basis, self.coefficients, self.log_rho, self.features[:, 0], posteriors,
            means, variances, anchor=self.anchor, active=self.basis.n_terms(self.degree))
        return self.features * np.exp(self.log_rho)[:, None]


def _settled(betas):
    """Whether the estimated beta moved by less than 0.1% in the last iteration."""
    return len(betas) > 1 and abs(betas[-1] - betas[-2]) <= 1e-3 * max(betas[-1], 1e-12)


def _log_likelihood(model, corrected, bias):
    """log N(rho y | k) + log rho (the Jacobian) of every row: (n, K) float64."""
    densities = model.component_log_densities(corrected)
    if bias is not None:
        densities += bias.log_rho[:, None]
    return densities


def class_gaussians(model: GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    """Means and variances, float64 copies of shape (K,), of a one-feature mixture."""
    means = np.array(model.means_[:, 0], dtype=np.float64)
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    if model.covariance_type == "tied":
        variances = np.full(len(means), covariances.ravel()[0])
    else:
        variances = covariances.reshape(len(means), -1)[:, 0].copy()
    return means, variances


def _m_step(model, corrected, posteriors, result, iteration):
    """The engine's M-step from q; a class with no mass keeps its last Gaussian."""
    mass = posteriors.sum(axis=0)
    lost = np.flatnonzero(mass < VANISHED_MASS)
    if lost.size == 0:
        model.fit_from_responsibilities(corrected, posteriors)
        return
    before = (model.means_.copy(), np.array(model.covariances_, copy=True))
    model.fit_from_responsibilities(corrected, posteriors)
    means, covariances = model.means_.copy(), np.array(model.covariances_, copy=True)
    means[lost] = before[0][lost]
    if model.covariance_type != "tied":
        covariances[lost] = before[1][lost]
    restored = model.with_parameters(model.weights_, means, covariances)
    for name in ("means_", "covariances_", "precisions_", "precisions_cholesky_"):
        setattr(model, name, getattr(restored, name))
    new = [int(k) for k in lost if k not in result.vanished]
    if new:
        result.vanished.extend(new)
        listed = ", ".join(str(k + 1) for k in new)
        warnings.warn(
            f"{'class' if len(new) == 1 else 'classes'} {listed} of {posteriors.shape[1]} lost "
            f"all pixels in HMRF-EM iteration {iteration}; "
            f"{'it keeps its' if len(new) == 1 else 'they keep their'} last Gaussian and the "
            "segmentation keeps all classes. Use less smoothing or fewer classes.",
            EmptyClassWarning, stacklevel=4,
        )
