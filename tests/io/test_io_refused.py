"""gmmkit.io: damaged or hostile model files are refused with a message that names the problem.

Archives, metadata, values and the noise component, each edited from a good file.
"""

import math
import pickle
import re
import zipfile

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES
from model_files import X, edited, npy_bytes, read_members, refused, saved, write_members

import gmmkit
from gmmkit.modelfiles.files import ModelFileError, read_metadata

# ------------------------------------------------------------ refused archives


def test_refuses_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "notes.gmm"
    path.write_text("just some notes")
    refused(path, r"it is not a zip archive \(it starts with b'just'\)\. Pass a model file")


def test_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.gmm"
    path.write_bytes(b"")
    refused(path, r"the file is empty \(0 bytes\)")


def test_refuses_a_truncated_file(tmp_path, models):
    path = saved(tmp_path, models["full"])
    path.write_bytes(path.read_bytes()[:1000])
    refused(path, "it is a truncated or damaged zip archive .*restore it from a backup")


def test_refuses_a_corrupted_member(tmp_path, models):
    path = saved(tmp_path, models["full"])
    data = bytearray(path.read_bytes())
    where = bytes(data).index(models["full"].weights_.tobytes())
    data[where] ^= 0xFF
    path.write_bytes(bytes(data))
    refused(path, r"member 'weights.npy' is corrupted \(Bad CRC-32")


def test_refuses_a_missing_member(tmp_path, models):
    path = edited(tmp_path, models["full"], drop=["covariances.npy"])
    refused(path, "the archive lacks the member 'covariances.npy'")


def test_refuses_a_missing_metadata_member(tmp_path, models):
    path = edited(tmp_path, models["full"], drop=["metadata.json"])
    refused(path, "lacks the member 'metadata.json'. Pass a model file written by")


def test_refuses_an_unknown_member(tmp_path, models):
    path = edited(tmp_path, models["full"], add={"run.py": b"print('hello')"})
    refused(path, "the archive holds an unexpected member 'run.py'")


def test_refuses_an_unknown_compression_method(tmp_path, models):
    path = saved(tmp_path, models["full"])
    write_members(path, read_members(path), compression=zipfile.ZIP_BZIP2)
    refused(path, r"member 'metadata.json' uses compression method 12; only stored")


def test_refuses_a_zip_bomb_before_decompressing_it(tmp_path, models, monkeypatch):
    path = saved(tmp_path, models["full"])
    members = read_members(path)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name == "means.npy":
                bomb = npy_bytes(np.zeros((3, 3))) + bytes(10 * 2**20)
                archive.writestr(name, bomb, compress_type=zipfile.ZIP_DEFLATED)
            else:
                archive.writestr(name, data)
    assert path.stat().st_size < 100_000
    opened = []
    original_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    refused(path, r"member 'means.npy' holds 104859\d\d bytes .*refused before decompressing")
    assert opened == ["metadata.json"]


def test_refuses_a_file_padded_beyond_its_declared_arrays(tmp_path, models):
    path = saved(tmp_path, models["full"])
    write_members(path, read_members(path), comment=b" " * 60_000)
    refused(path, r"the file is \d+ bytes but its declared arrays allow at most \d+; padded")


def test_refuses_an_oversized_metadata_member(tmp_path, models):
    path = saved(tmp_path, models["full"])
    members = read_members(path)
    members["metadata.json"] += b" " * (5 * 2**20)
    write_members(path, members, compression=zipfile.ZIP_DEFLATED)
    refused(
        path, r"member 'metadata.json' holds \d+ bytes .* the metadata limit allows at most 1048576"
    )


# ------------------------------------------------------------ refused metadata


@pytest.mark.parametrize("text", [b"{not json", b'{"format": NaN}', b"\xff\xfe"])
def test_refuses_metadata_that_is_not_json(tmp_path, models, text):
    path = edited(tmp_path, models["full"], add={"metadata.json": text})
    refused(path, r"metadata.json is not valid JSON \(")


