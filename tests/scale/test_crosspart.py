"""Checks across the parts of a streamed run: a stand id in two parts, overlaps across a part
border (hand-made 2-3 part programs, areas worked out by hand)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from forestcarbon.core.exceptions import InputError
from forestcarbon.outputs.parquet import part_name, write_geoparquet
from forestcarbon.scale.crosspart import pairs_to_check
from forestcarbon.scale.streamrun import run_streamed
from forestcarbon.scale.synthetic import CENTRE, PROGRAM_TOML

X0, Y0 = CENTRE


def _part(folder, i, ids, boxes, id_header="小班ID"):
    """Part ``i``: planted hinoki stands ``ids`` with polygons ``boxes`` (x0, y0, x1, y1 offsets
    [m] from the grid centre), each thinned in FY2015."""
    n = len(ids)
    stands = gpd.GeoDataFrame(
        {
            id_header: ids,
            "species": ["hinoki"] * n,
            "planted_year": [1975] * n,
            "site_class": [2] * n,
            "forest_type": ["planted"] * n,
            "protected": [False] * n,
            "plan_id": ["P1"] * n,
        },
        geometry=[shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes],
        crs="EPSG:6673",
    )
    ops = pd.DataFrame(
        {
            "stand_id": ids,
            "date": "2015-06-01",
            "operation": "thinning",
            "area_ha": "",
            "volume_m3": "",
        }
    )
    write_geoparquet(stands, folder / "stands" / part_name(i))
    ops.to_parquet(folder / "operations" / part_name(i), index=False)


def _program(folder, parts):
    (folder / "stands").mkdir(parents=True)
    (folder / "operations").mkdir()
    (folder / "program.toml").write_text(PROGRAM_TOML.format(n=0), encoding="utf-8")
    for i, (ids, boxes) in enumerate(parts):
        _part(folder, i, ids, boxes)
    return folder


def test_an_id_in_two_parts_is_reported_with_both_parts_and_the_column(tmp_path):
    program = _program(
        tmp_path / "p",
        [
            (["1-1", "1-2"], [(0, 0, 45, 45), (50, 0, 95, 45)]),
            (["2-1", "1-2"], [(0, 500, 45, 545), (50, 500, 95, 545)]),  # 1-2 again, elsewhere
            (["3-1"], [(0, 1000, 45, 1045)]),
        ],
    )
    with pytest.raises(InputError) as e:
        run_streamed(program, tmp_path / "out")
    (problem,) = e.value.problems
    assert problem.where == "stand 1-2"
    assert problem.column == "小班ID"
    assert f"stands/{part_name(0)}" in problem.file and f"stands/{part_name(1)}" in problem.file
    assert part_name(2) not in problem.file
    assert not (tmp_path / "out").exists()


def test_an_overlap_across_a_part_border_is_reported_with_its_area(tmp_path):
    # part 0's stand 1-1 is x 0..45, part 1's stand 2-1 is x 40..85 (same y 0..45): they
    # overlap by 5 m x 45 m = 225 m2 = 0.0225 ha > the 0.01 ha tolerance
    program = _program(
        tmp_path / "p",
        [
            (["1-1", "1-2"], [(0, 0, 45, 45), (0, -100, 45, -55)]),
            (["2-1", "2-2"], [(40, 0, 85, 45), (40, 100, 85, 145)]),
        ],
    )
    assert pairs_to_check([(0, -100, 45, 45), (40, 0, 85, 145)]) == [(0, 1)]
    with pytest.raises(InputError) as e:
        run_streamed(program, tmp_path / "out")
    (problem,) = e.value.problems
    text = str(problem)
    assert "0.0225 ha" in text
    assert "1-1" in text and "2-1" in text
    assert part_name(0) in problem.file and part_name(1) in problem.file
    assert not (tmp_path / "out").exists()


def test_touching_stands_of_two_parts_pass(tmp_path):
    # 1-1 is x 0..45, 2-1 is x 45..90: they share an edge, no area
    program = _program(
        tmp_path / "p",
        [(["1-1"], [(0, 0, 45, 45)]), (["2-1"], [(45, 0, 90, 45)])],
    )
    result = run_streamed(program, tmp_path / "out")
    assert result.stands == 2
    assert (tmp_path / "out" / "program_summary.csv").is_file()


def test_parts_whose_boxes_do_not_meet_are_not_read_in_pairs():
    boxes = [(0, 0, 10, 10), (10, 0, 20, 10), (30, 30, 40, 40)]
    assert pairs_to_check(boxes) == [(0, 1)]  # touching boxes are checked, far ones not


def test_on_dask_workers_every_problem_comes_back(tmp_path):
    """Parts and pair checks as Dask tasks: a part's own problem (a species no table knows) and
    an overlap across parts (20 m x 45 m = 900 m2 = 0.09 ha) are both listed."""
    distributed = pytest.importorskip("distributed")
    program = _program(
        tmp_path / "p",
        [
            (["1-1", "1-2"], [(0, 0, 45, 45), (0, -100, 45, -55)]),
            (["2-1"], [(25, 0, 70, 45)]),
        ],
    )
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = None
        with pytest.raises(InputError) as e:
            result = run_streamed(program, tmp_path / "out", client, scheduler="local:1")
        assert result is None
        (overlap,) = e.value.problems
        assert "0.0900 ha" in str(overlap)
        path = program / "stands" / part_name(1)
        gdf = gpd.read_parquet(path)
        gdf.loc[0, "species"] = "not-a-species"
        gdf.to_parquet(path, index=False)
        with pytest.raises(InputError) as e:
            run_streamed(program, tmp_path / "out", client, scheduler="local:1")
        (bad,) = e.value.problems  # the part is refused before any check across parts
        assert part_name(1) in bad.file and "not-a-species" in str(bad)
    assert not (tmp_path / "out").exists()
