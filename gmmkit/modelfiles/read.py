"""Reading a model file within bounds: the path, the zip archive, metadata.json, .npy members.

Nothing here trusts a size the file declares before checking it against
the file's real size (:mod:`gmmkit.modelfiles.checks`): no member is decompressed
and no array allocated before that.  A path that is not a regular file is
never opened blocking: a named pipe or a pipe such as ``<(cat m.gmm)`` is
read whole into memory, up to :data:`PIPE_MAX_BYTES`, waiting at most
:data:`PIPE_TIMEOUT` seconds for data; devices, sockets and directories are
refused.  Every failure is a :class:`~gmmkit.modelfiles.checks.Problem`.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import stat
import struct
import zipfile
import zlib
from contextlib import contextmanager
from io import BytesIO
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.modelfiles.checks import (
    ARRAY_DTYPES,
    METADATA_MAX_BYTES,
    METADATA_MAX_CONTAINERS,
    METADATA_MAX_DEPTH,
    METADATA_MAX_ITEMS,
    METADATA_MEMBER,
    NOT_A_MODEL,
    NPY_HEADER_MAX,
    Problem,
    check_expansion,
    check_member_size,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import IO, NoReturn

    from gmmkit.engine.types import AnyArray, PathLike

#: most bytes read from a pipe (a model file that large should be a regular file)
PIPE_MAX_BYTES = 256 * 2**20
#: seconds to wait for a pipe's first bytes (a named pipe may have no writer at all) ...
PIPE_FIRST_TIMEOUT = 5.0
#: ... and for each later chunk
PIPE_TIMEOUT = 30.0
#: bytes decompressed at a time into an array
READ_CHUNK = 2**20
#: most members an archive may list (a model file lists one per array)
MAX_MEMBERS = 100_000
#: the dtypes of float arrays, and how a refusal names them
FLOAT_ARRAYS = (
    lambda dtype: dtype in ARRAY_DTYPES.values(),
    "little-endian float64 ('<f8') and float32 ('<f4')",
)
#: every exception zipfile raises for a damaged archive or member
ZIP_ERRORS = (
    zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
    NotImplementedError, struct.error, OverflowError,
)  # fmt: skip
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


# --------------------------------------------------------------------- paths


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


@contextmanager
def open_source(path: PathLike) -> Iterator[tuple[IO[bytes], int]]:
    """``with open_source(path) as (binary file, size)``: a regular file or a pipe's bytes.

    Raises
    ------
    Problem
        For a directory, device or socket, and for a pipe that stays empty,
        silent or too large.
    FileNotFoundError, PermissionError
        As ``open`` raises them.
    """
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise Problem(f"it is {_kind(mode)}, not a model file", NOT_A_MODEL)
    # O_NONBLOCK: opening a named pipe that has no writer must not wait for one
    fd: int | None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    fh: IO[bytes]
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode):
            data = _read_pipe(fd)
            fh, size = BytesIO(data), len(data)
        elif stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            fh = os.fdopen(fd, "rb")
            fd = None  # fh owns it now
            size = os.fstat(fh.fileno()).st_size
        else:
            raise Problem(f"it is {_kind(mode)}, not a model file", NOT_A_MODEL)
    finally:
        if fd is not None:
            os.close(fd)
    with fh:
        yield fh, size


def _read_pipe(fd: int) -> bytes:
    """All bytes of a pipe, at most PIPE_MAX_BYTES, never waiting long for any of them."""
    chunks, total = [], 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            timeout = PIPE_TIMEOUT if total else PIPE_FIRST_TIMEOUT
            if not selector.select(timeout):
                silent = (
                    f"it went silent for {timeout:g} seconds after {total} bytes"
                    if total
                    else f"nothing came through it for {timeout:g} seconds (a named pipe "
                    "needs a process writing to it)"
                )
                raise Problem(
                    f"it is a pipe and {silent}", "Save the model to a regular file and pass that."
                )
            try:
                chunk = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                continue
            if not chunk:
                break
            total += len(chunk)
            if total > PIPE_MAX_BYTES:
                raise Problem(
                    f"it is a pipe that delivers more than {PIPE_MAX_BYTES} bytes, the most "
                    "read from a pipe",
                    "Save the model to a regular file and pass that.",
                )
            chunks.append(chunk)
    if not total:
        raise Problem("it is a pipe and nothing came through it (0 bytes)", NOT_A_MODEL)
    return b"".join(chunks)


# ------------------------------------------------------------------ archive


@contextmanager
def open_archive(path: PathLike) -> Iterator[tuple[zipfile.ZipFile, int]]:
    """``with open_archive(path) as (zip, file size)``; Problem if it is not a zip."""
    with open_source(path) as (fh, size):
        start = fh.read(4)
        if size == 0:
            raise Problem("the file is empty (0 bytes)", NOT_A_MODEL)
        if not start.startswith(b"PK"):
            raise Problem(f"it is not a zip archive (it starts with {start!r})", NOT_A_MODEL)
        fh.seek(0)
        try:
            archive = zipfile.ZipFile(fh)
        except ZIP_ERRORS as exc:
            raise Problem(f"it is a truncated or damaged zip archive ({exc})") from None
        with archive:
            yield archive, size


def member_infos(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Members by name; refuses duplicates, encryption and unknown compression."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise Problem(
            f"the archive holds {len(members)} members; a model file holds at most {MAX_MEMBERS}"
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


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The bytes of one member, refused beyond ``limit`` bytes."""
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except ZIP_ERRORS as exc:
        raise Problem(f"member '{info.filename}' is corrupted ({exc})") from None
    if len(data) > limit:
        raise Problem(f"member '{info.filename}' holds more than {limit} bytes")
    return data


