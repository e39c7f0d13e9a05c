"""``credit_ledger.xlsx``: the credit ledger for the city's accounts and the public (bilingual).

Sheets (:data:`CREDIT_SHEETS`): holdings by holder, methodology and vintage; transfers (移転);
retirements (無効化) with their purposes; certification stickers (認証シール) as serial ranges;
revenue by fiscal year (資金循環); and the use of each vintage (活用), the same table the monitoring
report's 活用 sheet shows. The tables are those of
:func:`forestcarbon.officer.ledger_tables.ledger_tables`; the file is byte-identical for the same
ledger (:func:`forestcarbon.outputs.report.workbook_bytes`).
"""

from __future__ import annotations

from openpyxl import Workbook

from forestcarbon import __version__
from forestcarbon.outputs.report import CREDIT_USE_COLS, INT, YEN, Col, _write_sheet, workbook_bytes

CREDIT_REPORT_FILE = "credit_ledger.xlsx"

CREDIT_SHEETS = {
    "use": "活用 Use by vintage",
    "holdings": "保有 Holdings",
    "transfers": "移転 Transfers",
    "retirements": "無効化 Retirements",
    "stickers": "認証シール Stickers",
    "revenue": "売上 Revenue by FY",
}
"""Table key -> sheet name (Japanese + English)."""

_M = Col("methodology", "方法論 Methodology")
_P = Col("period", "期間 Period (vintage)")
_E = Col("entry", "記録番号 Entry", INT)
_D = Col("date", "日付 Date")

COLUMNS = {
    "use": CREDIT_USE_COLS,
    "holdings": (
        Col("holder", "保有者 Holder"),
        _M,
        _P,
        Col("held_t", "保有 Held [t-CO2]", YEN),
        Col("retired_t", "無効化済 Retired [t-CO2]", YEN),
        Col("stickers", "認証シール Stickers", YEN),
    ),
    "transfers": (
        _E,
        _D,
        Col("holder", "移転元 From"),
        Col("buyer", "移転先 To (buyer)"),
        _M,
        _P,
        Col("tonnes", "数量 Tonnes [t-CO2]", YEN),
        Col("price_yen", "金額 Price [JPY]", YEN),
        Col("yen_per_t", "単価 Price [JPY/t-CO2]", YEN),
        Col("reference", "参照 Reference"),
    ),
    "retirements": (
        _E,
        _D,
        Col("holder", "無効化した者 Retired by"),
        _M,
        _P,
        Col("tonnes", "数量 Tonnes [t-CO2]", YEN),
        Col("purpose", "用途 Purpose"),
        Col("stickers", "認証シール Stickers", YEN),
        Col("reference", "参照 Reference"),
    ),
    "stickers": (
        _E,
        _D,
        Col("holder", "保有者 Holder"),
        _M,
        _P,
        Col("retirement", "無効化記録 Retirement entry", INT),
        Col("serial_first", "開始番号 First serial", INT),
        Col("serial_last", "終了番号 Last serial", INT),
        Col("count", "枚数 Count", YEN),
        Col("per_tonne", "枚/t Per tonne", YEN),
        Col("purpose", "用途 Purpose"),
    ),
    "revenue": (
        Col("fiscal_year", "年度 Fiscal year", INT),
        Col("tonnes", "移転 Sold [t-CO2]", YEN),
        Col("price_yen", "売上 Revenue [JPY]", YEN),
        Col("yen_per_t", "平均単価 Mean price [JPY/t-CO2]", YEN),
        Col("buyers", "購入者数 Buyers", INT),
    ),
}


def credit_workbook(tables: dict, *, title: str) -> Workbook:
    """The workbook of :data:`CREDIT_SHEETS` from the ledger's tables."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"クレジット台帳 Credit ledger: {title}"
    wb.properties.creator = f"forestcarbon {__version__}"
    for key, sheet in CREDIT_SHEETS.items():
        _write_sheet(wb, sheet, COLUMNS[key], tables[key].to_dict("records"))
    return wb


def credit_report_files(tables: dict, *, title: str) -> dict[str, bytes]:
    """``credit_ledger.xlsx`` as bytes (deterministic)."""
    return {CREDIT_REPORT_FILE: workbook_bytes(credit_workbook(tables, title=title))}
