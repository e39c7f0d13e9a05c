"""FO-001 conservative accounting on hand-worked numbers: project boundary, plan validity, the day
eligibility is earned, the treated-area rule (FO-001.md §3).

Every case uses a 1993 sugi stand of site class 2 in FY2023 (age 31): V(31) = 300 + (350 - 300)
/ 5 = 310 and V(30) = 300 m3/ha, so 1 ha grows 10 m3 and removes 10 x SUGI_OLD t-CO2 in the year.
FY2023 runs 2023-04-01..2024-03-31 = 366 days (February 2024 has 29).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forestcarbon.core.config import FO001Settings
from forestcarbon.methods.eligibility import overlap_days
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.methods.totals import fo001_summary
from tests.methods.test_fo001 import FY2023, SUGI, SUGI_OLD, THIN_2010, ops, stands

YEAR = 10 * SUGI_OLD  # t-CO2 of 1 ha in FY2023 (9.0278925)


def plans(*rows):
    return pd.DataFrame(rows, columns=["plan_id", "start", "end"])


def run(st, op, *, plan_table=None, **settings):
    return compute_fo001(st, op, SUGI, (FY2023,), FO001Settings(**settings), plans=plan_table)


def test_overlap_days_counts_both_ends():
    # 2023-10-01..2024-03-31: 31 + 30 + 31 + 31 + 29 + 31 = 183 days
    d = overlap_days(
        dt.date(2023, 4, 1),
        dt.date(2024, 3, 31),
        np.datetime64("2023-10-01"),
        np.datetime64("2030-01-01"),
    )
    assert d == 183


def test_harvest_on_an_ineligible_stand_is_an_emission():
    # planted stand in plan P1 without qualifying work: no removals, but its felling of
    # 1 ha at age 31 emits V(31) x factor = 310 x 0.90278925 = 279.8646675 t-CO2
    st = stands({"stand_id": "a"})
    op = ops({"stand_id": "a", "date": dt.date(2023, 6, 1), "operation": "final_harvest"})
    r = run(st, op)
    assert not r.loc[0, "eligible"]
    assert r.loc[0, "in_boundary"]
    assert r.loc[0, "removals_tco2"] == 0
    assert r.loc[0, "emissions_tco2"] == pytest.approx(279.8646675, abs=1e-6)
    assert r.loc[0, "net_tco2"] == pytest.approx(-279.8646675, abs=1e-6)
    assert "still booked as emissions" in r.loc[0, "reason"]
    row = fo001_summary(r, 0.0)[0]
    assert float(row["total_tco2"]) == pytest.approx(-279.8646675, abs=1e-6)
    assert row["credits_t"] == 0
    assert row["n_activities"] == 1


def test_felling_outside_every_plan_is_outside_the_boundary():
    st = stands({"stand_id": "a", "plan_id": ""})
    op = ops({"stand_id": "a", "date": dt.date(2023, 6, 1), "operation": "final_harvest"})
    r = run(st, op)
    assert r.loc[0, "emissions_tco2"] == 0
    assert "outside the project boundary" in r.loc[0, "reason"]


def test_a_felling_debits_the_eligible_neighbour_total():
    # eligible stand b (1 ha, 9.0278925) and ineligible stand a felled (279.8646675):
    # the program total is 9.0278925 - 279.8646675 = -270.836775
    st = stands({"stand_id": "a"}, {"stand_id": "b"})
    op = ops(
        {"stand_id": "a", "date": dt.date(2023, 6, 1), "operation": "final_harvest"},
        {"stand_id": "b", **THIN_2010},
    )
    row = fo001_summary(run(st, op), 0.0)[0]
    assert float(row["total_tco2"]) == pytest.approx(-270.836775, abs=1e-6)


def test_thinning_in_the_middle_of_the_period_counts_from_its_date():
    # first qualifying work on 2023-10-01: 183 of 366 days -> 9.0278925 x 183/366 = 4.51394625
    st = stands({"stand_id": "a"})
    op = ops({"stand_id": "a", "date": dt.date(2023, 10, 1), "operation": "thinning"})
    r = run(st, op)
    assert r.loc[0, "eligible"]
    assert r.loc[0, "counted_days"] == 183
    assert r.loc[0, "removals_tco2"] == pytest.approx(4.51394625, abs=1e-9)
    assert "eligible from 2023-10-01" in r.loc[0, "reason"]
    assert "eligible_from_in_period" in r.loc[0, "flags"]


def test_a_plan_lapsing_in_the_period_counts_its_days_only():
    # plan in force until 2023-09-30: 2023-04-01..09-30 = 30+31+30+31+31+30 = 183 days
    st = stands({"stand_id": "a"})
    op = ops({"stand_id": "a", **THIN_2010})
    table = plans(("P1", dt.date(2018, 10, 1), dt.date(2023, 9, 30)))
    r = run(st, op, plan_table=table)
    assert r.loc[0, "counted_days"] == 183
    assert r.loc[0, "removals_tco2"] == pytest.approx(YEAR * 183 / 366, abs=1e-9)
    assert "plan 'P1' in force 2018-10-01..2023-09-30" in r.loc[0, "reason"]
    assert "plan_partly_in_force" in r.loc[0, "flags"]
    assert r.loc[0, "counted_to"] == "2023-09-30"


def test_a_lapsed_plan_earns_nothing_but_fellings_still_count():
    st = stands({"stand_id": "a"}, {"stand_id": "b", "plan_id": "P9"})
    op = ops(
        {"stand_id": "a", **THIN_2010},
        {"stand_id": "b", **THIN_2010},
        {
            "stand_id": "a",
            "date": dt.date(2023, 6, 1),
            "operation": "final_harvest",
            "area_ha": 0.5,
        },
    )
    table = plans(("P1", dt.date(2018, 4, 1), dt.date(2023, 3, 31)))
    r = run(st, op, plan_table=table).set_index("stand_id")
    assert not r.loc["a", "eligible"]
    assert "lapsed on 2023-03-31" in r.loc["a", "reason"]
    # half the stand felled at age 31: 0.5 x 310 x 0.90278925 = 139.93233375
    assert r.loc["a", "emissions_tco2"] == pytest.approx(139.93233375, abs=1e-6)
    assert not r.loc["b", "eligible"]
    assert "plan 'P9' is not in plans.csv" in r.loc["b", "reason"]


def test_without_plans_every_stand_in_a_plan_is_flagged():
    st = stands({"stand_id": "a"}, {"stand_id": "b", "plan_id": ""})
    op = ops({"stand_id": "a", **THIN_2010})
    r = run(st, op).set_index("stand_id")
    assert "plan_dates_unknown" in r.loc["a", "flags"]
    assert "plan_dates_unknown" not in r.loc["b", "flags"]
    assert r.loc["a", "removals_tco2"] == pytest.approx(YEAR, abs=1e-9)


def test_register_area_smaller_than_the_polygon_is_not_scaled_up():
    # polygon 4 ha, register 2 ha, thinning of 2 ha (the whole stand in register terms):
    # counted min(4, 2) = 2 ha -> 2 x 9.0278925 = 18.055785 (it used to become 4 ha)
    st = stands({"stand_id": "a", "stand_area_ha": 4.0, "area_ha": 2.0})
    op = ops({"stand_id": "a", **THIN_2010, "area_ha": 2.0})
    r = run(st, op)
    assert r.loc[0, "eligible_area_ha"] == 2.0
    assert r.loc[0, "removals_tco2"] == pytest.approx(18.055785, abs=1e-9)


def test_two_thinnings_of_the_same_ground_count_once():
    # 4 ha stand, 1.5 ha thinned in 2015 and again in 2018: max -> 1.5 ha = 13.54183875;
    # sum (the officer states the areas are disjoint) -> 3 ha = 27.0836775
    st = stands({"stand_id": "a", "stand_area_ha": 4.0})
    op = ops(
        {"stand_id": "a", "date": dt.date(2015, 6, 1), "operation": "thinning", "area_ha": 1.5},
        {"stand_id": "a", "date": dt.date(2018, 6, 1), "operation": "thinning", "area_ha": 1.5},
    )
    assert run(st, op).loc[0, "removals_tco2"] == pytest.approx(13.54183875, abs=1e-9)
    summed = run(st, op, treated_area_sum="sum")
    assert summed.loc[0, "removals_tco2"] == pytest.approx(27.0836775, abs=1e-9)