def test_refuses_metadata_with_missing_keys(tmp_path, models):
    path = edited(tmp_path, models["full"], metadata=lambda m: m.pop("n_features"))
    refused(path, r"metadata.json lacks the keys \['n_features'\]")


def test_refuses_a_wrong_format_name(tmp_path, models):
    path = edited(tmp_path, models["full"], metadata=lambda m: m.update(format="other-model"))
    refused(path, "metadata.json names the format 'other-model', not 'gmmkit-model'")


def test_refuses_a_newer_format_version_with_an_upgrade_hint(tmp_path, models):
    path = edited(tmp_path, models["full"], metadata=lambda m: m.update(format_version=4))
    message = (
        rf"this file is format version 4, but this gmmkit \({gmmkit.__version__}\) reads "
        r"format versions up to 3\. Upgrade gmmkit \(pip install --upgrade gmmkit\) to load it\."
    )
    refused(path, message)
    with pytest.raises(ModelFileError, match=message):
        read_metadata(path)


@pytest.mark.parametrize(
    ("version", "match"),
    [
        ("1", "format_version must be an integer; got '1'"),
        (True, "format_version must be an integer; got True"),
        (1.0, "format_version must be an integer; got 1.0"),
        (0, r"format_version 0 does not exist \(known: \[1, 2, 3\]\)"),
    ],
)
def test_refuses_a_format_version_that_is_not_a_known_int(tmp_path, models, version, match):
    path = edited(tmp_path, models["full"], metadata=lambda m: m.update(format_version=version))
    refused(path, match)


def test_refuses_an_unknown_covariance_type(tmp_path, models):
    path = edited(tmp_path, models["full"], metadata=lambda m: m.update(covariance_type="banana"))
    refused(path, r"covariance_type 'banana' is not one of \['full', 'tied', 'diag', 'spherical', "
            r"'EII', 'VII', ")


def test_refuses_an_unknown_model_class(tmp_path, models):
    change = {"model_class": "SpectralMixture"}
    path = edited(tmp_path, models["full"], metadata=lambda m: m.update(change))
    refused(
        path,
        r"model_class 'SpectralMixture' is not supported; this gmmkit loads \["
        r"'BayesianGaussianMixture', 'GMMClassifier', 'GaussianMixture', "
        r"'GaussianMixtureRegressor'\]\. Upgrade gmmkit",
    )


@pytest.mark.parametrize("version", [1, 2])
def test_refuses_another_model_class_in_a_version_1_or_2_file(tmp_path, models, version):
    change = {"model_class": "BayesianGaussianMixture", "format_version": version}
    path = edited(tmp_path, models["full"], metadata=lambda m: m.update(change))
    refused(
        path,
        rf"model_class is 'BayesianGaussianMixture' but format version {version} holds "
        r"GaussianMixture models only \(version 3 added the other classes\)\. The file is",
    )


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"colour": "red"}, r"params has names this gmmkit does not know: \['colour'\]"),
        (
            {"tol": -1},
            r"params are not valid \(tol must be a number >= 0.0; got -1\)\. The file is damaged",
        ),
        ({"n_components": 4}, "params n_components is 4 but the top-level n_components is 3"),
        ({"random_state": "seed"}, "params are not valid .*random_state='seed'"),
    ],
)
def test_refuses_invalid_params(tmp_path, models, change, match):
    path = edited(tmp_path, models["full"], metadata=lambda m: m["params"].update(change))
    refused(path, match)


def test_refuses_a_declared_shape_that_does_not_fit_the_model(tmp_path, models):
    def wrong_shape(meta):
        meta["arrays"]["means"]["shape"] = [3, 5]

    path = edited(tmp_path, models["full"], metadata=wrong_shape)
    refused(
        path, r"array 'means' is declared with shape \[3, 5\] but a full model with 3 components"
    )


