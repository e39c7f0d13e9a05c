"""Geometry checks that change credits: overlaps, duplicates, misplaced or non-finite
coordinates, register vs polygon area. Each is refused by run and validate alike (exit 1)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from forestcarbon.inputs.geometry import area_of_use_problems, finite_problems
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
    assert_refused(folder, tmp_path, capsys, "feature 1 (1-1-1)", "outside the area of use")


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
