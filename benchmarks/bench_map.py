"""Benchmark of the program map at city scale against a plain ``GeoDataFrame.explore()`` map.

A synthetic city program: 10,000 stands (Voronoi cells around Tsuyama with wiggly, shared
boundaries: segments every 10 m displaced by a smooth field, vertices stored at 1 cm, about 80
vertices per stand, as digitised forest plan maps are), 5,000 households and 30 facilities (two
air-conditioning units each). Both maps show the same layers: stands coloured by net
t-CO2/ha/yr with a popup and tooltip, the households, the facilities.

* public edition: ``forestcarbon.outputs.map.program_map(edition="public")``;
* plain map: ``explore()`` of the per-stand table (column, Quantiles k=5, tooltip and popup with the
  same fields; legend off because it needs d3 from a CDN), then of the households and facilities.

Prints HTML size [MB] and time to first render [s] in headless Chromium (Debian's chromium, network
cut off, libraries served from local files; median of 3 loads: navigation start to the second
animation frame after the load event), with the ratios. Targets (issue #4): public edition under
5 MB, at least 5x smaller and at least 3x faster to render.

    python benchmarks/bench_map.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forestcarbon.outputs.map import ASSETS, map_html, program_map  # noqa: E402
from forestcarbon.outputs.map_data import stand_totals  # noqa: E402
from tests.outputs.map_browser import launch, open_page  # noqa: E402

N_STANDS, N_HOUSEHOLDS, N_FACILITIES = 10_000, 5_000, 30
PERIOD = "2023-04-01/2024-03-31"
CENTRE = (-30_000.0, -95_000.0)  # EPSG:6673 [m], hills north of Tsuyama
LOADS = 3


def synthetic_stands(n: int, rng) -> gpd.GeoDataFrame:
    """FO-001-like results for one period with polygons that share their boundaries."""
    width, height = 22_000.0, 17_000.0
    x0, y0 = CENTRE
    frame = shapely.box(x0 - width / 2, y0 - height / 2, x0 + width / 2, y0 + height / 2)
    seeds = shapely.multipoints(
        np.c_[
            rng.uniform(x0 - width / 2, x0 + width / 2, n),
            rng.uniform(y0 - height / 2, y0 + height / 2, n),
        ]
    )
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame
    )
    cells = shapely.segmentize(cells, 10.0)
    xy = shapely.get_coordinates(cells)
    x, y = xy[:, 0], xy[:, 1]
    wiggle = np.c_[
        3 * np.sin(x / 7.1 + y / 11.3) + 2 * np.sin(y / 5.3 - x / 13.7),
        3 * np.cos(x / 9.7 - y / 6.1) + 2 * np.sin(x / 4.9 + y / 8.9),
    ]
    cells = shapely.set_precision(shapely.set_coordinates(cells, xy + wiggle), 0.01)
    area_ha = shapely.area(cells) / 10_000
    eligible = rng.random(n) < 0.8
    rate = np.where(eligible, rng.gamma(4.0, 1.5, n), 0.0)
    rate[eligible & (rng.random(n) < 0.01)] *= -3  # a few harvested stands
    removals = np.where(rate > 0, rate * area_ha, 0.0)
    emissions = np.where(rate < 0, -rate * area_ha, 0.0)
    species = rng.choice(["hinoki", "sugi", "akamatsu", "nara", "kunugi"], n)
    reasons = np.array(
        [
            "ineligible: outside any forest management plan (森林経営計画)",
            "ineligible: planted forest (人工林) with no planting, weeding, cleaning or thinning "
            "(植栽・下刈・除伐・間伐) recorded since 1990-04-01",
            "ineligible: natural forest (天然生林) not under legal protection (保安林)",
        ]
    )
    df = pd.DataFrame(
        {
            "stand_id": [f"{i // 40 + 1}-{i % 40 + 1}-1" for i in range(n)],
            "period": PERIOD,
            "eligible": eligible,
            "reason": np.where(
                eligible,
                "eligible: planted forest (人工林) with 3 qualifying operation(s) since "
                "1990-04-01; counted the whole stand",
                reasons[rng.integers(0, 3, n)],
            ),
            "species": species,
            "area_ha": area_ha,
            "eligible_area_ha": np.where(eligible, area_ha, 0.0),
            "age_end": rng.integers(5, 90, n),
            "removals_tco2": removals,
            "emissions_tco2": emissions,
            "net_tco2": removals - emissions,
        }
    )
    return gpd.GeoDataFrame(df, geometry=cells, crs="EPSG:6673")


def synthetic_households(n: int, rng) -> gpd.GeoDataFrame:
    """Household PV results for one period; households cluster in a few towns."""
    towns = np.array([[134.004, 35.069], [133.93, 35.07], [134.07, 35.1], [134.0, 35.15]])
    town = rng.choice(len(towns), n, p=[0.55, 0.2, 0.15, 0.1])
    lonlat = towns[town] + rng.normal(0, 0.012, (n, 2))
    capacity = rng.uniform(3.0, 8.0, n).round(2)
    self_kwh = capacity * 1177 * 0.3
    return gpd.GeoDataFrame(
        {
            "site_id": [f"PV-{i + 1:05d}" for i in range(n)],
            "period": PERIOD,
            "capacity_kw": capacity,
            "self_consumed_kwh": self_kwh,
            "ef_t_per_kwh": 0.000434,
            "reduction_tco2": self_kwh * 0.000434,
            "method": "estimated",
            "eligible": True,
            "reason": "",
        },
        geometry=shapely.points(lonlat),
        crs="EPSG:4326",
    )


def synthetic_facilities(n: int, rng) -> gpd.GeoDataFrame:
    lonlat = np.array([134.004, 35.069]) + rng.normal(0, 0.03, (n, 2))
    rows = []
    for i in range(n):
        for unit in ("a", "b"):
            rows.append(
                {
                    "unit_id": f"AC-{i + 1:02d}{unit}",
                    "facility": f"施設 {i + 1}",
                    "period": PERIOD,
                    "baseline_kwh": 45_000.0,
                    "project_kwh": 30_000.0,
                    "reduction_tco2": 6.51,
                    "lon": lonlat[i, 0],
                    "lat": lonlat[i, 1],
                }
            )
    df = pd.DataFrame(rows)
    return gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs="EPSG:4326",
    )


def plain_map(stands, households, facilities):
    """The same layers with geopandas' ``explore()`` defaults."""
    per_stand = stand_totals(stands).to_crs("EPSG:4326")
    fields = [
        "stand_id",
        "species",
        "age_end",
        "area_ha",
        "removals_tco2",
        "net_tco2",
        "net_tco2_ha_yr",
        "eligible",
        "reason",
    ]
    m = per_stand[[*fields, "geometry"]].explore(
        column="net_tco2_ha_yr",
        scheme="Quantiles",
        k=5,
        legend=False,
        tooltip=[*fields[:2], "net_tco2_ha_yr"],
        popup=fields,
        name="stands",
    )
    households.explore(m=m, name="households")
    facilities.explore(m=m, name="facilities", color="navy")
    return m


