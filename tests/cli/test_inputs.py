"""Inputs a careless user sends (issue 15, item 6).

CSV dialects and missing-value spellings, text columns, a model's columns
in predict/score, pandas nullable dtypes, masked arrays, the NaN-aware
scaling features, stdin, directories, upper-case suffixes, a closed stdout,
and the command line's message for every kind of bad data file.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gmmkit
from gmmkit import GaussianMixture
from gmmkit.cli import build_cli
from gmmkit.inputs.csv_text import NA_VALUES
from gmmkit.inputs.readers import DataFileError, read_data
from gmmkit.plugins import make_plugin_manager

NAN_REFUSED = (
    "pass missing='em' to treat NaN as missing values, or drop those rows "
    "(e.g. X[np.isfinite(X).all(axis=1)])."
)


@pytest.fixture(scope="module")
def cli():
    return build_cli(make_plugin_manager())


def run(cli, *args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def blobs(n=80, d=2, seed=0):
    """Two blobs at -3 and +3: (n, d)."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(-3, 1, (n // 2, d)), rng.normal(3, 1, (n - n // 2, d))])


def csv_text(X, names=None, *, delimiter=",", na="", trailing=False, extra=None):
    """CSV of X (NaN written as ``na``), an optional header and extra text columns."""
    extra = extra or {}
    lines = []
    if names is not None:
        lines.append(delimiter.join([*names, *extra]) + (delimiter if trailing else ""))
    for i, row in enumerate(X):
        cells = [na if np.isnan(v) else repr(float(v)) for v in row]
        cells += [values[i] for values in extra.values()]
        lines.append(delimiter.join(cells) + (delimiter if trailing else ""))
    return "\n".join(lines) + "\n"


def write(path, text):
    path.write_text(text)
    return path


def fitted_json(result):
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    summary.pop("data")
    return summary


def labels_of(result):
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "label"
    return np.array(lines[1:], dtype=int)


# ------------------------------------------------------------------ CSV files


def test_na_spellings_the_na_values_of_pandas_any_case():
    from pandas._libs.parsers import STR_NA_VALUES

    assert NA_VALUES == {value.lower() for value in STR_NA_VALUES}


def test_a_column_starting_with_n_a_is_missing_values_not_a_dropped_column(cli, tmp_path):
    X = blobs()
    holes = X.copy()
    holes[0, 1] = np.nan
    path = write(tmp_path / "na.csv", csv_text(holes, ["a", "b"], na="N/A"))
    dataset = read_data(path)
    assert dataset.feature_names == ["a", "b"]
    np.testing.assert_array_equal(dataset.data, holes)
    refused = run(cli, "fit", path, "-k", 2, "-q")
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {path}: missing values (empty or NA fields) in 1 row (first: line 2, "
        "column 'b'); pass --missing em to fit them as missing values, or drop those rows\n"
    )
    fitted = fitted_json(run(cli, "fit", path, "-k", 2, "-q", "--json", "--missing", "em"))
    expected = GaussianMixture(2, missing="em", random_state=0).fit(holes)
    assert fitted["features"] == ["a", "b"]
    np.testing.assert_allclose(fitted["means"], expected.means_, rtol=1e-12)


