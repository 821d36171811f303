"""Property tests of model files: damaged files load as the saved model or are refused
with ModelFileError, never with another exception (hypothesis)."""

import json
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_files import (
    KINDS,
    X,
    assert_same_fitted,
    fit_kind,
    npy_array,
    npy_bytes,
    outputs,
    read_members,
    saved,
    write_members,
)

from gmmkit import ModelFileError, load

#: every class, and a GaussianMixture fitted on float32 data (float32 arrays, precisions stored)
FILE_KINDS = (*KINDS, "GaussianMixture float32")
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Saved(dict):
    """{kind: (fitted model, bytes of its saved file)}, shown briefly by hypothesis."""

    def __repr__(self):
        return f"<saved files of {', '.join(self)}>"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(Saved, a scratch path)."""
    folder = tmp_path_factory.mktemp("properties")
    made = Saved()
    for kind in FILE_KINDS:
        model = fit_kind(kind.split()[0], data=X.astype(np.float32) if "float32" in kind else X)
        made[kind] = (model, saved(folder, model, f"{kind}.gmm").read_bytes())
    return made, folder / "mutated.gmm"


def load_or_refuse(path):
    """The loaded model, or None when refused with ModelFileError; anything else fails."""
    try:
        return load(path)
    except ModelFileError as exc:
        assert str(exc).startswith(f"cannot load '{path}': ")
        return None


# a change to a byte string: (kind of change, where as a fraction of the length, byte value)
CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete"]),
        st.floats(0.0, 1.0, exclude_max=True),
        st.integers(1, 255),
    ),
    min_size=1,
    max_size=3,
)


def changed(data, changes):
    data = bytearray(data)
    for what, where, value in changes:
        at = int(where * len(data)) if data else 0
        if what == "flip" and data:
            data[at] ^= value
        elif what == "truncate":
            del data[at:]
        elif what == "insert":
            data[at:at] = bytes([value]) * (value % 7 + 1)
        elif data:
            del data[at : at + value % 9 + 1]
    return bytes(data)


@pytest.mark.parametrize("kind", FILE_KINDS)
@PROPERTY
@given(changes=CHANGES)
def test_damaged_bytes_load_the_same_model_or_are_refused(files, kind, changes):
    made, path = files
    model, data = made[kind]
    path.write_bytes(changed(data, changes))
    loaded = load_or_refuse(path)
    if loaded is not None:  # the change missed everything that matters (a date, a comment)
        assert_same_fitted(model, loaded)


@pytest.mark.parametrize("kind", FILE_KINDS)
@PROPERTY
@given(data=st.data(), changes=CHANGES)
def test_damaged_members_with_valid_checksums_load_or_are_refused(files, kind, data, changes):
    """A member changed inside a well-formed zip (CRCs right): refused, or a model that works."""
    made, path = files
    path.write_bytes(made[kind][1])
    members = read_members(path)
    name = data.draw(st.sampled_from(sorted(members)))
    members[name] = changed(members[name], changes)
    compression = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    write_members(path, members, compression=compression)
    assert_loads_and_works_or_is_refused(path)


def assert_loads_and_works_or_is_refused(path):
    loaded = load_or_refuse(path)
    if loaded is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            outputs(loaded)  # whatever loads, scores without errors or overflow warnings


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def json_paths(value, path=()):
    """Every (path to a value) in a JSON document, the document itself excluded."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield (*path, key)
        yield from json_paths(item, (*path, key))


@pytest.mark.parametrize("kind", FILE_KINDS)
@PROPERTY
@given(data=st.data())
def test_edited_metadata_loads_or_is_refused(files, kind, data):
    """Any value of metadata.json replaced by any JSON value, or a key deleted."""
    made, path = files
    path.write_bytes(made[kind][1])
    members = read_members(path)
    meta = json.loads(members["metadata.json"])
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(sorted(json_paths(meta), key=repr)))
        parent = meta
        for key in where[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(JSON)
    members["metadata.json"] = json.dumps(meta).encode()
    write_members(path, members)
    assert_loads_and_works_or_is_refused(path)


@pytest.mark.parametrize("kind", FILE_KINDS)
@PROPERTY
@given(data=st.data())
def test_edited_array_values_load_or_are_refused(files, kind, data):
    """Values of float arrays replaced by any float64 (NaN, infinities, 1e308, denormals)."""
    made, path = files
    path.write_bytes(made[kind][1])
    members = read_members(path)
    names = sorted(name for name in members if name.endswith(".npy") and name != "classes.npy")
    name = data.draw(st.sampled_from(names))
    array = np.array(npy_array(members[name]))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, array.size - 1))
        value = data.draw(st.floats(width=8 * array.dtype.itemsize) | st.sampled_from(EXTREMES))
        with np.errstate(all="ignore"):  # inf * 0 and overflows are wanted here
            array.flat[index] = value if data.draw(st.booleans()) else array.flat[index] * value
    members[name] = npy_bytes(array)
    write_members(path, members)
    assert_loads_and_works_or_is_refused(path)


EXTREMES = [0.0, -0.0, 1e-320, -1e-320, 1e-300, 1e300, -1e300, 1e154, 1e100, 1e101, 1.0000001]
