"""The ledger's state replayed from entries (forestcarbon.officer.ledger_state): FIFO lots,
invariants and the hash chain, on entries built by hand."""

from __future__ import annotations

from forestcarbon.officer.ledger_state import (
    GENESIS,
    LedgerState,
    chain_problems,
    entry_hash,
    replay,
    violations,
)

P = "2023-04-01/2024-03-31"


def build(*specs) -> list[dict]:
    state, out = LedgerState(), []
    for change, values in enumerate(specs, start=1):
        e = state.new_entry(change, **values)
        state.apply(e)
        out.append(e)
    return out


ENTRIES = (
    {
        "action": "issue",
        "date": "2024-10-15",
        "holder": "city",
        "methodology": "FO-001",
        "period": P,
        "tonnes": 10,
    },
    {
        "action": "sell",
        "date": "2024-11-01",
        "holder": "city",
        "buyer": "bank",
        "methodology": "FO-001",
        "period": P,
        "tonnes": 4,
        "price_yen": 40_000,
    },
    {
        "action": "retire",
        "date": "2024-12-01",
        "holder": "bank",
        "methodology": "FO-001",
        "period": P,
        "tonnes": 1,
        "purpose": "x",
    },
    {
        "action": "stickers",
        "date": "2024-12-02",
        "holder": "bank",
        "methodology": "FO-001",
        "period": P,
        "retirement": 3,
        "per_tonne": 100,
        "serial_first": 1,
        "serial_last": 100,
    },
)


def test_replay_and_balances():
    state = replay(build(*ENTRIES))
    assert state.balances() == [
        ("bank", "FO-001", P, 3, 1, 100),  # 4 bought - 1 retired; 1 t x 100 stickers
        ("city", "FO-001", P, 6, 0, 0),  # 10 - 4
    ]
    assert violations(state) == []
    assert state.next_serial == 101 and state.undo_target() == 4
    assert state.retirements[3].stickers_left(100) == 0


def test_violations_are_all_listed():
    bad = [dict(e) for e in build(*ENTRIES)]
    bad[1]["tonnes"] = 11  # the city sells more than it holds
    bad[3]["serial_last"] = 150  # 150 stickers on 1 t at 100 per tonne
    bad[2]["date"] = "2024-10-01"  # before the sale
    text = "\n".join(violations(replay(bad)))
    assert "city, FO-001 " + P + ": would hold -1 t" in text
    assert "stickers stand for 1.5 t but 1 t are retired" in text
    assert "entry 3: dated 2024-10-01, before an earlier entry dated 2024-11-01" in text


def test_chain():
    entries = build(*ENTRIES)
    assert entries[0]["prev_hash"] == GENESIS and chain_problems(entries) == []
    assert all(entry_hash(e) == e["hash"] for e in entries)
    swapped = [entries[0], entries[2], entries[1], entries[3]]
    assert "entry 3: prev_hash does not match" in chain_problems(swapped)[0]
    altered = [dict(e) for e in entries]
    altered[1]["price_yen"] = 4
    assert chain_problems(altered) == ["entry 2: contents do not match its hash (altered)"]
