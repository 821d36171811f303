"""Rows to predict or score, block by block: .npy files, file memmaps, chunk functions, Dask.

``fit`` reads these inputs through :mod:`gmmkit.data.sources`; the methods
of a fitted model (``predict``, ``score_samples``, ``score`` ...) read them
here. They need one pass, in order, with bounded memory:

- :func:`open_rows` gives a :class:`RowBlocks` for a ``.npy`` path, a file
  memmap, a chunk function, a one-shot iterator of chunks (one pass is all
  a prediction needs) or an in-memory array (when the result goes to a
  file); its ``blocks()`` yields ``(start, rows)`` in order;
- :func:`dask_rows` checks a Dask array and puts its columns in one block;
- :func:`block_error` turns the non-finite error of a block into one that
  names the row of the whole input.

Nothing here knows an estimator: the estimators' methods pass a function
of an in-memory block (:mod:`gmmkit.estimators.rowwise`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.sources import is_stream
from gmmkit.data.stream_readers import ChunkFunction, NpyFile

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TypeGuard

    import dask.array as da
    from numpy.typing import NDArray

    from gmmkit.engine.types import AnyArray

#: bytes and rows of one block a method reads from a file or an array at most
MAP_BYTES = 16 * 2**20
MAP_ROWS = 262144

__all__ = ["RowBlocks", "block_error", "dask_rows", "is_dask", "is_out_of_memory", "open_rows"]


def is_dask(X: object) -> TypeGuard[da.Array]:
    """True for a ``dask.array.Array`` (without importing Dask)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


def is_out_of_memory(X: object) -> bool:
    """True for the inputs the methods read block by block rather than as one array.

    A .npy path, a file memmap, a chunk function, an iterator of chunks, a
    Dask array; also any other path (str or os.PathLike), which
    :func:`open_rows` refuses with a message naming the fix.
    """
    return is_dask(X) or isinstance(X, (str, os.PathLike)) or is_stream(X)


class RowBlocks:
    """The rows of an input, read once in order, a bounded block at a time.

    Attributes
    ----------
    n_samples : int or None
        None for chunk functions and iterators until a pass has counted them.
    n_features : int
    dtype : numpy dtype
        Of the file, or of the first chunk.
    feature_names : ndarray or None
        Column names of the first chunk when it is a DataFrame.
    """

    def __init__(
        self, reader: NpyFile | ChunkFunction | None, array: AnyArray | None = None
    ) -> None:
        self._reader, self._array = reader, array
        if array is not None:
            self.n_samples: int | None = int(array.shape[0])
            self.n_features, self.dtype = int(array.shape[1]), array.dtype
            self.feature_names: NDArray[np.object_] | None = None
        else:
            assert reader is not None
            self.n_features, self.dtype, self.feature_names = reader.describe()
            self.n_samples = reader.n_samples

    @property
    def block_rows(self) -> int:
        """Rows of one block of a file or an array: about MAP_BYTES of the input.

        Large enough that a method's chunks keep every engine thread busy
        between two blocks, small enough to bound the memory.
        """
        row_bytes = max(1, self.n_features * self.dtype.itemsize)
        return int(max(1, min(MAP_ROWS, MAP_BYTES // row_bytes)))

    def blocks(self, rows: int | None = None) -> Iterator[tuple[int, AnyArray]]:
        """(start, rows) in order; a block is valid until the next one is read.

        ``rows``: rows per block of a file or an array (default
        :attr:`block_rows`); a chunk function's blocks are its own chunks.
        """
        step = rows or self.block_rows
        if self._array is not None:
            return ((s, self._array[s : s + step]) for s in range(0, len(self._array), step))
        assert self._reader is not None
        if isinstance(self._reader, NpyFile):
            return self._reader.blocks(step)
        return self._reader.blocks()


def open_rows(X: object) -> RowBlocks:
    """The rows of X for one ordered pass.

    Parameters
    ----------
    X : str, os.PathLike, numpy.memmap, callable, iterator or array-like
        A ``.npy`` path of shape (n_samples, n_features); a memmap of a
        file; a function returning an iterable of 2-D chunks; an iterator of
        2-D chunks (read once); an in-memory array (2-D, checked).

    Returns
    -------
    RowBlocks

    Raises
    ------
    ValueError
        For a path that is not a .npy file, a memmap that cannot be read
        from its file, or data that are not numeric 2-D rows.
    """
    from gmmkit.data.stream import open_stream
    from gmmkit.data.validation import check_array

    if isinstance(X, (str, os.PathLike)) and not os.fspath(X).endswith(".npy"):
        path = os.fsdecode(X)
        raise ValueError(
            f"X is the path {path!r}, which is not a .npy file; gmmkit reads files of rows "
            "as .npy only: convert it once, e.g. np.save('rows.npy', "
            f"gmmkit.read_data({path!r}).data), or pass the rows as an array."
        )
    if isinstance(X, Iterator):  # one pass is all a prediction needs
        first = _first_chunk(X)
        calls: list[bool] = []

        def once() -> Iterable[Any]:
            calls.append(True)
            if len(calls) == 1:  # describe(): the first chunk only
                return [first]
            if len(calls) == 2:  # the pass
                return chain([first], X)
            raise TypeError(
                "an iterator of chunks can be read once; pass a function that returns "
                "a fresh iterator each time it is called."
            )

        return RowBlocks(ChunkFunction(once))
    if is_stream(X):
        return RowBlocks(open_stream(X).reader)
    return RowBlocks(None, check_array(X))


def _first_chunk(chunks: Iterator[Any]) -> Any:
    for chunk in chunks:
        return chunk
    raise ValueError("the iterator of chunks yielded no rows; X is empty.")


def dask_rows(X: da.Array, what: str = "predicting") -> da.Array:
    """X checked as a 2-D numeric Dask array of known shape, its columns in one block.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    what : str
        What is done with it, for the message ("predicting", "scoring").

    Raises
    ------
    ValueError
        "X has unknown chunk sizes ...; call X.compute_chunk_sizes() before
        predicting." and the other checks of fitted Dask arrays.
    """
    from gmmkit.data.dask_checks import check_dask_array

    try:
        return check_dask_array(X)
    except ValueError as exc:
        message = str(exc)
        if message.endswith("before fitting."):
            raise ValueError(message.replace("before fitting.", f"before {what}.")) from None
        raise


def block_error(exc: ValueError, start: int, n_rows: int) -> ValueError | None:
    """The non-finite error of rows ``start .. start + n_rows`` as one of the whole input.

    ``exc`` is the error the in-memory methods raise for NaN or infinity
    (it carries ``non_finite = (kind, rows, first)``, first 0-based in the
    block); None for any other error.
    """
    details = getattr(exc, "non_finite", None)
    if details is None:
        return None
    kind, _, first = details
    fix = str(exc).split("); ", 1)[-1]
    error = ValueError(
        f"X contains {kind} in row {start + first} (0-based, the first such row; reading "
        f"stopped there); {fix}"
    )
    error.non_finite = (kind, None, start + first)  # type: ignore[attr-defined]
    return error
