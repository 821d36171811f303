"""Fixtures of the finance tests."""

import pytest


@pytest.fixture(scope="module")
def cli():
    """The gmmkit command line with every plugin (the finance commands among them)."""
    from gmmkit.cli import build_cli
    from gmmkit.plugins import make_plugin_manager

    return build_cli(make_plugin_manager())
