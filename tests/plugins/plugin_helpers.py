"""Helpers of the plugin-system tests: the CLI on a given manager, the built-in plugins.

Import as ``from plugin_helpers import invoke`` (pytest puts this folder on sys.path).
"""

import json
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
HOOK_DOCS = ROOT / "docs" / "plugins.md"
BUILTIN_PLUGINS = {
    "gmmkit_finance": "pip install 'gmmkit[finance]'",
    "gmmkit_image": "pip install 'gmmkit[image]'",
    "gmmkit_outliers": "pip install gmmkit",
    "gmmkit_speech": "pip install 'gmmkit[speech]'",
}
MISSING = "surely_missing_module_xyz"


def build_cli(pm):
    from gmmkit.cli import build_cli

    return build_cli(pm)


def invoke(pm, *args):
    result = CliRunner().invoke(build_cli(pm), list(args))
    return result


def plugins_json(pm):
    result = invoke(pm, "plugins", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}
