"""The plugin system's loading: missing requirements, duplicate names, raising
or wrong hooks, GMMKIT_DISABLE_PLUGINS / GMMKIT_LOAD_PLUGINS, and the built-in
plugins (loaded when their extra is installed, listed as unavailable otherwise).
"""

import importlib
import importlib.metadata
import importlib.util
import types

import numpy as np
import pytest
from helpers import extra_installed
from plugin_helpers import BUILTIN_PLUGINS, MISSING, invoke, plugins_json

import gmmkit
from gmmkit import hookimpl
from gmmkit.plugins import make_plugin_manager, use_plugin_manager

# ------------------------------------------------------------- loading


def plugin_module(name, **attributes):
    """A module object named ``name`` with ``attributes`` (hook implementations...)."""
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    return module


@hookimpl
def _register_lonely(register):
    register("lonely", lambda X: X)


def test_missing_requirement_makes_a_plugin_unavailable(pm):
    module = plugin_module(
        "needs_xyz",
        requires=("numpy", MISSING),
        install_hint="pip install 'gmmkit[xyz]'",
        gmmkit_register_features=_register_lonely,
    )
    info = pm.add_plugin(module, "needs_xyz")
    assert info.status == "unavailable"
    assert info.detail == f"needs {MISSING}: pip install 'gmmkit[xyz]'"
    assert pm.get_plugin("needs_xyz") is None
    assert "lonely" not in pm.registry("features")
    with use_plugin_manager(pm):
        assert [(p.name, p.status) for p in gmmkit.get_plugins()] == [
            ("gmmkit", "loaded"),
            ("needs_xyz", "unavailable"),
        ]
    # without an install_hint the hint names the modules; a string is one module
    bare = pm.add_plugin(plugin_module("bare", requires=MISSING), "bare")
    assert bare.detail == f"needs {MISSING}: pip install {MISSING}"


class First:
    @hookimpl
    def gmmkit_register_features(self, register):
        register("shared", lambda X: X, description="the first")
        register("only_first", lambda X: X)


class Second:
    @hookimpl
    def gmmkit_register_features(self, register):
        register("shared", lambda X: X, description="the second")
        register("identity", lambda X: X)
        register("only_second", lambda X: X)
        register("", lambda X: X)
        register("not_callable", 42)


def test_duplicate_names_keep_the_first_and_report_the_second(pm):
    pm.add_plugin(First(), "first")
    with pytest.warns(gmmkit.PluginWarning) as warned:  # found at add_plugin, not later
        pm.add_plugin(Second(), "second")
    assert str(warned[0].message) == (
        "plugin second: feature 'shared' is already registered by first; kept that one; "
        "rename yours or disable one plugin with GMMKIT_DISABLE_PLUGINS"
    )
    assert warned[0].filename == __file__  # points at the plugin's register(...) line
    entries = pm.registry("features")
    assert entries["shared"].description == "the first"
    assert entries["identity"].plugin == "gmmkit"  # the core registers first
    assert {"only_first", "only_second"} <= set(entries)
    assert "not_callable" not in entries and "" not in entries
    problems = pm.plugin_info["second"].problems
    assert problems[:2] == [
        "feature 'shared' is already registered by first; kept that one; "
        "rename yours or disable one plugin with GMMKIT_DISABLE_PLUGINS",
        # the core cannot be disabled: the advice is to rename
        "feature 'identity' is already registered by gmmkit; kept gmmkit's "
        "(the core cannot be replaced or disabled); rename yours",
    ]
    assert "feature name '' is not a non-empty string; skipped" in problems
    assert "feature 'not_callable' is not callable; skipped" in problems
    assert pm.plugin_info["first"].problems == []
    rows = plugins_json(pm)
    assert rows["second"]["problems"] == problems
    assert "only_second" in rows["second"]["registers"]["features"]
    assert "shared" not in rows["second"]["registers"]["features"]


class Eager:
    @hookimpl(tryfirst=True)
    def gmmkit_register_features(self, register):
        register("shared", lambda X: X, description="eager")


class Late:
    @hookimpl(trylast=True)
    def gmmkit_register_features(self, register):
        register("identity", lambda X: X * 0, description="hijacked")
        register("shared", lambda X: X, description="late")


