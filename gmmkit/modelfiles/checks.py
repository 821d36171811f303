"""Validation of gmmkit model files: the format's constants, size limits and value checks.

:mod:`gmmkit.modelfiles.files` reads and writes the archive, :mod:`gmmkit.modelfiles.read` reads
its members within bounds and :mod:`gmmkit.modelfiles.formats` turns metadata into
a layout per model class; this module holds what they share: the limits,
the checks of metadata pieces (declared arrays, parameters, training) and
of array values.  Every check raises :class:`Problem` with a sentence saying
what is wrong; :mod:`gmmkit.modelfiles.files` adds the file name and the fix.
docs/model-files.md lists the checks and their messages.
"""

from __future__ import annotations

import math
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.covariance import CovarianceType

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from numpy.typing import ArrayLike

    from gmmkit.engine.types import AnyArray, FloatArray
    from gmmkit.estimators.base import EstimatorBase
    from gmmkit.modelfiles.mixture import ArraySpec

FORMAT_NAME = "gmmkit-model"
FORMAT_VERSION = 3
METADATA_MEMBER = "metadata.json"
#: largest metadata.json accepted, in bytes (uncompressed)
METADATA_MAX_BYTES = 2**20
#: deepest nesting of JSON arrays and objects in metadata.json
METADATA_MAX_DEPTH = 64
#: most JSON arrays and objects in metadata.json
METADATA_MAX_CONTAINERS = 10_000
#: most comma-separated JSON items (values and key-value pairs) in metadata.json
METADATA_MAX_ITEMS = 50_000
#: largest .npy header accepted: bytes in front of the array data
NPY_HEADER_MAX = 4096
#: the members may hold at most this many times the file's size, uncompressed, ...
MAX_EXPANSION = 4
#: ... plus this many bytes (deflate shrinks real model arrays by at most ~2x)
EXPANSION_SLACK = 64 * 1024
#: zip bookkeeping allowed on top of the members' data, per member and per archive
ZIP_MEMBER_OVERHEAD = 256
ZIP_ARCHIVE_OVERHEAD = 1024
#: accepted float array dtypes: name in metadata.json -> dtype of the .npy header
ARRAY_DTYPES: dict[str, np.dtype[Any]] = {"float64": np.dtype("<f8"), "float32": np.dtype("<f4")}
#: allowed |sum(weights) + noise_weight - 1|
WEIGHTS_TOLERANCE = 1e-6
#: allowed max |P' C P - I|, plus 100 eps x the component's condition estimate
CONSISTENCY_TOLERANCE = 1e-6
#: allowed |C_ij - C_ji| / sqrt(C_ii C_jj) of a full or tied covariance
SYMMETRY_TOLERANCE = 1e-5
#: largest distance of a component's mean from the origin, in its standard deviations
MAX_WHITENED_OFFSET = 1e100

DAMAGED = (
    "The file is damaged or was not written by gmmkit.io.save; restore it from a backup "
    "or save the model again."
)
NOT_A_MODEL = "Pass a model file written by gmmkit.io.save."
UPGRADE = "Upgrade gmmkit (pip install --upgrade gmmkit) to load it."


