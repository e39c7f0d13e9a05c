"""EN-R-002 household solar and EN-S-004 air conditioning: inputs, reductions per site and period.

The rules are those of ``methodology/EN-R-002_EN-S-004.md``:

* Reduction ``ER = EM_BL - EM_PJ``; the electricity emission factor of the fiscal year (April-March)
  in which the reduction happened; a reading that crosses fiscal years is split by days, each part
  with its year's factor (:func:`fiscal_year_days`).
* EN-R-002: ``EL_self = EL_generated - EL_sold``, ``EM_BL = EL_self x EF``, ``EM_PJ = 0``. A site
  without readings is estimated as ``capacity_kw x yield x self-consumption ratio x days/365``
  with a conservative discount (``method = "estimated"``). Reductions count from the later of
  commissioning and joining; sites whose subsidy forbids J-Credit registration are excluded with
  a reason. Household values keep full precision in kg (``reduction_kgco2``).
* EN-S-004: ``EL_BL = EL_PJ x COP_PJ / COP_BL``; cooling and heating metered separately get one
  ratio each, otherwise the conservative single ratio ``min(COP_PJ,c/COP_BL,c, COP_PJ,h/COP_BL,h)``.
  A standard unit is the baseline when the old unit is unknown or older than twice its statutory
  life.
* Each activity (a PV site; an air-conditioned facility) must stay at or below
  ``[energy] activity_cap_tco2_per_yr`` (500 t-CO2/yr); one above it is excluded.

Inputs are point layers (any OGR format, or CSV/XLSX with lon/lat or x/y and ``[inputs]
points_crs``) and reading tables, validated with the :class:`~forestcarbon.schemas.TableSpec` specs
below; every problem of every file is reported at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from forestcarbon.core.config import CONFIG_FILE, EnergySettings, Period, Settings, load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.params import load_table
from forestcarbon.inputs.readers import TABLE_SUFFIXES, read_layer, read_table
from forestcarbon.inputs.schemas import (
    Column,
    TableSpec,
    normalize_text,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    validate,
)
from forestcarbon.methods.fiscal import as_days, fiscal_year_pieces, fiscal_years
from forestcarbon.methods.fo001 import natural_key_rank
from forestcarbon.methods.totals import summary_row

log = logging.getLogger("forestcarbon")

EN_R_002 = "EN-R-002"
EN_S_004 = "EN-S-004"
DAYS_PER_YEAR = 365
"""Days of a year in the estimation formula ``days/365`` (methodology note, EN-R-002)."""
KG_PER_T = 1000
NANO_DIGITS = 9
"""Per-activity t-CO2 are kept to 1e-9 t (1 mg), the exact unit of :mod:`forestcarbon.program`."""
KWH_DIGITS = 6
"""Output kWh are rounded to 1e-6 kWh; tonnes are computed from the unrounded values."""
MAX_READING_KWH = 1e8
"""Largest plausible kWh of one reading row (a large public building uses ~1e7 kWh/yr)."""
MAX_LISTED = 20
"""Most problems of one kind listed per file (the rest would repeat the same fix)."""
LONLAT_CRS = "EPSG:4326"
"""CRS of lon/lat columns (JGD2011 and WGS 84 agree within about a metre in Japan)."""

SITE_SUFFIXES = (".gpkg", ".geojson", ".json", ".fgb", ".shp", ".parquet", ".csv", ".xlsx")
READING_SUFFIXES = (".csv", ".xlsx")

SOLAR_COLUMNS = [
    "site_id",
    "period",
    "eligible",
    "reason",
    "method",
    "capacity_kw",
    "fit_status",
    "commissioned",
    "joined",
    "eligible_from",
    "eligible_days",
    "counted_days",
    "generated_kwh",
    "sold_kwh",
    "self_consumed_kwh",
    "counted_kwh",
    "ef_t_per_kwh",
    "reduction_kgco2",
    "reduction_tco2",
    "gross_reduction_tco2",
    "annual_rate_tco2_yr",
    "flags",
]
"""Columns of ``solar_sites.csv`` (one row per site and period)."""

AIRCON_COLUMNS = [
    "unit_id",
    "facility",
    "period",
    "eligible",
    "reason",
    "method",
    "baseline_source",
    "cop_baseline_cooling",
    "cop_baseline_heating",
    "cop_project_cooling",
    "cop_project_heating",
    "cop_ratio_cooling",
    "cop_ratio_heating",
    "cop_ratio_single",
    "eligible_from",
    "eligible_days",
    "counted_days",
    "cooling_kwh",
    "heating_kwh",
    "project_kwh",
    "baseline_kwh",
    "ef_t_per_kwh",
    "baseline_tco2",
    "project_tco2",
    "reduction_tco2",
    "gross_reduction_tco2",
    "facility_annual_rate_tco2_yr",
    "flags",
]
"""Columns of ``aircon_units.csv`` (one row per unit and period)."""

FLAGS = {
    "estimated": "no readings in the period: self-consumption estimated from capacity (EN-R-002)",
    "prorated_to_eligibility": "a reading starts before the eligibility date: prorated by days",
    "partial_readings": "readings cover only part of the eligible days; the rest is not counted",
    "fiscal_year_split": "counted days span fiscal years: each part with its year's factor",
    "over_activity_cap": "reduction above the per-activity limit of a program-type project",
    "cop_not_improved": "the new unit is not more efficient than the baseline: no reduction",
}
"""Flag names in ``solar_sites.csv`` / ``aircon_units.csv`` and their meaning."""


# --- parsers and table specs ---------------------------------------------------------------------

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


# --- emission factors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmissionFactors:
    """Electricity emission factor per fiscal year [t-CO2/kWh] and where each value comes from.

    Attributes
    ----------
    setting : str or float
        ``[energy] emission_factor`` as given: a number or a kind of the packaged table.
    by_year : dict
        Fiscal year -> factor [t-CO2/kWh].
    table : DataFrame
        The rows used: fiscal_year, kind, value_t_per_kwh, unit, source, verified.
    """

    setting: object
    by_year: dict[int, float]
    table: pd.DataFrame

    def __call__(self, fiscal_year: int) -> float:
        return self.by_year[fiscal_year]


def resolve_emission_factors(
    setting, years: list[int], *, file: str = CONFIG_FILE
) -> tuple[EmissionFactors | None, list[Problem]]:
    """The factor of each fiscal year from ``[energy] emission_factor``.

    Parameters
    ----------
    setting : float or str
        A factor [t-CO2/kWh] used for every year, or a kind of ``emission_factors.csv``: its row of
        the fiscal year, else its row without a year (a constant).
    years : list of int
        Fiscal years needed.

    Returns
    -------
    (EmissionFactors or None, problems)
    """
    key = "[energy] emission_factor"
    table = load_table("emission_factors")
    kinds = sorted(set(table["kind"]))
    if isinstance(setting, int | float) and not isinstance(setting, bool):
        value = float(setting)
        if not 0 < value <= 0.002:
            hint = " (that looks like kg-CO2/kWh; give t-CO2/kWh)" if 0.05 < value < 2 else ""
            return None, [
                Problem(
                    file,
                    "",
                    key,
                    f"expected a factor in (0, 0.002] t-CO2/kWh such as 0.000434, got "
                    f"{setting!r}{hint}",
                )
            ]
        rows = pd.DataFrame(
            {
                "fiscal_year": years,
                "kind": "program setting",
                "value_t_per_kwh": value,
                "unit": "t-CO2/kWh",
                "source": f"{CONFIG_FILE} [energy] emission_factor",
                "verified": False,
            }
        )
        return EmissionFactors(setting, dict.fromkeys(years, value), rows), []
    if not isinstance(setting, str) or setting not in kinds:
        return None, [
            Problem(
                file,
                "",
                key,
                f"expected a number [t-CO2/kWh] or a kind of the packaged table "
                f"emission_factors.csv ({', '.join(kinds)}), got {setting!r}",
            )
        ]
    of_kind = table[table["kind"] == setting]
    constant = of_kind[of_kind["fiscal_year"].isna()]
    rows, by_year, problems = [], {}, []
    for fy in years:
        match = of_kind[of_kind["fiscal_year"] == fy]
        row = match if len(match) else constant
        if not len(row):
            listed = ", ".join(f"FY{int(y)}" for y in of_kind["fiscal_year"].dropna())
            problems.append(
                Problem(
                    file,
                    "",
                    key,
                    f"kind {setting!r} has no factor for FY{fy} (it has {listed}); choose a kind "
                    f"that covers the periods or give a number [t-CO2/kWh]",
                )
            )
            continue
        row = row.iloc[0]
        by_year[fy] = float(row["value_t_per_kwh"])
        rows.append({**row.to_dict(), "fiscal_year": fy})
    if problems:
        return None, problems
    used = pd.DataFrame(rows, columns=list(table.columns))
    return EmissionFactors(setting, by_year, used), []


# --- reading the inputs --------------------------------------------------------------------------


@dataclass
class EnergyInputs:
    """Validated energy inputs of a program folder (each part ``None`` when the program has none).

    Attributes
    ----------
    solar : GeoDataFrame or None
        One row per PV site in the working CRS: site_id, capacity_kw [kW], commissioned, joined,
        fit_status, jcredit_blocked, block_reason, source_row, geometry.
    solar_readings : DataFrame or None
        site_id, period (label), period_start, period_end, generated_kwh, sold_kwh [kWh],
        source_row, file.
    aircon : GeoDataFrame or None
        One row per unit: unit_id, facility, COP columns, installed, joined, baseline_year,
        capacity_kw, jcredit_blocked, block_reason, source_row, geometry.
    aircon_readings : DataFrame or None
        unit_id, period, period_start, period_end, electricity_kwh, cooling_kwh, heating_kwh
        [kWh], split (cooling/heating metered separately), source_row, file.
    factors : EmissionFactors or None
    files : dict
        Input role -> path of every file read.
    """

    solar: gpd.GeoDataFrame | None = None
    solar_readings: pd.DataFrame | None = None
    aircon: gpd.GeoDataFrame | None = None
    aircon_readings: pd.DataFrame | None = None
    factors: EmissionFactors | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the program has neither solar sites nor air-conditioning units."""
        return self.solar is None and self.aircon is None