SPELLINGS = sorted(NA_VALUES | {"NA", "N/A", "NaN", "NULL", "None", "Nan", "nA", "n/A", "NuLL"})


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 4)),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    header=st.booleans(),
    trailing=st.booleans(),
)
def test_any_delimiter_and_na_spelling_reads_as_the_same_array(
    tmp_path_factory, shape, data, delimiter, header, trailing
):
    n, d = shape
    values = data.draw(st.lists(
        st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
        min_size=n * d, max_size=n * d,
    ))
    X = np.array([np.nan if v is None else v for v in values]).reshape(n, d)
    # an empty field alone on its line is a blank line, which CSV readers skip
    spellings = SPELLINGS if d > 1 or trailing else [s for s in SPELLINGS if s]
    na = data.draw(st.sampled_from(spellings))
    if not header and not na and np.isnan(X[:, -1]).all():
        X[0, -1] = 0.5  # an empty last field on every line is a trailing delimiter
    names = [f"c{j}" for j in range(d)] if header else None
    path = tmp_path_factory.mktemp("dialect") / "x.csv"
    write(path, csv_text(X, names, delimiter=delimiter, na=na, trailing=trailing))
    dataset = read_data(path)
    np.testing.assert_array_equal(dataset.data, X)  # NaN where NaN, the same floats elsewhere
    assert dataset.feature_names == (names or [f"x{j}" for j in range(d)])
    if na in {"", "NA", "N/A", "NaN", "NULL", "None", "nan", "null", "n/a"} and not trailing:
        frame = pd.read_csv(path, sep=delimiter, header=0 if header else None)
        np.testing.assert_array_equal(frame.to_numpy(dtype=float), X)


def test_semicolon_and_tab_files_read_like_comma_files(cli, tmp_path):
    X = blobs()
    comma = fitted_json(run(cli, "fit", write(tmp_path / "c.csv", csv_text(X, ["a", "b"])),
                            "-k", 2, "-q", "--json"))
    for name, delimiter in (("s.csv", ";"), ("t.csv", "\t")):
        path = write(tmp_path / name, csv_text(X, ["a", "b"], delimiter=delimiter))
        assert fitted_json(run(cli, "fit", path, "-k", 2, "-q", "--json")) == comma
    european = write(tmp_path / "eu.csv", "a;b\n1,5;2\n3;4\n")
    result = run(cli, "fit", european, "-k", 1)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {european}: column 'a' holds '1,5' on line 2, not a number; write numbers "
        "with a decimal point, without thousands separators\n"
    )


def test_trailing_delimiters_are_an_ignored_empty_last_column(cli, tmp_path):
    X = blobs()
    plain = read_data(write(tmp_path / "p.csv", csv_text(X, ["a", "b"]))).data
    for name, text in (
        ("every_line.csv", csv_text(X, ["a", "b"], trailing=True)),
        ("data_lines.csv", "a,b\n" + csv_text(X, trailing=True)),
        ("header_line.csv", "a,b,\n" + csv_text(X)),
        ("no_header.csv", csv_text(X, trailing=True)),
        ("semicolons.csv", csv_text(X, ["a", "b"], delimiter=";", trailing=True)),
    ):
        dataset = read_data(write(tmp_path / name, text))
        np.testing.assert_array_equal(dataset.data, plain)
        assert len(dataset.feature_names) == 2
    result = run(cli, "fit", tmp_path / "every_line.csv", "-k", 2, "-q", "--json")
    assert fitted_json(result)["features"] == ["a", "b"]
    # a last column with a name keeps its empty fields: they are missing values
    named = read_data(write(tmp_path / "named.csv", "a,b,c\n1,2,\n3,4,\n")).data
    assert named.shape == (2, 3) and np.isnan(named[:, 2]).all()


def test_text_columns_are_left_out_with_a_warning_naming_them(cli, tmp_path):
    X = blobs()
    labels = [("red", "blue")[i % 2] for i in range(len(X))]
    ids = [f"id{i}" for i in range(len(X))]
    path = write(tmp_path / "labels.csv",
                 csv_text(X, ["a", "b"], extra={"colour": labels, "id": ids}))
    result = run(cli, "fit", path, "-k", 2, "-q", "--json")
    assert result.stderr == (
        f"Warning: {path}: left out text columns 'colour' ('red' on line 2); 'id' ('id0' on "
        "line 2); only numeric columns are fitted: encode text as numbers to use it, or pick "
        "the columns with --columns\n"
    )
    summary = fitted_json(result)
    assert summary["features"] == ["a", "b"]
    np.testing.assert_allclose(summary["means"],
                               GaussianMixture(2, random_state=0).fit(X).means_, rtol=1e-12)
    picked = run(cli, "fit", path, "-k", 2, "-q", "--columns", "a,b")
    assert picked.exit_code == 0 and picked.stderr == ""


