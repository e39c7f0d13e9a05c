"""Holding canopy-flagged stands: hand-worked numbers on a small FO-001 result."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from forestcarbon.core.config import FO001Settings
from forestcarbon.inputs.reviews import latest_decisions
from forestcarbon.methods.holds import HOLD_FLAG as HOLD
from forestcarbon.methods.holds import hold_flagged
from forestcarbon.methods.totals import fo001_summary


def result():
    # a: flagged, 12.5 t removals and 2.0 t emissions; b: flagged but harvest recorded;
    # c: not flagged
    return pd.DataFrame(
        {
            "stand_id": ["a", "b", "c"],
            "period": "P",
            "eligible": True,
            "in_boundary": True,
            "reason": "eligible: planted forest",
            "flags": ["canopy_below_expected", "canopy_below_expected;harvested", ""],
            "removals_tco2": [12.5, 4.0, 7.25],
            "emissions_tco2": [2.0, 1.0, 0.0],
            "net_tco2": [10.5, 3.0, 7.25],
            "held_tco2": 0.0,
        }
    )


HARVEST_B = pd.DataFrame(
    {"stand_id": ["b"], "date": [dt.date(2022, 6, 1)], "operation": ["final_harvest"]}
)


def reviews(*rows):
    return pd.DataFrame(rows, columns=["fid", "time", "stand_id", "decision", "note"])


def test_flagged_stand_is_held_until_reviewed():
    fo = hold_flagged(result(), HARVEST_B, latest_decisions(reviews()), FO001Settings())
    a = fo.set_index("stand_id").loc["a"]
    assert a["held_tco2"] == 12.5
    assert a["removals_tco2"] == 0
    assert a["net_tco2"] == -2.0  # the emission still counts
    assert "HELD" in a["reason"] and "held" in a["flags"]
    assert fo.set_index("stand_id").loc["b", "held_tco2"] == 0  # its harvest is recorded
    row = fo001_summary(fo, 0.0)[0]
    # total = (0 + 4 + 7.25) - (2 + 1 + 0) = 8.25; held 12.5
    assert row["total_tco2"] == "8.25"
    assert row["held_tco2"] == "12.5"
    assert row["credits_t"] == 8


def test_a_standing_review_releases_and_the_latest_review_wins():
    rv = reviews(
        (1, "2024-05-01T00:00:00Z", "a", "felled", "seen from the road"),
        (2, "2024-06-01T00:00:00Z", "a", "standing", "field visit: standing, low canopy"),
    )
    fo = hold_flagged(result(), HARVEST_B, latest_decisions(rv), FO001Settings())
    assert fo.set_index("stand_id").loc["a", "net_tco2"] == 10.5
    rv_felled = reviews((1, "2024-06-01T00:00:00Z", "a", "felled", "clear-felled"))
    fo = hold_flagged(result(), HARVEST_B, latest_decisions(rv_felled), FO001Settings())
    a = fo.set_index("stand_id").loc["a"]
    assert a["held_tco2"] == 12.5
    assert "reviewed as felled" in a["reason"]


def test_holding_can_be_turned_off():
    off = FO001Settings(hold_canopy_flagged=False)
    fo = hold_flagged(result(), HARVEST_B, latest_decisions(reviews()), off)
    assert fo["held_tco2"].sum() == pytest.approx(0.0)
    assert fo["net_tco2"].tolist() == [10.5, 3.0, 7.25]


def test_only_held_rows_gain_the_hold_text():
    # a: flagged, unreviewed: held; b: not flagged (no flags at all); c: flagged among other
    # flags, reviewed as felled: held with that reason; d: flagged, reviewed standing: released;
    # e: flagged but no removals: nothing to hold
    fo = pd.DataFrame(
        {
            "stand_id": ["a", "b", "c", "d", "e"],
            "reason": ["eligible"] * 5,
            "flags": [HOLD, None, f"steep;{HOLD}", HOLD, HOLD],
            "removals_tco2": [1.0, 2.0, 3.0, 4.0, 0.0],
            "emissions_tco2": [0.0, 0.0, 0.5, 0.0, 0.25],
            "net_tco2": [1.0, 2.0, 2.5, 4.0, -0.25],
        }
    )
    rv = reviews(
        (1, "2024-06-01T00:00:00Z", "c", "felled", ""),
        (2, "2024-06-01T00:00:00Z", "d", "standing", ""),
    )
    held = hold_flagged(fo, HARVEST_B, latest_decisions(rv), FO001Settings())
    assert held["held_tco2"].tolist() == [1.0, 0.0, 3.0, 0.0, 0.0]
    assert held["net_tco2"].tolist() == [0.0, 2.0, -0.5, 4.0, -0.25]  # 2.5 - 3.0 = -0.5
    assert held["flags"].fillna("(none)").tolist() == [
        f"{HOLD};held",
        "(none)",
        f"steep;{HOLD};held",
        HOLD,
        HOLD,
    ]
    reasons = held["reason"].tolist()
    assert reasons[0].startswith("eligible; HELD: canopy far below the yield table")
    assert reasons[2].startswith("eligible; HELD: reviewed as felled, but no final harvest")
    assert [reasons[i] for i in (1, 3, 4)] == ["eligible"] * 3
    assert fo["flags"].tolist()[0] == HOLD  # the input is left as it was
