"""The PostgreSQL/PostGIS record store: several officers, one register (``[store] url``).

One schema per program (``[store] schema``) holds:

``stands``
    The register as a PostGIS layer: ``stand_id`` (primary key), ``species``, ``planted_year``,
    ``site_class`` (1-3), ``forest_type`` (planted | natural), ``protected``, ``plan_id``,
    ``area_ha`` (> 0), ``name``, ``geom`` (MultiPolygon in the SRID of ``[program] crs``, valid).
``operations``
    ``fid`` (primary key), ``stand_id`` (foreign key to ``stands``), ``date`` (a date),
    ``operation`` (one of the seven known), ``area_ha`` (> 0), ``volume_m3`` (>= 0), ``note``.
``history``, ``history_rows``
    As in the GeoPackage store; append-only: triggers refuse UPDATE, DELETE and TRUNCATE.
``reviews``, ``credit_entries``, ``credit_balances``
    The officers' reviews and the credit ledger (:mod:`forestcarbon.inputs.store_postgres_side`).

The same constraints hold whoever writes: forestcarbon, QGIS editing the tables, or SQL.

Concurrency
-----------
Each command's work is one transaction at SERIALIZABLE isolation. forestcarbon writers of one
schema also queue on a session advisory lock taken before the transaction starts, so two officers
adding at once both succeed one after the other, each checking against the other's records. A
serialization failure (a concurrent edit from QGIS or SQL) rolls the attempt back and runs it again
from the start, at most :data:`MAX_ATTEMPTS` times, then stops with a message. A process killed
mid-transaction leaves nothing: PostgreSQL rolls the open transaction back.

Security
--------
No SQL is built from strings: values are parameters, names are :class:`psycopg.sql.Identifier`
(the schema) or fixed; the password comes from ``PGPASSWORD`` or ``~/.pgpass`` (libpq), never
from ``program.toml``. :func:`grant_statements` gives the least privileges an officer's role needs.
"""

from __future__ import annotations

import random
import re
import time
import zlib
from collections.abc import Callable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from pyproj import CRS

from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.store_postgres_side import PostgresSideTables, side_ddl, side_grants
from forestcarbon.inputs.stores import (
    ACTIONS,
    ATTRIBUTE_COLUMNS,
    GEOMETRY_COLUMN,
    HISTORY_COLUMNS,
    HISTORY_ROWS_TABLE,
    HISTORY_TABLE,
    OPERATIONS_TABLE,
    RECORD_COLUMNS,
    STAND_COLUMNS,
    RecordStore,
    StoreSession,
    T,
    as_multipolygon,
    typed_history,
    typed_history_rows,
    typed_records,
)
from forestcarbon.methods.fo001 import OPERATION_JA

MAX_ATTEMPTS = 8
"""How many times a command runs its transaction when serialization failures keep it from
committing [-]."""

CONNECT_TIMEOUT_S = 10
"""How long to wait for the database server to answer [s]."""

_RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)

_RECORD_SELECT = "fid, stand_id, to_char(date, 'YYYY-MM-DD'), operation, area_ha, volume_m3, note"
"""The record's attributes as selected; the polygon follows (:meth:`PostgresSession._q`)."""


_GEOMETRY_DDL = (
    """ALTER TABLE {s}.operations ADD COLUMN geometry geometry(MultiPolygon, {srid})
        CONSTRAINT operations_geometry_valid CHECK (geometry IS NULL OR (ST_IsValid(geometry)
            AND NOT ST_IsEmpty(geometry) AND ST_Area(geometry) > 0))""",
    "CREATE INDEX ON {s}.operations USING gist (geometry)",
    "ALTER TABLE {s}.history_rows ADD COLUMN geometry geometry(MultiPolygon, {srid})",
    "COMMENT ON COLUMN {s}.operations.geometry IS "
    "'treated-area polygon (施業区域) in the working CRS; NULL: the recorded area_ha counts'",
)
"""The treated-area polygon columns (a new schema has them; :meth:`PostgresStore._upgrade` adds
them once to a schema created before them)."""


