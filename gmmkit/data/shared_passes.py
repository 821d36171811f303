"""One pass over the data feeds the E-steps of several fits (model selection at scale).

``select_model`` and ``n_components="auto"`` on a file, a chunk function or
a Dask array fit a grid of models. Each fit is an ordinary
``GaussianMixture.fit`` on a :class:`SharedSource`, in a thread of its own;
its EM loop asks the data for an E-step as usual. :class:`SharedPasses`
holds every request until each running fit has asked, then serves them all
from one pass: every block of the file (or chunk of the function) is read
once and each requested E-step runs on it; on a Dask array the pass is one
computation whose block tasks compute every fit's statistics, so the grid's
fits run on the cluster together and only their statistics come back.

The fits also share the rows their initialisers see: one random sample of
at most ``KMEANS_MAX_ROWS`` rows, drawn once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.data.sources import PreparedSource
from gmmkit.data.stream_readers import read_blocks
from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.engine.threads import ChunkRunner

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from gmmkit.data.settings import DataSettings
    from gmmkit.engine.covariance import CovarianceType
    from gmmkit.engine.em import MixtureParams, Stats
    from gmmkit.engine.types import FloatArray

#: an E-step request: (covariance type name, parameters, working dtype)
Request = tuple[str, "MixtureParams", np.dtype]


class SharedPasses:
    """E-steps of several fits served together, one pass of the data for all of them.

    Parameters
    ----------
    data : StreamedFile, StreamedChunks or DaskData
        The prepared data (``source.prepare(...)[0]``).
    names : ndarray or None
    bounds : ndarray of shape (n_features, 2) or None
        The noise box.
    n_fits : int
        The fits that will ask (each calls :meth:`done` when it ends).
    sample_seed : int
        Seeds the one sample every initialiser sees.
    """

    def __init__(self, data: Any, names: Any, bounds: FloatArray | None, n_fits: int,
                 sample_seed: int) -> None:
        self.data, self.names, self.bounds = data, names, bounds
        self.active = n_fits
        self.passes = 0
        self._condition = threading.Condition()
        self._requests: list[Request] = []
        self._results: dict[int, list[Stats]] = {}
        self._failure: BaseException | None = None
        self.sample = _materialised(data.init_data(np.random.default_rng(sample_seed)))

    def source(self) -> SharedSource:
        """What one fit is given as X: ``GaussianMixture(...).fit(passes.source())``."""
        return SharedSource(self)

    def e_step(self, request: Request) -> Stats:
        """Wait until every running fit has asked; the Stats of this request."""
        with self._condition:
            generation, ticket = self.passes, len(self._requests)
            self._requests.append(request)
            self._run_if_complete()
            while self.passes == generation and self._failure is None:
                self._condition.wait()
            if self._failure is not None:
                raise RuntimeError("the shared data pass failed") from self._failure
            results = self._results[generation]
            stats = results[ticket]
            return stats

    def done(self) -> None:
        """A fit has ended: it asks for no more E-steps."""
        with self._condition:
            self.active -= 1
            self._run_if_complete()

    def _run_if_complete(self) -> None:
        if not self._requests or len(self._requests) < self.active:
            return
        requests, self._requests = self._requests, []
        try:
            self._results[self.passes] = self.run(requests)
        except BaseException as exc:  # every waiting fit fails with it
            self._failure = exc
            self._condition.notify_all()
            raise
        self._results.pop(self.passes - 1, None)  # (read by every waiter of that pass)
        self.passes += 1
        self._condition.notify_all()

    def run(self, requests: list[Request]) -> list[Stats]:
        """One pass: the summed Stats of every request (also the final scoring pass)."""
        if hasattr(self.data, "e_step_graph"):  # a Dask array
            return _dask_pass(self.data, requests)
        totals: list[Stats | None] = [None] * len(requests)
        weights = self.data.sample_weight
        with ChunkRunner() as runner:
            for start, block in read_blocks(self.data.reader):
                w = None if weights is None else weights[start : start + block.shape[0]]
                for i, (name, params, dtype) in enumerate(requests):
                    view = ChunkedData(block, w, self.data.center, dtype, self.data.chunk_size)
                    part = view.e_step(get_covariance_type(name), params, runner)
                    totals[i] = part if totals[i] is None else totals[i] + part  # type: ignore[operator]
        assert all(t is not None for t in totals)  # (the data have rows)
        return totals  # type: ignore[return-value]


def _materialised(sample: Any) -> ChunkedData:
    """The initialisers' rows read now (lazy samples are drawn once, not per fit)."""
    weights = sample.sample_weight
    return ChunkedData(np.asarray(sample.X), None if weights is None else np.asarray(weights),
                       sample.center, sample.dtype, sample.chunk_size)


