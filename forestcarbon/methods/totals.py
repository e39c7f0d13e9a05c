"""Whole-program totals: exact decimal sums, credits truncated once, buffer.

Credits are whole t-CO2 with fractions truncated, once, at the total of a methodology for a period
(FO-001.md §3; EN-R-002_EN-S-004.md "Rounding vectors"). Totals are summed exactly: every
per-activity value becomes an integer number of nano-tonnes (1e-9 t-CO2, far below any reported
digit, which removes binary floating-point noise such as 94.6 - 54.6 = 39.99999999999999); these
are summed as integers and converted to :class:`decimal.Decimal`.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import numpy as np
import pandas as pd

NANO = 10**9
"""Nano-tonnes per tonne: the exact unit of summation."""

SUMMARY_COLUMNS = [
    "methodology",
    "period",
    "removals_tco2",
    "emissions_tco2",
    "total_tco2",
    "buffer_rate",
    "buffer_tco2",
    "credits_t",
    "n_activities",
    "held_tco2",
]
"""``held_tco2``: FO-001 removals held back by canopy evidence [t-CO2] (not in total_tco2 nor
credits_t); empty for the energy methodologies."""


def to_nano(values) -> np.ndarray:
    """t-CO2 floats -> exact integer nano-tonnes (rounded to the nearest), as Python integers.

    Python integers never overflow (an int64 would wrap around beyond 9.2e9 t); a value that is
    not finite is an error, never a number.
    """
    scaled = np.rint(np.asarray(values, dtype=float) * NANO)
    if not np.isfinite(scaled).all():
        raise ValueError("a t-CO2 value to be summed is not finite (NaN or infinite)")
    return np.array([int(v) for v in scaled.ravel()], dtype=object).reshape(scaled.shape)


def exact_sum(values) -> Decimal:
    """Exact decimal sum [t-CO2] of t-CO2 floats, via integer nano-tonnes (never wraps).

    The nano-tonnes are summed as int64 when no partial sum can reach 2**63 (the same integers,
    the same exact sum), else as Python integers.
    """
    values = np.asarray(values, dtype=float).ravel()
    scaled = np.rint(values * NANO)
    if not np.isfinite(scaled).all():
        raise ValueError("a t-CO2 value to be summed is not finite (NaN or infinite)")
    bound = float(np.abs(scaled).max()) * len(scaled) if len(scaled) else 0.0
    if bound < 2.0**62:  # every value and partial sum fits in an int64 with room to spare
        return Decimal(int(scaled.astype(np.int64).sum())) / NANO
    return Decimal(sum(to_nano(values).tolist(), 0)) / NANO


def credited_tonnes(total_tco2: Decimal, buffer_rate: float | str | Decimal = 0) -> int:
    """Whole credits [t-CO2] from an exact total: buffer held back, fractions truncated.

    A non-positive total gives no credits (FO-001.md §3: net <= 0 earns nothing).

    >>> credited_tonnes(exact_sum([94.6]) - exact_sum([54.6]))
    40
    """
    if total_tco2 <= 0:
        return 0
    kept = total_tco2 * (1 - Decimal(str(buffer_rate)))
    return int(kept.to_integral_value(rounding=ROUND_DOWN))


def decimal_text(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros ('40', '90.278925')."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def summary_row(
    methodology: str, period: str, removals, emissions, activity_ids, buffer_rate: float
) -> dict:
    """One summary row from per-activity removals and emissions [t-CO2].

    Parameters
    ----------
    activity_ids : iterable of str
        Ids of the activities counted (stands, sites, units); their number is ``n_activities``
        and the whole-program rows count distinct ids across periods (an id counts by its text).
    """
    rem, emi = exact_sum(removals), exact_sum(emissions)
    total = rem - emi
    credits = credited_tonnes(total, buffer_rate)
    buffer = max(total, Decimal(0)) * Decimal(str(buffer_rate))
    ids = _distinct(activity_ids)
    return {
        "methodology": methodology,
        "period": period,
        "removals_tco2": decimal_text(rem),
        "emissions_tco2": decimal_text(emi),
        "total_tco2": decimal_text(total),
        "buffer_rate": buffer_rate,
        "buffer_tco2": decimal_text(buffer),
        "credits_t": credits,
        "n_activities": len(ids),
        "activity_ids": ids,
    }


def _distinct(ids) -> pd.Index:
    """The distinct ids, as text."""
    return pd.Index(pd.unique(pd.Series(list(ids) if isinstance(ids, set) else ids).astype(str)))


def fo001_summary(results: pd.DataFrame, buffer_rate: float) -> list[dict]:
    """Summary rows of FO-001 per period from :func:`~forestcarbon.methods.fo001.compute_fo001`."""
    rows = []
    code, periods = pd.factorize(results["period"])
    eligible = results["eligible"].to_numpy(dtype=bool)
    # the project boundary: eligible stands, and fellings of every stand in a plan
    inside = results["in_boundary"].to_numpy(dtype=bool) if "in_boundary" in results else eligible
    removals = results["removals_tco2"].to_numpy(dtype=float)
    emissions = results["emissions_tco2"].to_numpy(dtype=float)
    counted = inside & (eligible | (emissions > 0))
    for k in np.argsort(np.asarray(periods, dtype=object), kind="stable"):
        mine = code == k
        take = np.flatnonzero(mine & counted)
        row = summary_row(
            "FO-001",
            periods[k],
            removals[take],
            emissions[take],
            results["stand_id"].take(take).tolist(),
            buffer_rate,
        )
        if "held_tco2" in results.columns:
            row["held_tco2"] = decimal_text(exact_sum(results["held_tco2"].to_numpy()[mine]))
        rows.append(row)
    return rows


def program_summary(rows: list[dict]) -> pd.DataFrame:
    """Methodology rows plus whole-program rows: per period, per methodology over all periods,
    and the program over all periods.

    Each methodology is a separate J-Credit project whose credits are truncated on its own, so the
    program's credits are the sum of the methodologies' credits; its total_tco2 is the exact sum;
    ``n_activities`` counts distinct activities.
    """
    df = pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, "activity_ids"])
    combined = [_combine(g, "program", period) for period, g in df.groupby("period", sort=True)]
    combined += [_combine(g, method, "all") for method, g in df.groupby("methodology", sort=False)]
    combined.append(_combine(df, "program", "all"))
    out = pd.concat([df, pd.DataFrame(combined)], ignore_index=True)
    return out[SUMMARY_COLUMNS]


def _combine(g: pd.DataFrame, methodology: str, period: str) -> dict:
    def total(col: str) -> str:
        return decimal_text(sum((Decimal(v) for v in g[col]), Decimal(0)))

    rates = set(g["buffer_rate"])
    # removals/emissions mean EM_BL/EM_PJ for energy rows: their sum over methodologies means
    # nothing, so a row mixing methodologies carries only the total
    single = g["methodology"].nunique() == 1
    return {
        "methodology": methodology,
        "period": period,
        "removals_tco2": total("removals_tco2") if single else "",
        "emissions_tco2": total("emissions_tco2") if single else "",
        "total_tco2": total("total_tco2"),
        "buffer_rate": rates.pop() if len(rates) == 1 else np.nan,
        "buffer_tco2": total("buffer_tco2"),
        "credits_t": int(g["credits_t"].sum()),
        "n_activities": sum(
            len(_distinct(pd.concat([pd.Series(ids) for ids in m["activity_ids"]])))
            for _, m in g.groupby("methodology", sort=False)
        ),
        "held_tco2": _held(g),
    }


def _held(g: pd.DataFrame) -> str:
    """Exact sum of the rows' held t-CO2 (FO-001 rows only); empty when no row has one."""
    if "held_tco2" not in g.columns:
        return ""
    values = [v for v in g["held_tco2"] if isinstance(v, str) and v != ""]
    return decimal_text(sum((Decimal(v) for v in values), Decimal(0))) if values else ""


INTERVAL_COLUMNS = ["total_mean_tco2", "total_low_tco2", "total_high_tco2", "credit_basis"]


def credit_lower_bound(rows: list[dict], intervals: pd.DataFrame) -> list[dict]:
    """Rows whose credits come from the lower end of the uncertainty interval where it is lower
    than the computed total (the conservative choice, ``[uncertainty] credit_basis``)."""
    low = intervals.set_index(["methodology", "period"])["total_low_tco2"]
    out = []
    for row in rows:
        bound = low.get((row["methodology"], row["period"]))
        total = Decimal(row["total_tco2"])
        if bound is not None:
            total = min(total, exact_sum([bound]))
        out.append({**row, "credits_t": credited_tonnes(total, row["buffer_rate"])})
    return out


def add_intervals(summary: pd.DataFrame, intervals: pd.DataFrame, basis: str) -> pd.DataFrame:
    """Summary with the Monte Carlo mean and interval [t-CO2] of each row and the credit basis."""
    merged = summary.merge(intervals, on=["methodology", "period"], how="left")
    merged["credit_basis"] = basis
    return merged[[*SUMMARY_COLUMNS, *INTERVAL_COLUMNS]]
