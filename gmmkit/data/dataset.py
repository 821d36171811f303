"""The record a data set is read into (gmmkit.datasets, readers and plugins' data sets).

It sits in the data layer so that the readers (gmmkit.inputs) and the hook
specifications (gmmkit.plugins) can name it without importing the bundled data
sets; :mod:`gmmkit.datasets` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """A data set: the rows to fit and what is known about them.

    Attributes
    ----------
    data : ndarray of shape (n_samples, n_features)
    feature_names : list of str, length n_features
    target : ndarray of shape (n_samples,) or None
        A known class per row (for checking clusterings), when there is one.
    description : str
    extra : dict
        Other columns or facts a loader wants to pass on (e.g. a second label).
    """

    data: np.ndarray
    feature_names: list
    target: np.ndarray | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)
