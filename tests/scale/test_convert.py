"""``forestcarbon convert PROGRAM --to geoparquet`` and programs read from GeoParquet."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.readers import read_layer, read_table
from forestcarbon.run import run_program
from forestcarbon.scale.convert import convert_program
from tests.conftest import ops_for, stand


@pytest.fixture
def six(program):
    """Six stands 1 km apart in a row, with thinnings (hand-made, tests/conftest.py)."""
    ids = [f"{i}-1-1" for i in range(1, 7)]
    return program([stand(sid, ha=1.0 + i / 10) for i, sid in enumerate(ids)], ops_for(*ids))


def test_round_trip_reads_back_the_original(six, tmp_path):
    out = tmp_path / "gp"
    done = convert_program(six, out, rows_per_partition=2)
    assert done == {
        "partitions": 3,  # 6 stands, 2 per partition
        "stands": 6,
        "operations": 6,
        "copied": ["growth.csv", "program.toml"],
    }
    parts = sorted(p.name for p in (out / "stands").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    # each partition a compact area: the stands lie in a row, so the Hilbert curve keeps
    # neighbours together and every partition holds two stands next to each other
    for part in parts:
        gdf = gpd.read_parquet(out / "stands" / part)
        x = sorted(gdf.geometry.bounds["minx"])
        assert len(gdf) == 2 and x[1] - x[0] == pytest.approx(1_000)
        ops = pd.read_parquet(out / "operations" / part)
        assert sorted(ops["stand_id"]) == sorted(gdf["stand_id"])  # operations with their stand
    original = read_layer(six / "stands.gpkg").sort_values("stand_id").reset_index(drop=True)
    back = read_layer(out / "stands").sort_values("stand_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(back), pd.DataFrame(original), check_like=True)
    ops_a = read_table(six / "operations.csv").sort_values("stand_id").reset_index(drop=True)
    ops_b = read_table(out / "operations").sort_values("stand_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(ops_b, ops_a)
    # validated the same way, and the same results
    a, b = load_program(six), load_program(out)
    assert sorted(b.stands["stand_id"]) == sorted(a.stands["stand_id"])
    run_program(six, tmp_path / "r1", fo001_only=True)
    run_program(out, tmp_path / "r2", fo001_only=True)
    for name in ("fo001_stands.csv", "program_summary.csv"):
        assert (tmp_path / "r1" / name).read_bytes() == (tmp_path / "r2" / name).read_bytes()


def test_convert_cli_and_refusals(six, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["convert", str(six), "--to", "geoparquet", "--out", str(out)]) == 0
    assert "6 stands and 6 operations in 1 partition(s)" in capsys.readouterr().out
    assert main(["convert", str(six), "--to", "geoparquet", "--out", str(out)]) == 1
    assert "exists: use --overwrite" in capsys.readouterr().err
    assert main(["convert", str(six), "--to", "geoparquet", "--out", str(six / "x")]) == 1
    assert "inside the program folder" in capsys.readouterr().err


def test_bad_geoparquet_part_names_file_and_column(six, tmp_path, capsys):
    out = tmp_path / "gp"
    convert_program(six, out, rows_per_partition=2)
    part = out / "stands" / "part-00001.parquet"
    gdf = gpd.read_parquet(part)
    gdf.drop(columns=["species"]).to_parquet(part)
    with pytest.raises(InputError) as e:
        load_program(out)
    (problem,) = e.value.problems
    assert problem.file == str(part)
    assert problem.column == "species"
    assert "column missing (present in part-00000.parquet)" in problem.message
    # a part that is not Parquet at all
    part.write_bytes(b"not parquet")
    code = main(["validate", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "part-00001.parquet" in err and "cannot read as GeoParquet" in err
    assert "Traceback" not in err


def test_bad_values_in_a_geoparquet_part_name_the_stand_and_column(six, tmp_path):
    out = tmp_path / "gp"
    convert_program(six, out, rows_per_partition=2)
    part = out / "stands" / "part-00002.parquet"
    gdf = gpd.read_parquet(part)
    gdf["site_class"] = np.array([2, 9])  # no site class 9
    gdf.to_parquet(part)
    with pytest.raises(InputError) as e:
        load_program(out)
    text = str(e.value)
    assert str(out / "stands") in text and "site_class" in text
    assert gdf["stand_id"].iloc[1] in text


def test_single_geoparquet_files_are_found_by_name(six, tmp_path):
    gdf = read_layer(six / "stands.gpkg")
    gdf.to_parquet(six / "stands.parquet")
    read_table(six / "operations.csv").to_parquet(six / "operations.parquet")
    (six / "stands.gpkg").unlink()
    (six / "operations.csv").unlink()
    inputs = load_program(six)
    assert inputs.files["stands"] == six / "stands.parquet"
    assert inputs.files["operations"] == six / "operations.parquet"
    assert len(inputs.stands) == 6 and len(inputs.operations) == 6
    # a folder stands/ as well: two candidates, an error naming both
    convert_program(six, tmp_path / "gp")
    (tmp_path / "gp" / "stands").rename(six / "stands")
    with pytest.raises(InputError, match=r"stands, stands.parquet"):
        load_program(six)
