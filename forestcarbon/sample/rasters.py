"""Canopy rasters and field plots of the sample (for ``forestcarbon canopy``): the true state of
every stand (site index, height, volume, cover), the planted register-versus-raster problems, the
canopy height and cover rasters drawn from that truth, and the field plots measured in it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from forestcarbon.methods.fiscal import fiscal_year_of
from forestcarbon.methods.fo001 import OPERATION_JA
from forestcarbon.sample.growth import dominant_height, stand_volume
from forestcarbon.sample.register import CONIFERS

if TYPE_CHECKING:
    import geopandas as gpd

CANOPY_RES_M = 10.0
"""Pixel size of the canopy rasters [m]."""

CANOPY_SUBPIXELS = 5
"""Stands are drawn on a grid this many times finer, then averaged: edge pixels mix neighbours."""

CANOPY_MARGIN_M = 100.0
"""Raster margin around the stands [m]."""

CANOPY_HEIGHT_DATE = date(2024, 6, 1)
COVER_BEFORE_DATE = date(2021, 6, 1)
"""Acquisition dates of the canopy height model / the 2024 cover raster, and the 2021 cover."""

CANOPY_FILES = {
    "height": "canopy_height.tif",
    "cover": "canopy_cover_2024.tif",
    "cover_before": "canopy_cover_2021.tif",
    "plots": "plots.csv",
}
"""Files of the canopy part of the sample."""

CANOPY_PROBLEM_COUNTS = {
    "unrecorded_harvest": 3,
    "wrong_site_class": 6,
    "thinning_not_visible": 2,
}
"""Planted register-versus-raster problems (one more, ``no_data``, comes from the nodata block)."""

SITE_INDEX_SD = 0.12
"""Spread of the true site class around the register's in clean stands [classes]."""

PIXEL_HEIGHT_RATIO = (0.93, 0.04)
"""Mean and SD of pixel height / stand dominant height: the 95th percentile is the top height."""

N_PLOTS, N_PLOT_STANDS = 60, 45
"""Field plots and the stands holding them."""

PLOT_SD = 0.10
"""Relative SD of a plot's measured volume around its stand's true volume [-]."""


def _stand_ids(table: pd.DataFrame, keys: tuple[str, str, str]) -> pd.Series:
    return (
        table[keys[0]].astype(str)
        + "-"
        + table[keys[1]].astype(str)
        + "-"
        + table[keys[2]].astype(str)
    )


def _ops_table(operations: pd.DataFrame) -> pd.DataFrame:
    """operations.csv rows as stand_id, operation key, date, treated area [ha]."""
    lookup = {ja: key for key, ja in OPERATION_JA.items()}
    return pd.DataFrame(
        {
            "stand_id": _stand_ids(operations, ("林班", "小班", "枝番")),
            "operation": operations["施業"].map(lookup),
            "date": pd.to_datetime(operations["実施日"]).dt.date,
            "area_ha": operations["面積"].astype(float),
        }
    )


def _crop_age(register: gpd.GeoDataFrame, day: date) -> np.ndarray:
    """True age of the crop on ``day`` [yr]; 0 for the stand felled in FY2023 (not replanted)."""
    fy = fiscal_year_of(day)
    age = fy - register["planted_year"].to_numpy() + 1
    role = register["role"].to_numpy()
    # harvest_fy2022: felled in FY2022, replanted in April-May of FY2023
    age = np.where((role == "harvest_fy2022") & (fy >= 2023), fy - 2023 + 1, age)
    age = np.where((role == "harvest_fy2023") & (fy >= 2023), 0, age)
    return np.maximum(age, 0)


