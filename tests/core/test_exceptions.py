"""The error tree: problems carry file, row, column and expectation."""

from __future__ import annotations

from forestcarbon.core.exceptions import InputError


def test_input_error_lists_problem_fields():
    from forestcarbon.core.exceptions import Problem

    e = InputError([Problem("a.csv", "row 3", "species", "unknown")])
    assert str(e) == "a.csv, row 3, column 'species': unknown"
