"""The record store behind one interface: a GeoPackage file (the default) or a schema of a
PostgreSQL/PostGIS database (``[store] url``).

The commands (``forestcarbon ops``, ``register``, ``plan``, ``store``) and
:func:`~forestcarbon.inputs.program.load_program` get a :class:`RecordStore` from
:func:`record_store` and never learn which kind it is. A store runs a command's work as one
transaction (:meth:`RecordStore.change`, :meth:`RecordStore.read`), handing it a
:class:`StoreSession` whose methods are the store's whole vocabulary: records, history, new
record numbers, one change written with its history. Another table kept in the store (the credit
ledger, reviews) adopts the same pattern: a session method per read and write, run inside
``change``/``read``, so that it gets the same transaction, retries and locking for free.

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

T = TypeVar("T")

OPERATIONS_TABLE = "operations"
HISTORY_TABLE = "history"
HISTORY_ROWS_TABLE = "history_rows"
STANDS_TABLE = "stands"
"""Names of the store's tables (see :mod:`forestcarbon.inputs.records`)."""

RECORD_COLUMNS = ("stand_id", "date", "operation", "area_ha", "volume_m3", "note")
"""Columns of a record, in store order."""

HISTORY_COLUMNS = ("change", "time", "action", "note", "source", "n_added", "n_removed", "undoes")
"""Columns of :meth:`StoreSession.history` (``change`` is the history row's number)."""

ACTIONS = ("import", "add", "undo", "migrate")
"""Actions a history row may name (``migrate``: copied from another store, see ``note``)."""

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
    def change(self, apply: Callable[[StoreSession], T], *, create: bool = True) -> T:
        """Run ``apply`` as one atomic write (all or nothing); a missing store is created first
        when ``create`` (else the "not found" error)."""

    @abc.abstractmethod
    def read(self, apply: Callable[[StoreSession], T], *, history: bool = True) -> T:
        """Run ``apply`` on one consistent snapshot of an existing store, writing nothing."""

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
    for col in ("area_ha", "volume_m3"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("stand_id", "date", "operation", "note"):
        df[col] = df[col].fillna("").astype(str)
    return df


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
