"""Row-wise methods on data that is not one in-memory array: files, streams, Dask arrays.

Every method of a fitted model whose result for a row depends only on that
row (``predict``, ``predict_proba``, ``score_samples``, the classifier's and
regressor's ``predict``, ``impute``, an outlier detector's
``decision_function``) takes the inputs ``fit`` takes. The estimators call
:func:`method_rows` at the top of such a method when :func:`in_memory` says
X is not an in-memory array (or the result goes to a file); the in-memory
method then runs on each block. Reductions (``score``, ``bic``, ``aic``,
accuracy) use :func:`weighted_sum`, which never holds the per-row results.

- a ``.npy`` path, a file memmap, a chunk function or an iterator of
  chunks: read block by block (:mod:`gmmkit.data.row_blocks`), the results
  concatenated into an array, or written to ``out`` (a ``.npy`` path) a
  block at a time, so memory is bounded by a block;
- a Dask array: a lazy Dask array, one ``map_blocks`` task per row block,
  the function (and the model in it) one key of the graph; with ``out``
  its blocks are computed a few at a time and written in order.

:func:`map_rows` is the public form (``gmmkit.map_rows``) for functions of
rows that are not a gmmkit method (plugins' estimators).
"""

from __future__ import annotations

import os
import warnings
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.row_blocks import block_error, dask_rows, is_dask, is_out_of_memory, open_rows
from gmmkit.data.validation import check_n_features, check_sample_weight
from gmmkit.outputs import atomic_write, check_target

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import BinaryIO

    import dask.array as da
    from numpy.typing import ArrayLike
    from typing_extensions import TypeIs

    from gmmkit.engine.types import AnyArray, FitInput, PathLike
    from gmmkit.estimators.base import EstimatorBase

    #: progress(rows done, rows in all or None)
    Progress = Callable[[int, "int | None"], None]

__all__ = [
    "NpyWriter", "bound_method", "computed", "fitted_sum", "in_memory", "is_large_input",
    "map_rows", "method_rows", "result_blocks", "weighted_sum",
]

#: blocks of a Dask result computed together when it is written to a file
DASK_WRITE_BATCH = 8
#: bytes of the .npy header written by NpyWriter (room for any shape)
HEADER_BYTES = 128


def computed(result: Any) -> Any:
    """A lazy Dask result computed (on the cluster); any other result as it is."""
    if is_dask(result):
        return compute(result, what="the predictions")[0]
    return result


def is_large_input(X: object) -> bool:
    """True for the inputs :func:`map_rows` reads block by block rather than as one array.

    A ``.npy`` path (any other path too, which :func:`map_rows` refuses with
    the fix), a file memmap, a chunk function, an iterator of chunks, a
    Dask array. Plugins' estimators test it at the top of a row-wise method.
    """
    return is_out_of_memory(X)


def in_memory(X: FitInput, out: PathLike | None = None) -> TypeIs[ArrayLike]:
    """False when a method must read X block by block (or write its result to ``out``).

    True for arrays (X is then ``ArrayLike`` for type checkers): the
    method's in-memory path runs.
    """
    return out is None and not is_large_input(X)


# ------------------------------------------------------------------ the public map


