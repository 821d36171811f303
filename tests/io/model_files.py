"""Helpers of the model-file tests: fitted models of every class, editing saved files."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest

from gmmkit import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureRegressor,
    GMMClassifier,
)
from gmmkit.modelfiles.files import ModelFileError, load, save

RNG = np.random.default_rng(1)
# three well-separated clusters in 3-D, 100 rows each
X = np.vstack([RNG.normal(center, 1.0, size=(100, 3)) for center in (-6.0, 0.0, 6.0)])
# two clusters in 2-D and a few uniform outliers, for the noise component
NOISY = np.vstack(
    [
        RNG.normal(-3.0, 1.0, size=(100, 2)),
        RNG.normal(3.0, 1.0, size=(100, 2)),
        RNG.uniform(-15.0, 15.0, size=(10, 2)),
    ]
)
LABELS = np.repeat(np.array(["left", "middle", "right"]), 100)
KINDS = ("GaussianMixture", "BayesianGaussianMixture", "GMMClassifier", "GaussianMixtureRegressor")


#: each class and the number of components its test models have
CLASSES = {
    "GaussianMixture": (GaussianMixture, 3),
    "BayesianGaussianMixture": (BayesianGaussianMixture, 4),
    "GMMClassifier": (GMMClassifier, 2),
    "GaussianMixtureRegressor": (GaussianMixtureRegressor, 2),
}


def fit_kind(kind, covariance_type="full", data=X, labels=LABELS, **params):
    """A fitted model of class ``kind`` on ``data`` (and ``labels`` for the classifier).

    The regressor predicts the last column of ``data`` from the others.
    """
    cls, n_components = CLASSES[kind]
    params = {"n_components": n_components, "covariance_type": covariance_type,
              "random_state": 0, **params}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of short fits
        if kind == "GMMClassifier":
            return cls(**params).fit(data, labels)
        if kind == "GaussianMixtureRegressor":
            return cls(**params).fit(data[:, :2], data[:, 2])
        return cls(**params).fit(data)


def model_input(model, data=X):
    """The X the model predicts from."""
    return data[:, :2] if isinstance(model, GaussianMixtureRegressor) else data


def outputs(model, data=X):
    """Everything the model computes from rows of ``data``, by method name."""
    rows = model_input(model, data)
    if isinstance(model, GaussianMixtureRegressor):
        mean, std = model.predict(rows, return_std=True)
        return {"predict": mean, "std": std, "score": model.score(rows, data[:, 2])}
    if isinstance(model, GMMClassifier):
        return {"predict": model.predict(rows), "predict_proba": model.predict_proba(rows)}
    model.random_state = 0
    return {
        "predict": model.predict(rows),
        "predict_proba": model.predict_proba(rows),
        "score_samples": model.score_samples(rows),
        "sample": model.sample(7)[0],
    }


def assert_same_outputs(original, loaded, data=X):
    expected, got = outputs(original, data), outputs(loaded, data)
    for name, value in expected.items():
        assert np.asarray(got[name]).dtype == np.asarray(value).dtype, name
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def fitted_attributes(model):
    """Every fitted attribute: public names ending in "_"."""
    names = [n for n in vars(model) if n.endswith("_") and not n.startswith("_")]
    return {name: getattr(model, name) for name in names if name not in ("metadata_", "pipeline_")}


def assert_same_value(expected, got, where):
    assert type(got) is type(expected), f"{where}: {type(got)} is not {type(expected)}"
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and got.shape == expected.shape, where
        assert got.strides == expected.strides, f"{where}: memory order"
        if expected.dtype.hasobject:
            assert [type(v) for v in got.tolist()] == [type(v) for v in expected.tolist()], where
            assert got.tolist() == expected.tolist(), where
        else:
            assert got.tobytes(order="A") == expected.tobytes(order="A"), f"{where}: bits"
    elif isinstance(expected, np.generic):
        assert got.tobytes() == expected.tobytes(), where
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for i, (a, b) in enumerate(zip(expected, got)):
            assert_same_value(a, b, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert got.keys() == expected.keys(), where
        for key in expected:
            assert_same_value(expected[key], got[key], f"{where}[{key!r}]")
    elif hasattr(expected, "get_params"):
        assert_same_fitted(expected, got, where)
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(got), where
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


def assert_same_fitted(original, loaded, where="model"):
    """Every fitted attribute of ``loaded`` is that of ``original``: type, dtype, bits."""
    assert type(loaded) is type(original), where
    expected = fitted_attributes(original)
    assert set(fitted_attributes(loaded)) == set(expected), where
    for name, value in expected.items():
        assert_same_value(value, getattr(loaded, name), f"{where}.{name}")


# ------------------------------------------------------------- saved files


def saved(tmp_path, model, name="model.gmm", **kwargs):
    path = tmp_path / name
    save(model, path, **kwargs)
    return path


def read_members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_members(path, members, compression=zipfile.ZIP_STORED, comment=b""):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = comment


def npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=True)
    return buffer.getvalue()


def npy_array(data):
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)


def edited(tmp_path, model, *, metadata=None, arrays=None, drop=(), add=None):
    """A saved model file with metadata edited in place, arrays replaced, members dropped/added.

    ``arrays`` maps a member name without .npy (``"means"``, ``"mixtures/0/means"``) to
    its new value, or to a function changing a copy of the saved array in place.
    """
    (tmp_path / "model.gmm").unlink(missing_ok=True)  # save replaces model files only
    path = saved(tmp_path, model)
    members = read_members(path)
    if metadata is not None:
        meta = json.loads(members["metadata.json"])
        metadata(meta)
        members["metadata.json"] = json.dumps(meta).encode()
    for name, value in (arrays or {}).items():
        if callable(value):
            array = np.array(npy_array(members[f"{name}.npy"]))
            value(array)
            value = array
        members[f"{name}.npy"] = npy_bytes(value)
    for name in drop:
        del members[name]
    members.update(add or {})
    write_members(path, members)
    return path


def refused(path, match):
    """load(path) raises ModelFileError naming the file and matching ``match``."""
    with pytest.raises(ModelFileError, match=match) as raised:
        load(path)
    assert str(raised.value).startswith(f"cannot load '{path}': ")
    return str(raised.value)


def declaration(meta, member):
    """The "arrays" entry of ``member`` (a name without .npy) in metadata ``meta``."""
    if member.startswith("mixtures/"):
        _, index, name = member.split("/")
        return meta["mixtures"][int(index)]["arrays"][name]
    return meta["arrays"][member]


def label_of(member):
    """How messages name the part of the model a member belongs to, and the array's name."""
    if member.startswith("mixtures/"):
        _, index, name = member.split("/")
        return f"mixtures\\[{index}\\]: ", name
    return "", member
