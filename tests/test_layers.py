"""The import rules of issue 16 hold: the import-linter contracts in pyproject.toml.

.ci/run runs ``lint-imports`` too; this test makes plain ``pytest`` check them
wherever import-linter is installed (the ``test`` extra installs it).
"""

import ast
import textwrap
from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli")

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_linter_contracts_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    status = importlinter_cli.lint_imports(no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "0 broken" in out


#: the layers of pyproject.toml's contract "layers", top to bottom
LAYERS = [
    ("cli", "builtins"), ("demo",), ("inputs", "datasets"), ("pipeline", "modelfiles"),
    ("estimators",), ("plugins",), ("data", "outputs"), ("engine",),
    ("exceptions", "_version", "_deprecated"),
]  # fmt: skip

def upward_imports():
    """{(importer, imported)} of the direct imports that break LAYERS (functions' too)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("gmmkit", exclude_type_checking_imports=True, cache_dir=None)
    layers = [grimp.Layer(*names) for names in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"gmmkit"})
    found = set()
    for dependency in illegal:
        for route in dependency.routes:
            assert not route.middle, route  # only direct imports are illegal here
            found |= {(head, tail) for head in route.heads for tail in route.tails}
    return found


def test_no_import_breaks_the_layers():
    """No module imports a higher layer or an independent sibling, also inside functions
    (the same rule as the contract "layers", here with the offending imports listed)."""
    assert upward_imports() == set()


def test_records_and_printing_sit_in_their_layers():
    """Step 3: the Dataset record is in the data layer (readers and hook specifications
    name it without importing the bundled data sets), and only the CLI formats the
    model-selection table."""
    import gmmkit.datasets
    import gmmkit.estimators.selection
    from gmmkit.cli.output import format_selection
    from gmmkit.data.dataset import Dataset

    assert gmmkit.datasets.Dataset is Dataset
    assert not hasattr(gmmkit.estimators.selection, "format_selection")
    table = [{"chosen": True, "n_components": 2, "covariance_type": "full", "bic": 10.0,
              "log_likelihood": -1.5, "n_parameters": 11, "converged": True,
              "degenerate": False, "error": None}]  # fmt: skip
    assert format_selection(table).splitlines()[-1].split() == [
        "*", "2", "full", "10.00", "-1.50", "11", "True"
    ]
    assert not {
        (a, b) for a, b in upward_imports()
        if a in ("gmmkit.inputs.readers", "gmmkit.estimators.selection")
    }


def test_random_generators_sit_in_the_engine():
    """Step 4: make_rng and restart_rngs are engine functions (gmmkit.engine.rng): the
    engine's missing-value and online code and the restarts no longer import
    GaussianMixture's module for them."""
    from gmmkit.engine import rng
    from gmmkit.estimators import mixture

    assert mixture.make_rng is rng.make_rng
    importers = {a for a, b in upward_imports() if b == "gmmkit.estimators.mixture"}
    assert importers == set()


def test_missing_values_are_split_by_layer():
    """Step 5: the engine keeps the marginalising EM maths; scanning X for patterns (and
    refusing infinity) is the data layer's, imputing from a fitted model the estimators'."""
    import gmmkit
    from gmmkit.data import missing as data_missing
    from gmmkit.engine import missing as engine_missing
    from gmmkit.estimators import impute

    assert gmmkit.impute is impute.impute
    assert data_missing.MISSING_OPTIONS == ("error", "em")
    assert not hasattr(engine_missing, "impute") and not hasattr(engine_missing, "scan_missing")
    assert not {(a, b) for a, b in upward_imports() if a == "gmmkit.engine.missing"}


def test_partial_fit_is_the_estimators_own_method():
    """Step 6: online EM's engine module works on Stats only (validation, initialisation
    and the fitted attributes are GaussianMixture's, through the OnlineFit mixin)."""
    import gmmkit.engine.online
    from gmmkit import GaussianMixture
    from gmmkit.estimators.online import OnlineFit

    assert GaussianMixture.partial_fit is OnlineFit.partial_fit
    assert not hasattr(gmmkit.engine.online, "partial_fit")
    assert not {(a, b) for a, b in upward_imports() if a == "gmmkit.engine.online"}


def test_the_core_plugin_is_loaded_by_name_from_the_top_layer():
    """Step 8: the manager (layer 3) loads gmmkit's own plugin by its module name, as an
    entry point; import-linter cannot see that import, so this test pins it."""
    import gmmkit.builtins
    from gmmkit.plugins import CORE_PLUGIN, make_plugin_manager
    from gmmkit.plugins.manager import CORE_PLUGIN_MODULE

    assert CORE_PLUGIN_MODULE == "gmmkit.builtins"
    assert "builtins" in LAYERS[0]  # the top layer, with the CLI
    manager = make_plugin_manager(entry_points=False)
    assert manager.get_plugin(CORE_PLUGIN) is gmmkit.builtins
    assert not {(a, b) for a, b in upward_imports() if a.startswith("gmmkit.plugins")}


def test_plugin_initialisers_reach_the_engine_as_callables():
    """Step 7: the estimators resolve ``init_params`` (the plugin registry is above the
    engine); the engine's seeding receives a picklable callable, named in its errors."""
    import pickle

    import numpy as np

    from gmmkit.engine.seeding import plugin_centers
    from gmmkit.estimators.checks import PluginInitializer, resolve_init_method

    assert resolve_init_method("kmeans") == "kmeans"
    resolved = resolve_init_method("given")
    assert resolved == PluginInitializer("given")
    assert pickle.loads(pickle.dumps(resolved)) == resolved

    def bad(X, n_components, *, sample_weight, rng):
        return np.zeros((n_components + 1, X.shape[1]))

    bad.name = "bad"
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="initializer 'bad' returned means of shape"):
        plugin_centers(bad, X, np.ones(5), 2, np.random.default_rng(0))
    assert not {(a, b) for a, b in upward_imports() if a == "gmmkit.engine.seeding"}


