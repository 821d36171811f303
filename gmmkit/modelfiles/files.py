"""Safe model files: save a fitted estimator and load it back, without pickle.

A model file (conventionally ``*.gmm``) is a zip archive holding
``metadata.json`` and one ``.npy`` file per array; docs/model-files.md
specifies the format.  It holds a GaussianMixture, BayesianGaussianMixture,
GMMClassifier or GaussianMixtureRegressor, and :func:`load` gives back the
same class.  Nothing is ever unpickled: every array header is checked (the
float arrays are float32/float64 little-endian only) before its data is
read.  A file is checked against its own size before anything is
decompressed or allocated, so a small file cannot make :func:`load` use
much memory (:mod:`gmmkit.modelfiles.read`).  Any file that is damaged, larger
than its declared shapes allow, of a newer format or not a valid model is
refused with a :class:`~gmmkit.exceptions.ModelFileError` naming the file,
the problem and the fix, before a model is built.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime, timezone
from io import BytesIO
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit._version import __version__
from gmmkit.exceptions import ModelFileError
from gmmkit.modelfiles.checks import (
    DAMAGED,
    FORMAT_NAME,
    FORMAT_VERSION,
    METADATA_MAX_BYTES,
    METADATA_MEMBER,
    Problem,
    check_members,
)
from gmmkit.modelfiles.composite import LABEL_ARRAYS
from gmmkit.modelfiles.formats import FORMATS, READERS, check_metadata, format_of
from gmmkit.modelfiles.read import (
    check_json_size,
    member_infos,
    open_archive,
    parse_json,
    read_array,
    read_metadata_member,
)
from gmmkit.outputs import atomic_write

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Union

    from gmmkit.engine.types import AnyArray, PathLike
    from gmmkit.estimators.bayesian import BayesianGaussianMixture
    from gmmkit.estimators.classifier import GMMClassifier
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.estimators.regression import GaussianMixtureRegressor
    from gmmkit.modelfiles.mixture import Layout, ModelFormat

    #: the model classes a model file holds
    Model = Union[GaussianMixture, BayesianGaussianMixture, GMMClassifier, GaussianMixtureRegressor]

__all__ = [
    "FORMATS",
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


def save(
    model: Model, path: PathLike, *, extra: Mapping[str, Any] | None = None, overwrite: bool = False
) -> None:
    """Write a fitted estimator to a model file (a zip archive; no pickle).

    Parameters
    ----------
    model : GaussianMixture, BayesianGaussianMixture, GMMClassifier or GaussianMixtureRegressor
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
    TypeError
        When ``model`` is of another class.
    NotFittedError
        When ``model`` is not fitted.
    ValueError
        When ``extra`` is not a dict that survives a JSON round trip, or the
        model's attributes no longer describe a valid model, or ``path``
        is empty, a device, a FIFO or a socket.
    FileExistsError
        When ``path`` is an existing file that is not a gmmkit model file
        and ``overwrite`` is False.
    OSError
        When ``path`` is a directory or read-only, or its directory does not
        exist or is not writable (IsADirectoryError, PermissionError,
        FileNotFoundError); the message names ``path``.
    """
    fmt = format_of(model)
    model.check_is_fitted()
    extra = _check_extra(extra)
    pipeline = getattr(model, "pipeline_", None)
    if pipeline is not None and "pipeline" not in extra:
        extra = {**extra, "pipeline": _check_extra(pipeline)}
    name = os.fsdecode(path)
    try:
        body, arrays = fmt.encode(model)
        metadata = _model_metadata(fmt.name, body, extra)
        payload = _json_bytes(metadata)
        layout = check_metadata(parse_json(payload))
        fmt.check_params(layout)
        fmt.check_values(layout, arrays)
    except Problem as problem:
        raise ValueError(
            f"cannot save the model to '{name}': {problem.problem}. "
            f"{problem.save_fix or problem.fix or _CHANGED}"
        ) from None
    _write_archive(path, payload, arrays, metadata["created"], overwrite)


def load(path: PathLike) -> Model:
    """Read a model file written by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
        A regular file, or a pipe (a named pipe with a writer, or
        ``/dev/fd/N`` as from the shell's ``<(...)``), which is read whole
        into memory (at most 256 MiB; see docs/model-files.md).

    Returns
    -------
    GaussianMixture, BayesianGaussianMixture, GMMClassifier or GaussianMixtureRegressor
        The class that was saved, fitted, with every fitted attribute bit
        for bit (arrays keep their dtype and memory order), so ``predict``,
        ``predict_proba``, ``score_samples`` and the other methods give
        identical results (``sample`` too, with an int ``random_state``).
        A GaussianMixture with a uniform noise component gets its
        ``noise_weight_`` and ``noise_bounds_`` back; any other has
        ``noise_weight_ = 0.0``. ``metadata_`` holds the whole metadata
        read from the file.

    Raises
    ------
    ModelFileError
        When the file is not a valid model file (see docs/model-files.md).
    FileNotFoundError, PermissionError
        When the file cannot be opened.
    """
    try:
        with open_archive(path) as (archive, size):
            metadata, fmt, layout, infos = _read_checked_metadata(archive, size)
            arrays = {
                name: read_array(archive, infos[f"{name}.npy"], *spec, _accepted(name))
                for name, spec in layout.arrays.items()
            }
        fmt.check_values(layout, arrays)
    except Problem as problem:
        raise _refusal(path, problem) from None
    model = fmt.build(layout, arrays)
    if isinstance(metadata["extra"].get("pipeline"), dict):
        model.pipeline_ = metadata["extra"]["pipeline"]
    model.metadata_ = metadata
    return model


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The validated metadata of a model file, without reading its arrays.

    The archive's members, their sizes, metadata.json and the parameters are
    checked as by :func:`load`; damage inside the array data is found only
    by :func:`load`.

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
        with open_archive(path) as (archive, size):
            return _read_checked_metadata(archive, size)[0]
    except Problem as problem:
        raise _refusal(path, problem) from None


def _refusal(path: PathLike, problem: Problem) -> ModelFileError:
    return ModelFileError(
        f"cannot load '{os.fsdecode(path)}': {problem.problem}. {problem.fix or DAMAGED}"
    )


def _accepted(name: str) -> tuple[Callable[[np.dtype[Any]], bool], str] | None:
    """The dtypes member ``name`` may hold (None: float32 and float64)."""
    return LABEL_ARRAYS if name == "classes" else None


def _read_checked_metadata(
    archive: zipfile.ZipFile, size: int
) -> tuple[dict[str, Any], ModelFormat, Layout, dict[str, zipfile.ZipInfo]]:
    """(metadata, format, layout, members by name): every check short of array data.

    The declared shapes are checked against the file's size before the
    parameters, which allocate in proportion to them, are checked.
    """
    infos = member_infos(archive)
    metadata = read_metadata_member(archive, infos, size)
    layout = check_metadata(metadata)
    check_members(infos, layout.arrays, size)
    fmt = FORMATS[layout.model_class]
    fmt.check_params(layout)
    return metadata, fmt, layout, infos


# -------------------------------------------------------------------- saving


def _check_extra(extra: object) -> dict[str, Any]:
    """A JSON copy of ``extra`` ({} for None); ValueError if it does not round-trip."""
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise ValueError(f"extra must be a dict of JSON values; got {type(extra).__name__}.")
    try:
        text = json.dumps(extra, allow_nan=False)
        check_json_size(text.encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(
            f"extra is not JSON-serialisable ({exc}); use dicts with str keys, lists, str, "
            "int, finite float, bool and None only."
        ) from None
    except Problem as problem:
        raise ValueError(f"extra is too large: {problem.problem}. Keep extra small.") from None
    copy = json.loads(text)
    if copy != extra:
        raise ValueError(
            "extra changes in a JSON round trip (tuples become lists, non-str keys become "
            "str); use lists and str keys."
        )
    return copy


def _model_metadata(
    model_class: str, body: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gmmkit_version": __version__,
        "model_class": model_class,
        **body,
        "extra": extra,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _json_bytes(metadata: Mapping[str, Any]) -> bytes:
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


def _write_archive(
    path: PathLike,
    payload: bytes,
    arrays: Mapping[str, AnyArray],
    created: str,
    overwrite: bool = False,
) -> None:
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


def _is_model_file(path: PathLike) -> bool:
    """True when ``path`` holds a gmmkit model file (save() replaces only those by default)."""
    try:
        read_metadata(path)
    except Exception:  # noqa: BLE001 - whatever read_metadata refuses is not a model file
        return False
    return True


def _write_member(
    archive: zipfile.ZipFile, name: str, data: bytes, stamp: tuple[int, int, int, int, int, int]
) -> None:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
