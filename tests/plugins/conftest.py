"""The ``pm`` fixture of the plugin-system tests."""

import pytest

from gmmkit.plugins import make_plugin_manager


@pytest.fixture
def pm():
    """A fresh manager with gmmkit's own plugin only (no entry points)."""
    return make_plugin_manager(entry_points=False)
