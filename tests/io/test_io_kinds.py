"""Model files of every estimator: BayesianGaussianMixture, GMMClassifier and
GaussianMixtureRegressor round-trip bit for bit, as GaussianMixture does, and
their damaged files are refused as clearly."""

import json
import re
import warnings
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from model_files import (
    KINDS,
    LABELS,
    X,
    assert_same_fitted,
    assert_same_outputs,
    declaration,
    edited,
    fit_kind,
    label_of,
    npy_array,
    npy_bytes,
    read_members,
    refused,
    saved,
    write_members,
)

import gmmkit
from gmmkit import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
)
from gmmkit.cli import build_cli
from gmmkit.engine.covariance import get_covariance_type
from gmmkit.modelfiles.files import load, read_metadata, save

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def models():
    return {kind: fit_kind(kind) for kind in KINDS}


def array_members(path):
    return sorted(name[:-4] for name in read_members(path) if name.endswith(".npy"))


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_class_round_trips_bit_for_bit(tmp_path, kind, covariance_type):
    model = fit_kind(kind, covariance_type)
    loaded = load(saved(tmp_path, model))
    assert type(loaded) is type(model)
    assert_same_fitted(model, loaded)
    assert_same_outputs(model, loaded)
    assert loaded.get_params() == model.get_params()
    assert loaded.metadata_["model_class"] == kind


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bayesian_priors_and_posterior_round_trip(tmp_path, prior_type, covariance_type):
    given = {
        "full": np.eye(3) * 2.0,
        "tied": np.eye(3) * 2.0,
        "diag": np.full(3, 2.0),
        "spherical": 2.0,
    }[covariance_type]
    model = fit_kind(
        "BayesianGaussianMixture",
        covariance_type,
        weight_concentration_prior_type=prior_type,
        weight_concentration_prior=0.01,
        mean_prior=[0.5, 0.0, -0.5],
        covariance_prior=given,
        degrees_of_freedom_prior=4.5,
    )
    path = saved(tmp_path, model)
    loaded = load(path)
    assert_same_fitted(model, loaded)  # weight_concentration_ stays a pair with a process
    assert isinstance(loaded.weight_concentration_, tuple) == (prior_type == "dirichlet_process")
    assert type(loaded.degrees_of_freedom_prior_) is float
    assert_same_outputs(model, loaded)
    meta = read_metadata(path)
    assert meta["priors"]["weight_concentration_prior"] == 0.01
    assert meta["params"]["mean_prior"] == [0.5, 0.0, -0.5]  # array params as JSON lists
    refit = loaded.fit(X)  # the loaded parameters fit as the given ones
    assert_same_fitted(model, refit)


@pytest.mark.parametrize(
    "labels",
    [
        LABELS,  # <U6
        np.repeat([30, 10, 20], 100),  # int64
        np.repeat(np.array([3, 1, 2], dtype=np.uint8), 100),
        np.repeat(np.array([-1, 0, 1], dtype=">i4"), 100),  # big-endian stays big-endian
        np.repeat([True, False, True], 100),
        np.repeat(np.array([0.5, 1.0, 2.0], dtype=np.float32) * 2, 100),
        np.repeat(np.array([b"x", b"yy", b"z"]), 100),
        np.repeat(np.array(["2024-01-01", "2024-02-01", "2024-03-01"], dtype="M8[D]"), 100),
        np.repeat(np.array(["b", "a", "c"], dtype=object), 100),
        np.repeat(np.array([7, True, 2.5], dtype=object), 100),
        np.repeat(np.array([np.int64(4), np.int64(5), np.int64(6)], dtype=object), 100),
    ],
    ids=lambda labels: str(labels.dtype),
)
def test_classifier_labels_of_every_dtype_round_trip(tmp_path, labels):
    model = fit_kind("GMMClassifier", labels=labels)
    loaded = load(saved(tmp_path, model))
    if labels.dtype.hasobject and isinstance(labels[0], np.integer):
        # NumPy scalars in an object array come back as the Python values they equal
        assert loaded.classes_.tolist() == model.classes_.tolist()
        assert [type(v) for v in loaded.classes_] == [int] * 3
        model.classes_ = np.array([4, 5, 6], dtype=object)
    assert_same_fitted(model, loaded)
    assert_same_outputs(model, loaded)


