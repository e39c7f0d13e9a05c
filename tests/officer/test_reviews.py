"""``forestcarbon review``: appended, validated, append-only, and read back by the run, on both
stores (reviews.gpkg / the record store's GeoPackage, and a PostgreSQL schema)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import psycopg
import pytest
from psycopg import sql

from forestcarbon.cli.main import main
from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.reviews import latest_decisions, read_reviews, review_store
from forestcarbon.officer.reviews import add_review
from tests.conftest import ops_for, stand


def fixed():
    return dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def review_program(stored_program):
    """Factory: a program whose reviews go to reviews.gpkg (operations in a CSV), to the record
    store records.gpkg, then to a PostgreSQL schema (conftest's ``stored_program``)."""
    return stored_program


def refuse_delete(folder) -> None:
    """A DELETE on the reviews is refused by the store itself, whoever sends it."""
    store = review_store(folder, load_settings(folder))
    if store.kind == "gpkg":
        con = sqlite3.connect(store.path)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM reviews")
        con.close()
        return
    with psycopg.connect(store.url, autocommit=True) as con:
        for statement in ("DELETE FROM {s}.reviews", "UPDATE {s}.reviews SET note = 'x'"):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
                con.execute(sql.SQL(statement).format(s=sql.Identifier(store.schema)))


def test_reviews_are_appended_with_history(review_program):
    folder = review_program([stand("1-1-1"), stand("1-2-1")], ops_for("1-1-1", "1-2-1"))
    label, n1 = add_review(folder, "1-1-1", "felled", "aerial photo", now=fixed)
    _, n2 = add_review(folder, "1-1-1", "standing", "field visit", now=fixed)
    store = review_store(folder, load_settings(folder))
    assert label == store.label
    if store.kind == "gpkg":  # the record store when there is one, else reviews.gpkg
        ops = load_settings(folder).inputs.operations
        assert label == str(folder / ("records.gpkg" if ops.endswith(".gpkg") else "reviews.gpkg"))
    assert (n1, n2) == (1, 2)
    rv = read_reviews(store)
    assert rv["decision"].tolist() == ["felled", "standing"]
    assert rv["time"].iloc[0] == "2024-06-01T09:00:00Z"
    assert latest_decisions(rv).loc["1-1-1", "decision"] == "standing"
    # the run reads them from the same store
    assert load_program(folder).reviews["note"].tolist() == ["aerial photo", "field visit"]
    refuse_delete(folder)


def test_bad_reviews_are_refused_all_at_once(review_program):
    folder = review_program([stand("1-1-1")], ops_for("1-1-1"))
    with pytest.raises(InputError) as err:
        add_review(folder, "9-9-9", "gone", " ")
    text = str(err.value)
    for needle in ("'decision'", "standing or felled", "'note'", "'stand_id'", "unknown stand"):
        assert needle in text
    assert not (folder / "reviews.gpkg").exists()
    assert read_reviews(review_store(folder, load_settings(folder))).empty


def test_review_command(review_program, capsys):
    folder = review_program([stand("1-1-1")], ops_for("1-1-1"))
    code = main(
        ["review", str(folder), "--stand", "1-1-1", "--decision", "standing", "--note", "seen"]
    )
    assert code == 0
    assert "review 1 of stand 1-1-1: standing" in capsys.readouterr().out


HOSTILE = "1-1-1'; DROP TABLE reviews; --"


def test_quotes_in_stand_ids_and_notes_are_data(review_program):
    folder = review_program([stand(HOSTILE), stand('o"k')], ops_for(HOSTILE))
    note = 'O\'Brien "said"; DROP TABLE credit_entries; --'
    add_review(folder, HOSTILE, "standing", note, now=fixed)
    add_review(folder, 'o"k', "felled", "'); DELETE FROM reviews; --", now=fixed)
    rv = read_reviews(review_store(folder, load_settings(folder)))
    assert rv[["stand_id", "note"]].values.tolist() == [
        [HOSTILE, note],
        ['o"k', "'); DELETE FROM reviews; --"],
    ]


def test_legacy_reviews_file_is_still_read(program):
    """A reviews.gpkg written before the store interface (only a reviews table) is read."""
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    con = sqlite3.connect(folder / "reviews.gpkg")
    con.execute(
        "CREATE TABLE reviews (fid INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, stand_id TEXT, "
        "decision TEXT, note TEXT)"
    )
    con.execute("INSERT INTO reviews VALUES (1, '2024-01-01T00:00:00Z', '1-1-1', 'felled', 'a')")
    con.commit()
    con.close()
    add_review(folder, "1-1-1", "standing", "b", now=fixed)
    rv = read_reviews(folder / "reviews.gpkg")
    assert rv["fid"].tolist() == [1, 2] and rv["decision"].tolist() == ["felled", "standing"]