def test_refuses_an_array_whose_shape_differs_from_its_declaration(tmp_path, models):
    path = edited(tmp_path, models["diag"], arrays={"means": np.zeros((3, 4))})
    refused(path, r"'means.npy' holds a float64 array of shape \[3, 4\] but metadata.json declares")


def test_refuses_a_declared_dtype_other_than_float(tmp_path, models):
    def wrong_dtype(meta):
        meta["arrays"]["weights"]["dtype"] = "int64"

    path = edited(tmp_path, models["full"], metadata=wrong_dtype)
    refused(path, "array 'weights' is declared with dtype 'int64'; only 'float64' and 'float32'")


@pytest.mark.parametrize(
    ("array", "shown"),
    [
        (np.zeros((3, 3), dtype=">f8"), ">f8"),
        (np.zeros((3, 3), dtype=np.int64), "<i8"),
        (np.zeros((3, 3), dtype=np.complex128), "<c16"),
    ],
)
def test_refuses_array_dtypes_other_than_little_endian_float(tmp_path, models, array, shown):
    path = edited(tmp_path, models["full"], arrays={"means": array})
    refused(path, rf"member 'means.npy' holds an array of dtype '{shown}'; only little-endian")


def test_refuses_an_object_array_without_reading_or_unpickling_it(tmp_path, models, monkeypatch):
    objects = np.empty(3, dtype=object)  # weights: the first array member read
    objects[:] = 1.0 / 3.0
    path = edited(tmp_path, models["full"], arrays={"weights": objects})

    def forbidden(*args, **kwargs):
        raise AssertionError("the data of an object array was read")

    monkeypatch.setattr(np.lib.format, "read_array", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    refused(path, r"member 'weights.npy' holds an array of dtype '\|O'.*its data was not read")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"garbage" * 12, "member 'means.npy' is not a valid .npy array"),
        (
            b"garbage",
            r"member 'means.npy' holds 7 bytes but its declared shape \[3, 3\] float64 "
            r"needs at least 72; it is truncated",
        ),
        (npy_bytes(np.zeros((3, 3)))[:-8], r"member 'means.npy' is truncated \(EOF"),
        (npy_bytes(np.zeros((3, 3))) + bytes(8), "member 'means.npy' has data after its array"),
    ],
)
def test_refuses_a_damaged_npy_member(tmp_path, models, data, match):
    path = edited(tmp_path, models["full"], add={"means.npy": data})
    refused(path, match)


# --------------------------------------------------------------- refused values


def replaced(model, name, change):
    array = np.array(getattr(model, f"{name}_"))
    change(array)
    return {name: array}


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_refuses_non_finite_values(tmp_path, models, value):
    arrays = replaced(models["full"], "means", lambda a: a.__setitem__((1, 2), value))
    refused(
        edited(tmp_path, models["full"], arrays=arrays), "array 'means' contains NaN or infinity"
    )


def test_refuses_weights_that_do_not_sum_to_one(tmp_path, models):
    path = edited(tmp_path, models["full"], arrays={"weights": [0.5, 0.5, 0.5]})
    refused(path, r"weights sum to 1.5, not 1 \(tolerance 1e-06\)")


def test_refuses_negative_weights(tmp_path, models):
    path = edited(tmp_path, models["full"], arrays={"weights": [1.25, -0.25, 0.0]})
    refused(path, r"weights has a negative value \(-0.25 for component 1\)")


def test_refuses_a_covariance_that_is_not_positive_definite(tmp_path, models):
    indefinite = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    arrays = replaced(models["full"], "covariances", lambda a: a.__setitem__(1, indefinite))
    path = edited(tmp_path, models["full"], arrays=arrays)
    refused(path, "the covariance of component 1 is not positive definite")


