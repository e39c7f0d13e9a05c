"""Totals: exact decimal sums, credits truncated once, buffer, whole-program rows."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from forestcarbon.methods.totals import (
    credited_tonnes,
    decimal_text,
    exact_sum,
    program_summary,
    summary_row,
)


@pytest.mark.parametrize(
    ("baseline", "project", "credits"), [(92.4, 56.9, 35), (94.6, 54.6, 40), (21.5, 0.0, 21)]
)
def test_rounding_vectors_from_published_plans(baseline, project, credits):
    assert credited_tonnes(exact_sum([baseline]) - exact_sum([project])) == credits


def test_exact_sum_of_many_small_values():
    assert exact_sum([0.1] * 10) == Decimal(1)
    assert exact_sum([90.278925, -0.278925]) == Decimal(90)


def test_non_positive_total_gives_no_credits():
    assert credited_tonnes(Decimal("-12.5")) == 0
    assert credited_tonnes(Decimal(0)) == 0


def test_buffer_is_held_back_before_truncation():
    assert credited_tonnes(Decimal("100.9"), 0.05) == 95  # 95.855 -> 95
    assert credited_tonnes(Decimal("40"), "0.1") == 36  # exactly 36.0, not 35.999...


def test_decimal_text():
    assert decimal_text(Decimal("40.000")) == "40"
    assert decimal_text(Decimal("1E+1")) == "10"
    assert decimal_text(Decimal("0.5000")) == "0.5"


def test_summary_rows_and_program_rows():
    p1, p2 = "2022-04-01/2023-03-31", "2023-04-01/2024-03-31"
    rows = [
        summary_row("FO-001", p1, [94.6], [54.6], ["a", "b"], 0.0),
        summary_row("FO-001", p2, [10.7], [0.0], ["a"], 0.0),
        summary_row(
            "EN-R-002", p2, [0.69006] * 200, [0.0] * 200, [f"s{i}" for i in range(200)], 0.0
        ),
    ]
    df = program_summary(rows).set_index(["methodology", "period"])
    assert df.loc[("FO-001", p1), "credits_t"] == 40
    assert df.loc[("EN-R-002", p2), "total_tco2"] == "138.012"
    assert df.loc[("EN-R-002", p2), "credits_t"] == 138
    # program per period: exact total; credits are the sum of each methodology's credits
    assert df.loc[("program", p2), "total_tco2"] == "148.712"
    assert df.loc[("program", p2), "credits_t"] == 10 + 138
    assert df.loc[("program", p2), "n_activities"] == 201
    # over all periods, activities are counted once
    assert df.loc[("FO-001", "all"), "n_activities"] == 2
    assert df.loc[("FO-001", "all"), "credits_t"] == 50
    assert df.loc[("program", "all"), "credits_t"] == 188
    assert df.loc[("program", "all"), "total_tco2"] == "188.712"
    assert "activity_ids" not in pd.DataFrame(df).columns