def map_rows(
    function: Callable[[AnyArray], AnyArray],
    X: object,
    *,
    n_features: int | None = None,
    out: PathLike | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    name: str = "the model",
) -> Any:
    """Apply a row-wise function to X block by block, on any input ``fit`` takes.

    Parameters
    ----------
    function : callable
        ``function(rows) -> result``: rows an ndarray (n_rows, n_features),
        result an ndarray whose first axis has n_rows entries. The result
        of a row must depend only on that row.
    X : array-like, str, os.PathLike, numpy.memmap, callable, iterator or dask.array.Array
        A ``.npy`` path, a file memmap, a function returning an iterable of
        2-D chunks, an iterator of chunks (read once), a Dask array, or an
        in-memory array.
    n_features : int, optional
        Refuse X unless it has this many columns.
    out : str or os.PathLike, optional
        Write the result to this ``.npy`` file, a block at a time (the file
        appears when the pass has succeeded), and return it memory-mapped.
    overwrite : bool, default=False
        Replace ``out`` when it exists.
    progress : callable, optional
        ``progress(rows_done, n_samples)`` after every block (n_samples
        None when unknown); not called for a lazy Dask result.
    name : str
        Who expects ``n_features`` (the feature-count message names it).

    Returns
    -------
    ndarray, numpy.memmap or dask.array.Array
        The results in the order of X's rows: an ndarray; with ``out`` the
        file memory-mapped read-only; for a Dask X without ``out``, a lazy
        Dask array with X's row chunks.
    """
    if out is not None and not os.fspath(out).endswith(".npy"):
        raise ValueError(f"out={os.fsdecode(out)!r} must be a .npy path (the results are "
                         "written as a .npy array).")
    if is_dask(X) and out is None:
        X = dask_rows(X)
        _check_columns(X.shape[1], n_features, name)
        return dask_map(function, X)
    if out is not None:
        check_target(out, inputs=_input_paths(X), overwrite=overwrite)  # before any work
    results, n_samples = result_blocks(function, X, n_features=n_features, name=name)
    if out is not None:
        return _write(out, overwrite, results, progress, n_samples, _input_paths(X))
    parts = []
    done = 0
    for part in results:
        parts.append(part)
        done += len(part)
        if progress is not None:
            progress(done, n_samples)
    return np.concatenate(parts)


def result_blocks(
    function: Callable[[AnyArray], AnyArray],
    X: object,
    *,
    n_features: int | None = None,
    name: str = "the model",
) -> tuple[Iterator[AnyArray], int | None]:
    """The results of ``function`` on X's row blocks, in order, one block at a time.

    Returns
    -------
    blocks : iterator of ndarray
        A Dask array's blocks are computed ``DASK_WRITE_BATCH`` at a time
        on its scheduler; the other inputs are read a block at a time.
    n_samples : int or None
        The rows of X (None for a chunk function not read yet).
    """
    if is_dask(X):
        X = dask_rows(X)
        _check_columns(X.shape[1], n_features, name)
        return _dask_blocks(dask_map(function, X)), int(X.shape[0])
    rows = open_rows(X)
    _check_columns(rows.n_features, n_features, name)
    return _local_blocks(function, rows.blocks()), rows.n_samples


def _input_paths(X: object) -> list[str]:
    """The files X is read from (a path, or a memmap's file): no output may be one."""
    if isinstance(X, (str, os.PathLike)):
        return [os.fsdecode(X)]
    filename = getattr(X, "filename", None)
    return [os.fsdecode(filename)] if isinstance(X, np.memmap) and filename else []


def _check_columns(found: int, expected: int | None, name: str) -> None:
    if expected is not None:
        check_n_features(np.empty((0, found)), expected, name)


def _local_blocks(
    function: Callable[[AnyArray], AnyArray], blocks: Iterator[tuple[int, AnyArray]]
) -> Iterator[AnyArray]:
    for start, block in blocks:
        yield apply_block(block, function, start)


def apply_block(
    block: AnyArray,
    function: Callable[[AnyArray], AnyArray],
    start: int = 0,
    block_info: dict[Any, Any] | None = None,
) -> AnyArray:
    """``function(block)``, a NaN error naming the row of the whole input.

    ``start`` is the block's first row; on a Dask worker it comes from
    ``block_info`` (map_blocks passes it).
    """
    if block_info is not None:
        start = int(block_info[0]["array-location"][0][0])
    try:
        return np.asarray(function(block))
    except ValueError as exc:
        error = block_error(exc, start, len(block))
        if error is None:
            raise
        raise error from None


# ------------------------------------------------------------------ Dask


