"""The plugin system: every hook end to end, loading robustness, third-party
plugins through real entry points, the built-in plugins and the hook reference.

Every test builds its own plugin manager (``make_plugin_manager``) and, when
code under test reads the process-wide one, installs it with
``use_plugin_manager``; nothing here changes global state for other tests.
"""

import ast
import importlib
import importlib.metadata
import inspect
import json
import re
import sys
import textwrap
import types
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from gmmkit.datasets import Dataset

import gmmkit
import gmmkit.demo
import gmmkit.mixture
from gmmkit import GaussianMixture, hookimpl, hookspecs
from gmmkit.plugins import make_plugin_manager, use_plugin_manager
from tests.conftest import make_mixture

ROOT = Path(__file__).resolve().parents[1]
HOOK_DOCS = ROOT / "docs" / "plugins.md"
BUILTIN_PLUGINS = {
    "gmmkit_finance": "pip install 'gmmkit[finance]'",
    "gmmkit_image": "pip install 'gmmkit[image]'",
    "gmmkit_outliers": "pip install gmmkit",
    "gmmkit_speech": "pip install 'gmmkit[speech]'",
}
MISSING = "surely_missing_module_xyz"


@pytest.fixture
def pm():
    """A fresh manager with gmmkit's own plugin only (no entry points)."""
    return make_plugin_manager(entry_points=False)


def build_cli(pm):
    from gmmkit.cli import build_cli

    return build_cli(pm)


def invoke(pm, *args):
    result = CliRunner().invoke(build_cli(pm), list(args))
    return result


