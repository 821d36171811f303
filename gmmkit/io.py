"""Safe model files: save a fitted GaussianMixture and load it back, without pickle.

A model file (conventionally ``*.gmm``) is a zip archive holding
``metadata.json`` and one ``.npy`` file per array; docs/model-files.md
specifies the format.  Nothing is ever unpickled: every array header is
checked (float32/float64 little-endian only) before its data is read with
``allow_pickle=False``.  Any file that is damaged, larger than its declared
shapes allow, of a newer format or not a valid model is refused with a
:class:`~gmmkit.exceptions.ModelFileError` naming the file, the problem and
the fix, before a model is built.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from io import BytesIO

import numpy as np

from gmmkit._io_checks import (
    ARRAY_DTYPES,
    ARRAY_SHAPES,
    DAMAGED,
    FORMAT_NAME,
    FORMAT_VERSION,
    INIT_ARRAYS,
    METADATA_MAX_BYTES,
    METADATA_MEMBER,
    MODEL_ARRAYS,
    NOT_A_MODEL,
    NPY_HEADER_MAX,
    READERS,
    Problem,
    check_member_size,
    check_members,
    check_metadata,
    check_values,
    npy_limit,
)
from gmmkit.em import MixtureParams
from gmmkit.exceptions import ModelFileError
from gmmkit.mixture import GaussianMixture
from gmmkit.outputs import atomic_write

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "READERS",
    "ModelFileError",
    "load",
    "read_metadata",
    "save",
]


_CHANGED = "Its attributes or parameters were changed after fit; fit it again."


# ---------------------------------------------------------------- public API


def save(model, path, *, extra=None, overwrite=False):
    """Write a fitted GaussianMixture to a model file (a zip archive; no pickle).

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    path : str or os.PathLike
        Where to write; ``.gmm`` is the conventional suffix, but the path is
        used exactly as given.  The file is written next to ``path`` under a
        temporary name, fsynced, then moved into place, so an existing file
        is never left half-written (:func:`gmmkit.outputs.atomic_write`).
        ``path`` must be a regular file or not exist: a directory, a
        device, a FIFO or a socket is refused, and so is a read-only file.
        An existing file is replaced only when it is a gmmkit model file.
    extra : dict, optional
        JSON-serialisable data stored verbatim under ``"extra"`` in the
        metadata. A model fitted by :func:`gmmkit.run_pipeline` also stores
        its ``pipeline_`` (the feature extractors and post-processors used,
        with the plugin of each) as ``extra["pipeline"]``, and ``load``
        gives it back as ``pipeline_``.
    overwrite : bool, default=False
        Also replace an existing regular file that is not a gmmkit model
        file (a read-only file is still refused).

    Raises
    ------
    NotFittedError
        When ``model`` is not fitted.
    ValueError
        When ``extra`` is not a dict that survives a JSON round trip, or the
        model's attributes no longer describe a valid mixture, or ``path``
        is empty, a device, a FIFO or a socket.
    FileExistsError
        When ``path`` is an existing file that is not a gmmkit model file
        and ``overwrite`` is False.
    OSError
        When ``path`` is a directory or read-only, or its directory does not
        exist or is not writable (IsADirectoryError, PermissionError,
        FileNotFoundError); the message names ``path``.
    """
    if not isinstance(model, GaussianMixture):
        raise TypeError(f"save() writes gmmkit.GaussianMixture models; got {type(model).__name__}.")
    model._check_fitted()
    extra = _check_extra(extra)
    if getattr(model, "pipeline_", None) is not None and "pipeline" not in extra:
        extra = {**extra, "pipeline": _check_extra(model.pipeline_)}
    name = os.fsdecode(path)
    try:
        arrays = _model_arrays(model)
        metadata = _model_metadata(model, arrays, extra)
        payload = _json_bytes(metadata)
        layout = check_metadata(_parse_json(payload))
        check_values(layout, arrays)
    except Problem as problem:
        raise ValueError(
            f"cannot save the model to '{name}': {problem.problem}. {problem.fix or _CHANGED}"
        ) from None
    _write_archive(path, payload, arrays, metadata["created"], overwrite)


def load(path):
    """Read a model file written by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    GaussianMixture
        Fitted, with the saved parameters bit for bit, so ``predict``,
        ``predict_proba``, ``score_samples``, ``bic``, ``aic`` (and
        ``sample`` with an int ``random_state``) give identical results.
        A model with a uniform noise component gets its ``noise_weight_``
        and ``noise_bounds_`` back; any other has ``noise_weight_ = 0.0``.
        ``metadata_`` holds the whole metadata read from the file.

    Raises
    ------
    ModelFileError
        When the file is not a valid model file (see docs/model-files.md).
    """
    try:
        with _open_archive(path) as (archive, size):
            metadata, layout, infos = _read_checked_metadata(archive, size)
            arrays = {
                name: _read_array(archive, infos[f"{name}.npy"], *spec)
                for name, spec in layout.arrays.items()
            }
        check_values(layout, arrays)
    except Problem as problem:
        raise _refusal(path, problem) from None
    return _build_model(metadata, layout, arrays)


def read_metadata(path):
    """The validated metadata of a model file, without reading its arrays.

    The archive's members, their sizes and metadata.json are checked as by
    :func:`load`; damage inside the array data is found only by :func:`load`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        metadata.json as read (see docs/model-files.md for its keys).

    Raises
    ------
    ModelFileError
    """
    try:
        with _open_archive(path) as (archive, size):
            return _read_checked_metadata(archive, size)[0]
    except Problem as problem:
        raise _refusal(path, problem) from None


def _refusal(path, problem):
    return ModelFileError(
        f"cannot load '{os.fsdecode(path)}': {problem.problem}. {problem.fix or DAMAGED}"
    )


# -------------------------------------------------------------------- saving


def _check_extra(extra):
    """A JSON copy of ``extra`` ({} for None); ValueError if it does not round-trip."""
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise ValueError(f"extra must be a dict of JSON values; got {type(extra).__name__}.")
    try:
        text = json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"extra is not JSON-serialisable ({exc}); use dicts with str keys, lists, str, "
            "int, finite float, bool and None only."
        ) from None
    copy = json.loads(text)
    if copy != extra:
        raise ValueError(
            "extra changes in a JSON round trip (tuples become lists, non-str keys become "
            "str); use lists and str keys."
        )
    return copy


def _as_stored(value):
    """An array as written: float32 or float64, little-endian, in its own memory order.

    A Fortran-ordered array stays Fortran-ordered (the .npy header records
    it): BLAS may round differently on another layout, and load must give
    predictions identical to the last bit.
    """
    array = np.asarray(value)
    dtype = array.dtype if array.dtype.name in ARRAY_DTYPES else np.dtype(np.float64)
    return array.astype(dtype.newbyteorder("<"), order="K", copy=False)


def _model_arrays(model):
    arrays = {
        "weights": model.weights_,
        "means": model.means_,
        "covariances": model.covariances_,
        "precisions_cholesky": model.precisions_cholesky_,
    }
    arrays.update({name: getattr(model, name) for name in INIT_ARRAYS})
    arrays["noise_bounds"] = getattr(model, "noise_bounds_", None)
    stored = {}
    for name, value in arrays.items():
        if value is None:
            continue
        try:
            stored[name] = _as_stored(value)
        except (TypeError, ValueError) as exc:
            raise Problem(f"{name} is not a numeric array ({exc})") from None
    return stored


def _json_params(model):
    """(JSON-able constructor params, names dropped because they are not JSON-able)."""
    params, dropped = {}, []
    for name in GaussianMixture._get_param_names():
        if name in INIT_ARRAYS:
            continue
        value = getattr(model, name)
        if name == "dtype" and value is not None:
            try:
                value = np.dtype(value).name
            except TypeError:
                pass
        if isinstance(value, np.generic):
            value = value.item()
        try:
            same = json.loads(json.dumps(value, allow_nan=False)) == value
        except (TypeError, ValueError):
            same = False
        if same:
            params[name] = value
        else:
            dropped.append(name)
    return params, dropped


def _bound_to_json(value):
    """A lower bound as JSON: -inf (no EM iteration ran) is stored as null."""
    value = float(value)
    return None if value == -math.inf else value


def _model_metadata(model, arrays, extra):
    import gmmkit  # gmmkit/__init__.py sets __version__ after importing its modules

    params, dropped = _json_params(model)
    names = getattr(model, "feature_names_in_", None)
    training = {
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "lower_bound": _bound_to_json(model.lower_bound_),
        "lower_bounds": [_bound_to_json(bound) for bound in model.lower_bounds_],
    }
    if "noise_bounds" in arrays:  # the model has a noise component
        training["noise_weight"] = float(model.noise_weight_)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gmmkit_version": gmmkit.__version__,
        "model_class": "GaussianMixture",
        "covariance_type": model.covariance_type,
        "n_components": int(arrays["means"].shape[0]),
        "n_features": int(model.n_features_in_),
        "dtype": params.get("dtype"),
        "params": params,
        "dropped_params": dropped,
        "feature_names": None if names is None else [str(name) for name in names],
        "arrays": {
            name: {"shape": list(array.shape), "dtype": array.dtype.name}
            for name, array in arrays.items()
        },
        "training": training,
        "extra": extra,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _json_bytes(metadata):
    try:
        payload = (json.dumps(metadata, indent=2, allow_nan=False) + "\n").encode("utf-8")
    except ValueError as exc:
        raise Problem(f"its metadata is not strict JSON ({exc})") from None
    if len(payload) > METADATA_MAX_BYTES:
        raise Problem(
            f"metadata.json would be {len(payload)} bytes, over the limit of {METADATA_MAX_BYTES}",
            "Keep extra small.",
        )
    return payload


def _write_archive(path, payload, arrays, created, overwrite=False):
    """Write the zip atomically (checked target, temporary file, fsync, rename: gmmkit.outputs)."""
    stamp = datetime.fromisoformat(created).timetuple()[:6]
    with atomic_write(path, overwrite=overwrite, replaceable=_is_model_file,
                      kind="a gmmkit model file",
                      force_hint="pass overwrite=True to replace it") as temporary:
        with open(temporary, "xb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as archive:
            _write_member(archive, METADATA_MEMBER, payload, stamp)
            for name, array in arrays.items():
                buffer = BytesIO()
                np.lib.format.write_array(buffer, array, version=(1, 0), allow_pickle=False)
                _write_member(archive, f"{name}.npy", buffer.getvalue(), stamp)


def _is_model_file(path):
    """True when ``path`` holds a gmmkit model file (save() replaces only those by default)."""
    try:
        read_metadata(path)
    except Exception:  # noqa: BLE001 - whatever read_metadata refuses is not a model file
        return False
    return True


def _write_member(archive, name, data, stamp):
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


# ------------------------------------------------------------------- reading


@contextmanager
def _open_archive(path):
    """``with _open_archive(path) as (zip, file size)``; Problem if it is not a zip."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = fh.read(4)
        if size == 0:
            raise Problem("the file is empty (0 bytes)", NOT_A_MODEL)
        if not start.startswith(b"PK"):
            raise Problem(f"it is not a zip archive (it starts with {start!r})", NOT_A_MODEL)
        fh.seek(0)
        try:
            archive = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise Problem(f"it is a truncated or damaged zip archive ({exc})") from None
        with archive:
            yield archive, size


