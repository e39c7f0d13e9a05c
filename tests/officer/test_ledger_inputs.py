"""What the credit officer types or keeps in files (forestcarbon.officer.ledger_inputs): values,
the buyers table and import files, with messages in the officer's own header names."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError
from forestcarbon.officer.ledger_inputs import (
    iso_date,
    period_label,
    read_buyers,
    read_import,
    whole_tonnes,
    yen,
)
from tests.officer.ledger_fixtures import P23, ledger_program

TODAY = dt.date(2025, 6, 1)


def test_values():
    assert whole_tonnes("1,000") == 1000 and whole_tonnes("5.0") == 5
    for bad, text in (("2.5", "whole tonnes only"), ("0", "positive"), ("abc", "whole number")):
        with pytest.raises(ValueError, match=text):
            whole_tonnes(bad)
    assert yen("￥150,000") == 150_000 and yen("150,000円") == 150_000 and yen("") == 0
    with pytest.raises(ValueError, match="whole yen"):
        yen("1.5")
    assert iso_date("2024/10/15", TODAY) == "2024-10-15"
    assert iso_date("2024-10-15 00:00:00", TODAY) == "2024-10-15"  # an Excel date cell
    with pytest.raises(ValueError, match="in the future"):
        iso_date("2025-06-02", TODAY)
    with pytest.raises(ValueError, match="like 2024-10-15"):
        iso_date("15.10.2024", TODAY)


def test_period_label(tmp_path):
    program, _ = ledger_program(tmp_path)
    settings = load_settings(program)
    assert period_label(f" {P23} ", settings) == P23
    with pytest.raises(ValueError, match="periods: 2022-04-01/2023-03-31, 2023-04-01"):
        period_label("2023-04-01/2024-03-30", settings)


def test_buyers_table_problems_all_at_once(tmp_path):
    program, _ = ledger_program(tmp_path)
    buyers = read_buyers(program, load_settings(program))
    assert buyers["public"].tolist() == [True, True, False, False]
    assert buyers["kind"].tolist() == ["business"] * 3 + ["household"]
    (program / "buyers.csv").write_text(
        "名称,種別,住所,経度,緯度,公開\n"
        "A,事業者,x,,,はい\n"  # a public business without a location
        "B,農家,x,134,35,はい\n"  # unknown kind
        "C,事業者,x,-77,38,たぶん\n"  # not in Japan, public neither yes nor no
        "A,事業者,x,134,35,いいえ\n",  # duplicate name
        encoding="utf-8",
    )
    with pytest.raises(InputError) as e:
        read_buyers(program, load_settings(program))
    text = str(e.value)
    assert text.startswith("5 problems")
    for part in (
        "row 2, column 'lon/lat': a public business needs its location",
        "row 3, column 'kind'",
        "row 4, column 'public'",
        "row 4, column 'lon/lat': -77, 38 is not in Japan",
        "'A' appears more than once",
    ):
        assert part in text, part


def test_import_file_needs_its_japanese_headers(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"日付": ["2024-01-01"], "区分": ["売却"], "数量": ["1"]}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match=r"購入者, 金額, 用途.*column missing"):
        read_import(path)
