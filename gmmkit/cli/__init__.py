"""The ``gmmkit`` command line (:mod:`gmmkit.cli.app`).

Plugins' commands use :mod:`gmmkit.cli.helpers`, the one public module of
this package. The helper names read from ``gmmkit.cli`` itself still work
for one release, with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from gmmkit.cli.app import build_cli, main

__all__ = ["build_cli", "main"]

#: helper names that used to live in gmmkit.cli (deprecated here)
_MOVED = frozenset({
    "COVARIANCE_TYPES",
    "ComponentsType",
    "MISSING_FIX",
    "SEED",
    "check_values",
    "command_outputs",
    "force_option",
    "format_table",
    "load_input",
    "match_columns",
    "model_nan_fix",
    "parse_columns",
    "read_input",
    "seed_option",
})


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(
            f"gmmkit.cli.{name} is deprecated; import it from gmmkit.cli.helpers "
            "(gmmkit.cli keeps it for one release).",
            DeprecationWarning,
            stacklevel=2,
        )
        value = getattr(importlib.import_module("gmmkit.cli.helpers"), name)
        globals()[name] = value  # warn once per name (a from-import reads it twice)
        return value
    raise AttributeError(f"module 'gmmkit.cli' has no attribute {name!r}")