class Problem(Exception):
    """Why a file is refused; load and save add the file name and, by default, the fix."""

    def __init__(self, problem: str, fix: str | None = None, save_fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem, self.fix, self.save_fix = problem, fix, save_fix

    def within(self, label: str) -> Problem:
        """The same problem, said of ``label`` (a part of the model): a new Problem."""
        return Problem(
            f"{label}: {self.problem}" if label else self.problem, self.fix, self.save_fix
        )


# ------------------------------------------------------------- size limits


def _compressed_limit(size: int) -> int:
    """Most bytes a member of ``size`` bytes may take compressed (deflate can grow data)."""
    return size + size // 100 + 64


def npy_data_bytes(shape: Sequence[int], dtype: np.dtype[Any]) -> int:
    """Bytes of the data of an array of this shape and dtype (Python int, never overflows)."""
    return math.prod(shape) * dtype.itemsize


def npy_limit(shape: Sequence[int], dtype: np.dtype[Any]) -> int:
    """Most bytes a .npy member of this shape and dtype may hold (data + header)."""
    return npy_data_bytes(shape, dtype) + NPY_HEADER_MAX


def check_member_size(info: zipfile.ZipInfo, limit: int, reason: str) -> None:
    """Refuse a zip member over ``limit`` bytes from its directory entry, unread."""
    if info.file_size > limit or info.compress_size > _compressed_limit(limit):
        raise Problem(
            f"member '{info.filename}' holds {info.file_size} bytes ({info.compress_size} "
            f"compressed) but {reason} at most {limit}; it was refused before decompressing "
            "it (a damaged file or a zip bomb)"
        )


def check_expansion(infos: Iterable[zipfile.ZipInfo], size: int) -> None:
    """Refuse members that would expand beyond MAX_EXPANSION x the file size, unread."""
    total = sum(info.file_size for info in infos)
    if total > MAX_EXPANSION * size + EXPANSION_SLACK:
        raise Problem(
            f"the file is {size} bytes but its members would expand to {total} bytes, more "
            f"than {MAX_EXPANSION} times its size; it was refused before decompressing them (a "
            "zip bomb, or members deflated as no real model deflates: store them uncompressed)"
        )


def check_members(
    infos: Mapping[str, zipfile.ZipInfo], arrays: Mapping[str, ArraySpec], size: int
) -> None:
    """Members are exactly those declared, each and the whole file within size limits.

    Parameters
    ----------
    infos : dict
        ZipInfo by member name.
    arrays : dict
        Every declared array: member name without ``.npy`` -> (shape, dtype).
    size : int
        Bytes of the whole file.
    """
    expected = {METADATA_MEMBER} | {f"{name}.npy" for name in arrays}
    unknown = sorted(set(infos) - expected)
    if unknown:
        shown = sorted(expected) if len(expected) <= 12 else f"{len(expected)} members"
        raise Problem(
            f"the archive holds an unexpected member '{unknown[0]}'; this model file should "
            f"hold only {shown}"
        )
    missing = sorted(expected - set(infos))
    if missing:
        raise Problem(f"the archive lacks the member '{missing[0]}'")
    budget = ZIP_ARCHIVE_OVERHEAD + len(infos) * ZIP_MEMBER_OVERHEAD
    budget += infos[METADATA_MEMBER].compress_size
    for name, (shape, dtype) in arrays.items():
        info = infos[f"{name}.npy"]
        limit = npy_limit(shape, dtype)
        check_member_size(info, limit, f"its declared shape {list(shape)} {dtype.name} allows")
        needed = npy_data_bytes(shape, dtype)
        if info.file_size < needed:
            raise Problem(
                f"member '{info.filename}' holds {info.file_size} bytes but its declared shape "
                f"{list(shape)} {dtype.name} needs at least {needed}; it is truncated"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise Problem(
                f"member '{info.filename}' is stored uncompressed but its sizes differ "
                f"({info.file_size} and {info.compress_size} bytes)"
            )
        budget += _compressed_limit(limit)
    check_expansion(infos.values(), size)
    if size > budget:
        raise Problem(
            f"the file is {size} bytes but its declared arrays allow at most {budget}; "
            "padded or appended data is refused"
        )


# ------------------------------------------------------ metadata primitives


def require(mapping: object, keys: Iterable[str], where: str) -> None:
    """``where`` (a JSON object) has every key of ``keys``."""
    if not isinstance(mapping, dict):
        raise Problem(f"{where} is not a JSON object")
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise Problem(f"{where} lacks the keys {missing}")


def positive_int(metadata: Mapping[str, Any], key: str, least: int = 1) -> int:
    """``metadata[key]`` as an int >= ``least``."""
    value = metadata[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        what = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise Problem(f"{key} must be {what}; got {value!r}")
    return value


def json_number(value: object, what: str) -> int | float:
    """A JSON number (not a bool) as given: int or float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Problem(f"{what} must be a number; got {value!r}")
    return value


def check_strings(metadata: Mapping[str, Any], keys: Iterable[str]) -> None:
    for key in keys:
        if not isinstance(metadata[key], str):
            raise Problem(f"{key} must be a string; got {metadata[key]!r}")


def declared_arrays(
    declared: object, expected: Mapping[str, tuple[int, ...]], required: Iterable[str], what: str
) -> dict[str, ArraySpec]:
    """{name: (shape, dtype)} from an "arrays" object, each shape as ``expected`` says.

    Parameters
    ----------
    declared : object
        The "arrays" value of metadata.json.
    expected : dict
        Array name -> the shape (tuple) it must have; only these names are allowed.
    required : iterable of str
        Names that must be declared.
    what : str
        The model, for messages: "a full model with 3 components and 2 features".
    """
    if not isinstance(declared, dict):
        raise Problem("'arrays' in metadata.json is not a JSON object")
    unknown = sorted(set(declared) - set(expected))
    if unknown:
        raise Problem(f"'arrays' declares unknown arrays {unknown}")
    missing = [name for name in required if name not in declared]
    if missing:
        raise Problem(f"'arrays' lacks {missing}")
    spec: dict[str, ArraySpec] = {}
    for name, entry in declared.items():
        entry = entry if isinstance(entry, dict) else {}
        shape = entry.get("shape")
        if (
            not isinstance(shape, list)
            or [type(n) for n in shape] != [int] * len(shape)
            or tuple(shape) != tuple(expected[name])
        ):
            raise Problem(
                f"array '{name}' is declared with shape {shape} but {what} needs "
                f"{list(expected[name])}"
            )
        dtype_name = entry.get("dtype")
        if not isinstance(dtype_name, str) or dtype_name not in ARRAY_DTYPES:
            raise Problem(
                f"array '{name}' is declared with dtype {dtype_name!r}; only 'float64' and "
                "'float32' are accepted"
            )
        spec[name] = (tuple(expected[name]), ARRAY_DTYPES[dtype_name])
    return spec


def known_params(
    params: object, cls: type[EstimatorBase], excluded: Iterable[str] = ()
) -> dict[str, Any]:
    """The "params" object, refused when it names a parameter ``cls`` does not have."""
    if not isinstance(params, dict):
        raise Problem("'params' in metadata.json is not a JSON object")
    allowed = set(cls._get_param_names()) - set(excluded)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Problem(f"params has names this gmmkit does not know: {unknown}", UPGRADE)
    return params


def check_feature_names(names: object, n_features: int) -> list[str] | None:
    if names is None:
        return None
    if not isinstance(names, list) or len(names) != n_features:
        raise Problem(f"feature_names must be null or a list of {n_features} strings")
    if not all(isinstance(name, str) for name in names):
        raise Problem("feature_names must hold strings only")
    return names


def check_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise Problem(f"{what} must be true or false; got {value!r}")
    return value


def check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Problem(f"{what} must be a non-negative integer; got {value!r}")
    return value


def json_bound(value: object) -> float:
    """A lower bound from JSON: a number, or null for -inf."""
    if value is None:
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Problem(f"training lower bounds must be numbers or null; got {value!r}")
    return float(value)


# --------------------------------------------------------- value validation


def check_finite(arrays: Mapping[str, AnyArray]) -> None:
    for name, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise Problem(f"array '{name}' contains NaN or infinity")


def check_mixture_values(
    cov_type: CovarianceType, arrays: Mapping[str, FloatArray], noise_weight: float | None = None
) -> None:
    """Weights on the simplex, valid matching covariance factors, means in range.

    Parameters
    ----------
    cov_type : CovarianceType
    arrays : dict
        ``weights``, ``means``, ``covariances``, ``precisions_cholesky`` and,
        with a noise component, ``noise_bounds``; already checked finite.
    noise_weight : float or None
        The noise component's weight, None without one.
    """
    check_weights(arrays["weights"], noise_weight)
    if "noise_bounds" in arrays:
        _check_noise_bounds(arrays["noise_bounds"])
    cov, chol = arrays["covariances"], arrays["precisions_cholesky"]
    # arrays stored in float32 agree only to float32 rounding
    eps = max(np.finfo(cov.dtype).eps, np.finfo(chol.dtype).eps)
    with np.errstate(all="ignore"):
        COVARIANCE_CHECKS[cov_type.layout](cov, chol, eps)
        _check_scale(cov_type, arrays["means"], chol)
        _check_structure(cov_type, cov, arrays["means"].shape)


def _check_structure(cov_type: CovarianceType, cov: FloatArray, shape: tuple[int, ...]) -> None:
    """The equalities of a constrained model (EEE, VEV, ...) hold to the file's rounding."""
    problem = cov_type.structure_problem(cov, *shape)
    if problem is not None:
        raise Problem(f"{problem}; the file was not written by gmmkit or was edited since",
                      "Restore it from a backup, or refit the model (covariance_type='full' "
                      "keeps covariances without equalities).")


def check_weights(
    weights: FloatArray, noise_weight: float | None = None, name: str = "weights"
) -> None:
    """Non-negative weights summing to 1, or to 1 - noise_weight with a noise component."""
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        k = int(negative[0])
        raise Problem(f"{name} has a negative value ({float(weights[k])!r} for component {k})")
    above = np.flatnonzero(weights > 1.0 + WEIGHTS_TOLERANCE)
    if above.size:
        k = int(above[0])
        raise Problem(f"{name} has a value above 1 ({float(weights[k])!r} for component {k})")
    total = math.fsum(weights.tolist())
    if noise_weight is None:
        if not abs(total - 1.0) <= WEIGHTS_TOLERANCE:
            raise Problem(f"{name} sum to {total!r}, not 1 (tolerance {WEIGHTS_TOLERANCE:g})")
        return
    together = math.fsum([*weights.tolist(), noise_weight])
    if not abs(together - 1.0) <= WEIGHTS_TOLERANCE:
        raise Problem(
            f"{name} sum to {total!r} and noise_weight is {noise_weight!r}: together "
            f"{together!r}, not 1 (tolerance {WEIGHTS_TOLERANCE:g})"
        )


def check_positive(array: ArrayLike, name: str, above: float = 0.0) -> None:
    """Every value of ``array`` > ``above``."""
    bad = np.flatnonzero(~(np.ravel(array) > above))
    if bad.size:
        value = float(np.ravel(array)[bad[0]])
        raise Problem(f"array '{name}' has a value <= {above:g} ({value!r})")


def check_precisions(cov_type: CovarianceType, chol: FloatArray, precisions: FloatArray) -> None:
    """Stored precisions are P Pᵀ of the stored factors, to their dtype's rounding."""
    eps = np.finfo(precisions.dtype).eps
    with np.errstate(all="ignore"):
        expected = cov_type.precisions(np.asarray(chol, dtype=np.float64))
        worst = float(np.max(np.abs(precisions - expected)))
        tolerance = (CONSISTENCY_TOLERANCE + 100.0 * eps) * float(np.max(np.abs(expected)))
    if not worst <= tolerance:
        raise Problem(
            f"precisions and precisions_cholesky disagree (max |precisions - P P'| = "
            f"{worst:.3g}, tolerance {tolerance:.3g})"
        )


def _check_noise_bounds(bounds: FloatArray) -> None:
    """Each feature's (min, max), max > min and max - min finite: the box has a volume."""
    with np.errstate(over="ignore"):
        widths = bounds[:, 1] - bounds[:, 0]
    flat = np.flatnonzero(~(bounds[:, 1] > bounds[:, 0]))
    if flat.size:
        j = int(flat[0])
        low, high = float(bounds[j, 0]), float(bounds[j, 1])
        raise Problem(
            f"noise_bounds of feature {j} has max <= min ({high!r} <= {low!r}), so the noise "
            "component has no volume"
        )
    wide = np.flatnonzero(~np.isfinite(widths))
    if wide.size:
        raise Problem(f"noise_bounds of feature {int(wide[0])} is wider than float64 can hold")


def _check_scale(cov_type: CovarianceType, means: FloatArray, chol: FloatArray) -> None:
    """Precisions finite and each mean within MAX_WHITENED_OFFSET deviations of the origin.

    Beyond that, scoring a row near the origin squares numbers that overflow.
    """
    if not np.all(np.isfinite(cov_type.precisions(chol))):
        raise Problem("precisions_cholesky is so large that the precisions overflow")
    peak = np.abs(np.asarray(means, dtype=np.float64)).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0  # norms of means / peak cannot overflow; scale back after
    offsets = cov_type.whitened_offsets(means / peak, chol) * peak[:, 0]
    far = np.flatnonzero(~(offsets <= MAX_WHITENED_OFFSET))
    if far.size:
        k = int(far[0])
        raise Problem(
            f"the mean of component {k} lies {float(offsets[k]):.3g} of its standard "
            f"deviations from the origin, more than the {MAX_WHITENED_OFFSET:g} a model may "
            "have (scoring would overflow)",
            save_fix="The data lie too far from the origin for their spread: centre and scale "
            "them (e.g. the standardize feature) and fit again.",
        )


def _norm(array: FloatArray) -> np.float64:
    """Frobenius norm without overflow (scaled by the largest magnitude first)."""
    peak = np.max(np.abs(array)).astype(np.float64)
    return peak * np.linalg.norm(array / peak) if peak > 0 else np.float64(0.0)


def _check_agreement(residual: FloatArray, condition: float, eps: float, label: str) -> None:
    worst = float(np.max(np.abs(residual)))
    tolerance = CONSISTENCY_TOLERANCE + 100.0 * eps * condition
    if not np.isfinite(tolerance):
        raise Problem(f"the covariance of {label} is too ill-conditioned to be used")
    if not worst <= tolerance:
        raise Problem(
            f"covariances and precisions_cholesky disagree for {label} "
            f"(max |P'CP - I| = {worst:.3g}, tolerance {tolerance:.3g})"
        )


def _check_matrices(
    cov: FloatArray,
    chol: FloatArray,
    eps: float,
    label: Callable[[int], str] = lambda m: f"component {m}",
) -> None:
    """Full matrices (M, D, D): Cholesky of each covariance; chol upper with positive diagonal."""
    identity = np.eye(cov.shape[-1])
    for m, (c, p) in enumerate(zip(cov, chol)):
        variances = np.diagonal(c)
        if np.any(variances <= 0):
            raise Problem(f"{label(m)} has a variance <= 0 ({float(variances.min())!r})")
        scale = np.sqrt(np.outer(variances, variances))
        if not np.all(np.abs(c - c.T) <= SYMMETRY_TOLERANCE * scale):
            raise Problem(f"the covariance of {label(m)} is not symmetric")
        try:
            np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            raise Problem(f"the covariance of {label(m)} is not positive definite") from None
        if np.any(np.tril(p, -1) != 0) or np.any(np.diagonal(p) <= 0):
            raise Problem(
                f"precisions_cholesky of {label(m)} is not upper triangular with a "
                "positive diagonal"
            )
        condition = _norm(c) * _norm(p) ** 2
        _check_agreement(p.T @ c @ p - identity, condition, eps, label(m))


def _check_variances(cov: FloatArray, chol: FloatArray, eps: float) -> None:
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
