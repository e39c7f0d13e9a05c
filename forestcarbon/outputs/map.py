"""One interactive folium map of the whole program: public and internal editions.

:func:`program_map` draws, on one :class:`folium.Map`:

* forest stands as a choropleth of net removals [t-CO2/ha/yr] (classes from mapclassify, colours
  from branca's ColorBrewer palettes, legend as a branca element); ineligible stands in grey with a
  dashed outline and the reason in their popup;
* household solar (EN-R-002) aggregated to JIS X 0410 regional mesh cells (jismesh); cells with
  fewer than ``privacy_k`` households are suppressed and the map says how many households that
  hides;
  the internal edition adds the sites themselves as clustered points;
* public-facility air conditioning (EN-S-004) as facility points;
* a totals panel (forest / solar / air conditioning / whole program: t-CO2, credits, period), a
  legend, a layer control and a scale bar, labelled in Japanese and English, usable on a phone.

Size and speed at city scale: stand polygons are simplified in metres in their metric CRS (topology
preserved: neighbouring stands keep one shared boundary, via the ``topojson`` package), then
reprojected and written once as TopoJSON quantized to 1e-5 degrees (about 1 m); every attribute is
written once, in compact row arrays (repeated texts such as ineligibility reasons go in a lookup
table); popups and tooltips are built in the browser when opened; the map renders on a canvas.

Safety: every string from the inputs reaches the page only as JSON data (``<``, ``>`` and ``&``
escaped) and is HTML-escaped in the browser when a popup or tooltip is built; texts rendered in
Python (program name, methodology names) are HTML-escaped there.

Offline: ``self_contained=True`` inlines Leaflet and Leaflet.markercluster from the
copies vendored in ``forestcarbon/static/`` (from the npm registry, with their licences); otherwise
the page links to the same versions on a CDN. Nothing is fetched when the map is built.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.params import load_table
from forestcarbon.outputs.layers import fo001_layer

EDITIONS = ("public", "internal")
"""``public``: households only as mesh aggregates. ``internal``: also each site (for officers)."""

MESH_LEVELS = {3: "1 km (3次メッシュ)", 4: "500 m (2分の1メッシュ)", 5: "250 m (4分の1メッシュ)"}
"""JIS X 0410 levels offered for household aggregation (jismesh level numbers)."""

DEFAULT_MESH_LEVEL = 3
"""The 1 km standard regional mesh (基準地域メッシュ): the level official statistics are published
at, coarse enough that most populated cells hold ``privacy_k`` households."""

DEFAULT_SIMPLIFY_M = 5.0
"""Simplification tolerance [m] of stand boundaries: about two plotting widths of a 1:5,000 forest
plan map, invisible below zoom 17; halves the vertices (and the first render) of a city map compared
with 2 m. Officers needing exact boundaries use the GeoPackage outputs in QGIS."""

COORD_STEP_DEG = 1e-5
"""Quantization step of map coordinates [degrees] (1e-5 degrees is about 1 m)."""

SNAP_M = 0.01
"""Grid [m] onto which stand vertices are snapped before shared boundaries are found."""

DAYS_PER_YEAR = 365.25
"""Days per year used for per-year rates on the map (mean calendar year)."""

GSI_PALE = (
    "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
    '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
)
"""Default basemap: GSI (国土地理院) pale map tiles, loaded by the viewer's browser."""

OSM = (
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

TILES = {"gsi_pale": GSI_PALE, "osm": OSM, "none": None}
"""Named basemaps for ``tiles=`` (any ``{z}/{x}/{y}`` URL template is accepted as well)."""

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Asset:
    """A JavaScript or CSS file vendored in ``forestcarbon/static`` and its CDN twin."""

    package: str
    version: str
    path: str  # path inside the npm package

    @property
    def url(self) -> str:
        return f"https://cdn.jsdelivr.net/npm/{self.package}@{self.version}/{self.path}"

    @property
    def file(self) -> Path:
        return STATIC / f"{self.package}-{self.version}" / Path(self.path).name

    @property
    def is_css(self) -> bool:
        return self.path.endswith(".css")


ASSETS = {
    "leaflet": Asset("leaflet", "1.9.4", "dist/leaflet.js"),
    "leaflet_css": Asset("leaflet", "1.9.4", "dist/leaflet.css"),
    "markercluster": Asset("leaflet.markercluster", "1.5.3", "dist/leaflet.markercluster.js"),
    "markercluster_css": Asset("leaflet.markercluster", "1.5.3", "dist/MarkerCluster.css"),
    "markercluster_default_css": Asset(
        "leaflet.markercluster", "1.5.3", "dist/MarkerCluster.Default.css"
    ),
}
"""Every file a map may load; the maps link or inline nothing else (apart from basemap tiles)."""


def vendored_file(url: str) -> Path | None:
    """Local copy of an asset URL the maps use (CDN or relative image), or None.

    Tests and benchmarks serve these files to a browser that has no network.
    """
    for asset in ASSETS.values():
        if url == asset.url:
            return asset.file
        base = asset.url.rsplit("/", 1)[0] + "/images/"
        if url.startswith(base):
            candidate = asset.file.parent / "images" / url[len(base) :]
            return candidate if candidate.is_file() else None
    return None


# --- labels (Japanese / English) ------------------------------------------------------------------

LAYER_NAMES = {
    "eligible": "森林 純吸収量 · Forest stands: net removals",
    "ineligible": "対象外の小班 · Ineligible stands",
    "mesh": "家庭用太陽光 (メッシュ集計) · Household solar (mesh cells)",
    "sites": "家庭用太陽光 各戸 (内部用) · Household solar sites (internal)",
    "facilities": "公共施設の空調 · Public air conditioning",
    "candidates": "間伐候補 (内部用) · Thinning candidates (internal)",
}

METHODOLOGY_LABELS = {
    "FO-001": "森林経営 Forest (FO-001)",
    "EN-R-002": "家庭用太陽光 Household solar (EN-R-002)",
    "EN-S-004": "空調 Air conditioning (EN-S-004)",
    "program": "合計 Whole program",
}

STAND_COLUMNS = (
    "stand_id",
    "period",
    "eligible",
    "reason",
    "species",
    "area_ha",
    "eligible_area_ha",
    "age_end",
    "removals_tco2",
    "emissions_tco2",
    "net_tco2",
)
"""Columns :func:`program_map` needs in ``stands`` (FO-001 results, see ``run.fo001_layer``)."""

SOLAR_COLUMNS = ("site_id", "capacity_kw", "reduction_tco2")
AIRCON_COLUMNS = ("unit_id", "facility", "baseline_kwh", "project_kwh", "reduction_tco2")

INELIGIBLE_COLOR = "#9e9e9e"
NET_EMISSION_COLOR = "#d7301f"
MESH_COLOR = "#e6550d"
FACILITY_COLOR = "#08519c"
CANDIDATE_COLOR = "#7b3294"


def _folium():
    try:
        import folium
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The map needs folium, branca, mapclassify, jismesh and topojson: "
            'pip install "forestcarbon[map]"'
        ) from e
    return folium


