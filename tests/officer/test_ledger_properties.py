"""Property test of the credit ledger: random sequences of issue, sell, retire, stickers and
undo never break an invariant, a refused write changes nothing, and the balances recomputed from
the entries always equal the stored ones (hypothesis stateful testing)."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import tempfile
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from forestcarbon.core.exceptions import InputError
from forestcarbon.officer import ledger
from forestcarbon.officer.ledger_state import chain_problems, replay, violations
from tests.officer.ledger_fixtures import P22, P23, ledger_program

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
HOLDERS = ["city", "つやま信金", "山の幸食品", "非公開商店"]
VINTAGES = [("FO-001", P22), ("FO-001", P23), ("EN-R-002", P23), ("", "")]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ledger-"))
        self.program, self.run = ledger_program(self.folder)
        self.day = dt.date(2024, 4, 1)
        self.refused = 0

    def teardown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def _date(self, advance: int) -> str:
        """Mostly forward in time; a negative advance tries a date out of order."""
        if advance >= 0:
            self.day += dt.timedelta(days=advance)
            return self.day.isoformat()
        return (self.day + dt.timedelta(days=advance)).isoformat()

    def _try(self, write) -> None:
        before = ledger.read_ledger(self.program)[1:]
        try:
            change = write()
            event(f"{change.entries[0]['action']} written")
        except InputError:
            event("refused")
            self.refused += 1
            assert ledger.read_ledger(self.program)[1:] == before, "a refused write wrote"

    @initialize(share=st.integers(0, 100))
    def certified(self, share):
        """Start from the run's credits issued to the city and some sold to the bank."""
        for m, p, t in (("FO-001", P22, 100), ("FO-001", P23, 60)):
            ledger.issue(
                self.program,
                methodology=m,
                period=p,
                tonnes=t,
                certified="2024-04-01",
                run_dir=self.run,
                now=lambda: NOW,
            )
        if share:
            ledger.sell(
                self.program,
                buyer="つやま信金",
                tonnes=share,
                price_yen=share * 10_000,
                date="2024-04-01",
                now=lambda: NOW,
            )

    @rule(v=st.sampled_from(VINTAGES[:3]), tonnes=st.integers(1, 80), advance=st.integers(-5, 30))
    def issue(self, v, tonnes, advance):
        date = self._date(advance)
        self._try(
            lambda: ledger.issue(
                self.program,
                methodology=v[0],
                period=v[1],
                tonnes=tonnes,
                certified=date,
                run_dir=self.run,
                now=lambda: NOW,
            )
        )

    @rule(
        seller=st.sampled_from(HOLDERS),
        buyer=st.sampled_from(HOLDERS[1:]),
        tonnes=st.integers(1, 60),
        price=st.integers(0, 2_000_000),
        v=st.sampled_from(VINTAGES),
        advance=st.integers(-5, 30),
    )
    def sell(self, seller, buyer, tonnes, price, v, advance):
        date = self._date(advance)
        self._try(
            lambda: ledger.sell(
                self.program,
                holder=seller,
                buyer=buyer,
                tonnes=tonnes,
                price_yen=price,
                date=date,
                methodology=v[0],
                period=v[1],
                now=lambda: NOW,
            )
        )

    @rule(
        holder=st.sampled_from(HOLDERS),
        tonnes=st.integers(1, 30),
        v=st.sampled_from(VINTAGES),
        advance=st.integers(-5, 30),
    )
    def retire(self, holder, tonnes, v, advance):
        date = self._date(advance)
        self._try(
            lambda: ledger.retire(
                self.program,
                holder=holder,
                tonnes=tonnes,
                purpose="offset",
                date=date,
                methodology=v[0],
                period=v[1],
                now=lambda: NOW,
            )
        )

    @rule(
        holder=st.sampled_from(HOLDERS),
        count=st.integers(1, 40_000),
        per_tonne=st.sampled_from([1, 1300, 10_000]),
        advance=st.integers(-5, 30),
    )
    def stickers(self, holder, count, per_tonne, advance):
        date = self._date(advance)
        self._try(
            lambda: ledger.stickers(
                self.program,
                holder=holder,
                count=count,
                per_tonne=per_tonne,
                date=date,
                now=lambda: NOW,
            )
        )

    @rule()
    def undo(self):
        self._try(lambda: ledger.undo(self.program, now=lambda: NOW))

    @invariant()
    def ledger_is_sound(self):
        _, entries, stored = ledger.read_ledger(self.program)
        state = replay(entries)
        assert violations(state) == []
        assert chain_problems(entries) == []
        assert state.balances() == [r for r in stored if any(r[3:])]
        # tonnes are conserved: what was issued is held or retired by someone
        for m, p in {(k[1], k[2]) for k in state.held}:
            held = sum(t for k, t in state.held.items() if k[1:] == (m, p))
            retired = sum(t for k, t in state.retired.items() if k[1:] == (m, p))
            assert held + retired == state.issued[(m, p)]
        assert all(t >= 0 for t in state.held.values())
        serials = sorted(
            (e["serial_first"], e["serial_last"]) for e in entries if e["action"] == "stickers"
        )
        assert all(a[1] < b[0] for a, b in itertools.pairwise(serials))


LedgerMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=25, deadline=None)
test_ledger_state_machine = LedgerMachine.TestCase
