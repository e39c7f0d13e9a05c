"""Synthetic household solar (EN-R-002) and public air-conditioning (EN-S-004) data of the sample.

Called once by :func:`forestcarbon.sample.program.write_sample`. Nothing here is real: 460 made-up
households in Tsuyama's town areas (2-10 kW, commissioned 2009-2023, joined at various dates),
four city rooftop plants (the sizes the city reports: 道の駅 久米の里 10 kW, こどもセンター 42 kW,
two community halls 19.8 kW), and the air-conditioning units of six public facilities, with
readings for FY2022 and FY2023. A few sites have no readings (estimated), a few are blocked by their
subsidy, some joined or were commissioned during FY2023, a few report monthly readings.

Everything comes from ``numpy.random.default_rng(seed + ENERGY_SEED_OFFSET)``: the same seed gives
the same bytes, and the forest part of the sample is untouched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.files import write_gpkg

if TYPE_CHECKING:
    from pathlib import Path

ENERGY_SEED_OFFSET = 3
CRS = "EPSG:6673"
CITY_HALL = (-30_000.0, -103_200.0)
"""Tsuyama city hall in EPSG:6673 [m] (x easting, y northing; about 35.07N, 134.00E)."""

FISCAL_YEARS = (2022, 2023)
"""Fiscal years with readings: the sample program's two periods."""

TOWNS = (
    # name, offset east [m], offset north [m] from city hall, spread [m], households
    ("中心市街地", 0, 0, 900, 170),
    ("院庄", -4_500, -400, 600, 50),
    ("高野", 3_500, 1_500, 700, 60),
    ("一宮", -500, 4_000, 600, 45),
    ("林田", 2_500, -1_200, 500, 40),
    ("勝北", 4_500, 8_000, 900, 40),
    ("久米", -9_000, -2_000, 900, 35),
    ("加茂", 2_000, 14_000, 900, 20),
)
"""Synthetic clusters of households (approximate town areas; positions are made up)."""

CITY_PLANTS = (
    # id, name, capacity [kW], offset east, offset north [m], commissioned
    ("CITY-01", "道の駅 久米の里", 10.0, -9_300, -2_300, dt.date(2014, 7, 1)),
    ("CITY-02", "こどもセンター", 42.0, 700, 350, dt.date(2015, 3, 20)),
    ("CITY-03", "高野公民館", 19.8, 3_500, 1_500, dt.date(2015, 10, 1)),
    ("CITY-04", "一宮公民館", 19.8, -500, 4_000, dt.date(2016, 2, 1)),
)
"""City rooftop plants (capacities as the city reports them; everything else synthetic)."""

PV_YIELD_KWH_PER_KW = 1177.0
"""Okayama mean yield [kWh/kW/yr] (methodology note); each site-year varies around it."""

MONTHLY_SHARE = (0.095, 0.105, 0.09, 0.10, 0.105, 0.085, 0.08, 0.065, 0.06, 0.06, 0.07, 0.085)
"""Synthetic share of annual PV generation by month, April to March."""

N_BLOCKED = 6
N_ESTIMATED = {2022: 5, 2023: 8}
N_MONTHLY = 10

FACILITIES = (
    # facility, offset east, offset north [m], unit prefix, units, capacity [kW], installed,
    # case (see _facility_units)
    ("津山市役所", 0, 0, "CH", 8, 22.4, dt.date(2021, 11, 15), "replaced"),
    ("こどもセンター", 700, 350, "KC", 4, 14.0, dt.date(2022, 8, 1), "unknown_old_unit"),
    ("高野公民館", 3_500, 1_500, "TK", 2, 11.2, dt.date(2020, 6, 1), "pairs"),
    ("一宮公民館", -500, 4_000, "IM", 2, 11.2, dt.date(2023, 7, 1), "replaced"),
    ("市立中央小学校", -800, -600, "ES", 6, 16.0, dt.date(2022, 4, 1), "very_old_unit"),
    ("市立図書館", 400, -300, "LB", 3, 28.0, dt.date(2019, 9, 1), "split"),
)
"""Synthetic public facilities and their upgraded air-conditioning units."""

