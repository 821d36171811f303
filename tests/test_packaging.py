"""Packaging metadata: the licence, py.typed, the changelog, the version in one place and
every subpackage in the wheel (issue 16, item 6)."""

import ast
import re
import sys
from importlib import metadata, resources
from pathlib import Path

import pytest

import gmmkit
from gmmkit._version import __version__
from gmmkit.plugins import CORE_PLUGIN, make_plugin_manager

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REINSTALL = "the installed metadata is stale: run pip install -e . again"
PACKAGE = Path(gmmkit.__file__).parent


def test_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "BSD-3-Clause"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License\n\nCopyright (c) 2026, the gmmkit developers\n")
    assert "Neither the name of the copyright holder" in text


def test_build_backend_understands_the_license_expression():
    """PEP 639's ``license = "..."`` and ``license-files`` need setuptools 77."""
    requires = PYPROJECT["build-system"]["requires"]
    (setuptools,) = [r for r in requires if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert minimum and int(minimum.group(1)) >= 77, setuptools


def test_installed_metadata_carries_the_license():
    meta = metadata.metadata("gmmkit")
    assert meta["License-Expression"] == "BSD-3-Clause", REINSTALL
    assert meta.get_all("License-File") == ["LICENSE"], REINSTALL
    assert "License" not in meta, REINSTALL  # the deprecated free-text field is gone


def test_py_typed_marks_the_package_typed():
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["gmmkit"]
    assert resources.files("gmmkit").joinpath("py.typed").is_file()


def test_changelog_has_unreleased_and_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert versions[0] == "Unreleased"
    assert gmmkit.__version__ in versions


def test_the_version_is_written_once_in_gmmkit_version():
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "gmmkit._version.__version__"
    }
    assert gmmkit.__version__ == __version__ == metadata.version("gmmkit"), REINSTALL
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "__version__" for t in targets):
                writers.append(path.relative_to(PACKAGE).as_posix())
    assert writers == ["_version.py"]


def test_every_subpackage_of_gmmkit_is_listed_for_the_wheel():
    """pyproject lists packages by hand: a subpackage left out is missing from wheels
    although the editable install still finds it."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(PACKAGE.parent).parts)
        for init in PACKAGE.rglob("__init__.py")
    }
    assert found - listed == set()


def test_the_core_plugin_names_its_module_and_the_version():
    info = make_plugin_manager(entry_points=False).plugin_info[CORE_PLUGIN]
    assert (info.status, info.source, info.version) == ("loaded", "gmmkit.builtins", __version__)