def test_scoring_far_rows_of_fitted_models_is_the_classifiers():
    """The engine's scoring works on parameters: ranking classes by the magnitude of
    far rows' densities (it takes fitted models and their marginals) is the
    classifier's, and FarCheck/FarRows have their own engine module (no em <-> scoring
    cycle)."""
    import gmmkit.engine.scoring
    from gmmkit.estimators import classifier

    assert callable(classifier.beyond_range_log_prob)
    assert not hasattr(gmmkit.engine.scoring, "beyond_range_log_prob")
    assert not {(a, b) for a, b in upward_imports() if a.startswith("gmmkit.engine")}


def test_grid_fitting_takes_the_estimator_class():
    """Step 11 (part): select_model and n_components="auto" share estimators/grid.py, which
    imports no estimator, so GaussianMixture no longer imports model selection back."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("gmmkit", exclude_type_checking_imports=True, cache_dir=None)
    assert "gmmkit.estimators.mixture" not in graph.find_modules_directly_imported_by(
        "gmmkit.estimators.grid"
    )
    assert "gmmkit.estimators.selection" not in graph.find_modules_directly_imported_by(
        "gmmkit.estimators.mixture"
    )


def test_bic_and_aic_are_written_once(tmp_path):
    """Step 10 (part): GaussianMixture.bic/aic, model selection's table and the stream
    criteria all use gmmkit.engine.criteria (p = 11 for 2 full components in 2-D)."""
    import numpy as np

    import gmmkit
    from gmmkit.data.stream import information_criteria
    from gmmkit.engine.criteria import n_parameters

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))])
    model = gmmkit.GaussianMixture(2, random_state=0).fit(X)
    total = float(model.score_samples(X).sum())
    assert n_parameters("full", 2, 2) == 11 and n_parameters("diag", 2, 2, noise=True) == 10
    assert model.bic(X) == pytest.approx(-2 * total + 11 * np.log(200), rel=1e-12)
    assert model.aic(X) == pytest.approx(-2 * total + 22, rel=1e-12)
    one = gmmkit.GaussianMixture(1).fit(X)  # select_model's K = 1 row: a closed-form fit
    _, table = gmmkit.select_model(X, [1, 2], ["full"], as_frame=False)
    assert (table[0]["bic"], table[0]["aic"]) == pytest.approx((one.bic(X), one.aic(X)),
                                                               rel=1e-9)
    np.save(tmp_path / "x.npy", X)
    streamed = information_criteria(model, str(tmp_path / "x.npy"))
    assert (streamed["bic"], streamed["aic"]) == pytest.approx((model.bic(X), model.aic(X)))
    sources = [p.read_text() for p in Path(gmmkit.__file__).parent.rglob("*.py")]
    assert sum(s.count("-2.0 * total") for s in sources) == 2  # engine/criteria.py


def test_the_covariance_types_are_defined_once():
    """The CLI's choices (and plugins' through gmmkit.cli.helpers) are the engine's table
    itself; no other module assigns a COVARIANCE_TYPES."""
    import click

    from gmmkit.cli.helpers import COVARIANCE_TYPES
    from gmmkit.engine.covariance import COVARIANCE_TYPES as TABLE

    assert COVARIANCE_TYPES is TABLE
    # scikit-learn's four names, then mclust's 14 models and the univariate E and V
    assert list(COVARIANCE_TYPES) == [
        "full", "tied", "diag", "spherical", "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
        "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV", "E", "V"]
    assert list(click.Choice(COVARIANCE_TYPES).choices) == list(TABLE)
    assigned = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in parsed_sources(ROOT / "gmmkit")
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and any(isinstance(t, ast.Name) and t.id == "COVARIANCE_TYPES"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
    ]
    assert len(assigned) == 1 and assigned[0].startswith("gmmkit/engine/covariance.py:")


# ------------------------------------------------- private parts of estimators stay inside

#: bases that make a class an estimator (by name, as plugins import them from gmmkit)
ESTIMATOR_ROOTS = {"EstimatorBase"}
#: receivers that are the estimator itself
OWN = {"self", "cls", "mcs"}


def parsed_sources(*folders):
    """(path, ast) of every .py file under ``folders``."""
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _base_names(node):
    """The names of a class's bases (``a.b.C`` -> ``C``)."""
    names = []
    for base in node.bases:
        while isinstance(base, ast.Attribute):
            base = ast.Name(base.attr)
        if isinstance(base, ast.Name):
            names.append(base.id)
    return names


