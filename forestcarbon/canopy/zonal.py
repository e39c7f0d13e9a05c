"""Zonal statistics of canopy rasters per stand, computed by exactextract.

:func:`zonal_stats` gives per stand the coverage-weighted canopy height statistics [m] (a pixel
counts by the share of its area inside the stand), the valid pixel count and valid share [0-1],
and the mean canopy cover [0-1]; :func:`zonal_mean` the coverage-weighted mean of one raster.
Stands are handed to exactextract as WKB in Hilbert-curve order, reprojected to the raster's
CRS when needed (the raster is never warped), and the raster is read window by window with a
bounded GDAL cache, so rasters larger than memory work. :func:`shrink_stands` takes the
mixed edge pixels out before the statistics.

At scale, :func:`zonal_stats_partition` computes the same statistics for one partition of the
stands (a Dask task): a stand's statistics depend on its own polygon and pixels only, so the
partitions' tables concatenated equal the single call row for row. Each call opens the raster
(GeoTIFF, COG or a GDAL VRT mosaic of many tiles) itself and reads only the windows of its own
stands: through a VRT, GDAL opens and reads only the tiles under a window, so a worker's memory is
its GDAL block cache plus one stand's window, whatever the mosaic's size.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from forestcarbon.canopy.rasters import open_raster
from forestcarbon.core.exceptions import CRSError, InputError, Problem

log = logging.getLogger("forestcarbon")


HEIGHT_STATS = {
    "canopy_mean_m": "mean",
    "canopy_median_m": "median",
    "canopy_p90_m": "quantile(q=0.9)",
    "canopy_p95_m": "quantile(q=0.95)",
    "canopy_max_m": "max",
}
"""Output column -> exactextract operation for the canopy height raster (coverage-weighted)."""


HEIGHT_RANGE_M = (-1.0, 100.0)
"""Plausible canopy heights [m]: ground a little below 0 after DEM subtraction, the tallest
Japanese trees (sugi) near 60 m; beyond these limits plus RANGE_TOLERANCE the raster is refused."""

COVER_RANGE = (0.0, 1.0)
"""Canopy cover is a share [0-1] (a raster in percent is refused, with the hint)."""

RANGE_TOLERANCE = 0.05
"""Noise allowed beyond a range, as a share of the range's width (5 m for heights, 0.05 cover)."""

DEFAULT_CACHE_MB = 256
"""GDAL block cache used while extracting [MB]: bounds memory whatever the raster size."""


def _feature_source(geoms: np.ndarray, rows: np.ndarray, crs_wkt: str):
    """exactextract features straight from WKB (no GeoJSON round trip), numbered by ``rows``."""
    from exactextract._exactextract import Feature
    from exactextract.feature import FeatureSource

    class WkbFeature(Feature):
        def __init__(self, row: int, wkb: bytes):
            Feature.__init__(self)
            self.props = {"row": row}
            self.wkb = wkb

        def geometry(self):
            return self.wkb

        def set_geometry_format(self):
            return "wkb"

        def get(self, name):
            return self.props[name]

        def set(self, name, value):
            self.props[name] = value

        def fields(self):
            return list(self.props)

    class WkbFeatures(FeatureSource):
        def __init__(self):
            super().__init__()
            self.wkb = shapely.to_wkb(geoms)

        def count(self):
            return len(self.wkb)

        def __iter__(self):
            for row, wkb in zip(rows.tolist(), self.wkb, strict=True):
                yield WkbFeature(row, wkb)

        def srs_wkt(self):
            return crs_wkt

    return WkbFeatures()


def _stands_in_crs(stands: gpd.GeoDataFrame, crs, raster_name: str) -> gpd.GeoDataFrame:
    """The stand polygons in the raster's CRS: reprojected explicitly (and logged) when needed."""
    if stands.crs is None:
        raise CRSError(
            Problem("stands", "", "crs", "the stand layer has no CRS; set it before zonal stats")
        )
    if stands.crs.equals(crs):
        return stands
    log.info(
        "stands reprojected from %s to the CRS of %s (%s) for zonal statistics",
        stands.crs.to_string(),
        raster_name,
        crs.to_string(),
    )
    return stands.to_crs(crs)


