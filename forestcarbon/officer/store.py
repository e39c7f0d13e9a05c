"""Record store: writing the silvicultural operations of a program to a GeoPackage, with its
history (undo, replay, verification).

Where the store sits and its tables are described in :mod:`forestcarbon.inputs.records`, which
reads it; this module records new operations (``ops import``, ``ops add``), undoes changes and
reads and checks the history.

Where and how
-------------
The store is a :class:`~forestcarbon.inputs.stores.RecordStore`: a GeoPackage
(:mod:`forestcarbon.inputs.store_gpkg`) or, with ``[store] url``, a PostgreSQL/PostGIS schema
(:mod:`forestcarbon.inputs.store_postgres`); this module does not know which. Every change is one
transaction of the store (all or nothing, also when the process is killed), retried by the store
when a concurrent edit forces it, and appended to the store's append-only history. Edits made in
QGIS directly bypass the history; ``ops history`` reports them (:func:`verify_history`).

Every new record is checked before anything is written, against the register and the records
already kept, and all problems are reported at once: schema (:data:`~forestcarbon.inputs.schemas.
OPERATIONS_SPEC`), unknown stand and area larger than the stand (the checks ``load_program`` makes),
exact duplicates, an operation before the stand's planting year, and final harvests / replantings
that do not add up (:func:`forestcarbon.methods.fo001.build_cohorts`, the engine's own check).
A record may carry its treated-area polygon (``ops add --geometry``, a WKT column, or the
features of a layer given to ``ops import``), checked like the program's operations layer
(:mod:`forestcarbon.inputs.treated`) and kept in the working CRS.

Adding, importing and undoing share one transaction, one set of checks and one history writer;
the storage itself (SQL, files, locking) lives in the store implementations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.config import Settings, load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.crs import coordinate_problems
from forestcarbon.inputs.program import cross_check_operations, load_program
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.records import (
    RECORD_COLUMNS,
    as_store,
    operations_in,
    problem_where,
    read_records,
    record_store,
    records_as_text,
    relabel_problems,
    typed_records,
)
from forestcarbon.inputs.schemas import MAX_PROBLEMS_PER_COLUMN, OPERATIONS_SPEC, validate
from forestcarbon.inputs.stores import GEOMETRY_COLUMN, RecordStore, StoreSession, as_multipolygon
from forestcarbon.inputs.treated import outside_stand_problems, read_operations_layer
from forestcarbon.methods.fiscal import fiscal_year
from forestcarbon.methods.fo001 import OPERATION_JA, build_cohorts

log = logging.getLogger("forestcarbon")

DUPLICATE_KEY = ("stand_id", "date", "operation", "area_ha", "volume_m3")
"""Two records equal in these columns are the same record (the note does not count)."""


@dataclasses.dataclass(frozen=True)
class ChangeResult:
    """What one change did to a store."""

    store: str
    """The store's label (a path, or the database URL and schema)."""
    store_name: str
    change: int
    action: str
    n_added: int
    n_removed: int
    note: str
    time: str

    def __str__(self) -> str:
        return (
            f"{self.store_name}: change {self.change} ({self.action}): {self.n_added} record(s) "
            f"added, {self.n_removed} removed — {self.note}"
        )


# --- time -----------------------------------------------------------------------------------------


def _now_text(now: Callable[[], dt.datetime] | None) -> str:
    moment = (now or (lambda: dt.datetime.now(dt.UTC)))()
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- checking new records -------------------------------------------------------------------------


def _describe(row) -> str:
    area = "" if pd.isna(row["area_ha"]) else f", {row['area_ha']:g} ha"
    ja = OPERATION_JA.get(row["operation"], "")
    return f"{row['operation']} ({ja}) on {row['date']}{area}"


def _key(df: pd.DataFrame) -> pd.Series:
    """Duplicate key per row: the columns of :data:`DUPLICATE_KEY` as one text."""
    parts = [df["stand_id"].astype(str), df["date"].astype(str), df["operation"].astype(str)]
    for col in ("area_ha", "volume_m3"):
        values = pd.to_numeric(df[col], errors="coerce")
        # astype(str): an empty map is float64, which text cannot be added to
        parts.append(values.map(lambda v: "" if pd.isna(v) else f"{v:.6f}").astype(str))
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key


