"""The record store behind one interface: a GeoPackage file (the default) or a schema of a
PostgreSQL/PostGIS database (``[store] url``).

The commands (``forestcarbon ops``, ``register``, ``plan``, ``store``) and
:func:`~forestcarbon.inputs.program.load_program` get a :class:`RecordStore` from
:func:`record_store` and never learn which kind it is. A store runs a command's work as one
transaction (:meth:`RecordStore.change`, :meth:`RecordStore.read`), handing it a
:class:`StoreSession` whose methods are the store's whole vocabulary: records, history, new
record numbers, one change written with its history. Another table kept in the store (the credit
ledger, reviews) adopts the same pattern: a session method per read and write, run inside
``change``/``read`` (``read_side`` and ``change(..., side=True)`` for a store that may hold only
those tables), so that it gets the same transaction, retries and locking for free.

Implementations: :mod:`forestcarbon.inputs.store_gpkg` (SQLite; tables described in
:mod:`forestcarbon.inputs.records`) and :mod:`forestcarbon.inputs.store_postgres` (PostGIS).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

T = TypeVar("T")

OPERATIONS_TABLE = "operations"
HISTORY_TABLE = "history"
HISTORY_ROWS_TABLE = "history_rows"
STANDS_TABLE = "stands"
"""Names of the store's tables (see :mod:`forestcarbon.inputs.records`)."""

RECORD_COLUMNS = ("stand_id", "date", "operation", "area_ha", "volume_m3", "note", "geometry")
"""Columns of a record, in store order: the attributes and the treated-area polygon
(``geometry``: a shapely MultiPolygon in the program's working CRS [m], None without one)."""

ATTRIBUTE_COLUMNS = RECORD_COLUMNS[:-1]
"""The record's columns besides its treated-area polygon."""

GEOMETRY_COLUMN = "geometry"
"""Column of the treated-area polygon in the operations table (both stores)."""

HISTORY_COLUMNS = ("change", "time", "action", "note", "source", "n_added", "n_removed", "undoes")
"""Columns of :meth:`StoreSession.history` (``change`` is the history row's number)."""

ACTIONS = ("import", "add", "undo", "migrate")
"""Actions a history row may name (``migrate``: copied from another store, see ``note``)."""

REVIEWS_TABLE = "reviews"
REVIEW_COLUMNS = ("fid", "time", "stand_id", "decision", "note")
"""Columns of the officers' reviews (:mod:`forestcarbon.inputs.reviews`), ``fid`` the review
number."""

DECISIONS = ("standing", "felled")
"""A review's decisions: standing (credits released) or felled (removals held until the final
harvest is recorded)."""

ENTRIES_TABLE = "credit_entries"
BALANCES_TABLE = "credit_balances"
"""The credit ledger's tables (:mod:`forestcarbon.officer.ledger_sql` describes them)."""

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
"""Columns of ``credit_entries``, in table order (the hash chain covers them in this order)."""

