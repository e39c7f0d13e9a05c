"""EN-R-002 household solar: worked examples, fiscal years, eligibility, estimation, the cap.

Expected values are worked by hand from methodology/EN-R-002_EN-S-004.md (kWh x t-CO2/kWh).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from forestcarbon.cli.main import main
from tests.energy_fixtures import (
    READINGS,
    SITES,
    compute,
    csv,
    energy_program,
    reading,
    site,
    summary,
)

# --- worked examples -----------------------------------------------------------------------------


def test_household_worked_example_0_69006_t(tmp_path):
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("S1")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
    )
    row = compute(folder).solar.iloc[0]
    assert row["self_consumed_kwh"] == 1590
    assert row["ef_t_per_kwh"] == pytest.approx(0.000434, rel=1e-12)
    assert row["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)
    assert row["reduction_kgco2"] == pytest.approx(690.06, abs=1e-9)
    assert row["method"] == "measured" and row["eligible"]


def test_200_households_give_138_t(tmp_path, capsys):
    ids = [f"H{i:03d}" for i in range(200)]
    folder = energy_program(
        tmp_path / "p",
        solar=csv(SITES, *(site(i) for i in ids)),
        solar_readings=csv(READINGS, *(reading(i, 5300, 3710) for i in ids)),
    )
    out = tmp_path / "out"
    assert main(["energy", str(folder), "--out", str(out)]) == 0
    table = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    row = table[(table["methodology"] == "EN-R-002") & (table["period"] != "all")].iloc[0]
    assert row["total_tco2"] == "138.012"  # exact decimal, no binary noise
    assert row["credits_t"] == 138
    assert row["n_activities"] == 200
    assert "EN-R-002" in capsys.readouterr().out


def test_rounding_vector_21_5_through_the_solar_engine(tmp_path):
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("S1", kw=20)),
        solar_readings=csv(READINGS, reading("S1", 21_500, 0)),
        energy="emission_factor = 0.001",
    )
    s = summary(compute(folder)).loc[("EN-R-002", "2023-04-01/2024-03-31")]
    assert Decimal(s["total_tco2"]) == Decimal("21.5") and s["credits_t"] == 21


# --- readings ------------------------------------------------------------------------------------


def test_monthly_readings_sum_to_the_annual_value(tmp_path):
    months = pd.date_range("2023-04-01", periods=12, freq="MS")
    rows = [  # 11 months of 400/280 kWh and a first month of the rest: 5,300/3,710 kWh a year
        f"S1,{m.date()},{(m + pd.offsets.MonthEnd(0)).date()},{400 if i else 5300 - 4400},"
        f"{280 if i else 3710 - 3080}"
        for i, m in enumerate(months)
    ]
    folder = energy_program(
        tmp_path, solar=csv(SITES, site("S1")), solar_readings=csv(READINGS, *rows)
    )
    row = compute(folder).solar.iloc[0]
    assert row["generated_kwh"] == 5300 and row["sold_kwh"] == 3710
    assert row["reduction_tco2"] == pytest.approx(0.69006, abs=1e-9)
    assert row["counted_days"] == 366


# --- eligibility ---------------------------------------------------------------------------------


def test_joining_date_prorates_a_reading(tmp_path):
    # self 3,660 kWh over FY2023 (366 days); joined 2023-10-01 -> 183 days -> 1,830 kWh
    folder = energy_program(
        tmp_path,
        solar=csv(
            SITES,
            site("S1", joined="2023-10-01"),
            site("S2", commissioned="2024-01-01", joined="2023-06-01"),
            site("S3", joined="2024-04-01"),
        ),
        solar_readings=csv(READINGS, reading("S1", 5000, 1340), reading("S2", 5000, 1340)),
    )
    rows = compute(folder).solar.set_index("site_id")
    assert rows.loc["S1", "eligible_from"] == dt.date(2023, 10, 1)
    assert rows.loc["S1", "counted_kwh"] == pytest.approx(1830, abs=1e-9)
    assert rows.loc["S1", "reduction_tco2"] == pytest.approx(0.79422, abs=1e-9)
    assert "prorated_to_eligibility" in rows.loc["S1", "flags"]
    # commissioned after joining: counts from commissioning, 91 days -> 910 kWh
    assert rows.loc["S2", "eligible_from"] == dt.date(2024, 1, 1)
    assert rows.loc["S2", "reduction_tco2"] == pytest.approx(910 * 0.000434, abs=1e-9)
    assert not rows.loc["S3", "eligible"] and "not yet in the program" in rows.loc["S3", "reason"]
    assert rows.loc["S3", "reduction_tco2"] == 0


def test_blocked_and_full_purchase_sites_are_excluded_with_a_reason(tmp_path):
    header = SITES + ",jcredit_blocked,block_reason,fit_status"
    folder = energy_program(
        tmp_path,
        solar=csv(
            header,
            site("S1") + ",,,余剰",
            site("S2") + ",有,県の補助金 (J-クレジット譲渡不可),",
            site("S3") + ",,,全量",
        ),
        solar_readings=csv(READINGS, *(reading(s, 5300, 3710) for s in ("S1", "S2", "S3"))),
    )
    result = compute(folder)
    rows = result.solar.set_index("site_id")
    assert not rows.loc["S2", "eligible"]
    assert "subsidy forbids J-Credit" in rows.loc["S2", "reason"]
    assert "県の補助金" in rows.loc["S2", "reason"]
    assert rows.loc["S2", "reduction_tco2"] == 0
    assert rows.loc["S2", "gross_reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)
    # a blocked site counts no electricity; the eligible one 5300 - 3710 = 1590 kWh at the
    # factor 0.69006 / 1590 = 0.000434 t-CO2/kWh, printed as that decimal
    assert rows.loc["S2", "counted_kwh"] == 0
    assert rows.loc["S1", "counted_kwh"] == pytest.approx(1590)
    assert repr(float(rows.loc["S1", "ef_t_per_kwh"])) == "0.000434"
    assert not rows.loc["S3", "eligible"] and "全量買取" in rows.loc["S3", "reason"]
    s = summary(result).loc[("EN-R-002", "2023-04-01/2024-03-31")]
    assert s["n_activities"] == 1 and Decimal(s["total_tco2"]) == Decimal("0.69006")


def test_sites_without_readings_are_estimated_and_discounted(tmp_path):
    # 4 kW x 1,177 kWh/kW/yr x 0.30 x 366/365 x (1 - 0.10) = 1,274.64263 kWh x 0.000434 t/kWh
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("S1", kw=4.0), site("S2")),
        solar_readings=csv(READINGS, reading("S2", 5300, 3710)),
    )
    rows = compute(folder).solar.set_index("site_id")
    assert rows.loc["S1", "method"] == "estimated" and rows.loc["S1", "eligible"]
    assert rows.loc["S1", "flags"] == "estimated"
    assert rows.loc["S1", "counted_kwh"] == pytest.approx(1274.642630, abs=1e-6)
    assert rows.loc["S1", "reduction_tco2"] == pytest.approx(0.553194901, abs=1e-9)
    assert rows.loc["S2", "method"] == "measured"


def test_estimation_settings(tmp_path):
    folder = energy_program(
        tmp_path / "a",
        solar=csv(SITES, site("S1", kw=4.0)),
        energy="estimated_discount = 0.5\npv_yield_kwh_per_kw = 1000\n"
        "self_consumption_ratio = 0.25",
        periods=(("2023-04-01", "2023-09-30"),),
    )
    row = compute(folder).solar.iloc[0]
    # 4 kW x 1,000 x 183/365 x 0.25 x 0.5 = 250.685 kWh
    assert row["counted_kwh"] == pytest.approx(250.684932, abs=1e-6)
    assert row["reduction_tco2"] == pytest.approx(250.68493150684932 * 0.000434, abs=1e-9)
    folder = energy_program(
        tmp_path / "b", solar=csv(SITES, site("S1")), energy="estimate_missing = false"
    )
    row = compute(folder).solar.iloc[0]
    assert not row["eligible"] and "estimate_missing = false" in row["reason"]


def test_activity_cap_of_500_t_per_year(tmp_path):
    # 1,200,000 kWh x 0.000434 = 520.8 t (519.38 t/yr over 366 days) > 500; 1,100,000 -> 477.4 t
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("BIG", kw=1000), site("OK", kw=900)),
        solar_readings=csv(READINGS, reading("BIG", 1_200_000, 0), reading("OK", 1_100_000, 0)),
    )
    rows = compute(folder).solar.set_index("site_id")
    assert not rows.loc["BIG", "eligible"] and "500 t-CO2/yr" in rows.loc["BIG", "reason"]
    assert "over_activity_cap" in rows.loc["BIG", "flags"]
    assert rows.loc["BIG", "annual_rate_tco2_yr"] == pytest.approx(520.8 * 365 / 366, rel=1e-12)
    assert rows.loc["OK", "eligible"]
    assert rows.loc["OK", "reduction_tco2"] == pytest.approx(477.4, abs=1e-9)
