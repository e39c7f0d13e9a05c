"""program.toml -> frozen settings.

Every key except ``[program] name`` and ``[[periods]]`` is optional; the defaults below are the
documented ones (see README "Settings"). Unknown keys and invalid values are errors that list the
valid choices, never silent guesses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forestcarbon.core.exceptions import ConfigError, Problem
from forestcarbon.core.files import read_input

CONFIG_FILE = "program.toml"


def _setting(
    default: Any,
    doc: str,
    *,
    choices: tuple | None = None,
    bounds: tuple | None = None,
    verified: bool | tuple = True,
    types: tuple[type, ...] | None = None,
):
    """A documented setting: default, description, allowed choices or numeric bounds (inclusive).

    ``verified``: True when the rule is confirmed against the official methodology text, False
    when it is not, or the tuple of choices that are not (the others being the standard rule).
    ``types``: the accepted value types (default: the default's type; none checked for a None
    default, whose setting is checked where it is used).
    """
    metadata = {"doc": doc, "choices": choices, "bounds": bounds, "verified": verified}
    metadata["types"] = types or ((type(default),) if default is not None else None)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Period:
    """A monitoring period; both dates inclusive."""

    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        """``YYYY-MM-DD/YYYY-MM-DD`` (ISO 8601 interval), used as the ``period`` column."""
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    @property
    def days(self) -> int:
        """Length [days], both ends inclusive."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class ProgramSettings:
    name: str = _setting("", "Program name shown in reports and maps.")
    crs: str = _setting("EPSG:6673", "Working metric CRS for areas (Okayama: JGD2011 zone V).")


@dataclass(frozen=True)
class InputSettings:
    stands: str = _setting(
        "stands.gpkg",
        "Stand polygons (any OGR format); when the default stands.gpkg is absent, the one "
        "stands.shp/.geojson/.json/.fgb/.parquet/.gml/.kml present is used, or a folder stands/ "
        "of GeoParquet parts (forestcarbon convert).",
    )
    stands_layer: str = _setting(
        "", "Layer name in the stands file; empty: 'stands' or the only one."
    )
    register: str = _setting("", "Optional register table (森林簿 CSV/XLSX) joined on stand_id.")
    operations: str = _setting(
        "operations.csv",
        "Silvicultural records (CSV/XLSX, a GeoPackage layer 'operations' whose polygons are "
        "the treated areas, or the record store of forestcarbon ops); when the default "
        "operations.csv is absent, the one operations.xlsx/.xlsm/.txt/.gpkg/.parquet present "
        "is used, or a folder operations/ of Parquet parts.",
    )
    solar: str = _setting(
        "",
        "Household PV sites (points: any OGR format, or CSV/XLSX with lon/lat or x/y); empty: "
        "solar.gpkg/.geojson/.shp/.csv/.xlsx if one exists, else the program has no solar sites.",
    )
    solar_readings: str = _setting(
        "",
        "PV readings per site and period (CSV/XLSX); empty: solar_readings.csv/.xlsx if it "
        "exists, else readings are columns of the sites table.",
    )
    aircon: str = _setting(
        "",
        "Air-conditioning units (points, as solar); empty: aircon.gpkg/.csv/... if one exists.",
    )
    aircon_readings: str = _setting(
        "",
        "Air-conditioning readings per unit and period; empty: aircon_readings.csv/.xlsx if it "
        "exists, else readings are columns of the units table.",
    )
    points_crs: str = _setting(
        "",
        "CRS of x/y columns (x = easting, y = northing [m]) in CSV/XLSX point tables, e.g. "
        "EPSG:6673; lon/lat columns are always EPSG:4326.",
    )
    plans: str = _setting(
        "",
        "Forest management plans (森林経営計画) with their validity: plan_id, start, end "
        "(CSV/XLSX; 計画番号, 始期, 終期, 認定者). Empty: plans.csv/.xlsx if it exists, else "
        "every stand is flagged plan_dates_unknown.",
    )
    allow_outside_paths: bool = _setting(
        False,
        "false: every input path in program.toml must lie inside the program folder (an absolute "
        "path or '..' leading out of it is an error); true: paths may point anywhere.",
    )


