"""Benchmark of the record store on each implementation (forestcarbon.inputs.store_gpkg,
forestcarbon.inputs.store_postgres) through the officers' own functions (checks included):

1. import 200,000 operations (cp932, Japanese headers) on the bundled sample's register into a new
   store, then read them back (``load_program``'s path);
2. add 1,000 single operations one command at a time (``ops add``: program read, store read and
   checked, one transaction each) to a store holding the sample's 1,515 records;
3. the credit ledger: import 10,000 sales as one change (``credits import``), then 1,000 single
   sales one command at a time (``credits sell``: settings and buyers read, the ledger replayed
   and checked, one transaction each) on a ledger that grows from 1 to 1,001 entries, and
   ``check_ledger`` (chain and balances, what ``verify`` adds) at the end.

PostgreSQL: ``--url postgresql://user@host/db`` (a new schema is created and dropped), or, without
it, a throwaway local cluster like the tests' (Debian's postgresql + postgis).

    python benchmarks/bench_store.py [--url URL] [--n-import 200000] [--n-add 1000]
        [--n-sales 1000] [--n-ledger-import 10000] [--ledger-only]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_plan import SAMPLE, _no_ops

from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import load_operations, read_records
from forestcarbon.officer import ledger, store
from tests.officer.ledger_fixtures import P22, ledger_program
from tests.pg_cluster import Cluster, _bindir

LEDGER_SUMMARY = (
    f"methodology,period,total_tco2,credits_t,n_activities\nFO-001,{P22},1e9,1000000000,1\n"
)


def _now():
    return pd.Timestamp("2025-06-01T09:00:00Z").to_pydatetime()


def bench_ledger(kind: str, lines: tuple[str, str], tmp: Path, n_sales: int, n_import: int):
    """The ledger commands on one store (see the module docstring, part 3); ``lines``: the
    program.toml lines of the store for the import and for the single sales."""
    folder = tmp / f"ledger-{kind}"
    program, run = ledger_program(folder, extra_toml=lines[0])
    (run / "program_summary.csv").write_text(LEDGER_SUMMARY, encoding="utf-8")
    rows = [("2023-10-15", "認証", "", str(n_import + n_sales + 10), "", "", "FO-001", P22)]
    rows += [("2024-01-01", "売却", "山の幸食品", "1", "1000", "", "", "")] * n_import
    csv = folder / "sales.csv"
    columns = ["日付", "区分", "購入者", "数量", "金額", "用途", "方法論", "期間"]
    pd.DataFrame(rows, columns=columns).to_csv(csv, index=False)
    t = time.perf_counter()
    ledger.import_records(program, csv, run_dir=run, now=_now)
    t_import = time.perf_counter() - t
    print(
        f"{kind:<10} ledger import of 1 issue + {n_import:,} sales (one change): {t_import:6.2f} s "
        f"({n_import / t_import:,.0f} entries/s)"
    )
    program, run = ledger_program(tmp / f"ledger-{kind}-sales", extra_toml=lines[1])
    (run / "program_summary.csv").write_text(LEDGER_SUMMARY, encoding="utf-8")
    ledger.issue(
        program,
        methodology="FO-001",
        period=P22,
        tonnes=n_sales,
        certified="2023-10-15",
        run_dir=run,
        now=_now,
    )
    t = time.perf_counter()
    for _ in range(n_sales):
        ledger.sell(
            program, buyer="山の幸食品", tonnes=1, price_yen=1000, date="2024-01-01", now=_now
        )
    t_sales = time.perf_counter() - t
    t = time.perf_counter()
    problems = ledger.check_ledger(program)
    t_check = time.perf_counter() - t
    assert not problems, problems
    _, entries, stored = ledger.read_ledger(program)
    held = {r[0]: r[3] for r in stored}
    assert len(entries) == n_sales + 1 and held == {"city": 0, "山の幸食品": n_sales}
    print(
        f"{kind:<10} {n_sales:,} single sales from one issued block: {t_sales:6.2f} s "
        f"({1000 * t_sales / n_sales:.0f} ms per sale); check_ledger on {len(entries):,} "
        f"entries: {t_check:.2f} s"
    )


def program_on(tmp: Path, name: str, store_lines: str, *, operations: bool) -> Path:
    folder = tmp / name
    shutil.copytree(SAMPLE, folder)
    toml = (folder / "program.toml").read_text(encoding="utf-8")
    toml = toml.replace("[fo001]", store_lines + "\n[fo001]", 1)
    (folder / "program.toml").write_text(toml, encoding="utf-8")
    if operations:
        store.import_operations(folder, SAMPLE / "operations.csv")
    return folder


def big_csv(folder: Path, path: Path, n: int) -> Path:
    """``n`` distinct weedings on the sample's stands planted before FY1995 of at least 1 ha."""
    stands = load_program(folder, settings=_no_ops(folder)).stands
    ok = stands[(stands["planted_year"] < 1995) & (stands["area_ha"] >= 1.0)]["stand_id"]
    rng = np.random.default_rng(1)
    ids = rng.choice(ok.to_numpy(), 2 * n)
    days = rng.integers(0, 10_000, 2 * n)
    dates = (pd.Timestamp("1996-04-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    parts = pd.Series(ids).str.split("-", expand=True)
    table = pd.DataFrame(
        {"林班": parts[0], "小班": parts[1], "枝番": parts[2], "施業": "下刈", "実施日": dates}
    )
    table = table.drop_duplicates().head(n)
    table["面積"] = np.round(rng.uniform(0.01, 0.99, len(table)), 4)
    table.to_csv(path, index=False, encoding="cp932")
    return path


def bench(kind: str, lines: tuple[str, str], tmp: Path, n_import: int, n_add: int) -> None:
    """``lines``: program.toml lines of the store to import into, and of the store to add to."""
    folder = program_on(tmp, f"{kind}-import", lines[0], operations=False)
    csv = big_csv(folder, tmp / f"{kind}.csv", n_import)
    t = time.perf_counter()
    result = store.import_operations(folder, csv)
    t_import = time.perf_counter() - t
    t = time.perf_counter()
    ops, problems = load_operations(store.program_store(folder))
    t_read = time.perf_counter() - t
    assert not problems and len(ops) == result.n_added
    print(
        f"{kind:<10} import {result.n_added:,} operations: {t_import:6.2f} s "
        f"({result.n_added / t_import:,.0f} rows/s); read back and validated: {t_read:.2f} s"
    )
    folder = program_on(tmp, f"{kind}-add", lines[1], operations=True)
    kept = len(read_records(store.program_store(folder)))
    t = time.perf_counter()
    for i in range(n_add):
        day = (pd.Timestamp("2024-04-01") + pd.Timedelta(days=i % 360)).strftime("%Y-%m-%d")
        store.add_operation(
            folder, stand_id=f"{i // 360 + 1}-1-1", date=day, operation="pruning", area_ha="0.01"
        )
    t_add = time.perf_counter() - t
    print(
        f"{kind:<10} {n_add:,} single adds to a store of {kept:,} records: {t_add:6.2f} s "
        f"({1000 * t_add / n_add:.0f} ms per add, {n_add / t_add:.1f} adds/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="PostgreSQL server (default: a local cluster)")
    parser.add_argument("--n-import", type=int, default=200_000)
    parser.add_argument("--n-add", type=int, default=1_000)
    parser.add_argument("--n-sales", type=int, default=1_000)
    parser.add_argument("--n-ledger-import", type=int, default=10_000)
    parser.add_argument("--ledger-only", action="store_true", help="only part 3 (the ledger)")
    args = parser.parse_args()
    cluster = None
    url = args.url
    if not url:
        bindir = _bindir()
        if bindir is None:
            sys.exit("PostgreSQL with PostGIS is not installed (or give --url)")
        cluster = Cluster(bindir)
        cluster.start()
        url = cluster.url()
    schema = "bench_" + uuid.uuid4().hex[:8]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            gpkg = '[inputs]\noperations = "records.gpkg"\n'
            pg = tuple(
                f'[store]\nurl = "{url}"\nschema = "{schema}_{part}"\n'
                for part in ("import", "add", "ledger", "sales")
            )
            if not args.ledger_only:
                bench("gpkg", (gpkg, gpkg), Path(tmp), args.n_import, args.n_add)
                bench("postgresql", pg[:2], Path(tmp), args.n_import, args.n_add)
            bench_ledger("gpkg", ("", ""), Path(tmp), args.n_sales, args.n_ledger_import)
            bench_ledger("postgresql", pg[2:], Path(tmp), args.n_sales, args.n_ledger_import)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            for part in ("import", "add", "ledger", "sales"):
                con.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(f"{schema}_{part}")
                    )
                )
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
