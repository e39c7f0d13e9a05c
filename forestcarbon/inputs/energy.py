"""Reading and validating the solar (EN-R-002) and air-conditioning (EN-S-004) inputs.

Inputs are point layers (any OGR format, or CSV/XLSX with lon/lat or x/y and ``[inputs]
points_crs``) and reading tables, validated with the :class:`~forestcarbon.inputs.schemas.TableSpec`
specs of :mod:`forestcarbon.inputs.energy_tables`; readings are checked against the program's
periods and each other (no day read twice); every problem of every file is reported at once. The
emission factors of the periods' fiscal years are resolved here too
(:func:`forestcarbon.methods.emission_factors.resolve_emission_factors`). Computing is
:func:`forestcarbon.methods.energy.compute_energy`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from forestcarbon.core.config import CONFIG_FILE, Period, Settings, load_settings, program_file
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.crs import parse_crs
from forestcarbon.inputs.energy_tables import (
    AIRCON_READINGS,
    AIRCON_UNITS,
    SOLAR_READINGS,
    SOLAR_SITES,
)
from forestcarbon.inputs.readers import TABLE_SUFFIXES, read_layer, read_table
from forestcarbon.inputs.schemas import TableSpec, validate
from forestcarbon.methods.emission_factors import EmissionFactors, resolve_emission_factors
from forestcarbon.methods.en_s004 import unit_cops
from forestcarbon.methods.fiscal import as_days, fiscal_years

MAX_LISTED = 20
"""Most problems of one kind listed per file (the rest would repeat the same fix)."""
LONLAT_CRS = "EPSG:4326"
"""CRS of lon/lat columns (JGD2011 and WGS 84 agree within about a metre in Japan)."""

SITE_SUFFIXES = (".gpkg", ".geojson", ".json", ".fgb", ".shp", ".parquet", ".csv", ".xlsx")
READING_SUFFIXES = (".csv", ".xlsx")


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
    working = parse_crs(settings.program.crs, f"{CONFIG_FILE} [program] crs")
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
    for key in ("solar", "solar_readings", "aircon", "aircon_readings"):
        try:
            if getattr(inp, key):
                program_file(program_dir, getattr(inp, key), settings, f"[inputs] {key}")
        except InputError as e:
            problems += e.problems
    if problems:
        return out, problems
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
