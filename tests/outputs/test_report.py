"""monitoring_report.xlsx and summary.md: sheets, headers, numbers as numbers, totals = summary."""

from __future__ import annotations

import re
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.outputs.report import (
    AIRCON_COLS,
    MONITORING_COLS,
    PARAMETER_COLS,
    SHEETS,
    SOLAR_COLS,
    STAND_COLS,
    SUMMARY_COLS,
)
from tests.conftest import stand, write_program
from tests.energy_fixtures import (
    AC_READINGS,
    FY2023,
    READINGS,
    SITES,
    UNITS,
    csv,
    energy_program,
    reading,
    site,
)

PERIOD = "2023-04-01/2024-03-31"
MONITORING_HEADERS = ["記号", "モニタリング項目", "定義", "単位", "実績値", "計測対象期間", "備考"]


def full_program(folder):
    """Two stands, three PV sites (one blocked) and two air-conditioning units (FY2023)."""
    write_program(folder, [stand("1-1-1"), stand("1-2-1", ha=2.0)])
    energy_program(
        folder,
        solar=csv(
            SITES + ",jcredit_blocked",
            site("S1") + ",",
            site("S2", kw=5.0) + ",",
            site("S3") + ",有",
        ),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710), reading("S3", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2", "B1,公民館,134.01,35.07,2.8,4.2"),
        aircon_readings=csv(
            AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000", f"B1,{FY2023[0]},{FY2023[1]},1000"
        ),
        write_toml=False,
    )
    return folder


