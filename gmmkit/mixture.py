"""GaussianMixture: a drop-in for ``sklearn.mixture.GaussianMixture``.

Same constructor names and defaults as scikit-learn 1.9, plus
``chunk_size`` and ``dtype``, and ``sample_weight`` in ``fit``, ``score``,
``bic`` and ``aic``.  The work is done by the chunked engine in
:mod:`gmmkit.em`; this module validates input and keeps the attributes.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from gmmkit._estimator import EstimatorBase
from gmmkit._parallel import ChunkRunner
from gmmkit._validation import (
    check_array,
    check_feature_names,
    check_n_features,
    check_sample_weight,
    feature_names,
    scan_rows,
)
from gmmkit.covariance import get_covariance_type
from gmmkit.em import (
    ChunkedData,
    EMSettings,
    MixtureParams,
    guard_float32,
    log_normalize,
    params_from_stats,
    run_em,
    score_chunks,
)
from gmmkit.exceptions import ConvergenceWarning, NotFittedError, compatible
from gmmkit.init import INIT_METHODS, initial_stats
from gmmkit.missing import MISSING_OPTIONS, MissingData, make_missing_data
from gmmkit.plugins import fit_hooks as plugin_fit_hooks
from gmmkit.plugins import get_initializers

#: bytes of the widest per-chunk temporary when chunk_size is None (so
#: float32 work gets twice the rows of float64: fewer, larger chunks)
AUTO_CHUNK_BYTES = 8 * 2**20
AUTO_CHUNK_ROWS = (256, 65536)


def make_rng(random_state):
    """A numpy Generator from None, an int, a RandomState or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state={random_state!r} is not valid; pass None, an int, "
        "a numpy RandomState or a numpy Generator."
    )