def _extract(
    stands: gpd.GeoDataFrame,
    raster,
    ops: dict[str, str],
    *,
    strategy: str,
    max_cells_in_memory: int,
    cache_mb: int,
    valid_range: tuple[float, float] | None = None,
    unit: str = "",
    require_overlap: bool = True,
) -> pd.DataFrame:
    """exactextract ``ops`` (column -> operation) and the valid pixel count, rows as ``stands``.

    ``valid_range``: pixel values [unit] a stand may hold (widened by RANGE_TOLERANCE); a stand
    with a pixel outside it, or not finite, is an error naming the raster and the stand.
    ``require_overlap``: a raster that overlaps no stand is an error (off for one partition).
    """
    import rasterio
    from exactextract import exact_extract

    with open_raster(raster) as r:
        geoms = _stands_in_crs(stands, r.crs, r.name).geometry.to_numpy()
        inside = shapely.intersects(geoms, shapely.box(*r.bounds))
        if require_overlap and not inside.any():
            raise _no_overlap(r)
        if not inside.any():  # a partition beside the raster: no pixels, nothing to read
            columns = [*ops, "valid_pixels"]
            out = pd.DataFrame(np.nan, index=stands.index, columns=columns)
            out["valid_pixels"] = 0.0
            out["valid_fraction"] = 0.0
            return out
        # Space-filling-curve order: neighbouring stands read the same raster blocks while they
        # are still in GDAL's block cache.
        order = np.argsort(_hilbert(geoms), kind="stable")
        features = _feature_source(geoms[order], order, r.crs.to_wkt())
        with rasterio.Env(GDAL_CACHEMAX=cache_mb * 2**20):
            raw = exact_extract(
                r.source,
                features,
                [*ops.values(), "count", "range_min=min", "range_max=max"],
                include_cols=["row"],
                strategy=strategy,
                max_cells_in_memory=max_cells_in_memory,
                output="pandas",
            )
        area_cells = shapely.area(geoms) / r.pixel_area
    raw = raw.set_index("row").reindex(np.arange(len(geoms)))
    out = pd.DataFrame(index=stands.index)
    names = [*ops, "valid_pixels", "_min", "_max"]
    stat_columns = [c for c in raw.columns if c != "row"]
    for column, stat in zip(names, stat_columns, strict=True):
        out[column] = raw[stat].to_numpy(dtype=float)
    if valid_range is not None:
        _check_range(out, stands, r.name, valid_range, unit)
    out = out.drop(columns=["_min", "_max"])
    out["valid_fraction"] = np.divide(
        out["valid_pixels"].to_numpy(),
        area_cells,
        out=np.zeros(len(out)),
        where=area_cells > 0,
    ).clip(0.0, 1.0)
    return out


def _no_overlap(r) -> InputError:
    return InputError(
        Problem(
            r.name,
            "",
            "",
            "the raster does not overlap any stand (extent "
            f"{', '.join(f'{b:.0f}' for b in r.bounds)} in {r.crs.to_string()}): wrong "
            "file or wrong CRS?",
        )
    )


def check_overlap(stands: gpd.GeoDataFrame | gpd.GeoSeries, raster) -> None:
    """Refuse a raster that overlaps none of ``stands`` (wrong file or wrong CRS), as
    :func:`zonal_stats` does; for a partitioned run, call it once with every stand or with one
    bounding box per partition (a GeoSeries with a CRS) before :func:`zonal_stats_partition`."""
    geoms = stands if isinstance(stands, gpd.GeoSeries) else stands.geometry
    with open_raster(raster) as r:
        geoms = geoms.to_crs(r.crs) if not geoms.crs.equals(r.crs) else geoms
        if not shapely.intersects(geoms.to_numpy(), shapely.box(*r.bounds)).any():
            raise _no_overlap(r)


