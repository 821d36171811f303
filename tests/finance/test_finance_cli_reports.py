"""The finance commands' issue-24 options: --position, backtest -o/-k auto, var --window/--plot."""

import pytest
from helpers import invoke as run
from helpers import needs_matplotlib

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import json

import click
import numpy as np
import pandas as pd
from gmmkit_finance import backtest_var, fit_returns, load_prices, to_returns
from gmmkit_finance.coverage import kupiec_power


@pytest.fixture(scope="module")
def sp500():
    return to_returns(load_prices("sp500"))


def test_every_finance_option_has_a_help_text(cli):
    finance = cli.commands["finance"]
    for name, command in finance.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"finance {name} {param.opts[0]} has no help text"


def test_var_short_position_window_and_as_of(cli, sp500):
    result = run(cli, "finance", "var", "sp500", "--position", "short", "--window", 750,
                 "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["position"] == "short" and summary["window"] == 750
    row = summary["results"][0]
    fitted = fit_returns(sp500.iloc[-750:])
    assert row["var"] == pytest.approx(fitted.value_at_risk(0.99, position="short"), rel=1e-12)
    assert row["es"] == pytest.approx(fitted.expected_shortfall(0.99, position="short"),
                                      rel=1e-12)
    assert row["as_of"] == "2018-12-31" and "date" not in row
    normal = json.loads(run(cli, "finance", "var", "sp500", "--model", "normal", "--position",
                            "short", "--json").stdout)["results"][0]
    tail = sp500.mean() + sp500.std() * 2.3263478740408408
    assert normal["var"] == pytest.approx(tail, rel=1e-9)
    text = run(cli, "finance", "var", "sp500", "--window", 750, "--position", "short")
    assert text.stdout.splitlines()[0] == (
        "one-day 0.99 gmm risk of a short position in log returns (positive = loss), fitted "
        "to 750 returns; the VaR is of the next day after 'as of':")
    too_long = run(cli, "finance", "var", "sp500", "--window", 6000)
    assert too_long.exit_code == 2
    assert too_long.output.splitlines()[-1] == (
        "Error: Invalid value for --window: 6000 is more than the 5030 returns of the data; "
        "use --window 5030 or less")
    bad = run(cli, "finance", "var", "sp500", "--position", "up")
    assert bad.exit_code == 2 and "'up' is not one of 'long', 'short'" in bad.output
    level = run(cli, "finance", "backtest", "sp500", "--level", 99)
    assert level.exit_code == 2 and "level=99; give a probability such as 0.99" in level.output


@needs_matplotlib
def test_var_plot_is_written_and_refuses_to_overwrite(cli, tmp_path):
    path = tmp_path / "var.png"
    result = run(cli, "finance", "var", "us_indices", "--es", "--window", 500, "-k", 2,
                 "--plot", path)
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:4] == b"\x89PNG"
    again = run(cli, "finance", "var", "us_indices", "--window", 500, "--plot", path)
    assert again.exit_code == 2 and "already exists; pass --force" in again.output


@needs_matplotlib
def test_var_plot_marks_the_loss_side_of_the_h_day_returns(sp500, monkeypatch):
    from gmmkit_finance import plots_risk

    figures = []
    monkeypatch.setattr(plots_risk, "_save", lambda figure, path: figures.append(figure))
    values = sp500.iloc[-500:]
    rows = [{"var": 0.05, "es": 0.07, "as_of": "2018-12-31"}]
    plots_risk.plot_var({"sp500": values}, rows, "unused.png", level=0.99, position="short",
                        model="gmm", horizon=5)
    panel = figures[0].axes[0]
    assert panel.get_title() == ("sp500: 5-day 0.99 gmm VaR and ES of a short position, as of "
                                 "2018-12-31")
    assert [line.get_xdata()[0] for line in panel.lines] == [0.05, 0.07]  # the upper tail
    counts = sum(patch.get_height() for patch in panel.patches)
    assert counts == 500 - 4  # the overlapping 5-day sums


