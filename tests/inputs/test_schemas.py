"""Table schemas: Japanese headers, value parsers, every problem named by file, row, column."""

from __future__ import annotations

import datetime as dt

import pytest

from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.schemas import normalize_text, parse_date, parse_float
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


# --- numbers and dates that change credits -------------------------------------------------------


def test_a_decimal_comma_is_an_error_naming_the_cell(program, tmp_path, capsys):
    # '4,0' used to be read as 40 ha
    folder = program([stand("1-1-1", area_ha="4,0", geometry=square(4.0))], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "row 2 (1-1-1)", "'area_ha'", "'4,0'", "thousands")


def test_number_parser_reads_thousands_and_full_width_digits():
    assert parse_float(normalize_text("1,234")) == 1234
    assert parse_float(normalize_text("1,234.5")) == 1234.5
    assert parse_float(normalize_text("１２．５")) == 12.5  # full-width digits and point
    assert parse_float(normalize_text("１，２３４")) == 1234
    for bad in ("4,0", "3,5", "120,5", "1,23", "12,345,6"):
        with pytest.raises(ValueError, match="thousands separator"):
            parse_float(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和5年10月1日", dt.date(2023, 10, 1)),  # Reiwa 1 = 2019
        ("R5.10.1", dt.date(2023, 10, 1)),
        ("r05/10/01", dt.date(2023, 10, 1)),
        ("平成10年9月1日", dt.date(1998, 9, 1)),  # Heisei 1 = 1989
        ("H10.9.1", dt.date(1998, 9, 1)),
        ("令和元年5月1日", dt.date(2019, 5, 1)),
        ("昭和63年4月1日", dt.date(1988, 4, 1)),  # Showa 1 = 1926
        ("2024/3/31", dt.date(2024, 3, 31)),
    ],
)
def test_japanese_era_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["2023-02-30", "令和5年2月30日", "H31.5.1", "R1.4.30", "2023-13-01"]
)
def test_impossible_dates_are_errors(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_era_dates_in_operations_are_read(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], [{"stand_id": "1-1-1", **THIN, "date": "H27.6.1"}])
    assert load_program(folder).operations["date"].iloc[0] == dt.date(2015, 6, 1)


def test_impossible_operation_date_is_refused(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], [{"stand_id": "1-1-1", **THIN, "date": "2023-02-30"}])
    assert_refused(folder, tmp_path, capsys, "row 2 (1-1-1)", "'date'", "does not exist")


def test_two_final_harvests_without_replanting_fail_validate_too(program, tmp_path, capsys):
    # validate used to say ok; the harvest sequence is checked by the engine, which validate runs
    fell = {"operation": "final_harvest", "area_ha": ""}
    folder = program(
        [stand("1-1-1")],
        [
            {"stand_id": "1-1-1", **THIN},
            {"stand_id": "1-1-1", "date": "2022-06-01", **fell},
            {"stand_id": "1-1-1", "date": "2023-06-01", **fell},
        ],
    )
    assert_refused(folder, tmp_path, capsys, "row 4 (1-1-1)", "two final harvests")
