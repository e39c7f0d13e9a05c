"""Canopy raster refinement: exact zonal statistics, site class from canopy height, a learned
volume model, and register-versus-raster flags.

The stand register (森林簿) is often wrong: site classes guessed decades ago, harvests never
recorded. This module compares it with canopy rasters (a canopy height model [m] and canopy cover
[0-1], from airborne/drone laser or satellites) and field plots:

1. :func:`zonal_stats`: per stand, coverage-weighted statistics of the rasters computed by
   exactextract (partly covered pixels count by the share of their area inside the stand). The
   raster is read window by window, never whole, so rasters far larger than memory work.
2. :func:`site_class_index`: the site class (地位 I-III) whose yield-table dominant height at the
   stand's age is nearest to the canopy top height (FO-001 accepts laser-derived site class since
   2021).
3. :func:`fit_volume_model`: a scikit-learn model of stand volume [m3/ha] from raster metrics, age
   and species, fitted to field plots and scored by cross-validation grouped by stand.
4. :func:`canopy_table`: all of it per stand, with :data:`FLAGS` where the rasters contradict the
   register (low canopy, invisible thinning, site class, too few pixels, volume).

:func:`compute_canopy` does all of it for a program folder; :meth:`CanopyResult.refine_fo001` makes
FO-001 use the derived site class when ``[canopy] site_class_source = "canopy"`` and reports the
credit effect of every class change.

Canopy products are used to check and refine the register, not as credited quantities of their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from forestcarbon.core.config import CONFIG_FILE, CanopySettings, Period
from forestcarbon.core.exceptions import CRSError, ForestCarbonError, InputError, Problem
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.schemas import Column, TableSpec, parse_date, parse_float, validate
from forestcarbon.methods.fiscal import fiscal_year_of
from forestcarbon.methods.fo001 import build_cohorts
from forestcarbon.methods.growth import YieldTable

log = logging.getLogger("forestcarbon")

HEIGHT_STATS = {
    "canopy_mean_m": "mean",
    "canopy_median_m": "median",
    "canopy_p90_m": "quantile(q=0.9)",
    "canopy_p95_m": "quantile(q=0.95)",
    "canopy_max_m": "max",
}
"""Output column -> exactextract operation for the canopy height raster (coverage-weighted)."""

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
"""Columns of ``canopy_stands.csv`` fixed by DESIGN.md §2 (more columns follow them)."""

FLAGS = {
    "canopy_below_expected": "canopy top height far below the yield table's height for the age: "
    "possible unrecorded harvest or damage",
    "thinning_not_visible": "thinning recorded between the two cover rasters, but canopy cover "
    "did not drop",
    "site_class_disagrees": "site class from canopy height differs from the register's",
    "canopy_too_few_pixels": "too few valid raster pixels in the stand: no canopy statistics",
    "volume_differs": "yield-table volume differs from the volume model by more than "
    "[canopy] volume_tolerance and lies outside the model's prediction interval",
}
"""Canopy flag names (in ``canopy_stands.csv`` and appended to ``fo001_stands.csv``)."""

DEFAULT_CACHE_MB = 256
"""GDAL block cache used while extracting [MB]: bounds memory whatever the raster size."""

MIN_EXPECTED_HEIGHT_M = 5.0
"""The low-canopy check needs a yield-table height of at least this [m] (young stands are noise)."""

DOMAIN_MARGIN = 0.1
"""The volume model predicts within the plots' feature range widened by this share of it."""

MIN_PLOTS, MIN_PLOT_STANDS = 10, 5
"""Fewest plots, and fewest distinct stands holding them, to fit and score a volume model."""


# --- rasters ----------------------------------------------------------------------------------


@dataclass
class _Raster:
    """An open raster band ready for exactextract, with its CRS and pixel area."""

    source: object
    crs: object  # pyproj.CRS
    pixel_area: float
    bounds: tuple[float, float, float, float]
    name: str


def _crs_fix_hint(name: str) -> str:
    return (
        f"assign it with `gdal_edit.py -a_srs EPSG:6673 {name}` or in QGIS (Raster > Projections "
        "> Assign Projection); for Okayama the usual CRS is EPSG:6673 (JGD2011 zone V)"
    )


@contextlib.contextmanager
def open_raster(raster, *, name: str | None = None) -> Iterator[_Raster]:
    """Open a single-band raster for zonal statistics, checking what exactextract does not.

    Parameters
    ----------
    raster : str, Path, rasterio dataset or xarray.DataArray
        A file GDAL reads (GeoTIFF, VRT mosaic, ...), an open rasterio dataset, or a DataArray
        with rioxarray metadata (it may be dask-backed: only the windows needed are computed).
    name : str, optional
        Name used in messages (default: the file name).

    Raises
    ------
    InputError
        The file is missing or unreadable, rotated, or has several bands.
    CRSError
        The raster has no CRS (the message says how to assign one).
    """
    import rasterio
    from exactextract.raster import XArrayRasterSource
    from pyproj import CRS

    if _is_dataarray(raster):
        name = name or str(raster.name or "raster")
        if raster.rio.crs is None:
            raise CRSError(
                Problem(name, "", "crs", "the raster has no CRS; set it with rio.write_crs()")
            )
        _check_bands(raster.rio.count, name)
        res_x, res_y = (abs(r) for r in raster.rio.resolution())
        yield _Raster(
            XArrayRasterSource(raster),
            CRS.from_user_input(raster.rio.crs.to_wkt()),
            res_x * res_y,
            tuple(raster.rio.bounds()),
            name,
        )
        return
    with contextlib.ExitStack() as stack:
        if isinstance(raster, str | os.PathLike):
            path = Path(raster)
            name = name or path.name
            if not path.is_file():
                raise InputError(Problem(str(path), "", "", "raster file not found"))
            try:
                ds = stack.enter_context(rasterio.open(path))
            except rasterio.errors.RasterioIOError as e:
                raise InputError(
                    Problem(str(path), "", "", f"cannot read as a raster: {e}")
                ) from None
        else:
            ds = raster
            name = name or Path(ds.name).name
        if ds.crs is None:
            raise CRSError(
                Problem(name, "", "crs", f"the raster has no CRS; {_crs_fix_hint(name)}")
            )
        _check_bands(ds.count, name)
        if ds.transform.b != 0 or ds.transform.d != 0:
            raise InputError(
                Problem(name, "", "", "rotated rasters are not supported; warp it first")
            )
        res_x, res_y = ds.res
        yield _Raster(
            _rasterio_source(ds),
            CRS.from_user_input(ds.crs.to_wkt()),
            res_x * res_y,
            tuple(ds.bounds),
            name,
        )


