"""What the command line says about plugins where a user meets them (issue 25):
"No such command" naming the plugins that did not load, and ``fit --init-params``
checked against the registered initialisers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gmmkit.plugins.manager import PluginManager


def no_such_command_note(pm: PluginManager, name: str) -> str:
    """The sentences added to click's "No such command 'NAME'." (or '').

    Names the plugins that did not load (failed, unavailable, disabled, not
    selected) or whose ``gmmkit_register_commands`` raised: one of them may
    be where the command comes from. A plugin called NAME comes first.

    Parameters
    ----------
    pm : gmmkit.plugins.PluginManager
    name : str
        The command the user typed.

    Returns
    -------
    str
    """
    reasons = {
        info.name: f"{info.status}: {info.detail}"
        for info in pm.plugin_info.values()
        if info.status != "loaded"
    }
    for info in pm.plugin_info.values():
        raised = [p for p in info.problems if p.startswith("gmmkit_register_commands raised")]
        if raised:
            reasons[info.name] = raised[0]
    if not reasons:
        return ""
    if name in reasons:
        return (f" Plugin {name!r} did not load ({reasons[name]}); `gmmkit plugins` lists "
                "every plugin.")
    listed = "; ".join(f"{plugin} ({reason})" for plugin, reason in sorted(reasons.items()))
    return (f" These plugins did not load and may provide it: {listed}. `gmmkit plugins` "
            "lists every plugin.")


def check_initializer(name: str) -> None:
    """A usage error naming --init-params when ``name`` is no initialiser.

    Parameters
    ----------
    name : str
        A built-in ``init_params`` or an initialiser a plugin registers.
    """
    from gmmkit.engine.seeding import INIT_METHODS
    from gmmkit.plugins.manager import get_initializers

    registered = get_initializers()
    if name not in INIT_METHODS and name not in registered:
        available = ", ".join([*INIT_METHODS, *sorted(registered)])
        raise click.BadParameter(
            f"no initialiser called {name!r}; available: {available} (plugins register more: "
            "`gmmkit plugins` lists them)", param_hint="--init-params")