def _discover(
    program_dir: Path, explicit: str, stem: str, suffixes, key: str, problems: list[Problem]
) -> Path | None:
    if explicit:
        path = program_dir / explicit
        if not path.exists():
            problems.append(Problem(str(path), "", "", f"file not found (named by [inputs] {key})"))
            return None
        return path
    found = [program_dir / f"{stem}{s}" for s in suffixes if (program_dir / f"{stem}{s}").is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        problems.append(
            Problem(
                str(program_dir / CONFIG_FILE),
                "",
                f"[inputs] {key}",
                f"several candidate files ({names}); name the one to use with [inputs] {key}",
            )
        )
        return None
    return found[0] if found else None


def _layer_name(path: Path, stem: str) -> str | None:
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception:  # unreadable: read_layer reports it
        return None
    return stem if stem in layers else None


def _plain(attrs: pd.DataFrame) -> pd.DataFrame:
    """Attribute table with missing values as None (so validation sees empty cells)."""
    out = attrs.astype(object)
    return out.where(out.notna(), None)


def _where(kind: str, i: int, ident) -> str:
    return f"{kind} {i} ({ident})" if ident else f"{kind} {i}"


def _read_points(
    path: Path, spec: TableSpec, settings: Settings, problems: list[Problem]
) -> gpd.GeoDataFrame | None:
    """Validated point table in the working CRS, or None (problems appended)."""
    file = str(path)
    id_col = spec.id_column
    if path.suffix.lower() in TABLE_SUFFIXES:
        table, p = validate(read_table(path), spec, file)
        problems += p
        if p:
            return None
        geoms = _points_from_columns(table, settings, file, problems)
        if geoms is None:
            return None
        kind = "row"
        numbers = table["source_row"].to_numpy()
    else:
        layer = read_layer(path, layer=_layer_name(path, spec.name))
        table, p = validate(
            _plain(pd.DataFrame(layer.drop(columns=layer.geometry.name))), spec, file
        )
        problems += p
        if p:
            return None
        geoms = gpd.GeoSeries(layer.geometry.to_numpy(), crs=layer.crs)
        kind = "feature"
        numbers = np.arange(1, len(table) + 1)
    ids = table[id_col].to_numpy()
    bad = False
    for i, geom in enumerate(geoms):
        if geom is None or shapely.is_empty(geom) or geom.geom_type != "Point":
            got = "nothing" if geom is None or shapely.is_empty(geom) else geom.geom_type
            problems.append(
                Problem(
                    file,
                    _where(kind, numbers[i], ids[i]),
                    "geometry",
                    f"expected a Point, got {got}",
                )
            )
            bad = True
    if bad:
        return None
    working = pyproj.CRS(settings.program.crs)
    points = gpd.GeoDataFrame(table, geometry=geoms.to_numpy(), crs=geoms.crs).to_crs(working)
    problems += _outside_area_of_use(points, working, file, kind, numbers, ids)
    return points


def _points_from_columns(
    table: pd.DataFrame, settings: Settings, file: str, problems: list[Problem]
) -> gpd.GeoSeries | None:
    cols = set(table.columns)
    if {"lon", "lat"} <= cols:
        xs, ys, crs, names = table["lon"], table["lat"], LONLAT_CRS, ("lon", "lat")
    elif {"x", "y"} <= cols:
        names = ("x", "y")
        crs = settings.inputs.points_crs
        if not crs:
            problems.append(
                Problem(
                    file,
                    "",
                    "x/y",
                    "coordinates x/y have no CRS: set [inputs] points_crs in program.toml (e.g. "
                    '"EPSG:6673"; x = easting, y = northing in metres) or give lon/lat (経度/緯度)',
                )
            )
            return None
        try:
            crs = pyproj.CRS(crs)
        except pyproj.exceptions.CRSError as e:
            problems.append(Problem(str(CONFIG_FILE), "", "[inputs] points_crs", f"not a CRS: {e}"))
            return None
        xs, ys = table["x"], table["y"]
    else:
        problems.append(
            Problem(
                file,
                "",
                "lon/lat",
                "no coordinates: give lon/lat (経度/緯度) or x/y columns, or use a point layer "
                "(GeoPackage, GeoJSON, Shapefile)",
            )
        )
        return None
    missing = xs.isna() | ys.isna()
    for i in np.flatnonzero(missing.to_numpy()):
        problems.append(
            Problem(
                file,
                f"row {table['source_row'].iloc[i]}",
                "/".join(names),
                "coordinate is missing",
            )
        )
    if missing.any():
        return None
    return gpd.GeoSeries(gpd.points_from_xy(xs.astype(float), ys.astype(float)), crs=crs)


def _outside_area_of_use(points, working: pyproj.CRS, file, kind, numbers, ids) -> list[Problem]:
    """Points outside the working CRS's area of use: wrong CRS or swapped coordinates."""
    area = working.area_of_use
    if area is None:
        return []
    lonlat = points.geometry.to_crs(LONLAT_CRS)
    lon, lat = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    inside = (lon >= area.west) & (lon <= area.east) & (lat >= area.south) & (lat <= area.north)
    problems = []
    for i in np.flatnonzero(~inside)[:MAX_LISTED]:
        problems.append(
            Problem(
                file,
                _where(kind, numbers[i], ids[i]),
                "geometry",
                f"point at lon {lon[i]:.5f}, lat {lat[i]:.5f} is outside the area of use of "
                f"{working.to_string()} ({area.name}); wrong CRS, or lon/lat (x/y) swapped?",
            )
        )
    return problems


def _find_period(start: dt.date, end: dt.date, periods: tuple[Period, ...]) -> Period | None:
    for p in periods:
        if p.start <= start and end <= p.end:
            return p
    return None


def _readings(
    sites: pd.DataFrame,
    site_file: str,
    readings_path: Path | None,
    sites_spec: TableSpec,
    readings_spec: TableSpec,
    kwh_columns: tuple[str, ...],
    periods: tuple[Period, ...],
    problems: list[Problem],
) -> pd.DataFrame | None:
    """Readings from their own table, or from the sites table's columns; checked against periods."""
    id_col = sites_spec.id_column
    in_sites = [c for c in kwh_columns if c in sites.columns]
    no_readings = pd.DataFrame(
        columns=[id_col, "period", "period_start", "period_end", *kwh_columns, "source_row"]
    )
    if readings_path is not None:
        file = str(readings_path)
        if in_sites:
            problems.append(
                Problem(
                    site_file,
                    "",
                    ", ".join(in_sites),
                    f"readings given twice: as columns here and in {readings_path.name}; keep one",
                )
            )
            return None
        readings, p = validate(read_table(readings_path), readings_spec, file, allow_empty=True)
        problems += p
        if p:
            return None
        if readings.empty:  # a header-only table: no site has readings
            return no_readings.assign(file=file)
    else:
        file = site_file
        if not in_sites:
            return no_readings.assign(file=file)
        has = sites[in_sites].notna().any(axis=1)
        columns = [id_col, "period_start", "period_end", *kwh_columns, "source_row"]
        readings = pd.DataFrame(sites.reindex(columns=columns)[has.to_numpy()]).reset_index(
            drop=True
        )
        readings[["period_start", "period_end"]] = readings[["period_start", "period_end"]].astype(
            object
        )
        no_dates = readings["period_start"].isna() & readings["period_end"].isna()
        if no_dates.any():
            if len(periods) == 1:
                readings.loc[no_dates, "period_start"] = periods[0].start
                readings.loc[no_dates, "period_end"] = periods[0].end
            else:
                for _, r in readings[no_dates].iterrows():
                    problems.append(
                        Problem(
                            file,
                            f"row {r['source_row']} ({r[id_col]})",
                            "period_start/period_end",
                            f"readings as columns need their dates when the program has "
                            f"{len(periods)} periods; give period_start/period_end or a separate "
                            f"readings table",
                        )
                    )
                readings = readings[~no_dates].reset_index(drop=True)
    for col in kwh_columns:
        if col not in readings.columns:
            readings[col] = np.nan
        readings[col] = pd.to_numeric(readings[col], errors="coerce")
    readings["file"] = file
    known = set(sites[id_col])
    labels, ok = [], []
    for r in readings.itertuples(index=False):
        ident = getattr(r, id_col)
        where = f"row {r.source_row} ({ident})"
        start, end = r.period_start, r.period_end
        good = True
        if ident not in known:
            problems.append(
                Problem(
                    file,
                    where,
                    id_col,
                    f"reading for unknown {id_col} {ident!r} (not in {site_file})",
                )
            )
            good = False
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            problems.append(Problem(file, where, "period_start/period_end", "dates are missing"))
            labels.append(None)
            ok.append(False)
            continue
        if end < start:
            problems.append(
                Problem(
                    file, where, "period_end", f"reading ends ({end}) before it starts ({start})"
                )
            )
            good = False
        period = _find_period(start, end, periods)
        if period is None and end >= start:
            listed = ", ".join(p.label for p in periods)
            problems.append(
                Problem(
                    file,
                    where,
                    "period_start/period_end",
                    f"reading {start}/{end} is outside the program's periods ({listed}); each "
                    f"reading must lie within one period",
                )
            )
            good = False
        labels.append(period.label if period else None)
        ok.append(good)
    readings["period"] = labels
    readings = readings[ok].reset_index(drop=True)
    problems += _overlaps(readings, id_col, file)
    return readings


def _overlaps(readings: pd.DataFrame, id_col: str, file: str) -> list[Problem]:
    """Readings of one site or unit that share a day: each names the earlier reading it overlaps."""
    if readings.empty:
        return []
    r = readings.sort_values([id_col, "period_start", "source_row"], kind="stable")
    r = r.reset_index(drop=True)
    ids = r[id_col]
    end = pd.Series(as_days(r["period_end"]))
    running = end.groupby(ids).cummax()  # latest end so far within the id
    holder = pd.Series(np.arange(len(r)), dtype=float).where(end == running).groupby(ids).ffill()
    before = holder.groupby(ids).shift()  # the reading that reaches furthest before this one
    previous_end = running.groupby(ids).shift()
    clash = (pd.Series(as_days(r["period_start"])) <= previous_end).to_numpy()
    problems = []
    for i in np.flatnonzero(clash)[:MAX_LISTED]:
        a, b = r.iloc[int(before.iloc[i])], r.iloc[i]
        problems.append(
            Problem(
                file,
                f"rows {a['source_row']} and {b['source_row']} ({b[id_col]})",
                "period_start/period_end",
                f"readings overlap ({a['period_start']}/{a['period_end']} and "
                f"{b['period_start']}/{b['period_end']}); each day may be read once",
            )
        )
    return problems


def _check_solar_readings(readings: pd.DataFrame) -> list[Problem]:
    problems = []
    for r in readings.itertuples(index=False):
        where = f"row {r.source_row} ({r.site_id})"
        missing = [c for c in ("generated_kwh", "sold_kwh") if pd.isna(getattr(r, c))]
        if missing:
            problems.append(
                Problem(r.file, where, "/".join(missing), "value is missing (give both kWh values)")
            )
        elif r.sold_kwh > r.generated_kwh:
            problems.append(
                Problem(
                    r.file,
                    where,
                    "sold_kwh",
                    f"sold {r.sold_kwh:g} kWh is more than generated {r.generated_kwh:g} kWh; "
                    "expected sold <= generated (check the meter readings and the purchase notice)",
                )
            )
    return problems


def _check_aircon_readings(readings: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    problems = []
    split = []
    for r in readings.itertuples(index=False):
        where = f"row {r.source_row} ({r.unit_id})"
        has_c, has_h, has_e = (
            not pd.isna(v) for v in (r.cooling_kwh, r.heating_kwh, r.electricity_kwh)
        )
        if has_c != has_h:
            problems.append(
                Problem(
                    r.file,
                    where,
                    "cooling_kwh/heating_kwh",
                    "give both cooling and heating kWh when they are metered separately",
                )
            )
        elif not has_c and not has_e:
            problems.append(
                Problem(
                    r.file,
                    where,
                    "electricity_kwh",
                    "value is missing: give electricity_kwh, or cooling_kwh and heating_kwh",
                )
            )
        elif has_c and has_e and abs(r.cooling_kwh + r.heating_kwh - r.electricity_kwh) > 0.5:
            problems.append(
                Problem(
                    r.file,
                    where,
                    "electricity_kwh",
                    f"{r.electricity_kwh:g} kWh differs from cooling + heating "
                    f"({r.cooling_kwh + r.heating_kwh:g} kWh)",
                )
            )
        split.append(has_c and has_h)
    return readings.assign(split=split), problems


@dataclass(frozen=True)
class UnitCops:
    """COPs of one unit: baseline and project, cooling and heating [-], and the baseline source."""

    baseline_cooling: float
    baseline_heating: float
    project_cooling: float
    project_heating: float
    baseline_source: str

    @property
    def ratio_cooling(self) -> float:
        return self.project_cooling / self.baseline_cooling

    @property
    def ratio_heating(self) -> float:
        return self.project_heating / self.baseline_heating

    @property
    def ratio_single(self) -> float:
        """Conservative single ratio ``min(cooling ratio, heating ratio)`` (EN-S-004, [D])."""
        return min(self.ratio_cooling, self.ratio_heating)


def _pair(unit, base: str) -> tuple[float, float]:
    single = unit.get(base)
    c, h = unit.get(f"{base}_cooling"), unit.get(f"{base}_heating")
    c = single if c is None or pd.isna(c) else c
    h = single if h is None or pd.isna(h) else h
    return (np.nan if c is None else float(c)), (np.nan if h is None else float(h))


def unit_cops(unit, es: EnergySettings, reference: dt.date) -> tuple[UnitCops | None, str]:
    """COPs of a unit (a row of the units table) and the baseline rule, or (None, problem text).

    The baseline is the replaced unit; a standard unit (``[energy] standard_cop_*``) when the old
    unit's COP is unknown, or when the old unit was older than twice ``aircon_statutory_life_years``
    at ``installed`` (else ``reference``). Single COP columns stand for both cooling and heating.
    """
    pc, ph = _pair(unit, "cop_project")
    bc, bh = _pair(unit, "cop_baseline")
    if np.isnan(pc) or np.isnan(ph):
        return None, "project COP missing: give cop_project, or cop_project_cooling and _heating"
    source = "replaced"
    if np.isnan(bc) and np.isnan(bh):
        source = "standard_unknown_unit"
    elif np.isnan(bc) or np.isnan(bh):
        return None, "baseline COP incomplete: give cop_baseline, or both cooling and heating"
    year = unit.get("baseline_year")
    if source == "replaced" and year is not None and not pd.isna(year):
        when = unit.get("installed")
        when = when if isinstance(when, dt.date) else reference
        if when.year - int(year) > 2 * es.aircon_statutory_life_years:
            source = "standard_old_unit"
    if source != "replaced":
        sc = es.standard_cop_cooling or es.standard_cop_heating
        sh = es.standard_cop_heating or es.standard_cop_cooling
        if not sc:
            why = "unknown" if source == "standard_unknown_unit" else "older than twice its life"
            return None, (
                f"the old unit is {why}, so the baseline is a standard unit, but [energy] "
                "standard_cop_cooling / standard_cop_heating are not set"
            )
        bc, bh = sc, sh
    return UnitCops(bc, bh, pc, ph, source), ""


def _check_units(units: gpd.GeoDataFrame, settings: Settings, file: str) -> list[Problem]:
    problems = []
    reference = settings.periods[0].start if settings.periods else dt.date.today()
    for _, unit in units.iterrows():
        where = f"row {unit['source_row']} ({unit['unit_id']})"
        if unit.get("drive") == "gas":
            problems.append(
                Problem(
                    file,
                    where,
                    "drive",
                    "gas-fired units (GHP) are not implemented yet: only electric units",
                )
            )
            continue
        _, message = unit_cops(unit, settings.energy, reference)
        if message:
            problems.append(Problem(file, where, "cop_baseline/cop_project", message))
    return problems


def _complete_solar(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    sites = sites.copy()
    for col, default in (
        ("fit_status", "surplus"),
        ("jcredit_blocked", False),
        ("block_reason", ""),
    ):
        if col not in sites.columns:
            sites[col] = default
        sites[col] = sites[col].where(sites[col].notna(), default)
    keep = [
        "site_id",
        "capacity_kw",
        "commissioned",
        "joined",
        "fit_status",
        "jcredit_blocked",
        "block_reason",
        "source_row",
        "geometry",
    ]
    return sites[keep].reset_index(drop=True)


_UNIT_OPTIONAL = (
    "cop_baseline",
    "cop_project",
    "cop_baseline_cooling",
    "cop_baseline_heating",
    "cop_project_cooling",
    "cop_project_heating",
    "baseline_year",
    "capacity_kw",
)


def _complete_units(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    units = units.copy()
    for col in _UNIT_OPTIONAL:
        if col not in units.columns:
            units[col] = np.nan
        units[col] = pd.to_numeric(units[col], errors="coerce")
    for col, default in (
        ("installed", None),
        ("joined", None),
        ("drive", "electric"),
        ("jcredit_blocked", False),
        ("block_reason", ""),
    ):
        if col not in units.columns:
            units[col] = default
        if default is not None:
            units[col] = units[col].where(units[col].notna(), default)
    keep = [
        "unit_id",
        "facility",
        *_UNIT_OPTIONAL,
        "installed",
        "joined",
        "drive",
        "jcredit_blocked",
        "block_reason",
        "source_row",
        "geometry",
    ]
    return units[keep].reset_index(drop=True)


def read_energy_inputs(
    program_dir: str | Path, settings: Settings
) -> tuple[EnergyInputs, list[Problem]]:
    """Read and validate the solar and air-conditioning inputs of a program folder.

    Absent files are not an error (the program then has no such activities); every problem of every
    present file is returned, none raised.
    """
    program_dir = Path(program_dir)
    inp = settings.inputs
    problems: list[Problem] = []
    out = EnergyInputs()
    parts = (
        ("solar", inp.solar, inp.solar_readings, SOLAR_SITES, SOLAR_READINGS),
        ("aircon", inp.aircon, inp.aircon_readings, AIRCON_UNITS, AIRCON_READINGS),
    )
    for stem, explicit, explicit_readings, spec, readings_spec in parts:
        path = _discover(program_dir, explicit, stem, SITE_SUFFIXES, stem, problems)
        readings_path = _discover(
            program_dir,
            explicit_readings,
            f"{stem}_readings",
            READING_SUFFIXES,
            f"{stem}_readings",
            problems,
        )
        if path is None:
            if readings_path is not None and not explicit:
                problems.append(
                    Problem(str(readings_path), "", "", f"readings without a {stem} sites file")
                )
            continue
        out.files[stem] = path
        if readings_path is not None:
            out.files[f"{stem}_readings"] = readings_path
        try:
            points = _read_points(path, spec, settings, problems)
        except InputError as e:
            problems += e.problems
            continue
        if points is None:
            continue
        kwh = (
            ("generated_kwh", "sold_kwh")
            if stem == "solar"
            else (
                "electricity_kwh",
                "cooling_kwh",
                "heating_kwh",
            )
        )
        try:
            readings = _readings(
                points,
                str(path),
                readings_path,
                spec,
                readings_spec,
                kwh,
                settings.periods,
                problems,
            )
        except InputError as e:
            problems += e.problems
            continue
        if readings is None:
            continue
        readings = readings.drop(
            columns=[
                c
                for c in readings.columns
                if c
                not in (
                    spec.id_column,
                    "period",
                    "period_start",
                    "period_end",
                    *kwh,
                    "source_row",
                    "file",
                )
            ]
        )
        if stem == "solar":
            problems += _check_solar_readings(readings)
            out.solar, out.solar_readings = _complete_solar(points), readings
        else:
            readings, p = _check_aircon_readings(readings)
            problems += p
            units = _complete_units(points)
            problems += _check_units(units, settings, str(path))
            out.aircon, out.aircon_readings = units, readings
    if not out.empty or any(f in out.files for f in ("solar", "aircon")):
        factors, p = resolve_emission_factors(
            settings.energy.emission_factor,
            fiscal_years(settings.periods),
            file=str(program_dir / CONFIG_FILE),
        )
        problems += p
        out.factors = factors
    return out, problems


def load_energy(program_dir: str | Path, settings: Settings | None = None) -> EnergyInputs:
    """Read and validate the energy inputs; raise one :class:`InputError` listing every problem."""
    settings = settings or load_settings(program_dir)
    inputs, problems = read_energy_inputs(program_dir, settings)
    if problems:
        raise InputError(problems)
    return inputs


# --- fiscal-year pieces (vectorised) -------------------------------------------------------------


def _grid(n_items: int, periods: tuple[Period, ...]) -> tuple[np.ndarray, ...]:
    """Item and period index of every (period, item) row, period-major; period bounds per row."""
    item = np.tile(np.arange(n_items), len(periods))
    period = np.repeat(np.arange(len(periods)), n_items)
    starts = as_days([p.start for p in periods])
    ends = as_days([p.end for p in periods])
    return item, period, starts[period], ends[period]


def _reading_rows(readings: pd.DataFrame, ids: pd.Series, id_col: str, periods) -> np.ndarray:
    """Grid row of every reading (see :func:`_grid`)."""
    item = pd.Index(ids).get_indexer(readings[id_col])
    period = pd.Index([p.label for p in periods]).get_indexer(readings["period"])
    return period * len(ids) + item


def _sum(rows: np.ndarray, values, n: int) -> np.ndarray:
    return np.bincount(rows, weights=np.asarray(values, dtype=float), minlength=n)


def _factor(factors: EmissionFactors, fy: np.ndarray) -> np.ndarray:
    return pd.Series(fy).map(factors.by_year).to_numpy(dtype=float)


def _n_fiscal_years(rows: np.ndarray, fy: np.ndarray, days: np.ndarray, n: int) -> np.ndarray:
    """Number of distinct fiscal years with counted days per grid row."""
    pairs = np.unique(np.stack([rows[days > 0], fy[days > 0]]), axis=1)
    return np.bincount(pairs[0], minlength=n)


def _join_flags(flags: dict[str, np.ndarray], n: int) -> list[str]:
    names = [name for name in FLAGS if name in flags]
    columns = [flags[name] for name in names]
    return [
        ";".join(nm for nm, col in zip(names, columns, strict=True) if col[i]) for i in range(n)
    ]


def _as_dates(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> datetime.date objects (None for NaT)."""
    return np.array([None if np.isnat(d) else d.item() for d in days], dtype=object)


def _t(values) -> np.ndarray:
    """t-CO2 kept to 1e-9 t, the exact unit of the program totals."""
    return np.round(np.asarray(values, dtype=float), NANO_DIGITS)


def _kwh_out(values) -> np.ndarray:
    """kWh as written to the outputs: to 1e-6 kWh, hiding binary noise (45000.00000000001)."""
    return np.round(np.asarray(values, dtype=float), KWH_DIGITS)


def _blocked_reason(detail: pd.Series) -> np.ndarray:
    base = "ineligible: subsidy forbids J-Credit registration (補助金の条件)"
    detail = detail.fillna("").map(normalize_text)
    return np.where(detail != "", base + ": " + detail, base).astype(object)


def _late_reason(eligible_from: np.ndarray, suffix: str = "") -> np.ndarray:
    text = pd.Series(eligible_from.astype(str))
    late = "ineligible: not yet in the program in this period (eligible from " + text + suffix + ")"
    return late.to_numpy(object)


# --- EN-R-002 ------------------------------------------------------------------------------------


def compute_solar(
    sites: gpd.GeoDataFrame,
    readings: pd.DataFrame,
    periods: tuple[Period, ...],
    settings: EnergySettings,
    factors: EmissionFactors,
) -> gpd.GeoDataFrame:
    """EN-R-002 reductions of every PV site for every period.

    Parameters
    ----------
    sites : GeoDataFrame
        Validated sites (:attr:`EnergyInputs.solar`): capacity_kw [kW], commissioned, joined, ...
    readings : DataFrame
        Validated readings: site_id, period, period_start, period_end, generated_kwh, sold_kwh
        [kWh].
    periods : tuple of Period
    settings : EnergySettings
    factors : EmissionFactors
        Factor per fiscal year [t-CO2/kWh].

    Returns
    -------
    GeoDataFrame
        One row per site and period (sorted by period, then site id in natural order) with the
        columns :data:`SOLAR_COLUMNS` and the site's point. generated_kwh, sold_kwh and
        self_consumed_kwh [kWh] are the period's readings (for estimated sites: the estimate over
        the eligible days, before the discount); counted_kwh [kWh] is the self-consumption
        credited (eligible days only; discounted when estimated); ef_t_per_kwh [t-CO2/kWh] the
        day-weighted factor; reduction_kgco2 [kg-CO2] and reduction_tco2 [t-CO2] the reduction
        (0 when ineligible); gross_reduction_tco2 [t-CO2] the reduction before the eligibility
        decision; annual_rate_tco2_yr [t-CO2/yr] the reduction per counted day x 365.

    Notes
    -----
    EN-R-002_EN-S-004.md, "EN-R-002" and "Common". A reading is spread evenly over its days; only
    the days from the later of commissioning and joining count, each with its fiscal year's
    factor.
    """
    s = sites.reset_index(drop=True)
    es = settings
    n = len(s) * len(periods)
    item, _, p_start, p_end = _grid(len(s), periods)
    eligible_from = np.maximum(as_days(s["commissioned"]), as_days(s["joined"]))
    e_from = eligible_from[item]
    window_lo = np.maximum(p_start, e_from)
    eligible_days = np.maximum((p_end - window_lo).astype(np.int64) + 1, 0)

    # measured: each reading's eligible days, split by fiscal year
    r = readings.reset_index(drop=True)
    rows = _reading_rows(r, s["site_id"], "site_id", periods)
    r_start, r_end = as_days(r["period_start"]), as_days(r["period_end"])
    self_kwh = r["generated_kwh"].to_numpy(float) - r["sold_kwh"].to_numpy(float)
    read_days = (r_end - r_start).astype(np.int64) + 1
    idx, fy, days = fiscal_year_pieces(np.maximum(r_start, e_from[rows]), r_end)
    piece_kwh = self_kwh[idx] * days / read_days[idx]
    n_read = np.bincount(rows, minlength=n)
    measured_kwh = _sum(rows[idx], piece_kwh, n)
    measured_t = _sum(rows[idx], piece_kwh * _factor(factors, fy), n)
    measured_days = np.bincount(rows[idx], weights=days, minlength=n).astype(np.int64)
    straddles = (r_start < e_from[rows]) & (e_from[rows] <= r_end)
    n_fy_measured = _n_fiscal_years(rows[idx], fy, days, n)

    # estimated: capacity x yield x self-consumption ratio x days/365, discounted
    has = n_read > 0
    estimate = ~has & es.estimate_missing & (eligible_days > 0)
    per_day = s["capacity_kw"].to_numpy(float)[item] * es.pv_yield_kwh_per_kw / DAYS_PER_YEAR
    keep = es.self_consumption_ratio * (1 - es.estimated_discount)
    grid_rows = np.flatnonzero(estimate)
    e_idx, e_fy, e_days = fiscal_year_pieces(window_lo[grid_rows], p_end[grid_rows])
    e_kwh = per_day[grid_rows][e_idx] * e_days * keep
    estimated_kwh = _sum(grid_rows[e_idx], e_kwh, n)
    estimated_t = _sum(grid_rows[e_idx], e_kwh * _factor(factors, e_fy), n)
    n_fy_estimated = _n_fiscal_years(grid_rows[e_idx], e_fy, e_days, n)

    generated_est = per_day * eligible_days
    generated = np.where(has, _sum(rows, r["generated_kwh"], n), np.nan)
    generated = np.where(estimate, generated_est, generated)
    sold = np.where(has, _sum(rows, r["sold_kwh"], n), np.nan)
    self_consumed = np.where(has, generated - sold, np.nan)
    self_consumed = np.where(estimate, generated_est * es.self_consumption_ratio, self_consumed)
    counted_kwh = np.where(has, measured_kwh, estimated_kwh)
    t = np.where(has, measured_t, estimated_t)
    counted_days = np.where(has, measured_days, np.where(estimate, eligible_days, 0))
    method = np.select([has, estimate], ["measured", "estimated"], "none")

    gross = _t(t)
    rate = _t(
        np.divide(gross * DAYS_PER_YEAR, counted_days, out=np.zeros(n), where=counted_days > 0)
    )
    over_cap = rate > es.activity_cap_tco2_per_yr
    late = e_from > p_end
    blocked = s["jcredit_blocked"].to_numpy(bool)[item]
    full = s["fit_status"].to_numpy(object)[item] == "full"
    rate_text = pd.Series(rate).map("{:.3f}".format).to_numpy(object)
    reason = np.select(
        [late, blocked, full, method == "none", over_cap, estimate],
        [
            _late_reason(
                e_from.astype("datetime64[D]"), ", the later of commissioning and joining"
            ),
            _blocked_reason(s["block_reason"].iloc[item].reset_index(drop=True)),
            "ineligible: FIT full purchase (全量買取): no self-consumed electricity",
            "ineligible: no readings in the period and [energy] estimate_missing = false",
            "ineligible: " + rate_text + " t-CO2/yr exceeds the per-activity limit of "
            f"{es.activity_cap_tco2_per_yr:g} t-CO2/yr of a program-type project",
            "eligible: estimated (no readings): capacity x yield x self-consumption ratio x "
            f"days/365, less {es.estimated_discount:.0%}",
        ],
        "eligible: measured self-consumption (generated - sold)",
    )
    eligible = ~(late | blocked | full | (method == "none") | over_cap)
    reduction = np.where(eligible, gross, 0.0)
    flags = _join_flags(
        {
            "estimated": estimate,
            "prorated_to_eligibility": np.bincount(rows, straddles, minlength=n) > 0,
            "partial_readings": has & (measured_days > 0) & (measured_days < eligible_days),
            "fiscal_year_split": np.maximum(n_fy_measured, n_fy_estimated) > 1,
            "over_activity_cap": over_cap,
        },
        n,
    )
    table = pd.DataFrame(
        {
            "site_id": s["site_id"].to_numpy()[item],
            "period": np.repeat([p.label for p in periods], len(s)),
            "eligible": eligible,
            "reason": reason,
            "method": method,
            "capacity_kw": s["capacity_kw"].to_numpy(float)[item],
            "fit_status": s["fit_status"].to_numpy(object)[item],
            "commissioned": s["commissioned"].to_numpy(object)[item],
            "joined": s["joined"].to_numpy(object)[item],
            "eligible_from": _as_dates(e_from),
            "eligible_days": eligible_days,
            "counted_days": counted_days,
            "generated_kwh": _kwh_out(generated),
            "sold_kwh": _kwh_out(sold),
            "self_consumed_kwh": _kwh_out(self_consumed),
            "counted_kwh": _kwh_out(counted_kwh),
            "ef_t_per_kwh": np.divide(
                t, counted_kwh, out=np.full(n, np.nan), where=counted_kwh > 0
            ),
            "reduction_kgco2": np.round(reduction * KG_PER_T, NANO_DIGITS - 3),
            "reduction_tco2": reduction,
            "gross_reduction_tco2": gross,
            "annual_rate_tco2_yr": rate,
            "flags": flags,
        },
        columns=SOLAR_COLUMNS,
    )
    return _ordered(table, s.geometry.to_numpy()[item], sites.crs, "site_id")


def _ordered(df: pd.DataFrame, geoms, crs, id_col: str) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(df, geometry=list(geoms), crs=crs)
    if not len(gdf):
        return gdf
    order = np.lexsort((natural_key_rank(gdf[id_col]), gdf["period"].to_numpy()))
    return gdf.iloc[order].reset_index(drop=True)


# --- EN-S-004 ------------------------------------------------------------------------------------


def compute_aircon(
    units: gpd.GeoDataFrame,
    readings: pd.DataFrame,
    periods: tuple[Period, ...],
    settings: EnergySettings,
    factors: EmissionFactors,
) -> gpd.GeoDataFrame:
    """EN-S-004 reductions of every air-conditioning unit for every period.

    Parameters
    ----------
    units : GeoDataFrame
        Validated units (:attr:`EnergyInputs.aircon`).
    readings : DataFrame
        Validated readings: unit_id, period, period_start, period_end, electricity_kwh,
        cooling_kwh, heating_kwh [kWh], split.
    periods, settings, factors
        As :func:`compute_solar`.

    Returns
    -------
    GeoDataFrame
        One row per unit and period with the columns :data:`AIRCON_COLUMNS` and the unit's point:
        project_kwh (measured EL_PJ over the eligible days) and baseline_kwh (EL_BL = EL_PJ x COP
        ratio) [kWh], cooling_kwh/heating_kwh [kWh] of split-metered readings, baseline_tco2
        (EM_BL), project_tco2 (EM_PJ), reduction_tco2 (ER, 0 when ineligible) and
        gross_reduction_tco2 [t-CO2], facility_annual_rate_tco2_yr [t-CO2/yr].

    Notes
    -----
    EN-S-004 in EN-R-002_EN-S-004.md. The activity whose size is capped is the facility: the
    annualised reductions of its eligible units are summed.
    """
    u = units.reset_index(drop=True)
    n = len(u) * len(periods)
    item, _, p_start, p_end = _grid(len(u), periods)
    reference = periods[0].start
    cops = [unit_cops(unit, settings, reference)[0] for _, unit in u.iterrows()]
    bc, bh, pc, ph = (
        np.array([getattr(c, name) for c in cops], dtype=float)
        for name in ("baseline_cooling", "baseline_heating", "project_cooling", "project_heating")
    )
    rc, rh = pc / bc, ph / bh
    single = np.minimum(rc, rh)
    installed, joined = as_days(u["installed"]), as_days(u["joined"])
    known = ~np.isnat(installed) | ~np.isnat(joined)
    no_limit = np.datetime64("1900-01-01")  # neither date given: every day counts
    dates = np.maximum(np.where(np.isnat(installed), no_limit, installed),
                       np.where(np.isnat(joined), no_limit, joined))  # fmt: skip
    e_from = dates[item]
    window_lo = np.maximum(p_start, e_from)
    eligible_days = np.maximum((p_end - window_lo).astype(np.int64) + 1, 0)

    r = readings.reset_index(drop=True)
    rows = _reading_rows(r, u["unit_id"], "unit_id", periods)
    r_item = item[rows] if len(rows) else rows
    split = r["split"].to_numpy(bool)
    c_kwh = r["cooling_kwh"].to_numpy(float)
    h_kwh = r["heating_kwh"].to_numpy(float)
    e_kwh = r["electricity_kwh"].to_numpy(float)
    r_start, r_end = as_days(r["period_start"]), as_days(r["period_end"])
    read_days = (r_end - r_start).astype(np.int64) + 1
    idx, fy, days = fiscal_year_pieces(np.maximum(r_start, e_from[rows]), r_end)
    share = days / read_days[idx]
    ri, sp = r_item[idx], split[idx]
    cool = np.where(sp, c_kwh[idx] * share, 0.0)
    heat = np.where(sp, h_kwh[idx] * share, 0.0)
    pj = np.where(sp, cool + heat, np.nan_to_num(e_kwh[idx]) * share)
    bl = np.where(sp, cool * rc[ri] + heat * rh[ri], pj * single[ri])
    ef = _factor(factors, fy)
    n_read = np.bincount(rows, minlength=n)
    n_split = np.bincount(rows, split, minlength=n)
    project = _sum(rows[idx], pj, n)
    t_pj = _sum(rows[idx], pj * ef, n)
    bl_t, pj_t = _t(_sum(rows[idx], bl * ef, n)), _t(t_pj)
    counted_days = np.bincount(rows[idx], weights=days, minlength=n).astype(np.int64)
    has_split = n_split > 0
    method = np.select(
        [n_read == 0, n_split == n_read, n_split == 0],
        ["none", "split", np.where(rc[item] == rh[item], "single_ratio", "conservative_ratio")],
        "mixed",
    )
    straddles = known[r_item] & (r_start < e_from[rows]) & (e_from[rows] <= r_end)
    gross = _t(bl_t - pj_t)
    facility = u["facility"].to_numpy(object)[item]
    label = np.repeat([p.label for p in periods], len(u))
    late = e_from > p_end
    blocked = u["jcredit_blocked"].to_numpy(bool)[item]
    candidate = ~late & ~blocked & (n_read > 0)
    unit_rate = np.divide(
        gross * DAYS_PER_YEAR, counted_days, out=np.zeros(n), where=counted_days > 0
    )
    facility_rate = _t(
        pd.Series(np.where(candidate, unit_rate, 0.0)).groupby([facility, label]).transform("sum")
    )
    over_cap = candidate & (facility_rate > settings.activity_cap_tco2_per_yr)
    rate_text = pd.Series(facility_rate).map("{:.3f}".format).to_numpy(object)
    reason = np.select(
        [late, blocked, n_read == 0, over_cap, method == "split", method == "single_ratio",
         method == "conservative_ratio"],
        [
            _late_reason(e_from),
            _blocked_reason(u["block_reason"].iloc[item].reset_index(drop=True)),
            "ineligible: no readings in the period",
            "ineligible: facility " + facility.astype(str) + " reduces " + rate_text
            + f" t-CO2/yr, above the per-activity limit of {settings.activity_cap_tco2_per_yr:g} "
            "t-CO2/yr of a program-type project",
            "eligible: cooling and heating metered separately, one COP ratio each",
            "eligible: measured electricity x COP ratio",
            "eligible: measured electricity x the conservative single COP ratio "
            "min(cooling, heating)",
        ],
        "eligible: split and total readings, each with its COP ratio rule",
    )  # fmt: skip
    eligible = candidate & ~over_cap
    table = pd.DataFrame(
        {
            "unit_id": u["unit_id"].to_numpy()[item],
            "facility": facility,
            "period": label,
            "eligible": eligible,
            "reason": reason,
            "method": method,
            "baseline_source": np.array([c.baseline_source for c in cops], dtype=object)[item],
            "cop_baseline_cooling": bc[item],
            "cop_baseline_heating": bh[item],
            "cop_project_cooling": pc[item],
            "cop_project_heating": ph[item],
            "cop_ratio_cooling": rc[item],
            "cop_ratio_heating": rh[item],
            "cop_ratio_single": single[item],
            "eligible_from": _as_dates(np.where(known[item], e_from, np.datetime64("NaT"))),
            "eligible_days": eligible_days,
            "counted_days": counted_days,
            "cooling_kwh": np.where(has_split, _kwh_out(_sum(rows[idx], cool, n)), np.nan),
            "heating_kwh": np.where(has_split, _kwh_out(_sum(rows[idx], heat, n)), np.nan),
            "project_kwh": _kwh_out(project),
            "baseline_kwh": _kwh_out(_sum(rows[idx], bl, n)),
            "ef_t_per_kwh": np.divide(t_pj, project, out=np.full(n, np.nan), where=project > 0),
            "baseline_tco2": bl_t,
            "project_tco2": pj_t,
            "reduction_tco2": np.where(eligible, gross, 0.0),
            "gross_reduction_tco2": gross,
            "facility_annual_rate_tco2_yr": facility_rate,
            "flags": _join_flags(
                {
                    "prorated_to_eligibility": np.bincount(rows, straddles, minlength=n) > 0,
                    "partial_readings": (n_read > 0)
                    & (counted_days > 0)
                    & (counted_days < eligible_days),
                    "fiscal_year_split": _n_fiscal_years(rows[idx], fy, days, n) > 1,
                    "over_activity_cap": over_cap,
                    "cop_not_improved": single[item] <= 1,
                },
                n,
            ),
        },
        columns=AIRCON_COLUMNS,
    )
    return _ordered(table, u.geometry.to_numpy()[item], units.crs, "unit_id")


# --- results -------------------------------------------------------------------------------------


@dataclass
class EnergyResult:
    """EN-R-002 and EN-S-004 results (``None`` for an activity the program does not have)."""

    solar: gpd.GeoDataFrame | None
    aircon: gpd.GeoDataFrame | None
    factors: EmissionFactors | None

    def summary_rows(self) -> list[dict]:
        """Summary rows per methodology and period (:func:`forestcarbon.program.summary_row`).

        ``removals_tco2`` holds the baseline emissions EM_BL and ``emissions_tco2`` the project
        emissions EM_PJ of the eligible activities, so ``total_tco2`` is the reduction ER; energy
        reductions have no buffer. The activities counted are the eligible PV sites, and the
        facilities with an eligible air-conditioning unit (upgrading a facility is one activity).
        """
        rows = []
        if self.solar is not None:
            for period, g in self.solar.groupby("period", sort=True):
                e = g[g["eligible"]]
                rows.append(
                    summary_row(EN_R_002, period, e["reduction_tco2"], [0.0], e["site_id"], 0.0)
                )
        if self.aircon is not None:
            for period, g in self.aircon.groupby("period", sort=True):
                e = g[g["eligible"]]
                rows.append(
                    summary_row(
                        EN_S_004,
                        period,
                        e["baseline_tco2"],
                        e["project_tco2"],
                        e["facility"],
                        0.0,
                    )
                )
        return rows

    def tables(self) -> dict[str, pd.DataFrame]:
        """Output file name -> table (no geometry: household points stay internal)."""
        out = {}
        if self.solar is not None:
            out["solar_sites.csv"] = pd.DataFrame(self.solar[SOLAR_COLUMNS])
        if self.aircon is not None:
            out["aircon_units.csv"] = pd.DataFrame(self.aircon[AIRCON_COLUMNS])
        return out


def compute_energy(inputs: EnergyInputs, settings: Settings) -> EnergyResult:
    """EN-R-002 and EN-S-004 results of validated inputs (pure: writes nothing)."""
    solar = aircon = None
    if inputs.solar is not None:
        log.info("EN-R-002: %d PV sites x %d period(s)", len(inputs.solar), len(settings.periods))
        solar = compute_solar(
            inputs.solar, inputs.solar_readings, settings.periods, settings.energy, inputs.factors
        )
    if inputs.aircon is not None:
        log.info("EN-S-004: %d air-conditioning units", len(inputs.aircon))
        aircon = compute_aircon(
            inputs.aircon, inputs.aircon_readings, settings.periods, settings.energy, inputs.factors
        )
    return EnergyResult(solar, aircon, inputs.factors)