def test_tryfirst_and_trylast_do_not_change_who_keeps_a_name(pm):
    pm.add_plugin(Late(), "late")
    pm.add_plugin(First(), "first")
    pm.add_plugin(Eager(), "eager")
    entries = pm.registry("features")
    assert entries["identity"].plugin == "gmmkit"
    assert entries["shared"].plugin == "late"  # registered (added) first
    assert pm.plugin_info["gmmkit"].problems == []
    assert any(
        "'identity' is already registered by gmmkit" in p for p in pm.plugin_info["late"].problems
    )
    assert any(
        "'shared' is already registered by late" in p for p in pm.plugin_info["eager"].problems
    )


class RaisingRegister:
    @hookimpl
    def gmmkit_register_features(self, register):
        raise RuntimeError("broken\nregistration")

    @hookimpl
    def gmmkit_register_postprocessors(self, register):
        register("fine", lambda *a, **k: None)


def test_a_register_hook_that_raises_is_reported_and_others_remain(pm):
    pm.add_plugin(First(), "first")
    pm.add_plugin(RaisingRegister(), "raiser")
    assert {"identity", "standardize", "shared", "only_first"} <= set(pm.registry("features"))
    assert pm.registry("postprocessors")["fine"].plugin == "raiser"
    info = pm.plugin_info["raiser"]
    assert info.status == "loaded"
    assert info.problems == ["gmmkit_register_features raised RuntimeError: broken registration"]
    result = invoke(pm, "plugins")
    assert result.exit_code == 0, result.output
    assert "problem in raiser: gmmkit_register_features raised RuntimeError" in result.output


class Typo:
    @hookimpl
    def gmmkit_register_feature(self, register):
        register("typo", lambda X: X)

    @hookimpl
    def gmmkit_register_postprocessors(self, register):
        register("from_typo", lambda *a, **k: None)


class WrongArguments:
    @hookimpl
    def gmmkit_register_features(self, registry):
        registry("wrong", lambda X: X)


def test_unknown_hooks_and_wrong_arguments_fail_the_plugin(pm):
    info = pm.add_plugin(Typo(), "typo")
    assert info.status == "failed"
    assert "gmmkit_register_feature" in info.detail and "unknown hook" in info.detail
    assert pm.get_plugin("typo") is None
    assert "from_typo" not in pm.registry("postprocessors")  # none of its hooks stay
    wrong = pm.add_plugin(WrongArguments(), "wrong")
    assert wrong.status == "failed" and "registry" in wrong.detail
    # the next plugin still loads
    assert pm.add_plugin(First(), "first").status == "loaded"
    assert "shared" in pm.registry("features")
    rows = plugins_json(pm)
    assert rows["typo"]["status"] == "failed"
    assert rows["typo"]["registers"]["postprocessors"] == []