def test_a_numeric_column_with_a_text_cell_is_refused_at_its_line(cli, tmp_path):
    # text first, numbers after: was silently left out, now refused at the text
    path = write(tmp_path / "first.csv", "a,b\n1,x\n2,3\n4,5\n")
    result = run(cli, "fit", path, "-k", 1)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: column 'b' holds 'x' on line 2, not a number; write a missing value "
        "as an empty field or NA, or leave the column out with --columns\n"
    )
    later = write(tmp_path / "later.csv", "a,b\n1,2\n2,?\n4,5\n")
    assert "column 'b' holds '?' on line 3, not a number" in run(cli, "fit", later).output


def test_upper_case_suffixes_read_like_lower_case(cli, tmp_path):
    X = blobs(400)
    np.save(tmp_path / "x.npy", X)
    os.replace(tmp_path / "x.npy", tmp_path / "X.NPY")
    np.savez(tmp_path / "x.npz", other=X[:100], X=X)
    os.replace(tmp_path / "x.npz", tmp_path / "X.NPZ")
    expected = GaussianMixture(2, random_state=0).fit(X)
    in_memory = fitted_json(run(cli, "fit", tmp_path / "X.NPY", "-k", 2, "-q", "--json"))
    np.testing.assert_allclose(in_memory["means"], expected.means_, rtol=1e-12)
    # over the budget, X.NPY is fitted out of core like x.npy
    chunked = run(cli, "fit", tmp_path / "X.NPY", "-k", 2, "--json", "--memory-budget", "1KB")
    assert chunked.exit_code == 0, chunked.output
    assert "is over the memory budget of 1.0 KB: fitting out of core" in chunked.stderr
    np.testing.assert_allclose(json.loads(chunked.stdout)["means"], expected.means_, rtol=1e-8)
    other = fitted_json(run(cli, "fit", f"{tmp_path / 'X.NPZ'}:other", "-k", 1, "-q", "--json"))
    assert other["n_samples"] == 100


def test_a_directory_as_data_is_a_clear_error(cli, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run(cli, "fit", folder)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {folder} is a directory; give a data file: CSV, .npy or .npz, or a file an "
        "installed plugin reads (`gmmkit plugins` lists them)\n"
    )
    (tmp_path / "data.csv").mkdir()
    named = run(cli, "fit", tmp_path / "data.csv")
    assert named.exit_code == 1
    assert named.output == f"Error: {tmp_path / 'data.csv'} is a directory; give a data file\n"
    with pytest.raises(DataFileError, match="is a directory"):
        read_data(folder)


def test_dash_reads_csv_from_stdin(cli, tmp_path):
    X = blobs()
    text = csv_text(X, ["a", "b"], delimiter=";")
    path = write(tmp_path / "x.csv", text)
    from_file = fitted_json(run(cli, "fit", path, "-k", 2, "-q", "--json", "-o", tmp_path / "m"))
    from_stdin = run(cli, "fit", "-", "-k", 2, "-q", "--json", input=text.encode())
    assert fitted_json(from_stdin) == {k: v for k, v in from_file.items() if k != "model_file"}
    np.testing.assert_array_equal(
        labels_of(run(cli, "predict", tmp_path / "m", "-", input=text.encode())),
        labels_of(run(cli, "predict", tmp_path / "m", path)),
    )
    empty = run(cli, "fit", "-", input=b"")
    assert empty.exit_code == 1
    assert empty.output == (
        "Error: stdin: the file is empty; give a header line and rows of numbers\n"
    )
    nan = run(cli, "fit", "-", input=b"a,b\n1,2\n3,NA\n")
    assert "Error: stdin: missing values (empty or NA fields) in 1 row (first: line 3, " \
           "column 'b'); pass --missing em" in nan.output


