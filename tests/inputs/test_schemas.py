"""Table schemas: Japanese headers, value parsers, every problem named by file, row, column."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.schemas import (
    OPERATIONS_SPEC,
    distinct,
    normalize_text,
    normalized,
    parse_date,
    parse_distinct,
    parse_float,
    parse_wkt,
    stand_ids,
    validate,
)
from forestcarbon.run import compute
from tests.conftest import ORIGIN, THIN, assert_refused, ops_for, square, stand


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


def test_exact_duplicate_operation_rows_are_refused(program, tmp_path, capsys):
    # the same thinning twice would count its treated area twice (with treated_area_sum = "sum")
    folder = program([stand("1-1-1")], [*ops_for("1-1-1"), *ops_for("1-1-1")])
    assert_refused(folder, tmp_path, capsys, "rows 2, 3 (1-1-1)", "exact duplicate row")


def test_wkt_treated_area_is_parsed_and_refused_when_wrong():
    geom = parse_wkt("POLYGON ((0 0, 100 0, 100 100, 0 100, 0 0))")
    assert geom.area == 10_000
    for bad in ("POINT (1 2)", "not wkt", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"):
        with pytest.raises(ValueError):
            parse_wkt(bad)


def test_operations_with_a_wkt_treated_area(program, tmp_path, capsys):
    # a 2 ha stand (141.42 m square at ORIGIN) thinned on a 50 x 100 m polygon inside it: 0.5 ha
    folder = program([stand("1-1-1", ha=2.0)])
    x0, y0 = ORIGIN
    wkt = f"POLYGON (({x0} {y0}, {x0 + 50} {y0}, {x0 + 50} {y0 + 100}, {x0} {y0 + 100}, {x0} {y0}))"
    (folder / "operations.csv").write_text(
        f'stand_id,date,operation,area_ha,施業区域\n1-1-1,2015-06-01,間伐,,"{wkt}"\n',
        encoding="utf-8",
    )
    inputs = load_program(folder)
    fo = compute(inputs, fo001_only=True).fo001
    assert fo["eligible_area_ha"].iloc[0] == pytest.approx(0.5)
    (folder / "operations.csv").write_text(
        'stand_id,date,operation,area_ha,施業区域\n1-1-1,2015-06-01,間伐,,"POINT (1 2)"\n',
        encoding="utf-8",
    )
    capsys.readouterr()  # the log of the run above
    # the message names the officer's own header
    assert_refused(folder, tmp_path, capsys, "row 2 (1-1-1)", "'施業区域'", "WKT polygon")


# --- each distinct value parsed once: the same values, problems and order as cell by cell -------


def test_distinct_keeps_apart_values_that_python_calls_equal():
    # 1, 1.0 and True are equal in Python and -0.0 == 0.0, but each prints differently, so each
    # is parsed on its own; missing cells keep their own text too
    values = pd.Series([1, "1", 1.0, True, -0.0, 0.0, None, np.nan, 1, -0.0], dtype=object)
    assert parse_distinct(values, repr).tolist() == [
        "1", "'1'", "1.0", "True", "-0.0", "0.0", "None", "nan", "1", "-0.0",
    ]  # fmt: skip
    codes, first = distinct(values)
    assert codes.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 0, 4]  # in order of first appearance
    assert first.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    floats = pd.Series([0.0, -0.0, np.nan, 0.0, float("nan")])
    assert distinct(floats)[0].tolist() == [0, 1, 2, 0, 2]


def test_twenty_bad_values_are_listed_in_row_order_then_counted():
    # 40 operations: rows i = 0, 3, 6, ... are good (14 rows), i = 1, 4, 7, ... have the same
    # bad date 'yesterday' (13), i = 2, 5, 8, ... none (13): 26 bad values. The first 20 in row
    # order are i = 1, 2, 4, 5, ..., 28, 29 (spreadsheet rows i + 2), then "... and 6 more".
    dates = ["2015-06-01", "yesterday", ""] * 13 + ["2015-06-01"]
    table = pd.DataFrame(
        {"stand_id": [f"1-{i}-1" for i in range(40)], "date": dates, "operation": "間伐"}
    )
    out, problems = validate(table, OPERATIONS_SPEC, "operations.csv")
    bad = [i for i in range(40) if i % 3][:20]
    expected = [
        (
            f"row {i + 2} (1-{i}-1)",
            "expected a date like 2024-10-15 (or 令和6年10月15日, R6.10.15), got 'yesterday'"
            if i % 3 == 1
            else "value is missing",
        )
        for i in bad
    ]
    assert [(p.where, p.message) for p in problems[:20]] == expected
    assert bad[-1] == 29
    assert [(p.where, p.column, p.message) for p in problems[20:]] == [
        ("", "date", "... and 6 more bad values")
    ]
    assert out["date"].tolist() == [dt.date(2015, 6, 1), None, None] * 13 + [dt.date(2015, 6, 1)]
    assert out["operation"].tolist() == ["thinning"] * 40


def test_full_width_digits_and_era_dates_parsed_once_per_value_in_every_row():
    table = pd.DataFrame(
        {
            "小班ID": ["１-１-１", "1-1-1", "１-１-１", "1-2-1"],
            "実施日": ["令和5年10月1日", "R5.10.1", "平成31年5月1日", "令和5年10月1日"],
            "施業": "間伐",
            "面積": ["１，２３４", "0.5", "１，２３４", "4,0"],
        }
    )
    out, problems = validate(table, OPERATIONS_SPEC, "operations.csv")
    # '１-１-１' is NFKC '1-1-1'; 令和5年 = 2018 + 5 = 2023; R5 the same; '１，２３４' = 1,234
    assert out["stand_id"].tolist() == ["1-1-1", "1-1-1", "1-1-1", "1-2-1"]
    october = dt.date(2023, 10, 1)
    assert out["date"].tolist() == [october, october, None, october]
    assert out["area_ha"].tolist()[:3] == [1234.0, 0.5, 1234.0]
    # 平成 ended on 2019-04-30 (令和 began on 5-01); '4,0' is a decimal comma, not 40
    assert [(p.where, p.column, p.message) for p in problems] == [
        (
            "row 4 (1-1-1)",
            "実施日",
            "平成 runs 1989-01-08..2019-04-30: the date is outside its era, got '平成31年5月1日'",
        ),
        (
            "row 5 (1-2-1)",
            "面積",
            "expected a number with '.' as the decimal point (a comma is only a thousands "
            "separator, as in 1,234.5), got '4,0'",
        ),
    ]


def test_stand_ids_as_written_or_normalised_as_before():
    ascii_ids = pd.Series(["1-1-1", "12-3", None])  # ASCII, no spaces: taken as they are
    assert normalized(ascii_ids).tolist() == ["1-1-1", "12-3", ""]
    others = pd.Series(["１-１", " 2-1 ", "3-1\x1c", None])  # NFKC and stripped, once each
    assert normalized(others).tolist() == ["1-1", "2-1", "3-1", ""]
    parts = pd.DataFrame({"rinpan": ["012", "１２", "12.0"], "shohan": [3, 3.0, "3"]})
    assert stand_ids(parts).tolist() == ["12-3", "12-3", "12-3"]
