"""The credit ledger's state, replayed from its entries: pure functions, no storage.

A tonne of credits is always in exactly one place: held by a holder (the city, ``city``, or a
buyer), or retired (無効化) by one. Each entry moves whole tonnes of one vintage (methodology and
monitoring period); stickers (認証シール) are drawn against retirements. :class:`LedgerState`
applies entries in order and keeps what the writes check (held, retired and sticker tonnes per
holder and vintage, the capacity left on each retirement, the next sticker serial, the chain);
:func:`violations` lists every broken invariant of a state, and :func:`entry_hash` chains the
entries (each carries the sha256 of the previous one).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from forestcarbon.inputs.stores import ENTRY_COLUMNS, GENESIS_HASH, LEDGER_ACTIONS

CITY = "city"
"""Holder name of the program owner (the city), who receives issued credits."""

ACTIONS = LEDGER_ACTIONS
GENESIS = GENESIS_HASH
"""``prev_hash`` of the first entry."""

ACTION_JA = {
    "issue": "認証 issue",
    "sell": "移転 sale",
    "retire": "無効化 retirement",
    "stickers": "認証シール stickers",
    "undo": "取消 undo",
}


def entry_hash(entry: dict) -> str:
    """sha256 (hex) of an entry's columns other than ``hash`` (``prev_hash`` included), as
    compact JSON in :data:`~forestcarbon.officer.ledger_sql.ENTRY_COLUMNS` order."""
    values = [entry[c] for c in ENTRY_COLUMNS if c != "hash"]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Retirement:
    """A retirement's tonnes and the tonnes its stickers stand for (count / per_tonne)."""

    entry: int
    holder: str
    methodology: str
    period: str
    date: str
    tonnes: int
    used: Fraction = Fraction(0)

    def stickers_left(self, per_tonne: int) -> int:
        """Stickers still allowed at ``per_tonne`` stickers per tonne."""
        return max(int((self.tonnes - self.used) * per_tonne), 0)


Key = tuple[str, str, str]
"""(holder, methodology, period)."""


@dataclass
class LedgerState:
    """What the entries add up to (see the module docstring)."""

    held: dict = field(default_factory=lambda: defaultdict(int))
    retired: dict = field(default_factory=lambda: defaultdict(int))
    stickers: dict = field(default_factory=lambda: defaultdict(int))
    acquired: dict = field(default_factory=dict)
    issued: dict = field(default_factory=lambda: defaultdict(int))
    retirements: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)
    changes: dict = field(default_factory=lambda: defaultdict(list))
    undone: set = field(default_factory=set)
    deltas: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    last_date: str = ""
    next_serial: int = 1
    prev_hash: str = GENESIS
    next_entry: int = 1
    next_change: int = 1

    # --- applying --------------------------------------------------------------------------------

    def _move(self, key: Key, held: int = 0, retired: int = 0, stickers: int = 0) -> None:
        self.held[key] += held
        self.retired[key] += retired
        self.stickers[key] += stickers
        delta = self.deltas[key]
        delta[0] += held
        delta[1] += retired
        delta[2] += stickers

    def _effect(self, e: dict, sign: int, date: str) -> None:
        m, p, t = e["methodology"], e["period"], e["tonnes"]
        own = (e["holder"], m, p)
        if e["action"] == "issue":
            self._move(own, held=sign * t)
            self.issued[(m, p)] += sign * t
            self.acquired.setdefault(own, date)
        elif e["action"] == "sell":
            buyer = (e["buyer"], m, p)
            self._move(own, held=-sign * t)
            self._move(buyer, held=sign * t)
            self.acquired.setdefault(buyer, date)
        elif e["action"] == "retire":
            self._move(own, held=-sign * t, retired=sign * t)
            if sign > 0:
                self.retirements[e["entry"]] = Retirement(e["entry"], e["holder"], m, p, date, t)
            else:
                self.retirements[e["entry"]].tonnes = 0
        elif e["action"] == "stickers":
            count = e["serial_last"] - e["serial_first"] + 1
            self._move(own, stickers=sign * count)
            self.retirements[e["retirement"]].used += sign * Fraction(count, e["per_tonne"])

    def apply(self, e: dict) -> None:
        """Apply one entry (already numbered and hashed) to the state."""
        self.entries[e["entry"]] = e
        self.changes[e["change"]].append(e["entry"])
        if e["action"] == "undo":
            target = self.entries[e["undoes"]]
            self._effect(target, -1, target["date"])
            self.undone.add(target["entry"])
            self.last_date = max(
                (
                    x["date"]
                    for x in self.entries.values()
                    if x["action"] != "undo" and x["entry"] not in self.undone
                ),
                default="",
            )
        else:
            self._effect(e, 1, e["date"])
            self.last_date = max(self.last_date, e["date"])
        if e["action"] == "stickers":
            self.next_serial = max(self.next_serial, e["serial_last"] + 1)
        self.prev_hash = e["hash"]
        self.next_entry = max(self.next_entry, e["entry"] + 1)
        self.next_change = max(self.next_change, e["change"] + 1)

    def new_entry(self, change: int, **values) -> dict:
        """A numbered, chained entry (not yet applied): ``values`` fill the columns, the others
        are empty."""
        e = {c: None for c in ENTRY_COLUMNS}
        for c in ("time", "date", "holder", "buyer", "methodology", "period", "purpose"):
            e[c] = ""
        e.update(reference="", run="", run_sha256="", source="", tonnes=0)
        e.update(values)
        e["entry"] = self.next_entry
        e["change"] = change
        e["prev_hash"] = self.prev_hash
        e["hash"] = entry_hash(e)
        return e

    # --- questions -------------------------------------------------------------------------------

    def lots(self, holder: str, methodology: str = "", period: str = "") -> list[tuple[Key, int]]:
        """Vintages a holder holds, first in first out (by the date they came in, then period and
        methodology): ((holder, methodology, period), tonnes held) with tonnes > 0."""
        keys = [
            k
            for k, t in self.held.items()
            if k[0] == holder
            and t > 0
            and (not methodology or k[1] == methodology)
            and (not period or k[2] == period)
        ]
        keys.sort(key=lambda k: (self.acquired.get(k, ""), k[2], k[1]))
        return [(k, self.held[k]) for k in keys]

    def open_retirements(self, holder: str) -> list[Retirement]:
        """A holder's retirements (not undone), oldest first."""
        return [
            r
            for n, r in sorted(self.retirements.items())
            if r.holder == holder and n not in self.undone
        ]

    def undo_target(self) -> int | None:
        """The latest change that is not an undo and has not been undone."""
        for change in sorted(self.changes, reverse=True):
            ids = self.changes[change]
            if any(self.entries[i]["action"] == "undo" for i in ids):
                continue
            if any(i in self.undone for i in ids):
                continue
            return change
        return None

    def balances(self) -> list[tuple]:
        """(holder, methodology, period, held_t, retired_t, stickers) of every vintage a holder
        ever touched, as ``credit_balances`` stores them (rows of zeros left out)."""
        keys = set(self.held) | set(self.retired) | set(self.stickers)
        rows = [
            (*k, self.held.get(k, 0), self.retired.get(k, 0), self.stickers.get(k, 0))
            for k in sorted(keys)
        ]
        return [r for r in rows if any(r[3:])]