# ----------------------------------------------------- messages for bad files

BAD_FILES = [
    ("nan.csv", "a,b\n1,2\n3,4\n,5\n6,7\n", [],
     "{path}: missing values (empty or NA fields) in 1 row (first: line 4, column 'a'); "
     "pass --missing em to fit them as missing values, or drop those rows"),
    ("inf.csv", "a,b\n1,2\n3,inf\n5,6\n7,-inf\n", [],
     "{path}: infinity in 2 rows (first: line 3, column 'b'); infinity is not a missing "
     "value: drop or clip those rows"),
    ("inf_em.csv", "a,b\n1,\n3,inf\n5,6\n", ["--missing", "em"],
     "{path}: infinity in 1 row (first: line 3, column 'b'); infinity is not a missing "
     "value: drop or clip those rows"),
    ("text.csv", "a,b\n1,2\n3,4\n5,six\n", [],
     "{path}: column 'b' holds 'six' on line 4, not a number; write a missing value as an "
     "empty field or NA, or leave the column out with --columns"),
    ("ragged.csv", "a,b\n1,2\n\n3\n", [],
     "{path}: line 4 has 1 field, the first line has 2 fields (fields separated by commas); "
     "give every line the same fields, with an empty field for a missing value"),
    ("empty.csv", "", [], "{path}: the file is empty; give a header line and rows of numbers"),
    ("blank.csv", "\n  \n\n", [],
     "{path}: the file is empty; give a header line and rows of numbers"),
    ("header.csv", "a;b\n", [],
     "{path}: no data rows after the header (line 1); give one row of numbers per line"),
    ("words.csv", "name,town\nann,rome\nbob,oslo\n", [],
     "{path}: no numeric columns: every column holds text (fields separated by commas); "
     "give columns of numbers"),
    ("latin1.csv", "a,b\n1,2\n".encode() + b"\xe9,3\n", [],
     "{path}: not UTF-8 text (invalid continuation byte at byte 8); save the CSV as UTF-8"),
]


@pytest.mark.parametrize(("name", "content", "options", "message"), BAD_FILES,
                         ids=[case[0] for case in BAD_FILES])
def test_every_bad_data_file_gets_one_line_in_command_line_terms(
    cli, tmp_path, name, content, options, message
):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    result = run(cli, "fit", path, "-k", 1, "-q", *options)
    assert result.exit_code == 1
    assert result.output == f"Error: {message.format(path=path)}\n"
    assert "missing='em'" not in result.output and "np." not in result.output


def test_select_and_outliers_detect_speak_the_same_terms(cli, tmp_path):
    path = write(tmp_path / "holes.csv", "a,b\n" + csv_text(blobs()) + "1,NULL\n")
    line = 2 + len(blobs())
    for args in (["select", path, "-k", "1..2", "-o", tmp_path / "s.gmm"],
                 ["outliers", "detect", path, "-q"]):
        result = run(cli, *args)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: {path}: missing values (empty or NA fields) in 1 row (first: line {line}, "
            "column 'b'); pass --missing em to fit them as missing values, or drop those rows\n"
        )
    assert run(cli, "select", path, "-k", "1..2", "--missing", "em",
               "-o", tmp_path / "s.gmm").exit_code == 0


def test_array_files_name_the_row_counted_from_one(cli, tmp_path):
    X = blobs()
    X[5, 1] = np.nan
    np.save(tmp_path / "x.npy", X)
    result = run(cli, "fit", tmp_path / "x.npy", "-k", 2, "-q")
    assert result.output == (
        f"Error: {tmp_path / 'x.npy'}: missing values (NaN) in 1 row (first: row 6, column "
        "'x1'); pass --missing em to fit them as missing values, or drop those rows\n"
    )
    out_of_core = run(cli, "fit", tmp_path / "x.npy", "-k", 2, "-q", "--memory-budget", "1KB")
    assert out_of_core.output == (
        f"Error: {tmp_path / 'x.npy'}: NaN in 1 row (first: row 6); pass --missing em to fit "
        "them as missing values, or drop those rows (--missing em needs the data in memory: "
        "raise --memory-budget)\n"
    )