@dataclass(frozen=True)
class FO001Settings:
    bef_convention: str = _setting(
        "increment",
        "increment: annual volume increment x BEF of the age reached at the end of the year; "
        "stock_difference: difference of stocks each with its own BEF (docs/FO-001.md §1).",
        choices=("increment", "stock_difference"),
        verified=False,
    )
    eligible_area: str = _setting(
        "treated",
        "treated: planted stands count min(stand area, treated area of qualifying operations since "
        "the cut-off); stand: the whole stand area (docs/FO-001.md §3).",
        choices=("treated", "stand"),
        verified=False,
    )
    thinning_accounting: str = _setting(
        "embedded",
        "embedded: thinning is part of the yield table, no separate emission; explicit: thinned "
        "volume_m3 is booked as an emission.",
        choices=("embedded", "explicit"),
        verified=False,
    )
    area_source: str = _setting(
        "geometry",
        "geometry: polygon area in the working CRS; register: the area_ha column.",
        choices=("geometry", "register"),
    )
    carbon_fraction: str = _setting(
        "inventory",
        "inventory: 0.51 conifers / 0.48 broadleaves; simple: 0.5 for every species.",
        choices=("inventory", "simple"),
        verified=False,
    )
    buffer_rate: float = _setting(
        0.0,
        "Share of credits held back as a buffer (0-1); third-party sheets use 0.03-0.10.",
        bounds=(0.0, 1.0),
        verified=False,
    )
    growth: str = _setting(
        "",
        "Yield table file in the program folder; empty: the packaged synthetic table, which "
        "covers every species code 01-11 (species without a synthetic curve use the slowest "
        "curve of their group, flagged species_substituted; unverified).",
    )
    operations_since: dt.date = _setting(
        dt.date(1990, 4, 1), "Qualifying silvicultural work must be on or after this date (FY1990)."
    )
    natural_forest: str = _setting(
        "protected",
        "protected: natural forest counts only under legal protection (保安林 etc.); all: every "
        "natural stand in a plan counts (2022 revision).",
        choices=("protected", "all"),
    )
    treated_area_sum: str = _setting(
        "max",
        "How repeated qualifying operations of one stand add up when they have no treated-area "
        "polygons. max: the largest single operation counts (they may be on the same ground; "
        "conservative); sum: their areas add up, which needs the officer's statement that the "
        "treated areas are disjoint. Never more than the stand area (FO-001.md §3).",
        choices=("max", "sum"),
        verified=False,
    )
    hold_canopy_flagged: bool = _setting(
        True,
        "true: a stand flagged canopy_below_expected (possibly felled without a record) is held: "
        "its removals are reported as held_tco2 and not credited until the officer records the "
        "final harvest or a review (forestcarbon review); false: NOT conservative, such stands are "
        "credited as if the register were right.",
        verified=False,
    )
    overlap_tolerance_ha: float = _setting(
        0.01,
        "Stands overlapping each other by more than this area [ha] are an input error (the "
        "overlap would be credited twice). A design tolerance for digitising slivers.",
        bounds=(0.0, 100.0),
        verified=False,
    )
    area_disagreement: float = _setting(
        0.2,
        "Register area (area_ha) and polygon area that differ by more than this share of the "
        "smaller [0-10] are an input error; the summary says which area was used (area_source). "
        "A design tolerance.",
        bounds=(0.0, 10.0),
        verified=False,
    )


