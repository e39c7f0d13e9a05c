"""Helpers of the canopy tests: small GeoTIFFs written by hand, a tiny canopy program with planted
problems, and the canopy step of the bundled sample (computed once for the package)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.canopy.step import compute_canopy
from forestcarbon.inputs.program import load_program
from forestcarbon.sample import program as sample
from tests.conftest import ORIGIN, stand

X0, Y0 = ORIGIN


def write_raster(path, values, *, left=0.0, top=30.0, res=10.0, crs="EPSG:6673", nodata=None):
    """A single-band float32 GeoTIFF from a 2-D array (row 0 = north)."""
    values = np.asarray(values, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(left, top, res, res),
        nodata=nodata,
    ) as ds:
        ds.write(values, 1)
    return path


def stands_of(*geoms, crs="EPSG:6673"):
    return gpd.GeoDataFrame(
        {"stand_id": [f"s{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=crs
    )


NINE = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
"""3 x 3 pixels of 10 m, x 0-30, y 0-30; row 0 is the north row (values 1 2 3)."""


GROWTH3 = """species,site_class,age,volume_m3_ha,height_m,region,source
sugi,1,20,240,16,test,hand-made test table
sugi,1,30,360,21,test,hand-made test table
sugi,1,40,430,24,test,hand-made test table
sugi,2,20,200,14,test,hand-made test table
sugi,2,30,300,18,test,hand-made test table
sugi,2,40,380,21,test,hand-made test table
sugi,3,20,160,12,test,hand-made test table
sugi,3,30,240,15,test,hand-made test table
sugi,3,40,300,18,test,hand-made test table
"""
"""Three sugi site classes; at age 30 the dominant heights are 21, 18 and 15 m."""

CANOPY_TOML = """
[canopy]
height_date = 2024-06-01
cover = "cover_2024.tif"
cover_date = 2024-06-01
cover_before = "cover_2021.tif"
cover_before_date = 2021-06-01
site_class_source = "{source}"
"""


CANOPY_TOML = """
[canopy]
height_date = 2024-06-01
cover = "cover_2024.tif"
cover_date = 2024-06-01
cover_before = "cover_2021.tif"
cover_before_date = 2021-06-01
site_class_source = "{source}"
"""


def tiny_canopy_program(program, *, source="register"):
    """Four 1 ha sugi stands, register site class II, age 30 in FY2024 (planted 1995).

    s0: canopy 21 m (class I: the register is wrong); s1: canopy 1 m (unrecorded harvest);
    s2: thinned 2022-10-01, cover 0.9 -> 0.7; s3: thinned 2022-10-01, cover stays 0.9 (s0 and s1
    were thinned in 2015, before the cover rasters).
    """
    stands = [stand(f"s{i}", 1.0, planted_year=1995) for i in range(4)]
    ops = [
        {"stand_id": f"s{i}", "date": day, "operation": "thinning", "area_ha": ""}
        for i, day in enumerate(("2015-06-01", "2015-06-01", "2022-10-01", "2022-10-01"))
    ]
    folder = program(stands, ops, extra_toml=CANOPY_TOML.format(source=source), growth=GROWTH3)
    # stands are 100 m squares at ORIGIN + (0, 1000, 2000, 3000) m east
    width, height = 320, 12
    left, top = X0 - 10, Y0 + 110
    heights = np.zeros((height, width))
    cover_before = np.full((height, width), 0.9)
    cover_after = np.full((height, width), 0.9)
    for i, h in enumerate((21.0, 1.0, 18.0, 18.0)):
        cols = slice(1 + 100 * i, 11 + 100 * i)
        heights[1:11, cols] = h
    cover_after[1:11, 201:211] = 0.7
    write_raster(folder / "canopy_height.tif", heights, left=left, top=top)
    write_raster(folder / "cover_2021.tif", cover_before, left=left, top=top)
    write_raster(folder / "cover_2024.tif", cover_after, left=left, top=top)
    return folder


@pytest.fixture(scope="package")
def sample_canopy():
    inputs = load_program(SAMPLE_PROGRAM)
    result = compute_canopy(inputs)
    register, operations, _ = sample.generate()
    _, _, problems, _ = sample.generate_canopy(register, operations)
    return inputs, result, problems
