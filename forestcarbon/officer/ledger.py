"""The credit ledger (クレジット台帳): what happens to the credits once certified.

``forestcarbon credits issue | sell | retire | stickers | undo | import`` write it, ``balance``,
``history`` and ``report`` read it. It lives in the program's record store
(:func:`forestcarbon.inputs.store_state.ledger_store`: the PostgreSQL schema with ``[store] url``;
else the GeoPackage named by ``[inputs] operations`` when that is a ``.gpkg``; otherwise
``records.gpkg`` in the program folder, created when missing), in its own tables
(:mod:`forestcarbon.officer.ledger_sql`), read and written through the store's session
(:class:`~forestcarbon.inputs.stores.StoreSession`): this module does not know which store.
Modules: the state and its invariants (:mod:`~forestcarbon.officer.ledger_state`), one change
being built (:mod:`~forestcarbon.officer.ledger_writer`), what the officer types or imports
(:mod:`~forestcarbon.officer.ledger_inputs`), the tables for reports and maps
(:mod:`~forestcarbon.officer.ledger_tables`); this module has the commands and the reading.

Entries
-------
issue (認証)
    Credits certified by the J-Credit scheme enter the city's holding (holder ``city``). The
    tonnes of a methodology and period, all issues together, may not exceed the credits of that
    methodology and period in a run folder of the program; the run folder and the sha256 of its
    ``provenance.json`` are kept with the entry. Certification comes after the period's end.
sell (移転)
    A transfer from a holder (the city by default) to a buyer of the buyers table
    (``[credits] buyers``). The vintage is given (``--methodology``/``--period``) or taken first in
    first out; a sale spanning vintages is one entry per vintage, the price split in proportion.
retire (無効化)
    An offset by a holder, with its purpose, from what that holder holds.
stickers (認証シール)
    Serial-number ranges against a holder's retired tonnes, ``[credits] stickers_per_tonne``
    (or ``--per-tonne``) per tonne, drawn from the oldest retirement with room first. Serials are
    never reused, not even after an undo.
undo
    Reverses the latest change not yet undone with reversing entries (never a deletion).

Invariants, checked at every write on the state the write would leave, all reported at once
(:func:`forestcarbon.officer.ledger_state.violations`): nothing sold or retired beyond what is
held per holder, methodology and period (so no tonne is retired twice); no stickers beyond the
retired tonnes; dates in order (an entry is not dated before the latest entry kept, nor in the
future); whole tonnes. Each change is one transaction of the store (all or nothing); a second
writer waits for the first (GeoPackage: up to :data:`forestcarbon.inputs.records.BUSY_TIMEOUT_S`,
then refused with a message; PostgreSQL: queued, SERIALIZABLE, retried a bounded number of times).

Tamper evidence: each entry carries the sha256 of the previous one; :func:`check_ledger` (called
by ``forestcarbon verify``) recomputes the chain and the balances from the entries and compares
them with the stored ``credit_balances``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from forestcarbon.core.config import Settings, load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.store_state import (
    LEDGER_FILE,
    ledger_path,
    ledger_store,
    refuse_stranded,
)
from forestcarbon.inputs.stores import RecordStore, StoreSession
from forestcarbon.officer import ledger_sql as sql
from forestcarbon.officer.ledger_inputs import (
    KINDS,
    iso_date,
    period_label,
    read_import,
    whole_tonnes,
    yen,
)
from forestcarbon.officer.ledger_state import (
    CITY,
    LedgerState,
    chain_problems,
    replay,
    violations,
)
from forestcarbon.officer.ledger_writer import LedgerWriter, describe

__all__ = [
    "DEFAULT_STORE",
    "LedgerChange",
    "balance_table",
    "check_ledger",
    "describe",
    "history_table",
    "import_records",
    "issue",
    "ledger_path",
    "ledger_store",
    "read_ledger",
    "retire",
    "sell",
    "stickers",
    "undo",
]

DEFAULT_STORE = LEDGER_FILE
"""The ledger's GeoPackage when ``[inputs] operations`` is not a record store."""


@dataclasses.dataclass(frozen=True)
class LedgerChange:
    """What one ledger command wrote."""

    store: str
    """The store's label (a path, or the database URL and schema)."""
    store_name: str
    change: int
    entries: tuple

    def __str__(self) -> str:
        lines = [f"{self.store_name}: change {self.change}, {len(self.entries)} entry(ies)"]
        lines += [f"  {describe(e)}" for e in self.entries]
        return "\n".join(lines)


