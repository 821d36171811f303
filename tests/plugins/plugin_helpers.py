"""Helpers of the plugin-system tests: the CLI on a given manager, the built-in plugins.

Import as ``from plugin_helpers import invoke`` (pytest puts this folder on sys.path).
"""

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
#: the hook reference and the tutorial (the example plugin gmmkit-hello)
HOOK_DOCS = ROOT / "docs" / "plugin-hooks.md"
TUTORIAL = ROOT / "docs" / "plugins.md"
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


def install_distribution(site, dist, module, source, *, entry, version="0.1"):
    """``site/module/__init__.py`` and a dist-info declaring it in the gmmkit group."""
    package = site / module
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[gmmkit]\n{entry} = {module}\n")