def _rasterio_source(ds):
    """exactextract source of band 1; windows read as plain arrays when the nodata value says all.

    exactextract's own source reads numpy masked arrays; building them costs about a third of the
    run on a large raster. When the band's validity is given by its nodata value (or every pixel
    is valid) and no scale/offset applies, the plain array with the nodata value is equivalent.
    """
    from exactextract.raster import RasterioRasterSource
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    class PlainRasterioSource(RasterioRasterSource):
        def read_window(self, x0, y0, nx, ny):
            return self.ds.read(self.band_idx, window=Window(x0, y0, nx, ny))

    plain = ds.mask_flag_enums[0] in ([MaskFlags.nodata], [MaskFlags.all_valid])
    unscaled = ds.scales[0] == 1.0 and ds.offsets[0] == 0.0
    return PlainRasterioSource(ds) if plain and unscaled else RasterioRasterSource(ds)


def _check_bands(count: int, name: str) -> None:
    if count != 1:
        raise InputError(Problem(name, "", "", f"expected a single-band raster, got {count} bands"))


def _is_dataarray(obj) -> bool:
    return type(obj).__name__ == "DataArray" and hasattr(obj, "rio")


# --- zonal statistics -------------------------------------------------------------------------


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
) -> pd.DataFrame:
    """exactextract ``ops`` (column -> operation) and the valid pixel count, rows as ``stands``."""
    import rasterio
    from exactextract import exact_extract

    with open_raster(raster) as r:
        geoms = _stands_in_crs(stands, r.crs, r.name).geometry.to_numpy()
        if not shapely.intersects(geoms, shapely.box(*r.bounds)).any():
            raise InputError(
                Problem(
                    r.name,
                    "",
                    "",
                    "the raster does not overlap any stand (extent "
                    f"{', '.join(f'{b:.0f}' for b in r.bounds)} in {r.crs.to_string()}): wrong "
                    "file or wrong CRS?",
                )
            )
        # Space-filling-curve order: neighbouring stands read the same raster blocks while they
        # are still in GDAL's block cache.
        order = np.argsort(_hilbert(geoms), kind="stable")
        features = _feature_source(geoms[order], order, r.crs.to_wkt())
        with rasterio.Env(GDAL_CACHEMAX=cache_mb * 2**20):
            raw = exact_extract(
                r.source,
                features,
                [*ops.values(), "count"],
                include_cols=["row"],
                strategy=strategy,
                max_cells_in_memory=max_cells_in_memory,
                output="pandas",
            )
        area_cells = shapely.area(geoms) / r.pixel_area
    raw = raw.set_index("row").reindex(np.arange(len(geoms)))
    out = pd.DataFrame(index=stands.index)
    names = [*ops, "valid_pixels"]
    stat_columns = [c for c in raw.columns if c != "row"]
    for column, stat in zip(names, stat_columns, strict=True):
        out[column] = raw[stat].to_numpy(dtype=float)
    out["valid_fraction"] = np.divide(
        out["valid_pixels"].to_numpy(),
        area_cells,
        out=np.zeros(len(out)),
        where=area_cells > 0,
    ).clip(0.0, 1.0)
    return out


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
    options = dict(strategy=strategy, max_cells_in_memory=max_cells_in_memory, cache_mb=cache_mb)
    out = _extract(stands, height, HEIGHT_STATS, **options)
    too_few = (out["valid_pixels"] < min_valid_pixels) | (
        out["valid_fraction"] < min_valid_fraction
    )
    out.loc[too_few, list(HEIGHT_STATS)] = np.nan
    out["too_few_pixels"] = too_few.to_numpy()
    if cover is not None:
        out["cover_mean"] = zonal_mean(
            stands, cover, min_valid_pixels=min_valid_pixels, **options
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
) -> pd.Series:
    """Coverage-weighted mean of ``raster`` in each stand (NaN with too few valid pixels)."""
    out = _extract(
        stands,
        raster,
        {"mean": "mean"},
        strategy=strategy,
        max_cells_in_memory=max_cells_in_memory,
        cache_mb=cache_mb,
    )
    return out["mean"].where(out["valid_pixels"] >= min_valid_pixels)


# --- site class from canopy height ------------------------------------------------------------

SITE_CLASSES = (1, 2, 3)


def class_heights(yields: YieldTable, species, age) -> np.ndarray:
    """Yield-table dominant height [m] of site class I, II, III at ``age`` (NaN without a curve).

    Returns
    -------
    ndarray, shape (n, 3)
    """
    return _class_values(yields, species, age, yields.height_at)


def class_volumes(yields: YieldTable, species, age) -> np.ndarray:
    """Yield-table stem volume [m3/ha] of site class I, II, III at ``age`` (NaN without a curve).

    Returns
    -------
    ndarray, shape (n, 3)
    """
    return _class_values(yields, species, age, yields.volume_at)


def _class_values(yields: YieldTable, species, age, lookup) -> np.ndarray:
    species = np.asarray(species)
    age = np.asarray(age)
    out = np.full((len(species), len(SITE_CLASSES)), np.nan)
    for j, site_class in enumerate(SITE_CLASSES):
        curve = yields.curve_index(species, np.full(len(species), site_class))
        known = curve >= 0
        out[known, j] = lookup(curve[known], age[known])
    return out


def at_site_index(index, values: np.ndarray) -> np.ndarray:
    """Yield-table values (heights or volumes of classes I-III) at a continuous site class.

    Linear between the class curves; the index is held within [0.5, 3.5] (half a class beyond
    the table), so a wild index cannot extrapolate far.

    >>> float(at_site_index([2.5], np.array([[400.0, 300.0, 200.0]]))[0])
    250.0
    """
    s = np.clip(np.asarray(index, dtype=float), 0.5, 3.5)
    v1, v2, v3 = values[:, 0], values[:, 1], values[:, 2]
    return np.where(s <= 2.0, v2 + (2.0 - s) * (v1 - v2), v2 + (s - 2.0) * (v3 - v2))