def replay(entries: list[dict]) -> LedgerState:
    """The state the entries add up to (in entry order)."""
    state = LedgerState()
    for e in entries:
        state.apply(e)
    state.deltas.clear()
    return state


def _t(key: Key) -> str:
    holder, methodology, period = key
    return f"{holder}, {methodology} {period}"


def violations(state: LedgerState) -> list[str]:
    """Every broken invariant of a state: a holder holding less than nothing (sold or retired
    beyond what it held, or a tonne retired twice), stickers beyond the retired tonnes they stand
    on, entries out of date order, tonnes not whole, sticker serials reused."""
    out = [
        f"{_t(k)}: would hold {t} t (more sold or retired than held)"
        for k, t in sorted(state.held.items())
        if t < 0
    ]
    for n, r in sorted(state.retirements.items()):
        if r.used > r.tonnes:
            out.append(
                f"retirement entry {n} ({r.holder}, {r.methodology} {r.period}): stickers stand "
                f"for {float(r.used):g} t but {r.tonnes} t are retired"
            )
    last, serial = "", 0
    for n in sorted(state.entries):
        e = state.entries[n]
        if not isinstance(e["tonnes"], int) or e["tonnes"] < 0:
            out.append(f"entry {n}: tonnes {e['tonnes']!r} is not a whole number of tonnes")
        if e["action"] == "stickers":
            if e["serial_first"] <= serial:
                out.append(f"entry {n}: sticker serials {e['serial_first']}... reused")
            serial = max(serial, e["serial_last"])
        if e["action"] == "undo" or n in state.undone:
            continue
        if e["date"] < last:
            out.append(f"entry {n}: dated {e['date']}, before an earlier entry dated {last}")
        last = max(last, e["date"])
    return out


def chain_problems(entries: list[dict]) -> list[str]:
    """Entries whose hash or link to the previous entry does not match (tampering)."""
    out, prev = [], GENESIS
    for e in entries:
        if e["prev_hash"] != prev:
            out.append(f"entry {e['entry']}: prev_hash does not match entry before it")
        if entry_hash(e) != e["hash"]:
            out.append(f"entry {e['entry']}: contents do not match its hash (altered)")
        prev = e["hash"]
    return out
