"""The one-release shims at the module paths of gmmkit 0.1.0 (issue 16, item 7).

Importing a shim warns once (DeprecationWarning at the importing line) and
every attribute is the very object of the module it moved to; old pickles
that name ``gmmkit.mixture.GaussianMixture`` still load.
"""

import importlib
import pickle
import sys
import warnings

import numpy as np
import pytest

import gmmkit
import gmmkit.cli

#: old module -> (new module, names external code imported from it in 0.1.0)
SHIMS = {
    "gmmkit.io": (
        "gmmkit.modelfiles.files",
        ["FORMAT_NAME", "FORMAT_VERSION", "READERS", "ModelFileError", "load", "read_metadata",
         "save"],
    ),
    "gmmkit.covariance": ("gmmkit.engine.covariance", ["COVARIANCE_TYPES", "get_covariance_type"]),
    "gmmkit.conditional": (
        "gmmkit.estimators.conditional",
        ["condition", "conditional_moments", "fitted_mixture", "marginal"],
    ),
    "gmmkit.mixture": ("gmmkit.estimators.mixture", ["GaussianMixture"]),
    "gmmkit.bayesian": ("gmmkit.estimators.bayesian", ["BayesianGaussianMixture"]),
    "gmmkit.classifier": ("gmmkit.estimators.classifier", ["GMMClassifier", "accuracy"]),
    "gmmkit.regression": ("gmmkit.estimators.regression", ["GaussianMixtureRegressor", "r2_score"]),
    "gmmkit.stream": ("gmmkit.data.stream", ["information_criteria", "npy_chunks", "open_stream"]),
    "gmmkit.dask_data": (
        "gmmkit.data.dask_arrays", ["DaskComputationError", "DaskData", "DaskSource", "from_npy"]
    ),
    "gmmkit.readers": (
        "gmmkit.inputs.readers", ["DataFileError", "LeftOutColumnsWarning", "read_data"]
    ),
}  # fmt: skip

#: helper names plugins imported from gmmkit.cli in 0.1.0 (now in gmmkit.cli.helpers)
CLI_HELPERS = [
    "COVARIANCE_TYPES", "ComponentsType", "MISSING_FIX", "SEED", "check_values",
    "command_outputs", "force_option", "format_table", "load_input", "match_columns",
    "model_nan_fix", "parse_columns", "read_input", "seed_option",
]  # fmt: skip


def fresh_import(name, monkeypatch):
    """Import module ``name`` as if for the first time (the warning is issued once)."""
    parent, _, child = name.rpartition(".")
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(sys.modules[parent], child, raising=False)
    __import__(name)
    return sys.modules[name]


@pytest.mark.parametrize("old", sorted(SHIMS))
def test_a_shim_warns_at_the_importing_line_and_forwards_every_name(old, monkeypatch):
    new, names = SHIMS[old]
    with pytest.warns(DeprecationWarning) as record:
        shim = fresh_import(old, monkeypatch)
    assert len(record) == 1
    assert str(record[0].message).startswith(
        f"{old} is deprecated and will be removed in the next release; use "
    )
    assert str(record[0].message).endswith(f"({old} now forwards to {new}).")
    assert record[0].filename == __file__
    target = importlib.import_module(new)
    for name in names:
        assert getattr(shim, name) is getattr(target, name)
    public = [n for n in vars(target) if not n.startswith("_")]
    assert all(getattr(shim, n) is getattr(target, n) for n in public)
    assert set(dir(shim)) == set(dir(target))
    with pytest.raises(AttributeError, match=f"module '{old}' has no attribute 'no_such_name'"):
        shim.no_such_name  # noqa: B018


def test_a_second_import_of_a_shim_does_not_warn_again(monkeypatch):
    with pytest.warns(DeprecationWarning):
        fresh_import("gmmkit.io", monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from gmmkit.io import save  # noqa: F401


def test_nothing_in_gmmkit_imports_a_shim():
    """``import gmmkit`` and its CLI load none of the deprecated modules."""
    code = (
        "import sys, gmmkit, gmmkit.cli.app, gmmkit.builtins; "
        f"print(sorted(m for m in {sorted(SHIMS)!r} if m in sys.modules))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_pickle_of_gmmkit_0_1_0_still_loads(monkeypatch):
    """0.1.0 pickled GaussianMixture as gmmkit.mixture.GaussianMixture."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (50, 2)), rng.normal(5, 1, (50, 2))])
    model = gmmkit.GaussianMixture(n_components=2, random_state=0).fit(X)
    data = pickle.dumps(model, protocol=0)
    assert b"gmmkit.estimators.mixture\nGaussianMixture\n" in data
    old = data.replace(b"gmmkit.estimators.mixture\n", b"gmmkit.mixture\n")
    monkeypatch.delitem(sys.modules, "gmmkit.mixture", raising=False)
    monkeypatch.delattr(gmmkit, "mixture", raising=False)
    with pytest.warns(DeprecationWarning, match="gmmkit.mixture is deprecated"):
        loaded = pickle.loads(old)
    assert type(loaded) is gmmkit.GaussianMixture
    np.testing.assert_array_equal(loaded.means_, model.means_)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


@pytest.mark.parametrize("name", CLI_HELPERS)
def test_a_cli_helper_read_from_gmmkit_cli_warns_and_is_the_helper(name, monkeypatch):
    import gmmkit.cli.helpers

    monkeypatch.delitem(vars(gmmkit.cli), name, raising=False)
    with pytest.warns(DeprecationWarning) as record:
        value = getattr(gmmkit.cli, name)
    assert [str(r.message) for r in record] == [
        f"gmmkit.cli.{name} is deprecated; import it from gmmkit.cli.helpers "
        "(gmmkit.cli keeps it for one release)."
    ]
    assert record[0].filename == __file__
    assert value is getattr(gmmkit.cli.helpers, name)


def test_gmmkit_cli_still_exports_build_cli_and_main_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from gmmkit.cli import build_cli, main
    from gmmkit.cli.app import build_cli as app_build_cli
    from gmmkit.cli.app import main as app_main

    assert (build_cli, main) == (app_build_cli, app_main)
    with pytest.raises(AttributeError, match="module 'gmmkit.cli' has no attribute 'nope'"):
        gmmkit.cli.nope  # noqa: B018
