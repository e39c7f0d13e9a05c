"""A tiny program for the map tests, built in code with hand-chosen numbers.

Six 2 ha stands (200 m x 100 m, sharing edges) a few km from Tsuyama city hall in EPSG:6673, two
monitoring periods (FY2022: 365 days, FY2023: 366 days), twelve households in three JIS X 0410 1 km
cells (7, 4 and 1 households), two facilities with air conditioning. Several strings are injection
attempts that must show as text.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from forestcarbon.methods.totals import program_summary, summary_row

SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="alert(1)'
IMG = "<img src=x onerror=alert(1)>"

PERIODS = ("2022-04-01/2023-03-31", "2023-04-01/2024-03-31")
YEARS = (365 + 366) / 365.25
"""Length of the two periods [years] as the map counts it."""

# stand_id, name, species, eligible, reason, age_end, per period (removals, emissions)
STANDS = [
    ("1-1-1", "", "sugi", True, "eligible: managed", 41, [(10.0, 0.0), (12.0, 0.0)]),
    ("1-2-1", SCRIPT, "hinoki", True, "eligible: managed", 30, [(4.0, 0.0), (4.5, 0.0)]),
    (ATTR, "", "hinoki", True, "eligible: managed", 25, [(6.0, 0.0), (6.2, 0.0)]),
    ("1-4-1", "", "sugi", True, "eligible: harvested", 1, [(3.0, 0.0), (1.0, 9.0)]),
    (
        "1-5-1",
        "",
        "sugi",
        False,
        "ineligible: outside any forest management plan (森林経営計画)",
        50,
        [(0.0, 0.0), (0.0, 0.0)],
    ),
    ("1-6-1", "", "nara", False, f"ineligible: {IMG}", 60, [(0.0, 0.0), (0.0, 0.0)]),
]
AREA_HA = 2.0
X0, Y0 = -31_000.0, -102_000.0  # EPSG:6673 metres (easting, northing)

SITE_REDUCTION_T = 0.69006
"""Per site and period [t-CO2]: 4.5 kW, 5,300 kWh generated, 3,710 kWh sold, EF 0.000434."""
SITE_KW = 4.5
SITE_SELF_KWH = 1590.0


def stand_polygons() -> list:
    boxes = []
    for i in range(len(STANDS)):
        col, row = i % 3, i // 3
        x, y = X0 + col * 200, Y0 + row * 100
        boxes.append(shapely.box(x, y, x + 200, y + 100))
    return boxes


def stands_layer() -> gpd.GeoDataFrame:
    """FO-001 result rows (one per stand and period) with polygons, like run.fo001_layer."""
    rows, geoms = [], []
    for (sid, name, species, eligible, reason, age, values), poly in zip(
        STANDS, stand_polygons(), strict=True
    ):
        for p, (period, (rem, emi)) in enumerate(zip(PERIODS, values, strict=True)):
            rows.append(
                {
                    "stand_id": sid,
                    "name": name,
                    "period": period,
                    "eligible": eligible,
                    "reason": reason,
                    "species": species,
                    "area_ha": AREA_HA,
                    "eligible_area_ha": AREA_HA if eligible else 0.0,
                    "age_start": age - 1 + p - 1,
                    "age_end": age - 1 + p,
                    "removals_tco2": rem,
                    "emissions_tco2": emi,
                    "net_tco2": rem - emi,
                }
            )
            geoms.append(poly)
    df = pd.DataFrame(rows).sort_values(["period", "stand_id"], kind="stable")
    return gpd.GeoDataFrame(
        df.reset_index(drop=True),
        geometry=[geoms[i] for i in df.index],
        crs="EPSG:6673",
    )


def household_points() -> list[tuple[str, float, float]]:
    """(site_id, lat, lon): 7 in cell 52344080, 4 in 52344081... and 1 alone (1 km cells)."""
    pts = [(35.0680 + i * 0.0009, 134.0013 + i * 0.0013) for i in range(7)]
    pts += [(35.0771 + i * 0.0011, 134.0151 + i * 0.0017) for i in range(4)]
    pts += [(35.0612, 134.0317)]
    return [(f"PV-{i + 1:04d}", lat, lon) for i, (lat, lon) in enumerate(pts)]


def solar_layer() -> gpd.GeoDataFrame:
    """Per-site results (energy.py's solar_sites.csv columns) with the site points."""
    rows, geoms = [], []
    for sid, lat, lon in household_points():
        blocked = sid == "PV-0012"
        for period in PERIODS:
            rows.append(
                {
                    "site_id": sid,
                    "period": period,
                    "capacity_kw": SITE_KW,
                    "self_consumed_kwh": SITE_SELF_KWH,
                    "ef_t_per_kwh": 0.000434,
                    "reduction_tco2": 0.0 if blocked else SITE_REDUCTION_T,
                    "method": "measured",
                    "eligible": not blocked,
                    "reason": "subsidy forbids J-Credit registration" if blocked else "",
                }
            )
            geoms.append(shapely.Point(lon, lat))
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")


FACILITIES = [
    ("津山市役所 City hall", 35.0691, 134.0044, ["AC-01", "AC-02"]),
    (SCRIPT, 35.0550, 134.0200, ["AC-03"]),
    (ATTR, 35.0600, 133.9900, ["AC-04"]),
]
UNIT_BASELINE_KWH, UNIT_PROJECT_KWH, UNIT_REDUCTION_T = 45_000.0, 30_000.0, 6.51


def aircon_layer() -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for facility, lat, lon, units in FACILITIES:
        for unit in units:
            for period in PERIODS:
                rows.append(
                    {
                        "unit_id": unit,
                        "facility": facility,
                        "period": period,
                        "baseline_kwh": UNIT_BASELINE_KWH,
                        "project_kwh": UNIT_PROJECT_KWH,
                        "reduction_tco2": UNIT_REDUCTION_T,
                    }
                )
                geoms.append(shapely.Point(lon, lat))
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")


def summary() -> pd.DataFrame:
    stands, solar, aircon = stands_layer(), solar_layer(), aircon_layer()
    rows = []
    for period in PERIODS:
        s = stands[(stands["period"] == period) & stands["eligible"]]
        rows.append(
            summary_row(
                "FO-001", period, s["removals_tco2"], s["emissions_tco2"], s["stand_id"], 0.0
            )
        )
        p = solar[(solar["period"] == period) & solar["eligible"]]
        rows.append(summary_row("EN-R-002", period, p["reduction_tco2"], [0.0], p["site_id"], 0.0))
        a = aircon[aircon["period"] == period]
        rows.append(summary_row("EN-S-004", period, a["reduction_tco2"], [0.0], a["unit_id"], 0.0))
    return program_summary(rows)


def small_program() -> dict:
    return {
        "stands": stands_layer(),
        "solar": solar_layer(),
        "aircon": aircon_layer(),
        "summary": summary(),
        "title": f"津山市 J-クレジット {SCRIPT}",
    }
