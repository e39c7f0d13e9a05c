"""Tests of the sample stand geometry (forestcarbon.sample.stands), checked on the written layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from forestcarbon.sample.stands import EXTENT

STAND_COLUMNS = [
    "stand_id",
    "rinpan",
    "shohan",
    "edaban",
    "species",
    "forest_type",
    "planted_year",
    "site_class",
    "protected",
    "plan_id",
    "area_ha",
    "name",
    "geometry",
]


def test_stands_layer_schema(sample_dir: Path, stands: gpd.GeoDataFrame) -> None:
    layers = pyogrio.list_layers(sample_dir / "stands.gpkg")
    assert [str(name) for name in layers[:, 0]] == ["stands"]
    assert stands.crs.to_epsg() == 6673
    assert list(stands.columns) == STAND_COLUMNS
    assert stands["stand_id"].is_unique
    keys = stands[["rinpan", "shohan", "edaban"]].astype(str).agg("-".join, axis=1)
    assert (keys == stands["stand_id"]).all()
    assert (stands["edaban"] == 2).sum() >= 3
    assert 300 <= len(stands) <= 600


def test_polygons_are_valid_and_inside_extent(stands: gpd.GeoDataFrame) -> None:
    assert stands.is_valid.all()
    assert (stands.geom_type == "Polygon").all()
    xmin, ymin, xmax, ymax = stands.total_bounds
    assert xmin >= EXTENT[0] and ymin >= EXTENT[1] and xmax <= EXTENT[2] and ymax <= EXTENT[3]


def test_stands_do_not_overlap(stands: gpd.GeoDataFrame) -> None:
    union = shapely.union_all(stands.geometry.to_numpy(), grid_size=0.01)
    assert union.area == pytest.approx(stands.area.sum(), rel=1e-4)


def test_stand_sizes(stands: gpd.GeoDataFrame) -> None:
    area_ha = stands.area / 1e4
    assert area_ha.min() >= 0.3
    assert area_ha.between(0.5, 6.0).mean() > 0.9
    block_ha = area_ha.groupby(stands["rinpan"]).sum()
    assert block_ha.between(15, 70).all()


def test_small_units_merge_into_longest_shared_edge() -> None:
    from forestcarbon.sample.stands import _merge_small

    units = pd.DataFrame(
        {
            "block": [0, 0, 0],
            "seed": [0, 1, 2],
            "side": [0, 0, 0],
            "geometry": [
                shapely.box(0, 0, 100, 200),  # 2 ha
                shapely.box(100, 0, 110, 150),  # 0.15 ha: shares 150 m with unit 0
                shapely.box(100, 150, 300, 200),  # 1 ha: shares 10 m with unit 1
            ],
        }
    )
    merged = _merge_small(units)
    assert list(merged["seed"]) == [0, 2]
    assert merged["geometry"].iloc[0].area == pytest.approx(21_500)
    assert merged["geometry"].iloc[0].geom_type == "Polygon"
