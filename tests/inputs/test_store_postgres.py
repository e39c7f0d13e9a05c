"""The PostgreSQL/PostGIS record store (forestcarbon.inputs.store_postgres) on a real throwaway
cluster: the tables and their constraints against direct edits (as QGIS makes them), the
append-only history, hostile stand ids and schema names, the least-privilege role, passwords
kept out of program.toml, and a write killed mid-transaction.

What both stores share (round-trips, refusals, undo): tests/officer/test_store.py; concurrency:
tests/officer/test_store_concurrency.py."""

from __future__ import annotations

import signal

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import read_records
from forestcarbon.inputs.store_postgres import MAX_ATTEMPTS, grant_statements
from forestcarbon.officer import store
from tests.conftest import stand
from tests.officer.test_store import big_import, seed
from tests.pg_cluster import kill_mid_transaction, store_toml

STANDS = [stand("1-1-1", 1.0), stand("1-2-1", 2.0), stand("1-3-1", 1.0)]


@pytest.fixture
def pg_program(program, pg_cluster):
    """Three stands, the operations in a fresh schema of the session's cluster, seeded with the
    three records of tests/officer/test_store.py."""
    folder = program([dict(s) for s in STANDS], [], extra_toml=store_toml(pg_cluster))
    return folder


def connect(folder, user_url=None):
    target = store.program_store(folder)
    return psycopg.connect(user_url or target.url, autocommit=True), target.schema


def test_tables_geometry_keys_and_comments(pg_program, tmp_path):
    seed(pg_program, tmp_path)
    con, schema = connect(pg_program)
    with con:
        geom = con.execute(
            "SELECT type, srid FROM geometry_columns WHERE f_table_schema = %s "
            "AND f_table_name = 'stands'",
            (schema,),
        ).fetchone()
        assert geom == ("MULTIPOLYGON", 6673)  # the working CRS of program.toml
        keys = dict(
            con.execute(
                "SELECT c.conrelid::regclass::text, string_agg(c.contype::text, '' ORDER BY "
                "c.contype) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = %s GROUP BY 1",
                (schema,),
            ).fetchall()
        )
        # p: primary key, f: foreign key, c: check
        assert "f" in keys[f"{schema}.operations"] and "p" in keys[f"{schema}.operations"]
        assert "c" in keys[f"{schema}.stands"] and "p" in keys[f"{schema}.stands"]
        n = con.execute(
            sql.SQL("SELECT count(*), sum(ST_Area(geom)) FROM {}.stands").format(
                sql.Identifier(schema)
            )
        ).fetchone()
    # the register was copied with the first import: 1 + 2 + 1 ha = 40,000 m2
    assert n[0] == 3 and n[1] == pytest.approx(40_000, rel=1e-9)


BAD_EDITS = [
    ("INSERT INTO {s}.operations (stand_id, date, operation, area_ha) "
     "VALUES ('1-1-1', '2020-01-01', 'thinning', -1)", psycopg.errors.CheckViolation),
    ("INSERT INTO {s}.operations (stand_id, date, operation) "
     "VALUES ('1-1-1', '2020-01-01', 'burning')", psycopg.errors.CheckViolation),
    ("INSERT INTO {s}.operations (stand_id, date, operation) "
     "VALUES ('9-9-9', '2020-01-01', 'thinning')", psycopg.errors.ForeignKeyViolation),
    ("DELETE FROM {s}.stands WHERE stand_id = '1-1-1'", psycopg.errors.ForeignKeyViolation),
    ("UPDATE {s}.stands SET site_class = 5 WHERE stand_id = '1-3-1'",
     psycopg.errors.CheckViolation),
    ("UPDATE {s}.stands SET area_ha = 0 WHERE stand_id = '1-3-1'", psycopg.errors.CheckViolation),
    ("UPDATE {s}.stands SET geom = ST_SetSRID(ST_MakePoint(0, 0), 6673) "
     "WHERE stand_id = '1-3-1'", psycopg.errors.InvalidParameterValue),
    ("UPDATE {s}.history SET note = 'x'", psycopg.errors.IntegrityConstraintViolation),
    ("DELETE FROM {s}.history_rows", psycopg.errors.IntegrityConstraintViolation),
    ("TRUNCATE {s}.history CASCADE", psycopg.errors.IntegrityConstraintViolation),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "error"), BAD_EDITS)