def test_disable_and_load_environment_variables(monkeypatch):
    monkeypatch.delenv("GMMKIT_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("GMMKIT_LOAD_PLUGINS", raising=False)
    pm = make_plugin_manager(environ={"GMMKIT_DISABLE_PLUGINS": " gmmkit_image, gmmkit_speech ,"})
    status = {name: info.status for name, info in pm.plugin_info.items()}
    assert status == {
        "gmmkit": "loaded",
        "gmmkit_finance": "loaded",
        "gmmkit_image": "disabled",
        "gmmkit_outliers": "loaded",
        "gmmkit_speech": "disabled",
    }
    assert "GMMKIT_DISABLE_PLUGINS" in pm.plugin_info["gmmkit_image"].detail
    assert "intensity" not in pm.registry("features") and "mfcc" not in pm.registry("features")
    assert "log_returns" in pm.registry("features")

    pm = make_plugin_manager(environ={"GMMKIT_LOAD_PLUGINS": "gmmkit_finance"})
    status = {name: info.status for name, info in pm.plugin_info.items()}
    assert status == {
        "gmmkit": "loaded",  # the core is not a plugin one can leave out
        "gmmkit_finance": "loaded",
        "gmmkit_image": "not selected",
        "gmmkit_outliers": "not selected",
        "gmmkit_speech": "not selected",
    }
    assert "GMMKIT_LOAD_PLUGINS" in pm.plugin_info["gmmkit_image"].detail
    assert set(pm.registry("features")) == {"identity", "standardize", "log_returns"}

    both = make_plugin_manager(
        environ={
            "GMMKIT_LOAD_PLUGINS": "gmmkit_finance",
            "GMMKIT_DISABLE_PLUGINS": "gmmkit_finance",
        }
    )
    assert both.plugin_info["gmmkit_finance"].status == "disabled"
    # the process environment is the default
    monkeypatch.setenv("GMMKIT_DISABLE_PLUGINS", "gmmkit_outliers")
    assert make_plugin_manager().plugin_info["gmmkit_outliers"].status == "disabled"




# ------------------------------------------------------ built-in plugins

# one feature extractor that each built-in plugin registers
FEATURE_OF = {
    "gmmkit_finance": "log_returns",
    "gmmkit_image": "intensity",
    "gmmkit_outliers": "robust_scale",
    "gmmkit_speech": "mfcc",
}


def test_builtin_plugins_are_registered_through_the_entry_point_group():
    points = {
        ep.name: ep
        for ep in importlib.metadata.entry_points(group="gmmkit")
        if ep.name in BUILTIN_PLUGINS
    }
    assert set(points) == set(BUILTIN_PLUGINS)
    for name, point in points.items():
        assert point.value == name
        assert point.dist.name == "gmmkit"
        assert point.load() is importlib.import_module(name)
    pm = make_plugin_manager(environ={})
    owners = {n: e.plugin for n, e in pm.registry("features").items()}
    for name, hint in BUILTIN_PLUGINS.items():
        info = pm.plugin_info[name]
        assert importlib.import_module(name).install_hint == hint
        feature = FEATURE_OF[name]
        if extra_installed(name):
            assert (info.status, info.problems) == ("loaded", []), info
            assert owners[feature] == name
        else:  # a core-only install lists it, with the hint, and registers nothing
            missing = [m for m in importlib.import_module(name).requires
                       if importlib.util.find_spec(m) is None]
            assert (info.status, info.detail) == ("unavailable",
                                                  f"needs {', '.join(missing)}: {hint}")
            assert feature not in owners


def builtin_features(plugin):
    """``{name: extractor}`` registered by ``plugin``; skips when its extra is missing."""
    if not extra_installed(plugin):
        pytest.skip(f"{plugin} needs its extra: {BUILTIN_PLUGINS[plugin]}")
    pm = make_plugin_manager(environ={})
    return {name: entry.obj for name, entry in pm.registry("features").items()}


def test_builtin_core_feature_extractors_on_tiny_inputs():
    features = builtin_features("gmmkit_finance")
    np.testing.assert_allclose(
        features["log_returns"]([100.0, 110.0, 99.0]), [[np.log(1.1)], [np.log(99 / 110)]]
    )
    X = np.column_stack([np.arange(9.0), np.arange(9.0) ** 2])
    scaled = builtin_features("gmmkit_outliers")["robust_scale"](X)
    q1, median, q3 = np.percentile(scaled, [25, 50, 75], axis=0)
    np.testing.assert_allclose(median, 0.0, atol=1e-12)
    np.testing.assert_allclose(q3 - q1, 1.0)


def test_builtin_image_feature_extractor_on_a_tiny_image():
    features = builtin_features("gmmkit_image")
    image = np.array([[0, 255, 51], [102, 204, 153]], dtype=np.uint8)
    np.testing.assert_allclose(features["intensity"](image), image.reshape(-1, 1) / 255.0)


def test_builtin_speech_feature_extractor_on_a_tiny_signal():
    features = builtin_features("gmmkit_speech")
    t = np.arange(8000) / 16000.0
    coefficients = features["mfcc"](np.sin(2 * np.pi * 440.0 * t), sr=16000)
    assert coefficients.shape == (51, 20)
    assert np.all(np.isfinite(coefficients))


def test_a_plugin_whose_extra_is_missing_is_listed_as_unavailable(pm):
    import gmmkit_speech

    copy = plugin_module("gmmkit_speech", **vars(gmmkit_speech))
    copy.requires = (MISSING,)
    info = pm.add_plugin(copy, "gmmkit_speech")
    assert info.status == "unavailable"
    assert "mfcc" not in pm.registry("features")
    result = invoke(pm, "plugins")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "gmmkit_speech" in line)
    assert "unavailable" in line and "pip install 'gmmkit[speech]'" in line
    assert "Traceback" not in result.output
    row = plugins_json(pm)["gmmkit_speech"]
    assert row["status"] == "unavailable"
    assert row["detail"] == f"needs {MISSING}: pip install 'gmmkit[speech]'"
    assert row["registers"]["features"] == []
