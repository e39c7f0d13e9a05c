"""The monitoring report (xlsx, via openpyxl) and a short Markdown summary of a run.

``monitoring_report.xlsx`` has bilingual sheets (:data:`SHEETS`): the summary (the rows of
``program_summary.csv``), the monitoring results in the shape of the monitoring report (記号,
モニタリング項目, 定義, 単位, 実績値, 計測対象期間, 備考), the activity list (排出削減活動リスト) of
each energy methodology, the FO-001 stand table, the parameters and factors with their sources
and verified status, and, when the program keeps a credit ledger, what became of each vintage's
credits (活用: issued, held, sold, retired, stickers, revenue). Numbers are stored as numbers,
units are in the headers, header rows are frozen and columns sized to their content. The file is
byte-identical for the same inputs (fixed document times and zip entry times).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import importlib.util
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from forestcarbon import __version__
from forestcarbon.core.cells import text_cells_as_strings
from forestcarbon.core.params import load_table
from forestcarbon.methods.energy import EN_R_002, EN_S_004
from forestcarbon.methods.fiscal import fiscal_year_of
from forestcarbon.methods.totals import decimal_text
from forestcarbon.outputs.text import energy_text, toml_value, unverified_in_use

if TYPE_CHECKING:
    from forestcarbon.run import RunResult

REPORT_FILE = "monitoring_report.xlsx"
SUMMARY_FILE = "summary.md"

SHEETS = {
    "summary": "集計 Summary",
    "monitoring": "モニタリング結果 Monitoring",
    "solar": "排出削減活動リスト EN-R-002",
    "aircon": "排出削減活動リスト EN-S-004",
    "stands": "FO-001 小班 Stands",
    "parameters": "パラメータ Parameters",
    "figures": "図 Figures",
    "credit_use": "活用 Credit use",
}
"""Sheet key -> sheet name (Japanese + English; Excel allows at most 31 characters)."""

FIXED_TIME = dt.datetime(2000, 1, 1)
"""Document created/modified time written into the xlsx, so reruns give identical bytes."""

T = "#,##0.000"
KG = "#,##0.00"
KWH = "#,##0.0"
EF = "0.000000"
HA = "#,##0.00"
RATIO = "0.0000"
INT = "0"
DATE = "yyyy-mm-dd"
MAX_WIDTH = 60


@dataclass(frozen=True)
class Col:
    """A report column: source field, bilingual header with unit, and Excel number format."""

    key: str
    header: str
    fmt: str | None = None


SUMMARY_COLS = (
    Col("methodology", "方法論 Methodology"),
    Col("period", "期間 Period"),
    Col("removals_tco2", "吸収量・ベースライン排出量 Removals or EM_BL [t-CO2]", T),
    Col("emissions_tco2", "排出量・プロジェクト排出量 Emissions or EM_PJ [t-CO2]", T),
    Col("total_tco2", "合計 Total [t-CO2]", T),
    Col("buffer_rate", "バッファー率 Buffer rate [-]", RATIO),
    Col("buffer_tco2", "バッファー Buffer [t-CO2]", T),
    Col("credits_t", "クレジット Credits [t-CO2]", INT),
    Col("n_activities", "活動数 Activities [-]", INT),
    Col("total_mean_tco2", "モンテカルロ平均 Monte Carlo mean [t-CO2]", T),
    Col("total_low_tco2", "区間下限 Interval low [t-CO2]", T),
    Col("total_high_tco2", "区間上限 Interval high [t-CO2]", T),
    Col("credit_basis", "クレジット算定基準 Credit basis"),
)
"""Columns of the summary sheet, one per column of ``program_summary.csv`` in the same order (the
uncertainty interval columns stay empty when ``[uncertainty] draws = 0``)."""

MONITORING_COLS = (
    Col("methodology", "方法論 Methodology"),
    Col("symbol", "記号 Symbol"),
    Col("item", "モニタリング項目 Item"),
    Col("definition", "定義 Definition"),
    Col("unit", "単位 Unit"),
    Col("value", "実績値 Value"),
    Col("period", "計測対象期間 Period"),
    Col("remarks", "備考 Remarks"),
)

SOLAR_COLS = (
    Col("site_id", "設備ID Site"),
    Col("period", "期間 Period"),
    Col("eligible", "対象 Eligible"),
    Col("method", "算定方法 Method"),
    Col("capacity_kw", "容量 Capacity [kW]", "0.00"),
    Col("fit_status", "FIT区分 FIT status"),
    Col("commissioned", "運転開始日 Commissioned", DATE),
    Col("joined", "加入日 Joined", DATE),
    Col("eligible_from", "算定開始日 Counted from", DATE),
    Col("counted_days", "算定日数 Counted days [d]", INT),
    Col("generated_kwh", "発電量 Generated [kWh]", KWH),
    Col("sold_kwh", "売電量 Sold [kWh]", KWH),
    Col("counted_kwh", "自家消費量 Self-consumed, counted [kWh]", KWH),
    Col("ef_t_per_kwh", "排出係数 EF [t-CO2/kWh]", EF),
    Col("reduction_kgco2", "削減量 Reduction [kg-CO2]", KG),
    Col("reduction_tco2", "削減量 Reduction [t-CO2]", T),
    Col("reason", "理由 Reason"),
    Col("flags", "注記 Flags"),
)

AIRCON_COLS = (
    Col("unit_id", "機器ID Unit"),
    Col("facility", "施設 Facility"),
    Col("period", "期間 Period"),
    Col("eligible", "対象 Eligible"),
    Col("method", "算定方法 Method"),
    Col("baseline_source", "ベースライン Baseline"),
    Col("cop_baseline_cooling", "更新前COP冷房 COP_BL cooling [-]", "0.00"),
    Col("cop_baseline_heating", "更新前COP暖房 COP_BL heating [-]", "0.00"),
    Col("cop_project_cooling", "更新後COP冷房 COP_PJ cooling [-]", "0.00"),
    Col("cop_project_heating", "更新後COP暖房 COP_PJ heating [-]", "0.00"),
    Col("project_kwh", "消費電力量 EL_PJ [kWh]", KWH),
    Col("baseline_kwh", "ベースライン電力量 EL_BL [kWh]", KWH),
    Col("ef_t_per_kwh", "排出係数 EF [t-CO2/kWh]", EF),
    Col("baseline_tco2", "ベースライン排出量 EM_BL [t-CO2]", T),
    Col("project_tco2", "プロジェクト排出量 EM_PJ [t-CO2]", T),
    Col("reduction_tco2", "削減量 ER [t-CO2]", T),
    Col("reason", "理由 Reason"),
    Col("flags", "注記 Flags"),
)

STAND_COLS = (
    Col("stand_id", "小班 Stand"),
    Col("period", "期間 Period"),
    Col("eligible", "対象 Eligible"),
    Col("species", "樹種 Species"),
    Col("forest_type", "林種 Forest type"),
    Col("site_class", "地位 Site class", INT),
    Col("plan_id", "森林経営計画 Plan"),
    Col("area_ha", "面積 Area [ha]", HA),
    Col("eligible_area_ha", "対象面積 Counted area [ha]", HA),
    Col("age_start", "林齢(期首) Age start [yr]", INT),
    Col("age_end", "林齢(期末) Age end [yr]", INT),
    Col("volume_start_m3_ha", "材積(期首) Volume start [m3/ha]", "0.0"),
    Col("volume_end_m3_ha", "材積(期末) Volume end [m3/ha]", "0.0"),
    Col("removals_tco2", "吸収量 Removals [t-CO2]", T),
    Col("emissions_tco2", "排出量 Emissions [t-CO2]", T),
    Col("net_tco2", "純吸収量 Net [t-CO2]", T),
    Col("reason", "理由 Reason"),
    Col("flags", "注記 Flags"),
)

PARAMETER_COLS = (
    Col("category", "区分 Category"),
    Col("name", "項目 Parameter"),
    Col("value", "値 Value"),
    Col("unit", "単位 Unit"),
    Col("source", "出典 Source"),
    Col("verified", "検証済 Verified"),
)


# --- cell values and sheet layout ----------------------------------------------------------------


YEN = "#,##0"
CREDIT_USE_COLS = (
    Col("methodology", "方法論 Methodology"),
    Col("period", "期間 Period (vintage)"),
    Col("issued_t", "認証 Issued [t-CO2]", YEN),
    Col("city_held_t", "市保有 Held by the city [t-CO2]", YEN),
    Col("sold_t", "移転 Sold [t-CO2]", YEN),
    Col("retired_t", "無効化 Retired [t-CO2]", YEN),
    Col("stickers", "認証シール Stickers", YEN),
    Col("revenue_yen", "売上 Revenue [JPY]", YEN),
)
"""The 活用 sheet: what became of each vintage's credits (``credits["use"]`` of a run whose
program keeps a credit ledger, :mod:`forestcarbon.officer.ledger_tables`)."""


def _cell(value):
    """A Python value openpyxl stores natively: numbers stay numbers; NaN/None become empty."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, bool | int | float | str | dt.date):
        return value
    return str(value)


