"""Benchmark of the credit ledger (forestcarbon.officer.ledger) and its sticker look-up page.

1. Importing N records (sales of 1 t each, CSV with Japanese headers) into an empty ledger.
2. One more sale on a ledger of N entries: every write replays the entries to check the
   invariants on the state it would leave (the cost grows with the ledger).
3. ``check_ledger`` (chain and balances, what ``forestcarbon verify`` adds) on N entries.
4. The sticker look-up page for 10 million stickers in R ranges: bytes of the HTML.

    PYTHONPATH=. python benchmarks/bench_ledger.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import pandas as pd

from forestcarbon.officer import ledger
from forestcarbon.outputs.sticker_page import sticker_data, sticker_page
from tests.officer.ledger_fixtures import P22, ledger_program
from tests.outputs.test_sticker_page import PLACES, USERS, stickers

SUMMARY = f"methodology,period,total_tco2,credits_t,n_activities\nFO-001,{P22},1e9,1000000000,1\n"


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def ledger_of(n: int, folder: Path) -> Path:
    program, run = ledger_program(folder)
    (run / "program_summary.csv").write_text(SUMMARY, encoding="utf-8")
    rows = [("2023-10-15", "認証", "", str(n + 10), "", "", "FO-001", P22)]
    day = dt.date(2024, 1, 1)
    rows += [
        (
            (day + dt.timedelta(days=i // 100)).isoformat(),
            "売却",
            "山の幸食品",
            "1",
            "1000",
            "",
            "",
            "",
        )
        for i in range(n)
    ]
    csv = folder / "records.csv"
    columns = ["日付", "区分", "購入者", "数量", "金額", "用途", "方法論", "期間"]
    pd.DataFrame(rows, columns=columns).to_csv(csv, index=False)
    _, seconds = timed(ledger.import_records, program, csv, run_dir=run, now=lambda: NOW)
    print(f"import {n:>7,} records: {seconds:6.2f} s ({n / seconds:,.0f} records/s)")
    return program


NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def main() -> None:
    for n in (1_000, 10_000, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            program = ledger_of(n, Path(tmp))
            _, seconds = timed(
                ledger.sell,
                program,
                buyer="つやま信金",
                tonnes=1,
                price_yen=1,
                date="2029-01-01",
                now=lambda: NOW,
            )
            print(f"  one sale on {n + 1:>7,} entries: {seconds:6.3f} s")
            problems, seconds = timed(ledger.check_ledger, program)
            print(f"  check_ledger: {seconds:6.3f} s, {len(problems)} problem(s)")
    for ranges in (1_000, 10_000, 100_000):
        page = sticker_page(
            sticker_data(stickers(ranges, 10_000_000 // ranges), USERS, PLACES),
            map_file="map.html",
            title="bench",
        )
        print(f"sticker page, 10,000,000 stickers in {ranges:>7,} ranges: {len(page):>10,} bytes")


if __name__ == "__main__":
    main()
