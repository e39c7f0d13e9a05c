"""Table schemas: Japanese headers, value parsers, every problem named by file, row, column."""

from __future__ import annotations

from tests.conftest import THIN, assert_refused, ops_for, square, stand


def test_duplicate_ids(program, tmp_path, capsys):
    folder = program([stand("1-1-1"), stand("1-1-1")], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "stand_id", "duplicate id '1-1-1'")


def test_unknown_species(program, tmp_path, capsys):
    folder = program([stand("1-1-1", species="ユーカリ")], ops_for("1-1-1"))
    assert_refused(
        folder, tmp_path, capsys, "(1-1-1)", "'species'", "unknown species", "'ユーカリ'"
    )


def test_site_class_4(program, tmp_path, capsys):
    folder = program([stand("1-1-1", site_class=4)], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "(1-1-1)", "'site_class'", "1, 2 or 3")


def test_negative_area(program, tmp_path, capsys):
    folder = program([stand("1-1-1", area_ha=-1.0, geometry=square(1.0))], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "(1-1-1)", "'area_ha'", "at least")


def test_unparseable_date(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], [{"stand_id": "1-1-1", **THIN, "date": "2015-13-45"}])
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "operations.csv",
        "row 2",
        "'date'",
        "expected a date like 2024-10-15",
        "'2015-13-45'",
    )


def test_missing_required_column(program, tmp_path, capsys):
    rows = [stand("1-1-1")]
    del rows[0]["species"]
    folder = program(rows, ops_for("1-1-1"))
    assert_refused(
        folder, tmp_path, capsys, "'樹種 (species)'", "required column is missing", "樹種名"
    )


def test_every_problem_reported_at_once(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1", site_class=5), stand("1-1-2", species="??")],
        [*ops_for("1-1-1"), {"stand_id": "1-1-1", **THIN, "date": "yesterday"}],
    )
    err = assert_refused(folder, tmp_path, capsys, "3 problems", "site_class", "species", "date")
    assert err.count("\n  - ") == 3
