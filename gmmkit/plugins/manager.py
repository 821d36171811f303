"""The plugin manager: built-ins, entry points, availability and registries.

Plugins are found through the ``gmmkit`` entry-point group (the built-in
plugins in plugins/ are registered there too, exactly like third-party
ones). Loading never breaks gmmkit:

- a plugin whose optional dependencies are missing is *unavailable* and
  ``gmmkit plugins`` shows its install hint. A plugin module declares them
  with two attributes: ``requires = ("librosa", "soundfile")`` (importable
  module names, checked without importing them) and ``install_hint =
  "pip install 'gmmkit[speech]'"``; an ImportError at import counts too;
- a plugin that raises anything else at import is *failed*, reported by
  name with the error, and the others still load;
- ``GMMKIT_DISABLE_PLUGINS=a,b`` skips plugins by entry-point name;
  ``GMMKIT_LOAD_PLUGINS=a,b`` loads only those (a name that is no installed
  plugin is reported, with the entry-point name to use);
- ``GMMKIT_TRACE_PLUGINS=1`` logs every hook call (:mod:`gmmkit.plugins.tracing`).

Registries (features, post-processors, data sets, initialisers, demos) are
collected once per manager, by calling each plugin's ``register`` hook on its
own: a plugin whose hook raises, or that registers a name another plugin
already took, is reported (and warned about: :class:`gmmkit.PluginWarning`)
and does not stop the others. :meth:`PluginManager.add_plugin` collects them
at once, so its result lists the plugin's problems; plugins loaded from entry
points are collected when a registry is first read (the command line starts
fast), and :meth:`PluginManager.check` reads every registry and returns every
problem.

Tests build their own manager with :func:`make_plugin_manager` and
:func:`use_plugin_manager` instead of touching the process-wide one.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import pluggy

import gmmkit.plugins.hookspecs as hookspecs
from gmmkit._version import __version__
from gmmkit.exceptions import PluginWarning
from gmmkit.plugins import checks, tracing
from gmmkit.plugins.checks import caller_stacklevel, describe_error, format_traceback

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from gmmkit.plugins.fithooks import FitHooks
    from gmmkit.plugins.hookspecs import Register

ENTRY_POINT_GROUP = "gmmkit"
DISABLE_ENV = "GMMKIT_DISABLE_PLUGINS"
LOAD_ENV = "GMMKIT_LOAD_PLUGINS"
CORE_PLUGIN = "gmmkit"
"""The name of gmmkit's own registrations in ``gmmkit plugins`` (always loaded)."""
#: the module of gmmkit's own plugin (readers, bundled data sets, demo). It sits on the
#: top layer, above this manager, so it is loaded by name as an entry point is.
CORE_PLUGIN_MODULE = "gmmkit.builtins"

#: registry kind -> the hook that fills it
REGISTRY_HOOKS = {
    "features": "gmmkit_register_features",
    "postprocessors": "gmmkit_register_postprocessors",
    "datasets": "gmmkit_register_datasets",
    "initializers": "gmmkit_register_initializers",
    "demos": "gmmkit_register_demos",
}
FIT_HOOKS = ("gmmkit_fit_start", "gmmkit_fit_iteration", "gmmkit_fit_end")


@dataclass(frozen=True)
class Entry:
    """One registered feature extractor, post-processor, data set, initialiser or demo."""

    name: str
    obj: Callable[..., Any]
    description: str
    plugin: str