def test_direct_edits_go_through_the_same_constraints(pg_program, tmp_path, statement, error):
    # what an officer could try in QGIS's attribute table or an SQL window
    seed(pg_program, tmp_path)
    before = read_records(store.program_store(pg_program))
    con, schema = connect(pg_program)
    with con, pytest.raises(error):
        con.execute(sql.SQL(statement).format(s=sql.Identifier(schema)))
    pd.testing.assert_frame_equal(read_records(store.program_store(pg_program)), before)


def test_allowed_direct_edits_are_reported_by_history(pg_program, tmp_path):
    seed(pg_program, tmp_path)
    con, schema = connect(pg_program)
    with con:
        s = sql.Identifier(schema)
        con.execute(sql.SQL("UPDATE {}.operations SET area_ha = 0.5 WHERE fid = 1").format(s))
        # a new operation typed into QGIS: its fid comes from the table's own sequence
        fid = con.execute(
            sql.SQL(
                "INSERT INTO {}.operations (stand_id, date, operation) "
                "VALUES ('1-3-1', '2021-06-01', 'weeding') RETURNING fid"
            ).format(s)
        ).fetchone()[0]
        # a stand's attributes edited in QGIS: the register the program reads
        con.execute(
            sql.SQL("UPDATE {}.stands SET plan_id = 'P9' WHERE stand_id = '1-3-1'").format(s)
        )
    assert fid == 4  # after the three imported records
    ok, text = store.verify_history(store.program_store(pg_program))
    assert not ok and "2 record(s) not explained" in text
    stands = load_program(pg_program).stands.set_index("stand_id")
    assert stands.loc["1-3-1", "plan_id"] == "P9"
    # forestcarbon's next record does not collide with the one typed in QGIS
    added = store.add_operation(pg_program, stand_id="1-2-1", date="2022-06-01", operation="除伐")
    assert read_records(store.program_store(pg_program))["fid"].tolist() == [1, 2, 3, 4, 5]
    assert added.n_added == 1


HOSTILE = ["O'Brien-1", "'; DROP TABLE operations; --", 'x"y', "1-1-1'); DELETE FROM stands; --"]


def test_hostile_stand_ids_and_schema_are_data(program, pg_cluster, tmp_path):
    schema = "o'k\"; DROP SCHEMA public CASCADE; --"
    toml = f"[store]\nurl = \"{pg_cluster.url()}\"\nschema = '''{schema}'''\n"
    folder = program([stand(i, 1.0) for i in HOSTILE], [], extra_toml=toml)
    for k, sid in enumerate(HOSTILE):
        store.add_operation(folder, stand_id=sid, date=f"2020-06-0{k + 1}", operation="weeding")
    target = store.program_store(folder)
    assert target.schema == schema
    records = read_records(target)
    assert records["stand_id"].tolist() == HOSTILE
    assert sorted(load_program(folder).stands["stand_id"]) == sorted(HOSTILE)
    store.undo_last(folder)
    assert read_records(target)["stand_id"].tolist() == HOSTILE[:-1]
    con, _ = connect(folder)
    with con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            )
        }
    assert {f"{schema}.operations", f"{schema}.stands", "public.spatial_ref_sys"} <= tables


