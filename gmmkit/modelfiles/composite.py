"""GMMClassifier and GaussianMixtureRegressor model files (format version 3).

Both hold GaussianMixture models, described under "mixtures" as a
GaussianMixture file describes its own (:mod:`gmmkit.modelfiles.mixture`), with
their arrays in members ``mixtures/<i>/<name>.npy``: one per class for the
classifier, in the order of ``classes_``, and the joint mixture on
``[X, y]`` for the regressor.  docs/model-files.md specifies the keys.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from gmmkit.engine.rng import make_rng
from gmmkit.estimators.classifier import GMMClassifier
from gmmkit.estimators.classifier_checks import check_components, class_priors
from gmmkit.estimators.mixture import GaussianMixture
from gmmkit.estimators.regression import MIXTURE_PARAMS as REGRESSOR_MIXTURE_PARAMS
from gmmkit.estimators.regression import GaussianMixtureRegressor
from gmmkit.modelfiles.checks import (
    Problem,
    check_feature_names,
    check_finite,
    check_weights,
    declared_arrays,
    known_params,
    positive_int,
    require,
)
from gmmkit.modelfiles.mixture import (
    Layout,
    build_mixture,
    check_header,
    check_mixture_arrays,
    check_mixture_params,
    encode_mixture,
    feature_names_of,
    json_params,
    parse_mixture,
    stored_arrays,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from gmmkit.engine.types import AnyArray
    from gmmkit.estimators.base import EstimatorBase
    from gmmkit.modelfiles.mixture import ArraySpec, MixtureLayout

#: keys of a file holding mixtures under "mixtures"
COMPOSITE_KEYS = (
    "n_features", "feature_names", "params", "dropped_params", "arrays", "training", "mixtures",
)  # fmt: skip
#: dtypes classes_ may have in classes.npy: bool, integers, floats, str, bytes, datetimes
LABEL_DTYPE = re.compile(
    r"[<>|](b1|[iu][1248]|f[248]|[US][1-9]\d{0,8}"
    r"|[Mm]8\[\d{0,6}(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])"
)
LABEL_ARRAYS = (
    lambda dtype: LABEL_DTYPE.fullmatch(dtype.str) is not None,
    "bool, integer, float, str, bytes, datetime64 and timedelta64 labels",
)
#: Python types of labels stored in JSON (classes_ of dtype object)
JSON_LABELS = (str, bool, int, float)


def _mixture_parts(
    metadata: Mapping[str, Any], version: int, n_features: int, count: int
) -> list[MixtureLayout]:
    """The MixtureLayout of each entry of "mixtures", each of ``n_features`` features."""
    mixtures = metadata["mixtures"]
    if not isinstance(mixtures, list) or len(mixtures) != count:
        raise Problem(f"mixtures must be a list of {count} mixture descriptions")
    parts = []
    for i, entry in enumerate(mixtures):
        label = f"mixtures[{i}]"
        part = parse_mixture(entry, version, prefix=f"mixtures/{i}/", label=label, where=label)
        if part.n_features != n_features:
            raise Problem(
                f"{label}: n_features is {part.n_features} but the model needs {n_features}"
            )
        parts.append(part)
    return parts


def _composite_header(
    metadata: Mapping[str, Any], cls: type[EstimatorBase], extra_keys: Iterable[str]
) -> tuple[int, dict[str, Any], list[str] | None]:
    """(n_features, params, feature_names) of a file with "mixtures", its keys checked."""
    check_header(metadata)
    require(metadata, (*COMPOSITE_KEYS, *extra_keys), "metadata.json")
    d = positive_int(metadata, "n_features")
    if not isinstance(metadata["dropped_params"], list):
        raise Problem("dropped_params must be a list")
    if not isinstance(metadata["training"], dict):
        raise Problem("'training' in metadata.json is not a JSON object")
    params = known_params(metadata["params"], cls)
    return d, params, check_feature_names(metadata["feature_names"], d)


def _composite_layout(
    name: str, header: tuple[int, dict[str, Any], list[str] | None], parts: list[MixtureLayout]
) -> Layout:
    """The Layout of a file whose mixtures are ``parts``; every part's arrays declared."""
    d, params, names = header
    layout = Layout(name, {}, parts, {"params": params}, d, names)
    for part in parts:
        layout.arrays.update(part.members())
    return layout


def _check_parts(layout: Layout, arrays: Mapping[str, AnyArray]) -> None:
    for part in layout.mixtures:
        check_mixture_arrays(part, arrays)


def _params_problem(exc: Exception) -> Problem:
    return Problem(f"params are not valid ({str(exc).rstrip('.')})")


# ---------------------------------------------------------------- classifier


