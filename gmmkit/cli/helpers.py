"""The public helpers of plugins' commands: options, DATA input, tables, outputs.

Everything a plugin's ``gmmkit_register_commands`` needs from the core CLI is
imported from here (import-linter checks that plugins use nothing else of
gmmkit.cli). docs/plugins.md documents each name.
"""

from __future__ import annotations

from gmmkit.cli.app import ComponentsType
from gmmkit.cli.files import SEED, command_outputs, force_option, seed_option
from gmmkit.cli.options import echo_json, json_option, output_option, quiet_option
from gmmkit.cli.output import format_table
from gmmkit.cli.reading import (
    MISSING_FIX,
    check_values,
    load_input,
    match_columns,
    model_nan_fix,
    parse_columns,
    read_input,
)
from gmmkit.engine.covariance import COVARIANCE_TYPES  # the table: iterating gives the names
from gmmkit.engine.mclust_models import SKLEARN_ALIASES

#: scikit-learn's four covariance types (mclust's VVV, EEE, VVI, VII): the choices of a
#: plugin command whose own maths read covariances_ by these names
SKLEARN_COVARIANCE_TYPES = tuple(SKLEARN_ALIASES)

__all__ = [
    "COVARIANCE_TYPES",
    "MISSING_FIX",
    "SEED",
    "SKLEARN_COVARIANCE_TYPES",
    "ComponentsType",
    "check_values",
    "command_outputs",
    "echo_json",
    "force_option",
    "format_table",
    "json_option",
    "load_input",
    "match_columns",
    "model_nan_fix",
    "output_option",
    "parse_columns",
    "quiet_option",
    "read_input",
    "seed_option",
]
