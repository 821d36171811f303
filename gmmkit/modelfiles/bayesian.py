"""BayesianGaussianMixture model files (format version 3).

Like a GaussianMixture file, plus the variational posterior's arrays
(``weight_concentration``, ``mean_precision``, ``degrees_of_freedom``) and
the resolved priors: ``mean_prior`` and (except for "spherical")
``covariance_prior`` as arrays, the scalar priors under "priors".
docs/model-files.md specifies the keys.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.rng import make_rng
from gmmkit.engine.variational import COVARIANCE_PRIORS, WEIGHT_PRIORS, Posterior, mixture_params
from gmmkit.estimators.bayesian import (
    POSTERIOR_ATTRIBUTES,
    PRIOR_ATTRIBUTES,
    BayesianGaussianMixture,
)
from gmmkit.estimators.priors import check_priors
from gmmkit.modelfiles.checks import (
    Problem,
    check_feature_names,
    check_finite,
    check_mixture_values,
    check_positive,
    check_precisions,
    declared_arrays,
    json_number,
    known_params,
    positive_int,
    require,
)
from gmmkit.modelfiles.mixture import (
    MIXTURE_KEYS,
    Layout,
    MixtureLayout,
    check_header,
    check_training,
    covariance_type_of,
    declare,
    encode_training,
    feature_names_of,
    json_params,
    stored_arrays,
    unless_rebuilt,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gmmkit.engine.types import AnyArray, FloatArray

POSTERIOR_ARRAYS = ("weight_concentration", "mean_precision", "degrees_of_freedom")
PRIOR_KEYS = ("weight_concentration_prior", "mean_precision_prior", "degrees_of_freedom_prior")
DIRICHLET_PROCESS = "dirichlet_process"


def _prior_type(params: Mapping[str, Any]) -> str:
    name = params.get("weight_concentration_prior_type", DIRICHLET_PROCESS)
    if not isinstance(name, str) or name not in WEIGHT_PRIORS:
        raise Problem(
            f"params weight_concentration_prior_type is {name!r}, not one of "
            f"{sorted(WEIGHT_PRIORS)}"
        )
    return name


class BayesianFormat:
    """Reads and writes BayesianGaussianMixture files."""

    name = "BayesianGaussianMixture"
    cls = BayesianGaussianMixture

    # ------------------------------------------------------------- save

    def encode(self, model: BayesianGaussianMixture) -> tuple[dict[str, Any], dict[str, AnyArray]]:
        rebuilt = BayesianGaussianMixture.from_posterior(  # what load builds from the arrays
            {name: getattr(model, name) for name in POSTERIOR_ATTRIBUTES},
            {name: getattr(model, name) for name in PRIOR_ATTRIBUTES},
            covariance_type=model.covariance_type,
            weight_concentration_prior_type=model.weight_concentration_prior_type,
        )
        concentration = model.weight_concentration_
        if isinstance(concentration, tuple):  # the stick-breaking Beta parameters (a, b)
            concentration = np.stack(concentration)
        values = {
            "weights": model.weights_,
            "means": model.means_,
            "covariances": model.covariances_,
            "precisions_cholesky": model.precisions_cholesky_,
            "weight_concentration": concentration,
            "mean_precision": model.mean_precision_,
            "degrees_of_freedom": model.degrees_of_freedom_,
            "mean_prior": model.mean_prior_,
            "precisions": unless_rebuilt(model.precisions_, rebuilt.precisions_),
        }
        priors = {name: getattr(model, f"{name}_") for name in PRIOR_KEYS}
        if np.ndim(model.covariance_prior_) == 0:  # spherical: a number
            priors["covariance_prior"] = model.covariance_prior_
        else:
            values["covariance_prior"] = model.covariance_prior_
        arrays = stored_arrays(values)
        params, dropped = json_params(model, BayesianGaussianMixture)
        metadata = {
            "covariance_type": model.covariance_type,
            "n_components": int(arrays["means"].shape[0]),
            "n_features": int(model.n_features_in_),
            "dtype": params.get("dtype"),
            "params": params,
            "dropped_params": dropped,
            "feature_names": feature_names_of(model),
            "arrays": declare(arrays),
            "priors": {name: _number(value) for name, value in priors.items()},
            "training": encode_training(model, noise=False),
        }
        return metadata, arrays

    # ------------------------------------------------------------- load

    def parse(self, metadata: Mapping[str, Any], version: int) -> Layout:
        check_header(metadata)
        require(metadata, (*MIXTURE_KEYS, "priors"), "metadata.json")
        cov_type = covariance_type_of(metadata)
        k, d = positive_int(metadata, "n_components"), positive_int(metadata, "n_features")
        params = known_params(metadata["params"], BayesianGaussianMixture)
        if not isinstance(metadata["dropped_params"], list):
            raise Problem("dropped_params must be a list")
        prior_type = _prior_type(params)
        expected = {
            "weights": (k,),
            "means": (k, d),
            "covariances": cov_type.shape(k, d),
            "precisions_cholesky": cov_type.shape(k, d),
            "weight_concentration": (2, k) if prior_type == DIRICHLET_PROCESS else (k,),
            "mean_precision": (k,),
            "degrees_of_freedom": () if cov_type.name == "tied" else (k,),
            "mean_prior": (d,),
        }
        prior_shape = COVARIANCE_PRIORS[cov_type.name].shape(d)
        if prior_shape:
            expected["covariance_prior"] = prior_shape
        what = f"a {cov_type.name} model with {k} components and {d} features"
        required = list(expected)
        expected["precisions"] = cov_type.shape(k, d)  # only when not recomputed bit for bit
        arrays = declared_arrays(metadata["arrays"], expected, required, what)
        priors = metadata["priors"]
        keys = PRIOR_KEYS if prior_shape else (*PRIOR_KEYS, "covariance_prior")
        require(priors, keys, "'priors'")
        part = MixtureLayout(
            cov_type=cov_type,
            n_components=k,
            n_features=d,
            arrays=arrays,
            params=params,
            dtype=metadata["dtype"],
            feature_names=check_feature_names(metadata["feature_names"], d),
            training=check_training(metadata["training"]),
        )
        info = {
            "priors": {key: json_number(priors[key], f"priors {key}") for key in keys},
            "prior_type": prior_type,
        }
        return Layout(self.name, arrays, [part], info, d, part.feature_names)

    def check_params(self, layout: Layout) -> None:
        part = layout.mixtures[0]
        model = BayesianGaussianMixture(**part.params)
        for key, top_level in (
            ("n_components", part.n_components),
            ("covariance_type", part.cov_type.name),
            ("dtype", part.dtype),
        ):
            if getattr(model, key) != top_level:
                raise Problem(
                    f"params {key} is {getattr(model, key)!r} but the top-level {key} is "
                    f"{top_level!r}"
                )
        try:
            model.check_params()
            check_priors(model, part.n_features)
            make_rng(model.random_state)
        except (TypeError, ValueError) as exc:
            raise Problem(f"params are not valid ({str(exc).rstrip('.')})") from None
        _check_scalar_priors(layout.info["priors"], part.n_features)

    def check_values(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> None:
        part = layout.mixtures[0]
        check_finite(arrays)
        check_mixture_values(part.cov_type, arrays)
        concentration = arrays["weight_concentration"]
        check_positive(concentration, "weight_concentration")
        check_positive(arrays["mean_precision"], "mean_precision")
        check_positive(arrays["degrees_of_freedom"], "degrees_of_freedom", part.n_features - 1)
        _check_prior_arrays(arrays)
        if "precisions" in arrays:
            check_precisions(part.cov_type, arrays["precisions_cholesky"], arrays["precisions"])
        weight_prior = WEIGHT_PRIORS[layout.info["prior_type"]]
        with np.errstate(all="ignore"):
            log_weights = mixture_params(_posterior(arrays), weight_prior).log_weights
        if not np.all(np.isfinite(log_weights)):  # type: ignore[arg-type]  # (set)
            raise Problem(
                "the variational posterior gives non-finite expected log weights (its "
                "concentrations, mean precisions or degrees of freedom are out of range)"
            )

    def build(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> BayesianGaussianMixture:
        part = layout.mixtures[0]
        priors = layout.info["priors"]
        posterior = _posterior(arrays)
        return BayesianGaussianMixture.from_posterior(
            dict(zip(POSTERIOR_ATTRIBUTES, (
                posterior.weight_concentration, posterior.mean_precision, posterior.means,
                posterior.degrees_of_freedom, posterior.covariances,
                posterior.precisions_cholesky,
            ))),
            {
                "weight_concentration_prior_": priors["weight_concentration_prior"],
                "mean_precision_prior_": priors["mean_precision_prior"],
                "mean_prior_": arrays["mean_prior"],
                "degrees_of_freedom_prior_": priors["degrees_of_freedom_prior"],
                "covariance_prior_": arrays.get("covariance_prior",
                                                priors.get("covariance_prior")),
            },
            weights=arrays["weights"],  # the saved bits, not recomputed
            precisions=arrays.get("precisions"),
            feature_names=part.feature_names,
            training=part.training,
            **part.params,
        )


def _number(value: Any) -> int | float:
    """A scalar prior as JSON: a Python int or float (NumPy scalars become Python's)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Problem(f"a prior is not a number ({value!r})")
    return value


def _concentration(array: FloatArray) -> FloatArray | tuple[FloatArray, FloatArray]:
    """weight_concentration_ as fit sets it: (K,), or the pair (a, b) for a Dirichlet process."""
    return (array[0].copy(), array[1].copy()) if array.ndim == 2 else array


def _posterior(arrays: Mapping[str, FloatArray]) -> Posterior:
    dof = arrays["degrees_of_freedom"]
    return Posterior(
        _concentration(arrays["weight_concentration"]),
        arrays["mean_precision"],
        arrays["means"],
        dof[()] if dof.ndim == 0 else dof,  # tied: a NumPy scalar, as fit sets it
        arrays["covariances"],
        arrays["precisions_cholesky"],
    )


def _check_scalar_priors(priors: Mapping[str, Any], n_features: int) -> None:
    for key in ("weight_concentration_prior", "mean_precision_prior", "covariance_prior"):
        if key in priors and not (priors[key] > 0 and math.isfinite(priors[key])):
            raise Problem(f"priors {key} must be a positive finite number; got {priors[key]!r}")
    dof = priors["degrees_of_freedom_prior"]
    if not (dof > n_features - 1 and math.isfinite(dof)):
        raise Problem(
            f"priors degrees_of_freedom_prior must be a finite number > n_features - 1 = "
            f"{n_features - 1}; got {dof!r}"
        )


def _check_prior_arrays(arrays: Mapping[str, FloatArray]) -> None:
    prior = arrays.get("covariance_prior")
    if prior is None:
        return
    if prior.ndim == 1:
        check_positive(prior, "covariance_prior")
        return
    symmetric = np.allclose(prior, prior.T)
    try:
        np.linalg.cholesky(prior)
    except np.linalg.LinAlgError:
        symmetric = False
    if not symmetric:
        raise Problem("array 'covariance_prior' is not symmetric positive definite")
