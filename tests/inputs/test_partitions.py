"""Stand partitions along a Hilbert curve (compact areas) and records routed to them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from forestcarbon.inputs.partitions import partition_numbers, route


def grid(n: int) -> gpd.GeoSeries:
    """n x n squares of 90 m in 100 m cells, row by row."""
    i = np.arange(n * n)
    x, y = (i % n) * 100.0, (i // n) * 100.0
    return gpd.GeoSeries(shapely.box(x, y, x + 90, y + 90), crs="EPSG:6673")


def test_four_partitions_of_a_square_grid_are_its_quadrants():
    # a Hilbert curve visits the four quadrants of the square one after the other, so 16 cells
    # in 4 equal runs are the 2 x 2 quadrants
    geoms = grid(4)
    part = partition_numbers(geoms, 4)
    assert np.bincount(part).tolist() == [4, 4, 4, 4]
    for i in range(4):
        x0, y0, x1, y1 = geoms[part == i].total_bounds
        assert (x1 - x0, y1 - y0) == (190.0, 190.0)


def test_partition_sizes_differ_by_at_most_one_and_never_exceed_the_stands():
    part = partition_numbers(grid(5), 3)  # 25 stands: 9 + 8 + 8 (i * 3 // 25)
    assert sorted(np.bincount(part).tolist()) == [8, 8, 9]
    assert partition_numbers(grid(1), 8).tolist() == [0]


def test_route_sends_each_record_to_its_stand_and_unknown_to_minus_one():
    stands = pd.Series(["1-1", "1-2", "2-1"])
    part = np.array([0, 1, 1])
    ops = pd.Series(["2-1", "1-1", "9-9", "1-2"])
    assert route(ops, stands, part).tolist() == [1, 0, -1, 1]
