"""Zonal statistics checked by hand on small rasters: coverage weights, nodata, stands
half outside the raster, stands in another CRS, windowed reading; the edge buffer."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from forestcarbon.canopy import rasters
from forestcarbon.canopy.rasters import write_vrt_mosaic
from forestcarbon.canopy.zonal import (
    check_overlap,
    shrink_stands,
    zonal_stats,
    zonal_stats_partition,
)
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


# --- one partition at a time, on a VRT mosaic of small tiles ------------------------------------

MOSAIC_W, MOSAIC_H, TILE = 60, 48, 20
"""A 60 x 48 raster of 1 m pixels (x 0-60, y 0-48) cut into 3 x 3 tiles of at most 20 x 20."""


def mosaic(tmp_path):
    """The same canopy heights as one GeoTIFF and as a VRT over 3 x 3 GeoTIFF tiles; a cover."""
    rng = np.random.default_rng(5)
    values = rng.uniform(0, 30, (MOSAIC_H, MOSAIC_W)).round(1)
    values[rng.random(values.shape) < 0.03] = -9999  # nodata scattered over every tile
    single = write_raster(tmp_path / "whole.tif", values, top=MOSAIC_H, res=1.0, nodata=-9999)
    tiles = []
    for row0 in range(0, MOSAIC_H, TILE):
        for col0 in range(0, MOSAIC_W, TILE):
            part = values[row0 : row0 + TILE, col0 : col0 + TILE]
            path = tmp_path / "tiles" / f"t{row0}_{col0}.tif"
            path.parent.mkdir(exist_ok=True)
            tiles.append(
                write_raster(path, part, left=col0, top=MOSAIC_H - row0, res=1.0, nodata=-9999)
            )
    share = np.where(values == -9999, -9999, values / 30)
    cover = write_raster(tmp_path / "cover.tif", share, top=MOSAIC_H, res=1.0, nodata=-9999)
    return single, write_vrt_mosaic(tiles[::-1], tmp_path / "mosaic.vrt"), cover


def scattered_stands(n=60):
    """Stands over the mosaic: many across tile borders (x 20, 40; y 28, 8), some half outside."""
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-3, 63, n), rng.uniform(-3, 51, n)
    w, h = rng.uniform(2, 15, n), rng.uniform(2, 15, n)
    corners = zip(x, y, x + w, y + h, strict=True)
    geoms = [box(*c).buffer(0.7, quad_segs=2) for c in corners]
    geoms += [box(18, 6, 23, 11), box(38.5, 26.5, 41.5, 29.5), box(100, 100, 110, 110)]
    return stands_of(*geoms)


def test_partitions_on_a_vrt_mosaic_equal_the_single_call_on_one_file(tmp_path):
    single, vrt, cover = mosaic(tmp_path)
    stands = scattered_stands()
    options = dict(cover=cover, min_valid_pixels=3, min_valid_fraction=0.3)
    whole = zonal_stats(stands, single, **options)
    assert whole["too_few_pixels"].iloc[-1]  # the stand beside the raster
    assert whole["canopy_mean_m"].notna().sum() > 40
    # stands across the tile borders: the mosaic gives the one-file values exactly
    pd.testing.assert_frame_equal(zonal_stats(stands, vrt, **options), whole, check_exact=True)
    # three Hilbert-order partitions (and one empty, and one beside the raster), concatenated
    order = np.argsort(stands.hilbert_distance().to_numpy(), kind="stable")
    parts = [*np.array_split(order[:-1], 3), order[:0], order[-1:]]
    tables = [zonal_stats_partition(stands.iloc[p], vrt, **options) for p in parts]
    assert list(tables[3].columns) == list(whole.columns) and len(tables[3]) == 0
    got = pd.concat(tables[:3] + tables[4:], ignore_index=True)
    expected = whole.iloc[np.concatenate(parts)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_a_partition_reads_only_the_windows_of_its_stands(tmp_path, monkeypatch):
    _, vrt, _ = mosaic(tmp_path)
    windows = []
    original = rasters._rasterio_source

    def recording(ds):
        source = original(ds)
        read = source.read_window

        def read_window(x0, y0, nx, ny):
            windows.append((x0, y0, nx, ny))
            return read(x0, y0, nx, ny)

        source.read_window = read_window
        return source

    monkeypatch.setattr(rasters, "_rasterio_source", recording)
    # two stands in the south-west tile: columns 2-13, rows 33-45 (y 3-15, top 48)
    stands = stands_of(box(2, 3, 9, 10), box(6, 8, 13, 15))
    zonal_stats_partition(stands, vrt, min_valid_pixels=0, min_valid_fraction=0)
    assert windows
    for x0, y0, nx, ny in windows:
        if nx * ny:  # exactextract also asks for one empty window
            assert x0 >= 2 and x0 + nx <= 13 and y0 >= 33 and y0 + ny <= 45
    assert sum(nx * ny for *_, nx, ny in windows) == 2 * 7 * 7  # one 7 x 7 window per stand


def test_a_raster_beside_every_stand_is_refused_once_for_the_program(tmp_path):
    _, vrt, _ = mosaic(tmp_path)
    beside = stands_of(box(100, 100, 110, 110))
    with pytest.raises(InputError, match="does not overlap any stand"):
        check_overlap(beside, vrt)
    check_overlap(scattered_stands(), vrt)  # no error
    table = zonal_stats_partition(beside, vrt, min_valid_pixels=0)
    assert table["valid_pixels"].tolist() == [0.0] and table["too_few_pixels"].all()
