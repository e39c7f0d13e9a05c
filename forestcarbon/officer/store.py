"""Record store: writing the silvicultural operations of a program to a GeoPackage, with its
history (undo, replay, verification).

Where the store sits and its tables are described in :mod:`forestcarbon.inputs.records`, which
reads it; this module records new operations (``ops import``, ``ops add``), undoes changes and
reads and checks the history.

Safety
------
Every change is one SQLite transaction (rollback journal, ``synchronous = FULL``). A crash or a
kill in the middle of a write leaves a *hot journal* beside the file; the next connection with write
access (any ``forestcarbon`` command, QGIS) rolls it back, so the store is exactly its previous
state. A new store is built in a temporary file and linked into place only when complete. Triggers
make ``history`` and ``history_rows`` refuse UPDATE and DELETE. Writers take the SQLite write lock
before reading what they check, so two officers recording at the same time cannot both pass the
checks against a stale state. Edits made in QGIS directly bypass the history; ``ops history``
reports them (:func:`verify_history`).

Every new record is checked before anything is written, against the register and the records
already kept, and all problems are reported at once: schema (:data:`~forestcarbon.inputs.schemas.
OPERATIONS_SPEC`), unknown stand and area larger than the stand (the checks ``load_program`` makes),
exact duplicates, an operation before the stand's planting year, and final harvests / replantings
that do not add up (:func:`forestcarbon.methods.fo001.build_cohorts`, the engine's own check).

At about 740 lines this module is kept whole on purpose: it is one concept, the store's writes,
and adding, importing and undoing share one transaction, one set of checks and one history
writer; split apart, the pieces would import each other's private helpers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import ForestCarbonError, InputError, OutputError, Problem
from forestcarbon.inputs.program import cross_check_operations, load_program
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.records import (
    HISTORY_ROWS_TABLE,
    HISTORY_TABLE,
    OPERATIONS_TABLE,
    RECORD_COLUMNS,
    open_store,
    operations_in,
    problem_where,
    query_records,
    read_records,
    records_as_text,
    relabel_problems,
    store_path,
    typed_records,
)
from forestcarbon.inputs.schemas import MAX_PROBLEMS_PER_COLUMN, OPERATIONS_SPEC, validate
from forestcarbon.methods.fiscal import fiscal_year
from forestcarbon.methods.fo001 import OPERATION_JA, build_cohorts

log = logging.getLogger("forestcarbon")

DUPLICATE_KEY = ("stand_id", "date", "operation", "area_ha", "volume_m3")
"""Two records equal in these columns are the same record (the note does not count)."""

_SCHEMAS = {
    OPERATIONS_TABLE: {
        "stand_id": object,
        "date": object,
        "operation": object,
        "area_ha": float,
        "volume_m3": float,
        "note": object,
    },
    HISTORY_TABLE: {
        "time": object,
        "action": object,
        "note": object,
        "source": object,
        "n_added": "int64",
        "n_removed": "int64",
        "undoes": "Int64",
    },
    HISTORY_ROWS_TABLE: {
        "change": "int64",
        "effect": object,
        "record": "int64",
        "stand_id": object,
        "date": object,
        "operation": object,
        "area_ha": float,
        "volume_m3": float,
        "note": object,
    },
}
_DESCRIPTIONS = {
    OPERATIONS_TABLE: "silvicultural operations (施業履歴) recorded with forestcarbon ops",
    HISTORY_TABLE: "append-only history of changes to operations (one row per change)",
    HISTORY_ROWS_TABLE: "append-only: every operations record each change added or removed",
}


@dataclasses.dataclass(frozen=True)
class ChangeResult:
    """What one change did to a store."""

    store: Path
    change: int
    action: str
    n_added: int
    n_removed: int
    note: str
    time: str

    def __str__(self) -> str:
        return (
            f"{self.store.name}: change {self.change} ({self.action}): {self.n_added} record(s) "
            f"added, {self.n_removed} removed — {self.note}"
        )


# --- creating and locking -------------------------------------------------------------------------


def _now_text(now: Callable[[], dt.datetime] | None) -> str:
    moment = (now or (lambda: dt.datetime.now(dt.UTC)))()
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def _transaction(con: sqlite3.Connection) -> Iterator[None]:
    """One atomic change: the write lock is taken first (BEGIN IMMEDIATE), all or nothing."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _create(path: Path) -> None:
    """An empty store at ``path``: GeoPackage tables made by GDAL, plus append-only triggers."""
    for table, schema in _SCHEMAS.items():
        empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in schema.items()})
        pyogrio.write_dataframe(empty, path, layer=table, driver="GPKG")
    con = sqlite3.connect(path, isolation_level=None)
    try:
        with _transaction(con):
            for table in (HISTORY_TABLE, HISTORY_ROWS_TABLE):
                for event in ("UPDATE", "DELETE"):
                    con.execute(
                        f'CREATE TRIGGER "{table}_append_only_{event.lower()}" BEFORE {event} '
                        f"ON \"{table}\" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    )
            for table, text in _DESCRIPTIONS.items():
                con.execute(
                    "UPDATE gpkg_contents SET description = ? WHERE table_name = ?", (text, table)
                )
    finally:
        con.close()


def _fsync_dir(folder: Path) -> None:
    """Make a rename/link in ``folder`` durable (POSIX; a no-op where directories cannot be
    opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        parts.append(values.map(lambda v: "" if pd.isna(v) else f"{v:.6f}"))
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key


def _duplicates(existing: pd.DataFrame, new: pd.DataFrame, labels) -> list[Problem]:
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
            text = f"{store_where} of {Path(store_file).name} ({_describe(row)}): already recorded"
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

    Raises
    ------
    InputError
        Every problem at once: unknown stand, area larger than the stand, implausible date
        (:func:`~forestcarbon.inputs.program.cross_check_operations`), exact duplicate, operation
        before planting, and harvest/replanting conflicts
        (:func:`~forestcarbon.methods.fo001.build_cohorts`).
    """
    problems = relabel_problems(cross_check_operations(new, stands, ""), labels)
    problems += _duplicates(existing, new, labels)
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


def _next_fid(con: sqlite3.Connection) -> int:
    seq = con.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = ?", (OPERATIONS_TABLE,)
    ).fetchone()
    top = con.execute(f"SELECT max(fid) FROM {OPERATIONS_TABLE}").fetchone()[0]
    return max(seq[0] if seq else 0, top or 0) + 1