def _duplicates(existing: pd.DataFrame, new: pd.DataFrame, labels, store_name) -> list[Problem]:
    """New records equal to a kept one, or to an earlier new one (first ones described)."""
    new_keys = _key(new).to_numpy()
    kept = dict(zip(_key(existing), existing["source_row"], strict=True))
    in_store = np.fromiter((k in kept for k in new_keys), dtype=bool, count=len(new_keys))
    repeated = pd.Series(new_keys).duplicated(keep="first").to_numpy() & ~in_store
    first_row = pd.Series(new["source_row"].to_numpy()).groupby(new_keys).transform("first")
    problems = []
    for i in np.flatnonzero(in_store | repeated)[: MAX_PROBLEMS_PER_COLUMN + 1]:
        row = new.iloc[i]
        file, where = labels[row["source_row"]]
        if in_store[i]:
            store_file, store_where = labels[kept[new_keys[i]]]
            name = store_name or Path(store_file).name
            text = f"{store_where} of {name} ({_describe(row)}): already recorded"
        else:
            text = f"{labels[first_row.iloc[i]][1]} of the same input ({_describe(row)})"
        problems.append(
            Problem(file, problem_where(where, row["stand_id"]), "", "exact duplicate of " + text)
        )
    n = int((in_store | repeated).sum())
    if n > len(problems):
        problems.append(Problem(problems[0].file, "", "", f"... {n} exact duplicates in all"))
    return problems


def _before_planting(
    stands: pd.DataFrame, combined: pd.DataFrame, new: pd.DataFrame, labels
) -> list[Problem]:
    """New operations in a fiscal year before the stand's planting year that no final harvest of
    an earlier crop (dated on or after them, in or before the planting year) explains."""
    planted = stands.set_index("stand_id")["planted_year"]
    new = new[new["stand_id"].isin(planted.index)]
    if new.empty:
        return []
    fy = fiscal_year(new["date"])
    year = planted.reindex(new["stand_id"]).to_numpy()
    early = new[fy < year]
    harvests = combined[combined["operation"] == "final_harvest"]
    harvest_fy = pd.Series(fiscal_year(harvests["date"]), index=harvests.index)
    problems = []
    for _, row in early.iterrows():
        p_year = int(planted[row["stand_id"]])
        h = harvests[harvests["stand_id"] == row["stand_id"]]
        explained = ((h["date"] >= row["date"]) & (harvest_fy.reindex(h.index) <= p_year)).any()
        if explained:
            continue
        file, where = labels[row["source_row"]]
        op_fy = int(fiscal_year([row["date"]])[0])
        problems.append(
            Problem(
                file,
                problem_where(where, row["stand_id"]),
                "date",
                f"{_describe(row)} is in FY{op_fy}, before the stand's planting year "
                f"{p_year} (register planted_year), and no final harvest (主伐) of an earlier "
                "crop is recorded after it",
            )
        )
    return problems


def _capped(problems: list[Problem], what: str) -> list[Problem]:
    """The first :data:`~forestcarbon.inputs.schemas.MAX_PROBLEMS_PER_COLUMN` problems of one kind
    and a line counting the rest."""
    if len(problems) <= MAX_PROBLEMS_PER_COLUMN:
        return problems
    rest = len(problems) - MAX_PROBLEMS_PER_COLUMN
    return [
        *problems[:MAX_PROBLEMS_PER_COLUMN],
        Problem(problems[0].file, "", "", f"... and {rest} more {what}"),
    ]


def check_new_records(
    stands: pd.DataFrame,
    periods,
    existing: pd.DataFrame,
    new: pd.DataFrame,
    labels: dict[int, tuple[str, str]],
    *,
    store_name: str = "",
) -> None:
    """Refuse new records that are duplicates or conflict with the register or the records kept.

    Parameters
    ----------
    stands : DataFrame
        Validated stands (:func:`forestcarbon.inputs.program.load_program`).
    periods : tuple of Period
        Monitoring periods (the engine's harvest check needs them).
    existing, new : DataFrame
        Validated operations; ``source_row`` holds distinct numbers, and ``labels`` maps each to
        (file, "row N") for messages.
    store_name : str
        How messages name the store holding ``existing`` (default: the file name of its label).

    Raises
    ------
    InputError
        Every problem at once: unknown stand, area larger than the stand, implausible date
        (:func:`~forestcarbon.inputs.program.cross_check_operations`), exact duplicate, operation
        before planting, and harvest/replanting conflicts
        (:func:`~forestcarbon.methods.fo001.build_cohorts`).
    """
    problems = relabel_problems(cross_check_operations(new, stands, ""), labels)
    problems += _duplicates(existing, new, labels, store_name)
    combined = pd.concat([existing, new], ignore_index=True)
    combined = combined.sort_values(["stand_id", "date", "source_row"], kind="stable")
    known = combined[combined["stand_id"].isin(stands["stand_id"])].reset_index(drop=True)
    problems += _capped(_before_planting(stands, known, new, labels), "operations before planting")
    try:
        build_cohorts(stands.reset_index(drop=True), known, periods)
    except InputError as e:
        problems += relabel_problems(e.problems, labels)
    if problems:
        raise InputError(problems)


