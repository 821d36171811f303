"""gmmkit_finance dates: one format per column, ambiguous columns refused, never misread."""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

import datetime as dt
import re

import pandas as pd
from click.testing import CliRunner
from gmmkit_finance import load_prices
from gmmkit_finance.dates import CANDIDATE_FORMATS, parse_dates
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gmmkit.cli import build_cli
from gmmkit.plugins import make_plugin_manager


def exactly(message):
    return "^" + re.escape(message) + "$"


def write_csv(path, text):
    path.write_text(text)
    return path


def test_day_first_dates_are_read_day_first_throughout(tmp_path):
    """pandas' format="mixed" read 02/01/2015 as 1 February but 13/01/2015 as 13 January."""
    path = write_csv(tmp_path / "p.csv",
                     "date,p\n02/01/2015,100\n03/01/2015,101\n05/01/2015,102\n13/01/2015,101\n")
    prices = load_prices(path)
    assert [d.date() for d in prices.index] == [
        dt.date(2015, 1, 2), dt.date(2015, 1, 3), dt.date(2015, 1, 5), dt.date(2015, 1, 13)]
    assert prices.tolist() == [100.0, 101.0, 102.0, 101.0]
    month_first = write_csv(tmp_path / "us.csv", "date,p\n01/02/2015,1\n01/13/2015,2\n")
    assert [d.date() for d in load_prices(month_first).index] == [
        dt.date(2015, 1, 2), dt.date(2015, 1, 13)]


def test_ambiguous_dates_are_refused_until_the_format_is_given(tmp_path):
    path = write_csv(tmp_path / "p.csv", "date,p\n02/01/2015,100\n03/01/2015,101\n")
    with pytest.raises(ValueError, match=exactly(
        f"column 'date' is ambiguous: '%d/%m/%Y' reads '02/01/2015' (line 2 of {path}) as "
        "2015-01-02, '%m/%d/%Y' as 2015-02-01; say which with date_format='%d/%m/%Y' or "
        "date_format='%m/%d/%Y' (--date-format '%d/%m/%Y')."
    )):
        load_prices(path)
    assert load_prices(path, date_format="%d/%m/%Y").index[1].date() == dt.date(2015, 1, 3)
    assert load_prices(path, date_format="%m/%d/%Y").index[1].date() == dt.date(2015, 3, 1)
    same = write_csv(tmp_path / "same.csv", "date,p\n01/01/2015,1\n02/02/2015,2\n")
    assert [d.month for d in load_prices(same).index] == [1, 2]  # both readings agree


def test_a_value_the_given_format_does_not_read(tmp_path):
    path = write_csv(tmp_path / "p.csv", "date,p\n02/01/2015,100\n13/01/2015,101\n")
    with pytest.raises(ValueError, match=exactly(
        f"column 'date' has a value that does not match date_format='%m/%d/%Y' (--date-format): "
        f"'13/01/2015' (line 3 of {path}); give the format every date is written in, such as "
        "'%Y-%m-%d' or '%d/%m/%Y'."
    )):
        load_prices(path, date_format="%m/%d/%Y")
    with pytest.raises(ValueError, match=exactly(
        "date_format='%Q' (--date-format) is not a date format: 'Q' is a bad directive in format "
        "'%Q'; write one with strptime codes, such as '%Y-%m-%d' or '%d/%m/%Y'."
    )):
        load_prices(path, date_format="%Q")


def test_the_first_bad_date_and_its_line_counting_blank_lines(tmp_path):
    path = write_csv(tmp_path / "p.csv",
                     "date,p\n\n2015-01-02,1\n2015-01-05,2\n\n2015-02-30,3\n2015-01-07,4\n")
    with pytest.raises(ValueError, match=exactly(
        f"column 'date' has a value that is not a date: '2015-02-30' (line 6 of {path}); use "
        "dates such as 2020-01-31 or 31/01/2020, give their format with date_format='%d/%m/%Y' "
        "(--date-format), or name the date column with date_column= (--date-column)."
    )):
        load_prices(path)
    missing = write_csv(tmp_path / "m.csv", "date,p\n2015-01-02,1\n,2\n")
    with pytest.raises(ValueError, match=exactly(
        f"column 'date' has no date on line 3 of {missing}; give every row a date, or drop that "
        "row."
    )):
        load_prices(missing)


def test_dates_with_times_and_other_separators(tmp_path):
    path = write_csv(tmp_path / "p.csv",
                     "when,p\n13.01.2015 09:30,1\n14.01.2015 16:00,2\n")
    index = load_prices(path, date_column="when").index
    assert list(index) == [pd.Timestamp("2015-01-13 09:30"), pd.Timestamp("2015-01-14 16:00")]
    iso = write_csv(tmp_path / "iso.csv", "date,p\n2015-01-13T09:30:00.250,1\n")
    assert load_prices(iso).index[0] == pd.Timestamp("2015-01-13 09:30:00.250")


