"""`gmmkit finance regimes | var | backtest` through click's test runner, and the demo."""

import pytest
from helpers import invoke as run
from helpers import needs_matplotlib

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import importlib.util
import json

import numpy as np
from gmmkit_finance import backtest_var, fit_filtered, fit_returns, load_prices, regimes, to_returns


@pytest.fixture
def prices_csv(tmp_path):
    prices = load_prices("us_indices").iloc[-800:]
    path = tmp_path / "prices.csv"
    prices.to_csv(path, index_label="Date")
    return path


@needs_matplotlib
def test_regimes_table_json_labels_and_plot(cli, prices_csv, tmp_path):
    result = run(cli, "finance", "regimes", prices_csv, "--column", "sp500", "-k", 2, "--json",
                 "--model", "mixture", "-o", tmp_path / "labels.csv",
                 "--plot", tmp_path / "regimes.png")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    found = regimes(to_returns(load_prices(prices_csv, columns="sp500")), 2)
    assert summary["n_regimes"] == 2
    np.testing.assert_allclose([r["annual volatility"] for r in summary["regimes"]],
                               found.table["annual volatility"])
    assert summary["current"]["regime"] == found.labels.iloc[-1]
    assert summary["current"]["date"] == str(found.labels.index[-1].date())
    written = (tmp_path / "labels.csv").read_text().splitlines()
    assert written[0] == "date,regime,p0,p1" and len(written) == 800
    assert (tmp_path / "regimes.png").read_bytes()[:4] == b"\x89PNG"
    text = run(cli, "finance", "regimes", "sp500", "-k", 2, "--window", 21)
    assert text.exit_code == 0 and "2 mixture regimes of sp500 (5010 dates), 0 = calmest:" in \
        text.stdout


def test_var_per_asset_portfolio_and_models(cli, prices_csv):
    returns = to_returns(load_prices(prices_csv))
    per_asset = json.loads(run(cli, "finance", "var", prices_csv, "--json").stdout)
    assert [r["series"] for r in per_asset["results"]] == ["sp500", "nasdaq"]
    assert per_asset["results"][1]["var"] == fit_returns(returns["nasdaq"]).value_at_risk(0.99)
    portfolio = json.loads(run(cli, "finance", "var", prices_csv, "--weights", "0.6,0.4",
                               "--level", 0.975, "--json").stdout)["results"][0]
    joint = fit_returns(returns)
    assert portfolio["series"] == "portfolio"
    assert portfolio["var"] == joint.value_at_risk(0.975, weights=[0.6, 0.4])
    assert portfolio["es"] == joint.expected_shortfall(0.975, weights=[0.6, 0.4])
    filtered = json.loads(run(cli, "finance", "var", "sp500", "--model", "filtered-gmm",
                              "--json").stdout)["results"][0]
    assert filtered["var"] == pytest.approx(
        fit_filtered(to_returns(load_prices("sp500"))).value_at_risk(0.99), rel=1e-12)
    text = run(cli, "finance", "var", prices_csv, "--es", "--model", "normal").stdout
    assert text.splitlines()[1].split() == ["series", "VaR", "ES", "as", "of"]


@needs_matplotlib
def test_a_file_of_returns(cli, tmp_path):
    returns = to_returns(load_prices("sp500")).iloc[-600:]
    returns.to_csv(tmp_path / "returns.csv")
    result = run(cli, "finance", "var", tmp_path / "returns.csv", "--kind", "returns", "--json")
    assert result.exit_code == 0, result.output
    expected = fit_returns(load_prices(tmp_path / "returns.csv")).value_at_risk(0.99)
    assert json.loads(result.stdout)["results"][0]["var"] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(fit_returns(returns).value_at_risk(0.99), rel=1e-6)
    plotted = run(cli, "finance", "regimes", tmp_path / "returns.csv", "--kind", "returns",
                  "-k", 2, "--model", "mixture", "--plot", tmp_path / "r.png")
    assert plotted.exit_code == 0 and (tmp_path / "r.png").exists()


