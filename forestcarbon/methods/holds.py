"""Holding back credits that canopy evidence puts in doubt (FO-001.md §3, evidence against the
register [D, conservative]).

A stand flagged ``canopy_below_expected`` may have been felled without a record. Its removals are
*held*: moved from ``removals_tco2``/``net_tco2`` to ``held_tco2`` and left out of the credits,
until the officer records the final harvest (then the engine books it) or a review that the stand
is standing. A review that it was felled keeps the removals held until the harvest is recorded.
``[fo001] hold_canopy_flagged = false`` turns holding off (not conservative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forestcarbon.core.config import FO001Settings

HOLD_FLAG = "canopy_below_expected"
"""The canopy flag whose stands are held."""


def hold_flagged(
    fo001: pd.DataFrame,
    operations: pd.DataFrame,
    decisions: pd.DataFrame,
    settings: FO001Settings,
) -> pd.DataFrame:
    """FO-001 results with the removals of unreviewed canopy-flagged stands held [t-CO2].

    Parameters
    ----------
    fo001 : DataFrame
        :func:`~forestcarbon.methods.fo001.compute_fo001` results with the canopy flags.
    operations : DataFrame
        Validated operations (a recorded ``final_harvest`` of a stand releases it).
    decisions : DataFrame
        Latest review per stand (index stand_id, column decision), see
        :func:`forestcarbon.inputs.reviews.latest_decisions`.

    Returns
    -------
    DataFrame
        The same rows: held rows have ``removals_tco2`` 0, ``held_tco2`` the removals they would
        have earned, ``net_tco2`` = -emissions, the flag ``held`` and the reason extended.
    """
    fo = fo001.copy()
    if "held_tco2" not in fo.columns:
        fo["held_tco2"] = 0.0
    if not settings.hold_canopy_flagged:
        return fo
    flagged = fo["flags"].fillna("").str.contains(HOLD_FLAG).to_numpy()
    felled = set(operations.loc[operations["operation"] == "final_harvest", "stand_id"])
    harvest_recorded = fo["stand_id"].isin(felled).to_numpy()
    lookup = dict(decisions["decision"]) if len(decisions) else {}
    # reviewed stands are few: look their ids up, never map every row to a decision
    standing = fo["stand_id"].isin([s for s, d in lookup.items() if d == "standing"]).to_numpy()
    reviewed_felled = fo["stand_id"].isin([s for s, d in lookup.items() if d == "felled"])
    hold = flagged & ~harvest_recorded & ~standing & (fo["removals_tco2"].to_numpy() > 0)
    held = np.where(hold, fo["removals_tco2"].to_numpy(), 0.0)
    fo["held_tco2"] = held
    fo["removals_tco2"] = fo["removals_tco2"] - held
    fo["net_tco2"] = fo["net_tco2"] - held
    rows = np.flatnonzero(hold)  # the text of held rows only (few of 100,000)
    why = np.where(
        reviewed_felled.to_numpy()[rows],
        "; HELD: reviewed as felled, but no final harvest (主伐) recorded: record it with "
        "forestcarbon ops add ... --operation 主伐",
        "; HELD: canopy far below the yield table (possibly felled without a record): not "
        "credited until a final harvest or a review (forestcarbon review --decision standing) "
        "is recorded",
    )
    reason, flags = fo["reason"].copy(), fo["flags"].copy()
    reason.iloc[rows] = (reason.iloc[rows] + why).to_numpy()
    flags.iloc[rows] = (flags.iloc[rows].fillna("") + ";held").str.lstrip(";").to_numpy()
    fo["reason"], fo["flags"] = reason, flags
    return fo
