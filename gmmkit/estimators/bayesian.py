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
from gmmkit.estimators.chunked import ChunkedScoring
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.estimators.priors import check_priors
from gmmkit.exceptions import ConvergenceWarning, compatible, not_converged_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike, DTypeLike
    from typing_extensions import Self

    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams, Stats
    from gmmkit.engine.types import (
        AnyArray,
        FitInput,
        FloatArray,
        IntArray,
        PathLike,
        RandomStateLike,
        WeightPrior,
    )


class BayesianGaussianMixture(ChunkedScoring, MixtureChecks, EstimatorBase):
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

    # the variational posterior's fitted attributes (set by fit or from_posterior)
    weight_concentration_: Any
    mean_precision_: FloatArray
    degrees_of_freedom_: Any

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

    # predict, predict_proba, score_samples, score and sample call GaussianMixture's
    # (public) methods: the chunked scoring pass they run is ChunkedScoring's,
    # on the E-step's mixture of _get_params_object; they are spelled out for
    # their docstrings.

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
        self.check_params()
        given = check_priors(self, X.shape[1])
        weights = check_sample_weight(sample_weight, X.shape[0])
        self._check_enough_samples(X, weights)
        cov_type = get_covariance_type(self.covariance_type)
        # (ChunkedScoring's; without missing values it is a ChunkedData)
        data = cast("ChunkedData", self._chunked(X, weights))
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

    def predict(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> IntArray:
        """Most probable component of each row under q(z): ndarray of shape (n_samples,).

        X, ``out`` and ``overwrite`` as in :meth:`GaussianMixture.predict` (files,
        chunk functions and Dask arrays block by block).
        """
        return GaussianMixture.predict(  # (borrowed)
            self, X, out=out, overwrite=overwrite  # type: ignore[arg-type]
        )

    def predict_proba(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """Responsibilities q(z): ndarray of shape (n_samples, n_components)."""
        return GaussianMixture.predict_proba(  # (borrowed)
            self, X, out=out, overwrite=overwrite  # type: ignore[arg-type]
        )

    def score_samples(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """log sum_k exp(variational log density of row n under k): (n_samples,).

        As scikit-learn's: the E-step's normaliser, not a normalised density.
        """
        return GaussianMixture.score_samples(  # (borrowed)
            self, X, out=out, overwrite=overwrite  # type: ignore[arg-type]
        )

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

    def check_params(self) -> None:
        """Check the constructor arguments as ``fit`` does (the priors need X: see
        :func:`check_priors`).

        Raises
        ------
        ValueError
            Naming the first bad argument and what is accepted.
        """
        check_int("n_components", self.n_components, 1)
        super().check_params()

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
        for name, value in self._posterior_attributes(posterior, weight_prior, cov_type).items():
            setattr(self, name, value)

    @staticmethod
    def _posterior_attributes(
        posterior: Posterior, weight_prior: WeightPrior, cov_type: CovarianceType
    ) -> dict[str, Any]:
        """The fitted attributes of a variational posterior: {name: value}."""
        return {
            "weight_concentration_": posterior.weight_concentration,
            "mean_precision_": posterior.mean_precision,
            "means_": posterior.means,
            "degrees_of_freedom_": posterior.degrees_of_freedom,
            "covariances_": posterior.covariances,
            "precisions_cholesky_": posterior.precisions_cholesky,
            "precisions_": cov_type.precisions(posterior.precisions_cholesky),
            "weights_": weight_prior.weights(posterior.weight_concentration),
        }

    @classmethod
    def from_posterior(
        cls,
        posterior: Mapping[str, Any],
        priors: Mapping[str, Any],
        *,
        weights: ArrayLike | None = None,
        precisions: ArrayLike | None = None,
        feature_names: ArrayLike | None = None,
        training: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Self:
        """A fitted model from its variational posterior and priors, made without fitting.

        What ``fit`` would leave with this posterior: ``weights_`` and
        ``precisions_`` are derived as ``fit`` derives them unless given
        (model files keep their bits).

        Parameters
        ----------
        posterior : dict
            The posterior's fitted attributes, by name: ``weight_concentration_``
            (array of shape (K,), or the pair (a, b) of the Dirichlet process),
            ``mean_precision_`` (K,), ``means_`` (K, D), ``degrees_of_freedom_``
            ((K,), a number for "tied"), ``covariances_`` and
            ``precisions_cholesky_`` (the covariance type's layout).
        priors : dict
            The resolved priors, by their fitted names: ``weight_concentration_prior_``,
            ``mean_precision_prior_``, ``mean_prior_``, ``degrees_of_freedom_prior_``,
            ``covariance_prior_``.
        weights : array-like of shape (K,), optional
            ``weights_`` as given instead of the posterior's expected weights.
        precisions : array-like, optional
            ``precisions_`` as given instead of derived from the factors.
        feature_names : array-like of shape (D,) of str, optional
        training : dict, optional
            ``converged_``, ``n_iter_``, ``lower_bound_``, ``lower_bounds_``.
        **params
            Constructor arguments (``covariance_type``,
            ``weight_concentration_prior_type`` ...).

        Returns
        -------
        BayesianGaussianMixture
            Fitted.

        Raises
        ------
        ValueError
            When a dict lacks a name or has one it does not take.
        """
        _check_names("posterior", posterior, POSTERIOR_ATTRIBUTES)
        _check_names("priors", priors, PRIOR_ATTRIBUTES)
        _check_names("training", training or {}, TRAINING_ATTRIBUTES, required=False)
        model = cls(**params)
        state = Posterior(*(posterior[name] for name in POSTERIOR_ATTRIBUTES))
        weight_prior = WEIGHT_PRIORS[model.weight_concentration_prior_type]
        cov_type = get_covariance_type(model.covariance_type)
        fitted = {
            **priors,
            **cls._posterior_attributes(state, weight_prior, cov_type),
            **(training or {}),
        }
        if weights is not None:
            fitted["weights_"] = weights
        if precisions is not None:
            fitted["precisions_"] = precisions
        for name, value in fitted.items():
            setattr(model, name, value)
        model.n_features_in_ = int(np.shape(posterior["means_"])[1])
        if feature_names is not None:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        return model

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


#: the posterior's fitted attributes, in the order of engine.variational.Posterior
POSTERIOR_ATTRIBUTES = (
    "weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_",
    "covariances_", "precisions_cholesky_",
)
#: the resolved priors' fitted attributes
PRIOR_ATTRIBUTES = (
    "weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
    "degrees_of_freedom_prior_", "covariance_prior_",
)
#: fitted attributes that describe the fit rather than the model
TRAINING_ATTRIBUTES = ("converged_", "n_iter_", "lower_bound_", "lower_bounds_")


def _check_names(
    what: str, given: Mapping[str, Any], names: tuple[str, ...], *, required: bool = True
) -> None:
    """ValueError unless the dict ``given`` has exactly ``names`` (or a subset)."""
    unknown = sorted(set(given) - set(names))
    missing = [name for name in names if name not in given] if required else []
    if unknown or missing:
        raise ValueError(
            f"{what} {'lacks ' + str(missing) if missing else 'has ' + str(unknown)}; "
            f"it takes {list(names)}."
        )
