"""Readers of out-of-core rows: files read by row range, and chunk functions.

:class:`NpyFile` reads rows of an array stored in a file (a .npy file, or
the file behind a numpy memmap) with explicit positional reads into a
buffer per thread, so that the engine's worker threads read their own
chunks and resident memory stays bounded (a memory map would make every
page it touched count in the process's resident memory).
:class:`ChunkFunction` checks the chunks of a function that returns a fresh
iterable of 2-D arrays each time it is called. Both give ``describe()``
and ``blocks(block_rows)``, which :mod:`gmmkit.data.stream` reads.
"""

from __future__ import annotations

import io
import mmap
import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from gmmkit.data.validation import check_array, feature_names

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from numpy.typing import DTypeLike, NDArray

    from gmmkit.engine.types import AnyArray, PathLike

#: bytes of one sequential read (the check pass, the sample pass, scoring)
READ_BYTES = 4 * 2**20
#: rows of one sequential read at most (the in-memory check reads as many)
READ_ROWS = 65536


def memmap_file(X: np.memmap[Any, Any]) -> NpyFile | None:
    """An :class:`NpyFile` reading the rows of memmap ``X`` from its file, or None.

    None when X cannot be read that way: not 2-D, neither C- nor
    Fortran-contiguous, copy-on-write (its pages may differ from the file),
    empty or closed.
    """
    mapping = getattr(X, "_mmap", None)
    if (
        X.ndim != 2 or X.size == 0 or mapping is None or X.filename is None
        or X.mode == "c" or not (X.flags.c_contiguous or X.flags.f_contiguous)
    ):
        return None
    try:
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    except (ValueError, TypeError):  # a closed mapping
        return None
    # np.memmap maps from the allocation boundary below its offset; slices keep
    # the parent's offset, so the file position comes from the data pointer
    start = X.offset - X.offset % mmap.ALLOCATIONGRANULARITY
    offset = start + X.ctypes.data - base
    return NpyFile(X.filename, offset, X.shape, X.dtype, not X.flags.c_contiguous)


