"""Problems caught where plugin authors look (issue 25): one test per detection rule.

add_plugin finds clashes at once (with a PluginWarning), pm.check() returns every
problem, gmmkit_* functions without @hookimpl, "did you mean" for unknown hooks and
arguments, unknown names in GMMKIT_DISABLE_PLUGINS / GMMKIT_LOAD_PLUGINS,
GMMKIT_TRACE_PLUGINS, `gmmkit --debug plugins` tracebacks, "No such command".
"""

import logging
import sys

import numpy as np
import pytest
from helpers import make_mixture
from plugin_helpers import install_distribution, invoke

import gmmkit
from gmmkit import hookimpl
from gmmkit.plugins import make_plugin_manager, use_plugin_manager

CORE_CLASH = (
    "feature 'standardize' is already registered by gmmkit; kept gmmkit's (the core cannot "
    "be replaced or disabled); rename yours"
)


class ClashesWithTheCore:
    @hookimpl
    def gmmkit_register_features(self, register):
        register("standardize", lambda X: np.asarray(X) * 0.0)


def test_add_plugin_reports_a_clash_with_a_core_name_at_once_and_warns(pm):
    with pytest.warns(gmmkit.PluginWarning) as warned:
        info = pm.add_plugin(ClashesWithTheCore(), "clash")
    assert [str(w.message) for w in warned] == [f"plugin clash: {CORE_CLASH}"]
    assert info.status == "loaded"
    assert info.problems == [CORE_CLASH]  # no registry read needed
    assert pm.check() == [f"clash: {CORE_CLASH}"]
    X = make_mixture(n_samples=100, n_features=2, n_components=2)[0]
    with use_plugin_manager(pm):  # the core's standardize is the one used, as reported
        result = gmmkit.run_pipeline(X, features=["standardize"],
                                     model=gmmkit.GaussianMixture(2, random_state=0))
    np.testing.assert_allclose(result.features, (X - X.mean(0)) / X.std(0))
    assert result.steps["features"] == {"standardize": "gmmkit"}


def test_check_returns_every_problem_and_is_empty_when_all_is_well(pm):
    assert pm.check() == []

    class Fine:
        @hookimpl
        def gmmkit_register_features(self, register):
            register("fine_feature", lambda X: X)

    assert pm.add_plugin(Fine(), "fine").problems == []
    assert pm.check() == []
    with pytest.warns(gmmkit.PluginWarning):
        pm.add_plugin(ClashesWithTheCore(), "clash")
    pm.add_plugin(Typo(), "typo")
    assert pm.check() == [
        f"clash: {CORE_CLASH}",
        f"typo: failed: {TYPO_DETAIL}",
    ]


class Unmarked:
    def gmmkit_register_features(self, register):  # no @hookimpl: never called
        register("never", lambda X: X)

    def gmmkit_register_postprocesor(self, register):  # no @hookimpl and misspelt
        pass

    def gmmkit_helper(self):  # a helper named gmmkit_*: not close to a hook, left alone
        pass


def test_a_gmmkit_function_without_hookimpl_is_a_problem_with_a_warning(pm):
    with pytest.warns(gmmkit.PluginWarning, match="has no @hookimpl"):
        info = pm.add_plugin(Unmarked(), "unmarked")
    assert info.status == "loaded"
    assert info.problems == [
        "function gmmkit_register_features has no @hookimpl, so gmmkit never calls it; "
        "decorate it with @gmmkit.hookimpl",
        "function gmmkit_register_postprocesor has no @hookimpl and is not a hook (did you "
        "mean gmmkit_register_postprocessors?); gmmkit never calls it",
    ]
    assert "never" not in pm.registry("features")


class Typo:
    @hookimpl
    def gmmkit_register_feature(self, register):
        register("typo", lambda X: X)


TYPO_DETAIL = (
    "implements unknown hook gmmkit_register_feature (did you mean gmmkit_register_features?); "
    "the hooks are listed in docs/plugin-hooks.md"
)


def test_an_unknown_hook_fails_the_plugin_with_did_you_mean(pm):
    info = pm.add_plugin(Typo(), "typo")
    assert (info.status, info.detail) == ("failed", TYPO_DETAIL)


class WrongArgument:
    @hookimpl
    def gmmkit_fit_iteration(self, model, init, iteration, lower_bnd, change):
        pass