def _check_range(out: pd.DataFrame, stands, name: str, valid_range, unit: str) -> None:
    lo, hi = valid_range
    tol = RANGE_TOLERANCE * (hi - lo)
    has = out["valid_pixels"].to_numpy() > 0
    vmin, vmax = out["_min"].to_numpy(), out["_max"].to_numpy()
    with np.errstate(invalid="ignore"):
        bad = has & ~((vmin >= lo - tol) & (vmax <= hi + tol))
    if not bad.any():
        return
    ids = stands["stand_id"].to_numpy() if "stand_id" in stands else np.arange(1, len(out) + 1)
    hint = " (a percentage? divide by 100)" if unit == "" and np.nanmax(vmax[bad]) > 1.5 else ""
    problems = [
        Problem(
            name,
            f"stand {ids[i]}",
            "",
            f"pixel values {vmin[i]:.6g}..{vmax[i]:.6g} {unit} outside the plausible range "
            f"{lo:g}..{hi:g} {unit}{hint}".replace("  ", " "),
        )
        for i in np.flatnonzero(bad)[:20]
    ]
    if bad.sum() > 20:
        problems.append(Problem(name, "", "", f"... and {bad.sum() - 20} more stands"))
    raise InputError(problems)


def _hilbert(geoms: np.ndarray) -> np.ndarray:
    """Hilbert-curve position of each geometry's centre (geopandas' implementation)."""
    return gpd.GeoSeries(geoms).hilbert_distance().to_numpy()


def zonal_stats(
    stands: gpd.GeoDataFrame,
    height,
    *,
    cover=None,
    id_column: str = "stand_id",
    min_valid_pixels: float = 10.0,
    min_valid_fraction: float = 0.5,
    strategy: str = "feature-sequential",
    max_cells_in_memory: int = 30_000_000,
    cache_mb: int = DEFAULT_CACHE_MB,
    require_overlap: bool = True,
) -> pd.DataFrame:
    """Coverage-weighted canopy statistics of every stand.

    Parameters
    ----------
    stands : GeoDataFrame
        Stand polygons with a CRS. When it differs from the raster's, the polygons are
        reprojected to the raster's CRS (and the reprojection is logged); the raster is never
        warped.
    height : str, Path, rasterio dataset or xarray.DataArray
        Canopy height raster [m]. Its nodata value (or mask) is respected.
    cover : same types, optional
        Canopy cover raster [0-1].
    id_column : str
        Column copied to the output.
    min_valid_pixels : float
        Fewest valid pixels (coverage-weighted) for a stand to get statistics.
    min_valid_fraction : float
        Smallest valid share of the stand's area [0-1].
    strategy, max_cells_in_memory
        exactextract's processing strategy and the most cells it loads at once: with the default
        ``"feature-sequential"`` only the window around one stand is read at a time, so memory
        does not grow with the raster.
    cache_mb : int
        GDAL block cache [MB] while extracting.
    require_overlap : bool
        Refuse a raster that overlaps no stand (wrong file or CRS); off for one partition of a
        program (:func:`zonal_stats_partition`).

    Returns
    -------
    DataFrame
        One row per stand in input order: ``id_column``, canopy_mean_m, canopy_median_m,
        canopy_p90_m, canopy_p95_m, canopy_max_m [m], valid_pixels [pixels], valid_fraction [0-1],
        too_few_pixels (bool) and, with ``cover``, cover_mean [0-1]. A stand with too few valid
        pixels has NaN statistics: it is flagged, never guessed.

    Notes
    -----
    Statistics weight each pixel by the share of its area inside the stand (exactextract), so a
    stand smaller than a pixel, or its edge pixels, count exactly; quantiles are the weighted
    quantiles of exactextract. ``valid_fraction`` is the valid coverage-weighted pixel count over
    the stand's area in pixels: nodata pixels and parts outside the raster lower it.
    """
    options = dict(
        strategy=strategy,
        max_cells_in_memory=max_cells_in_memory,
        cache_mb=cache_mb,
        require_overlap=require_overlap,
    )
    out = _extract(stands, height, HEIGHT_STATS, valid_range=HEIGHT_RANGE_M, unit="m", **options)
    too_few = (out["valid_pixels"] < min_valid_pixels) | (
        out["valid_fraction"] < min_valid_fraction
    )
    out.loc[too_few, list(HEIGHT_STATS)] = np.nan
    out["too_few_pixels"] = too_few.to_numpy()
    if cover is not None:
        out["cover_mean"] = zonal_mean(
            stands, cover, min_valid_pixels=min_valid_pixels, valid_range=COVER_RANGE, **options
        ).to_numpy()
    out.insert(0, id_column, stands[id_column].to_numpy())
    return out.reset_index(drop=True)


