"""Fiscal years (年度, 1 April - 31 March): hand-counted days and years."""

from __future__ import annotations

import datetime as dt

import numpy as np

from forestcarbon.core.config import Period
from forestcarbon.methods.fiscal import (
    as_days,
    elapsed_share,
    fiscal_year,
    fiscal_year_days,
    fiscal_year_end,
    fiscal_year_fractions,
    fiscal_year_of,
    fiscal_year_or_never,
    fiscal_year_period,
    fiscal_year_pieces,
    fiscal_years,
)

FY2023 = Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))  # 366 days (29 February 2024)


def test_fiscal_year_of_a_date_turns_on_1_april():
    assert fiscal_year_of(dt.date(2024, 3, 31)) == 2023
    assert fiscal_year_of(dt.date(2024, 4, 1)) == 2024
    assert fiscal_year(["2024-03-31", "2024-04-01", "1990-01-15"]).tolist() == [2023, 2024, 1989]


def test_unknown_dates_are_never():
    dates = np.array(["2015-06-01", "NaT"], dtype="datetime64[ns]")
    assert fiscal_year_or_never(dates).tolist() == [2015, np.iinfo(np.int64).max]


def test_fiscal_year_fractions_by_days():
    assert fiscal_year_fractions(FY2023) == [(2023, 1.0)]
    half = Period(dt.date(2023, 4, 1), dt.date(2023, 9, 30))  # 183 of FY2023's 366 days
    assert fiscal_year_fractions(half) == [(2023, 0.5)]
    across = Period(dt.date(2023, 10, 1), dt.date(2024, 9, 30))
    assert fiscal_year_fractions(across) == [(2023, 183 / 366), (2024, 183 / 365)]


def test_elapsed_share_counts_days_before_or_through_a_day():
    # 2023-10-01 is day 184 of FY2023 (30+31+30+31+31+30 = 183 days before it)
    assert elapsed_share(dt.date(2023, 10, 1), inclusive=False) == (2023, 183 / 366)
    assert elapsed_share(dt.date(2023, 10, 1), inclusive=True) == (2023, 184 / 366)


def test_date_ranges_split_at_1_april():
    assert fiscal_year_days(dt.date(2023, 10, 1), dt.date(2024, 9, 30)) == [
        (2023, 183),
        (2024, 183),
    ]
    assert fiscal_year_days(dt.date(2024, 5, 1), dt.date(2024, 4, 30)) == []
    lo = as_days([dt.date(2022, 1, 1), dt.date(2023, 4, 1)])
    hi = as_days([dt.date(2023, 6, 30), dt.date(2023, 4, 1)])
    index, fy, days = fiscal_year_pieces(lo, hi)
    # 2022-01-01..03-31 = 90 days (FY2021), FY2022 = 365, 2023-04-01..06-30 = 91; then 1 day
    assert index.tolist() == [0, 0, 0, 1]
    assert fy.tolist() == [2021, 2022, 2023, 2023]
    assert days.tolist() == [90, 365, 91, 1]


def test_fiscal_years_of_periods_and_back():
    periods = (Period(dt.date(2022, 4, 1), dt.date(2023, 3, 31)), FY2023)
    assert fiscal_years(periods) == [2022, 2023]
    assert fiscal_year_end(2023) == dt.date(2024, 3, 31)
    assert fiscal_year_period(2023) == FY2023
