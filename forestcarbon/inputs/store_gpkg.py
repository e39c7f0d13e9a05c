"""The GeoPackage (SQLite) record store: one file, one officer at a time (the default).

Tables: see :mod:`forestcarbon.inputs.records`; beside them the officers' ``reviews``
(:mod:`forestcarbon.inputs.reviews`) and the credit ledger's ``credit_entries`` and
``credit_balances`` (:mod:`forestcarbon.officer.ledger_sql`), created on first use and listed in
``gpkg_contents`` so that QGIS shows them. ``reviews`` and ``credit_entries`` are append-only
(triggers), and a new ``credit_entries`` row must continue the hash chain: its number follows the
last one and its ``prev_hash`` is the last entry's ``hash`` (trigger).

Safety
------
Every change is one SQLite transaction (rollback journal, ``synchronous = FULL``). A crash or a
kill in the middle of a write leaves a *hot journal* beside the file; the next connection with write
access (any ``forestcarbon`` command, QGIS) rolls it back, so the store is exactly its previous
state. A new store is built in a temporary file and linked into place only when complete. Triggers
make ``history`` and ``history_rows`` refuse UPDATE and DELETE. Writers take the SQLite write lock
before reading what they check (``BEGIN IMMEDIATE``), so two officers recording at the same time
cannot both pass the checks against a stale state. SQLite's locking is not reliable on network
file systems: several officers sharing one register use the PostgreSQL store
(:mod:`forestcarbon.inputs.store_postgres`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from forestcarbon.core.exceptions import ForestCarbonError, InputError, OutputError, Problem
from forestcarbon.inputs.stores import (
    ATTRIBUTE_COLUMNS,
    BALANCE_COLUMNS,
    BALANCES_TABLE,
    DECISIONS,
    ENTRIES_TABLE,
    ENTRY_COLUMNS,
    ENTRY_INTEGERS,
    GENESIS_HASH,
    GEOMETRY_COLUMN,
    HISTORY_COLUMNS,
    HISTORY_ROWS_TABLE,
    HISTORY_TABLE,
    OPERATIONS_TABLE,
    RECORD_COLUMNS,
    REVIEW_COLUMNS,
    REVIEWS_TABLE,
    STANDS_TABLE,
    RecordStore,
    StoreSession,
    T,
    as_multipolygon,
    typed_entry,
    typed_history,
    typed_history_rows,
    typed_records,
    typed_reviews,
)

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another writer (or a QGIS edit session) to finish [s]."""

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


_SIDE_DESCRIPTIONS = {
    REVIEWS_TABLE: "append-only officer reviews of stands held by canopy evidence",
    ENTRIES_TABLE: "credit ledger (クレジット台帳): append-only entries with a sha256 chain",
    BALANCES_TABLE: "credit balances per holder and vintage kept by forestcarbon credits",
}

_CREATE_REVIEWS = (
    f"CREATE TABLE {REVIEWS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
    "time TEXT NOT NULL, stand_id TEXT NOT NULL CHECK (stand_id <> ''), "
    f"decision TEXT NOT NULL CHECK (decision IN ({', '.join(repr(d) for d in DECISIONS)})), "
    "note TEXT NOT NULL CHECK (trim(note) <> ''))",
    *(
        f'CREATE TRIGGER "{REVIEWS_TABLE}_append_only_{event.lower()}" BEFORE {event} ON '
        f"\"{REVIEWS_TABLE}\" BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END"
        for event in ("UPDATE", "DELETE")
    ),
)
"""The reviews table and its append-only triggers (fixed text: no user value in it)."""