# --- writing --------------------------------------------------------------------------------------


def _store_records(new: pd.DataFrame, fids: np.ndarray) -> pd.DataFrame:
    """Validated operations -> store records numbered ``fids``."""
    return pd.DataFrame(
        {
            "fid": fids,
            "stand_id": new["stand_id"].astype(str).to_numpy(),
            "date": [d.isoformat() for d in new["date"]],
            "operation": new["operation"].astype(str).to_numpy(),
            "area_ha": new["area_ha"].to_numpy(dtype=float),
            "volume_m3": new["volume_m3"].to_numpy(dtype=float),
            "note": new["note"].astype(str).to_numpy(),
            GEOMETRY_COLUMN: [as_multipolygon(g) for g in new[GEOMETRY_COLUMN]],
        }
    )


def _polygons(
    new: pd.DataFrame,
    raw: pd.DataFrame,
    layer: tuple[np.ndarray, list[Problem]] | None,
    settings: Settings,
    stands: pd.DataFrame,
    file: str,
) -> list[Problem]:
    """Put the treated-area polygons of new records in ``new["geometry"]`` (None without one) and
    return their problems, the checks the program makes on its operations layer or WKT column
    (:mod:`forestcarbon.inputs.treated`): a layer's (no CRS, outside the CRS's area, empty, not
    a polygon, invalid), a WKT polygon outside the working CRS's area, and a polygon that shares
    no area with its stand. Rows are ``new``'s ``source_row`` ("row N")."""
    problems: list[Problem] = []
    rows = [f"row {r}" for r in new["source_row"]]
    if layer is not None:
        geoms, layer_problems = layer
        problems += layer_problems
        if any(g is not None for g in geoms) and GEOMETRY_COLUMN in new:
            problems.append(
                Problem(
                    file,
                    "",
                    new.attrs.get("headers", {}).get(GEOMETRY_COLUMN, GEOMETRY_COLUMN),
                    "the layer has feature polygons and a WKT column: keep one treated area",
                )
            )
            return problems
    elif GEOMETRY_COLUMN in new:
        geoms = np.array([as_polygon(g) for g in new[GEOMETRY_COLUMN]], dtype=object)
        drawn = np.array([g is not None for g in geoms], dtype=bool)
        if drawn.any():
            placed = gpd.GeoDataFrame(geometry=list(geoms[drawn]), crs=settings.program.crs)
            found = coordinate_problems(placed, placed.crs, file, ids=None)
            drawn_rows = np.array(rows, dtype=object)[drawn]
            problems += [
                Problem(p.file, _nth_row(p.where, drawn_rows), p.column, p.message) for p in found
            ]
    else:
        geoms = np.full(len(new), None, dtype=object)
    new[GEOMETRY_COLUMN] = geoms
    if not problems and "stand_id" in new and any(g is not None for g in geoms):
        problems += outside_stand_problems(new, stands, file)
    return problems


def as_polygon(value):
    """A validated WKT cell -> its polygon, None when empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _nth_row(where: str, rows: np.ndarray) -> str:
    """'feature 3' (the 3rd polygon) -> that record's row label."""
    parts = where.split()
    if (
        len(parts) >= 2
        and parts[0] == "feature"
        and parts[1].isdigit()
        and 0 < int(parts[1]) <= len(rows)
    ):
        return rows[int(parts[1]) - 1]
    return where


def program_store(program_dir: str | Path) -> RecordStore:
    """The record store of a program (``[store] url``, else ``[inputs] operations``)."""
    return record_store(program_dir, load_settings(program_dir))


