"""The fixtures of the plugin-system tests: ``pm`` and ``site``."""

import importlib
import sys

import pytest

from gmmkit.plugins import make_plugin_manager


@pytest.fixture
def pm():
    """A fresh manager with gmmkit's own plugin only (no entry points)."""
    return make_plugin_manager(entry_points=False)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A directory on sys.path for fake installed distributions; their modules are
    removed from sys.modules afterwards."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    importlib.invalidate_caches()
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        if name.split(".")[0] in {p.name for p in directory.iterdir()}:
            del sys.modules[name]
    importlib.invalidate_caches()
