"""Copying a record store to the other kind (``forestcarbon store migrate PROGRAM --to …``).

A GeoPackage store goes into a PostgreSQL schema (``--to postgresql://…``) and back
(``--to records.gpkg``): the stands (the register the program reads), every record with its
number, every history row and the records each change added or removed, the officers' reviews and
the credit ledger (entries, which the new store's chain trigger checks as they go in, and
balances). The copy is one transaction of the new store, which must not exist yet; it is then read
back and compared with the source row for row (records, history, history rows, reviews, ledger
entries and balances; stands by id, attributes and geometry), and any difference is an error.
The program keeps using its old store until ``program.toml`` names the new one (the command
prints the line to set).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import pandas as pd

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import ForestCarbonError, InputError, Problem
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import default_schema, open_record_store, record_store
from forestcarbon.inputs.stores import (
    BALANCE_COLUMNS,
    ENTRY_COLUMNS,
    STAND_COLUMNS,
    RecordStore,
    StoreSession,
)


@dataclasses.dataclass(frozen=True)
class MigrateResult:
    """What one migration copied and checked."""

    source: str
    target: str
    n_stands: int
    n_records: int
    n_changes: int
    n_history_rows: int
    n_reviews: int
    n_entries: int
    setting: str
    """The program.toml lines that make the program use the new store."""

    def __str__(self) -> str:
        return (
            f"copied {self.source} -> {self.target}: {self.n_stands} stands, {self.n_records} "
            f"records, {self.n_changes} changes, {self.n_history_rows} history rows, "
            f"{self.n_reviews} reviews, {self.n_entries} credit ledger entries; the copy "
            f"matches the source row for row.\nTo use it, set in program.toml:\n{self.setting}"
        )


def _contents(session: StoreSession) -> dict[str, pd.DataFrame]:
    return {
        "records": session.records(),
        "history": session.history(),
        "history_rows": session.history_rows(),
        "reviews": session.reviews(),
        # dtype object: integers stay int and an empty cell None, as the hash chain needs
        "credit_entries": pd.DataFrame(
            session.ledger_entries(), columns=list(ENTRY_COLUMNS), dtype=object
        ),
        "credit_balances": pd.DataFrame(
            session.ledger_balances(), columns=list(BALANCE_COLUMNS), dtype=object
        ),
    }


def _cell(value):
    """A cell of a table read from a store as the store gave it (NaN/NA back to None, numpy
    integers to int)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def _register(program_dir: Path, source: RecordStore) -> gpd.GeoDataFrame:
    """The stands the program reads: the source store's stands layer, else the register files."""
    kept = source.read_stands()
    if kept is None:
        settings = load_settings(program_dir)
        bare = dataclasses.replace(
            settings, inputs=dataclasses.replace(settings.inputs, operations="")
        )
        kept = load_program(program_dir, settings=bare).stands
    stands = kept[[*STAND_COLUMNS, kept.geometry.name]].copy()
    return stands.rename_geometry("geometry") if kept.geometry.name != "geometry" else stands