def plugins_json(pm):
    result = invoke(pm, "plugins", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


# ------------------------------------------------------- one test per hook


class SquaresPlugin:
    @hookimpl
    def gmmkit_register_features(self, register):
        def squares(X, *, power=2):
            """Every column raised to a power.

            More text that is not the description.
            """
            return np.asarray(X, dtype=np.float64) ** power

        register("squares", squares)
        register("halves", lambda X: np.asarray(X) / 2.0, description="every column halved")


def test_hook_gmmkit_register_features(pm):
    pm.add_plugin(SquaresPlugin(), "squarer")
    entries = pm.registry("features")
    assert entries["squares"].plugin == "squarer"
    assert entries["squares"].description == "Every column raised to a power."
    assert entries["halves"].description == "every column halved"
    assert entries["identity"].plugin == "gmmkit"
    X = make_mixture(n_samples=200, n_features=2, n_components=2)[0]
    with use_plugin_manager(pm):
        assert {"squares", "halves", "identity"} <= set(gmmkit.get_features())
        result = gmmkit.run_pipeline(
            X,
            features=[("squares", {"power": 3}), "halves"],
            model=GaussianMixture(2, random_state=0),
        )
    np.testing.assert_allclose(result.features, np.hstack([X**3, X / 2]))
    assert result.feature_names == ["squares[0]", "squares[1]", "halves[0]", "halves[1]"]
    assert result.steps["features"] == {"squares": "squarer", "halves": "squarer"}
    assert result.model.n_features_in_ == 4
    # the manager was only in use inside the with block
    assert gmmkit.plugins.get_plugin_manager() is not pm


class DistancePlugin:
    def __init__(self):
        self.calls = []

    @hookimpl
    def gmmkit_register_postprocessors(self, register):
        def distance(model, features, responsibilities, *, data, scale=1.0):
            """Distance of each row to the mean of its most probable component."""
            self.calls.append((model, features, responsibilities, data))
            means = model.means_[responsibilities.argmax(axis=1)]
            return scale * np.linalg.norm(features - means, axis=1)

        register("distance", distance)


def test_hook_gmmkit_register_postprocessors(pm):
    plugin = DistancePlugin()
    pm.add_plugin(plugin, "distances")
    assert pm.registry("postprocessors")["distance"].plugin == "distances"
    X = make_mixture(n_samples=300, n_features=2, n_components=3)[0]
    with use_plugin_manager(pm):
        assert "distance" in gmmkit.get_postprocessors()
        result = gmmkit.run_pipeline(
            X,
            features=["identity"],
            model=GaussianMixture(3, random_state=0),
            postprocessors=[("distance", {"scale": 2.0}), "labels"],
        )
    ((model, features, responsibilities, data),) = plugin.calls
    assert model is result.model and hasattr(model, "means_")
    assert data is X
    np.testing.assert_array_equal(features, X)
    assert responsibilities.shape == (300, 3)
    labels = model.predict(X)
    np.testing.assert_array_equal(result.outputs["labels"], labels)
    expected = 2.0 * np.linalg.norm(X - model.means_[labels], axis=1)
    np.testing.assert_allclose(result.outputs["distance"], expected)
    assert result.steps["postprocessors"] == {"distance": "distances", "labels": "gmmkit"}


class GreetPlugin:
    @hookimpl
    def gmmkit_register_features(self, register):
        register("greeting_feature", lambda X: X)

    @hookimpl
    def gmmkit_register_commands(self, cli):
        @cli.command()
        @click.argument("who")
        @click.option("--shout", is_flag=True)
        def greet(who, shout):
            """Say hello (a plugin command)."""
            from gmmkit.plugins import get_plugin_manager

            text = f"hello {who}"
            click.echo(text.upper() if shout else text)
            features = get_plugin_manager().registry("features")
            click.echo(f"greeting_feature from {features['greeting_feature'].plugin}")


def test_hook_gmmkit_register_commands(pm):
    pm.add_plugin(GreetPlugin(), "greeter")
    cli = build_cli(pm)
    assert isinstance(cli, click.Group)
    assert {"fit", "predict", "score", "sample", "info", "plugins", "datasets", "demo"} <= set(
        cli.commands
    )
    assert "greet" in cli.commands
    result = CliRunner().invoke(cli, ["greet", "world", "--shout"])
    assert result.exit_code == 0, result.output
    # the command runs with the manager given to build_cli
    assert result.stdout.splitlines() == ["HELLO WORLD", "greeting_feature from greeter"]
    assert "greet" in CliRunner().invoke(cli, ["--help"]).output
    rows = plugins_json(pm)
    assert rows["greeter"]["registers"]["commands"] == ["greet"]
    assert rows["greeter"]["registers"]["features"] == ["greeting_feature"]


class FitCommandPlugin:
    @hookimpl
    def gmmkit_register_commands(self, cli):
        @cli.command("fit")
        def fake_fit():
            click.echo("not the real fit")

        @cli.command("mine")
        def mine():
            click.echo("mine ran")


class RaisingCommandPlugin:
    @hookimpl
    def gmmkit_register_commands(self, cli):
        raise RuntimeError("no commands today")


def test_plugin_commands_cannot_replace_core_commands_and_errors_are_reported(pm):
    pm.add_plugin(FitCommandPlugin(), "usurper")
    pm.add_plugin(RaisingCommandPlugin(), "grumpy")
    cli = build_cli(pm)
    result = CliRunner().invoke(cli, ["fit", "iris", "-k", "2", "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_samples"] == 150
    assert CliRunner().invoke(cli, ["mine"]).stdout == "mine ran\n"
    rows = plugins_json(pm)
    assert any("'fit'" in p and "core command" in p for p in rows["usurper"]["problems"])
    assert any("no commands today" in p for p in rows["grumpy"]["problems"])
    assert rows["grumpy"]["status"] == "loaded"


def test_a_plugin_cannot_replace_another_plugins_command(pm):
    pm.add_plugin(GreetPlugin(), "greeter")

    class SecondGreeter:
        @hookimpl
        def gmmkit_register_commands(self, cli):
            @cli.command("greet")
            def other_greet():
                click.echo("the second greet")

    pm.add_plugin(SecondGreeter(), "copycat")
    cli = build_cli(pm)
    assert CliRunner().invoke(cli, ["greet", "you"]).stdout.startswith("hello you\n")
    rows = plugins_json(pm)
    assert rows["greeter"]["registers"]["commands"] == ["greet"]
    assert rows["copycat"]["registers"]["commands"] == []
    problem = "command 'greet' already belongs to plugin greeter; not replaced"
    assert problem in rows["copycat"]["problems"]


class TinyDataPlugin:
    def __init__(self):
        self.loads = 0

    @hookimpl
    def gmmkit_register_datasets(self, register):
        def tiny():
            """Six points on a line, two groups."""
            self.loads += 1
            X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
            return Dataset(X, ["x"], np.array(list("aaabbb")), "tiny test data")

        register("tiny", tiny)


def test_hook_gmmkit_register_datasets(pm):
    plugin = TinyDataPlugin()
    pm.add_plugin(plugin, "tinydata")
    entry = pm.registry("datasets")["tiny"]
    assert (entry.plugin, entry.description) == ("tinydata", "Six points on a line, two groups.")
    assert pm.registry("datasets")["iris"].plugin == "gmmkit"
    assert plugin.loads == 0  # registering does not load
    from gmmkit import datasets

    with use_plugin_manager(pm):
        assert "tiny" in datasets.list_datasets() and "iris" in datasets.list_datasets()
        dataset = datasets.load("tiny")
        X, target = datasets.load_dataset("tiny")
        with pytest.raises(ValueError, match="unknown dataset 'nope'; available: .*tiny"):
            datasets.load("nope")
    assert plugin.loads == 2
    assert dataset.feature_names == ["x"] and dataset.description == "tiny test data"
    np.testing.assert_array_equal(X, dataset.data)
    assert list(target) == list("aaabbb")
    assert "tiny" not in datasets.list_datasets()  # the global manager never saw it


class InitPlugin:
    def __init__(self, centers):
        self.centers = centers
        self.calls = []

    @hookimpl
    def gmmkit_register_initializers(self, register):
        def given(X, n_components, *, sample_weight, rng):
            """The means the test chose."""
            self.calls.append((X.copy(), n_components, sample_weight, rng))
            return self.centers

        register("given", given)


def test_hook_gmmkit_register_initializers(pm):
    X, labels, truth = make_mixture(n_samples=500, n_features=2, n_components=3, seed=1)
    centers = truth["means"][::-1]  # reversed: the fit must keep this order
    plugin = InitPlugin(centers)
    pm.add_plugin(plugin, "initplugin")
    with use_plugin_manager(pm):
        assert "given" in gmmkit.get_initializers()
        model = GaussianMixture(3, init_params="given", max_iter=0, random_state=0).fit(X)
    ((seen, n_components, weights, rng),) = plugin.calls
    np.testing.assert_allclose(seen, X)  # original (not centred) coordinates
    assert n_components == 3 and weights.shape == (500,) and np.all(weights == 1)
    assert isinstance(rng, np.random.Generator)
    # max_iter=0: the starting parameters are one M-step from the nearest-mean assignment
    nearest = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    expected = np.array([X[nearest == k].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(model.means_, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.weights_, np.bincount(nearest, minlength=3) / 500)
    assert model.n_iter_ == 0
    # a full fit from these means converges to the same, ordered clustering
    with use_plugin_manager(pm):
        fitted = GaussianMixture(3, init_params="given", random_state=0).fit(X)
    np.testing.assert_allclose(fitted.means_, centers, atol=0.6)


def test_initializer_with_a_wrong_shape_or_values_gives_a_clear_error(pm):
    X = make_mixture(n_samples=100, n_features=2, n_components=2)[0]
    plugin = InitPlugin(np.zeros((2, 3)))
    pm.add_plugin(plugin, "initplugin")
    with use_plugin_manager(pm):
        with pytest.raises(
            ValueError,
            match=re.escape(
                "initializer 'given' returned means of shape (2, 3); it must return finite "
                "means of shape (2, 2)"
            ),
        ):
            GaussianMixture(2, init_params="given").fit(X)
        plugin.centers = np.array([[0.0, 0.0], [np.nan, 1.0]])
        with pytest.raises(ValueError, match="initializer 'given' returned NaN or infinite"):
            GaussianMixture(2, init_params="given").fit(X)
        with pytest.raises(ValueError, match=r"init_params='nope' is not supported.*'given'"):
            GaussianMixture(2, init_params="nope").fit(X)
    with pytest.raises(ValueError, match="init_params='given' is not supported"):
        GaussianMixture(2, init_params="given").fit(X)  # the global manager lacks it


class SuffixReader:
    """Reads ``.pairs`` files: ``a:b`` per line; declines everything else."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def gmmkit_read_data(self, path, columns):
        self.calls.append((path, columns))
        if not path.endswith(".pairs"):
            return None
        rows = [line.split(":") for line in Path(path).read_text().split()]
        X = np.array(rows, dtype=np.float64)
        return Dataset(X, ["a", "b"], description=f"{path} (pairs)")


class GreedyCsvReader:
    @hookimpl
    def gmmkit_read_data(self, path, columns):
        if path.endswith(".csv"):
            return Dataset(np.zeros((1, 1)), ["greedy"], description="read by a plugin")
        return None


def test_hook_gmmkit_read_data(pm, tmp_path):
    reader = SuffixReader()
    pm.add_plugin(reader, "pairs")
    (tmp_path / "x.pairs").write_text("1:2\n3:4\n5:6\n")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n3,4\n")
    with use_plugin_manager(pm):
        pairs = gmmkit.read_data(tmp_path / "x.pairs")
        csv = gmmkit.read_data(tmp_path / "x.csv", columns=[1])  # declined: built-in CSV reader
        with pytest.raises(ValueError, match=r"x\.unknown: no reader for this kind of file"):
            gmmkit.read_data(tmp_path / "x.unknown")
    np.testing.assert_array_equal(pairs.data, [[1, 2], [3, 4], [5, 6]])
    assert pairs.feature_names == ["a", "b"]
    np.testing.assert_array_equal(csv.data, [[2.0], [4.0]])
    assert csv.feature_names == ["b"]
    assert reader.calls == [
        (str(tmp_path / "x.pairs"), None),
        (str(tmp_path / "x.csv"), ["1"]),  # columns are passed as strings
        (str(tmp_path / "x.unknown"), None),
    ]
    # plugins are asked before the built-in readers, even for a suffix the core reads
    pm.add_plugin(GreedyCsvReader(), "greedy")
    with use_plugin_manager(pm):
        assert gmmkit.read_data(tmp_path / "x.csv").feature_names == ["greedy"]


class FitRecorder:
    def __init__(self):
        self.events = []

    @hookimpl
    def gmmkit_fit_start(self, model, n_samples, n_features):
        self.events.append(("start", n_samples, n_features, hasattr(model, "means_")))

    @hookimpl
    def gmmkit_fit_iteration(self, model, init, iteration, lower_bound, change):
        self.events.append(("iteration", init, iteration, lower_bound, change))

    @hookimpl
    def gmmkit_fit_end(self, model):
        self.events.append(("end", model.n_iter_, model.lower_bound_, model.means_.copy()))


def fit_with_recorder(pm, X, **params):
    recorder = FitRecorder()
    pm.add_plugin(recorder, "recorder")
    with use_plugin_manager(pm):
        model = GaussianMixture(**params).fit(X)
    return model, recorder.events


def test_hook_gmmkit_fit_start(pm):
    X = make_mixture(n_samples=400, n_features=3)[0]
    model, events = fit_with_recorder(pm, X, n_components=3, n_init=2, random_state=0)
    starts = [e for e in events if e[0] == "start"]
    assert starts == [("start", 400, 3, False)]  # once, before any attribute is set
    assert events[0][0] == "start"


def test_hook_gmmkit_fit_iteration(pm):
    X = make_mixture(n_samples=400, n_features=3, seed=2)[0]
    model, events = fit_with_recorder(
        pm, X, n_components=3, n_init=3, init_params="random", random_state=0, tol=1e-4
    )
    iterations = [e[1:] for e in events if e[0] == "iteration"]
    runs = {}
    for init, iteration, lower_bound, change in iterations:
        runs.setdefault(init, []).append((iteration, lower_bound, change))
    assert sorted(runs) == [0, 1, 2]
    for run in runs.values():
        assert [it for it, _, _ in run] == list(range(1, len(run) + 1))
        assert run[0][2] == np.inf  # the first change is from -inf
        for (_, previous, _), (_, bound, change) in zip(run, run[1:]):
            assert change == pytest.approx(bound - previous)
    assert len(iterations) == sum(len(run) for run in runs.values())
    # the best run is the model's: same bounds, same number of iterations
    best = [run for run in runs.values() if run[-1][1] == model.lower_bound_]
    assert len(best) >= 1
    assert [bound for _, bound, _ in best[0]] == list(model.lower_bounds_)
    assert len(best[0]) == model.n_iter_
    # hooks observe, they do not change the fit
    plain = GaussianMixture(3, n_init=3, init_params="random", random_state=0, tol=1e-4).fit(X)
    np.testing.assert_array_equal(plain.means_, model.means_)
    assert plain.lower_bounds_ == model.lower_bounds_


def test_hook_gmmkit_fit_end(pm):
    X = make_mixture(n_samples=400, n_features=3, seed=3)[0]
    model, events = fit_with_recorder(pm, X, n_components=2, n_init=2, random_state=0)
    ends = [e for e in events if e[0] == "end"]
    assert len(ends) == 1 and events[-1] is ends[0]
    _, n_iter, lower_bound, means = ends[0]
    assert n_iter == model.n_iter_ and lower_bound == model.lower_bound_
    np.testing.assert_array_equal(means, model.means_)
    # a fit that fails after it started does not call it
    events.clear()
    pm.add_plugin(InitPlugin(np.zeros((3, 3))), "badinit")
    with use_plugin_manager(pm), pytest.raises(ValueError, match="initializer 'given'"):
        GaussianMixture(2, init_params="given").fit(X)
    assert [e[0] for e in events] == ["start"]


class TinyDemo:
    @hookimpl
    def gmmkit_register_demos(self, register):
        def tiny_demo(out_dir):
            """A demo that needs no data."""
            (Path(out_dir) / "tiny.txt").write_text("side file")
            return gmmkit.demo.DemoSection(
                "Tiny <demo>", paragraphs=["It ran & it worked."], table=[["k", "w"], [0, 0.25]]
            )

        def broken_demo(out_dir):
            raise RuntimeError("demo exploded")

        register("tiny", tiny_demo)
        register("broken", broken_demo)


def test_hook_gmmkit_register_demos(pm, tmp_path):
    pm.add_plugin(TinyDemo(), "tinydemo")
    entries = pm.registry("demos")
    assert entries["tiny"].plugin == "tinydemo" and "gmmkit" in entries
    sections = gmmkit.demo.run_demos([entries["tiny"], entries["broken"]], tmp_path)
    assert [s.title for s in sections] == ["Tiny <demo>", "broken"]
    assert [s.plugin for s in sections] == ["tinydemo", "tinydemo"]
    assert sections[0].error == "" and sections[1].error == "RuntimeError: demo exploded"
    assert (tmp_path / "tiny.txt").read_text() == "side file"
    report = gmmkit.demo.write_report(sections, tmp_path, notes=["a note"])
    assert report == tmp_path / "index.html"
    page = report.read_text()
    assert "<h2>Tiny &lt;demo&gt;</h2>" in page
    assert "It ran &amp; it worked." in page and "<td>0.25</td>" in page
    assert "This demo failed: RuntimeError: demo exploded" in page
    assert "a note" in page


def test_demo_command_runs_a_plugin_demo(pm, tmp_path):
    pm.add_plugin(TinyDemo(), "tinydemo")
    out = tmp_path / "report"
    result = invoke(pm, "demo", "--only", "tiny", "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert "Tiny &lt;demo&gt;" in (out / "index.html").read_text()
    assert "Old Faithful" not in (out / "index.html").read_text()
    refused = invoke(pm, "demo", "--only", "broken", "--out", str(out), "-q")
    assert refused.exit_code == 2 and "exists and is not empty; pass --force" in refused.output
    failed = invoke(pm, "demo", "--only", "broken", "--out", str(out), "-q", "--force")
    assert failed.exit_code == 1 and "some demos failed" in failed.output
    page = (out / "index.html").read_text()  # the report that says which demo failed is kept
    assert "broken" in page and "Tiny &lt;demo&gt;" not in page


def test_every_hook_has_a_test():
    tree = ast.parse(Path(__file__).read_text())
    tested = {
        node.name[len("test_hook_") :]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_")
    }
    hooks = set(hookspecs.hook_names())
    assert hooks
    assert hooks - tested == set(), "hooks without a test_hook_<name> test"
    assert tested - hooks == set(), "test_hook_<name> tests for hooks that do not exist"


def test_hookspecs_hook_names_are_the_managers_hooks(pm):
    specified = {name for name, caller in vars(pm.hook).items() if caller.has_spec()}
    assert set(hookspecs.hook_names()) == specified


# ------------------------------------------------ fit hooks cost nothing


def capture_settings(monkeypatch):
    captured = []
    real = gmmkit._restarts.run_em
    signature = inspect.signature(real)

    def spy(*args, **kwargs):
        captured.append(signature.bind(*args, **kwargs).arguments["settings"])
        return real(*args, **kwargs)

    monkeypatch.setattr(gmmkit._restarts, "run_em", spy)
    return captured


class EndOnly:
    def __init__(self):
        self.models = []

    @hookimpl
    def gmmkit_fit_end(self, model):
        self.models.append(model)


def test_fit_hooks_cost_nothing_when_no_plugin_implements_them(pm, monkeypatch):
    assert pm.fit_hooks() is None
    # the built-in plugins implement none either
    assert make_plugin_manager(environ={}).fit_hooks() is None
    captured = capture_settings(monkeypatch)
    X = make_mixture(n_samples=200, n_features=2, n_components=2)[0]
    with use_plugin_manager(pm):
        assert gmmkit.plugins.fit_hooks() is None
        GaussianMixture(2, n_init=2, random_state=0).fit(X)
    assert len(captured) == 2
    assert all(settings.on_iteration is None for settings in captured)

    end_only = EndOnly()
    pm.add_plugin(end_only, "endonly")
    assert pm.fit_hooks() is not None
    captured.clear()
    with use_plugin_manager(pm):
        model = GaussianMixture(2, random_state=0).fit(X)
    assert end_only.models == [model]
    assert captured[0].on_iteration is not None


class WrapperRegister:
    @hookimpl(hookwrapper=True)
    def gmmkit_register_features(self, register):
        register("never", lambda X: X)
        yield


def test_a_wrapper_register_hook_is_reported_not_called(pm):
    pm.add_plugin(WrapperRegister(), "wrapping")
    assert "never" not in pm.registry("features")
    assert pm.plugin_info["wrapping"].problems == [
        "gmmkit_register_features is a wrapper; skipped"
    ]


class RaisingStart:
    @hookimpl
    def gmmkit_fit_start(self, model, n_samples, n_features):
        raise RuntimeError("progress bar broke")

    @hookimpl
    def gmmkit_fit_end(self, model):
        raise AssertionError("skipped after the first failure")


def test_a_fit_hook_that_raises_is_skipped_with_a_warning_and_the_fit_goes_on(pm):
    X = make_mixture(n_samples=300, n_features=2, n_components=2)[0]
    end_only = EndOnly()
    pm.add_plugin(RaisingStart(), "broken")
    pm.add_plugin(end_only, "endonly")
    with use_plugin_manager(pm):
        with pytest.warns(gmmkit.PluginWarning, match="plugin broken: gmmkit_fit_start raised "
                          "RuntimeError: progress bar broke; its fit hooks are skipped"):
            model = GaussianMixture(2, random_state=0).fit(X)
        again = GaussianMixture(2, random_state=0).fit(X)  # no warning, no AssertionError
    assert end_only.models == [model, again]
    np.testing.assert_array_equal(model.means_, GaussianMixture(2, random_state=0).fit(X).means_)
    assert any("progress bar broke" in p for p in pm.plugin_info["broken"].problems)


# ------------------------------------------------------- hook reference


def documented_sections():
    """``{hook name: section text}`` for every ``### gmmkit_...`` heading."""
    text = HOOK_DOCS.read_text()
    parts = re.split(r"^### (gmmkit_\w+)[ \t]*$", text, flags=re.M)
    return {name: body.split("\n## ")[0] for name, body in zip(parts[1::2], parts[2::2])}


def test_every_hook_is_documented_with_its_signature(pm):
    sections = documented_sections()
    assert set(sections) == set(hookspecs.hook_names())
    for name, body in sections.items():
        match = re.search(r"\*\*Signature:\*\* `(\w+)\(([^`]*)\)`", body)
        assert match, f"{name}: no **Signature:** line"
        assert match.group(1) == name
        documented = [arg.split(":")[0].split("=")[0].strip() for arg in match.group(2).split(",")]
        expected = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert documented == expected, name
        firstresult = getattr(pm.hook, name).spec.opts["firstresult"]
        assert ("firstresult" in body) == firstresult, name
        assert "```py" in body, f"{name}: no example"


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
    pm.add_plugin(Second(), "second")
    entries = pm.registry("features")
    assert entries["shared"].description == "the first"
    assert entries["identity"].plugin == "gmmkit"  # the core registers first
    assert {"only_first", "only_second"} <= set(entries)
    assert "not_callable" not in entries and "" not in entries
    problems = pm.plugin_info["second"].problems
    assert problems[:2] == [
        "feature 'shared' is already registered by first; kept that one "
        "(disable one plugin with GMMKIT_DISABLE_PLUGINS)",
        "feature 'identity' is already registered by gmmkit; kept that one "
        "(disable one plugin with GMMKIT_DISABLE_PLUGINS)",
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


# ------------------------------------------- third-party plugins, for real

THIRDPARTY = '''
"""A third-party gmmkit plugin, installed as a distribution."""
import click
import numpy as np

from gmmkit import hookimpl


def cubes(X):
    """Every column cubed."""
    return np.asarray(X, dtype=np.float64) ** 3


def component_sizes(model, features, responsibilities, *, data=None):
    """Rows per component."""
    return np.bincount(responsibilities.argmax(axis=1), minlength=model.n_components)


@hookimpl
def gmmkit_register_features(register):
    register("cubes", cubes)


@hookimpl
def gmmkit_register_postprocessors(register):
    register("component_sizes", component_sizes)


@hookimpl
def gmmkit_register_commands(cli):
    @cli.command()
    @click.option("--name", default="world")
    def hello(name):
        """Greet from a third-party plugin."""
        click.echo(f"hello {name} from thirdparty")
'''


def install_distribution(site, dist, module, source, *, entry, version="0.1"):
    """``site/module/__init__.py`` and a dist-info declaring it in the gmmkit group."""
    package = site / module
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[gmmkit]\n{entry} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A directory on sys.path for fake installed distributions; their modules are
    removed from sys.modules afterwards."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    importlib.invalidate_caches()
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        if name.split(".")[0] in {p.name for p in directory.iterdir()}:
            del sys.modules[name]
    importlib.invalidate_caches()


def test_third_party_plugin_through_a_real_entry_point(site):
    install_distribution(
        site, "gmmkit_thirdparty_demo", "gmmkit_thirdparty_demo", THIRDPARTY, entry="thirdparty"
    )
    install_distribution(
        site,
        "gmmkit_broken_demo",
        "gmmkit_broken_demo",
        'raise RuntimeError("this plugin is broken")\n',
        entry="broken",
        version="2.0",
    )
    install_distribution(
        site,
        "gmmkit_needs_demo",
        "gmmkit_needs_demo",
        f"import {MISSING}\n",
        entry="needsmissing",
    )
    install_distribution(
        site,
        "gmmkit_typo_demo",
        "gmmkit_typo_demo",
        "from gmmkit import no_such_name\n",
        entry="typo",
    )
    points = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="gmmkit")}
    assert points["thirdparty"] == "gmmkit_thirdparty_demo"

    pm = make_plugin_manager(environ={})
    info = pm.plugin_info["thirdparty"]
    assert (info.status, info.version, info.source) == ("loaded", "0.1", "gmmkit_thirdparty_demo")
    broken = pm.plugin_info["broken"]
    assert (broken.status, broken.detail) == ("failed", "RuntimeError: this plugin is broken")
    assert broken.version == "2.0"
    needs = pm.plugin_info["needsmissing"]
    assert needs.status == "unavailable" and needs.detail.startswith(f"needs {MISSING}: ")
    # an ImportError from an installed package is a bug in the plugin, not a missing extra
    typo = pm.plugin_info["typo"]
    assert typo.status == "failed" and "no_such_name" in typo.detail
    for name in BUILTIN_PLUGINS:  # the others still load
        assert pm.plugin_info[name].status == "loaded"

    assert pm.registry("features")["cubes"].plugin == "thirdparty"
    assert pm.registry("postprocessors")["component_sizes"].plugin == "thirdparty"
    X = make_mixture(n_samples=300, n_features=2, n_components=3)[0]
    with use_plugin_manager(pm):
        result = gmmkit.run_pipeline(
            X,
            features=["cubes"],
            model=GaussianMixture(3, random_state=0),
            postprocessors=["component_sizes"],
        )
    np.testing.assert_allclose(result.features, X**3)
    sizes = result.outputs["component_sizes"]
    np.testing.assert_array_equal(sizes, np.bincount(result.model.predict(X**3), minlength=3))
    assert sizes.sum() == 300
    assert result.steps == {
        "features": {"cubes": "thirdparty"},
        "postprocessors": {"component_sizes": "thirdparty"},
    }

    cli = build_cli(pm)
    hello = CliRunner().invoke(cli, ["hello", "--name", "tester"])
    assert hello.exit_code == 0, hello.output
    assert hello.stdout == "hello tester from thirdparty\n"
    rows = plugins_json(pm)
    assert rows["thirdparty"]["status"] == "loaded"
    assert rows["thirdparty"]["version"] == "0.1"
    assert rows["thirdparty"]["registers"]["features"] == ["cubes"]
    assert rows["thirdparty"]["registers"]["postprocessors"] == ["component_sizes"]
    assert rows["thirdparty"]["registers"]["commands"] == ["hello"]
    assert rows["broken"]["status"] == "failed"
    assert rows["broken"]["detail"] == "RuntimeError: this plugin is broken"
    text = invoke(pm, "plugins").output
    assert "thirdparty" in text and "this plugin is broken" in text
    assert "Traceback" not in text


def docs_example_package():
    """The example plugin's module and its entry point, as docs/plugins.md gives them."""
    text = HOOK_DOCS.read_text()
    blocks = re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)
    module = next(code for lang, code in blocks if lang == "py" and '"""gmmkit-hello' in code)
    toml = next(code for lang, code in blocks if lang == "toml" and "entry-points" in code)
    entry = re.search(r"^\[project\.entry-points\.gmmkit\]\n(\w+) = \"(\w+)\"", toml, re.M)
    return module, entry.group(1), entry.group(2)


def test_the_documented_example_plugin_works(site):
    source, entry, module = docs_example_package()
    assert (entry, module) == ("hello", "gmmkit_hello")
    install_distribution(site, "gmmkit_hello", module, source, entry=entry, version="0.1.0")
    pm = make_plugin_manager(environ={"GMMKIT_LOAD_PLUGINS": "hello"})
    assert pm.plugin_info["hello"].status == "loaded"
    rows = plugins_json(pm)
    assert rows["hello"]["registers"]["features"] == ["log1p"]
    assert rows["hello"]["registers"]["postprocessors"] == ["cluster_sizes"]
    assert rows["hello"]["registers"]["commands"] == ["sizes"]
    result = invoke(pm, "sizes", "wholesale_customers", "-k", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["component 0", "component 1"]
    assert sum(int(line.split()[2]) for line in lines) == 440


# ------------------------------------------------------ built-in plugins


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
    for name, hint in BUILTIN_PLUGINS.items():
        info = pm.plugin_info[name]
        assert (info.status, info.problems) == ("loaded", []), info
        assert importlib.import_module(name).install_hint == hint
    owners = {n: e.plugin for n, e in pm.registry("features").items()}
    assert owners["intensity"] == "gmmkit_image"
    assert owners["log_returns"] == "gmmkit_finance"
    assert owners["robust_scale"] == "gmmkit_outliers"
    assert owners["mfcc"] == "gmmkit_speech"


def test_builtin_feature_extractors_on_tiny_inputs():
    pm = make_plugin_manager(environ={})
    features = {name: entry.obj for name, entry in pm.registry("features").items()}
    image = np.array([[0, 255, 51], [102, 204, 153]], dtype=np.uint8)
    np.testing.assert_allclose(features["intensity"](image), image.reshape(-1, 1) / 255.0)
    np.testing.assert_allclose(
        features["log_returns"]([100.0, 110.0, 99.0]), [[np.log(1.1)], [np.log(99 / 110)]]
    )
    X = np.column_stack([np.arange(9.0), np.arange(9.0) ** 2])
    scaled = features["robust_scale"](X)
    q1, median, q3 = np.percentile(scaled, [25, 50, 75], axis=0)
    np.testing.assert_allclose(median, 0.0, atol=1e-12)
    np.testing.assert_allclose(q3 - q1, 1.0)
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