def first_render_s(browser, path: Path, aliases: dict) -> tuple[float, list]:
    times, errors = [], []
    for _ in range(LOADS):
        page, log = open_page(browser, path, aliases=aliases)
        ms = page.evaluate(
            "new Promise(done => requestAnimationFrame(() => requestAnimationFrame("
            "() => done(performance.now()))))"
        )
        times.append(ms / 1000)
        errors += log.console_errors + log.page_errors
        page.context.close()
    return statistics.median(times), errors


def main() -> None:
    rng = np.random.default_rng(20141001)
    t = time.perf_counter()
    stands = synthetic_stands(N_STANDS, rng)
    households = synthetic_households(N_HOUSEHOLDS, rng)
    facilities = synthetic_facilities(N_FACILITIES, rng)
    vertices = shapely.get_num_coordinates(stands.geometry.to_numpy()).mean()
    print(
        f"synthetic city: {N_STANDS:,} stands ({vertices:.0f} vertices each on average), "
        f"{N_HOUSEHOLDS:,} households, {N_FACILITIES} facilities "
        f"({time.perf_counter() - t:.1f} s)"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench_map_"))
    t = time.perf_counter()
    ours = program_map(stands, None, solar=households, aircon=facilities, edition="public")
    ours_html = map_html(ours)
    ours_build = time.perf_counter() - t
    t = time.perf_counter()
    plain_html = plain_map(stands, households, facilities).get_root().render().encode("utf-8")
    plain_build = time.perf_counter() - t
    paths = {"public edition": folder / "public.html", "plain explore()": folder / "plain.html"}
    paths["public edition"].write_bytes(ours_html)
    paths["plain explore()"].write_bytes(plain_html)
    # explore() links folium's Leaflet 1.9.3 from a CDN: serve it the vendored 1.9.4 (jQuery,
    # Bootstrap and the icon fonts it also links are not needed to draw and are refused).
    aliases = {
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": ASSETS["leaflet"].file,
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": ASSETS["leaflet_css"].file,
    }
    with launch() as browser:
        render = {name: first_render_s(browser, p, aliases) for name, p in paths.items()}
    size = {name: p.stat().st_size / 1e6 for name, p in paths.items()}
    build = {"public edition": ours_build, "plain explore()": plain_build}
    print(f"\n{'map':<18}{'HTML MB':>10}{'build s':>10}{'first render s':>16}")
    for name in paths:
        print(f"{name:<18}{size[name]:>10.2f}{build[name]:>10.1f}{render[name][0]:>16.2f}")
    smaller = size["plain explore()"] / size["public edition"]
    faster = render["plain explore()"][0] / render["public edition"][0]
    print(
        f"\npublic edition: {size['public edition']:.2f} MB (target < 5), "
        f"{smaller:.1f}x smaller (target >= 5), {faster:.1f}x faster to first render "
        f"(target >= 3)"
    )
    for name, (_, errors) in render.items():
        if errors:
            print(f"{name}: {len(errors)} browser error(s), first: {errors[0]}")


if __name__ == "__main__":
    main()
