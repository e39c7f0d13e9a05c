"""Geometry checks that change credits: overlaps, duplicates, misplaced or non-finite
coordinates, register vs polygon area. Each is refused by run and validate alike (exit 1)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import Polygon

from forestcarbon.inputs.crs import box_within, coordinate_problems
from forestcarbon.inputs.geometry import (
    _all_near,
    area_of_use_problems,
    far_problems,
    finite_problems,
)
from forestcarbon.inputs.program import load_program
from tests.conftest import assert_refused, ops_for, square, stand


def test_overlapping_stands_are_refused(program, tmp_path, capsys):
    # two 1 ha squares (100 m sides), the second 50 m east: overlap 50 x 100 m = 0.5 ha
    folder = program(
        [stand("1-1-1", geometry=square(1.0)), stand("1-2-1", geometry=square(1.0, 50.0))],
        ops_for("1-1-1", "1-2-1"),
    )
    assert_refused(
        folder, tmp_path, capsys, "feature 2 (1-2-1)", "overlaps feature 1 (1-1-1) by 0.5000 ha"
    )


def test_a_sliver_below_the_tolerance_passes(program):
    # 0.1 m x 100 m = 0.001 ha < 0.01 ha
    folder = program(
        [stand("1-1-1", geometry=square(1.0)), stand("1-2-1", geometry=square(1.0, 99.9))],
        ops_for("1-1-1", "1-2-1"),
    )
    assert len(load_program(folder).stands) == 2


def test_duplicate_polygons_are_refused(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1", geometry=square(1.0)), stand("1-2-1", geometry=square(1.0))],
        ops_for("1-1-1", "1-2-1"),
    )
    assert_refused(folder, tmp_path, capsys, "the same polygon as feature 1 (1-1-1)")


def test_swapped_longitude_and_latitude_are_refused(program, tmp_path, capsys):
    folder = program([stand("1-1-1"), stand("1-2-1")], ops_for("1-1-1", "1-2-1"), crs="EPSG:4326")
    gdf = gpd.read_file(folder / "stands.gpkg")
    gdf.geometry = shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy[:, ::-1])
    gdf.to_file(folder / "stands.gpkg", layer="stands", engine="pyogrio")
    # latitudes of 134 degrees: refused by the degrees check before the area-of-use check
    assert_refused(folder, tmp_path, capsys, "feature 1 (1-1-1)", "EPSG:4326", "not degrees")


def test_a_stand_far_from_the_rest_is_refused(program, tmp_path, capsys):
    # 60 km east of the others: still in JGD2011 zone V, but not in one city's forest
    rows = [stand("1-1-1"), stand("1-2-1", geometry=square(1.0, 2_000.0))]
    rows.append(stand("1-3-1", geometry=square(1.0, 60_000.0)))
    folder = program(rows, ops_for("1-1-1", "1-2-1", "1-3-1"))
    assert_refused(folder, tmp_path, capsys, "feature 3 (1-3-1)", "58 km from the middle")


def test_non_finite_coordinates_are_named():
    bad = Polygon([(0, 0), (np.inf, 0), (1, 1), (0, 0)])
    gdf = gpd.GeoDataFrame(geometry=[square(1.0), bad], crs="EPSG:6673")
    problems = finite_problems(gdf, pd.Series(["a", "b"]), "stands.gpkg")
    assert [p.where for p in problems] == ["feature 2 (b)"]
    assert "non-finite" in problems[0].message


def test_area_of_use_in_the_working_crs():
    inside = gpd.GeoDataFrame(geometry=[square(1.0)], crs="EPSG:6673")
    assert area_of_use_problems(inside, "EPSG:6673", pd.Series(["a"]), "f") == []
    # Tokyo (lon 139.7) is outside zone V (Okayama, lon ~133-135)
    tokyo = gpd.GeoDataFrame(geometry=[shapely.box(139.7, 35.6, 139.71, 35.61)], crs=4326)
    assert len(area_of_use_problems(tokyo, "EPSG:6673", pd.Series(["a"]), "f")) == 1


def test_register_and_polygon_area_disagreeing_are_refused(program, tmp_path, capsys):
    # register 1.5 ha, polygon 1.0 ha: |1.5 - 1.0| / 1.0 = 50% > 20%
    folder = program([stand("1-1-1", area_ha=1.5, geometry=square(1.0))], ops_for("1-1-1"))
    assert_refused(
        folder, tmp_path, capsys, "1-1-1", "'area_ha'", "register area 1.5000 ha", "differ by 50%"
    )


def test_register_area_within_the_tolerance_is_accepted_and_not_scaled_up(program):
    # register 1.15 ha, polygon 1.0 ha (15%): accepted; the polygon area is used
    folder = program([stand("1-1-1", area_ha=1.15, geometry=square(1.0))], ops_for("1-1-1"))
    st = load_program(folder).stands
    assert st["stand_area_ha"].iloc[0] == pytest.approx(1.0)


def test_a_non_finite_coordinate_in_one_part_of_feature_4_is_named():
    # features 1..5: a square, no geometry, a square, a MultiPolygon whose second part has a
    # NaN, a square: every coordinate is checked at once, and only feature 4 is named
    with np.errstate(invalid="ignore"):  # shapely warns of the NaN it is given
        nan_part = Polygon([(0, 0), (np.nan, 0), (1, 1), (0, 0)])
    multi = shapely.MultiPolygon([square(1.0), nan_part])
    gdf = gpd.GeoDataFrame(
        geometry=[square(1.0), None, square(1.0, 200.0), multi, square(1.0, 400.0)],
        crs="EPSG:6673",
    )
    problems = finite_problems(gdf, pd.Series(["a", "b", "c", "d", ""]), "stands.gpkg")
    assert [(p.where, p.column) for p in problems] == [("feature 4 (d)", "geometry")]


OKAYAMA = [shapely.box(133.90, 34.60, 133.91, 34.61), shapely.box(134.00, 34.70, 134.01, 34.71)]
TOKYO = shapely.box(139.70, 35.60, 139.71, 35.61)
"""Lon/lat boxes: two in the area of use of EPSG:6673 (lon 133.13..135.47, lat 34.13..35.71),
one in Tokyo, far east of it."""


def test_a_layer_inside_the_area_of_use_is_checked_from_its_box_alone(monkeypatch):
    inside = gpd.GeoDataFrame(geometry=OKAYAMA, crs=4326).to_crs("EPSG:6677")
    area = CRS.from_user_input("EPSG:6673").area_of_use
    assert box_within(inside, area, 0.5)

    def reproject_each(*args, **kwargs):
        raise AssertionError("no polygon should be reprojected one by one")

    monkeypatch.setattr(gpd.GeoSeries, "to_crs", reproject_each)
    assert area_of_use_problems(inside, "EPSG:6673", pd.Series(["a", "b"]), "f") == []
    assert coordinate_problems(inside, CRS.from_user_input("EPSG:6673"), "f", ["a", "b"]) == []


def test_a_polygon_outside_the_area_of_use_is_found_feature_by_feature():
    # the layer's box reaches Tokyo, so the whole-layer check cannot pass: each feature is
    # reprojected and feature 3 alone is named, at its centre (139.705, 35.605)
    gdf = gpd.GeoDataFrame(geometry=[*OKAYAMA, TOKYO], crs=4326)
    area = CRS.from_user_input("EPSG:6673").area_of_use
    assert not box_within(gdf, area, 0.5)
    problems = area_of_use_problems(gdf, "EPSG:6673", pd.Series(["a", "b", "c"]), "f")
    assert [p.where for p in problems] == ["feature 3 (c)"]
    assert problems[0].message.startswith(
        "at lon 139.7050, lat 35.6050: outside the area of use of the working CRS EPSG:6673"
    )
    # the same layer against the CRS check of every feature (margin 1 degree)
    problems = coordinate_problems(gdf, CRS.from_user_input("EPSG:6673"), "f", ["a", "b", "c"])
    assert [p.where for p in problems] == ["feature 3 (c)"]
    assert problems[0].message.startswith(
        "lies at lon 139.7000..139.7100, lat 35.6000..35.6100, outside the area of use"
    )


def test_stands_all_near_the_middle_are_passed_from_their_boxes():
    # 100 m squares with lower-left corners at x = 0, 20 km and 40 km: medians of the sides
    # minx 20,000 and maxx 20,100, so the stand at 0 is at most max(|100 - 20,000|,
    # |20,100 - 0|) = 20,100 m east-west and max(|100 - 0|, |100 - 0|) = 100 m north-south
    # from the median centre: hypot = 20,100.2 m, well within 50 km: no centroid needed
    boxes = np.array([[0, 0, 100, 100], [20_000, 0, 20_100, 100], [40_000, 0, 40_100, 100]])
    assert _all_near(boxes)
    # the third 80 km east instead: it may be 60.1 km away, so the centroids decide (61 km)
    boxes[2] = [80_000, 0, 80_100, 100]
    assert not _all_near(boxes)
    gdf = gpd.GeoDataFrame(geometry=shapely.box(*boxes.T), crs="EPSG:6673")
    problems = far_problems(gdf, pd.Series(["a", "b", "c"]), "f")
    # centres x = 50, 20,050, 80,050: median 20,050; the third is 60,000 m away
    assert [(p.where, p.message[:8]) for p in problems] == [("feature 3 (c)", "60 km fr")]
