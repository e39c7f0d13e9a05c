"""The canopy step of a program: every canopy quantity per stand, and the step as a whole.

The stand register (森林簿) is often wrong: site classes guessed decades ago, harvests never
recorded. :func:`canopy_table` compares it with canopy rasters (a canopy height model [m] and
canopy cover [0-1], from airborne/drone laser or satellites) and field plots: zonal statistics
(:mod:`forestcarbon.canopy.zonal`), crop age and site class from canopy height
(:mod:`forestcarbon.canopy.site_class`), the volume model
(:mod:`forestcarbon.canopy.volume_model`) and the flags (:mod:`forestcarbon.canopy.flags`).
:func:`compute_canopy` does it for a program folder and returns a
:class:`~forestcarbon.canopy.result.CanopyResult`.

Canopy products are used to check and refine the register, not as credited quantities of their
own.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rasterio
import shapely

from forestcarbon.canopy import rasters
from forestcarbon.canopy.flags import (
    canopy_below_expected,
    join_flags,
    site_class_disagrees,
    thinning_not_visible,
    thinning_share,
    volume_differs,
)
from forestcarbon.canopy.inputs import load_canopy_inputs
from forestcarbon.canopy.result import CanopyResult
from forestcarbon.canopy.site_class import (
    at_site_index,
    class_heights,
    class_volumes,
    crop_age_at,
    nearest_class,
    site_class_index,
)
from forestcarbon.canopy.volume_model import model_volumes
from forestcarbon.canopy.zonal import (
    COVER_RANGE,
    check_overlap,
    shrink_stands,
    zonal_mean,
    zonal_stats_partition,
)
from forestcarbon.core.cache import content_key, entry_frame, frame_entry, read_entry, write_entry
from forestcarbon.core.files import note_input, sha_as_read

if TYPE_CHECKING:
    import geopandas as gpd

    from forestcarbon.canopy.inputs import CanopyInputs
    from forestcarbon.canopy.volume_model import VolumeModel
    from forestcarbon.core.config import CanopySettings, Period
    from forestcarbon.methods.growth import YieldTable

log = logging.getLogger("forestcarbon")


CANOPY_COLUMNS = [
    "stand_id",
    "canopy_mean_m",
    "canopy_p95_m",
    "canopy_max_m",
    "valid_fraction",
    "cover_mean",
    "site_class_register",
    "site_class_canopy",
    "volume_model_m3_ha",
    "flags",
]
"""First columns of ``canopy_stands.csv``, fixed (the output contract: README "Outputs"; more
columns follow them)."""


def canopy_table(
    stands: gpd.GeoDataFrame,
    operations: pd.DataFrame,
    yields: YieldTable,
    canopy: CanopyInputs,
    settings: CanopySettings,
    periods: tuple[Period, ...],
    *,
    file: str = "operations",
    pixels: pd.DataFrame | None = None,
    fit_model: bool = True,
) -> tuple[pd.DataFrame, VolumeModel | None]:
    """Per stand canopy statistics, derived site class, model volume and flags.

    Parameters
    ----------
    stands : GeoDataFrame
        Validated stands (:class:`forestcarbon.inputs.program.ProgramInputs`), in any CRS.
    operations : DataFrame
        Validated operations (thinning dates and areas, harvests, replantings).
    yields : YieldTable
        Yield table with ``height_m`` (dominant height [m]) for site class and low-canopy checks.
    canopy : CanopyInputs
    settings : CanopySettings
    periods : tuple of Period
        Monitoring periods (for the cohort replay of harvests).
    pixels : DataFrame, optional
        The raster statistics of every stand, computed beforehand (e.g. per partition on Dask
        workers) by :func:`canopy_pixels`, matched to the stands by ``stand_id``; by default
        computed here.
    fit_model : bool
        False (``validate``): the volume model is not fitted, only its plots checked
        (:func:`forestcarbon.canopy.volume_model.model_volumes` with ``fit=False``): model None,
        volume_model_* NaN, no ``volume_differs`` flag.

    Returns
    -------
    table : DataFrame
        The ``canopy_stands.csv`` table: CANOPY_COLUMNS first, then species, age_years
        (crop age at the height raster date), canopy_median_m, canopy_p90_m, top_height_m,
        expected_height_m [m], valid_pixels, site_index_canopy (continuous site class),
        cover_before_mean, cover_change [0-1], thinned_share [0-1], volume_table_m3_ha (register
        class), volume_canopy_site_m3_ha (yield table at the canopy's continuous site class),
        volume_model_low_m3_ha, volume_model_high_m3_ha [m3/ha] (the prediction interval).
    model : VolumeModel or None
        None without enough field plots (:func:`forestcarbon.canopy.volume_model.model_volumes`).

    Notes
    -----
    - Statistics are taken inside each stand shrunk by ``edge_buffer_m`` (:func:`shrink_stands`).
    - Top height is the ``[canopy] top_height`` quantile of the canopy height model.
    - Low canopy: top height below ``low_canopy_ratio`` x the yield-table dominant height of the
      register class at the crop's age (only where that height is at least
      flags.MIN_EXPECTED_HEIGHT_M). Such a stand gets no derived site class (its canopy says
      nothing about the site).
    - Site class: see :func:`site_class_index`; derived only from ``site_class_min_age``;
      disagreement when the continuous class is more than ``0.5 + site_class_margin`` from the
      register's.
    - Thinning visible: a thinning recorded after ``cover_before_date`` and up to ``cover_date``
      must lower mean cover by ``min_cover_drop`` x the treated share of the stand.
    """
    stands = stands.reset_index(drop=True)
    n = len(stands)
    for raster in (canopy.height, canopy.cover, canopy.cover_before):
        if raster is not None:  # wrong file or CRS: refused for the program, not per partition
            check_overlap(stands, raster)
    stats = _cached_pixels(stands, canopy, settings) if pixels is None else _aligned(pixels, stands)
    species = stands["species"].to_numpy()
    register = stands["site_class"].to_numpy(dtype=int)
    age = crop_age_at(stands, operations, canopy.height_date, periods, file=file)
    heights = class_heights(yields, species, age)
    expected = heights[np.arange(n), register - 1]
    top = stats[f"canopy_{settings.top_height}_m"].to_numpy()
    low = canopy_below_expected(top, expected, settings.low_canopy_ratio)
    raw_index = site_class_index(top, heights)
    derivable = (age >= settings.site_class_min_age) & ~low & np.isfinite(raw_index)
    index = np.where(derivable, raw_index, np.nan)
    disagrees = site_class_disagrees(index, register, derivable, settings.site_class_margin)

    cover_before = stats["cover_before_mean"].to_numpy()
    thinned = np.zeros(n)
    if canopy.cover_before is not None:
        thinned = thinning_share(stands, operations, canopy.cover_before_date, canopy.cover_date)
    change = stats["cover_mean"].to_numpy() - cover_before
    not_visible = thinning_not_visible(thinned, change, settings.min_cover_drop)

    curve = yields.curve_index(species, register)
    volume_table = np.full(n, np.nan)
    volume_table[curve >= 0] = yields.volume_at(curve[curve >= 0], age[curve >= 0])

    table = pd.DataFrame(
        {
            "stand_id": stands["stand_id"].to_numpy(),
            "species": species,
            "age_years": age,
            "canopy_mean_m": stats["canopy_mean_m"],
            "canopy_median_m": stats["canopy_median_m"],
            "canopy_p90_m": stats["canopy_p90_m"],
            "canopy_p95_m": stats["canopy_p95_m"],
            "canopy_max_m": stats["canopy_max_m"],
            "top_height_m": top,
            "expected_height_m": expected,
            "valid_pixels": stats["valid_pixels"],
            "valid_fraction": stats["valid_fraction"],
            "cover_mean": stats["cover_mean"],
            "cover_before_mean": cover_before,
            "cover_change": change,
            "thinned_share": thinned,
            "site_class_register": register,
            "site_index_canopy": index,
            "site_class_canopy": pd.array(nearest_class(index), dtype="Int64"),
            "volume_table_m3_ha": volume_table,
            "volume_canopy_site_m3_ha": at_site_index(
                raw_index, class_volumes(yields, species, age)
            ),
        }
    )
    model, predicted = model_volumes(table, canopy.plots, settings, fit=fit_model)
    table = pd.concat([table, predicted], axis=1)
    differs = volume_differs(
        volume_table,
        table["volume_model_m3_ha"].to_numpy(),
        table["volume_model_low_m3_ha"].to_numpy(),
        table["volume_model_high_m3_ha"].to_numpy(),
        settings.volume_tolerance,
    )
    table["flags"] = join_flags(
        {
            "canopy_too_few_pixels": stats["too_few_pixels"].to_numpy(),
            "canopy_below_expected": low,
            "site_class_disagrees": disagrees,
            "thinning_not_visible": not_visible,
            "volume_differs": differs,
        },
        n,
    )
    extra = [c for c in table.columns if c not in CANOPY_COLUMNS]
    return table[CANOPY_COLUMNS + extra], model


def _cached_pixels(
    stands: gpd.GeoDataFrame, canopy: CanopyInputs, settings: CanopySettings
) -> pd.DataFrame:
    """:func:`canopy_pixels` of the program's stands, kept in the user's cache.

    The cache entry (:mod:`forestcarbon.core.cache`) is keyed by a sha256 of the rasters' bytes
    (as read for provenance), the stands' ids, geometries and CRS, the settings used, the source
    of the zonal code and the versions of the libraries that compute it: the same rasters and
    stands give the same numbers, bit for bit, without reading the rasters again. Raster checks
    (values out of range, too few bands...) are met before an entry is written, so a hit is a
    program whose rasters passed them.
    """
    files = [canopy.height, canopy.cover, canopy.cover_before]
    key = content_key(
        "canopy_zonal",
        _zonal_versions(),
        [None if p is None else (sha_as_read(p) or note_input(p)) for p in files],
        stands["stand_id"],
        shapely.to_wkb(stands.geometry.to_numpy()).tolist(),
        stands.crs.to_wkt() if stands.crs is not None else None,
        settings.edge_buffer_m,
        settings.min_valid_pixels,
        settings.min_valid_fraction,
    )
    cached = read_entry("canopy_zonal", key)
    if cached is not None:
        try:
            stats = entry_frame(cached["stats"])
        except (KeyError, TypeError, ValueError) as e:  # a foreign entry: compute again
            log.debug("canopy: cache entry %s ignored (%s)", key, e)
        else:
            if len(stats) == len(stands):
                return stats
    stats = canopy_pixels(stands, canopy, settings)
    try:
        entry = {"stats": frame_entry(stats)}
    except ValueError as e:  # a column the cache cannot keep exactly: not kept
        log.debug("canopy: zonal statistics not cached (%s)", e)
    else:
        write_entry("canopy_zonal", key, entry)
    return stats


def canopy_pixels(
    stands: gpd.GeoDataFrame, canopy: CanopyInputs, settings: CanopySettings
) -> pd.DataFrame:
    """The raster part of the canopy step for some stands (one partition or the whole program).

    The stands shrunk by ``edge_buffer_m``, then :func:`zonal_stats_partition` of the height and
    cover rasters and the mean of the earlier cover raster. Each stand's row depends only on that
    stand, so the tables of partitions concatenated equal the table of all stands; the rest of the
    step (:func:`canopy_table` with ``pixels=``) needs the whole program (the volume model is fitted
    on every plot).

    Returns
    -------
    DataFrame
        One row per stand in ``stands``' order: :func:`forestcarbon.canopy.zonal.zonal_stats`'
        columns, ``cover_mean`` [0-1] (NaN without a cover raster) and ``cover_before_mean`` [0-1]
        (NaN without an earlier cover raster).
    """
    inner = shrink_stands(stands.reset_index(drop=True), settings.edge_buffer_m)
    stats = zonal_stats_partition(
        inner,
        canopy.height,
        cover=canopy.cover,
        min_valid_pixels=settings.min_valid_pixels,
        min_valid_fraction=settings.min_valid_fraction,
    )
    if canopy.cover is None:
        stats["cover_mean"] = np.nan
    stats["cover_before_mean"] = np.nan
    if canopy.cover_before is not None and len(inner):
        stats["cover_before_mean"] = zonal_mean(
            inner,
            canopy.cover_before,
            min_valid_pixels=settings.min_valid_pixels,
            valid_range=COVER_RANGE,
            require_overlap=False,
        ).to_numpy()
    return stats


@functools.cache
def _zonal_versions() -> tuple:
    """What zonal statistics depend on besides their inputs: the code and the libraries."""
    sources = (sys.modules[zonal_stats_partition.__module__].__file__, rasters.__file__, __file__)
    return (
        *(Path(f).read_bytes().decode("utf-8") for f in sources),
        sys.version,
        platform.machine(),
        np.__version__,
        pd.__version__,
        shapely.geos_version_string,
        *(importlib.metadata.version(d) for d in ("exactextract", "rasterio", "shapely")),
        rasterio.__gdal_version__,
    )


def _aligned(pixels: pd.DataFrame, stands: gpd.GeoDataFrame) -> pd.DataFrame:
    """``pixels`` rows in the order of ``stands`` (by stand_id); every stand must have one."""
    by_id = pixels.drop_duplicates("stand_id").set_index("stand_id")
    missing = ~stands["stand_id"].isin(by_id.index)
    if missing.any() or len(by_id) != len(pixels):
        raise ValueError(
            f"canopy pixel statistics: {int(missing.sum())} stand(s) without a row "
            f"(e.g. {', '.join(stands.loc[missing, 'stand_id'].astype(str)[:3])}) or "
            f"{len(pixels) - len(by_id)} duplicated stand_id(s)"
        )
    return by_id.loc[stands["stand_id"]].reset_index()


def compute_canopy(
    inputs, *, pixels: pd.DataFrame | None = None, fit_model: bool = True
) -> CanopyResult | None:
    """The canopy step of a program; ``None`` when the program has no canopy height raster.

    Parameters
    ----------
    inputs : forestcarbon.inputs.program.ProgramInputs
    pixels : DataFrame, optional
        :func:`canopy_pixels` of every stand computed beforehand (a distributed run's partitions
        concatenated); by default computed here in one process.
    fit_model : bool
        False: every check of the step without fitting the volume model (``validate``, see
        :func:`canopy_table`).

    Raises
    ------
    InputError
        Every problem of the canopy inputs (see :func:`load_canopy_inputs`).
    """
    canopy = load_canopy_inputs(inputs)
    if canopy is None:
        return None
    settings = inputs.settings.canopy
    log.info(
        "canopy: zonal statistics of %d stands on %s",
        len(inputs.stands),
        canopy.height.name,
        extra={"progress": 0.1},
    )
    table, model = canopy_table(
        inputs.stands,
        inputs.operations,
        inputs.yields,
        canopy,
        settings,
        inputs.settings.periods,
        file=str(inputs.files.get("operations", "operations")),
        pixels=pixels,
        fit_model=fit_model,
    )
    return CanopyResult(table, model, canopy, settings)