def site_class_index(top_height_m, heights_m: np.ndarray) -> np.ndarray:
    """Continuous site class (1.0 = on the class I curve, 3.0 = on class III) of a top height.

    Parameters
    ----------
    top_height_m : array_like
        Canopy top height of each stand [m].
    heights_m : ndarray, shape (n, 3)
        Yield-table dominant heights of classes I, II, III at each stand's age [m]
        (:func:`class_heights`).

    Returns
    -------
    ndarray
        Linear interpolation between the curves, extrapolated beyond classes I and III; NaN where a
        height is missing or the curves do not decrease from class I to III.

    Examples
    --------
    Curves 20, 17, 14 m: a top height of 15.5 m lies half-way between II and III.

    >>> float(site_class_index([15.5], np.array([[20.0, 17.0, 14.0]]))[0])
    2.5
    """
    h = np.asarray(top_height_m, dtype=float)
    h1, h2, h3 = heights_m[:, 0], heights_m[:, 1], heights_m[:, 2]
    ok = (h1 > h2) & (h2 > h3)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = 2.0 - (h - h2) / (h1 - h2)
        lower = 2.0 + (h2 - h) / (h2 - h3)
    return np.where(ok, np.where(h >= h2, upper, lower), np.nan)


def nearest_class(index) -> np.ndarray:
    """Site class 1-3 nearest to a continuous index (NaN stays NaN)."""
    index = np.asarray(index, dtype=float)
    return np.where(np.isnan(index), np.nan, np.clip(np.floor(index + 0.5), 1, 3))


# --- stand age at the raster date ---------------------------------------------------------------


def crop_age_at(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    day: dt.date,
    periods: tuple[Period, ...],
    *,
    file: str = "operations",
) -> np.ndarray:
    """Age [years] of the crop covering most of each stand on ``day``; 0 where mostly felled.

    Final harvests and replantings recorded after the register's planted year are replayed with
    the FO-001 engine's cohorts (:func:`forestcarbon.fo001.build_cohorts`), so a stand felled and
    replanted before the raster was taken is expected to be young, not tall.
    """

    cohorts = build_cohorts(stands, operations, periods, file=file)
    moment = np.datetime64(day)
    standing = (np.isnat(cohorts.planted) | (cohorts.planted <= moment)) & (
        np.isnat(cohorts.harvested) | (cohorts.harvested > moment)
    )
    age = fiscal_year_of(day) - cohorts.origin_fy + 1
    table = pd.DataFrame(
        {"stand": cohorts.stand, "share": np.where(standing, cohorts.share, 0.0), "age": age}
    )
    main = table.sort_values(["stand", "share", "age"], kind="stable").groupby("stand").last()
    main = main.reindex(np.arange(len(stands)))
    return np.where(main["share"].to_numpy() >= 0.5, np.maximum(main["age"], 0), 0).astype(int)


# --- volume model -----------------------------------------------------------------------------

BASELINE_FEATURES = ("canopy_mean_m",)
"""The linear baseline: stand volume against mean canopy height, the best single variable."""

MODEL_FEATURES = (
    "canopy_mean_m",
    "canopy_p90_m",
    "canopy_p95_m",
    "cover_mean",
    "age_years",
    "volume_canopy_site_m3_ha",
)
"""Numeric features of the learned model (cover only when every plot stand has it), plus one
indicator column per species. ``volume_canopy_site_m3_ha`` is the yield table's volume at the
site class the canopy height indicates (the register route with the laser-derived site class); the
model learns how far the stands depart from it."""


def _estimator(kind: str, seed: int):
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    if kind == "linear":
        return LinearRegression()
    if kind == "gradient_boosting":
        return GradientBoostingRegressor(
            n_estimators=300,
            learning_rate=0.05,
            max_depth=2,
            min_samples_leaf=3,
            subsample=0.8,
            random_state=seed,
        )
    if kind == "random_forest":
        return RandomForestRegressor(n_estimators=500, min_samples_leaf=2, random_state=seed)
    raise ValueError(f"unknown volume model {kind!r}")


