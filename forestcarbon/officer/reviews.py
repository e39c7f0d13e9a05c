"""Recording an officer's review of a stand held by canopy evidence (``forestcarbon review``).

Reviews are appended to the ``reviews`` table of the program's store
(:func:`forestcarbon.inputs.reviews.review_store`: a GeoPackage, or the PostgreSQL schema with
``[store] url``) in one transaction of the store; the table refuses UPDATE and DELETE (triggers),
so the reviews are their own history. This module does not know which store it writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.reviews import DECISIONS, review_store
from forestcarbon.inputs.store_state import refuse_stranded
from forestcarbon.inputs.stores import StoreSession


def add_review(
    program_dir: str | Path,
    stand_id: str,
    decision: str,
    note: str,
    *,
    now: Callable[[], dt.datetime] | None = None,
) -> tuple[str, int]:
    """Append a review of ``stand_id``; returns (the store's label, review number).

    Raises
    ------
    InputError
        Unknown stand, a decision other than standing/felled, or an empty note (all listed).
    """
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    where = f"stand {stand_id}"
    problems = []
    if decision not in DECISIONS:
        problems.append(
            Problem("review", where, "decision", f"expected standing or felled, got {decision!r}")
        )
    if not note.strip():
        problems.append(
            Problem("review", where, "note", "required: say what was seen, by whom, and when")
        )
    stands = load_program(program_dir, settings=settings).stands
    if stand_id not in set(stands["stand_id"]):
        problems.append(Problem("review", where, "stand_id", "unknown stand (not in the stands)"))
    if problems:
        raise InputError(problems)
    store = review_store(program_dir, settings)
    refuse_stranded(program_dir, settings, "reviews")
    time = (now or (lambda: dt.datetime.now(dt.UTC)))().strftime("%Y-%m-%dT%H:%M:%SZ")

    def apply(session: StoreSession) -> int:
        session.seed_stands(stands, only=[stand_id])  # a store linking reviews to stands
        return session.add_review(
            time=time, stand_id=stand_id, decision=decision, note=note.strip()
        )

    return store.label, store.change(apply, side=True)