def _number(text) -> float | None:
    """Exact decimal text (as in ``program_summary.csv``) -> number."""
    if text is None or text == "" or (isinstance(text, float) and math.isnan(text)):
        return None
    return float(Decimal(str(text)))


def _text_width(value) -> int:
    """Display width of a cell's text [characters]: wide (CJK) characters count 2."""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if text.isascii():  # numbers, ids, dates: one column per character
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_sheet(wb: Workbook, title: str, cols, rows, *, freeze: str = "A2") -> None:
    """One sheet: bold wrapped header row (frozen), then one row per record."""
    ws = wb.create_sheet(title)
    ws.append([c.header for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [min(max(_text_width(w) for w in c.header.split(" ", 1)), MAX_WIDTH) for c in cols]
    for record in rows:
        values = [_cell(record.get(c.key)) for c in cols]
        ws.append(values)
        for j, v in enumerate(values):
            if v is not None:
                widths[j] = max(widths[j], min(_text_width(v), MAX_WIDTH))
    for j, c in enumerate(cols, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(widths[j - 1], 6) + 2
        if c.fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if isinstance(cell.value, int | float | dt.date) and not isinstance(
                    cell.value, bool
                ):
                    cell.number_format = c.fmt
    ws.freeze_panes = freeze
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions


def _records(df: pd.DataFrame | None) -> list[dict]:
    if df is None:
        return []
    return pd.DataFrame(df).to_dict("records")


# --- sheet contents ------------------------------------------------------------------------------


def _summary_records(summary: pd.DataFrame) -> list[dict]:
    out = []
    for r in summary.to_dict("records"):
        for key in ("removals_tco2", "emissions_tco2", "total_tco2", "buffer_tco2"):
            r[key] = _number(r[key])
        out.append(r)
    return out


def _period_text(label: str) -> str:
    return label.replace("/", "～") if label != "all" else "全期間 all periods"


def _summary_lookup(summary: pd.DataFrame, methodology: str, period: str) -> dict:
    match = summary[(summary["methodology"] == methodology) & (summary["period"] == period)]
    return match.iloc[0].to_dict() if len(match) else {}


def _ef_rows(result: RunResult, methodology: str, period: str) -> list[dict]:
    factors = result.energy.factors if result.energy is not None else None
    if factors is None:
        return []
    start, end = (dt.date.fromisoformat(d) for d in period.split("/"))
    first, last = fiscal_year_of(start), fiscal_year_of(end)
    rows = []
    for r in factors.table.to_dict("records"):
        fy = int(r["fiscal_year"])
        if first <= fy <= last:
            rows.append(
                {
                    "methodology": methodology,
                    "symbol": f"EF_FY{fy}",
                    "item": f"電力排出係数 electricity emission factor FY{fy}",
                    "definition": f"{r['kind']}: t-CO2 per kWh of grid electricity",
                    "unit": "t-CO2/kWh",
                    "value": r["value_t_per_kwh"],
                    "period": f"FY{fy} (April-March)",
                    "remarks": f"{r['source']}; verified: {'yes' if r['verified'] else 'NO'}",
                }
            )
    return rows


def _monitoring_records(result: RunResult) -> list[dict]:
    """Rows of the monitoring results table, per methodology and period."""
    rows: list[dict] = []

    def add(methodology: str, period: str, items: list[tuple]) -> None:
        for symbol, item, definition, unit, value, *remarks in items:
            rows.append(
                {
                    "methodology": methodology,
                    "symbol": symbol,
                    "item": item,
                    "definition": definition,
                    "unit": unit,
                    "value": value,
                    "period": _period_text(period),
                    "remarks": remarks[0] if remarks else "",
                }
            )

    def totals(m: str, period: str, what: str, bl: str, pj: str, er: str) -> list[tuple]:
        s = _summary_lookup(result.summary, m, period)
        return [
            (bl[0], bl[1], bl[2], "t-CO2", _number(s.get("removals_tco2"))),
            (pj[0], pj[1], pj[2], "t-CO2", _number(s.get("emissions_tco2"))),
            (er[0], er[1], er[2] + ", exact decimal", "t-CO2", _number(s.get("total_tco2"))),
            ("CR", "クレジット credits", f"{er[0]} less buffer, truncated once", "t-CO2",
             s.get("credits_t"), f"buffer rate {s.get('buffer_rate')}"),
            ("N", f"活動数 {what}", "activities counted", "-", s.get("n_activities")),
        ]  # fmt: skip

    for period, g in result.fo001.groupby("period", sort=True):
        e = g[g["eligible"]]
        area = ("A", "対象面積 counted area", "area of eligible stands counted", "ha",
                float(e["eligible_area_ha"].sum()))  # fmt: skip
        add("FO-001", period, [area, *totals(
            "FO-001", period, "eligible stands",
            ("R", "吸収量 removals", "stem volume growth x D x BEF x (1+R) x CF x 44/12"),
            ("E", "排出量 emissions", "felled stock (and thinned volume when explicit)"),
            ("NET", "純吸収量 net removals", "R - E"),
        )])  # fmt: skip
    energy = result.energy
    if energy is not None and energy.solar is not None:
        for period, g in energy.solar.groupby("period", sort=True):
            e = g[g["eligible"]]
            measured, estimated = e[e["method"] == "measured"], e[e["method"] == "estimated"]
            add(EN_R_002, period, [
                ("EL_gen", "発電量 generated electricity", "home monitor / power conditioner "
                 "reading (measured sites)", "kWh", float(measured["generated_kwh"].sum())),
                ("EL_sold", "売電量 sold electricity", "utility purchase notice "
                 "(受給電力量のお知らせ) (measured sites)", "kWh",
                 float(measured["sold_kwh"].sum())),
                ("EL_self", "自家消費量 self-consumed electricity", "EL_gen - EL_sold over the "
                 "counted days, estimated sites included", "kWh", float(e["counted_kwh"].sum()),
                 f"estimated sites: {float(estimated['counted_kwh'].sum()):,.1f} kWh"),
                ("N_est", "推計世帯数 estimated sites", "eligible sites without readings", "-",
                 len(estimated), f"excluded: {len(g) - len(e)} sites (see the activity list)"),
            ])  # fmt: skip
            rows.extend(_ef_rows(result, EN_R_002, period))
            add(EN_R_002, period, totals(
                EN_R_002, period, "eligible PV sites",
                ("EM_BL", "ベースライン排出量 baseline emissions", "EL_self x EF"),
                ("EM_PJ", "プロジェクト排出量 project emissions", "0 (standby power negligible)"),
                ("ER", "排出削減量 emission reductions", "EM_BL - EM_PJ"),
            ))  # fmt: skip
    if energy is not None and energy.aircon is not None:
        for period, g in energy.aircon.groupby("period", sort=True):
            e = g[g["eligible"]]
            add(EN_S_004, period, [
                ("EL_PJ", "プロジェクト電力量 project electricity", "metered electricity of the "
                 "new units", "kWh", float(e["project_kwh"].sum())),
                ("EL_BL", "ベースライン電力量 baseline electricity", "EL_PJ x COP_PJ / COP_BL "
                 "(cooling/heating split, or the conservative single ratio)", "kWh",
                 float(e["baseline_kwh"].sum())),
                ("N_unit", "対象機器数 eligible units", "units counted", "-", len(e),
                 f"excluded: {len(g) - len(e)} units (see the activity list)"),
            ])  # fmt: skip
            rows.extend(_ef_rows(result, EN_S_004, period))
            add(EN_S_004, period, totals(
                EN_S_004, period, "eligible facilities",
                ("EM_BL", "ベースライン排出量 baseline emissions", "EL_BL x EF"),
                ("EM_PJ", "プロジェクト排出量 project emissions", "EL_PJ x EF"),
                ("ER", "排出削減量 emission reductions", "EM_BL - EM_PJ"),
            ))  # fmt: skip
    return rows


def _parameter_records(result: RunResult) -> list[dict]:
    """Factors, settings and packaged parameters with their sources and verified status."""
    rows = []
    energy = result.energy
    if energy is not None and energy.factors is not None:
        for r in energy.factors.table.to_dict("records"):
            rows.append(
                {
                    "category": "排出係数 emission factor",
                    "name": f"EF FY{int(r['fiscal_year'])} ({r['kind']})",
                    "value": r["value_t_per_kwh"],
                    "unit": r["unit"],
                    "source": r["source"],
                    "verified": bool(r["verified"]),
                }
            )
    settings = result.inputs.settings
    for section in ("fo001", "energy"):
        obj = getattr(settings, section)
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            unit = re.search(r"\[([^\]]+)\]", f.metadata["doc"])
            rows.append(
                {
                    "category": f"設定 setting [{section}]",
                    "name": f.name,
                    "value": value.isoformat() if isinstance(value, dt.date) else value,
                    "unit": unit.group(1) if unit else "",
                    "source": f"program.toml (default {toml_value(f.default)}): "
                    f"{f.metadata['doc']}",
                    "verified": bool(f.metadata.get("verified", True)),
                }
            )
    for r in load_table("fo001_parameters").to_dict("records"):
        rows.append(
            {
                "category": "FO-001 係数 parameter",
                "name": f"{r['species']} {r['parameter']}",
                "value": r["value"],
                "unit": r["unit"],
                "source": r["source"],
                "verified": bool(r["verified"]),
            }
        )
    for source in result.inputs.yields.sources():
        rows.append(
            {
                "category": "収穫表 yield table",
                "name": "growth",
                "value": None,
                "unit": "m3/ha",
                "source": source,
                "verified": "SYNTHETIC" not in source.upper(),
            }
        )
    return rows


def workbook(result: RunResult) -> Workbook:
    """The monitoring report of a run as an openpyxl workbook (see the module docstring)."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = (
        f"モニタリング報告書 Monitoring report: {result.inputs.settings.program.name}"
    )
    wb.properties.creator = f"forestcarbon {__version__}"
    _write_sheet(wb, SHEETS["summary"], SUMMARY_COLS, _summary_records(result.summary))
    _write_sheet(
        wb, SHEETS["monitoring"], MONITORING_COLS, _monitoring_records(result), freeze="C2"
    )
    energy = result.energy
    if energy is not None and energy.solar is not None:
        _write_sheet(wb, SHEETS["solar"], SOLAR_COLS, _records(energy.solar), freeze="B2")
    if energy is not None and energy.aircon is not None:
        _write_sheet(wb, SHEETS["aircon"], AIRCON_COLS, _records(energy.aircon), freeze="B2")
    _write_sheet(wb, SHEETS["stands"], STAND_COLS, _records(result.fo001), freeze="B2")
    _write_sheet(wb, SHEETS["parameters"], PARAMETER_COLS, _parameter_records(result))
    credits = getattr(result, "credits", None)
    if credits is not None:
        _write_sheet(wb, SHEETS["credit_use"], CREDIT_USE_COLS, _records(credits["use"]))
    _write_figures(wb, figures(result))
    return wb


def sheet_names(result: RunResult) -> list[str]:
    """Names of the sheets :func:`workbook` writes for this run, in order."""
    energy = result.energy
    keys = ["summary", "monitoring"]
    if energy is not None:
        keys += [k for k in ("solar", "aircon") if getattr(energy, k) is not None]
    keys += ["stands", "parameters"]
    if importlib.util.find_spec("matplotlib") is not None:
        keys.append("figures")
    return [SHEETS[k] for k in keys]


FIGURE_SCALE = 0.5
"""Figures are drawn at 150 dpi and shown at this scale in the workbook (about screen size)."""
PIXELS_PER_ROW = 20
"""Height of a default worksheet row (15 pt) [px], to place figures one below another."""


def figures(result: RunResult) -> list[tuple[str, bytes]]:
    """Caption and PNG bytes of the report's figures, for the last period (:mod:`.plots`).

    The program waterfall; with eligible FO-001 stands, removals by age class and species and
    the yield curves of the species with the largest net removals, with its stands. None when
    matplotlib is not installed (the ``notebooks`` extra).
    """
    if importlib.util.find_spec("matplotlib") is None:
        return []
    from forestcarbon.outputs import plots

    period = result.inputs.settings.periods[-1].label
    fo = result.fo001
    drawn = [
        (f"プログラム合計 Program total, {period}", plots.totals_waterfall(result.summary, period))
    ]
    eligible = fo[(fo["period"] == period) & fo["eligible"]]
    if len(eligible):
        main = eligible.groupby("species")["net_tco2"].sum().idxmax()
        drawn += [
            (
                f"FO-001 齢級・樹種別の純吸収量 Net removals by age class and species, {period}",
                plots.removals_by_age_class(fo, period),
            ),
            (
                f"収穫表と小班 Yield curves and stands: {main}, {period}",
                plots.growth_curves(result.inputs.yields, fo, main, period),
            ),
        ]
    out = []
    for caption, fig in drawn:
        buffer = io.BytesIO()
        plots.save_png(fig, buffer)
        out.append((caption, buffer.getvalue()))
    return out


def _write_figures(wb: Workbook, pngs: list[tuple[str, bytes]]) -> None:
    """A sheet of captioned figures, one below another (nothing without figures)."""
    if not pngs:
        return
    from openpyxl.drawing.image import Image

    ws = wb.create_sheet(SHEETS["figures"])
    row = 1
    for caption, png in pngs:
        ws.cell(row=row, column=1, value=caption).font = Font(bold=True)
        image = Image(io.BytesIO(png))
        image.width = round(image.width * FIGURE_SCALE)
        image.height = round(image.height * FIGURE_SCALE)
        image.anchor = f"A{row + 1}"
        ws.add_image(image)
        row += math.ceil(image.height / PIXELS_PER_ROW) + 3


def workbook_bytes(wb: Workbook) -> bytes:
    """Save a workbook as deterministic xlsx bytes: fixed document times and zip entry times."""
    wb.properties.created = FIXED_TIME
    text_cells_as_strings(wb)  # never a formula from a stand id or facility name
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    return out.getvalue()


def markdown_text(text: str) -> str:
    """Text shown literally in Markdown: HTML and Markdown syntax characters escaped, one line."""
    text = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~>])", r"\\\1", text)


def summary_markdown(result: RunResult) -> str:
    """A short Markdown summary of the run (Japanese + English labels)."""

    s = result.inputs.settings
    lines = [
        f"# {markdown_text(s.program.name)} — 実行結果の概要 / run summary",
        "",
        f"Periods 期間: {', '.join(p.label for p in s.periods)}  ",
        f"forestcarbon {__version__}; credits are whole t-CO2, truncated once per methodology and "
        "period.",
        "",
        "| methodology 方法論 | period 期間 | total 合計 [t-CO2] | credits クレジット [t-CO2] "
        "| activities 活動数 |",
        "|---|---|---:|---:|---:|",
    ]
    for r in result.summary.itertuples():
        lines.append(
            f"| {r.methodology} | {r.period} | {decimal_text(Decimal(str(r.total_tco2)))} | "
            f"{r.credits_t} | {r.n_activities} |"
        )
    fo = result.fo001
    source = result.inputs.settings.fo001.area_source
    used = "polygon area (geometry)" if source == "geometry" else "register area (area_ha)"
    lines += ["", "## FO-001 森林経営活動 forest management", "", f"Stand areas: {used}.", ""]
    for period, g in fo.groupby("period", sort=True):
        e = g[g["eligible"]]
        lines.append(
            f"- {period}: {len(g)} stands, {len(e)} eligible, {e['eligible_area_ha'].sum():.1f} ha "
            f"counted, net {e['net_tco2'].sum():.3f} t-CO2"
        )
        held = g[g["held_tco2"] > 0] if "held_tco2" in g.columns else g.iloc[:0]
        if len(held):
            lines.append(
                f"  - held 保留 (canopy evidence, not credited until an officer's review): "
                f"{held['held_tco2'].sum():.3f} t-CO2 on {', '.join(held['stand_id'])}"
            )
        felled = g[~g["eligible"] & (g["emissions_tco2"] > 0)]
        if len(felled):
            lines.append(
                f"  - fellings of ineligible stands in the project boundary: "
                f"{felled['emissions_tco2'].sum():.3f} t-CO2 emissions ({len(felled)} stand(s))"
            )
    if result.energy is not None:
        text = [line.strip() for line in energy_text(result.energy)]
        lines += ["", "## Energy 省エネ・再エネ", ""]
        lines += [f"### {t}" if t.startswith("EN-") else f"- {t}" for t in text if t]
        factors = result.energy.factors
        if factors is not None:
            lines += [
                "",
                "Emission factor 排出係数 "
                f"(`[energy] emission_factor = {toml_value(factors.setting)}`):",
                "",
            ]
            for r in factors.table.to_dict("records"):
                lines.append(
                    f"- FY{int(r['fiscal_year'])}: {r['value_t_per_kwh']} t-CO2/kWh "
                    f"({'verified' if r['verified'] else 'NOT verified'}) — {r['source']}"
                )
    unverified = unverified_in_use(result)
    if unverified:
        lines += ["", "## Unverified settings in use 未確認の設定", ""]
        lines += [f"- `{k} = {toml_value(v)}`" for k, v in unverified]
    lines += ["", f"Report: `{REPORT_FILE}` (sheets: {', '.join(sheet_names(result))}).", ""]
    return "\n".join(lines)


def report_files(result: RunResult) -> dict[str, bytes]:
    """Output file name -> bytes of the monitoring report and the Markdown summary."""
    return {
        REPORT_FILE: workbook_bytes(workbook(result)),
        SUMMARY_FILE: summary_markdown(result).encode("utf-8"),
    }
