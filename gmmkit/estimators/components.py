"""The engine's per-component maths, public for plugins (a GaussianMixture mixin).

Plugins that run their own outer loop (gmmkit_image's HMRF-EM, gmmkit_speech's
scoring and MAP adaptation) need two pieces of EM on their own terms: the
log density of every row under every component, and an M-step from
memberships they computed. Both run on the chunked, threaded engine
(any covariance type, float32 work when ``dtype`` asks for it, far rows
exact), so plugins neither copy the maths nor import the engine.

A fitted model can also be made from given parameters without fitting:
:meth:`ComponentMaths.from_parameters` (model files, conditioning,
``with_parameters`` and users build every GaussianMixture that way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.validation import check_array, check_sample_weight, feature_names
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.em import MixtureParams, m_step
from gmmkit.engine.estep import stats_of_responsibilities
from gmmkit.engine.missing import MissingData
from gmmkit.engine.noise import log_density
from gmmkit.engine.threads import ChunkRunner
from gmmkit.estimators import rowwise
from gmmkit.estimators.conditioning import fitted_mixture

#: fitted attributes that describe a fit rather than the mixture (from_parameters' training)
TRAINING_ATTRIBUTES = (
    "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_steps_", "selection_",
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from gmmkit.engine.types import FitInput, FloatArray, PathLike
    from gmmkit.estimators.attributes import MixtureAttributes
    from gmmkit.estimators.attributes import MixtureAttributes as _Estimator
else:  # the estimator the mixin is mixed into (for type checkers only)
    _Estimator = object


class ComponentMaths(_Estimator):
    """``component_log_densities``, ``fit_from_responsibilities``, ``with_parameters``
    and ``from_parameters``."""

    @classmethod
    def from_parameters(
        cls,
        weights: ArrayLike,
        means: ArrayLike,
        covariances: ArrayLike,
        *,
        precisions_cholesky: ArrayLike | None = None,
        precisions: ArrayLike | None = None,
        noise_bounds: ArrayLike | None = None,
        noise_weight: float | None = None,
        feature_names: ArrayLike | None = None,
        training: Mapping[str, Any] | None = None,
        check_structure: bool = True,
        **params: Any,
    ) -> Self:
        """A fitted model with the given parameters, made without fitting.

        What ``fit`` would leave if it had found these parameters: the
        fitted attributes are derived as ``fit`` derives them and stored in the
        dtype of ``means`` (float32 or float64), so ``predict``,
        ``score_samples``, ``sample``, ``gmmkit.save`` ... work on the result.

        Parameters
        ----------
        weights : array-like of shape (n_components,)
        means : array-like of shape (n_components, n_features)
        covariances : array-like
            In the layout of ``covariances_`` for ``covariance_type``: (K, D, D)
            full, (D, D) tied, (K, D) diag, (K,) spherical.
        precisions_cholesky : array-like, optional
            The Cholesky factors of the precisions, in the same layout, as
            ``fit`` stores them. None derives them from a float64 copy of
            ``covariances`` (a singular covariance is floored by ``reg_covar``
            as in ``fit``, and stored floored).
        precisions : array-like, optional
            ``precisions_`` exactly as given, instead of derived from the factors
            (model files keep their bits).
        noise_bounds : array-like of shape (n_features, 2), optional
            The box of a uniform noise component (each feature's min and max),
            with ``noise_weight`` its weight (0 <= weight < 1, the ``weights``
            sum to 1 - weight); ``noise="uniform"`` is then implied.
        noise_weight : float, optional
        feature_names : array-like of shape (n_features,) of str, optional
        training : dict, optional
            Fitted attributes that describe the fit rather than the mixture:
            any of ``converged_``, ``n_iter_``, ``lower_bound_``,
            ``lower_bounds_``, ``n_steps_``, ``selection_``.
        check_structure : bool, default=True
            Refuse covariances without the equalities of a constrained
            ``covariance_type`` (see Raises). False is for a caller that has
            checked them itself with its own message (``gmmkit.load`` does,
            naming the file), so that they are not checked twice; covariances
            without the structure would then make a model that is not of its
            type.
        **params
            Constructor arguments (``covariance_type``, ``reg_covar`` ...).

        Returns
        -------
        GaussianMixture
            Fitted: ``n_components_`` = K, ``n_features_in_`` = D.

        Raises
        ------
        ValueError
            For arrays of the wrong shape, covariances without the structure
            of a constrained ``covariance_type`` (say "VEV" with unequal
            shapes; unless ``check_structure=False``), unknown ``training``
            names, or noise arguments that contradict each other or
            ``params["noise"]``.
        """
        noise = noise_bounds is not None or noise_weight is not None
        if noise:
            params.setdefault("noise", "uniform")
        model = cls(**params)
        cov_type = get_covariance_type(model.covariance_type)
        means = np.asarray(means)
        if means.ndim != 2:
            raise ValueError(
                f"means has shape {means.shape}; pass an array of shape "
                "(n_components, n_features)."
            )
        k, d = means.shape
        given = {"weights": weights, "covariances": covariances,
                 "precisions_cholesky": precisions_cholesky, "precisions": precisions}
        for name, value in given.items():
            expected = (k,) if name == "weights" else cov_type.shape(k, d)
            if value is not None and np.shape(value) != expected:
                raise ValueError(
                    f"{name} has shape {np.shape(value)}; a '{cov_type.name}' mixture of "
                    f"{k} components and {d} features needs {expected}."
                )
        problem = (cov_type.structure_problem(np.asarray(covariances), k, d)
                   if check_structure else None)
        if problem is not None:
            raise ValueError(f"{problem}; pass covariances of that structure, or "
                             "covariance_type='full'.")
        if noise != (model.noise is not None) or (noise_bounds is None) != (noise_weight is None):
            raise ValueError(
                f"a noise component (noise={model.noise!r}) needs both noise_bounds and "
                "noise_weight; pass both with noise='uniform', or neither."
            )
        unknown = set(training or ()) - set(TRAINING_ATTRIBUTES)
        if unknown:
            raise ValueError(
                f"training has {sorted(unknown)}; it takes {list(TRAINING_ATTRIBUTES)}."
            )
        if precisions_cholesky is None:
            covariances = np.array(covariances, dtype=np.float64)  # a copy: floored next
            precisions_cholesky = cov_type.precision_cholesky(covariances, model.reg_covar)
        parameters = MixtureParams(
            np.asarray(weights), means, np.asarray(covariances), np.asarray(precisions_cholesky)
        )
        for name, value in cls._parameter_attributes(parameters, cov_type).items():
            setattr(model, name, value)
        if precisions is not None:
            model.precisions_ = np.asarray(precisions)
        if noise:
            assert noise_weight is not None  # (checked above: both or neither)
            model.noise_bounds_ = np.array(noise_bounds)
            model.noise_weight_ = float(noise_weight)
            if model.noise_bounds_.shape != (d, 2):
                raise ValueError(
                    f"the noise bounds have shape {model.noise_bounds_.shape}; pass ({d}, 2): "
                    "each feature's (min, max)."
                )
        for name, value in (training or {}).items():
            setattr(model, name, value)
        model.n_features_in_ = d
        model.n_components_ = k
        if feature_names is not None:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        return model

    def component_log_densities(
        self, X: FitInput, *, out: PathLike | None = None, overwrite: bool = False
    ) -> FloatArray:
        """log N(x | mean_k, covariance_k) of every row and component, without the weights.

        Computed as ``predict_proba`` and ``score_samples`` are: in chunks, on
        the engine's threads, in float32 when the model's ``dtype`` says so,
        and each row on its own (rows far from the model's centre directly in
        float64). ``component_log_densities(X) + np.log(weights_)`` are the
        weighted log densities whose log-sum-exp is ``score_samples(X)``.
        A noise component (``noise="uniform"``) is not included.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or what ``fit`` takes
            Files, chunk functions and Dask arrays as in ``predict``.
        out : str or os.PathLike, optional
            Write the result to this ``.npy`` file a block at a time.
        overwrite : bool, default=False
            Replace ``out`` when it exists.

        Returns
        -------
        ndarray of shape (n_samples, n_components), float64
        """
        if not rowwise.in_memory(X, out):
            return rowwise.method_rows(
                self, "component_log_densities", X, out=out, overwrite=overwrite
            )
        n_components = len(self.weights_)

        def densities(log_prob: FloatArray) -> FloatArray:
            return np.array(log_prob[:n_components].T, dtype=np.float64)  # a copy: scratch

        return np.concatenate(self._map_log_prob(X, densities, density=True, unweighted=True))

    def fit_from_responsibilities(
        self, X: ArrayLike, resp: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """One M-step: the parameters that maximise the likelihood for given memberships.

        Sets ``weights_``, ``means_``, ``covariances_``, ``precisions_`` and
        ``precisions_cholesky_`` (with ``reg_covar`` added to the variances,
        as in ``fit``), ``n_features_in_`` and ``n_components_``; other
        attributes of an earlier fit are kept. It is scikit-learn's
        ``_m_step`` on the chunked engine: a component with no mass keeps
        its (undefined) parameters instead of being re-seeded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        resp : array-like of shape (n_samples, n_components)
            Non-negative memberships of every row (soft or hard; rows need
            not sum to 1).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        names = feature_names(X)
        X = check_array(X)
        resp = _check_resp(resp, X.shape[0], self.n_components)
        weights = check_sample_weight(sample_weight, X.shape[0])
        data = self._chunked(X, weights)
        if isinstance(data, MissingData):
            raise ValueError(
                "fit_from_responsibilities does not take rows with missing values (NaN); "
                "drop or impute them first."
            )
        cov_type = get_covariance_type(self.covariance_type)
        with ChunkRunner() as runner:
            stats = stats_of_responsibilities(data, cov_type, resp, runner)
        mixing, means, covariances, _ = m_step(stats, cov_type, self.reg_covar, data.center)
        chol = cov_type.precision_cholesky(covariances, self.reg_covar)
        params = MixtureParams(mixing, means, covariances, chol)
        self._set_params_object(params, cov_type, dtype=self._attribute_dtype(data))
        if hasattr(self, "noise_bounds_"):
            del self.noise_bounds_
        self.n_components_ = resp.shape[1]
        self.n_features_in_ = X.shape[1]
        self._set_feature_names(names)
        return self

    def with_parameters(
        self,
        weights: ArrayLike,
        means: ArrayLike,
        covariances: ArrayLike,
        *,
        keep_noise: bool = False,
        covariance_type: str | None = None,
    ) -> Self:
        """A fitted copy of this model with other parameters (MAP adaptation, edits).

        The copy has this model's settings, feature names, ``converged_``
        and ``n_iter_``, and float64 attributes; the precisions are derived
        from ``covariances``. It is what :meth:`from_parameters` makes of
        the new parameters with this model's settings.

        Parameters
        ----------
        weights : array-like of shape (n_components,)
            With ``keep_noise=True`` and a noise component, they sum to
            1 - ``noise_weight_``, as this model's ``weights_`` do.
        means : array-like of shape (n_components, n_features)
        covariances : array-like
            In the layout of ``covariances_`` (per ``covariance_type``).
        keep_noise : bool, default=False
            Keep this model's uniform noise component (``noise="uniform"``,
            its ``noise_bounds_`` and ``noise_weight_`` as they are). False:
            the copy has no noise component. Without one on this model it
            changes nothing.
        covariance_type : str, optional
            The copy's covariance type, of the same layout as this model's
            (None: this model's). A constrained mclust model (say "VEV")
            whose new covariances lose its equalities becomes a model of
            its layout ("full", "tied", "diag" or "spherical").

        Returns
        -------
        GaussianMixture

        Raises
        ------
        ValueError
            For parameters of other shapes than this model's, a
            ``covariance_type`` of another layout, or covariances without
            the structure of the (constrained) covariance type.
        """
        self._check_fitted()
        given = {"weights": weights, "means": means, "covariances": covariances}
        for name, value in given.items():
            expected = getattr(self, name + "_").shape
            if np.shape(value) != expected:
                raise ValueError(
                    f"{name} has shape {np.shape(value)}; this model's {name}_ has shape "
                    f"{expected}, and the new parameters must have the same."
                )
        if covariance_type is not None:
            own = get_covariance_type(self.covariance_type).layout
            if get_covariance_type(covariance_type).layout != own:
                raise ValueError(
                    f"covariance_type={covariance_type!r} stores covariances in another layout "
                    f"than this model's {self.covariance_type!r}; pass a type of the {own!r} "
                    f"layout, such as {own!r}."
                )
        bounds = getattr(self, "noise_bounds_", None) if keep_noise else None
        return fitted_mixture(  # type: ignore[type-var]  # (mixed into GaussianMixture)
            self, type(self), weights, means, covariances,  # type: ignore[arg-type]
            feature_names=getattr(self, "feature_names_in_", None),
            noise=None if bounds is None else (bounds, self.noise_weight_),
            covariance_type=covariance_type,
        )


def mixture_params(model: MixtureAttributes) -> MixtureParams:
    """The engine's parameters of a fitted GaussianMixture, read from its public attributes.

    The engine works on float64 parameters: float32 attributes (a fit on
    float32 X) are widened exactly, float64 ones are used as they are.

    Parameters
    ----------
    model : GaussianMixture
        Fitted (``weights_``, ``means_``, ``covariances_``,
        ``precisions_cholesky_``, and ``noise_bounds_`` and ``noise_weight_``
        with a noise component).

    Returns
    -------
    gmmkit.engine.em.MixtureParams
    """
    params = MixtureParams(
        np.asarray(model.weights_, dtype=np.float64),
        np.asarray(model.means_, dtype=np.float64),
        np.asarray(model.covariances_, dtype=np.float64),
        np.asarray(model.precisions_cholesky_, dtype=np.float64),
    )
    bounds = getattr(model, "noise_bounds_", None)
    if bounds is not None:
        params.noise_log_density = log_density(bounds)
        params.noise_weight = getattr(model, "noise_weight_", 0.0)
    return params


def _check_resp(resp: ArrayLike, n_samples: int, n_components: int | str) -> FloatArray:
    """``resp`` as a float64 (n_samples, n_components) array of finite values >= 0."""
    resp = np.asarray(resp, dtype=np.float64)
    expected = (n_samples, n_components)
    if resp.ndim != 2 or resp.shape[0] != n_samples or (
        isinstance(n_components, int) and resp.shape[1] != n_components
    ):
        raise ValueError(
            f"resp has shape {resp.shape}; expected {expected}: one row per row of X "
            "and one column per component."
        )
    if not np.all(np.isfinite(resp)) or resp.min(initial=0.0) < 0:
        raise ValueError("resp must hold finite values >= 0 (memberships of each row).")
    return resp