def _program_without_operations(program_dir: Path, settings: Settings | None = None):
    """Settings, store and the program's stands etc. read without the operations."""
    settings = settings or load_settings(program_dir)
    path = record_store(program_dir, settings)
    bare = dataclasses.replace(settings, inputs=dataclasses.replace(settings.inputs, operations=""))
    return settings, path, load_program(program_dir, settings=bare)


def _record(
    program_dir: str | Path,
    raw: pd.DataFrame,
    *,
    file: str,
    action: str,
    note: str,
    source: str,
    row_label: Callable[[int], str],
    now: Callable[[], dt.datetime] | None,
    settings: Settings | None = None,
    layer: tuple[np.ndarray, list[Problem]] | None = None,
) -> ChangeResult:
    """Validate ``raw`` (text table), check it against the program and the store, then append it
    in one transaction (creating the store when missing).

    Treated-area polygons come from a WKT column of ``raw`` (in the working CRS) or, with
    ``layer``, as the features' polygons of a layer (already in the working CRS, and the layer's
    problems: :func:`~forestcarbon.inputs.treated.read_operations_layer`)."""
    program_dir = Path(program_dir)
    settings, path, inputs = _program_without_operations(program_dir, settings)
    new, problems = validate(raw, OPERATIONS_SPEC, file)
    rows = {i + 2: (file, row_label(i + 2)) for i in range(len(raw))}
    problems += _polygons(new, raw, layer, settings, inputs.stands, file)
    if problems:
        ids = {}
        if "stand_id" in new and "source_row" in new:
            ids = dict(zip(new["source_row"], new["stand_id"].fillna(""), strict=True))
        raise InputError(relabel_problems(problems, rows, ids))
    new["note"] = new["note"].fillna("") if "note" in new else ""
    for col in ("area_ha", "volume_m3"):
        new[col] = pd.to_numeric(new[col], errors="coerce") if col in new else np.nan
    time = _now_text(now)

    def apply(session: StoreSession) -> int:
        existing, problems = operations_in(session, path.label)
        if problems:
            raise InputError(problems)
        fids = session.new_fids(len(new))
        labels = {int(f): (path.label, f"row {f}") for f in existing["source_row"]}
        file_rows = new["source_row"].to_numpy()
        new_checked = new.assign(source_row=fids)
        labels |= {int(f): (file, row_label(int(r))) for f, r in zip(fids, file_rows, strict=True)}
        log.info("checking %d new record(s) against %d kept", len(new), len(existing))
        check_new_records(
            inputs.stands,
            settings.periods,
            existing,
            new_checked,
            labels,
            store_name=path.name,
        )
        session.seed_stands(inputs.stands, only=sorted(set(new["stand_id"].astype(str))))
        added = _store_records(new, fids)
        removed = pd.DataFrame(columns=["fid", *RECORD_COLUMNS])
        return session.write_change(
            action=action,
            note=note,
            source=source,
            added=added,
            removed=removed,
            undoes=None,
            time=time,
        )

    change = path.change(apply)
    return ChangeResult(path.label, path.name, change, action, len(new), 0, note, time)


# --- public operations ----------------------------------------------------------------------------


def import_operations(
    program_dir: str | Path,
    file: str | Path,
    *,
    note: str = "",
    now: Callable[[], dt.datetime] | None = None,
    settings: Settings | None = None,
) -> ChangeResult:
    """Append every operation of a CSV/XLSX file (Japanese or English headers, UTF-8 or cp932) to
    the program's record store, after checking all of them; creates the store when missing.

    ``settings`` replaces program.toml (``ops init`` imports before program.toml names the store).

    Raises
    ------
    InputError
        Every problem of the file at once (nothing is written).
    """
    file = Path(file)
    layer = None
    row_label = _file_row
    if file.suffix.lower() in LAYER_SUFFIXES:
        settings_now = settings or load_settings(program_dir)
        raw, layer, fids = _layer_records(file, settings_now.program.crs)
        row_label = _fid_row(fids)
    else:
        raw = read_table(file)
    n = len(raw)
    return _record(
        program_dir,
        raw,
        file=str(file),
        action="import",
        note=note or f"import {file.name} ({n} rows)",
        source=str(file),
        row_label=row_label,
        now=now,
        settings=settings,
        layer=layer,
    )