def planted_canopy_problems(
    rng: np.random.Generator, register: gpd.GeoDataFrame, operations: pd.DataFrame
) -> dict[str, list[str]]:
    """Choose the stands whose rasters contradict the register.

    Parameters
    ----------
    rng : Generator
    register : GeoDataFrame
        Output of :func:`forestcarbon.sample.program.generate` (with the private ``role`` column).
    operations : DataFrame
        operations.csv rows.

    Returns
    -------
    dict
        Problem -> sorted stand ids, for ``unrecorded_harvest``, ``wrong_site_class`` and
        ``thinning_not_visible`` (``no_data`` depends on the raster, see
        :func:`canopy_nodata_box`).
    """
    age = _crop_age(register, CANOPY_HEIGHT_DATE)
    ids = register["stand_id"].to_numpy()
    managed = register["role"].isin(["managed", "partial", "no_ops", "pre1990"]).to_numpy()
    conifer = register["species"].isin(CONIFERS).to_numpy()
    ops = _ops_table(operations)
    in_window = ops[
        (ops["operation"] == "thinning")
        & (ops["date"] > COVER_BEFORE_DATE)
        & (ops["date"] <= CANOPY_HEIGHT_DATE)
    ]
    thinned = np.isin(ids, in_window["stand_id"])
    chosen: dict[str, list[str]] = {}
    taken = np.zeros(len(ids), dtype=bool)
    pools = {
        "unrecorded_harvest": managed & conifer & (age >= 35) & ~thinned,
        "wrong_site_class": managed & conifer & (age >= 30) & (age <= 85) & ~thinned,
        "thinning_not_visible": managed & thinned,
    }
    two_off = np.isin(register["site_class"].to_numpy(), (1, 3))
    for problem, count in CANOPY_PROBLEM_COUNTS.items():
        pool = np.flatnonzero(pools[problem] & ~taken)
        if problem == "wrong_site_class":  # the first of them will be two classes off
            first = rng.choice(np.flatnonzero(pools[problem] & ~taken & two_off))
            rest = rng.choice(pool[pool != first], size=count - 1, replace=False)
            pick = np.concatenate([[first], rest])
        else:
            pick = np.sort(rng.choice(pool, size=count, replace=False))
        taken[pick] = True
        chosen[problem] = [str(sid) for sid in ids[pick]]
    return chosen


def canopy_nodata_box(register: gpd.GeoDataFrame, rng: np.random.Generator) -> shapely.Polygon:
    """A rectangle of missing data (a laser strip not flown) around one mid-sized stand [m]."""
    area = register.geometry.area.to_numpy()
    pool = np.flatnonzero(
        register["role"].isin(["managed"]).to_numpy() & (area > 1.5e4) & (area < 3e4)
    )
    stand = register.geometry.iloc[int(rng.choice(pool))]
    xmin, ymin, xmax, ymax = stand.bounds
    return shapely.box(
        np.floor(xmin / CANOPY_RES_M) * CANOPY_RES_M - 20,
        np.floor(ymin / CANOPY_RES_M) * CANOPY_RES_M - 20,
        np.ceil(xmax / CANOPY_RES_M) * CANOPY_RES_M + 20,
        np.ceil(ymax / CANOPY_RES_M) * CANOPY_RES_M + 20,
    )


def _site_heights(species: str, site_index: float, age: float) -> float:
    """Dominant height at a continuous site class (linear between the class curves) [m]."""
    if species == "bamboo":
        return 14.0 if age > 0 else 0.0
    low = int(np.clip(np.floor(site_index), 1, 2))
    w = site_index - low
    h_low = dominant_height(species, low, age)
    h_high = dominant_height(species, low + 1, age)
    return float(max(0.0, h_low + w * (h_high - h_low)))


def _site_volume(species: str, site_index: float, age: float) -> float:
    """Stem volume at a continuous site class (linear between the class curves) [m3/ha]."""
    if species == "bamboo":
        return 0.0
    low = int(np.clip(np.floor(site_index), 1, 2))
    w = site_index - low
    v_low = stand_volume(species, low, age)
    v_high = stand_volume(species, low + 1, age)
    return float(max(0.0, v_low + w * (v_high - v_low)))


def _closed_cover(age: np.ndarray) -> np.ndarray:
    """Canopy cover of an unthinned stand by age [0-1]: closes at about 15 years."""
    return 0.9 * np.clip(age / 15.0, 0.0, 1.0)


def _thinning_opening(thinnings: pd.DataFrame, ids: np.ndarray, day: date) -> np.ndarray:
    """Cover lost to thinnings before ``day`` that has not grown back yet [0-1] per stand.

    ``thinnings`` holds stand_id, date, share (treated share of the stand) and opening (cover
    removed over the treated part); the canopy closes again by 0.025 a year.
    """
    before = thinnings[thinnings["date"] <= day]
    years = np.array([(day - d).days / 365.25 for d in before["date"]])
    lost = np.clip(before["opening"].to_numpy() - 0.025 * years, 0.0, None) * before["share"]
    return lost.groupby(before["stand_id"].to_numpy()).sum().reindex(ids).fillna(0.0).to_numpy()


