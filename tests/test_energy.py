"""EN-R-002 household solar and EN-S-004 air conditioning: worked examples, rules and bad inputs.

Expected values are worked by hand from methodology/EN-R-002_EN-S-004.md (kWh x t-CO2/kWh).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from forestcarbon.cli.main import main
from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError
from forestcarbon.methods.energy import (
    AIRCON_COLUMNS,
    SOLAR_COLUMNS,
    compute_energy,
    load_energy,
    resolve_emission_factors,
)
from forestcarbon.methods.fiscal import fiscal_year_days
from forestcarbon.methods.totals import program_summary, summary_row

from .conftest import stand, write_program

FY2023 = ("2023-04-01", "2024-03-31")
CITY_HALL = (134.004, 35.069)
"""Tsuyama city hall [lon, lat]: inside EPSG:6673's area of use."""

SITES = "site_id,capacity_kw,commissioned,joined,lon,lat"
READINGS = "site_id,period_start,period_end,generated_kwh,sold_kwh"
UNITS = "unit_id,facility,lon,lat,cop_baseline,cop_project"
UNITS_SPLIT = (
    "unit_id,facility,lon,lat,cop_baseline_cooling,cop_project_cooling,"
    "cop_baseline_heating,cop_project_heating"
)
AC_READINGS = "unit_id,period_start,period_end,electricity_kwh"
AC_SPLIT = "unit_id,period_start,period_end,cooling_kwh,heating_kwh"


def site(sid, kw=4.5, commissioned="2015-06-01", joined="2016-01-01", lon=134.004, lat=35.069):
    return f"{sid},{kw},{commissioned},{joined},{lon},{lat}"


def reading(sid, gen, sold, start=FY2023[0], end=FY2023[1]):
    return f"{sid},{start},{end},{gen},{sold}"


def csv(header, *rows):
    return "\n".join([header, *rows]) + "\n"


