"""gmmkit_finance data: loading prices, returns, and one test per bad input of the issue."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import re

import numpy as np
import pandas as pd
from gmmkit_finance import backtest_var, fit_filtered, fit_returns, load_prices, to_returns


def write_csv(path, text):
    path.write_text(text)
    return path


def exactly(message):
    return "^" + re.escape(message) + "$"


def test_bundled_series_from_the_installed_package():
    sp500 = load_prices("sp500")
    assert isinstance(sp500, pd.Series) and sp500.name == "sp500"
    assert isinstance(sp500.index, pd.DatetimeIndex) and sp500.index.is_monotonic_increasing
    assert len(sp500) == 5031
    assert str(sp500.index[0].date()) == "1999-01-04" and sp500.iloc[0] == 1228.10
    both = load_prices("us_indices")
    assert list(both.columns) == ["sp500", "nasdaq"]
    np.testing.assert_array_equal(both["sp500"].to_numpy(), sp500.to_numpy())
    arch_sp500 = pytest.importorskip("arch.data.sp500").load()["Adj Close"]
    np.testing.assert_allclose(sp500.to_numpy(), arch_sp500.to_numpy(), atol=0.005)


def test_csv_with_dates_and_several_assets(tmp_path):
    path = write_csv(tmp_path / "p.csv", "Date,a,b,note\n2020-01-03,10,20,x\n"
                                         "2020-01-02,8,16,y\n2020-01-06,11,20,z\n")
    prices = load_prices(path)
    assert list(prices.columns) == ["a", "b"]  # the text column is not a price
    assert [str(d.date()) for d in prices.index] == ["2020-01-02", "2020-01-03", "2020-01-06"]
    log = to_returns(prices)
    np.testing.assert_allclose(log.to_numpy(), np.log([[10 / 8, 20 / 16], [11 / 10, 1.0]]))
    simple = to_returns(prices["a"], kind="simple")
    assert isinstance(simple, pd.Series) and simple.name == "a"
    np.testing.assert_allclose(simple.to_numpy(), [10 / 8 - 1, 11 / 10 - 1])
    # the weekend between 01-03 and 01-06 is a missing day, not a gap: one return spans it
    assert str(log.index[1].date()) == "2020-01-06"
    assert load_prices(path, columns="b").name == "b"


def test_numpy_input_gives_numpy_returns():
    returns = to_returns([100.0, 110.0, 99.0])
    assert isinstance(returns, np.ndarray) and returns.shape == (2,)
    np.testing.assert_allclose(returns, [np.log(1.1), np.log(99 / 110)])
    assert to_returns(np.array([[1.0, 2.0], [2.0, 2.5], [1.0, 3.0]])).shape == (2, 2)


def test_nan_gaps_dropped_or_filled_on_request():
    dates = pd.bdate_range("2021-01-04", periods=5)
    prices = pd.Series([100.0, 101.0, np.nan, 103.0, 104.0], index=dates, name="x")
    dropped = to_returns(prices, missing="drop")
    np.testing.assert_allclose(dropped.to_numpy(), np.log([101 / 100, 103 / 101, 104 / 103]))
    assert list(dropped.index) == [dates[1], dates[3], dates[4]]
    filled = to_returns(prices, missing="ffill", kind="simple")
    np.testing.assert_allclose(filled.to_numpy(), [0.01, 0.0, 103 / 101 - 1, 104 / 103 - 1])


# ------------------------------------------------------------ bad input, one test each


def test_too_few_observations_for_the_window():
    returns = to_returns(load_prices("sp500")).iloc[:500]
    with pytest.raises(ValueError, match=exactly(
        "too few observations for the window: 500 returns, but a window of 1000 needs more "
        "than 1000 (some to fit, the rest to test); use a shorter window or a longer series."
    )):
        backtest_var(returns, window=1000)


def test_constant_prices():
    prices = pd.Series([5.0] * 30, index=pd.bdate_range("2021-01-04", periods=30), name="flat")
    with pytest.raises(ValueError, match=exactly(
        "price column 'flat' is constant (every return is 0): prices that never move have no "
        "return distribution; drop that column."
    )):
        to_returns(prices)
    with pytest.raises(ValueError, match="is constant"):
        fit_returns(np.zeros(50))


def test_non_positive_prices_for_log_returns():
    prices = pd.DataFrame({"ok": [1.0, 2.0, 3.0, 4.0], "spread": [0.5, -0.25, 0.0, 0.75]},
                          index=pd.bdate_range("2021-01-04", periods=4))
    with pytest.raises(ValueError, match=exactly(
        "price column 'spread' has 2 non-positive prices, the first on 2021-01-05 (-0.25); log "
        "returns need positive prices; use kind='simple' for series that cross zero, or drop "
        "those rows."
    )):
        to_returns(prices)


def test_unparseable_dates(tmp_path):
    path = write_csv(tmp_path / "p.csv", "date,x\n2020-01-02,1\n2020-01-03,2\nyesterday,3\n")
    with pytest.raises(ValueError, match=exactly(
        f"column 'date' has a value that is not a date: 'yesterday' (line 4 of {path}); use "
        "dates such as 2020-01-31 or 31/01/2020, give their format with date_format='%d/%m/%Y' "
        "(--date-format), or name the date column with date_column= (--date-column)."
    )):
        load_prices(path)


def test_duplicated_dates(tmp_path):
    path = write_csv(tmp_path / "p.csv", "date,x\n2020-01-02,1\n2020-01-03,2\n2020-01-03,3\n")
    message = exactly(
        "duplicated dates: 2020-01-03 appears 2 times; keep one row per date "
        "(e.g. prices[~prices.index.duplicated()])."
    )
    with pytest.raises(ValueError, match=message):
        load_prices(path)
    frame = pd.read_csv(path, index_col="date", parse_dates=True)
    with pytest.raises(ValueError, match=message):
        load_prices(frame)


def test_nan_gaps():
    prices = pd.Series([100.0, np.nan, 102.0, np.nan, 104.0], name="x",
                       index=pd.bdate_range("2021-01-04", periods=5))
    with pytest.raises(ValueError, match=exactly(
        "price column 'x' has 2 missing prices (NaN gaps), the first on 2021-01-05; pass "
        "missing='drop' or missing='ffill' (CLI: --missing drop)."
    )):
        to_returns(prices)
    returns = pd.Series([0.01, np.nan, 0.02], index=pd.bdate_range("2021-01-04", periods=3))
    with pytest.raises(ValueError, match=exactly(
        "returns have 1 missing value (NaN gaps), the first on 2021-01-05; compute returns "
        "with to_returns(prices, missing='drop') or drop those dates."
    )):
        fit_returns(returns)


def test_two_prices_are_too_few_for_a_model_not_constant():
    """One return used to be called "constant (every return is 0.0099...)"."""
    prices = pd.Series([100.0, 101.0], index=pd.bdate_range("2021-01-04", periods=2), name="x")
    returns = to_returns(prices)
    assert returns.tolist() == [np.log(1.01)]
    with pytest.raises(ValueError, match=exactly(
        "a mixture of returns needs at least 10 returns; got 1; give a longer series "
        "(n prices give n - 1 returns)."
    )):
        fit_returns(returns)
    with pytest.raises(ValueError, match=exactly(
        "a volatility filter needs at least 50 returns; got 1; give a longer series "
        "(n prices give n - 1 returns)."
    )):
        fit_filtered(returns)


def test_portfolio_weights_that_overflow_or_hold_nothing():
    fitted = fit_returns(to_returns(load_prices("us_indices")).iloc[-500:], 2)
    with pytest.raises(ValueError, match=exactly(
        "portfolio weights 1e+300,1e+300 are too large: the portfolio's variance overflows; "
        "give weights as fractions of the portfolio's value, such as 0.6,0.4."
    )):
        fitted.value_at_risk(0.99, weights=[1e300, 1e300])
    with pytest.raises(ValueError, match=exactly(
        "portfolio weights are all zero: the portfolio holds nothing; give at least one "
        "non-zero weight."
    )):
        fitted.value_at_risk(0.99, weights=[0.0, 0.0])
    with pytest.raises(ValueError, match=exactly(
        "portfolio weights must be finite numbers; got nan,1."
    )):
        fitted.value_at_risk(0.99, weights=[np.nan, 1.0])
    # large but computable weights scale the VaR exactly (VaR is positively homogeneous)
    assert fitted.value_at_risk(0.99, weights=[6e100, 4e100]) == pytest.approx(
        1e100 * fitted.value_at_risk(0.99, weights=[6.0, 4.0]), rel=1e-12)


def test_each_backtest_model_once():
    """models=["normal", "normal"] used to fail with "The truth value of a Series is ambiguous"."""
    returns = to_returns(load_prices("sp500")).iloc[:120]
    with pytest.raises(ValueError, match=exactly(
        "model 'normal' is named twice; give each model once, such as normal,gmm."
    )):
        backtest_var(returns, window=100, models=["normal", "gmm", "normal"])
    with pytest.raises(ValueError, match=exactly(
        "no model given; choose one or more of normal, historical, gmm, filtered-gmm, "
        "garch-normal, garch-t, garch-mixture, gjr-normal, gjr-t, gjr-mixture, "
        "egarch-normal, egarch-t, egarch-mixture, hmm."
    )):
        backtest_var(returns, window=100, models=[])
    one = backtest_var(returns, window=100, models="normal")
    assert one.models == ["normal"]