LAYER_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
"""Files ``ops import`` reads as a layer of operations whose features carry the treated-area
polygons (any CRS; reprojected to the working CRS)."""


def _file_row(r: int) -> str:
    return f"row {r}"


def _fid_row(fids: np.ndarray) -> Callable[[int], str]:
    """Row labels of a layer: the i-th feature (table row i + 2) is "row FID", as QGIS shows."""
    return lambda r: f"row {fids[r - 2]}"


def _layer_records(file: Path, crs: str) -> tuple[pd.DataFrame, tuple, np.ndarray]:
    """A layer of operations: its attributes (rows numbered like a table's: feature i is row
    i + 2), its polygons in the working CRS ``crs`` and their problems (rows renumbered the same
    way), and the features' fids."""
    attrs, geoms, fids, problems = read_operations_layer(file, crs)
    if attrs.empty and problems:  # the layer itself could not be read
        raise InputError(problems)
    as_table = {int(f): (str(file), f"row {i + 2}") for i, f in enumerate(fids)}
    return attrs, (geoms, relabel_problems(problems, as_table)), fids


def add_operation(
    program_dir: str | Path,
    *,
    stand_id: str,
    date: str,
    operation: str,
    area_ha: float | str | None = None,
    volume_m3: float | str | None = None,
    note: str = "",
    message: str = "",
    geometry: str | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> ChangeResult:
    """Record one operation (values as typed on the command line, parsed like a CSV row).

    Parameters
    ----------
    area_ha : treated area [ha]; None: the whole stand.
    volume_m3 : thinned or felled volume [m3].
    note : the record's note (備考).
    message : the history note; default a description of the record.
    geometry : the treated-area polygon: WKT in the working CRS, or a file (GeoPackage,
        GeoJSON, shapefile; any CRS, reprojected) holding one polygon feature.
    """

    def text(v) -> str:
        return "" if v is None else str(v)

    raw = pd.DataFrame(
        [
            {
                "stand_id": text(stand_id),
                "date": text(date),
                "operation": text(operation),
                "area_ha": text(area_ha),
                "volume_m3": text(volume_m3),
                "note": text(note),
            }
        ]
    )
    area = f" {area_ha} ha" if area_ha not in (None, "") else ""
    layer = None
    file = "ops add"
    if geometry not in (None, ""):
        layer, file = _given_polygon(program_dir, str(geometry), raw)
    drawn = " with its treated-area polygon" if geometry not in (None, "") else ""
    return _record(
        program_dir,
        raw,
        file=file,
        action="add",
        note=message or f"add {operation} {stand_id} {date}{area}{drawn}",
        source="forestcarbon ops add",
        row_label=lambda _r: "",
        now=now,
        layer=layer,
    )


def _given_polygon(program_dir, text: str, raw: pd.DataFrame) -> tuple[tuple | None, str]:
    """``ops add --geometry``: WKT (put into ``raw`` as its WKT column, checked like a CSV's)
    or a file with one polygon feature (read and reprojected like a layer of operations)."""
    candidate = Path(text)
    is_file = len(text) < 4096 and "(" not in text and candidate.suffix.lower() in LAYER_SUFFIXES
    if not is_file:
        raw[GEOMETRY_COLUMN] = text
        return None, "ops add --geometry"
    if not candidate.is_file():
        raise InputError(Problem(text, "", "--geometry", "file not found"))
    crs = load_settings(program_dir).program.crs
    _attrs, (geoms, problems), _fids = _layer_records(candidate, crs)
    drawn = [g for g in geoms if g is not None]
    if not problems and len(drawn) != 1:
        problems = [
            Problem(
                text,
                "",
                "geometry",
                f"holds {len(drawn)} polygon feature(s): expected exactly one treated area",
            )
        ]
    return (np.array(drawn[:1] or [None], dtype=object), problems), text


def _undo_target(history: pd.DataFrame) -> tuple[int, str, str] | None:
    """The latest change that is not an undo and has not been undone."""
    undone = set(history["undoes"].dropna().astype(int))
    todo = history[(history["action"] != "undo") & ~history["change"].isin(undone)]
    if todo.empty:
        return None
    last = todo.iloc[-1]
    return int(last["change"]), str(last["action"]), str(last["note"])


def _change_rows(session: StoreSession, change: int, effect: str) -> pd.DataFrame:
    rows = session.history_rows(change, effect)
    return rows.rename(columns={"record": "fid"})[["fid", *RECORD_COLUMNS]].reset_index(drop=True)


def undo_last(
    program_dir: str | Path,
    *,
    note: str = "",
    now: Callable[[], dt.datetime] | None = None,
) -> ChangeResult:
    """Revert the latest change not yet undone (an undo is itself a change in the history;
    repeated undos walk further back; an undo is never undone).

    Raises
    ------
    InputError
        Nothing to undo, or records the change added were altered outside forestcarbon.
    """
    path = program_store(program_dir)
    time = _now_text(now)
    result: dict = {}

    def apply(session: StoreSession) -> int:
        target = _undo_target(session.history())
        if target is None:
            raise InputError(Problem(path.label, "", "", "nothing to undo"))
        change, action, what = target
        added_then = _change_rows(session, change, "added")
        removed_then = _change_rows(session, change, "removed")
        present = session.records(added_then["fid"].tolist())
        if len(present) != len(added_then) or not _same(present, added_then):
            raise InputError(
                Problem(
                    path.label,
                    "",
                    "",
                    f"cannot undo change {change}: {len(added_then) - len(present)} of the "
                    f"records it added are missing or were edited outside forestcarbon (QGIS?)",
                )
            )
        result["note"] = note or f"undo change {change} ({action}: {what})"
        result["counts"] = (len(removed_then), len(present))
        return session.write_change(
            action="undo",
            note=result["note"],
            source="forestcarbon ops undo",
            added=removed_then,
            removed=present,
            undoes=change,
            time=time,
        )

    change = path.change(apply, create=False)
    return ChangeResult(
        path.label, path.name, change, "undo", *result["counts"], result["note"], time
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["fid", *RECORD_COLUMNS]
    a = a[cols].sort_values("fid").reset_index(drop=True)
    b = b[cols].sort_values("fid").reset_index(drop=True)
    return a.equals(b)


def read_history(store: str | Path | RecordStore) -> pd.DataFrame:
    """The history of a store (a GeoPackage path or a :class:`RecordStore`): change, time (UTC),
    action, note, source, n_added, n_removed, undoes, undone_by (the undo that reverted the change,
    if any)."""
    df = as_store(store).read(lambda s: s.history())
    undone = df.dropna(subset=["undoes"]).set_index("undoes")["change"]
    df["undone_by"] = df["change"].map(undone).astype("Int64")
    return df


def replay_history(store: str | Path | RecordStore) -> pd.DataFrame:
    """The records the history alone rebuilds: every change's removals and additions applied in
    order, starting from an empty store (same columns as :func:`read_records`)."""
    table = as_store(store).read(lambda s: s.history_rows())
    rows = table[["change", "effect", "record", *RECORD_COLUMNS]].itertuples(index=False)
    state: dict[int, tuple] = {}
    for change_rows in _by_change(rows):
        for _change_no, effect, record, *values in change_rows:
            if effect == "removed":
                state.pop(record, None)
            else:
                state[record] = tuple(values)
    frame = pd.DataFrame(
        [(fid, *values) for fid, values in sorted(state.items())],
        columns=["fid", *RECORD_COLUMNS],
    )
    return typed_records(frame)


def _by_change(rows):
    current: list = []
    for row in rows:
        if current and row[0] != current[0][0]:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def verify_history(path: str | Path | RecordStore) -> tuple[bool, str]:
    """Whether replaying the history gives exactly the current records, and a sentence saying so."""
    path = as_store(path)
    current = read_records(path)
    rebuilt = replay_history(path)
    n_changes = len(read_history(path))
    if _same(current, rebuilt):
        return True, (
            f"history complete: replaying the {n_changes} change(s) gives the "
            f"{len(current)} current record(s)"
        )
    a = set(map(tuple, records_as_text(current).assign(fid=current["fid"]).to_numpy().tolist()))
    b = set(map(tuple, records_as_text(rebuilt).assign(fid=rebuilt["fid"]).to_numpy().tolist()))
    return False, (
        f"records differ from the history: {len(a - b)} record(s) not explained by it, "
        f"{len(b - a)} recorded change(s) missing from the table (edited outside forestcarbon?)"
    )
