"""SQL of the credit ledger: its tables in the record store, and every statement it runs.

Kept apart from the ledger's logic (:mod:`forestcarbon.officer.ledger`) so that another store
backend needs only this module: the statements are portable SQL (SQLite 3.24+ and PostgreSQL:
``INSERT ... ON CONFLICT ... DO UPDATE``), with values only as parameters (``?`` here, the
DB-API ``qmark`` style of :mod:`sqlite3`). Nothing is built from user text.

Tables
------
``credit_entries`` (append-only: triggers refuse UPDATE and DELETE)
    One row per movement of one vintage (methodology and period): ``entry`` (number), ``change``
    (the command that wrote it; an undo reverses a whole change), ``time`` (UTC clock), ``date``
    (the day it happened), ``action`` (``issue`` | ``sell`` | ``retire`` | ``stickers`` |
    ``undo``), ``holder`` (whose credits move: ``city`` or a buyer), ``buyer`` (the receiving
    buyer of a sale), ``methodology``, ``period``, ``tonnes`` [t-CO2, whole], ``price_yen`` [JPY],
    ``purpose`` (無効化の用途), ``reference`` (registry or certification reference), ``run`` and
    ``run_sha256`` (the run folder an issue was checked against and the sha256 of its
    ``provenance.json``), ``retirement`` (the retirement entry stickers stand on), ``per_tonne``
    (stickers per tonne), ``serial_first``, ``serial_last`` (sticker serials, inclusive),
    ``undoes`` (the entry an undo entry reverses), ``source`` (command or file), ``prev_hash``
    and ``hash`` (sha256 chain, :func:`forestcarbon.officer.ledger.entry_hash`).
``credit_balances``
    The balances the writes keep, per ``holder``, ``methodology`` and ``period``: ``held_t`` and
    ``retired_t`` [t-CO2], ``stickers`` (count). ``forestcarbon verify`` recomputes them from the
    entries.
"""

from __future__ import annotations

import sqlite3

ENTRIES_TABLE = "credit_entries"
BALANCES_TABLE = "credit_balances"

ENTRY_COLUMNS = (
    "entry",
    "change",
    "time",
    "date",
    "action",
    "holder",
    "buyer",
    "methodology",
    "period",
    "tonnes",
    "price_yen",
    "purpose",
    "reference",
    "run",
    "run_sha256",
    "retirement",
    "per_tonne",
    "serial_first",
    "serial_last",
    "undoes",
    "source",
    "prev_hash",
    "hash",
)
"""Columns of ``credit_entries``, in table order."""

BALANCE_COLUMNS = ("holder", "methodology", "period", "held_t", "retired_t", "stickers")

_INTEGER = {
    "entry",
    "change",
    "tonnes",
    "price_yen",
    "retirement",
    "per_tonne",
    "serial_first",
    "serial_last",
    "undoes",
}

CREATE = (
    f"CREATE TABLE IF NOT EXISTS {ENTRIES_TABLE} ("
    + ", ".join(
        "entry INTEGER PRIMARY KEY NOT NULL"
        if c == "entry"
        else f"{c} INTEGER"
        if c in _INTEGER
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
)
"""Statements creating the ledger's tables and triggers (idempotent)."""

DESCRIPTIONS = {
    ENTRIES_TABLE: "credit ledger (クレジット台帳): append-only entries with a sha256 chain",
    BALANCES_TABLE: "credit balances per holder and vintage kept by forestcarbon credits",
}

INSERT_ENTRY = (
    f"INSERT INTO {ENTRIES_TABLE} ({', '.join(ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
)
SELECT_ENTRIES = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM {ENTRIES_TABLE} ORDER BY entry"
SELECT_BALANCES = (
    f"SELECT {', '.join(BALANCE_COLUMNS)} FROM {BALANCES_TABLE} "
    "ORDER BY holder, methodology, period"
)
ADD_BALANCE = (
    f"INSERT INTO {BALANCES_TABLE} ({', '.join(BALANCE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (holder, methodology, period) DO UPDATE SET "
    f"held_t = {BALANCES_TABLE}.held_t + excluded.held_t, "
    f"retired_t = {BALANCES_TABLE}.retired_t + excluded.retired_t, "
    f"stickers = {BALANCES_TABLE}.stickers + excluded.stickers"
)


def has_ledger(con: sqlite3.Connection) -> bool:
    """Whether the store holds the ledger's tables."""
    row = con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (ENTRIES_TABLE,)
    ).fetchone()
    return bool(row[0])


def create_tables(con: sqlite3.Connection, time: str) -> None:
    """Create the ledger's tables inside the caller's transaction, and list them in the
    GeoPackage's ``gpkg_contents`` (QGIS shows them) when the store is a GeoPackage."""
    if has_ledger(con):
        return
    for statement in CREATE:
        con.execute(statement)
    gpkg = con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_contents'"
    ).fetchone()[0]
    if gpkg:
        for table, text in DESCRIPTIONS.items():
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change) VALUES (?, 'attributes', ?, ?, ?)",
                (table, table, text, time),
            )


def read_entries(con: sqlite3.Connection) -> list[dict]:
    """Every entry, in entry order, as dicts keyed by :data:`ENTRY_COLUMNS`."""
    if not has_ledger(con):
        return []
    return [dict(zip(ENTRY_COLUMNS, row, strict=True)) for row in con.execute(SELECT_ENTRIES)]


def read_balances(con: sqlite3.Connection) -> list[tuple]:
    """Stored balances: (holder, methodology, period, held_t, retired_t, stickers) rows."""
    if not has_ledger(con):
        return []
    return [tuple(row) for row in con.execute(SELECT_BALANCES)]


def append(con: sqlite3.Connection, entries: list[dict], deltas: dict, time: str) -> None:
    """Insert entries and add balance deltas ((holder, methodology, period) -> [held, retired,
    stickers]) inside the caller's transaction."""
    con.executemany(INSERT_ENTRY, ([e[c] for c in ENTRY_COLUMNS] for e in entries))
    con.executemany(
        ADD_BALANCE, ((*key, *delta) for key, delta in sorted(deltas.items()) if any(delta))
    )
    con.execute(
        "UPDATE gpkg_contents SET last_change = ? WHERE table_name IN (?, ?)",
        (time, ENTRIES_TABLE, BALANCES_TABLE),
    )