@dataclass(frozen=True)
class EnergySettings:
    emission_factor: Any = _setting(
        0.000434,
        "Electricity emission factor: a number [t-CO2/kWh] or a kind of the packaged table.",
        verified=False,
        types=(float, str),
    )
    pv_yield_kwh_per_kw: float = _setting(
        1177.0,
        "Annual PV yield for sites without readings [kWh/kW/yr] (Okayama FY2012 survey).",
        bounds=(0.0, 3000.0),
    )
    self_consumption_ratio: float = _setting(
        0.30, "Self-consumed share of generation for estimated sites [0-1].", bounds=(0.0, 1.0)
    )
    estimate_missing: bool = _setting(
        True,
        "Estimate PV sites without readings in a period (capacity x yield x self-consumption "
        "ratio x days/365); false: such sites are excluded for that period.",
    )
    estimated_discount: float = _setting(
        0.10,
        "Conservative discount on estimated self-consumption [0-1] (a design choice, not a rule).",
        bounds=(0.0, 1.0),
        verified=False,
    )
    activity_cap_tco2_per_yr: float = _setting(
        500.0,
        "Largest reduction of one activity in a program-type project [t-CO2/yr]; a PV site or an "
        "air-conditioned facility above it is excluded.",
        bounds=(0.0, 1e6),
    )
    standard_cop_cooling: float = _setting(
        0.0,
        "Cooling COP of the standard unit, the baseline when the old unit is unknown or older "
        "than twice its statutory life; 0: not set (such units are an input error).",
        bounds=(0.0, 10.0),
        verified=False,
    )
    standard_cop_heating: float = _setting(
        0.0,
        "Heating COP of the standard unit (as standard_cop_cooling).",
        bounds=(0.0, 10.0),
        verified=False,
    )
    aircon_statutory_life_years: int = _setting(
        13,
        "Statutory useful life of an air conditioner [years] (法定耐用年数: 13, or 15 for large "
        "plants); an old unit older than twice this gets the standard-unit baseline.",
        bounds=(1, 100),
        verified=False,
    )


@dataclass(frozen=True)
class PlanSettings:
    """Stand plan updates (``forestcarbon plan``; rules in ``forestcarbon.officer.candidates``)."""

    thinning_rules: str = _setting(
        "",
        "Per-species thinning rules in the program folder (CSV: species, min_age, max_age, "
        "min_years_between [years]); empty: the packaged forestcarbon/data/thinning_rules.csv "
        "(design defaults, not from an official guideline). A stand is a thinning candidate in a "
        "fiscal year when it is planted forest in a plan, its species has a rule, its age is in "
        "[min_age, max_age], its last thinning is at least min_years_between years back, and no "
        "final harvest is recorded from that year on.",
    )
    crediting_start_fy: int = _setting(
        0,
        "First fiscal year of the crediting period; 0: the fiscal year of the first monitoring "
        "period's start.",
        bounds=(0, 2200),
    )
    crediting_years: int = _setting(
        16,
        "Length of the crediting period [years] (FO-001 allows up to 16 since the 2022 revision).",
        bounds=(1, 16),
    )
    thinning_ha_per_year: float = _setting(
        40.0, "Thinning area budget per fiscal year [ha] for plan forecast.", bounds=(0.0, 1e6)
    )
    thinning_volume_share: float = _setting(
        0.25,
        "Share of the standing volume a planned thinning removes [0-1]; used only with "
        "[fo001] thinning_accounting = 'explicit'. A planning assumption: it never changes "
        "credited quantities.",
        bounds=(0.0, 1.0),
    )
    forecast_method: str = _setting(
        "milp",
        "How plan forecast chooses stands within the yearly budget: greedy (most credits per "
        "ha first; instant, no extra dependency) or milp (integer programming with scipy's "
        "HiGHS: optimal when proven within a node limit, else the best plan found and its "
        "proven bound).",
        choices=("greedy", "milp"),
    )


