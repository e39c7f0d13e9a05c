"""Reading the record store: where it sits, its tables, and the operations recorded in it.

The record store is written by :mod:`forestcarbon.officer.store` (``forestcarbon ops``); this
module only locates and reads it, so that :func:`forestcarbon.inputs.program.load_program` reads
the operations without depending on the officer tools.

Where the store sits
--------------------
The store is the file named by ``[inputs] operations`` when that name ends in ``.gpkg`` (for
example ``operations = "records.gpkg"``). :func:`~forestcarbon.inputs.program.load_program`
then reads the operations from the store's ``operations`` table, so ``forestcarbon run``
computes with exactly what was recorded. A program whose operations are a CSV/XLSX file works
as before; to switch, set ``operations = "records.gpkg"`` and seed the store with
``forestcarbon ops import PROGRAM_DIR operations.csv`` (the CSV is not read any more after that).

Tables (plain GeoPackage attribute tables; QGIS and ``ogrinfo`` open them)
----------------------------------------------------------------------
``operations``
    ``fid`` (record number), ``stand_id``, ``date`` (``YYYY-MM-DD``), ``operation``, ``area_ha``
    [ha], ``volume_m3`` [m3], ``note``. In messages about a store, "row N" is the record's fid.
``history``
    One row per change, append-only: ``fid`` (the change number), ``time`` (UTC, ISO 8601, from the
    clock), ``action`` (``import`` | ``add`` | ``undo``), ``note``, ``source`` (file imported or
    command), ``n_added``, ``n_removed``, ``undoes`` (the change an undo reverted).
``history_rows``
    Every record each change added or removed: ``change``, ``effect`` (``added`` | ``removed``),
    ``record`` (the record's fid) and the record's columns. Replaying it rebuilds ``operations``
    (:func:`forestcarbon.officer.store.verify_history`).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from forestcarbon.core.config import CONFIG_FILE, Settings, program_file
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import note_input
from forestcarbon.inputs.schemas import OPERATIONS_SPEC, empty_operations, validate

OPERATIONS_TABLE = "operations"
HISTORY_TABLE = "history"
HISTORY_ROWS_TABLE = "history_rows"
"""Names of the store's tables (see the module docstring)."""

RECORD_COLUMNS = ("stand_id", "date", "operation", "area_ha", "volume_m3", "note")
"""Columns of a record, in store order."""

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another writer (or a QGIS edit session) to finish [s]."""


def is_store(path: str | Path) -> bool:
    """True when ``path`` names a record store (a GeoPackage)."""
    return Path(path).suffix.lower() == ".gpkg"


def store_path(program_dir: str | Path, settings: Settings) -> Path:
    """The record store of a program (``[inputs] operations``); an error with the fix otherwise."""
    program_dir = Path(program_dir)
    name = settings.inputs.operations
    if not name or not is_store(name):
        current = name or "operations.csv"
        raise InputError(
            Problem(
                str(program_dir / CONFIG_FILE),
                "",
                "[inputs] operations",
                f"is {name!r}, not a record store (.gpkg). To record operations, set "
                f'operations = "records.gpkg" under [inputs] and seed the store from the '
                f"existing records: forestcarbon ops import {program_dir} "
                f"{program_dir / current}",
            )
        )
    return program_file(program_dir, name, settings, "[inputs] operations")


def _store_error(path: Path, error: sqlite3.Error) -> InputError:
    text = str(error)
    if "locked" in text or "busy" in text:
        message = (
            "another program is writing the record store (another forestcarbon command, or a "
            "QGIS edit session): try again when it has finished"
        )
    elif "not a database" in text or "malformed" in text:
        message = f"not a readable GeoPackage/SQLite file ({text})"
    elif "readonly" in text:
        message = (
            f"cannot write the record store ({text}); it needs write permission, also to roll "
            "back an interrupted write"
        )
    else:
        message = f"record store error: {text}"
    return InputError(Problem(str(path), "", "", message))


@contextlib.contextmanager
def open_store(path: Path, *, history: bool = True) -> Iterator[sqlite3.Connection]:
    """Connection to an existing store; SQLite errors become :class:`InputError`.

    Opened read-write when the file allows it, so that an interrupted write (hot journal) is
    rolled back on first access.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            Problem(
                str(path),
                "",
                "",
                "record store not found; create it with forestcarbon ops import "
                "PROGRAM_DIR operations.csv (or ops add)",
            )
        )
    try:
        con = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as e:
        raise _store_error(path, e) from None
    try:
        con.execute("PRAGMA synchronous = FULL")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        needed = [OPERATIONS_TABLE] + ([HISTORY_TABLE, HISTORY_ROWS_TABLE] if history else [])
        missing = [t for t in needed if t not in tables]
        if missing:
            raise InputError(
                Problem(
                    str(path),
                    "",
                    "",
                    f"not a forestcarbon record store: no table {', '.join(missing)}",
                )
            )
        yield con
    except sqlite3.Error as e:
        raise _store_error(path, e) from None
    finally:
        con.close()