class GaussianMixture(EstimatorBase):
    """Gaussian mixture model fitted by exact, chunked EM.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance; floors collapsing components.
    max_iter : int, default=100
    n_init : int, default=1
        Number of initialisations; the run with the best lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the starting responsibilities are found (see :mod:`gmmkit.init`).
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
        Working precision of the E-step; None follows X (float32 stays
        float32, everything else is float64).  Sums across chunks and the
        M-step are always float64.
    missing : {"error", "em"}, default="error"
        What NaN in X means. "error" refuses it with a clear message; "em"
        treats NaN as missing values: ``fit`` runs exact EM that
        marginalises them (docs/missing-values.md) and ``predict``,
        ``predict_proba`` and ``score_samples`` use each row's observed
        features (the marginal densities). Infinity is always refused.

    Attributes
    ----------
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
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        chunk_size=None,
        dtype=None,
        missing="error",
    ):
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

    # ------------------------------------------------------------------ fit

    def fit(self, X, y=None, sample_weight=None):
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
        names = feature_names(X)
        X = check_array(X)
        self._check_parameters(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        self._check_enough_samples(X, weights)
        cov_type = get_covariance_type(self.covariance_type)
        initial = self._check_initial_parameters(X.shape[1], cov_type)
        data = self._chunked(X, weights)
        hooks = plugin_fit_hooks()
        settings = EMSettings(
            self.max_iter,
            self.tol,
            self.reg_covar,
            self.verbose,
            self.verbose_interval,
            on_iteration=None if hooks is None else self._iteration_hook(hooks),
        )
        if hooks is not None:
            hooks.call("gmmkit_fit_start", model=self, n_samples=X.shape[0], n_features=X.shape[1])
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        rng = make_rng(self.random_state)
        best, n_converged = None, 0
        with ChunkRunner() as runner:
            for init in range(self.n_init if do_init else 1):
                if do_init:
                    params = self._initial_params(
                        getattr(data, "filled", data), cov_type, rng, runner, initial
                    )
                    start_bound = -np.inf
                else:
                    params, start_bound = self._get_params_object(), self.lower_bound_
                result = run_em(
                    data,
                    cov_type,
                    params,
                    settings,
                    runner,
                    lower_bound=start_bound,
                    init_index=init,
                )
                n_converged += result.converged
                if best is None or result.lower_bound > best.lower_bound:
                    best = result
        if not best.converged and self.max_iter > 0:
            runs = self.n_init if do_init else 1
            warnings.warn(
                f"The best of {runs} EM run(s) did not converge ({n_converged} converged): "
                f"it stopped after max_iter={self.max_iter} iterations with the lower "
                f"bound still changing by more than tol={self.tol}. Increase max_iter "
                "or tol, try other init_params, or check for degenerate data.",
                compatible(ConvergenceWarning),
                stacklevel=2,
            )
        self._set_params_object(best.params, cov_type)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = best.lower_bounds
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if hooks is not None:
            hooks.call("gmmkit_fit_end", model=self)
        return self

    def _iteration_hook(self, hooks):
        def on_iteration(init, iteration, lower_bound, change):
            hooks.call(
                "gmmkit_fit_iteration",
                model=self,
                init=init,
                iteration=iteration,
                lower_bound=lower_bound,
                change=change,
            )

        return on_iteration

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the component label of every row: (n_samples,)."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # -------------------------------------------------------------- predict

    def predict(self, X):
        """Most probable component of each row: ndarray of shape (n_samples,)."""
        parts = self._map_log_prob(X, lambda log_prob: log_prob.argmax(axis=0))
        return np.concatenate(parts)

    def predict_proba(self, X):
        """Responsibilities: ndarray of shape (n_samples, n_components)."""

        def resp(log_prob):
            log_normalize(log_prob)
            return np.array(log_prob.T, dtype=np.float64)  # a copy: log_prob is scratch

        return np.concatenate(self._map_log_prob(X, resp))

    def score_samples(self, X):
        """Log-likelihood of each row: ndarray of shape (n_samples,)."""
        return np.concatenate(self._map_log_prob(X, log_normalize))

    def score(self, X, y=None, sample_weight=None):
        """Mean (weighted) log-likelihood per sample: float."""
        total, weight = self._total_log_likelihood(X, sample_weight)
        return total / weight

    def bic(self, X, sample_weight=None):
        """Bayesian information criterion: -2 log L + p log(n); lower is better.

        With sample weights, log L is the weighted sum and n the weight total.
        """
        total, weight = self._total_log_likelihood(X, sample_weight)
        return -2.0 * total + self._n_parameters() * np.log(weight)

    def aic(self, X, sample_weight=None):
        """Akaike information criterion: -2 log L + 2 p; lower is better."""
        total, _ = self._total_log_likelihood(X, sample_weight)
        return -2.0 * total + 2.0 * self._n_parameters()

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of each sample; samples are grouped by component.
        """
        self._check_fitted()
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires "
                "at least one sample."
            )
        cov_type = get_covariance_type(self.covariance_type)
        rng = make_rng(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        n_features = self.means_.shape[1]
        draws = []
        for k, count in enumerate(counts):
            cov = cov_type.component_covariance(self.covariances_, k, n_features)
            chol = np.linalg.cholesky(cov)
            draws.append(self.means_[k] + rng.standard_normal((count, n_features)) @ chol.T)
        labels = np.repeat(np.arange(len(counts)), counts)
        return np.vstack(draws), labels

    # ------------------------------------------------------------- helpers

    def _n_parameters(self):
        """Free parameters: covariances + means + (weights - 1)."""
        n_components, n_features = self.means_.shape
        cov_type = get_covariance_type(self.covariance_type)
        return (
            cov_type.n_parameters(n_components, n_features)
            + n_components * n_features
            + n_components
            - 1
        )

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise compatible(NotFittedError)(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )

    def _resolve_dtype(self, X):
        if self.dtype is None:
            return (
                np.dtype(np.float32)
                if X.dtype in (np.float32, np.float16)
                else np.dtype(np.float64)
            )
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(
                f"dtype={self.dtype!r} is not supported; use 'float32', 'float64' or None."
            )
        return dtype

    def _chunk_rows(self, n_features, dtype):
        if self.chunk_size is not None:
            return int(self.chunk_size)
        cov_type = get_covariance_type(self.covariance_type)
        width = cov_type.chunk_width(self.n_components, n_features)
        rows = 2 ** int(np.log2(max(AUTO_CHUNK_BYTES // (width * dtype.itemsize), 1)))
        return int(np.clip(rows, *AUTO_CHUNK_ROWS))

    def _chunked(self, X, weights, fallback_center=None):
        """X served in chunks, centred on its (weighted) mean; checks it is finite.

        With ``missing="em"`` and NaN in X: a MissingData served pattern by
        pattern; ``fallback_center`` centres features that have no value.
        """
        dtype = self._resolve_dtype(X)
        chunk_rows = self._chunk_rows(X.shape[1], dtype)
        if self.missing == "em":
            data = make_missing_data(
                X, weights, dtype, chunk_rows, fallback_center=fallback_center
            )
            if data is not None:
                return data
        return ChunkedData(X, weights, scan_rows(X, weights), dtype, chunk_rows)

    def _validated(self, X):
        """X checked against the fitted model (names, shape, dtype): ndarray."""
        self._check_fitted()
        check_feature_names(X, getattr(self, "feature_names_in_", None), type(self).__name__)
        X = check_array(X)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        return X

    def _map_log_prob(self, X, reduce):
        """Validate X, then ``reduce`` each chunk's weighted log densities."""
        X = self._validated(X)
        data = self._chunked(X, None, fallback_center=self.weights_ @ self.means_)
        cov_type = get_covariance_type(self.covariance_type)
        params = self._get_params_object()
        data = guard_float32(data, cov_type, params)
        with ChunkRunner() as runner:
            if isinstance(data, MissingData):
                return [data.map_log_prob(cov_type, params, runner, reduce)]
            return score_chunks(data, cov_type, params, runner, reduce)

    def _total_log_likelihood(self, X, sample_weight):
        """(sum_n w_n log p(x_n), sum_n w_n)."""
        log_lik = self.score_samples(X)
        weights = check_sample_weight(sample_weight, log_lik.shape[0])
        if weights is None:
            return float(log_lik.sum()), float(log_lik.shape[0])
        return float(weights @ log_lik), float(weights.sum())

    def _get_params_object(self):
        return MixtureParams(
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_
        )

    def _set_params_object(self, params, cov_type):
        self.weights_ = params.weights
        self.means_ = params.means
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = cov_type.precisions(params.precisions_cholesky)
        if params.covariances is None:
            self.covariances_ = cov_type.covariances_from_precisions(self.precisions_)
        else:
            self.covariances_ = params.covariances

    def _initial_params(self, data, cov_type, rng, runner, initial):
        """Starting parameters: from init_params, then the user's *_init arrays."""
        weights_init, means_init, precisions_init = initial
        if all(given is not None for given in initial):
            # everything given: no need to look at the data
            params = MixtureParams(weights_init, means_init, None, None)
        else:
            stats = initial_stats(self.init_params, data, cov_type, self.n_components, rng, runner)
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

    # ---------------------------------------------------------- validation

    def _check_parameters(self, X):
        _check_int("n_components", self.n_components, 1)
        _check_int("n_init", self.n_init, 1)
        _check_int("max_iter", self.max_iter, 0)
        _check_int("verbose_interval", self.verbose_interval, 1)
        _check_number("tol", self.tol, 0.0)
        _check_number("reg_covar", self.reg_covar, 0.0)
        if self.chunk_size is not None:
            _check_int("chunk_size", self.chunk_size, 1)
        if self.missing not in MISSING_OPTIONS:
            raise ValueError(
                f"missing={self.missing!r} is not supported; use 'error' (NaN is refused) "
                "or 'em' (NaN are missing values, fitted by EM)."
            )
        if self.init_params not in INIT_METHODS:
            plugin_initializers = get_initializers()
            if self.init_params not in plugin_initializers:
                raise ValueError(
                    f"init_params={self.init_params!r} is not supported; use one of "
                    f"{list(INIT_METHODS) + sorted(plugin_initializers)}"
                )
        self._resolve_dtype(X)

    def _check_enough_samples(self, X, weights):
        n_samples = X.shape[0] if weights is None else int(np.count_nonzero(weights))
        if n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_samples}"
                f"{' (with positive weight)' if weights is not None else ''}; "
                "use fewer components or more data."
            )

    def _check_initial_parameters(self, n_features, cov_type):
        """Validate weights_init, means_init, precisions_init; return them as arrays."""
        k = self.n_components
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _as_float_array("weights_init", self.weights_init, (k,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError("weights_init must lie in [0, 1]; got values outside.")
            if not np.isclose(weights.sum(), 1.0, atol=1e-6):
                raise ValueError(
                    f"weights_init should be normalized, but got sum(weights) = "
                    f"{weights.sum():.5f}; divide by its sum."
                )
        if self.means_init is not None:
            means = _as_float_array("means_init", self.means_init, (k, n_features))
        if self.precisions_init is not None:
            shape = cov_type.shape(k, n_features)
            precisions = _as_float_array("precisions_init", self.precisions_init, shape)
            try:
                cov_type.precision_cholesky_from_precisions(precisions)
            except ValueError as exc:
                raise ValueError(
                    f"precisions_init is not valid for covariance_type='{cov_type.name}' "
                    f"({exc}); pass valid precisions of shape {shape} or leave it None."
                ) from None
        return weights, means, precisions


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")


def _check_number(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= minimum:
        raise ValueError(f"{name} must be a number >= {minimum}; got {value!r}.")


def _as_float_array(name, value, shape):
    array = np.asarray(value, dtype=np.float64)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf.")
    return array