_CREATE_LEDGER = (
    f"CREATE TABLE IF NOT EXISTS {ENTRIES_TABLE} ("
    + ", ".join(
        "entry INTEGER PRIMARY KEY NOT NULL"
        if c == "entry"
        else f"{c} INTEGER"
        if c in ENTRY_INTEGERS
        else f"{c} TEXT NOT NULL"
        for c in ENTRY_COLUMNS
    )
    + ")",
    f"CREATE TABLE IF NOT EXISTS {BALANCES_TABLE} (fid INTEGER PRIMARY KEY, holder TEXT NOT NULL, "
    "methodology TEXT NOT NULL, period TEXT NOT NULL, held_t INTEGER NOT NULL, "
    "retired_t INTEGER NOT NULL, stickers INTEGER NOT NULL, "
    "UNIQUE (holder, methodology, period))",
    *(
        f"CREATE TRIGGER IF NOT EXISTS {ENTRIES_TABLE}_append_only_{event.lower()} BEFORE {event} "
        f"ON {ENTRIES_TABLE} BEGIN SELECT RAISE(ABORT, '{ENTRIES_TABLE} is append-only'); END"
        for event in ("UPDATE", "DELETE")
    ),
    f"CREATE TRIGGER IF NOT EXISTS {ENTRIES_TABLE}_chain BEFORE INSERT ON {ENTRIES_TABLE} "
    f"WHEN NEW.entry IS NOT (SELECT coalesce(max(entry), 0) + 1 FROM {ENTRIES_TABLE}) "
    f"OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM {ENTRIES_TABLE} ORDER BY entry DESC "
    f"LIMIT 1), '{GENESIS_HASH}') BEGIN SELECT RAISE(ABORT, "
    f"'{ENTRIES_TABLE}: a new entry must continue the hash chain'); END",
)
"""The ledger's tables and triggers (idempotent; fixed text)."""

_INSERT_ENTRY = (
    f"INSERT INTO {ENTRIES_TABLE} ({', '.join(ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
)
_ADD_BALANCE = (
    f"INSERT INTO {BALANCES_TABLE} ({', '.join(BALANCE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (holder, methodology, period) DO UPDATE SET "
    f"held_t = {BALANCES_TABLE}.held_t + excluded.held_t, "
    f"retired_t = {BALANCES_TABLE}.retired_t + excluded.retired_t, "
    f"stickers = {BALANCES_TABLE}.stickers + excluded.stickers"
)


# --- opening and reading --------------------------------------------------------------------------


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
def open_store(
    path: Path, *, history: bool = True, records: bool = True
) -> Iterator[sqlite3.Connection]:
    """Connection to an existing store; SQLite errors become :class:`InputError`.

    Opened read-write when the file allows it, so that an interrupted write (hot journal) is
    rolled back on first access. ``records``: the file must hold the operations table (not for a
    file of reviews or ledger only); ``history``: and the history tables.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            Problem(
                str(path),
                "",
                "",
                "record store not found; create it from the operations file with "
                "forestcarbon ops init PROGRAM_DIR (or ops import / ops add)",
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
        needed = needed if records else []
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


# --- treated-area polygons (GeoPackage geometry blobs) -------------------------------------------

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
"""GeoPackage geometry header: envelope contents indicator -> envelope size [bytes]."""


def gpkg_blob(geom, srs_id: int) -> bytes | None:
    """A geometry as a GeoPackage geometry blob (GeoPackage 1.3 §2.1.3: "GP", version 0, flags
    little-endian with an xy envelope, srs_id, envelope, then little-endian WKB); None stays
    None."""
    if geom is None:
        return None
    minx, miny, maxx, maxy = shapely.bounds(geom)
    header = b"GP" + bytes([0, 0b0000_0011]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, byte_order=1)


def from_gpkg_blob(blob) -> object:
    """A GeoPackage geometry blob (as written here, by GDAL or QGIS) -> a shapely geometry; None
    for NULL."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        raise ValueError("GeoPackage geometry blob with an unknown envelope")
    return shapely.from_wkb(blob[8 + envelope :])


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}


def has_geometry(con: sqlite3.Connection) -> bool:
    """True when the store's operations table has the treated-area polygon column (stores
    created before it have none: :func:`ensure_geometry` adds it on the next write)."""
    return GEOMETRY_COLUMN in _columns(con, OPERATIONS_TABLE)


