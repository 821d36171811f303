"""One Gaussian mixture in a model file: its metadata, arrays, checks and the fitted model.

A GaussianMixture file describes one mixture at the top level of
metadata.json; a GMMClassifier file one per class and a
GaussianMixtureRegressor file one (the joint mixture) under "mixtures",
their arrays in members ``mixtures/<i>/<name>.npy``.  This module encodes
such a mixture (save), reads its description (load, in two phases: the
structure and shapes first, the parameters once the file's size has bounded
the shapes), checks its values and builds the fitted
:class:`~gmmkit.estimators.mixture.GaussianMixture`.  It also holds the encoding
helpers every model class uses.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import COVARIANCE_TYPES, CovarianceType, get_covariance_type
from gmmkit.engine.rng import make_rng
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.modelfiles.checks import (
    ARRAY_DTYPES,
    Problem,
    check_bool,
    check_count,
    check_feature_names,
    check_finite,
    check_mixture_values,
    check_precisions,
    check_strings,
    declared_arrays,
    json_bound,
    known_params,
    positive_int,
    require,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Protocol

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import AnyArray
    from gmmkit.estimators.base import EstimatorBase
    from gmmkit.estimators.bayesian import BayesianGaussianMixture

    #: a declared array member: (shape, dtype of its .npy data)
    ArraySpec = tuple[tuple[int, ...], np.dtype[Any]]

    class ModelFormat(Protocol):
        """How one model class is written and read (gmmkit.modelfiles.formats.FORMATS)."""

        @property
        def name(self) -> str: ...

        @property
        def cls(self) -> type[EstimatorBase]: ...

        def encode(self, model: Any) -> tuple[dict[str, Any], dict[str, AnyArray]]: ...

        def parse(self, metadata: Mapping[str, Any], version: int) -> Layout: ...

        def check_params(self, layout: Layout) -> None: ...

        def check_values(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> None: ...

        def build(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> Any: ...


MODEL_ARRAYS = ("weights", "means", "covariances", "precisions_cholesky")
INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")
#: expected shape of every array from (covariance type, n_components, n_features)
ARRAY_SHAPES = {
    "weights": lambda cov_type, k, d: (k,),
    "means": lambda cov_type, k, d: (k, d),
    "covariances": lambda cov_type, k, d: cov_type.shape(k, d),
    "precisions_cholesky": lambda cov_type, k, d: cov_type.shape(k, d),
    "weights_init": lambda cov_type, k, d: (k,),
    "means_init": lambda cov_type, k, d: (k, d),
    "precisions_init": lambda cov_type, k, d: cov_type.shape(k, d),
    "noise_bounds": lambda cov_type, k, d: (d, 2),
    "precisions": lambda cov_type, k, d: cov_type.shape(k, d),
}
#: the arrays a mixture may hold in each format version (2 adds the noise component's box,
#: 3 the precisions when recomputing them from their Cholesky factors would change their bits)
VERSION_ARRAYS: dict[int, tuple[str, ...]] = {1: MODEL_ARRAYS + INIT_ARRAYS}
VERSION_ARRAYS[2] = VERSION_ARRAYS[1] + ("noise_bounds",)
VERSION_ARRAYS[3] = VERSION_ARRAYS[2] + ("precisions",)
#: keys every file has at its top level
HEADER_KEYS = ("gmmkit_version", "model_class", "extra", "created")
#: keys describing one mixture (at the top level of a GaussianMixture file)
MIXTURE_KEYS = (
    "covariance_type", "n_components", "n_features", "dtype", "params", "dropped_params",
    "feature_names", "arrays", "training",
)  # fmt: skip
TRAINING_KEYS = ("converged", "n_iter", "lower_bound", "lower_bounds")


@dataclass
class MixtureLayout:
    """One mixture as metadata.json describes it, checked: all it is built from."""

    cov_type: CovarianceType
    n_components: int
    n_features: int
    arrays: dict[str, ArraySpec]  # name (without prefix) -> (shape, dtype of the .npy data)
    params: dict[str, Any]
    dtype: object  # the top-level "dtype"
    feature_names: list[str] | None
    # fitted attribute name -> value (noise_weight_ with a noise component)
    training: dict[str, Any]
    noise: bool = False  # a uniform noise component: noise_bounds in arrays, noise_weight_ set
    prefix: str = ""  # its members are prefix + name + ".npy"
    label: str = ""  # how messages name it: "" for the file's own model

    def members(self) -> dict[str, ArraySpec]:
        """{member name without .npy: (shape, dtype)}."""
        return {self.prefix + name: spec for name, spec in self.arrays.items()}

    def own(self, arrays: Mapping[str, AnyArray]) -> dict[str, AnyArray]:
        """This mixture's arrays, by their names without prefix."""
        return {name: arrays[self.prefix + name] for name in self.arrays}


