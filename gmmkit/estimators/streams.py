"""``gmmkit.fit_stream``: online EM (``partial_fit``) over a stream of chunks, with progress.

A stream may be a list or iterator of 2-D arrays, a chunk function, a
``.npy`` path or file memmap (cut into batches of ``batch_size`` rows), an
array, or a Dask array (its row blocks, computed one at a time: online EM
learns from batches in this process). Each batch is one ``partial_fit``
step; ``n_epochs`` passes go over a re-readable stream again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.row_blocks import dask_rows, is_dask, open_rows
from gmmkit.data.validation import check_int

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.engine.types import AnyArray
    from gmmkit.estimators.mixture import GaussianMixture

__all__ = ["fit_stream"]

#: rows per partial_fit batch of a file or an array, when batch_size is None
DEFAULT_BATCH_ROWS = 10_000


def fit_stream(
    model: GaussianMixture,
    chunks: Any,
    *,
    n_epochs: int = 1,
    batch_size: int | None = None,
    noise_bounds: ArrayLike | None = None,
    verbose: bool = True,
) -> GaussianMixture:
    """Run ``model.partial_fit`` over every batch of a stream, with progress on stderr.

    Parameters
    ----------
    model : GaussianMixture
        Fitted or not; ``noise="uniform"`` and ``n_components="auto"`` work
        as in :meth:`GaussianMixture.partial_fit` (on the first batch).
    chunks : list or iterator of 2-D arrays, callable, path, memmap, array or Dask array
        The stream: chunks are batches as they come; a ``.npy`` path, a file
        memmap or an array is cut into batches of ``batch_size`` rows; a Dask
        array's row blocks are computed one at a time.
    n_epochs : int, default=1
        Passes over the stream (more than one needs a stream that can be
        read again: not an iterator).
    batch_size : int, optional
        Rows per batch of a file, an array or a Dask array (its blocks are
        cut too); default 10,000.
    noise_bounds : array-like of shape (n_features, 2), optional
        The noise box, passed to the first ``partial_fit``.
    verbose : bool, default=True
        A line on stderr every 5 seconds and at the end: batches, rows,
        the latest batch's mean log-likelihood.

    Returns
    -------
    GaussianMixture
        ``model``, updated.
    """
    check_int("n_epochs", n_epochs, 1)
    if batch_size is not None:
        check_int("batch_size", batch_size, 1)
    if n_epochs > 1 and isinstance(chunks, Iterator):
        raise TypeError(
            f"n_epochs={n_epochs} reads the stream {n_epochs} times, but an iterator can be "
            "read once; pass a function that returns a fresh iterator of chunks."
        )
    start = last = time.monotonic()
    n_batches = n_rows = 0
    for _ in range(n_epochs):
        for batch in _batches(chunks, batch_size or DEFAULT_BATCH_ROWS):
            first = n_batches == 0 and not model.__sklearn_is_fitted__()
            model.partial_fit(batch, noise_bounds=noise_bounds if first else None)
            n_batches, n_rows = n_batches + 1, n_rows + len(batch)
            now = time.monotonic()
            if verbose and now - last >= 5.0:
                last = now
                _report(model, n_batches, n_rows, now - start)
    if n_batches == 0:
        raise ValueError("the stream yielded no rows; fit_stream needs at least one batch.")
    if verbose:
        _report(model, n_batches, n_rows, time.monotonic() - start)
    return model


def _report(model: GaussianMixture, n_batches: int, n_rows: int, seconds: float) -> None:
    print(f"fit_stream: {n_batches} batches, {n_rows} rows, batch log-likelihood "
          f"{model.lower_bound_:.6g}, {seconds:.1f} s", file=sys.stderr)


def _batches(chunks: Any, batch_size: int) -> Iterator[AnyArray]:
    """The arrays partial_fit gets, in order (a copy of each file block)."""
    if isinstance(chunks, (list, tuple)) and all(np.ndim(c) == 2 for c in chunks):
        yield from chunks
        return
    if is_dask(chunks):
        from gmmkit.data.dask_arrays import compute

        X = dask_rows(chunks, "fitting")
        for block in X.to_delayed().ravel():
            (rows,) = compute(block, what="a batch")
            for s in range(0, len(rows), batch_size):
                yield rows[s : s + batch_size]
        return
    rows = open_rows(chunks)
    for _, block in rows.blocks(batch_size):
        yield np.array(block)  # the reader's buffer is reused by the next block