def canopy_truth(
    rng: np.random.Generator,
    register: gpd.GeoDataFrame,
    operations: pd.DataFrame,
    problems: dict[str, list[str]],
) -> pd.DataFrame:
    """True state of every stand behind the rasters and plots.

    Returns
    -------
    DataFrame
        stand_id, site_index (continuous, 1 = class I), age (crop age at the height date) [yr],
        height_m (dominant height) [m], volume_m3_ha [m3/ha], cover_before, cover [0-1].
    """
    ids = register["stand_id"].to_numpy()
    n = len(ids)
    species = register["species"].to_numpy()
    register_class = register["site_class"].to_numpy(dtype=float)
    site = register_class + np.clip(rng.normal(0.0, SITE_INDEX_SD, n), -0.35, 0.35)
    position = {sid: i for i, sid in enumerate(ids)}
    for k, i in enumerate(position[sid] for sid in problems["wrong_site_class"]):
        if k == 0:  # the first is two classes off (chosen among classes I and III)
            true_class = 4 - register_class[i]
        else:
            step = rng.choice([-1, 1])
            true_class = register_class[i] + (step if 1 <= register_class[i] + step <= 3 else -step)
        site[i] = true_class + rng.normal(0.0, 0.05)
    site = np.clip(site, 0.7, 3.3)
    age = _crop_age(register, CANOPY_HEIGHT_DATE).astype(float)
    age_before = _crop_age(register, COVER_BEFORE_DATE).astype(float)
    height = np.array([_site_heights(s, x, a) for s, x, a in zip(species, site, age, strict=True)])
    density = rng.normal(1.0, 0.08, n)
    volume = density * np.array(
        [_site_volume(s, x, a) for s, x, a in zip(species, site, age, strict=True)]
    )
    ops = _ops_table(operations)
    thinnings = ops[ops["operation"] == "thinning"].reset_index(drop=True)
    area = pd.Series(register["area_ha"].to_numpy(dtype=float), index=ids)
    thinnings["share"] = np.clip(
        thinnings["area_ha"].to_numpy() / area.reindex(thinnings["stand_id"]).to_numpy(), 0, 1
    )
    thinnings["opening"] = rng.uniform(0.15, 0.25, len(thinnings))
    not_done = thinnings["stand_id"].isin(problems["thinning_not_visible"]) & (
        thinnings["date"] > COVER_BEFORE_DATE
    )
    thinnings = thinnings[~not_done]
    cover = _closed_cover(age) - _thinning_opening(thinnings, ids, CANOPY_HEIGHT_DATE)
    cover_before = _closed_cover(age_before) - _thinning_opening(thinnings, ids, COVER_BEFORE_DATE)
    cover = np.clip(cover + rng.normal(0, 0.01, n), 0.02, 0.98)
    cover_before = np.clip(cover_before + rng.normal(0, 0.01, n), 0.02, 0.98)
    felled = np.isin(ids, problems["unrecorded_harvest"])
    height[felled] = rng.uniform(0.6, 1.5, felled.sum())
    volume[felled] = 0.0
    cover[felled] = rng.uniform(0.04, 0.10, felled.sum())
    return pd.DataFrame(
        {
            "stand_id": ids,
            "site_index": site,
            "age": age,
            "height_m": height,
            "volume_m3_ha": volume,
            "cover_before": cover_before,
            "cover": cover,
        }
    )


def canopy_grid(register: gpd.GeoDataFrame) -> tuple:
    """Transform (``affine.Affine``), width and height of the canopy rasters around the stands."""
    import rasterio.transform

    xmin, ymin, xmax, ymax = register.total_bounds
    res = CANOPY_RES_M
    left = np.floor((xmin - CANOPY_MARGIN_M) / res) * res
    top = np.ceil((ymax + CANOPY_MARGIN_M) / res) * res
    width = int(np.ceil((xmax + CANOPY_MARGIN_M - left) / res))
    height = int(np.ceil((top - (ymin - CANOPY_MARGIN_M)) / res))
    return rasterio.transform.from_origin(left, top, res, res), width, height


