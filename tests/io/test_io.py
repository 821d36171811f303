"""gmmkit.io: model files round-trip bit for bit, bad saves are refused, the format
is pinned by hand and nothing is unpickled.

The files that load refuses are in test_io_refused.py.
"""

import ast
import io
import json
import math
import pickle
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from helpers import COVARIANCE_TYPES
from model_files import NOISY, X, npy_bytes, read_members, refused, saved, write_members
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

import gmmkit
from gmmkit import GaussianMixture, NotFittedError
from gmmkit.modelfiles.files import FORMAT_NAME, FORMAT_VERSION, READERS, load, read_metadata, save

FITTED_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


# ------------------------------------------------------------------ round trips


def assert_same_model(original, loaded, data):
    for name in FITTED_ATTRIBUTES:
        assert_array_equal(getattr(loaded, name), getattr(original, name))
        assert getattr(loaded, name).strides == getattr(original, name).strides
    assert_array_equal(loaded.predict(data), original.predict(data))
    assert_array_equal(loaded.predict_proba(data), original.predict_proba(data))
    assert_array_equal(loaded.score_samples(data), original.score_samples(data))
    assert_array_equal(loaded.sample(7)[0], original.sample(7)[0])
    assert loaded.bic(data) == original.bic(data)
    assert loaded.aic(data) == original.aic(data)
    assert loaded.converged_ == original.converged_
    assert loaded.n_iter_ == original.n_iter_
    assert loaded.lower_bound_ == original.lower_bound_
    assert loaded.lower_bounds_ == original.lower_bounds_
    assert loaded.n_features_in_ == original.n_features_in_
    assert loaded.get_params() == original.get_params()
    assert loaded.noise_weight_ == original.noise_weight_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_round_trip_is_bit_for_bit(tmp_path, covariance_type, dtype):
    data = X if dtype is None else X.astype(np.float32)
    model = GaussianMixture(3, covariance_type=covariance_type, dtype=dtype, random_state=0)
    model.fit(data)
    loaded = load(saved(tmp_path, model))
    assert type(loaded) is GaussianMixture
    assert_same_model(model, loaded, data)
    assert loaded.metadata_["dtype"] == dtype


def test_a_noise_model_round_trips_bit_for_bit(tmp_path, noise_model):
    path = saved(tmp_path, noise_model)
    loaded = load(path)
    assert_same_model(noise_model, loaded, NOISY)
    assert 0.0 < loaded.noise_weight_ < 1.0
    assert type(loaded.noise_weight_) is float
    assert_array_equal(loaded.noise_bounds_, noise_model.noise_bounds_)
    assert loaded.noise_bounds_.shape == (2, 2)
    labels = loaded.predict(NOISY)
    assert_array_equal(labels, noise_model.predict(NOISY))
    assert (labels[-10:] == -1).sum() >= 5  # most outliers go to the noise component
    assert loaded.predict_proba(NOISY).shape == (len(NOISY), 3)
    points, components = loaded.sample(300)
    expected_points, expected_components = noise_model.sample(300)
    assert_array_equal(points, expected_points)
    assert_array_equal(components, expected_components)
    assert -1 in components
    meta = read_metadata(path)
    assert meta["params"]["noise"] == "uniform"
    assert meta["arrays"]["noise_bounds"] == {"shape": [2, 2], "dtype": "float64"}
    assert meta["training"]["noise_weight"] == noise_model.noise_weight_
    assert "noise_bounds.npy" in read_members(path)


def test_a_missing_em_model_round_trips_bit_for_bit(tmp_path):
    holes = X.copy()
    holes[::7, 1] = np.nan
    holes[::11, 0] = np.nan
    model = GaussianMixture(3, missing="em", random_state=0).fit(holes)
    path = saved(tmp_path, model)
    assert read_metadata(path)["params"]["missing"] == "em"
    loaded = load(path)
    assert loaded.missing == "em"
    assert_same_model(model, loaded, holes)
    assert not hasattr(loaded, "noise_bounds_")
    assert loaded.noise_weight_ == 0.0


def test_a_noise_model_with_missing_values_round_trips(tmp_path):
    holes = NOISY.copy()
    holes[::9, 0] = np.nan
    model = GaussianMixture(2, missing="em", noise="uniform", random_state=0).fit(holes)
    loaded = load(saved(tmp_path, model))
    assert_same_model(model, loaded, holes)
    assert_array_equal(loaded.noise_bounds_, model.noise_bounds_)