def _now(now: Callable[[], dt.datetime] | None) -> dt.datetime:
    return (now or (lambda: dt.datetime.now(dt.UTC)))().astimezone(dt.UTC)


def _write(
    program_dir: str | Path,
    build: Callable[[LedgerWriter, dt.date], None],
    *,
    source: str,
    now: Callable[[], dt.datetime] | None = None,
) -> LedgerChange:
    """Run ``build`` against the ledger's state in one transaction; write its entries only when
    no problem was found and the state keeps every invariant."""
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    store = ledger_store(program_dir, settings)
    refuse_stranded(program_dir, settings, "ledger")
    moment = _now(now)
    time = moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def apply(session: StoreSession) -> LedgerWriter:
        state = replay(session.ledger_entries())
        writer = LedgerWriter(program_dir, settings, state, time=time, source=source)
        build(writer, moment.date())
        problems = writer.problems
        if not problems:
            problems = [Problem(store.label, "", "", v) for v in violations(state)]
        if not problems and not writer.new:
            problems = [Problem(store.label, "", "", "nothing to record")]
        if problems:
            raise InputError(problems)
        session.append_ledger(writer.new, state.deltas, time)
        return writer

    writer = store.change(apply, side=True)  # a retry runs apply again from the start
    return LedgerChange(store.label, store.name, writer.change, tuple(writer.new))


def _checked(where, column, parse, problems: list[Problem], *args):
    try:
        return parse(*args)
    except ValueError as e:
        problems.append(Problem(where[0], where[1], column, str(e)))
        return None


_OPT = {
    "methodology": "--methodology",
    "period": "--period",
    "tonnes": "--tonnes",
    "date": "--date",
    "run": "--run",
    "buyer": "--buyer",
    "holder": "--holder",
    "purpose": "--purpose",
    "count": "--count",
    "retirement": "--retirement",
}


def _command(
    name: str, program_dir, parse: Callable, act: Callable, now, *, names: dict | None = None
) -> LedgerChange:
    """A command-line entry: parse the typed values, then write. When a value does not parse,
    the names given (``{option: name}``, buyers or holders) are still checked, so that every
    problem is reported at once."""
    settings = load_settings(program_dir)

    def build(w: LedgerWriter, today: dt.date) -> None:
        problems: list[Problem] = []
        values = parse(settings, today, problems)
        if problems:
            w.problems += problems
            for option, holder in (names or {}).items():
                w.holder_known(holder, (f"credits {name}", ""), option)
            return
        act(w, values)

    return _write(program_dir, build, source=f"forestcarbon credits {name}", now=now)


def _opt_period(settings, text, where, problems):
    return _checked(where, "--period", period_label, problems, text, settings) if text else ""


def issue(
    program_dir,
    *,
    methodology: str,
    period: str,
    tonnes,
    certified: str,
    run_dir,
    reference: str = "",
    now=None,
) -> LedgerChange:
    """Credits certified for ``methodology`` and ``period`` enter the city's holding [t]."""
    where = ("credits issue", "")

    def parse(settings, today, problems):
        return {
            "methodology": methodology.strip(),
            "period": _checked(where, "--period", period_label, problems, period, settings),
            "tonnes": _checked(where, "--tonnes", whole_tonnes, problems, tonnes),
            "date": _checked(where, "--certified", iso_date, problems, certified, today),
        }

    return _command(
        "issue",
        program_dir,
        parse,
        lambda w, v: w.issue(
            **v,
            reference=reference,
            run_dir=Path(run_dir),
            where=where,
            cols=_OPT | {"date": "--certified"},
        ),
        now,
    )


