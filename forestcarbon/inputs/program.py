"""A program folder -> validated inputs (settings, stands, operations, yield table).

Every file is read and checked, all problems of all files are gathered, and one
:class:`~forestcarbon.core.exceptions.InputError` lists them before anything is computed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from forestcarbon.core.config import (
    CONFIG_FILE,
    InputSettings,
    Settings,
    load_settings,
    program_file,
)
from forestcarbon.core.exceptions import CRSError, InputError, Problem
from forestcarbon.inputs.crs import coordinate_problems, parse_crs, require_metres
from forestcarbon.inputs.energy import EnergyInputs, read_energy_inputs
from forestcarbon.inputs.geometry import (
    area_of_use_problems,
    far_problems,
    finite_problems,
    overlap_problems,
)
from forestcarbon.inputs.growth import packaged_growth_path, read_growth
from forestcarbon.inputs.readers import (
    LAYER_SUFFIXES,
    TABLE_SUFFIXES,
    locate_input,
    read_layer,
    read_table,
)
from forestcarbon.inputs.records import (
    load_operations,
    record_store,
    relabel_problems,
    uses_database,
)
from forestcarbon.inputs.reviews import read_reviews, review_store
from forestcarbon.inputs.schemas import (
    OPERATIONS_SPEC,
    PLANS_SPEC,
    STAND_KEY_COLUMNS,
    STANDS,
    TableSpec,
    distinct,
    empty_operations,
    header_of,
    normalize_header,
    parse_distinct,
    validate,
)
from forestcarbon.inputs.treated import (
    is_record_store_file,
    outside_stand_problems,
    read_operations_layer,
)
from forestcarbon.methods.growth import YieldTable, build_yield_table, missing_curves

log = logging.getLogger("forestcarbon")

MIN_STAND_AREA_HA = 0.0001
"""Smallest stand polygon [ha] (1 m2): a smaller one is a digitising slip, not a stand."""

MAX_STAND_AREA_HA = 1000.0
"""Largest plausible stand (小班) [ha]: a larger map or register area is an error (wrong units,
a scaled layer or a wrong CRS), never credited."""

MAX_RECORD_YEARS_AHEAD = 5
"""A record may be dated at most this many calendar years after the run's year (scheduled work);
a later date (9999-12-31) is an error."""

AREA_TOLERANCE = 1.05
"""An operation may report up to 5% more area than the larger of the register and map areas."""


@dataclass
class ProgramInputs:
    """Validated inputs of one program folder.

    Attributes
    ----------
    stands : GeoDataFrame
        One row per stand in the working CRS: stand_id, species, planted_year, site_class,
        forest_type, protected, plan_id, area_ha (register, may be NaN), geometry_area_ha,
        stand_area_ha (the area used, per ``[fo001] area_source``), name, geometry.
    operations : DataFrame
        stand_id, date, operation, area_ha, volume_m3, source_row.
    yields : YieldTable
    files : dict
        Input role -> path of every file read (for provenance).
    energy : EnergyInputs
        Household solar and air-conditioning inputs (empty when the program has none).
    plans : DataFrame or None
        plan_id, start, end (dates, inclusive), approver, reference of every forest management
        plan; None without a plans table (validity unknown: stands flagged plan_dates_unknown).
    reviews : DataFrame or None
        Officers' reviews of stands held by canopy evidence (:mod:`forestcarbon.inputs.reviews`).
    """

    program_dir: Path
    settings: Settings
    stands: gpd.GeoDataFrame
    operations: pd.DataFrame
    yields: YieldTable
    files: dict[str, Path] = field(default_factory=dict)
    energy: EnergyInputs = field(default_factory=EnergyInputs)
    plans: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None


def _path(program_dir: Path, name: str, settings: Settings, key: str) -> Path:
    return program_file(program_dir, name, settings, key)


def _geometry_problems(gdf: gpd.GeoDataFrame, ids: pd.Series, file: str) -> list[Problem]:
    problems = []
    geoms = gdf.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    # vectorised over every polygon; the loop below visits only the bad ones (a national layer
    # has millions of good polygons)
    bad = ~np.isin(kinds, (3, 6)) | shapely.is_empty(geoms) | ~shapely.is_valid(geoms)
    for i in np.flatnonzero(bad):
        geom = geoms[i]
        where = f"feature {i + 1} ({ids.iloc[i]})" if ids.iloc[i] else f"feature {i + 1}"
        if geom is None or shapely.is_empty(geom):
            problems.append(Problem(file, where, "geometry", "missing or empty geometry"))
        elif kinds[i] not in (3, 6):
            problems.append(
                Problem(
                    file,
                    where,
                    "geometry",
                    f"expected a Polygon or MultiPolygon, got {geom.geom_type}",
                )
            )
        elif not shapely.is_valid(geom):
            problems.append(
                Problem(
                    file,
                    where,
                    "geometry",
                    f"invalid geometry ({shapely.is_valid_reason(geom)}); fix it "
                    "in QGIS with Vector > Geometry Tools > Fix Geometries",
                )
            )
    return problems


def _to_working_crs(gdf: gpd.GeoDataFrame, crs: str, file: str) -> gpd.GeoDataFrame:
    if gdf.crs.equals(crs):
        return gdf
    log.info("%s: reprojecting from %s to %s", file, gdf.crs.to_string(), crs)
    return gdf.to_crs(crs)


def _join_register(
    polygons: gpd.GeoDataFrame, register: pd.DataFrame, poly_file: str, reg_file: str
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Attach register rows to plan polygons on stand_id.

    A 小班 polygon ("12-3") may carry several register rows (枝番 "12-3-1", "12-3-2"); each row then
    gets the polygon and a share of its area proportional to the register area.
    """
    problems = []
    poly = polygons[["stand_id", "geometry"]].copy()
    poly["polygon_area_ha"] = poly.geometry.area / 10_000
    exact = register["stand_id"].isin(poly["stand_id"])
    prefix = register["stand_id"].str.rsplit("-", n=1).str[0]
    via_prefix = ~exact & prefix.isin(poly["stand_id"])
    register = register.assign(polygon_id=np.where(exact, register["stand_id"], prefix))
    for i in np.flatnonzero(~exact & ~via_prefix):
        problems.append(
            Problem(
                reg_file,
                f"row {register['source_row'].iloc[i]}",
                "stand_id",
                f"register row {register['stand_id'].iloc[i]!r} has no polygon in {poly_file}",
            )
        )
    used = set(register["polygon_id"])
    for sid in poly.loc[~poly["stand_id"].isin(used), "stand_id"]:
        problems.append(
            Problem(
                poly_file, sid, "stand_id", f"polygon {sid!r} has no register row in {reg_file}"
            )
        )
    merged = register.merge(
        poly.rename(columns={"stand_id": "polygon_id"}), on="polygon_id", how="inner"
    )
    shared = merged.groupby("polygon_id")["stand_id"].transform("size") > 1
    if shared.any():
        reg_area = merged["area_ha"] if "area_ha" in merged else pd.Series(np.nan, merged.index)
        lacking = shared & reg_area.isna()
        for sid in merged.loc[lacking, "stand_id"]:
            problems.append(
                Problem(
                    reg_file,
                    sid,
                    "area_ha",
                    "needed to share a 小班 polygon between several 枝番 rows, but missing",
                )
            )
        total = reg_area.groupby(merged["polygon_id"]).transform("sum")
        share = np.where(shared, reg_area / total, 1.0)
    else:
        share = np.ones(len(merged))
    merged["geometry_area_ha"] = merged["polygon_area_ha"] * share
    gdf = gpd.GeoDataFrame(
        merged.drop(columns=["polygon_area_ha"]), geometry="geometry", crs=polygons.crs
    )
    return gdf, problems


