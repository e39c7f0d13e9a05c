"""The credit ledger (クレジット台帳): what happens to the credits once certified.

``forestcarbon credits issue | sell | retire | stickers | undo | import`` write it, ``balance``,
``history`` and ``report`` read it. It lives in the program's record store (the GeoPackage named by
``[inputs] operations`` when that is a ``.gpkg``; otherwise ``records.gpkg`` in the program
folder, created when missing), in its own tables (:mod:`forestcarbon.officer.ledger_sql`).

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
future); whole tonnes. Each change is one transaction (all or nothing); a second writer waits for
the first (up to :data:`forestcarbon.inputs.records.BUSY_TIMEOUT_S`) or is refused with a message.

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
from forestcarbon.inputs.records import is_store, open_store
from forestcarbon.officer import ledger_sql as sql
from forestcarbon.officer.ledger_inputs import (
    KINDS,
    iso_date,
    period_label,
    read_buyers,
    read_import,
    run_credits,
    whole_tonnes,
    yen,
)
from forestcarbon.officer.ledger_state import (
    ACTION_JA,
    CITY,
    LedgerState,
    chain_problems,
    replay,
    violations,
)
from forestcarbon.officer.store import ensure_store

DEFAULT_STORE = "records.gpkg"
"""The ledger's store when ``[inputs] operations`` is not a record store."""


def ledger_path(program_dir: str | Path, settings: Settings) -> Path:
    """The record store holding a program's ledger (see the module docstring)."""
    name = settings.inputs.operations
    return Path(program_dir) / (name if name and is_store(name) else DEFAULT_STORE)


@dataclasses.dataclass(frozen=True)
class LedgerChange:
    """What one ledger command wrote."""

    store: Path
    change: int
    entries: tuple

    def __str__(self) -> str:
        lines = [f"{self.store.name}: change {self.change}, {len(self.entries)} entry(ies)"]
        lines += [f"  {describe(e)}" for e in self.entries]
        return "\n".join(lines)


def describe(e: dict) -> str:
    """One line for an entry: number, date, action, who, vintage, tonnes, yen, serials."""
    text = f"#{e['entry']} {e['date']} {ACTION_JA[e['action']]}: {e['holder']}"
    if e["buyer"]:
        text += f" -> {e['buyer']}"
    text += f", {e['methodology']} {e['period']}"
    if e["action"] == "stickers" or (e["action"] == "undo" and e["serial_first"]):
        text += f", serials {e['serial_first']}-{e['serial_last']} ({e['per_tonne']}/t)"
    else:
        text += f", {e['tonnes']} t"
    if e["price_yen"]:
        text += f", {e['price_yen']:,} yen"
    if e["purpose"]:
        text += f" — {e['purpose']}"
    if e["undoes"]:
        text += f" (reverses #{e['undoes']})"
    return text


def _now(now: Callable[[], dt.datetime] | None) -> dt.datetime:
    return (now or (lambda: dt.datetime.now(dt.UTC)))().astimezone(dt.UTC)