def _read_checked_metadata(archive, size):
    """(metadata dict, layout, members by name), every check short of array data."""
    infos = _member_infos(archive)
    info = infos[METADATA_MEMBER]
    check_member_size(info, METADATA_MAX_BYTES, "the metadata limit allows")
    metadata = _parse_json(_read_member(archive, info, METADATA_MAX_BYTES))
    layout = check_metadata(metadata)
    check_members(infos, layout, size)
    return metadata, layout, infos


def _member_infos(archive):
    """Members by name; refuses duplicates, encryption and unknown compression."""
    members = archive.infolist()
    most = 1 + len(ARRAY_SHAPES)
    if len(members) > most:
        raise Problem(
            f"the archive holds {len(members)} members; a model file holds at most {most}"
        )
    infos = {}
    for info in members:
        name = info.filename
        if name in infos:
            raise Problem(f"the archive holds the member '{name}' twice")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Problem(
                f"member '{name}' uses compression method {info.compress_type}; only stored (0) "
                "and deflated (8) are accepted"
            )
        if info.flag_bits & 0x1:
            raise Problem(f"member '{name}' is encrypted")
        infos[name] = info
    if METADATA_MEMBER not in infos:
        raise Problem(f"the archive lacks the member '{METADATA_MEMBER}'", NOT_A_MODEL)
    return infos