def _placed(gdf: gpd.GeoDataFrame, ids: pd.Series, settings: Settings, file: str):
    """Polygons in the working CRS, and the problems of where they are (coordinates outside the
    CRS's area of use, non-finite, far from the rest) and how they overlap."""
    crs = settings.program.crs
    problems = finite_problems(gdf, ids, file) + area_of_use_problems(gdf, crs, ids, file)
    if problems:
        return gdf, problems
    placed = _to_working_crs(gdf, crs, file)
    if placed is not gdf:  # reprojected: coordinates may have become non-finite
        problems = finite_problems(placed, ids, file)
    problems = problems or far_problems(placed, ids, file)
    if problems:
        return placed, problems
    return placed, overlap_problems(placed, ids, file, settings.fo001.overlap_tolerance_ha)


def _read_stands(program_dir: Path, settings: Settings) -> tuple[gpd.GeoDataFrame, list, dict]:
    inputs = settings.inputs
    _path(program_dir, inputs.stands, settings, "[inputs] stands")  # confined to the folder
    file = locate_input(program_dir, inputs.stands, InputSettings.stands, LAYER_SUFFIXES, "stands")
    files = {"stands": file}
    crs_file = f"{CONFIG_FILE} [program] crs"
    working = parse_crs(settings.program.crs, crs_file)
    require_metres(working, crs_file)
    shared = record_store(program_dir, settings).read_stands() if uses_database(settings) else None
    if shared is not None:  # the register kept in the PostgreSQL store (records.py)
        inputs = dataclasses.replace(inputs, register="")
        layer, file = shared, record_store(program_dir, settings).label
        files = {}  # a database is not a file: provenance records the settings, not a hash
    else:
        layer = read_layer(file, layer=inputs.stands_layer or None)
    attrs = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    problems: list[Problem] = []
    if inputs.register:
        reg_path = _path(program_dir, inputs.register, settings, "[inputs] register")
        files["register"] = reg_path
        keys_only = TableSpec("polygons", STAND_KEY_COLUMNS, unique=("stand_id",))
        poly_attrs, p1 = validate(attrs, keys_only, str(file))
        register, p2 = validate(read_table(reg_path), STANDS, str(reg_path))
        problems += p1 + p2
        polygons = gpd.GeoDataFrame(poly_attrs, geometry=layer.geometry.to_numpy(), crs=layer.crs)
        problems += _geometry_problems(polygons, poly_attrs["stand_id"], str(file))
        if not problems:
            problems += coordinate_problems(polygons, working, str(file), poly_attrs["stand_id"])
        if problems:
            return None, problems, files
        polygons, problems = _placed(polygons, poly_attrs["stand_id"], settings, str(file))
        if problems:
            return None, problems, files
        stands, p3 = _join_register(polygons, register, str(file), str(reg_path))
        problems += p3
    else:
        table, problems = validate(attrs, STANDS, str(file))
        ids = table.get("stand_id", pd.Series([""] * len(layer)))
        problems += _geometry_problems(layer, ids, str(file))
        if not problems:
            problems += coordinate_problems(layer, working, str(file), ids)
        if problems:
            return None, problems, files
        stands = gpd.GeoDataFrame(table, geometry=layer.geometry.to_numpy(), crs=layer.crs)
        stands, problems = _placed(stands, table["stand_id"], settings, str(file))
        if problems:
            return None, problems, files
        stands["geometry_area_ha"] = stands.geometry.area / 10_000
    return stands, problems, files


