"""run_pipeline (features -> GaussianMixture -> post-processors) and the input readers."""

import re

import numpy as np
import pytest

import gmmkit
from gmmkit import GaussianMixture, hookimpl, run_pipeline
from gmmkit.datasets import load_dataset
from gmmkit.inputs.readers import DataFileError, LeftOutColumnsWarning, read_data
from gmmkit.pipeline import extract_features
from gmmkit.plugins import make_plugin_manager, use_plugin_manager


@pytest.fixture
def pm():
    """A fresh manager with gmmkit's own plugin only, in use for the test."""
    manager = make_plugin_manager(entry_points=False)
    with use_plugin_manager(manager):
        yield manager


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")[0]


# -------------------------------------------------------------- pipeline


def test_identity_pipeline_matches_the_model(pm, iris):
    result = run_pipeline(
        iris,
        features=["identity"],
        model=GaussianMixture(3, random_state=0),
        postprocessors=["labels", "log_likelihood"],
    )
    model = result.model
    np.testing.assert_array_equal(result.features, iris)
    assert result.feature_names == [f"identity[{j}]" for j in range(4)]
    np.testing.assert_array_equal(result.outputs["labels"], model.predict(iris))
    np.testing.assert_allclose(result.outputs["log_likelihood"], model.score_samples(iris))
    np.testing.assert_allclose(result.responsibilities, model.predict_proba(iris))
    np.testing.assert_allclose(result.responsibilities.sum(axis=1), 1.0)
    assert result.steps == {
        "features": {"identity": "gmmkit"},
        "postprocessors": {"labels": "gmmkit", "log_likelihood": "gmmkit"},
    }
    reference = GaussianMixture(3, random_state=0).fit(iris)
    np.testing.assert_allclose(model.means_, reference.means_)


