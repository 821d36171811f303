"""BayesianGaussianMixture: a drop-in for ``sklearn.mixture.BayesianGaussianMixture``.

Variational inference for a Gaussian mixture with priors on the weights
(a Dirichlet process or a Dirichlet distribution), the means (Gaussian)
and the precisions (Wishart): surplus components get weights near zero,
so ``n_components`` is an upper bound rather than a guess.  Same
constructor names and defaults as scikit-learn 1.9, plus ``chunk_size``
and ``dtype``, and ``sample_weight`` in ``fit``.  The chunk passes run on
the engine of :mod:`gmmkit.engine.em`; the variational updates, which read only
the summed Stats, are in :mod:`gmmkit.engine.variational` (docs/bayesian.md).
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from gmmkit.data.validation import (
    check_array,
    check_int,
    check_sample_weight,
    feature_names,
    scan_rows,
)
from gmmkit.engine.convergence import EMSettings
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.rng import make_rng
from gmmkit.engine.seeding import initial_stats
from gmmkit.engine.threads import ChunkRunner
from gmmkit.engine.variational import (
    COVARIANCE_PRIORS,
    WEIGHT_PRIORS,
    Posterior,
    Priors,
    data_covariance,
    mixture_params,
    resp_stats,
    run_variational,
    update,
)
from gmmkit.estimators.base import EstimatorBase
from gmmkit.estimators.checks import MixtureChecks, resolve_init_method
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.exceptions import ConvergenceWarning, compatible, not_converged_message

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike
    from typing_extensions import Self

    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import ChunkedData, MixtureParams, Stats
    from gmmkit.engine.types import AnyArray, FloatArray, IntArray, RandomStateLike, WeightPrior


class BayesianGaussianMixture(MixtureChecks, EstimatorBase):
    """Variational Bayesian Gaussian mixture, fitted on chunked sufficient statistics.

    Parameters
    ----------
    n_components : int, default=1
        Upper bound on the number of components; the data and
        ``weight_concentration_prior`` decide how many get weight.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Inference stops when the lower bound (a total over the rows, not a
        mean) changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of each component's data covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Number of initialisations; the run with the best lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the starting responsibilities are found (see :mod:`gmmkit.engine.seeding`).
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}, \
default="dirichlet_process"
        The prior on the weights: a truncated stick-breaking Dirichlet
        process, or a finite symmetric Dirichlet distribution.
    weight_concentration_prior : float or None, default=None
        gamma_0 > 0 of that prior; small values switch surplus components
        off, large ones spread the weight.  None: 1 / n_components.
    mean_precision_prior : float or None, default=None
        beta_0 > 0: how strongly the means are pulled to ``mean_prior``.  None: 1.
    mean_prior : array-like of shape (n_features,) or None, default=None
        m_0, the prior mean of the means.  None: the (weighted) data mean.
    degrees_of_freedom_prior : float or None, default=None
        nu_0 > n_features - 1 of the Wishart prior.  None: n_features.
    covariance_prior : float or array-like or None, default=None
        The Wishart prior's covariance: shape (n_features, n_features) for
        "full" and "tied", (n_features,) for "diag", a float for
        "spherical".  None: the (weighted) data covariance in that layout.
    random_state : int, RandomState, Generator or None, default=None
    warm_start : bool, default=False
        Start a new fit from the current posterior (with ``n_init=1``).
    verbose : int, default=0
        Print progress on stderr every ``verbose_interval`` iterations.
    verbose_interval : int, default=10
    chunk_size : int or None, default=None
        Rows per E-step chunk; memory grows with chunk_size x n_components,
        never with n_samples x n_components.  None picks a cache-friendly size.
    dtype : {"float32", "float64"} or None, default=None
        Working precision of the E-step; None follows X.  Sums across
        chunks and the updates are always float64.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Expected weights under the posterior; surplus components get ~0.
    means_ : ndarray of shape (n_components, n_features)
        Posterior means of the component means.
    covariances_ : ndarray
        Inverse of the expected precisions (the Wishart scale inverse over
        the degrees of freedom), in the covariance type's layout.
    precisions_ : ndarray
        Expected precisions nu_k W_k.
    precisions_cholesky_ : ndarray
    weight_concentration_ : ndarray of shape (n_components,) or tuple of two
        Dirichlet parameters, or the Beta parameters (a, b) of every stick
        with "dirichlet_process".
    mean_precision_ : ndarray of shape (n_components,)
    degrees_of_freedom_ : ndarray of shape (n_components,), or float for "tied"
    weight_concentration_prior_ : float
    mean_precision_prior_ : float
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    covariance_prior_ : float or ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The evidence lower bound of the best run (scikit-learn's definition,
        constants dropped; a total over the weighted rows).
    lower_bounds_ : list of float
        The lower bound at every iteration of the best run; it never decreases.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.

    Notes
    -----
    As in scikit-learn, ``predict``, ``predict_proba`` and ``score_samples``
    use the variational E-step's expected log densities (E[log pi_k] and
    the expected Gaussian log densities), and ``sample`` draws from the
    point-estimate mixture ``weights_``, ``means_``, ``covariances_``.
    """

    #: the shared checks and chunking read these: BayesianGaussianMixture
    #: takes no missing values and has no noise component
    missing = "error"
    _NAN_FIX = "drop or impute those rows (missing='em' is GaussianMixture's)"
    noise = None

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weight_concentration_prior_type: str = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: ArrayLike | None = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: float | ArrayLike | None = None,
        random_state: RandomStateLike = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        dtype: DTypeLike | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.dtype = dtype

    # Shared with GaussianMixture (plain functions, borrowed): chunking, the
    # checks of X at predict time, and the chunked scoring pass, which reads
    # the E-step's mixture from _get_params_object.  The public predict,
    # predict_proba, score_samples, score and sample below call
    # GaussianMixture's the same way; they are spelled out for their docstrings.
    _chunk_rows = GaussianMixture._chunk_rows
    _chunked = GaussianMixture._chunked
    _validated = GaussianMixture._validated
    _map_log_prob = GaussianMixture._map_log_prob
    _total_log_likelihood = GaussianMixture._total_log_likelihood

    # ------------------------------------------------------------------ fit

    def fit(self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None) -> Self:
        """Estimate the variational posterior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight counts a row that many
            times (scikit-learn's BayesianGaussianMixture has no weights).

        Returns
        -------
        self
        """
        names = feature_names(X)
        X = check_array(X)
        self._check_parameters(X)
        given = check_priors(self, X.shape[1])
        weights = check_sample_weight(sample_weight, X.shape[0])
        self._check_enough_samples(X, weights)
        cov_type = get_covariance_type(self.covariance_type)
        # (borrowed from GaussianMixture; without missing values it is a ChunkedData)
        data = cast("ChunkedData", self._chunked(X, weights))  # type: ignore[misc]
        settings = EMSettings(
            self.max_iter, self.tol, self.reg_covar, self.verbose, self.verbose_interval
        )
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        rng = make_rng(self.random_state)
        best, n_converged = None, 0
        with ChunkRunner() as runner:
            priors = self._resolve_priors(given, X, weights, data, cov_type, runner)
            for init in range(self.n_init if do_init else 1):
                if do_init:
                    stats = self._initial_stats(data, cov_type, rng, runner)
                    posterior = update(stats, priors, cov_type, self.reg_covar, data.center)
                    start = -np.inf
                else:
                    posterior, start = self._posterior(), self.lower_bound_
                result = run_variational(
                    data,
                    cov_type,
                    posterior,
                    priors,
                    settings,
                    runner,
                    lower_bound_start=start,
                    init_index=init,
                )
                n_converged += result.converged
                if best is None or result.lower_bound > best.lower_bound:
                    best = result
        assert best is not None  # (n_init >= 1 runs)
        if not best.converged and self.max_iter > 0:
            self._warn_not_converged(self.n_init if do_init else 1, n_converged)
        self._set_priors(priors)
        self._set_posterior(best.params, priors.weight, cov_type)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = best.lower_bounds
        self.n_features_in_ = X.shape[1]
        self._set_feature_names(names)
        return self

    def fit_predict(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> IntArray:
        """Fit, then return the component label of every row: (n_samples,)."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # -------------------------------------------------------------- predict

    def predict(self, X: ArrayLike) -> IntArray:
        """Most probable component of each row under q(z): ndarray of shape (n_samples,)."""
        return GaussianMixture.predict(self, X)  # type: ignore[arg-type]  # (borrowed)

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Responsibilities q(z): ndarray of shape (n_samples, n_components)."""
        return GaussianMixture.predict_proba(self, X)  # type: ignore[arg-type]  # (borrowed)

    def score_samples(self, X: ArrayLike) -> FloatArray:
        """log sum_k exp(variational log density of row n under k): (n_samples,).

        As scikit-learn's: the E-step's normaliser, not a normalised density.
        """
        return GaussianMixture.score_samples(self, X)  # type: ignore[arg-type]  # (borrowed)

    def score(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> float:
        """Mean (weighted) ``score_samples``: float."""
        return GaussianMixture.score(
            self, X, sample_weight=sample_weight  # type: ignore[arg-type]  # (borrowed)
        )

    def sample(self, n_samples: int = 1) -> tuple[FloatArray, IntArray]:
        """Draw samples from the point-estimate mixture (weights_, means_, covariances_).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of each sample; samples are grouped by component.
        """
        return GaussianMixture.sample(self, n_samples)  # type: ignore[arg-type]  # (borrowed)

    # ------------------------------------------------------------- helpers

    def _check_parameters(self, X: Any) -> None:
        check_int("n_components", self.n_components, 1)
        super()._check_parameters(X)

    def _initial_stats(
        self,
        data: ChunkedData,
        cov_type: CovarianceType,
        rng: np.random.Generator,
        runner: ChunkRunner,
    ) -> Stats:
        """Stats of the starting responsibilities.

        ``_initial_resp`` (n_samples, n_components), when set, replaces
        ``init_params``: a hook for starting from given responsibilities
        (the parity tests start scikit-learn from the same ones).
        """
        resp = getattr(self, "_initial_resp", None)
        if resp is None:
            method = resolve_init_method(self.init_params)
            return initial_stats(method, data, cov_type, self.n_components, rng, runner)
        return resp_stats(data, cov_type, np.asarray(resp, dtype=np.float64).T, runner)

    def _warn_not_converged(self, runs: int, n_converged: int) -> None:
        warnings.warn(
            not_converged_message(runs, n_converged, self.max_iter, self.tol, "variational"),
            compatible(ConvergenceWarning),
            stacklevel=3,
        )

    def _resolve_priors(
        self,
        given: dict[str, Any],
        X: AnyArray,
        weights: FloatArray | None,
        data: ChunkedData,
        cov_type: CovarianceType,
        runner: ChunkRunner,
    ) -> Priors:
        """Priors with the defaults filled in from the data (extra passes for the
        mean, which the engine does not centre on, and the covariance)."""
        covariance = given["covariance_prior"]
        return Priors(
            weight=WEIGHT_PRIORS[self.weight_concentration_prior_type],
            weight_concentration=_default(
                given["weight_concentration_prior"], 1.0 / self.n_components
            ),
            mean_precision=_default(given["mean_precision_prior"], 1.0),
            mean=_default(given["mean_prior"], scan_rows(X, weights)),
            degrees_of_freedom=_default(given["degrees_of_freedom_prior"], data.n_features),
            covariance=(
                data_covariance(data, cov_type, runner) if covariance is None else covariance
            ),
        )

    def _set_priors(self, priors: Priors) -> None:
        self.weight_concentration_prior_ = priors.weight_concentration
        self.mean_precision_prior_ = priors.mean_precision
        self.mean_prior_ = priors.mean
        self.degrees_of_freedom_prior_ = priors.degrees_of_freedom
        self.covariance_prior_ = priors.covariance

    def _set_posterior(
        self, posterior: Posterior, weight_prior: WeightPrior, cov_type: CovarianceType
    ) -> None:
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.means_ = posterior.means
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self.covariances_ = posterior.covariances
        self.precisions_cholesky_ = posterior.precisions_cholesky
        self.precisions_ = cov_type.precisions(posterior.precisions_cholesky)
        self.weights_ = weight_prior.weights(posterior.weight_concentration)

    def _posterior(self) -> Posterior:
        return Posterior(
            self.weight_concentration_,
            self.mean_precision_,
            self.means_,
            self.degrees_of_freedom_,
            self.covariances_,
            self.precisions_cholesky_,
        )

    def _get_params_object(self) -> MixtureParams:
        """The E-step's mixture (see :func:`gmmkit.engine.variational.mixture_params`)."""
        weight_prior = WEIGHT_PRIORS[self.weight_concentration_prior_type]
        return mixture_params(self._posterior(), weight_prior)


T = TypeVar("T")


def _default(value: T | None, default: T) -> T:
    return default if value is None else value


# ------------------------------------------------------------ prior checks


def check_priors(model: BayesianGaussianMixture, n_features: int) -> dict[str, Any]:
    """Validate a BayesianGaussianMixture's prior parameters (scikit-learn's names, with the fix).

    Returns
    -------
    dict
        ``weight_concentration_prior``, ``mean_precision_prior``,
        ``degrees_of_freedom_prior`` (float or None), ``mean_prior``
        (ndarray of shape (n_features,) or None) and ``covariance_prior``
        (float or ndarray in the covariance type's layout, or None).
    """
    if model.weight_concentration_prior_type not in WEIGHT_PRIORS:
        raise ValueError(
            f"weight_concentration_prior_type={model.weight_concentration_prior_type!r} is not "
            "supported; use 'dirichlet_process' (stick-breaking) or 'dirichlet_distribution'."
        )
    # raises for an unknown name, listing the valid ones
    if get_covariance_type(model.covariance_type).name not in COVARIANCE_PRIORS:
        raise ValueError(
            f"covariance_type={model.covariance_type!r} has no variational prior: "
            "BayesianGaussianMixture supports 'full', 'tied', 'diag' and 'spherical' "
            "(mclust's VVV, EEE, VVI and VII); fit mclust's other models with GaussianMixture."
        )
    return {
        "weight_concentration_prior": _positive_or_none(
            "weight_concentration_prior",
            model.weight_concentration_prior,
            "small values (e.g. 1e-3) switch surplus components off; None means 1 / n_components",
        ),
        "mean_precision_prior": _positive_or_none(
            "mean_precision_prior", model.mean_precision_prior, "None means 1"
        ),
        "mean_prior": _mean_prior(model.mean_prior, n_features),
        "degrees_of_freedom_prior": _degrees_of_freedom(model.degrees_of_freedom_prior, n_features),
        "covariance_prior": _covariance_prior(
            model.covariance_prior, model.covariance_type, n_features
        ),
    }


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _as_number(value: object) -> float | None:
    """float(value) for a real number or a 0-d numeric array, else None."""
    if _is_number(value):
        return float(value)  # type: ignore[arg-type]  # (a real number)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    return None


def _positive_or_none(name: str, value: Any, hint: str) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not value > 0 or not np.isfinite(value):
        raise ValueError(
            f"The '{name}' parameter of BayesianGaussianMixture must be None or a float "
            f"in the range (0.0, inf). Got {value!r} instead; pass a positive number "
            f"({hint})."
        )
    return float(value)


def _float_array(name: str, value: ArrayLike, shape: tuple[int, ...], fix: str) -> FloatArray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != shape:
        got = "a non-numeric value" if array is None else str(array.shape)
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {got}; {fix}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The parameter '{name}' contains NaN or inf; {fix}.")
    return array


def _mean_prior(value: ArrayLike | None, n_features: int) -> FloatArray | None:
    if value is None:
        return None
    return _float_array(
        "mean_prior",
        value,
        (n_features,),
        "pass one value per feature of X, or None for the data mean",
    )


def _degrees_of_freedom(value: Any, n_features: int) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not value > n_features - 1.0 or not np.isfinite(value):
        shown = f"{value:.3f}" if _is_number(value) else repr(value)
        raise ValueError(
            f"The parameter 'degrees_of_freedom_prior' should be greater than "
            f"{n_features - 1}, but got {shown}; pass a number > n_features - 1 "
            f"= {n_features - 1}, or None for n_features = {n_features}."
        )
    return float(value)


def _covariance_prior(
    value: Any, covariance_type: str, n_features: int
) -> float | FloatArray | None:
    if value is None:
        return None
    name = f"{covariance_type} covariance_prior"
    fix = "or None for the data covariance"
    shape = COVARIANCE_PRIORS[covariance_type].shape(n_features)
    if not shape:
        number = _as_number(value)
        if number is None or not number > 0 or not np.isfinite(number):
            raise ValueError(
                f"'{name}' should be a positive float, but got {value!r}; pass the prior "
                f"variance, {fix}."
            )
        return number
    array = _float_array(name, value, shape, f"pass an array of shape {shape}, {fix}")
    if array.ndim == 1 and not np.all(array > 0):
        raise ValueError(f"'{name}' should be positive; pass positive variances, {fix}.")
    if array.ndim == 2 and not _is_positive_definite(array):
        raise ValueError(
            f"'{name}' should be symmetric, positive-definite; pass e.g. a scaled "
            f"identity (np.eye({n_features})), {fix}."
        )
    return array


def _is_positive_definite(matrix: FloatArray) -> bool:
    if not np.allclose(matrix, matrix.T):
        return False
    return bool(np.all(np.linalg.eigvalsh(matrix) > 0))
