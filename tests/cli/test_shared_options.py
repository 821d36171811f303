"""--json, -q/--quiet and -o/--output are the shared options of gmmkit.cli.helpers (issue 16).

Before, the core and the four plugins defined ``--json`` six ways in plugins/
alone (and printed JSON three ways: with or without NaN, compact or not).
Every such option in the CLI tree must now come from the helper module.
"""

import json
import math

import click
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import extra_installed

from gmmkit.cli import build_cli
from gmmkit.cli.helpers import echo_json, json_option, output_option, quiet_option
from gmmkit.cli.options import JsonOption, OutputOption, QuietOption
from gmmkit.plugins import make_plugin_manager

#: option name -> the marker class of the shared option that must make it
SHARED = {"--json": JsonOption, "--quiet": QuietOption, "--output": OutputOption}


def _commands(group, path=()):
    """(path, command) for every command under ``group``, groups included."""
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _options():
    """(command path, option) for every option of the CLI tree with a shared name."""
    cli = build_cli(make_plugin_manager())
    found = []
    for path, command in _commands(cli):
        for param in command.params:
            for name in SHARED:
                if name in getattr(param, "opts", ()):
                    found.append((" ".join(path), name, param))
    return found


def test_every_json_quiet_output_option_is_the_shared_one():
    options = _options()
    names = {name for _, name, _ in options}
    assert names == set(SHARED)  # the walk does see each kind
    wrong = [f"gmmkit {path}: {name}" for path, name, param in options
             if not isinstance(param, SHARED[name])]
    assert wrong == []


@pytest.mark.skipif(not all(map(extra_installed, ("gmmkit_image", "gmmkit_speech", "gmmkit_finance",
                                                    "gmmkit_outliers"))),
                    reason="needs every plugin's extra")
def test_each_plugin_has_shared_json_options():
    with_json = {path.split()[0] for path, name, _ in _options() if name == "--json"}
    assert {"image", "speech", "finance", "outliers", "fit", "score", "info"} <= with_json


def test_shared_json_option_keeps_name_flag_and_help():
    for path, name, param in _options():
        if name == "--json":
            assert (param.name, param.is_flag, param.opts) == ("as_json", True, ["--json"]), path
            assert param.help.startswith("Print ") and param.help.endswith(" as JSON."), path


def _run(*decorators, body):
    command = body
    for decorator in reversed(decorators):
        command = decorator(command)
    return click.command()(command)


def test_options_bare_or_with_text_and_their_help():
    def body(as_json, quiet, model_path):
        click.echo(repr((as_json, quiet, model_path)))

    command = _run(json_option, quiet_option("progress bar"),
                   output_option("The model.", dest="model_path", required=True), body=body)
    runner = CliRunner()
    result = runner.invoke(command, ["--json", "-q", "-o", "m.gmm"])
    assert result.exit_code == 0, result.output
    assert result.output == "(True, True, 'm.gmm')\n"
    help_text = runner.invoke(command, ["--help"]).output
    assert "Print the result as JSON." in help_text
    assert "No progress bar on stderr." in help_text
    missing = runner.invoke(command, [])
    assert missing.exit_code == 2 and "Missing option '-o' / '--output'" in missing.output


def test_output_option_directory_refuses_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    command = _run(output_option("A folder.", directory=True), body=lambda output: None)
    result = CliRunner().invoke(command, ["-o", str(tmp_path / "file")])
    assert result.exit_code == 2 and "is a file" in result.output


def test_echo_json_is_strict_json(capsys):
    value = {"nan": math.nan, "inf": [math.inf, -np.inf], "array": np.array([1.5, np.nan]),
             "int": np.int64(3), "nested": ({"x": np.float32(0.5)},), "text": "NaN"}
    echo_json(value)
    out = capsys.readouterr().out
    parsed = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert parsed == {"nan": None, "inf": [None, None], "array": [1.5, None], "int": 3,
                      "nested": [{"x": 0.5}], "text": "NaN"}
    assert out == json.dumps(parsed, indent=2) + "\n"
    echo_json([1.0, -math.inf], indent=None, err=True)
    assert capsys.readouterr().err == "[1.0, null]\n"


def test_every_option_of_every_command_has_a_help_text():
    """Issue 24: `--help` explains every option (fit --n-init, select --criterion, ... had
    none), in the core and in every installed plugin."""
    cli = build_cli(make_plugin_manager())
    bare = [f"gmmkit {' '.join(path)} {param.opts[0]}" for path, command in _commands(cli)
            for param in command.params
            if isinstance(param, click.Option) and not param.hidden and not param.help]
    assert bare == []
    fit_help = CliRunner().invoke(cli, ["fit", "--help"]).output
    assert "EM runs from different starts" in fit_help and "Seed of the random starts" in fit_help
