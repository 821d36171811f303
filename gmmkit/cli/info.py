"""``gmmkit info``: the text describing a model file, for each model class it can hold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    #: (metadata, classes) -> the lines describing the model
    Describer = Callable[[Mapping[str, Any], Sequence[Any] | None], list[str]]


def format_info(metadata: Mapping[str, Any], classes: Sequence[Any] | None = None) -> str:
    """Human-readable text of a model file's metadata.

    Parameters
    ----------
    metadata : dict
        As :func:`gmmkit.read_metadata` returns it.
    classes : list, optional
        A GMMClassifier's labels when they are not in the metadata (they are
        in its ``classes.npy`` member).

    Returns
    -------
    str
    """
    model_class = metadata.get("model_class")
    describe = DESCRIBERS.get(model_class, _mixture)
    lines = [describe(metadata, classes)[0]]
    lines.append(
        f"file format {metadata.get('format')} version {metadata.get('format_version')}, "
        f"written by gmmkit {metadata.get('gmmkit_version')} at {metadata.get('created')}"
    )
    lines += describe(metadata, classes)[1:]
    extra = metadata.get("extra") or {}
    names = metadata.get("feature_names") or extra.get("feature_names")
    if names:
        lines.append("features: " + ", ".join(map(str, names)))
    for key, value in extra.items():
        if key != "feature_names":
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _training(training: Mapping[str, Any], *, prefix: str = "training: ") -> str:
    return (
        f"{prefix}converged={training.get('converged')}, n_iter={training.get('n_iter')}, "
        f"lower bound {training.get('lower_bound')}"
    )


def _mixture(metadata: Mapping[str, Any], classes: Sequence[Any] | None) -> list[str]:
    """GaussianMixture and BayesianGaussianMixture: one mixture at the top level."""
    first = (
        f"{metadata.get('model_class')}: {metadata.get('n_components')} components, "
        f"{metadata.get('n_features')} features, covariance_type="
        f"{metadata.get('covariance_type')}"
    )
    lines = [first, _training(metadata.get("training", {}))]
    training = metadata.get("training", {})
    if training.get("noise_weight") is not None:
        lines.append(f"uniform noise component: weight {training['noise_weight']:.4g}")
    priors = metadata.get("priors")
    if priors:
        prior_type = (metadata.get("params") or {}).get(
            "weight_concentration_prior_type", "dirichlet_process"
        )
        values = ", ".join(f"{key}={value:.4g}" for key, value in priors.items())
        lines.append(f"prior: {prior_type}; {values}")
    return lines


def _classifier(metadata: Mapping[str, Any], classes: Sequence[Any] | None) -> list[str]:
    mixtures = metadata.get("mixtures") or []
    params = metadata.get("params") or {}
    labels = metadata.get("classes") or classes or list(range(len(mixtures)))
    lines = [
        f"GMMClassifier: {len(mixtures)} classes, {metadata.get('n_features')} features, "
        f"covariance_type={params.get('covariance_type', 'full')}"
    ]
    for label, mixture in zip(labels, mixtures):
        lines.append(
            _training(
                mixture.get("training", {}),
                prefix=f"class {label!r}: {mixture.get('n_components')} components, ",
            )
        )
    return lines


def _regressor(metadata: Mapping[str, Any], classes: Sequence[Any] | None) -> list[str]:
    joint = (metadata.get("mixtures") or [{}])[0]
    n_targets = metadata.get("n_targets")
    return [
        f"GaussianMixtureRegressor: {joint.get('n_components')} components, "
        f"{metadata.get('n_features')} features -> {n_targets} "
        f"target{'s' if n_targets != 1 else ''}, covariance_type={joint.get('covariance_type')}",
        _training(joint.get("training", {})),
    ]


#: model_class -> (metadata, classes) -> lines; GaussianMixture and BayesianGaussianMixture
#: (and anything else) are described as one mixture
DESCRIBERS: dict[str | None, Describer] = {
    "GMMClassifier": _classifier, "GaussianMixtureRegressor": _regressor
}
