"""Formula injection: every text cell of every CSV and XLSX output is inert; numbers stay
numbers; the original text is recoverable."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.cells import TRIGGERS, escape_frame, escape_text, unescape_text
from forestcarbon.core.files import csv_bytes
from tests.conftest import THIN, stand, write_program

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1)",
    "'=already quoted",
]


@pytest.mark.parametrize("value", [*HOSTILE, "\tTAB", "\rCR"])
def test_escape_is_inert_and_reversible(value):
    escaped = escape_text(value)
    assert escaped.startswith("'")
    assert unescape_text(escaped) == value


@pytest.mark.parametrize(
    "value", ["-12.345", "+3", "-1e-9", "12-3-1", "sugi", "2023-04-01/2024-03-31"]
)
def test_numbers_and_plain_text_are_left_alone(value):
    assert escape_text(value) == value


def test_csv_numbers_stay_numbers():
    df = pd.DataFrame(
        {
            "facility": ["=1+1", "市役所"],
            "unit_id": ["@u", "u2"],
            "net": [-3.5, 2.0],
            "total": ["-3.500000000", "2"],
        }
    )
    text = csv_bytes(df).decode("utf-8-sig")
    assert text.splitlines() == [
        "facility,unit_id,net,total",
        "'=1+1,'@u,-3.5,-3.500000000",
        "市役所,u2,2.0,2",
    ]
    assert escape_frame(df)["net"].dtype == np.float64


def test_run_outputs_have_no_live_formula(tmp_path):
    stands = [stand(sid, 1.0) for sid in HOSTILE]
    program = write_program(tmp_path / "program", stands, [{"stand_id": HOSTILE[0], **THIN}])
    out = tmp_path / "out"
    assert main(["-q", "run", str(program), "--out", str(out)]) == 0
    # XLSX: no formula anywhere; the hostile ids are there as plain strings, unchanged
    data = (out / "monitoring_report.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    strings, numbers = set(), 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    strings.add(cell.value)
                elif isinstance(cell.value, int | float):
                    numbers += 1
    assert set(HOSTILE) <= strings and numbers > 0
    # CSV: no cell begins with a formula trigger unless it is a number; originals recoverable
    for path in out.glob("*.csv"):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        for row in rows:
            for cell in row:
                if cell.startswith(TRIGGERS):
                    float(cell)  # only numbers (negative net_tco2, ...) may start with '-'
    fo = pd.read_csv(out / "fo001_stands.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(fo["stand_id"].map(unescape_text).unique()) == sorted(HOSTILE)
    assert pd.to_numeric(fo["net_tco2"]).notna().all()