def _complete_stands(stands: gpd.GeoDataFrame, settings: Settings, file: str):
    """Derive planted_year, defaults and the area used; report what cannot be derived."""
    problems = []
    if "plan_id" not in stands.columns:
        problems.append(
            Problem(
                file,
                "",
                "plan_id",
                "required column is missing (森林経営計画 id; "
                "leave a cell empty for a stand outside any plan)",
            )
        )
    stands = stands.copy()
    for col, default in (
        ("plan_id", None),
        ("protected", False),
        ("name", None),
        ("area_ha", np.nan),
    ):
        if col not in stands.columns:
            stands[col] = default
    stands["plan_id"] = stands["plan_id"].fillna("").astype(str)
    stands["name"] = stands["name"].fillna("").astype(str)
    stands["protected"] = stands["protected"].fillna(False).astype(bool)
    stands["area_ha"] = pd.to_numeric(stands["area_ha"], errors="coerce")
    planted = stands.get("planted_year", pd.Series(np.nan, index=stands.index)).astype(float)
    if {"age", "age_year"} <= set(stands.columns):
        from_age = stands["age_year"].astype(float) - stands["age"].astype(float) + 1
        planted = planted.fillna(from_age)
    for sid in stands.loc[planted.isna(), "stand_id"]:
        problems.append(
            Problem(
                file,
                sid,
                "植栽年度 (planted_year)",
                "missing: give 植栽年度 (planted_year), or 林齢 (age) with 林齢基準年度 "
                "(age_year, also 基準年度, 調査年度)",
            )
        )
    stands["planted_year"] = planted.fillna(0).astype(np.int64)
    problems += _area_disagreements(stands, settings, file)
    if settings.fo001.area_source == "register":
        for sid in stands.loc[stands["area_ha"].isna(), "stand_id"]:
            problems.append(
                Problem(
                    file,
                    sid,
                    "area_ha",
                    "missing, but [fo001] area_source = "
                    "'register' needs the register area of every stand",
                )
            )
        stands["stand_area_ha"] = stands["area_ha"]
    else:
        stands["stand_area_ha"] = stands["geometry_area_ha"]
    for col in ("geometry_area_ha", "area_ha"):
        area = stands[col].to_numpy(dtype=float)
        small = (
            (area < MIN_STAND_AREA_HA) if col == "geometry_area_ha" else np.zeros(len(area), bool)
        )
        for i in np.flatnonzero(small)[:20]:
            problems.append(
                Problem(
                    file,
                    stands["stand_id"].iloc[i],
                    "geometry",
                    f"map area {area[i] * 10_000:.3g} m2 is smaller than the smallest plausible "
                    f"stand ({MIN_STAND_AREA_HA * 10_000:g} m2): a digitising slip?",
                )
            )
        for i in np.flatnonzero(~(area <= MAX_STAND_AREA_HA) & ~np.isnan(area))[:20]:
            what = "map (geometry)" if col == "geometry_area_ha" else "register"
            problems.append(
                Problem(
                    file,
                    stands["stand_id"].iloc[i],
                    "geometry" if col == "geometry_area_ha" else "area_ha",
                    f"{what} area {area[i]:.6g} ha is larger than the largest plausible stand "
                    f"({MAX_STAND_AREA_HA:g} ha): wrong units, a scaled layer or a wrong CRS?",
                )
            )
    columns = [
        "stand_id",
        "species",
        "planted_year",
        "site_class",
        "forest_type",
        "protected",
        "plan_id",
        "area_ha",
        "geometry_area_ha",
        "stand_area_ha",
        "name",
        "geometry",
    ]
    return stands[columns].reset_index(drop=True), problems