def sell(
    program_dir,
    *,
    buyer: str,
    tonnes,
    price_yen,
    date: str,
    holder: str = CITY,
    methodology: str = "",
    period: str = "",
    reference: str = "",
    now=None,
) -> LedgerChange:
    """A transfer (移転) of ``tonnes`` from ``holder`` to ``buyer`` for ``price_yen`` [JPY]."""
    where = ("credits sell", "")

    def parse(settings, today, problems):
        return {
            "tonnes": _checked(where, "--tonnes", whole_tonnes, problems, tonnes),
            "price": _checked(where, "--price-yen", yen, problems, price_yen),
            "date": _checked(where, "--date", iso_date, problems, date, today),
            "period": _opt_period(settings, period, where, problems),
        }

    return _command(
        "sell",
        program_dir,
        parse,
        lambda w, v: w.sell(
            **v,
            holder=holder.strip() or CITY,
            buyer=buyer.strip(),
            methodology=methodology.strip(),
            reference=reference,
            where=where,
            cols=_OPT,
        ),
        now,
        names={"--holder": holder.strip() or CITY, "--buyer": buyer.strip()},
    )


def retire(
    program_dir,
    *,
    holder: str,
    tonnes,
    purpose: str,
    date: str,
    methodology: str = "",
    period: str = "",
    reference: str = "",
    now=None,
) -> LedgerChange:
    """A retirement (無効化) of ``tonnes`` held by ``holder`` for ``purpose``."""
    where = ("credits retire", "")

    def parse(settings, today, problems):
        return {
            "tonnes": _checked(where, "--tonnes", whole_tonnes, problems, tonnes),
            "date": _checked(where, "--date", iso_date, problems, date, today),
            "period": _opt_period(settings, period, where, problems),
        }

    return _command(
        "retire",
        program_dir,
        parse,
        lambda w, v: w.retire(
            **v,
            holder=holder.strip() or CITY,
            purpose=purpose,
            methodology=methodology.strip(),
            reference=reference,
            where=where,
            cols=_OPT,
        ),
        now,
        names={"--holder": holder.strip() or CITY},
    )


def stickers(
    program_dir,
    *,
    holder: str,
    count,
    date: str,
    per_tonne=None,
    retirement: int | None = None,
    now=None,
) -> LedgerChange:
    """``count`` certification stickers (serial ranges) against ``holder``'s retired tonnes;
    ``per_tonne`` default ``[credits] stickers_per_tonne``."""
    where = ("credits stickers", "")

    def parse(settings, today, problems):
        k = settings.credits.stickers_per_tonne if per_tonne in (None, "") else per_tonne
        return {
            "count": _checked(where, "--count", whole_tonnes, problems, count, "stickers"),
            "per_tonne": _checked(where, "--per-tonne", whole_tonnes, problems, k, "stickers"),
            "date": _checked(where, "--date", iso_date, problems, date, today),
        }

    return _command(
        "stickers",
        program_dir,
        parse,
        lambda w, v: w.stickers(
            **v, holder=holder.strip() or CITY, retirement=retirement, where=where, cols=_OPT
        ),
        now,
        names={"--holder": holder.strip() or CITY},
    )


def undo(program_dir, *, note: str = "", now=None) -> LedgerChange:
    """Reverse the latest change not yet undone (reversing entries; nothing is deleted)."""
    return _write(
        program_dir,
        lambda w, today: w.undo(date=today.isoformat(), note=note, where=("credits undo", "")),
        source="forestcarbon credits undo",
        now=now,
    )


