"""The CLI commands that describe the installation: plugins, datasets, demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gmmkit.cli.files import command_outputs, force_option
from gmmkit.cli.options import echo_json, json_option, quiet_option
from gmmkit.cli.output import format_table

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gmmkit.plugins.manager import PluginManager


def plugin_rows(pm: PluginManager) -> list[dict[str, Any]]:
    """One JSON-able dict per plugin: status, detail and what it registers."""
    from gmmkit.plugins.manager import CORE_PLUGIN, REGISTRY_HOOKS

    registers: dict[str, dict[str, list[str]]] = {
        info: {kind: [] for kind in (*REGISTRY_HOOKS, "commands")} for info in pm.plugin_info
    }
    for kind in REGISTRY_HOOKS:
        for entry in sorted(pm.registry(kind).values(), key=lambda e: e.name):
            registers.setdefault(entry.plugin, {k: [] for k in (*REGISTRY_HOOKS, "commands")})
            registers[entry.plugin][kind].append(entry.name)
    for name, plugin in sorted(pm.command_owners.items()):
        registers[plugin]["commands"].append(name)
    infos = sorted(pm.plugin_info.values(), key=lambda i: (i.name != CORE_PLUGIN, i.name))
    return [
        {
            "name": info.name,
            "status": info.status,
            "detail": info.detail,
            "version": info.version,
            "source": info.source,
            "problems": list(info.problems),
            "registers": registers[info.name],
            "traceback": info.traceback,
        }
        for info in infos
    ]


def _registered_text(registers: Mapping[str, list[str]]) -> str:
    parts = [f"{kind}: {', '.join(names)}" for kind, names in registers.items() if names]
    return "; ".join(parts) or "-"


@click.command()
@json_option("the list")
def plugins(as_json: bool) -> None:
    """List plugins: loaded, unavailable (with the install hint) or failed.

    The problems found are listed under the table; `gmmkit --debug plugins`
    adds the traceback of each plugin that failed by raising.
    """
    import warnings

    from gmmkit.exceptions import PluginWarning
    from gmmkit.plugins.manager import get_plugin_manager

    pm = get_plugin_manager()
    with warnings.catch_warnings():  # the problems are listed below, not warned about too
        warnings.simplefilter("ignore", PluginWarning)
        rows = plugin_rows(pm)
    if as_json:
        echo_json(rows)
        return
    table = [
        [row["name"], row["version"], row["status"],
         row["detail"] if row["status"] != "loaded" else _registered_text(row["registers"])]
        for row in rows
    ]
    click.echo(format_table(["plugin", "version", "status", "registers / detail"], table))
    for problem in pm.environment_problems:
        click.echo(f"problem in the environment: {problem}")
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    for row in rows:
        for problem in row["problems"]:
            click.echo(f"problem in {row['name']}: {problem}")
        if row["traceback"]:
            click.echo(f"traceback of {row['name']}:\n{row['traceback'].rstrip()}" if debug else
                       f"{row['name']} {row['status']} {where(row['traceback'])}; "
                       "`gmmkit --debug plugins` shows the traceback")


def where(traceback: str) -> str:
    """``at FILE line N``: the innermost frame of a formatted traceback."""
    import re

    frames = re.findall(r'^  File "([^"]+)", line (\d+)', traceback, flags=re.M)
    return f"at {frames[-1][0]} line {frames[-1][1]}" if frames else "with a traceback"


@click.command()
@json_option("the list")
def datasets(as_json: bool) -> None:
    """List the data sets that DATA arguments accept by name."""
    from gmmkit.plugins.manager import get_plugin_manager

    entries = sorted(get_plugin_manager().registry("datasets").values(), key=lambda e: e.name)
    rows = [{"name": e.name, "plugin": e.plugin, "description": e.description} for e in entries]
    if as_json:
        echo_json(rows)
    else:
        click.echo(format_table(["name", "plugin", "description"],
                                [[r["name"], r["plugin"], r["description"]] for r in rows]))


@click.command()
@click.option("--out", "out_dir", default="gmmkit-demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the report and its figures.")
@click.option("--only", metavar="NAME,...", help="Run only these demos (see `gmmkit plugins`).")
@quiet_option
@force_option
def demo(out_dir: str, only: str | None, quiet: bool, force: bool) -> None:
    """Run every installed plugin's demo on bundled data; write an HTML report."""
    from gmmkit.demo import PLOT_HINT, pyplot, run_demos, write_report
    from gmmkit.plugins.manager import get_plugin_manager

    pm = get_plugin_manager()
    entries = sorted(pm.registry("demos").values(), key=lambda e: (e.plugin != "gmmkit", e.name))
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {e.name for e in entries})
        if unknown:
            raise click.BadParameter(
                f"no demo called {', '.join(unknown)}; available: "
                f"{', '.join(e.name for e in entries)}",
                param_hint="--only",
            )
        entries = [e for e in entries if e.name in wanted]
    outputs = command_outputs(force)
    out = outputs.directory(out_dir, "out_dir")  # written whole, or not at all
    progress = None if quiet else (lambda message: click.echo(message, err=True))
    sections = run_demos(entries, out.temporary, progress)
    notes = _report_notes(pm, pyplot() is None, PLOT_HINT)
    report = Path(out_dir) / write_report(sections, out.temporary, notes=notes).name
    outputs.commit()  # also when a demo failed: the report says which and why
    for note in notes if not quiet else ():
        click.echo(f"note: {note}", err=True)
    for section in sections:
        state = f"FAILED: {section.error}" if section.error else f"{len(section.figures)} figure(s)"
        click.echo(f"{section.plugin}/{section.title}: {state} ({section.seconds:.1f} s)")
    click.echo(f"report: {report}")
    if any(section.error for section in sections):
        raise click.ClickException("some demos failed; the report says which and why")


def _report_notes(pm: PluginManager, no_matplotlib: bool, plot_hint: str) -> list[str]:
    notes = []
    if no_matplotlib:
        notes.append(f"matplotlib is not installed, so there are no figures: {plot_hint}")
    for info in pm.plugin_info.values():
        if info.status in ("unavailable", "failed"):
            notes.append(f"plugin {info.name} is {info.status}: {info.detail}")
    with_demo = {e.plugin for e in pm.registry("demos").values()}
    for info in pm.plugin_info.values():
        if info.status == "loaded" and info.name not in with_demo:
            notes.append(f"plugin {info.name} has no demo yet")
    return notes


LISTING_COMMANDS = (plugins, datasets, demo)