def test_standardize_feature_and_defaults(pm, iris):
    result = run_pipeline(iris, features="standardize", model=GaussianMixture(2, random_state=0))
    np.testing.assert_allclose(result.features.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(result.features.std(axis=0), 1.0)
    np.testing.assert_allclose(result.features, (iris - iris.mean(0)) / iris.std(0))
    assert result.outputs == {}
    assert result.steps == {"features": {"standardize": "gmmkit"}, "postprocessors": {}}
    constant = np.column_stack([iris[:, 0], np.full(150, 7.0)])
    np.testing.assert_array_equal(extract_features(constant, ["standardize"])[0][:, 1], 0.0)
    default = run_pipeline(iris[:, :2])  # identity features, GaussianMixture()
    assert default.model.n_components == 1
    np.testing.assert_array_equal(default.features, iris[:, :2])


def test_several_features_side_by_side_with_options(pm, iris):
    class Plugin:
        @hookimpl
        def gmmkit_register_features(self, register):
            register("column", lambda X, *, j=0: np.asarray(X)[:, j])

        @hookimpl
        def gmmkit_register_postprocessors(self, register):
            register("count", lambda model, X, resp, *, data, minimum=0: (resp > minimum).sum())

    pm.add_plugin(Plugin(), "colplugin")
    result = run_pipeline(
        iris,
        features=[("column", {"j": 2}), "standardize"],
        model=GaussianMixture(2, random_state=0),
        postprocessors="count",  # one name may be given as a string
    )
    assert result.feature_names == ["column", *(f"standardize[{j}]" for j in range(4))]
    np.testing.assert_array_equal(result.features[:, 0], iris[:, 2])
    assert result.features.shape == (150, 5)
    assert result.outputs["count"] == np.count_nonzero(result.responsibilities > 0)
    assert result.steps["features"] == {"column": "colplugin", "standardize": "gmmkit"}
    assert result.steps["postprocessors"] == {"count": "colplugin"}
    again = run_pipeline(
        iris,
        features=[("column", {"j": 2})],
        model=GaussianMixture(2, random_state=0),
        postprocessors=[("count", {"minimum": 0.5})],
    )
    labels = again.model.predict(again.features)
    assert again.outputs["count"] == len(labels)  # each row has one component above 0.5


def test_fit_false_applies_a_fitted_model(pm, iris):
    model = GaussianMixture(3, random_state=0).fit(iris[::2])
    means = model.means_.copy()
    n_iter = model.n_iter_
    result = run_pipeline(iris[1::2], model=model, fit=False, postprocessors=["labels"])
    assert result.model is model
    np.testing.assert_array_equal(model.means_, means)  # not refitted
    assert model.n_iter_ == n_iter
    np.testing.assert_array_equal(result.outputs["labels"], model.predict(iris[1::2]))
    with pytest.raises(gmmkit.NotFittedError):
        run_pipeline(iris, model=GaussianMixture(2), fit=False)


@pytest.mark.parametrize(
    "step", [42, ("identity",), ("identity", "not a dict"), (1, {}), ["identity", {}, {}], None]
)
def test_bad_step_specs_are_refused(pm, iris, step):
    message = re.escape(f"pipeline step {step!r} is not valid; give a registered name or a ")
    with pytest.raises(ValueError, match=message):
        run_pipeline(iris, features=[step])
    with pytest.raises(ValueError, match=message):
        run_pipeline(iris, postprocessors=[step])


def test_list_steps_are_accepted(pm, iris):
    result = run_pipeline(iris, features=[["identity", {}]], model=GaussianMixture(2))
    assert result.features.shape == (150, 4)


def test_unknown_names_list_what_is_available(pm, iris):
    with pytest.raises(ValueError) as raised:
        run_pipeline(iris, features=["nope"])
    assert str(raised.value) == (
        "no feature called 'nope' is registered (available: identity, standardize); "
        "`gmmkit plugins` lists the plugins and what they register."
    )
    with pytest.raises(ValueError, match=r"no postprocessor called 'nope' .*log_likelihood"):
        run_pipeline(iris, model=GaussianMixture(2), postprocessors=["labels", "nope"])
    with pytest.raises(ValueError, match="no feature extractor given"):
        run_pipeline(iris, features=[])


def test_extractors_must_agree_on_rows_and_return_numbers(pm, iris):
    class Plugin:
        @hookimpl
        def gmmkit_register_features(self, register):
            register("first_ten", lambda X: np.asarray(X)[:10])
            register("words", lambda X: np.array([["a"]] * len(X)))
            register("cube", lambda X: np.zeros((len(X), 2, 2)))

    pm.add_plugin(Plugin(), "bad")
    with pytest.raises(ValueError) as raised:
        run_pipeline(iris, features=["identity", "first_ten"])
    assert str(raised.value) == (
        "feature extractor 'first_ten' returned 10 rows but 'identity[0]' returned 150; "
        "they must describe the same samples."
    )
    with pytest.raises(ValueError, match=r"'words' returned an array of shape \(150, 1\) and "):
        run_pipeline(iris, features=["words"])
    with pytest.raises(ValueError, match=r"'cube' returned an array of shape \(150, 2, 2\)"):
        run_pipeline(iris, features=["cube"])


# --------------------------------------------------------------- readers


def write(path, text):
    path.write_text(text)
    return path


def test_csv_with_header_leaves_text_columns_out(pm, tmp_path):
    path = write(tmp_path / "t.csv", "a,label,b\n1,x,2.5\n3,y,-4e1\n")
    with pytest.warns(LeftOutColumnsWarning) as warned:
        dataset = read_data(path)
    assert str(warned[0].message) == (
        f"{path}: left out text column 'label' ('x' on line 2); only numeric columns are "
        "fitted: encode text as numbers to use it, or pick the columns with --columns"
    )
    np.testing.assert_array_equal(dataset.data, [[1.0, 2.5], [3.0, -40.0]])
    assert dataset.feature_names == ["a", "b"]
    assert dataset.description == f"{path} (left out: label)"
    with pytest.warns(LeftOutColumnsWarning):
        assert gmmkit.read_data(str(path)).feature_names == ["a", "b"]


def test_csv_without_header(pm, tmp_path):
    path = write(tmp_path / "t.csv", "1,2\n3,4\n5,6\n")
    dataset = read_data(path)
    np.testing.assert_array_equal(dataset.data, [[1, 2], [3, 4], [5, 6]])
    assert dataset.feature_names == ["x0", "x1"]
    assert dataset.description == str(path)
    np.testing.assert_array_equal(read_data(path, ["x1"]).data, [[2], [4], [6]])


def test_csv_column_selection_by_name_and_index(pm, tmp_path):
    path = write(tmp_path / "t.csv", "a,b,c\n1,2,3\n4,5,6\n")
    assert read_data(path, ["c", "a"]).feature_names == ["c", "a"]
    np.testing.assert_array_equal(read_data(path, ["c", "a"]).data, [[3, 1], [6, 4]])
    np.testing.assert_array_equal(read_data(path, [1]).data, [[2], [5]])
    np.testing.assert_array_equal(read_data(path, ["-1"]).data, [[3], [6]])
    assert read_data(path, ["c"]).description == f"{path} (left out: a, b)"
    with pytest.raises(DataFileError) as raised:
        read_data(path, ["d"])
    assert str(raised.value) == f"{path}: no column 'd'; columns are a, b, c (or indices 0..2)"
    with pytest.raises(DataFileError, match="no column '3'"):
        read_data(path, [3])


def test_csv_empty_fields_are_nan(pm, tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,\n,4\n5,6\n")
    data = read_data(path).data
    np.testing.assert_array_equal(np.isnan(data), [[False, True], [True, False], [False, False]])
    assert data[2].tolist() == [5.0, 6.0]


def test_csv_edge_cases(pm, tmp_path):
    # an empty field in a header-less first row does not make it a header
    path = write(tmp_path / "t.csv", "1,,3\n4,5,6\n")
    dataset = read_data(path)
    assert dataset.feature_names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(dataset.data, [[1, np.nan, 3], [4, 5, 6]])
    # a label column whose first value is missing is still a label column
    path = write(tmp_path / "labels.csv", "a,label\n1,\n2,x\n")
    with pytest.warns(LeftOutColumnsWarning, match="'label' \\('x' on line 3\\)"):
        assert read_data(path).feature_names == ["a"]
    # Excel's byte-order mark is not part of the first column's name
    path = tmp_path / "bom.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-8-sig"))
    assert read_data(path, ["a"]).feature_names == ["a"]
    # quoted numbers and spaces around fields
    path = write(tmp_path / "quoted.csv", 'a, b\n"1", 2\n')
    np.testing.assert_array_equal(read_data(path, ["b"]).data, [[2.0]])