def _row_values(df: pd.DataFrame) -> list[tuple]:
    """Records as SQL parameters: fid, stand_id, date, operation, area_ha, volume_m3, note."""
    out = []
    for r in df.itertuples(index=False):
        out.append(
            (
                int(r.fid),
                str(r.stand_id),
                str(r.date),
                str(r.operation),
                None if pd.isna(r.area_ha) else float(r.area_ha),
                None if pd.isna(r.volume_m3) else float(r.volume_m3),
                "" if pd.isna(r.note) else str(r.note),
            )
        )
    return out


def _write_change(
    con: sqlite3.Connection,
    *,
    action: str,
    note: str,
    source: str,
    added: pd.DataFrame,
    removed: pd.DataFrame,
    undoes: int | None,
    time: str,
) -> int:
    """Apply one change inside the caller's transaction; returns the change number.

    ``added`` and ``removed`` hold whole records with their fid.
    """
    cur = con.execute(
        f"INSERT INTO {HISTORY_TABLE} (time, action, note, source, n_added, n_removed, undoes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (time, action, note, source, len(added), len(removed), undoes),
    )
    change = int(cur.lastrowid)
    columns = ", ".join(RECORD_COLUMNS)
    marks = ", ".join("?" * len(RECORD_COLUMNS))
    for effect, frame in (("removed", removed), ("added", added)):
        con.executemany(
            f"INSERT INTO {HISTORY_ROWS_TABLE} (change, effect, record, {columns}) "
            f"VALUES (?, ?, ?, {marks})",
            ((change, effect, *row) for row in _row_values(frame)),
        )
    con.executemany(
        f"DELETE FROM {OPERATIONS_TABLE} WHERE fid = ?", ((int(f),) for f in removed["fid"])
    )
    con.executemany(
        f"INSERT INTO {OPERATIONS_TABLE} (fid, {columns}) VALUES (?, {marks})",
        _row_values(added),
    )
    con.execute(
        "UPDATE gpkg_contents SET last_change = ? WHERE table_name IN (?, ?, ?)",
        (time, OPERATIONS_TABLE, HISTORY_TABLE, HISTORY_ROWS_TABLE),
    )
    return change


