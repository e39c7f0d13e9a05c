"""Japanese fiscal years (年度, 1 April - 31 March): the one home of fiscal-year arithmetic.

Scalar helpers take :class:`datetime.date`; the vectorised ones take ``datetime64[D]`` arrays
(one pass for a million stands or sites). ``explain`` keeps its own plain re-derivation on purpose.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forestcarbon.core.config import Period

FISCAL_YEARS = (1900, 2200)
"""Fiscal years the toolkit accepts for registers and forecasts (inclusive); outside is an error."""


def fiscal_year_of(day: dt.date) -> int:
    """Japanese fiscal year of a date: 2024-03-31 -> 2023, 2024-04-01 -> 2024."""
    return day.year - (day.month < 4)


def fiscal_year(dates) -> np.ndarray:
    """Japanese fiscal year (April-March) of each date."""
    d = pd.to_datetime(pd.Series(dates))
    return (d.dt.year - (d.dt.month < 4)).to_numpy(dtype=np.int64)


def fiscal_year_or_never(dates: np.ndarray) -> np.ndarray:
    """Fiscal year of datetime64 values; the largest int64 for NaT ("never")."""
    out = np.full(len(dates), np.iinfo(np.int64).max, dtype=np.int64)
    known = ~np.isnat(dates)
    if known.any():
        out[known] = fiscal_year(dates[known])
    return out


def fiscal_year_fractions(period: Period) -> list[tuple[int, float]]:
    """Fiscal years overlapping ``period`` and the share of each year's days inside it [0-1]."""
    out = []
    first, last = fiscal_year_of(period.start), fiscal_year_of(period.end)
    for fy in range(first, last + 1):
        fy_start, fy_end = dt.date(fy, 4, 1), dt.date(fy + 1, 3, 31)
        days = (min(fy_end, period.end) - max(fy_start, period.start)).days + 1
        out.append((fy, days / ((fy_end - fy_start).days + 1)))
    return out


def elapsed_share(day: dt.date, *, inclusive: bool) -> tuple[int, float]:
    """(fiscal year, share of that year's days elapsed before/through ``day``)."""
    fy = fiscal_year_of(day)
    start = dt.date(fy, 4, 1)
    length = (dt.date(fy + 1, 3, 31) - start).days + 1
    return fy, ((day - start).days + (1 if inclusive else 0)) / length


def fiscal_years(periods: tuple[Period, ...]) -> list[int]:
    """Every fiscal year (April-March) touched by the periods, ascending."""
    years: set[int] = set()
    for p in periods:
        years.update(fy for fy, _ in fiscal_year_days(p.start, p.end))
    return sorted(years)


def fiscal_year_days(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """Split an inclusive date range at 1 April into ``[(fiscal year, days), ...]``.

    Empty when ``end < start``.

    >>> fiscal_year_days(dt.date(2023, 10, 1), dt.date(2024, 9, 30))
    [(2023, 183), (2024, 183)]
    """
    _, fy, days = fiscal_year_pieces(as_days([start]), as_days([end]))
    return [(int(y), int(d)) for y, d in zip(fy, days, strict=True)]


def as_days(values) -> np.ndarray:
    """Dates (datetime.date; anything else is none) -> datetime64[D] array (NaT for none)."""
    return np.array([v if isinstance(v, dt.date) else None for v in values], dtype="datetime64[D]")


def fiscal_year_of_days(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return (months - 3) // 12 + 1970


def fiscal_year_start(fy: np.ndarray) -> np.ndarray:
    return (
        ((np.asarray(fy, dtype=np.int64) - 1970) * 12 + 3)
        .astype("datetime64[M]")
        .astype("datetime64[D]")
    )


def fiscal_year_pieces(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Split inclusive date ranges at 1 April (vectorised :func:`fiscal_year_days`).

    Parameters
    ----------
    lo, hi : ndarray of datetime64[D]
        First and last day of each range; a range with ``hi < lo`` has no piece.

    Returns
    -------
    (range index, fiscal year, days) : three int arrays, one entry per piece.
    """
    first, last = fiscal_year_of_days(lo), fiscal_year_of_days(hi)
    n = np.where(hi >= lo, last - first + 1, 0)
    index = np.repeat(np.arange(len(lo)), n)
    fy = first[index] + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    start = np.maximum(lo[index], fiscal_year_start(fy))
    end = np.minimum(hi[index], fiscal_year_start(fy + 1) - np.timedelta64(1, "D"))
    return index, fy, (end - start).astype(np.int64) + 1


def fiscal_year_end(fy: int) -> dt.date:
    """Last day of fiscal year ``fy`` (31 March of ``fy + 1``)."""
    return dt.date(fy + 1, 3, 31)


def fiscal_year_period(fy: int) -> Period:
    """Fiscal year ``fy`` as a monitoring period (1 April - 31 March)."""
    return Period(dt.date(fy, 4, 1), fiscal_year_end(fy))