ENTRY_INTEGERS = frozenset(
    {
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
)
"""Integer columns of ``credit_entries`` (the others are text, never NULL)."""

LEDGER_ACTIONS = ("issue", "sell", "retire", "stickers", "undo")
GENESIS_HASH = "0" * 64
"""``prev_hash`` of the ledger's first entry."""

BALANCE_COLUMNS = ("holder", "methodology", "period", "held_t", "retired_t", "stickers")
"""Columns of ``credit_balances`` (tonnes [t-CO2], stickers [count])."""

STAND_COLUMNS = (
    "stand_id",
    "species",
    "planted_year",
    "site_class",
    "forest_type",
    "protected",
    "plan_id",
    "area_ha",
    "name",
)
"""Attribute columns of a store's stands layer (the register, validated), besides geometry."""


class StoreSession(abc.ABC):
    """What a command may do inside one transaction of a :class:`RecordStore`."""

    @abc.abstractmethod
    def records(self, fids: list[int] | None = None) -> pd.DataFrame:
        """Records (all, or those whose fid is in ``fids``) ordered by fid: fid and
        :data:`~forestcarbon.inputs.records.RECORD_COLUMNS` (:func:`typed_records` dtypes)."""

    @abc.abstractmethod
    def new_fids(self, n: int) -> np.ndarray:
        """``n`` record numbers never used before in this store (int64, increasing)."""

    @abc.abstractmethod
    def write_change(
        self,
        *,
        action: str,
        note: str,
        source: str,
        added: pd.DataFrame,
        removed: pd.DataFrame,
        undoes: int | None,
        time: str,
    ) -> int:
        """Apply one change (whole records with their fid added and removed) and append it to
        the history; returns the change number."""

    @abc.abstractmethod
    def history(self) -> pd.DataFrame:
        """Every history row, ordered, with :data:`HISTORY_COLUMNS` (``undoes`` Int64)."""

    @abc.abstractmethod
    def history_rows(self, change: int | None = None, effect: str | None = None) -> pd.DataFrame:
        """Records that changes added or removed: change, effect, record and the record columns,
        ordered by change, 'removed' before 'added', record."""

    def seed_stands(self, stands: gpd.GeoDataFrame, only: list[str] | None = None) -> None:  # noqa: B027
        """Make the store's stands layer hold these stands (those in ``only``, or all) where it
        does not yet: a store that links operations to stands needs them first. The GeoPackage
        store keeps no stands and does nothing."""

    @abc.abstractmethod
    def restore(
        self, history: pd.DataFrame, history_rows: pd.DataFrame, records: pd.DataFrame
    ) -> None:
        """Write another store's whole history and records unchanged (numbers kept) into this
        empty store (``forestcarbon store migrate``)."""

    def stands_layer(self) -> gpd.GeoDataFrame | None:
        """The store's stands layer (natural order of stand_id), None when it keeps none."""
        return None

    # --- reviews ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def reviews(self) -> pd.DataFrame:
        """Every review (:data:`REVIEW_COLUMNS`, ``fid`` int64, the rest text) ordered by fid;
        empty when there are none."""

    @abc.abstractmethod
    def add_review(self, *, time: str, stand_id: str, decision: str, note: str) -> int:
        """Append one review (creating the table when missing); returns its number."""

    # --- the credit ledger -----------------------------------------------------------------------

    @abc.abstractmethod
    def ledger_entries(self) -> list[dict]:
        """Every ledger entry in entry order, as dicts keyed by :data:`ENTRY_COLUMNS` (integers
        as int or None, text as str); empty when there is no ledger."""

    @abc.abstractmethod
    def ledger_balances(self) -> list[tuple]:
        """Stored balances, rows of :data:`BALANCE_COLUMNS` ordered by holder, methodology,
        period."""

    @abc.abstractmethod
    def append_ledger(self, entries: list[dict], deltas: dict, time: str) -> None:
        """Insert entries (already numbered and chained) and add the balance deltas
        ((holder, methodology, period) -> [held, retired, stickers]); creates the tables when
        missing."""

    @abc.abstractmethod
    def restore_side(
        self, reviews: pd.DataFrame, entries: list[dict], balances: list[tuple], time: str
    ) -> None:
        """Write another store's reviews and ledger unchanged (numbers kept) into this store
        (``forestcarbon store migrate``)."""


class RecordStore(abc.ABC):
    """A program's record store: a GeoPackage file or a PostgreSQL schema."""

    kind: str
    """``"gpkg"`` or ``"postgresql"``."""
    label: str
    """How messages name the store (a path, or the URL and schema)."""
    name: str
    """Short name for messages ("records.gpkg", "schema fc_x")."""

    @abc.abstractmethod
    def exists(self) -> bool:
        """True when the store has been created."""

    @abc.abstractmethod
    def change(
        self, apply: Callable[[StoreSession], T], *, create: bool = True, side: bool = False
    ) -> T:
        """Run ``apply`` as one atomic write (all or nothing); a missing store is created first
        when ``create`` (else the "not found" error). ``side``: the write touches only the
        tables kept beside the operations (a GeoPackage need not hold the operations tables)."""

    @abc.abstractmethod
    def read(self, apply: Callable[[StoreSession], T], *, history: bool = True) -> T:
        """Run ``apply`` on one consistent snapshot of an existing store, writing nothing."""

    @abc.abstractmethod
    def read_side(self, apply: Callable[[StoreSession], T]) -> T | None:
        """:meth:`read` for the tables kept beside the operations (reviews, ledger): None when
        the store does not exist; a GeoPackage holding only those tables is read too."""

    def read_stands(self) -> gpd.GeoDataFrame | None:
        """The store's stands layer (:data:`STAND_COLUMNS` and geometry), or None when the store
        keeps none (the register is then the program's stands file)."""
        return None

    def write_stands(self, stands: gpd.GeoDataFrame) -> None:  # noqa: B027
        """Keep ``stands`` as the store's stands layer (``store migrate``)."""

    def __str__(self) -> str:
        return self.label


def typed_records(df: pd.DataFrame) -> pd.DataFrame:
    """Records (fid and :data:`RECORD_COLUMNS`) as read from a store -> the store's dtypes: fid
    int64, area_ha [ha] and volume_m3 [m3] float (NaN when empty), the other columns text."""
    df = df.copy()
    df["fid"] = df["fid"].astype(np.int64)
    df[GEOMETRY_COLUMN] = as_geometries(
        df[GEOMETRY_COLUMN] if GEOMETRY_COLUMN in df else [None] * len(df)
    )
    for col in ("area_ha", "volume_m3"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("stand_id", "date", "operation", "note"):
        df[col] = df[col].fillna("").astype(str)
    return df


def as_geometries(values) -> np.ndarray:
    """Treated-area polygons as read from a store (WKB bytes, shapely geometries, None/NaN) ->
    an object array of shapely geometries, None where there is none."""
    out = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            continue
        out[i] = shapely.from_wkb(bytes(v)) if isinstance(v, bytes | bytearray | memoryview) else v
    return out


def as_multipolygon(geom):
    """A treated-area polygon as the stores keep it: a MultiPolygon (a Polygon becomes its
    one-part MultiPolygon; the area is unchanged); None stays None."""
    if geom is None or (isinstance(geom, float) and np.isnan(geom)):
        return None
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


def geometry_key(geom) -> str | None:
    """A treated-area polygon as text for hashes and comparisons (WKB hex, exact), None without
    one."""
    return None if geom is None else shapely.to_wkb(geom, hex=True, byte_order=1)


def typed_reviews(rows) -> pd.DataFrame:
    """Reviews as read from a store -> :data:`REVIEW_COLUMNS` (fid int64, the rest text)."""
    df = pd.DataFrame(list(rows), columns=list(REVIEW_COLUMNS))
    df["fid"] = df["fid"].astype(np.int64)
    for col in REVIEW_COLUMNS[1:]:
        df[col] = df[col].fillna("").astype(str) if len(df) else df[col].astype(object)
    return df


def typed_entry(row) -> dict:
    """One ledger row as read from a store -> a dict of :data:`ENTRY_COLUMNS` (ints and text)."""
    return {
        c: (None if v is None else int(v)) if c in ENTRY_INTEGERS else ("" if v is None else str(v))
        for c, v in zip(ENTRY_COLUMNS, row, strict=True)
    }


def typed_history(rows, columns=HISTORY_COLUMNS) -> pd.DataFrame:
    """History rows as read from a store -> a DataFrame (``undoes`` nullable Int64)."""
    df = pd.DataFrame(list(rows), columns=list(columns))
    for col in ("change", "n_added", "n_removed"):
        df[col] = df[col].astype(np.int64)
    df["undoes"] = pd.array(df["undoes"], dtype="Int64")
    for col in ("time", "action", "note", "source"):
        df[col] = df[col].fillna("").astype(str)
    return df


def typed_history_rows(rows) -> pd.DataFrame:
    """history_rows as read from a store -> change, effect, record (int64) and record columns."""
    df = pd.DataFrame(list(rows), columns=["change", "effect", "fid", *RECORD_COLUMNS])
    df = typed_records(df)
    df["change"] = df["change"].astype(np.int64)
    df["effect"] = df["effect"].astype(str)
    return df.rename(columns={"fid": "record"})
