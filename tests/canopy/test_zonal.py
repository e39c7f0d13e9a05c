"""Zonal statistics checked by hand on small rasters: coverage weights, nodata, stands
half outside the raster, stands in another CRS, windowed reading; the edge buffer."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from forestcarbon.canopy.zonal import shrink_stands, zonal_stats
from forestcarbon.core.exceptions import InputError
from tests.canopy.conftest import NINE, X0, Y0, stands_of, write_raster


def test_coverage_weighted_statistics_by_hand(tmp_path):
    raster = write_raster(tmp_path / "h.tif", NINE)
    stats = zonal_stats(
        stands_of(
            box(5, 5, 25, 25),  # corners 1/4, edges 1/2, centre whole
            Polygon([(0, 0), (20, 0), (0, 20)]),  # triangle over the south-west pixels
            box(12, 12, 14, 14),  # smaller than a pixel
        ),
        raster,
        min_valid_pixels=0,
        min_valid_fraction=0,
    )
    # box: (0.25 (1+3+7+9) + 0.5 (2+4+6+8) + 1 x 5) / 4 = (5 + 10 + 5) / 4 = 5
    assert stats.loc[0, "canopy_mean_m"] == pytest.approx(5.0)
    assert stats.loc[0, "valid_pixels"] == pytest.approx(4.0)
    assert stats.loc[0, "canopy_max_m"] == 9.0
    assert stats.loc[0, "valid_fraction"] == pytest.approx(1.0)
    # triangle: pixel 7 whole, 8 and 4 half, 5 not at all: (7 + 0.5 x 8 + 0.5 x 4) / 2 = 6.5
    assert stats.loc[1, "canopy_mean_m"] == pytest.approx(6.5)
    assert stats.loc[1, "valid_pixels"] == pytest.approx(2.0)
    assert stats.loc[1, "canopy_max_m"] == 8.0
    # a stand inside one pixel gets that pixel, weighted by 4 m2 / 100 m2
    assert stats.loc[2, "canopy_mean_m"] == pytest.approx(5.0)
    assert stats.loc[2, "valid_pixels"] == pytest.approx(0.04)
    assert list(stats["stand_id"]) == ["s0", "s1", "s2"]


def test_nodata_is_left_out_and_too_few_pixels_are_flagged_not_guessed(tmp_path):
    values = np.array(NINE, dtype=float)
    values[2, 2] = -9999  # pixel 9 (south-east) is nodata
    values[0, :] = -9999  # the north row too
    raster = write_raster(tmp_path / "h.tif", values, nodata=-9999)
    stats = zonal_stats(
        stands_of(box(5, 5, 25, 25), box(0, 20, 30, 30), box(0, 0, 20, 20)),
        raster,
        min_valid_pixels=2,
        min_valid_fraction=0.5,
    )
    # box: without 1, 2, 3 (north row) and 9: (0.5 (4+6+8) + 5 + 0.25 x 7) / 2.75
    assert stats.loc[0, "canopy_mean_m"] == pytest.approx((9 + 5 + 1.75) / 2.75)
    assert stats.loc[0, "valid_fraction"] == pytest.approx(2.75 / 4)
    # the north row is all nodata: no statistics, flagged
    assert stats.loc[1, "valid_pixels"] == 0
    assert stats.loc[1, ["canopy_mean_m", "canopy_p95_m"]].isna().all()
    assert stats.loc[1, "too_few_pixels"]
    # 4 whole pixels 4, 5, 7, 8 all valid
    assert stats.loc[2, "canopy_mean_m"] == pytest.approx(6.0)
    assert not stats.loc[2, "too_few_pixels"]


def test_part_outside_the_raster_lowers_the_valid_fraction(tmp_path):
    raster = write_raster(tmp_path / "h.tif", NINE)
    stats = zonal_stats(
        stands_of(box(20, 0, 40, 10)), raster, min_valid_pixels=0, min_valid_fraction=0
    )
    assert stats.loc[0, "canopy_mean_m"] == pytest.approx(9.0)
    assert stats.loc[0, "valid_fraction"] == pytest.approx(0.5)


def test_stands_in_another_crs_are_reprojected_explicitly(tmp_path, caplog):
    left, top = X0, Y0 + 300
    values = np.add.outer(np.arange(30.0), np.arange(30.0))  # a gradient: 0 .. 58
    raster = write_raster(tmp_path / "h.tif", values, left=left, top=top)
    stand = box(X0 + 33, Y0 + 47, X0 + 187, Y0 + 211)
    in_6673 = zonal_stats(stands_of(stand), raster, min_valid_pixels=0)
    lonlat = stands_of(stand).to_crs("EPSG:4326")
    with caplog.at_level(logging.INFO, logger="forestcarbon"):
        in_4326 = zonal_stats(lonlat, raster, min_valid_pixels=0)
    assert "reprojected from EPSG:4326" in caplog.text
    assert in_4326.loc[0, "canopy_mean_m"] == pytest.approx(
        in_6673.loc[0, "canopy_mean_m"], abs=1e-3
    )
    # the same polygon read as if it were in the raster's CRS would miss the raster entirely
    wrong = lonlat.set_crs("EPSG:6673", allow_override=True)
    with pytest.raises(InputError, match="does not overlap any stand"):
        zonal_stats(wrong, raster)


def test_windowed_processing_matches_a_whole_array_mean(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 30, (200, 200)).round(1)
    raster = write_raster(tmp_path / "h.tif", values, top=2000.0)
    whole = box(100, 300, 1700, 1900)  # pixel-aligned: columns 10-170, rows 10-170
    expected = values[10:170, 10:170].mean()
    for cells in (30_000_000, 2_000):  # one read, or many windows of at most 2,000 cells
        stats = zonal_stats(stands_of(whole), raster, max_cells_in_memory=cells)
        assert stats.loc[0, "canopy_mean_m"] == pytest.approx(expected, rel=1e-9)
        assert stats.loc[0, "canopy_max_m"] == values[10:170, 10:170].max()


def test_shrink_stands_keeps_small_stands_whole():
    stands = stands_of(box(0, 0, 100, 100), box(200, 0, 215, 15))
    inner = shrink_stands(stands, 5.0)
    assert inner.geometry.area[0] == pytest.approx(90 * 90)  # shrunk by 5 m on every side
    assert inner.geometry.area[1] == pytest.approx(15 * 15)  # 5 x 5 m left: under a quarter
    assert shrink_stands(stands, 0.0) is stands
