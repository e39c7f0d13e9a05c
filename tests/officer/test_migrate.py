"""``forestcarbon store migrate`` (forestcarbon.officer.migrate): a GeoPackage store into
PostgreSQL and back, checked row for row, the program then running on the copy with the same
results."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import read_records
from forestcarbon.inputs.reviews import read_reviews, review_store
from forestcarbon.officer import ledger, store
from forestcarbon.officer.migrate import migrate_store
from forestcarbon.officer.reviews import add_review
from tests.conftest import stand
from tests.officer.ledger_fixtures import P23, run_with_credits
from tests.officer.ledger_fixtures import clock as ledger_clock
from tests.officer.test_store import STORE_TOML, clock, seed
from tests.pg_cluster import store_toml


def contents(target):
    return (
        read_records(target),
        store.read_history(target),
        target.read(lambda s: s.history_rows()),
        read_reviews(target),
        pd.DataFrame(target.read(lambda s: s.ledger_entries())),
        pd.DataFrame(target.read(lambda s: s.ledger_balances())),
    )


BANK = "つやま信金"


def reviews_and_ledger(folder, tmp_path):
    """A review, and a ledger of 3 entries (issue 60 t, sell 10 t, retire 2 t) in the store."""
    add_review(folder, "1-2-1", "standing", "field visit 2024-06 (Tanaka)", now=ledger_clock)
    run = run_with_credits(tmp_path, folder)
    ledger.issue(
        folder,
        methodology="FO-001",
        period=P23,
        tonnes=60,
        certified="2024-10-15",
        run_dir=run,
        now=ledger_clock,
    )
    ledger.sell(
        folder, buyer=BANK, tonnes=10, price_yen=100_000, date="2024-11-01", now=ledger_clock
    )
    ledger.retire(
        folder, holder=BANK, tonnes=2, purpose="通帳", date="2024-12-01", now=ledger_clock
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
    reviews_and_ledger(folder, tmp_path)
    source = store.program_store(folder)
    before = contents(source)
    stands_before = load_program(folder).stands
    url = pg_cluster.url()
    schema = "migrated_" + folder.name
    assert main(["store", "migrate", str(folder), "--to", url, "--schema", schema]) == 0
    out = capsys.readouterr().out
    assert (
        "3 stands, 4 records, 4 changes, 6 history rows, 1 reviews, 3 credit ledger entries" in out
    )
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
    # the reviews and the ledger are read and written in PostgreSQL now; the chain verifies
    assert review_store(folder, load_settings(folder)).kind == "postgresql"
    assert load_program(folder).reviews["stand_id"].tolist() == ["1-2-1"]
    assert ledger.check_ledger(folder) == []
    sale = ledger.sell(
        folder, buyer=BANK, tonnes=1, price_yen=1, date="2025-01-01", now=ledger_clock
    )
    entries = ledger.read_ledger(folder)[1]
    assert sale.entries[0]["prev_hash"] == entries[-2]["hash"]  # the chain goes on
    assert ledger.check_ledger(folder) == []
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


def test_reviews_and_ledger_written_before_the_database_are_adopted(
    program, pg_cluster, tmp_path, capsys
):
    """A program that kept its ledger in records.gpkg and its reviews in reviews.gpkg moves to
    PostgreSQL: the ledger commands refuse to start a second history until ``store adopt`` has
    copied both; the chain then goes on in the database."""
    folder = program([stand("1-1-1", 1.0), stand("1-2-1", 2.0)], [])
    add_review(folder, "1-2-1", "standing", "field visit", now=ledger_clock)
    run = run_with_credits(tmp_path, folder)
    ledger.issue(
        folder,
        methodology="FO-001",
        period=P23,
        tonnes=60,
        certified="2024-10-15",
        run_dir=run,
        now=ledger_clock,
    )
    ledger.sell(folder, buyer=BANK, tonnes=5, price_yen=5, date="2024-11-01", now=ledger_clock)
    before = ledger.read_ledger(folder)[1:]
    toml = folder / "program.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + store_toml(pg_cluster), encoding="utf-8")
    store.add_operation(folder, stand_id="1-1-1", date="2021-06-01", operation="weeding")
    with pytest.raises(InputError, match="holds 2 credit ledger entries written before"):
        ledger.sell(folder, buyer=BANK, tonnes=1, price_yen=1, date="2025-01-01", now=ledger_clock)
    with pytest.raises(InputError, match=r"store adopt .* records.gpkg"):
        ledger.read_ledger(folder)
    with pytest.raises(InputError, match=r"holds 1 reviews written before .* reviews.gpkg"):
        add_review(folder, "1-1-1", "felled", "x", now=ledger_clock)
    assert main(["store", "adopt", str(folder), "records.gpkg"]) == 0
    assert "0 reviews, 2 credit ledger entries" in capsys.readouterr().out
    assert main(["store", "adopt", str(folder), "reviews.gpkg"]) == 0
    assert "1 reviews, 0 credit ledger entries" in capsys.readouterr().out
    assert ledger.read_ledger(folder)[1:] == before
    assert ledger.read_ledger(folder)[0].kind == "postgresql"
    ledger.sell(folder, buyer=BANK, tonnes=1, price_yen=1, date="2025-01-01", now=ledger_clock)
    assert ledger.check_ledger(folder) == []
    assert load_program(folder).reviews["note"].tolist() == ["field visit"]
    # adopting twice would mix two histories: refused, nothing written
    assert main(["store", "adopt", str(folder), "records.gpkg"]) == 1
    assert "holds 1 reviews and 3 credit ledger entries already" in capsys.readouterr().err
