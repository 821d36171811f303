"""Gaussian mixture regression: a mixture fitted on [X, y], predictions by conditioning.

``GaussianMixtureRegressor`` fits a :class:`~gmmkit.estimators.mixture.GaussianMixture`
on the joint data ``np.hstack([X, y])`` and predicts the mean of the
conditional mixture p(y | x) (see :mod:`gmmkit.estimators.conditional`):

    E[y | x] = sum_k w_k(x) (mu_k,y + B_k (x - mu_k,x)),
    w_k(x) ∝ pi_k N(x | mu_k,x, Sigma_k,xx),  B_k = Sigma_k,yx Sigma_k,xx^-1,

a soft, locally linear regression.  One full component is linear
regression; more components bend the fit.  ``return_std=True`` adds the
standard deviation of the conditional mixture, which includes both the
noise around each local line (C_k) and the spread between components.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from gmmkit.data.validation import (
    check_array,
    check_sample_weight,
    feature_names,
)
from gmmkit.estimators import rowwise
from gmmkit.estimators.base import EstimatorBase, check_fitted_input
from gmmkit.estimators.conditioner import MixtureConditioner
from gmmkit.estimators.mixture import GaussianMixture

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike
    from typing_extensions import Self

    from gmmkit.engine.types import AnyArray, FitInput, FloatArray, PathLike, RandomStateLike

#: each fitted regressor's (parameters it was built from, conditioner): see _conditioner
_CONDITIONERS: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], MixtureConditioner]] = (
    weakref.WeakKeyDictionary()
)

#: constructor arguments passed on to the joint GaussianMixture
MIXTURE_PARAMS = (
    "n_components",
    "covariance_type",
    "tol",
    "reg_covar",
    "max_iter",
    "n_init",
    "init_params",
    "random_state",
    "warm_start",
    "verbose",
    "verbose_interval",
    "chunk_size",
    "dtype",
)


class GaussianMixtureRegressor(EstimatorBase):
    """Regression by a Gaussian mixture on the joint distribution of X and y.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components; 1 (with ``covariance_type="full"``)
        is ordinary linear regression.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        "full" gives each component its own local line; "tied" shares one
        slope; "diag" and "spherical" have no slope (a piecewise-constant,
        softly gated fit).
    tol, reg_covar, max_iter, n_init, init_params, random_state, warm_start,
    verbose, verbose_interval, chunk_size, dtype
        As in :class:`~gmmkit.estimators.mixture.GaussianMixture`, for the joint fit.

    Attributes
    ----------
    gmm_ : GaussianMixture
        The mixture fitted on ``np.hstack([X, y])``. With float32 X, y is
        cast to float32 too (as scikit-learn's regressors cast y to X's
        dtype), so its attributes are float32 as X is.
    n_features_in_ : int
        Number of features of X.
    n_targets_ : int
        Number of columns of y.
    y_ndim_ : int
        1 when y was 1-D in ``fit`` (``predict`` then returns 1-D arrays),
        else 2. Model files store it.
    n_iter_ : int
        EM iterations of the joint fit's best run.
    converged_ : bool
        Whether that run converged.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.
    """

    _estimator_type = "regressor"

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
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.dtype = dtype

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Fit a Gaussian mixture on the joint data [X, y].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        names = feature_names(X)
        X = self._check_X(X)
        Y, y_ndim = self._check_y(y, X.shape[0])
        check_sample_weight(sample_weight, X.shape[0])
        _CONDITIONERS.pop(self, None)  # the old model's: built again on predict
        gmm = self._joint_model()
        if X.dtype == np.float32:  # y follows X, as in scikit-learn's regressors
            Y = Y.astype(np.float32)
        gmm.fit(np.hstack([X, Y]), sample_weight=sample_weight)
        self.gmm_ = gmm
        self.n_features_in_ = X.shape[1]
        self.n_targets_ = Y.shape[1]
        self.n_iter_ = gmm.n_iter_
        self.converged_ = gmm.converged_
        self.y_ndim_ = y_ndim
        self._set_feature_names(names)
        return self

    @overload
    def predict(
        self, X: FitInput, return_std: Literal[False] = False, *,
        out: PathLike | None = None, overwrite: bool = False,
    ) -> FloatArray: ...

    @overload
    def predict(
        self, X: FitInput, return_std: Literal[True], *,
        out: PathLike | None = None, overwrite: bool = False,
    ) -> tuple[FloatArray, FloatArray]: ...

    @overload
    def predict(
        self, X: FitInput, return_std: bool = False, *,
        out: PathLike | None = None, overwrite: bool = False,
    ) -> FloatArray | tuple[FloatArray, FloatArray]: ...

    def predict(
        self, X: FitInput, return_std: bool = False, *,
        out: PathLike | None = None, overwrite: bool = False,
    ) -> FloatArray | tuple[FloatArray, FloatArray]:
        """Conditional mean of y given each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what ``fit`` of a GaussianMixture takes
            A ``.npy`` path, a file memmap, a chunk function is read block by
            block; a Dask array gives a lazy Dask array (docs/scale.md).
        return_std : bool, default=False
            Also return the conditional standard deviation (not with ``out``).
        out : str or os.PathLike, optional
            Write y_mean to this ``.npy`` file a block at a time and return
            it memory-mapped (see :meth:`GaussianMixture.predict`).
        overwrite : bool, default=False
            Replace ``out`` when it exists.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
            1-D when y was 1-D at fit time.
        y_std : ndarray, the same shape as y_mean
            Only with ``return_std=True``: sqrt(sum_k w_k (diag(C_k) +
            (m_k - y_mean)^2)), the spread of the conditional mixture.
        """
        if not rowwise.in_memory(X, out):
            if not return_std:
                return rowwise.method_rows(self, "predict", X, out=out, overwrite=overwrite)
            if out is not None:
                raise ValueError("out= takes one result; call predict(X, out=path) for the "
                                 "means, or return_std=True without out.")
            both = rowwise.method_rows(self, "_mean_and_std", X)
            return both[:, 0], both[:, 1]
        mean, std = self._conditional(X, return_std)
        if self.y_ndim_ == 1:
            mean = mean[:, 0]
            std = None if std is None else std[:, 0]
        if return_std:
            assert std is not None  # (asked for)
            return mean, std
        return mean

    def score(self, X: FitInput, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Coefficient of determination R^2 of the predictions (averaged over targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
            1 is a perfect fit, 0 predicting the mean of y; can be negative.
        """
        prediction = rowwise.computed(self.predict(X))
        return r2_score(y, prediction, sample_weight=sample_weight)

    # ------------------------------------------------------------- helpers

    def _mean_and_std(self, X: ArrayLike) -> FloatArray:
        """predict(X, return_std=True) stacked: (n_samples, 2, ...) for a row-wise map."""
        return np.stack(self.predict(X, return_std=True), axis=1)

    def _joint_model(self) -> GaussianMixture:
        params = {name: getattr(self, name) for name in MIXTURE_PARAMS}
        if self.warm_start and hasattr(self, "gmm_"):
            return self.gmm_.set_params(**params)
        return GaussianMixture(**params)

    def _conditional(self, X: ArrayLike, return_std: bool) -> tuple[FloatArray, FloatArray | None]:
        """(mean, std or None), both (n_samples, n_targets)."""
        X = check_fitted_input(self, X, convert=self._check_X)
        weights, means, covariances = self._conditioner().moments(
            np.asarray(X, dtype=np.float64)
        )
        mean = np.einsum("nk,nkt->nt", weights, means)
        if not return_std:
            return mean, None
        within = weights @ np.diagonal(covariances, axis1=1, axis2=2)  # (n, t)
        # the spread of the conditional means, scaled by the largest deviation
        # so that rows far out (1e300) do not overflow: std = s sqrt(within / s^2 + between)
        deviation = means - mean[:, None, :]
        scale = np.max(np.abs(deviation), axis=1)  # (n, t)
        scale[scale == 0] = 1.0
        between = np.einsum("nk,nkt->nt", weights, (deviation / scale[:, None, :]) ** 2)
        return mean, scale * np.sqrt(np.maximum(within / scale / scale + between, 0.0))

    def _conditioner(self) -> MixtureConditioner:
        """The conditioner of y on X for the fitted ``gmm_``, built on first use.

        It holds what depends only on the fitted model (the marginal mixture
        of X, its precision factors, the regression coefficients), so that
        predict scores rows and applies the coefficients only. It is kept
        outside the estimator (``_CONDITIONERS``, weakly keyed by it: predict
        leaves ``__dict__`` as it was, and neither model files nor pickles
        see it) with the parameters it was built from; ``fit`` drops it, and
        a ``gmm_`` replaced, refitted (new parameter arrays) or given another
        ``reg_covar`` is noticed.
        """
        gmm = self.gmm_
        source = (gmm, gmm.weights_, gmm.means_, gmm.covariances_, gmm.reg_covar)
        cached = _CONDITIONERS.get(self)
        if cached is None or any(a is not b for a, b in zip(cached[0][:4], source[:4])) or (
            cached[0][4] != source[4]
        ):
            d = self.n_features_in_
            # scored as predict_proba scores (BLAS): a row's prediction is its own to a few ulps
            conditioner = MixtureConditioner(
                gmm, np.arange(d), np.arange(d, d + self.n_targets_), direct=False
            )
            cached = _CONDITIONERS[self] = (source, conditioner)
        return cached[1]

    def _check_X(self, X: ArrayLike) -> AnyArray:
        X = check_array(X)
        bad = ~np.isfinite(X).all(axis=1) if X.dtype.kind == "f" else np.zeros(len(X), bool)
        if bad.any():
            raise ValueError(
                f"X contains NaN or infinity in {int(bad.sum())} row(s) (first: row "
                f"{int(np.flatnonzero(bad)[0])}); {type(self).__name__} needs every "
                "feature: drop or impute those rows."
            )
        return X

    def _check_y(self, y: ArrayLike | None, n_samples: int) -> tuple[FloatArray, int]:
        """(y as a finite float64 (n_samples, n_targets) array, y's ndim: 1 or 2)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None; call fit(X, y)."
            )
        Y = np.asarray(y)
        if Y.ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D (n_samples,) or 2-D (n_samples, n_targets); got shape {Y.shape}."
            )
        y_ndim = Y.ndim
        Y = check_array(Y.reshape(-1, 1) if y_ndim == 1 else Y, name="y")
        if Y.shape[0] != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {Y.shape[0]}; pass one target "
                "(row) per sample."
            )
        Y = np.asarray(Y, dtype=np.float64)
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or infinity; drop those rows or impute y.")
        return Y, y_ndim

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.regressor_tags = RegressorTags()
        return tags


def r2_score(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Coefficient of determination, averaged uniformly over targets.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_targets)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
        Per target 1 - SS_res / SS_tot; a constant target scores 1 when
        predicted exactly, else 0 (scikit-learn's convention).
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    n_samples = y_true.shape[0]
    y_true, y_pred = y_true.reshape(n_samples, -1), y_pred.reshape(n_samples, -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y has shape {y_true.shape} but the predictions {y_pred.shape}; pass "
            "targets shaped like those at fit time."
        )
    weights = check_sample_weight(sample_weight, n_samples)
    weights = np.ones(n_samples) if weights is None else weights
    residual = weights @ (y_true - y_pred) ** 2
    total = weights @ (y_true - (weights @ y_true) / weights.sum()) ** 2
    scores = np.where(residual == 0, 1.0, 0.0)
    positive = total > 0
    scores[positive] = 1.0 - residual[positive] / total[positive]
    return float(scores.mean())