@pytest.fixture(scope="module")
def run_out(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    folder = full_program(base / "program")
    out = base / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    return folder, out


def sheet_rows(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_sheets_headers_and_layout(run_out):
    _, out = run_out
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    assert wb.sheetnames == [s for k, s in SHEETS.items() if k != "credit_use"]  # no ledger
    assert all(len(name) <= 31 for name in wb.sheetnames)
    expected = {
        "summary": SUMMARY_COLS,
        "monitoring": MONITORING_COLS,
        "solar": SOLAR_COLS,
        "aircon": AIRCON_COLS,
        "stands": STAND_COLS,
        "parameters": PARAMETER_COLS,
    }
    for key, cols in expected.items():
        ws = wb[SHEETS[key]]
        headers = [c.value for c in ws[1]]
        assert headers == [c.header for c in cols], key
        assert ws.freeze_panes in ("A2", "B2", "C2")  # header row frozen
        assert ws[1][0].font.b
        for j in range(1, len(headers) + 1):
            width = ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
            assert 8 <= width <= 62, (key, headers[j - 1], width)
    monitoring = [c.value.split(" ")[0] for c in wb[SHEETS["monitoring"]][1]]
    assert monitoring[1:] == MONITORING_HEADERS  # the shape of the monitoring report
    summary_headers = [c.value for c in wb[SHEETS["summary"]][1]]
    assert (
        "合計 Total [t-CO2]" in summary_headers and "クレジット Credits [t-CO2]" in summary_headers
    )
    solar_headers = [c.value for c in wb[SHEETS["solar"]][1]]
    assert "削減量 Reduction [kg-CO2]" in solar_headers and "容量 Capacity [kW]" in solar_headers


def test_summary_sheet_equals_program_summary_csv(run_out):
    _, out = run_out
    csv_rows = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    rows = sheet_rows(wb[SHEETS["summary"]])
    assert len(rows) == len(csv_rows)
    headers = {c.key: c.header for c in SUMMARY_COLS}
    for sheet_row, r in zip(rows, csv_rows.itertuples(), strict=True):
        assert sheet_row[headers["methodology"]] == r.methodology
        assert sheet_row[headers["period"]] == r.period
        total = sheet_row[headers["total_tco2"]]
        assert isinstance(total, int | float)  # a number, not text
        assert total == pytest.approx(float(Decimal(r.total_tco2)), abs=1e-9)
        assert sheet_row[headers["credits_t"]] == r.credits_t
        assert sheet_row[headers["n_activities"]] == r.n_activities
        for key in ("total_low_tco2", "total_high_tco2"):  # the Monte Carlo interval
            assert sheet_row[headers[key]] == pytest.approx(getattr(r, key), rel=1e-12)
        assert sheet_row[headers["credit_basis"]] == r.credit_basis
    by_key = csv_rows.set_index(["methodology", "period"])
    assert Decimal(by_key.loc[("EN-S-004", PERIOD), "total_tco2"]) == Decimal("6.7270")
    assert Decimal(by_key.loc[("EN-R-002", PERIOD), "total_tco2"]) > Decimal("0.69006")


def test_monitoring_results_match_the_summary(run_out):
    _, out = run_out
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    rows = sheet_rows(wb[SHEETS["monitoring"]])
    h = {c.key: c.header for c in MONITORING_COLS}
    table = {(r[h["methodology"]], r[h["symbol"]]): r for r in rows}
    # A1: 30,000 kWh x 0.5 x 0.000434 = 6.51 t; B1: 1,000 kWh x 0.5 x 0.000434 = 0.217 t
    assert table[("EN-S-004", "ER")][h["value"]] == pytest.approx(6.727, abs=1e-9)
    assert table[("EN-S-004", "EL_PJ")][h["value"]] == 31_000
    assert table[("EN-S-004", "EL_BL")][h["value"]] == pytest.approx(46_500, abs=1e-6)
    assert table[("EN-S-004", "CR")][h["value"]] == 6
    assert table[("EN-S-004", "N")][h["value"]] == 2
    assert table[("EN-R-002", "EF_FY2023")][h["value"]] == 0.000434
    assert table[("EN-R-002", "EF_FY2023")][h["unit"]] == "t-CO2/kWh"
    assert table[("EN-R-002", "N")][h["value"]] == 2  # S3 is blocked
    assert table[("EN-R-002", "N_est")][h["value"]] == 1  # S2 has no readings
    assert table[("EN-R-002", "ER")][h["period"]] == "2023-04-01～2024-03-31"
    assert table[("FO-001", "N")][h["unit"]] == "-"


def test_activity_lists_and_parameters(run_out):
    _, out = run_out
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    solar = sheet_rows(wb[SHEETS["solar"]])
    h = {c.key: c.header for c in SOLAR_COLS}
    by_id = {r[h["site_id"]]: r for r in solar}
    assert by_id["S1"][h["reduction_kgco2"]] == pytest.approx(690.06, abs=1e-9)
    assert by_id["S1"][h["capacity_kw"]] == 4.5
    assert by_id["S3"][h["eligible"]] is False and "subsidy" in by_id["S3"][h["reason"]]
    assert len(sheet_rows(wb[SHEETS["aircon"]])) == 2
    assert len(sheet_rows(wb[SHEETS["stands"]])) == 2
    params = sheet_rows(wb[SHEETS["parameters"]])
    p = {c.key: c.header for c in PARAMETER_COLS}
    ef = [r for r in params if r[p["category"]].startswith("排出係数")]
    assert [r[p["value"]] for r in ef] == [0.000434]
    assert ef[0][p["verified"]] is False and ef[0][p["unit"]] == "t-CO2/kWh"
    sugi = [r for r in params if r[p["name"]] == "sugi wood_density"]
    assert sugi and sugi[0][p["value"]] == 0.314 and sugi[0][p["source"]]


def test_report_is_byte_identical_and_the_report_command_writes_only_it(run_out, tmp_path):
    folder, out = run_out
    assert main(["-q", "report", str(folder), "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"monitoring_report.xlsx", "summary.md"}
    for name in ("monitoring_report.xlsx", "summary.md"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_markdown_summary(run_out):
    _, out = run_out
    text = (out / "summary.md").read_text(encoding="utf-8")
    table = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    for r in table.itertuples():
        assert f"| {r.methodology} | {r.period} | {r.total_tco2} | {r.credits_t} |" in text
    assert "EN-R-002" in text and "FY2023: 0.000434 t-CO2/kWh" in text


def test_report_of_a_forest_only_program(tmp_path):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    out = tmp_path / "out"
    assert main(["-q", "report", str(folder), "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    keys = ("summary", "monitoring", "stands", "parameters", "figures")
    assert wb.sheetnames == [SHEETS[k] for k in keys]


def test_demo_prints_every_total_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for label in ("FO-001 森林経営活動", "EN-R-002 太陽光発電", "EN-S-004 空調設備", "program"):
        assert label in printed, label
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    assert wb.sheetnames == [s for k, s in SHEETS.items() if k != "credit_use"]  # no ledger
    table = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    rows = sheet_rows(wb[SHEETS["summary"]])
    h = {c.key: c.header for c in SUMMARY_COLS}
    assert [r[h["credits_t"]] for r in rows] == list(table["credits_t"])
    totals = [r[h["total_tco2"]] for r in rows]
    assert totals == pytest.approx([float(Decimal(t)) for t in table["total_tco2"]], abs=1e-9)
    assert set(table["methodology"]) == {"FO-001", "EN-R-002", "EN-S-004", "program"}


PYTHON_TEXT = re.compile(
    r"datetime\.|Timestamp\(|Decimal\(|np\.|array\(|\bnan\b|\bNone\b|\bTrue\b|\bFalse\b"
    r"|^'[^' ]+'$"  # a cell that is a quoted repr ('increment'); quoted ids inside prose are fine
)
"""Python reprs that must never reach a sheet (``datetime.date(1990, 4, 1)``, ``'increment'``)."""


def test_no_python_text_in_any_sheet_of_the_sample_report(sample_run):
    out, _ = sample_run
    wb = openpyxl.load_workbook(out / "monitoring_report.xlsx")
    found = [
        (ws.title, c.coordinate, c.value)
        for ws in wb
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and PYTHON_TEXT.search(c.value)
    ]
    assert found == []
    params = sheet_rows(wb[SHEETS["parameters"]])
    since = next(r for r in params if r["項目 Parameter"] == "operations_since")
    assert since["出典 Source"].startswith("program.toml (default 1990-04-01): ")


def test_summary_lists_the_sheets_that_exist_and_the_settings_that_apply(tmp_path):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    out = tmp_path / "out"
    assert main(["-q", "report", str(folder), "--out", str(out)]) == 0
    text = (out / "summary.md").read_text(encoding="utf-8")
    sheets = openpyxl.load_workbook(out / "monitoring_report.xlsx").sheetnames
    assert f"(sheets: {', '.join(sheets)})" in text
    assert SHEETS["solar"] not in text and SHEETS["aircon"] not in text
    assert '- `fo001.bef_convention = "increment"`' in text
    assert "energy." not in text  # no solar or air conditioning: their settings do not apply


def test_summary_states_the_area_used_and_the_held_tonnes(sample_run):
    out, _ = sample_run
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert "Stand areas: polygon area (geometry)." in text
    # the three unrecorded clear-fells of the sample are held in both periods
    assert text.count("held 保留") == 2
