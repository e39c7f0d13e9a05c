"""The credit ledger and the reviews in PostgreSQL (forestcarbon.inputs.store_postgres_side) on a
real throwaway cluster: direct edits (as QGIS or psql make them) go through the same constraints,
tampering after disabling a trigger is found by the chain, a write killed mid-transaction leaves
nothing, and the least-privilege role can record but never delete ledger history.

What both stores share: tests/officer/test_ledger.py and test_reviews.py; concurrency:
test_ledger_concurrency.py."""

from __future__ import annotations

import signal

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from forestcarbon.cli.main import main
from forestcarbon.core.config import load_settings
from forestcarbon.inputs.reviews import read_reviews, review_store
from forestcarbon.inputs.store_postgres import grant_statements
from forestcarbon.officer import ledger, store
from forestcarbon.officer.reviews import add_review
from tests.conftest import stand
from tests.officer.ledger_fixtures import clock as ledger_clock
from tests.officer.ledger_fixtures import run_with_credits
from tests.officer.test_ledger import BANK, seeded
from tests.officer.test_store import seed
from tests.pg_cluster import kill_mid_transaction, store_toml

STANDS = [stand("1-1-1", 1.0), stand("1-2-1", 2.0), stand("1-3-1", 1.0)]


@pytest.fixture
def pg_ledger(program, pg_cluster, tmp_path):
    """(program, run folder): three stands and their records in a fresh schema, created by the
    administrator's role, with the seeded ledger of test_ledger.py (6 entries) and one review."""
    toml = store_toml(pg_cluster)
    folder = program([dict(s) for s in STANDS], [], extra_toml=toml + PERIOD_22)
    seed(folder, tmp_path)
    run = run_with_credits(tmp_path, folder)
    seeded(folder, run)
    add_review(folder, "1-2-1", "standing", "field visit", now=ledger_clock)
    return folder, run


PERIOD_22 = "\n[[periods]]\nstart = 2022-04-01\nend = 2023-03-31\n"


def execute(folder, statement: str, url: str | None = None):
    """Run one statement (``{s}`` the program's schema) directly, as QGIS or psql would."""
    target = store.program_store(folder)
    with psycopg.connect(url or target.url, autocommit=True) as con:
        return con.execute(sql.SQL(statement).format(s=sql.Identifier(target.schema)))


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("UPDATE {s}.credit_entries SET tonnes = 1 WHERE entry = 1", "append-only"),
        ("DELETE FROM {s}.credit_entries WHERE entry = 6", "append-only"),
        ("TRUNCATE {s}.credit_entries CASCADE", "append-only"),
        ("DELETE FROM {s}.reviews", "append-only"),
        ("UPDATE {s}.reviews SET decision = 'felled'", "append-only"),
        (  # a forged entry that does not continue the chain
            "INSERT INTO {s}.credit_entries SELECT entry + 1, change + 1, time, date, action, "
            "holder, buyer, methodology, period, tonnes, price_yen, purpose, reference, run, "
            "run_sha256, retirement, per_tonne, serial_first, serial_last, undoes, source, "
            "prev_hash, hash || '' FROM {s}.credit_entries WHERE entry = 6",
            "does not continue the hash chain",
        ),
        ("UPDATE {s}.credit_balances SET held_t = -1", "credit_balances_held_t_check"),
        (
            "INSERT INTO {s}.reviews (time, stand_id, decision, note) "
            "VALUES ('t', '9-9-9', 'standing', 'x')",
            "reviews_stand_id_fkey",
        ),
        (
            "INSERT INTO {s}.reviews (time, stand_id, decision, note) "
            "VALUES ('t', '1-1-1', 'gone', 'x')",
            "reviews_decision_check",
        ),
    ],
)
def test_direct_edits_go_through_the_same_constraints(pg_ledger, statement, error):
    folder, _ = pg_ledger
    before = ledger.read_ledger(folder)[1:]
    with pytest.raises(psycopg.errors.IntegrityError, match=error):
        execute(folder, statement)
    assert ledger.read_ledger(folder)[1:] == before
    assert ledger.check_ledger(folder) == []


