"""The fit life-cycle hooks, each plugin's implementation called on its own."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from gmmkit.exceptions import PluginWarning
from gmmkit.plugins.checks import describe_error

if TYPE_CHECKING:
    from gmmkit.plugins.manager import PluginManager


class FitHooks:
    """Calls the fit life-cycle hooks, each plugin's implementation on its own.

    A plugin whose fit hook raises is reported (a :class:`PluginWarning`
    and a problem in ``gmmkit plugins``) and its fit hooks are skipped from
    then on; the fit itself goes on.
    """

    def __init__(self, pm: PluginManager) -> None:
        self.pm = pm

    def call(self, hook_name: str, **kwargs: Any) -> None:
        """Call hook ``hook_name`` of every plugin that implements it with ``kwargs``."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name in self.pm.skipped_fit_hooks:
                continue
            try:
                impl.function(*[kwargs[name] for name in impl.argnames])
            except Exception as exc:  # noqa: BLE001 - logging must not break a fit
                self.pm.skipped_fit_hooks.add(impl.plugin_name)
                message = f"{hook_name} raised {describe_error(exc)}; its fit hooks are skipped"
                self.pm.report_problem(impl.plugin_name, message)
                warnings.warn(f"plugin {impl.plugin_name}: {message}", PluginWarning, stacklevel=4)
