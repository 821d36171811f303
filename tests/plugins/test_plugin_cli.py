"""The command line for plugin authors (issue 25): `gmmkit fit --init-params` with a
registered initialiser, and `gmmkit plugin new NAME`, whose generated package is
installed (a dist-info on sys.path) and whose own tests pass."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from plugin_helpers import install_distribution, invoke

from gmmkit import GaussianMixture, hookimpl
from gmmkit.cli.scaffold import render_plugin
from gmmkit.datasets import load_dataset
from gmmkit.plugins import make_plugin_manager, use_plugin_manager


class FirstRows:
    @hookimpl
    def gmmkit_register_initializers(self, register):
        def first_rows(X, n_components, *, sample_weight, rng):
            """The first rows as the starting means."""
            return X[:n_components]

        register("first_rows", first_rows)


def test_fit_init_params_uses_a_registered_initializer(pm):
    pm.add_plugin(FirstRows(), "firstrows")
    result = invoke(pm, "fit", "iris", "-k", "3", "--init-params", "first_rows", "--max-iter",
                    "0", "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    X = load_dataset("iris")[0]
    with use_plugin_manager(pm):
        expected = GaussianMixture(3, init_params="first_rows", max_iter=0, random_state=0).fit(X)
    np.testing.assert_allclose(summary["means"], expected.means_)
    kmeans = json.loads(invoke(pm, "fit", "iris", "-k", "3", "--max-iter", "0", "--json",
                               "-q").stdout)
    assert not np.allclose(kmeans["means"], summary["means"])  # the option changes the start


def test_fit_init_params_refuses_an_unknown_name_naming_the_option(pm):
    pm.add_plugin(FirstRows(), "firstrows")
    result = invoke(pm, "fit", "iris", "--init-params", "first_row")
    assert result.exit_code == 2
    assert ("Invalid value for --init-params: no initialiser called 'first_row'; available: "
            "kmeans, k-means++, random, random_from_data, hc, first_rows (plugins register "
            "more: `gmmkit plugins` lists them)") in result.output


def test_plugin_new_writes_the_template(pm, tmp_path):
    out = tmp_path / "gmmkit-hello"
    result = invoke(pm, "plugin", "new", "hello", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert files == [
        ".github/workflows/test.yml", "README.md", "pyproject.toml",
        "src/gmmkit_hello/__init__.py", "tests/conftest.py", "tests/test_gmmkit_hello.py",
    ]
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == set(files)
    pyproject = (out / "pyproject.toml").read_text()
    assert '[project.entry-points.gmmkit]\nhello = "gmmkit_hello"' in pyproject
    assert "{{" not in "".join(render_plugin("hello").values()).replace("${{ matrix", "")
    source = (out / "src/gmmkit_hello/__init__.py").read_text()
    assert 'requires: tuple[str, ...] = ()' in source and "install_hint" in source
    compile(source, "gmmkit_hello", "exec")


@pytest.mark.parametrize(("args", "message"), [
    (["plugin", "new", "Hello-World"],
     "Invalid value for NAME: 'Hello-World' is not a plugin name: use lower-case letters, "
     "digits and _, starting with a letter (e.g. hello)"),
    (["plugin", "new", "fit"],
     "Invalid value for NAME: 'fit' is already the command `gmmkit fit`; the template's command "
     "takes the plugin's name, so choose another"),
])
def test_plugin_new_refuses_bad_names(pm, args, message):
    result = invoke(pm, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_plugin_new_refuses_a_folder_with_files(pm, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = invoke(pm, "plugin", "new", "hello", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert f"'{tmp_path}' exists and is not an empty folder; choose another --out" \
        in " ".join(result.output.split())
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_the_generated_plugin_passes_its_own_tests(pm, site, tmp_path):
    out = tmp_path / "gmmkit-tpl"
    assert invoke(pm, "plugin", "new", "tpl", "--out", str(out)).exit_code == 0
    # "installed": its entry point in a dist-info, its src/ on the path
    install_distribution(site, "gmmkit_tpl", "gmmkit_tpl_unused", "", entry="tpl")
    entry_points = next(site.glob("*.dist-info")) / "entry_points.txt"
    entry_points.write_text("[gmmkit]\ntpl = gmmkit_tpl\n")
    path = os.pathsep.join([str(site), str(out / "src"), os.environ.get("PYTHONPATH", "")])
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(out / "tests")],
        cwd=out, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed" in run.stdout


def test_the_template_files_are_package_data():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    template = Path(__file__).resolve().parents[2] / "gmmkit" / "cli" / "template"
    depths = {len(p.relative_to(template).parts) for p in template.rglob("*.tmpl")}
    patterns = {"/".join(["template", *["*"] * (d - 1), "*.tmpl"]) for d in depths}
    assert all(f'"{pattern}"' in pyproject for pattern in patterns), patterns
    assert make_plugin_manager(entry_points=False).check() == []
