"""The plugin system: hook specifications (:mod:`gmmkit.plugins.hookspecs`) and the
plugin manager (:mod:`gmmkit.plugins.manager`). The manager's public API is
re-exported here (docs/plugins.md: tests build their own manager with it)."""

from __future__ import annotations

from gmmkit.plugins.manager import (
    CORE_PLUGIN,
    Entry,
    PluginInfo,
    PluginManager,
    describe_error,
    fit_hooks,
    get_datasets,
    get_demos,
    get_features,
    get_initializers,
    get_plugin_manager,
    get_plugins,
    get_postprocessors,
    lookup,
    make_plugin_manager,
    registered,
    use_plugin_manager,
)

__all__ = [
    "CORE_PLUGIN",
    "Entry",
    "PluginInfo",
    "PluginManager",
    "describe_error",
    "fit_hooks",
    "get_datasets",
    "get_demos",
    "get_features",
    "get_initializers",
    "get_plugin_manager",
    "get_plugins",
    "get_postprocessors",
    "lookup",
    "make_plugin_manager",
    "registered",
    "use_plugin_manager",
]