@dataclass(frozen=True)
class MapSettings:
    privacy_k: int = _setting(5, "Fewest households a public map cell may show.", bounds=(1, 1000))
    mesh_level: int = _setting(
        3,
        "JIS X 0410 mesh level of the public household cells: 3 = 1 km (基準地域メッシュ), "
        "4 = 500 m, 5 = 250 m.",
        bounds=(3, 5),
    )
    tiles: str = _setting(
        "gsi_pale",
        "Basemap: gsi_pale (地理院タイル 淡色地図), osm, none, or a {z}/{x}/{y} tile URL template "
        "(e.g. an intranet tile server).",
    )
    self_contained: bool = _setting(
        True,
        "Inline the map's JavaScript and CSS (the vendored Leaflet) so it opens without internet "
        "access; false: link the same versions on a CDN (smaller files).",
    )
    tiles_attribution: str = _setting(
        "",
        "Attribution shown for a custom tile URL in [map] tiles (e.g. '© 津山市'); empty: the "
        "tile server's host name.",
    )


@dataclass(frozen=True)
class CanopySettings:
    """Optional canopy-raster refinement (``forestcarbon.canopy``); runs when ``height`` exists."""

    height: str = _setting(
        "canopy_height.tif",
        "Canopy height raster [m] in the program folder; the canopy step runs when it exists.",
    )
    height_date: Any = _setting(
        None, "Acquisition date of the height raster (a TOML date); required with the raster."
    )
    cover: str = _setting("canopy_cover.tif", "Canopy cover raster [0-1] (optional).")
    cover_date: Any = _setting(None, "Acquisition date of the cover raster (a TOML date).")
    cover_before: str = _setting(
        "", "Earlier canopy cover raster [0-1]; with cover, thinning between the dates is checked."
    )
    cover_before_date: Any = _setting(None, "Acquisition date of cover_before (a TOML date).")
    plots: str = _setting("plots.csv", "Field plots (measured volume) for the volume model.")
    site_class_source: str = _setting(
        "register",
        "register: FO-001 uses the register's 地位; canopy: the site class derived from canopy "
        "top height and age (the 2021 rule allows it for airborne or drone laser data only, not "
        "for satellite canopy heights).",
        choices=("register", "canopy"),
        verified=("canopy",),
    )
    volume_source: str = _setting(
        "yield_table",
        "yield_table: FO-001 volumes from the yield table; model: each stand's yield curve is "
        "scaled down so that it passes through the volume model's prediction at the raster date "
        "(never up: scale at most 1).",
        choices=("yield_table", "model"),
        verified=("model",),
    )
    top_height: str = _setting(
        "p95", "Canopy height quantile used as top height [m].", choices=("p90", "p95")
    )
    site_class_min_age: int = _setting(
        15, "Youngest age [years] for which a site class is derived.", bounds=(1, 400)
    )
    site_class_margin: float = _setting(
        0.25,
        "Disagreement is flagged only beyond 0.5 + this margin of a class [site classes].",
        bounds=(0.0, 2.0),
    )
    min_valid_pixels: float = _setting(
        10.0, "Fewest valid (coverage-weighted) pixels for stand statistics.", bounds=(0.0, 1e9)
    )
    min_valid_fraction: float = _setting(
        0.5, "Smallest valid share of a stand's pixels for statistics [0-1].", bounds=(0.0, 1.0)
    )
    edge_buffer_m: float = _setting(
        10.0,
        "Height statistics are taken inside the stand shrunk by this distance [m], leaving out "
        "pixels that mix neighbouring stands (a stand too small to shrink keeps its outline).",
        bounds=(0.0, 1000.0),
    )
    low_canopy_ratio: float = _setting(
        0.5,
        "Flag a stand whose top height is below this share of the yield table's height [0-1].",
        bounds=(0.0, 1.0),
    )
    min_cover_drop: float = _setting(
        0.05,
        "Smallest cover drop [0-1] that makes a recorded thinning visible (scaled by the treated "
        "share of the stand).",
        bounds=(0.0, 1.0),
    )
    volume_model: str = _setting(
        "gradient_boosting",
        "Learned volume model (a linear model on mean canopy height is the baseline).",
        choices=("gradient_boosting", "random_forest"),
    )
    volume_tolerance: float = _setting(
        0.3,
        "Flag a stand whose yield-table volume differs from the model by more than this share "
        "(and lies outside the model's prediction interval) [-].",
        bounds=(0.0, 10.0),
    )
    interval: float = _setting(
        0.9, "Coverage of the volume prediction interval [0-1].", bounds=(0.5, 0.99)
    )