def _dask_pass(data: Any, requests: list[Request]) -> list[Stats]:
    """One Dask computation: each block task computes every request's Stats."""
    import dask

    from gmmkit.data.dask_arrays import (
        compute,
        dask_call,
        row_blocks,
        tree_reduce,
        weight_blocks,
    )

    shared = dask.delayed((requests, data.center, data.chunk_size), pure=False, traverse=False)
    parts = [dask_call(_block_e_steps, x, w, shared)
             for x, w in zip(row_blocks(data.X), weight_blocks(data.sample_weight, data.X))]
    (totals,) = compute(tree_reduce(parts, _add_lists), what="an EM iteration of the grid")
    return totals


def _block_e_steps(x: ArrayLike, w: ArrayLike | None, shared: Any) -> list[Stats] | None:
    """Every request's Stats of one block (on a worker)."""
    requests, center, chunk_size = shared
    x = np.asarray(x)
    if x.shape[0] == 0:
        return None
    w = None if w is None else np.asarray(w, dtype=np.float64)
    with ChunkRunner(n_threads=1) as runner:
        return [ChunkedData(x, w, center, dtype, chunk_size).e_step(
                    get_covariance_type(name), params, runner)
                for name, params, dtype in requests]


def _add_lists(*parts: list[Stats] | None) -> list[Stats] | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return [sum(column[1:], column[0]) for column in zip(*present)]


class SharedSource(PreparedSource):
    """One fit's X: the shared data (see :func:`gmmkit.data.sources.open_source`)."""

    def __init__(self, passes: SharedPasses) -> None:
        self.passes = passes

    def prepare(self, settings: DataSettings, sample_weight: Any) -> tuple[Any, Any, Any]:
        """(data, names, noise box) for the fit: a :class:`SharedView` in its working dtype."""
        data = self.passes.data
        view = SharedView(self.passes, settings.work_dtype(_source_dtype(data)))
        return view, self.passes.names, self.passes.bounds


def _source_dtype(data: Any) -> np.dtype[Any]:
    reader = getattr(data, "reader", None)
    dtype = getattr(reader, "dtype", None) or getattr(data.X, "dtype", np.float64)
    return np.dtype(dtype).newbyteorder("=")


@dataclass
class SharedView:
    """The engine data one fit sees: its E-steps go through :class:`SharedPasses`."""

    passes: SharedPasses
    dtype: np.dtype

    #: restarts with n_jobs stay in this process (they share the passes)
    picklable = False

    def __getattr__(self, name: str) -> Any:  # center, n_samples, n_features, reader, X ...
        if name.startswith("__") or name in ("passes", "dtype"):
            raise AttributeError(name)
        return getattr(self.passes.data, name)

    def with_dtype(self, dtype: DTypeLike) -> SharedView:
        """The same data, E-steps in another working dtype (the float32 guard)."""
        return SharedView(self.passes, np.dtype(dtype))

    def e_step(self, cov_type: CovarianceType, params: MixtureParams, runner: Any) -> Stats:
        """This fit's E-step, served with the other fits' in one pass."""
        return self.passes.e_step((cov_type.name, params, self.dtype))

    def init_data(self, rng: np.random.Generator) -> ChunkedData:
        """The shared sample of the rows, in this fit's dtype."""
        sample = self.passes.sample
        return ChunkedData(sample.X, sample.sample_weight, sample.center, self.dtype,
                           sample.chunk_size)


__all__ = ["SharedPasses", "SharedSource", "SharedView"]