def _srs_id(con: sqlite3.Connection) -> int:
    row = con.execute(
        "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ? AND column_name = ?",
        (OPERATIONS_TABLE, GEOMETRY_COLUMN),
    ).fetchone()
    return int(row[0]) if row else 0


def ensure_geometry(con: sqlite3.Connection, crs: str, path: Path) -> None:
    """Give the operations table its treated-area polygon column once (inside the caller's
    transaction): a GeoPackage geometry column ``geometry`` (MULTIPOLYGON, the working CRS
    ``crs``, registered in ``gpkg_geometry_columns`` so that QGIS shows the table as a polygon
    layer and edits it) and a ``geometry`` column of ``history_rows`` keeping each polygon a
    change added or removed. No spatial index: its GDAL triggers call functions plain SQLite
    lacks."""
    if has_geometry(con):
        return
    target = pyproj.CRS.from_user_input(crs)
    epsg = target.to_epsg()
    if epsg is None:
        raise InputError(
            Problem(str(path), "", "[program] crs", f"{crs!r} has no EPSG code for the store")
        )
    con.execute(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
        "organization_coordsys_id, definition, description) VALUES (?, ?, 'EPSG', ?, ?, ?)",
        (target.name, epsg, epsg, target.to_wkt("WKT1_GDAL"), target.name),
    )
    con.execute(f"ALTER TABLE {OPERATIONS_TABLE} ADD COLUMN {GEOMETRY_COLUMN} MULTIPOLYGON")
    con.execute(
        "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, "
        "z, m) VALUES (?, ?, 'MULTIPOLYGON', ?, 0, 0)",
        (OPERATIONS_TABLE, GEOMETRY_COLUMN, epsg),
    )
    con.execute(
        "UPDATE gpkg_contents SET data_type = 'features', srs_id = ?, description = ? "
        "WHERE table_name = ?",
        (epsg, _DESCRIPTIONS[OPERATIONS_TABLE], OPERATIONS_TABLE),
    )
    if GEOMETRY_COLUMN not in _columns(con, HISTORY_ROWS_TABLE):
        con.execute(f"ALTER TABLE {HISTORY_ROWS_TABLE} ADD COLUMN {GEOMETRY_COLUMN} BLOB")


def _select_geometry(con: sqlite3.Connection, table: str) -> str:
    """The SELECT expression of the polygon column (NULL in a store created before it)."""
    return GEOMETRY_COLUMN if GEOMETRY_COLUMN in _columns(con, table) else "NULL"


def _decoded(rows: list, at: int) -> list:
    """Rows with the GeoPackage blob at position ``at`` decoded to a geometry."""
    return [(*r[:at], from_gpkg_blob(r[at]), *r[at + 1 :]) for r in rows]


def query_records(con: sqlite3.Connection, fids: list[int] | None = None) -> pd.DataFrame:
    """Records of an open store (all, or those whose fid is in ``fids``), ordered by fid, with
    the columns of :func:`~forestcarbon.inputs.records.read_records`."""
    columns = ", ".join((*ATTRIBUTE_COLUMNS, _select_geometry(con, OPERATIONS_TABLE)))
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
        rows.sort(key=lambda r: r[0])
    rows = _decoded(rows, 1 + len(ATTRIBUTE_COLUMNS))
    return typed_records(pd.DataFrame(rows, columns=["fid", *RECORD_COLUMNS]))


# --- creating and writing -------------------------------------------------------------------------


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[None]:
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
        with transaction(con):
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


def _row_values(df: pd.DataFrame, srs_id: int) -> list[tuple]:
    """Records as SQL parameters: fid, stand_id, date, operation, area_ha, volume_m3, note,
    geometry (a GeoPackage blob of SRS ``srs_id``, or NULL)."""
    if GEOMETRY_COLUMN not in df:
        df = df.assign(**{GEOMETRY_COLUMN: None})
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
                gpkg_blob(as_multipolygon(r.geometry), srs_id),
            )
        )
    return out