@dataclass(frozen=True)
class VolumeModel:
    """A fitted stand-volume model and its honest (grouped cross-validated) scores.

    Attributes
    ----------
    kind : str
        ``gradient_boosting`` or ``random_forest``.
    features : tuple of str
        Numeric feature columns used.
    species : tuple of str
        Species with an indicator column (those of the plots).
    estimator : sklearn estimator
        Fitted on every plot.
    scores : DataFrame
        One row per model (the learned one and the linear baseline): model, features,
        n_plots, n_stands, n_folds, rmse_m3_ha, relative_rmse, r2 (out-of-fold, folds grouped by
        stand so no stand is in both the training and the test part).
    residual_low, residual_high : float
        Quantiles of the out-of-fold residuals [m3/ha] that give the prediction interval.
    interval : float
        Coverage of the prediction interval [0-1].
    domain : DataFrame
        Per numeric feature, the ``low`` and ``high`` end of the range the model may predict in:
        the plots' range widened by DOMAIN_MARGIN of its width on each side.
    """

    kind: str
    features: tuple[str, ...]
    species: tuple[str, ...]
    estimator: object
    scores: pd.DataFrame
    residual_low: float
    residual_high: float
    interval: float
    domain: pd.DataFrame

    def design(self, table: pd.DataFrame) -> pd.DataFrame:
        """Feature matrix of ``table`` (numeric features, then one column per species)."""
        return _design(table, self.features, self.species)

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Predicted volume and interval [m3/ha] of every row with complete features (else NaN).

        Returns
        -------
        DataFrame
            volume_model_m3_ha, volume_model_low_m3_ha, volume_model_high_m3_ha; NaN for stands
            of a species without plots or with a feature outside :attr:`domain` (a tree model
            cannot extrapolate: it is not asked to).
        """
        x = self.design(table)
        numeric = x[list(self.features)]
        inside = numeric.ge(self.domain["low"]) & numeric.le(self.domain["high"])
        ok = inside.all(axis=1).to_numpy() & table["species"].isin(self.species).to_numpy()
        pred = np.full(len(table), np.nan)
        if ok.any():
            pred[ok] = np.maximum(self.estimator.predict(x[ok]), 0.0)
        return pd.DataFrame(
            {
                "volume_model_m3_ha": pred,
                "volume_model_low_m3_ha": np.maximum(pred + self.residual_low, 0.0),
                "volume_model_high_m3_ha": pred + self.residual_high,
            },
            index=table.index,
        )


def _design(table: pd.DataFrame, features, species) -> pd.DataFrame:
    x = table[list(features)].astype(float)
    for sp in species:
        x[f"species_{sp}"] = (table["species"] == sp).astype(float)
    return x


def _scores(name: str, features, y, pred, groups, n_folds: int) -> dict:
    resid = y - pred
    rmse = float(np.sqrt(np.mean(resid**2)))
    return {
        "model": name,
        "features": " ".join(features),
        "n_plots": len(y),
        "n_stands": len(np.unique(groups)),
        "n_folds": n_folds,
        "rmse_m3_ha": rmse,
        "relative_rmse": rmse / float(np.mean(y)),
        "r2": float(1.0 - np.sum(resid**2) / np.sum((y - np.mean(y)) ** 2)),
    }


def fit_volume_model(
    plots: pd.DataFrame,
    *,
    kind: str = "gradient_boosting",
    interval: float = 0.9,
    n_splits: int = 5,
    seed: int = 0,
) -> VolumeModel:
    """Fit a stand-volume model to field plots and score it by cross-validation grouped by stand.

    Parameters
    ----------
    plots : DataFrame
        One row per plot: stand_id, volume_m3_ha (measured) [m3/ha], species, age_years and the
        canopy statistics of the plot's stand (canopy_mean_m, canopy_p90_m, canopy_p95_m [m],
        cover_mean [0-1]; cover may be all NaN).
    kind : {"gradient_boosting", "random_forest"}
    interval : float
        Coverage of the prediction interval [0-1].
    n_splits : int
        Cross-validation folds (fewer when there are fewer stands).
    seed : int
        Random state of the estimators (results are deterministic).

    Returns
    -------
    VolumeModel
        Fitted on all plots; ``scores`` holds the learned model's and the linear baseline's
        out-of-fold RMSE [m3/ha], relative RMSE [-] and R² [-].

    Notes
    -----
    Plots of one stand share the stand's raster metrics, so folds are grouped by stand
    (``GroupKFold``): a model is never scored on a stand it saw. The interval is the fitted
    prediction plus the ``(1 - interval)/2`` and ``(1 + interval)/2`` quantiles of the out-of-fold
    residuals (a cross-validation version of split-conformal prediction).
    """
    from sklearn.model_selection import GroupKFold, cross_val_predict

    features = tuple(f for f in MODEL_FEATURES if f in plots.columns and plots[f].notna().all())
    species = tuple(sorted(plots["species"].unique()))
    y = plots["volume_m3_ha"].to_numpy(dtype=float)
    groups = plots["stand_id"].to_numpy()
    n_folds = min(n_splits, len(np.unique(groups)))
    folds = GroupKFold(n_splits=n_folds)
    x = _design(plots, features, species)
    x_base = _design(plots, BASELINE_FEATURES, ())
    pred = cross_val_predict(_estimator(kind, seed), x, y, groups=groups, cv=folds)
    pred_base = cross_val_predict(_estimator("linear", seed), x_base, y, groups=groups, cv=folds)
    scores = pd.DataFrame(
        [
            _scores(
                kind, (*features, *(f"species_{s}" for s in species)), y, pred, groups, n_folds
            ),
            _scores("linear_baseline", BASELINE_FEATURES, y, pred_base, groups, n_folds),
        ]
    )
    resid = y - pred
    low, high = np.quantile(resid, [(1 - interval) / 2, (1 + interval) / 2])
    scores["interval"] = interval
    scores["interval_low_m3_ha"] = [low, np.nan]
    scores["interval_high_m3_ha"] = [high, np.nan]
    estimator = _estimator(kind, seed).fit(x, y)
    lo, hi = x[list(features)].min(), x[list(features)].max()
    domain = pd.DataFrame(
        {"low": lo - DOMAIN_MARGIN * (hi - lo), "high": hi + DOMAIN_MARGIN * (hi - lo)}
    )
    return VolumeModel(
        kind, features, species, estimator, scores, float(low), float(high), interval, domain
    )


# --- program inputs ---------------------------------------------------------------------------

PLOTS = TableSpec(
    "plots",
    (
        Column("plot_id", aliases=("プロット", "プロットid", "プロット番号", "plot")),
        Column("stand_id", required=False, aliases=("小班id", "森林id", "小班コード")),
        Column("x", parse_float, required=False, unit="m", aliases=("x座標",)),
        Column("y", parse_float, required=False, unit="m", aliases=("y座標",)),
        Column(
            "volume_m3_ha",
            parse_float,
            min=0,
            max=3000,
            unit="m3/ha",
            aliases=("材積", "ha材積", "材積(m3/ha)", "蓄積", "measured_volume_m3_ha"),
        ),
        Column("date", parse_date, required=False, aliases=("調査日", "測定日")),
    ),
    id_column="plot_id",
    unique=("plot_id",),
)
"""Field plots: plot_id, stand_id and/or x, y (in ``[program] crs``), measured volume [m3/ha]."""

PLOT_LOCATION_TOLERANCE_M = 30.0
"""A plot with both a stand_id and x, y may lie this far outside its stand (GPS error) [m]."""


@dataclass(frozen=True)
class CanopyInputs:
    """Validated canopy inputs of a program (files exist, CRSs set, dates given, plots checked).

    Attributes
    ----------
    height, cover, cover_before : Path or None
        Canopy height [m] and canopy cover [0-1] rasters (cover and cover_before optional).
    height_date, cover_date, cover_before_date : date or None
        Acquisition dates.
    plots : DataFrame or None
        plot_id, stand_id, volume_m3_ha [m3/ha] of every field plot.
    """

    height: Path
    height_date: dt.date
    cover: Path | None = None
    cover_date: dt.date | None = None
    cover_before: Path | None = None
    cover_before_date: dt.date | None = None
    plots: pd.DataFrame | None = None
    plots_file: Path | None = None

    @property
    def files(self) -> dict[str, Path]:
        """Input role -> path of every canopy file (for provenance)."""
        roles = {
            "canopy_height": self.height,
            "canopy_cover": self.cover,
            "canopy_cover_before": self.cover_before,
            "plots": self.plots_file,
        }
        return {role: path for role, path in roles.items() if path is not None}


def canopy_height_path(program_dir: str | Path, settings: CanopySettings) -> Path:
    """Where the program's canopy height raster is (it may not exist)."""
    return Path(program_dir) / settings.height


