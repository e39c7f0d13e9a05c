"""Site class (地位 I-III) from canopy height, and the stand's crop age at the raster date.

The yield table gives, per species and site class, a dominant height curve ``h_k(age)`` [m]
(:func:`class_heights`) and a stem volume curve [m3/ha] (:func:`class_volumes`). A stand's
canopy top height ``h`` [m] at its crop age (:func:`crop_age_at`, harvests and replantings
replayed) gives a continuous site index ``s`` [-] by linear interpolation between the curves
(:func:`site_class_index`)::

    s = 2 - (h - h2) / (h1 - h2)    if h >= h2
    s = 2 + (h2 - h) / (h2 - h3)    if h <  h2

with ``h1 > h2 > h3`` the class I, II, III heights at the stand's age [m] (NaN otherwise);
``s = 1`` lies on the class I curve, ``s = 3`` on class III, and beyond them it extrapolates.
:func:`nearest_class` rounds it to the class 1-3; :func:`at_site_index` reads a yield-table value
(e.g. volume [m3/ha]) at ``s`` by the same interpolation, ``s`` held within [0.5, 3.5]. FO-001
accepts laser-derived site class since 2021.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forestcarbon.methods.fiscal import fiscal_year_of
from forestcarbon.methods.fo001 import build_cohorts

if TYPE_CHECKING:
    import datetime as dt

    from forestcarbon.core.config import Period
    from forestcarbon.methods.growth import YieldTable

SITE_CLASSES = (1, 2, 3)


def class_heights(yields: YieldTable, species, age) -> np.ndarray:
    """Yield-table dominant height [m] of site class I, II, III at ``age`` (NaN without a curve).

    Returns
    -------
    ndarray, shape (n, 3)
    """
    return _class_values(yields, species, age, yields.height_at)


def class_volumes(yields: YieldTable, species, age) -> np.ndarray:
    """Yield-table stem volume [m3/ha] of site class I, II, III at ``age`` (NaN without a curve).

    Returns
    -------
    ndarray, shape (n, 3)
    """
    return _class_values(yields, species, age, yields.volume_at)


def _class_values(yields: YieldTable, species, age, lookup) -> np.ndarray:
    species = np.asarray(species)
    age = np.asarray(age)
    out = np.full((len(species), len(SITE_CLASSES)), np.nan)
    for j, site_class in enumerate(SITE_CLASSES):
        curve = yields.curve_index(species, np.full(len(species), site_class))
        known = curve >= 0
        out[known, j] = lookup(curve[known], age[known])
    return out


def at_site_index(index, values: np.ndarray) -> np.ndarray:
    """Yield-table values (heights or volumes of classes I-III) at a continuous site class.

    Linear between the class curves; the index is held within [0.5, 3.5] (half a class beyond
    the table), so a wild index cannot extrapolate far.

    >>> float(at_site_index([2.5], np.array([[400.0, 300.0, 200.0]]))[0])
    250.0
    """
    s = np.clip(np.asarray(index, dtype=float), 0.5, 3.5)
    v1, v2, v3 = values[:, 0], values[:, 1], values[:, 2]
    return np.where(s <= 2.0, v2 + (2.0 - s) * (v1 - v2), v2 + (s - 2.0) * (v3 - v2))


def site_class_index(top_height_m, heights_m: np.ndarray) -> np.ndarray:
    """Continuous site class (1.0 = on the class I curve, 3.0 = on class III) of a top height.

    Parameters
    ----------
    top_height_m : array_like
        Canopy top height of each stand [m].
    heights_m : ndarray, shape (n, 3)
        Yield-table dominant heights of classes I, II, III at each stand's age [m]
        (:func:`class_heights`).

    Returns
    -------
    ndarray
        Linear interpolation between the curves, extrapolated beyond classes I and III; NaN where a
        height is missing or the curves do not decrease from class I to III.

    Examples
    --------
    Curves 20, 17, 14 m: a top height of 15.5 m lies half-way between II and III.

    >>> float(site_class_index([15.5], np.array([[20.0, 17.0, 14.0]]))[0])
    2.5
    """
    h = np.asarray(top_height_m, dtype=float)
    h1, h2, h3 = heights_m[:, 0], heights_m[:, 1], heights_m[:, 2]
    ok = (h1 > h2) & (h2 > h3)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = 2.0 - (h - h2) / (h1 - h2)
        lower = 2.0 + (h2 - h) / (h2 - h3)
    return np.where(ok, np.where(h >= h2, upper, lower), np.nan)


def nearest_class(index) -> np.ndarray:
    """Site class 1-3 nearest to a continuous index (NaN stays NaN)."""
    index = np.asarray(index, dtype=float)
    return np.where(np.isnan(index), np.nan, np.clip(np.floor(index + 0.5), 1, 3))


def crop_age_at(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    day: dt.date,
    periods: tuple[Period, ...],
    *,
    file: str = "operations",
) -> np.ndarray:
    """Age [years] of the crop covering most of each stand on ``day``; 0 where mostly felled.

    Final harvests and replantings recorded after the register's planted year are replayed with
    the FO-001 engine's cohorts (:func:`forestcarbon.methods.fo001.build_cohorts`), so a stand
    felled and replanted before the raster was taken is expected to be young, not tall.
    """

    cohorts = build_cohorts(stands, operations, periods, file=file)
    moment = np.datetime64(day)
    standing = (np.isnat(cohorts.planted) | (cohorts.planted <= moment)) & (
        np.isnat(cohorts.harvested) | (cohorts.harvested > moment)
    )
    age = fiscal_year_of(day) - cohorts.origin_fy + 1
    table = pd.DataFrame(
        {"stand": cohorts.stand, "share": np.where(standing, cohorts.share, 0.0), "age": age}
    )
    main = table.sort_values(["stand", "share", "age"], kind="stable").groupby("stand").last()
    main = main.reindex(np.arange(len(stands)))
    return np.where(main["share"].to_numpy() >= 0.5, np.maximum(main["age"], 0), 0).astype(int)