class _Writer:
    """Builds one change's entries against the state, applying each as it goes, and collects
    every problem (a refused entry is not applied, so later ones are checked without it)."""

    def __init__(self, program_dir: Path, settings: Settings, state: LedgerState, *, time, source):
        self.program_dir, self.settings, self.state = program_dir, settings, state
        self.change = state.next_change
        self.time, self.source = time, source
        self.new: list[dict] = []
        self.problems: list[Problem] = []
        self._buyers: pd.DataFrame | None = None

    def problem(self, where: tuple[str, str], column: str, message: str) -> None:
        self.problems.append(Problem(where[0], where[1], column, message))

    def add(self, **values) -> dict:
        e = self.state.new_entry(self.change, time=self.time, source=self.source, **values)
        self.state.apply(e)
        self.new.append(e)
        return e

    def buyers(self) -> pd.DataFrame:
        if self._buyers is None:
            self._buyers = read_buyers(self.program_dir, self.settings)
        return self._buyers

    def in_order(self, date: str, where, column: str) -> bool:
        if date < self.state.last_date:
            self.problem(
                where,
                column,
                f"{date} is before the latest entry of the ledger ({self.state.last_date}): "
                "entries are recorded in date order",
            )
            return False
        return True

    def holder_known(self, holder: str, where, column: str) -> bool:
        if holder == CITY or holder in set(self.buyers()["name"]):
            return True
        self.problem(where, column, f"{holder!r} is neither {CITY!r} nor in the buyers table")
        return False

    # --- entries ---------------------------------------------------------------------------------

    def issue(self, *, methodology, period, tonnes, date, reference, run_dir, where, cols) -> None:
        credits, sha, other = run_credits(run_dir, self.program_dir)
        if other:
            self.problem(where, cols["run"], other)
            return
        cap = credits.get((methodology, period))
        if cap is None:
            have = ", ".join(f"{m} {p}" for m, p in sorted(credits)) or "none"
            self.problem(
                where,
                cols["methodology"],
                f"{methodology} {period} has no credits in {run_dir}; it has: {have}",
            )
            return
        end = period.split("/")[1]
        if date <= end:
            self.problem(where, cols["date"], f"certified {date}, not after the period's end {end}")
            return
        total = self.state.issued[(methodology, period)] + tonnes
        if total > cap:
            self.problem(
                where,
                cols["tonnes"],
                f"{tonnes} t would make {total} t of {methodology} {period} issued, but the run "
                f"{run_dir} has {cap} t of credits",
            )
            return
        if self.in_order(date, where, cols["date"]):
            self.add(
                action="issue",
                date=date,
                holder=CITY,
                methodology=methodology,
                period=period,
                tonnes=tonnes,
                reference=reference,
                run=str(run_dir),
                run_sha256=sha,
            )

    def _lots(self, holder, tonnes, methodology, period, where, column):
        lots = self.state.lots(holder, methodology, period)
        have = sum(t for _, t in lots)
        if have < tonnes:
            vintage = " ".join(x for x in (methodology, period) if x) or "any vintage"
            self.problem(
                where, column, f"{holder} holds {have} t of {vintage}; {tonnes} t asked for"
            )
            return []
        out, left = [], tonnes
        for key, t in lots:
            take = min(t, left)
            out.append((key, take))
            left -= take
            if not left:
                break
        return out

    def sell(
        self, *, holder, buyer, tonnes, price, date, methodology, period, reference, where, cols
    ) -> None:
        ok = self.holder_known(holder, where, cols["holder"])
        if buyer not in set(self.buyers()["name"]):
            known = ", ".join(self.buyers()["name"].head(10))
            self.problem(
                where, cols["buyer"], f"{buyer!r} is not in the buyers table (known: {known})"
            )
            ok = False
        if buyer == holder:
            self.problem(where, cols["buyer"], "a holder cannot sell to itself")
            ok = False
        if not (ok and self.in_order(date, where, cols["date"])):
            return
        lots = self._lots(holder, tonnes, methodology, period, where, cols["tonnes"])
        paid = 0
        for i, ((_, m, p), t) in enumerate(lots):
            share = price - paid if i == len(lots) - 1 else price * t // tonnes
            paid += share
            self.add(
                action="sell",
                date=date,
                holder=holder,
                buyer=buyer,
                methodology=m,
                period=p,
                tonnes=t,
                price_yen=share,
                reference=reference,
            )

    def retire(
        self, *, holder, tonnes, purpose, date, methodology, period, reference, where, cols
    ) -> None:
        if not purpose.strip():
            self.problem(where, cols["purpose"], "a retirement (無効化) needs its purpose (用途)")
            return
        if not (self.holder_known(holder, where, cols["holder"])):
            return
        if not self.in_order(date, where, cols["date"]):
            return
        for (_, m, p), t in self._lots(holder, tonnes, methodology, period, where, cols["tonnes"]):
            self.add(
                action="retire",
                date=date,
                holder=holder,
                methodology=m,
                period=p,
                tonnes=t,
                purpose=purpose.strip(),
                reference=reference,
            )

    def stickers(self, *, holder, count, per_tonne, date, retirement, where, cols) -> None:
        if not self.holder_known(holder, where, cols["holder"]):
            return
        if not self.in_order(date, where, cols["date"]):
            return
        open_ = self.state.open_retirements(holder)
        if retirement is not None:
            open_ = [r for r in open_ if r.entry == retirement]
            if not open_:
                self.problem(
                    where, cols["retirement"], f"{holder} has no retirement entry {retirement}"
                )
                return
        room = sum(r.stickers_left(per_tonne) for r in open_)
        if room < count:
            retired = sum(r.tonnes for r in open_)
            self.problem(
                where,
                cols["count"],
                f"{count} stickers asked for, but {holder}'s retired tonnes ({retired} t) leave "
                f"room for {room} more at {per_tonne} per tonne: stickers only against retired "
                "tonnes",
            )
            return
        left = count
        for r in open_:
            take = min(r.stickers_left(per_tonne), left)
            if take <= 0:
                continue
            first = self.state.next_serial
            self.add(
                action="stickers",
                date=date,
                holder=holder,
                methodology=r.methodology,
                period=r.period,
                retirement=r.entry,
                per_tonne=per_tonne,
                serial_first=first,
                serial_last=first + take - 1,
            )
            left -= take
            if not left:
                break

    def undo(self, *, date, note, where) -> None:
        target = self.state.undo_target()
        if target is None:
            self.problem(where, "", "nothing to undo")
            return
        entries = [self.state.entries[i] for i in self.state.changes[target]]
        for e in reversed(entries):
            self.add(
                action="undo",
                date=date,
                undoes=e["entry"],
                purpose=note or f"undo change {target}",
                **{
                    c: e[c]
                    for c in (
                        "holder",
                        "buyer",
                        "methodology",
                        "period",
                        "tonnes",
                        "price_yen",
                        "retirement",
                        "per_tonne",
                        "serial_first",
                        "serial_last",
                    )
                },
            )
        what = "; ".join(describe(e) for e in entries[:3])
        for v in violations(self.state):
            self.problem(where, "", f"cannot undo change {target} ({what}): {v}")