ENERGY_TOML = """
[energy]
emission_factor = "substitute"        # packaged kind: 0.000434 t-CO2/kWh (代替値, unverified)
standard_cop_cooling = 3.6            # SYNTHETIC standard-unit COPs (baseline when the old unit
standard_cop_heating = 4.0            # is unknown or older than twice its statutory life)
"""

SOLAR_HEADER = ("設備ID", "容量(kW)", "運転開始日", "加入日", "FIT区分", "補助金制限", "不可理由",
                "経度", "緯度")  # fmt: skip
"""solar.csv headers (Japanese, written in cp932 as Japanese systems export)."""


def _fy_bounds(fy: int) -> tuple[dt.date, dt.date]:
    return dt.date(fy, 4, 1), dt.date(fy + 1, 3, 31)


def _random_date(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=CRS).to_crs("EPSG:4326")
    return np.round(pts.x.to_numpy(), 6), np.round(pts.y.to_numpy(), 6)


def households(rng: np.random.Generator) -> pd.DataFrame:
    """PV sites: site_id, capacity_kw, commissioned, joined, fit_status, blocked, block_reason,
    x, y [EPSG:6673 m], self_ratio (the site's true self-consumption share), kind."""
    rows = []
    years = np.arange(2009, 2024)
    weights = np.array([2, 3, 5, 9, 12, 12, 10, 8, 7, 6, 6, 5, 5, 5, 5], dtype=float)
    for town, dx, dy, spread, n in TOWNS:
        centre = np.array([CITY_HALL[0] + dx, CITY_HALL[1] + dy])
        xy = rng.normal(0, spread, size=(n, 2)) + centre
        for x, y in xy:
            year = int(rng.choice(years, p=weights / weights.sum()))
            commissioned = _random_date(rng, dt.date(year, 1, 1), dt.date(year, 12, 31))
            commissioned = min(commissioned, dt.date(2024, 2, 15))
            if commissioned < dt.date(2013, 10, 1):
                joined = _random_date(rng, dt.date(2013, 10, 1), dt.date(2016, 3, 31))
            else:
                joined = commissioned + dt.timedelta(days=int(rng.integers(0, 400)))
            joined = min(joined, dt.date(2024, 2, 29))
            capacity = float(np.clip(rng.lognormal(np.log(4.5), 0.3), 2.0, 10.0))
            ratio = float(np.clip(rng.normal(0.30, 0.07), 0.12, 0.6))
            rows.append((town, round(capacity, 2), commissioned, joined, x, y, ratio))
    df = pd.DataFrame(
        rows, columns=["town", "capacity_kw", "commissioned", "joined", "x", "y", "self_ratio"]
    )
    df.insert(0, "site_id", [f"PV-{i + 1:04d}" for i in range(len(df))])
    df["kind"] = "household"
    plants = pd.DataFrame(
        [
            {
                "site_id": sid,
                "town": name,
                "capacity_kw": kw,
                "commissioned": start,
                "joined": dt.date(2016, 4, 1),
                "x": CITY_HALL[0] + dx,
                "y": CITY_HALL[1] + dy,
                "self_ratio": 0.7,
                "kind": "city",
            }
            for sid, name, kw, dx, dy, start in CITY_PLANTS
        ]
    )
    df = pd.concat([df, plants], ignore_index=True)
    fit_end = df["commissioned"].map(lambda d: d.replace(year=d.year + 10))
    df["fit_status"] = np.where(fit_end < dt.date(2023, 4, 1), "卒FIT", "余剰")
    df["blocked"] = False
    df["block_reason"] = ""
    candidates = np.flatnonzero((df["kind"] == "household").to_numpy())
    blocked = rng.choice(candidates, size=N_BLOCKED, replace=False)
    df.loc[blocked, "blocked"] = True
    df.loc[blocked, "block_reason"] = "県の補助金: 環境価値は県に帰属 (synthetic)"
    return df