def test_init_arrays_are_stored_as_arrays(tmp_path):
    inits = {
        "weights_init": [0.2, 0.3, 0.5],
        "means_init": X[:3].tolist(),
        "precisions_init": np.stack([np.eye(3)] * 3),
    }
    model = GaussianMixture(3, max_iter=5, random_state=0, **inits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    path = saved(tmp_path, model)
    loaded = load(path)
    for name, value in inits.items():
        assert_array_equal(loaded.get_params()[name], np.asarray(value, dtype=np.float64))
    assert set(read_metadata(path)["arrays"]) >= set(inits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refit = loaded.fit(X)
    assert_array_equal(refit.means_, model.means_)


def test_params_that_are_not_json_are_dropped_to_their_default(tmp_path):
    model = GaussianMixture(2, random_state=np.random.RandomState(0), tol=np.float64(1e-4)).fit(X)
    loaded = load(saved(tmp_path, model))
    assert loaded.metadata_["dropped_params"] == ["random_state"]
    assert loaded.random_state is None
    assert loaded.tol == 1e-4 and type(loaded.tol) is float


def test_lower_bound_minus_infinity_round_trips_as_null(tmp_path):
    model = GaussianMixture(2, max_iter=0, random_state=0).fit(X)
    assert model.lower_bound_ == -math.inf
    path = saved(tmp_path, model)
    assert read_metadata(path)["training"]["lower_bound"] is None
    assert load(path).lower_bound_ == -math.inf


def test_dataframe_feature_names_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["height", "width", "depth"])
    model = GaussianMixture(2, random_state=0).fit(frame)
    path = saved(tmp_path, model)
    loaded = load(path)
    assert read_metadata(path)["feature_names"] == ["height", "width", "depth"]
    assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fitted without feature names" warning
        assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame.rename(columns={"depth": "colour"}))


def test_model_without_feature_names_has_none(tmp_path, models):
    loaded = load(saved(tmp_path, models["full"]))
    assert not hasattr(loaded, "feature_names_in_")
    assert loaded.metadata_["feature_names"] is None


def test_extra_round_trips_verbatim(tmp_path, models):
    extra = {
        "features": ["intensity"],
        "plugins": ["gmmkit_image"],
        "postprocessors": [{"name": "smooth", "sigma": 1.5, "enabled": True, "mask": None}],
    }
    path = saved(tmp_path, models["diag"], extra=extra)
    assert load(path).metadata_["extra"] == extra
    assert read_metadata(path)["extra"] == extra
    assert read_metadata(saved(tmp_path, models["diag"], name="plain.gmm"))["extra"] == {}


def test_a_pipeline_model_records_its_steps_and_plugins(tmp_path):
    X = np.random.default_rng(0).normal(size=(200, 2)) * [1.0, 50.0]
    result = gmmkit.run_pipeline(
        X,
        features=["standardize"],
        model=GaussianMixture(2, random_state=0),
        postprocessors=["labels"],
    )
    expected = {"features": {"standardize": "gmmkit"}, "postprocessors": {"labels": "gmmkit"}}
    assert result.model.pipeline_ == expected
    save(result.model, tmp_path / "p.gmm", extra={"note": "kept"})
    assert read_metadata(tmp_path / "p.gmm")["extra"] == {"note": "kept", "pipeline": expected}
    loaded = load(tmp_path / "p.gmm")
    assert loaded.pipeline_ == expected
    applied = gmmkit.run_pipeline(X, features=["standardize"], model=loaded, fit=False)
    assert_array_equal(applied.responsibilities, result.responsibilities)


def test_read_metadata_describes_the_model(tmp_path, models):
    path = saved(tmp_path, models["tied"])
    meta = read_metadata(path)
    assert meta["format"] == FORMAT_NAME == "gmmkit-model"
    assert meta["format_version"] == FORMAT_VERSION == 3
    assert meta["gmmkit_version"] == gmmkit.__version__
    assert meta["model_class"] == "GaussianMixture"
    assert (meta["covariance_type"], meta["n_components"], meta["n_features"]) == ("tied", 3, 3)
    assert meta["params"]["random_state"] == 0
    assert meta["arrays"]["covariances"] == {"shape": [3, 3], "dtype": "float64"}
    assert meta["arrays"]["weights"] == {"shape": [3], "dtype": "float64"}
    assert meta["training"]["n_iter"] == models["tied"].n_iter_
    assert (meta["params"]["missing"], meta["params"]["noise"]) == ("error", None)
    assert "noise_weight" not in meta["training"] and "noise_bounds" not in meta["arrays"]
    created = datetime.fromisoformat(meta["created"])
    assert created.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600
    assert meta == load(path).metadata_


