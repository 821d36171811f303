"""Small real data sets shipped with gmmkit (see gmmkit/datasets/README.md for sources).

>>> from gmmkit.datasets import load_dataset
>>> X, labels = load_dataset("iris")
>>> X.shape
(150, 4)

The bundled sets are registered through the ``gmmkit_register_datasets``
hook like any plugin's, so :func:`list_datasets` and :func:`load` also see
the data sets that installed plugins add.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from gmmkit.data.dataset import Dataset

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from gmmkit.plugins.manager import Entry


@dataclass(frozen=True)
class BundledTable:
    """A CSV file in this package: numeric feature columns plus label columns."""

    filename: str
    description: str
    labels: tuple[str, ...] = ()

    def __call__(self) -> Dataset:
        """Read the file into a :class:`Dataset` (the first label column is the target)."""
        text = resources.files(__name__).joinpath(self.filename).read_text(encoding="utf-8")
        rows = list(csv.reader(text.splitlines()))
        header, body = rows[0], rows[1:]
        features = [j for j, column in enumerate(header) if column not in self.labels]
        X = np.array([[float(row[j]) for j in features] for row in body], dtype=np.float64)
        label_values = {
            name: np.array([row[header.index(name)] for row in body]) for name in self.labels
        }
        target = label_values.pop(self.labels[0]) if self.labels else None
        return Dataset(X, [header[j] for j in features], target, self.description, label_values)


#: the data sets in this folder; gmmkit/datasets/README.md gives sources and licences
BUNDLED = {
    "iris": BundledTable(
        "iris.csv",
        "Fisher's iris flowers: 150 x 4 measurements (cm), 3 species",
        ("species",),
    ),
    "faithful": BundledTable(
        "faithful.csv",
        "Old Faithful geyser: 272 eruptions, duration and waiting time (minutes)",
    ),
    "geyser": BundledTable(
        "geyser.csv",
        "Old Faithful geyser (Azzalini and Bowman): 299 waiting times and durations (minutes)",
    ),
    "galaxies": BundledTable(
        "galaxies.csv",
        "Velocities (km/s) of 82 galaxies in the Corona Borealis region: the 1-D mixture classic",
    ),
    "diabetes": BundledTable(
        "diabetes.csv",
        "Reaven and Miller's diabetes data as mclust ships it: 145 patients x 3 measurements, "
        "3 clinical classes",
        ("class",),
    ),
    "wholesale_customers": BundledTable(
        "wholesale_customers.csv",
        "Customer segmentation: 440 wholesale clients' annual spending on 6 product groups",
        ("channel", "region"),
    ),
    "wine": BundledTable(
        "wine.csv",
        "Wine recognition: 178 wines x 13 chemical measurements, 3 cultivars",
        ("cultivar",),
    ),
}


def _registry() -> dict[str, Entry]:
    from gmmkit.plugins.manager import get_plugin_manager

    return get_plugin_manager().registry("datasets")


def list_datasets() -> list[str]:
    """Names of the bundled data sets and of those installed plugins register."""
    return sorted(_registry())


def load(name: str) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.

    Returns
    -------
    Dataset
    """
    entries = _registry()
    if name not in entries:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(sorted(entries))}")
    return entries[name].obj()


@overload
def load_dataset(
    name: str, *, return_feature_names: Literal[False] = False
) -> tuple[NDArray[Any], NDArray[Any] | None]: ...


@overload
def load_dataset(
    name: str, *, return_feature_names: Literal[True]
) -> tuple[NDArray[Any], NDArray[Any] | None, list[str]]: ...


@overload
def load_dataset(
    name: str, *, return_feature_names: bool = False
) -> (
    tuple[NDArray[Any], NDArray[Any] | None]
    | tuple[NDArray[Any], NDArray[Any] | None, list[str]]
): ...


def load_dataset(
    name: str, *, return_feature_names: bool = False
) -> (
    tuple[NDArray[Any], NDArray[Any] | None]
    | tuple[NDArray[Any], NDArray[Any] | None, list[str]]
):
    """Load a data set as arrays.

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
    dataset = load(name)
    if return_feature_names:
        return dataset.data, dataset.target, list(dataset.feature_names)
    return dataset.data, dataset.target