def canopy_rasters(
    rng: np.random.Generator,
    register: gpd.GeoDataFrame,
    truth: pd.DataFrame,
    nodata_box: shapely.Polygon,
) -> dict[str, np.ndarray]:
    """Canopy height [m] and cover [0-1] rasters at CANOPY_RES_M (NaN = nodata).

    Stands are drawn CANOPY_SUBPIXELS times finer and averaged, so pixels on a stand boundary mix
    both stands (or the open land around them); pixel heights scatter around the stand's
    dominant height so that their 95th percentile is the top height; a few percent are canopy
    gaps; sensor noise is added; the nodata box is missing in all three rasters.
    """
    import rasterio.features
    import rasterio.transform

    transform, width, height = canopy_grid(register)
    k = CANOPY_SUBPIXELS
    fine = rasterio.transform.from_origin(
        transform.c, transform.f, CANOPY_RES_M / k, CANOPY_RES_M / k
    )
    index = rasterio.features.rasterize(
        ((g, i + 1) for i, g in enumerate(register.geometry)),
        out_shape=(height * k, width * k),
        transform=fine,
        fill=0,
        dtype="int32",
    )

    def block_mean(per_stand: np.ndarray, open_land: float) -> np.ndarray:
        values = np.concatenate([[open_land], per_stand])[index]
        return values.reshape(height, k, width, k).mean(axis=(1, 3))

    forest = block_mean(np.ones(len(register)), 0.0)
    top = block_mean(truth["height_m"].to_numpy(), 0.3)
    ratio = rng.normal(*PIXEL_HEIGHT_RATIO, size=top.shape)
    chm = top * ratio + rng.normal(0.0, 0.3, top.shape)
    gaps = (rng.random(top.shape) < 0.02) & (forest > 0.5)
    chm[gaps] *= rng.uniform(0.0, 0.4, gaps.sum())
    out = {"height": np.clip(chm, 0.0, None).round(1)}
    for name in ("cover_before", "cover"):
        cover = block_mean(truth[name].to_numpy(), 0.05) + rng.normal(0.0, 0.04, top.shape)
        out[name] = np.clip(cover, 0.0, 1.0).round(2)
    missing = rasterio.features.geometry_mask(
        [nodata_box], out_shape=(height, width), transform=transform, invert=True
    )
    for name in out:
        out[name] = np.where(missing, np.nan, out[name]).astype("float32")
    return out


def field_plots(
    rng: np.random.Generator,
    register: gpd.GeoDataFrame,
    truth: pd.DataFrame,
    avoid: list[str],
) -> pd.DataFrame:
    """About 60 field plots (0.04 ha circles) with their measured stem volume.

    Plots lie in N_PLOT_STANDS standing stands (not felled, not in ``avoid``), some stands holding
    two; each measured volume is the stand's true volume with PLOT_SD relative noise.
    """
    ids = register["stand_id"].to_numpy()
    ok = (truth["age"].to_numpy() >= 10) & (register["species"] != "bamboo").to_numpy()
    ok &= ~np.isin(ids, avoid) & (register.geometry.area.to_numpy() > 8000)
    stands = np.sort(rng.choice(np.flatnonzero(ok), size=N_PLOT_STANDS, replace=False))
    twice = rng.choice(stands, size=N_PLOTS - N_PLOT_STANDS, replace=False)
    rows = []
    for i in np.sort(np.concatenate([stands, twice])):
        inner = register.geometry.iloc[i].buffer(-15.0)
        xmin, ymin, xmax, ymax = inner.bounds
        while True:
            point = shapely.Point(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax))
            if inner.contains(point):
                break
        measured = truth["volume_m3_ha"].iloc[i] * rng.normal(1.0, PLOT_SD)
        day = date(2023, int(rng.integers(6, 12)), int(rng.integers(1, 29)))
        rows.append(
            (ids[i], round(point.x, 1), round(point.y, 1), round(max(measured, 0.0), 1), day)
        )
    plots = pd.DataFrame(rows, columns=["stand_id", "x", "y", "volume_m3_ha", "date"])
    plots.insert(0, "plot_id", [f"P{i + 1:03d}" for i in range(len(plots))])
    plots["date"] = plots["date"].map(date.isoformat)
    return plots
