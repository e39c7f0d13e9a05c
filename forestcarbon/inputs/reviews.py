"""Reading the officers' reviews of stands held back by canopy evidence.

A stand flagged ``canopy_below_expected`` (its canopy far lower than its yield table: possibly
felled without a record) is held from crediting until an officer records the final harvest or a
review (``forestcarbon review PROGRAM --stand ID --decision standing|felled --note ...``, written
by :mod:`forestcarbon.officer.reviews`).

Reviews are kept in an append-only ``reviews`` table: in the program's record store when
``[inputs] operations`` is one (``records.gpkg``), else in ``reviews.gpkg`` in the program folder.
A review is never changed: a new review of a stand supersedes the earlier ones, which stay as its
history. Columns: ``fid`` (review number), ``time`` (UTC, ISO 8601), ``stand_id``, ``decision``
(``standing`` | ``felled``), ``note``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from forestcarbon.core.config import Settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.records import is_store

REVIEWS_TABLE = "reviews"
REVIEW_FILE = "reviews.gpkg"
DECISIONS = ("standing", "felled")
"""standing: the officer saw the stand standing (credits released); felled: it was felled (the
harvest must be recorded with ``ops add``; until then the removals stay held)."""

REVIEW_COLUMNS = ("fid", "time", "stand_id", "decision", "note")


def review_path(program_dir: str | Path, settings: Settings) -> Path:
    """Where the program's reviews are kept (the record store, else ``reviews.gpkg``)."""
    name = settings.inputs.operations
    return Path(program_dir) / (name if name and is_store(name) else REVIEW_FILE)


def read_reviews(path: str | Path) -> pd.DataFrame:
    """Every review in order (see the module docstring); empty when there are none."""
    path = Path(path)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in REVIEW_COLUMNS})
    if not path.is_file():
        return empty
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if REVIEWS_TABLE not in tables:
                return empty
            rows = con.execute(
                f'SELECT {", ".join(REVIEW_COLUMNS)} FROM "{REVIEWS_TABLE}" ORDER BY fid'
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise InputError(
            Problem(str(path), "", REVIEWS_TABLE, f"cannot read reviews: {e}")
        ) from None
    return pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))


def latest_decisions(reviews: pd.DataFrame) -> pd.DataFrame:
    """The latest review of each stand: index stand_id; columns decision, note, time, fid."""
    return (
        reviews.sort_values("fid", kind="stable")
        .drop_duplicates("stand_id", keep="last")
        .set_index("stand_id")
    )