def test_classifier_per_class_components_and_priors_round_trip(tmp_path):
    model = fit_kind(
        "GMMClassifier",
        n_components={"left": 1, "middle": "auto", "right": 2},
        priors=[0.2, 0.3, 0.5],
    )
    path = saved(tmp_path, model)
    loaded = load(path)
    assert_same_fitted(model, loaded)
    assert loaded.get_params()["n_components"] == {"left": 1, "middle": "auto", "right": 2}
    assert loaded.n_components_.tolist() == [1, model.n_components_[1], 2]
    assert [m.n_components for m in loaded.estimators_] == model.n_components_.tolist()
    meta = read_metadata(path)
    assert meta["params"]["n_components"] == {"by_class": [1, "auto", 2]}
    assert meta["classes"] is None and meta["arrays"]["classes"]["dtype"] == "<U6"
    assert [part["n_components"] for part in meta["mixtures"]] == model.n_components_.tolist()
    assert "mixtures/2/covariances.npy" in read_members(path)


def test_classifier_with_missing_values_and_dataframe_round_trips(tmp_path):
    pd = pytest.importorskip("pandas")
    holes = X.copy()
    holes[::7, 1] = np.nan
    frame = pd.DataFrame(holes, columns=["a", "b", "c"])
    model = fit_kind("GMMClassifier", data=frame, missing="em")
    loaded = load(saved(tmp_path, model))
    assert_same_fitted(model, loaded)
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame.rename(columns={"c": "d"}))


@pytest.mark.parametrize("targets", [1, 2])
def test_regressor_keeps_its_input_output_split(tmp_path, targets):
    pd = pytest.importorskip("pandas")
    inputs = pd.DataFrame(X[:, : 3 - targets], columns=["u", "v"][: 3 - targets])
    y = X[:, 3 - targets :] if targets == 2 else X[:, 2]
    model = GaussianMixtureRegressor(2, random_state=0).fit(inputs, y)
    path = saved(tmp_path, model)
    loaded = load(path)
    assert_same_fitted(model, loaded)
    assert (loaded.n_features_in_, loaded.n_targets_) == (3 - targets, targets)
    mean, std = loaded.predict(inputs, return_std=True)
    assert mean.shape == std.shape == ((300,) if targets == 1 else (300, 2))
    np.testing.assert_array_equal(mean, model.predict(inputs))
    meta = read_metadata(path)
    assert (meta["n_features"], meta["n_targets"], meta["training"]["y_ndim"]) == (
        3 - targets, targets, 1 if targets == 1 else 2,
    )  # fmt: skip
    assert meta["mixtures"][0]["n_features"] == 3