def test_tampering_after_disabling_the_trigger_is_found(pg_ledger, capsys):
    folder, _ = pg_ledger
    execute(folder, "ALTER TABLE {s}.credit_entries DISABLE TRIGGER append_only")
    execute(folder, "UPDATE {s}.credit_entries SET tonnes = 50 WHERE entry = 1")
    problems = ledger.check_ledger(folder)
    assert any("entry 1: contents do not match its hash" in p for p in problems), problems
    assert any("credit_balances differ" in p for p in problems)
    assert main(["credits", "history", str(folder)]) == 1
    assert "schema t_" in capsys.readouterr().out


def test_ledger_import_killed_mid_transaction_leaves_nothing(pg_ledger, tmp_path):
    folder, _ = pg_ledger
    before = ledger.read_ledger(folder)[1:]
    rows = 20_000
    big = pd.DataFrame(
        {"日付": "2025-01-01", "区分": "シール", "購入者": BANK, "数量": "1"}
        | {"金額": "", "用途": ""},
        index=range(rows),
    )
    big.loc[0] = ["2025-01-01", "無効化", BANK, "10", "", "大量"]  # room for 100,000 stickers
    csv = tmp_path / "big.csv"
    big.to_csv(csv, index=False)
    target = store.program_store(folder)
    # killed once the import's transaction has written (it holds a transaction id)
    returncode = kill_mid_transaction(
        target.url,
        ["-q", "credits", "import", str(folder), str(csv)],
        "backend_xid IS NOT NULL",
        poll_s=0.002,
    )
    assert returncode == -signal.SIGKILL
    assert ledger.read_ledger(folder)[1:] == before
    assert ledger.check_ledger(folder) == []
    # the lock died with the connection: the ledger keeps working, the chain goes on
    ledger.sell(folder, buyer=BANK, tonnes=1, price_yen=1, date="2025-01-02", now=ledger_clock)
    assert len(ledger.read_ledger(folder)[1]) == len(before[0]) + 1


def test_least_privilege_role_records_but_never_deletes(pg_ledger, pg_cluster, capsys):
    folder, _ = pg_ledger
    target = store.program_store(folder)
    role = "clerk_" + target.schema
    pg_cluster.sql("forestcarbon", f"CREATE ROLE {role} LOGIN")
    assert main(["store", "grants", str(folder), "--role", role]) == 0
    printed = capsys.readouterr().out
    assert f'GRANT INSERT ON "{target.schema}".reviews, "{target.schema}".credit_entries' in printed
    assert "DELETE ON" in printed and "credit_entries TO" in printed
    with psycopg.connect(target.url, autocommit=True) as con:
        for statement in grant_statements(target.schema, role):
            con.execute(statement)
    text = (folder / "program.toml").read_text(encoding="utf-8")
    (folder / "program.toml").write_text(text.replace("postgres@", f"{role}@"), encoding="utf-8")
    assert store.program_store(folder).url == pg_cluster.url(role)
    # the officer records a review, a sale and an undo through forestcarbon
    add_review(folder, "1-3-1", "felled", "aerial photo 2024", now=ledger_clock)
    ledger.sell(folder, buyer=BANK, tonnes=2, price_yen=2, date="2025-01-03", now=ledger_clock)
    ledger.undo(folder, now=ledger_clock)
    assert ledger.check_ledger(folder) == []
    assert len(read_reviews(review_store(folder, load_settings(folder)))) == 2
    # but can neither delete nor rewrite ledger history or reviews, even with triggers off
    url = pg_cluster.url(role)
    for statement in (
        "DELETE FROM {s}.credit_entries",
        "UPDATE {s}.credit_entries SET tonnes = 0",
        "TRUNCATE {s}.credit_entries",
        "DELETE FROM {s}.reviews",
        "DELETE FROM {s}.credit_balances",
        "ALTER TABLE {s}.credit_entries DISABLE TRIGGER append_only",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            execute(folder, statement, url)
    assert ledger.check_ledger(folder) == []