def dask_map(function: Callable[[AnyArray], AnyArray], X: da.Array) -> da.Array:
    """The lazy result of ``function`` on every row block of X (columns in one block).

    ``function`` enters the graph once, as one key every block task reads.
    Its output's dtype and trailing shape come from one call on a row of
    zeros (no row of X is read).
    """
    import dask

    probe = np.asarray(function(np.zeros((1, X.shape[1]), dtype=X.dtype)))
    shared = dask.delayed(function, pure=True, traverse=False)
    chunks = (X.chunks[0], *((size,) for size in probe.shape[1:]))
    kwargs: dict[str, Any] = {"dtype": probe.dtype, "chunks": chunks, "meta": probe[:0]}
    if probe.ndim == 1:
        kwargs["drop_axis"] = 1
    elif probe.ndim > 2:
        kwargs["new_axis"] = list(range(2, probe.ndim))
    return X.map_blocks(apply_block, shared, **kwargs)  # type: ignore[arg-type]  # (dask's stubs)


def _dask_blocks(lazy: da.Array) -> Iterator[AnyArray]:
    """The row blocks of a lazy result, computed DASK_WRITE_BATCH at a time, in order."""
    blocks = [lazy.blocks[i] for i in range(lazy.numblocks[0])]
    for first in range(0, len(blocks), DASK_WRITE_BATCH):
        yield from compute(*blocks[first : first + DASK_WRITE_BATCH], what="the results")


def compute(*values: Any, what: str) -> tuple[Any, ...]:
    """``dask.compute(*values)``: bad rows raise their ValueError, other failures a
    :class:`gmmkit.data.dask_arrays.DaskComputationError` naming ``what``."""
    import dask

    from gmmkit.data.dask_arrays import DaskComputationError

    try:
        return dask.compute(*values)
    except ValueError as exc:
        if getattr(exc, "non_finite", None) is None:
            raise
        raise ValueError(str(exc)) from None
    except Exception as exc:
        raise DaskComputationError(
            f"the Dask computation of {what} failed ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}); check that the cluster's workers are running, "
            "can read the data and have enough memory (their logs tell), then run it again."
        ) from exc


# ------------------------------------------------------------------ .npy output


class NpyWriter:
    """A .npy file written a block of rows at a time; the header is fixed at the end.

    Parameters
    ----------
    file : binary file
        Open for writing at its start.
    """

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.n_rows = 0
        self.dtype: np.dtype[Any] | None = None
        self.tail: tuple[int, ...] = ()

    def write(self, block: AnyArray) -> None:
        """Append rows: ndarray (n_rows, ...), the same dtype and trailing shape each time."""
        if self.dtype is None:
            self.dtype, self.tail = block.dtype, block.shape[1:]
            self._header()
        elif block.dtype != self.dtype or block.shape[1:] != self.tail:
            raise ValueError(
                f"the results of a block have dtype {block.dtype} and shape "
                f"{block.shape}, but the first block's had {self.dtype} and (n, *{self.tail}); "
                "a row-wise function must return the same layout for every block."
            )
        np.ascontiguousarray(block).tofile(self.file)
        self.n_rows += len(block)

    def close(self) -> None:
        """Write the final header (the shape with every row)."""
        if self.dtype is None:
            raise ValueError("no rows were read; X is empty.")
        self.file.seek(0)
        self._header()

    def _header(self) -> None:
        assert self.dtype is not None
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (self.n_rows, *self.tail),
        }
        text = repr(header).encode("latin1")
        padding = HEADER_BYTES - 10 - len(text) - 1
        if padding < 0:
            raise ValueError(f"the results' layout {header} does not fit a .npy header")
        self.file.write(b"\x93NUMPY\x01\x00")
        self.file.write(np.uint16(HEADER_BYTES - 10).tobytes())
        self.file.write(text + b" " * padding + b"\n")


def _write(
    out: PathLike,
    overwrite: bool,
    results: Iterator[AnyArray],
    progress: Progress | None,
    n_samples: int | None,
    inputs: list[str],
) -> np.memmap[Any, Any]:
    """Write the blocks of ``results`` to ``out`` (all or nothing); return it memory-mapped.

    ``out`` may not be one of ``inputs`` (the files X is read from).
    """
    with atomic_write(out, overwrite=overwrite, inputs=inputs) as temporary, \
            open(temporary, "wb") as file:
        writer = NpyWriter(file)
        for part in results:
            writer.write(part)
            if progress is not None:
                progress(writer.n_rows, n_samples)
        writer.close()
    return np.load(out, mmap_mode="r")