def _differences(name: str, a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if len(a) != len(b):
        return [f"{name}: {len(a)} rows in the source, {len(b)} in the copy"]
    out = []
    for col in a.columns:
        left, right = a[col].astype(object), b[col].astype(object)
        same = (left == right) | (left.isna() & right.isna())
        if not same.all():
            i = int((~same).to_numpy().nonzero()[0][0])
            out.append(f"{name}, row {i + 1}, column {col}: {left[i]!r} became {right[i]!r}")
    return out


def _stand_differences(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> list[str]:
    a = a.sort_values("stand_id").reset_index(drop=True)
    b = b.sort_values("stand_id").reset_index(drop=True)
    b = b.to_crs(a.crs) if a.crs is not None and b.crs != a.crs else b
    out = _differences(
        "stands",
        pd.DataFrame(a[list(STAND_COLUMNS)]).astype(str),
        pd.DataFrame(b[list(STAND_COLUMNS)]).astype(str),
    )
    if not out:
        same = a.geometry.geom_equals(b.geometry)  # a Polygon equals its one-part MultiPolygon
        for sid in a.loc[~same.to_numpy(), "stand_id"][:5]:
            out.append(f"stands, stand {sid}: geometry differs")
    return out


def migrate_store(program_dir: str | Path, to: str | Path, *, schema: str = "") -> MigrateResult:
    """Copy the program's record store into a new store at ``to`` and check the copy.

    Parameters
    ----------
    to : a ``postgresql://user@host/database`` URL (password from PGPASSWORD or ~/.pgpass) or a
        ``.gpkg`` path (relative paths are in the program folder).
    schema : the PostgreSQL schema of the copy; default ``[store] schema`` or ``fc_`` + folder.

    Raises
    ------
    InputError
        The target exists already, or the copy differs from the source (listed).
    """
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    source = record_store(program_dir, settings)
    text = str(to)
    is_url = text.startswith(("postgresql://", "postgres://"))
    schema = schema or settings.store.schema or default_schema(program_dir)
    target_at = text if is_url else program_dir / to
    target = open_record_store(target_at, schema=schema, crs=settings.program.crs)
    if target.label == source.label:
        raise InputError(Problem(target.label, "", "", "is the program's store already"))
    if target.exists():
        raise InputError(
            Problem(
                target.label,
                "",
                "",
                "exists already: a migration copies into a new store (remove it, or choose "
                "another file or schema)",
            )
        )
    contents = source.read(_contents)
    stands = _register(program_dir, source)

    def copy(session: StoreSession) -> None:
        session.seed_stands(stands)
        session.restore(contents["history"], contents["history_rows"], contents["records"])
        entries = contents["credit_entries"].to_dict("records")
        entries = [{c: _cell(v) for c, v in e.items()} for e in entries]
        balances = [tuple(_cell(v) for v in r) for r in contents["credit_balances"].values]
        last = contents["history"]["time"].max() if len(contents["history"]) else ""
        session.restore_side(contents["reviews"], entries, balances, last)

    target.change(copy, create=True)
    if target.kind == "gpkg":  # PostgreSQL got its stands inside the copy's transaction
        target.write_stands(stands)
    copied = target.read(_contents)
    problems = []
    for name, frame in contents.items():
        problems += _differences(name, frame, copied[name])
    problems += _stand_differences(stands, target.read_stands())
    if problems:
        raise ForestCarbonError(
            f"the copy in {target.label} differs from {source.label}:\n  " + "\n  ".join(problems)
        )
    if is_url:
        setting = f'[store]\nurl = "{text}"\nschema = "{schema}"'
    else:
        setting = f'[inputs]\noperations = "{to}"\n(and remove [store] url)'
    return MigrateResult(
        source.label,
        target.label,
        len(stands),
        len(contents["records"]),
        len(contents["history"]),
        len(contents["history_rows"]),
        len(contents["reviews"]),
        len(contents["credit_entries"]),
        setting,
    )


@dataclasses.dataclass(frozen=True)
class AdoptResult:
    """What ``store adopt`` copied and checked."""

    source: str
    target: str
    n_reviews: int
    n_entries: int

    def __str__(self) -> str:
        return (
            f"copied {self.source} -> {self.target}: {self.n_reviews} reviews, {self.n_entries} "
            "credit ledger entries (and their balances); the copy matches the source row for "
            f"row. The program now reads them from {self.target}; keep {self.source} as an "
            "archive or remove it."
        )


def _side(session: StoreSession) -> dict[str, pd.DataFrame]:
    return {k: v for k, v in _contents(session).items() if k in _SIDE}


_SIDE = ("reviews", "credit_entries", "credit_balances")


def adopt_side_tables(program_dir: str | Path, file: str | Path) -> AdoptResult:
    """Copy the reviews and the credit ledger a GeoPackage holds (written before the program's
    store was PostgreSQL: ``reviews.gpkg``, ``records.gpkg``) into the program's store, which
    must hold none yet of what is copied; the copy is checked row for row.

    Raises
    ------
    InputError
        The program's store is the file itself, the file holds nothing to copy, or the store
        holds reviews or ledger entries already.
    """
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    target = record_store(program_dir, settings)
    source = open_record_store(program_dir / file)
    if target.label == source.label:
        raise InputError(Problem(target.label, "", "", "is the program's store already"))
    contents = source.read_side(_side)
    if contents is None:
        raise InputError(Problem(source.label, "", "", "not found"))
    if not len(contents["reviews"]) and not len(contents["credit_entries"]):
        raise InputError(Problem(source.label, "", "", "holds no reviews and no credit ledger"))
    stands = _register(program_dir, target)
    ids = sorted(set(contents["reviews"]["stand_id"]))

    def copy(session: StoreSession) -> None:
        kept = {
            "reviews": len(session.reviews()),
            "credit ledger entries": len(session.ledger_entries()),
        }
        busy = [f"{n} {what}" for what, n in kept.items() if n]
        wanted = {
            "reviews": len(contents["reviews"]),
            "credit ledger entries": len(contents["credit_entries"]),
        }
        if any(kept[k] and wanted[k] for k in kept):
            raise InputError(
                Problem(
                    target.label,
                    "",
                    "",
                    f"holds {' and '.join(busy)} already: the copy would mix two histories",
                )
            )
        session.seed_stands(stands, only=ids)
        entries = contents["credit_entries"].to_dict("records")
        balances = [tuple(r) for r in contents["credit_balances"].values]
        session.restore_side(contents["reviews"], entries, balances, "")

    target.change(copy, create=True, side=True)
    copied = target.read_side(_side)
    problems = []
    for name, frame in contents.items():
        table = "credit_entries" if name == "credit_balances" else name
        if len(contents[table]):  # what was copied
            problems += _differences(name, frame, copied[name])
    if problems:
        raise ForestCarbonError(
            f"the copy in {target.label} differs from {source.label}:\n  " + "\n  ".join(problems)
        )
    return AdoptResult(
        source.label, target.label, len(contents["reviews"]), len(contents["credit_entries"])
    )