def solar_readings(rng: np.random.Generator, sites: pd.DataFrame) -> pd.DataFrame:
    """Readings per site and fiscal year (from commissioning when that falls in the year); a few
    sites have none in a year (estimated), a few report monthly purchase notices in FY2023."""
    households_idx = np.flatnonzero((sites["kind"] == "household").to_numpy())
    missing = {
        fy: set(rng.choice(households_idx, size=n, replace=False)) for fy, n in N_ESTIMATED.items()
    }
    monthly = set(rng.choice(households_idx, size=N_MONTHLY, replace=False))
    rows = []
    for i, s in enumerate(sites.itertuples(index=False)):
        for fy in FISCAL_YEARS:
            fy_start, fy_end = _fy_bounds(fy)
            start = max(fy_start, s.commissioned)
            factor = float(rng.normal(1.0, 0.07))
            if start > fy_end or i in missing[fy]:
                continue
            days = (fy_end - start).days + 1
            generated = s.capacity_kw * PV_YIELD_KWH_PER_KW * factor * days / 365
            if fy == 2023 and i in monthly and start == fy_start:
                rows += _monthly(s.site_id, fy, generated, s.self_ratio)
                continue
            gen = round(generated)
            rows.append((s.site_id, start, fy_end, gen, round(gen * (1 - s.self_ratio))))
    return pd.DataFrame(
        rows, columns=["site_id", "period_start", "period_end", "generated_kwh", "sold_kwh"]
    )


def _monthly(site_id: str, fy: int, generated: float, ratio: float) -> list[tuple]:
    rows = []
    month_starts = pd.date_range(dt.date(fy, 4, 1), periods=12, freq="MS")
    for share, start in zip(MONTHLY_SHARE, month_starts, strict=True):
        gen = round(generated * share)
        end = (start + pd.offsets.MonthEnd(0)).date()
        rows.append((site_id, start.date(), end, gen, round(gen * (1 - ratio))))
    return rows


