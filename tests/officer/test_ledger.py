"""Credit ledger (forestcarbon.officer.ledger, ``forestcarbon credits``): entries, invariants
reported at once, undo, import, tamper evidence, a write killed mid-way and two writers.

The tests run on both stores (``prog``: records.gpkg, then a PostgreSQL schema); those that open
the GeoPackage with sqlite3 use ``gpkg_prog``. PostgreSQL's own (tampering, a killed write, the
least-privilege role): tests/officer/test_ledger_postgres.py; several writers at once:
tests/officer/test_ledger_concurrency.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs import store_gpkg
from forestcarbon.officer import ledger
from forestcarbon.officer.ledger_state import replay
from forestcarbon.officer.ledger_tables import program_ledger
from forestcarbon.verify import check_ledger
from tests.officer.ledger_fixtures import P22, P23, clock, ledger_program
from tests.pg_cluster import store_toml

BANK, FOOD = "つやま信金", "山の幸食品"


@pytest.fixture(params=("gpkg", "postgresql"))
def prog(request, tmp_path):
    """(program folder, run folder) whose ledger is in records.gpkg, then in PostgreSQL."""
    extra = ""
    if request.param == "postgresql":
        extra = store_toml(request.getfixturevalue("pg_cluster"))
    return ledger_program(tmp_path, extra_toml=extra)


@pytest.fixture
def gpkg_prog(tmp_path):
    return ledger_program(tmp_path)


def balances(program):
    stored = ledger.read_ledger(program)[2]
    return {r[:3]: r[3:] for r in stored if any(r[3:])}


def seeded(program, run):
    """City holds FO-001 2022 100 t and 2023 60 t; the bank bought 110 t (FIFO) for 1.1 M yen,
    retired 5 t for its passbooks and put 50,000 stickers on them."""
    ledger.issue(
        program,
        methodology="FO-001",
        period=P22,
        tonnes=100,
        certified="2023-10-15",
        run_dir=run,
        reference="JCR-0001",
        now=clock,
    )
    ledger.issue(
        program,
        methodology="FO-001",
        period=P23,
        tonnes=60,
        certified="2024-10-15",
        run_dir=run,
        now=clock,
    )
    ledger.sell(program, buyer=BANK, tonnes=110, price_yen=1_100_000, date="2024-11-01", now=clock)
    ledger.retire(
        program,
        holder=BANK,
        tonnes=5,
        purpose="通帳5万冊の印刷製本時の電力",
        date="2024-12-01",
        now=clock,
    )
    ledger.stickers(program, holder=BANK, count=50_000, date="2024-12-02", now=clock)


def test_issue_sell_retire_stickers_balances(prog):
    program, run = prog
    seeded(program, run)
    # FIFO: the 2022 vintage came in first (2023-10-15): all 100 t of it, then 10 t of 2023;
    # price split in proportion: 1,100,000 x 100/110 = 1,000,000 and the rest 100,000
    assert balances(program) == {  # the city's 2022 vintage is all sold: (0, 0, 0), left out
        ("city", "FO-001", P23): (50, 0, 0),  # 60 - 10
        (BANK, "FO-001", P22): (95, 5, 50_000),  # 100 - 5 retired; 5 t x 10,000 stickers
        (BANK, "FO-001", P23): (10, 0, 0),
    }
    _, entries, _ = ledger.read_ledger(program)
    sales = [e for e in entries if e["action"] == "sell"]
    assert [(e["period"], e["tonnes"], e["price_yen"]) for e in sales] == [
        (P22, 100, 1_000_000),
        (P23, 10, 100_000),
    ]
    sticker = entries[-1]
    assert (sticker["serial_first"], sticker["serial_last"]) == (1, 50_000)
    assert sticker["retirement"] == entries[-2]["entry"]
    assert entries[0]["run_sha256"] and len(entries[0]["run_sha256"]) == 64
    assert check_ledger(program) == []


def test_issue_checked_against_the_run(prog):
    program, run = prog
    with pytest.raises(InputError) as e:  # the run has 60 t of FO-001 2023
        ledger.issue(
            program,
            methodology="FO-001",
            period=P23,
            tonnes=61,
            certified="2024-10-15",
            run_dir=run,
            now=clock,
        )
    assert "61 t would make 61 t" in str(e.value) and "has 60 t" in str(e.value)
    ledger.issue(
        program,
        methodology="FO-001",
        period=P23,
        tonnes=40,
        certified="2024-10-15",
        run_dir=run,
        now=clock,
    )
    with pytest.raises(InputError, match="would make 61 t"):  # 40 + 21 > 60, all issues count
        ledger.issue(
            program,
            methodology="FO-001",
            period=P23,
            tonnes=21,
            certified="2024-10-16",
            run_dir=run,
            now=clock,
        )
    with pytest.raises(InputError, match="not after the period's end 2024-03-31"):
        ledger.issue(
            program,
            methodology="EN-R-002",
            period=P23,
            tonnes=1,
            certified="2024-03-31",
            run_dir=run,
            now=clock,
        )
    with pytest.raises(InputError, match=r"EN-S-004 .* has no credits"):
        ledger.issue(
            program,
            methodology="EN-S-004",
            period=P23,
            tonnes=1,
            certified="2024-10-15",
            run_dir=run,
            now=clock,
        )


def test_every_problem_of_a_command_at_once(prog):
    program, _ = prog
    with pytest.raises(InputError) as e:
        ledger.sell(
            program,
            buyer="誰か",
            tonnes="2.5",
            price_yen="-3",
            date="2030-01-01",
            period="2020-04-01/2021-03-31",
            now=clock,
        )
    text = str(e.value)
    assert text.startswith("5 problems")
    for part in ("whole tonnes only", "whole yen", "in the future", "not a period", "'誰か' is"):
        assert part in text
    assert ledger.read_ledger(program)[1] == []


def test_nothing_beyond_what_is_held_nor_retired_twice(prog):
    program, run = prog
    seeded(program, run)
    with pytest.raises(InputError, match="つやま信金 holds 105 t of any vintage; 106 t asked"):
        ledger.retire(program, holder=BANK, tonnes=106, purpose="x", date="2025-01-01", now=clock)
    with pytest.raises(InputError, match="holds 95 t of FO-001 2022"):
        ledger.sell(
            program,
            holder=BANK,
            buyer=FOOD,
            tonnes=96,
            price_yen=0,
            date="2025-01-01",
            methodology="FO-001",
            period=P22,
            now=clock,
        )
    # the 5 t retired are gone from the holding: retiring everything left is 105 t, not 110
    ledger.retire(program, holder=BANK, tonnes=105, purpose="全量", date="2025-01-01", now=clock)
    with pytest.raises(InputError, match="holds 0 t"):
        ledger.retire(program, holder=BANK, tonnes=1, purpose="again", date="2025-01-02", now=clock)
    with pytest.raises(InputError, match="before the latest entry"):
        ledger.sell(program, buyer=FOOD, tonnes=1, price_yen=1, date="2024-12-31", now=clock)
    with pytest.raises(InputError, match=r"a retirement .* needs its purpose"):
        ledger.retire(program, tonnes=1, holder="city", purpose=" ", date="2025-02-01", now=clock)


def test_stickers_only_against_retired_tonnes(prog):
    program, run = prog
    seeded(program, run)  # 5 t retired, 50,000 stickers used up
    with pytest.raises(InputError, match="room for 0 more"):
        ledger.stickers(program, holder=BANK, count=1, date="2025-01-01", now=clock)
    ledger.retire(program, holder=BANK, tonnes=1, purpose="食品", date="2025-01-01", now=clock)
    # 1 t at 1,300 per tonne allows 1,300; 1,301 is refused, 1,300 fit
    with pytest.raises(InputError, match="room for 1300 more at 1300 per tonne"):
        ledger.stickers(
            program, holder=BANK, count=1301, per_tonne=1300, date="2025-01-02", now=clock
        )
    change = ledger.stickers(
        program, holder=BANK, count=1300, per_tonne=1300, date="2025-01-02", now=clock
    )
    assert (change.entries[0]["serial_first"], change.entries[0]["serial_last"]) == (
        50_001,
        51_300,
    )
    with pytest.raises(InputError, match="'nobody' is neither 'city' nor in the buyers table"):
        ledger.stickers(program, holder="nobody", count=1, date="2025-01-02", now=clock)


def test_undo_reverses_never_deletes(prog):
    program, run = prog
    seeded(program, run)
    n = len(ledger.read_ledger(program)[1])
    ledger.undo(program, now=clock)  # the stickers
    change = ledger.undo(program, now=clock)  # the retirement
    assert change.entries[0]["undoes"] == n - 1
    _, entries, _ = ledger.read_ledger(program)
    assert len(entries) == n + 2
    assert balances(program)[(BANK, "FO-001", P22)] == (100, 0, 0)
    # serials are never reused: the next stickers start after 50,000
    ledger.retire(program, holder=BANK, tonnes=1, purpose="再", date="2025-01-01", now=clock)
    c = ledger.stickers(program, holder=BANK, count=10, date="2025-01-02", now=clock)
    assert c.entries[0]["serial_first"] == 50_001
    assert check_ledger(program) == []


def test_undo_walks_back_to_the_start(prog):
    program, run = prog
    seeded(program, run)
    ledger.sell(program, buyer=FOOD, tonnes=30, price_yen=300_000, date="2025-01-05", now=clock)
    for _ in range(6):  # sale, stickers, retirement, sale, issue, issue: latest first
        ledger.undo(program, now=clock)
    assert balances(program) == {}
    with pytest.raises(InputError, match="nothing to undo"):
        ledger.undo(program, now=clock)
    _, entries, _ = ledger.read_ledger(program)
    assert len(entries) == 2 * 7  # 7 entries (the first sale was two), each reversed once
    assert check_ledger(program) == []


def test_import_japanese_headers_all_or_nothing(prog, tmp_path):
    program, run = prog
    rows = [
        ("2023-10-15", "認証", "", "100", "", "", "FO-001", P22),
        ("2024-11-01", "売却", BANK, "10", "120,000", "", "", ""),
        ("2024-11-20", "移転", FOOD, "20", "￥200,000", "", "", ""),
        ("2024/12/01", "無効化", BANK, "5", "", "通帳5万冊の印刷製本時の電力", "", ""),
        ("2024-12-02", "シール", BANK, "50000", "", "", "", ""),
    ]
    cols = ["日付", "区分", "購入者", "数量", "金額", "用途", "方法論", "期間"]
    csv = tmp_path / "records.csv"
    pd.DataFrame(rows, columns=cols).to_csv(csv, index=False, encoding="cp932")
    change = ledger.import_records(program, csv, run_dir=run, now=clock)
    assert len(change.entries) == 5
    assert balances(program)[(BANK, "FO-001", P22)] == (5, 5, 50_000)
    tables = program_ledger(program)
    assert tables["revenue"].to_dict("records") == [
        {"fiscal_year": 2024, "tonnes": 30, "price_yen": 320_000, "yen_per_t": 10_667, "buyers": 2}
    ]  # 320,000 / 30 = 10,666.7
    # a bad file: every problem listed, nothing written
    bad = pd.DataFrame(
        [
            ("2025-01-01", "売却", "誰か", "1", "", "", "", ""),
            ("2025-01-02", "無効化", FOOD, "21", "", "x", "", ""),
            ("2025-01-03", "謎", FOOD, "1.5", "", "", "", ""),
        ],
        columns=cols,
    )
    bad_xlsx = tmp_path / "bad.xlsx"
    bad.to_excel(bad_xlsx, index=False)
    with pytest.raises(InputError) as e:
        ledger.import_records(program, bad_xlsx, now=clock)
    text = str(e.value)
    assert "row 2, column '購入者'" in text and "row 3, column '数量'" in text
    assert "row 4, column '区分'" in text and "row 4, column '数量'" in text
    assert len(ledger.read_ledger(program)[1]) == 5


def test_tampering_one_row_is_detected(gpkg_prog):
    program, run = gpkg_prog
    seeded(program, run)
    path = program / "records.gpkg"
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE credit_entries SET tonnes = 50 WHERE entry = 4")
    with pytest.raises(sqlite3.IntegrityError, match="must continue the hash chain"):
        con.execute(  # a forged entry copied from the first: not chained to the last entry
            "INSERT INTO credit_entries (entry, change, time, date, action, holder, buyer, "
            "methodology, period, tonnes, purpose, reference, run, run_sha256, source, "
            "prev_hash, hash) SELECT max(entry) + 1, 99, 't', '2025-01-01', 'issue', 'city', '', "
            "'FO-001', period, 1000, '', '', '', '', '', hash, hash FROM credit_entries "
            "WHERE entry = 1"
        )
    # someone drops the trigger and edits the retirement down (and its balance to match)
    con.execute("DROP TRIGGER credit_entries_append_only_update")
    con.execute("UPDATE credit_entries SET tonnes = 50 WHERE entry = 1")
    con.commit()
    con.close()
    problems = check_ledger(program)
    assert any("entry 1: contents do not match its hash" in p for p in problems)
    assert any("credit_balances differ" in p for p in problems)


def test_verify_and_history_report_tampering(gpkg_prog, capsys):
    program, run = gpkg_prog
    seeded(program, run)
    assert main(["credits", "history", str(program)]) == 0
    assert "chain intact" in capsys.readouterr().out
    con = sqlite3.connect(program / "records.gpkg")
    con.execute("DROP TRIGGER credit_entries_append_only_update")
    con.execute("UPDATE credit_entries SET purpose = '改ざん' WHERE entry = 4")
    con.commit()
    con.close()
    assert main(["credits", "history", str(program)]) == 1
    assert "entry 4: contents do not match its hash" in capsys.readouterr().out


def test_cli_commands(prog, capsys, tmp_path):
    program, run = prog
    p = str(program)
    args = ["--methodology", "FO-001", "--period", P22, "--tonnes", "100"]
    assert (
        main(["-q", "credits", "issue", p, *args, "--certified", "2023-10-15", "--run", str(run)])
        == 0
    )
    assert (
        main(
            [
                "-q",
                "credits",
                "sell",
                p,
                "--buyer",
                BANK,
                "--tonnes",
                "10",
                "--price-yen",
                "100000",
                "--date",
                "2024-11-01",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "-q",
                "credits",
                "retire",
                p,
                "--holder",
                BANK,
                "--tonnes",
                "5",
                "--purpose",
                "通帳",
                "--date",
                "2024-12-01",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "-q",
                "credits",
                "stickers",
                p,
                "--holder",
                BANK,
                "--count",
                "50000",
                "--date",
                "2024-12-02",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["credits", "balance", p]) == 0
    out = capsys.readouterr().out
    assert "つやま信金: holds 5 t, retired 5 t" in out and "city: holds 90 t" in out
    assert (
        main(
            [
                "credits",
                "sell",
                p,
                "--buyer",
                BANK,
                "--tonnes",
                "91",
                "--price-yen",
                "0",
                "--date",
                "2025-01-01",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "city holds 90 t" in err and "Traceback" not in err
    assert main(["-q", "credits", "report", p, "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "credit_ledger.xlsx").is_file()
    assert main(["-q", "credits", "undo", p]) == 0


def test_two_writers_one_waits_or_is_refused(gpkg_prog, monkeypatch):
    program, run = gpkg_prog
    seeded(program, run)
    path = program / "records.gpkg"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    monkeypatch.setattr(store_gpkg, "BUSY_TIMEOUT_S", 0.2)
    with pytest.raises(InputError, match="another program is writing the record store"):
        ledger.sell(program, buyer=FOOD, tonnes=1, price_yen=1, date="2025-01-01", now=clock)
    monkeypatch.setattr(store_gpkg, "BUSY_TIMEOUT_S", 30.0)
    done = []
    writer = threading.Thread(
        target=lambda: done.append(
            ledger.sell(program, buyer=FOOD, tonnes=1, price_yen=1, date="2025-01-01", now=clock)
        )
    )
    writer.start()
    time.sleep(0.5)
    assert not done  # waiting for the lock
    holder.execute("COMMIT")
    writer.join(10)
    holder.close()
    assert len(done) == 1
    assert balances(program)[(FOOD, "FO-001", P23)] == (1, 0, 0)  # the city holds only 2023


def test_two_processes_writing_at_once_lose_nothing(gpkg_prog):
    program, run = gpkg_prog
    seeded(program, run)
    code = (
        "import sys; from forestcarbon.officer import ledger; "
        "[ledger.sell(sys.argv[1], buyer=sys.argv[2], tonnes=1, price_yen=1000, "
        "date='2025-01-01') for _ in range(8)]"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(program), name], env=env)
        for name in (FOOD, "非公開商店")
    ]
    assert [p.wait(120) for p in procs] == [0, 0]
    b = balances(program)
    assert b[(FOOD, "FO-001", P23)][0] == 8  # first in, first out: the city holds only 2023
    assert b[("非公開商店", "FO-001", P23)][0] == 8
    _, entries, _ = ledger.read_ledger(program)
    assert len(entries) == 6 + 16 and check_ledger(program) == []


N_KILL_ROWS = 60_000


def test_import_killed_mid_write_leaves_the_ledger_as_it_was(gpkg_prog, tmp_path):
    program, run = gpkg_prog
    seeded(program, run)
    path = program / "records.gpkg"
    before = ledger.read_ledger(program)[1:]
    journal = path.with_name(path.name + "-journal")
    big = pd.DataFrame(
        {
            "日付": "2025-01-01",
            "区分": "シール",
            "購入者": BANK,
            "数量": "1",
            "金額": "",
            "用途": "",
        },
        index=range(N_KILL_ROWS),
    )
    big.loc[0] = ["2025-01-01", "無効化", BANK, "10", "", "大量"]  # room for 100,000 stickers
    csv = tmp_path / "big.csv"
    big.to_csv(csv, index=False)
    size = path.stat().st_size
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "forestcarbon.cli",
            "-q",
            "credits",
            "import",
            str(program),
            str(csv),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while not (journal.exists() and path.stat().st_size != size):
        assert proc.poll() is None, f"import ended before it wrote: {proc.stderr.read()!r}"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert journal.exists(), "the kill must land inside the transaction (hot journal left)"
    assert ledger.read_ledger(program)[1:] == before
    assert check_ledger(program) == []
    assert not journal.exists()


def test_balances_equal_replay_after_each_write(prog):
    program, run = prog
    seeded(program, run)
    _, entries, stored = ledger.read_ledger(program)
    assert replay(entries).balances() == [r for r in stored if any(r[3:])]


HOSTILE = "O'Brien \"商店\"'; DROP TABLE credit_entries; --"


def test_quotes_in_business_names_are_data(prog):
    """Business names, purposes and references with quotes and SQL are stored as typed, on both
    stores, and the chain verifies."""
    program, run = prog
    buyers = program / "buyers.csv"
    row = f'"{HOSTILE.replace(chr(34), chr(34) * 2)}",事業者,津山市5,134.0,35.0,はい\n'
    buyers.write_text(buyers.read_text(encoding="utf-8") + row, encoding="utf-8")
    ledger.issue(
        program,
        methodology="FO-001",
        period=P23,
        tonnes=10,
        certified="2024-10-15",
        run_dir=run,
        reference="'); DELETE FROM credit_balances; --",
        now=clock,
    )
    ledger.sell(program, buyer=HOSTILE, tonnes=3, price_yen=30_000, date="2024-11-01", now=clock)
    ledger.retire(
        program, holder=HOSTILE, tonnes=1, purpose="'; DROP TABLE reviews; --", date="2024-12-01",
        now=clock,
    )  # fmt: skip
    _, entries, _ = ledger.read_ledger(program)
    assert [e["buyer"] or e["holder"] for e in entries] == ["city", HOSTILE, HOSTILE]
    assert entries[0]["reference"] == "'); DELETE FROM credit_balances; --"
    assert entries[2]["purpose"] == "'; DROP TABLE reviews; --"
    assert balances(program)[(HOSTILE, "FO-001", P23)] == (2, 1, 0)
    assert check_ledger(program) == []
