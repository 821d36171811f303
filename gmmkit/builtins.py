"""gmmkit's own plugin: what the core registers through its own hooks.

Registered first by every plugin manager under the name ``gmmkit``, so the
core's names win over a plugin's that collide, and the core readers are
asked last (``trylast``) so plugins can read a file type better.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gmmkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gmmkit.data.dataset import Dataset
    from gmmkit.engine.types import FloatArray, IntArray
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.plugins.hookspecs import Register


def identity(X: ArrayLike) -> FloatArray:
    """The input columns as they are (a numeric table of shape (n_samples, n_features))."""
    from gmmkit.data.validation import check_array

    return check_array(X)


def standardize(X: ArrayLike) -> FloatArray:
    """Every column shifted to mean 0 and scaled to standard deviation 1.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features), float64
        The mean and standard deviation of a column are those of its values
        that are not NaN; a NaN stays NaN in its own cell. Constant columns
        become 0, columns without a value stay NaN.
    """
    from gmmkit.data.validation import check_array

    X = check_array(X).astype(np.float64)
    mean = np.full(X.shape[1], np.nan)
    scale = np.full(X.shape[1], np.nan)
    observed = ~np.isnan(X).all(axis=0)  # nanmean of an all-NaN column warns
    if observed.any():
        mean[observed] = np.nanmean(X[:, observed], axis=0)
        scale[observed] = np.nanstd(X[:, observed], axis=0)
    scale[scale == 0] = 1.0
    return (X - mean) / scale


def labels(
    model: GaussianMixture,
    features: FloatArray,
    responsibilities: ArrayLike,
    *,
    data: object = None,
) -> IntArray:
    """The most probable component of each row: int array of shape (n_samples,)."""
    return np.asarray(responsibilities).argmax(axis=1)


def log_likelihood(
    model: GaussianMixture,
    features: FloatArray,
    responsibilities: ArrayLike,
    *,
    data: object = None,
) -> FloatArray:
    """The log density of each row under the fitted mixture: shape (n_samples,)."""
    return model.score_samples(features)


@hookimpl
def gmmkit_register_features(register: Register) -> None:
    register("identity", identity)
    register("standardize", standardize)


@hookimpl
def gmmkit_register_postprocessors(register: Register) -> None:
    register("labels", labels)
    register("log_likelihood", log_likelihood)


@hookimpl
def gmmkit_register_datasets(register: Register) -> None:
    from gmmkit.datasets import BUNDLED

    for name, loader in BUNDLED.items():
        register(name, loader, description=loader.description)


@hookimpl(trylast=True)
def gmmkit_read_data(path: str, columns: list[str] | None) -> Dataset | None:
    from gmmkit.inputs.readers import read_builtin

    return read_builtin(path, columns)


@hookimpl
def gmmkit_register_demos(register: Register) -> None:
    from gmmkit.demo import faithful_demo

    register("gmmkit", faithful_demo)