@dataclass
class PluginInfo:
    """What happened to one plugin.

    ``status`` is "loaded", "unavailable" (a dependency is missing; ``detail``
    says which and how to install it), "failed" (it raised; ``detail`` is the
    error), "disabled" (GMMKIT_DISABLE_PLUGINS) or "not selected"
    (GMMKIT_LOAD_PLUGINS names others). ``problems`` lists what went wrong
    while it registered things. ``traceback`` is the full traceback of a
    plugin that failed by raising (``gmmkit --debug plugins`` shows it).

    Parameters
    ----------
    name : str
        The plugin's entry-point name (``gmmkit`` for the core's own).
    status : str
    detail : str, default=""
    source : str, default=""
        The module the entry point names.
    version : str, default=""
        Its distribution's version.
    problems : list of str
    traceback : str, default=""
    """

    name: str
    status: str
    detail: str = ""
    source: str = ""
    version: str = ""
    problems: list[str] = field(default_factory=list)
    traceback: str = ""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with gmmkit's hooks, plugin statuses and registries."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.plugin_info: dict[str, PluginInfo] = {}
        #: CLI command name -> the plugin that added it (filled by build_cli)
        self.command_owners: dict[str, str] = {}
        #: plugins whose fit hooks raised once and are no longer called
        self.skipped_fit_hooks: set[str] = set()
        #: names in GMMKIT_DISABLE_PLUGINS / GMMKIT_LOAD_PLUGINS that are no plugin
        self.environment_problems: list[str] = []
        #: GMMKIT_TRACE_PLUGINS: every hook implementation added is traced
        self.tracing = False
        self._registries: dict[str, dict[str, Entry]] = {}

    def add_plugin(
        self, plugin: object, name: str, *, source: str = "", version: str = "",
        check: bool = True,
    ) -> PluginInfo:
        """Register ``plugin`` (a module or object) if its requirements are met.

        Parameters
        ----------
        plugin : module or object
            Its ``gmmkit_*`` functions decorated with :data:`gmmkit.hookimpl`.
        name : str
            The plugin's name (an installed plugin's entry-point name).
        source, version : str, default=""
            Shown by ``gmmkit plugins``.
        check : bool, default=True
            Collect every registry now, so that the result's ``problems``
            list the names it could not register (a clash with gmmkit's or
            another plugin's, with a :class:`gmmkit.PluginWarning`). False
            leaves that to the first read of a registry (entry points are
            loaded so, for a fast command line).

        Returns
        -------
        PluginInfo
            ``status`` "loaded", "unavailable" or "failed"; ``problems`` also
            names ``gmmkit_*`` functions without ``@hookimpl``.
        """
        missing = missing_requirements(plugin)
        if missing:
            hint = getattr(plugin, "install_hint", "") or f"pip install {' '.join(missing)}"
            info = PluginInfo(name, "unavailable", f"needs {', '.join(missing)}: {hint}")
        else:
            info = self._register_checked(plugin, name)
        info.source, info.version = source, version
        self.plugin_info[name] = info
        for problem in checks.unmarked_hooks(plugin) if info.status == "loaded" else ():
            self.report_problem(name, problem, warn=True)
        self._registries.clear()
        if check and info.status == "loaded":
            self.read_registries()
        return info

    def _register_checked(self, plugin: object, name: str) -> PluginInfo:
        wrong = checks.wrong_arguments(self, plugin)
        if wrong:
            return PluginInfo(name, "failed", "; ".join(wrong))
        try:
            self.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break gmmkit
            return PluginInfo(name, "failed", describe_error(exc), traceback=format_traceback(exc))
        unknown = sorted(
            hook for hook in unknown_hooks(self) if self.get_plugin(name) in plugins_of(self, hook)
        )
        if unknown:
            self.unregister(name=name)
            return PluginInfo(name, "failed", checks.unknown_hook_message(unknown))
        if self.tracing:
            tracing.trace_plugin(self, name)
        return PluginInfo(name, "loaded")

    def read_registries(self) -> None:
        """Collect every registry kind (those already collected are kept)."""
        for kind in REGISTRY_HOOKS:
            self.registry(kind)

    def check(self) -> list[str]:
        """Every problem gmmkit knows of, one ``"name: message"`` string each.

        Reads every registry first, so that name clashes are found. Lists
        the problems of the loaded plugins, the plugins that failed (with
        their error), and names in GMMKIT_DISABLE_PLUGINS /
        GMMKIT_LOAD_PLUGINS that are no installed plugin. Plugins that are
        unavailable, disabled or not selected are not problems. A command
        clash is found when the command line is built
        (``gmmkit.cli.build_cli(pm)``).

        Returns
        -------
        list of str
            Empty when all is well: ``assert pm.check() == []`` in a plugin's tests.
        """
        self.read_registries()
        found = [f"environment: {problem}" for problem in self.environment_problems]
        for info in self.plugin_info.values():
            if info.status == "failed":
                found.append(f"{info.name}: failed: {info.detail}")
            found += [f"{info.name}: {problem}" for problem in info.problems]
        return found

    def registry(self, kind: str) -> dict[str, Entry]:
        """Name -> :class:`Entry` for one registry kind (see ``REGISTRY_HOOKS``)."""
        if kind not in self._registries:
            self._registries[kind] = self._collect(kind)
        return self._registries[kind]

    def _collect(self, kind: str) -> dict[str, Entry]:
        hook_name = REGISTRY_HOOKS[kind]
        entries: dict[str, Entry] = {}
        # registration order (the core first), whatever tryfirst/trylast say:
        # the first plugin to register a name keeps it
        order = {name: i for i, (name, _) in enumerate(self.list_name_plugin())}
        impls = getattr(self.hook, hook_name).get_hookimpls()
        for impl in sorted(impls, key=lambda impl: order[impl.plugin_name]):
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                self.report_problem(impl.plugin_name, f"{hook_name} is a wrapper; skipped")
                continue
            register = _registrar(kind, entries, impl.plugin_name, self._warn_problem)
            try:
                impl.function(register=register)
            except Exception as exc:  # noqa: BLE001
                self._warn_problem(impl.plugin_name, f"{hook_name} raised {describe_error(exc)}")
        return entries

    def report_problem(self, plugin_name: str, message: str, *, warn: bool = False) -> None:
        """Record a problem of a plugin: ``gmmkit plugins`` lists it under the plugin.

        Parameters
        ----------
        plugin_name : str
        message : str
            What went wrong and what gmmkit did instead ("... raised ...;
            skipped"); a message already recorded is not repeated.
        warn : bool, default=False
            Also warn ``plugin NAME: message`` (:class:`gmmkit.PluginWarning`)
            the first time.
        """
        info = self.plugin_info.setdefault(plugin_name, PluginInfo(plugin_name, "loaded"))
        if message not in info.problems:
            info.problems.append(message)
            if warn:
                text = f"plugin {plugin_name}: {message}"
                warnings.warn(text, PluginWarning, stacklevel=caller_stacklevel())

    def _warn_problem(self, plugin_name: str, message: str) -> None:
        self.report_problem(plugin_name, message, warn=True)

    def fit_hooks(self) -> FitHooks | None:
        """A :class:`FitHooks` if any plugin implements a fit hook, else None."""
        if any(getattr(self.hook, name).get_hookimpls() for name in FIT_HOOKS):
            from gmmkit.plugins.fithooks import FitHooks

            return FitHooks(self)
        return None


