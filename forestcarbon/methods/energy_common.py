"""What EN-R-002 and EN-S-004 computations share: the site x period grid and output conventions.

Both methodologies compute one row per activity (a PV site; an air-conditioning unit) and period,
vectorised over a grid of (period, item) rows, with readings spread evenly over their days and
split by fiscal year (:func:`forestcarbon.methods.fiscal.fiscal_year_pieces`). This module holds
that grid, the per-row sums and the conventions of the output tables (units and precision, flags,
reasons, ordering). The methodologies themselves are :mod:`forestcarbon.methods.en_r002` and
:mod:`forestcarbon.methods.en_s004`; :mod:`forestcarbon.methods.energy` runs both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.config import Period
from forestcarbon.methods.fiscal import as_days
from forestcarbon.methods.fo001 import natural_key_rank

if TYPE_CHECKING:
    from forestcarbon.methods.emission_factors import EmissionFactors

DAYS_PER_YEAR = 365
"""Days of a year in the estimation formula ``days/365`` (methodology note, EN-R-002)."""
KG_PER_T = 1000
NANO_DIGITS = 9
"""Per-activity t-CO2 are kept to 1e-9 t (1 mg), the exact unit of the program totals
(:mod:`forestcarbon.methods.totals`)."""
KWH_DIGITS = 6
"""Output kWh are rounded to 1e-6 kWh; tonnes are computed from the unrounded values."""

FLAGS = {
    "estimated": "no readings in the period: self-consumption estimated from capacity (EN-R-002)",
    "prorated_to_eligibility": "a reading starts before the eligibility date: prorated by days",
    "partial_readings": "readings cover only part of the eligible days; the rest is not counted",
    "fiscal_year_split": "counted days span fiscal years: each part with its year's factor",
    "over_activity_cap": "reduction above the per-activity limit of a program-type project",
    "cop_not_improved": "the new unit is not more efficient than the baseline: no reduction",
}
"""Flag names in ``solar_sites.csv`` / ``aircon_units.csv`` and their meaning."""


def item_period_grid(n_items: int, periods: tuple[Period, ...]) -> tuple[np.ndarray, ...]:
    """Item and period index of every (period, item) row, period-major; period bounds per row."""
    item = np.tile(np.arange(n_items), len(periods))
    period = np.repeat(np.arange(len(periods)), n_items)
    starts = as_days([p.start for p in periods])
    ends = as_days([p.end for p in periods])
    return item, period, starts[period], ends[period]


def reading_rows(readings: pd.DataFrame, ids: pd.Series, id_col: str, periods) -> np.ndarray:
    """Grid row of every reading (see :func:`item_period_grid`)."""
    item = pd.Index(ids).get_indexer(readings[id_col])
    period = pd.Index([p.label for p in periods]).get_indexer(readings["period"])
    return period * len(ids) + item


def sum_by_row(rows: np.ndarray, values, n: int) -> np.ndarray:
    return np.bincount(rows, weights=np.asarray(values, dtype=float), minlength=n)


def factors_of(factors: EmissionFactors, fy: np.ndarray) -> np.ndarray:
    return pd.Series(fy).map(factors.by_year).to_numpy(dtype=float)


def n_fiscal_years(rows: np.ndarray, fy: np.ndarray, days: np.ndarray, n: int) -> np.ndarray:
    """Number of distinct fiscal years with counted days per grid row."""
    pairs = np.unique(np.stack([rows[days > 0], fy[days > 0]]), axis=1)
    return np.bincount(pairs[0], minlength=n)


def join_flags(flags: dict[str, np.ndarray], n: int) -> list[str]:
    names = [name for name in FLAGS if name in flags]
    columns = [flags[name] for name in names]
    return [
        ";".join(nm for nm, col in zip(names, columns, strict=True) if col[i]) for i in range(n)
    ]


def as_dates(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> datetime.date objects (None for NaT)."""
    return np.array([None if np.isnat(d) else d.item() for d in days], dtype=object)


def tonnes(values) -> np.ndarray:
    """t-CO2 kept to 1e-9 t, the exact unit of the program totals."""
    return np.round(np.asarray(values, dtype=float), NANO_DIGITS)


def kwh_out(values) -> np.ndarray:
    """kWh as written to the outputs: to 1e-6 kWh, hiding binary noise (45000.00000000001)."""
    return np.round(np.asarray(values, dtype=float), KWH_DIGITS)


def blocked_reason(detail: pd.Series) -> np.ndarray:
    """Reason of a site or unit whose subsidy forbids registration, with the detail given.

    ``detail`` is the validated ``block_reason`` text, already NFKC-normalised and stripped by
    :func:`forestcarbon.inputs.schemas.validate` (missing: empty or None).
    """
    base = "ineligible: subsidy forbids J-Credit registration (補助金の条件)"
    detail = detail.fillna("")
    return np.where(detail != "", base + ": " + detail, base).astype(object)


def late_reason(eligible_from: np.ndarray, suffix: str = "") -> np.ndarray:
    text = pd.Series(eligible_from.astype(str))
    late = "ineligible: not yet in the program in this period (eligible from " + text + suffix + ")"
    return late.to_numpy(object)


def ordered(df: pd.DataFrame, geoms, crs, id_col: str) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(df, geometry=list(geoms), crs=crs)
    if not len(gdf):
        return gdf
    order = np.lexsort((natural_key_rank(gdf[id_col]), gdf["period"].to_numpy()))
    return gdf.iloc[order].reset_index(drop=True)