def _has_table(con: sqlite3.Connection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return bool(row[0])


def _register_tables(con: sqlite3.Connection, tables: tuple[str, ...], time: str) -> None:
    """List new attribute tables in ``gpkg_contents`` (QGIS shows them), when a GeoPackage."""
    if not _has_table(con, "gpkg_contents"):
        return
    for table in tables:
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES (?, 'attributes', ?, ?, ?)",
            (table, table, _SIDE_DESCRIPTIONS[table], time),
        )


def _touch(con: sqlite3.Connection, tables: tuple[str, ...], time: str) -> None:
    if _has_table(con, "gpkg_contents"):
        marks = ", ".join("?" * len(tables))
        con.execute(
            f"UPDATE gpkg_contents SET last_change = ? WHERE table_name IN ({marks})",
            (time, *tables),
        )


class GpkgSideTables:
    """Reviews and the credit ledger in a GeoPackage/SQLite transaction (mixed into
    :class:`GpkgSession`)."""

    con: sqlite3.Connection

    def reviews(self) -> pd.DataFrame:
        if not _has_table(self.con, REVIEWS_TABLE):
            return typed_reviews([])
        rows = self.con.execute(
            f"SELECT {', '.join(REVIEW_COLUMNS)} FROM {REVIEWS_TABLE} ORDER BY fid"
        ).fetchall()
        return typed_reviews(rows)

    def _reviews_table(self, time: str) -> None:
        if not _has_table(self.con, REVIEWS_TABLE):
            for statement in _CREATE_REVIEWS:
                self.con.execute(statement)
            _register_tables(self.con, (REVIEWS_TABLE,), time)

    def add_review(self, *, time, stand_id, decision, note) -> int:
        self._reviews_table(time)
        cur = self.con.execute(
            f"INSERT INTO {REVIEWS_TABLE} (time, stand_id, decision, note) VALUES (?, ?, ?, ?)",
            (time, stand_id, decision, note),
        )
        _touch(self.con, (REVIEWS_TABLE,), time)
        return int(cur.lastrowid)

    def ledger_entries(self) -> list[dict]:
        if not _has_table(self.con, ENTRIES_TABLE):
            return []
        rows = self.con.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM {ENTRIES_TABLE} ORDER BY entry"
        )
        return [typed_entry(row) for row in rows]

    def ledger_balances(self) -> list[tuple]:
        if not _has_table(self.con, BALANCES_TABLE):
            return []
        rows = self.con.execute(
            f"SELECT {', '.join(BALANCE_COLUMNS)} FROM {BALANCES_TABLE} "
            "ORDER BY holder, methodology, period"
        )
        return [tuple(row) for row in rows]

    def _ledger_tables(self, time: str) -> None:
        if not _has_table(self.con, ENTRIES_TABLE):
            for statement in _CREATE_LEDGER:
                self.con.execute(statement)
            _register_tables(self.con, (ENTRIES_TABLE, BALANCES_TABLE), time)

    def append_ledger(self, entries, deltas, time) -> None:
        self._ledger_tables(time)
        self.con.executemany(_INSERT_ENTRY, ([e[c] for c in ENTRY_COLUMNS] for e in entries))
        self.con.executemany(
            _ADD_BALANCE,
            ((*key, *delta) for key, delta in sorted(deltas.items()) if any(delta)),
        )
        _touch(self.con, (ENTRIES_TABLE, BALANCES_TABLE), time)

    def restore_side(self, reviews, entries, balances, time) -> None:
        if len(reviews):
            self._reviews_table(time)
            self.con.executemany(
                f"INSERT INTO {REVIEWS_TABLE} ({', '.join(REVIEW_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                [(int(r[0]), *map(str, r[1:])) for r in reviews.itertuples(index=False)],
            )
        if entries or balances:
            self._ledger_tables(time)
            self.con.executemany(_INSERT_ENTRY, ([e[c] for c in ENTRY_COLUMNS] for e in entries))
            self.con.executemany(
                f"INSERT INTO {BALANCES_TABLE} ({', '.join(BALANCE_COLUMNS)}) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                balances,
            )


