"""Packaging metadata: the licence, py.typed and the changelog (issue 16, item 6)."""

import re
import sys
from importlib import metadata, resources
from pathlib import Path

import pytest

import gmmkit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REINSTALL = "the installed metadata is stale: run pip install -e . again"


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