# ------------------------------------------------------------------ estimator methods


def method_rows(
    estimator: EstimatorBase,
    method: str,
    X: object,
    *,
    out: PathLike | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    **kwargs: Any,
) -> Any:
    """``estimator.<method>(X, **kwargs)`` on X block by block (see :func:`map_rows`).

    The estimator is checked fitted and X against it (its feature count,
    and its column names when X is a DataFrame or yields DataFrames).
    """
    estimator.check_is_fitted()
    name = type(estimator).__name__
    function = bound_method(estimator, method, **kwargs)
    return map_rows(function, X, n_features=estimator.n_features_in_, out=out,
                    overwrite=overwrite, progress=progress, name=name)


def bound_method(estimator: object, method: str, **kwargs: Any) -> Callable[[AnyArray], Any]:
    """``rows -> estimator.<method>(rows, **kwargs)`` for a block of rows (picklable).

    The feature-name warning is silenced: the blocks of a file come as arrays.
    """
    return partial(_call_method, estimator, method, kwargs)


def _call_method(estimator: Any, method: str, kwargs: dict[str, Any], rows: AnyArray) -> Any:
    with warnings.catch_warnings():  # the names were checked once: blocks come as arrays
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        return getattr(estimator, method)(rows, **kwargs)


def weighted_sum(
    function: Callable[[AnyArray], AnyArray],
    X: object,
    sample_weight: ArrayLike | None = None,
    *,
    n_features: int | None = None,
    name: str = "the model",
) -> tuple[float, float]:
    """(sum_n w_n f(x_n), sum_n w_n) of a row-wise function, without the per-row results.

    Parameters
    ----------
    function : callable
        ``function(rows) -> ndarray (n_rows,)``.
    X : as :func:`map_rows`
    sample_weight : array-like of shape (n_samples,), dask.array.Array or None
    n_features : int, optional

    Returns
    -------
    (float, float)
    """
    if is_dask(X):
        return _dask_sum(function, dask_rows(X, "scoring"), sample_weight, n_features, name)
    rows = open_rows(X)
    _check_columns(rows.n_features, n_features, name)
    weights = None
    if sample_weight is not None and rows.n_samples is not None:
        weights = check_sample_weight(sample_weight, rows.n_samples)
    elif sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
    total = weight = 0.0
    n_rows, short = 0, False
    for start, block in rows.blocks():
        n_rows = start + len(block)
        if short:
            continue  # too few weights: only count the rows, for the message
        part = apply_block(block, function, start)
        if weights is None:
            total += float(part.sum())
            weight += len(part)
            continue
        w = weights[start : start + len(part)]
        short = len(w) != len(part)
        if not short:
            total += float(w @ part)
            weight += float(w.sum())
    if weights is not None:
        check_sample_weight(weights, n_rows)
    return total, weight


def _dask_sum(
    function: Callable[[AnyArray], AnyArray],
    X: da.Array,
    sample_weight: ArrayLike | da.Array | None,
    n_features: int | None,
    name: str,
) -> tuple[float, float]:
    """:func:`weighted_sum` of a Dask array: partial sums in a tree, two floats to the client."""
    import dask.array as da

    from gmmkit.data.dask_checks import aligned_weights

    _check_columns(X.shape[1], n_features, name)
    values = dask_map(function, X)
    weights = aligned_weights(sample_weight, X)
    if weights is None:
        (total,) = compute(values.sum(), what="the log-likelihood")
        return float(total), float(X.shape[0])
    total, weight = compute(da.dot(weights, values), weights.sum(), what="the log-likelihood")
    return float(total), float(weight)


def fitted_sum(
    estimator: EstimatorBase, method: str, X: object, sample_weight: ArrayLike | None = None
) -> tuple[float, float]:
    """(sum_n w_n estimator.<method>(x_n), sum_n w_n) on X block by block."""
    estimator.check_is_fitted()
    return weighted_sum(bound_method(estimator, method), X, sample_weight,
                        n_features=estimator.n_features_in_, name=type(estimator).__name__)