@needs_matplotlib
def test_backtest_table_progress_and_quiet(cli, tmp_path):
    args = ["finance", "backtest", "sp500", "--window", 1000, "--refit-every", 250,
            "--model", "normal,gmm"]
    loud = run(cli, *args, "--plot", tmp_path / "bt.png")
    assert loud.exit_code == 0, loud.output
    assert "backtest refits" in loud.stderr
    assert (tmp_path / "bt.png").exists()
    lines = loud.stdout.splitlines()
    assert lines[0] == ("0.99 VaR backtest of a long position in sp500, "
                        "2002-12-27..2018-12-31 (gmm: 2 components):")
    assert lines[1].split()[:3] == ["model", "days", "exceedances"]
    quiet = run(cli, *args, "-q", "--json")
    assert quiet.stderr == ""
    rows = {row["model"]: row for row in json.loads(quiet.stdout)["models"]}
    expected = backtest_var(to_returns(load_prices("sp500")), window=1000, refit_every=250,
                            models=["normal", "gmm"]).table
    assert rows["gmm"]["exceedances"] == expected.loc["gmm", "exceedances"]
    assert rows["normal"]["kupiec_p"] == pytest.approx(expected.loc["normal", "kupiec_p"])


def test_one_line_errors(cli, prices_csv, tmp_path):
    short = run(cli, "finance", "backtest", prices_csv, "--column", "sp500", "-q")
    assert short.exit_code == 1
    assert short.output.strip() == (
        "Error: too few observations for the window: 799 returns, but a window of 1000 needs "
        "more than 1000 (some to fit, the rest to test); use a shorter window or a longer series."
    )
    two = run(cli, "finance", "backtest", prices_csv, "-q")
    assert two.exit_code == 2 and "give --weights for a portfolio" in two.output
    bad_weights = run(cli, "finance", "var", prices_csv, "--weights", "1")
    assert bad_weights.exit_code == 2 and "1 weights for 2 price columns" in bad_weights.output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,x\n2020-01-02,1\n2020-01-02,2\n2020-01-03,3\n")
    dup = run(cli, "finance", "var", bad)
    assert dup.exit_code == 1 and dup.output.startswith("Error: duplicated dates: 2020-01-02")
    missing = run(cli, "finance", "var", tmp_path / "nowhere.csv")
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_usage_errors_for_models_and_weights(cli):
    duplicated = run(cli, "finance", "backtest", "sp500", "--model", "normal,normal", "-q")
    assert duplicated.exit_code == 2
    assert duplicated.output.splitlines()[-1] == (
        "Error: Invalid value for '--model': model 'normal' is named twice; give each model "
        "once, such as normal."
    )
    unknown = run(cli, "finance", "backtest", "sp500", "--model", "normal,garch", "-q")
    assert unknown.exit_code == 2 and "unknown model 'garch'; choose from normal" in unknown.output
    for weights, message in [
        ("1e300,1e300", "portfolio weights 1e+300,1e+300 are too large: the portfolio's variance "
                        "overflows; give weights as fractions of the portfolio's value, such as "
                        "0.6,0.4."),
        ("0,0", "portfolio weights are all zero: the portfolio holds nothing; give at least one "
                "non-zero weight."),
        ("inf,1", "portfolio weights must be finite numbers; got inf,1."),
    ]:
        for model in ("normal", "gmm"):
            result = run(cli, "finance", "var", "us_indices", "--weights", weights, "--model",
                         model)
            assert result.exit_code == 2, result.output
            last = result.output.splitlines()[-1]
            assert last == f"Error: Invalid value for --weights: {message}"
    backtested = run(cli, "finance", "backtest", "us_indices", "--weights", "1e300,1e300", "-q")
    assert backtested.exit_code == 2 and "are too large" in backtested.output


