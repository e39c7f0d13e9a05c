"""Opening a canopy raster for exactextract, with the checks exactextract does not make.

:func:`open_raster` accepts a file GDAL reads, an open rasterio dataset or a rioxarray DataArray
and checks that it exists, has one band, a CRS (the message says how to assign one) and no
rotation; it yields the exactextract source with the raster's CRS, pixel area [m2 in a metric
CRS] and bounds. A band whose validity is given by its nodata value is read as plain arrays
(faster than masked arrays, same values).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from forestcarbon.core.exceptions import CRSError, InputError, Problem
from forestcarbon.core.files import note_input

if TYPE_CHECKING:
    from collections.abc import Iterator


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
            note_input(path)
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
