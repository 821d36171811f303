"""Validation of gmmkit model files: the format's constants, readers and checks.

:mod:`gmmkit.io` reads and writes the archive; this module decides whether
what it read is a valid model: size limits, metadata (one reader per format
version) and array values.  Every check raises :class:`Problem` with a
sentence saying what is wrong; :mod:`gmmkit.io` adds the file name and the
fix.  docs/model-files.md lists the checks and their messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmmkit.covariance import COVARIANCE_TYPES, CovarianceType, get_covariance_type
from gmmkit.mixture import GaussianMixture, make_rng

FORMAT_NAME = "gmmkit-model"
FORMAT_VERSION = 2
METADATA_MEMBER = "metadata.json"
#: largest metadata.json accepted, in bytes (uncompressed)
METADATA_MAX_BYTES = 4 * 2**20
#: largest .npy header accepted: bytes in front of the array data
NPY_HEADER_MAX = 4096
#: zip bookkeeping allowed on top of the members' data, per member and per archive
ZIP_MEMBER_OVERHEAD = 256
ZIP_ARCHIVE_OVERHEAD = 1024
#: accepted array dtypes: name in metadata.json -> dtype of the .npy header
ARRAY_DTYPES = {"float64": np.dtype("<f8"), "float32": np.dtype("<f4")}
#: allowed |sum(weights) + noise_weight - 1|
WEIGHTS_TOLERANCE = 1e-6
#: allowed max |P' C P - I|, plus 100 eps x the component's condition estimate
CONSISTENCY_TOLERANCE = 1e-6

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
}
#: the arrays each format version may hold (version 2 adds the noise component's box)
V1_ARRAYS = MODEL_ARRAYS + INIT_ARRAYS
V2_ARRAYS = V1_ARRAYS + ("noise_bounds",)
MODEL_CLASSES = {"GaussianMixture": GaussianMixture}
V1_KEYS = (
    "gmmkit_version", "model_class", "covariance_type", "n_components", "n_features", "dtype",
    "params", "dropped_params", "feature_names", "arrays", "training", "extra", "created",
)  # fmt: skip
TRAINING_KEYS = ("converged", "n_iter", "lower_bound", "lower_bounds")

DAMAGED = (
    "The file is damaged or was not written by gmmkit.io.save; restore it from a backup "
    "or save the model again."
)
NOT_A_MODEL = "Pass a model file written by gmmkit.io.save."
UPGRADE = "Upgrade gmmkit (pip install --upgrade gmmkit) to load it."


class Problem(Exception):
    """Why a file is refused; load and save add the file name and, by default, the fix."""

    def __init__(self, problem, fix=None):
        super().__init__(problem)
        self.problem, self.fix = problem, fix


@dataclass
class Layout:
    """What a format reader extracts from metadata.json: all a model is built from."""

    cov_type: CovarianceType
    n_components: int
    n_features: int
    arrays: dict  # name -> (shape tuple, numpy dtype of the .npy data)
    params: dict
    feature_names: list | None
    training: dict  # fitted attribute name -> value (noise_weight_ with a noise component)
    noise: bool = False  # a uniform noise component: noise_bounds in arrays, noise_weight_ set


# ------------------------------------------------------------- size limits


def _compressed_limit(size):
    """Most bytes a member of ``size`` bytes may take compressed (deflate can grow data)."""
    return size + size // 100 + 64


def npy_limit(shape, dtype):
    """Most bytes a .npy member of this shape and dtype may hold (data + header)."""
    return math.prod(shape) * dtype.itemsize + NPY_HEADER_MAX


def check_member_size(info, limit, reason):
    """Refuse a zip member over ``limit`` bytes from its directory entry, unread."""
    if info.file_size > limit or info.compress_size > _compressed_limit(limit):
        raise Problem(
            f"member '{info.filename}' holds {info.file_size} bytes ({info.compress_size} "
            f"compressed) but {reason} at most {limit}; it was refused before decompressing "
            "it (a damaged file or a zip bomb)"
        )


def check_members(infos, layout, size):
    """Members are exactly those declared, each and the whole file within size limits."""
    expected = {METADATA_MEMBER} | {f"{name}.npy" for name in layout.arrays}
    unknown = sorted(set(infos) - expected)
    if unknown:
        raise Problem(
            f"the archive holds an unexpected member '{unknown[0]}'; this model file should "
            f"hold only {sorted(expected)}"
        )
    missing = sorted(expected - set(infos))
    if missing:
        raise Problem(f"the archive lacks the member '{missing[0]}'")
    budget = ZIP_ARCHIVE_OVERHEAD + len(infos) * ZIP_MEMBER_OVERHEAD
    budget += infos[METADATA_MEMBER].compress_size
    for name, (shape, dtype) in layout.arrays.items():
        limit = npy_limit(shape, dtype)
        check_member_size(
            infos[f"{name}.npy"], limit, f"its declared shape {list(shape)} {dtype.name} allows"
        )
        budget += _compressed_limit(limit)
    if size > budget:
        raise Problem(
            f"the file is {size} bytes but its declared arrays allow at most {budget}; "
            "padded or appended data is refused"
        )


# ------------------------------------------------------ metadata validation


def _require(mapping, keys, where):
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise Problem(f"{where} lacks the keys {missing}")


def check_metadata(metadata):
    """Check format name and version, then hand over to that version's reader."""
    if not isinstance(metadata, dict):
        raise Problem("metadata.json is not a JSON object")
    _require(metadata, ("format", "format_version"), "metadata.json")
    if metadata["format"] != FORMAT_NAME:
        raise Problem(
            f"metadata.json names the format {metadata['format']!r}, not '{FORMAT_NAME}'",
            NOT_A_MODEL,
        )
    version = metadata["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise Problem(f"format_version must be an integer; got {version!r}")
    if version > FORMAT_VERSION:
        import gmmkit

        raise Problem(
            f"this file is format version {version}, but this gmmkit ({gmmkit.__version__}) "
            f"reads format versions up to {FORMAT_VERSION}",
            UPGRADE,
        )
    if version not in READERS:
        raise Problem(f"format_version {version} does not exist (known: {sorted(READERS)})")
    return READERS[version](metadata)


def _check_v1(metadata):
    """Format version 1 metadata -> layout (version 1 has no noise component)."""
    layout = _v1_layout(metadata, V1_ARRAYS)
    if layout.noise:
        raise Problem(
            "params noise is 'uniform' but format version 1 has no noise component (version 2 "
            "added it)"
        )
    return layout


def _check_v2(metadata):
    """Format version 2 metadata -> layout: version 1 plus the uniform noise component."""
    layout = _v1_layout(metadata, V2_ARRAYS)
    has_bounds = "noise_bounds" in layout.arrays
    has_weight = "noise_weight" in metadata["training"]
    if layout.noise:
        if not has_bounds:
            raise Problem("params noise is 'uniform' but 'arrays' lacks 'noise_bounds'")
        if not has_weight:
            raise Problem("params noise is 'uniform' but 'training' lacks 'noise_weight'")
        layout.training["noise_weight_"] = _check_noise_weight(metadata["training"]["noise_weight"])
    elif has_bounds or has_weight:
        what = "'arrays' declares 'noise_bounds'" if has_bounds else "'training' has 'noise_weight'"
        raise Problem(
            f"{what} but params noise is not 'uniform' (the model has no noise component)"
        )
    return layout


def _check_noise_weight(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise Problem(f"training noise_weight must be a number in [0, 1); got {value!r}")
    return float(value)


def _v1_layout(metadata, array_names):
    """The layout of version 1 metadata, whose "arrays" may name ``array_names``."""
    _require(metadata, V1_KEYS, "metadata.json")
    model_class = metadata["model_class"]
    if not isinstance(model_class, str) or model_class not in MODEL_CLASSES:
        raise Problem(
            f"model_class {model_class!r} is not supported; this gmmkit loads "
            f"{sorted(MODEL_CLASSES)}",
            UPGRADE,
        )
    try:
        cov_type = get_covariance_type(metadata["covariance_type"])
    except ValueError:
        raise Problem(
            f"covariance_type {metadata['covariance_type']!r} is not one of "
            f"{sorted(COVARIANCE_TYPES)}"
        ) from None
    k, d = _positive_int(metadata, "n_components"), _positive_int(metadata, "n_features")
    for key in ("gmmkit_version", "created"):
        if not isinstance(metadata[key], str):
            raise Problem(f"{key} must be a string; got {metadata[key]!r}")
    if not isinstance(metadata["extra"], dict) or not isinstance(metadata["dropped_params"], list):
        raise Problem("extra must be a JSON object and dropped_params a list")
    arrays = _declared_arrays(metadata["arrays"], cov_type, k, d, array_names)
    params = _check_params(metadata, cov_type, k, d)
    return Layout(
        cov_type=cov_type,
        n_components=k,
        n_features=d,
        arrays=arrays,
        params=params,
        feature_names=_check_feature_names(metadata["feature_names"], d),
        training=_check_training(metadata["training"]),
        noise=GaussianMixture(**params).noise == "uniform",
    )


#: format version -> reader turning that version's metadata into a layout
READERS = {1: _check_v1, 2: _check_v2}


def _positive_int(metadata, key):
    value = metadata[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Problem(f"{key} must be a positive integer; got {value!r}")
    return value


def _declared_arrays(declared, cov_type, k, d, array_names):
    """{name: (shape, dtype)} from metadata "arrays", shapes checked against the model."""
    if not isinstance(declared, dict):
        raise Problem("'arrays' in metadata.json is not a JSON object")
    unknown = sorted(set(declared) - set(array_names))
    if unknown:
        raise Problem(f"'arrays' declares unknown arrays {unknown}")
    missing = [name for name in MODEL_ARRAYS if name not in declared]
    if missing:
        raise Problem(f"'arrays' lacks {missing}")
    spec = {}
    for name, entry in declared.items():
        entry = entry if isinstance(entry, dict) else {}
        expected = tuple(ARRAY_SHAPES[name](cov_type, k, d))
        shape = entry.get("shape")
        if (
            not isinstance(shape, list)
            or [type(n) for n in shape] != [int] * len(shape)
            or (tuple(shape) != expected)
        ):
            raise Problem(
                f"array '{name}' is declared with shape {shape} but a {cov_type.name} model "
                f"with {k} components and {d} features needs {list(expected)}"
            )
        dtype_name = entry.get("dtype")
        if not isinstance(dtype_name, str) or dtype_name not in ARRAY_DTYPES:
            raise Problem(
                f"array '{name}' is declared with dtype {dtype_name!r}; only 'float64' and "
                "'float32' are accepted"
            )
        spec[name] = (expected, ARRAY_DTYPES[dtype_name])
    return spec


def _check_params(metadata, cov_type, k, d):
    """Constructor params from metadata, checked as fit would check them."""
    params = metadata["params"]
    if not isinstance(params, dict):
        raise Problem("'params' in metadata.json is not a JSON object")
    allowed = set(GaussianMixture._get_param_names()) - set(INIT_ARRAYS)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Problem(f"params has names this gmmkit does not know: {unknown}", UPGRADE)
    model = GaussianMixture(**params)
    for key, top_level in (("n_components", k), ("covariance_type", cov_type.name)):
        if getattr(model, key) != top_level and getattr(model, key) != "auto":
            raise Problem(
                f"params {key} is {getattr(model, key)!r} but the top-level {key} is {top_level!r}"
            )
    if model.dtype != metadata["dtype"]:
        raise Problem(
            f"params dtype is {model.dtype!r} but the top-level dtype is {metadata['dtype']!r}"
        )
    try:
        model._check_parameters(np.zeros((1, d)))
        make_rng(model.random_state)
    except (TypeError, ValueError) as exc:
        raise Problem(f"params are not valid ({str(exc).rstrip('.')})") from None
    return params


def _check_feature_names(names, n_features):
    if names is None:
        return None
    if not isinstance(names, list) or len(names) != n_features:
        raise Problem(f"feature_names must be null or a list of {n_features} strings")
    if not all(isinstance(name, str) for name in names):
        raise Problem("feature_names must hold strings only")
    return names


def _json_bound(value):
    """A lower bound from JSON: a number, or null for -inf."""
    if value is None:
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Problem(f"training lower bounds must be numbers or null; got {value!r}")
    return float(value)


def _check_training(training):
    if not isinstance(training, dict):
        raise Problem("'training' in metadata.json is not a JSON object")
    _require(training, TRAINING_KEYS, "'training'")
    converged, n_iter, bounds = training["converged"], training["n_iter"], training["lower_bounds"]
    if not isinstance(converged, bool):
        raise Problem(f"training converged must be true or false; got {converged!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 0:
        raise Problem(f"training n_iter must be a non-negative integer; got {n_iter!r}")
    if not isinstance(bounds, list):
        raise Problem("training lower_bounds must be a list")
    return {
        "converged_": converged,
        "n_iter_": n_iter,
        "lower_bound_": _json_bound(training["lower_bound"]),
        "lower_bounds_": [_json_bound(bound) for bound in bounds],
    }


# --------------------------------------------------------- value validation


def check_values(layout, arrays):
    """Finite arrays, weights on the simplex, valid and matching covariance factors."""
    for name, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise Problem(f"array '{name}' contains NaN or infinity")
    _check_weights(arrays["weights"], layout.training.get("noise_weight_"))
    if "noise_bounds" in arrays:
        _check_noise_bounds(arrays["noise_bounds"])
    # arrays stored in float32 agree only to float32 rounding
    eps = max(
        np.finfo(layout.arrays[name][1]).eps for name in ("covariances", "precisions_cholesky")
    )
    cov, chol = arrays["covariances"], arrays["precisions_cholesky"]
    with np.errstate(all="ignore"):
        COVARIANCE_CHECKS[layout.cov_type.name](cov, chol, eps)


def _check_weights(weights, noise_weight):
    """Non-negative weights summing to 1, or to 1 - noise_weight with a noise component."""
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        k = int(negative[0])
        raise Problem(f"weights has a negative value ({float(weights[k])!r} for component {k})")
    total = math.fsum(weights.tolist())
    if noise_weight is None:
        if not abs(total - 1.0) <= WEIGHTS_TOLERANCE:
            raise Problem(f"weights sum to {total!r}, not 1 (tolerance {WEIGHTS_TOLERANCE:g})")
        return
    together = math.fsum([*weights.tolist(), noise_weight])
    if not abs(together - 1.0) <= WEIGHTS_TOLERANCE:
        raise Problem(
            f"weights sum to {total!r} and noise_weight is {noise_weight!r}: together "
            f"{together!r}, not 1 (tolerance {WEIGHTS_TOLERANCE:g})"
        )


def _check_noise_bounds(bounds):
    """Each feature's (min, max), max > min: the noise box has a volume."""
    flat = np.flatnonzero(~(bounds[:, 1] > bounds[:, 0]))
    if flat.size:
        j = int(flat[0])
        low, high = float(bounds[j, 0]), float(bounds[j, 1])
        raise Problem(
            f"noise_bounds of feature {j} has max <= min ({high!r} <= {low!r}), so the noise "
            "component has no volume"
        )


def _check_agreement(residual, condition, eps, label):
    worst = float(np.max(np.abs(residual)))
    tolerance = CONSISTENCY_TOLERANCE + 100.0 * eps * condition
    if not worst <= tolerance:
        raise Problem(
            f"covariances and precisions_cholesky disagree for {label} "
            f"(max |P'CP - I| = {worst:.3g}, tolerance {tolerance:.3g})"
        )


def _check_matrices(cov, chol, eps, label=lambda m: f"component {m}"):
    """Full matrices (M, D, D): Cholesky of each covariance; chol upper with positive diagonal."""
    identity = np.eye(cov.shape[-1])
    for m, (c, p) in enumerate(zip(cov, chol)):
        variances = np.diagonal(c)
        if np.any(variances <= 0):
            raise Problem(f"{label(m)} has a variance <= 0 ({float(variances.min())!r})")
        try:
            np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            raise Problem(f"the covariance of {label(m)} is not positive definite") from None
        if np.any(np.tril(p, -1) != 0) or np.any(np.diagonal(p) <= 0):
            raise Problem(
                f"precisions_cholesky of {label(m)} is not upper triangular with a "
                "positive diagonal"
            )
        condition = np.linalg.norm(c) * np.linalg.norm(p) ** 2
        _check_agreement(p.T @ c @ p - identity, condition, eps, label(m))


def _check_variances(cov, chol, eps):
    """diag (K, D) or spherical (K,): positive variances, chol = 1 / sqrt(variance)."""
    for name, values in (("a variance", cov), ("a precision Cholesky value", chol)):
        bad = np.argwhere(values <= 0)
        if bad.size:
            first = tuple(bad[0])
            raise Problem(f"component {first[0]} has {name} <= 0 ({float(values[first])!r})")
    residual = chol**2 * cov - 1.0
    worst = int(np.unravel_index(np.argmax(np.abs(residual)), residual.shape)[0])
    _check_agreement(residual, 1.0, eps, f"component {worst}")


COVARIANCE_CHECKS = {
    "full": _check_matrices,
    "tied": lambda cov, chol, eps: _check_matrices(
        cov[None], chol[None], eps, lambda m: "the tied covariance"
    ),
    "diag": _check_variances,
    "spherical": _check_variances,
}
