"""The plugin system's hooks: every hook end to end, the fit hooks' cost and
robustness, and the hook reference in docs/plugins.md.

Every test builds its own plugin manager (``make_plugin_manager``) and, when
code under test reads the process-wide one, installs it with
``use_plugin_manager``; nothing here changes global state for other tests.
"""

import ast
import inspect
import json
import re
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import make_mixture
from plugin_helpers import (
    HOOK_DOCS,
    build_cli,
    invoke,
    plugins_json,
)

import gmmkit
import gmmkit.demo
import gmmkit.estimators.mixture
from gmmkit import GaussianMixture, hookimpl
from gmmkit.datasets import Dataset
from gmmkit.plugins import hookspecs, make_plugin_manager, use_plugin_manager

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


def _register_one(register):
    register("one", lambda *args, **kwargs: None, description="the only one")


def every_registry_plugin():
    """A plugin that registers one entry of every registry kind."""
    from gmmkit.plugins.manager import REGISTRY_HOOKS

    return SimpleNamespace(**{hook: hookimpl(_register_one) for hook in REGISTRY_HOOKS.values()})


@pytest.mark.parametrize("kind", ["features", "postprocessors", "datasets", "initializers",
                                  "demos"])
def test_get_kind_is_a_copy_of_the_process_wide_registry(pm, kind):
    from gmmkit.plugins import registered
    from gmmkit.plugins.manager import REGISTRY_HOOKS

    assert kind in REGISTRY_HOOKS
    pm.add_plugin(every_registry_plugin(), "every")
    getter = getattr(gmmkit, f"get_{kind}")
    with use_plugin_manager(pm):
        got = getter()
        assert got == pm.registry(kind) == registered(kind)
        assert got["one"].plugin == "every" and got["one"].description == "the only one"
        got.clear()  # a copy: the registry keeps its entries
        assert "one" in getter() and "one" in pm.registry(kind)
    with use_plugin_manager(make_plugin_manager(entry_points=False)):
        assert "one" not in getter()  # the process-wide manager's, not another's


# ------------------------------------------------ fit hooks cost nothing


def capture_settings(monkeypatch):
    captured = []
    real = gmmkit.estimators.restarts.run_em
    signature = inspect.signature(real)

    def spy(*args, **kwargs):
        captured.append(signature.bind(*args, **kwargs).arguments["settings"])
        return real(*args, **kwargs)

    monkeypatch.setattr(gmmkit.estimators.restarts, "run_em", spy)
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