# ----------------------------------------------------- a model's columns


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model and a detector fitted on a CSV with columns a, b, c; the data."""
    folder = tmp_path_factory.mktemp("models")
    X = blobs(120, 3)
    train = write(folder / "train.csv", csv_text(X, ["a", "b", "c"]))
    runner_cli = build_cli(make_plugin_manager())
    assert run(runner_cli, "fit", train, "-k", 2, "-q", "-o", folder / "m.gmm").exit_code == 0
    assert run(runner_cli, "outliers", "fit", train, "-q", "-o", folder / "d.gmm").exit_code == 0
    return folder, X


def test_a_header_without_the_models_columns_is_refused_naming_them(cli, fitted):
    folder, X = fitted
    renamed = write(folder / "renamed.csv",
                    csv_text(X, ["a", "B", "z"], extra={"c": ["x"] * len(X)}))
    for command in (["predict"], ["score"], ["outliers", "score"]):
        model = folder / ("d.gmm" if command[0] == "outliers" else "m.gmm")
        result = run(cli, *command, model, renamed)
        assert result.exit_code == 1, command
        assert result.output == (
            f"Error: {renamed} has no column 'b', 'c' that {model} was fitted on (it needs "
            "a, b, c; the file's numeric columns are a, B, z; column 'c' holds text ('x' on "
            "line 2)); rename the header to match, or pick 3 columns in the model's order "
            "with --columns\n"
        )
    picked = run(cli, "predict", folder / "m.gmm", renamed, "--columns", "a,B,z")
    expected = GaussianMixture(2, random_state=0).fit(X).predict(X)
    np.testing.assert_array_equal(labels_of(picked), expected)
    too_few = run(cli, "predict", folder / "m.gmm", renamed, "--columns", "a,B")
    assert too_few.output == (
        f"Error: --columns picks 2 numeric columns but {folder / 'm.gmm'} was fitted on 3 "
        "(a, b, c); give the columns the model was fitted on, in its order\n"
    )


def test_files_without_a_header_match_by_position(cli, fitted):
    folder, X = fitted
    model = GaussianMixture(2, random_state=0).fit(X)
    bare = write(folder / "bare.csv", csv_text(X))
    np.testing.assert_array_equal(labels_of(run(cli, "predict", folder / "m.gmm", bare)),
                                  model.predict(X))
    np.save(folder / "bare.npy", X)
    scored = run(cli, "score", folder / "m.gmm", folder / "bare.npy")
    np.testing.assert_allclose(np.array(scored.stdout.split()[1:], dtype=float),
                               model.score_samples(X), rtol=1e-12)
    outliers = run(cli, "outliers", "score", folder / "d.gmm", bare)
    assert outliers.exit_code == 0, outliers.output
    narrow = write(folder / "narrow.csv", csv_text(X[:, :2]))
    result = run(cli, "predict", folder / "m.gmm", narrow)
    assert result.output == (
        f"Error: {narrow} has 2 numeric columns but {folder / 'm.gmm'} was fitted on 3 "
        "(a, b, c); give the columns the model was fitted on, in its order\n"
    )


def test_columns_in_another_order_are_matched_by_name(cli, fitted):
    folder, X = fitted
    shuffled = write(folder / "shuffled.csv",
                     csv_text(X[:, [2, 0, 1]], ["c", "a", "b"], extra={"note": ["n"] * len(X)}))
    result = run(cli, "predict", folder / "m.gmm", shuffled)
    np.testing.assert_array_equal(labels_of(result),
                                  GaussianMixture(2, random_state=0).fit(X).predict(X))
    assert result.stderr == ""  # the text column is not needed: no warning


def test_missing_values_for_a_model_fitted_without_missing_em(cli, fitted):
    folder, X = fitted
    holes = X.copy()
    holes[3, 2] = np.nan
    path = write(folder / "holes.csv", csv_text(holes, ["a", "b", "c"], na="NA"))
    for command, model in ((["predict"], "m.gmm"), (["outliers", "score"], "d.gmm")):
        result = run(cli, *command, folder / model, path)
        assert result.output == (
            f"Error: {path}: missing values (empty or NA fields) in 1 row (first: line 5, "
            f"column 'c'); {folder / model} was fitted without --missing em, so it cannot use "
            "rows with missing values: drop those rows, or refit the model with --missing em\n"
        )


# ----------------------------------------------------- arrays in Python


def test_pandas_nullable_dtypes_are_numbers_with_na_as_nan():
    X = blobs(60, 2)
    holes = X.copy()
    holes[1, 0] = np.nan
    frame = pd.DataFrame(holes, columns=["a", "b"])
    nullable = frame.astype("Float64")
    assert nullable["a"].isna()[1] and nullable["a"][1] is pd.NA
    with pytest.raises(ValueError) as raised:
        GaussianMixture(2).fit(nullable)
    assert str(raised.value) == f"X contains NaN in 1 row (first: row 1); {NAN_REFUSED}"
    expected = GaussianMixture(2, missing="em", random_state=0).fit(frame)
    model = GaussianMixture(2, missing="em", random_state=0).fit(nullable)
    np.testing.assert_array_equal(model.means_, expected.means_)
    assert list(model.feature_names_in_) == ["a", "b"]
    np.testing.assert_array_equal(model.predict_proba(nullable), expected.predict_proba(frame))
    # df.to_numpy() of nullable columns: an object array holding pd.NA
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(model.predict(nullable.to_numpy()), expected.predict(holes))
    counts = pd.DataFrame({"a": [1, 5, 2, 8, 3, 9], "b": [0, 1, 0, 1, 0, 1]})
    plain = GaussianMixture(2, random_state=0).fit(counts.astype(float))
    np.testing.assert_array_equal(
        GaussianMixture(2, random_state=0).fit(counts.astype("Int64")).means_, plain.means_
    )
    with_na = counts.astype("Int64")
    with_na.loc[2, "a"] = pd.NA
    np.testing.assert_array_equal(
        GaussianMixture(2, missing="em", random_state=0).fit(with_na).means_,
        GaussianMixture(2, missing="em", random_state=0)
        .fit(counts.astype(float).mask(with_na.isna())).means_,
    )
    assert GaussianMixture(1).fit(frame.astype("Float32").dropna()).n_features_in_ == 2


def test_masked_entries_are_missing_values():
    X = blobs(60, 2)
    mask = np.zeros(X.shape, bool)
    mask[4, 1] = True
    raw = X.copy()
    raw[4, 1] = 1e9  # the masked value must never reach the fit
    masked = np.ma.masked_array(raw, mask=mask)
    holes = np.where(mask, np.nan, X)
    with pytest.raises(ValueError) as raised:
        GaussianMixture(2).fit(masked)
    assert str(raised.value) == f"X contains NaN in 1 row (first: row 4); {NAN_REFUSED}"
    model = GaussianMixture(2, missing="em", random_state=0).fit(masked)
    expected = GaussianMixture(2, missing="em", random_state=0).fit(holes)
    np.testing.assert_array_equal(model.means_, expected.means_)
    np.testing.assert_array_equal(model.score_samples(masked), expected.score_samples(holes))
    np.testing.assert_array_equal(model.predict(masked), expected.predict(holes))
    plain = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X contains NaN in 1 row \(first: row 4\)"):
        plain.predict(masked)
    np.testing.assert_array_equal(plain.predict(np.ma.masked_array(X)), plain.predict(X))
    counts = np.ma.masked_array(np.arange(12).reshape(6, 2), mask=np.eye(6, 2, dtype=bool))
    assert np.isnan(gmmkit.GaussianMixture(1, missing="em").fit(counts).means_).sum() == 0


def test_the_outlier_detector_reads_masked_arrays_and_nullable_frames():
    from gmmkit_outliers import GMMOutlierDetector

    X = blobs(200, 2)
    holes = X.copy()
    holes[::20, 1] = np.nan
    raw = np.where(np.isnan(holes), 1e9, X)  # the masked value must never reach the fit
    masked = np.ma.masked_array(raw, mask=np.isnan(holes))
    with pytest.raises(ValueError, match=r"X contains NaN in 10 row\(s\)"):
        GMMOutlierDetector(random_state=0).fit(masked)
    expected = GMMOutlierDetector(missing="em", random_state=0).fit(holes)
    for table in (masked, pd.DataFrame(holes).astype("Float64")):
        detector = GMMOutlierDetector(missing="em", random_state=0).fit(table)
        np.testing.assert_allclose(detector.decision_scores_, expected.decision_scores_,
                                   rtol=1e-12)  # (a frame is column-major: sums round apart)


def test_standardize_and_robust_scale_keep_a_nan_in_its_own_cell():
    pm = make_plugin_manager(environ={})
    features = {name: entry.obj for name, entry in pm.registry("features").items()}
    rng = np.random.default_rng(1)
    X = rng.normal(5.0, 2.0, (40, 3)) ** 2
    X[7, 1] = np.nan
    X[:, 2] = np.nan  # a column without a value stays NaN, without a RuntimeWarning
    X[0, 2] = np.nan
    observed = X[:, :2]

    standardized = features["standardize"](X)
    by_hand = (observed - np.nanmean(observed, axis=0)) / np.nanstd(observed, axis=0)
    np.testing.assert_allclose(standardized[:, :2], by_hand, rtol=1e-13, equal_nan=True)

    robust = features["robust_scale"](X)
    q1, median, q3 = np.nanpercentile(observed, [25, 50, 75], axis=0)
    np.testing.assert_allclose(robust[:, :2], (observed - median) / (q3 - q1), rtol=1e-13,
                               equal_nan=True)
    for scaled in (standardized, robust):
        np.testing.assert_array_equal(np.isnan(scaled), np.isnan(X))
        assert np.isnan(scaled[:, 2]).all()


# ----------------------------------------------------- a closed stdout

MAIN = "import sys; from gmmkit.cli import main; sys.argv[0] = 'gmmkit'; main()"


@pytest.fixture(scope="module")
def predict_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipe")
    X = blobs(200_000, 1)
    np.save(folder / "big.npy", X)
    np.save(folder / "small.npy", X[:10])
    gmmkit.save(GaussianMixture(2, random_state=0).fit(X[::200]), folder / "m.gmm")
    return folder


@pytest.mark.parametrize("buffered", [False, True])
def test_head_closing_the_pipe_exits_quietly(predict_files, tmp_path, buffered):
    """`gmmkit predict m.gmm big.npy | head -1`: exit 141 (as for SIGPIPE), nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open(tmp_path / "stderr", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", MAIN, "predict", predict_files / "m.gmm",
             predict_files / "big.npy"], stdout=subprocess.PIPE, stderr=stderr, env=env,
        )
        assert process.stdout.readline() == b"label\n"
        process.stdout.close()
        assert process.wait(timeout=120) == 141
    assert (tmp_path / "stderr").read_bytes() == b""


def test_a_reader_gone_before_the_output_exits_quietly(predict_files, tmp_path):
    """Output small enough for the buffer: the write fails at the final flush."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open(tmp_path / "stderr", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", MAIN, "predict", predict_files / "m.gmm",
             predict_files / "small.npy"], stdout=subprocess.PIPE, stderr=stderr, env=env,
        )
        process.stdout.close()
        assert process.wait(timeout=120) == 141
    assert (tmp_path / "stderr").read_bytes() == b""