@pytest.mark.parametrize("covariance_type", ["diag", "spherical", "full", "tied"])
def test_refuses_a_variance_that_is_not_positive(tmp_path, models, covariance_type):
    model = models[covariance_type]
    index = {"diag": (1, 0), "spherical": 1, "full": (1, 0, 0), "tied": (0, 0)}[covariance_type]
    arrays = replaced(model, "covariances", lambda a: a.__setitem__(index, -0.5))
    label = "the tied covariance" if covariance_type == "tied" else "component 1"
    refused(edited(tmp_path, model, arrays=arrays), rf"{label} has a variance <= 0 \(-0.5\)")


def test_refuses_a_precision_cholesky_that_is_not_upper_triangular(tmp_path, models):
    arrays = replaced(
        models["full"], "precisions_cholesky", lambda a: a.__setitem__((2, 1, 0), 0.1)
    )
    path = edited(tmp_path, models["full"], arrays=arrays)
    refused(path, "precisions_cholesky of component 2 is not upper triangular with a positive")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_refuses_covariances_that_disagree_with_their_precisions(tmp_path, models, covariance_type):
    model = models[covariance_type]
    arrays = {"covariances": model.covariances_ * 1.01}
    path = edited(tmp_path, model, arrays=arrays)
    refused(path, r"covariances and precisions_cholesky disagree for .*= 0.01\d*, tolerance")


# ------------------------------------------------------ refused noise component


def drop_noise_bounds(meta):
    del meta["arrays"]["noise_bounds"]


def test_refuses_noise_params_without_noise_bounds(tmp_path, noise_model):
    path = edited(tmp_path, noise_model, metadata=drop_noise_bounds, drop=["noise_bounds.npy"])
    refused(path, r"params noise is 'uniform' but 'arrays' lacks 'noise_bounds'\. The file is")


def test_refuses_noise_params_without_noise_weight(tmp_path, noise_model):
    path = edited(tmp_path, noise_model, metadata=lambda m: m["training"].pop("noise_weight"))
    refused(path, r"params noise is 'uniform' but 'training' lacks 'noise_weight'\. The file is")


@pytest.mark.parametrize(
    "change", [lambda p: p.update(noise=None), lambda p: p.pop("noise")], ids=["null", "absent"]
)
def test_refuses_noise_bounds_without_noise_params(tmp_path, noise_model, change):
    path = edited(tmp_path, noise_model, metadata=lambda m: change(m["params"]))
    refused(
        path,
        r"'arrays' declares 'noise_bounds' but params noise is not 'uniform' \(the model has no "
        r"noise component\)\. The file is damaged",
    )


def test_refuses_a_noise_weight_without_noise_params(tmp_path, models):
    path = edited(tmp_path, models["full"], metadata=lambda m: m["training"].update(noise_weight=0))
    refused(path, "'training' has 'noise_weight' but params noise is not 'uniform'")


def test_refuses_noise_bounds_declared_with_the_wrong_shape(tmp_path, noise_model):
    def wrong_shape(meta):
        meta["arrays"]["noise_bounds"]["shape"] = [2, 3]

    path = edited(tmp_path, noise_model, metadata=wrong_shape)
    refused(
        path,
        r"array 'noise_bounds' is declared with shape \[2, 3\] but a full model with 2 "
        r"components and 2 features needs \[2, 2\]",
    )


def test_refuses_noise_bounds_of_the_wrong_shape(tmp_path, noise_model):
    path = edited(tmp_path, noise_model, arrays={"noise_bounds": np.zeros((2, 3))})
    refused(
        path,
        r"member 'noise_bounds.npy' holds a float64 array of shape \[2, 3\] but metadata.json "
        r"declares float64 \[2, 2\]",
    )


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_refuses_non_finite_noise_bounds(tmp_path, noise_model, value):
    arrays = replaced(noise_model, "noise_bounds", lambda a: a.__setitem__((1, 0), value))
    path = edited(tmp_path, noise_model, arrays=arrays)
    refused(path, "array 'noise_bounds' contains NaN or infinity")


