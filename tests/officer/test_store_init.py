"""``forestcarbon ops init``: the record store created from the operations file in one command."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import read_records
from forestcarbon.officer.store_init import init_store, with_store_setting
from tests.conftest import stand

OPS = [
    {"stand_id": "1-1-1", "date": "2010-06-01", "operation": "間伐", "area_ha": 1.0},
    {"stand_id": "1-2-1", "date": "2015-11-20", "operation": "thinning", "area_ha": 1.5},
]


def test_ops_init_creates_the_store_and_updates_program_toml(program, capsys):
    folder = program([stand("1-1-1", 1.0), stand("1-2-1", 2.0)], OPS)
    before = (folder / "program.toml").read_text(encoding="utf-8")
    assert main(["ops", "init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "records.gpkg: created with 2 record(s) from operations.csv" in out
    assert (folder / "program.toml.bak").read_text(encoding="utf-8") == before
    after = (folder / "program.toml").read_text(encoding="utf-8")
    assert tomllib.loads(after)["inputs"]["operations"] == "records.gpkg"
    assert after.startswith(before)  # everything written by the officer is kept
    records = read_records(folder / "records.gpkg")
    assert records["stand_id"].tolist() == ["1-1-1", "1-2-1"]
    assert records["operation"].tolist() == ["thinning", "thinning"]
    loaded = load_program(folder)
    assert loaded.files["operations"].name == "records.gpkg"
    # the next ops command works at once, and a second init is refused
    op = ["--stand", "1-2-1", "--date", "2024-06-01", "--operation", "除伐"]
    assert main(["ops", "add", str(folder), *op]) == 0
    assert len(read_records(folder / "records.gpkg")) == 3
    capsys.readouterr()
    assert main(["ops", "init", str(folder)]) == 1
    assert "already records operations in 'records.gpkg'" in capsys.readouterr().err


def test_ops_init_with_bad_records_writes_nothing(program, capsys):
    bad = [*OPS, {"stand_id": "9-9-9", "date": "2016-01-01", "operation": "間伐", "area_ha": 1}]
    folder = program([stand("1-1-1", 1.0), stand("1-2-1", 2.0)], bad)
    before = (folder / "program.toml").read_bytes()
    assert main(["ops", "init", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "unknown stand '9-9-9'" in err and "Traceback" not in err
    assert (folder / "program.toml").read_bytes() == before
    assert not (folder / "records.gpkg").exists()
    assert not (folder / "program.toml.bak").exists()


def test_ops_init_finds_an_xlsx_and_keeps_an_existing_backup(program):
    folder = program([stand("1-1-1", 1.0), stand("1-2-1", 2.0)], OPS)
    ops = pd.read_csv(folder / "operations.csv", dtype=str, keep_default_na=False)
    (folder / "operations.csv").unlink()
    ops.to_excel(folder / "operations.xlsx", index=False)
    (folder / "program.toml.bak").write_text("older backup", encoding="utf-8")
    result = init_store(folder, store="kiroku.gpkg")
    assert result.source.name == "operations.xlsx" and result.change.n_added == 2
    assert result.backup.name == "program.toml.bak2"
    assert (folder / "program.toml.bak").read_text(encoding="utf-8") == "older backup"
    assert len(read_records(folder / "kiroku.gpkg")) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[program]\nname = "x"\n\n[inputs]\n# our records\noperations = "ops.csv"  # 施業\n',
            '[program]\nname = "x"\n\n[inputs]\n# our records\noperations = "records.gpkg"'
            "  # 施業\n",
        ),
        (
            '[inputs]\nstands = "a.shp"\n[fo001]\nbuffer_rate = 0.05\n',
            '[inputs]\noperations = "records.gpkg"\nstands = "a.shp"\n'
            "[fo001]\nbuffer_rate = 0.05\n",
        ),
        (
            '[program]\nname = "x"',
            '[program]\nname = "x"\n\n[inputs]\noperations = "records.gpkg"\n',
        ),
    ],
)
def test_with_store_setting_keeps_the_rest(text, expected):
    assert with_store_setting(text, "records.gpkg") == expected
    assert tomllib.loads(expected)["inputs"]["operations"] == "records.gpkg"