def has_canopy(program_dir: str | Path, settings: CanopySettings) -> bool:
    """True when the program folder holds its canopy height raster (the canopy step runs)."""
    return canopy_height_path(program_dir, settings).is_file()


def _require_raster_extra() -> None:
    try:
        import exactextract  # noqa: F401
        import rasterio  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:
        raise ForestCarbonError(
            f"the canopy step needs {e.name}: pip install 'forestcarbon[raster]'"
        ) from None


def _default(name: str):
    return next(f.default for f in dataclasses.fields(CanopySettings) if f.name == name)


def _date_setting(
    settings: CanopySettings, key: str, needed_by: str, problems: list[Problem]
) -> dt.date | None:
    value = getattr(settings, key)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    got = "it is missing" if value is None else f"got {value!r}"
    problems.append(
        Problem(
            CONFIG_FILE,
            "",
            f"[canopy] {key}",
            f"the acquisition date of {needed_by} is needed (stand ages are taken on it): give a "
            f"TOML date such as {key} = 2024-06-01 (no quotes); {got}",
        )
    )
    return None


def _optional_file(
    program_dir: Path, settings: CanopySettings, key: str, problems: list[Problem]
) -> Path | None:
    """An optional input file: absent is fine only when the setting is left at its default."""
    name = getattr(settings, key)
    if not name:
        return None
    path = program_dir / name
    if path.is_file():
        return path
    if name != _default(key):
        problems.append(Problem(CONFIG_FILE, "", f"[canopy] {key}", f"file {path} not found"))
    return None


def load_canopy_inputs(inputs) -> CanopyInputs | None:
    """Validate the canopy inputs of a program; ``None`` when it has no canopy height raster.

    Parameters
    ----------
    inputs : forestcarbon.inputs.ProgramInputs

    Raises
    ------
    InputError
        Listing every problem: missing dates or files, rasters without CRS, bad plots, and
        ``site_class_source = "canopy"`` without a raster or without yield-table heights.
    """
    s = inputs.settings.canopy
    program_dir = Path(inputs.program_dir)
    problems: list[Problem] = []
    height = canopy_height_path(program_dir, s)
    if height.is_file():
        _require_raster_extra()
    else:
        needed_by = [
            f"{key} = {getattr(s, key)!r}"
            for key, default in (
                ("site_class_source", "register"),
                ("volume_source", "yield_table"),
            )
            if getattr(s, key) != default
        ]
        if s.height != _default("height") or needed_by:
            why = f" ({' and '.join(needed_by)} needs it)" if needed_by else ""
            raise InputError(
                Problem(
                    CONFIG_FILE,
                    "",
                    "[canopy] height",
                    f"canopy height raster {height} not found{why}",
                )
            )
        return None
    height_date = _date_setting(s, "height_date", s.height, problems)
    cover = _optional_file(program_dir, s, "cover", problems)
    cover_before = _optional_file(program_dir, s, "cover_before", problems)
    cover_date = _date_setting(s, "cover_date", s.cover, problems) if cover else None
    before_date = None
    if cover_before is not None:
        before_date = _date_setting(s, "cover_before_date", s.cover_before, problems)
        if cover is None:
            problems.append(
                Problem(
                    CONFIG_FILE,
                    "",
                    "[canopy] cover_before",
                    "an earlier cover raster needs the later one ([canopy] cover) to compare with",
                )
            )
        elif cover_date and before_date and not before_date < cover_date:
            problems.append(
                Problem(
                    CONFIG_FILE,
                    "",
                    "[canopy] cover_before_date",
                    f"{before_date} is not before cover_date {cover_date}",
                )
            )
    for path in (height, cover, cover_before):
        if path is not None:
            try:
                with open_raster(path):
                    pass
            except InputError as e:
                problems += e.problems
    if s.site_class_source == "canopy" and not np.isfinite(inputs.yields.height).any():
        problems.append(
            Problem(
                str(inputs.files.get("growth", "growth")),
                "",
                "height_m",
                "site_class_source = 'canopy' needs dominant heights by age in the yield table",
            )
        )
    plots_path = _optional_file(program_dir, s, "plots", problems)
    if plots_path is None and s.volume_source == "model":
        problems.append(
            Problem(
                CONFIG_FILE,
                "",
                "[canopy] volume_source",
                f"'model' needs field plots ({program_dir / s.plots} not found)",
            )
        )
    plots = None
    if plots_path is not None:
        try:
            plots = read_plots(plots_path, inputs.stands)
        except InputError as e:
            problems += e.problems
    if problems:
        raise InputError(problems)
    return CanopyInputs(
        height, height_date, cover, cover_date, cover_before, before_date, plots, plots_path
    )


