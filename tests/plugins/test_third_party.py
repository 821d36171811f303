"""Third-party plugins through real entry points: fake installed distributions
(a working one, broken ones) and the example plugin of docs/plugins.md.
"""

import importlib
import importlib.metadata
import re

import numpy as np
from click.testing import CliRunner
from helpers import make_mixture
from plugin_helpers import (
    BUILTIN_PLUGINS,
    MISSING,
    TUTORIAL,
    build_cli,
    install_distribution,
    invoke,
    plugins_json,
)

import gmmkit
from gmmkit import GaussianMixture
from gmmkit.plugins import make_plugin_manager, use_plugin_manager

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


def test_third_party_plugin_through_a_real_entry_point(site):
    builtin = {name: make_plugin_manager(environ={}).plugin_info[name].status
               for name in BUILTIN_PLUGINS}
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
    for name, status in builtin.items():  # the built-in ones are as without them
        assert pm.plugin_info[name].status == status

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
    text = TUTORIAL.read_text()
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