def test_password_never_in_program_toml(program, pg_cluster, capsys):
    url = pg_cluster.url().replace("postgres@", "postgres:secret@")
    folder = program([stand("1-1-1")], [], extra_toml=f'[store]\nurl = "{url}"\n')
    code = main(["ops", "add", str(folder), "--stand", "1-1-1", "--date", "2020-01-01",
                 "--operation", "weeding"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "[store] url" in err and "PGPASSWORD" in err and "~/.pgpass" in err
    assert "secret" not in err


def test_unreachable_server_is_a_clear_message(program, capsys):
    url = "postgresql://officer@127.0.0.1:1/forestry"
    folder = program([stand("1-1-1")], [], extra_toml=f'[store]\nurl = "{url}"\n')
    code = main(["ops", "history", str(folder)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "cannot connect to the record store" in err and "127.0.0.1:1/forestry" in err


def test_least_privilege_role(program, pg_cluster, tmp_path, capsys):
    toml = store_toml(pg_cluster)
    folder = program([dict(s) for s in STANDS], [], extra_toml=toml)
    seed(folder, tmp_path)  # the administrator creates the store (owner of its tables)
    target = store.program_store(folder)
    role = "officer_" + target.schema
    pg_cluster.sql("forestcarbon", f"CREATE ROLE {role} LOGIN")
    assert main(["store", "grants", str(folder), "--role", role]) == 0
    printed = capsys.readouterr().out
    assert f'GRANT INSERT, DELETE ON "{target.schema}".operations TO "{role}";' in printed
    assert "history" in printed
    # UPDATE only on the ledger's balances (the upsert a ledger write makes), never on history
    assert [line for line in printed.splitlines() if "UPDATE" in line] == [
        f'GRANT INSERT, UPDATE ON "{target.schema}".credit_balances TO "{role}";'
    ]
    with psycopg.connect(target.url, autocommit=True) as con:
        for statement in grant_statements(target.schema, role):
            con.execute(statement)
    officer_toml = toml.replace("postgres@", f"{role}@")
    (folder / "program.toml").write_text(
        (folder / "program.toml").read_text(encoding="utf-8").replace(toml, officer_toml),
        encoding="utf-8",
    )
    # the officer records, undoes and reads through forestcarbon
    store.add_operation(folder, stand_id="1-3-1", date="2021-06-01", operation="weeding")
    store.undo_last(folder)
    assert len(read_records(store.program_store(folder))) == 3
    assert load_program(folder).operations.shape[0] == 3
    # but cannot rewrite history, change the register or the tables
    con, schema = connect(folder, pg_cluster.url(role))
    s = sql.Identifier(schema)
    with con:
        for statement in (
            "DELETE FROM {s}.history",
            "UPDATE {s}.operations SET area_ha = 0.1",
            "UPDATE {s}.stands SET plan_id = ''",
            "DROP TABLE {s}.history_rows",
            "CREATE TABLE {s}.mine (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(sql.SQL(statement).format(s=s))


def test_import_killed_mid_transaction_leaves_nothing(program, pg_cluster, tmp_path):
    folder = program(
        [stand(f"1-{k}-1", 2.0) for k in range(1, 21)], [], extra_toml=store_toml(pg_cluster)
    )
    seed(folder, tmp_path)
    target = store.program_store(folder)
    before = (read_records(target), store.read_history(target))
    csv = big_import(tmp_path / "big.csv", 200_000)
    # killed once the import is inside its transaction, copying rows into the tables
    returncode = kill_mid_transaction(
        target.url,
        ["-q", "ops", "import", str(folder), str(csv)],
        "state = 'active' AND query LIKE 'COPY%%'",
        poll_s=0.005,
    )
    assert returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(read_records(target), before[0])
    pd.testing.assert_frame_equal(store.read_history(target), before[1])
    assert store.verify_history(target)[0]
    # the advisory lock died with the connection: the store keeps working
    store.add_operation(folder, stand_id="1-5-1", date="2024-05-01", operation="weeding")
    assert np.array_equal(read_records(target)["fid"], [1, 2, 3, 200_004])


def test_missing_schema_is_not_found(program, pg_cluster):
    folder = program([stand("1-1-1")], [], extra_toml=store_toml(pg_cluster))
    with pytest.raises(InputError, match="record store not found"):
        store.undo_last(folder)


def _interfered(target, attempts, *, every_time):
    """An apply function that reads fid 1, lets a concurrent edit (as from QGIS) change it and
    commit, then deletes it: PostgreSQL refuses the stale delete with a serialization failure."""

    def apply(session):
        attempts.append(1)
        assert len(session.records([1])) == 1  # the snapshot is taken here
        if every_time or len(attempts) == 1:
            with psycopg.connect(target.url, autocommit=True) as other:
                other.execute(
                    sql.SQL("UPDATE {}.operations SET note = %s WHERE fid = 1").format(
                        sql.Identifier(target.schema)
                    ),
                    (f"QGIS edit {len(attempts)}",),
                )
        session.con.execute(
            sql.SQL("DELETE FROM {}.operations WHERE fid = 1").format(sql.Identifier(target.schema))
        )
        return len(attempts)

    return apply


def test_serialization_failure_is_retried(pg_program, tmp_path):
    seed(pg_program, tmp_path)
    target = store.program_store(pg_program)
    attempts = []
    assert target.change(_interfered(target, attempts, every_time=False)) == 2
    assert read_records(target)["fid"].tolist() == [2, 3]  # the second attempt committed


def test_serialization_failures_stop_after_a_bounded_number_of_attempts(pg_program, tmp_path):
    seed(pg_program, tmp_path)
    target = store.program_store(pg_program)
    attempts = []
    with pytest.raises(InputError, match=r"kept changing under this command \(8 attempts"):
        target.change(_interfered(target, attempts, every_time=True))
    assert len(attempts) == MAX_ATTEMPTS == 8
    records = read_records(target)
    assert records["fid"].tolist() == [1, 2, 3]  # nothing of ours was written
    assert records["note"].iloc[0] == "QGIS edit 8"  # the other editor's last change
