"""Per-partition FO-001 summaries reduced exactly (no cluster needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forestcarbon.methods.totals import fo001_summary, program_summary
from forestcarbon.scale.reduce import fo001_rows, partial_of, reduce_partials, summary_table

P = "2023-04-01/2024-03-31"


def fo(rows) -> pd.DataFrame:
    """A minimal FO-001 table: (stand_id, removals, emissions, eligible) per row, one period."""
    return pd.DataFrame(
        [
            {
                "stand_id": sid,
                "period": P,
                "removals_tco2": rem,
                "emissions_tco2": emi,
                "eligible": ok,
                "in_boundary": True,
                "held_tco2": 0.0,
            }
            for sid, rem, emi, ok in rows
        ]
    )


def test_credits_truncated_once_on_the_program_total():
    # two partitions of 10.6 t each: truncating each would give 10 + 10 = 20 credits; the program
    # total is 21.2 t -> 21 credits (FO-001.md §3: truncated once, at the total)
    a = partial_of(fo([("1-1", 10.6, 0.0, True)]), 0.0)
    b = partial_of(fo([("2-1", 10.6, 0.0, True)]), 0.0)
    (row,) = fo001_rows(reduce_partials([a, b]), 0.0)
    assert row["total_tco2"] == "21.2"
    assert row["credits_t"] == 21
    assert row["n_activities"] == 2


def test_sums_are_exact_decimals_not_floats():
    # 0.1 + 0.2 in binary floating point is 0.30000000000000004; in nano-tonnes exactly 0.3;
    # 94.6 - 54.6 = 40 exactly -> 40 credits (not 39)
    parts = [
        partial_of(fo([("1-1", 0.1, 0.0, True), ("1-2", 94.6, 54.6, True)]), 0.0),
        partial_of(fo([("2-1", 0.2, 0.0, True)]), 0.0),
    ]
    (row,) = fo001_rows(reduce_partials(parts), 0.0)
    assert row["removals_tco2"] == "94.9"  # 0.1 + 94.6 + 0.2
    assert row["emissions_tco2"] == "54.6"
    assert row["total_tco2"] == "40.3"
    assert row["credits_t"] == 40


def test_any_partitioning_gives_the_one_process_summary():
    rng = np.random.default_rng(7)
    n = 500
    table = fo(
        (f"{i}-1", float(r), float(e), bool(ok))
        for i, r, e, ok in zip(
            range(n), rng.uniform(0, 9, n), rng.uniform(0, 2, n), rng.random(n) < 0.8, strict=True
        )
    )
    one = program_summary(fo001_summary(table, 0.05))
    for k in (1, 3, 17):
        cut = rng.integers(0, k, n)
        partials = [partial_of(table[cut == i], 0.05) for i in range(k)]
        many = program_summary(fo001_rows(reduce_partials(reversed(partials)), 0.05))
        pd.testing.assert_frame_equal(many, one)
        counted = summary_table(
            reduce_partials(partial_of(table[cut == i], 0.05, ids=False) for i in range(k)), 0.05
        )
        pd.testing.assert_frame_equal(counted, one)