def mixtures_of(model):
    """The GaussianMixture-like models inside ``model``."""
    if isinstance(model, GMMClassifier):
        return model.estimators_
    return [getattr(model, "gmm_", model)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_models_fitted_on_float32_round_trip_bit_for_bit(tmp_path, kind, covariance_type):
    """Fitted on float32 X, attributes are float32 (rounded from float64 precisions);
    the file keeps their dtype and bits, storing the precisions it cannot recompute."""
    data = X.astype(np.float32)
    model = fit_kind(kind, covariance_type, data=data)
    expected = np.float64 if kind == "BayesianGaussianMixture" else np.float32
    for mixture in mixtures_of(model):
        assert mixture.means_.dtype == mixture.precisions_.dtype == expected
    path = saved(tmp_path, model)
    loaded = load(path)
    assert_same_fitted(model, loaded)
    assert_same_outputs(model, loaded, data)
    meta = read_metadata(path)
    parts = meta.get("mixtures", [meta])
    stored = ["precisions" in part["arrays"] for part in parts]
    for mixture, part in zip(mixtures_of(model), stored):
        # fit computes P P' in float64, then rounds: float32 P P' may not give those bits
        recomputed = get_covariance_type(covariance_type).precisions(
            mixture.precisions_cholesky_)
        if recomputed.tobytes() != np.asarray(mixture.precisions_).tobytes():
            assert part
    if expected == np.float64:
        assert not any(stored)  # recomputed bit for bit, as version 2 files are


def test_stored_precisions_must_match_their_factors(tmp_path):
    model = fit_kind("GaussianMixture", data=X.astype(np.float32))
    path = edited(tmp_path, model, arrays={"precisions": lambda p: p.__imul__(1.01)})
    refused(path, r"precisions and precisions_cholesky disagree \(max \|precisions - P P'\| = ")
    path = edited(tmp_path, model, metadata=lambda m: m.update(format_version=2))
    refused(path, r"'arrays' declares unknown arrays \['precisions'\]")


@pytest.mark.parametrize("kind", KINDS)
def test_fortran_ordered_attributes_keep_their_order(tmp_path, kind):
    model = fit_kind(kind)
    target = getattr(model, "gmm_", None) or getattr(model, "estimators_", [model])[0]
    target.means_ = np.asfortranarray(target.means_)
    loaded = load(saved(tmp_path, model))
    assert_same_fitted(model, loaded)


def test_a_selection_and_partial_fit_round_trip(tmp_path):
    auto = GaussianMixture("auto", random_state=0).fit(X)
    loaded = load(saved(tmp_path, auto))
    assert [row["n_components"] for row in loaded.selection_] == [
        row["n_components"] for row in auto.selection_
    ]
    assert loaded.selection_[0]["bic"] == auto.selection_[0]["bic"]
    assert loaded.n_components == "auto" and loaded.n_components_ == auto.n_components_
    online = GaussianMixture(3, random_state=0)
    for batch in np.array_split(X[RNG_ORDER], 5):
        online.partial_fit(batch)
    loaded = load(saved(tmp_path, online, name="online.gmm"))
    assert loaded.n_steps_ == online.n_steps_ == 5
    np.testing.assert_array_equal(loaded.score_samples(X), online.score_samples(X))


RNG_ORDER = np.random.default_rng(0).permutation(len(X))


def test_the_outlier_detector_file_still_round_trips(tmp_path):
    outliers = pytest.importorskip("gmmkit_outliers")
    detector = outliers.GMMOutlierDetector(n_components=3, random_state=0).fit(X)
    outliers.save_detector(detector, tmp_path / "detector.gmm")
    loaded = outliers.load_detector(tmp_path / "detector.gmm")
    np.testing.assert_array_equal(loaded.decision_function(X), detector.decision_function(X))
    assert read_metadata(tmp_path / "detector.gmm")["format_version"] == 3


# ----------------------------------------------------------------- gmmkit info


@pytest.mark.parametrize(
    ("kind", "lines"),
    [
        ("GaussianMixture", ["GaussianMixture: 3 components, 3 features, covariance_type=full"]),
        (
            "BayesianGaussianMixture",
            [
                "BayesianGaussianMixture: 4 components, 3 features, covariance_type=full",
                "prior: dirichlet_process; weight_concentration_prior=0.25, "
                "mean_precision_prior=1, degrees_of_freedom_prior=3",
            ],
        ),
        (
            "GMMClassifier",
            [
                "GMMClassifier: 3 classes, 3 features, covariance_type=full",
                "class 'left': 2 components, converged=True",
                "class 'right': 2 components, converged=True",
            ],
        ),
        (
            "GaussianMixtureRegressor",
            ["GaussianMixtureRegressor: 2 components, 2 features -> 1 target, covariance_type="],
        ),
    ],
)
def test_info_describes_every_class(tmp_path, models, kind, lines):
    path = saved(tmp_path, models[kind])
    result = CliRunner().invoke(build_cli(), ["info", str(path)])
    assert result.exit_code == 0, result.output
    for line in lines:
        assert line in result.output
    assert "file format gmmkit-model version 3" in result.output
    as_json = CliRunner().invoke(build_cli(), ["info", str(path), "--json"])
    assert json.loads(as_json.output) == read_metadata(path)


@pytest.mark.parametrize("kind", ["GMMClassifier", "GaussianMixtureRegressor"])
@pytest.mark.parametrize("command", ["predict", "score"])
def test_cli_commands_refuse_classifier_and_regressor_files_clearly(
    tmp_path, models, kind, command
):
    path = saved(tmp_path, models[kind])
    np.savetxt(tmp_path / "x.csv", X[:5], delimiter=",")
    result = CliRunner().invoke(build_cli(), [command, str(path), str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert (
        f"'{path}' holds a {kind}; `gmmkit {command}` works on GaussianMixture and "
        in result.output
    )


def test_cli_predicts_with_a_bayesian_file(tmp_path, models):
    path = saved(tmp_path, models["BayesianGaussianMixture"])
    np.savetxt(tmp_path / "x.csv", X[:5], delimiter=",")
    result = CliRunner().invoke(build_cli(), ["predict", str(path), str(tmp_path / "x.csv")])
    assert result.exit_code == 0
    labels = [int(v) for v in result.output.split()[1:]]
    assert labels == models["BayesianGaussianMixture"].predict(X[:5]).tolist()


def test_save_refuses_other_classes_and_unstorable_labels(tmp_path):
    with pytest.raises(TypeError, match="save\\(\\) writes GaussianMixture, BayesianGaussianMix"):
        save(object(), tmp_path / "x.gmm")
    tuples = np.empty(300, dtype=object)
    tuples[:] = [(i // 100,) for i in range(300)]
    model = fit_kind("GMMClassifier", labels=tuples)
    with pytest.raises(ValueError, match=r"class label \(0,\) is of type tuple; a model file"):
        save(model, tmp_path / "x.gmm")
    assert not (tmp_path / "x.gmm").exists()


# ------------------------------------------------------------- hostile files


MIXTURE = ["weights", "means", "covariances", "precisions_cholesky"]
#: the array members of each class's file (the classifier's has 3 classes)
KIND_MEMBERS = {
    "GaussianMixture": MIXTURE,
    "BayesianGaussianMixture": MIXTURE + [
        "weight_concentration", "mean_precision", "degrees_of_freedom", "mean_prior",
        "covariance_prior",
    ],
    "GMMClassifier": ["class_prior", "classes"]
    + [f"mixtures/{i}/{name}" for i in range(3) for name in MIXTURE],
    "GaussianMixtureRegressor": [f"mixtures/0/{name}" for name in MIXTURE],
}  # fmt: skip
MEMBERS = [(kind, member) for kind in KINDS for member in KIND_MEMBERS[kind]]
FLOAT_MEMBERS = [case for case in MEMBERS if case[1] != "classes"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_class_has_its_members(tmp_path, models, kind):
    path = saved(tmp_path, models[kind])
    assert array_members(path) == sorted(KIND_MEMBERS[kind])
    with zipfile.ZipFile(path) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


@pytest.mark.parametrize("kind", KINDS)
def test_refuses_a_truncated_file(tmp_path, models, kind):
    path = saved(tmp_path, models[kind])
    data = path.read_bytes()
    for size in (len(data) // 3, len(data) - 30):
        path.write_bytes(data[:size])
        refused(path, "it is a truncated or damaged zip archive .*restore it from a backup")


@pytest.mark.parametrize(("kind", "member"), MEMBERS)
def test_refuses_a_corrupted_member(tmp_path, models, kind, member):
    path = saved(tmp_path, models[kind])
    data = bytearray(path.read_bytes())
    stored = read_members(path)[f"{member}.npy"]
    where = bytes(data).index(stored) + len(stored) - 1  # the last byte of its data
    data[where] ^= 0xFF
    path.write_bytes(bytes(data))
    refused(path, rf"member '{member}.npy' is corrupted \(Bad CRC-32")


@pytest.mark.parametrize(("kind", "member"), MEMBERS)
def test_refuses_a_missing_member(tmp_path, models, kind, member):
    path = edited(tmp_path, models[kind], drop=[f"{member}.npy"])
    refused(path, f"the archive lacks the member '{member}.npy'")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("extra", ["run.py", "mixtures/9/means.npy", "mixtures/0/"])
def test_refuses_an_extra_member(tmp_path, models, kind, extra):
    path = edited(tmp_path, models[kind], add={extra: b"print('hello')"})
    refused(path, f"the archive holds an unexpected member '{extra}'")


@pytest.mark.parametrize(("kind", "member"), FLOAT_MEMBERS)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_refuses_non_finite_values(tmp_path, models, kind, member, value):
    path = edited(tmp_path, models[kind], arrays={member: lambda a: a.put(0, value)})
    label, name = label_of(member)
    refused(path, rf"{label}array '{name}' contains NaN or infinity\. The file is damaged")


@pytest.mark.parametrize(("kind", "member"), MEMBERS)
def test_refuses_a_declared_shape_that_does_not_fit_the_model(tmp_path, models, kind, member):
    def wrong_shape(meta):
        declaration(meta, member)["shape"] = [7, 5]

    path = edited(tmp_path, models[kind], metadata=wrong_shape)
    label, name = label_of(member)
    refused(path, rf"{label}array '{name}' is declared with shape \[7, 5\] but .*needs \[")


@pytest.mark.parametrize(("kind", "member"), FLOAT_MEMBERS)
def test_refuses_a_declared_dtype_other_than_float(tmp_path, models, kind, member):
    path = edited(
        tmp_path, models[kind], metadata=lambda m: declaration(m, member).update(dtype="int64")
    )
    label, name = label_of(member)
    refused(
        path, rf"{label}array '{name}' is declared with dtype 'int64'; only 'float64' and 'float32'"
    )


@pytest.mark.parametrize(("kind", "member"), MEMBERS)
def test_refuses_an_array_whose_shape_differs_from_its_declaration(tmp_path, models, kind, member):
    def grown(array):
        return np.concatenate([np.ravel(array), np.ravel(array)[:1]])

    path = saved(tmp_path, models[kind])
    members = read_members(path)
    original = npy_array(members[f"{member}.npy"])
    members[f"{member}.npy"] = npy_bytes(grown(original))
    write_members(path, members)
    refused(
        path,
        rf"member '{re.escape(member)}.npy' holds a \S+ array of shape \[{original.size + 1}\] "
        rf"but metadata.json declares",
    )


@pytest.mark.parametrize(("kind", "member"), MEMBERS)
def test_refuses_an_object_array_without_reading_it(tmp_path, models, kind, member):
    path = saved(tmp_path, models[kind])
    members = read_members(path)
    original = npy_array(members[f"{member}.npy"])
    objects = np.empty(original.shape, dtype=object)
    objects[...] = 1.0
    members[f"{member}.npy"] = npy_bytes(objects)
    write_members(path, members)
    refused(
        path, rf"member '{member}.npy' holds an array of dtype '\|O'; only .* data was not read"
    )


KIND_KEYS = {
    "GaussianMixture": ["covariance_type", "n_components", "dtype", "training", "params"],
    "BayesianGaussianMixture": ["priors", "covariance_type", "n_components", "params"],
    "GMMClassifier": ["mixtures", "classes", "n_classes", "params", "n_features"],
    "GaussianMixtureRegressor": ["mixtures", "n_targets", "training", "params"],
}


@pytest.mark.parametrize(("kind", "key"), [(k, key) for k in KINDS for key in KIND_KEYS[k]])
def test_refuses_metadata_without_a_key_of_its_class(tmp_path, models, kind, key):
    path = edited(tmp_path, models[kind], metadata=lambda m: m.pop(key))
    refused(path, rf"metadata.json lacks the keys \['{key}'\]")


@pytest.mark.parametrize("kind", KINDS)
def test_refuses_a_file_relabelled_as_another_class(tmp_path, models, kind):
    other = KINDS[(KINDS.index(kind) + 2) % len(KINDS)]
    path = edited(tmp_path, models[kind], metadata=lambda m: m.update(model_class=other))
    refused(path, r"lacks the keys|declares unknown arrays|'arrays' lacks")


@pytest.mark.parametrize("kind", KINDS[1:])
@pytest.mark.parametrize("version", [1, 2])
def test_refuses_a_new_class_in_an_old_format_version(tmp_path, models, kind, version):
    path = edited(tmp_path, models[kind], metadata=lambda m: m.update(format_version=version))
    refused(path, rf"model_class is '{kind}' but format version {version} holds GaussianMixture")


@pytest.mark.parametrize("kind", KINDS)
def test_refuses_a_newer_format_version(tmp_path, models, kind):
    path = edited(tmp_path, models[kind], metadata=lambda m: m.update(format_version=4))
    refused(path, r"reads format versions up to 3\. Upgrade gmmkit")


@pytest.mark.parametrize("kind", KINDS)
def test_refuses_unknown_and_invalid_params(tmp_path, models, kind):
    path = edited(tmp_path, models[kind], metadata=lambda m: m["params"].update(colour="red"))
    refused(path, r"params has names this gmmkit does not know: \['colour'\]\. Upgrade gmmkit")
    path = edited(tmp_path, models[kind], metadata=lambda m: m["params"].update(tol=-1))
    refused(path, r"params are not valid \(tol must be a number >= 0.0; got -1\)\. The file is")


@pytest.mark.parametrize("kind", ["GMMClassifier", "GaussianMixtureRegressor"])
def test_refuses_damage_inside_a_mixture_of_the_file(tmp_path, models, kind):
    def broken(meta):
        meta["mixtures"][0]["params"]["reg_covar"] = -1.0
        meta["mixtures"][-1]["training"]["n_iter"] = -3

    path = edited(tmp_path, models[kind], metadata=broken)
    last = len(read_metadata(saved(tmp_path, models[kind], "ok.gmm"))["mixtures"]) - 1
    refused(path, rf"mixtures\[{last}\]: training n_iter must be a non-negative integer; got -3")
    path = edited(tmp_path, models[kind], metadata=lambda m: m["mixtures"][0]["params"].update(
        reg_covar=-1.0))  # fmt: skip
    refused(path, r"mixtures\[0\]: params are not valid \(reg_covar must be a number >= 0.0")
    path = edited(tmp_path, models[kind], metadata=lambda m: m["mixtures"].pop())
    refused(path, r"mixtures must be a list of \d mixture descriptions")
    path = edited(tmp_path, models[kind], metadata=lambda m: m["mixtures"][0].update(n_features=9))
    refused(path, r"mixtures\[0\]: array 'means' is declared with shape \[\d, \d\] but a full")


# ------------------------------------------------------ values of each class


def test_refuses_class_priors_that_do_not_sum_to_one(tmp_path, models):
    path = edited(tmp_path, models["GMMClassifier"], arrays={"class_prior": [0.5, 0.5, 0.5]})
    refused(path, r"class_prior sum to 1.5, not 1 \(tolerance 1e-06\)")
    path = edited(tmp_path, models["GMMClassifier"], arrays={"class_prior": [1.5, -0.5, 0.0]})
    refused(path, r"class_prior has a negative value \(-0.5 for component 1\)")


def test_refuses_classes_that_are_not_distinct_and_sorted(tmp_path, models):
    path = edited(
        tmp_path,
        models["GMMClassifier"],
        arrays={"classes": np.array(["b", "a", "c"], dtype="<U6")},
    )
    refused(path, r"array 'classes' must be distinct and sorted")
    float_labels = fit_kind("GMMClassifier", labels=np.repeat([1.0, 2.0, 3.0], 100))
    path = edited(tmp_path, float_labels, arrays={"classes": [1.0, np.nan, 3.0]})
    refused(path, r"array 'classes' contains NaN or infinity")


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (["a", "b"], r"classes must be null or a list of 3 labels"),
        (["a", None, "c"], r"classes holds None; labels must be strings, numbers or booleans"),
        (["a", {"x": 1}, "c"], r"classes holds \{'x': 1\}"),
        (["a", "c", "b"], r"classes must be distinct and sorted"),
        (["a", 1, "c"], r"classes must be distinct and sorted"),
    ],
)
def test_refuses_bad_json_labels(tmp_path, labels, match):
    model = fit_kind("GMMClassifier", labels=LABELS.astype(object))
    path = edited(tmp_path, model, metadata=lambda m: m.update(classes=labels))
    refused(path, match)


@pytest.mark.parametrize(
    ("dtype", "shown"),
    [("|O", r"'\|O'"), ("<c16", "'<c16'"), ("<V8", "'<V8'"), ("int", "'int'"), (None, "None")],
)
def test_refuses_a_label_dtype_that_is_not_allowed(tmp_path, models, dtype, shown):
    path = edited(
        tmp_path,
        models["GMMClassifier"],
        metadata=lambda m: m["arrays"]["classes"].update(dtype=dtype),
    )
    refused(path, rf"array 'classes' is declared with dtype {shown}; only bool, integer, float")


def test_refuses_classes_both_absent(tmp_path, models):
    path = edited(
        tmp_path, models["GMMClassifier"], metadata=lambda m: m["arrays"].pop("classes"),
        drop=["classes.npy"],
    )  # fmt: skip
    refused(path, r"classes is null but 'arrays' does not declare 'classes'")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"by_class": [1, 2]}, r"params n_components must be an int, 'auto' or \{\"by_class\""),
        ({"by_class": [1, 0, 2]}, r"params are not valid \(n_components must be an integer >= 1"),
        ({"left": 1}, r"params n_components must be an int, 'auto' or"),
    ],
)
def test_refuses_bad_per_class_components(tmp_path, models, value, match):
    path = edited(
        tmp_path, models["GMMClassifier"], metadata=lambda m: m["params"].update(n_components=value)
    )
    refused(path, match)


def test_refuses_bad_classifier_priors_param(tmp_path, models):
    path = edited(
        tmp_path, models["GMMClassifier"], metadata=lambda m: m["params"].update(priors=[0.5, 0.6])
    )
    refused(path, r"params are not valid \(priors has shape \(2,\) but y has 3 classes")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"y_ndim": 3}, r"training y_ndim must be 1 \(with 1 target\) or 2; got 3 with 1 targets"),
        ({"y_ndim": True}, r"training y_ndim must be 1 .*; got True"),
    ],
)
def test_refuses_a_bad_regressor_split(tmp_path, models, change, match):
    path = edited(
        tmp_path,
        models["GaussianMixtureRegressor"],
        metadata=lambda m: m["training"].update(change),
    )
    refused(path, match)
    path = edited(
        tmp_path, models["GaussianMixtureRegressor"], metadata=lambda m: m.update(n_targets=2)
    )
    refused(path, r"mixtures\[0\]: n_features is 3 but the model needs 4")