def _registrar(
    kind: str, entries: dict[str, Entry], plugin_name: str, report: Callable[[str, str], None]
) -> Register:
    """The ``register(name, obj, *, description=None)`` callback handed to one plugin."""
    singular = kind[:-1]

    def register(name: str, obj: Callable[..., Any], *, description: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            report(plugin_name, f"{singular} name {name!r} is not a non-empty string; skipped")
            return
        if not callable(obj):
            report(plugin_name, f"{singular} {name!r} is not callable; skipped")
            return
        if name in entries:
            owner = entries[name].plugin
            if owner == CORE_PLUGIN:  # the core cannot be disabled: only a rename helps
                fix = "kept gmmkit's (the core cannot be replaced or disabled); rename yours"
            else:
                fix = f"kept that one; rename yours or disable one plugin with {DISABLE_ENV}"
            report(plugin_name, f"{singular} {name!r} is already registered by {owner}; {fix}")
            return
        entries[name] = Entry(name, obj, description or first_line(obj.__doc__), plugin_name)

    return register


def first_line(text: str | None) -> str:
    """The first non-empty line of a docstring, or ''."""
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def missing_requirements(plugin: object) -> list[str]:
    """Names in ``plugin.requires`` that cannot be imported.

    Top-level names are checked without importing them; a dotted name
    imports its parent package.
    """
    requires = getattr(plugin, "requires", ())
    if isinstance(requires, str):  # a single module name, not its letters
        requires = (requires,)
    return [module for module in requires if not _importable(module)]


def unknown_hooks(pm: pluggy.PluginManager) -> list[str]:
    """Hook names that some plugin implements but gmmkit does not define."""
    return [name for name, caller in vars(pm.hook).items() if not caller.has_spec()]


def plugins_of(pm: pluggy.PluginManager, hook_name: str) -> list[object]:
    return [impl.plugin for impl in getattr(pm.hook, hook_name).get_hookimpls()]


def import_failure(name: str, exc: ImportError) -> PluginInfo:
    """The status of a plugin whose import raised ``exc`` (an ImportError).

    A module that is not installed makes the plugin unavailable; an import
    that fails for another reason (a bad name inside an installed package)
    is a bug in the plugin: failed.
    """
    module = (getattr(exc, "name", None) or "").split(".")[0]
    if module and module != name.split(".")[0] and not _importable(module):
        return PluginInfo(name, "unavailable", f"needs {module}: {describe_error(exc)}")
    return PluginInfo(name, "failed", describe_error(exc), traceback=format_traceback(exc))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def parse_names(value: str | None) -> set[str] | None:
    """The set of names in a comma-separated environment value (None when unset)."""
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_entry_points(pm: PluginManager, environ: Mapping[str, str] | None = None) -> None:
    """Load every plugin of the ``gmmkit`` entry-point group into ``pm``."""
    environ = os.environ if environ is None else environ
    disabled = parse_names(environ.get(DISABLE_ENV)) or set()
    selected = parse_names(environ.get(LOAD_ENV))
    seen: dict[str, str] = {}
    for entry_point in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name
    ):
        name = entry_point.name
        if name in seen:  # the same distribution found twice on sys.path
            continue
        seen[name] = entry_point.value
        dist = getattr(entry_point, "dist", None)
        version = dist.version if dist is not None else ""
        if name in disabled:
            pm.plugin_info[name] = PluginInfo(name, "disabled", f"listed in {DISABLE_ENV}")
        elif selected is not None and name not in selected:
            pm.plugin_info[name] = PluginInfo(name, "not selected", f"not listed in {LOAD_ENV}")
        else:
            try:
                plugin = entry_point.load()
            except ImportError as exc:
                pm.plugin_info[name] = import_failure(name, exc)
            except Exception as exc:  # noqa: BLE001
                pm.plugin_info[name] = PluginInfo(
                    name, "failed", describe_error(exc), traceback=format_traceback(exc)
                )
            else:
                pm.add_plugin(plugin, name, source=entry_point.value, version=version, check=False)
                continue
            pm.plugin_info[name].source = entry_point.value
            pm.plugin_info[name].version = version
    variables = {DISABLE_ENV: parse_names(environ.get(DISABLE_ENV)), LOAD_ENV: selected}
    for problem in checks.environment_problems(variables, seen, CORE_PLUGIN):
        if problem not in pm.environment_problems:
            pm.environment_problems.append(problem)
            warnings.warn(problem, PluginWarning, stacklevel=caller_stacklevel())


