"""Features -> GaussianMixture -> post-processors, by registered names.

>>> import gmmkit
>>> from gmmkit.datasets import load_dataset
>>> X, _ = load_dataset("iris")
>>> result = gmmkit.run_pipeline(
...     X, features=["standardize"], model=gmmkit.GaussianMixture(3, random_state=0),
...     postprocessors=["labels"])
>>> result.outputs["labels"].shape
(150,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Union

    from gmmkit.engine.types import FloatArray
    from gmmkit.estimators.mixture import GaussianMixture

    #: a pipeline step: a registered name, or (name, options)
    Step = Union[str, tuple[str, dict[str, Any]]]


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` produced.

    Attributes
    ----------
    features : ndarray of shape (n_samples, n_features)
        The extractors' outputs side by side.
    feature_names : list of str
        ``"name"`` for a one-column extractor, else ``"name[j]"``.
    model : GaussianMixture
    responsibilities : ndarray of shape (n_samples, n_components)
    outputs : dict
        Post-processor name -> its result.
    steps : dict
        ``{"features": {name: plugin}, "postprocessors": {name: plugin}}``:
        the names used and the plugin that registered each. When the
        pipeline fits the model, it is also set as ``model.pipeline_``, which
        ``gmmkit.save`` records in the model file.
    """

    features: np.ndarray
    feature_names: list[str]
    model: GaussianMixture
    responsibilities: np.ndarray
    outputs: dict[str, Any]
    steps: dict[str, dict[str, str]]


def _split_step(step: Step) -> tuple[str, dict[str, Any]]:
    """``(name, options)`` from ``"name"`` or ``("name", {options})``."""
    if isinstance(step, str):
        return step, {}
    try:
        name, options = step
    except (TypeError, ValueError):
        name, options = None, None
    if not isinstance(name, str) or not isinstance(options, dict):
        raise ValueError(
            f"pipeline step {step!r} is not valid; give a registered name or a "
            "(name, options-dict) pair."
        )
    return name, options


def extract_features(data: object, features: str | Sequence[Step]) -> tuple[FloatArray, list[str]]:
    """Run feature extractors by name and put their columns side by side.

    Parameters
    ----------
    data : object
        The raw input every extractor receives.
    features : sequence of str or (str, dict)

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    names : list of str
    """
    from gmmkit.plugins.manager import lookup

    if isinstance(features, str):
        features = [features]
    blocks: list[np.ndarray[Any, Any]] = []
    names: list[str] = []
    for step in features:
        name, options = _split_step(step)
        block = np.asarray(lookup("features", name)(data, **options))
        if block.ndim == 1:
            block = block[:, None]
        if block.ndim != 2 or block.dtype.kind not in "biuf":
            raise ValueError(
                f"feature extractor {name!r} returned an array of shape {block.shape} and "
                f"dtype {block.dtype}; it must return numbers of shape (n_samples, n_features)."
            )
        if blocks and block.shape[0] != blocks[0].shape[0]:
            raise ValueError(
                f"feature extractor {name!r} returned {block.shape[0]} rows but "
                f"{names[0]!r} returned {blocks[0].shape[0]}; they must describe the same samples."
            )
        blocks.append(block)
        names += [name] if block.shape[1] == 1 else [f"{name}[{j}]" for j in range(block.shape[1])]
    if not blocks:
        raise ValueError("no feature extractor given; name at least one (e.g. 'identity').")
    return np.hstack(blocks) if len(blocks) > 1 else blocks[0], names


def run_pipeline(
    data: object,
    *,
    features: str | Sequence[Step] = ("identity",),
    model: GaussianMixture | None = None,
    postprocessors: str | Sequence[Step] = (),
    fit: bool = True,
) -> PipelineResult:
    """Extract features, fit (or apply) a GaussianMixture, run post-processors.

    Parameters
    ----------
    data : object
        Raw input for the feature extractors (a table, an image, a signal...).
    features : sequence of str or (str, dict), default=("identity",)
        Registered feature extractors (``gmmkit.get_features()``), each with
        optional keyword options; their columns are put side by side.
    model : GaussianMixture, optional
        The estimator to fit; default ``GaussianMixture()``.
    postprocessors : sequence of str or (str, dict), default=()
        Registered post-processors (``gmmkit.get_postprocessors()``), run in order.
    fit : bool, default=True
        False applies an already fitted ``model`` to new data.

    Returns
    -------
    PipelineResult
    """
    from gmmkit.estimators.mixture import GaussianMixture
    from gmmkit.plugins.manager import lookup

    if isinstance(postprocessors, str):
        postprocessors = [postprocessors]
    X, names = extract_features(data, features)
    model = GaussianMixture() if model is None else model
    if fit:
        model.fit(X)
    responsibilities = model.predict_proba(X)
    outputs = {}
    for step in postprocessors:
        name, options = _split_step(step)
        postprocess = lookup("postprocessors", name)
        outputs[name] = postprocess(model, X, responsibilities, data=data, **options)
    steps = {
        "features": _plugins_of("features", features),
        "postprocessors": _plugins_of("postprocessors", postprocessors),
    }
    if fit:
        model.pipeline_ = steps  # recorded in model files by gmmkit.save
    return PipelineResult(X, names, model, responsibilities, outputs, steps)


def _plugins_of(kind: str, steps: str | Sequence[Step]) -> dict[str, str]:
    """``{step name: the plugin that registered it}`` for a list of steps."""
    from gmmkit.plugins.manager import get_plugin_manager

    registry = get_plugin_manager().registry(kind)
    names = [_split_step(step)[0] for step in ([steps] if isinstance(steps, str) else steps)]
    return {name: registry[name].plugin for name in names}