def _read_member(archive, info, limit):
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as exc:
        raise Problem(f"member '{info.filename}' is corrupted ({exc})") from None
    if len(data) > limit:
        raise Problem(f"member '{info.filename}' holds more than {limit} bytes")
    return data


def _no_constant(name):
    raise ValueError(f"{name} is not allowed in strict JSON")


def _parse_json(data):
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Problem(f"metadata.json is not valid JSON ({exc})") from None


def _npy_header(stream, member):
    """(shape, fortran_order, dtype) of a .npy header; its data is not read."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream, max_header_size=NPY_HEADER_MAX)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream, max_header_size=NPY_HEADER_MAX)
        raise ValueError(f".npy format version {version} is not accepted (1.0 and 2.0 are)")
    except ValueError as exc:
        raise Problem(f"member '{member}' is not a valid .npy array ({exc})") from None


def _read_array(archive, info, shape, dtype):
    """One array member as float64, after checking its header against the metadata."""
    data = _read_member(archive, info, npy_limit(shape, dtype))
    stream = BytesIO(data)
    found_shape, _, found_dtype = _npy_header(stream, info.filename)
    if found_dtype not in ARRAY_DTYPES.values():
        raise Problem(
            f"member '{info.filename}' holds an array of dtype '{found_dtype.str}'; only "
            "little-endian float64 ('<f8') and float32 ('<f4') are accepted, and its data "
            "was not read"
        )
    if found_dtype != dtype or tuple(found_shape) != tuple(shape):
        raise Problem(
            f"member '{info.filename}' holds a {found_dtype.name} array of shape "
            f"{list(found_shape)} but metadata.json declares {dtype.name} {list(shape)}"
        )
    stream.seek(0)
    try:
        array = np.lib.format.read_array(stream, allow_pickle=False, max_header_size=NPY_HEADER_MAX)
    except ValueError as exc:
        raise Problem(f"member '{info.filename}' is truncated ({exc})") from None
    if stream.tell() != len(data):
        raise Problem(f"member '{info.filename}' has data after its array")
    return np.array(array, dtype=np.float64, order="K")  # a writable copy, same layout


def _build_model(metadata, layout, arrays):
    inits = {name: arrays[name] for name in INIT_ARRAYS if name in arrays}
    model = GaussianMixture(**layout.params, **inits)
    params = MixtureParams(*(arrays[name] for name in MODEL_ARRAYS))
    model._set_params_object(params, layout.cov_type)
    for name, value in layout.training.items():  # noise_weight_ too, with a noise component
        setattr(model, name, value)
    if layout.noise:
        model.noise_bounds_ = arrays["noise_bounds"]
    model.n_features_in_ = layout.n_features
    model.n_components_ = layout.n_components
    if layout.feature_names is not None:
        model.feature_names_in_ = np.asarray(layout.feature_names, dtype=object)
    if isinstance(metadata["extra"].get("pipeline"), dict):
        model.pipeline_ = metadata["extra"]["pipeline"]
    model.metadata_ = metadata
    return model
