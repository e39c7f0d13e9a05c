"""Reading the officers' reviews of stands held back by canopy evidence.

A stand flagged ``canopy_below_expected`` (its canopy far lower than its yield table: possibly
felled without a record) is held from crediting until an officer records the final harvest or a
review (``forestcarbon review PROGRAM --stand ID --decision standing|felled --note ...``, written
by :mod:`forestcarbon.officer.reviews`).

Reviews are kept in an append-only ``reviews`` table of the program's record store
(:func:`review_store`): the PostgreSQL schema with ``[store] url``; else the GeoPackage named by
``[inputs] operations`` when it is one (``records.gpkg``); else ``reviews.gpkg`` in the program
folder. A review is never changed: a new review of a stand supersedes the earlier ones, which stay
as its history. Columns: ``fid`` (review number), ``time`` (UTC, ISO 8601), ``stand_id``,
``decision`` (``standing`` | ``felled``), ``note``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forestcarbon.core.config import Settings
from forestcarbon.inputs.records import as_store, is_store, record_store, uses_database
from forestcarbon.inputs.store_gpkg import GpkgStore
from forestcarbon.inputs.stores import (
    DECISIONS,
    REVIEW_COLUMNS,
    REVIEWS_TABLE,
    RecordStore,
    typed_reviews,
)

__all__ = [
    "DECISIONS",
    "REVIEWS_TABLE",
    "REVIEW_COLUMNS",
    "REVIEW_FILE",
    "latest_decisions",
    "read_reviews",
    "review_path",
    "review_store",
]

REVIEW_FILE = "reviews.gpkg"


def review_path(program_dir: str | Path, settings: Settings) -> Path:
    """The GeoPackage keeping a program's reviews when it has no PostgreSQL store (the record
    store, else ``reviews.gpkg``)."""
    name = settings.inputs.operations
    return Path(program_dir) / (name if name and is_store(name) else REVIEW_FILE)


def review_store(program_dir: str | Path, settings: Settings) -> RecordStore:
    """The store keeping a program's reviews (see the module docstring)."""
    if uses_database(settings):
        return record_store(program_dir, settings)
    return GpkgStore(review_path(program_dir, settings))


def read_reviews(store: str | Path | RecordStore) -> pd.DataFrame:
    """Every review in order (see the module docstring) of a store or a GeoPackage path; empty
    when there are none."""
    if not isinstance(store, RecordStore) and not Path(store).is_file():
        return typed_reviews([])
    reviews = as_store(store).read_side(lambda session: session.reviews())
    return typed_reviews([]) if reviews is None else reviews


def latest_decisions(reviews: pd.DataFrame) -> pd.DataFrame:
    """The latest review of each stand: index stand_id; columns decision, note, time, fid."""
    return (
        reviews.sort_values("fid", kind="stable")
        .drop_duplicates("stand_id", keep="last")
        .set_index("stand_id")
    )