def _facility_units(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for facility, dx, dy, prefix, n, kw, installed, case in FACILITIES:
        for k in range(1, n + 1):
            row = {
                "unit_id": f"{prefix}-{k:02d}",
                "facility": facility,
                "capacity_kw": kw,
                "installed": installed,
                "joined": max(installed, dt.date(2019, 4, 1)),
                "baseline_year": int(installed.year - rng.integers(12, 20)),
                "drive": "電気",
                "x": CITY_HALL[0] + dx + rng.normal(0, 8),
                "y": CITY_HALL[1] + dy + rng.normal(0, 8),
                "split": case == "split" or (case == "replaced" and prefix == "CH" and k > 6),
            }
            old, new = round(rng.uniform(2.6, 3.1), 2), round(rng.uniform(4.2, 4.7), 2)
            if case == "replaced" and not row["split"]:
                row |= {"cop_baseline": old, "cop_project": new}
            elif case == "unknown_old_unit":
                row |= {"cop_project_cooling": new, "cop_project_heating": round(new + 0.4, 2)}
                row["baseline_year"] = None
            elif case == "very_old_unit":
                row |= {"cop_baseline": 2.5, "cop_project": new, "baseline_year": 1990}
            else:  # pairs or split: cooling and heating COPs of both units
                row |= {
                    "cop_baseline_cooling": old,
                    "cop_baseline_heating": round(old + 0.3, 2),
                    "cop_project_cooling": new,
                    "cop_project_heating": round(new + 0.4, 2),
                }
            rows.append(row)
    return pd.DataFrame(rows)


def aircon_readings(rng: np.random.Generator, units: pd.DataFrame) -> pd.DataFrame:
    """Annual electricity per unit and fiscal year from installation on (about 400 full-load
    hours of the rated capacity); cooling and heating apart for the split-metered units."""
    rows = []
    for u in units.itertuples(index=False):
        for fy in FISCAL_YEARS:
            fy_start, fy_end = _fy_bounds(fy)
            start = max(fy_start, u.installed)
            if start > fy_end:
                continue
            days = (fy_end - start).days + 1
            kwh = round(u.capacity_kw * 400 * float(rng.normal(1.0, 0.1)) * days / 365)
            if u.split:
                cooling = round(kwh * float(rng.uniform(0.5, 0.62)))
                rows.append((u.unit_id, start, fy_end, "", cooling, kwh - cooling))
            else:
                rows.append((u.unit_id, start, fy_end, kwh, "", ""))
    columns = ["unit_id", "period_start", "period_end", "electricity_kwh", "cooling_kwh",
               "heating_kwh"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _csv_bytes(df: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(df.columns)
    writer.writerows(df.itertuples(index=False, name=None))
    return buffer.getvalue().encode(encoding)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def generate_energy(seed: int) -> dict[str, pd.DataFrame]:
    """The sample's energy tables in memory: sites, solar_readings, units, aircon_readings."""
    rng = np.random.default_rng(seed + ENERGY_SEED_OFFSET)
    sites = households(rng)
    readings = solar_readings(rng, sites)
    units = _facility_units(rng)
    return {
        "sites": sites,
        "solar_readings": readings,
        "units": units,
        "aircon_readings": aircon_readings(rng, units),
    }


def write_energy_sample(out: Path, *, seed: int) -> None:
    """Write solar.csv (cp932, Japanese headers), solar_readings.csv, aircon.gpkg (points,
    EPSG:6673) and aircon_readings.csv; add the [energy] settings to program.toml and a section
    to README.md (both already written by :func:`forestcarbon.sample.program.write_sample`)."""
    tables = generate_energy(seed)
    sites = tables["sites"]
    lon, lat = _lonlat(sites["x"].to_numpy(), sites["y"].to_numpy())
    solar = pd.DataFrame(
        {
            "設備ID": sites["site_id"],
            "容量(kW)": sites["capacity_kw"].map("{:g}".format),
            "運転開始日": sites["commissioned"].map(dt.date.isoformat),
            "加入日": sites["joined"].map(dt.date.isoformat),
            "FIT区分": sites["fit_status"],
            "補助金制限": np.where(sites["blocked"], "有", ""),
            "不可理由": sites["block_reason"],
            "経度": lon,
            "緯度": lat,
        }
    )
    _write(out / "solar.csv", _csv_bytes(solar, "cp932"))
    _write(out / "solar_readings.csv", _csv_bytes(tables["solar_readings"]))
    units = tables["units"]
    layer = gpd.GeoDataFrame(
        units.drop(columns=["x", "y", "split"]),
        geometry=gpd.points_from_xy(units["x"].round(1), units["y"].round(1)),
        crs=CRS,
    )
    for col in ("installed", "joined"):
        layer[col] = layer[col].map(dt.date.isoformat)
    tmp = out / "aircon.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    write_gpkg(layer, tmp, layer="aircon")
    os.replace(tmp, out / "aircon.gpkg")
    _write(out / "aircon_readings.csv", _csv_bytes(tables["aircon_readings"]))
    toml = (out / "program.toml").read_text(encoding="utf-8")
    _write(out / "program.toml", (toml + ENERGY_TOML).encode("utf-8"))
    readme = (out / "README.md").read_text(encoding="utf-8")
    _write(out / "README.md", (readme.rstrip("\n") + "\n\n" + readme_section(tables)).encode())


def energy_cases(tables: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Case -> ids of the sites or units that exercise it (checked by the tests)."""
    sites, readings = tables["sites"], tables["solar_readings"]
    fy23 = readings[readings["period_start"] >= dt.date(2023, 4, 1)]
    n_rows = fy23.groupby("site_id").size()
    household = sites[sites["kind"] == "household"]
    in_fy23 = household["joined"].between(dt.date(2023, 4, 2), dt.date(2024, 3, 31))
    started = household["commissioned"].between(dt.date(2023, 4, 2), dt.date(2024, 3, 31))
    units = tables["units"]
    return {
        "pv_measured": list(household.loc[household["site_id"].map(n_rows).eq(1) & ~in_fy23
                                          & ~household["blocked"], "site_id"]),
        "pv_estimated": list(household.loc[~household["site_id"].isin(fy23["site_id"])
                                           & household["commissioned"].lt(dt.date(2023, 4, 1)),
                                           "site_id"]),
        "pv_joined_fy2023": list(household.loc[in_fy23 & ~started, "site_id"]),
        "pv_commissioned_fy2023": list(household.loc[started, "site_id"]),
        "pv_blocked": list(household.loc[household["blocked"], "site_id"]),
        "pv_monthly": list(n_rows[n_rows == 12].index),
        "pv_city_rooftop": list(sites.loc[sites["kind"] == "city", "site_id"]),
        "ac_single_ratio": list(units.loc[units["unit_id"].str.startswith("CH")
                                          & ~units["split"], "unit_id"]),
        "ac_split": list(units.loc[units["split"], "unit_id"]),
        "ac_standard_unknown_unit": list(units.loc[units["unit_id"].str.startswith("KC"),
                                                   "unit_id"]),
        "ac_standard_old_unit": list(units.loc[units["unit_id"].str.startswith("ES"), "unit_id"]),
        "ac_conservative_ratio": list(units.loc[units["unit_id"].str.startswith("TK"),
                                                "unit_id"]),
        "ac_installed_fy2023": list(units.loc[units["unit_id"].str.startswith("IM"), "unit_id"]),
    }  # fmt: skip


CASE_TEXT = {
    "pv_measured": ("実測", "FY2023 reading (generated, sold)", "eligible, measured"),
    "pv_estimated": ("推計", "no FY2023 reading", "eligible, estimated (discounted)"),
    "pv_joined_fy2023": ("年度途中加入", "joined during FY2023", "counted from joining"),
    "pv_commissioned_fy2023": ("年度途中稼働", "commissioned during FY2023", "from commissioning"),
    "pv_blocked": ("補助金制限", "subsidy forbids J-Credit", "excluded with a reason"),
    "pv_monthly": ("月別検針", "12 monthly purchase notices in FY2023", "summed"),
    "pv_city_rooftop": ("市有施設", "city rooftop plants", "eligible, measured"),
    "ac_single_ratio": ("市役所", "old and new COP, total metering", "EL_PJ x COP ratio"),
    "ac_split": ("冷暖別計量", "cooling/heating metered apart", "one ratio each"),
    "ac_standard_unknown_unit": ("旧機不明", "old unit unknown", "standard-unit baseline"),
    "ac_standard_old_unit": ("旧機老朽", "old unit from 1990 (> 2 x 13 years)", "standard unit"),
    "ac_conservative_ratio": ("冷暖COP", "cooling/heating COPs, total metering",
                              "conservative single ratio"),
    "ac_installed_fy2023": ("FY2023導入", "installed 2023-07-01", "FY2022 not yet eligible"),
}  # fmt: skip


def readme_section(tables: dict[str, pd.DataFrame]) -> str:
    """The README.md section describing the energy part of the sample."""
    sites, units = tables["sites"], tables["units"]
    cases = energy_cases(tables)
    house_kw = sites.loc[sites["kind"] == "household", "capacity_kw"]
    lines = [
        "## Energy activities / 省エネ・再エネ活動 (EN-R-002, EN-S-004)",
        "",
        f"{len(house_kw)} synthetic households' PV ({house_kw.sum():.1f} kW, "
        f"2–10 kW each) in Tsuyama's town areas and {len(CITY_PLANTS)} city rooftop plants; "
        f"{len(units)} air-conditioning units in {units['facility'].nunique()} public facilities. "
        "Readings for FY2022 and FY2023. Positions, capacities, dates and readings are made up.",
        "",
        "| file | content |",
        "|---|---|",
        "| `solar.csv` | Shift_JIS (cp932), Japanese headers `設備ID,容量(kW),運転開始日,加入日,"
        "FIT区分,補助金制限,不可理由,経度,緯度`: one row per PV site |",
        "| `solar_readings.csv` | generated and sold kWh per site and reading period |",
        "| `aircon.gpkg` | layer `aircon`, EPSG:6673 points: one row per unit with COPs |",
        "| `aircon_readings.csv` | electricity (or cooling/heating) kWh per unit and period |",
        "",
        "| case | 区分 | data | expected treatment | example ids |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for case, ids in cases.items():
        ja, data, treatment = CASE_TEXT[case]
        examples = ", ".join(f"`{i}`" for i in ids[:3])
        lines.append(f"| `{case}` | {ja} | {data} | {treatment} | {examples} |")
    return "\n".join(lines) + "\n"
