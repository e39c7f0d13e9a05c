"""EN-S-004 air conditioning: worked examples, COP ratios, standard-unit baseline, facility cap.

Expected values are worked by hand from methodology/EN-R-002_EN-S-004.md (kWh x t-CO2/kWh).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.energy_fixtures import (
    AC_READINGS,
    AC_SPLIT,
    FY2023,
    UNITS,
    UNITS_SPLIT,
    compute,
    csv,
    energy_program,
    summary,
)

# --- worked examples -----------------------------------------------------------------------------


def test_aircon_worked_example_6_510_t(tmp_path):
    folder = energy_program(
        tmp_path,
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
    )
    result = compute(folder)
    row = result.aircon.iloc[0]
    assert row["baseline_kwh"] == pytest.approx(45_000, abs=1e-6)
    assert row["baseline_tco2"] == pytest.approx(19.53, abs=1e-9)
    assert row["project_tco2"] == pytest.approx(13.02, abs=1e-9)
    assert row["reduction_tco2"] == pytest.approx(6.51, abs=1e-9)
    assert row["method"] == "single_ratio" and row["baseline_source"] == "replaced"
    s = summary(result).loc[("EN-S-004", "2023-04-01/2024-03-31")]
    assert Decimal(s["total_tco2"]) == Decimal("6.51") and s["credits_t"] == 6


SPLIT_UNIT = "A1,こどもセンター,134.004,35.069,2.8,4.2,3.2,4.5"


def test_aircon_split_metering_6_02175_t(tmp_path):
    folder = energy_program(
        tmp_path,
        aircon=csv(UNITS_SPLIT, SPLIT_UNIT),
        aircon_readings=csv(AC_SPLIT, f"A1,{FY2023[0]},{FY2023[1]},18000,12000"),
    )
    result = compute(folder)
    row = result.aircon.iloc[0]
    # cooling 18,000 x (4.2/2.8 - 1) + heating 12,000 x (4.5/3.2 - 1) = 9,000 + 4,875 kWh
    assert row["baseline_kwh"] - row["project_kwh"] == pytest.approx(13_875, abs=1e-6)
    assert row["reduction_tco2"] == pytest.approx(6.02175, abs=1e-9)
    assert row["method"] == "split"
    assert summary(result).loc[("EN-S-004", "2023-04-01/2024-03-31"), "credits_t"] == 6


def test_aircon_conservative_single_ratio_5_289375_t(tmp_path):
    folder = energy_program(
        tmp_path,
        aircon=csv(UNITS_SPLIT, SPLIT_UNIT),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
    )
    result = compute(folder)
    row = result.aircon.iloc[0]
    assert row["cop_ratio_single"] == pytest.approx(1.40625, abs=1e-12)  # min(1.5, 1.40625)
    assert row["reduction_tco2"] == pytest.approx(5.289375, abs=1e-9)
    assert row["method"] == "conservative_ratio"
    assert summary(result).loc[("EN-S-004", "2023-04-01/2024-03-31"), "credits_t"] == 5


@pytest.mark.parametrize(
    ("cop_bl", "cop_pj", "kwh", "credits"), [(5.69, 9.24, 56_900, 35), (5.46, 9.46, 54_600, 40)]
)
def test_rounding_vectors_through_the_aircon_engine(tmp_path, cop_bl, cop_pj, kwh, credits):
    # EF 0.001 t/kWh: EL_PJ 56,900 kWh -> EM_PJ 56.9 t; EL_BL = 56,900 x 9.24/5.69 = 92,400 kWh
    folder = energy_program(
        tmp_path,
        aircon=csv(UNITS, f"A1,市役所,134.004,35.069,{cop_bl},{cop_pj}"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},{kwh}"),
        energy="emission_factor = 0.001",
    )
    s = summary(compute(folder)).loc[("EN-S-004", "2023-04-01/2024-03-31")]
    assert s["credits_t"] == credits


# --- eligibility and baseline --------------------------------------------------------------------


def test_activity_cap_applies_to_a_facility(tmp_path):
    folder = energy_program(
        tmp_path,
        aircon=csv(
            UNITS,
            "A1,市役所,134.004,35.069,2.8,4.2",
            "A2,市役所,134.004,35.069,2.8,4.2",
            "B1,公民館,134.01,35.07,2.8,4.2",
        ),
        aircon_readings=csv(
            AC_READINGS, *(f"{u},{FY2023[0]},{FY2023[1]},30000" for u in ("A1", "A2", "B1"))
        ),
        energy="activity_cap_tco2_per_yr = 10.0",  # 2 x 6.51 t > 10 t; 6.51 t alone < 10 t
    )
    result = compute(folder)
    rows = result.aircon.set_index("unit_id")
    assert not rows.loc["A1", "eligible"] and not rows.loc["A2", "eligible"]
    assert "facility 市役所" in rows.loc["A1", "reason"]
    assert rows.loc["B1", "eligible"]
    s = summary(result).loc[("EN-S-004", "2023-04-01/2024-03-31")]
    assert s["n_activities"] == 1 and Decimal(s["total_tco2"]) == Decimal("6.51")


def test_standard_unit_baseline(tmp_path):
    # unknown old unit -> standard COPs 3.5/4.0; conservative ratio min(4.2/3.5, 4.2/4.0) = 1.05
    header = UNITS + ",baseline_year,installed"
    folder = energy_program(
        tmp_path,
        aircon=csv(
            header,
            "A1,市役所,134.004,35.069,,4.2,,2023-04-01",
            "A2,市役所,134.004,35.069,2.8,4.2,1990,2023-04-01",  # 33 years > 2 x 13
            "A3,市役所,134.004,35.069,2.8,4.2,2000,2023-04-01",  # 23 years: the old unit
        ),
        aircon_readings=csv(
            AC_READINGS, *(f"{u},{FY2023[0]},{FY2023[1]},30000" for u in ("A1", "A2", "A3"))
        ),
        energy="standard_cop_cooling = 3.5\nstandard_cop_heating = 4.0",
    )
    rows = compute(folder).aircon.set_index("unit_id")
    assert rows.loc["A1", "baseline_source"] == "standard_unknown_unit"
    assert rows.loc["A1", "reduction_tco2"] == pytest.approx(30_000 * 0.05 * 0.000434, abs=1e-9)
    assert rows.loc["A2", "baseline_source"] == "standard_old_unit"
    assert rows.loc["A2", "reduction_tco2"] == pytest.approx(0.651, abs=1e-9)
    assert rows.loc["A3", "baseline_source"] == "replaced"
    assert rows.loc["A3", "reduction_tco2"] == pytest.approx(6.51, abs=1e-9)