def test_empty_and_two_price_files(cli, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run(cli, "finance", "var", empty)
    assert result.exit_code == 1
    assert result.output == (f"Error: {empty} is empty; give a CSV with a header line, then a "
                             "date and one or more prices on each line.\n")
    two = tmp_path / "two.csv"
    two.write_text("date,p\n2015-01-02,100\n2015-01-05,101\n")
    expected = {
        "gmm": "a mixture of returns needs at least 10 returns",
        "filtered-gmm": "a volatility filter needs at least 50 returns",
        "normal": "the normal model needs at least 2 returns",
    }
    for model, start in expected.items():
        result = run(cli, "finance", "var", two, "--model", model)
        assert result.exit_code == 1
        assert result.output == (f"Error: {start}; got 1; give a longer series (n prices give "
                                 "n - 1 returns).\n")
    historical = run(cli, "finance", "var", two, "--model", "historical", "--json")
    assert json.loads(historical.stdout)["results"][0]["var"] == pytest.approx(-np.log(1.01))


@needs_matplotlib
@pytest.mark.slow
def test_demo_section(tmp_path):
    from gmmkit_finance.demo import finance_demo

    section = finance_demo(tmp_path)
    header, *rows = section.table
    verdicts = {row[0]: row[-1] for row in rows}
    assert verdicts == {"normal": "fail", "historical": "fail", "gmm": "fail",
                        "filtered-gmm": "pass"}
    assert all((tmp_path / name).exists() for name in section.figures)
    assert len(section.figures) == 3


def test_finance_help_is_light():
    """`gmmkit finance ... --help` loads neither pandas nor matplotlib, scipy.stats or arch."""
    import subprocess
    import sys

    code = (
        "import sys; from gmmkit.cli import build_cli; from click.testing import CliRunner;"
        "runs = [CliRunner().invoke(build_cli(), ['finance', c, '--help']) "
        " for c in ('regimes', 'var', 'backtest')];"
        "print([(r.exit_code, r.output.startswith('Usage:')) for r in runs]);"
        "heavy = {'pandas', 'matplotlib', 'scipy.stats', 'scipy.optimize', 'arch'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[(0, True), (0, True), (0, True)]", "[]"]


@needs_matplotlib
def test_regimes_hmm_is_the_default_when_its_bic_is_lower(cli, tmp_path):
    from gmmkit_finance import fit_regimes

    returns = to_returns(load_prices("sp500"))
    result = run(cli, "finance", "regimes", "sp500", "-k", 2, "--json",
                 "-o", tmp_path / "hmm.csv", "--plot", tmp_path / "hmm.png")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    fitted = fit_regimes(returns, 2)
    assert summary["model"] == "hmm"
    assert summary["bic"]["hmm"] == pytest.approx(fitted.bic())
    assert summary["bic"]["mixture"] == pytest.approx(fit_returns(returns, 2).bic())
    assert summary["bic"]["hmm"] < summary["bic"]["mixture"]
    np.testing.assert_allclose(summary["transition_matrix"], fitted.transmat)
    assert [r["duration"] for r in summary["regimes"]] == pytest.approx(
        list(fitted.expected_durations()))
    written = (tmp_path / "hmm.csv").read_text().splitlines()
    assert written[0] == "date,regime,p0,p1,f0,f1" and len(written) == 5031
    assert (tmp_path / "hmm.png").read_bytes()[:4] == b"\x89PNG"
    text = run(cli, "finance", "regimes", "sp500", "-k", 2, "--model", "hmm").stdout
    assert "2 Markov-switching (hmm) regimes of sp500 (5030 dates), 0 = calmest:" in text
    assert "transition matrix (row: today's regime, column: tomorrow's):" in text
    refused = run(cli, "finance", "regimes", "sp500", "--model", "hmm", "--window", 21)
    assert refused.exit_code == 2 and "drop it for --model hmm" in refused.output


def test_var_horizon_prints_simulation_and_sqrt_of_time(cli):
    from gmmkit_finance import fit_volatility, horizon_risk

    result = run(cli, "finance", "var", "sp500", "--horizon", 10, "--model", "garch-t",
                 "--paths", 20000, "--json")
    assert result.exit_code == 0, result.output
    assert "Warning: the square-root-of-time rule does not hold here" in result.stderr
    row = json.loads(result.stdout)["results"][0]
    returns = to_returns(load_prices("sp500")).to_numpy()
    model = fit_volatility(returns, "garch", "t")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = horizon_risk(model, 10, returns=returns, n_paths=20000)
    assert row["var"] == pytest.approx(want.var) and row["es"] == pytest.approx(want.es)
    assert row["sqrt_time_var"] == pytest.approx(want.sqrt_time_var)
    text = run(cli, "finance", "var", "sp500", "--horizon", 5, "--model", "hmm", "--es",
               "--paths", 5000)
    assert text.stdout.splitlines()[1].split() == ["series", "VaR", "ES", "sqrt-time", "VaR",
                                                   "sqrt-time", "ES", "as", "of"]
    too_far = run(cli, "finance", "var", "sp500", "--horizon", 600)
    assert too_far.exit_code == 2
    assert too_far.output.splitlines()[-1] == (
        "Error: Invalid value for --horizon: 600 days is more than the data support: 5030 "
        "returns, and an H-day forecast needs at least 10 H of them; use --horizon 503 or "
        "less, or a longer series")
    historical = run(cli, "finance", "var", "sp500", "--horizon", 5, "--model", "historical")
    assert historical.exit_code == 2 and "historical has no model to simulate 5 days" in \
        historical.output


@pytest.mark.slow
def test_backtest_with_new_models_and_every_test(cli, tmp_path):
    args = ["finance", "backtest", "sp500", "--window", 1000, "--refit-every", 250,
            "--model", "gjr-mixture,garch-t", "--tests", "kupiec,christoffersen,dq,es,traffic",
            "--simulations", 200, "-q"]
    # the plot only where matplotlib is installed: the table is checked either way
    plot = ["--plot", tmp_path / "bt.png"] if importlib.util.find_spec("matplotlib") else []
    text = run(cli, *args, *plot)
    assert text.exit_code == 0, text.output
    assert (tmp_path / "bt.png").exists() == bool(plot)
    header = text.stdout.splitlines()[1]
    for column in ("DQ p", "Z1 p", "Z2 p", "McNeil-Frey p", "zone (250 d)", "5% level"):
        assert column in header
    rows = {r["model"]: r for r in json.loads(run(cli, *args, "--json").stdout)["models"]}
    expected = backtest_var(to_returns(load_prices("sp500")), window=1000, refit_every=250,
                            models=["gjr-mixture", "garch-t"], n_simulations=200).table
    for model in ("gjr-mixture", "garch-t"):
        for column in ("dq_p", "z1", "z2_p", "mcneil_frey_p", "zone"):
            assert rows[model][column] == pytest.approx(expected.loc[model, column])
    only_dq = run(cli, "finance", "backtest", "sp500", "--window", 1000, "--refit-every", 1000,
                  "--model", "normal", "--tests", "dq", "-q").stdout.splitlines()[1].split()
    assert only_dq == ["model", "days", "exceedances", "expected", "DQ", "p"]
    bad = run(cli, *args[:-5], "--tests", "kupiec,var")
    assert bad.exit_code == 2 and "unknown test 'var'; choose from kupiec" in bad.output


#: short test windows keep these tests fast; the warnings have their own tests
pytestmark = [pytest.mark.filterwarnings("ignore::gmmkit_finance.backtest.LowPowerWarning"),
              pytest.mark.filterwarnings("ignore::gmmkit_finance.regimes.DailyRegimesWarning")]
