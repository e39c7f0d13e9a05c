"""What ``forestcarbon credits ACTION`` does once parsed: call the ledger, print, exit code."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from forestcarbon.core.config import load_settings
from forestcarbon.core.files import write_outputs
from forestcarbon.officer import ledger
from forestcarbon.officer.ledger_state import ACTION_JA, replay
from forestcarbon.officer.ledger_tables import program_ledger
from forestcarbon.outputs.credit_report import CREDIT_REPORT_FILE, credit_report_files


def run(args) -> int:
    """Run a ``credits`` action; returns the exit code."""
    action = args.credits_command
    program = args.program_dir
    if action == "balance":
        return _balance(program)
    if action == "history":
        return _history(program)
    if action == "report":
        return _report(args)
    if action == "issue":
        change = ledger.issue(
            program,
            methodology=args.methodology,
            period=args.period,
            tonnes=args.tonnes,
            certified=args.certified,
            run_dir=args.run,
            reference=args.reference,
        )
    elif action == "sell":
        change = ledger.sell(
            program,
            buyer=args.buyer,
            tonnes=args.tonnes,
            price_yen=args.price_yen,
            date=args.date,
            holder=args.holder,
            methodology=args.methodology,
            period=args.period,
            reference=args.reference,
        )
    elif action == "retire":
        change = ledger.retire(
            program,
            holder=args.holder,
            tonnes=args.tonnes,
            purpose=args.purpose,
            date=args.date,
            methodology=args.methodology,
            period=args.period,
            reference=args.reference,
        )
    elif action == "stickers":
        change = ledger.stickers(
            program,
            holder=args.holder,
            count=args.count,
            per_tonne=args.per_tonne,
            date=args.date,
            retirement=args.retirement,
        )
    elif action == "undo":
        change = ledger.undo(program, note=args.message)
    else:
        change = ledger.import_records(program, args.file, run_dir=args.run)
    print(change)
    return 0


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (Japanese characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 1)


def _balance(program: Path) -> int:
    path, entries, _ = ledger.read_ledger(program)
    table = ledger.balance_table(replay(entries))
    print(f"{path}: {len(entries)} entries")
    print(
        f"{'holder':<20}{'methodology':<12}{'period':<24}{'held t':>10}{'retired t':>10}"
        f"{'stickers':>12}"
    )
    for r in table.itertuples():
        print(
            f"{_pad(r.holder, 20)}{r.methodology:<12}{r.period:<24}{r.held_t:>10,}"
            f"{r.retired_t:>10,}{r.stickers:>12,}"
        )
    for holder, g in table.groupby("holder", sort=True):
        print(f"  {holder}: holds {g['held_t'].sum():,} t, retired {g['retired_t'].sum():,} t")
    return 0


def _history(program: Path) -> int:
    path, entries, _ = ledger.read_ledger(program)
    print(f"{path}: {len(entries)} entries")
    history = ledger.history_table(entries)
    for e, undone_by in zip(entries, history["undone_by"], strict=True):
        mark = f"  [undone by #{undone_by}]" if pd.notna(undone_by) else ""
        print(f"  change {e['change']:>4}  {ledger.describe(e)}{mark}")
    problems = ledger.check_ledger(program)
    for p in problems:
        print(f"PROBLEM: {p}")
    if not problems:
        print("chain intact; balances recomputed from the entries equal the stored balances")
    return 1 if problems else 0


def _report(args) -> int:
    program = args.program_dir
    tables = program_ledger(program)
    if tables is None:
        print(f"{program}: no credit ledger yet (forestcarbon credits issue ...)")
        return 1
    name = load_settings(program).program.name
    out = args.out or Path(program) / "credits"
    written = write_outputs(out, credit_report_files(tables, title=name), overwrite=args.overwrite)
    use = tables["use"]
    for r in use.itertuples():
        print(
            f"  {r.methodology:<10}{r.period:<24} {ACTION_JA['issue']} {r.issued_t:,} t, "
            f"sold {r.sold_t:,} t, retired {r.retired_t:,} t, {r.stickers:,} stickers, "
            f"{r.revenue_yen:,} yen"
        )
    print("wrote " + ", ".join(str(p) for p in written if p.name == CREDIT_REPORT_FILE))
    return 0
