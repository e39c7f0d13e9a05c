"""Table specs of the solar and air-conditioning inputs and the parsers of their values.

Column names, units, bounds and Japanese header aliases of the PV sites, PV readings,
air-conditioning units and air-conditioning readings tables (:class:`TableSpec`, validated by
:func:`forestcarbon.inputs.schemas.validate`). Reading the files is
:mod:`forestcarbon.inputs.energy`.
"""

from __future__ import annotations

from forestcarbon.inputs.schemas import (
    Column,
    TableSpec,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
)

MAX_READING_KWH = 1e8
"""Largest plausible kWh of one reading row (a large public building uses ~1e7 kWh/yr)."""


_FIT_STATUS = {
    "surplus": "surplus",
    "余剰": "surplus",
    "余剰買取": "surplus",
    "余剰売電": "surplus",
    "full": "full",
    "全量": "full",
    "全量買取": "full",
    "全量売電": "full",
    "none": "none",
    "なし": "none",
    "無": "none",
    "自家消費": "none",
    "post_fit": "post_fit",
    "卒fit": "post_fit",
    "fit終了": "post_fit",
}


def parse_fit_status(text: str) -> str:
    """FIT status: surplus/余剰, full/全量, none/自家消費, post_fit/卒FIT."""
    key = text.lower().replace(" ", "")
    if key in _FIT_STATUS:
        return _FIT_STATUS[key]
    raise ValueError("expected surplus/余剰, full/全量, none/自家消費 or post_fit/卒FIT")


_DRIVES = {"electric": "electric", "電気": "electric", "ehp": "electric", "電動": "electric"}
_DRIVES |= {"gas": "gas", "ガス": "gas", "ghp": "gas"}


def parse_drive(text: str) -> str:
    """Drive of an air conditioner: electric/電気/EHP or gas/ガス/GHP."""
    key = text.lower()
    if key in _DRIVES:
        return _DRIVES[key]
    raise ValueError("expected electric/電気/EHP or gas/ガス/GHP")


def _kwh(name: str, *aliases: str, required: bool = True) -> Column:
    return Column(
        name,
        parse_float,
        required=required,
        min=0,
        max=MAX_READING_KWH,
        unit="kWh",
        aliases=aliases,
    )


def _cop(name: str, *aliases: str) -> Column:
    return Column(name, parse_float, required=False, min=1.0, max=10.0, aliases=aliases)


POINT_COLUMNS = (
    Column(
        "lon", parse_float, required=False, min=-180, max=180, aliases=("経度", "longitude", "lng")
    ),
    Column("lat", parse_float, required=False, min=-90, max=90, aliases=("緯度", "latitude")),
    Column("x", parse_float, required=False, unit="m", aliases=("x_m", "easting")),
    Column("y", parse_float, required=False, unit="m", aliases=("y_m", "northing")),
)
"""Coordinates of CSV/XLSX point tables: lon/lat [degrees], or x (easting) / y (northing) [m]."""

_START_ALIASES = ("開始日", "期間開始", "計測開始日", "検針開始日", "start")
_END_ALIASES = ("終了日", "期間終了", "計測終了日", "検針終了日", "end")


def _reading_period(required: bool) -> tuple[Column, Column]:
    return (
        Column("period_start", parse_date, required=required, aliases=_START_ALIASES),
        Column("period_end", parse_date, required=required, aliases=_END_ALIASES),
    )


_SITE_ID = Column(
    "site_id", aliases=("設備id", "設備番号", "会員番号", "管理番号", "番号", "id", "site")
)
_GENERATED = ("発電量", "発電電力量", "発電量(kwh)", "発電電力量(kwh)", "generated")
_SOLD = ("売電量", "売電電力量", "余剰電力量", "受給電力量", "売電量(kwh)", "sold")
_UNIT_ID = Column("unit_id", aliases=("機器id", "機器番号", "空調機id", "id", "unit"))
_ELECTRICITY = ("消費電力量", "使用電力量", "電力量", "電力量(kwh)", "electricity")
_COOLING = ("冷房電力量", "冷房電力量(kwh)", "cooling")
_HEATING = ("暖房電力量", "暖房電力量(kwh)", "heating")
_BLOCKED = (
    Column(
        "jcredit_blocked",
        parse_bool,
        required=False,
        aliases=("jクレジット不可", "登録不可", "補助金制限", "blocked"),
    ),
    Column("block_reason", required=False, aliases=("不可理由", "除外理由", "理由")),
)