def zonal_mean(
    stands: gpd.GeoDataFrame,
    raster,
    *,
    min_valid_pixels: float = 10.0,
    strategy: str = "feature-sequential",
    max_cells_in_memory: int = 30_000_000,
    cache_mb: int = DEFAULT_CACHE_MB,
    valid_range: tuple[float, float] | None = None,
    require_overlap: bool = True,
) -> pd.Series:
    """Coverage-weighted mean of ``raster`` in each stand (NaN with too few valid pixels).

    ``valid_range``: plausible pixel values (e.g. COVER_RANGE); outside it is an error.
    """
    out = _extract(
        stands,
        raster,
        {"mean": "mean"},
        valid_range=valid_range,
        strategy=strategy,
        max_cells_in_memory=max_cells_in_memory,
        cache_mb=cache_mb,
        require_overlap=require_overlap,
    )
    return out["mean"].where(out["valid_pixels"] >= min_valid_pixels)


def zonal_stats_partition(
    stands: gpd.GeoDataFrame,
    height,
    *,
    cover=None,
    id_column: str = "stand_id",
    min_valid_pixels: float = 10.0,
    min_valid_fraction: float = 0.5,
    cache_mb: int = DEFAULT_CACHE_MB,
) -> pd.DataFrame:
    """:func:`zonal_stats` of one partition of a program's stands (e.g. one Dask task).

    Parameters
    ----------
    stands : GeoDataFrame
        The partition's stand polygons with a CRS (compact areas, e.g. Hilbert-sorted
        partitions, share raster blocks; any split gives the same rows).
    height, cover : str or Path
        Canopy height [m] and optional cover [0-1] rasters: a GeoTIFF, COG or GDAL VRT mosaic,
        opened by this call (a path travels to a worker; an open dataset does not).
    id_column, min_valid_pixels, min_valid_fraction, cache_mb
        As for :func:`zonal_stats`.

    Returns
    -------
    DataFrame
        :func:`zonal_stats`' columns, one row per stand of the partition in its order, with the
        values the single call gives for these stands: concatenating the partitions' tables in
        partition order gives the whole program's table. A partition outside the raster gives
        rows without pixels (too_few_pixels) instead of an error: check the whole program once
        with :func:`check_overlap`.

    Notes
    -----
    Memory per call is bounded by ``cache_mb`` plus the window of one stand (exactextract's
    feature-sequential strategy), never by the raster or the partition's extent; each stand's
    window is read from the tiles under it only.
    """
    if len(stands) == 0:
        columns = [id_column, *HEIGHT_STATS, "valid_pixels", "valid_fraction", "too_few_pixels"]
        out = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        out[id_column] = stands[id_column].to_numpy() if id_column in stands else []
        out["too_few_pixels"] = out["too_few_pixels"].astype(bool)
        if cover is not None:
            out["cover_mean"] = pd.Series(dtype=float)
        return out
    return zonal_stats(
        stands,
        height,
        cover=cover,
        id_column=id_column,
        min_valid_pixels=min_valid_pixels,
        min_valid_fraction=min_valid_fraction,
        cache_mb=cache_mb,
        require_overlap=False,
    )


MIN_INNER_SHARE = 0.25
"""A stand shrunk by the edge buffer must keep this share of its area, else it keeps its outline."""


def shrink_stands(stands: gpd.GeoDataFrame, distance_m: float) -> gpd.GeoDataFrame:
    """Stands shrunk by ``distance_m`` [m] (a negative buffer in their metric CRS).

    Pixels along a stand boundary mix the stand with its neighbours (or open land), whatever the
    weighting; leaving them out keeps a short stand beside a tall one from looking taller. A stand
    that would keep less than MIN_INNER_SHARE of its area keeps its outline.
    """
    if distance_m <= 0:
        return stands
    inner = stands.geometry.buffer(-distance_m)
    keep = ~inner.is_empty & (inner.area >= MIN_INNER_SHARE * stands.geometry.area)
    return stands.set_geometry(inner.where(keep, stands.geometry))