def test_csv_errors_name_the_place(pm, tmp_path):
    bad = write(tmp_path / "bad.csv", "a,b\n1,2\n3,oops\n")
    with pytest.raises(DataFileError) as raised:
        read_data(bad)
    assert str(raised.value) == (
        f"{bad}: column 'b' holds 'oops' on line 3, not a number; "
        "write a missing value as an empty field or NA, or leave the column out with --columns"
    )
    assert isinstance(raised.value, ValueError)
    ragged = write(tmp_path / "ragged.csv", "a,b\n1,2\n3\n")
    with pytest.raises(DataFileError, match=re.escape(f"{ragged}: line 3 has 1 field, the first")):
        read_data(ragged)
    # line numbers are the file's, blank lines included
    blank = write(tmp_path / "blank.csv", "a,b\n\n1,2\n\n3,x\n")
    with pytest.raises(DataFileError, match="column 'b' holds 'x' on line 5"):
        read_data(blank)
    blank = write(tmp_path / "blank_ragged.csv", "a,b\n1,2\n\n3\n")
    with pytest.raises(DataFileError, match="line 4 has 1 field, "):
        read_data(blank)
    text_only = write(tmp_path / "text.csv", "name\nx\ny\n")
    with pytest.raises(DataFileError, match="no numeric columns: every column holds text"):
        read_data(text_only)
    with pytest.raises(DataFileError, match="the file is empty"):
        read_data(write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataFileError, match="no data rows after the header"):
        read_data(write(tmp_path / "header.csv", "a,b\n"))
    with pytest.raises(DataFileError, match="missing.csv: no such file"):
        read_data(tmp_path / "missing.csv")


def test_npy_files(pm, tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "x.npy", X)
    dataset = read_data(tmp_path / "x.npy")
    np.testing.assert_array_equal(dataset.data, X)
    assert dataset.feature_names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(read_data(tmp_path / "x.npy", ["x2", 0]).data, X[:, [2, 0]])
    np.save(tmp_path / "v.npy", np.arange(5.0))
    assert read_data(tmp_path / "v.npy").data.shape == (5, 1)
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(DataFileError, match=r"expected a 2-D array of rows, got shape \(2, 2, 2\)"):
        read_data(tmp_path / "cube.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataFileError, match="not a readable .npy array"):
        read_data(tmp_path / "objects.npy")


def test_npz_archives(pm, tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    Y = np.ones((4, 5))
    np.savez(tmp_path / "with_x.npz", X=X, other=Y)
    np.savez(tmp_path / "single.npz", data=Y)
    np.savez(tmp_path / "two.npz", a=X, b=Y)
    with_x = read_data(tmp_path / "with_x.npz")
    np.testing.assert_array_equal(with_x.data, X)
    assert with_x.description == f"{tmp_path / 'with_x.npz'}:X"
    np.testing.assert_array_equal(read_data(tmp_path / "single.npz").data, Y)
    np.testing.assert_array_equal(read_data(f"{tmp_path / 'two.npz'}:b").data, Y)
    np.testing.assert_array_equal(
        read_data(f"{tmp_path / 'with_x.npz'}:other", [4]).data, Y[:, [4]]
    )
    with pytest.raises(DataFileError) as raised:
        read_data(tmp_path / "two.npz")
    path = tmp_path / "two.npz"
    assert str(raised.value) == f"{path}: say which array to use as {path}:NAME; it holds a, b"
    with pytest.raises(DataFileError, match="it holds a, b"):
        read_data(f"{path}:c")


def test_unknown_suffix_is_refused(pm, tmp_path):
    path = write(tmp_path / "data.xlsx", "whatever")
    with pytest.raises(DataFileError) as raised:
        read_data(path)
    assert str(raised.value) == (
        f"{path}: no reader for this kind of file; use CSV, .npy or .npz, or install "
        "a plugin that reads it (`gmmkit plugins` lists them)."
    )