@pytest.mark.parametrize(
    ("member", "change", "match"),
    [
        ("mean_precision", lambda a: a.put(1, 0.0), r"array 'mean_precision' has a value <= 0"),
        ("weight_concentration", lambda a: a.put(0, -1.0), "array 'weight_concentration' has"),
        ("degrees_of_freedom", lambda a: a.put(2, 1.5), r"'degrees_of_freedom' has a value <= 2"),
        (
            "covariance_prior",
            lambda a: a.put(1, 5.0),
            "'covariance_prior' is not symmetric positiv",
        ),
        ("mean_precision", lambda a: a.put(0, 1e-320), "non-finite expected log weights"),
    ],
)
def test_refuses_bayesian_values_out_of_range(tmp_path, models, member, change, match):
    path = edited(tmp_path, models["BayesianGaussianMixture"], arrays={member: change})
    refused(path, match)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("weight_concentration_prior", 0, r"priors weight_concentration_prior must be a positive"),
        ("mean_precision_prior", -1.0, r"priors mean_precision_prior must be a positive finite"),
        ("degrees_of_freedom_prior", 1.5, r"degrees_of_freedom_prior must be a finite number > "),
        ("degrees_of_freedom_prior", "3", r"priors degrees_of_freedom_prior must be a number"),
    ],
)
def test_refuses_bayesian_priors_out_of_range(tmp_path, models, key, value, match):
    path = edited(
        tmp_path,
        models["BayesianGaussianMixture"],
        metadata=lambda m: m["priors"].update({key: value}),
    )
    refused(path, match)


