"""The Python API exported by ``forestcarbon`` (what a notebook uses), on a hand-made program."""

from __future__ import annotations

import subprocess
import sys

import pytest

import forestcarbon as fc
from tests.conftest import ops_for, stand


def test_api_names_are_exported():
    assert set(fc.__all__) >= {"load_program", "compute", "run_program", "program_map", "RunResult"}
    for name in fc.__all__:
        assert getattr(fc, name) is not None
        assert name == "__version__" or getattr(fc, name).__doc__
    with pytest.raises(AttributeError):
        fc.no_such_name  # noqa: B018


def test_import_forestcarbon_does_not_load_the_geospatial_stack():
    code = "import sys, forestcarbon; print('geopandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_compute_and_result_tables(program, tmp_path):
    # one 2 ha sugi stand thinned in 2015, growing 300 -> 310 m3/ha over FY2023 (age 30 -> 31)
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"))
    result = fc.compute(fc.load_program(folder))
    assert isinstance(result, fc.RunResult)
    stands = result.stands
    assert list(stands["stand_id"]) == ["1-1-1"]
    row = stands.iloc[0]
    assert bool(row["eligible"])
    # by hand: planted FY1993, age 31 in FY2023; the table grows 300 -> 350 m3/ha from age 30
    # to 35, so 10 m3/ha in the year; 2 ha x 10 m3/ha x 0.90278925 t-CO2/m3 = 18.055785 t-CO2
    assert row["net_tco2"] == pytest.approx(18.055785, abs=1e-6)
    summary = result.summary.set_index("methodology")
    assert summary.loc["FO-001", "credits_t"].iloc[0] == 18


def test_run_program_writes_outputs(program, tmp_path):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"))
    fc.run_program(folder, tmp_path / "out")
    assert (tmp_path / "out" / "fo001_stands.csv").is_file()


def test_result_map_editions(program):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"))
    result = fc.compute(fc.load_program(folder))
    public = result.map(edition="public", self_contained=True, tiles="none")
    html = public.get_root().render()
    assert "1-1-1" in html
    assert type(public).__name__ == "Map"
    with pytest.raises(ValueError, match="public, internal"):
        result.map(edition="everyone")
