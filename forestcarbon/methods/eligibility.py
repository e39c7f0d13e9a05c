"""FO-001 eligibility of each stand for one period: project boundary, plan validity, qualifying
work, the day eligibility is earned and the counted (treated) area (FO-001.md §3).

Conservative rules (each a setting of :class:`~forestcarbon.core.config.FO001Settings` where it
is a choice):

- every stand with a forest management plan id is inside the project boundary: its final
  harvests are emissions whether or not it earns removals;
- removals count only for the days of the period on which the stand's plan is in force
  (``plans.csv``) *and* the stand is eligible: a planted stand from the date of its first
  qualifying operation since the cut-off, pro rata by days;
- the counted area of a planted stand is the recorded treated area, never scaled up: the largest
  single qualifying operation (``treated_area_sum = "max"``) or their sum (``"sum"``), at most
  the stand area.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from forestcarbon.core.config import FO001Settings, Period

QUALIFYING_OPERATIONS = ("planting", "weeding", "cleaning", "thinning", "replanting")
"""植栽・下刈・除伐・間伐 (and 再造林): work that makes planted forest count (FO-001.md §3)."""

OPERATION_JA = {
    "planting": "植栽",
    "weeding": "下刈",
    "cleaning": "除伐",
    "thinning": "間伐",
    "pruning": "枝打",
    "final_harvest": "主伐",
    "replanting": "再造林",
}

EARLIEST = np.datetime64("1000-01-01", "D")
LATEST = np.datetime64("9999-12-31", "D")
"""Open ends of a window (no plans table: the plan is taken to be in force always)."""


def overlap_days(lo, hi, start, end) -> np.ndarray:
    """Days [d] (both ends inclusive) that ``[lo, hi]`` and ``[start, end]`` share, elementwise
    on datetime64[D] values; 0 where they do not meet."""
    a = np.maximum(np.asarray(lo, dtype="datetime64[D]"), start)
    b = np.minimum(np.asarray(hi, dtype="datetime64[D]"), end)
    return np.maximum((b - a).astype(np.int64) + 1, 0)


@dataclass(frozen=True)
class Eligibility:
    """Eligibility of every stand for one period (arrays in stand order).

    ``window_start``/``window_end`` (datetime64[D]) bound the days on which removals count
    (plan in force and eligibility earned); ``counted_days`` [d] is their overlap with the period.
    """

    in_boundary: np.ndarray
    eligible: np.ndarray
    counted_area_ha: np.ndarray
    window_start: np.ndarray
    window_end: np.ndarray
    counted_days: np.ndarray
    reason: np.ndarray
    partial: np.ndarray
    assumed: np.ndarray
    plan_dates_unknown: np.ndarray
    started_in_period: np.ndarray

    def day_share(self, lo: dt.date, hi: dt.date) -> np.ndarray:
        """Share [0-1] of the days ``lo..hi`` on which each stand's removals count."""
        days = (hi - lo).days + 1
        return overlap_days(lo, hi, self.window_start, self.window_end) / days


