"""``forestcarbon review``: appended, validated, append-only, and read back by the run."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.reviews import latest_decisions, read_reviews
from forestcarbon.officer.reviews import add_review
from tests.conftest import ops_for, stand


def fixed():
    return dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.UTC)


def test_reviews_are_appended_with_history(program):
    folder = program([stand("1-1-1"), stand("1-2-1")], ops_for("1-1-1", "1-2-1"))
    path, n1 = add_review(folder, "1-1-1", "felled", "aerial photo", now=fixed)
    _, n2 = add_review(folder, "1-1-1", "standing", "field visit", now=fixed)
    assert path == folder / "reviews.gpkg"
    assert (n1, n2) == (1, 2)
    rv = read_reviews(path)
    assert rv["decision"].tolist() == ["felled", "standing"]
    assert rv["time"].iloc[0] == "2024-06-01T09:00:00Z"
    assert latest_decisions(rv).loc["1-1-1", "decision"] == "standing"
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM reviews")
    con.close()


def test_bad_reviews_are_refused_all_at_once(program):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    with pytest.raises(InputError) as err:
        add_review(folder, "9-9-9", "gone", " ")
    text = str(err.value)
    for needle in ("'decision'", "standing or felled", "'note'", "'stand_id'", "unknown stand"):
        assert needle in text
    assert not (folder / "reviews.gpkg").exists()


def test_review_command(program, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    code = main(
        ["review", str(folder), "--stand", "1-1-1", "--decision", "standing", "--note", "seen"]
    )
    assert code == 0
    assert "review 1 of stand 1-1-1: standing" in capsys.readouterr().out