@dataclass
class Layout:
    """What a format reader extracts from metadata.json: all a model is built from."""

    model_class: str
    arrays: dict[str, ArraySpec]  # every array member: name without .npy -> (shape, dtype)
    # the MixtureLayout of each mixture in the file
    mixtures: list[MixtureLayout] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # what else the model class needs
    n_features: int = 0
    feature_names: list[str] | None = None


# ----------------------------------------------------------------- encoding


def as_stored(value: ArrayLike) -> AnyArray:
    """An array as written: float32 or float64, little-endian, in its own memory order.

    A Fortran-ordered array stays Fortran-ordered (the .npy header records
    it): BLAS may round differently on another layout, and load must give
    predictions identical to the last bit.
    """
    array = np.asarray(value)
    dtype = array.dtype if array.dtype.name in ARRAY_DTYPES else np.dtype(np.float64)
    return array.astype(dtype.newbyteorder("<"), order="K", copy=False)


def stored_arrays(values: Mapping[str, ArrayLike | None], prefix: str = "") -> dict[str, AnyArray]:
    """{prefix + name: stored array} of the values that are not None."""
    stored = {}
    for name, value in values.items():
        if value is None:
            continue
        try:
            stored[prefix + name] = as_stored(value)
        except (TypeError, ValueError) as exc:
            raise Problem(f"{name} is not a numeric array ({exc})") from None
    return stored


def declare(arrays: Mapping[str, AnyArray], prefix: str = "") -> dict[str, dict[str, Any]]:
    """The "arrays" object: {name without prefix: {"shape", "dtype"}}."""
    return {
        name[len(prefix) :]: {"shape": list(array.shape), "dtype": array.dtype.name}
        for name, array in arrays.items()
        if name.startswith(prefix) and "/" not in name[len(prefix) :]
    }