def test_refuses_a_bayesian_prior_type_that_does_not_fit_the_arrays(tmp_path, models):
    path = edited(
        tmp_path,
        models["BayesianGaussianMixture"],
        metadata=lambda m: m["params"].update(
            weight_concentration_prior_type="dirichlet_distribution"
        ),
    )
    refused(
        path, r"array 'weight_concentration' is declared with shape \[2, 4\] but .* needs \[4\]"
    )


def test_a_deflated_file_of_every_class_loads(tmp_path, models):
    for kind in KINDS:
        path = saved(tmp_path, models[kind])
        write_members(path, read_members(path), compression=zipfile.ZIP_DEFLATED)
        assert_same_fitted(models[kind], load(path))


def test_load_gives_back_the_class_that_was_saved(tmp_path, models):
    classes = [
        type(load(saved(tmp_path, models[kind], f"{i}.gmm"))) for i, kind in enumerate(KINDS)
    ]
    assert classes == [
        GaussianMixture, BayesianGaussianMixture, GMMClassifier, GaussianMixtureRegressor
    ]  # fmt: skip
    assert gmmkit.load is load


def test_no_warning_on_save_and_load(tmp_path, models):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kind in KINDS:
            load(saved(tmp_path, models[kind]))


def test_bayesian_precisions_that_cannot_be_recomputed_are_stored(tmp_path):
    """Were a BayesianGaussianMixture's attributes float32 rounded from float64 (as
    GaussianMixture's are), the file would keep their bits as well."""
    model = fit_kind("BayesianGaussianMixture", covariance_type="tied")
    precisions = model.precisions_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        setattr(model, name, getattr(model, name).astype(np.float32))
    model.precisions_ = precisions.astype(np.float32)
    path = saved(tmp_path, model)
    assert "precisions" in read_metadata(path)["arrays"]
    assert_same_fitted(model, load(path))
    path = edited(tmp_path, model, arrays={"precisions": lambda p: p.__iadd__(p.max())})
    refused(path, r"precisions and precisions_cholesky disagree")