def energy_program(
    folder,
    *,
    solar=None,
    solar_readings=None,
    aircon=None,
    aircon_readings=None,
    energy="",
    inputs="",
    periods=(FY2023,),
    write_toml=True,
):
    """A program folder with program.toml and the given energy tables (CSV text or bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    toml = ['[program]\nname = "energy test"\ncrs = "EPSG:6673"\n']
    for start, end in periods:
        toml.append(f"[[periods]]\nstart = {start}\nend = {end}\n")
    if energy:
        toml.append(f"[energy]\n{energy}\n")
    if inputs:
        toml.append(f"[inputs]\n{inputs}\n")
    if write_toml:
        (folder / "program.toml").write_text("\n".join(toml), encoding="utf-8")
    files = {
        "solar.csv": solar,
        "solar_readings.csv": solar_readings,
        "aircon.csv": aircon,
        "aircon_readings.csv": aircon_readings,
    }
    for name, content in files.items():
        if content is not None:
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            (folder / name).write_bytes(data)
    return folder


def compute(folder):
    settings = load_settings(folder)
    return compute_energy(load_energy(folder, settings), settings)


def summary(result):
    return program_summary(result.summary_rows()).set_index(["methodology", "period"])


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
    ("em_bl", "em_pj", "credits"), [(92.4, 56.9, 35), (94.6, 54.6, 40), (21.5, 0.0, 21)]
)
def test_rounding_vectors_of_published_plans(em_bl, em_pj, credits):
    row = summary_row("EN-S-004", "p", [em_bl], [em_pj], ["a"], 0.0)
    assert row["credits_t"] == credits
    assert Decimal(row["total_tco2"]) == Decimal(str(em_bl)) - Decimal(str(em_pj))


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


def test_rounding_vector_21_5_through_the_solar_engine(tmp_path):
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("S1", kw=20)),
        solar_readings=csv(READINGS, reading("S1", 21_500, 0)),
        energy="emission_factor = 0.001",
    )
    s = summary(compute(folder)).loc[("EN-R-002", "2023-04-01/2024-03-31")]
    assert Decimal(s["total_tco2"]) == Decimal("21.5") and s["credits_t"] == 21


# --- emission factors and fiscal years -----------------------------------------------------------


def test_fiscal_year_days_split_at_1_april():
    assert fiscal_year_days(dt.date(2023, 10, 1), dt.date(2024, 9, 30)) == [
        (2023, 183),
        (2024, 183),
    ]
    assert fiscal_year_days(dt.date(2024, 3, 31), dt.date(2024, 4, 1)) == [(2023, 1), (2024, 1)]
    assert fiscal_year_days(dt.date(2023, 4, 1), dt.date(2024, 3, 31)) == [(2023, 366)]
    assert fiscal_year_days(dt.date(2024, 1, 1), dt.date(2023, 1, 1)) == []


def test_packaged_factors_by_kind_and_year():
    factors, problems = resolve_emission_factors("chugoku_actual", [2013])
    assert not problems and factors(2013) == 0.000719
    factors, _ = resolve_emission_factors("national_average", [2013, 2014])
    assert (factors(2013), factors(2014)) == (0.000570, 0.000554)
    factors, _ = resolve_emission_factors("substitute", [2022, 2023])  # a constant kind
    assert factors(2022) == factors(2023) == 0.000434
    assert not factors.table["verified"].any()  # [M] in the methodology note


def test_period_crossing_fiscal_years_uses_each_years_factor(tmp_path):
    # 10 kWh/day self-consumed over 2013-10-01..2014-09-30 (365 days):
    # FY2013 182 days x 10 x 0.000570 = 1.0374 t; FY2014 183 days x 10 x 0.000554 = 1.01382 t
    period = ("2013-10-01", "2014-09-30")
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("S1", joined="2013-01-01", commissioned="2012-06-01")),
        solar_readings=csv(READINGS, reading("S1", 5000, 1350, *period)),
        energy='emission_factor = "national_average"',
        periods=(period,),
    )
    row = compute(folder).solar.iloc[0]
    assert row["reduction_tco2"] == pytest.approx(1.0374 + 1.01382, abs=1e-9)
    assert row["ef_t_per_kwh"] == pytest.approx(2.05122 / 3650, rel=1e-12)
    assert "fiscal_year_split" in row["flags"]


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


# --- input formats -------------------------------------------------------------------------------


def test_japanese_headers_in_cp932(tmp_path):
    text = csv(
        "設備ID,容量(kW),運転開始日,加入日,経度,緯度,発電量(kWh),売電量(kWh)",
        'S1,4.5,2015/06/01,2016年1月1日,134.004,35.069,"5,300",3710',
    )
    folder = energy_program(tmp_path, solar=text.encode("cp932"))
    row = compute(folder).solar.iloc[0]
    assert row["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)
    assert row["joined"] == dt.date(2016, 1, 1)


def test_geopackage_points_and_xy_with_a_crs(tmp_path):
    point = gpd.GeoSeries([Point(*CITY_HALL)], crs="EPSG:4326").to_crs("EPSG:6673")
    layer = gpd.GeoDataFrame(
        {"site_id": ["S1"], "capacity_kw": [4.5], "commissioned": ["2015-06-01"],
         "joined": [dt.date(2016, 1, 1)]},
        geometry=point.to_numpy(),
        crs="EPSG:6673",
    )  # fmt: skip
    a = energy_program(tmp_path / "gpkg", solar_readings=csv(READINGS, reading("S1", 5300, 3710)))
    layer.to_file(a / "solar.gpkg", layer="solar", engine="pyogrio")
    x, y = point.iloc[0].x, point.iloc[0].y
    b = energy_program(
        tmp_path / "xy",
        solar=csv(
            "site_id,capacity_kw,commissioned,joined,x,y", f"S1,4.5,2015-06-01,2016-01-01,{x},{y}"
        ),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        inputs='points_crs = "EPSG:6673"',
    )
    for folder in (a, b):
        result = compute(folder)
        assert result.solar.iloc[0]["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)
        assert result.solar.crs.to_epsg() == 6673
        assert result.solar.geometry.iloc[0].distance(point.iloc[0]) < 0.01


def test_readings_as_columns_of_the_sites_table(tmp_path):
    folder = energy_program(
        tmp_path, solar=csv(SITES + ",generated_kwh,sold_kwh", site("S1") + ",5300,3710")
    )
    assert compute(folder).solar.iloc[0]["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)


def test_outputs_follow_the_contract_and_are_deterministic(tmp_path):
    folder = energy_program(
        tmp_path / "p",
        solar=csv(SITES + ",address", site("S1") + ",津山市山北520", site("S2")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
    )
    for out in ("a", "b"):
        assert main(["-q", "energy", str(folder), "--out", str(tmp_path / out)]) == 0
    for name in ("solar_sites.csv", "aircon_units.csv", "program_summary.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    solar = pd.read_csv(tmp_path / "a" / "solar_sites.csv")
    assert list(solar.columns) == SOLAR_COLUMNS
    contract = ["site_id", "period", "self_consumed_kwh", "ef_t_per_kwh", "reduction_tco2",
                "method", "eligible", "reason"]  # fmt: skip
    assert set(contract) <= set(solar.columns)
    assert not {"address", "lon", "lat", "geometry"} & set(solar.columns)  # internal, no address
    aircon = pd.read_csv(tmp_path / "a" / "aircon_units.csv")
    assert list(aircon.columns) == AIRCON_COLUMNS
    assert {"unit_id", "period", "baseline_kwh", "project_kwh", "reduction_tco2"} <= set(
        aircon.columns
    )


# --- whole program -------------------------------------------------------------------------------


def test_program_without_energy_inputs_still_runs(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    out = tmp_path / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"fo001_stands.csv", "program_summary.csv", "monitoring_report.xlsx"} <= names
    assert not {"solar_sites.csv", "aircon_units.csv"} & names
    capsys.readouterr()
    assert main(["-q", "energy", str(folder), "--out", str(tmp_path / "e")]) == 1
    assert "no solar or air-conditioning inputs" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_run_adds_energy_to_the_program_totals(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    energy_program(
        folder,
        solar=csv(SITES, site("S1")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
        write_toml=False,
    )
    assert main(["validate", str(folder)]) == 0
    assert "1 PV sites, 1 air-conditioning units" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EN-R-002" in printed and "EN-S-004" in printed and "program" in printed
    table = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    rows = table.set_index(["methodology", "period"])
    period = "2023-04-01/2024-03-31"
    energy_total = Decimal("0.69006") + Decimal("6.51")
    program_total = Decimal(rows.loc[("program", period), "total_tco2"])
    fo_total = Decimal(rows.loc[("FO-001", period), "total_tco2"])
    assert program_total == fo_total + energy_total
    assert (
        rows.loc[("program", period), "credits_t"] == rows.loc[("FO-001", period), "credits_t"] + 6
    )
    assert {"solar_sites.csv", "aircon_units.csv", "monitoring_report.xlsx", "summary.md"} <= {
        p.name for p in out.iterdir()
    }


# --- bad inputs ----------------------------------------------------------------------------------

GOOD_SITE = site("S1")
GOOD_READING = reading("S1", 5300, 3710)
GOOD_UNIT = "A1,市役所,134.004,35.069,2.8,4.2"
GOOD_AC = f"A1,{FY2023[0]},{FY2023[1]},30000"

BAD_INPUTS = {
    "negative kWh": (
        dict(solar_readings=csv(READINGS, reading("S1", -5, 0))),
        ["solar_readings.csv", "row 2 (S1)", "generated_kwh", "at least 0"],
    ),
    "sold more than generated": (
        dict(solar_readings=csv(READINGS, reading("S1", 3000, 3710))),
        ["row 2 (S1)", "sold_kwh", "more than generated"],
    ),
    "COP not positive": (
        dict(aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,0")),
        ["aircon.csv", "row 2 (A1)", "cop_project", "at least 1"],
    ),
    "unknown site in readings": (
        dict(solar_readings=csv(READINGS, GOOD_READING, reading("S9", 10, 1))),
        ["row 3 (S9)", "unknown site_id 'S9'"],
    ),
    "duplicate site ids": (
        dict(solar=csv(SITES, GOOD_SITE, site("S1", kw=3))),
        ["solar.csv", "rows 2, 3", "duplicate id 'S1'"],
    ),
    "reading outside the program's periods": (
        dict(solar_readings=csv(READINGS, reading("S1", 10, 1, "2022-04-01", "2023-03-31"))),
        ["row 2 (S1)", "outside the program's periods"],
    ),
    "reading crossing the period end": (
        dict(solar_readings=csv(READINGS, reading("S1", 10, 1, "2024-01-01", "2024-04-30"))),
        ["row 2 (S1)", "outside the program's periods"],
    ),
    "x/y without a CRS": (
        dict(
            solar=csv(
                "site_id,capacity_kw,commissioned,joined,x,y",
                "S1,4.5,2015-06-01,2016-01-01,-30000,-103200",
            )
        ),
        ["solar.csv", "x/y", "points_crs"],
    ),
    "reading ends before it starts": (
        dict(solar_readings=csv(READINGS, reading("S1", 10, 1, "2023-09-01", "2023-08-01"))),
        ["row 2 (S1)", "before it starts"],
    ),
    "overlapping readings": (
        dict(
            solar_readings=csv(
                READINGS,
                reading("S1", 10, 1, "2023-04-01", "2023-09-30"),
                reading("S1", 10, 1, "2023-09-01", "2024-03-31"),
            )
        ),
        ["rows 2 and 3 (S1)", "overlap"],
    ),
    "missing capacity column": (
        dict(solar=csv("site_id,commissioned,joined,lon,lat", "S1,2015-06-01,2016-01-01,134,35")),
        ["solar.csv", "capacity_kw", "required column is missing"],
    ),
    "bad joining date": (
        dict(solar=csv(SITES, site("S1", joined="2016-13-01"))),
        ["row 2 (S1)", "joined", "expected a date"],
    ),
    "lon/lat swapped": (
        dict(solar=csv(SITES, site("S1", lon=35.069, lat=134.004))),
        ["row 2 (S1)", "lat", "at most 90"],
    ),
    "point outside the CRS's area of use": (
        dict(solar=csv(SITES, site("S1", lon=139.767, lat=35.681))),
        ["row 2 (S1)", "outside the area of use of EPSG:6673"],
    ),
    "absurd capacity": (
        dict(solar=csv(SITES, site("S1", kw=5000))),
        ["row 2 (S1)", "capacity_kw", "at most 1000"],
    ),
    "unknown FIT status": (
        dict(solar=csv(SITES + ",fit_status", GOOD_SITE + ",maybe")),
        ["row 2 (S1)", "fit_status", "surplus/余剰"],
    ),
    "unknown emission factor kind": (
        dict(energy='emission_factor = "chugoku"'),
        ["program.toml", "[energy] emission_factor", "chugoku_actual"],
    ),
    "emission factor in kg per kWh": (
        dict(energy="emission_factor = 0.434"),
        ["[energy] emission_factor", "kg-CO2/kWh"],
    ),
    "factor kind without the fiscal year": (
        dict(energy='emission_factor = "national_average"'),
        ["[energy] emission_factor", "no factor for FY2023", "FY2013, FY2014"],
    ),
    "heating kWh without cooling": (
        dict(aircon_readings=csv("unit_id,period_start,period_end,heating_kwh", GOOD_AC)),
        ["aircon_readings.csv", "row 2 (A1)", "cooling_kwh/heating_kwh"],
    ),
    "gas-fired unit": (
        dict(aircon=csv(UNITS + ",drive", GOOD_UNIT + ",GHP")),
        ["row 2 (A1)", "drive", "gas-fired"],
    ),
    "unknown old unit without a standard COP": (
        dict(aircon=csv(UNITS, "A1,市役所,134.004,35.069,,4.2")),
        ["row 2 (A1)", "standard_cop_cooling"],
    ),
    "readings given twice": (
        dict(solar=csv(SITES + ",generated_kwh,sold_kwh", GOOD_SITE + ",5300,3710")),
        ["solar.csv", "readings given twice"],
    ),
    "reading for an unknown unit": (
        dict(aircon_readings=csv(AC_READINGS, f"B7,{FY2023[0]},{FY2023[1]},1000")),
        ["aircon_readings.csv", "row 2 (B7)", "unknown unit_id 'B7'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_energy_input_is_refused(tmp_path, capsys, case):
    changes, needles = BAD_INPUTS[case]
    files = dict(
        solar=csv(SITES, GOOD_SITE),
        solar_readings=csv(READINGS, GOOD_READING),
        aircon=csv(UNITS, GOOD_UNIT),
        aircon_readings=csv(AC_READINGS, GOOD_AC),
    )
    files.update(changes)
    folder = energy_program(tmp_path / "p", **files)
    out = tmp_path / "out"
    code = main(["energy", str(folder), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists() or not any(out.iterdir())


def test_every_problem_of_every_energy_file_is_listed_at_once(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    energy_program(
        folder,
        solar=csv(SITES, site("S1", kw=-1), site("S2", joined="yesterday")),
        solar_readings=csv(READINGS, reading("S1", 3000, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,0.5,4.2"),
        write_toml=False,
    )
    out = tmp_path / "out"
    assert main(["run", str(folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    for needle in ("row 2 (S1), column 'capacity_kw'", "row 3 (S2), column 'joined'",
                   "aircon.csv, row 2 (A1), column 'cop_baseline'"):  # fmt: skip
        assert needle in err, err
    assert not out.exists()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_point_layer_problems(tmp_path, capsys):
    folder = energy_program(tmp_path / "p", solar_readings=csv(READINGS, GOOD_READING))
    layer = gpd.GeoDataFrame(
        {"site_id": ["S1"], "capacity_kw": [4.5], "commissioned": ["2015-06-01"],
         "joined": ["2016-01-01"]},
        geometry=[LineString([(0, 0), (1, 1)])],
        crs=None,
    )  # fmt: skip
    layer.to_file(folder / "solar.gpkg", layer="solar", engine="pyogrio")
    out = tmp_path / "out"
    assert main(["energy", str(folder), "--out", str(out)]) == 1
    assert "solar.gpkg: the layer has no CRS" in capsys.readouterr().err
    layer.set_crs("EPSG:6673").to_file(folder / "solar.gpkg", layer="solar", engine="pyogrio")
    assert main(["energy", str(folder), "--out", str(out)]) == 1
    assert "feature 1 (S1), column 'geometry': expected a Point, got LineString" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_load_energy_raises_one_input_error(tmp_path):
    folder = energy_program(
        tmp_path, solar=csv(SITES, GOOD_SITE), solar_readings=csv(READINGS, reading("S1", -1, -1))
    )
    with pytest.raises(InputError) as info:
        load_energy(folder)
    assert len(info.value.problems) == 2


# --- the bundled sample --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_energy():
    from forestcarbon.cli.commands import SAMPLE_DIR
    from forestcarbon.sample.energy import energy_cases, generate_energy
    from forestcarbon.sample.program import SEED

    settings = load_settings(SAMPLE_DIR)
    result = compute_energy(load_energy(SAMPLE_DIR, settings), settings)
    return SAMPLE_DIR, result, energy_cases(generate_energy(SEED))


def test_sample_energy_exercises_every_case(sample_energy):
    _, result, cases = sample_energy
    period = "2023-04-01/2024-03-31"
    pv = result.solar[result.solar["period"] == period].set_index("site_id")
    assert len(pv) == 464 and all(len(ids) >= 2 for ids in cases.values())
    assert pv.loc[cases["pv_measured"], "method"].eq("measured").all()
    assert pv.loc[cases["pv_measured"], "eligible"].all()
    estimated = pv.loc[cases["pv_estimated"]]
    assert estimated["method"].eq("estimated").all()
    assert "prorated_to_eligibility" in pv.loc[cases["pv_joined_fy2023"][0], "flags"]
    started = pv.loc[cases["pv_commissioned_fy2023"]]
    later = started[["commissioned", "joined"]].max(axis=1)
    assert (started["eligible_from"] == later).all()
    assert (
        started["counted_days"] == (dt.date(2024, 3, 31) - later).map(lambda d: d.days + 1)
    ).all()
    blocked = pv.loc[cases["pv_blocked"]]
    assert not blocked["eligible"].any() and blocked["reason"].str.contains("subsidy").all()
    assert pv.loc[cases["pv_monthly"], "counted_days"].eq(366).all()
    assert pv.loc[cases["pv_city_rooftop"], "capacity_kw"].max() == 42
    ac = result.aircon[result.aircon["period"] == period].set_index("unit_id")
    assert ac.loc[cases["ac_single_ratio"], "method"].eq("single_ratio").all()
    assert ac.loc[cases["ac_split"], "method"].eq("split").all()
    assert ac.loc[cases["ac_conservative_ratio"], "method"].eq("conservative_ratio").all()
    unknown = ac.loc[cases["ac_standard_unknown_unit"], "baseline_source"]
    assert unknown.eq("standard_unknown_unit").all()
    old = ac.loc[cases["ac_standard_old_unit"], "baseline_source"]
    assert old.eq("standard_old_unit").all()
    fy22 = result.aircon[result.aircon["period"] == "2022-04-01/2023-03-31"].set_index("unit_id")
    assert not fy22.loc[cases["ac_installed_fy2023"], "eligible"].any()
    assert ac["eligible"].all()


def test_sample_energy_is_tsuyama_sized(sample_energy):
    folder, result, _ = sample_energy
    s = summary(result)
    # Tsuyama sold 300 t from 460 households' PV; ~0.7 t per household-year
    pv = Decimal(s.loc[("EN-R-002", "2023-04-01/2024-03-31"), "total_tco2"])
    assert 250 < pv < 450
    assert 10 < Decimal(s.loc[("EN-S-004", "2023-04-01/2024-03-31"), "total_tco2"]) < 100
    raw = (folder / "solar.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp932").startswith("設備ID,容量(kW)")


def test_sample_readme_energy_examples_match_the_data(sample_energy):
    folder, _, cases = sample_energy
    rows = {}
    for line in (folder / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)` \|", line)
        if match and match.group(1) in cases:
            rows[match.group(1)] = re.findall(r"`([A-Z]+-\d+)`", line)
    assert set(rows) == set(cases)
    for case, ids in rows.items():
        assert ids and set(ids) <= set(cases[case]), case


def test_header_only_readings_table_means_no_readings(tmp_path):
    folder = energy_program(
        tmp_path, solar=csv(SITES, site("S1", kw=4.0)), solar_readings=csv(READINGS)
    )
    row = compute(folder).solar.iloc[0]
    assert row["method"] == "estimated"
    assert row["reduction_tco2"] == pytest.approx(0.553194901, abs=1e-9)