def _area_disagreements(stands: pd.DataFrame, settings: Settings, file: str) -> list[Problem]:
    """Register area and polygon area differing by more than ``[fo001] area_disagreement`` of
    the smaller (one of them is wrong, and the credits follow the one used)."""
    limit = settings.fo001.area_disagreement
    reg = stands["area_ha"].to_numpy(dtype=float)
    geo = stands["geometry_area_ha"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(reg - geo) / np.minimum(reg, geo)
    bad = np.isfinite(reg) & (np.nan_to_num(gap, nan=np.inf) > limit)
    used = "polygon" if settings.fo001.area_source == "geometry" else "register"
    return [
        Problem(
            file,
            stands["stand_id"].iloc[i],
            "area_ha",
            f"register area {reg[i]:.4f} ha and polygon area {geo[i]:.4f} ha differ by "
            f"{gap[i]:.0%} (more than [fo001] area_disagreement = {limit:.0%}); the {used} "
            "area would be used ([fo001] area_source): correct the wrong one",
        )
        for i in np.flatnonzero(bad)
    ]


def _read_operations(program_dir: Path, settings: Settings):
    if not settings.inputs.operations:
        return empty_operations(), [], None
    if uses_database(settings):  # [store] url: the PostgreSQL record store (records.py)
        ops, problems = load_operations(record_store(program_dir, settings))
        file = None  # not a file: provenance cannot hash it
    else:
        _path(program_dir, settings.inputs.operations, settings, "[inputs] operations")
        file = locate_input(
            program_dir,
            settings.inputs.operations,
            InputSettings.operations,
            (*TABLE_SUFFIXES, ".gpkg"),
            "operations",
        )
        if file.suffix.lower() == ".gpkg" and (
            not file.is_file() or is_record_store_file(file)
        ):  # the record store of `forestcarbon ops` (records.py)
            ops, problems = load_operations(file)
        elif file.suffix.lower() == ".gpkg":  # a layer of operations with treated polygons
            ops, problems = _read_operations_layer(file, settings)
        else:
            ops, problems = validate(read_table(file), OPERATIONS_SPEC, str(file), allow_empty=True)
    for col in ("area_ha", "volume_m3"):
        if col not in ops.columns:
            ops[col] = np.nan
        ops[col] = pd.to_numeric(ops[col], errors="coerce")
    if not problems and len(ops):
        problems += _duplicate_operations(ops, str(file))
    return ops, problems, file


def _read_operations_layer(file: Path, settings: Settings) -> tuple[pd.DataFrame, list[Problem]]:
    """Operations from a GeoPackage layer (:func:`read_operations_layer`): attributes checked as
    an operations table, the feature polygons as treated areas; rows are the features' fids."""
    attrs, geoms, fids, geometry_problems = read_operations_layer(file, settings.program.crs)
    if attrs.empty and geometry_problems:  # the layer itself could not be read
        return empty_operations(), geometry_problems
    wkt = [c for c in attrs.columns if normalize_header(c) in ("geometry", "wkt", "施業区域")]
    if wkt and any(g is not None for g in geoms):
        return empty_operations(), [
            Problem(
                str(file),
                "",
                wkt[0],
                "the layer has feature polygons and a WKT column: keep one treated area",
            )
        ]
    ops, problems = validate(attrs, OPERATIONS_SPEC, str(file), allow_empty=True)
    labels = {i + 2: (str(file), f"row {fid}") for i, fid in enumerate(fids)}
    problems = relabel_problems(problems, labels)
    if "stand_id" in ops.columns:  # "row 3" -> "row 3 (12-3-1)"
        ids = dict(zip(fids, ops["stand_id"].fillna(""), strict=True))
        geometry_problems = relabel_problems(
            geometry_problems, {f: (str(file), f"row {f}") for f in fids}, ids
        )
    problems = geometry_problems + problems
    ops["source_row"] = fids
    if not wkt:
        ops["geometry"] = geoms
        ops.attrs.setdefault("headers", {})["geometry"] = "geometry"
    return ops, problems


DUPLICATE_OPERATION_KEY = ["stand_id", "date", "operation", "area_ha", "volume_m3"]
"""Two operations equal in these columns are one record entered twice (the note does not count)."""


def _duplicate_operations(ops: pd.DataFrame, file: str) -> list[Problem]:
    """Exact duplicate operation rows (they would count a treated area or a harvest twice)."""
    # one code per distinct value (as the text of each value: -0.0 apart from 0.0)
    key = pd.DataFrame({c: distinct(ops[c])[0] for c in DUPLICATE_OPERATION_KEY}, ops.index)
    repeated = key.duplicated(keep=False)
    problems = []
    for _, group in ops[repeated].groupby(key[repeated].apply(tuple, axis=1), sort=False):
        rows = ", ".join(str(r) for r in group["source_row"])
        first = group.iloc[0]
        problems.append(
            Problem(
                file,
                f"rows {rows} ({first['stand_id']})",
                "operation",
                f"the same {first['operation']} on {first['date']} recorded "
                f"{len(group)} times (an exact duplicate row): keep one",
            )
        )
    return problems


PLAN_FILES = ("plans.csv", "plans.xlsx")
"""Plans tables found without ``[inputs] plans``."""


def _read_plans(program_dir: Path, settings: Settings):
    """(plans table or None, problems, path or None): plan_id, start, end [dates]."""
    name = settings.inputs.plans
    if name:
        file = _path(program_dir, name, settings, "[inputs] plans")
    else:
        file = next((program_dir / n for n in PLAN_FILES if (program_dir / n).exists()), None)
        if file is None:
            return None, [], None
    plans, problems = validate(read_table(file), PLANS_SPEC, str(file))
    if problems:
        return None, problems, file
    for r in plans.itertuples():
        if r.end < r.start:
            problems.append(
                Problem(
                    str(file),
                    f"row {r.source_row} ({r.plan_id})",
                    "end",
                    f"the plan ends ({r.end}) before it starts ({r.start})",
                )
            )
    return plans, problems, file


def cross_check_operations(ops: pd.DataFrame, stands: pd.DataFrame, file: str) -> list[Problem]:
    problems = []
    indexed = stands.set_index("stand_id")
    area = np.fmax(indexed["area_ha"], indexed["geometry_area_ha"])  # register or map, the larger
    id_col, area_col = header_of(ops, "stand_id"), header_of(ops, "area_ha")
    row_of = area.index.get_indexer(ops["stand_id"])  # stand ids are unique here; -1: unknown
    known = row_of >= 0
    for i in np.flatnonzero(~known):
        row = ops.iloc[i]
        problems.append(
            Problem(
                file,
                f"row {row['source_row']}",
                id_col,
                f"operation for unknown stand {row['stand_id']!r} (not in the stands layer)",
            )
        )
    known_ops = ops[known]
    limit = area.to_numpy()[row_of[known]] * AREA_TOLERANCE
    too_big = known_ops["area_ha"].to_numpy() > limit
    for i in np.flatnonzero(too_big):
        row = known_ops.iloc[i]
        problems.append(
            Problem(
                file,
                f"row {row['source_row']} ({row['stand_id']})",
                area_col,
                f"treated area {row['area_ha']} ha is larger than the stand "
                f"({limit[i] / AREA_TOLERANCE:.2f} ha)",
            )
        )
    early = parse_distinct(known_ops["date"], lambda d: d.year < 1900)  # each distinct date once
    for i in np.flatnonzero(early.to_numpy()):
        row = known_ops.iloc[i]
        problems.append(
            Problem(
                file,
                f"row {row['source_row']}",
                header_of(ops, "date"),
                f"implausible date {row['date']}",
            )
        )
    latest = dt.date.today().replace(month=1, day=1)
    latest = latest.replace(year=latest.year + MAX_RECORD_YEARS_AHEAD)
    for i in np.flatnonzero(parse_distinct(known_ops["date"], lambda d: d >= latest).to_numpy()):
        row = known_ops.iloc[i]
        problems.append(
            Problem(
                file,
                f"row {row['source_row']}",
                "date",
                f"implausible date {row['date']}: more than {MAX_RECORD_YEARS_AHEAD} years ahead "
                f"of the run date (records are of work done or scheduled)",
            )
        )
    return problems


def future_period_problems(settings: Settings, today: dt.date | None = None) -> list[Problem]:
    """Monitoring periods ending after ``today`` (the run date): nothing is credited ahead of
    time; forecasts belong to ``forestcarbon plan forecast``."""
    today = today or dt.date.today()
    return [
        Problem(
            CONFIG_FILE,
            f"period {p.label}",
            "[[periods]]",
            f"ends after the run date {today}: a monitoring period can be credited only once it "
            "is over (use `forestcarbon plan forecast` for future years)",
        )
        for p in settings.periods
        if p.end > today
    ]


def load_program(program_dir: str | Path, *, settings: Settings | None = None) -> ProgramInputs:
    """Read and validate everything FO-001 needs from a program folder.

    Parameters
    ----------
    settings : Settings, optional
        Use these instead of reading ``program.toml`` (e.g. with ``[inputs] operations = ""``
        to read a program without its operations).

    Raises
    ------
    InputError
        Listing every problem of every file (file, row or id, column, expectation).
    """
    program_dir = Path(program_dir)
    settings = settings or load_settings(program_dir)
    problems: list[Problem] = []
    files: dict[str, Path] = {"settings": program_dir / CONFIG_FILE}
    stands = None
    try:
        stands, stand_problems, stand_files = _read_stands(program_dir, settings)
        problems += stand_problems
        files.update(stand_files)
    except CRSError:
        raise
    except InputError as e:
        problems += e.problems
    ops = None
    try:
        ops, op_problems, ops_file = _read_operations(program_dir, settings)
        problems += op_problems
        if ops_file:
            files["operations"] = ops_file
    except InputError as e:
        problems += e.problems
    growth_path = (
        _path(program_dir, settings.fo001.growth, settings, "[fo001] growth")
        if settings.fo001.growth
        else Path(str(packaged_growth_path()))
    )
    files["growth"] = growth_path
    yields = None
    try:
        yields = build_yield_table(read_growth(growth_path))
    except InputError as e:
        problems += e.problems
    if stands is not None and not problems:
        stands_file = str(files.get("stands", "stands layer of the record store"))
        stands, p = _complete_stands(stands, settings, stands_file)
        problems += p
        problems += missing_curves(
            yields,
            stands["species"],
            stands["site_class"],
            stands["stand_id"],
            stands_file,
            growth_file=str(growth_path),
        )
        if ops is not None and not p:
            problems += cross_check_operations(ops, stands, str(files.get("operations", "")))
            problems += outside_stand_problems(ops, stands, str(files.get("operations", "")))
    plans = None
    try:
        plans, plan_problems, plans_file = _read_plans(program_dir, settings)
        problems += plan_problems
        if plans_file:
            files["plans"] = plans_file
    except InputError as e:
        problems += e.problems
    reviews = None
    try:
        reviews = read_reviews(review_store(program_dir, settings))
    except InputError as e:
        problems += e.problems
    energy, energy_problems = read_energy_inputs(program_dir, settings)
    problems += energy_problems
    files.update(energy.files)
    if problems:
        raise InputError(problems)
    ops = ops.sort_values(["stand_id", "date", "source_row"], kind="stable").reset_index(drop=True)
    return ProgramInputs(program_dir, settings, stands, ops, yields, files, energy, plans, reviews)