def test_archive_layout_is_stored_npy_members(tmp_path, models):
    path = saved(tmp_path, models["full"])
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "metadata.json",
        "weights.npy",
        "means.npy",
        "covariances.npy",
        "precisions_cholesky.npy",
    ]
    assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}
    means = np.lib.format.read_array(io.BytesIO(read_members(path)["means.npy"]))
    assert_array_equal(means, models["full"].means_)


def test_deflated_archives_from_other_writers_load(tmp_path, models):
    path = saved(tmp_path, models["spherical"])
    write_members(path, read_members(path), compression=zipfile.ZIP_DEFLATED)
    assert_array_equal(load(path).score_samples(X), models["spherical"].score_samples(X))


def test_save_keeps_the_given_suffix_and_replaces_atomically(tmp_path, models):
    path = saved(tmp_path, models["full"], name="model.bin")
    saved(tmp_path, models["diag"], name="model.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]
    assert load(str(path)).covariance_type == "diag"


# -------------------------------------------------------------- refused saves


def test_save_refuses_an_unfitted_model(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        save(GaussianMixture(2), tmp_path / "model.gmm")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"when": {1, 2}}, "extra is not JSON-serialisable .*set"),
        ({"sigma": float("nan")}, "extra is not JSON-serialisable .*Out of range float"),
        ({1: "one"}, "extra changes in a JSON round trip"),
        ({"shape": (2, 3)}, "extra changes in a JSON round trip"),
        (["features"], "extra must be a dict of JSON values; got list"),
    ],
)
def test_save_refuses_extra_that_is_not_json(tmp_path, models, extra, match):
    with pytest.raises(ValueError, match=match):
        save(models["full"], tmp_path / "model.gmm", extra=extra)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_model_whose_attributes_were_broken(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(X)
    model.weights_ = model.weights_ * 1.1
    with pytest.raises(ValueError, match=r"cannot save the model to '.*model.gmm': weights sum"):
        save(model, tmp_path / "model.gmm")


@pytest.mark.parametrize(
    ("noise", "match"),
    [
        ("uniform", "params noise is 'uniform' but 'arrays' lacks 'noise_bounds'"),
        (None, "'arrays' declares 'noise_bounds' but params noise is not 'uniform'"),
    ],
)
def test_save_refuses_a_model_whose_noise_param_changed_after_fit(tmp_path, noise, match):
    data = X if noise else NOISY
    model = GaussianMixture(2, noise=None if noise else "uniform", random_state=0).fit(data)
    model.set_params(noise=noise)
    with pytest.raises(ValueError, match=rf"{match}.*\. Its attributes or parameters were"):
        save(model, tmp_path / "model.gmm")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------- format pinned by hand


def write_by_hand(
    path, covariance_type, arrays, feature_names, dtype="float64", version=1, params=(), training=()
):
    """A model file written with zipfile and .npy only, as the spec of ``version`` says.

    ``params`` and ``training`` add to the minimal params and training written.
    """
    n_components, n_features = np.shape(arrays["means"])
    metadata = {
        "format": "gmmkit-model",
        "format_version": version,
        "gmmkit_version": "0.1.0",
        "model_class": "GaussianMixture",
        "covariance_type": covariance_type,
        "n_components": n_components,
        "n_features": n_features,
        "dtype": None,
        # no "missing" or "noise" unless given: they take their defaults
        "params": {
            "n_components": n_components,
            "covariance_type": covariance_type,
            **dict(params),
        },
        "dropped_params": [],
        "feature_names": feature_names,
        "arrays": {
            name: {"shape": list(np.shape(value)), "dtype": dtype} for name, value in arrays.items()
        },
        "training": {
            "converged": True,
            "n_iter": 2,
            "lower_bound": -1.5,
            "lower_bounds": [-2.0, -1.5],
            **dict(training),
        },
        "extra": {"features": ["x"]},
        "created": "2026-01-01T00:00:00+00:00",
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        for name, value in arrays.items():
            archive.writestr(f"{name}.npy", npy_bytes(np.asarray(value, dtype=np.dtype(dtype))))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_hand_written_version_1_spherical_file_loads(tmp_path, dtype):
    pd = pytest.importorskip("pandas")
    variances = np.array([0.5, 2.0])
    arrays = {
        "weights": [0.25, 0.75],
        "means": [[-1.0], [2.0]],
        "covariances": variances,
        "precisions_cholesky": 1.0 / np.sqrt(variances),
    }
    path = tmp_path / "hand.gmm"
    write_by_hand(path, "spherical", arrays, ["x"], dtype)
    model = load(path)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        assert getattr(model, name).dtype == np.dtype(dtype)  # arrays keep their dtype
    points = pd.DataFrame({"x": [-1.0, 0.0, 2.0, 5.0]})
    densities = np.array(
        [
            w * stats.norm.pdf(points["x"].to_numpy(), m, np.sqrt(v))
            for w, m, v in zip([0.25, 0.75], [-1, 2], variances)
        ]
    )
    rtol = 1e-12 if dtype == "float64" else 1e-6
    assert_allclose(model.score_samples(points), np.log(densities.sum(axis=0)), rtol=rtol)
    assert_array_equal(model.predict(points), densities.argmax(axis=0))
    assert list(model.feature_names_in_) == ["x"]
    assert (model.converged_, model.n_iter_, model.lower_bounds_) == (True, 2, [-2.0, -1.5])
    assert model.metadata_["extra"] == {"features": ["x"]}
    # parameters added after version 1 take their defaults
    assert (model.missing, model.noise, model.noise_weight_) == ("error", None, 0.0)
    assert not hasattr(model, "noise_bounds_")


@pytest.mark.parametrize("version", [1, 2])
def test_a_hand_written_full_file_loads(tmp_path, version):
    weights = np.array([0.4, 0.6])
    means = np.array([[0.0, 0.0], [3.0, 1.0]])
    covariances = np.array([[[2.0, 0.5], [0.5, 1.0]], [[1.0, 0.0], [0.0, 0.5]]])
    # the precision Cholesky factor P is upper triangular with P P' = inv(C)
    precisions_cholesky = np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in covariances])
    arrays = {
        "weights": weights,
        "means": means,
        "covariances": covariances,
        "precisions_cholesky": precisions_cholesky,
    }
    path = tmp_path / "hand.gmm"
    write_by_hand(path, "full", arrays, None, version=version)  # 2 without noise: same as 1
    model = load(path)
    points = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]])
    densities = np.array(
        [
            w * stats.multivariate_normal(m, c).pdf(points)
            for w, m, c in zip(weights, means, covariances)
        ]
    )
    assert_allclose(model.score_samples(points), np.log(densities.sum(axis=0)), rtol=1e-12)
    assert_allclose(model.predict_proba(points), (densities / densities.sum(axis=0)).T, rtol=1e-12)
    assert not hasattr(model, "feature_names_in_")