def read_metadata_member(
    archive: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo], size: int
) -> Any:
    """metadata.json parsed, after checking its size from the zip directory."""
    info = infos[METADATA_MEMBER]
    check_member_size(info, METADATA_MAX_BYTES, "the metadata limit allows")
    check_expansion([info], size)
    return parse_json(read_member(archive, info, METADATA_MAX_BYTES))


# --------------------------------------------------------------------- JSON

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def check_json_size(data: bytes) -> None:
    """Refuse JSON nested too deep or holding too many items, before parsing it.

    Python builds an object per JSON value, many times larger than its text;
    these limits keep metadata.json's objects within a few tens of MB.
    """
    skeleton = _STRING.sub(b'""', data)  # brackets and commas inside strings do not count
    containers = skeleton.count(b"[") + skeleton.count(b"{")
    if containers > METADATA_MAX_CONTAINERS:
        raise Problem(
            f"metadata.json holds {containers} JSON arrays and objects, more than the "
            f"{METADATA_MAX_CONTAINERS} allowed"
        )
    items = skeleton.count(b",") + containers
    if items > METADATA_MAX_ITEMS:
        raise Problem(
            f"metadata.json holds {items} JSON items, more than the {METADATA_MAX_ITEMS} allowed"
        )
    depth = deepest = 0
    for bracket in _BRACKET.finditer(skeleton):
        depth += 1 if bracket.group() in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > METADATA_MAX_DEPTH:
        raise Problem(
            f"metadata.json nests JSON arrays and objects {deepest} deep, more than the "
            f"{METADATA_MAX_DEPTH} allowed"
        )


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed in strict JSON")


def parse_json(data: bytes) -> Any:
    """metadata.json's bytes as a Python value; Problem for anything but bounded strict JSON."""
    check_json_size(data)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Problem(f"metadata.json is not valid JSON ({exc})") from None


# ---------------------------------------------------------------------- .npy


def _npy_header(stream: IO[bytes], member: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """(shape, fortran_order, dtype) of a .npy header; its data is not read."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream, max_header_size=NPY_HEADER_MAX)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream, max_header_size=NPY_HEADER_MAX)
        raise ValueError(f".npy format version {version} is not accepted (1.0 and 2.0 are)")
    except Exception as exc:  # noqa: BLE001 - any failure to parse the header (ValueError,
        # SyntaxError, tokenize.TokenError, RecursionError ...) means it is not a .npy header
        if isinstance(exc, ZIP_ERRORS[:3]):  # the member itself is damaged
            raise
        raise Problem(f"member '{member}' is not a valid .npy array ({exc})") from None


def read_array(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    accepted: tuple[Callable[[np.dtype[Any]], bool], str] | None = None,
) -> AnyArray:
    """One array member, after checking its header against its declaration.

    Parameters
    ----------
    archive : zipfile.ZipFile
    info : zipfile.ZipInfo
    shape : tuple of int
        The declared shape; its size was checked against the file size.
    dtype : numpy.dtype
        The declared dtype.
    accepted : (callable, str), optional
        Which dtypes the member may hold, and how to say so; default:
        little-endian float64 and float32.

    Returns
    -------
    ndarray
        Of the declared dtype and shape, in the member's memory order (C or
        Fortran), decompressed piece by piece straight into the array.
    """
    allowed, text = accepted or FLOAT_ARRAYS
    try:
        with archive.open(info) as member:
            found_shape, fortran, found_dtype = _npy_header(member, info.filename)
            if found_dtype.hasobject or not allowed(found_dtype):
                raise Problem(
                    f"member '{info.filename}' holds an array of dtype '{found_dtype.str}'; "
                    f"only {text} are accepted, and its data was not read"
                )
            if found_dtype != dtype or tuple(found_shape) != tuple(shape):
                raise Problem(
                    f"member '{info.filename}' holds a {_shown(found_dtype)} array of shape "
                    f"{list(found_shape)} but metadata.json declares {_shown(dtype)} {list(shape)}"
                )
            array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
            _fill(member, array.T if fortran else array, info.filename)
            if member.read(1):  # also checks the CRC at the end of the member
                raise Problem(f"member '{info.filename}' has data after its array")
    except ZIP_ERRORS as exc:
        raise Problem(f"member '{info.filename}' is corrupted ({exc})") from None
    return array


def _shown(dtype: np.dtype[Any]) -> str:
    """A dtype as metadata.json names it: 'float64', or a label dtype's string ('<U5')."""
    return dtype.name if dtype in ARRAY_DTYPES.values() else dtype.str


def _fill(member: IO[bytes], array: AnyArray, name: str) -> None:
    """Read ``array.nbytes`` bytes of ``member`` into the C-contiguous ``array``."""
    target = memoryview(array.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
    done = 0
    while done < len(target):
        chunk = member.read(min(READ_CHUNK, len(target) - done))
        if not chunk:
            raise Problem(
                f"member '{name}' is truncated (EOF: reading array data, expected "
                f"{len(target)} bytes got {done})"
            )
        target[done : done + len(chunk)] = chunk
        done += len(chunk)
