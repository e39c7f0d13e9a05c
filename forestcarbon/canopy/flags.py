"""Canopy flags: where the rasters contradict the register, and how they reach FO-001's table.

:data:`FLAGS` names and explains every flag; one function per check computes its mask per stand
(:func:`canopy_below_expected`, :func:`site_class_disagrees`, :func:`thinning_not_visible`,
:func:`volume_differs`; ``canopy_too_few_pixels`` comes from the zonal statistics).
:func:`join_flags` writes them as ``a;b`` strings of ``canopy_stands.csv`` and
:func:`add_canopy_flags` appends them to the ``flags`` of ``fo001_stands.csv``. Flags are
reported for review; they never change credits by themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd

FLAGS = {
    "canopy_below_expected": "canopy top height far below the yield table's height for the age: "
    "possible unrecorded harvest or damage",
    "thinning_not_visible": "thinning recorded between the two cover rasters, but canopy cover "
    "did not drop",
    "site_class_disagrees": "site class from canopy height differs from the register's",
    "canopy_too_few_pixels": "too few valid raster pixels in the stand: no canopy statistics",
    "volume_differs": "yield-table volume differs from the volume model by more than "
    "[canopy] volume_tolerance and lies outside the model's prediction interval",
}
"""Canopy flag names (in ``canopy_stands.csv`` and appended to ``fo001_stands.csv``)."""


MIN_EXPECTED_HEIGHT_M = 5.0
"""The low-canopy check needs a yield-table height of at least this [m] (young stands are noise)."""


def canopy_below_expected(top_m, expected_m, ratio: float) -> np.ndarray:
    """Low canopy: top height [m] below ``ratio`` x the expected dominant height [m].

    Checked only where the expected height (the yield table's, register class, crop age) is at
    least MIN_EXPECTED_HEIGHT_M.
    """
    return (expected_m >= MIN_EXPECTED_HEIGHT_M) & (top_m < ratio * expected_m)


def site_class_disagrees(index, register, derivable, margin: float) -> np.ndarray:
    """Derived continuous site class more than ``0.5 + margin`` classes from the register's."""
    return derivable & (np.abs(index - register) > 0.5 + margin)


def thinning_not_visible(thinned, change, min_cover_drop: float) -> np.ndarray:
    """A thinning of treated share ``thinned`` [0-1] that lowered mean cover by less than
    ``min_cover_drop`` x ``thinned`` (``change`` is the cover change [0-1], NaN unknown)."""
    return (thinned > 0) & np.isfinite(change) & (-change < min_cover_drop * thinned)


def volume_differs(volume_table, v_model, low, high, tolerance: float) -> np.ndarray:
    """Yield-table volume [m3/ha] outside the model's interval [``low``, ``high``] [m3/ha] and
    more than ``tolerance`` x the model volume ``v_model`` [m3/ha] from it (NaN model: no flag)."""
    outside = (volume_table < low) | (volume_table > high)
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(v_model) & outside & (np.abs(volume_table - v_model) > tolerance * v_model)
        )


def join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """'a;b' strings of the names whose mask is true, in the order of ``flags``."""
    parts = [[] for _ in range(n)]
    for name, mask in flags.items():
        for i in np.flatnonzero(mask):
            parts[i].append(name)
    return np.array([";".join(p) for p in parts], dtype=object)


def thinning_share(
    stands: pd.DataFrame, operations: pd.DataFrame, after: dt.date, until: dt.date
) -> np.ndarray:
    """Treated share [0-1] of each stand thinned in (after, until]; 0 without such thinning."""
    ops = operations[
        (operations["operation"] == "thinning")
        & (operations["date"] > after)
        & (operations["date"] <= until)
    ]
    area = stands.set_index("stand_id")["stand_area_ha"]
    treated = ops["area_ha"].fillna(ops["stand_id"].map(area)).groupby(ops["stand_id"]).sum()
    share = treated.reindex(stands["stand_id"]).fillna(0.0).to_numpy() / area.to_numpy()
    return np.clip(share, 0.0, 1.0)


def add_canopy_flags(fo001: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``fo001`` with each stand's canopy flags appended to its ``flags`` (a new table)."""
    canopy = fo001["stand_id"].map(table.set_index("stand_id")["flags"]).fillna("")
    both = fo001["flags"].fillna("").astype(str) + ";" + canopy
    return fo001.assign(flags=both.str.strip(";").to_numpy())
