"""Kupiec and Christoffersen tests on hand-made hit sequences, against closed forms.

chi-squared survival functions in closed form: 1 d.o.f. erfc(sqrt(x / 2)), 2 d.o.f. exp(-x / 2).
"""

import pytest

pytest.importorskip("pandas", reason="the finance extra: pip install 'gmmkit[finance]'")

from math import erfc, exp, log, sqrt

import numpy as np
from gmmkit_finance import (
    christoffersen_test,
    conditional_coverage_test,
    coverage_summary,
    kupiec_test,
)
from gmmkit_finance.coverage import transition_counts


def test_kupiec_is_zero_when_the_rate_is_exactly_the_promised_one():
    hits = np.zeros(100, dtype=bool)
    hits[37] = True
    test = kupiec_test(hits, 0.99)
    assert test.statistic == pytest.approx(0.0, abs=1e-12)
    assert test.pvalue == pytest.approx(1.0) and test.df == 1 and test.passes()


def test_kupiec_two_hits_in_ten_days_at_90_percent():
    hits = [0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    # -2 [8 log 0.9 + 2 log 0.1 - 8 log 0.8 - 2 log 0.2] = 4 log 2 - 16 log(9 / 8)
    expected = 4 * log(2) - 16 * log(9 / 8)
    test = kupiec_test(hits, 0.90)
    assert test.statistic == pytest.approx(expected, rel=1e-12)
    assert test.pvalue == pytest.approx(erfc(sqrt(expected / 2)), rel=1e-10)


def test_kupiec_without_any_hit():
    test = kupiec_test(np.zeros(500), 0.99)
    assert test.statistic == pytest.approx(-2 * 500 * log(0.99), rel=1e-12)
    assert test.pvalue == pytest.approx(erfc(sqrt(-500 * log(0.99))), rel=1e-10)
    assert not test.passes()  # 0 hits in 500 days at 1% has p = 0.0067


def test_kupiec_rejects_too_many_hits():
    hits = np.zeros(250, dtype=int)
    hits[::25] = 1  # 10 hits where 2.5 are expected
    x, n, p = 10, 250, 0.01
    expected = -2 * ((n - x) * log(1 - p) + x * log(p) - (n - x) * log(1 - x / n)
                     - x * log(x / n))
    test = kupiec_test(hits, 0.99)
    assert test.statistic == pytest.approx(expected, rel=1e-12) and test.pvalue < 1e-3


def test_transition_counts_and_independence_by_hand():
    hits = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    assert transition_counts(hits) == (3, 2, 2, 2)
    pi, pi01, pi11 = 4 / 9, 2 / 5, 1 / 2
    expected = -2 * (5 * log(1 - pi) + 4 * log(pi)
                     - 3 * log(1 - pi01) - 2 * log(pi01) - 2 * log(1 - pi11) - 2 * log(pi11))
    test = christoffersen_test(hits)
    assert test.statistic == pytest.approx(expected, rel=1e-12)
    assert test.pvalue == pytest.approx(erfc(sqrt(expected / 2)), rel=1e-10)


def test_independence_with_isolated_hits_and_with_none():
    # no hit follows a hit: n_11 = 0, so pi_11 = 0 and 0 log 0 counts as 0
    hits = np.zeros(40, dtype=int)
    hits[[5, 15, 25, 35]] = 1
    n00, n01, n10, n11 = transition_counts(hits)
    assert (n00, n01, n10, n11) == (31, 4, 4, 0)
    pi, pi01 = 4 / 39, 4 / 35
    expected = -2 * (35 * log(1 - pi) + 4 * log(pi) - 31 * log(1 - pi01) - 4 * log(pi01))
    assert christoffersen_test(hits).statistic == pytest.approx(expected, rel=1e-12)
    assert christoffersen_test(np.zeros(30)).statistic == pytest.approx(0.0, abs=1e-12)


def test_clustered_hits_fail_independence():
    hits = np.zeros(1000, dtype=int)
    hits[500:510] = 1  # ten hits in a row: the right count, all at once
    assert kupiec_test(hits, 0.99).passes()
    assert not christoffersen_test(hits).passes()
    assert not conditional_coverage_test(hits, 0.99).passes()


def test_conditional_coverage_adds_the_two_statistics_with_two_degrees_of_freedom():
    hits = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    total = kupiec_test(hits, 0.9).statistic + christoffersen_test(hits).statistic
    test = conditional_coverage_test(hits, 0.9)
    assert test.df == 2 and test.statistic == pytest.approx(total, rel=1e-12)
    assert test.pvalue == pytest.approx(exp(-total / 2), rel=1e-10)
    summary = coverage_summary(hits, 0.9)
    assert summary["days"] == 10 and summary["exceedances"] == 4
    assert summary["expected"] == pytest.approx(1.0) and summary["rate"] == 0.4
    assert summary["cc_p"] == test.pvalue and summary["cc_lr"] == test.statistic


def test_bad_hit_sequences():
    with pytest.raises(ValueError, match="exceedances must be 0/1 or booleans"):
        kupiec_test([0, 2, 1], 0.99)
    with pytest.raises(ValueError, match="a 1-D hit sequence of at least 2 days"):
        christoffersen_test([1])
