"""``forestcarbon store migrate`` (forestcarbon.officer.migrate): a GeoPackage store into
PostgreSQL and back, checked row for row, the program then running on the copy with the same
results."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import read_records
from forestcarbon.officer import store
from forestcarbon.officer.migrate import migrate_store
from tests.conftest import stand
from tests.officer.test_store import STORE_TOML, clock, seed


def contents(target):
    return (
        read_records(target),
        store.read_history(target),
        target.read(lambda s: s.history_rows()),
    )


def use(folder, lines):
    """Point program.toml at another store (the lines migrate prints)."""
    text = (folder / "program.toml").read_text(encoding="utf-8")
    text = text.replace(STORE_TOML, "").split("[store]")[0]
    (folder / "program.toml").write_text(text + "\n" + lines + "\n", encoding="utf-8")


def test_geopackage_to_postgresql_and_back(program, pg_cluster, tmp_path, capsys):
    folder = program(
        [stand("1-1-1", 1.0), stand("1-2-1", 2.0), stand("1-3-1", 1.0)], [], extra_toml=STORE_TOML
    )
    seed(folder, tmp_path)
    store.add_operation(folder, stand_id="1-3-1", date="2021-06-01", operation="weeding")
    store.add_operation(folder, stand_id="1-3-1", date="2022-06-01", operation="除伐")
    store.undo_last(folder, now=clock((2025, 5, 1)))  # fid 5 removed: the next record is 6
    source = store.program_store(folder)
    before = contents(source)
    stands_before = load_program(folder).stands
    url = pg_cluster.url()
    schema = "migrated_" + folder.name
    assert main(["store", "migrate", str(folder), "--to", url, "--schema", schema]) == 0
    out = capsys.readouterr().out
    assert "3 stands, 4 records, 4 changes, 6 history rows" in out
    assert "matches the source row for row" in out
    assert f'url = "{url}"' in out
    use(folder, f'[store]\nurl = "{url}"\nschema = "{schema}"')
    pg = store.program_store(folder)
    assert pg.kind == "postgresql"
    for a, b in zip(before, contents(pg), strict=True):
        pd.testing.assert_frame_equal(a, b)
    # the program on PostgreSQL: same stands (from the database now), same operations
    stands_after = load_program(folder).stands
    pd.testing.assert_frame_equal(
        stands_before.drop(columns="geometry"), stands_after.drop(columns="geometry")
    )
    assert stands_before.geometry.geom_equals(stands_after.geometry).all()
    # numbering goes on where the GeoPackage left it (an undone record's number is never reused)
    store.add_operation(folder, stand_id="1-1-1", date="2023-06-01", operation="thinning")
    assert read_records(pg)["fid"].tolist()[-1] == 6
    # and back into a new GeoPackage
    assert main(["-q", "store", "migrate", str(folder), "--to", "copy.gpkg"]) == 0
    back = store.program_store(folder)  # still PostgreSQL until program.toml changes
    copy = folder / "copy.gpkg"
    for a, b in zip(contents(back), contents(store.as_store(copy)), strict=True):
        pd.testing.assert_frame_equal(a, b)
    layers = {name for name, _ in pyogrio.list_layers(copy)}
    assert {"stands", "operations", "history", "history_rows"} <= layers
    assert len(pyogrio.read_dataframe(copy, layer="stands")) == 3


def test_migrate_refuses_an_existing_target(program, pg_cluster, tmp_path, capsys):
    folder = program([stand("1-1-1", 1.0)], [], extra_toml=STORE_TOML)
    seed_rows = [{"stand_id": "1-1-1", "date": "2010-06-01", "operation": "thinning"}]
    pd.DataFrame(seed_rows).to_csv(tmp_path / "ops.csv", index=False)
    store.import_operations(folder, tmp_path / "ops.csv")
    schema = "twice_" + folder.name
    migrate_store(folder, pg_cluster.url(), schema=schema)
    with pytest.raises(InputError, match="exists already"):
        migrate_store(folder, pg_cluster.url(), schema=schema)
    code = main(["store", "migrate", str(folder), "--to", "records.gpkg"])
    assert code == 1 and "is the program's store already" in capsys.readouterr().err