def import_records(program_dir, file, *, run_dir=None, now=None) -> LedgerChange:
    """The city's existing records (CSV/XLSX: 日付, 区分, 購入者, 数量, 金額, 用途; optional
    方法論, 期間, 参照, 販売者) in file order, as one change: all rows or none.

    区分: 認証/発行 (issue; needs 方法論, 期間 and ``run_dir``), 売却/移転/販売 (sale to 購入者),
    無効化/償却 (retirement by 購入者, empty: the city, with 用途), シール/認証シール (数量 stickers
    for 購入者 at ``[credits] stickers_per_tonne``).
    """
    file = Path(file)
    rows = read_import(file)
    cols = {
        "date": "日付",
        "kind": "区分",
        "buyer": "購入者",
        "holder": "購入者",
        "tonnes": "数量",
        "count": "数量",
        "price": "金額",
        "purpose": "用途",
        "methodology": "方法論",
        "period": "期間",
        "run": "--run",
        "retirement": "",
    }

    def build(w: LedgerWriter, today: dt.date) -> None:
        settings = w.settings
        for r in rows.to_dict("records"):
            where = (str(file), f"row {r['row']}")
            problems: list[Problem] = []
            kind = KINDS.get(str(r["kind"]).strip().lower())
            if kind is None:
                problems.append(
                    Problem(*where, "区分", f"{r['kind']!r}: expected 認証, 売却, 無効化 or シール")
                )
            date = _checked(where, "日付", iso_date, problems, r["date"], today)
            qty = _checked(where, "数量", whole_tonnes, problems, r["quantity"])
            price = _checked(where, "金額", yen, problems, r["price_yen"])
            period = r["period"].strip()
            if period or kind == "issue":
                period = _checked(where, "期間", period_label, problems, period, settings)
            methodology, reference = r["methodology"].strip(), r["reference"].strip()
            name = r["buyer"].strip()
            if kind == "issue" and run_dir is None:
                problems.append(Problem(*where, "区分", "an issue row needs --run RUN_DIR"))
            if kind == "issue" and not methodology:
                problems.append(Problem(*where, "方法論", "an issue row needs its methodology"))
            if problems:
                w.problems += problems
                continue
            if kind == "issue":
                w.issue(
                    methodology=methodology,
                    period=period,
                    tonnes=qty,
                    date=date,
                    reference=reference,
                    run_dir=Path(run_dir),
                    where=where,
                    cols=cols,
                )
            elif kind == "sell":
                w.sell(
                    holder=r["holder"].strip() or CITY,
                    buyer=name,
                    tonnes=qty,
                    price=price,
                    date=date,
                    methodology=methodology,
                    period=period,
                    reference=reference,
                    where=where,
                    cols=cols | {"holder": "販売者"},
                )
            elif kind == "retire":
                w.retire(
                    holder=name or CITY,
                    tonnes=qty,
                    purpose=r["purpose"],
                    date=date,
                    methodology=methodology,
                    period=period,
                    reference=reference,
                    where=where,
                    cols=cols,
                )
            else:
                w.stickers(
                    holder=name or CITY,
                    count=qty,
                    per_tonne=settings.credits.stickers_per_tonne,
                    date=date,
                    retirement=None,
                    where=where,
                    cols=cols,
                )

    return _write(program_dir, build, source=f"import {file.name}", now=now)


# --- reading --------------------------------------------------------------------------------------


def read_ledger(
    program_dir: str | Path, settings: Settings | None = None
) -> tuple[RecordStore, list[dict], list[tuple]]:
    """The ledger of a program: its store, every entry (dicts, entry order) and the stored
    balances, read in one snapshot; no entries when there is no ledger yet. ``settings``:
    default program.toml's."""
    program_dir = Path(program_dir)
    settings = settings or load_settings(program_dir)
    store = ledger_store(program_dir, settings)
    refuse_stranded(program_dir, settings, "ledger")
    both = store.read_side(lambda s: (s.ledger_entries(), s.ledger_balances()))
    if both is None:
        return store, [], []
    return store, *both


def balance_table(state: LedgerState) -> pd.DataFrame:
    """Balances per holder, methodology and period: held_t, retired_t [t-CO2], stickers."""
    return pd.DataFrame(state.balances(), columns=list(sql.BALANCE_COLUMNS))


def history_table(entries: list[dict]) -> pd.DataFrame:
    """Every entry with the undo that reversed it (``undone_by``)."""
    df = pd.DataFrame(entries, columns=list(sql.ENTRY_COLUMNS))
    undone = {e["undoes"]: e["entry"] for e in entries if e["action"] == "undo"}
    df["undone_by"] = df["entry"].map(undone).astype("Int64")
    return df


def check_ledger(program_dir: str | Path) -> list[str]:
    """Everything wrong with a program's ledger (empty when sound, or when there is none): the
    hash chain, the invariants and the stored balances against those the entries add up to."""
    store, entries, stored = read_ledger(program_dir)
    if not entries and not stored:
        return []
    out = [f"{store.name}: {p}" for p in chain_problems(entries)]
    state = replay(entries)
    out += [f"{store.name}: {v}" for v in violations(state)]
    recomputed = state.balances()
    stored = [r for r in stored if any(r[3:])]
    if recomputed != stored:
        diff = sorted(set(stored) ^ set(recomputed))
        out.append(
            f"{store.name}: credit_balances differ from the entries in {len(diff)} row(s), e.g. "
            f"{diff[0]}"
        )
    return out
