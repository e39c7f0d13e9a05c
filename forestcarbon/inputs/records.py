"""Reading the record store: where it sits, its tables, and the operations recorded in it.

The record store is written by :mod:`forestcarbon.officer.store` (``forestcarbon ops``); this
module only locates and reads it, so that :func:`forestcarbon.inputs.program.load_program` reads
the operations without depending on the officer tools. :func:`record_store` gives the program's
store behind one interface (:class:`~forestcarbon.inputs.stores.RecordStore`): the GeoPackage
below (:mod:`~forestcarbon.inputs.store_gpkg`), or with ``[store] url`` a PostgreSQL/PostGIS schema
(:mod:`~forestcarbon.inputs.store_postgres`) that also holds the stands layer the program reads.

Where the store sits
--------------------
The store is the file named by ``[inputs] operations`` when that name ends in ``.gpkg`` (for
example ``operations = "records.gpkg"``). :func:`~forestcarbon.inputs.program.load_program`
then reads the operations from the store's ``operations`` table, so ``forestcarbon run``
computes with exactly what was recorded. A program whose operations are a CSV/XLSX file works
as before; to switch, ``forestcarbon ops init PROGRAM_DIR`` creates the store from the
operations file (or GeoPackage layer of operations, polygons kept) and sets ``operations =
"records.gpkg"`` (keeping program.toml's previous text as a backup); the file is not read any more
after that.

Tables (plain GeoPackage attribute tables; QGIS and ``ogrinfo`` open them)
----------------------------------------------------------------------
``operations``
    ``fid`` (record number), ``stand_id``, ``date`` (``YYYY-MM-DD``), ``operation``, ``area_ha``
    [ha], ``volume_m3`` [m3], ``note``, and ``geometry``: the treated-area polygon (a GeoPackage
    MULTIPOLYGON column in the working CRS, NULL without one; QGIS shows the table as a polygon
    layer). In messages about a store, "row N" is the record's fid.
``history``
    One row per change, append-only: ``fid`` (the change number), ``time`` (UTC, ISO 8601, from the
    clock), ``action`` (``import`` | ``add`` | ``undo``), ``note``, ``source`` (file imported or
    command), ``n_added``, ``n_removed``, ``undoes`` (the change an undo reverted).
``history_rows``
    Every record each change added or removed: ``change``, ``effect`` (``added`` | ``removed``),
    ``record`` (the record's fid) and the record's columns, its polygon included (a GeoPackage
    geometry blob). Replaying it rebuilds ``operations``
    (:func:`forestcarbon.officer.store.verify_history`).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from forestcarbon.core.config import CONFIG_FILE, Settings, program_file
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import note_input
from forestcarbon.inputs.schemas import OPERATIONS_SPEC, empty_operations, validate
from forestcarbon.inputs.store_gpkg import BUSY_TIMEOUT_S, GpkgStore, open_store, query_records
from forestcarbon.inputs.stores import (
    ATTRIBUTE_COLUMNS,
    GEOMETRY_COLUMN,
    HISTORY_ROWS_TABLE,
    HISTORY_TABLE,
    OPERATIONS_TABLE,
    RECORD_COLUMNS,
    RecordStore,
    StoreSession,
    geometry_key,
    typed_records,
)
from forestcarbon.inputs.treated import is_record_store_file, polygon_problems

__all__ = [
    "BUSY_TIMEOUT_S",
    "HISTORY_ROWS_TABLE",
    "HISTORY_TABLE",
    "OPERATIONS_TABLE",
    "RECORD_COLUMNS",
    "open_store",
    "query_records",
    "typed_records",
]


def is_store(path: str | Path) -> bool:
    """True when ``path`` names a record store (a GeoPackage)."""
    return Path(path).suffix.lower() == ".gpkg"


def store_path(program_dir: str | Path, settings: Settings) -> Path:
    """The record store of a program (``[inputs] operations``); an error with the fix otherwise."""
    program_dir = Path(program_dir)
    name = settings.inputs.operations
    if not name or not is_store(name):
        raise InputError(
            Problem(
                str(program_dir / CONFIG_FILE),
                "",
                "[inputs] operations",
                f"is {name!r}, not a record store (.gpkg). To record operations, run "
                f"forestcarbon ops init {program_dir}: it creates the store from the existing "
                'records and sets operations = "records.gpkg" under [inputs]',
            )
        )
    path = program_file(program_dir, name, settings, "[inputs] operations")
    if path.is_file() and not is_record_store_file(path):
        raise InputError(
            Problem(
                str(path),
                "",
                "[inputs] operations",
                "is a GeoPackage layer of operations, not a record store of forestcarbon ops. "
                f"To record operations with their history, run forestcarbon ops init {program_dir}:"
                " it creates records.gpkg from this layer (treated-area polygons kept) and sets "
                'operations = "records.gpkg"; or keep editing the layer in QGIS (run and validate '
                "read it)",
            )
        )
    return path


def as_store(store: str | Path | RecordStore) -> RecordStore:
    """A :class:`RecordStore` given itself or a GeoPackage path (to read)."""
    return store if isinstance(store, RecordStore) else GpkgStore(Path(store))


def read_records(store: str | Path | RecordStore) -> pd.DataFrame:
    """Every record of a store (a GeoPackage path or a :class:`RecordStore`) as stored: fid,
    stand_id, date (text), operation, area_ha [ha], volume_m3 [m3], note, geometry (the
    treated-area polygon, None without one); ordered by fid."""
    return as_store(store).read(lambda s: s.records(), history=False)


_ROW = re.compile(r"^row (\d+)(.*)$", re.S)


def relabel_problems(
    problems: list[Problem],
    labels: dict[int, tuple[str, str]],
    stand_ids: dict[int, str] | None = None,
) -> list[Problem]:
    """Point problems that say "row N" (N a provisional number) at their real file and row;
    with ``stand_ids``, a bare "row N" also names the stand of row N."""
    out = []
    for p in problems:
        m = _ROW.match(p.where)
        if m and int(m.group(1)) in labels:
            file, where = labels[int(m.group(1))]
            rest = m.group(2)
            sid = (stand_ids or {}).get(int(m.group(1)), "")
            if sid and not rest:
                rest = f" ({sid})"
            out.append(Problem(file, problem_where(where + rest), p.column, p.message))
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


def records_as_text(records: pd.DataFrame, *, geometry: bool = True) -> pd.DataFrame:
    """Stored records as the text table :func:`~forestcarbon.inputs.schemas.validate` expects
    (``geometry``: with the polygon as exact WKB hex, '' without one; for comparisons)."""

    def text(value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        return repr(value) if isinstance(value, float) else str(value)

    out = pd.DataFrame({c: records[c].map(text) for c in ATTRIBUTE_COLUMNS})
    if geometry:
        out[GEOMETRY_COLUMN] = [geometry_key(g) or "" for g in records[GEOMETRY_COLUMN]]
    return out


def load_operations(store: str | Path | RecordStore) -> tuple[pd.DataFrame, list[Problem]]:
    """Validated operations of a store, as :func:`~forestcarbon.inputs.program.load_program` uses.

    Returns the table of :data:`~forestcarbon.inputs.schemas.OPERATIONS_SPEC` with
    ``source_row`` = the record's fid, and every problem (rows named by fid). An empty store is
    no operations.
    """
    if not isinstance(store, RecordStore) and Path(store).is_file():
        note_input(store)  # provenance hashes the bytes the run read
    store = as_store(store)
    return store.read(lambda s: operations_in(s, store.label), history=False)


def operations_in(
    session: StoreSession | sqlite3.Connection, path: str | Path
) -> tuple[pd.DataFrame, list[Problem]]:
    """:func:`load_operations` inside a transaction (``path`` names the store in messages)."""
    if isinstance(session, sqlite3.Connection):
        records = query_records(session)
    else:
        records = session.records()
    if records.empty:
        return empty_operations(), []
    ops, problems = validate(records_as_text(records, geometry=False), OPERATIONS_SPEC, str(path))
    fids = records["fid"].to_numpy()
    ops["source_row"] = fids
    labels = {i + 2: (str(path), f"row {fid}") for i, fid in enumerate(fids)}
    problems = relabel_problems(problems, labels)
    geoms = records[GEOMETRY_COLUMN].to_numpy()
    if any(g is not None for g in geoms):  # treated-area polygons, in the working CRS
        rows = [f"row {f} ({s})" for f, s in zip(fids, records["stand_id"], strict=True)]
        problems += polygon_problems(geoms, rows, str(path), GEOMETRY_COLUMN)
        ops[GEOMETRY_COLUMN] = geoms
        ops.attrs.setdefault("headers", {})[GEOMETRY_COLUMN] = GEOMETRY_COLUMN
    return ops, problems


def default_schema(program_dir: str | Path) -> str:
    """``fc_`` + the program folder's name in lower case, characters other than a-z, 0-9 as
    ``_`` (at most 63 bytes, PostgreSQL's limit)."""
    name = re.sub(r"[^a-z0-9]", "_", Path(program_dir).resolve().name.lower())
    return ("fc_" + name)[:63]


def postgres_url_problem(url: str) -> str:
    """Why ``url`` cannot be a store URL ('' when it can)."""
    if not re.match(r"^postgres(ql)?://", url):
        return "expected a URL like postgresql://user@host/database"
    rest = url.split("://", 1)[1].split("/", 1)[0]
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    if ":" in userinfo or "password=" in url.lower():
        return (
            "contains a password: never put it in program.toml; give it in the PGPASSWORD "
            "environment variable or in ~/.pgpass (one line host:port:database:user:password, "
            "chmod 600)"
        )
    return ""


def open_record_store(
    target: str | Path, *, schema: str = "", crs: str = "EPSG:6673"
) -> RecordStore:
    """The store at ``target``: a ``postgresql://`` URL (with ``schema``; ``crs`` the working CRS
    of its stands layer) or a ``.gpkg`` path."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        problem = postgres_url_problem(text)
        if problem:
            raise InputError(Problem(text.split("@")[-1], "", "url", problem))
        try:
            from forestcarbon.inputs.store_postgres import PostgresStore  # optional: psycopg
        except ImportError as e:
            raise InputError(
                Problem(
                    text.split("@")[-1],
                    "",
                    "url",
                    f"a PostgreSQL store needs psycopg ({e}): pip install 'forestcarbon[postgres]'",
                )
            ) from None
        return PostgresStore(text, schema, crs=crs)
    return GpkgStore(Path(target), crs=crs)


def record_store(program_dir: str | Path, settings: Settings) -> RecordStore:
    """The program's record store: ``[store] url`` (PostgreSQL, schema ``[store] schema``) when
    set, else the GeoPackage named by ``[inputs] operations``; an error with the fix otherwise."""
    program_dir = Path(program_dir)
    url = settings.store.url
    if url:
        problem = postgres_url_problem(url)
        if problem:
            raise InputError(Problem(str(program_dir / CONFIG_FILE), "", "[store] url", problem))
        schema = settings.store.schema or default_schema(program_dir)
        return open_record_store(url, schema=schema, crs=settings.program.crs)
    return open_record_store(store_path(program_dir, settings))


def uses_database(settings: Settings) -> bool:
    """True when the program's record store is a PostgreSQL database (``[store] url``)."""
    return bool(settings.store.url)
