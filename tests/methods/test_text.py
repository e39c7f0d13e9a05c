"""Per-row text built from distinct pieces: the same text as formatting row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forestcarbon.methods import text
from forestcarbon.methods.text import (
    Coded,
    column,
    day_text,
    encode,
    factorize_rows,
    fixed_key,
    join,
    numeric_parts,
    render,
    render_joined,
    spread,
)


def texts(arr) -> list[str]:
    return list(column(arr))


@pytest.fixture(params=["pyarrow", "numpy"])
def backend(request, monkeypatch):
    """Every test twice: with pyarrow's kernels and on numpy object arrays (no pyarrow)."""
    if request.param == "numpy":
        monkeypatch.setattr(text, "pa", None)
        monkeypatch.setattr(text, "pc", None)
    return request.param


def test_fixed_is_pythons_format_exactly(backend):
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.uniform(0, 10, 2000),
            np.round(rng.uniform(0, 10, 500), 3),  # many exact half-cents in decimal
            [0.125, 0.375, 1.005, 2.675, 1.115, 0.0, 0.005, 0.015, 99.995, 1e7 + 0.125],
            [-0.001, -1.234, 5e9, np.nan, np.inf],
        ]
    )
    key, one = fixed_key(values)
    got = [one(k) for k in key]
    assert got == [format(v, ".2f") for v in values]
    # equal texts, equal keys (each distinct text formatted once)
    assert len(np.unique(key[key >= 0])) == len({got[i] for i in np.flatnonzero(key >= 0)})


def test_factorize_rows_numbers_combinations_by_first_appearance():
    a = np.array([3, 1, 3, 1, 3])
    b = np.array(["x", "y", "x", "x", "x"], dtype=object)
    code, first = factorize_rows([a, b, np.array([True, False, True, False, True])])
    assert code.tolist() == [0, 1, 0, 2, 0]
    assert first.tolist() == [0, 1, 3]


def test_render_formats_each_combination_once(backend):
    calls = []

    def fmt(k, flag):
        calls.append((k, flag))
        return f"{k}:{flag}"

    keys = [np.array([1, 2, 1, 2, 1]), np.array([True, True, True, False, True])]
    out = render(keys, fmt, mask=np.array([True, True, True, True, False]))
    assert texts(out) == ["1:True", "2:True", "1:True", "2:False", ""]
    assert len(calls) == 3  # (1, True), (2, True), (2, False); the unmasked row is not formatted


def test_coded_pieces_over_each_other_and_joined(backend):
    a = encode([np.array([1, 2, 3])], lambda k: f"a{k}", mask=np.array([True, False, True]))
    b = encode([np.array([1, 2, 3])], lambda k: f"b{k}", mask=np.array([False, True, False]))
    both = spread(a | b)
    assert texts(both) == ["a1", "b2", "a3"]
    assert texts(join("<", both, "-", spread(Coded(np.array([0, -1, 0]), ["z"])), ">")) == [
        "<a1-z>",
        "<b2->",
        "<a3-z>",
    ]


@pytest.mark.parametrize("limit", [None, 0])
def test_render_joined_whole_or_piece_by_piece(backend, limit):
    n = np.array([1, 2, 3, 1])
    flag = np.array([True, False, True, True])
    out = render_joined(
        [([n], lambda k: f"n={k}"), ([flag, n], lambda f, k: f"; {k * 2}" if f else "")],
        limit=limit,
    )
    assert texts(out) == ["n=1; 2", "n=2", "n=3; 6", "n=1; 2"]


def test_column_is_the_frame_column_of_str_values(backend):
    out = column(spread(Coded(np.array([0, 1, -1]), ["a", "b"])))
    expected = pd.DataFrame({"c": np.array(["a", "b", ""], dtype=object)})["c"]
    assert pd.DataFrame({"c": out})["c"].dtype == expected.dtype
    assert list(out) == ["a", "b", ""]


def test_day_text():
    assert day_text(np.datetime64("2024-02-29")) == "2024-02-29"
    # 2024-01-01 is day 54 x 365 + 13 leap days = 19723 since 1970-01-01; + 31 + 29 + 30 days
    assert day_text(np.int64(19813)) == "2024-03-31"


def test_numeric_parts():
    parts = numeric_parts(pd.Series(["2-1-10", "10-1", "3", "007-2-1"]))
    assert parts.tolist() == [[2, 1, 10], [10, 1, -1], [3, -1, -1], [7, 2, 1]]
    for other in (["1-a"], ["1--2"], ["-1"], ["1-"], ["１-2"], [None], ["1" * 19]):
        assert numeric_parts(pd.Series(other, dtype=object)) is None


def test_numeric_parts_without_pyarrow_go_the_general_way(monkeypatch):
    monkeypatch.setattr(text, "pa", None)
    assert numeric_parts(pd.Series(["1-2"])) is None
