"""The checks that catch a plugin author's mistakes where they look (issue 25).

Each returns messages for :class:`gmmkit.plugins.PluginInfo` (``detail`` or
``problems``) that name the problem and the fix:

- :func:`unmarked_hooks`: a ``gmmkit_*`` function without ``@hookimpl``,
  which pluggy would ignore without a word;
- :func:`unknown_hook_message`: a hook name gmmkit does not define, with the
  closest real hook ("did you mean");
- :func:`wrong_arguments`: an implementation that takes an argument its hook
  does not have, with the hook's argument names;
- :func:`environment_problems`: names in GMMKIT_DISABLE_PLUGINS /
  GMMKIT_LOAD_PLUGINS that are no installed plugin (a module name instead of
  the entry-point name, a typo).
"""

from __future__ import annotations

import difflib
import inspect
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

from gmmkit.plugins.hookspecs import PROJECT_NAME, hook_names

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import FrameType

    import pluggy

#: the attribute pluggy's ``HookimplMarker("gmmkit")`` sets on a decorated function
MARKER = f"{PROJECT_NAME}_impl"
HOOKS_PAGE = "docs/plugin-hooks.md"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest of ``candidates``, or ``''``."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_hook_message(unknown: Iterable[str]) -> str:
    """The ``detail`` of a plugin that implements hooks gmmkit does not define.

    Parameters
    ----------
    unknown : iterable of str
        The unknown hook names.

    Returns
    -------
    str
        "implements unknown hook gmmkit_register_feature (did you mean
        gmmkit_register_features?); the hooks are listed in docs/plugin-hooks.md"
    """
    names = sorted(unknown)
    hooks = hook_names()
    listed = ", ".join(f"{name}{did_you_mean(name, hooks)}" for name in names)
    plural = "s" if len(names) > 1 else ""
    return f"implements unknown hook{plural} {listed}; the hooks are listed in {HOOKS_PAGE}"


def _functions(plugin: object) -> Iterable[tuple[str, Any]]:
    """(name, value) of the plugin's callable attributes named ``gmmkit_*``."""
    for name in dir(plugin):
        if name.startswith(f"{PROJECT_NAME}_"):
            try:
                value = getattr(plugin, name)
            except Exception:  # noqa: BLE001 - a property that raises is not a hook
                continue
            if inspect.isfunction(value) or inspect.ismethod(value):
                yield name, value


def unmarked_hooks(plugin: object) -> list[str]:
    """Problems for the plugin's ``gmmkit_*`` functions that lack ``@hookimpl``.

    A function named after a hook (or close to one) but not decorated is
    never called; pluggy says nothing. Other ``gmmkit_*`` helpers are left
    alone.

    Parameters
    ----------
    plugin : module or object

    Returns
    -------
    list of str
    """
    hooks = hook_names()
    problems = []
    for name, value in _functions(plugin):
        if hasattr(value, MARKER):
            continue
        if name in hooks:
            problems.append(
                f"function {name} has no @hookimpl, so gmmkit never calls it; decorate it "
                "with @gmmkit.hookimpl"
            )
        elif suggestion := did_you_mean(name, hooks):
            problems.append(
                f"function {name} has no @hookimpl and is not a hook{suggestion}; gmmkit "
                "never calls it"
            )
    return problems


def positional_names(function: Any) -> list[str]:
    """The argument names pluggy passes to ``function``: those without a default."""
    return [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and parameter.default is parameter.empty
    ]


def wrong_arguments(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Messages for hook implementations that take arguments their hook does not have.

    Parameters
    ----------
    pm : pluggy.PluginManager
        The manager with gmmkit's hook specifications.
    plugin : module or object

    Returns
    -------
    list of str
        "gmmkit_register_features takes 'registry', which the hook does not
        pass; its arguments are: register".
    """
    messages = []
    for name, value in _functions(plugin):
        caller = getattr(pm.hook, name, None)
        if not hasattr(value, MARKER) or caller is None or caller.spec is None:
            continue
        valid = list(caller.spec.argnames)
        extra = [arg for arg in positional_names(value) if arg not in valid]
        if extra:
            taken = ", ".join(f"{arg!r}{did_you_mean(arg, valid)}" for arg in extra)
            messages.append(
                f"{name} takes {taken}, which the hook does not pass; its arguments are: "
                f"{', '.join(valid) or 'none'}"
            )
    return messages


def environment_problems(
    variables: Mapping[str, set[str] | None], plugins: Mapping[str, str], core: str
) -> list[str]:
    """Messages for names in the environment variables that are no installed plugin.

    Parameters
    ----------
    variables : mapping
        Variable name (GMMKIT_DISABLE_PLUGINS, GMMKIT_LOAD_PLUGINS) -> the names
        it lists, or None when it is not set.
    plugins : mapping
        Entry-point name -> the module it loads, for every installed plugin.
    core : str
        The name of gmmkit's own registrations ("gmmkit"), always loaded.

    Returns
    -------
    list of str
    """
    modules = {value.split(":")[0]: name for name, value in plugins.items()}
    installed = ", ".join(sorted(plugins)) or "none"
    messages = []
    for variable, names in variables.items():
        for name in sorted(names or ()):
            if name in plugins or (name == core and not variable.endswith("DISABLE_PLUGINS")):
                continue
            if name == core:
                messages.append(
                    f"{variable} lists {core!r}, gmmkit's own registrations, which always load"
                )
            elif name in modules:
                messages.append(
                    f"{variable} lists {name!r}, the module of plugin {modules[name]!r}; use "
                    f"the entry-point name: {variable}={modules[name]}"
                )
            else:
                messages.append(
                    f"{variable} lists {name!r}, which is not an installed plugin"
                    f"{did_you_mean(name, plugins)}; the installed plugins are: {installed}"
                )
    return messages


def describe_error(exc: BaseException) -> str:
    """``ExceptionType: message`` in one line."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def format_traceback(exc: BaseException) -> str:
    """The full traceback of ``exc``, as Python prints it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def caller_stacklevel() -> int:
    """The ``stacklevel`` of a warning raised here that points at the first frame
    outside gmmkit/plugins/ (the caller's code, not the manager's)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level
