"""credit_ledger.xlsx (forestcarbon.outputs.credit_report) and the 活用 sheet of the monitoring
report: bilingual sheets, hand-worked figures, deterministic bytes, existing sheets kept."""

from __future__ import annotations

import io
import shutil

import openpyxl
import pytest

from forestcarbon.inputs.program import load_program
from forestcarbon.officer import ledger
from forestcarbon.officer.ledger_tables import program_ledger
from forestcarbon.outputs.credit_report import (
    CREDIT_REPORT_FILE,
    CREDIT_SHEETS,
    credit_report_files,
)
from forestcarbon.outputs.report import REPORT_FILE, SHEETS
from forestcarbon.run import compute, run_program
from tests.conftest import ops_for, stand
from tests.officer.ledger_fixtures import BANK_ROW, clock

P23 = "2023-04-01/2024-03-31"


@pytest.fixture
def with_ledger(program, tmp_path):
    """A 10 ha stand run once; the city issues 20 t of its credits, sells 12 t to the bank for
    150,000 yen and the bank retires 5 t with 50,000 stickers."""
    folder = program([stand("1-1-1", 10.0)], ops_for("1-1-1"))
    (folder / "buyers.csv").write_text("名称,種別,住所,経度,緯度,公開\n" + BANK_ROW, "utf-8")
    run = tmp_path / "run"
    result = run_program(folder, run)
    assert (
        result.summary.set_index(["methodology", "period"]).loc[("FO-001", P23), "credits_t"] >= 20
    )
    before = result.extra[REPORT_FILE]
    bank = BANK_ROW.split(",")[0]
    ledger.issue(
        folder,
        methodology="FO-001",
        period=P23,
        tonnes=20,
        certified="2024-10-15",
        run_dir=run,
        now=clock,
    )
    ledger.sell(folder, buyer=bank, tonnes=12, price_yen=150_000, date="2024-11-01", now=clock)
    ledger.retire(folder, holder=bank, tonnes=5, purpose="通帳5万冊", date="2024-12-01", now=clock)
    ledger.stickers(folder, holder=bank, count=50_000, date="2024-12-02", now=clock)
    return folder, before


def sheet_rows(data: bytes, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb[name].iter_rows(values_only=True)]


def test_monitoring_report_gains_a_credit_use_sheet(with_ledger):
    folder, before = with_ledger
    report = compute(load_program(folder)).extra[REPORT_FILE]
    again = compute(load_program(folder)).extra[REPORT_FILE]
    assert report == again  # deterministic
    old = openpyxl.load_workbook(io.BytesIO(before)).sheetnames
    new = openpyxl.load_workbook(io.BytesIO(report)).sheetnames
    assert SHEETS["credit_use"] not in old
    assert [s for s in new if s != SHEETS["credit_use"]] == old  # existing sheets kept, in order
    for name in old:
        if name != SHEETS["figures"]:
            assert sheet_rows(report, name) == sheet_rows(before, name), name
    rows = sheet_rows(report, SHEETS["credit_use"])
    assert rows[0][:3] == ("方法論 Methodology", "期間 Period (vintage)", "認証 Issued [t-CO2]")
    # issued 20, city holds 20 - 12 = 8, sold 12, retired 5, 50,000 stickers, 150,000 yen
    assert rows[1] == ("FO-001", P23, 20, 8, 12, 5, 50_000, 150_000)


def test_credit_ledger_xlsx(with_ledger):
    folder, _ = with_ledger
    tables = program_ledger(folder)
    data = credit_report_files(tables, title="test")[CREDIT_REPORT_FILE]
    assert data == credit_report_files(program_ledger(folder), title="test")[CREDIT_REPORT_FILE]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == list(CREDIT_SHEETS.values())
    transfers = sheet_rows(data, CREDIT_SHEETS["transfers"])
    assert transfers[0][1:4] == ("日付 Date", "移転元 From", "移転先 To (buyer)")
    # 150,000 yen / 12 t = 12,500 yen/t
    assert transfers[1][6:9] == (12, 150_000, 12_500)
    retirements = sheet_rows(data, CREDIT_SHEETS["retirements"])
    assert retirements[1][5:8] == (5, "通帳5万冊", 50_000)
    stickers = sheet_rows(data, CREDIT_SHEETS["stickers"])
    assert stickers[1][6:9] == (1, 50_000, 50_000)
    revenue = sheet_rows(data, CREDIT_SHEETS["revenue"])
    assert revenue[1] == (2024, 12, 150_000, 12_500, 1)


def test_undone_entries_leave_the_reports(with_ledger, tmp_path):
    folder, _ = with_ledger
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    ledger.undo(copy, now=clock)  # the stickers
    tables = program_ledger(copy)
    assert tables["stickers"].empty and tables["retirements"]["stickers"].tolist() == [0]


def test_run_writes_the_sticker_page_beside_the_map(with_ledger, tmp_path):
    folder, _ = with_ledger
    out = tmp_path / "again"
    run_program(folder, out)
    name = folder.name
    page = (out / "maps" / f"{name}_stickers.html").read_text(encoding="utf-8")
    assert f'href="{name}.html"' in page and "50,000 stickers" in page
    public = (out / "maps" / f"{name}.html").read_text(encoding="utf-8")
    assert "Businesses using the credits" in public
