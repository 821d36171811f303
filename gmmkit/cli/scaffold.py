"""``gmmkit plugin new NAME``: write a working plugin package from the template.

The template (gmmkit/cli/template/, ``*.tmpl`` files) holds a pyproject with the
entry point, ``requires``/``install_hint``, one feature extractor, one command,
a demo, tests (a fixture, the entry point, ``pm.check() == []``) and a GitHub
Actions workflow. ``{{name}}``, ``{{module}}`` and ``{{gmmkit_version}}`` are
filled in; ``__module__`` in a path becomes the module name and ``dot-github``
becomes ``.github``. .ci/run generates a plugin, installs it and runs its tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from gmmkit.cli.files import command_outputs
from gmmkit.cli.options import echo_json, json_option

TEMPLATE = Path(__file__).resolve().parent / "template"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


def render_plugin(name: str) -> dict[str, str]:
    """The files of plugin ``name``: relative path -> text.

    Parameters
    ----------
    name : str
        The plugin's entry-point name (lower-case letters, digits, ``_``);
        the distribution is ``gmmkit-NAME`` and the module ``gmmkit_NAME``.

    Returns
    -------
    dict of str to str
    """
    from gmmkit._version import __version__

    module = f"gmmkit_{name}"
    values = {"name": name, "module": module, "gmmkit_version": __version__}
    files = {}
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).as_posix().removesuffix(".tmpl")
        relative = relative.replace("__module__", module).replace("dot-github", ".github")
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        files[relative] = text
    return files


def check_name(name: str, taken: set[str]) -> None:
    """A click.BadParameter naming NAME when it cannot be a plugin's name."""
    if not NAME_PATTERN.fullmatch(name):
        raise click.BadParameter(
            f"{name!r} is not a plugin name: use lower-case letters, digits and _, "
            "starting with a letter (e.g. hello)", param_hint="NAME")
    if name in taken:
        raise click.BadParameter(
            f"{name!r} is already the command `gmmkit {name}`; the template's command takes "
            "the plugin's name, so choose another", param_hint="NAME")


@click.group()
def plugin() -> None:
    """Make a new plugin package (see `gmmkit plugins` for the installed ones)."""


@plugin.command("new")
@click.argument("name")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="The folder to create (default: gmmkit-NAME); it must not hold files.")
@json_option("the files written")
def new(name: str, out_dir: str | None, as_json: bool) -> None:
    """Write a plugin package NAME: a feature, a command, a demo, tests and CI.

    Then: cd gmmkit-NAME && pip install -e '.[test]' && python -m pytest -q
    """
    root = click.get_current_context().find_root().command
    check_name(name, set(getattr(root, "commands", {})))
    target = Path(out_dir or f"gmmkit-{name}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise click.BadParameter(
            f"'{target}' exists and is not an empty folder; choose another --out",
            param_hint="--out")
    outputs = command_outputs(False)
    folder = outputs.directory(target, "out_dir")
    files = render_plugin(name)
    for relative, text in files.items():
        path = folder.temporary / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    outputs.commit()
    if as_json:
        echo_json({"name": name, "folder": str(target), "files": sorted(files)})
        return
    click.echo(f"wrote {target}/ ({len(files)} files): the plugin {name} with the feature "
               f"{name}_log1p, the command `gmmkit {name}` and the demo {name}")
    click.echo(f"next: cd {target} && pip install -e '.[test]' && python -m pytest -q")