def qualifying_work(
    stands: pd.DataFrame, operations: pd.DataFrame, period: Period, settings: FO001Settings
) -> pd.DataFrame:
    """Per stand (stand order): number of qualifying operations since the cut-off up to the period
    end, treated area [ha] (inf: an operation without area, the whole stand), whether an area was
    assumed, the first date (datetime64[D], NaT without work) and the last operation as text."""
    ops = operations[
        operations["operation"].isin(QUALIFYING_OPERATIONS)
        & (operations["date"] >= settings.operations_since)
        & (operations["date"] <= period.end)
    ]
    ids = stands["stand_id"].to_numpy()
    drawn = (
        ops["geometry"].notna().to_numpy()
        if "geometry" in ops.columns
        else np.zeros(len(ops), dtype=bool)
    )
    work = pd.DataFrame(
        {
            "stand_id": ops["stand_id"],
            "treated": np.where(drawn, 0.0, ops["area_ha"].fillna(np.inf)),
            "assumed": ops["area_ha"].isna() & ~drawn,
            "date": pd.to_datetime(ops["date"]),
        }
    )
    how = "max" if settings.treated_area_sum == "max" else "sum"
    summary = work.groupby("stand_id", sort=False).agg(
        n=("treated", "size"), treated=("treated", how), assumed=("assumed", "any"),
        first=("date", "min"),
    )  # fmt: skip
    if drawn.any():
        polygon_ha = treated_polygon_area(stands, ops[drawn]).reindex(summary.index).fillna(0.0)
        combined = (
            np.maximum(summary["treated"], polygon_ha)
            if how == "max"
            else summary["treated"] + polygon_ha
        )
        summary["treated"] = combined
    last = ops.sort_values("date", kind="stable").drop_duplicates("stand_id", keep="last")
    last_text = pd.Series(
        [
            f"{op} ({OPERATION_JA[op]}) {d}"
            for op, d in zip(last["operation"], last["date"], strict=True)
        ],
        index=last["stand_id"].to_numpy(),
        dtype=object,
    )
    summary = summary.reindex(ids)
    return pd.DataFrame(
        {
            "n": summary["n"].fillna(0).to_numpy(dtype=np.int64),
            "treated_ha": summary["treated"].fillna(0).to_numpy(dtype=float),
            "assumed": summary["assumed"].fillna(False).to_numpy(dtype=bool),
            "first": summary["first"].to_numpy(dtype="datetime64[D]"),
            "last": last_text.reindex(ids).to_numpy(),
        }
    )


def treated_polygon_area(stands: pd.DataFrame, ops: pd.DataFrame) -> pd.Series:
    """Per stand id: area [ha] of the union of its operations' treated-area polygons, clipped to
    the stand polygon when the stands carry one (overlapping treatments count once), and never
    more than the hectares recorded with those operations when each of them records some."""
    outline = (
        dict(zip(stands["stand_id"], stands["geometry"], strict=True))
        if "geometry" in stands.columns
        else {}
    )
    out = {}
    for sid, group in ops.groupby("stand_id", sort=False):
        union = shapely.union_all(group["geometry"].to_numpy())
        stand = outline.get(sid)
        if stand is not None:
            union = shapely.intersection(union, stand)
        recorded = group["area_ha"].to_numpy(dtype=float)
        cap = recorded.sum() if np.isfinite(recorded).all() else np.inf
        out[sid] = min(shapely.area(union) / 10_000, cap)
    return pd.Series(out, dtype=float)


def plan_windows(stands: pd.DataFrame, plans: pd.DataFrame | None):
    """(start, end, known) of each stand's plan: datetime64[D] arrays and whether the plan id is
    in the plans table; without a table every plan is known and open-ended."""
    n = len(stands)
    if plans is None:
        return np.full(n, EARLIEST), np.full(n, LATEST), np.ones(n, dtype=bool)
    table = plans.drop_duplicates("plan_id").set_index("plan_id")
    ids = stands["plan_id"].astype(str).str.strip()
    known = ids.isin(table.index).to_numpy()
    start = pd.to_datetime(ids.map(table["start"])).to_numpy(dtype="datetime64[D]")
    end = pd.to_datetime(ids.map(table["end"])).to_numpy(dtype="datetime64[D]")
    start = np.where(known, start, LATEST)
    end = np.where(known, end, EARLIEST)
    return start, end, known


def _day(value) -> str:
    return str(np.datetime64(value, "D"))


