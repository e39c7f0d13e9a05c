"""FO-001 engine: worked examples of FO-001.md §5, eligibility rules, settings, time rules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forestcarbon.core.config import FO001Settings, Period
from forestcarbon.core.exceptions import InputError
from forestcarbon.core.params import species_parameters
from forestcarbon.methods.fo001 import carbon_tco2, compute_fo001
from forestcarbon.methods.growth import build_yield_table

FY2022 = Period(dt.date(2022, 4, 1), dt.date(2023, 3, 31))
FY2023 = Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))
C = 44 / 12
SUGI_OLD = 0.314 * 1.23 * 1.25 * 0.51 * C  # t-CO2/m3, age >= 21 (0.90278925)
SUGI_YOUNG = 0.314 * 1.57 * 1.25 * 0.51 * C  # age <= 20


def table(rows):
    """Yield table from (species, site_class, age, volume) tuples."""
    df = pd.DataFrame(rows, columns=["species", "site_class", "age", "volume_m3_ha"])
    df["source"] = "hand-made"
    return build_yield_table(df)


SUGI = table(
    [
        ("sugi", 2, 20, 200),
        ("sugi", 2, 25, 240),
        ("sugi", 2, 30, 300),
        ("sugi", 2, 35, 350),
        ("sugi", 2, 40, 450),
    ]
)


def stands(*rows):
    base = {
        "species": "sugi",
        "planted_year": 1993,
        "site_class": 2,
        "forest_type": "planted",
        "protected": False,
        "plan_id": "P1",
        "stand_area_ha": 1.0,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def ops(*rows):
    cols = {"area_ha": np.nan, "volume_m3": np.nan}
    df = pd.DataFrame(
        [{**cols, **r} for r in rows],
        columns=["stand_id", "date", "operation", "area_ha", "volume_m3"],
    )
    df["source_row"] = np.arange(len(df)) + 2
    return df


THIN_2010 = {"date": dt.date(2010, 6, 1), "operation": "thinning"}


def run(st, op=None, periods=(FY2023,), yields=SUGI, **settings):
    op = op if op is not None else ops(*({"stand_id": s, **THIN_2010} for s in st["stand_id"]))
    return compute_fo001(st, op, yields, periods, FO001Settings(**settings))


# --- worked examples (FO-001.md §5) -------------------------------------------------------------


def test_the_equation_on_the_worked_example_1():
    # FO-001.md §5 example 1: 10 ha of sugi growing 10 m3/ha; D 0.314, BEF 1.23, R 0.25, CF 0.51
    assert carbon_tco2(10.0, 10.0, 0.314, 1.23, 0.25, 0.51) == pytest.approx(90.2789, abs=1e-4)
    # elementwise over cohorts; a recorded whole volume of 96 m3 is A = 1, V = 96
    out = carbon_tco2(np.array([1.0, 2.0]), np.array([96.0, 0.0]), 0.407, 1.24, 0.26, 0.5)
    assert out == pytest.approx([96 * 0.407 * 1.24 * 1.26 * 0.5 * 44 / 12, 0.0])


def test_example_1_sugi_10_ha_age_30_to_31():
    r = run(stands({"stand_id": "a", "stand_area_ha": 10.0}))  # FY2023: age 2023-1993+1 = 31
    assert r.loc[0, "age_end"] == 31
    assert r.loc[0, "removals_tco2"] == pytest.approx(90.2789, abs=1e-4)
    assert r.loc[0, "volume_start_m3_ha"] == pytest.approx(300.0)
    assert r.loc[0, "volume_end_m3_ha"] == pytest.approx(310.0)


def test_example_1_with_simple_carbon_fraction():
    r = run(stands({"stand_id": "a", "stand_area_ha": 10.0}), carbon_fraction="simple")
    assert r.loc[0, "removals_tco2"] == pytest.approx(88.5088, abs=1e-4)


def test_example_2_published_hinoki():
    # Published: 9.6 m3 x 1.56 x 0.407 x 0.5 x 44/12 = 11.17, where 1.56 is BEF (1.24) x (1 + R
    # 0.26) = 1.5624 rounded. The engine uses the unrounded factors: 11.19180 by hand.
    p = species_parameters("simple").loc["hinoki"]
    assert p["bef_ge21"] * (1 + p["root_ratio"]) == pytest.approx(1.56, abs=0.005)
    yields = table([("hinoki", 2, 30, 300.0), ("hinoki", 2, 40, 396.0)])  # 9.6 m3/ha/yr
    r = run(stands({"stand_id": "h", "species": "hinoki"}), yields=yields, carbon_fraction="simple")
    # by hand: 9.6 x 0.407 = 3.9072; x 1.24 = 4.844928; x 1.26 = 6.10460928; x 0.5 = 3.05230464;
    # x 44/12 = 11.19178368 (the published 11.17 rounds BEF x (1+R) to 1.56 first)
    assert r.loc[0, "removals_tco2"] == pytest.approx(11.19178368, abs=1e-8)
    assert r.loc[0, "removals_tco2"] == pytest.approx(11.17, abs=0.03)


def test_example_3_age_20_to_21_both_conventions():
    st = stands({"stand_id": "y", "planted_year": 2003})  # FY2023: age 21, v(20)=200, v(21)=208
    inc = run(st, bef_convention="increment")
    assert inc.loc[0, "removals_tco2"] == pytest.approx(7.2223, abs=1e-4)
    diff = run(st, bef_convention="stock_difference")
    assert diff.loc[0, "removals_tco2"] == pytest.approx(-42.6880, abs=1e-4)
    for r in (inc, diff):
        assert "age_20_to_21" in r.loc[0, "flags"]


def test_example_4_final_harvest_emission():
    st = stands({"stand_id": "h", "planted_year": 1984})  # FY2023: age 40, v = 450
    op = ops(
        {"stand_id": "h", **THIN_2010},
        {
            "stand_id": "h",
            "date": dt.date(2023, 10, 1),
            "operation": "final_harvest",
            "area_ha": 1.0,
        },
    )
    r = run(st, op)
    assert r.loc[0, "emissions_tco2"] == pytest.approx(406.2552, abs=1e-4)
    assert r.loc[0, "removals_tco2"] == 0.0  # felled area earns no removal in the harvest year
    assert r.loc[0, "net_tco2"] == pytest.approx(-406.2552, abs=1e-4)
    assert {"harvested", "felled_not_replanted", "net_negative"} <= set(
        r.loc[0, "flags"].split(";")
    )


# --- eligibility (FO-001.md §3) --------------------------------------------------------------


def test_outside_plan_is_ineligible():
    r = run(stands({"stand_id": "a", "plan_id": ""}))
    assert not r.loc[0, "eligible"]
    assert "outside any forest management plan" in r.loc[0, "reason"]
    assert r.loc[0, "removals_tco2"] == 0.0
    assert r.loc[0, "gross_net_tco2"] == pytest.approx(10 * SUGI_OLD)


@pytest.mark.parametrize(
    ("date", "eligible"),
    [(dt.date(1990, 3, 31), False), (dt.date(1990, 4, 1), True), (dt.date(2024, 4, 1), False)],
)
def test_planted_needs_work_since_fy1990_and_before_period_end(date, eligible):
    r = run(stands({"stand_id": "a"}), ops({"stand_id": "a", "date": date, "operation": "weeding"}))
    assert bool(r.loc[0, "eligible"]) is eligible
    if not eligible:
        assert "no planting, weeding, cleaning or thinning" in r.loc[0, "reason"]


def test_pruning_and_harvest_do_not_qualify():
    op = ops({"stand_id": "a", "date": dt.date(2015, 1, 1), "operation": "pruning"})
    assert not run(stands({"stand_id": "a"}), op).loc[0, "eligible"]


def test_planted_without_operations_is_ineligible():
    r = run(stands({"stand_id": "a"}), ops())
    assert not r.loc[0, "eligible"]


def test_natural_forest_protection_rule_and_setting():
    st = stands(
        {"stand_id": "p", "forest_type": "natural", "protected": True, "species": "nara"},
        {"stand_id": "u", "forest_type": "natural", "protected": False, "species": "nara"},
    )
    yields = table([("nara", 2, 20, 80.0), ("nara", 2, 80, 200.0)])  # 2 m3/ha/yr after 20
    r = run(st, ops(), yields=yields).set_index("stand_id")
    assert r.loc["p", "eligible"] and "legal protection" in r.loc["p", "reason"]
    assert not r.loc["u", "eligible"] and "not under legal protection" in r.loc["u", "reason"]
    factor = 0.624 * 1.26 * 1.26 * 0.48 * C
    assert r.loc["p", "removals_tco2"] == pytest.approx(2.0 * factor)
    r_all = run(st, ops(), yields=yields, natural_forest="all").set_index("stand_id")
    assert r_all.loc["u", "eligible"]


def test_bamboo_earns_nothing():
    r = run(stands({"stand_id": "b", "species": "bamboo"}))
    assert not r.loc[0, "eligible"] and "bamboo" in r.loc[0, "reason"]
    assert r.loc[0, "gross_net_tco2"] == 0.0


def test_treated_area_rule():
    st = stands({"stand_id": "a", "stand_area_ha": 4.0})
    op = ops(
        {"stand_id": "a", "date": dt.date(2015, 6, 1), "operation": "thinning", "area_ha": 1.5}
    )
    treated = run(st, op)
    assert treated.loc[0, "eligible_area_ha"] == 1.5
    assert treated.loc[0, "removals_tco2"] == pytest.approx(1.5 * 10 * SUGI_OLD)
    assert "partial_treated_area" in treated.loc[0, "flags"]
    whole = run(st, op, eligible_area="stand")
    assert whole.loc[0, "removals_tco2"] == pytest.approx(4 * 10 * SUGI_OLD)
    # two operations on parts of the stand: the largest counts (they may share ground); with
    # treated_area_sum = "sum" they add up, capped at the stand area: min(4, 3 + 2) = 4
    op2 = ops(
        {"stand_id": "a", "date": dt.date(2015, 6, 1), "operation": "thinning", "area_ha": 3.0},
        {"stand_id": "a", "date": dt.date(2016, 6, 1), "operation": "weeding", "area_ha": 2.0},
    )
    assert run(st, op2).loc[0, "eligible_area_ha"] == 3.0
    assert run(st, op2, treated_area_sum="sum").loc[0, "eligible_area_ha"] == 4.0


# --- settings ----------------------------------------------------------------------------------


def test_explicit_thinning_books_thinned_volume():
    op = ops(
        {"stand_id": "a", "date": dt.date(2023, 7, 1), "operation": "thinning", "volume_m3": 20.0}
    )
    st = stands({"stand_id": "a"})
    embedded = run(st, op)
    explicit = run(st, op, thinning_accounting="explicit")
    assert embedded.loc[0, "emissions_tco2"] == 0.0
    assert explicit.loc[0, "emissions_tco2"] == pytest.approx(20 * SUGI_OLD)
    with pytest.raises(InputError, match="volume_m3"):
        run(st, ops({"stand_id": "a", **THIN_2023}), thinning_accounting="explicit")


THIN_2023 = {"date": dt.date(2023, 7, 1), "operation": "thinning"}


def test_operations_since_setting():
    op = ops({"stand_id": "a", "date": dt.date(1995, 6, 1), "operation": "thinning"})
    assert run(stands({"stand_id": "a"}), op).loc[0, "eligible"]
    late = run(stands({"stand_id": "a"}), op, operations_since=dt.date(2000, 4, 1))
    assert not late.loc[0, "eligible"]


# --- time: fiscal years, pro-rating, harvest and replanting ----------------------------------


def test_prorated_period_across_fiscal_years():
    st = stands({"stand_id": "a"})  # age 31 in FY2023 (10 m3/ha), 32 in FY2024 (10 m3/ha)
    r = run(st, periods=(Period(dt.date(2023, 10, 1), dt.date(2024, 9, 30)),))
    expected = (183 / 366 + 183 / 365) * 10 * SUGI_OLD
    assert r.loc[0, "removals_tco2"] == pytest.approx(expected, rel=1e-12)
    assert "prorated" in r.loc[0, "flags"]
    assert r.loc[0, "volume_start_m3_ha"] == pytest.approx(300 + 10 * 183 / 366)


def test_harvest_then_replanting_over_two_periods():
    st = stands({"stand_id": "h", "planted_year": 1984})
    op = ops(
        {"stand_id": "h", **THIN_2010},
        {"stand_id": "h", "date": dt.date(2022, 6, 1), "operation": "final_harvest"},
        {"stand_id": "h", "date": dt.date(2023, 5, 1), "operation": "replanting"},
    )
    r = run(st, op, periods=(FY2022, FY2023)).set_index("period")
    y22, y23 = r.loc[FY2022.label], r.loc[FY2023.label]
    v39 = 350 + 4 * (450 - 350) / 5  # age 39 in FY2022
    assert y22["emissions_tco2"] == pytest.approx(v39 * SUGI_OLD)
    assert y22["removals_tco2"] == 0.0
    assert y23["emissions_tco2"] == 0.0
    # replanted crop is age 1 in FY2023: V(1) - V(0) = 200/20 = 10 m3/ha, young-stand BEF
    assert y23["removals_tco2"] == pytest.approx(10 * SUGI_YOUNG)
    assert y23["age_end"] == 1 and "replanted" in y23["flags"]
    assert y23["volume_start_m3_ha"] == 0.0


def test_partial_harvest_keeps_the_rest_growing():
    st = stands({"stand_id": "h", "planted_year": 1993, "stand_area_ha": 2.0})
    op = ops(
        {"stand_id": "h", **THIN_2010},
        {
            "stand_id": "h",
            "date": dt.date(2023, 6, 1),
            "operation": "final_harvest",
            "area_ha": 0.5,
        },
    )
    r = run(st, op)
    assert r.loc[0, "emissions_tco2"] == pytest.approx(0.5 * 310 * SUGI_OLD)
    assert r.loc[0, "removals_tco2"] == pytest.approx(1.5 * 10 * SUGI_OLD)


def test_harvest_already_in_register_is_history():
    st = stands({"stand_id": "h", "planted_year": 2006})  # register updated after the harvest
    op = ops(
        {"stand_id": "h", "date": dt.date(2005, 6, 1), "operation": "final_harvest"},
        {"stand_id": "h", "date": dt.date(2006, 5, 1), "operation": "replanting"},
    )
    r = run(st, op)
    assert r.loc[0, "emissions_tco2"] == 0.0 and r.loc[0, "eligible"]
    assert r.loc[0, "age_end"] == 18


def test_conflicting_harvests_are_refused():
    st = stands({"stand_id": "h", "planted_year": 1984})
    op = ops(
        {"stand_id": "h", "date": dt.date(2022, 6, 1), "operation": "final_harvest"},
        {"stand_id": "h", "date": dt.date(2023, 6, 1), "operation": "final_harvest"},
    )
    with pytest.raises(InputError, match="two final harvests"):
        run(st, op, periods=(FY2022, FY2023))


def test_beyond_yield_table_is_flat_and_flagged():
    r = run(stands({"stand_id": "o", "planted_year": 1950}))  # age 74 > last tabulated 40
    assert r.loc[0, "removals_tco2"] == 0.0
    assert "beyond_yield_table" in r.loc[0, "flags"]
    assert r.loc[0, "volume_end_m3_ha"] == 450.0


def test_below_first_tabulated_age_is_linear_from_zero():
    r = run(stands({"stand_id": "y", "planted_year": 2019}))  # age 5: V(5)-V(4) = 10
    assert r.loc[0, "removals_tco2"] == pytest.approx(10 * SUGI_YOUNG)


def test_not_yet_planted_has_no_growth():
    r = run(stands({"stand_id": "n", "planted_year": 2025}))
    assert r.loc[0, "removals_tco2"] == 0.0 and "not_yet_planted" in r.loc[0, "flags"]