def make_plugin_manager(
    *, entry_points: bool = True, environ: Mapping[str, str] | None = None
) -> PluginManager:
    """A new manager with gmmkit's own hooks and (optionally) the installed plugins.

    Parameters
    ----------
    entry_points : bool, default=True
        Load the plugins of the ``gmmkit`` entry-point group (their
        registries are read when first used: :meth:`PluginManager.check`
        reads them all and returns every problem).
    environ : mapping, default=os.environ
        Where GMMKIT_DISABLE_PLUGINS, GMMKIT_LOAD_PLUGINS and
        GMMKIT_TRACE_PLUGINS are read.

    Returns
    -------
    PluginManager

    Warns
    -----
    gmmkit.PluginWarning
        For a name in GMMKIT_DISABLE_PLUGINS / GMMKIT_LOAD_PLUGINS that is no
        installed plugin.
    """
    pm = PluginManager()
    if tracing.tracing_requested(os.environ if environ is None else environ):
        tracing.enable_stderr_logging()
        pm.tracing = True
    core = importlib.import_module(CORE_PLUGIN_MODULE)
    pm.add_plugin(core, CORE_PLUGIN, source=CORE_PLUGIN_MODULE, version=__version__, check=False)
    if entry_points:
        load_entry_points(pm, environ)
    return pm


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = make_plugin_manager()
    return _MANAGER


