"""Where a program keeps its credit ledger, and the state of its record store that a run used.

The ledger (:mod:`forestcarbon.officer.ledger`) lives in the program's PostgreSQL schema with
``[store] url``; else in the GeoPackage named by ``[inputs] operations`` when it is one; else in
``records.gpkg`` in the program folder (created on first use).

:func:`store_state` describes, for ``provenance.json``, what a run read from the store and the
tables beside it, read in one snapshot: the ledger's head (entry count and the hash of its last
entry, which the chain makes stand for every entry before it), the reviews (count, latest number
and a content hash), and for a PostgreSQL store, whose tables are not a file the run can hash,
content hashes of the operations and the stands it read. A content hash is the sha256 of the
rows as compact JSON, one line per row in a stable order (records by fid, reviews by fid, stands in
natural order of stand_id with the geometry as WKB hex), so the same rows give the same hash in
either store: a migration keeps it.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import shapely

from forestcarbon.core.config import Settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.records import is_store, record_store, uses_database
from forestcarbon.inputs.reviews import REVIEW_FILE, review_store
from forestcarbon.inputs.store_gpkg import GpkgStore
from forestcarbon.inputs.stores import (
    ATTRIBUTE_COLUMNS,
    GENESIS_HASH,
    GEOMETRY_COLUMN,
    REVIEW_COLUMNS,
    STAND_COLUMNS,
    RecordStore,
    StoreSession,
    geometry_key,
)

LEDGER_FILE = "records.gpkg"
"""The ledger's GeoPackage when ``[inputs] operations`` is not a record store."""


def ledger_path(program_dir: str | Path, settings: Settings) -> Path:
    """The GeoPackage holding a program's ledger when it has no PostgreSQL store."""
    name = settings.inputs.operations
    return Path(program_dir) / (name if name and is_store(name) else LEDGER_FILE)


def ledger_store(program_dir: str | Path, settings: Settings) -> RecordStore:
    """The store holding a program's credit ledger (see the module docstring)."""
    if uses_database(settings):
        return record_store(program_dir, settings)
    return GpkgStore(ledger_path(program_dir, settings))


def refuse_stranded(program_dir: str | Path, settings: Settings, what: str) -> None:
    """With ``[store] url``: refuse to use the database's ``what`` ("ledger" or "reviews") while
    it holds none and a GeoPackage of the program folder still does (written before the program's
    store was PostgreSQL), rather than start a second history beside the first.

    Raises
    ------
    InputError
        Naming the file, what it holds and the command that copies it
        (``forestcarbon store adopt``).
    """
    if not uses_database(settings):
        return
    file, count, words = {
        "ledger": (LEDGER_FILE, lambda s: len(s.ledger_entries()), "credit ledger entries"),
        "reviews": (REVIEW_FILE, lambda s: len(s.reviews()), "reviews"),
    }[what]
    path = Path(program_dir) / file
    if not path.is_file():
        return
    n = GpkgStore(path).read_side(count)
    if not n or record_store(program_dir, settings).read_side(count):
        return
    raise InputError(
        Problem(
            str(path),
            "",
            "",
            f"holds {n} {words} written before the program's store was PostgreSQL ([store] url), "
            f"which holds none: copy them into the database with forestcarbon store adopt "
            f"{program_dir} {file}",
        )
    )


def _plain(value):
    """A cell as JSON can hold it the same way from either store (NaN and NA as null)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    return value


def content_sha256(rows) -> str:
    """sha256 (hex) of rows (sequences of text, numbers, None), one compact JSON line each."""
    digest = hashlib.sha256()
    for row in rows:
        line = json.dumps([_plain(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _reviews_state(session: StoreSession) -> dict:
    reviews = session.reviews()
    rows = reviews[list(REVIEW_COLUMNS)].itertuples(index=False, name=None)
    return {
        "reviews": len(reviews),
        "latest": int(reviews["fid"].max()) if len(reviews) else 0,
        "sha256": content_sha256(rows),
    }


def _ledger_state(session: StoreSession) -> dict:
    entries = session.ledger_entries()
    return {
        "entries": len(entries),
        "head": entries[-1]["hash"] if entries else GENESIS_HASH,
    }


def _record_rows(records):
    """Records as hashed rows: fid and the attributes, then the treated-area polygon as exact
    WKB hex when the record has one (a record without one hashes as before polygons were kept,
    so older runs still verify)."""
    attrs = records[["fid", *ATTRIBUTE_COLUMNS]].itertuples(index=False, name=None)
    for row, geom in zip(attrs, records[GEOMETRY_COLUMN], strict=True):
        yield row if geom is None else (*row, geometry_key(geom))


def _database_state(session: StoreSession) -> dict:
    records = session.records()
    stands = session.stands_layer()
    out = {
        "operations": {
            "records": len(records),
            "sha256": content_sha256(_record_rows(records)),
        }
    }
    if stands is not None:
        wkb = shapely.to_wkb(stands.geometry.to_numpy(), hex=True)
        attrs = stands[list(STAND_COLUMNS)].itertuples(index=False, name=None)
        out["stands"] = {
            "stands": len(stands),
            "sha256": content_sha256((*a, g) for a, g in zip(attrs, wkb, strict=True)),
        }
    return out


def store_state(program_dir: str | Path, settings: Settings) -> dict | None:
    """What a run read from the program's store (see the module docstring), or None when the
    program keeps no store, reviews or ledger (nothing to record)."""
    if uses_database(settings):
        store = record_store(program_dir, settings)

        def everything(session: StoreSession) -> dict:
            return {
                **_database_state(session),
                "reviews": _reviews_state(session),
                "ledger": _ledger_state(session),
            }

        state = store.read_side(everything)
        if state is None:
            return None
        return {"kind": store.kind, "store": store.label, **state}
    out: dict = {}
    reviews = review_store(program_dir, settings)
    ledger = ledger_store(program_dir, settings)
    if reviews.label == ledger.label:
        both = ledger.read_side(lambda s: (_reviews_state(s), _ledger_state(s)))
        if both is not None:
            out["reviews"], out["ledger"] = both
    else:
        out["reviews"] = reviews.read_side(_reviews_state)
        out["ledger"] = ledger.read_side(_ledger_state)
    out = {k: v for k, v in out.items() if v is not None}
    if out.get("reviews", {}).get("reviews") == 0:
        del out["reviews"]
    if out.get("ledger", {}).get("entries") == 0:
        del out["ledger"]
    if not out:
        return None
    return {"kind": "gpkg", **out}