def test_a_csv_without_a_date_column_says_so(tmp_path):
    """It used to read prices as epoch times: "duplicated dates: 1970-01-01 appears 16 times"."""
    path = write_csv(tmp_path / "p.csv", "p,q\n100,1\n101,2\n102,3\n")
    with pytest.raises(ValueError, match=exactly(
        f"{path} has no date column: the first column, 'p', holds '100', not a date; add a "
        "column of dates named date, or name the date column with date_column= (--date-column)."
    )):
        load_prices(path)
    tickers = write_csv(tmp_path / "t.csv", "name,p\nAAPL,1\nMSFT,2\n")
    with pytest.raises(ValueError, match="t.csv has no date column: the first column, 'name', "
                                         "holds 'AAPL', not a date"):
        load_prices(tickers)


def test_empty_and_header_only_files(tmp_path):
    empty = write_csv(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match=exactly(
        f"{empty} is empty; give a CSV with a header line, then a date and one or more prices "
        "on each line."
    )):
        load_prices(empty)
    header = write_csv(tmp_path / "header.csv", "date,p\n")
    with pytest.raises(ValueError, match=exactly(
        f"{header} has a header line but no prices; give a date and one or more prices on each "
        "line after it."
    )):
        load_prices(header)


def test_cli_date_format_option(tmp_path):
    cli = build_cli(make_plugin_manager())
    path = write_csv(tmp_path / "p.csv", "date,p\n02/01/2015,100\n03/01/2015,101\n"
                                         "05/01/2015,102\n06/01/2015,101\n")
    args = ["finance", "var", str(path), "--model", "historical", "--json"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: column 'date' is ambiguous: ")
    assert "(--date-format '%d/%m/%Y')" in refused.output
    day_first = CliRunner().invoke(cli, [*args, "--date-format", "%d/%m/%Y"])
    assert day_first.exit_code == 0, day_first.output
    assert '"as_of": "2015-01-06"' in day_first.stdout
    month_first = CliRunner().invoke(cli, [*args, "--date-format", "%m/%d/%Y"])
    assert '"as_of": "2015-06-01"' in month_first.stdout
    no_dates = write_csv(tmp_path / "n.csv", "p,q\n100,1\n101,2\n102,3\n")
    result = CliRunner().invoke(cli, ["finance", "var", str(no_dates)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {no_dates} has no date column")


def _resolution(date_format):
    for code, unit in (("%f", "us"), ("%S", "s"), ("%M", "min")):
        if code in date_format:
            return unit
    return "D"


@settings(max_examples=100, deadline=None)
@example(date_format="%m/%d/%Y %H:%M%z", stamps=[dt.datetime(2000, 1, 2)])  # drawn once
@given(
    date_format=st.sampled_from(CANDIDATE_FORMATS),
    stamps=st.lists(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 12, 31)),
                    min_size=1, max_size=25),
)
def test_dates_in_any_format_and_order_read_back_or_are_refused_as_ambiguous(date_format,
                                                                               stamps):
    stamps = pd.DatetimeIndex(stamps).floor(_resolution(date_format))
    if "%z" in date_format:  # a naive stamp would be written without its offset
        stamps = stamps.tz_localize("UTC")
    text = [stamp.strftime(date_format) for stamp in stamps]
    try:
        parsed = parse_dates(text)
    except ValueError as error:
        # refused only when day-first and month-first both read every date, differently
        assert "is ambiguous" in str(error) and "--date-format" in str(error)
        assert date_format[:8] in ("%d/%m/%Y", "%m/%d/%Y")
        assert all(stamp.day <= 12 and stamp.month <= 12 for stamp in stamps)
        assert any(stamp.day != stamp.month for stamp in stamps)
        assert list(parse_dates(text, date_format=date_format)) == list(stamps)
        return
    assert list(parsed) == list(stamps)


def test_dates_with_a_utc_offset(tmp_path):
    """Files written from tz-aware pandas indexes keep loading; mixed offsets are refused."""
    path = write_csv(tmp_path / "p.csv", "date,p\n2020-01-02 00:00:00-05:00,1\n"
                                         "2020-01-03 00:00:00-05:00,2\n")
    index = load_prices(path).index
    assert str(index.tz) == "UTC-05:00" and index[1].date() == dt.date(2020, 1, 3)
    mixed = write_csv(tmp_path / "m.csv", "date,p\n2020-03-06 00:00:00-05:00,1\n"
                                          "2020-03-09 00:00:00-04:00,2\n")
    with pytest.raises(ValueError, match=exactly(
        "column 'date' has dates with different UTC offsets (-05:00, -04:00); they are read "
        "with one offset per column: write the dates in one time zone, or without offsets."
    )):
        load_prices(mixed)