def plain(value: Any) -> Any:
    """A parameter value as JSON would hold it: dtypes by name, NumPy values as Python."""
    if isinstance(value, type) and issubclass(value, np.generic) or isinstance(value, np.dtype):
        return np.dtype(value).name
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def json_params(
    model: EstimatorBase,
    cls: type[EstimatorBase],
    skip: Iterable[str] = (),
    encoders: Mapping[str, Callable[[Any], Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(JSON-able constructor params of ``cls``, names dropped because they are not JSON-able).

    ``encoders`` maps a parameter name to a function giving its JSON form
    (raising TypeError or ValueError when it has none).
    """
    params, dropped = {}, []
    for name in cls._get_param_names():
        if name in skip:
            continue
        try:
            value = plain((encoders or {}).get(name, lambda v: v)(getattr(model, name)))
            same = json.loads(json.dumps(value, allow_nan=False)) == value
        except (TypeError, ValueError, RecursionError):
            same = False
        if same:
            params[name] = value
        else:
            dropped.append(name)
    return params, dropped


def bound_to_json(value: float) -> float | None:
    """A lower bound as JSON: -inf (no EM iteration ran) is stored as null."""
    value = float(value)
    return None if value == -math.inf else value


def _json_safe(value: Any) -> Any:
    """A selection table as JSON: NumPy values as Python, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode_training(
    model: GaussianMixture | BayesianGaussianMixture, noise: bool
) -> dict[str, Any]:
    """The "training" object of a fitted GaussianMixture."""
    training = {
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "lower_bound": bound_to_json(model.lower_bound_),
        "lower_bounds": [bound_to_json(bound) for bound in model.lower_bounds_],
    }
    if noise:
        training["noise_weight"] = float(model.noise_weight_)
    if hasattr(model, "n_steps_"):  # fitted by partial_fit
        training["n_steps"] = int(model.n_steps_)
    if getattr(model, "selection_", None) is not None:  # n_components="auto"
        training["selection"] = _json_safe(model.selection_)
    return training


def feature_names_of(model: EstimatorBase) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def unless_rebuilt(value: ArrayLike, rebuilt: ArrayLike) -> AnyArray | None:
    """``value`` if ``rebuilt`` differs from it in dtype, shape or any bit, else None."""
    value, rebuilt = np.asarray(value), np.asarray(rebuilt)
    same = value.dtype == rebuilt.dtype and value.shape == rebuilt.shape
    return None if same and value.tobytes() == rebuilt.tobytes() else value


def encode_mixture(
    model: GaussianMixture, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, AnyArray]]:
    """(metadata of one fitted GaussianMixture, its arrays by member name without .npy).

    ``precisions_`` is stored only when load, which recomputes it from
    ``precisions_cholesky_`` as fit does, would not get its bits back: fit
    derives float32 precisions from float64 factors before rounding them.
    """
    rebuilt = GaussianMixture.from_parameters(
        model.weights_, model.means_, model.covariances_,
        precisions_cholesky=model.precisions_cholesky_, covariance_type=model.covariance_type,
    )  # what load builds from the stored arrays
    values = {
        "weights": model.weights_,
        "means": model.means_,
        "covariances": model.covariances_,
        "precisions_cholesky": model.precisions_cholesky_,
        **{name: getattr(model, name) for name in INIT_ARRAYS},
        "noise_bounds": getattr(model, "noise_bounds_", None),
        "precisions": unless_rebuilt(model.precisions_, rebuilt.precisions_),
    }
    arrays = stored_arrays(values, prefix)
    params, dropped = json_params(model, GaussianMixture, skip=INIT_ARRAYS)
    metadata = {
        "covariance_type": model.covariance_type,
        "n_components": int(arrays[prefix + "means"].shape[0]),
        "n_features": int(model.n_features_in_),
        "dtype": params.get("dtype"),
        "params": params,
        "dropped_params": dropped,
        "feature_names": feature_names_of(model),
        "arrays": declare(arrays, prefix),
        "training": encode_training(model, prefix + "noise_bounds" in arrays),
    }
    return metadata, arrays


# ------------------------------------------------------------------ reading


def check_header(metadata: Mapping[str, Any]) -> None:
    """The keys every file has: versions and time as strings, extra an object."""
    require(metadata, HEADER_KEYS, "metadata.json")
    check_strings(metadata, ("gmmkit_version", "created"))
    if not isinstance(metadata["extra"], dict):
        raise Problem("extra must be a JSON object")


def covariance_type_of(metadata: Mapping[str, Any]) -> CovarianceType:
    try:
        return get_covariance_type(metadata["covariance_type"])
    except (ValueError, TypeError):
        raise Problem(
            f"covariance_type {metadata['covariance_type']!r} is not one of "
            f"{list(COVARIANCE_TYPES)}"
        ) from None


def parse_mixture(
    metadata: Mapping[str, Any],
    version: int,
    *,
    prefix: str = "",
    label: str = "",
    where: str = "metadata.json",
) -> MixtureLayout:
    """The structure and shapes of one mixture's metadata (phase 1 of reading).

    Nothing here allocates memory in proportion to the declared sizes: the
    caller checks those against the file's size before
    :func:`check_mixture_params` builds anything from them.
    """
    try:
        require(metadata, MIXTURE_KEYS, where)
        cov_type = covariance_type_of(metadata)
        k, d = positive_int(metadata, "n_components"), positive_int(metadata, "n_features")
        if not isinstance(metadata["dropped_params"], list):
            raise Problem("dropped_params must be a list")
        names = VERSION_ARRAYS[version]
        expected = {name: ARRAY_SHAPES[name](cov_type, k, d) for name in names}
        what = f"a {cov_type.name} model with {k} components and {d} features"
        arrays = declared_arrays(metadata["arrays"], expected, MODEL_ARRAYS, what)
        params = known_params(metadata["params"], GaussianMixture, INIT_ARRAYS)
        layout = MixtureLayout(
            cov_type=cov_type,
            n_components=k,
            n_features=d,
            arrays=arrays,
            params=params,
            dtype=metadata["dtype"],
            feature_names=check_feature_names(metadata["feature_names"], d),
            training=check_training(metadata["training"]),
            noise=params.get("noise") == "uniform",
            prefix=prefix,
            label=label,
        )
        _check_noise(layout, metadata["training"], version)
    except Problem as problem:
        raise problem.within(label) from None
    return layout


def _check_noise(layout: MixtureLayout, training: Mapping[str, Any], version: int) -> None:
    """The noise component's box and weight are there exactly with params noise='uniform'."""
    if version == 1:
        if layout.noise:
            raise Problem(
                "params noise is 'uniform' but format version 1 has no noise component "
                "(version 2 added it)"
            )
        return
    has_bounds = "noise_bounds" in layout.arrays
    has_weight = "noise_weight" in training
    if layout.noise:
        if not has_bounds:
            raise Problem("params noise is 'uniform' but 'arrays' lacks 'noise_bounds'")
        if not has_weight:
            raise Problem("params noise is 'uniform' but 'training' lacks 'noise_weight'")
        value = training["noise_weight"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise Problem(f"training noise_weight must be a number in [0, 1); got {value!r}")
        layout.training["noise_weight_"] = float(value)
    elif has_bounds or has_weight:
        what = "'arrays' declares 'noise_bounds'" if has_bounds else "'training' has 'noise_weight'"
        raise Problem(
            f"{what} but params noise is not 'uniform' (the model has no noise component)"
        )


def check_training(training: Mapping[str, Any]) -> dict[str, Any]:
    """Fitted attributes from a mixture's "training" object."""
    require(training, TRAINING_KEYS, "'training'")
    bounds = training["lower_bounds"]
    if not isinstance(bounds, list):
        raise Problem("training lower_bounds must be a list")
    attributes = {
        "converged_": check_bool(training["converged"], "training converged"),
        "n_iter_": check_count(training["n_iter"], "training n_iter"),
        "lower_bound_": json_bound(training["lower_bound"]),
        "lower_bounds_": [json_bound(bound) for bound in bounds],
    }
    if "n_steps" in training:
        attributes["n_steps_"] = check_count(training["n_steps"], "training n_steps")
    if "selection" in training:
        selection = training["selection"]
        if not isinstance(selection, list) or not all(isinstance(r, dict) for r in selection):
            raise Problem("training selection must be a list of JSON objects")
        attributes["selection_"] = selection
    return attributes


def check_mixture_params(layout: MixtureLayout) -> None:
    """Constructor params checked as fit would check them (phase 2 of reading)."""
    params = layout.params
    try:
        model = GaussianMixture(**params)
        top = (("n_components", layout.n_components), ("covariance_type", layout.cov_type.name))
        for key, top_level in top:
            value = getattr(model, key)
            if isinstance(value, str) and COVARIANCE_TYPES.get(value) is layout.cov_type:
                continue  # an mclust name of the same table entry (VVV is full)
            if value != top_level and value != "auto":
                raise Problem(
                    f"params {key} is {getattr(model, key)!r} but the top-level {key} is "
                    f"{top_level!r}"
                )
        if model.dtype != layout.dtype:
            raise Problem(
                f"params dtype is {model.dtype!r} but the top-level dtype is {layout.dtype!r}"
            )
        try:
            model.check_params()
            make_rng(model.random_state)
        except (TypeError, ValueError) as exc:
            raise Problem(f"params are not valid ({str(exc).rstrip('.')})") from None
    except Problem as problem:
        raise problem.within(layout.label) from None


def check_mixture_arrays(layout: MixtureLayout, arrays: Mapping[str, AnyArray]) -> None:
    """Finite arrays, weights on the simplex, valid and matching covariance factors."""
    own = layout.own(arrays)
    try:
        check_finite(own)
        check_mixture_values(layout.cov_type, own, layout.training.get("noise_weight_"))
        if "precisions" in own:
            check_precisions(layout.cov_type, own["precisions_cholesky"], own["precisions"])
    except Problem as problem:
        raise problem.within(layout.label) from None


def build_mixture(layout: MixtureLayout, arrays: Mapping[str, AnyArray]) -> GaussianMixture:
    """The fitted GaussianMixture of ``layout`` from its checked arrays.

    The arrays have passed :func:`check_mixture_arrays`, which checks a
    constrained model's structure with the file's message: ``from_parameters``
    does not check it again.
    """
    own = layout.own(arrays)
    inits: dict[str, Any] = {name: own[name] for name in INIT_ARRAYS if name in own}
    training = dict(layout.training)
    noise_weight = training.pop("noise_weight_", None)  # with a noise component
    return GaussianMixture.from_parameters(
        own["weights"], own["means"], own["covariances"],
        precisions_cholesky=own["precisions_cholesky"],
        precisions=own.get("precisions"),  # the saved bits, where recomputing would differ
        noise_bounds=own["noise_bounds"] if layout.noise else None,
        noise_weight=noise_weight,
        feature_names=layout.feature_names,
        training=training,
        check_structure=False,  # checked with the file's message (check_mixture_values)
        **layout.params, **inits,
    )
