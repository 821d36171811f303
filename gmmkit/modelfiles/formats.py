"""Model classes in model files: one format object per class, and the version readers.

Each format object knows one estimator class: ``encode`` (a fitted model ->
its metadata and arrays), ``parse`` (metadata -> :class:`Layout`, structure
and shapes only), ``check_params`` (once the file's size has bounded the
shapes), ``check_values`` (the arrays) and ``build`` (layout and arrays ->
the fitted model).  :func:`check_metadata` checks the format name and
version and hands over to the reader of that version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gmmkit._version import __version__
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.modelfiles.bayesian import BayesianFormat
from gmmkit.modelfiles.checks import (
    FORMAT_NAME,
    FORMAT_VERSION,
    NOT_A_MODEL,
    UPGRADE,
    Problem,
    require,
)
from gmmkit.modelfiles.composite import ClassifierFormat, RegressorFormat
from gmmkit.modelfiles.mixture import (
    HEADER_KEYS,
    Layout,
    build_mixture,
    check_header,
    check_mixture_arrays,
    check_mixture_params,
    encode_mixture,
    parse_mixture,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gmmkit.engine.types import AnyArray
    from gmmkit.modelfiles.mixture import ModelFormat


class GaussianMixtureFormat:
    """Reads and writes GaussianMixture files: one mixture at the top level."""

    name = "GaussianMixture"
    cls = GaussianMixture

    def encode(self, model: GaussianMixture) -> tuple[dict[str, Any], dict[str, AnyArray]]:
        return encode_mixture(model)

    def parse(self, metadata: Mapping[str, Any], version: int) -> Layout:
        require(metadata, HEADER_KEYS, "metadata.json")
        part = parse_mixture(metadata, version)
        check_header(metadata)  # after the mixture's keys, as format versions 1 and 2 did
        return Layout(self.name, part.members(), [part], {}, part.n_features, part.feature_names)

    def check_params(self, layout: Layout) -> None:
        check_mixture_params(layout.mixtures[0])

    def check_values(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> None:
        check_mixture_arrays(layout.mixtures[0], arrays)

    def build(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> GaussianMixture:
        return build_mixture(layout.mixtures[0], arrays)


#: model_class in metadata.json -> its format, in the order save tries them
FORMATS: dict[str, ModelFormat] = {
    fmt.name: fmt
    for fmt in (GaussianMixtureFormat(), BayesianFormat(), ClassifierFormat(), RegressorFormat())
}


def format_of(model: object) -> ModelFormat:
    """The format that saves ``model``; TypeError for a class no model file holds."""
    for fmt in FORMATS.values():
        if isinstance(model, fmt.cls):
            return fmt
    raise TypeError(
        f"save() writes {', '.join(FORMATS)} models; got {type(model).__name__}. (A "
        "GMMOutlierDetector is saved by gmmkit_outliers.save_detector.)"
    )


def check_metadata(metadata: object) -> Layout:
    """Check format name and version, then hand over to that version's reader."""
    if not isinstance(metadata, dict):
        raise Problem("metadata.json is not a JSON object")
    require(metadata, ("format", "format_version"), "metadata.json")
    if metadata["format"] != FORMAT_NAME:
        raise Problem(
            f"metadata.json names the format {metadata['format']!r}, not '{FORMAT_NAME}'",
            NOT_A_MODEL,
        )
    version = metadata["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise Problem(f"format_version must be an integer; got {version!r}")
    if version > FORMAT_VERSION:
        raise Problem(
            f"this file is format version {version}, but this gmmkit ({__version__}) "
            f"reads format versions up to {FORMAT_VERSION}",
            UPGRADE,
        )
    if version not in READERS:
        raise Problem(f"format_version {version} does not exist (known: {sorted(READERS)})")
    return READERS[version](metadata)


def _model_format(metadata: Mapping[str, Any]) -> ModelFormat:
    require(metadata, ("model_class",), "metadata.json")
    model_class = metadata["model_class"]
    if not isinstance(model_class, str) or model_class not in FORMATS:
        raise Problem(
            f"model_class {model_class!r} is not supported; this gmmkit loads {sorted(FORMATS)}",
            UPGRADE,
        )
    return FORMATS[model_class]


def _read_gaussian_mixture_only(version: int) -> Callable[[Mapping[str, Any]], Layout]:
    """Reader of versions 1 and 2: GaussianMixture files only."""

    def read(metadata: Mapping[str, Any]) -> Layout:
        fmt = _model_format(metadata)
        if fmt.name != GaussianMixture.__name__:
            raise Problem(
                f"model_class is {fmt.name!r} but format version {version} holds "
                "GaussianMixture models only (version 3 added the other classes)"
            )
        return fmt.parse(metadata, version)

    read.__doc__ = f"Format version {version} metadata -> layout (GaussianMixture only)."
    return read


def _read_v3(metadata: Mapping[str, Any]) -> Layout:
    """Format version 3 metadata -> layout, for every model class."""
    return _model_format(metadata).parse(metadata, 3)


#: format version -> reader turning that version's metadata into a layout
READERS: dict[int, Callable[[Mapping[str, Any]], Layout]] = {
    1: _read_gaussian_mixture_only(1), 2: _read_gaussian_mixture_only(2), 3: _read_v3
}