@contextmanager
def use_plugin_manager(pm: PluginManager | None) -> Iterator[PluginManager | None]:
    """Make ``pm`` the process-wide manager inside a ``with`` block."""
    global _MANAGER
    previous, _MANAGER = _MANAGER, pm
    try:
        yield pm
    finally:
        _MANAGER = previous


def registered(kind: str) -> dict[str, Entry]:
    """One registry of the process-wide manager: name -> :class:`Entry`.

    Filled by the hook ``REGISTRY_HOOKS[kind]`` (``gmmkit_register_<kind>``) of
    gmmkit and of every loaded plugin of the process-wide manager
    (:func:`get_plugin_manager`). :func:`get_features`, :func:`get_postprocessors`,
    :func:`get_datasets`, :func:`get_initializers` and :func:`get_demos` return it
    for their kind.

    Parameters
    ----------
    kind : str
        A key of ``REGISTRY_HOOKS``: "features", "postprocessors", "datasets",
        "initializers" or "demos".

    Returns
    -------
    dict of str to Entry
        ``Entry(name, obj, description, plugin)``; a copy, safe to change.
    """
    return dict(get_plugin_manager().registry(kind))


def get_features() -> dict[str, Entry]:
    """The registered feature extractors: name -> :class:`Entry` (:func:`registered`)."""
    return registered("features")


def get_postprocessors() -> dict[str, Entry]:
    """The registered post-processors: name -> :class:`Entry` (:func:`registered`)."""
    return registered("postprocessors")


def get_datasets() -> dict[str, Entry]:
    """The registered data-set loaders: name -> :class:`Entry` (:func:`registered`)."""
    return registered("datasets")


def get_initializers() -> dict[str, Entry]:
    """The registered initialisers (``GaussianMixture(init_params=name)``): name ->
    :class:`Entry` (:func:`registered`)."""
    return registered("initializers")


def get_demos() -> dict[str, Entry]:
    """The registered demos (``gmmkit demo``): name -> :class:`Entry` (:func:`registered`)."""
    return registered("demos")


def get_plugins() -> list[PluginInfo]:
    """Every plugin gmmkit knows of and its status: a list of :class:`PluginInfo`."""
    pm = get_plugin_manager()
    for kind in REGISTRY_HOOKS:  # registration problems show up in the statuses
        pm.registry(kind)
    return sorted(pm.plugin_info.values(), key=lambda info: (info.name != CORE_PLUGIN, info.name))


def lookup(kind: str, name: str) -> Callable[..., Any]:
    """The registered ``obj`` called ``name``, or a ValueError listing what exists."""
    entries = get_plugin_manager().registry(kind)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise ValueError(
            f"no {kind[:-1]} called {name!r} is registered (available: {known}); "
            "`gmmkit plugins` lists the plugins and what they register."
        )
    return entries[name].obj


def fit_hooks() -> FitHooks | None:
    """The process-wide manager's fit hooks, or None when no plugin implements one."""
    return get_plugin_manager().fit_hooks()
