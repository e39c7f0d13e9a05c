"""The program map's data: everything :func:`forestcarbon.outputs.map.program_map` draws, prepared
with pandas and shapely and nothing of the browser.

* stand totals over the periods and their net rate [t-CO2/ha/yr], quantile classes of the rate
  (mapclassify's, computed the same way with numpy; another mapclassify scheme on request);
* stand boundaries as TopoJSON, simplified in metres with shared boundaries kept shared, quantized
  to ``COORD_STEP_DEG``;
* household solar aggregated to JIS X 0410 mesh cells, cells under ``privacy_k`` households
  merged into their parent cell up to 10 km, only what is still under ``privacy_k`` suppressed;
* the rows of household sites, facilities and thinning candidates.

Every table the map's JavaScript (``static/map.js``) reads is sent as rows *with their field list*
(``{"fields": [...], "rows": [...]}``, see :func:`payload`); the JavaScript reads a row by field
name (``r[F.net_tco2]``), never by position. The field lists are the ``*_FIELDS`` tuples below,
each next to the function that builds its rows in that order.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.params import load_table

MESH_LEVELS = {3: "1 km (3次メッシュ)", 4: "500 m (2分の1メッシュ)", 5: "250 m (4分の1メッシュ)"}
"""JIS X 0410 levels offered for household aggregation (jismesh level numbers)."""

MERGE_LEVELS = (5, 4, 3, 2)
"""JIS X 0410 levels a small cell is merged up through: 250 m, 500 m, 1 km, then the 10 km
secondary mesh (2次メッシュ), the coarsest; what is still below ``privacy_k`` there is hidden."""

MESH_SIZES = {5: "250 m", 4: "500 m", 3: "1 km", 2: "10 km"}
"""Cell size of each JIS X 0410 level (jismesh level numbers)."""

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
"""Columns :func:`~forestcarbon.outputs.map.program_map` needs in ``stands`` (FO-001 results, see
:func:`forestcarbon.outputs.layers.fo001_layer`)."""

SOLAR_COLUMNS = ("site_id", "capacity_kw", "reduction_tco2")
AIRCON_COLUMNS = ("unit_id", "facility", "baseline_kwh", "project_kwh", "reduction_tco2")

INELIGIBLE_COLOR = "#9e9e9e"
NET_EMISSION_COLOR = "#d7301f"
CANDIDATE_COLOR = "#7b3294"
HELD_COLOR = "#fdae61"
"""Fill of a stand whose removals are held by canopy evidence (保留（要確認）): not credited until
the officer reviews it, so never shown in the credited palette."""
HELD_CLASS = -3
"""``net_class`` of a held stand (see :data:`STAND_FIELDS`)."""

STAND_FIELDS = (
    "stand_id",
    "name",
    "species",  # index into the payload's ``species`` labels
    "age_end",
    "area_ha",
    "eligible_area_ha",
    "removals_tco2",
    "emissions_tco2",
    "net_tco2",
    "net_tco2_ha_yr",
    "net_class",  # class of net_tco2_ha_yr: 0.. (palette), -1 net emission, -2 ineligible,
    # -3 held (HELD_CLASS: removals held by canopy evidence, awaiting the officer's review)
    "reason",  # index into the payload's ``reasons``; -1 for an eligible stand
    "held_tco2",  # removals held back by canopy evidence (not credited) [t-CO2]
)
"""Fields of a stand row on the map (:func:`stands_data`), in row order."""

MESH_FIELDS = (
    "south",
    "west",
    "north",
    "east",
    "meshcode",
    "households",
    "capacity_kw",
    "reduction_tco2",
    "size",  # "250 m", "500 m", "1 km" or "10 km"
    "merged",  # 1: a parent cell holding the households of its finer cells below privacy_k
)
"""Fields of a mesh cell row (:func:`mesh_cells`), in row order."""

FACILITY_FIELDS = (
    "lat",
    "lon",
    "facility",
    "units",
    "baseline_kwh",
    "project_kwh",
    "reduction_tco2",
)
"""Fields of a facility row (:func:`facility_totals`), in row order."""

SITE_FIELDS = (
    "lat",
    "lon",
    "site_id",
    "capacity_kw",
    "self_consumed_kwh",
    "reduction_tco2",
    "eligible",  # 1 or 0
    "reason",  # index into the payload's ``reasons``
)
"""Fields of a household site row (:func:`site_rows`, internal edition only), in row order."""

CANDIDATE_FIELDS = (
    "stand_id",
    "species",
    "age",
    "thinning_area_ha",
    "added_tco2",
    "crediting_years",
    "rule",
)
"""Fields of a thinning candidate row (:func:`candidate_rows`), in row order."""


BUSINESS_FIELDS = ("name", "lat", "lon", "bought_t", "retired_t", "stickers", "purposes")
"""Fields of a business using the credits (:func:`business_rows`), in row order."""


def business_rows(users: pd.DataFrame | None, *, edition: str) -> list:
    """Businesses that bought or retired the program's credits, as map rows.

    Parameters
    ----------
    users : DataFrame or None
        ``users`` table of the credit ledger (:mod:`forestcarbon.officer.ledger_tables`): name,
        kind, lon, lat [degrees], public, bought_t, retired_t [t-CO2], stickers, purposes.
    edition : {"public", "internal"}
        ``public`` keeps only the businesses marked public; households are never drawn, nor
        anyone without a location.

    Returns
    -------
    list
        ``[name, lat, lon, bought_t, retired_t, stickers, purposes]`` per business, by name.
    """
    if users is None or not len(users):
        return []
    keep = (users["kind"] == "business") & users["lon"].notna() & users["lat"].notna()
    if edition == "public":
        keep &= users["public"].astype(bool)
    rows = []
    for r in users[keep].sort_values("name").to_dict("records"):
        rows.append(
            [
                str(r["name"]),
                round(float(r["lat"]), 5),
                round(float(r["lon"]), 5),
                int(r["bought_t"]),
                int(r["retired_t"]),
                int(r["stickers"]),
                str(r["purposes"]),
            ]
        )
    return rows


def payload(fields: Iterable[str], rows, **extra) -> dict:
    """Rows with their field list, as the map's JavaScript reads them (``r[F.net_tco2]``).

    Parameters
    ----------
    fields : iterable of str
        Names of the row elements, in order (one of the ``*_FIELDS`` tuples).
    rows : list or dict
        The rows (a list, or a dict of lists or of rows).
    **extra
        Further JSON-able entries of the payload (lookup tables, colours).

    Returns
    -------
    dict
        ``{"fields": [...], "rows": rows, **extra}``.
    """
    return {"fields": list(fields), "rows": rows, **extra}


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
        (:func:`forestcarbon.outputs.layers.fo001_layer`); an optional ``name`` column is shown too.

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
            "held_tco2": (
                g["held_tco2"].sum().to_numpy(float)
                if "held_tco2" in df.columns
                else np.zeros(len(eligible))
            ),
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
    """Classes of non-negative net rates [t-CO2/ha/yr] by a mapclassify scheme.

    ``Quantiles`` (the map's) is computed here as mapclassify computes it, bit for bit
    (:func:`quantile_bins`); any other scheme name is handed to ``mapclassify.classify``.

    Returns
    -------
    (classes, upper_bounds)
        Class index per value (-1 for net emissions, i.e. negative rates) and the upper bound of
        each class; classes with no upper bound above the previous one are dropped.
    """
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
    if scheme.lower().replace("_", "") == "quantiles":
        bins = quantile_bins(values, min(k, n_unique))
    else:
        # mapclassify only for another scheme: its import takes scikit-learn and SciPy with it,
        # about 1 s of every run that draws a map (measured with python -X importtime)
        import mapclassify

        with warnings.catch_warnings():
            # few distinct rates: mapclassify lowers k itself and says so; the bins it returns
            # are used as they are (duplicates dropped below)
            warnings.filterwarnings("ignore", "Not enough unique values", UserWarning)
            classifier = mapclassify.classify(values, scheme, k=min(k, n_unique))
        bins = np.unique(np.asarray(classifier.bins, dtype=float))
    classes[positive] = np.searchsorted(bins, values, side="left").clip(0, len(bins) - 1)
    return classes, [float(b) for b in bins]


def quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes of ``values``, as mapclassify's ``Quantiles``.

    The same arithmetic as ``mapclassify.classifiers.quantile`` (2.x) and the
    ``scipy.stats.scoreatpercentile`` it calls, so the bounds are identical bit for bit (tests
    compare them): percentiles ``w, 2w, ... 100`` with ``w = 100 / k`` (``np.arange`` as
    mapclassify builds them, the last capped at 100); the value at percentile ``p`` is the sorted
    values' element at index ``idx = p / 100 (n - 1)`` when whole, else between ``i = int(idx)``
    and ``j = i + 1``: ``(v_i (j - idx) + v_j (idx - i)) / ((j - idx) + (idx - i))``. Equal bounds
    (ties) are kept once, so there may be fewer than ``k`` classes.
    """
    w = 100.0 / k
    percents = np.arange(w, 100 + w, w)
    if percents[-1] > 100.0:
        percents[-1] = 100.0
    ordered = np.sort(np.asarray(values, dtype=float).ravel())
    bounds = []
    for p in percents:
        idx = p / 100.0 * (len(ordered) - 1)
        i = int(idx)
        if i == idx:
            bounds.append(ordered[i])
        else:
            weights = np.array([(i + 1) - idx, idx - i], dtype=float)
            bounds.append(np.add.reduce(ordered[i : i + 2] * weights) / weights.sum())
    return np.unique(np.array(bounds, dtype=float))


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
    """Compact JSON-able data of the stand layers and the class bounds of the legend.

    Returns
    -------
    (data, bounds)
        data: :func:`payload` of :data:`STAND_FIELDS` rows per layer (``eligible``,
        ``ineligible``) with the TopoJSON ``topo`` of their polygons (same order), the ``species``
        and ``reasons`` lookup tables and the colours; bounds: upper bound of each class
        [t-CO2/ha/yr].
    """
    from branca.utilities import color_brewer

    eligible = totals["eligible"].to_numpy(bool)
    held = eligible & (totals["held_tco2"].to_numpy(float) > 0)
    classes, bounds = classify_rates(
        totals["net_tco2_ha_yr"].to_numpy()[eligible & ~held], scheme=scheme, k=k
    )
    stand_class = np.full(len(totals), -2)
    stand_class[eligible & ~held] = classes
    stand_class[held] = HELD_CLASS
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
            _r(r.held_tco2),
        ]
        for r, c in zip(totals.itertuples(), stand_class, strict=True)
    ]
    metric = _metric(totals)
    objects = {"eligible": np.flatnonzero(eligible), "ineligible": np.flatnonzero(~eligible)}
    topo = _topology(metric.geometry, objects, simplify_m)
    palette = color_brewer("YlGn", n=max(len(bounds), 3))[-len(bounds) :] if bounds else []
    data = payload(
        STAND_FIELDS,
        {name: [rows[i] for i in idx] for name, idx in objects.items()},
        topo=topo,
        species=species,
        reasons=reasons,
        palette=palette,
        negative=NET_EMISSION_COLOR,
        ineligible=INELIGIBLE_COLOR,
        held=HELD_COLOR,
        held_class=HELD_CLASS,
    )
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
    """Household sites aggregated to JIS X 0410 mesh cells of at least ``privacy_k`` households.

    Sites are counted in cells of ``level`` first; the households of a cell below ``privacy_k``
    are merged into its parent cell (250 m -> 500 m -> 1 km -> 10 km, :data:`MERGE_LEVELS`),
    which is shown when those merged households reach ``privacy_k``, and so on up to the 10 km
    cell (2次メッシュ); only households still below ``privacy_k`` there are hidden. A merged
    (parent) cell counts only the households not shown in a finer cell, so every shown number
    covers at least ``privacy_k`` households and no household is counted twice.

    Parameters
    ----------
    sites : GeoDataFrame
        One row per site (:func:`site_totals`).
    level : int
        jismesh level of the finest cells: 3 (1 km), 4 (500 m) or 5 (250 m).
    privacy_k : int
        Fewest households a cell may show.

    Returns
    -------
    (cells, hidden)
        cells: one :data:`MESH_FIELDS` row per shown cell, coarsest first (drawn underneath);
        hidden: households and 10 km cells suppressed, and their kW and t-CO2.
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
    kw = sites["capacity_kw"].to_numpy(float)
    t = sites["reduction_tco2"].to_numpy(float)
    pending = np.ones(len(lat), dtype=bool)  # households not shown in any cell yet
    shown_by_level = []
    chain = [lv for lv in MERGE_LEVELS if lv <= level]
    for lv in chain:
        # jismesh 2.1 calls numpy.asscalar (removed in numpy 1.23) on one-element arrays: pad
        codes = ju.to_meshcode(np.r_[lat, lat[:1]], np.r_[lon, lon[:1]], lv)[: len(lat)]
        df = pd.DataFrame({"code": codes, "kw": kw, "t": t})[pending]
        agg = df.groupby("code", sort=True).agg(n=("kw", "size"), kw=("kw", "sum"), t=("t", "sum"))
        shown = agg[agg["n"] >= privacy_k]
        shown_by_level.append((lv, shown))
        pending &= ~pd.Series(codes).isin(shown.index).to_numpy()
        hidden = agg[agg["n"] < privacy_k]
    cells = []
    for lv, shown in reversed(shown_by_level):
        if not len(shown):
            continue
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
                    MESH_SIZES[lv],
                    int(lv != level),
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
    """Thinning candidates for the map: :func:`payload` of stand id -> :data:`CANDIDATE_FIELDS`
    row (id, species, age, area [ha], added [t-CO2], crediting years, rule), with the fiscal year
    ``fy`` and the outline ``color``."""
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
    return payload(CANDIDATE_FIELDS, rows, fy=fy, color=CANDIDATE_COLOR)


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