def _is_private(name):
    return name.startswith("_") and not name.startswith("__") and name[1:2].isalpha()


def estimator_private_names(trees):
    """The private names of every estimator class and of the mixins it is built from.

    An estimator class derives (by name, transitively) from EstimatorBase; its
    mixins are the other classes in its bases. Their private names are the
    ``def _x`` and ``_x = ...`` of the class bodies and every ``self._x = ...``.
    """
    classes = {}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append(node)
    estimators = set(ESTIMATOR_ROOTS)
    changed = True
    while changed:
        before = len(estimators)
        for name, nodes in classes.items():
            if any(set(_base_names(n)) & estimators for n in nodes):
                estimators.add(name)
        changed = len(estimators) != before
    members = set(estimators)
    for name in estimators:
        for node in classes.get(name, []):
            members.update(base for base in _base_names(node) if base in classes)
    private = set()
    for name in members:
        for node in classes.get(name, []):
            for item in ast.walk(node):
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found = [item.name]
                elif isinstance(item, ast.Assign):
                    found = [t.id for t in item.targets if isinstance(t, ast.Name)]
                    found += [t.attr for t in item.targets if isinstance(t, ast.Attribute)
                              and isinstance(t.value, ast.Name) and t.value.id == "self"]
                else:
                    continue
                private.update(n for n in found if _is_private(n))
    return private


def _is_own(receiver):
    """self, cls, or super() (the estimator reaching its own parts)."""
    if isinstance(receiver, ast.Name):
        return receiver.id in OWN
    return (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name)
            and receiver.func.id == "super")


def private_estimator_uses(*folders):
    """``file:line receiver._name`` of every access to an estimator's private name on
    anything but self/cls/super(), and every private attribute set on another object."""
    trees = list(parsed_sources(*folders))
    private = estimator_private_names(trees)
    found = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
                continue
            parked = isinstance(node.ctx, ast.Store)
            if (node.attr in private or parked) and not _is_own(node.value):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where}:{node.lineno} {ast.unparse(node.value)}.{node.attr}")
    return found


def test_no_module_reaches_into_an_estimators_private_parts():
    """Issue 16: outside an estimator's own class (and its mixins, through self), no code in
    gmmkit/ or plugins/ calls, reads or sets a private attribute of an estimator. Model
    files, data sources, impute, the grid and plugins use the public API instead:
    check_is_fitted, check_fitted_input, check_params, from_parameters, from_posterior,
    DataSettings, icl, GMMOutlierDetector.from_fitted."""
    assert private_estimator_uses(ROOT / "gmmkit", ROOT / "plugins") == []


def test_the_private_use_scan_finds_what_it_should(tmp_path):
    """The scan above would see the uses issue 16 removed (and lets the estimator's own
    self/cls/super() through)."""
    (tmp_path / "estimator.py").write_text(textwrap.dedent("""
        class Mixin:
            def _helper(self):
                return self._state

        class Model(Mixin, gmmkit.EstimatorBase):
            def _check_parameters(self, X):
                self._state = 1
                return super()._check_parameters(X)

            @classmethod
            def build(cls):
                return cls._make()
    """))
    (tmp_path / "user.py").write_text(textwrap.dedent("""
        def prepare(model, X):
            model._check_parameters(X)
            Model()._helper()
            model._y_ndim = 2
            other._cache = {}
            return model.predict(X)
    """))
    found = sorted(line.split(" ", 1)[1] for line in private_estimator_uses(tmp_path))
    assert found == ["Model()._helper", "model._check_parameters", "model._y_ndim",
                     "other._cache"]


def test_conditioning_builds_models_of_the_class_it_is_given():
    """Step 11 (part): estimators.conditioning imports no estimator (the model class comes
    in as ``cls``), so GaussianMixture's condition/marginal and the public functions of
    estimators.conditional form no cycle; a BayesianGaussianMixture still conditions
    into GaussianMixture objects."""
    import numpy as np

    import gmmkit
    from gmmkit.estimators import conditional

    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("gmmkit", exclude_type_checking_imports=True, cache_dir=None)
    imported = graph.find_modules_directly_imported_by("gmmkit.estimators.conditioning")
    assert not imported & {"gmmkit.estimators.mixture", "gmmkit.estimators.bayesian"}
    X = np.random.default_rng(0).normal(size=(200, 3))
    bayes = gmmkit.BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    assert type(conditional.condition(bayes, [0], [0.5])) is gmmkit.GaussianMixture

    class Sub(gmmkit.GaussianMixture):
        pass

    assert type(Sub(2, random_state=0).fit(X).marginal([0, 1])) is Sub
