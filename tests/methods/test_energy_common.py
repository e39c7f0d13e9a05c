"""The site x period grid and output conventions shared by EN-R-002 and EN-S-004, by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from forestcarbon.core.config import Period
from forestcarbon.methods.emission_factors import EmissionFactors
from forestcarbon.methods.energy_common import (
    FLAGS,
    as_dates,
    blocked_reason,
    factors_of,
    item_period_grid,
    join_flags,
    kwh_out,
    late_reason,
    n_fiscal_years,
    ordered,
    reading_rows,
    sum_by_row,
    tonnes,
)

FY2022 = Period(dt.date(2022, 4, 1), dt.date(2023, 3, 31))
FY2023 = Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))


def test_grid_is_period_major_with_each_rows_period_bounds():
    item, period, starts, ends = item_period_grid(3, (FY2022, FY2023))
    assert item.tolist() == [0, 1, 2, 0, 1, 2]
    assert period.tolist() == [0, 0, 0, 1, 1, 1]
    d = np.datetime64
    assert starts.tolist() == [dt.date(2022, 4, 1)] * 3 + [dt.date(2023, 4, 1)] * 3
    assert ends[0] == d("2023-03-31") and ends[5] == d("2024-03-31")


def test_reading_rows_point_into_the_grid():
    ids = pd.Series(["PV-1", "PV-2", "PV-3"])
    readings = pd.DataFrame(
        {"site_id": ["PV-3", "PV-1", "PV-2"], "period": [FY2022.label, FY2023.label, FY2023.label]}
    )
    # row = period x n_items + item: PV-3 in FY2022 -> 0x3+2 = 2; PV-1 in FY2023 -> 1x3+0 = 3
    rows = reading_rows(readings, ids, "site_id", (FY2022, FY2023))
    assert rows.tolist() == [2, 3, 4]


def test_sum_by_row_adds_values_of_the_same_row_and_pads_to_n():
    # row 1: 2.5 + 4 = 6.5; row 3: 1; rows 0, 2, 4: nothing
    sums = sum_by_row(np.array([1, 3, 1]), [2.5, 1, 4], 5)
    assert sums.tolist() == pytest.approx([0.0, 6.5, 0.0, 1.0, 0.0])


def test_factors_of_maps_fiscal_years_to_their_factor():
    factors = EmissionFactors("national_average", {2013: 0.000570, 2014: 0.000554}, pd.DataFrame())
    values = factors_of(factors, np.array([2014, 2013, 2014]))
    assert values == pytest.approx([0.000554, 0.000570, 0.000554], rel=1e-12)
    assert np.isnan(factors_of(factors, np.array([2015]))).all()


def test_n_fiscal_years_counts_years_with_counted_days():
    # row 0: FY2013 (182 d) + FY2014 (183 d) -> 2; row 1: FY2014 twice -> 1;
    # row 2: FY2013 with 0 days only -> 0; row 3: no pieces -> 0
    rows = np.array([0, 0, 1, 1, 2])
    fy = np.array([2013, 2014, 2014, 2014, 2013])
    days = np.array([182, 183, 30, 60, 0])
    assert n_fiscal_years(rows, fy, days, 4).tolist() == [2, 1, 0, 0]


def test_join_flags_in_the_documented_order():
    flags = {
        "fiscal_year_split": np.array([True, False, True]),
        "estimated": np.array([True, False, False]),
    }
    # FLAGS order puts "estimated" before "fiscal_year_split", whatever the dict order
    assert list(FLAGS).index("estimated") < list(FLAGS).index("fiscal_year_split")
    assert join_flags(flags, 3) == ["estimated;fiscal_year_split", "", "fiscal_year_split"]


def test_as_dates_turns_nat_into_none():
    days = np.array(["2014-03-31", "NaT"], dtype="datetime64[D]")
    assert as_dates(days).tolist() == [dt.date(2014, 3, 31), None]


def test_tonnes_keep_nine_decimals_and_kwh_six():
    # 1 mg = 1e-9 t: 2.0512200004 -> 2.05122; 0.0000000006 -> 0.000000001
    assert tonnes([2.0512200004, 6e-10]).tolist() == [2.05122, 1e-9]
    # binary noise of 30000 x 1.5 hidden; 0.1234567 kWh -> 0.123457
    assert kwh_out([45000.00000000001, 0.1234567]).tolist() == [45000.0, 0.123457]


def test_blocked_reason_with_and_without_detail():
    detail = pd.Series(["国庫補助 2021", None, ""], dtype=object)
    reasons = blocked_reason(detail)
    base = "ineligible: subsidy forbids J-Credit registration (補助金の条件)"
    assert reasons.tolist() == [base + ": 国庫補助 2021", base, base]


def test_late_reason_names_the_eligibility_date():
    eligible_from = np.array(["2024-01-01"], dtype="datetime64[D]")
    text = late_reason(eligible_from, "; joined later")
    assert text.tolist() == [
        "ineligible: not yet in the program in this period (eligible from 2024-01-01; joined later)"
    ]


def test_ordered_sorts_by_period_then_natural_id():
    df = pd.DataFrame(
        {
            "site_id": ["PV-10", "PV-2", "PV-1", "PV-2"],
            "period": [FY2023.label, FY2023.label, FY2023.label, FY2022.label],
        }
    )
    geoms = [Point(i, 0) for i in range(4)]
    gdf = ordered(df, geoms, "EPSG:6673", "site_id")
    assert list(zip(gdf["period"], gdf["site_id"], strict=True)) == [
        (FY2022.label, "PV-2"),
        (FY2023.label, "PV-1"),
        (FY2023.label, "PV-2"),
        (FY2023.label, "PV-10"),  # natural order: 10 after 2
    ]
    # each row keeps its own geometry: PV-10 was the first point (x = 0)
    assert gdf.geometry.x.tolist() == [3.0, 2.0, 1.0, 0.0]
    assert gdf.crs.to_epsg() == 6673


def test_ordered_keeps_an_empty_table():
    empty = pd.DataFrame({"site_id": [], "period": []})
    gdf = ordered(empty, [], "EPSG:6673", "site_id")
    assert len(gdf) == 0 and gdf.crs.to_epsg() == 6673