def read_plots(path: str | Path, stands: gpd.GeoDataFrame) -> pd.DataFrame:
    """Read and check field plots; locate plots given by x, y in the stand polygons.

    Parameters
    ----------
    path : str or Path
        plots.csv (UTF-8 or cp932) or XLSX.
    stands : GeoDataFrame
        Stands in the working CRS (plot coordinates are in the same CRS).

    Returns
    -------
    DataFrame
        plot_id, stand_id, volume_m3_ha [m3/ha].

    Raises
    ------
    InputError
        A plot with neither stand_id nor x, y; an unknown stand; a location outside every stand,
        or more than PLOT_LOCATION_TOLERANCE_M from the stand it names.
    """
    file = str(path)
    df, problems = validate(read_table(path), PLOTS, file, needs_stand_id=False)
    if problems:
        raise InputError(problems)
    for col in ("stand_id", "x", "y"):
        if col not in df.columns:
            df[col] = None
    df["stand_id"] = df["stand_id"].fillna("").astype(str)
    xy = df["x"].notna() & df["y"].notna()
    known = set(stands["stand_id"])
    geoms = stands.set_index("stand_id").geometry
    points = gpd.GeoSeries(
        gpd.points_from_xy(df["x"].astype(float), df["y"].astype(float)), crs=stands.crs
    )
    for i, row in df.iterrows():
        where = f"row {row['source_row']} ({row['plot_id']})"
        sid = row["stand_id"]
        if sid and sid not in known:
            problems.append(Problem(file, where, "stand_id", f"unknown stand {sid!r}"))
        elif sid and xy[i]:
            distance = float(geoms[sid].distance(points[i]))
            if distance > PLOT_LOCATION_TOLERANCE_M:
                problems.append(
                    Problem(
                        file,
                        where,
                        "x/y",
                        f"the plot lies {distance:.0f} m outside stand {sid!r} (coordinates in "
                        f"the program CRS {stands.crs.to_string()})",
                    )
                )
        elif not sid and xy[i]:
            inside = stands.loc[stands.geometry.contains(points[i]), "stand_id"].tolist()
            if len(inside) == 1:
                df.loc[i, "stand_id"] = inside[0]
            else:
                problems.append(
                    Problem(
                        file,
                        where,
                        "x/y",
                        "the plot lies in no stand (coordinates in the program CRS "
                        f"{stands.crs.to_string()})"
                        if not inside
                        else f"the plot lies in a polygon shared by {', '.join(inside)}: give its "
                        "stand_id",
                    )
                )
        elif not sid:
            problems.append(
                Problem(file, where, "stand_id", "give the plot's stand_id or its x and y")
            )
    if problems:
        raise InputError(problems)
    return df[["plot_id", "stand_id", "volume_m3_ha"]].reset_index(drop=True)


# --- the canopy step of a program -------------------------------------------------------------


def _join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """'a;b' strings of the names whose mask is true, in the order of ``flags``."""
    parts = [[] for _ in range(n)]
    for name, mask in flags.items():
        for i in np.flatnonzero(mask):
            parts[i].append(name)
    return np.array([";".join(p) for p in parts], dtype=object)


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


def _thinning_share(
    stands: pd.DataFrame, operations: pd.DataFrame, after: dt.date, until: dt.date
) -> np.ndarray:
    """Treated share [0-1] of each stand thinned in (after, until]; 0 without such thinning."""
    ops = operations[
        (operations["operation"] == "thinning")
        & (operations["date"] > after)
        & (operations["date"] <= until)
    ]
    area = stands.set_index("stand_id")["stand_area_ha"]
    treated = ops["area_ha"].fillna(ops["stand_id"].map(area)).groupby(ops["stand_id"]).sum()
    share = treated.reindex(stands["stand_id"]).fillna(0.0).to_numpy() / area.to_numpy()
    return np.clip(share, 0.0, 1.0)