def query_records(con: sqlite3.Connection, fids: list[int] | None = None) -> pd.DataFrame:
    """Records of an open store (all, or those whose fid is in ``fids``), ordered by fid, with
    the columns of :func:`read_records`."""
    columns = ", ".join(RECORD_COLUMNS)
    if fids is None:
        rows = con.execute(f"SELECT fid, {columns} FROM {OPERATIONS_TABLE} ORDER BY fid").fetchall()
    else:
        rows = []
        for start in range(0, len(fids), 500):
            chunk = fids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows += con.execute(
                f"SELECT fid, {columns} FROM {OPERATIONS_TABLE} WHERE fid IN ({marks})", chunk
            ).fetchall()
        rows.sort()
    return typed_records(pd.DataFrame(rows, columns=["fid", *RECORD_COLUMNS]))


def typed_records(df: pd.DataFrame) -> pd.DataFrame:
    """Records (fid and :data:`RECORD_COLUMNS`) as read from SQLite -> the store's dtypes: fid
    int64, area_ha [ha] and volume_m3 [m3] float (NaN when empty), the other columns text."""
    df = df.copy()
    df["fid"] = df["fid"].astype(np.int64)
    for col in ("area_ha", "volume_m3"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("stand_id", "date", "operation", "note"):
        df[col] = df[col].fillna("").astype(str)
    return df


def read_records(path: str | Path) -> pd.DataFrame:
    """Every record of a store as stored: fid, stand_id, date (text), operation, area_ha [ha],
    volume_m3 [m3], note; ordered by fid."""
    with open_store(Path(path), history=False) as con:
        return query_records(con)


_ROW = re.compile(r"^row (\d+)(.*)$", re.S)


def relabel_problems(problems: list[Problem], labels: dict[int, tuple[str, str]]) -> list[Problem]:
    """Point problems that say "row N" (N a provisional number) at their real file and row."""
    out = []
    for p in problems:
        m = _ROW.match(p.where)
        if m and int(m.group(1)) in labels:
            file, where = labels[int(m.group(1))]
            out.append(Problem(file, problem_where(where + m.group(2)), p.column, p.message))
        else:
            out.append(p)
    return out


def problem_where(text: str, stand_id: str = "") -> str:
    """Row label for messages: "row 5 (12-3-1)"; "stand 12-3-1" for a record without a row."""
    text = f"{text} ({stand_id})" if stand_id else text
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return "stand " + text[1:-1]
    return text


def records_as_text(records: pd.DataFrame) -> pd.DataFrame:
    """Stored records as the text table :func:`~forestcarbon.inputs.schemas.validate` expects."""

    def text(value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        return repr(value) if isinstance(value, float) else str(value)

    return pd.DataFrame({c: records[c].map(text) for c in RECORD_COLUMNS})


def load_operations(path: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Validated operations of a store, as :func:`~forestcarbon.inputs.program.load_program` uses.

    Returns the table of :data:`~forestcarbon.inputs.schemas.OPERATIONS_SPEC` with
    ``source_row`` = the record's fid, and every problem (rows named by fid). An empty store is
    no operations.
    """
    path = Path(path)
    if Path(path).is_file():
        note_input(path)
    with open_store(path, history=False) as con:
        return operations_in(con, path)


def operations_in(con: sqlite3.Connection, path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """:func:`load_operations` on an open connection (``path`` names the store in messages)."""
    records = query_records(con)
    if records.empty:
        return empty_operations(), []
    ops, problems = validate(records_as_text(records), OPERATIONS_SPEC, str(path))
    fids = records["fid"].to_numpy()
    ops["source_row"] = fids
    labels = {i + 2: (str(path), f"row {fid}") for i, fid in enumerate(fids)}
    return ops, relabel_problems(problems, labels)