class NpyFile:
    """Rows of an array stored in a file, read on demand (random access by row range).

    Parameters
    ----------
    path : str
    offset : int
        Byte position of element [0, 0] (after the .npy header).
    shape : tuple (n_samples, n_features)
    dtype : numpy dtype
    fortran : bool
        Column-major storage: a row range is then one read per column.

    Reads go into a buffer per thread, reused: an array returned by
    :meth:`read` is valid until the same thread reads again.
    """

    ndim = 2

    def __init__(
        self,
        path: PathLike,
        offset: int,
        shape: Sequence[int],
        dtype: DTypeLike,
        fortran: bool = False,
    ) -> None:
        self.path, self.offset = os.fspath(path), int(offset)
        self.shape, self.dtype, self.fortran = tuple(shape), np.dtype(dtype), bool(fortran)
        self.n_samples = self.shape[0]
        self._init_local()
        needed = self.offset + self.shape[0] * self.shape[1] * self.dtype.itemsize
        size = os.path.getsize(self.path)
        if size < needed:
            raise ValueError(
                f"{self.path} holds {size} bytes but an array of shape {self.shape} and "
                f"dtype {self.dtype} needs {needed}: the file is truncated; write it again."
            )

    @classmethod
    def open(cls, path: PathLike) -> NpyFile:
        """The array of a .npy file (its header read, nothing else)."""
        path = os.fspath(path)
        with open(path, "rb") as file:
            try:
                version = np.lib.format.read_magic(file)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(file)
            except ValueError as exc:
                raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
            offset = file.tell()
        if len(shape) != 2:
            fix = "np.save(path, X.reshape(-1, 1))" if len(shape) == 1 else "a 2-D array"
            raise ValueError(
                f"{path} holds an array of shape {shape}; out-of-core fits need a 2-D "
                f"array (n_samples, n_features): save {fix}."
            )
        if dtype.hasobject or dtype.kind not in "biuf":
            raise ValueError(
                f"{path} holds dtype {dtype}; gmmkit fits numbers: save a numeric array "
                "(float32 or float64), complex values as real and imaginary features."
            )
        if shape[0] == 0 or shape[1] == 0:
            raise ValueError(
                f"{path} is empty: found an array of shape {shape}; a minimum of 1 sample "
                "and 1 feature is required."
            )
        return cls(path, offset, shape, dtype, fortran)

    def _init_local(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._file: io.FileIO | None = None
        self._users = 0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("_local", "_lock", "_file", "_users"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_local()

    def describe(self) -> tuple[int, np.dtype[Any], None]:
        """(n_features, dtype, feature names or None)."""
        return self.shape[1], self.dtype, None

    @contextmanager
    def opened(self) -> Iterator[NpyFile]:
        """Keep the file open for a pass (reads outside one open it each time)."""
        with self._lock:
            if self._users == 0:
                self._file = open(self.path, "rb", buffering=0)
            self._users += 1
        try:
            yield self
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._file is not None:
                    self._file.close()
                    self._file = None

    def __getitem__(self, rows: slice) -> AnyArray:
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("NpyFile reads row ranges only: X[start:stop]")
        start, stop, _ = rows.indices(self.shape[0])
        return self.read(start, max(start, stop))

    def read(self, start: int, stop: int, buffer: AnyArray | None = None) -> AnyArray:
        """Rows start..stop: ndarray (stop - start, n_features).

        Read into ``buffer`` (1-D, at least that many elements of the file's
        dtype), by default this thread's buffer, kept for the next read.
        """
        if self._file is None:
            with self.opened():
                return self.read(start, stop, buffer)
        n_rows, n_features = stop - start, self.shape[1]
        if buffer is None:
            buffer = getattr(self._local, "buffer", None)
            if buffer is None or buffer.size < n_rows * n_features:
                buffer = self._local.buffer = np.empty(n_rows * n_features, self.dtype)
        itemsize = self.dtype.itemsize
        if not self.fortran:
            block = buffer[: n_rows * n_features].reshape(n_rows, n_features)
            self._read_into(block, self.offset + start * n_features * itemsize)
            return block
        columns = buffer[: n_rows * n_features].reshape(n_features, n_rows)
        for j in range(n_features):
            self._read_into(columns[j], self.offset + (j * self.shape[0] + start) * itemsize)
        return columns.T

    def _read_into(self, array: AnyArray, position: int) -> None:
        view = memoryview(array).cast("B")  # type: ignore[arg-type]  # (an ndarray is a buffer)
        file = self._file
        assert file is not None  # (read() opens it)
        while view.nbytes:
            if hasattr(os, "preadv"):  # positional: the threads share one descriptor
                count = os.preadv(file.fileno(), [view], position)
            else:
                with self._lock:
                    file.seek(position)
                    count = file.readinto(view)
            if not count:
                raise ValueError(f"{self.path} ended early: the file was truncated during the fit")
            view, position = view[count:], position + count

    def blocks(self, block_rows: int) -> Iterator[tuple[int, AnyArray]]:
        """(start, rows) of consecutive row blocks of ``block_rows``, in order.

        A block is valid until the next one (they share one buffer, freed after the pass).
        """
        n_samples = self.shape[0]
        buffer = np.empty(min(block_rows, n_samples) * self.shape[1], self.dtype)
        with self.opened():
            for start in range(0, n_samples, block_rows):
                yield start, self.read(start, min(start + block_rows, n_samples), buffer)


class ChunkFunction:
    """The chunks of a function that returns a fresh iterable of 2-D arrays per call.

    ``n_samples`` is None until a pass has counted the rows; every later
    pass must yield as many.
    """

    def __init__(self, function: Callable[[], Iterable[Any]]) -> None:
        self.function = function
        self.n_samples: int | None = None
        self.n_features: int | None = None
        self.dtype: np.dtype[Any] | None = None
        self.feature_names: NDArray[np.object_] | None = None

    def describe(self) -> tuple[int, np.dtype[Any], NDArray[np.object_] | None]:
        """(n_features, dtype, feature names or None), from the first chunk."""
        if self.n_features is None:
            for _ in self.blocks():
                break
            else:
                raise ValueError("the chunk function yielded no rows; X is empty.")
        assert self.n_features is not None and self.dtype is not None  # (the first chunk's)
        return self.n_features, self.dtype, self.feature_names

    def blocks(self, block_rows: int | None = None) -> Iterator[tuple[int, AnyArray]]:
        """(start, chunk) of every non-empty chunk of one call, checked (2-D, numeric)."""
        chunks = self.function()
        try:
            chunks = iter(chunks)
        except TypeError:
            raise TypeError(
                f"the chunk function returned {type(chunks).__name__}; it must return an "
                "iterable of 2-D arrays (e.g. a generator) each time it is called."
            ) from None
        start = 0
        for index, raw in enumerate(chunks):
            if len(np.shape(raw)) == 2 and np.shape(raw)[0] == 0:
                continue
            chunk = check_array(raw, name=f"chunk {index} of X")
            if self.n_features is None:
                self.n_features, self.dtype = chunk.shape[1], chunk.dtype
                self.feature_names = feature_names(raw)
            elif chunk.shape[1] != self.n_features:
                raise ValueError(
                    f"chunk {index} of X has {chunk.shape[1]} features but the first has "
                    f"{self.n_features}; every chunk must have the same columns."
                )
            yield start, chunk
            start += chunk.shape[0]
        if self.n_samples is None:
            self.n_samples = start
        elif start != self.n_samples:
            raise ValueError(
                f"the chunk function yielded {start} rows in this pass but "
                f"{self.n_samples} in the first; it must return a fresh iterator over the "
                "same chunks every time it is called (EM reads the data once per iteration)."
            )


@overload
def read_rows(reader: NpyFile) -> int: ...


@overload
def read_rows(reader: ChunkFunction) -> None: ...


@overload
def read_rows(reader: NpyFile | ChunkFunction) -> int | None: ...


def read_rows(reader: NpyFile | ChunkFunction) -> int | None:
    """Rows of one read of the check and sample passes (bounded by READ_BYTES)."""
    if not isinstance(reader, NpyFile):
        return None  # the function's own chunks
    row_bytes = reader.shape[1] * reader.dtype.itemsize
    return int(max(1, min(READ_ROWS, READ_BYTES // row_bytes)))


def read_blocks(reader: NpyFile | ChunkFunction) -> Iterator[tuple[int, AnyArray]]:
    """(start, block) of one sequential pass: blocks of :func:`read_rows` rows, or the
    function's own chunks."""
    if isinstance(reader, NpyFile):
        return reader.blocks(read_rows(reader))
    return reader.blocks()