def test_a_hand_written_version_2_diag_noise_file_loads(tmp_path):
    weights, noise_weight = np.array([0.3, 0.6]), 0.1
    means = np.array([[-1.0, 0.0], [2.0, 3.0]])
    variances = np.array([[0.5, 1.0], [2.0, 0.25]])
    bounds = np.array([[-5.0, 5.0], [-2.0, 8.0]])
    arrays = {
        "weights": weights,
        "means": means,
        "covariances": variances,
        "precisions_cholesky": 1.0 / np.sqrt(variances),
        "noise_bounds": bounds,
    }
    path = tmp_path / "hand.gmm"
    write_by_hand(
        path, "diag", arrays, None, version=2,
        params={"noise": "uniform"}, training={"noise_weight": noise_weight},
    )  # fmt: skip
    model = load(path)
    points = np.array([[-1.0, 0.0], [2.0, 3.0], [0.5, 1.5], [4.5, 7.5], [12.0, -6.0]])
    gaussians = [
        w * stats.multivariate_normal(m, np.diag(v)).pdf(points)
        for w, m, v in zip(weights, means, variances)
    ]
    noise = np.full(len(points), noise_weight / np.prod(bounds[:, 1] - bounds[:, 0]))
    densities = np.array([*gaussians, noise])  # (K + 1, n): the noise component last
    assert_allclose(model.score_samples(points), np.log(densities.sum(axis=0)), rtol=1e-12)
    assert_allclose(model.predict_proba(points), (densities / densities.sum(axis=0)).T, rtol=1e-12)
    expected = densities.argmax(axis=0)
    expected[expected == 2] = -1
    assert_array_equal(model.predict(points), expected)
    assert list(expected) == [0, 1, 0, -1, -1]
    assert model.noise == "uniform" and model.noise_weight_ == noise_weight
    assert_array_equal(model.noise_bounds_, bounds)
    draws, components = model.set_params(random_state=0).sample(500)
    assert set(components) == {-1, 0, 1}
    noise_draws = draws[components == -1]  # uniform in the box
    assert np.all((noise_draws >= bounds[:, 0]) & (noise_draws <= bounds[:, 1]))


