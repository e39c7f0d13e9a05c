"""Recording an officer's review of a stand held by canopy evidence (``forestcarbon review``).

Reviews are appended to the ``reviews`` table described in :mod:`forestcarbon.inputs.reviews`; the
table refuses UPDATE and DELETE (triggers), so the reviews are their own history.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyogrio

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError, OutputError, Problem
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import BUSY_TIMEOUT_S
from forestcarbon.inputs.reviews import DECISIONS, REVIEWS_TABLE, review_path

_SCHEMA = {"time": object, "stand_id": object, "decision": object, "note": object}


def _ensure_table(path: Path) -> None:
    """Create the append-only ``reviews`` table (and the GeoPackage) when missing."""
    if path.is_file():
        con = sqlite3.connect(path)
        try:
            if con.execute(
                "SELECT 1 FROM sqlite_master WHERE name = ?", (REVIEWS_TABLE,)
            ).fetchone():
                return
        finally:
            con.close()
    empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in _SCHEMA.items()})
    try:
        pyogrio.write_dataframe(empty, path, layer=REVIEWS_TABLE, driver="GPKG")
    except Exception as e:  # GDAL and the file system raise many types
        raise OutputError(f"cannot create the reviews table in {path}: {e}") from None
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        for event in ("UPDATE", "DELETE"):
            con.execute(
                f'CREATE TRIGGER "{REVIEWS_TABLE}_append_only_{event.lower()}" BEFORE {event} ON '
                f"\"{REVIEWS_TABLE}\" BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END"
            )
        con.execute(
            "UPDATE gpkg_contents SET description = ? WHERE table_name = ?",
            ("append-only officer reviews of stands held by canopy evidence", REVIEWS_TABLE),
        )
        con.execute("COMMIT")
    finally:
        con.close()


def add_review(
    program_dir: str | Path,
    stand_id: str,
    decision: str,
    note: str,
    *,
    now: Callable[[], dt.datetime] | None = None,
) -> tuple[Path, int]:
    """Append a review of ``stand_id``; returns (file, review number).

    Raises
    ------
    InputError
        Unknown stand, a decision other than standing/felled, or an empty note (all listed).
    """
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    where = f"stand {stand_id}"
    problems = []
    if decision not in DECISIONS:
        problems.append(
            Problem("review", where, "decision", f"expected standing or felled, got {decision!r}")
        )
    if not note.strip():
        problems.append(
            Problem("review", where, "note", "required: say what was seen, by whom, and when")
        )
    stands = load_program(program_dir, settings=settings).stands
    if stand_id not in set(stands["stand_id"]):
        problems.append(Problem("review", where, "stand_id", "unknown stand (not in the stands)"))
    if problems:
        raise InputError(problems)
    path = review_path(program_dir, settings)
    _ensure_table(path)
    time = (now or (lambda: dt.datetime.now(dt.UTC)))().strftime("%Y-%m-%dT%H:%M:%SZ")
    con = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        con.execute("BEGIN IMMEDIATE")
        cur = con.execute(
            f'INSERT INTO "{REVIEWS_TABLE}" (time, stand_id, decision, note) VALUES (?, ?, ?, ?)',
            (time, stand_id, decision, note.strip()),
        )
        con.execute("COMMIT")
        return path, int(cur.lastrowid)
    except sqlite3.Error as e:
        raise OutputError(f"cannot record the review in {path}: {e}") from None
    finally:
        con.close()
