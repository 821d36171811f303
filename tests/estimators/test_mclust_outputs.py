"""What mclust users look at: uncertainty, plot.Mclust's plots, the bootstrap LRT, the CLI."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import make_mixture, needs_matplotlib

from gmmkit import GaussianMixture, bootstrap_lrt, plot_mixture, select_model
from gmmkit.cli import build_cli
from gmmkit.datasets import load_dataset
from gmmkit.estimators import mixture_plots
from gmmkit.plugins import make_plugin_manager

PNG = b"\x89PNG\r\n\x1a\n"


def test_uncertainty_is_one_minus_the_largest_posterior():
    X, _, _ = make_mixture(n_samples=300, n_features=2, seed=1)
    model = GaussianMixture(3, covariance_type="VEV", random_state=0).fit(X)
    np.testing.assert_allclose(model.uncertainty(X), 1 - model.predict_proba(X).max(axis=1),
                               atol=1e-12)
    best, _ = select_model(X, [2, 3], ["VEV"], as_frame=False)
    np.testing.assert_allclose(best.uncertainty_, best.uncertainty(X))
    assert best.fit(X) is best and not hasattr(best, "uncertainty_")  # a refit drops it


@pytest.fixture
def figures(monkeypatch):
    """The figures plot_mixture saves, kept open for inspection."""
    kept = []

    def keep(figure, path, plt):
        kept.append(figure)
        figure.savefig(path, format="png")

    monkeypatch.setattr(mixture_plots, "save", keep)
    return kept


@needs_matplotlib
@pytest.mark.parametrize(("n_features", "projection", "n_axes"),
                         [(1, "auto", 3), (2, "auto", 3), (3, "auto", 9), (3, "pca", 3),
                          (6, "auto", 3)])
def test_plot_mixture_draws_mclusts_three_plots(tmp_path, figures, n_features, projection,
                                                n_axes):
    X, _, _ = make_mixture(n_samples=240, n_features=n_features, n_components=3, seed=2)
    model = GaussianMixture(3, covariance_type="EEV" if n_features > 1 else "V",
                            random_state=0).fit(X)
    path = tmp_path / "m.png"
    plot_mixture(model, X, path, projection=projection)
    assert path.read_bytes()[:8] == PNG
    axes = figures[0].axes
    assert len(axes) == n_axes
    if n_features > 1 and n_axes == 3:
        classification, uncertainty, density = axes
        # 3 ellipses and 3 mean markers; point sizes follow the uncertainty; density contours
        assert len(classification.lines) == 6
        sizes = uncertainty.collections[0].get_sizes()
        order = np.argsort(model.uncertainty(X))
        assert sizes[order[-1]] > sizes[order[0]]
        assert len(density.collections) > 1


@needs_matplotlib
def test_plot_mixture_with_a_table_draws_the_criterion_first(tmp_path, figures):
    X, _ = load_dataset("faithful")
    best, table = select_model(X, [1, 2, 3], ["EEE", "VVV"], bic_convention="mclust")
    plot_mixture(best, X, tmp_path / "all.png", table=table, bic_convention="mclust")
    first = figures[0].axes[0]
    assert first.get_ylabel() == "BIC (higher is better)"
    assert {line.get_label() for line in first.lines} >= {"EEE", "VVV", "chosen: EEE, K=3"}


def test_plot_mixture_bad_input():
    X, _, _ = make_mixture(n_samples=60, n_features=2, seed=3)
    model = GaussianMixture(2).fit(X)
    with pytest.raises(ValueError, match=r"panels must be some of \['classification', "
                                         r"'uncertainty', 'density'\]"):
        plot_mixture(model, X, "x.png", panels=["bic"])
    holes = X.copy()
    holes[0, 0] = np.nan
    with pytest.raises(ValueError, match="the rows to plot have missing values"):
        plot_mixture(model, holes, "x.png")


@pytest.mark.slow
def test_bootstrap_lrt_reproduces_mclusts_statistic_on_faithful():
    """Scrucca et al. (2016): mclustBootstrapLRT(faithful, "VVV"): 1 vs 2 LRTS 319.065408,
    p 0.001; 2 vs 3 LRTS 6.270946 (our VVV,3 fit reaches a higher likelihood)."""
    X, _ = load_dataset("faithful")
    result = bootstrap_lrt(X, "VVV", n_bootstrap=19, random_state=0, max_components=2)
    assert result.n_components == [1, 2]
    assert result.statistic[0] == pytest.approx(319.065408, abs=2e-3)
    assert result.statistic[1] >= 6.270946
    assert result.bootstrap.shape == (19, 2)
    expected = (1 + (result.bootstrap >= result.statistic).sum(axis=0)) / 20
    np.testing.assert_allclose(result.p_values, expected)
    assert result.p_values[0] == pytest.approx(1 / 20)  # no bootstrap comes near 319
    assert [row["h1"] for row in result.table()] == [2, 3]


def test_bootstrap_lrt_stops_at_the_first_k_it_keeps():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0, 1, (150, 2)), rng.normal(8, 1, (150, 2))])
    result = bootstrap_lrt(X, "VII", n_bootstrap=19, random_state=1)
    assert result.n_components == [1, 2] and result.chosen == 2
    assert result.p_values[0] == pytest.approx(0.05) and result.p_values[1] > 0.05
    again = bootstrap_lrt(X, "VII", n_bootstrap=19, random_state=1)
    np.testing.assert_array_equal(again.bootstrap, result.bootstrap)  # seeded


def test_bootstrap_lrt_bad_input():
    X, _, _ = make_mixture(n_samples=60, n_features=2, seed=3)
    with pytest.raises(ValueError, match="covariance_type='VVX' is not supported"):
        bootstrap_lrt(X, "VVX")
    with pytest.raises(ValueError, match="n_bootstrap must be an integer >= 1; got 0"):
        bootstrap_lrt(X, n_bootstrap=0)
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\); got 1.5"):
        bootstrap_lrt(X, level=1.5)
    with pytest.raises(ValueError, match="bootstrap_lrt does not take noise='uniform'"):
        bootstrap_lrt(X, noise="uniform")


@needs_matplotlib
@pytest.mark.slow
def test_fit_and_select_draw_their_plots_and_select_runs_the_lrt(tmp_path, monkeypatch):
    cli = build_cli(make_plugin_manager())
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    fitted = runner.invoke(cli, ["fit", "iris", "-k", "2", "--covariance-type", "VEV",
                                 "--plot", "fit.png", "-q"])
    assert fitted.exit_code == 0, fitted.output
    assert (tmp_path / "fit.png").read_bytes()[:8] == PNG
    assert "covariance_type=VEV" in fitted.stdout
    selected = runner.invoke(cli, ["select", "faithful", "-k", "1..3", "--covariance-types",
                                   "EEE,VVV", "--plot", "sel.png", "--lrt", "--n-bootstrap",
                                   "4", "--json", "-q"])
    assert selected.exit_code == 0, selected.output
    summary = json.loads(selected.stdout)
    assert summary["best"] == {"n_components": 3, "covariance_type": "EEE"}
    assert summary["lrt"]["covariance_type"] == "EEE"
    assert summary["lrt"]["tests"][0]["h0"] == 1 and summary["lrt"]["n_bootstrap"] == 4
    assert (tmp_path / "sel.png").read_bytes()[:8] == PNG
    bad = runner.invoke(cli, ["select", "faithful", "--covariance-types", "EEE,XYZ", "-o", "b"])
    assert bad.exit_code == 2
    assert "Invalid value for --covariance-types: 'XYZ' is not a covariance model" in bad.output
    bad = runner.invoke(cli, ["select", "galaxies", "--covariance-types", "VVV", "-o", "b"])
    assert bad.exit_code == 2 and "'VVV' is a model for multivariate data" in bad.output