# --- data preparation (pure pandas/shapely) -------------------------------------------------------


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _period_years(labels: Iterable[str]) -> float:
    """Total length [years] of distinct ``YYYY-MM-DD/YYYY-MM-DD`` periods (both ends inclusive)."""
    days = 0
    for label in sorted(set(labels)):
        start, end = (dt.date.fromisoformat(p) for p in label.split("/"))
        days += (end - start).days + 1
    return days / DAYS_PER_YEAR


def stand_totals(stands: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per stand over all periods, with the net rate drawn on the map.

    Parameters
    ----------
    stands : GeoDataFrame
        FO-001 results, one row per stand and period, with the stand polygons
        (:func:`forestcarbon.run.fo001_layer`); an optional ``name`` column is shown too.

    Returns
    -------
    GeoDataFrame
        stand_id, name, species, eligible (in any period), reason (of the last period with that
        eligibility), area_ha, eligible_area_ha (largest counted area) [ha], age_end [years] (end of
        the last period), removals_tco2, emissions_tco2, net_tco2 [t-CO2] (sums over periods),
        net_tco2_ha_yr [t-CO2/ha/yr] = net / area_ha / years, geometry; in the input's order.
    """
    _require(stands, STAND_COLUMNS, "stands")
    years = _period_years(stands["period"])
    df = pd.DataFrame(stands.drop(columns=stands.geometry.name))
    if "name" not in df.columns:
        df["name"] = ""
    df = df.assign(_order=np.arange(len(df))).sort_values(["stand_id", "period", "_order"])
    g = df.groupby("stand_id", sort=False)
    last = g.tail(1).set_index("stand_id")
    eligible = g["eligible"].any()
    same = df[df["eligible"].to_numpy() == eligible.reindex(df["stand_id"]).to_numpy()]
    out = pd.DataFrame(
        {
            "stand_id": eligible.index,
            "name": last["name"].fillna("").astype(str).reindex(eligible.index).to_numpy(),
            "species": last["species"].astype(str).reindex(eligible.index).to_numpy(),
            "eligible": eligible.to_numpy(),
            "reason": same.groupby("stand_id")["reason"].last().reindex(eligible.index).to_numpy(),
            "area_ha": last["area_ha"].reindex(eligible.index).to_numpy(float),
            "eligible_area_ha": g["eligible_area_ha"].max().to_numpy(float),
            "age_end": last["age_end"].reindex(eligible.index).to_numpy(),
            "removals_tco2": g["removals_tco2"].sum().to_numpy(float),
            "emissions_tco2": g["emissions_tco2"].sum().to_numpy(float),
            "net_tco2": g["net_tco2"].sum().to_numpy(float),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = out["net_tco2"] / out["area_ha"] / years
    out["net_tco2_ha_yr"] = rate.where(np.isfinite(rate), 0.0)
    first = df.groupby("stand_id", sort=False)["_order"].min()
    geometry = stands.geometry.iloc[first.reindex(out["stand_id"]).to_numpy()].to_numpy()
    order = np.argsort(first.reindex(out["stand_id"]).to_numpy(), kind="stable")
    gdf = gpd.GeoDataFrame(out, geometry=geometry, crs=stands.crs)
    return gdf.iloc[order].reset_index(drop=True)


def classify_rates(rates: np.ndarray, *, scheme: str = "Quantiles", k: int = 5):
    """mapclassify classes of non-negative net rates [t-CO2/ha/yr].

    Returns
    -------
    (classes, upper_bounds)
        Class index per value (-1 for net emissions, i.e. negative rates) and the upper bound of
        each class; classes with no upper bound above the previous one are dropped.
    """
    import mapclassify

    rates = np.asarray(rates, dtype=float)
    classes = np.full(len(rates), -1, dtype=int)
    positive = rates >= 0
    if not positive.any():
        return classes, []
    values = rates[positive]
    n_unique = len(np.unique(values))
    if n_unique < 2:
        classes[positive] = 0
        return classes, [float(values.max())]
    classifier = mapclassify.classify(values, scheme, k=min(k, n_unique))
    bins = np.unique(np.asarray(classifier.bins, dtype=float))
    classes[positive] = np.searchsorted(bins, values, side="left").clip(0, len(bins) - 1)
    return classes, [float(b) for b in bins]


def _metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValueError("the stands layer has no CRS")
    return gdf if gdf.crs.is_projected else gdf.to_crs(gdf.estimate_utm_crs())


def _topology(geoms: gpd.GeoSeries, objects: dict[str, np.ndarray], simplify_m: float) -> dict:
    """TopoJSON of metric polygons: simplified in metres with shared boundaries, then in degrees.

    Vertices are snapped to a ``SNAP_M`` grid so that boundaries digitised twice within that
    distance become one arc; arcs are simplified (Douglas-Peucker, ``simplify_m`` [m]) before they
    are reprojected to EPSG:4326 and quantized to ``COORD_STEP_DEG``.
    """
    import topojson
    from pyproj import Transformer

    xmin, ymin, xmax, ymax = geoms.total_bounds
    grid = int(max((xmax - xmin) / SNAP_M, (ymax - ymin) / SNAP_M, 1e4))
    topo = topojson.Topology(
        gpd.GeoDataFrame(geometry=geoms.to_numpy(), crs=geoms.crs),
        topology=True,
        prequantize=grid,
        toposimplify=simplify_m,
    ).to_dict()
    arcs = [np.asarray(a, dtype=float) for a in topo["arcs"]]
    if "transform" in topo:
        scale = np.asarray(topo["transform"]["scale"], dtype=float)
        shift = np.asarray(topo["transform"]["translate"], dtype=float)
        arcs = [np.cumsum(a, axis=0) * scale + shift for a in arcs]
    lengths = [len(a) for a in arcs]
    xy = np.concatenate(arcs) if arcs else np.empty((0, 2))
    to_deg = Transformer.from_crs(geoms.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(xy[:, 0], xy[:, 1])
    origin = np.floor(np.array([lon.min(), lat.min()]) / COORD_STEP_DEG) if len(xy) else np.zeros(2)
    q = np.rint(np.c_[lon, lat] / COORD_STEP_DEG - origin).astype(np.int64)
    encoded = []
    for part in np.split(q, np.cumsum(lengths)[:-1]):
        keep = np.r_[True, np.any(np.diff(part, axis=0) != 0, axis=1)]
        part = part[keep]
        if len(part) == 1:
            part = np.vstack([part, part])
        encoded.append(np.vstack([part[:1], np.diff(part, axis=0)]).tolist())
    geometries = sorted(topo["objects"]["data"]["geometries"], key=lambda g: g["id"])
    shapes = [{"type": g["type"], "arcs": g["arcs"]} for g in geometries]
    return {
        "type": "Topology",
        "transform": {
            "scale": [COORD_STEP_DEG, COORD_STEP_DEG],
            "translate": [round(float(v) * COORD_STEP_DEG, 5) for v in origin],
        },
        "objects": {
            name: {"type": "GeometryCollection", "geometries": [shapes[i] for i in idx]}
            for name, idx in objects.items()
        },
        "arcs": encoded,
    }


def _lookup(values: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    table = sorted(set(values))
    return table, {v: i for i, v in enumerate(table)}


def _species_labels() -> dict[str, str]:

    t = load_table("species")
    return {r.species: f"{r.name_ja} {r.name_en}" for r in t.itertuples()}


def _r(x: float, digits: int = 2) -> float:
    return round(float(x), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def stands_data(
    totals: gpd.GeoDataFrame, *, simplify_m: float, scheme: str, k: int
) -> tuple[dict, list[float]]:
    """Compact JSON-able data of the stand layers and the class bounds of the legend."""
    from branca.utilities import color_brewer

    eligible = totals["eligible"].to_numpy(bool)
    classes, bounds = classify_rates(
        totals["net_tco2_ha_yr"].to_numpy()[eligible], scheme=scheme, k=k
    )
    stand_class = np.full(len(totals), -2)
    stand_class[eligible] = classes
    labels = _species_labels()
    species, species_idx = _lookup(labels.get(s, s) for s in totals["species"])
    reasons, reason_idx = _lookup(totals.loc[~eligible, "reason"].astype(str))
    rows = [
        [
            r.stand_id,
            r.name,
            species_idx[labels.get(r.species, r.species)],
            int(r.age_end),
            _r(r.area_ha),
            _r(r.eligible_area_ha),
            _r(r.removals_tco2),
            _r(r.emissions_tco2),
            _r(r.net_tco2),
            _r(r.net_tco2_ha_yr),
            int(c),
            -1 if r.eligible else reason_idx[str(r.reason)],
        ]
        for r, c in zip(totals.itertuples(), stand_class, strict=True)
    ]
    metric = _metric(totals)
    objects = {"eligible": np.flatnonzero(eligible), "ineligible": np.flatnonzero(~eligible)}
    topo = _topology(metric.geometry, objects, simplify_m)
    palette = color_brewer("YlGn", n=max(len(bounds), 3))[-len(bounds) :] if bounds else []
    data = {
        "topo": topo,
        "rows": {name: [rows[i] for i in idx] for name, idx in objects.items()},
        "species": species,
        "reasons": reasons,
        "palette": palette,
        "negative": NET_EMISSION_COLOR,
        "ineligible": INELIGIBLE_COLOR,
    }
    return data, bounds


def _points_deg(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    if gdf.crs is None:
        raise ValueError("a point layer has no CRS")
    pts = gdf.geometry.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf.geometry
    return pts.y.to_numpy(), pts.x.to_numpy()


def site_totals(solar: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per household site over all periods: capacity_kw [kW], self_consumed_kwh [kWh],
    reduction_tco2 [t-CO2] (eligible rows), eligible (in any period), reason (last period)."""
    _require(solar, SOLAR_COLUMNS, "solar")
    df = pd.DataFrame(solar.drop(columns=solar.geometry.name))
    df["_geom"] = np.arange(len(df))
    for col, default in (("eligible", True), ("reason", ""), ("self_consumed_kwh", np.nan)):
        if col not in df.columns:
            df[col] = default
    df["eligible"] = df["eligible"].astype(bool)
    counted = df["reduction_tco2"].where(df["eligible"], 0.0)
    g = df.assign(counted=counted).groupby("site_id", sort=False)
    out = pd.DataFrame(
        {
            "site_id": list(g.groups),
            "capacity_kw": g["capacity_kw"].first().to_numpy(float),
            "self_consumed_kwh": g["self_consumed_kwh"].sum(min_count=1).to_numpy(float),
            "reduction_tco2": g["counted"].sum().to_numpy(float),
            "eligible": g["eligible"].any().to_numpy(),
            "reason": g["reason"].last().fillna("").astype(str).to_numpy(),
        }
    )
    geometry = solar.geometry.iloc[g["_geom"].first().to_numpy()].to_numpy()
    return gpd.GeoDataFrame(out, geometry=geometry, crs=solar.crs)


def mesh_cells(sites: gpd.GeoDataFrame, *, level: int, privacy_k: int) -> tuple[list, dict]:
    """Household sites aggregated to JIS X 0410 mesh cells; cells under ``privacy_k`` suppressed.

    Parameters
    ----------
    sites : GeoDataFrame
        One row per site (:func:`site_totals`).
    level : int
        jismesh level: 3 (1 km), 4 (500 m) or 5 (250 m).
    privacy_k : int
        Fewest households a cell may show.

    Returns
    -------
    (cells, hidden)
        cells: ``[south, west, north, east, meshcode, households, capacity_kw, reduction_tco2]`` per
        shown cell; hidden: households and cells suppressed, and their kW and t-CO2.
    """
    import jismesh.utils as ju

    if level not in MESH_LEVELS:
        raise ValueError(f"mesh level {level} not offered; choose one of {sorted(MESH_LEVELS)}")
    lat, lon = _points_deg(sites)
    outside = ~((lat > 0) & (lat < 66.66) & (lon >= 100) & (lon < 180))
    if outside.any():
        raise InputError(
            [
                Problem("solar", str(sid), "geometry", "outside the area of JIS X 0410 mesh codes")
                for sid in sites["site_id"].to_numpy()[outside]
            ]
        )
    # jismesh 2.1 calls numpy.asscalar (removed in numpy 1.23) on one-element arrays: pad to two.
    codes = ju.to_meshcode(np.r_[lat, lat[:1]], np.r_[lon, lon[:1]], level)[: len(lat)]
    df = pd.DataFrame(
        {
            "code": codes,
            "kw": sites["capacity_kw"].to_numpy(float),
            "t": sites["reduction_tco2"].to_numpy(float),
        }
    )
    agg = df.groupby("code", sort=True).agg(n=("kw", "size"), kw=("kw", "sum"), t=("t", "sum"))
    shown = agg[agg["n"] >= privacy_k]
    hidden = agg[agg["n"] < privacy_k]
    cells = []
    if len(shown):
        code_arr = np.r_[shown.index.to_numpy(), shown.index.to_numpy()[:1]]
        s, w = (a[: len(shown)] for a in ju.to_meshpoint(code_arr, 0, 0))
        n, e = (a[: len(shown)] for a in ju.to_meshpoint(code_arr, 1, 1))
        for i, (code, r) in enumerate(shown.iterrows()):
            cells.append(
                [
                    round(float(s[i]), 6),
                    round(float(w[i]), 6),
                    round(float(n[i]), 6),
                    round(float(e[i]), 6),
                    str(code),
                    int(r["n"]),
                    _r(r["kw"], 1),
                    _r(r["t"], 3),
                ]
            )
    summary = {
        "households": int(hidden["n"].sum()),
        "cells": len(hidden),
        "capacity_kw": float(hidden["kw"].sum()),
        "reduction_tco2": float(hidden["t"].sum()),
    }
    return cells, summary


def _rs(baseline_kwh: float, project_kwh: float, reduction_tco2: float) -> list[float]:
    return [_r(baseline_kwh, 0), _r(project_kwh, 0), _r(reduction_tco2, 3)]


def candidate_rows(candidates: pd.DataFrame) -> dict:
    """Thinning candidates for the map: stand id -> [id, species, age, area [ha], added [t-CO2],
    crediting years, rule], the fiscal year and the outline colour."""
    rows = {
        str(r.stand_id): [
            str(r.stand_id),
            str(r.species),
            int(r.age),
            _r(r.thinning_area_ha, 2),
            _r(r.added_tco2, 1),
            str(r.crediting_years),
            str(r.rule),
        ]
        for r in candidates.itertuples()
    }
    fy = int(candidates["fiscal_year"].iloc[0])
    return {"rows": rows, "fy": fy, "color": CANDIDATE_COLOR}


def latest_candidates(program_dir) -> pd.DataFrame | None:
    """The newest ``plan/thinning_candidates_fyYYYY.csv`` of a program folder, if any."""
    files = sorted(Path(program_dir, "plan").glob("thinning_candidates_fy*.csv"))
    if not files:
        return None
    return pd.read_csv(files[-1], encoding="utf-8-sig", dtype={"stand_id": str})


def facility_totals(aircon: gpd.GeoDataFrame) -> list:
    """``[lat, lon, facility, units, baseline_kwh, project_kwh, reduction_tco2]`` per facility
    (sums over units and periods; the point of its first unit)."""
    _require(aircon, AIRCON_COLUMNS, "aircon")
    lat, lon = _points_deg(aircon)
    df = pd.DataFrame(aircon.drop(columns=aircon.geometry.name)).assign(lat=lat, lon=lon)
    df["facility"] = df["facility"].fillna("").astype(str)
    g = df.groupby("facility", sort=False)
    out = g.agg(
        lat=("lat", "first"),
        lon=("lon", "first"),
        units=("unit_id", "nunique"),
        baseline=("baseline_kwh", "sum"),
        project=("project_kwh", "sum"),
        t=("reduction_tco2", "sum"),
    )
    return [
        [round(r.lat, 5), round(r.lon, 5), name, int(r.units), *_rs(r.baseline, r.project, r.t)]
        for name, r in out.iterrows()
    ]


def site_rows(sites: gpd.GeoDataFrame) -> tuple[list, list[str]]:
    """Internal edition only: ``[lat, lon, site_id, kW, kWh, t-CO2, eligible, reason]`` rows."""
    lat, lon = _points_deg(sites)
    reasons, idx = _lookup(sites["reason"])
    rows = [
        [
            round(float(la), 5),
            round(float(lo), 5),
            str(r.site_id),
            _r(r.capacity_kw, 2),
            None if pd.isna(r.self_consumed_kwh) else _r(r.self_consumed_kwh, 0),
            _r(r.reduction_tco2, 4),
            int(bool(r.eligible)),
            idx[r.reason],
        ]
        for la, lo, r in zip(lat, lon, sites.itertuples(), strict=True)
    ]
    return rows, reasons


# --- rendering ------------------------------------------------------------------------------------


def script_json(obj) -> str:
    """JSON safe to embed in a ``<script>`` element (no ``<``, ``>``, ``&`` or line separators)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


CSS = """
.fc-panel{background:#fff;padding:6px 9px;border-radius:5px;box-shadow:0 1px 5px rgba(0,0,0,.4);
 font:12px/1.4 system-ui,"Noto Sans CJK JP","Hiragino Sans",Meiryo,sans-serif;color:#222;
 max-width:min(340px,78vw);max-height:46vh;overflow:auto}
.fc-panel summary{font-weight:600;cursor:pointer}
.fc-panel table{border-collapse:collapse;margin-top:3px}
.fc-panel td,.fc-panel th{padding:1px 4px;text-align:right;white-space:nowrap;font-weight:400}
.fc-panel td:first-child,.fc-panel th:first-child{text-align:left;white-space:normal}
.fc-panel .fc-note{margin-top:4px;color:#555;max-width:300px}
.fc-sw{display:inline-block;width:14px;height:10px;margin-right:5px;border:1px solid #555;
 vertical-align:middle}
.fc-pop{font:12px/1.4 system-ui,"Noto Sans CJK JP",sans-serif}
.fc-pop b{font-size:13px}
.fc-pop th{text-align:left;font-weight:400;color:#555;padding-right:6px}
.fc-pop td{text-align:right}
.fc-pop .fc-reason{margin-top:4px;max-width:250px;white-space:normal}
.fc-panel summary{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
@media (max-width:600px){.fc-panel{font-size:11px;max-height:38vh}
 .leaflet-bottom.leaflet-left .fc-panel{max-width:56vw}}
"""

JS = r"""
var fc = (function () {
  const E = s => String(s == null ? '' : s).replace(/[&<>"']/g,
    c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]);
  const N = (x, d) => x == null ? '–' : Number(x).toLocaleString('en-US',
    {minimumFractionDigits: d, maximumFractionDigits: d});
  const table = (title, rows, note) => '<div class="fc-pop"><b>' + E(title) + '</b><table>' +
    rows.map(r => '<tr><th>' + E(r[0]) + '</th><td>' + E(r[1]) + '</td></tr>').join('') +
    '</table>' + (note ? '<div class="fc-reason">' + E(note) + '</div>' : '') + '</div>';
  const popOpts = {maxWidth: 280, autoPanPadding: [10, 10]};

  function standPopup(r, d) {
    const rows = [
      ['樹種 Species', d.species[r[2]]],
      ['林齢 Age [yr]', r[3]],
      ['面積 Area [ha]', N(r[4], 2)],
      ['対象面積 Counted [ha]', N(r[5], 2)],
      ['吸収量 Removals [t-CO2]', N(r[6], 2)],
      ['排出量 Emissions [t-CO2]', N(r[7], 2)],
      ['純吸収量 Net [t-CO2]', N(r[8], 2)],
      ['純吸収量 Net [t-CO2/ha/yr]', N(r[9], 2)],
    ];
    const title = '小班 Stand ' + r[0] + (r[1] ? ' ' + r[1] : '');
    const note = r[11] < 0 ? '対象 Eligible (FO-001)' : '対象外 Ineligible: ' + d.reasons[r[11]];
    return table(title, rows, note);
  }

  // TopoJSON decoded straight to Leaflet LatLngs: each shared arc once, its LatLng objects
  // shared by the neighbouring stands (fewer allocations than GeoJSON, so a faster first render)
  function decodeArcs(topo) {
    const s = topo.transform.scale, t = topo.transform.translate;
    return topo.arcs.map(arc => {
      let x = 0, y = 0;
      return arc.map(p => {
        x += p[0];
        y += p[1];
        return L.latLng(y * s[1] + t[1], x * s[0] + t[0]);
      });
    });
  }

  function ring(indices, arcs) {
    const out = [];
    indices.forEach(i => {
      const a = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
      for (let k = out.length ? 1 : 0; k < a.length; k++) out.push(a[k]);
    });
    return out;
  }

  function shape(g, arcs) {
    return g.type === 'Polygon' ? g.arcs.map(r => ring(r, arcs))
                                : g.arcs.map(p => p.map(r => ring(r, arcs)));
  }

  function stands(map, d, key) {
    const rows = d.rows[key];
    const arcs = d.arcs || (d.arcs = decodeArcs(d.topo));
    const style = key === 'eligible'
      ? f => { const c = f.properties.row[10];
               return {color: '#4d4d4d', weight: 0.6, fillOpacity: 0.75,
                       fillColor: c < 0 ? d.negative : d.palette[c]}; }
      : () => ({color: '#616161', weight: 0.8, dashArray: '3 3', fillOpacity: 0.35,
                fillColor: d.ineligible});
    const layer = L.featureGroup();
    d.topo.objects[key].geometries.forEach((g, i) => {
      const feature = {properties: {kind: 'stand', row: rows[i]}};
      const polygon = L.polygon(shape(g, arcs), style(feature));
      polygon.feature = feature;
      layer.addLayer(polygon);
    });
    layer.bindPopup(l => standPopup(l.feature.properties.row, d), popOpts);
    layer.bindTooltip(l => {
      const r = l.feature.properties.row;
      return E(r[0]) + (r[11] < 0 ? ' · ' + N(r[9], 2) + ' t-CO2/ha/yr' : ' · 対象外 ineligible');
    }, {sticky: true});
    return layer;
  }

  // thinning candidates: outlines of the stands listed in c.rows (stand id -> row)
  function candidates(map, d, c) {
    const arcs = d.arcs || (d.arcs = decodeArcs(d.topo));
    const layer = L.featureGroup();
    ['eligible', 'ineligible'].forEach(key => {
      (d.topo.objects[key] ? d.topo.objects[key].geometries : []).forEach((g, i) => {
        const r = c.rows[d.rows[key][i][0]];
        if (!r) return;
        L.polygon(shape(g, arcs), {color: c.color, weight: 2.5, fill: false})
          .bindPopup(() => table('間伐候補 Thinning candidate FY' + c.fy + ': ' + r[0], [
            ['樹種 Species', r[1]],
            ['林齢 Age [yr]', r[2]],
            ['間伐面積 Thinning area [ha]', N(r[3], 2)],
            ['追加クレジット Added [t-CO2]', N(r[4], 1)],
            ['期間 Crediting years', r[5]]], r[6]), popOpts)
          .bindTooltip(E('間伐候補 candidate ' + r[0]))
          .addTo(layer);
      });
    });
    return layer;
  }

  function mesh(map, cells, color) {
    const layer = L.featureGroup();
    cells.forEach(c => {
      L.rectangle([[c[0], c[1]], [c[2], c[3]]],
        {color: color, weight: 1, fillColor: color, fillOpacity: 0.25, cells: c})
        .bindPopup(() => table('地域メッシュ Mesh cell ' + c[4], [
          ['世帯数 Households', N(c[5], 0)],
          ['設備容量 Capacity [kW]', N(c[6], 1)],
          ['削減量 Reduction [t-CO2]', N(c[7], 2)]]), popOpts)
        .addTo(layer);
    });
    return layer;
  }

  function facilities(map, rows, color) {
    const layer = L.featureGroup();
    rows.forEach(r => {
      L.circleMarker([r[0], r[1]], {radius: 7, color: '#fff', weight: 1.5, fillColor: color,
                                     fillOpacity: 0.95})
        .bindPopup(() => table('施設 Facility: ' + r[2], [
          ['空調機 Units', r[3]],
          ['ベースライン Baseline [kWh]', N(r[4], 0)],
          ['実績 Project [kWh]', N(r[5], 0)],
          ['削減量 Reduction [t-CO2]', N(r[6], 3)]]), popOpts)
        .bindTooltip(E(r[2]))
        .addTo(layer);
    });
    return layer;
  }

  function sites(map, d, color) {
    const layer = L.markerClusterGroup({chunkedLoading: true, maxClusterRadius: 50});
    layer.addLayers(d.rows.map(r => L.circleMarker([r[0], r[1]],
        {radius: 5, color: '#fff', weight: 1, fillColor: color, fillOpacity: 0.9})
      .bindPopup(() => table('太陽光 Solar site ' + r[2], [
          ['設備容量 Capacity [kW]', N(r[3], 2)],
          ['自家消費 Self-consumed [kWh]', N(r[4], 0)],
          ['削減量 Reduction [t-CO2]', N(r[5], 4)]],
        (r[6] ? '対象 Eligible' : '対象外 Ineligible') +
          (d.reasons[r[7]] ? ': ' + d.reasons[r[7]] : '')),
        popOpts)));
    return layer;
  }

  function panel(map, position, html) {
    const control = L.control({position: position});
    control.onAdd = () => {
      const div = L.DomUtil.create('div', 'fc-panel');
      div.innerHTML = html;
      if (window.matchMedia('(max-width: 600px)').matches) {
        div.querySelectorAll('details').forEach(x => { x.open = false; });
      }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return control.addTo(map);
  }

  return {stands: stands, mesh: mesh, facilities: facilities, sites: sites, panel: panel,
          candidates: candidates};
})();
"""


def _element_classes():
    """folium element classes of the map (defined lazily: folium is an optional dependency)."""
    folium = _folium()
    from branca.element import Element, MacroElement
    from folium.map import Layer
    from jinja2 import Template

    class Helpers(MacroElement):
        """CSS and the shared JS functions, once per page."""

        _template = Template(
            "{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}"
            "{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}"
        )

        def __init__(self):
            super().__init__()
            self._name = "ForestCarbonHelpers"
            self.css = CSS
            self.js = JS

    class Data(MacroElement):
        """One JSON blob, written once and shared by the layers that use it.

        Written as ``JSON.parse("...")`` of a string literal: browsers parse a large JSON string
        several times faster than the same data as a JavaScript object literal.
        """

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = JSON.parse({{ this.json }});"
            "{% endmacro %}"
        )

        def __init__(self, obj):
            super().__init__()
            self._name = "data"
            self.json = script_json(script_json(obj))

    class DataLayer(Layer):
        """An overlay built in the browser by ``fc.<builder>(map, data, ...)``.

        ``data`` is a :class:`Data` element (shared; referenced by name) or JSON text.
        """

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = fc.{{ this.builder }}({{ this._parent.get_name() }}, "
            "{{ this.data.get_name() if this.shared else this.data }}{{ this.args }});"
            "{% endmacro %}"
        )

        def __init__(self, name: str, builder: str, data, *args, show: bool = True):
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = builder
            self.builder = builder
            self.data = data
            self.shared = not isinstance(data, str)
            self.args = "".join(", " + script_json(a) for a in args)

    class Panel(MacroElement):
        """A Leaflet control holding HTML made (and escaped) in Python."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "fc.panel({{ this._parent.get_name() }}, {{ this.position|tojson }}, "
            "{{ this.html_json }});"
            "{% endmacro %}"
        )

        def __init__(self, position: str, html_text: str):
            super().__init__()
            self._name = "panel"
            self.position = position
            self.html_json = script_json(html_text)

    class InlineAssets(Element):
        """Vendored JS/CSS inlined in the page header (self-contained edition)."""

        def __init__(self, names: list[str]):
            super().__init__()
            self._name = "assets"
            self.text = "\n".join(_inline_asset(ASSETS[name]) for name in names)

        def render(self, **kwargs):
            return self.text

    class MetricScale(MacroElement):
        """Scale bar in metres only."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "L.control.scale({imperial: false, maxWidth: 150})"
            ".addTo({{ this._parent.get_name() }});"
            "{% endmacro %}"
        )

    return folium, Helpers, Data, DataLayer, Panel, InlineAssets, MetricScale


def _inline_asset(asset: Asset) -> str:
    """A vendored file as a ``<style>`` or ``<script>`` element (CSS images as data: URIs)."""
    text = asset.file.read_text(encoding="utf-8")
    text = re.sub(r"/[/*]# sourceMappingURL=\S+\s*(\*/)?\s*$", "", text)
    if not asset.is_css:
        return "<script>" + text.replace("</script", "<\\/script") + "</script>"

    def data_uri(match: re.Match) -> str:
        path = asset.file.parent / match.group(1)
        if not path.is_file():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() + ")"

    return "<style>" + re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, text) + "</style>"


def _attach_assets(m, names: list[str], *, self_contained: bool, InlineAssets) -> None:
    """Load exactly ``names`` (vendored versions): inlined, or linked from the CDN.

    folium's other defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are not used by
    this map and are dropped; so is folium's own Leaflet link (replaced by the vendored version).
    """
    if self_contained:
        m.default_js, m.default_css = [], []
        m.get_root().header.add_child(InlineAssets(names), name="fc_assets")
        return
    m.default_js = [(n, ASSETS[n].url) for n in names if not ASSETS[n].is_css]
    m.default_css = [(n, ASSETS[n].url) for n in names if ASSETS[n].is_css]


def _fmt_t(text: str | float) -> str:
    try:
        return f"{float(text):,.2f}"
    except (TypeError, ValueError):
        return html.escape(str(text))


def totals_html(
    summary: pd.DataFrame | None,
    *,
    title: str,
    edition: str,
    hidden: dict | None,
    privacy_k: int,
    mesh_level: int,
) -> str:
    """The totals panel: whole-program t-CO2 and credits per methodology, periods, notes."""
    e = html.escape
    parts = [f"<details open><summary>{e(title)}</summary>"]
    if edition == "internal":
        parts.append(
            '<div class="fc-note"><b>内部用 — 公開しないこと · INTERNAL — do not publish</b></div>'
        )
    if summary is not None and len(summary):
        periods = sorted(p for p in summary["period"].unique() if p != "all")
        if periods:
            first, last = periods[0].split("/")[0], periods[-1].split("/")[-1]
            parts.append(
                f'<div class="fc-note">期間 Period: {e(first)} – {e(last)} '
                f"({len(periods)} 期 periods)</div>"
            )
        rows = summary[summary["period"] == "all"] if periods else summary
        order = {m: i for i, m in enumerate(METHODOLOGY_LABELS)}
        rows = rows.assign(_o=rows["methodology"].map(order).fillna(len(order) - 0.5))
        parts.append(
            "<table><tr><th>集計 Totals</th><th>t-CO2</th><th>クレジット Credits [t]</th></tr>"
        )
        for r in rows.sort_values("_o", kind="stable").itertuples():
            label = METHODOLOGY_LABELS.get(r.methodology, r.methodology)
            strong = r.methodology == "program"
            cells = [e(str(label)), _fmt_t(r.total_tco2), f"{int(r.credits_t):,}"]
            row = "".join(f"<td>{'<b>' + c + '</b>' if strong else c}</td>" for c in cells)
            parts.append(f"<tr>{row}</tr>")
        parts.append("</table>")
        parts.append(
            '<div class="fc-note">クレジットは方法論・期間ごとに t-CO2 未満切り捨て · '
            "Credits: whole t-CO2, truncated per methodology and period.</div>"
        )
    if hidden is not None:
        mesh = MESH_LEVELS[mesh_level]
        note = (
            f"家庭用太陽光は {e(mesh)} 地域メッシュ (JIS X 0410) 単位で集計し、"
            f"{privacy_k} 世帯未満のメッシュは表示していません · "
            f"Household solar is shown per {e(mesh)} mesh cell; cells "
            f"with fewer than {privacy_k} households are not shown"
        )
        if hidden["households"]:
            note += (
                f" (非表示 hidden: {hidden['households']} 世帯 households in {hidden['cells']} "
                f"cells, {hidden['reduction_tco2']:,.2f} t-CO2; included in the totals)"
            )
        parts.append(f'<div class="fc-note">{note}.</div>')
    parts.append("</details>")
    return "".join(parts)


def legend_html(bounds: list[float], palette: list[str], *, has_negative: bool, layers: set) -> str:
    """Legend: the mapclassify classes with their colours, then the other symbols."""
    sw = '<span class="fc-sw" style="background:{}"></span>'.format
    rows = []
    lower = 0.0
    for bound, color in zip(bounds, palette, strict=True):
        rows.append(f"<div>{sw(color)}{lower:,.2f} – {bound:,.2f}</div>")
        lower = bound
    if has_negative:
        rows.append(f"<div>{sw(NET_EMISSION_COLOR)}&lt; 0 純排出 net emission</div>")
    if "ineligible" in layers:
        rows.append(
            f'<div><span class="fc-sw" style="background:{INELIGIBLE_COLOR};border-style:dashed">'
            "</span>対象外 Ineligible stand</div>"
        )
    if "mesh" in layers:
        rows.append(f"<div>{sw(MESH_COLOR)}太陽光メッシュ Solar mesh cell</div>")
    if "facilities" in layers:
        rows.append(
            f'<div><span class="fc-sw" style="background:{FACILITY_COLOR};border-radius:50%;'
            'width:10px"></span>空調施設 Air-conditioned facility</div>'
        )
    return (
        "<details open><summary>凡例 Legend</summary>"
        "<div>純吸収量 Net removals [t-CO2/ha/yr]</div>" + "".join(rows) + "</details>"
    )


def _stable_ids(root) -> None:
    """Give every element a counter-based id so that the same inputs give the same HTML."""
    counter = 0

    def walk(element):
        nonlocal counter
        counter += 1
        element._id = f"{counter:04d}"
        for child in element._children.values():
            walk(child)

    walk(root)


def program_map(
    stands: gpd.GeoDataFrame,
    summary: pd.DataFrame | None = None,
    *,
    solar: gpd.GeoDataFrame | None = None,
    aircon: gpd.GeoDataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    edition: str = "public",
    privacy_k: int = 5,
    mesh_level: int = DEFAULT_MESH_LEVEL,
    title: str = "",
    scheme: str = "Quantiles",
    k: int = 5,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    tiles: str | None = "gsi_pale",
    self_contained: bool = False,
    m=None,
):
    """One interactive map of the whole program (forest, household solar, air conditioning).

    Parameters
    ----------
    stands : GeoDataFrame
        FO-001 results with the stand polygons, one row per stand and period
        (:func:`forestcarbon.run.fo001_layer`; columns in :data:`STAND_COLUMNS`, optional ``name``),
        in a metric CRS (a geographic one is reprojected to its UTM zone for simplification).
    summary : DataFrame, optional
        :func:`forestcarbon.program.program_summary` rows, for the totals panel.
    solar : GeoDataFrame, optional
        Household PV results per site and period with the site points: site_id, capacity_kw [kW],
        reduction_tco2 [t-CO2]; optional self_consumed_kwh [kWh], eligible, reason.
    aircon : GeoDataFrame, optional
        Air-conditioning results per unit and period with the facility points: unit_id, facility,
        baseline_kwh, project_kwh [kWh], reduction_tco2 [t-CO2].
    candidates : DataFrame, optional
        Thinning candidates of ``forestcarbon plan candidates`` (stand_id, fiscal_year, species,
        age, thinning_area_ha [ha], added_tco2 [t-CO2], crediting_years, rule), outlined on the
        internal edition only.
    edition : {"public", "internal"}
        ``public`` shows households only as mesh aggregates; ``internal`` adds each site,
        clustered, and marks the page as internal.
    privacy_k : int
        Fewest households a mesh cell may show (``[map] privacy_k``); smaller cells are suppressed.
    mesh_level : int
        JIS X 0410 level of the household cells: 3 (1 km, default), 4 (500 m) or 5 (250 m).
    title : str
        Shown at the top of the totals panel (the program name).
    scheme, k : str, int
        mapclassify scheme and number of classes of the net rate [t-CO2/ha/yr] (default
        ``Quantiles``, 5).
    simplify_m : float
        Simplification tolerance of stand boundaries [m] (shared boundaries stay shared).
    tiles : str or None
        ``gsi_pale`` (default), ``osm``, ``none``/None (no basemap, e.g. offline), or a
        ``{z}/{x}/{y}`` URL template.
    self_contained : bool
        Inline the vendored JavaScript and CSS so the page works without network (apart from the
        basemap tiles).
    m : folium.Map, optional
        Draw onto this map instead of a new one.

    Returns
    -------
    folium.Map

    Notes
    -----
    The net rate is the stand's net removals summed over the periods divided by its area
    (``area_ha``) and by the periods' length in years (days / 365.25).
    """
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    folium, Helpers, Data, DataLayer, Panel, InlineAssets, MetricScale = _element_classes()

    totals = stand_totals(stands)
    stand_data, bounds = stands_data(totals, simplify_m=simplify_m, scheme=scheme, k=k)

    cells, hidden, sites = [], None, None
    if solar is not None and len(solar):
        sites = site_totals(solar)
        cells, hidden = mesh_cells(sites, level=mesh_level, privacy_k=privacy_k)
    # the view covers what the edition shows: never the households' own points in public
    boxes = [_bounds(totals), _bounds(aircon)]
    boxes += [(c[1], c[0], c[3], c[2]) for c in cells]
    if edition == "internal":
        boxes.append(_bounds(sites))
    lat_min, lat_max, lon_min, lon_max = _extent(boxes)
    if m is None:
        m = folium.Map(
            location=[(lat_min + lat_max) / 2, (lon_min + lon_max) / 2],
            tiles=None,
            prefer_canvas=True,
            zoom_start=12,
        )
    m.add_child(MetricScale(), name="fc_scale")
    if tiles and tiles not in TILES and not all(k in tiles for k in ("{z}", "{x}", "{y}")):
        raise ValueError(
            f"tiles must be one of {', '.join(TILES)} or a {{z}}/{{x}}/{{y}} URL template, "
            f"got {tiles!r}"
        )
    tile = TILES.get(tiles, (tiles, "")) if tiles else None
    if tile is not None:
        url, attr = tile
        folium.TileLayer(url, attr=attr, name="basemap", control=False, max_zoom=18).add_to(m)

    assets = ["leaflet", "leaflet_css"]
    m.add_child(Helpers(), name="fc_helpers")
    data = Data(stand_data)
    m.add_child(data)
    layers = set()
    for key in ("eligible", "ineligible"):
        if stand_data["rows"][key]:
            m.add_child(DataLayer(LAYER_NAMES[key], "stands", data, key))
            layers.add(key)

    if sites is not None:
        m.add_child(DataLayer(LAYER_NAMES["mesh"], "mesh", script_json(cells), MESH_COLOR))
        layers.add("mesh")
        if edition == "internal":
            rows, reasons = site_rows(sites)
            payload = script_json({"rows": rows, "reasons": reasons})
            m.add_child(DataLayer(LAYER_NAMES["sites"], "sites", payload, "#fd8d3c"))
            assets += ["markercluster", "markercluster_css", "markercluster_default_css"]
    if aircon is not None and len(aircon):
        rows = facility_totals(aircon)
        m.add_child(
            DataLayer(LAYER_NAMES["facilities"], "facilities", script_json(rows), FACILITY_COLOR)
        )
        layers.add("facilities")

    if candidates is not None and len(candidates) and edition == "internal":
        m.add_child(
            DataLayer(LAYER_NAMES["candidates"], "candidates", data, candidate_rows(candidates))
        )
        layers.add("candidates")

    eligible_classes = [r[10] for r in stand_data["rows"]["eligible"]]
    m.add_child(
        Panel(
            "bottomleft",
            totals_html(
                summary,
                title=title or "J-クレジット J-Credit program",
                edition=edition,
                hidden=hidden,
                privacy_k=privacy_k,
                mesh_level=mesh_level,
            ),
        )
    )
    m.add_child(
        Panel(
            "bottomright",
            legend_html(
                bounds,
                stand_data["palette"],
                has_negative=any(c == -1 for c in eligible_classes),
                layers=layers,
            ),
        )
    )
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])
    _attach_assets(m, assets, self_contained=self_contained, InlineAssets=InlineAssets)
    return m


def _bounds(gdf: gpd.GeoDataFrame | None) -> tuple | None:
    """West, south, east, north [degrees] of a layer, or None."""
    if gdf is None or not len(gdf):
        return None
    return tuple(float(v) for v in gdf.to_crs("EPSG:4326").total_bounds)


def _extent(boxes: list) -> tuple[float, float, float, float]:
    """South, north, west, east [degrees] of (west, south, east, north) boxes."""
    b = np.array([box for box in boxes if box is not None], dtype=float)
    return (
        round(float(b[:, 1].min()), 5),
        round(float(b[:, 3].max()), 5),
        round(float(b[:, 0].min()), 5),
        round(float(b[:, 2].max()), 5),
    )


def map_html(m) -> bytes:
    """The page of a map as UTF-8 bytes; the same map gives the same bytes."""
    root = m.get_root()
    _stable_ids(root)
    return root.render().encode("utf-8")


# --- a run's maps ---------------------------------------------------------------------------------


def map_name(program_dir: str | Path) -> str:
    """File stem of a program's maps: its folder name, lower-cased, other than ``[a-z0-9._-]``
    replaced by ``-`` (``data/tsuyama-sample`` -> ``tsuyama-sample``); ``program`` if empty."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", Path(program_dir).resolve().name.lower()).strip("-.")
    return stem or "program"


def map_files(result, *, self_contained: bool | None = None, tiles: str | None = None) -> dict:
    """``maps/<name>.html`` (public) and ``maps/<name>_internal.html`` of a run, as bytes.

    ``<name>`` is :func:`map_name` of the program folder. ``self_contained`` and ``tiles`` default
    to the program's ``[map]`` settings.
    """

    inputs = result.inputs
    settings = inputs.settings.map
    layer = fo001_layer(result)
    names = inputs.stands.drop_duplicates("stand_id").set_index("stand_id")["name"]
    layer["name"] = names.reindex(layer["stand_id"]).fillna("").to_numpy()
    solar, aircon = energy_layers(result)
    candidates = latest_candidates(inputs.program_dir)
    name = map_name(inputs.program_dir)
    files = {}
    for edition, suffix in (("public", ""), ("internal", "_internal")):
        m = program_map(
            layer,
            result.summary,
            solar=solar,
            aircon=aircon,
            candidates=candidates,
            edition=edition,
            privacy_k=settings.privacy_k,
            mesh_level=settings.mesh_level,
            title=inputs.settings.program.name,
            tiles=tiles if tiles is not None else settings.tiles,
            self_contained=settings.self_contained if self_contained is None else self_contained,
        )
        files[f"maps/{name}{suffix}.html"] = map_html(m)
    return files


def energy_layers(result) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Solar and air-conditioning results with their points (``EnergyResult``), if computed."""
    energy = getattr(result, "energy", None)
    if energy is None:
        return None, None
    return energy.solar, energy.aircon
