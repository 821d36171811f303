"""Plugin tracing: ``GMMKIT_TRACE_PLUGINS=1`` logs every hook call (issue 25).

Each call of a hook implementation becomes one line on the logger
``gmmkit.plugins.trace`` (written to stderr when the variable is set)::

    gmmkit_read_data(path='iris.csv', columns=None): hello -> None (0.0 ms)
    gmmkit_read_data(path='iris.csv', columns=None): gmmkit -> Dataset(...) answered (1.2 ms)

so an author sees which plugins were asked, in which order, and which
implementation answered a ``firstresult`` hook.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pluggy

TRACE_ENV = "GMMKIT_TRACE_PLUGINS"
logger = logging.getLogger("gmmkit.plugins.trace")
_ATTRIBUTE = "__gmmkit_traced__"


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """True when ``GMMKIT_TRACE_PLUGINS`` is set to something other than '', 0 or false."""
    return environ.get(TRACE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def enable_stderr_logging() -> None:
    """Send the trace logger's records to stderr (once), as ``gmmkit trace: ...`` lines.

    Tracing was asked for, so a logging configuration that disabled the
    loggers existing at its time (``disable_existing_loggers``) does not
    silence it.
    """
    logger.disabled = False
    if not any(getattr(h, _ATTRIBUTE, False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gmmkit trace: %(message)s"))
        setattr(handler, _ATTRIBUTE, True)
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def short(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters (a function: its name)."""
    if callable(value) and hasattr(value, "__name__") and not isinstance(value, type):
        return str(value.__name__)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that raises must not break the call
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def traced(
    function: Callable[..., Any], hook_name: str, plugin_name: str, argnames: tuple[str, ...],
    firstresult: bool,
) -> Callable[..., Any]:
    """``function`` (one plugin's hook implementation) logging each call and its result."""
    if getattr(function, _ATTRIBUTE, False):
        return function

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        named = {**dict(zip(argnames, args)), **kwargs}
        shown = ", ".join(f"{key}={short(value, 80)}" for key, value in named.items())
        head = f"{hook_name}({shown}): {plugin_name}"
        start = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:
            logger.debug("%s raised %s: %s", head, type(exc).__name__, exc)
            raise
        milliseconds = (time.perf_counter() - start) * 1000
        answered = " answered" if firstresult and result is not None else ""
        logger.debug("%s -> %s%s (%.1f ms)", head, short(result), answered, milliseconds)
        return result

    setattr(call, _ATTRIBUTE, True)
    return call


def trace_plugin(pm: pluggy.PluginManager, plugin_name: str) -> None:
    """Wrap every hook implementation of plugin ``plugin_name`` in :func:`traced`."""
    for hook_name, caller in vars(pm.hook).items():
        if not caller.has_spec():
            continue
        firstresult = bool(caller.spec.opts.get("firstresult"))
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin_name:
                impl.function = traced(
                    impl.function, hook_name, plugin_name, tuple(impl.argnames), firstresult
                )