@dataclass(frozen=True)
class UncertaintySettings:
    """Monte Carlo uncertainty (``methods.uncertainty``); ranges in data/uncertainty.csv."""

    draws: int = _setting(
        4000, "Monte Carlo draws; 0 switches the simulation off.", bounds=(0, 1_000_000)
    )
    seed: int = _setting(
        20141001, "Random seed: the same seed gives identical intervals.", bounds=(0, 2**63 - 1)
    )
    coverage: float = _setting(
        0.90, "Coverage of the reported central interval [0-1].", bounds=(0.5, 0.999)
    )
    credit_basis: str = _setting(
        "central",
        "central: credits from the computed total; lower_bound: from the lower end of the "
        "interval (conservative), when it is lower.",
        choices=("central", "lower_bound"),
        verified=("lower_bound",),
    )


@dataclass(frozen=True)
class StoreSettings:
    """Where the officers' record store lives (``forestcarbon ops``, ``plan``, ``register``)."""

    url: str = _setting(
        "",
        "PostgreSQL/PostGIS record store, e.g. 'postgresql://officer@gis.city.local/forestry' "
        "(the password comes from PGPASSWORD or ~/.pgpass, never from program.toml); empty: the "
        "GeoPackage named by [inputs] operations.",
    )
    schema: str = _setting(
        "",
        "Database schema of this program's tables (one schema per program); empty: 'fc_' and the "
        "program folder's name in lower case, other characters as '_'.",
    )


@dataclass(frozen=True)
class CreditSettings:
    """The credit ledger (``forestcarbon credits``, :mod:`forestcarbon.officer.ledger`)."""

    buyers: str = _setting(
        "buyers.csv",
        "Buyers table (CSV/XLSX) in the program folder: name, kind (business, household or "
        "public_body), address, lon, lat [degrees], public (yes/no); Japanese headers 名称, 種別, "
        "住所, 経度, 緯度, 公開.",
    )
    stickers_per_tonne: int = _setting(
        10_000,
        "Certification stickers (認証シール) per retired tonne (e.g. 50,000 passbooks on 5 t).",
        bounds=(1, 10_000_000),
    )