def _store_records(new: pd.DataFrame, first_fid: int) -> pd.DataFrame:
    """Validated operations -> store records with fids from ``first_fid``."""
    return pd.DataFrame(
        {
            "fid": np.arange(first_fid, first_fid + len(new), dtype=np.int64),
            "stand_id": new["stand_id"].astype(str).to_numpy(),
            "date": [d.isoformat() for d in new["date"]],
            "operation": new["operation"].astype(str).to_numpy(),
            "area_ha": new["area_ha"].to_numpy(dtype=float),
            "volume_m3": new["volume_m3"].to_numpy(dtype=float),
            "note": new["note"].astype(str).to_numpy(),
        }
    )


def _program_without_operations(program_dir: Path):
    """Settings, store path and the program's stands etc. read without the operations."""
    settings = load_settings(program_dir)
    path = store_path(program_dir, settings)
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
) -> ChangeResult:
    """Validate ``raw`` (text table), check it against the program and the store, then append it
    in one transaction (creating the store when missing)."""
    program_dir = Path(program_dir)
    settings, path, inputs = _program_without_operations(program_dir)
    new, problems = validate(raw, OPERATIONS_SPEC, file)
    if problems:
        rows = {i + 2: (file, row_label(i + 2)) for i in range(len(raw))}
        raise InputError(relabel_problems(problems, rows))
    new["note"] = new["note"].fillna("") if "note" in new else ""
    for col in ("area_ha", "volume_m3"):
        new[col] = pd.to_numeric(new[col], errors="coerce") if col in new else np.nan
    time = _now_text(now)

    def apply(con: sqlite3.Connection) -> int:
        existing, problems = operations_in(con, path)
        if problems:
            raise InputError(problems)
        first = _next_fid(con)
        labels = {int(f): (str(path), f"row {f}") for f in existing["source_row"]}
        file_rows = new["source_row"].to_numpy()
        new_checked = new.assign(source_row=np.arange(first, first + len(new)))
        labels |= {first + i: (file, row_label(int(r))) for i, r in enumerate(file_rows)}
        log.info("checking %d new record(s) against %d kept", len(new), len(existing))
        check_new_records(inputs.stands, settings.periods, existing, new_checked, labels)
        added = _store_records(new, first)
        removed = pd.DataFrame(columns=["fid", *RECORD_COLUMNS])
        return _write_change(
            con,
            action=action,
            note=note,
            source=source,
            added=added,
            removed=removed,
            undoes=None,
            time=time,
        )

    change = _change(path, apply)
    return ChangeResult(path, change, action, len(new), 0, note, time)


def _change(path: Path, apply: Callable[[sqlite3.Connection], int], *, create: bool = True) -> int:
    """Run ``apply`` in one transaction on the store; a missing store is built (``create``) in a
    temporary file and linked into place only when the change is complete."""
    if path.exists() or not create:
        with open_store(path) as con, _transaction(con):
            return apply(con)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent)
    except OSError as e:
        raise OutputError(f"cannot create the record store in {path.parent}: {e}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        try:
            _create(tmp)
        except Exception as e:  # GDAL and the file system raise many types
            raise OutputError(f"cannot create the record store in {path.parent}: {e}") from None
        with open_store(tmp) as con, _transaction(con):
            change = apply(con)
        try:
            os.link(tmp, path)  # atomic, and never replaces a store created meanwhile
        except FileExistsError:
            raise ForestCarbonError(
                f"{path} was created by another command meanwhile; run this one again"
            ) from None
        except OSError:
            os.replace(tmp, path)  # file systems without hard links
        _fsync_dir(path.parent)
        return change
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)


# --- public operations ----------------------------------------------------------------------------


