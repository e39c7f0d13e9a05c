"""The FO-001 engine on a synthetic register of a few thousand stands against hand-derived values.

Chosen stands (thinning, partial treated area, a plan starting mid-period, final harvest and
replanting, outside any plan, held by canopy evidence, natural forest, bamboo, a lapsed plan, work
first recorded inside the period) sit among ~3,000 random filler stands, in shuffled order. Their
results are worked out by hand below; the filler checks that a stand's result does not depend on
the rest of the register (each sampled stand computed alone gives the same row) nor on the
register's order, so that speeding up the vectorised engine cannot silently change a result.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
import pytest

from forestcarbon.core.config import FO001Settings, Period
from forestcarbon.methods import eligibility as eligibility_module
from forestcarbon.methods import text as text_module
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.methods.growth import build_yield_table
from forestcarbon.methods.holds import hold_flagged
from forestcarbon.methods.text import render_joined
from forestcarbon.methods.totals import fo001_summary

FY2022 = Period(dt.date(2022, 4, 1), dt.date(2023, 3, 31))
FY2023 = Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))  # 366 days (29 Feb 2024)

# sugi site 2; whole ages linear between: V(a) = 5a to 10, 50 + 15(a-10) to 20, 200 + 10(a-20)
# to 30, 300 + 8(a-30) to 40, 380 + 3.5(a-40) to 60, flat 450 after
YIELDS = build_yield_table(
    pd.DataFrame(
        {
            "species": "sugi",
            "site_class": 2,
            "age": [10, 20, 30, 40, 60],
            "volume_m3_ha": [50.0, 200.0, 300.0, 380.0, 450.0],
            "source": "hand-made",
        }
    )
)
# sugi t-CO2 per m3: D 0.314 x BEF x (1 + R 0.25) x CF 0.51 x 44/12
K_OLD = 0.90278925  # BEF 1.23 (age >= 21): 0.314 x 1.23 = 0.38622, x 1.25 x 0.51 x 44/12
K_YOUNG = 1.15234075  # BEF 1.57 (age <= 20): 0.314 x 1.57 = 0.49298, x 1.25 x 0.51 x 44/12

PLANS = pd.DataFrame(
    {
        "plan_id": ["P1", "P2", "P3"],
        "start": [dt.date(2021, 4, 1), dt.date(2023, 10, 1), dt.date(2016, 4, 1)],
        "end": [dt.date(2026, 3, 31), dt.date(2028, 9, 30), dt.date(2021, 3, 31)],
    }
)
SINCE = "since 1990-04-01"
BOUNDARY = "; final harvests are still booked as emissions (project boundary)"


def _stand(sid, planted, area, plan="P1", forest="planted", protected=False, species="sugi"):
    return {
        "stand_id": sid,
        "species": species,
        "planted_year": planted,
        "site_class": 2,
        "forest_type": forest,
        "protected": protected,
        "plan_id": plan,
        "stand_area_ha": area,
    }


def _op(sid, date, operation, area=np.nan):
    return {"stand_id": sid, "date": date, "operation": operation, "area_ha": area}


THIN = dt.date(2015, 6, 1)
CHOSEN = [
    _stand("1-1-1", 1994, 2.0),  # age 30 in FY2023
    _stand("1-1-2", 2003, 1.0),  # age 21: crosses 20 -> 21
    _stand("1-1-3", 1994, 2.0),  # thinned on 1.2 ha only
    _stand("1-1-4", 1994, 2.0, plan="P2"),  # plan in force from 2023-10-01
    _stand("1-1-5", 1963, 2.0),  # age 61: felled 2023-06-01, replanted 2023-11-01
    _stand("1-1-6", 1963, 2.0, plan=""),  # felled, outside any plan
    _stand("1-1-7", 1994, 2.0),  # as 1-1-1, then held by canopy evidence
    _stand("1-1-8", 1994, 3.0, forest="natural", protected=True),  # 保安林, no work needed
    _stand("1-1-9", 1994, 1.0, species="bamboo"),
    _stand("1-1-10", 1994, 2.0, plan="P3"),  # plan lapsed 2021-03-31
    _stand("1-1-11", 1994, 2.0),  # first work (weeding) on 2023-10-01
]
CHOSEN_OPS = [
    _op("1-1-1", THIN, "thinning"),
    _op("1-1-2", THIN, "thinning"),
    _op("1-1-3", THIN, "thinning", 1.2),
    _op("1-1-4", THIN, "thinning"),
    _op("1-1-5", THIN, "thinning"),
    _op("1-1-5", dt.date(2023, 6, 1), "final_harvest"),
    _op("1-1-5", dt.date(2023, 11, 1), "replanting"),
    _op("1-1-6", THIN, "thinning"),
    _op("1-1-6", dt.date(2023, 6, 1), "final_harvest"),
    _op("1-1-7", THIN, "thinning"),
    _op("1-1-10", THIN, "thinning"),
    _op("1-1-11", dt.date(2023, 10, 1), "weeding"),
]


def register(n_filler: int = 3000, seed: int = 15):
    """The chosen stands among random filler stands (thinnings with and without area, weeding,
    whole and partial final harvests with replanting, several plans), shuffled."""
    rng = np.random.default_rng(seed)
    filler, ops = [], []
    for i in range(n_filler):
        sid = f"{2 + i // 500}-{rng.integers(1, 60)}-{i}"
        planted = int(rng.integers(1935, 2021))
        area = round(float(rng.uniform(0.1, 6.0)), int(rng.integers(2, 5)))
        plan = str(rng.choice(["P1", "P1", "P2", "P3", "", "PX"]))
        filler.append(_stand(sid, planted, area, plan=plan))
        for _ in range(int(rng.integers(0, 3))):
            day = dt.date(2005, 1, 1) + dt.timedelta(days=int(rng.integers(0, 19 * 365)))
            kind = str(rng.choice(["thinning", "weeding", "pruning"]))
            treated = np.nan if rng.random() < 0.5 else round(float(rng.uniform(0.1, 5)), 2)
            ops.append(_op(sid, day, kind, treated))
        if planted < 2015 and rng.random() < 0.15:
            felled = dt.date(2022, 4, 1) + dt.timedelta(days=int(rng.integers(0, 700)))
            part = np.nan if rng.random() < 0.6 else round(area * 0.4, 2)
            ops.append(_op(sid, felled, "final_harvest", part))
            ops.append(_op(sid, felled + dt.timedelta(days=90), "replanting", part))
    stands = pd.DataFrame(CHOSEN + filler)
    stands = stands.iloc[rng.permutation(len(stands))].reset_index(drop=True)
    operations = pd.DataFrame(CHOSEN_OPS + ops)
    operations = operations.iloc[rng.permutation(len(operations))].reset_index(drop=True)
    operations["volume_m3"] = np.nan
    operations["source_row"] = np.arange(len(operations)) + 2
    return stands, operations


@pytest.fixture(scope="module")
def fy2023():
    stands, operations = register()
    result = compute_fo001(stands, operations, YIELDS, (FY2023,), FO001Settings(), plans=PLANS)
    return stands, operations, result.set_index("stand_id")


def test_a_thinned_stand_grows_its_increment(fy2023):
    r = fy2023[2].loc["1-1-1"]
    # age 2023 - 1994 + 1 = 30: dV = V(30) - V(29) = 300 - 290 = 10 m3/ha; 2.0 ha x 10 x K_OLD
    assert r["removals_tco2"] == pytest.approx(18.055785, rel=1e-12)
    assert r["net_tco2"] == pytest.approx(18.055785, rel=1e-12)
    assert (r["age_start"], r["age_end"]) == (30, 30)
    assert (r["volume_start_m3_ha"], r["volume_end_m3_ha"]) == (290.0, 300.0)
    # window: plan P1 from 2021-04-01 (the thinning of 2015 is earlier) to 2026-03-31
    assert (r["counted_from"], r["counted_to"], r["counted_days"]) == (
        "2021-04-01",
        "2026-03-31",
        366,
    )
    assert r["reason"] == (
        f"eligible: planted forest (人工林) with 1 qualifying operation(s) {SINCE}, "
        "last thinning (間伐) 2015-06-01; counted 2.00 of 2.00 ha"
    )
    assert r["flags"] == "treated_area_assumed"


def test_age_20_to_21_takes_the_older_bef(fy2023):
    r = fy2023[2].loc["1-1-2"]
    # age 21: dV = V(21) - V(20) = 210 - 200 = 10; BEF of age 21 (1.23): 1.0 ha x 10 x K_OLD
    assert r["removals_tco2"] == pytest.approx(9.0278925, rel=1e-12)
    assert r["flags"] == "age_20_to_21;treated_area_assumed"


def test_only_the_treated_area_counts(fy2023):
    r = fy2023[2].loc["1-1-3"]
    # thinned on 1.2 of 2.0 ha: 1.2 x 10 x K_OLD
    assert r["removals_tco2"] == pytest.approx(10.833471, rel=1e-12)
    assert r["eligible_area_ha"] == 1.2
    assert r["reason"].endswith("counted 1.20 of 2.00 ha")
    assert r["flags"] == "partial_treated_area"


def test_a_plan_starting_mid_period_counts_its_days(fy2023):
    r = fy2023[2].loc["1-1-4"]
    # P2 from 2023-10-01: 31 + 30 + 31 + 31 + 29 + 31 = 183 of 366 days: 18.055785 x 183 / 366
    assert r["counted_days"] == 183
    assert r["removals_tco2"] == pytest.approx(9.0278925, rel=1e-12)
    assert r["reason"] == (
        f"eligible: planted forest (人工林) with 1 qualifying operation(s) {SINCE}, "
        "last thinning (間伐) 2015-06-01; counted 2.00 of 2.00 ha; removals for 183 of 366 days "
        "(plan 'P2' in force 2023-10-01..2028-09-30)"
    )
    assert r["flags"] == "treated_area_assumed;plan_partly_in_force"


def test_final_harvest_and_replanting(fy2023):
    r = fy2023[2].loc["1-1-5"]
    # felled at age 61 (flat beyond 60: V = 450): 2.0 x 450 x K_OLD = 812.510325 t emitted;
    # the new crop (FY2023, age 1): dV = V(1) - V(0) = 5, BEF 1.57: 2.0 x 5 x K_YOUNG
    assert r["emissions_tco2"] == pytest.approx(812.510325, rel=1e-12)
    assert r["removals_tco2"] == pytest.approx(11.5234075, rel=1e-12)
    assert r["net_tco2"] == pytest.approx(11.5234075 - 812.510325, rel=1e-12)
    # at the start the old crop stands (V(60) = 450); at the end the new one (V(1) = 5)
    assert (r["volume_start_m3_ha"], r["volume_end_m3_ha"]) == (450.0, 5.0)
    assert (r["age_start"], r["age_end"]) == (1, 1)
    assert r["reason"] == (
        f"eligible: planted forest (人工林) with 2 qualifying operation(s) {SINCE}, "
        "last replanting (再造林) 2023-11-01; counted 2.00 of 2.00 ha"
    )
    assert r["flags"] == "harvested;replanted;treated_area_assumed;net_negative"


def test_felling_outside_any_plan_is_not_counted(fy2023):
    r = fy2023[2].loc["1-1-6"]
    assert not r["in_boundary"] and not r["eligible"]
    assert (r["removals_tco2"], r["emissions_tco2"], r["net_tco2"]) == (0.0, 0.0, 0.0)
    # the whole stand's balance still shows the felled stock: 0 - 2.0 x 450 x K_OLD
    assert r["gross_net_tco2"] == pytest.approx(-812.510325, rel=1e-12)
    assert r["reason"].startswith("ineligible: outside any forest management plan")
    assert r["flags"] == "harvested;felled_not_replanted"


def test_natural_forest_bamboo_and_lapsed_plan(fy2023):
    res = fy2023[2]
    # protected natural forest: no work needed; 3.0 ha x 10 x K_OLD
    assert res.loc["1-1-8", "removals_tco2"] == pytest.approx(27.0836775, rel=1e-12)
    assert res.loc["1-1-8", "reason"] == (
        "eligible: natural forest (天然生林) under legal protection (保安林 etc.)"
    )
    assert res.loc["1-1-9", "removals_tco2"] == 0.0
    assert res.loc["1-1-9", "reason"] == (
        "ineligible: bamboo (タケ) earns no removals under FO-001" + BOUNDARY
    )
    assert res.loc["1-1-10", "removals_tco2"] == 0.0
    assert res.loc["1-1-10", "reason"] == (
        "ineligible: plan 'P3' lapsed on 2021-03-31 (計画期間満了), before this period" + BOUNDARY
    )


def test_work_first_recorded_inside_the_period(fy2023):
    r = fy2023[2].loc["1-1-11"]
    # eligible from the weeding of 2023-10-01: 183 of 366 days of 2.0 x 10 x K_OLD
    assert r["removals_tco2"] == pytest.approx(9.0278925, rel=1e-12)
    assert r["reason"] == (
        f"eligible: planted forest (人工林) with 1 qualifying operation(s) {SINCE}, "
        "last weeding (下刈) 2023-10-01; counted 2.00 of 2.00 ha; removals for 183 of 366 days "
        "(eligible from 2023-10-01 (first qualifying operation))"
    )
    assert r["flags"] == "treated_area_assumed;eligible_from_in_period"


def test_a_canopy_flagged_stand_is_held(fy2023):
    _, operations, res = fy2023
    fo = res.reset_index()
    flagged = fo["stand_id"].eq("1-1-7")
    fo.loc[flagged, "flags"] = fo.loc[flagged, "flags"] + ";canopy_below_expected"
    held = hold_flagged(fo, operations, pd.DataFrame({"decision": []}), FO001Settings())
    r = held.set_index("stand_id").loc["1-1-7"]
    # the removals of 1-1-1's twin (2.0 x 10 x K_OLD) move to held_tco2
    assert r["held_tco2"] == pytest.approx(18.055785, rel=1e-12)
    assert (r["removals_tco2"], r["net_tco2"]) == (0.0, 0.0)
    assert r["flags"] == "treated_area_assumed;canopy_below_expected;held"
    assert held["held_tco2"].sum() == pytest.approx(18.055785, rel=1e-12)


def test_two_periods_before_and_after_the_harvest():
    stands, operations = register(n_filler=200, seed=2)
    res = compute_fo001(
        stands, operations, YIELDS, (FY2022, FY2023), FO001Settings(), plans=PLANS
    ).set_index(["period", "stand_id"])
    # FY2022: the old crop (age 60) still grows V(60) - V(59) = 450 - 446.5 = 3.5: 2 x 3.5 x K_OLD
    assert res.loc[(FY2022.label, "1-1-5"), "removals_tco2"] == pytest.approx(6.31952475)
    assert res.loc[(FY2022.label, "1-1-5"), "emissions_tco2"] == 0.0
    assert res.loc[(FY2023.label, "1-1-5"), "emissions_tco2"] == pytest.approx(812.510325)


def test_a_stand_computed_alone_gives_the_same_row(fy2023):
    stands, operations, res = fy2023
    sample = [*stands["stand_id"].sample(40, random_state=1).tolist(), "1-1-5", "1-1-11"]
    for sid in sample:
        one = compute_fo001(
            stands[stands["stand_id"] == sid],
            operations[operations["stand_id"] == sid],
            YIELDS,
            (FY2023,),
            FO001Settings(),
            plans=PLANS,
        )
        pd.testing.assert_frame_equal(
            one.set_index("stand_id"), res.loc[[sid]], check_exact=True, check_index_type=False
        )


def test_the_register_order_changes_nothing(fy2023):
    stands, operations, res = fy2023
    shuffled = compute_fo001(
        stands.iloc[::-1], operations.iloc[::-1], YIELDS, (FY2023,), FO001Settings(), plans=PLANS
    )
    pd.testing.assert_frame_equal(shuffled.set_index("stand_id"), res, check_exact=True)
    total = fo001_summary(res.reset_index(), 0.0)[0]
    assert total == {**fo001_summary(shuffled, 0.0)[0], "activity_ids": total["activity_ids"]}


def test_reasons_are_the_same_joined_piece_by_piece(fy2023, monkeypatch):
    # the reasons of many distinct stands are rendered piece by piece and joined: same text
    stands, operations, res = fy2023
    monkeypatch.setattr(
        eligibility_module, "render_joined", functools.partial(render_joined, limit=0)
    )
    again = compute_fo001(stands, operations, YIELDS, (FY2023,), FO001Settings(), plans=PLANS)
    pd.testing.assert_frame_equal(again.set_index("stand_id"), res, check_exact=True)


def test_the_same_without_pyarrow(fy2023, monkeypatch):
    # text pieces joined on numpy object arrays, ids ordered the general (Python) way
    stands, operations, res = fy2023
    monkeypatch.setattr(text_module, "pa", None)
    monkeypatch.setattr(text_module, "pc", None)
    again = compute_fo001(stands, operations, YIELDS, (FY2023,), FO001Settings(), plans=PLANS)
    pd.testing.assert_frame_equal(again.set_index("stand_id"), res, check_exact=True)