@dataclass(frozen=True)
class Settings:
    """All settings of one program, defaults filled in."""

    program: ProgramSettings
    periods: tuple[Period, ...]
    inputs: InputSettings = field(default_factory=InputSettings)
    fo001: FO001Settings = field(default_factory=FO001Settings)
    energy: EnergySettings = field(default_factory=EnergySettings)
    plan: PlanSettings = field(default_factory=PlanSettings)
    map: MapSettings = field(default_factory=MapSettings)
    canopy: CanopySettings = field(default_factory=CanopySettings)
    uncertainty: UncertaintySettings = field(default_factory=UncertaintySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    credits: CreditSettings = field(default_factory=CreditSettings)
    compute: ComputeSettings = field(default_factory=lambda: ComputeSettings())

    def to_dict(self) -> dict:
        """Plain JSON-able dict (dates as ISO strings), for provenance."""
        return _jsonable(dataclasses.asdict(self))

    def unverified(self) -> list[tuple[str, Any]]:
        """Settings in use whose rule is not confirmed against the official methodology text."""
        out = []
        for section in SECTIONS:
            obj = getattr(self, section)
            for f in dataclasses.fields(obj):
                if not _is_verified(f, getattr(obj, f.name)):
                    out.append((f"{section}.{f.name}", getattr(obj, f.name)))
        return out


def _is_verified(f: dataclasses.Field, value) -> bool:
    verified = f.metadata.get("verified", True)
    if isinstance(verified, tuple):
        return value not in verified
    return verified


SECTIONS = {
    "program": ProgramSettings,
    "inputs": InputSettings,
    "fo001": FO001Settings,
    "energy": EnergySettings,
    "plan": PlanSettings,
    "map": MapSettings,
    "canopy": CanopySettings,
    "uncertainty": UncertaintySettings,
    "store": StoreSettings,
    "credits": CreditSettings,
}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _check_value(cls_name: str, f: dataclasses.Field, value, problems: list[Problem], file: str):
    key = f"[{cls_name}] {f.name}"
    types = f.metadata.get("types")
    if types is None:
        return value
    expected = "true/false" if bool in types else "a " + " or ".join(t.__name__ for t in types)
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
        problems.append(Problem(file, "", key, f"expected {expected}, got {value!r}"))
        return None
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        problems.append(
            Problem(
                file, "", key, f"expected one of {', '.join(map(repr, choices))}, got {value!r}"
            )
        )
        return None
    bounds = f.metadata.get("bounds")
    if bounds and not bounds[0] <= value <= bounds[1]:
        problems.append(
            Problem(file, "", key, f"expected a value in [{bounds[0]}, {bounds[1]}], got {value!r}")
        )
        return None
    return value


def _section(name: str, table: Any, problems: list[Problem], file: str):
    cls = SECTIONS[name]
    if not isinstance(table, dict):
        problems.append(Problem(file, "", f"[{name}]", "expected a table"))
        return cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in fields:
            problems.append(
                Problem(
                    file, "", f"[{name}] {key}", f"unknown setting; valid keys: {', '.join(fields)}"
                )
            )
            continue
        checked = _check_value(name, fields[key], value, problems, file)
        if checked is not None:
            values[key] = checked
    return cls(**values)


def _periods(raw: Any, problems: list[Problem], file: str) -> tuple[Period, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(
            Problem(
                file,
                "",
                "[[periods]]",
                "at least one monitoring period is required, e.g. "
                "[[periods]] start = 2023-04-01  end = 2024-03-31",
            )
        )
        return ()
    periods = []
    for i, item in enumerate(raw, start=1):
        where = f"period {i}"
        start, end = (
            (item.get("start"), item.get("end")) if isinstance(item, dict) else (None, None)
        )
        if (
            not isinstance(start, dt.date)
            or not isinstance(end, dt.date)
            or isinstance(start, dt.datetime)
            or isinstance(end, dt.datetime)
        ):
            problems.append(
                Problem(
                    file, where, "start/end", "expected two TOML dates like 2023-04-01 (no quotes)"
                )
            )
            continue
        if end < start:
            problems.append(
                Problem(file, where, "end", f"period end {end} is before its start {start}")
            )
            continue
        periods.append(Period(start, end))
    ordered = sorted(periods, key=lambda p: p.start)
    for a, b in itertools.pairwise(ordered):
        if b.start <= a.end:
            problems.append(
                Problem(file, "", "[[periods]]", f"periods {a.label} and {b.label} overlap")
            )
    return tuple(ordered)


def parse_settings(data: dict, *, file: str = CONFIG_FILE) -> Settings:
    """Build :class:`Settings` from a parsed TOML document, reporting every problem at once."""
    problems: list[Problem] = []
    known = {*SECTIONS, "periods"}
    for key in data:
        if key not in known:
            problems.append(
                Problem(file, "", key, f"unknown section; valid: {', '.join(sorted(known))}")
            )
    sections = {name: _section(name, data.get(name, {}), problems, file) for name in SECTIONS}
    if not sections["program"].name:
        problems.append(Problem(file, "", "[program] name", "a program name is required"))
    periods = _periods(data.get("periods"), problems, file)
    if problems:
        raise ConfigError(problems)
    return Settings(periods=periods, **sections)


def load_settings(program_dir: str | Path) -> Settings:
    """Read ``program.toml`` of a program folder."""
    path = Path(program_dir) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            Problem(
                str(path),
                "",
                "",
                "not found: every program folder needs a "
                "program.toml with [program] name and [[periods]]",
            )
        )
    try:
        data = tomllib.loads(read_input(path).decode("utf-8-sig"))  # a BOM (Notepad) is fine
    except UnicodeDecodeError as e:
        raise ConfigError(Problem(str(path), "", "", f"not UTF-8 text ({e.reason})")) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(Problem(str(path), "", "", f"not valid TOML: {e}")) from None
    return parse_settings(data, file=str(path))


def program_file(program_dir: str | Path, name: str, settings: Settings, key: str) -> Path:
    """The path of input ``name`` (setting ``key``) of a program folder, confined to the folder
    unless ``[inputs] allow_outside_paths``; a path leading out is an error (nothing is read)."""
    return confined_path(program_dir, name, key, settings.inputs.allow_outside_paths)


def confined_path(program_dir: str | Path, name: str, key: str, allow_outside: bool) -> Path:
    """``program_dir / name``; an error when it leads out of the folder (unless allowed)."""
    program_dir = Path(program_dir)
    path = program_dir / name
    if allow_outside:
        return path
    try:
        path.resolve().relative_to(program_dir.resolve())
    except ValueError:
        raise ConfigError(
            Problem(
                str(program_dir / CONFIG_FILE),
                "",
                key,
                f"{name!r} lies outside the program folder; put the file in the folder or set "
                "[inputs] allow_outside_paths = true",
            )
        ) from None
    return path


def settings_doc() -> str:
    """Markdown table of every setting with its default and description (for the README)."""
    lines = ["| setting | default | verified | meaning |", "|---|---|---|---|"]
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            default = f.default.isoformat() if isinstance(f.default, dt.date) else f.default
            choices = f.metadata.get("choices")
            doc = f.metadata["doc"] + (f" Choices: {', '.join(choices)}." if choices else "")
            verified = f.metadata.get("verified", True)
            ver = (
                "yes"
                if verified is True
                else "**no**"
                if verified is False
                else "**no** for " + ", ".join(verified)
            )
            lines.append(f"| `[{name}] {f.name}` | `{default!r}` | {ver} | {doc} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class ComputeSettings:
    """Where a run computes (``forestcarbon.scale``): this process, or a Dask cluster."""

    scheduler: str = _setting(
        "",
        "Empty: compute in this process (the default). 'local:N': a Dask LocalCluster of N worker "
        "processes (1 thread each); 'tcp://host:8786': an existing Dask scheduler. Results are "
        "identical whichever is used; `run --scheduler` overrides it.",
    )
    partitions: int = _setting(
        0,
        "Stand partitions of a distributed run (compact areas along a Hilbert curve); 0: four per "
        "worker.",
        bounds=(0, 1_000_000),
    )
    stream: bool = _setting(
        False,
        "True: a streamed run (`run --stream`), for programs too large for one machine's memory "
        "(a prefecture, the country): each task reads, validates and computes one part of a "
        "partitioned program (stands/part-N.parquet with operations/part-N.parquet, as "
        "`forestcarbon convert PROGRAM --to geoparquet` writes them) and the driver keeps only "
        "exact per-part sums. It writes fo001_stands.parquet/ (per-stand results with the Monte "
        "Carlo intervals, one file per part), program_summary.csv (identical to the whole "
        "run's), provenance.json and run_complete.json; not the maps, the xlsx report, the "
        "notebooks nor the per-stand CSV/GeoPackage (each would hold every stand in one file). "
        "Stand ids repeated in two parts and overlaps across parts are checked; energy inputs "
        "(small) are computed on the driver. A program with a canopy height raster is refused "
        "(its flags hold removals; run it whole or with --scheduler).",
    )


SECTIONS["compute"] = ComputeSettings
