"""GaussianMixture: a drop-in for ``sklearn.mixture.GaussianMixture``.

Same constructor names and defaults as scikit-learn 1.9, plus
``chunk_size`` and ``dtype``, and ``sample_weight`` in ``fit``, ``score``,
``bic`` and ``aic``.  The work is done by the chunked engine in
:mod:`gmmkit.engine.em`; this module validates input and keeps the attributes.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.sources import open_source
from gmmkit.data.validation import (
    NAN_FIX,
    check_array,
    check_sample_weight,
    feature_names,
)
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.criteria import information_criteria, n_parameters
from gmmkit.engine.em import MixtureParams, params_from_stats
from gmmkit.engine.noise import NOISE_LABEL, draw_noise, noise_bounds
from gmmkit.engine.responsibilities import log_normalize
from gmmkit.engine.rng import make_rng
from gmmkit.engine.scoring import best_components
from gmmkit.engine.seeding import initial_stats
from gmmkit.estimators import conditioning, rowwise
from gmmkit.estimators.base import EstimatorBase
from gmmkit.estimators.checks import MixtureChecks, resolve_init_method
from gmmkit.estimators.chunked import ChunkedScoring
from gmmkit.estimators.components import ComponentMaths, mixture_params
from gmmkit.estimators.online import OnlineFit
from gmmkit.estimators.restarts import RestartsFit
from gmmkit.estimators.selection_run import fit_auto

if TYPE_CHECKING:

    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from typing_extensions import Self

    from gmmkit.engine.chunked_data import ChunkedData
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.threads import ChunkRunner
    from gmmkit.engine.types import (
        DataSource,
        FitInput,
        FloatArray,
        IntArray,
        PathLike,
        RandomStateLike,
    )
    from gmmkit.estimators.attributes import Initial
    from gmmkit.estimators.conditioning import Indices

#: n_components="auto" tries K = 1 .. this many (at most the number of rows)
AUTO_MAX_COMPONENTS = 10


class GaussianMixture(
    ComponentMaths, OnlineFit, RestartsFit, ChunkedScoring, MixtureChecks, EstimatorBase
):
    """Gaussian mixture model fitted by exact, chunked EM.

    Parameters
    ----------
    n_components : int or "auto", default=1
        Number of mixture components. "auto" fits K = 1..10 and keeps the
        lowest BIC among the clean fits (:func:`gmmkit.select_model`);
        ``n_components_`` is then the K chosen and ``selection_`` the table.
    covariance_type : str, default="full"
        scikit-learn's "full", "tied", "diag", "spherical", or one of mclust's
        14 models (Celeux and Govaert 1995), volume, shape and orientation
        each Equal, Variable or I(dentity): "EII", "VII", "EEI", "VEI",
        "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV",
        "VVV" (full = VVV, tied = EEE, diag = VVI, spherical = VII); "E" or
        "V" for one feature. ``covariances_`` keeps the layout of the
        scikit-learn type with the same arrays: (K,) for EII, (K, D) for
        EEI, VEI, EVI, (D, D) for EEE and (K, D, D) for the others
        (docs/model-selection.md).
    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance; floors collapsing components.
    max_iter : int, default=100
    n_init : int, default=1
        Number of initialisations; the run with the best lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hc"}, default="kmeans"
        How the starting responsibilities are found (see :mod:`gmmkit.engine.seeding`).
        "hc" is mclust's start: model-based hierarchical clustering (VVV
        criterion, SVD-scaled data) of at most 2000 rows, cut at K clusters.
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        Shape (n_components,) spherical, (n_features, n_features) tied,
        (n_components, n_features) diag, (n_components, n_features,
        n_features) full.
    random_state : int, RandomState, Generator or None, default=None
    warm_start : bool, default=False
        Start a new fit from the current parameters (with ``n_init=1``).
    verbose : int, default=0
        Print progress on stderr every ``verbose_interval`` iterations.
    verbose_interval : int, default=10
    chunk_size : int or None, default=None
        Rows per E-step chunk; memory grows with chunk_size x n_components,
        never with n_samples x n_components.  None picks a cache-friendly size.
    dtype : {"float32", "float64"} or None, default=None
        Working precision of the E-step; None follows X (float32 and
        float16 run in float32, everything else in float64).  Sums across
        chunks and the M-step are always float64.  The fitted attributes
        take X's dtype, as in scikit-learn (float32 for float32 X, float64
        otherwise), rounded once when stored; ``dtype="float64"`` makes
        them float64 for float32 X too.
    missing : {"error", "em"}, default="error"
        What NaN in X means. "error" refuses it with a clear message; "em"
        treats NaN as missing values: ``fit`` runs exact EM that
        marginalises them (docs/missing-values.md) and ``predict``,
        ``predict_proba`` and ``score_samples`` use each row's observed
        features (the marginal densities). Infinity is always refused.
    noise : {None, "uniform"}, default=None
        "uniform" adds a background component of constant density over the
        training data's bounding box, with a weight learned by EM (as in
        mclust; docs/noise.md): outliers go to it instead of distorting the
        Gaussians. ``predict`` labels them -1, ``predict_proba`` gets a last
        column for it, and ``bic``/``aic`` count its weight.
    n_jobs : int or None, default=None
        Run the ``n_init`` restarts in this many processes (-1: every core),
        one thread each; the fit is the same as the serial one.
    learning_decay, learning_offset : float, default=0.7 and 10.0
        The step sizes of ``partial_fit`` (online EM): batch t moves the
        running statistics by (t + learning_offset) ** -learning_decay,
        learning_decay in (0.5, 1] (see :mod:`gmmkit.engine.online`).

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        float32 when fitted on float32 X (unless ``dtype="float64"``), else float64.
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean (weighted) log-likelihood of the best run's last E-step.
    lower_bounds_ : list of float
        The lower bound at every iteration of the best run.
    uncertainty_ : ndarray of shape (n_samples,)
        Only on the model :func:`gmmkit.select_model` returns: mclust's
        uncertainty of every training row, 1 - its largest posterior
        probability (:meth:`uncertainty` computes it for any rows).
    noise_weight_ : float
        The noise component's weight (0.0 without one); ``weights_`` sum to
        1 - noise_weight_.
    noise_bounds_ : ndarray of shape (n_features, 2)
        The box of the noise component: each feature's (min, max) in the
        training data. Only with ``noise="uniform"``.
    n_components_ : int
        The number of components fitted (the chosen K with "auto").
    selection_ : list of dict
        With ``n_components="auto"``: one row per K tried (see select_model).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.
    """

    #: the fix a NaN error proposes
    _NAN_FIX = NAN_FIX

    def __init__(
        self,
        n_components: int | str = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        precisions_init: ArrayLike | None = None,
        random_state: RandomStateLike = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        dtype: DTypeLike | None = None,
        missing: str = "error",
        noise: str | None = None,
        n_jobs: int | None = None,
        learning_decay: float = 0.7,
        learning_offset: float = 10.0,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.dtype = dtype
        self.missing = missing
        self.noise = noise
        self.n_jobs = n_jobs
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # ------------------------------------------------------------------ fit

    def fit(self, X: FitInput, y: object = None, sample_weight: ArrayLike | None = None) -> Self:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight counts a row that many times.

        Returns
        -------
        self
        """
        if isinstance(self.n_components, str) and self.n_components == "auto":
            return self._fit_auto(X, sample_weight)
        data, names, bounds = self._open_data(X, sample_weight)
        return self._fit_data(data, names, bounds)

    def _open_data(
        self, X: FitInput, sample_weight: ArrayLike | None
    ) -> tuple[DataSource, NDArray[np.object_] | None, FloatArray | None]:
        """Validate X and the parameters; return (engine data, feature names, noise box)."""
        source = open_source(X)  # files, chunk streams and Dask arrays (gmmkit.data.sources)
        if source is not None:
            self.check_params()
            return source.prepare(self._data_settings(), sample_weight)
        names = feature_names(X)
        X = check_array(X)
        self.check_params()
        weights = check_sample_weight(sample_weight, X.shape[0])
        self._check_enough_samples(X, weights)
        data = self._chunked(X, weights)
        bounds = None if self.noise is None else noise_bounds(X, weights)
        return data, names, bounds

    def _fit_auto(self, X: FitInput, sample_weight: ArrayLike | None) -> Self:
        """``n_components="auto"``: K = 1..10 by BIC (gmmkit.estimators.selection_run.fit_auto).

        The model then behaves as the chosen fit: it takes its fitted attributes.
        """
        best, table, names = fit_auto(
            self, X, sample_weight, AUTO_MAX_COMPONENTS, GaussianMixture
        )
        fitted = {k: v for k, v in vars(best).items() if k.endswith("_") and not k.startswith("_")}
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)
        self.__dict__.update(fitted)
        self.n_components_ = int(best.n_components)
        self.selection_ = table
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
        """Most probable component of each row: ndarray of shape (n_samples,).

        With ``noise="uniform"``, rows most probably from the noise component get -1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what ``fit`` takes
            A ``.npy`` path, a file memmap, a chunk function (or an iterator
            of chunks) is read block by block with bounded memory; a Dask
            array gives a lazy Dask array (docs/scale.md).
        out : str or os.PathLike, optional
            Write the labels to this ``.npy`` file a block at a time and
            return it memory-mapped (:func:`gmmkit.map_rows`).
        overwrite : bool, default=False
            Replace ``out`` when it exists.
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "predict", X, out=out, overwrite=overwrite)
        labels = np.concatenate(self._map_log_prob(X, best_components))
        labels[labels == len(self.weights_)] = NOISE_LABEL
        return labels

    def predict_proba(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """Responsibilities: ndarray of shape (n_samples, n_components).

        With ``noise="uniform"``: (n_samples, n_components + 1), the last
        column the noise component's. X, ``out`` and ``overwrite`` as in
        :meth:`predict`.
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "predict_proba", X, out=out, overwrite=overwrite)

        def resp(log_prob: FloatArray) -> FloatArray:
            log_normalize(log_prob)
            return np.array(log_prob.T, dtype=np.float64)  # a copy: log_prob is scratch

        return np.concatenate(self._map_log_prob(X, resp))

    def uncertainty(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """mclust's uncertainty of each row: 1 - its largest posterior probability.

        0 for a row that surely belongs to one component, up to 1 - 1/K
        between K equally likely ones (the noise component counts as one).
        X, ``out`` and ``overwrite`` as in :meth:`predict`.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "uncertainty", X, out=out, overwrite=overwrite)

        def uncertain(log_prob: FloatArray) -> FloatArray:
            log_normalize(log_prob)
            return 1.0 - log_prob.max(axis=0).astype(np.float64)

        return np.concatenate(self._map_log_prob(X, uncertain))

    def score_samples(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """Log-likelihood of each row: ndarray of shape (n_samples,).

        X, ``out`` and ``overwrite`` as in :meth:`predict`.
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(self, "score_samples", X, out=out, overwrite=overwrite)
        return np.concatenate(self._map_log_prob(X, log_normalize, density=True))

    def score(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> float:
        """Mean (weighted) log-likelihood per sample: float."""
        total, weight = self._total_log_likelihood(X, sample_weight)
        return total / weight

    def bic(self, X: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Bayesian information criterion: -2 log L + p log(n); lower is better.

        With sample weights, log L is the weighted sum and n the weight total.
        """
        total, weight = self._total_log_likelihood(X, sample_weight)
        return information_criteria(total, weight, self._n_parameters())[0]

    def aic(self, X: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Akaike information criterion: -2 log L + 2 p; lower is better."""
        total, weight = self._total_log_likelihood(X, sample_weight)
        return information_criteria(total, weight, self._n_parameters())[1]

    def icl(self, X: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Integrated completed likelihood: BIC + 2 EN; lower is better.

        EN = -sum_n w_n sum_k z_nk log z_nk is the entropy of the
        responsibilities (Biernacki, Celeux and Govaert 2000): ICL adds a
        penalty for components that overlap. ``select_model``'s
        ``criterion="icl"`` and its table's "icl" column are this value.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if not rowwise.in_memory(X):
            if isinstance(X, Iterator):
                raise TypeError("icl reads X twice (the entropies, then the BIC); pass a "
                                "function that returns a fresh iterator of chunks.")
            total = rowwise.fitted_sum(self, "_entropies", X, sample_weight)[0]
            return self.bic(X, sample_weight) + 2.0 * total
        rows = self._entropies(X)
        weights = check_sample_weight(sample_weight, rows.shape[0])
        total = float(rows.sum()) if weights is None else float(weights @ rows)
        return self.bic(X, sample_weight) + 2.0 * total

    def _entropies(self, X: ArrayLike) -> FloatArray:
        """-sum_k z_nk log z_nk of every row, chunk by chunk: (n_samples,)."""
        if not rowwise.in_memory(X):
            return rowwise.method_rows(self, "_entropies", X)
        def entropy(log_prob: FloatArray) -> FloatArray:
            log_normalize(log_prob)
            tiny = np.finfo(log_prob.dtype).tiny
            return -(log_prob * np.log(np.maximum(log_prob, tiny))).sum(axis=0, dtype=np.float64)

        return np.concatenate(self._map_log_prob(X, entropy))

    def sample(self, n_samples: int = 1) -> tuple[FloatArray, IntArray]:
        """Draw samples from the fitted mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of each sample (-1: the noise component); samples are
            grouped by component.
        """
        self._check_fitted()
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires "
                "at least one sample."
            )
        cov_type = get_covariance_type(self.covariance_type)
        rng = make_rng(self.random_state)
        noise = getattr(self, "noise_bounds_", None)
        probabilities = self.weights_ if noise is None else np.append(
            self.weights_, self.noise_weight_)
        counts = rng.multinomial(n_samples, probabilities / probabilities.sum())
        n_features = self.means_.shape[1]
        draws = []
        for k, count in enumerate(counts[: self.weights_.size]):
            cov = cov_type.component_covariance(self.covariances_, k, n_features)
            chol = np.linalg.cholesky(cov)
            draws.append(self.means_[k] + rng.standard_normal((count, n_features)) @ chol.T)
        labels = np.repeat(np.arange(self.weights_.size), counts[: self.weights_.size])
        if noise is not None:
            draws.append(draw_noise(noise, counts[-1], rng))
            labels = np.append(labels, np.full(counts[-1], NOISE_LABEL))
        return np.vstack(draws), labels

    def condition(self, indices: Indices, values: ArrayLike) -> Self:
        """The mixture of the other features given ``x[indices] = values``.

        Exact for every covariance type (see :func:`gmmkit.estimators.conditioning.condition`
        and docs/conditioning.md).

        Parameters
        ----------
        indices : int, str or sequence of int or str
            The observed features (names need ``feature_names_in_``).
        values : float or array-like of shape (len(indices),)

        Returns
        -------
        GaussianMixture
            Fitted, over the remaining features in their original order.
        """
        return conditioning.condition(self, indices, values, cls=type(self))

    def marginal(self, indices: Indices) -> Self:
        """The mixture of the features ``indices`` alone: a fitted GaussianMixture."""
        return conditioning.marginal(self, indices, cls=type(self))

    # ------------------------------------------------------------- helpers

    def _n_parameters(self) -> int:
        """Free parameters (:func:`gmmkit.engine.criteria.n_parameters`)."""
        n_components, n_features = self.means_.shape
        return n_parameters(
            self.covariance_type, n_components, n_features, noise=hasattr(self, "noise_bounds_")
        )

    def _get_params_object(self) -> MixtureParams:
        """The engine's parameters of this fitted model (:func:`.components.mixture_params`)."""
        return mixture_params(self)

    def _set_params_object(
        self, params: MixtureParams, cov_type: CovarianceType, dtype: DTypeLike | None = None
    ) -> None:
        """Set the fitted attributes from ``params`` (see :meth:`_parameter_attributes`)."""
        for name, value in self._parameter_attributes(params, cov_type, dtype).items():
            setattr(self, name, value)

    @staticmethod
    def _parameter_attributes(
        params: MixtureParams, cov_type: CovarianceType, dtype: DTypeLike | None = None
    ) -> dict[str, Any]:
        """The fitted attributes of engine parameters: {name: value}, stored as ``dtype``.

        ``dtype`` None keeps the dtype of ``params.means``. Precisions and
        covariances are derived in float64 before the cast, so float32
        attributes are the float64 values rounded once.
        """
        dtype = np.result_type(params.means) if dtype is None else np.dtype(dtype)
        chol = np.asarray(params.precisions_cholesky, dtype=np.float64)
        precisions = cov_type.precisions(chol)
        covariances = (
            cov_type.covariances_from_precisions(precisions)
            if params.covariances is None
            else params.covariances
        )
        return {
            "noise_weight_": float(params.noise_weight),
            "weights_": np.asarray(params.weights, dtype=dtype),
            "means_": np.asarray(params.means, dtype=dtype),
            "precisions_cholesky_": np.asarray(chol, dtype=dtype),
            "precisions_": np.asarray(precisions, dtype=dtype),
            "covariances_": np.asarray(covariances, dtype=dtype),
        }

    def _initial_params(
        self,
        data: ChunkedData,
        cov_type: CovarianceType,
        rng: np.random.Generator,
        runner: ChunkRunner,
        initial: Initial,
    ) -> MixtureParams:
        """Starting parameters: from init_params, then the user's *_init arrays."""
        weights_init, means_init, precisions_init = initial
        if all(given is not None for given in initial):
            # everything given: no need to look at the data
            # (all given; the factors are set from precisions_init below)
            params = MixtureParams(weights_init, means_init, None, None)  # type: ignore[arg-type]
        else:
            method = resolve_init_method(self.init_params)
            stats = initial_stats(method, data, cov_type, self.n_components, rng, runner)
            params = params_from_stats(stats, cov_type, self.reg_covar, data.center)[0]
        if weights_init is not None:
            params.weights = weights_init
        if means_init is not None:
            params.means = means_init
        if precisions_init is not None:
            params.covariances = None
            params.precisions_cholesky = cov_type.precision_cholesky_from_precisions(
                precisions_init
            )
        return params
