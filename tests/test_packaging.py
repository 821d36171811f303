"""Packaging: the version in one place, the SPDX license, every subpackage in the wheel."""

import ast
import importlib.metadata
from pathlib import Path

import pytest

import gmmkit
from gmmkit._version import __version__
from gmmkit.plugins import CORE_PLUGIN, make_plugin_manager

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(gmmkit.__file__).parent


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_once_in_gmmkit_version():
    project = pyproject()
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "gmmkit._version.__version__"
    }
    assert gmmkit.__version__ == __version__ == importlib.metadata.version("gmmkit")
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "__version__" for t in targets):
                writers.append(path.relative_to(PACKAGE).as_posix())
    assert writers == ["_version.py"]


def test_the_license_is_an_spdx_expression():
    assert pyproject()["project"]["license"] == "BSD-3-Clause"
    assert pyproject()["build-system"]["requires"] == ["setuptools>=77"]


def test_every_subpackage_of_gmmkit_is_listed_for_the_wheel():
    """pyproject lists packages by hand: a subpackage left out is missing from wheels
    although the editable install still finds it."""
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(PACKAGE.parent).parts)
        for init in PACKAGE.rglob("__init__.py")
    }
    assert found - listed == set()


def test_the_core_plugin_names_its_module_and_the_version():
    info = make_plugin_manager(entry_points=False).plugin_info[CORE_PLUGIN]
    assert (info.status, info.source, info.version) == ("loaded", "gmmkit.builtins", __version__)