def _ddl(schema: str, srid: int) -> list[sql.Composed]:
    """The statements creating a program's schema (names fixed, the schema an Identifier, the
    known operations and the SRID literals composed by psycopg)."""
    s = sql.Identifier(schema)
    operations = sql.SQL(", ").join(sql.Literal(op) for op in OPERATION_JA)
    actions = sql.SQL(", ").join(sql.Literal(a) for a in ACTIONS)
    text = [
        "CREATE SCHEMA IF NOT EXISTS {s}",
        """CREATE TABLE {s}.stands (
            stand_id text PRIMARY KEY CHECK (stand_id <> ''),
            species text NOT NULL CHECK (species <> ''),
            planted_year integer NOT NULL CHECK (planted_year BETWEEN 1800 AND 2200),
            site_class integer NOT NULL CHECK (site_class BETWEEN 1 AND 3),
            forest_type text NOT NULL CHECK (forest_type IN ('planted', 'natural')),
            protected boolean NOT NULL DEFAULT false,
            plan_id text NOT NULL DEFAULT '',
            area_ha double precision CHECK (area_ha > 0),
            name text NOT NULL DEFAULT '',
            geom geometry(MultiPolygon, {srid}) NOT NULL
                CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_Area(geom) > 0))""",
        "CREATE INDEX ON {s}.stands USING gist (geom)",
        """CREATE TABLE {s}.operations (
            fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            stand_id text NOT NULL REFERENCES {s}.stands (stand_id),
            date date NOT NULL CHECK (date BETWEEN '1900-01-01' AND '2200-12-31'),
            operation text NOT NULL CHECK (operation IN ({operations})),
            area_ha double precision CHECK (area_ha > 0 AND area_ha <= 10000),
            volume_m3 double precision CHECK (volume_m3 >= 0 AND volume_m3 <= 1e6),
            note text NOT NULL DEFAULT '')""",
        "CREATE INDEX ON {s}.operations (stand_id, date)",
        """CREATE TABLE {s}.history (
            fid bigint PRIMARY KEY,
            time text NOT NULL,
            action text NOT NULL CHECK (action IN ({actions})),
            note text NOT NULL DEFAULT '',
            source text NOT NULL DEFAULT '',
            n_added integer NOT NULL CHECK (n_added >= 0),
            n_removed integer NOT NULL CHECK (n_removed >= 0),
            undoes bigint REFERENCES {s}.history (fid))""",
        """CREATE TABLE {s}.history_rows (
            change bigint NOT NULL REFERENCES {s}.history (fid),
            effect text NOT NULL CHECK (effect IN ('added', 'removed')),
            record bigint NOT NULL,
            stand_id text NOT NULL,
            date date NOT NULL,
            operation text NOT NULL,
            area_ha double precision,
            volume_m3 double precision,
            note text NOT NULL DEFAULT '',
            PRIMARY KEY (change, effect, record))""",
        *_GEOMETRY_DDL,
        """CREATE FUNCTION {s}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$""",
    ]
    for table in (HISTORY_TABLE, HISTORY_ROWS_TABLE):
        text += [
            f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {{s}}.{table} "
            "FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change()",
            f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {{s}}.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change()",
        ]
    text += [
        "COMMENT ON TABLE {s}.stands IS 'stand register (森林簿) with polygons'",
        "COMMENT ON TABLE {s}.operations IS "
        "'silvicultural operations (施業履歴) recorded with forestcarbon ops'",
        "COMMENT ON TABLE {s}.history IS 'append-only history of changes to operations'",
        "COMMENT ON TABLE {s}.history_rows IS "
        "'append-only: every operations record each change added or removed'",
    ]
    return [
        sql.SQL(t).format(s=s, srid=sql.Literal(srid), operations=operations, actions=actions)
        for t in text
    ] + side_ddl(schema)


def grant_statements(schema: str, role: str) -> list[sql.Composed]:
    """The least privileges an officer's database role needs for ``ops``, ``plan``,
    ``register``, ``review`` and ``credits``: read everything; insert operations and history;
    delete operations (undo); insert reviews and ledger entries; keep the balances; never update
    or delete history, reviews or ledger entries (the triggers refuse it anyway); no DDL."""
    s, r = sql.Identifier(schema), sql.Identifier(role)
    text = [
        "GRANT USAGE ON SCHEMA {s} TO {r}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}",
        "GRANT INSERT, DELETE ON {s}.operations TO {r}",
        "GRANT INSERT ON {s}.history, {s}.history_rows TO {r}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
    ]
    return [sql.SQL(t).format(s=s, r=r) for t in text] + side_grants(schema, role)