class ClassifierFormat:
    """Reads and writes GMMClassifier files."""

    name = "GMMClassifier"
    cls = GMMClassifier

    def encode(self, model: GMMClassifier) -> tuple[dict[str, Any], dict[str, AnyArray]]:
        classes = np.asarray(model.classes_)
        arrays = stored_arrays({"class_prior": model.class_prior_})
        declared = {
            "class_prior": {"shape": [len(classes)], "dtype": arrays["class_prior"].dtype.name}
        }
        labels = None
        if classes.dtype.hasobject:
            labels = [_json_label(value) for value in classes.tolist()]
        elif LABEL_DTYPE.fullmatch(classes.dtype.str):
            arrays["classes"] = classes
            declared["classes"] = {"shape": [len(classes)], "dtype": classes.dtype.str}
        else:
            raise Problem(
                f"classes_ has dtype {classes.dtype.str!r}, which a model file cannot hold"
            )
        mixtures = []
        for i, estimator in enumerate(model.estimators_):
            description, members = encode_mixture(estimator, prefix=f"mixtures/{i}/")
            mixtures.append(description)
            arrays.update(members)
        encoders = {"n_components": lambda value: _by_class(value, classes)}
        params, dropped = json_params(model, GMMClassifier, encoders=encoders)
        metadata = {
            "n_features": int(model.n_features_in_),
            "feature_names": feature_names_of(model),
            "params": params,
            "dropped_params": dropped,
            "n_classes": len(classes),
            "classes": labels,
            "arrays": declared,
            "training": {},
            "mixtures": mixtures,
        }
        return metadata, arrays

    def parse(self, metadata: Mapping[str, Any], version: int) -> Layout:
        header = _composite_header(metadata, GMMClassifier, ("n_classes", "classes"))
        n_classes = positive_int(metadata, "n_classes", least=2)
        parts = _mixture_parts(metadata, version, header[0], n_classes)
        layout = _composite_layout(self.name, header, parts)
        declared = metadata["arrays"]
        if not isinstance(declared, dict):
            raise Problem("'arrays' in metadata.json is not a JSON object")
        declared = dict(declared)
        labels = metadata["classes"]
        if labels is None:
            if "classes" not in declared:
                raise Problem("classes is null but 'arrays' does not declare 'classes'")
            layout.arrays["classes"] = _declared_labels(declared.pop("classes"), n_classes)
        else:
            layout.info["labels"] = _check_json_labels(labels, n_classes)
        what = f"a classifier of {n_classes} classes"
        prior = declared_arrays(declared, {"class_prior": (n_classes,)}, ["class_prior"], what)
        layout.arrays.update(prior)
        return layout

    def check_params(self, layout: Layout) -> None:
        for part in layout.mixtures:
            check_mixture_params(part)
        params = layout.info["params"]
        n_classes = len(layout.mixtures)
        per_class = params.get("n_components")
        if isinstance(per_class, dict):
            values = per_class.get("by_class")
            if (
                set(per_class) != {"by_class"}
                or not isinstance(values, list)
                or (len(values) != n_classes)
            ):
                raise Problem(
                    f"params n_components must be an int, 'auto' or {{\"by_class\": [...]}} "
                    f"with {n_classes} entries; got {per_class!r}"
                )
        else:
            values = []
        try:
            for value in values:
                check_components(value, "n_components")
            model = GMMClassifier(**{**params, "n_components": 1 if values else per_class})
            model.check_params()
            make_rng(model.random_state)
            class_priors(model.priors, np.arange(n_classes), np.ones(n_classes))
        except (TypeError, ValueError) as exc:
            raise _params_problem(exc) from None

    def check_values(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> None:
        check_finite({"class_prior": arrays["class_prior"]})
        check_weights(arrays["class_prior"], name="class_prior")
        labels = arrays.get("classes")
        if labels is not None:
            _check_label_array(labels)
        _check_parts(layout, arrays)

    def build(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> GMMClassifier:
        classes = arrays.get("classes")
        if classes is None:
            classes = np.empty(len(layout.mixtures), dtype=object)
            classes[:] = layout.info["labels"]
        params = dict(layout.info["params"])
        per_class = params.get("n_components")
        if isinstance(per_class, dict):
            params["n_components"] = dict(zip(classes.tolist(), per_class["by_class"]))
        model = GMMClassifier(**params)
        model.estimators_ = [build_mixture(part, arrays) for part in layout.mixtures]
        model.classes_ = classes
        model.class_prior_ = arrays["class_prior"]
        model.n_components_ = np.array([m.n_components for m in model.estimators_])
        model.n_iter_ = np.array([m.n_iter_ for m in model.estimators_])
        model.n_features_in_ = layout.n_features
        if layout.feature_names is not None:
            model.feature_names_in_ = np.asarray(layout.feature_names, dtype=object)
        return model


def _by_class(value: Any, classes: AnyArray) -> Any:
    """n_components as JSON: a dict {label: k} becomes {"by_class": [k in classes_ order]}."""
    if not isinstance(value, dict):
        return value
    labels = classes.tolist()
    if len(value) != len(labels) or any(label not in value for label in labels):
        raise ValueError("n_components does not name the fitted classes")
    return {"by_class": [value[label] for label in labels]}


def _json_label(value: Any) -> str | bool | int | float:
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, JSON_LABELS):
        raise Problem(
            f"class label {value!r} is of type {type(value).__name__}; a model file holds "
            "labels of type str, int, float or bool (or an array of one NumPy dtype)"
        )
    return value


def _check_json_labels(labels: object, n_classes: int) -> list[Any]:
    if not isinstance(labels, list) or len(labels) != n_classes:
        raise Problem(f"classes must be null or a list of {n_classes} labels")
    for label in labels:
        if not isinstance(label, JSON_LABELS) or (
            isinstance(label, float) and not math.isfinite(label)
        ):
            raise Problem(f"classes holds {label!r}; labels must be strings, numbers or booleans")
    try:
        ordered = all(a < b for a, b in zip(labels, labels[1:]))
    except TypeError:
        ordered = False
    if not ordered:
        raise Problem("classes must be distinct and sorted (as numpy.unique sorts them)")
    return labels


def _declared_labels(entry: object, n_classes: int) -> ArraySpec:
    """(shape, dtype) of the member classes.npy from its declaration."""
    entry = entry if isinstance(entry, dict) else {}
    shape, name = entry.get("shape"), entry.get("dtype")
    if shape != [n_classes] or type(shape[0]) is not int:
        raise Problem(f"array 'classes' is declared with shape {shape} but needs [{n_classes}]")
    if not isinstance(name, str) or not LABEL_DTYPE.fullmatch(name):
        raise Problem(
            f"array 'classes' is declared with dtype {name!r}; only {LABEL_ARRAYS[1]} are "
            "accepted (NumPy dtype strings such as '<i8' or '<U5')"
        )
    return (n_classes,), np.dtype(name)


def _check_label_array(labels: AnyArray) -> None:
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise Problem("array 'classes' contains NaN or infinity")
    with np.errstate(all="ignore"):
        ordered = bool(np.all(labels[1:] > labels[:-1]))
    if not ordered:
        raise Problem("array 'classes' must be distinct and sorted (as numpy.unique sorts it)")


# ----------------------------------------------------------------- regressor


class RegressorFormat:
    """Reads and writes GaussianMixtureRegressor files."""

    name = "GaussianMixtureRegressor"
    cls = GaussianMixtureRegressor

    def encode(self, model: GaussianMixtureRegressor) -> tuple[dict[str, Any], dict[str, AnyArray]]:
        description, arrays = encode_mixture(model.gmm_, prefix="mixtures/0/")
        params, dropped = json_params(model, GaussianMixtureRegressor)
        metadata = {
            "n_features": int(model.n_features_in_),
            "n_targets": int(model.n_targets_),
            "feature_names": feature_names_of(model),
            "params": params,
            "dropped_params": dropped,
            "arrays": {},
            "training": {"y_ndim": int(model.y_ndim_)},
            "mixtures": [description],
        }
        return metadata, arrays

    def parse(self, metadata: Mapping[str, Any], version: int) -> Layout:
        header = _composite_header(metadata, GaussianMixtureRegressor, ("n_targets",))
        n_targets = positive_int(metadata, "n_targets")
        parts = _mixture_parts(metadata, version, header[0] + n_targets, 1)
        layout = _composite_layout(self.name, header, parts)
        declared_arrays(metadata["arrays"], {}, (), "a regressor")
        require(metadata["training"], ("y_ndim",), "'training'")
        y_ndim = metadata["training"]["y_ndim"]
        if y_ndim not in (1, 2) or isinstance(y_ndim, bool) or (y_ndim == 1 and n_targets != 1):
            raise Problem(
                f"training y_ndim must be 1 (with 1 target) or 2; got {y_ndim!r} with "
                f"{n_targets} targets"
            )
        layout.info.update(n_targets=n_targets, y_ndim=y_ndim)
        return layout

    def check_params(self, layout: Layout) -> None:
        check_mixture_params(layout.mixtures[0])
        try:
            model = GaussianMixtureRegressor(**layout.info["params"])
            joint = GaussianMixture(**{p: getattr(model, p) for p in REGRESSOR_MIXTURE_PARAMS})
            joint.check_params()
            make_rng(model.random_state)
        except (TypeError, ValueError) as exc:
            raise _params_problem(exc) from None

    def check_values(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> None:
        _check_parts(layout, arrays)

    def build(self, layout: Layout, arrays: Mapping[str, AnyArray]) -> GaussianMixtureRegressor:
        model = GaussianMixtureRegressor(**layout.info["params"])
        model.gmm_ = build_mixture(layout.mixtures[0], arrays)
        model.n_features_in_ = layout.n_features
        model.n_targets_ = layout.info["n_targets"]
        model.n_iter_ = model.gmm_.n_iter_
        model.converged_ = model.gmm_.converged_
        model.y_ndim_ = layout.info["y_ndim"]
        if layout.feature_names is not None:
            model.feature_names_in_ = np.asarray(layout.feature_names, dtype=object)
        return model
