"""FO-001 results as a layer with the stand polygons."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from forestcarbon.inputs.program import load_program
from forestcarbon.outputs.layers import fo001_layer
from forestcarbon.run import compute
from tests.conftest import ORIGIN, ops_for, stand

# the 2 ha square of tests/conftest.py: side sqrt(20,000) m = 141.421356 m from ORIGIN
SIDE = 20_000**0.5


def _periods(n: int) -> str:
    return "".join(
        f"\n[[periods]]\nstart = {2023 + i}-04-01\nend = {2024 + i}-03-31\n" for i in range(1, n)
    )


def test_one_polygon_per_result_row_in_the_program_crs(program):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"))
    result = compute(load_program(folder))
    layer = fo001_layer(result)
    assert len(layer) == len(result.fo001) == 1
    assert layer.crs.to_epsg() == 6673
    assert layer["stand_id"].tolist() == ["1-1-1"]
    polygon = layer.geometry.iloc[0]
    assert polygon.area == pytest.approx(20_000.0, rel=1e-6)  # 2 ha = 20,000 m2
    expected = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + SIDE, ORIGIN[1] + SIDE)
    assert polygon.symmetric_difference(expected).area == pytest.approx(0.0, abs=1e-3)


def test_each_stand_and_period_gets_its_own_stands_polygon(program):
    # two stands (1 ha at ORIGIN, 4 ha 1,000 m east) over two fiscal years: 4 rows
    folder = program(
        [stand("1-1-1", 1.0), stand("1-2-1", 4.0)],
        ops_for("1-1-1", "1-2-1"),
        extra_toml=_periods(2),
    )
    result = compute(load_program(folder))
    layer = fo001_layer(result)
    assert len(layer) == len(result.fo001) == 4
    areas = dict(zip(layer["stand_id"] + "@" + layer["period"], layer.geometry.area, strict=True))
    for period in ("2023-04-01/2024-03-31", "2024-04-01/2025-03-31"):
        assert areas[f"1-1-1@{period}"] == pytest.approx(10_000.0, rel=1e-6)
        assert areas[f"1-2-1@{period}"] == pytest.approx(40_000.0, rel=1e-6)
    # 1-2-1 starts 1,000 m east of ORIGIN
    east = layer.loc[layer["stand_id"] == "1-2-1", "geometry"].iloc[0]
    assert east.bounds[0] == pytest.approx(ORIGIN[0] + 1_000, abs=1e-6)


def test_layer_keeps_a_geographic_program_crs(program):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"), crs="EPSG:4326")
    result = compute(load_program(folder))
    layer = fo001_layer(result)
    assert layer.crs == result.inputs.stands.crs
    assert layer.to_crs("EPSG:6673").geometry.iloc[0].area == pytest.approx(20_000.0, rel=1e-6)
