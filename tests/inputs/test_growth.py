"""Yield tables of a program: growth.csv validated, curves for every stand."""

from __future__ import annotations

from tests.conftest import assert_refused, ops_for, stand


def test_growth_table_missing_a_species(program, tmp_path, capsys):
    folder = program([stand("1-1-1", species="karamatsu")], ops_for("1-1-1"))
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "growth.csv",
        "no yield curve for species 'karamatsu' site class 2",
        "1-1-1",
    )


def test_growth_table_duplicate_entry(program, tmp_path, capsys):
    from tests.conftest import GROWTH

    growth = GROWTH + "sugi,2,30,310,18,test,hand-made test table\n"
    folder = program([stand("1-1-1")], ops_for("1-1-1"), growth=growth)
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "growth.csv",
        "rows 3, 10",
        "duplicate entry species=sugi, site_class=2, age=30",
    )
