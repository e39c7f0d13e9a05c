"""Reading the record store (forestcarbon.inputs.records): locating it from the settings, opening
it, and load_program computing with exactly what was recorded.

Writing the store: tests/officer/test_store.py."""

from __future__ import annotations

import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.records import (
    default_schema,
    is_store,
    load_operations,
    postgres_url_problem,
    read_records,
    record_store,
    store_path,
)
from forestcarbon.officer import store
from tests.conftest import stand

STORE_TOML = '[inputs]\noperations = "records.gpkg"\n'


def test_is_store_and_store_path(program):
    assert is_store("records.gpkg") and is_store("Records.GPKG")
    assert not is_store("operations.csv")
    folder = program([stand("1-1-1")], [], extra_toml=STORE_TOML)
    assert store_path(folder, load_settings(folder)) == folder / "records.gpkg"
    csv_folder = program([stand("1-1-1")], [])
    with pytest.raises(InputError, match=r'operations = "records\.gpkg"'):
        store_path(csv_folder, load_settings(csv_folder))


def test_missing_store_and_not_a_store_are_refused(tmp_path):
    with pytest.raises(InputError, match="record store not found"):
        read_records(tmp_path / "records.gpkg")
    other = tmp_path / "other.gpkg"
    other.write_bytes(b"")  # an empty file is an empty SQLite database
    with pytest.raises(InputError, match="not a forestcarbon record store: no table operations"):
        load_operations(other)


def test_load_operations_names_rows_by_fid(program):
    ops = [{"stand_id": "1-1-1", "date": "2010-06-01", "operation": "thinning", "area_ha": 1.0}]
    folder = program([stand("1-1-1", 1.0)], ops, extra_toml=STORE_TOML)
    store.import_operations(folder, folder / "operations.csv")
    loaded, problems = load_operations(folder / "records.gpkg")
    assert problems == []
    assert loaded["source_row"].tolist() == [1]
    assert read_records(folder / "records.gpkg")["fid"].tolist() == [1]


def test_ops_commands_need_a_store_setting(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1")],
        [{"stand_id": "1-1-1", "date": "2015-06-01", "operation": "thinning", "area_ha": 1.0}],
    )
    op = ["--stand", "1-1-1", "--date", "2024-06-01", "--operation", "thinning"]
    code = main(["ops", "add", str(folder), *op])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert 'operations = "records.gpkg"' in err
    assert "forestcarbon ops init" in err


def test_run_with_the_store_matches_the_csv_and_is_deterministic(program, store_kind, tmp_path):
    ops = [
        {"stand_id": "1-1-1", "date": "2010-06-01", "operation": "thinning", "area_ha": 1.0},
        {"stand_id": "1-2-1", "date": "2015-11-20", "operation": "thinning", "area_ha": 1.5},
    ]
    stands = [stand("1-1-1", 1.0), stand("1-2-1", 2.0)]
    csv_program = program([dict(s) for s in stands], ops)
    store_program = program([dict(s) for s in stands], ops, extra_toml=store_kind)
    store.import_operations(store_program, store_program / "operations.csv")
    outputs = {}
    for name, folder in (
        ("csv", csv_program),
        ("store1", store_program),
        ("store2", store_program),
    ):
        assert main(["-q", "run", str(folder), "--out", str(tmp_path / name)]) == 0
        outputs[name] = (tmp_path / name / "fo001_stands.csv").read_bytes()
    assert outputs["csv"] == outputs["store1"] == outputs["store2"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://officer@gis.city.local/forestry", ""),
        ("postgres://gis:5433/forestry", ""),
        ("postgresql://officer:secret@gis/forestry", "contains a password"),
        ("postgresql://officer@gis/forestry?password=secret", "contains a password"),
        ("mysql://officer@gis/forestry", "expected a URL like postgresql://"),
    ],
)
def test_store_url_problems(url, problem):
    found = postgres_url_problem(url)
    assert (problem in found) if problem else found == ""


def test_record_store_picks_the_implementation(program, tmp_path):
    folder = program([stand("1-1-1")], [], extra_toml=STORE_TOML)
    gpkg = record_store(folder, load_settings(folder))
    assert (gpkg.kind, gpkg.name) == ("gpkg", "records.gpkg")
    folder = program(
        [stand("1-1-1")], [], extra_toml='[store]\nurl = "postgresql://officer@gis/forestry"\n'
    )
    pg = record_store(folder, load_settings(folder))
    assert pg.kind == "postgresql"
    assert pg.schema == default_schema(folder) == f"fc_{folder.name}"
    assert pg.label == f"postgresql://gis/forestry (schema fc_{folder.name})"
    assert default_schema(tmp_path / "津山 Program-2024") == "fc____program_2024"