def _write(
    program_dir: str | Path,
    build: Callable[[_Writer, dt.date], None],
    *,
    source: str,
    now: Callable[[], dt.datetime] | None = None,
) -> LedgerChange:
    """Run ``build`` against the ledger's state in one transaction; write its entries only when
    no problem was found and the state keeps every invariant."""
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    path = ledger_path(program_dir, settings)
    moment = _now(now)
    time = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    ensure_store(path)
    with open_store(path, history=False) as con, sql.transaction(con):
        sql.create_tables(con, time)
        state = replay(sql.read_entries(con))
        writer = _Writer(program_dir, settings, state, time=time, source=source)
        build(writer, moment.date())
        problems = writer.problems
        if not problems:
            problems = [Problem(str(path), "", "", v) for v in violations(state)]
        if not problems and not writer.new:
            problems = [Problem(str(path), "", "", "nothing to record")]
        if problems:
            raise InputError(problems)
        sql.append(con, writer.new, state.deltas, time)
    return LedgerChange(path, writer.change, tuple(writer.new))


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

    def build(w: _Writer, today: dt.date) -> None:
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

    def build(w: _Writer, today: dt.date) -> None:
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
) -> tuple[Path, list[dict], list[tuple]]:
    """The ledger of a program: its store, every entry (dicts, entry order) and the stored
    balances; no entries when there is no ledger yet. ``settings``: default program.toml's."""
    program_dir = Path(program_dir)
    path = ledger_path(program_dir, settings or load_settings(program_dir))
    if not path.is_file():
        return path, [], []
    with open_store(path, history=False) as con:
        return path, sql.read_entries(con), sql.read_balances(con)


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
    path, entries, stored = read_ledger(program_dir)
    if not entries and not stored:
        return []
    out = [f"{path.name}: {p}" for p in chain_problems(entries)]
    state = replay(entries)
    out += [f"{path.name}: {v}" for v in violations(state)]
    recomputed = state.balances()
    stored = [r for r in stored if any(r[3:])]
    if recomputed != stored:
        diff = sorted(set(stored) ^ set(recomputed))
        out.append(
            f"{path.name}: credit_balances differ from the entries in {len(diff)} row(s), e.g. "
            f"{diff[0]}"
        )
    return out