@pytest.mark.slow
def test_backtest_short_auto_csv_and_low_power_warning(cli, sp500, tmp_path):
    out = tmp_path / "series.csv"
    args = ["finance", "backtest", "sp500", "--window", 4772, "--refit-every", 129,
            "--model", "normal,gmm", "-k", "auto", "--position", "short", "-q"]
    result = run(cli, *args, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    with pytest.warns(Warning):
        want = backtest_var(sp500, window=4772, refit_every=129, models=["normal", "gmm"],
                            n_components="auto", position="short")
    summary = json.loads(result.stdout)
    assert summary["position"] == "short" and summary["low_power"] is True
    assert summary["n_components"] == want.n_components
    assert [m["exceedances"] for m in summary["models"]] == list(want.table["exceedances"])
    assert result.stderr.startswith("Warning: 258 test days at level 0.99 leave 2.6 "
                                    "exceedances expected")
    assert result.stderr.strip().endswith(
        f"probability only {kupiec_power(258, 0.99):.2f}); use a shorter --window, a longer "
        "series or a lower --level.")
    written = pd.read_csv(out, index_col="date", parse_dates=True)
    expected = want.to_frame()
    assert list(written.columns) == list(expected.columns)
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert (written["exceedance gmm"] == (written["return"] > written["var gmm"])).all()
    refused = run(cli, *args, "-o", out)
    assert refused.exit_code == 2 and "already exists; pass --force" in refused.output
    prices = tmp_path / "prices.csv"
    load_prices("sp500").to_csv(prices)
    onto_input = run(cli, "finance", "backtest", prices, "-o", prices, "--force", "-q")
    assert onto_input.exit_code == 2
    assert onto_input.output.splitlines()[-1] == (
        f"Error: Invalid value for '-o' / '--output': '{prices}' is an input of this command; "
        "writing it would destroy the input: write the output to another file")
    assert pd.read_csv(prices).shape == (5031, 2)


def test_a_failed_backtest_leaves_no_csv_or_plot(cli, tmp_path):
    out, plot = tmp_path / "series.csv", tmp_path / "bt.png"
    failed = run(cli, "finance", "backtest", "sp500", "--window", 6000, "-q", "-o", out,
                 "--plot", plot)
    assert failed.exit_code == 1
    assert failed.output.startswith("Error: too few observations for the window: 5030 returns")
    assert list(tmp_path.iterdir()) == []


@needs_matplotlib
@pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning")
def test_backtest_plot_has_a_row_per_model_with_the_traffic_light(cli, sp500, monkeypatch):
    from gmmkit_finance import plots_risk

    figures = []
    monkeypatch.setattr(plots_risk, "_save", lambda figure, path: figures.append(figure))
    result = backtest_var(sp500.iloc[:1400], window=1000, refit_every=200,
                          models=["normal", "historical"], tests=["kupiec"])
    plots_risk.plot_backtest(result, "unused.png")
    axes = figures[0].axes
    assert len(axes) == 4  # (returns, cumulative exceedances) per model
    assert axes[0].get_title() == "0.99 VaR backtest of a long position (dashed: ES)"
    labels = [text.get_text() for text in axes[1].get_legend().get_texts()]
    assert labels == ["green", "yellow", "red", "expected", "exceedances"]
    counts = axes[1].lines[-1].get_ydata()
    np.testing.assert_array_equal(counts, np.cumsum(result.exceedances["normal"]))
    yellow, red = plots_risk.zone_bounds(250, 0.99)
    assert (yellow[-1], red[-1]) == (5, 10)  # Basel: 250 days at 99%


@needs_matplotlib
def test_regime_plots_name_series_k_and_window_with_visible_colours(cli, monkeypatch):
    from gmmkit_finance import plots, regimes
    from matplotlib.colors import to_rgb

    figures = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.append(figure))
    prices = load_prices("sp500")
    found = regimes(to_returns(prices).iloc[-1500:], 4, window=21)
    plots.plot_regimes(prices, found, "unused.png", window=21)
    price_axes, volatility_axes = figures[0].axes
    assert price_axes.get_title() == ("sp500: 4 mixture regimes of trailing 21-day volatility "
                                      "(0 = calmest)")
    assert volatility_axes.get_ylabel() == "21-day volatility\n(% a year)"
    colours = [to_rgb(patch.get_facecolor()[0]) if np.ndim(patch.get_facecolor()) > 1 else
               to_rgb(patch.get_facecolor()) for patch in price_axes.collections]
    assert len(set(colours)) == 4 and all(min(c) < 0.75 for c in colours)  # none near white
    figures[0].canvas.draw()
    ticks = [t.get_text() for t in price_axes.get_yticklabels() if t.get_text()]
    assert ticks and all(t.replace(".", "").isdigit() for t in ticks)  # 1000, not 10^3


def test_regimes_cli_warns_on_daily_returns_and_reports_the_effective_bic(cli):
    daily = run(cli, "finance", "regimes", "sp500", "--model", "mixture", "-k", 2)
    assert daily.exit_code == 0
    assert daily.stderr.startswith("Warning: mixture regimes of daily returns label each day "
                                   "by its own return")
    assert "--window 21" in daily.stderr and "--model hmm" in daily.stderr
    windowed = run(cli, "finance", "regimes", "sp500", "--window", 21, "--json")
    assert windowed.stderr == ""
    summary = json.loads(windowed.stdout)
    assert summary["n_effective"] == pytest.approx((5030 - 20) / 21)
    bic = summary["effective_bic"]
    assert int(min(bic, key=bic.get)) == summary["n_regimes"]