def _natural_key(stand_id: str) -> tuple:
    """Sort key putting stand ids in register order: 1-2-1 before 1-10-1 (numbers compared as
    numbers, the rest as text)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", stand_id)
        if part
    )


def _srid(crs: str) -> int:
    epsg = CRS.from_user_input(crs).to_epsg()
    if epsg is None:
        raise InputError(
            Problem("program.toml", "", "[program] crs", f"{crs!r} has no EPSG code (SRID)")
        )
    return int(epsg)


def _value(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _ewkb(geom, srid: int) -> str | None:
    """A treated-area polygon as hex EWKB with the column's SRID (COPY's text for a geometry);
    a Polygon as its one-part MultiPolygon."""
    geom = as_multipolygon(geom)
    if geom is None:
        return None
    return shapely.to_wkb(shapely.set_srid(geom, srid), hex=True, include_srid=True)


def _record_rows(df: pd.DataFrame, prefix: tuple = (), srid: int | None = None) -> Iterator[tuple]:
    """Records as COPY rows (with the polygon as hex EWKB when ``srid`` is given)."""
    geoms = df[GEOMETRY_COLUMN] if GEOMETRY_COLUMN in df else [None] * len(df)
    for r, geom in zip(df.itertuples(index=False), geoms, strict=True):
        row = (
            *prefix,
            int(r.fid),
            str(r.stand_id),
            str(r.date),
            str(r.operation),
            _value(r.area_ha),
            _value(r.volume_m3),
            "" if pd.isna(r.note) else str(r.note),
        )
        yield row if srid is None else (*row, _ewkb(geom, srid))


class PostgresSession(PostgresSideTables, StoreSession):
    """One SERIALIZABLE transaction on a program's schema."""

    def __init__(self, con: psycopg.Connection, schema: str):
        self.con = con
        self.schema = schema
        self.s = sql.Identifier(schema)
        self._srid: int | None = None
        self._srid_known = False

    @property
    def srid(self) -> int | None:
        """The SRID of the operations' polygon column; None in a schema created before it."""
        if not self._srid_known:
            self._srid = _geometry_srid(self.con, self.schema)
            self._srid_known = True
        return self._srid

    def _q(self, text: str) -> sql.Composed:
        geometry = "ST_AsBinary(geometry)" if self.srid is not None else "NULL::bytea"
        return sql.SQL(text).format(s=self.s, cols=sql.SQL(f"{_RECORD_SELECT}, {geometry}"))

    def _columns(self) -> tuple[str, ...]:
        """Record columns a COPY writes (without the polygon in a schema created before it,
        which then cannot take one)."""
        return RECORD_COLUMNS if self.srid is not None else ATTRIBUTE_COLUMNS

    def _rows(self, df: pd.DataFrame, prefix: tuple = ()) -> Iterator[tuple]:
        if self.srid is None and GEOMETRY_COLUMN in df and df[GEOMETRY_COLUMN].notna().any():
            raise InputError(
                Problem(
                    self.schema,
                    "",
                    GEOMETRY_COLUMN,
                    "this schema has no treated-area polygon column yet: run a forestcarbon ops "
                    "command once with the schema owner's role (it adds the column)",
                )
            )
        return _record_rows(df, prefix, self.srid)

    def records(self, fids=None) -> pd.DataFrame:
        if fids is None:
            rows = self.con.execute(self._q("SELECT {cols} FROM {s}.operations ORDER BY fid"))
        else:
            rows = self.con.execute(
                self._q("SELECT {cols} FROM {s}.operations WHERE fid = ANY(%s) ORDER BY fid"),
                ([int(f) for f in fids],),
            )
        frame = pd.DataFrame(rows.fetchall(), columns=["fid", *RECORD_COLUMNS])
        return typed_records(frame)

    def new_fids(self, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        rows = self.con.execute(
            "SELECT nextval(pg_get_serial_sequence(format('%%I.%%I', %s::text, 'operations'), "
            "'fid')) FROM generate_series(1, %s)",
            (self.schema, n),
        ).fetchall()
        return np.sort(np.array([r[0] for r in rows], dtype=np.int64))

    def _copy_records(self, table: str, rows: Iterator[tuple], columns: tuple) -> None:
        statement = sql.SQL("COPY {s}.{t} ({cols}) FROM STDIN").format(
            s=self.s,
            t=sql.Identifier(table),
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        )
        with self.con.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def write_change(self, *, action, note, source, added, removed, undoes, time) -> int:
        change = self.con.execute(
            self._q("SELECT coalesce(max(fid), 0) + 1 FROM {s}.history")
        ).fetchone()[0]
        self.con.execute(
            self._q(
                "INSERT INTO {s}.history (fid, time, action, note, source, n_added, n_removed, "
                "undoes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            ),
            (change, time, action, note, source, len(added), len(removed), undoes),
        )
        self._history_rows(change, removed, added)
        if len(removed):
            self.con.execute(
                self._q("DELETE FROM {s}.operations WHERE fid = ANY(%s)"),
                ([int(f) for f in removed["fid"]],),
            )
        self._copy_records(OPERATIONS_TABLE, self._rows(added), ("fid", *self._columns()))
        return int(change)

    def _history_rows(self, change: int, removed: pd.DataFrame, added: pd.DataFrame) -> None:
        columns = ("change", "effect", "record", *self._columns())
        for effect, frame in (("removed", removed), ("added", added)):
            self._copy_records(HISTORY_ROWS_TABLE, self._rows(frame, (change, effect)), columns)

    def history(self) -> pd.DataFrame:
        rows = self.con.execute(
            self._q(
                "SELECT fid, time, action, note, source, n_added, n_removed, undoes "
                "FROM {s}.history ORDER BY fid"
            )
        ).fetchall()
        return typed_history(rows, HISTORY_COLUMNS)

    def history_rows(self, change=None, effect=None) -> pd.DataFrame:
        rows = self.con.execute(
            self._q(
                "SELECT change, effect, record, stand_id, to_char(date, 'YYYY-MM-DD'), "
                "operation, area_ha, volume_m3, note, "
                + ("ST_AsBinary(geometry)" if self.srid is not None else "NULL::bytea")
                + " FROM {s}.history_rows "
                "WHERE (%(c)s::bigint IS NULL OR change = %(c)s) "
                "AND (%(e)s::text IS NULL OR effect = %(e)s) "
                "ORDER BY change, effect DESC, record"
            ),
            {"c": change, "e": effect},
        ).fetchall()
        return typed_history_rows(rows)

    def seed_stands(self, stands: gpd.GeoDataFrame, only=None) -> None:
        """Insert the stands ``only`` names that the stands layer lacks (all ``stands`` when the
        layer is empty: a new store starts with the whole register)."""
        empty = self.con.execute(self._q("SELECT NOT EXISTS (SELECT 1 FROM {s}.stands)"))
        if empty.fetchone()[0]:
            only = None
        if only is not None:
            stands = stands[stands["stand_id"].isin(list(only))]
        if stands.empty:
            return
        present = {
            r[0]
            for r in self.con.execute(
                self._q("SELECT stand_id FROM {s}.stands WHERE stand_id = ANY(%s)"),
                (stands["stand_id"].astype(str).tolist(),),
            )
        }
        missing = stands[~stands["stand_id"].astype(str).isin(present)]
        if not missing.empty:
            _insert_stands(self.con, self.schema, missing)

    def stands_layer(self) -> gpd.GeoDataFrame | None:
        """The stands layer in natural order of stand_id (a table has no row order of its own)."""
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in STAND_COLUMNS)
        rows = self.con.execute(
            sql.SQL("SELECT {cols}, ST_AsBinary(geom), ST_SRID(geom) FROM {s}.stands").format(
                cols=cols, s=self.s
            )
        ).fetchall()
        if not rows:
            return None
        rows.sort(key=lambda r: _natural_key(r[0]))
        frame = pd.DataFrame([r[: len(STAND_COLUMNS)] for r in rows], columns=STAND_COLUMNS)
        geoms = shapely.from_wkb([bytes(r[-2]) for r in rows])
        return gpd.GeoDataFrame(frame, geometry=geoms, crs=f"EPSG:{rows[0][-1]}")

    def restore(self, history, history_rows, records) -> None:
        with self.con.cursor() as cur:
            cur.executemany(
                self._q(
                    "INSERT INTO {s}.history (fid, time, action, note, source, n_added, "
                    "n_removed, undoes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                [tuple(_value(v) for v in row) for row in history.itertuples(index=False)],
            )
        for change, rows in history_rows.groupby("change", sort=True):
            frame = rows.rename(columns={"record": "fid"})
            self._history_rows(
                int(change), frame[frame["effect"] == "removed"], frame[frame["effect"] == "added"]
            )
        self._copy_records(OPERATIONS_TABLE, self._rows(records), ("fid", *self._columns()))
        top = max(
            int(records["fid"].max()) if len(records) else 0,
            int(history_rows["record"].max()) if len(history_rows) else 0,
        )
        if top:
            self.con.execute(
                "SELECT setval(pg_get_serial_sequence(format('%%I.%%I', %s::text, 'operations'), "
                "'fid'), %s)",
                (self.schema, top),
            )


def _geometry_srid(con: psycopg.Connection, schema: str) -> int | None:
    """SRID of ``operations.geometry`` (None when the schema has no such column)."""
    row = con.execute(
        "SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s "
        "AND f_geometry_column = 'geometry'",
        (schema, OPERATIONS_TABLE),
    ).fetchone()
    return None if row is None else int(row[0])


def _insert_stands(con: psycopg.Connection, schema: str, stands: gpd.GeoDataFrame) -> None:
    srid = con.execute("SELECT Find_SRID(%s, 'stands', 'geom')", (schema,)).fetchone()[0]
    if stands.crs is not None and stands.crs.to_epsg() != srid:
        stands = stands.to_crs(epsg=srid)
    statement = sql.SQL(
        "INSERT INTO {s}.stands ({cols}, geom) VALUES ({marks}, ST_Multi(ST_GeomFromWKB(%s, %s)))"
    ).format(
        s=sql.Identifier(schema),
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in STAND_COLUMNS),
        marks=sql.SQL(", ").join(sql.Placeholder() for _ in STAND_COLUMNS),
    )
    wkb = shapely.to_wkb(stands.geometry.to_numpy())
    rows = []
    for (_, row), geom in zip(stands.iterrows(), wkb, strict=True):
        values = {c: _value(row.get(c)) for c in STAND_COLUMNS}
        values["protected"] = bool(values["protected"])  # None: not protected
        for col in ("plan_id", "name"):  # empty text, never NULL
            values[col] = "" if values[col] is None else str(values[col])
        rows.append((*values.values(), geom, srid))
    with con.cursor() as cur:
        cur.executemany(statement, rows)


class PostgresStore(RecordStore):
    """A record store in a schema of a PostgreSQL/PostGIS database."""

    kind = "postgresql"

    def __init__(self, url: str, schema: str, *, crs: str):
        self.url = url
        self.schema = schema
        self.crs = crs
        where = url.split("@")[-1]
        self.label = f"postgresql://{where} (schema {schema})"
        self.name = f"schema {schema}"
        self._lock_key = zlib.crc32(f"forestcarbon:{schema}".encode())

    # --- connecting ---------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        try:
            con = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="forestcarbon",
            )
        except psycopg.OperationalError as e:
            raise InputError(
                Problem(self.label, "", "", f"cannot connect to the record store: {e}".strip())
            ) from None
        con.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        return con

    def _problem(self, error: psycopg.Error) -> InputError:
        diag = error.diag
        text = (diag.message_primary or str(error)).strip()
        if diag.message_detail:
            text += f" ({diag.message_detail.strip()})"
        if isinstance(error, psycopg.errors.InsufficientPrivilege):
            text += "; ask the database administrator for the role's grants (README)"
        return InputError(Problem(self.label, "", "", f"record store refused: {text}"))

    def exists(self) -> bool:
        with self._connect() as con:
            return self._exists(con)

    def _exists(self, con: psycopg.Connection) -> bool:
        row = con.execute(
            "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))",
            (self.schema, OPERATIONS_TABLE),
        ).fetchone()
        return row[0] is not None

    def _create(self, con: psycopg.Connection) -> None:
        has_postgis = con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if not has_postgis:
            try:
                con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error:
                raise InputError(
                    Problem(
                        self.label,
                        "",
                        "",
                        "PostGIS is not installed in this database; the administrator runs "
                        "CREATE EXTENSION postgis once",
                    )
                ) from None
        for statement in _ddl(self.schema, _srid(self.crs)):
            con.execute(statement)

    def _upgrade(self, con: psycopg.Connection) -> None:
        """Add the treated-area polygon columns to a schema created before them, once (the
        statements need the role owning the tables; another role gets the message what to do,
        and nothing is changed)."""
        if _geometry_srid(con, self.schema) is not None:
            return
        srid = _srid(self.crs)
        try:
            with con.transaction():  # a savepoint: a refused ALTER leaves the transaction usable
                for statement in _GEOMETRY_DDL:
                    con.execute(
                        sql.SQL(statement).format(
                            s=sql.Identifier(self.schema), srid=sql.Literal(srid)
                        )
                    )
        except psycopg.errors.InsufficientPrivilege:
            raise InputError(
                Problem(
                    self.label,
                    "",
                    "geometry",
                    "this schema was created before treated-area polygons were kept and needs "
                    "the polygon column of operations and history_rows: run any forestcarbon "
                    "ops command once with the role owning the schema (the administrator's), "
                    "then officers record as before",
                )
            ) from None

    def _not_found(self) -> InputError:
        return InputError(
            Problem(
                self.label,
                "",
                "",
                "record store not found (no such schema or tables); create it with "
                "forestcarbon ops import PROGRAM_DIR operations.csv, or copy a GeoPackage store "
                "with forestcarbon store migrate PROGRAM_DIR --to URL",
            )
        )

    # --- transactions -------------------------------------------------------------------------

    def change(
        self, apply: Callable[[StoreSession], T], *, create: bool = True, side: bool = False
    ) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._connect() as con:
                    con.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
                    with con.transaction():
                        if not self._exists(con):
                            if not create:
                                raise self._not_found()
                            self._create(con)
                        elif not side:
                            self._upgrade(con)
                        return apply(PostgresSession(con, self.schema))
            except _RETRYABLE:
                if attempt == MAX_ATTEMPTS:
                    raise InputError(
                        Problem(
                            self.label,
                            "",
                            "",
                            f"the record store kept changing under this command ({attempt} "
                            "attempts, each rolled back; someone is editing the same records, "
                            "e.g. in QGIS): nothing was written; run the command again",
                        )
                    ) from None
                time.sleep(random.uniform(0.01, 0.05) * attempt)
            except psycopg.Error as e:
                raise self._problem(e) from None
        raise AssertionError("unreachable")

    def read(self, apply: Callable[[StoreSession], T], *, history: bool = True) -> T:
        return self._read(apply, missing=self._not_found)

    def read_side(self, apply: Callable[[StoreSession], T]) -> T | None:
        return self._read(apply, missing=None)

    def _read(self, apply, *, missing):
        try:
            with self._connect() as con:
                con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                con.read_only = True
                with con.transaction():
                    if not self._exists(con):
                        if missing is None:
                            return None
                        raise missing()
                    return apply(PostgresSession(con, self.schema))
        except psycopg.Error as e:
            raise self._problem(e) from None

    # --- stands -------------------------------------------------------------------------------

    def read_stands(self) -> gpd.GeoDataFrame | None:
        """The stands layer in natural order of stand_id (a table has no row order of its own)."""
        return self.read_side(lambda session: session.stands_layer())

    def grants_sql(self, role: str) -> str:
        """:func:`grant_statements` as SQL text for an administrator (psql)."""
        with self._connect() as con:
            return "\n".join(g.as_string(con) + ";" for g in grant_statements(self.schema, role))

    def write_stands(self, stands: gpd.GeoDataFrame) -> None:
        self.change(lambda session: session.seed_stands(stands), create=True)