SOLAR_SITES = TableSpec(
    "solar",
    (
        _SITE_ID,
        Column(
            "capacity_kw",
            parse_float,
            min=0.01,
            max=1000,
            unit="kW",
            aliases=(
                "容量",
                "出力",
                "設備容量",
                "太陽電池容量",
                "容量(kw)",
                "出力(kw)",
                "capacity",
            ),
        ),
        Column("commissioned", parse_date, aliases=("運転開始日", "稼働開始日", "発電開始日")),
        Column("joined", parse_date, aliases=("加入日", "参加日", "登録日", "入会日")),
        Column(
            "fit_status",
            parse_fit_status,
            required=False,
            aliases=("fit", "fit区分", "買取区分", "売電方式"),
        ),
        *_BLOCKED,
        *POINT_COLUMNS,
        *_reading_period(False),
        _kwh("generated_kwh", *_GENERATED, required=False),
        _kwh("sold_kwh", *_SOLD, required=False),
    ),
    id_column="site_id",
    unique=("site_id",),
)
"""Household PV sites (points); readings may be columns when the program has one period."""

SOLAR_READINGS = TableSpec(
    "solar_readings",
    (
        _SITE_ID,
        *_reading_period(True),
        _kwh("generated_kwh", *_GENERATED),
        _kwh("sold_kwh", *_SOLD),
    ),
    id_column="site_id",
)
"""PV readings per site and period: generated (home monitor) and sold kWh (受給電力量のお知らせ)."""

AIRCON_UNITS = TableSpec(
    "aircon",
    (
        _UNIT_ID,
        Column("facility", aliases=("施設", "施設名", "設置施設")),
        _cop("cop_baseline", "更新前cop", "既存cop", "ベースラインcop", "cop_bl"),
        _cop("cop_project", "更新後cop", "新cop", "プロジェクトcop", "cop_pj"),
        _cop("cop_baseline_cooling", "更新前cop(冷房)", "既存cop(冷房)"),
        _cop("cop_baseline_heating", "更新前cop(暖房)", "既存cop(暖房)"),
        _cop("cop_project_cooling", "更新後cop(冷房)", "新cop(冷房)"),
        _cop("cop_project_heating", "更新後cop(暖房)", "新cop(暖房)"),
        Column(
            "installed",
            parse_date,
            required=False,
            aliases=("設置日", "更新日", "導入日", "稼働開始日"),
        ),
        Column("joined", parse_date, required=False, aliases=("加入日", "参加日", "登録日")),
        Column(
            "baseline_year",
            parse_int,
            required=False,
            min=1950,
            max=2100,
            aliases=("更新前設置年", "既存機器設置年", "旧機設置年"),
        ),
        Column("drive", parse_drive, required=False, aliases=("駆動方式", "熱源", "方式")),
        Column(
            "capacity_kw",
            parse_float,
            required=False,
            min=0.1,
            max=10000,
            unit="kW",
            aliases=("冷房能力", "能力", "定格能力", "capacity"),
        ),
        *_BLOCKED,
        *POINT_COLUMNS,
        *_reading_period(False),
        _kwh("electricity_kwh", *_ELECTRICITY, required=False),
        _kwh("cooling_kwh", *_COOLING, required=False),
        _kwh("heating_kwh", *_HEATING, required=False),
    ),
    id_column="unit_id",
    unique=("unit_id",),
)
"""Air-conditioning units (points) with baseline and project COPs (single or cooling/heating)."""

AIRCON_READINGS = TableSpec(
    "aircon_readings",
    (
        _UNIT_ID,
        *_reading_period(True),
        _kwh("electricity_kwh", *_ELECTRICITY, required=False),
        _kwh("cooling_kwh", *_COOLING, required=False),
        _kwh("heating_kwh", *_HEATING, required=False),
    ),
    id_column="unit_id",
)
"""Air-conditioning readings: total electricity, or cooling and heating metered separately."""
