"""Several officers writing the credit ledger at once (forestcarbon.officer.ledger on both stores):
processes selling and retiring from the same issued block at the same moment never spend a tonne
twice; the balances are exact and the hash chain intact.

30 t are issued; 4 processes each try 10 writes of 1 t (sales to their own buyer and
retirements by the city, alternately) starting together: 40 attempts on 30 t, so exactly 30
succeed, 10 are refused as beyond what the city holds, and nothing else happens."""

from __future__ import annotations

import multiprocessing

import pytest

from forestcarbon.core.exceptions import InputError
from forestcarbon.officer import ledger
from tests.officer.ledger_fixtures import P23, clock, ledger_program
from tests.pg_cluster import store_toml

BUYERS = ("つやま信金", "山の幸食品", "非公開商店", "山田太郎")
N_WRITES = 10
ISSUED = 30


def _officer(args) -> tuple[int, int, list[str]]:
    """One officer: ``N_WRITES`` writes of 1 t; (sold, retired, refusals)."""
    program, buyer, start = args
    start.wait()
    sold = retired = 0
    refused = []
    for k in range(N_WRITES):
        try:
            if k % 2 == 0:
                ledger.sell(
                    program, buyer=buyer, tonnes=1, price_yen=10_000, date="2025-01-01", now=clock
                )
                sold += 1
            else:
                ledger.retire(
                    program,
                    holder="city",
                    tonnes=1,
                    purpose=f"offset for {buyer}",
                    date="2025-01-01",
                    now=clock,
                )
                retired += 1
        except InputError as e:
            refused.append(str(e))
    return sold, retired, refused


@pytest.fixture(params=("gpkg", "postgresql"))
def block(request, tmp_path):
    """A program whose city holds one issued block of 30 t (FO-001 2023), on each store."""
    extra = "" if request.param == "gpkg" else store_toml(request.getfixturevalue("pg_cluster"))
    program, run = ledger_program(tmp_path, extra_toml=extra)
    ledger.issue(
        program,
        methodology="FO-001",
        period=P23,
        tonnes=ISSUED,
        certified="2024-10-15",
        run_dir=run,
        now=clock,
    )
    return program


def test_selling_and_retiring_one_block_at_once_never_double_spends(block):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(len(BUYERS)) as pool:
        start = manager.Barrier(len(BUYERS))
        results = pool.map(_officer, [(block, b, start) for b in BUYERS], chunksize=1)
    sold = sum(r[0] for r in results)
    retired = sum(r[1] for r in results)
    refusals = [m for r in results for m in r[2]]
    # 40 attempts on 30 t: exactly 30 written, the other 10 refused for want of credits
    assert sold + retired == ISSUED
    assert len(refusals) == len(BUYERS) * N_WRITES - ISSUED
    assert all("city holds 0 t" in m for m in refusals), refusals[:3]
    store, entries, stored = ledger.read_ledger(block)
    assert len(entries) == 1 + ISSUED
    assert [e["entry"] for e in entries] == list(range(1, ISSUED + 2))  # no gap, no duplicate
    balances = {r[0]: r[3:] for r in stored}
    assert balances["city"] == (0, retired, 0)  # held 30 - sold - retired = 0
    for buyer, (n_sold, _, _) in zip(BUYERS, results, strict=True):
        assert balances.get(buyer, (0, 0, 0)) == ((n_sold, 0, 0) if n_sold else (0, 0, 0))
    assert ledger.check_ledger(block) == [], store.label