class GpkgSession(GpkgSideTables, StoreSession):
    """One SQLite transaction on a GeoPackage store."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def records(self, fids=None) -> pd.DataFrame:
        return query_records(self.con, fids)

    def new_fids(self, n: int) -> np.ndarray:
        seq = self.con.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (OPERATIONS_TABLE,)
        ).fetchone()
        top = self.con.execute(f"SELECT max(fid) FROM {OPERATIONS_TABLE}").fetchone()[0]
        first = max(seq[0] if seq else 0, top or 0) + 1
        return np.arange(first, first + n, dtype=np.int64)

    def write_change(self, *, action, note, source, added, removed, undoes, time) -> int:
        con = self.con
        cur = con.execute(
            f"INSERT INTO {HISTORY_TABLE} (time, action, note, source, n_added, n_removed, undoes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time, action, note, source, len(added), len(removed), undoes),
        )
        change = int(cur.lastrowid)
        self._history_rows(change, removed, added)
        con.executemany(
            f"DELETE FROM {OPERATIONS_TABLE} WHERE fid = ?", ((int(f),) for f in removed["fid"])
        )
        self._insert_records(added)
        con.execute(
            "UPDATE gpkg_contents SET last_change = ? WHERE table_name IN (?, ?, ?)",
            (time, OPERATIONS_TABLE, HISTORY_TABLE, HISTORY_ROWS_TABLE),
        )
        return change

    def _values(self, frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
        """Columns and parameters of records for an INSERT (without the polygon column in a
        store created before it, which then cannot take a polygon)."""
        if has_geometry(self.con):
            return list(RECORD_COLUMNS), _row_values(frame, _srs_id(self.con))
        if GEOMETRY_COLUMN in frame and frame[GEOMETRY_COLUMN].notna().any():
            raise InputError(
                Problem(
                    str(self.con.execute("PRAGMA database_list").fetchone()[2]),
                    "",
                    GEOMETRY_COLUMN,
                    "this store has no treated-area polygon column yet: record through "
                    "forestcarbon ops (it adds the column once, in the working CRS)",
                )
            )
        return list(ATTRIBUTE_COLUMNS), [r[:-1] for r in _row_values(frame, 0)]

    def _history_rows(self, change: int, removed: pd.DataFrame, added: pd.DataFrame) -> None:
        for effect, frame in (("removed", removed), ("added", added)):
            names, values = self._values(frame)
            marks = ", ".join("?" * len(names))
            self.con.executemany(
                f"INSERT INTO {HISTORY_ROWS_TABLE} (change, effect, record, {', '.join(names)}) "
                f"VALUES (?, ?, ?, {marks})",
                ((change, effect, *row) for row in values),
            )

    def _insert_records(self, records: pd.DataFrame) -> None:
        names, values = self._values(records)
        marks = ", ".join("?" * len(names))
        self.con.executemany(
            f"INSERT INTO {OPERATIONS_TABLE} (fid, {', '.join(names)}) VALUES (?, {marks})",
            values,
        )

    def history(self) -> pd.DataFrame:
        rows = self.con.execute(
            f"SELECT fid, time, action, note, source, n_added, n_removed, undoes "
            f"FROM {HISTORY_TABLE} ORDER BY fid"
        ).fetchall()
        return typed_history(rows, HISTORY_COLUMNS)

    def history_rows(self, change=None, effect=None) -> pd.DataFrame:
        columns = ", ".join((*ATTRIBUTE_COLUMNS, _select_geometry(self.con, HISTORY_ROWS_TABLE)))
        rows = self.con.execute(
            f"SELECT change, effect, record, {columns} FROM {HISTORY_ROWS_TABLE} "
            "WHERE (? IS NULL OR change = ?) AND (? IS NULL OR effect = ?) "
            "ORDER BY change, effect DESC, record",  # 'removed' before 'added' within a change
            (change, change, effect, effect),
        ).fetchall()
        return typed_history_rows(_decoded(rows, 3 + len(ATTRIBUTE_COLUMNS)))

    def restore(self, history, history_rows, records) -> None:
        self.con.executemany(
            f"INSERT INTO {HISTORY_TABLE} "
            "(fid, time, action, note, source, n_added, n_removed, undoes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    int(h.change),
                    h.time,
                    h.action,
                    h.note,
                    h.source,
                    int(h.n_added),
                    int(h.n_removed),
                    None if pd.isna(h.undoes) else int(h.undoes),
                )
                for h in history.itertuples(index=False)
            ),
        )
        for change, rows in history_rows.groupby("change", sort=True):
            frame = rows.rename(columns={"record": "fid"})
            self._history_rows(
                int(change),
                frame[frame["effect"] == "removed"],
                frame[frame["effect"] == "added"],
            )
        self._insert_records(records)
        top = max(
            int(records["fid"].max()) if len(records) else 0,
            int(history_rows["record"].max()) if len(history_rows) else 0,
        )
        self.con.execute(
            "INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES (?, ?)",
            (OPERATIONS_TABLE, top),
        )


class GpkgStore(RecordStore):
    """A record store in a GeoPackage file."""

    kind = "gpkg"

    def __init__(self, path: Path, crs: str = ""):
        self.path = Path(path)
        self.crs = crs
        """The program's working CRS: the CRS of the treated-area polygons; '' when the store
        is only read (a store is never given its polygon column without it)."""
        self.label = str(self.path)
        self.name = self.path.name

    def exists(self) -> bool:
        return self.path.exists()

    def read(self, apply: Callable[[StoreSession], T], *, history: bool = True) -> T:
        with open_store(self.path, history=history) as con:
            return apply(GpkgSession(con))

    def read_side(self, apply: Callable[[StoreSession], T]) -> T | None:
        if not self.path.is_file():
            return None
        with open_store(self.path, records=False) as con:
            return apply(GpkgSession(con))

    def change(
        self, apply: Callable[[StoreSession], T], *, create: bool = True, side: bool = False
    ) -> T:
        """Run ``apply`` in one transaction; a missing store is built (``create``) in a temporary
        file and linked into place only when the change is complete."""
        path = self.path
        if path.exists() or not create:
            with open_store(path, records=not side) as con, transaction(con):
                if not side and self.crs:
                    ensure_geometry(con, self.crs, path)
                return apply(GpkgSession(con))
        try:
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent
            )
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
            with open_store(tmp) as con, transaction(con):
                if self.crs:
                    ensure_geometry(con, self.crs, path)
                result = apply(GpkgSession(con))
            try:
                os.link(tmp, path)  # atomic, and never replaces a store created meanwhile
            except FileExistsError:
                raise ForestCarbonError(
                    f"{path} was created by another command meanwhile; run this one again"
                ) from None
            except OSError:
                os.replace(tmp, path)  # file systems without hard links
            _fsync_dir(path.parent)
            return result
        finally:
            for leftover in (tmp, Path(f"{tmp}-journal")):
                leftover.unlink(missing_ok=True)

    def read_stands(self) -> gpd.GeoDataFrame | None:
        if not self.path.exists():
            return None
        layers = {name for name, _ in pyogrio.list_layers(self.path)}
        if STANDS_TABLE not in layers:
            return None
        return pyogrio.read_dataframe(self.path, layer=STANDS_TABLE)

    def write_stands(self, stands: gpd.GeoDataFrame) -> None:
        """Add ``stands`` as a ``stands`` layer (a copy back from PostgreSQL keeps the register
        beside the operations; point ``[inputs] stands`` at it to use it)."""
        pyogrio.write_dataframe(stands, self.path, layer=STANDS_TABLE, driver="GPKG")
