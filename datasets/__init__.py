"""Small real data sets shipped with gmmkit (see datasets/README.md for sources).

>>> from gmmkit.datasets import load_dataset
>>> X, labels = load_dataset("iris")
>>> X.shape
(150, 4)
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

_DATASETS = {
    "iris": ("iris.csv", "species"),
}


def list_datasets():
    """Names of the bundled data sets."""
    return sorted(_DATASETS)


def load_dataset(name, *, return_feature_names=False):
    """Load a bundled data set.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    return_feature_names : bool, default=False

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    labels : ndarray of shape (n_samples,), str
        The known class of each row (for checking clusterings), or None.
    feature_names : list of str
        Only when ``return_feature_names`` is True.
    """
    try:
        filename, label_column = _DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; available: {', '.join(list_datasets())}"
        ) from None
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    header, body = rows[0], rows[1:]
    features = [j for j, column in enumerate(header) if column != label_column]
    X = np.array([[float(row[j]) for j in features] for row in body])
    labels = None
    if label_column in header:
        labels = np.array([row[header.index(label_column)] for row in body])
    if return_feature_names:
        return X, labels, [header[j] for j in features]
    return X, labels