@pytest.mark.parametrize(
    ("bounds", "shown"), [([2.0, 2.0], r"2.0 <= 2.0"), ([3.0, -1.0], r"-1.0 <= 3.0")]
)
def test_refuses_noise_bounds_whose_max_is_not_above_the_min(tmp_path, noise_model, bounds, shown):
    arrays = replaced(noise_model, "noise_bounds", lambda a: a.__setitem__(1, bounds))
    path = edited(tmp_path, noise_model, arrays=arrays)
    refused(
        path,
        rf"noise_bounds of feature 1 has max <= min \({shown}\), so the noise component has no "
        r"volume\. The file is damaged",
    )


@pytest.mark.parametrize("value", ["0.1", True, None, [0.1], -0.1, 1, 1.0, 1.5])
def test_refuses_a_noise_weight_that_is_not_a_number_in_0_1(tmp_path, noise_model, value):
    path = edited(
        tmp_path, noise_model, metadata=lambda m: m["training"].update(noise_weight=value)
    )
    got = re.escape(repr(value))
    refused(path, rf"training noise_weight must be a number in \[0, 1\); got {got}\. The file is")


def test_refuses_weights_and_noise_weight_that_do_not_sum_to_one(tmp_path, noise_model):
    path = edited(tmp_path, noise_model, metadata=lambda m: m["training"].update(noise_weight=0.5))
    total = math.fsum(noise_model.weights_.tolist())
    refused(
        path,
        rf"weights sum to {total!r} and noise_weight is 0.5: together \d\.\d+, not 1 "
        r"\(tolerance 1e-06\)",
    )


def test_refuses_noise_model_weights_that_sum_to_one_alone(tmp_path, noise_model):
    weights = noise_model.weights_ / noise_model.weights_.sum()
    path = edited(tmp_path, noise_model, arrays={"weights": weights})
    refused(path, rf"and noise_weight is {noise_model.noise_weight_!r}: together 1.05\d*, not 1")


def test_refuses_a_version_1_file_with_noise_params(tmp_path, models):
    def version_1_with_noise(meta):
        meta["format_version"] = 1
        meta["params"]["noise"] = "uniform"

    path = edited(tmp_path, models["full"], metadata=version_1_with_noise)
    refused(
        path,
        r"params noise is 'uniform' but format version 1 has no noise component \(version 2 "
        r"added it\)\. The file is damaged",
    )


def test_refuses_a_version_1_file_with_noise_bounds(tmp_path, noise_model):
    path = edited(tmp_path, noise_model, metadata=lambda m: m.update(format_version=1))
    refused(path, r"'arrays' declares unknown arrays \['noise_bounds'\]")


def relabelled(name):
    """A metadata edit calling the saved mixture covariance_type ``name``."""
    def edit(meta):
        meta["covariance_type"] = name
        meta["params"]["covariance_type"] = name
    return edit


@pytest.mark.parametrize("layout, name, broken", [
    ("full", "VEV", "shape"), ("full", "EVE", "volume"), ("full", "VEE", "shape and orientation"),
    ("full", "EEV", "volume"), ("diag", "VEI", "shape"), ("diag", "EVI", "volume"),
    ("spherical", "EII", "volume"),
])
def test_refuses_covariances_without_the_structure_of_their_model(tmp_path, models, layout, name,
                                                                   broken):
    """Issue 17: a file that calls unconstrained covariances VEV (or EII ...) is refused; the
    same covariances with an honest label load, and a real VEV fit round-trips."""
    path = edited(tmp_path, models[layout], metadata=relabelled(name))
    message = refused(path, rf"covariance_type {name} \(.*\) needs the same {broken} in every "
                            r"component, but component \d's differs from component 0's.*; the "
                            "file was not written by gmmkit or was edited since")
    assert message.endswith(". Restore it from a backup, or refit the model "
                            "(covariance_type='full' keeps covariances without equalities).")
    honest = gmmkit.GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    loaded = gmmkit.load(saved(tmp_path, honest, name="honest.gmm"))
    np.testing.assert_array_equal(loaded.covariances_, honest.covariances_)