def eligibility(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    period: Period,
    settings: FO001Settings,
    plans: pd.DataFrame | None = None,
    *,
    plans_file: str = "plans.csv",
) -> Eligibility:
    """Eligibility, counted area [ha], counted days and reason of every stand for one period."""
    area = stands["stand_area_ha"].to_numpy(dtype=float)
    work = qualifying_work(stands, operations, period, settings)
    n_ops = work["n"].to_numpy()
    plan_ids = stands["plan_id"].astype(str).str.strip()
    in_plan = plan_ids.ne("").to_numpy()
    bamboo = stands["species"].to_numpy() == "bamboo"
    planted = stands["forest_type"].eq("planted").to_numpy()
    natural_ok = stands["protected"].to_numpy(dtype=bool) | (settings.natural_forest == "all")
    kind_ok = in_plan & ~bamboo & np.where(planted, n_ops > 0, natural_ok)

    plan_start, plan_end, known = plan_windows(stands, plans)
    earned = np.where(planted & (n_ops > 0), work["first"].to_numpy(), EARLIEST)
    earned = np.where(np.isnat(earned), EARLIEST, earned).astype("datetime64[D]")
    start = np.maximum(plan_start, earned)
    end = plan_end
    p_lo, p_hi = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    days = overlap_days(p_lo, p_hi, start, end)
    eligible = kind_ok & known & (days > 0)

    if settings.eligible_area == "treated":
        counted = np.where(planted, np.minimum(area, work["treated_ha"].to_numpy()), area)
    else:
        counted = area
    counted = np.where(eligible, counted, 0.0)

    since = settings.operations_since.isoformat()
    reasons = []
    for i in range(len(stands)):
        pid = plan_ids.iloc[i]
        if not in_plan[i]:
            reasons.append(
                "ineligible: outside any forest management plan (森林経営計画), so outside the "
                "project boundary: neither removals nor fellings are counted"
            )
            continue
        if bamboo[i]:
            text = "ineligible: bamboo (タケ) earns no removals under FO-001"
        elif planted[i] and n_ops[i] > 0:
            text = (
                f"eligible: planted forest (人工林) with {n_ops[i]} qualifying operation(s) since "
                f"{since}, last {work['last'].iloc[i]}; counted {counted[i]:.2f} of "
                f"{area[i]:.2f} ha"
            )
        elif planted[i]:
            text = (
                "ineligible: planted forest (人工林) with no planting, weeding, cleaning or "
                f"thinning (植栽・下刈・除伐・間伐) recorded since {since}"
            )
        elif natural_ok[i]:
            text = (
                "eligible: natural forest (天然生林) under legal protection (保安林 etc.)"
                if settings.natural_forest == "protected"
                else "eligible: natural forest (天然生林) in a plan (natural_forest = 'all')"
            )
        else:
            text = "ineligible: natural forest (天然生林) not under legal protection (保安林)"
        if kind_ok[i]:
            if not known[i]:
                text = f"ineligible: plan {pid!r} is not in {plans_file} (森林経営計画 not found)"
            elif days[i] == 0 and plans is not None and plan_end[i] < p_lo:
                text = (
                    f"ineligible: plan {pid!r} lapsed on {_day(plan_end[i])} "
                    "(計画期間満了), before this period"
                )
            elif days[i] == 0 and plans is not None and plan_start[i] > p_hi:
                text = f"ineligible: plan {pid!r} starts on {_day(plan_start[i])}, after the period"
            elif days[i] < period.days:
                parts = []
                if plans is not None and (plan_start[i] > p_lo or plan_end[i] < p_hi):
                    parts.append(
                        f"plan {pid!r} in force {_day(plan_start[i])}..{_day(plan_end[i])}"
                    )
                if earned[i] > p_lo:
                    parts.append(f"eligible from {_day(earned[i])} (first qualifying operation)")
                text += f"; removals for {days[i]} of {period.days} days ({'; '.join(parts)})"
        if not eligible[i]:
            text += "; final harvests are still booked as emissions (project boundary)"
        reasons.append(text)

    return Eligibility(
        in_boundary=in_plan,
        eligible=eligible,
        counted_area_ha=counted,
        window_start=np.where(eligible, start, LATEST),
        window_end=np.where(eligible, end, EARLIEST),
        counted_days=np.where(eligible, days, 0),
        reason=np.array(reasons, dtype=object),
        partial=eligible & planted & (counted < area - 1e-9),
        assumed=eligible & work["assumed"].to_numpy(),
        plan_dates_unknown=np.full(len(stands), plans is None) & in_plan,
        started_in_period=eligible & (earned > p_lo) & (earned <= p_hi),
    )