def canopy_table(
    stands: gpd.GeoDataFrame,
    operations: pd.DataFrame,
    yields: YieldTable,
    canopy: CanopyInputs,
    settings: CanopySettings,
    periods: tuple[Period, ...],
    *,
    file: str = "operations",
) -> tuple[pd.DataFrame, VolumeModel | None]:
    """Per stand canopy statistics, derived site class, model volume and flags.

    Parameters
    ----------
    stands : GeoDataFrame
        Validated stands (:class:`forestcarbon.inputs.ProgramInputs`), in any CRS.
    operations : DataFrame
        Validated operations (thinning dates and areas, harvests, replantings).
    yields : YieldTable
        Yield table with ``height_m`` (dominant height [m]) for site class and low-canopy checks.
    canopy : CanopyInputs
    settings : CanopySettings
    periods : tuple of Period
        Monitoring periods (for the cohort replay of harvests).

    Returns
    -------
    table : DataFrame
        The ``canopy_stands.csv`` table: the DESIGN.md columns first, then species, age_years
        (crop age at the height raster date), canopy_median_m, canopy_p90_m, top_height_m,
        expected_height_m [m], valid_pixels, site_index_canopy (continuous site class),
        cover_before_mean, cover_change [0-1], thinned_share [0-1], volume_table_m3_ha (register
        class), volume_canopy_site_m3_ha (yield table at the canopy's continuous site class),
        volume_model_low_m3_ha, volume_model_high_m3_ha [m3/ha] (the prediction interval).
    model : VolumeModel or None
        None without enough field plots (MIN_PLOTS plots in MIN_PLOT_STANDS stands).

    Notes
    -----
    - Statistics are taken inside each stand shrunk by ``edge_buffer_m`` (:func:`shrink_stands`).
    - Top height is the ``[canopy] top_height`` quantile of the canopy height model.
    - Low canopy: top height below ``low_canopy_ratio`` x the yield-table dominant height of the
      register class at the crop's age (only where that height is at least
      MIN_EXPECTED_HEIGHT_M). Such a stand gets no derived site class (its canopy says nothing
      about the site).
    - Site class: see :func:`site_class_index`; derived only from ``site_class_min_age``;
      disagreement when the continuous class is more than ``0.5 + site_class_margin`` from the
      register's.
    - Thinning visible: a thinning recorded after ``cover_before_date`` and up to ``cover_date``
      must lower mean cover by ``min_cover_drop`` x the treated share of the stand.
    """
    stands = stands.reset_index(drop=True)
    n = len(stands)
    inner = shrink_stands(stands, settings.edge_buffer_m)
    stats = zonal_stats(
        inner,
        canopy.height,
        cover=canopy.cover,
        min_valid_pixels=settings.min_valid_pixels,
        min_valid_fraction=settings.min_valid_fraction,
    )
    if canopy.cover is None:
        stats["cover_mean"] = np.nan
    species = stands["species"].to_numpy()
    register = stands["site_class"].to_numpy(dtype=int)
    age = crop_age_at(stands, operations, canopy.height_date, periods, file=file)
    heights = class_heights(yields, species, age)
    expected = heights[np.arange(n), register - 1]
    top = stats[f"canopy_{settings.top_height}_m"].to_numpy()
    low = (expected >= MIN_EXPECTED_HEIGHT_M) & (top < settings.low_canopy_ratio * expected)
    raw_index = site_class_index(top, heights)
    derivable = (age >= settings.site_class_min_age) & ~low & np.isfinite(raw_index)
    index = np.where(derivable, raw_index, np.nan)
    disagrees = derivable & (np.abs(index - register) > 0.5 + settings.site_class_margin)

    cover_before = np.full(n, np.nan)
    thinned = np.zeros(n)
    if canopy.cover_before is not None:
        cover_before = zonal_mean(
            inner, canopy.cover_before, min_valid_pixels=settings.min_valid_pixels
        ).to_numpy()
        thinned = _thinning_share(stands, operations, canopy.cover_before_date, canopy.cover_date)
    change = stats["cover_mean"].to_numpy() - cover_before
    not_visible = (
        (thinned > 0) & np.isfinite(change) & (-change < settings.min_cover_drop * thinned)
    )

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
    model = _volume_model(table, canopy.plots, settings)
    predicted = (
        model.predict(table)
        if model is not None
        else pd.DataFrame(
            np.nan,
            index=table.index,
            columns=["volume_model_m3_ha", "volume_model_low_m3_ha", "volume_model_high_m3_ha"],
        )
    )
    table = pd.concat([table, predicted], axis=1)
    v_model = table["volume_model_m3_ha"].to_numpy()
    outside = (volume_table < table["volume_model_low_m3_ha"].to_numpy()) | (
        volume_table > table["volume_model_high_m3_ha"].to_numpy()
    )
    with np.errstate(invalid="ignore"):
        differs = (
            np.isfinite(v_model)
            & outside
            & (np.abs(volume_table - v_model) > settings.volume_tolerance * v_model)
        )
    table["flags"] = _join_flags(
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


def _volume_model(
    table: pd.DataFrame, plots: pd.DataFrame | None, settings: CanopySettings
) -> VolumeModel | None:
    if plots is None:
        return None
    data = plots.merge(table, on="stand_id", how="left")
    needed = settings.volume_source == "model"
    usable = data["canopy_mean_m"].notna()
    if (~usable).any():
        log.info(
            "volume model: %d plot(s) in stands without canopy statistics left out: %s",
            int((~usable).sum()),
            ", ".join(data.loc[~usable, "plot_id"].astype(str)),
        )
    data = data[usable]
    if len(data) < MIN_PLOTS or data["stand_id"].nunique() < MIN_PLOT_STANDS:
        if needed:
            raise InputError(
                Problem(
                    settings.plots,
                    "",
                    "",
                    f"volume_source = 'model' needs at least {MIN_PLOTS} usable plots in "
                    f"{MIN_PLOT_STANDS} stands; found {len(data)} in "
                    f"{data['stand_id'].nunique()}",
                )
            )
        log.warning(
            "volume model: %d usable plot(s) in %d stand(s); at least %d plots in %d stands are "
            "needed: no model",
            len(data),
            data["stand_id"].nunique(),
            MIN_PLOTS,
            MIN_PLOT_STANDS,
        )
        return None
    return fit_volume_model(
        data.reset_index(drop=True), kind=settings.volume_model, interval=settings.interval
    )


OUTPUT_DECIMALS = {
    **dict.fromkeys([*HEIGHT_STATS, "top_height_m", "expected_height_m", "valid_pixels"], 2),
    **dict.fromkeys(["valid_fraction", "cover_mean", "cover_before_mean", "cover_change"], 4),
    **dict.fromkeys(["thinned_share", "site_index_canopy", "volume_scale"], 3),
    **dict.fromkeys(
        [
            "volume_table_m3_ha",
            "volume_canopy_site_m3_ha",
            "volume_model_m3_ha",
            "volume_model_low_m3_ha",
            "volume_model_high_m3_ha",
        ],
        1,
    ),
}
"""Decimals written to ``canopy_stands.csv`` per column (flags are computed before rounding)."""

CHANGES_COLUMNS = [
    "stand_id",
    "period",
    "site_class_register",
    "site_class_canopy",
    "applied",
    "net_tco2_register",
    "net_tco2_canopy",
    "change_tco2",
]
"""Columns of ``canopy_site_class_changes.csv``."""


@dataclass(frozen=True)
class CanopyResult:
    """Outcome of the canopy step of a program.

    Attributes
    ----------
    table : DataFrame
        ``canopy_stands.csv`` (see :func:`canopy_table`).
    model : VolumeModel or None
    inputs : CanopyInputs
    settings : CanopySettings
    changes : DataFrame
        Site class changes and their credit effect (:meth:`refine_fo001`).
    volume_effect : DataFrame or None
        With ``volume_source = "model"``: per period, the stands scaled and the credited net
        [t-CO2] with yield-table and with model volumes.
    """

    table: pd.DataFrame
    model: VolumeModel | None
    inputs: CanopyInputs
    settings: CanopySettings
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGES_COLUMNS))
    volume_effect: pd.DataFrame | None = None

    def canopy_site_classes(self, stands: pd.DataFrame, yields: YieldTable) -> np.ndarray:
        """Site class per stand with the canopy-derived class wherever one was derived.

        A derived class is used only when the yield table has a curve for it; elsewhere (too
        young, too few pixels, low canopy, no curve) the register's class stays.
        """
        derived = (
            self.table.set_index("stand_id")["site_class_canopy"]
            .reindex(stands["stand_id"])
            .to_numpy(dtype=float, na_value=np.nan)
        )
        register = stands["site_class"].to_numpy(dtype=int)
        candidate = np.where(np.isnan(derived), register, derived).astype(int)
        has_curve = yields.curve_index(stands["species"], candidate) >= 0
        return np.where(has_curve, candidate, register)

    def refine_fo001(
        self,
        stands: pd.DataFrame,
        yields: YieldTable,
        compute: Callable[[pd.DataFrame], pd.DataFrame],
    ) -> tuple[pd.DataFrame, CanopyResult]:
        """FO-001 results with the canopy flags, and the site class source of the settings.

        Parameters
        ----------
        stands : DataFrame
            The validated stands (register site classes).
        yields : YieldTable
        compute : callable
            ``compute(stands) -> fo001 table`` (e.g. :func:`forestcarbon.fo001.compute_fo001`
            with the program's operations, periods and settings bound).

        Returns
        -------
        fo001 : DataFrame
            Computed with the register's site classes, or with the canopy-derived ones when
            ``[canopy] site_class_source = "canopy"``; with ``volume_source = "model"``, each
            stand's yield curve scaled by :meth:`volume_scales` (a ``volume_scale`` column of the
            stands, see :func:`forestcarbon.fo001.compute_fo001`); canopy flags appended to
            ``flags``.
        result : CanopyResult
            This result with ``changes``: for every stand whose derived class differs from the
            register's, and every period, the credited net removals [t-CO2] under both classes
            and the difference (``applied`` tells whether FO-001 used the derived class).
        """
        fo_register = compute(stands)
        classes = self.canopy_site_classes(stands, yields)
        changed = classes != stands["site_class"].to_numpy(dtype=int)
        applied = self.settings.site_class_source == "canopy"
        fo_canopy = compute(stands.assign(site_class=classes)) if changed.any() else fo_register
        changes = _class_changes(fo_register, fo_canopy, stands[changed], classes[changed], applied)
        fo = fo_canopy if applied else fo_register
        result = dataclasses.replace(self, changes=changes)
        if self.settings.volume_source == "model":
            used = stands.assign(site_class=classes) if applied else stands
            scale = self.volume_scales(used, yields)
            fo_model = compute(used.assign(volume_scale=scale))
            result = dataclasses.replace(
                result,
                table=self.table.assign(volume_scale=scale),
                volume_effect=_volume_effect(fo, fo_model, stands["stand_id"][np.isfinite(scale)]),
            )
            fo = fo_model
        return add_canopy_flags(fo, self.table), result

    def volume_scales(self, stands: pd.DataFrame, yields: YieldTable) -> np.ndarray:
        """Factor [-] taking each stand's yield curve through the model volume at the raster date.

        ``min(1, volume_model_m3_ha / V(species, site class, age))`` where the model predicts,
        the crop at the raster date is the register's (no replanting since) and the yield-table
        volume is at least MIN_SCALED_VOLUME_M3_HA; NaN (no scaling) elsewhere. The scale never
        exceeds 1: a learned model may lower a stand's credits, never raise them (conservative).
        """
        t = self.table.set_index("stand_id").reindex(stands["stand_id"])
        age = t["age_years"].to_numpy(dtype=int)
        register_age = fiscal_year_of(self.inputs.height_date) - stands["planted_year"].to_numpy()
        curve = yields.curve_index(stands["species"], stands["site_class"])
        known = curve >= 0
        v_table = np.full(len(stands), np.nan)
        v_table[known] = yields.volume_at(curve[known], age[known])
        model = t["volume_model_m3_ha"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            ok = (
                (age == register_age + 1)
                & np.isfinite(model)
                & (v_table >= MIN_SCALED_VOLUME_M3_HA)
            )
        return np.where(ok, np.minimum(1.0, model / np.where(ok, v_table, 1.0)), np.nan)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Output file name -> table (canopy values rounded to what the rasters can tell)."""
        out = {
            "canopy_stands.csv": self.table.round(OUTPUT_DECIMALS),
            "canopy_site_class_changes.csv": self.changes,
        }
        if self.model is not None:
            out["canopy_volume_model.csv"] = self.model.scores
        return out


MIN_SCALED_VOLUME_M3_HA = 10.0
"""A yield curve is scaled to the model only where the table gives at least this volume [m3/ha]."""


def _volume_effect(fo_table: pd.DataFrame, fo_model: pd.DataFrame, scaled: pd.Series):
    """Per period: stands scaled, credited net [t-CO2] with yield-table and with model volumes."""
    rows = []
    for (period, a), (_, b) in zip(
        fo_table.groupby("period", sort=True), fo_model.groupby("period", sort=True), strict=True
    ):
        rows.append(
            {
                "period": period,
                "n_stands": len(scaled),
                "net_tco2_yield_table": float(a["net_tco2"].sum()),
                "net_tco2_model": float(b["net_tco2"].sum()),
            }
        )
    out = pd.DataFrame(rows)
    out["change_tco2"] = out["net_tco2_model"] - out["net_tco2_yield_table"]
    return out


def _class_changes(
    fo_register: pd.DataFrame,
    fo_canopy: pd.DataFrame,
    changed: pd.DataFrame,
    classes: np.ndarray,
    applied: bool,
) -> pd.DataFrame:
    key = ["stand_id", "period"]
    ids = pd.DataFrame(
        {
            "stand_id": changed["stand_id"].to_numpy(),
            "site_class_register": changed["site_class"].to_numpy(dtype=int),
            "site_class_canopy": classes,
        }
    )
    reg = fo_register.loc[fo_register["stand_id"].isin(ids["stand_id"]), [*key, "net_tco2"]]
    can = fo_canopy.loc[fo_canopy["stand_id"].isin(ids["stand_id"]), [*key, "net_tco2"]]
    out = reg.merge(can, on=key, suffixes=("_register", "_canopy")).merge(ids, on="stand_id")
    out["applied"] = applied
    out["change_tco2"] = out["net_tco2_canopy"] - out["net_tco2_register"]
    return out[CHANGES_COLUMNS].reset_index(drop=True)


def add_canopy_flags(fo001: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``fo001`` with each stand's canopy flags appended to its ``flags`` (a new table)."""
    canopy = fo001["stand_id"].map(table.set_index("stand_id")["flags"]).fillna("")
    both = fo001["flags"].fillna("").astype(str) + ";" + canopy
    return fo001.assign(flags=both.str.strip(";").to_numpy())


def compute_canopy(inputs) -> CanopyResult | None:
    """The canopy step of a program; ``None`` when the program has no canopy height raster.

    Parameters
    ----------
    inputs : forestcarbon.inputs.ProgramInputs

    Raises
    ------
    InputError
        Every problem of the canopy inputs (see :func:`load_canopy_inputs`).
    """
    canopy = load_canopy_inputs(inputs)
    if canopy is None:
        return None
    settings = inputs.settings.canopy
    log.info("canopy: zonal statistics of %d stands on %s", len(inputs.stands), canopy.height.name)
    table, model = canopy_table(
        inputs.stands,
        inputs.operations,
        inputs.yields,
        canopy,
        settings,
        inputs.settings.periods,
        file=str(inputs.files.get("operations", "operations")),
    )
    return CanopyResult(table, model, canopy, settings)
