"""Type aliases and protocols of gmmkit's annotations, for type checkers.

Modules import these under ``if TYPE_CHECKING:`` only (with ``from __future__
import annotations``), so annotations cost nothing when gmmkit runs: this
module is never imported at run time.

- ``AnyArray``: an array of any dtype (data as given, before validation).
- ``FloatArray``: a floating-point array (float64, or float32 where the working
  dtype may be float32); ``IntArray`` and ``BoolArray`` likewise.
- ``Rows``: the rows of one chunk, a slice or an array of row indices.
- ``Initializer``: a built-in initialiser's name or a plugin's initialiser.
- ``FitInput``: what ``GaussianMixture.fit`` reads (arrays, files, chunk functions).
- ``RandomStateLike``: what ``random_state`` accepts (None, an int, a numpy
  RandomState or Generator).
- ``PathLike``: a file path as a string or an ``os.PathLike``.
- ``WeightPrior``: the prior on the weights of a Bayesian mixture.
- ``RowSource``: what :class:`gmmkit.engine.chunked_data.ChunkedData` reads rows from.
- ``DataSource``: the engine's data protocol (see
  :class:`gmmkit.engine.chunked_data.ChunkedData`), which in-memory, missing-value,
  streamed and Dask data follow.
- ``FittedMixture``: what the posterior maths and the data sources'
  information criteria read of a fitted Gaussian mixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Callable, Protocol, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from gmmkit.engine.chunked_data import ChunkedData
from gmmkit.engine.covariance import CovarianceType
from gmmkit.engine.em import MixtureParams, Stats
from gmmkit.engine.threads import ChunkRunner
from gmmkit.engine.variational import DirichletDistribution, DirichletProcess

AnyArray = NDArray[Any]
FloatArray = NDArray[np.floating[Any]]
IntArray = NDArray[np.integer[Any]]
BoolArray = NDArray[np.bool_]
Rows = Union[slice, IntArray]
#: an initialiser: a built-in name or a plugin's function (resolved by the estimator)
Initializer = Union[str, Callable[..., Any]]
#: what GaussianMixture.fit takes: an array (a Dask array too), a .npy path or a function
#: returning a fresh iterator of 2-D chunks (gmmkit.data.sources)
FitInput = Union[ArrayLike, "os.PathLike[str]", Callable[[], Iterable[ArrayLike]]]
RandomStateLike = Union[None, int, np.integer[Any], np.random.RandomState, np.random.Generator]
PathLike = Union[str, "os.PathLike[str]"]
WeightPrior = Union[DirichletProcess, DirichletDistribution]


_Source = TypeVar("_Source", bound="DataSource")


class RowSource(Protocol):
    """Rows served by slicing (an ndarray, a memmap, the data layer's NpyFile, LazyRows)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    def __getitem__(self, key: Any, /) -> Any: ...


class DataSource(Protocol):
    """What the EM loop needs of its data (:class:`gmmkit.engine.chunked_data.ChunkedData`)."""

    @property
    def center(self) -> FloatArray: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    @property
    def n_samples(self) -> int: ...

    @property
    def n_features(self) -> int: ...

    def with_dtype(self: _Source, dtype: DTypeLike) -> _Source: ...

    def e_step(
        self, cov_type: CovarianceType, params: MixtureParams, runner: ChunkRunner
    ) -> Stats: ...

    def init_data(self, rng: np.random.Generator) -> ChunkedData: ...


class FittedMixture(Protocol):
    """A fitted Gaussian mixture (GaussianMixture, BayesianGaussianMixture), as the
    engine's and data layer's functions read it."""

    covariance_type: str
    reg_covar: float
    weights_: FloatArray
    means_: FloatArray
    covariances_: FloatArray

    def score_samples(self, X: ArrayLike) -> FloatArray: ...
