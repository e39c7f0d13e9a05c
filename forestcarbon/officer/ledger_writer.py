"""Building one change of the credit ledger: each entry checked against the state as it would be,
applied when sound, every problem collected (see :mod:`forestcarbon.officer.ledger`, whose
commands drive it, for the rules)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forestcarbon.core.config import Settings
from forestcarbon.core.exceptions import Problem
from forestcarbon.officer.ledger_inputs import read_buyers, run_credits
from forestcarbon.officer.ledger_state import ACTION_JA, CITY, LedgerState, violations


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


class LedgerWriter:
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
