"""Opening rasters: a raster without CRS is refused with its fix; a DataArray reads as its file."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.canopy import rasters
from forestcarbon.canopy.inputs import load_canopy_inputs
from forestcarbon.canopy.rasters import open_raster, write_vrt_mosaic
from forestcarbon.canopy.step import canopy_pixels
from forestcarbon.canopy.zonal import zonal_stats
from forestcarbon.core.exceptions import CRSError, InputError
from forestcarbon.inputs.program import load_program
from tests.canopy.conftest import NINE, stands_of, write_raster


def test_raster_without_crs_is_an_error_that_says_how_to_fix_it(tmp_path):
    raster = write_raster(tmp_path / "h.tif", NINE, crs=None)
    with pytest.raises(CRSError, match=re.escape("gdal_edit.py -a_srs EPSG:6673 h.tif")):
        zonal_stats(stands_of(box(5, 5, 25, 25)), raster)


def test_dataarray_input_gives_the_same_statistics(tmp_path):
    rioxarray = pytest.importorskip("rioxarray")
    raster = write_raster(tmp_path / "h.tif", NINE)
    da = rioxarray.open_rasterio(raster, chunks={"band": 1, "x": 2, "y": 2})
    da = da.squeeze("band", drop=True)  # dask-backed: exactextract computes only its windows
    from_file = zonal_stats(stands_of(box(5, 5, 25, 25)), raster, min_valid_pixels=0)
    from_da = zonal_stats(stands_of(box(5, 5, 25, 25)), da, min_valid_pixels=0)
    assert from_da.loc[0, "canopy_mean_m"] == pytest.approx(from_file.loc[0, "canopy_mean_m"])


def test_vrt_mosaic_places_tiles_and_refuses_tiles_off_the_grid(tmp_path):
    west = write_raster(tmp_path / "w.tif", NINE)  # x 0-30, y 0-30
    east = write_raster(tmp_path / "e.tif", np.array(NINE) + 10, left=30.0)  # x 30-60
    vrt = write_vrt_mosaic([east, west], tmp_path / "m.vrt")
    with rasterio.open(vrt) as ds:
        assert (ds.width, ds.height, ds.bounds.left, ds.bounds.right) == (6, 3, 0.0, 60.0)
        assert ds.read(1)[0].tolist() == [1, 2, 3, 11, 12, 13]  # north row, west then east
    shifted = write_raster(tmp_path / "s.tif", NINE, left=35.0)  # half a pixel off the grid
    with pytest.raises(InputError, match=r"s\.tif.*not on the mosaic's pixel grid"):
        write_vrt_mosaic([west, shifted], tmp_path / "bad.vrt")


def test_a_small_band_read_whole_gives_the_window_by_window_statistics(monkeypatch):
    """The sample's rasters (399 x 500 float32, nodata) are read whole and sliced; forcing the
    window-by-window reads (limit 0 bytes) gives the same table, bit for bit."""
    inputs = load_program(SAMPLE_PROGRAM)
    canopy = load_canopy_inputs(inputs)
    settings = inputs.settings.canopy
    with open_raster(canopy.height) as r:
        assert type(r.source).__name__ == "WholeBandSource"
    whole = canopy_pixels(inputs.stands, canopy, settings)
    monkeypatch.setattr(rasters, "WHOLE_BAND_BYTES", 0)
    with open_raster(canopy.height) as r:
        assert type(r.source).__name__ == "PlainRasterioSource"
    windows = canopy_pixels(inputs.stands, canopy, settings)
    pd.testing.assert_frame_equal(whole, windows, check_exact=True)


def test_a_window_beyond_the_band_is_read_from_the_file(tmp_path):
    """A window inside the band is a slice of it; one reaching past its edge is read by rasterio
    as the window-by-window source reads it."""
    path = write_raster(tmp_path / "h.tif", NINE, nodata=-9999.0)
    with rasterio.open(path) as ds, open_raster(path) as r:
        assert r.source.read_window(1, 1, 2, 2).tolist() == [[5.0, 6.0], [8.0, 9.0]]
        edge = r.source.read_window(2, 0, 2, 3)
        expected = ds.read(1, window=rasterio.windows.Window(2, 0, 2, 3))
        np.testing.assert_array_equal(edge, expected)
