"""Several officers at once (forestcarbon.officer.store on both stores): processes adding
operations to the same program at the same time end with every record exactly once and a complete
history; two officers adding the same record at once: one succeeds, the other is told it is a
duplicate.

The suite runs 8 processes x ``FORESTCARBON_CONCURRENT_ADDS`` adds (default 6, to keep it fast);
``FORESTCARBON_CONCURRENT_ADDS=500`` gives the 8 x 500 = 4,000 of the README."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os

import pytest

from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.records import read_records
from forestcarbon.officer import store
from tests.conftest import stand

N_PROCESSES = 8
N_ADDS = int(os.environ.get("FORESTCARBON_CONCURRENT_ADDS", "6"))
N_STANDS = 8


def _officer(args) -> tuple[int, list[str]]:
    """One officer's session: ``n`` weedings on distinct dates; (number recorded, errors)."""
    folder, worker, n, start = args
    start.wait()
    errors = []
    done = 0
    for k in range(n):
        i = worker * n + k
        day = dt.date(2000, 1, 1) + dt.timedelta(days=i)
        try:
            store.add_operation(
                folder,
                stand_id=f"1-{i % N_STANDS + 1}-1",
                date=day.isoformat(),
                operation="weeding",
                area_ha="0.5",
            )
            done += 1
        except InputError as e:
            errors.append(str(e))
    return done, errors


def _same_record(args) -> str:
    folder, start = args
    start.wait()
    try:
        store.add_operation(folder, stand_id="1-1-1", date="2024-06-01", operation="thinning")
    except InputError as e:
        return str(e)
    return "recorded"


@pytest.fixture
def shared_program(program, store_kind):
    folder = program(
        [stand(f"1-{k}-1", 2.0) for k in range(1, N_STANDS + 1)], [], extra_toml=store_kind
    )
    store.add_operation(folder, stand_id="1-1-1", date="1999-06-01", operation="planting")
    return folder


@pytest.fixture(scope="module")
def officers():
    """``N_PROCESSES`` officer processes (started once: importing the stack takes seconds) and a
    barrier that lets them start each round at the same moment; ``officers(function, args)``."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(N_PROCESSES) as pool:
        start = manager.Barrier(N_PROCESSES)

        def run(function, args_of):
            return pool.map(function, [(*a, start) for a in args_of], chunksize=1)

        yield run


def test_officers_adding_at_once_all_succeed_exactly_once(shared_program, officers):
    results = officers(_officer, [(shared_program, w, N_ADDS) for w in range(N_PROCESSES)])
    errors = [e for _, errs in results for e in errs]
    assert errors == []
    assert sum(done for done, _ in results) == N_PROCESSES * N_ADDS
    target = store.program_store(shared_program)
    records = read_records(target)
    assert len(records) == 1 + N_PROCESSES * N_ADDS  # the planting, then every add once
    assert records["fid"].is_unique
    assert not records.duplicated(["stand_id", "date", "operation"]).any()
    history = store.read_history(target)
    assert len(history) == 1 + N_PROCESSES * N_ADDS
    assert history["change"].tolist() == list(range(1, len(history) + 1))
    ok, text = store.verify_history(target)
    assert ok, text


def test_two_officers_adding_the_same_record(shared_program, officers):
    outcomes = officers(_same_record, [(shared_program,)] * N_PROCESSES)
    assert outcomes.count("recorded") == 1
    others = [o for o in outcomes if o != "recorded"]
    assert all("exact duplicate" in o and "already recorded" in o for o in others), others
    assert len(read_records(store.program_store(shared_program))) == 2
