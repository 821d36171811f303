"""The uniform noise component (``GaussianMixture(noise="uniform")``).

As in mclust, a mixture can carry one extra component with a constant
density 1/V, V the volume of the training data's bounding box, and a
weight that EM learns like the others. Points far from every Gaussian
are then explained by the noise instead of pulling a Gaussian towards
them: the Gaussians are fitted robustly, and ``predict`` labels noise -1.

The density is the same everywhere, inside the box and outside it (an
improper background density, so that new points beyond the training
range still count as noise rather than getting density 0). With missing
values, a row's noise density is the product of the ranges of its
observed features only, just as its Gaussian densities are marginal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gmmkit.engine.em import MixtureParams
    from gmmkit.engine.types import AnyArray, FloatArray

NOISE_OPTIONS = (None, "uniform")

#: the noise component's weight when EM starts (the Gaussians share the rest)
NOISE_INIT_WEIGHT = 0.1

#: label of points assigned to the noise component by ``predict``
NOISE_LABEL = -1


def check_noise(noise: str | None) -> None:
    """Validate the ``noise`` parameter."""
    if noise not in NOISE_OPTIONS:
        raise ValueError(
            f"noise={noise!r} is not supported; use None (no noise component) or 'uniform'."
        )


def noise_bounds(
    X: AnyArray, sample_weight: FloatArray | None = None, chunk_size: int = 65536
) -> FloatArray:
    """Per-feature (min, max) of X's observed values: ndarray of shape (n_features, 2).

    Rows with zero weight are left out (a weight of 0 means the row is absent).

    Raises
    ------
    ValueError
        When a feature is constant: the box would have no volume.
    """
    low = np.full(X.shape[1], np.inf)
    high = np.full(X.shape[1], -np.inf)
    for start in range(0, X.shape[0], chunk_size):
        chunk = np.asarray(X[start : start + chunk_size], dtype=np.float64)
        if sample_weight is not None:
            chunk = chunk[sample_weight[start : start + chunk_size] > 0]
        with np.errstate(invalid="ignore"), _all_nan_ok():
            low = np.fmin(low, np.nanmin(chunk, axis=0))
            high = np.fmax(high, np.nanmax(chunk, axis=0))
    flat = np.flatnonzero(~(high > low))
    if flat.size:
        raise ValueError(
            f"feature {int(flat[0])} takes a single value, so the noise component's "
            "bounding box has no volume; drop constant features or use noise=None."
        )
    return np.column_stack([low, high])


class _all_nan_ok:
    """Silence numpy's warning for all-NaN columns of a chunk (fmin skips them)."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._catch.__exit__(*exc)


def log_density(bounds: FloatArray) -> FloatArray:
    """Per-feature minus log range: ndarray of shape (n_features,)."""
    return -np.log(bounds[:, 1] - bounds[:, 0])


def add_noise_component(params: MixtureParams, bounds: FloatArray) -> None:
    """Give starting parameters a uniform noise component over ``bounds`` (in place).

    The Gaussians' weights are scaled by 1 - NOISE_INIT_WEIGHT, the noise
    takes NOISE_INIT_WEIGHT and the density of the box (n_features, 2).
    """
    params.weights = params.weights * (1.0 - NOISE_INIT_WEIGHT)
    params.noise_weight = NOISE_INIT_WEIGHT
    params.noise_log_density = log_density(bounds)


def draw_noise(bounds: FloatArray, count: int, rng: np.random.Generator) -> FloatArray:
    """``count`` points drawn uniformly from the box: (count, n_features)."""
    return bounds[:, 0] + rng.uniform(size=(count, len(bounds))) * (bounds[:, 1] - bounds[:, 0])