def import_operations(
    program_dir: str | Path,
    file: str | Path,
    *,
    note: str = "",
    now: Callable[[], dt.datetime] | None = None,
) -> ChangeResult:
    """Append every operation of a CSV/XLSX file (Japanese or English headers, UTF-8 or cp932) to
    the program's record store, after checking all of them; creates the store when missing.

    Raises
    ------
    InputError
        Every problem of the file at once (nothing is written).
    """
    file = Path(file)
    raw = read_table(file)
    n = len(raw)
    return _record(
        program_dir,
        raw,
        file=str(file),
        action="import",
        note=note or f"import {file.name} ({n} rows)",
        source=str(file),
        row_label=lambda r: f"row {r}",
        now=now,
    )


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
    now: Callable[[], dt.datetime] | None = None,
) -> ChangeResult:
    """Record one operation (values as typed on the command line, parsed like a CSV row).

    Parameters
    ----------
    area_ha : treated area [ha]; None: the whole stand.
    volume_m3 : thinned or felled volume [m3].
    note : the record's note (備考).
    message : the history note; default a description of the record.
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
    return _record(
        program_dir,
        raw,
        file="ops add",
        action="add",
        note=message or f"add {operation} {stand_id} {date}{area}",
        source="forestcarbon ops add",
        row_label=lambda _r: "",
        now=now,
    )


def _undo_target(con: sqlite3.Connection) -> tuple[int, str, str] | None:
    row = con.execute(
        f"SELECT fid, action, note FROM {HISTORY_TABLE} WHERE action != 'undo' AND fid NOT IN "
        f"(SELECT undoes FROM {HISTORY_TABLE} WHERE undoes IS NOT NULL) ORDER BY fid DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), row[1], row[2])


def _change_rows(con: sqlite3.Connection, change: int, effect: str) -> pd.DataFrame:
    columns = ", ".join(RECORD_COLUMNS)
    rows = con.execute(
        f"SELECT record, {columns} FROM {HISTORY_ROWS_TABLE} WHERE change = ? AND effect = ? "
        "ORDER BY record",
        (change, effect),
    ).fetchall()
    return typed_records(pd.DataFrame(rows, columns=["fid", *RECORD_COLUMNS]))


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
    program_dir = Path(program_dir)
    path = store_path(program_dir, load_settings(program_dir))
    time = _now_text(now)
    result: dict = {}

    def apply(con: sqlite3.Connection) -> int:
        target = _undo_target(con)
        if target is None:
            raise InputError(Problem(str(path), "", "", "nothing to undo"))
        change, action, what = target
        added_then = _change_rows(con, change, "added")
        removed_then = _change_rows(con, change, "removed")
        present = query_records(con, added_then["fid"].tolist())
        if len(present) != len(added_then) or not _same(present, added_then):
            raise InputError(
                Problem(
                    str(path),
                    "",
                    "",
                    f"cannot undo change {change}: {len(added_then) - len(present)} of the "
                    f"records it added are missing or were edited outside forestcarbon (QGIS?)",
                )
            )
        result["note"] = note or f"undo change {change} ({action}: {what})"
        result["counts"] = (len(removed_then), len(present))
        return _write_change(
            con,
            action="undo",
            note=result["note"],
            source="forestcarbon ops undo",
            added=removed_then,
            removed=present,
            undoes=change,
            time=time,
        )

    change = _change(path, apply, create=False)
    return ChangeResult(path, change, "undo", *result["counts"], result["note"], time)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["fid", *RECORD_COLUMNS]
    a = a[cols].sort_values("fid").reset_index(drop=True)
    b = b[cols].sort_values("fid").reset_index(drop=True)
    return a.equals(b)


def read_history(path: str | Path) -> pd.DataFrame:
    """The history of a store: change, time (UTC), action, note, source, n_added, n_removed,
    undoes, undone_by (the undo that reverted the change, if any)."""
    with open_store(Path(path)) as con:
        rows = con.execute(
            f"SELECT fid, time, action, note, source, n_added, n_removed, undoes "
            f"FROM {HISTORY_TABLE} ORDER BY fid"
        ).fetchall()
    df = pd.DataFrame(
        rows,
        columns=[
            "change",
            "time",
            "action",
            "note",
            "source",
            "n_added",
            "n_removed",
            "undoes",
        ],
    )
    df["undoes"] = df["undoes"].astype("Int64")
    undone = df.dropna(subset=["undoes"]).set_index("undoes")["change"]
    df["undone_by"] = df["change"].map(undone).astype("Int64")
    return df


def replay_history(path: str | Path) -> pd.DataFrame:
    """The records the history alone rebuilds: every change's removals and additions applied in
    order, starting from an empty store (same columns as :func:`read_records`)."""
    with open_store(Path(path)) as con:
        columns = ", ".join(RECORD_COLUMNS)
        rows = con.execute(
            f"SELECT change, effect, record, {columns} FROM {HISTORY_ROWS_TABLE} "
            "ORDER BY change, effect DESC, record"  # 'removed' before 'added' within a change
        ).fetchall()
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


def verify_history(path: str | Path) -> tuple[bool, str]:
    """Whether replaying the history gives exactly the current records, and a sentence saying so."""
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


def ensure_store(path: str | Path) -> None:
    """Create an empty record store at ``path`` when none exists (atomically, as a first change
    would; for tables kept beside the operations, such as the credit ledger)."""
    path = Path(path)
    if not path.exists():
        try:
            _change(path, lambda con: 0)
        except ForestCarbonError:
            if not path.exists():
                raise