def test_a_wrong_argument_name_lists_the_hooks_arguments(pm):
    info = pm.add_plugin(WrongArgument(), "wrong")
    assert info.status == "failed"
    assert info.detail == (
        "gmmkit_fit_iteration takes 'lower_bnd' (did you mean lower_bound?), which the hook "
        "does not pass; its arguments are: model, init, iteration, lower_bound, change"
    )
    assert pm.get_plugin("wrong") is None


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("GMMKIT_DISABLE_PLUGINS", "gmmkit_hello_demo",
     "GMMKIT_DISABLE_PLUGINS lists 'gmmkit_hello_demo', the module of plugin 'hellodemo'; "
     "use the entry-point name: GMMKIT_DISABLE_PLUGINS=hellodemo"),
    ("GMMKIT_LOAD_PLUGINS", "hellodemp",
     "GMMKIT_LOAD_PLUGINS lists 'hellodemp', which is not an installed plugin (did you mean "
     "hellodemo?); the installed plugins are: "),
    ("GMMKIT_DISABLE_PLUGINS", "gmmkit",
     "GMMKIT_DISABLE_PLUGINS lists 'gmmkit', gmmkit's own registrations, which always load"),
])
def test_unknown_names_in_the_environment_variables_warn(site, variable, value, message):
    install_distribution(site, "gmmkit_hello_demo", "gmmkit_hello_demo", "", entry="hellodemo")
    with pytest.warns(gmmkit.PluginWarning) as warned:
        pm = make_plugin_manager(environ={variable: value})
    assert [str(w.message)[: len(message)] for w in warned] == [message]
    assert pm.check()[0].startswith(f"environment: {message}")
    result = invoke(pm, "plugins")
    assert f"problem in the environment: {message}" in result.output
    # a correct name says nothing
    quiet = make_plugin_manager(environ={variable: "hellodemo"})
    assert quiet.environment_problems == []


def test_main_prints_the_environment_warnings_as_warning_lines(monkeypatch, capsys):
    monkeypatch.setenv("GMMKIT_DISABLE_PLUGINS", "gmmkit_imag")
    monkeypatch.setattr(sys, "argv", ["gmmkit", "datasets", "--json"])
    from gmmkit.cli import main

    with use_plugin_manager(None), pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    err = capsys.readouterr().err
    assert err.startswith("Warning: GMMKIT_DISABLE_PLUGINS lists 'gmmkit_imag', which is not an "
                          "installed plugin (did you mean gmmkit_image?)")


class Reader:
    @hookimpl
    def gmmkit_read_data(self, path, columns):
        return None  # not my kind of file


def test_trace_plugins_logs_each_hook_call_and_which_implementation_answered(tmp_path, caplog):
    pm = make_plugin_manager(entry_points=False, environ={"GMMKIT_TRACE_PLUGINS": "1"})
    pm.add_plugin(Reader(), "reader")
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with caplog.at_level(logging.DEBUG, logger="gmmkit.plugins.trace"):
        with use_plugin_manager(pm):
            dataset = gmmkit.read_data(str(path))
    assert dataset.data.shape == (2, 2)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gmmkit_read")]
    assert len(lines) == 2
    asked = f"gmmkit_read_data(path={str(path)!r}, columns=None): "
    assert lines[0].startswith(asked + "reader -> None (")  # the plugin is asked first
    assert lines[1].startswith(asked + "gmmkit -> ") and " answered (" in lines[1]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="gmmkit.plugins.trace"):
        pm._registries.clear()
        pm.registry("features")
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "gmmkit_register_features(register=register): gmmkit -> None"
    ]
    untraced = make_plugin_manager(entry_points=False, environ={})
    assert not untraced.tracing


BROKEN = 'def helper():\n    raise RuntimeError("this plugin is broken")\n\n\nhelper()\n'


def test_debug_plugins_shows_the_import_traceback(site):
    install_distribution(site, "gmmkit_broken_demo", "gmmkit_broken_demo", BROKEN,
                         entry="broken")
    pm = make_plugin_manager(environ={"GMMKIT_LOAD_PLUGINS": "broken"})
    source = str(site / "gmmkit_broken_demo" / "__init__.py")
    plain = invoke(pm, "plugins")
    assert f"broken failed at {source} line 2; `gmmkit --debug plugins` shows the traceback" \
        in plain.output
    assert "Traceback" not in plain.output
    debug = invoke(pm, "--debug", "plugins")
    assert "traceback of broken:\nTraceback (most recent call last):" in debug.output
    assert f'File "{source}", line 5, in <module>' in debug.output
    assert debug.output.rstrip().endswith("RuntimeError: this plugin is broken")


def test_no_such_command_names_the_plugin_that_failed(site):
    install_distribution(site, "gmmkit_broken_demo", "gmmkit_broken_demo", BROKEN,
                         entry="broken")
    pm = make_plugin_manager(environ={"GMMKIT_LOAD_PLUGINS": "broken"})
    result = invoke(pm, "broken")
    assert result.exit_code == 2
    assert ("No such command 'broken'. Plugin 'broken' did not load (failed: RuntimeError: "
            "this plugin is broken); `gmmkit plugins` lists every plugin.") in result.output
    other = invoke(pm, "hello")
    assert "No such command 'hello'. These plugins did not load and may provide it: broken " \
        "(failed: RuntimeError: this plugin is broken)" in other.output
    # with every plugin loaded, click's message is unchanged
    clean = invoke(make_plugin_manager(entry_points=False), "hello")
    assert "Error: No such command 'hello'.\n" in clean.output