def test_a_hand_written_version_1_file_with_noise_params_is_refused(tmp_path):
    arrays = {
        "weights": [0.25, 0.75],
        "means": [[-1.0], [2.0]],
        "covariances": [0.5, 2.0],
        "precisions_cholesky": 1.0 / np.sqrt([0.5, 2.0]),
    }
    path = tmp_path / "hand.gmm"
    write_by_hand(path, "spherical", arrays, ["x"], params={"noise": "uniform"})
    refused(path, "params noise is 'uniform' but format version 1 has no noise component")


def test_every_format_version_up_to_the_current_one_has_a_reader():
    assert sorted(READERS) == list(range(1, FORMAT_VERSION + 1))


# -------------------------------------------------------------------- no pickle


NPY_FUNCTIONS = {"load", "read_array", "write_array", "save", "savez"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve"}
MODEL_FILE_MODULES = sorted(
    f"modelfiles/{p.name}" for p in (Path(gmmkit.__file__).parent / "modelfiles").glob("*.py")
)


def test_the_model_file_modules_are_known():
    assert MODEL_FILE_MODULES == [
        "modelfiles/__init__.py", "modelfiles/bayesian.py", "modelfiles/checks.py",
        "modelfiles/composite.py", "modelfiles/files.py", "modelfiles/formats.py",
        "modelfiles/mixture.py", "modelfiles/read.py",
    ]  # fmt: skip


@pytest.mark.parametrize("module", MODEL_FILE_MODULES)
def test_model_file_modules_never_import_pickle(module):
    tree = ast.parse((Path(gmmkit.__file__).parent / module).read_text())
    imported, array_calls = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in NPY_FUNCTIONS:
            array_calls.append(node)
    assert not imported & FORBIDDEN_MODULES
    for call in array_calls:  # every .npy write says allow_pickle=False
        keywords = {k.arg: getattr(k.value, "value", None) for k in call.keywords}
        assert keywords.get("allow_pickle") is False, ast.unparse(call)
    # arrays are written by write_array only, and read by gmmkit.modelfiles.read's own code
    expected = {"write_array"} if module == "modelfiles/files.py" else set()
    assert {call.func.attr for call in array_calls} == expected


def test_load_never_unpickles(tmp_path, models, monkeypatch):
    path = saved(tmp_path, models["full"])

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    assert_array_equal(load(path).predict(X), models["full"].predict(X))


def test_load_checks_a_constrained_models_structure_once(tmp_path, monkeypatch):
    """The file's check (its message names the file) is the only one on the load path;
    from_parameters called by a user checks with its own message."""
    import gmmkit.engine.covariance as covariance

    model = GaussianMixture(3, covariance_type="VEV", random_state=0).fit(X)
    path = saved(tmp_path, model)
    checked = []
    real = covariance.structure_problem

    def counted(name, *args):
        checked.append(name)
        return real(name, *args)

    monkeypatch.setattr(covariance, "structure_problem", counted)
    loaded = load(path)
    assert checked == ["VEV"]
    for name in FITTED_ATTRIBUTES:
        assert_array_equal(getattr(loaded, name), getattr(model, name))
    GaussianMixture.from_parameters(model.weights_, model.means_, model.covariances_,
                                    covariance_type="VEV")
    assert checked == ["VEV", "VEV"]
    stretch = np.diag([1.0, 2.0, 1.0])
    broken = model.covariances_.copy()
    broken[1] = stretch @ broken[1] @ stretch  # another shape than components 0 and 2
    with pytest.raises(ValueError, match=r"needs the same shape in every component.*; pass "
                                         r"covariances of that structure, or "
                                         r"covariance_type='full'\.$"):
        GaussianMixture.from_parameters(model.weights_, model.means_, broken,
                                        covariance_type="VEV")
    unchecked = GaussianMixture.from_parameters(model.weights_, model.means_, broken,
                                                covariance_type="VEV", check_structure=False)
    assert_array_equal(unchecked.covariances_, broken)
    assert checked == ["VEV", "VEV", "VEV"]
