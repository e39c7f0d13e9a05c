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
from forestcarbon.methods.text import choose, column, fixed, join, render

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


def operation_days(operations: pd.DataFrame) -> np.ndarray:
    """The operations' dates as datetime64[D] (NaT where none)."""
    return pd.to_datetime(operations["date"]).to_numpy(dtype="datetime64[D]")


def qualifying_work(
    stands: pd.DataFrame, operations: pd.DataFrame, period: Period, settings: FO001Settings
) -> pd.DataFrame:
    """Per stand (stand order): number of qualifying operations since the cut-off up to the period
    end, treated area [ha] (inf: an operation without area, the whole stand), whether an area was
    assumed, the first date (datetime64[D], NaT without work) and the last operation (its name in
    ``last_operation``, "" without work, and its date in ``last_date``; of several on the last
    day, the one recorded last)."""
    day = operation_days(operations)
    since = np.datetime64(settings.operations_since, "D")
    keep = (
        operations["operation"].isin(QUALIFYING_OPERATIONS).to_numpy(dtype=bool)
        & (day >= since)
        & (day <= np.datetime64(period.end, "D"))
    )
    ops, day = operations[keep], day[keep]
    stand_code, ids = pd.factorize(stands["stand_id"])  # an id given twice shares its work
    code = pd.Index(ids).get_indexer(ops["stand_id"])
    drawn = (
        ops["geometry"].notna().to_numpy()
        if "geometry" in ops.columns
        else np.zeros(len(ops), dtype=bool)
    )
    area = ops["area_ha"].to_numpy(dtype=float)
    treated = np.where(drawn, 0.0, np.where(np.isnan(area), np.inf, area))
    assumed = np.isnan(area) & ~drawn
    known = code >= 0
    code, day, treated, assumed = code[known], day[known], treated[known], assumed[known]
    names = ops["operation"].to_numpy(dtype=object)[known]

    u = len(ids)
    n = np.bincount(code, minlength=u)
    order = np.lexsort((day.view(np.int64), code))  # stable: ties keep the recorded order
    has = n > 0
    starts = np.cumsum(n[has]) - n[has]  # first row of each stand's work in ``order``
    ends = starts + n[has] - 1
    worked = np.flatnonzero(has)
    first = np.full(u, np.datetime64("NaT"), dtype="datetime64[D]")
    last_day = first.copy()
    first[worked] = day[order[starts]]
    last_day[worked] = day[order[ends]]
    last_name = np.full(u, "", dtype=object)
    last_name[worked] = names[order[ends]]
    total = np.zeros(u)
    how = "max" if settings.treated_area_sum == "max" else "sum"
    if len(code) and how == "max":
        total[worked] = np.maximum.reduceat(treated[order], starts)
    elif len(code):  # pandas' grouped (compensated) sum, in the recorded order
        sums = pd.Series(treated).groupby(code, sort=False).sum()
        total[sums.index.to_numpy()] = sums.to_numpy()
    any_assumed = np.bincount(code, weights=assumed, minlength=u) > 0
    if drawn.any():
        polygon = treated_polygon_area(stands, ops[drawn])
        polygon_ha = np.zeros(u)
        at = pd.Index(ids).get_indexer(polygon.index)
        polygon_ha[at[at >= 0]] = polygon.to_numpy()[at >= 0]
        combined = np.maximum(total, polygon_ha) if how == "max" else total + polygon_ha
        total = np.where(has, combined, total)
    return pd.DataFrame(
        {
            "n": n[stand_code].astype(np.int64),
            "treated_ha": total[stand_code],
            "assumed": any_assumed[stand_code],
            "first": first[stand_code],
            "last_operation": last_name[stand_code],
            "last_date": last_day[stand_code],
        }
    )


def treated_polygon_area(stands: pd.DataFrame, ops: pd.DataFrame) -> pd.Series:
    """Per stand id: area [ha] of the union of its operations' treated-area polygons, clipped to
    the stand polygon when the stands carry one (overlapping treatments count once)."""
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
        out[sid] = shapely.area(union) / 10_000
    return pd.Series(out, dtype=float)


def plan_windows(stands: pd.DataFrame, plans: pd.DataFrame | None):
    """(start, end, known) of each stand's plan: datetime64[D] arrays and whether the plan id is
    in the plans table; without a table every plan is known and open-ended."""
    n = len(stands)
    if plans is None:
        return np.full(n, EARLIEST), np.full(n, LATEST), np.ones(n, dtype=bool)
    table = plans.drop_duplicates("plan_id").set_index("plan_id")
    ids = stands["plan_id"].astype(str).str.strip()
    at = table.index.get_indexer(ids)
    known = at >= 0
    start = pd.to_datetime(table["start"]).to_numpy(dtype="datetime64[D]")[at]
    end = pd.to_datetime(table["end"]).to_numpy(dtype="datetime64[D]")[at]
    start = np.where(known, start, LATEST)
    end = np.where(known, end, EARLIEST)
    return start, end, known


def _day(value) -> str:
    """ISO text of a date: datetime64, or whole days since 1970-01-01."""
    if isinstance(value, int | np.integer):
        value = int(value)
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

    reason = _reasons(
        stands, settings, period, plans is not None, plans_file,
        plan_ids=plan_ids.to_numpy(dtype=object), in_plan=in_plan, bamboo=bamboo,
        planted=planted, natural_ok=natural_ok, kind_ok=kind_ok, known=known,
        eligible=eligible, days=days, plan_start=plan_start, plan_end=plan_end, earned=earned,
        work=work, counted=counted, area=area,
    )  # fmt: skip

    return Eligibility(
        in_boundary=in_plan,
        eligible=eligible,
        counted_area_ha=counted,
        window_start=np.where(eligible, start, LATEST),
        window_end=np.where(eligible, end, EARLIEST),
        counted_days=np.where(eligible, days, 0),
        reason=reason,
        partial=eligible & planted & (counted < area - 1e-9),
        assumed=eligible & work["assumed"].to_numpy(),
        plan_dates_unknown=np.full(len(stands), plans is None) & in_plan,
        started_in_period=eligible & (earned > p_lo) & (earned <= p_hi),
    )


OUTSIDE_PLAN = (
    "ineligible: outside any forest management plan (森林経営計画), so outside the project "
    "boundary: neither removals nor fellings are counted"
)
BOUNDARY = "; final harvests are still booked as emissions (project boundary)"


def _reasons(stands, settings, period, with_plans, plans_file, **a) -> np.ndarray:
    """The reason text of every stand (see :func:`eligibility`), built from its pieces: each
    distinct piece is formatted once (:mod:`forestcarbon.methods.text`)."""
    since = settings.operations_since.isoformat()
    p_lo, p_hi = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    in_plan, kind_ok, known, days = a["in_plan"], a["kind_ok"], a["known"], a["days"]
    plan_start, plan_end, earned = a["plan_start"], a["plan_end"], a["earned"]
    pid, work = a["plan_ids"], a["work"]
    n_ops = work["n"].to_numpy()
    worked = a["planted"] & (n_ops > 0) & ~a["bamboo"]
    natural = (
        "eligible: natural forest (天然生林) under legal protection (保安林 etc.)"
        if settings.natural_forest == "protected"
        else "eligible: natural forest (天然生林) in a plan (natural_forest = 'all')"
    )
    kind = np.select(
        [~in_plan, a["bamboo"], worked, a["planted"], a["natural_ok"]], [0, 1, 2, 3, 4], 5
    )
    base = [
        OUTSIDE_PLAN,
        "ineligible: bamboo (タケ) earns no removals under FO-001",
        "",
        "ineligible: planted forest (人工林) with no planting, weeding, cleaning or thinning "
        f"(植栽・下刈・除伐・間伐) recorded since {since}",
        natural,
        "ineligible: natural forest (天然生林) not under legal protection (保安林)",
    ]
    # a plan that is unknown, lapsed or not yet started replaces the text
    lapsed = with_plans & (days == 0) & (plan_end < p_lo)
    later = with_plans & (days == 0) & (plan_start > p_hi)
    plan_case = np.select([~in_plan | ~kind_ok, ~known, lapsed, later], [0, 1, 2, 3], 0)
    start_i, end_i = plan_start.view(np.int64), plan_end.view(np.int64)

    def plan_text(case, pid, start, end) -> str:
        if case == 1:
            return f"ineligible: plan {pid!r} is not in {plans_file} (森林経営計画 not found)"
        if case == 2:
            return (
                f"ineligible: plan {pid!r} lapsed on {_day(end)} (計画期間満了), before this period"
            )
        return f"ineligible: plan {pid!r} starts on {_day(start)}, after the period"

    replaced = plan_case > 0
    dynamic = worked & in_plan & ~replaced  # the text of a planted stand with work: per stand
    head = render(
        [kind, plan_case, *_only(replaced, pid, start_i, end_i)],
        lambda k, case, pid, start, end: plan_text(case, pid, start, end) if case else base[k],
        mask=~dynamic,
    )
    last = render(
        [
            n_ops,
            work["last_operation"].to_numpy(dtype=object),
            work["last_date"].to_numpy(dtype="datetime64[D]").view(np.int64),
        ],
        lambda k, op, day: (
            f"eligible: planted forest (人工林) with {k} qualifying operation(s) since {since}, "
            f"last {op} ({OPERATION_JA[op]}) {_day(day)}; counted "
        ),
        mask=dynamic,
    )
    counted = choose(dynamic, fixed(a["counted"]), "")
    area = choose(dynamic, join(" of ", fixed(a["area"]), " ha"), "")
    # fewer days than the period: which window limits them
    short = in_plan & kind_ok & ~replaced & known & (days < period.days)
    show_plan = with_plans & ((plan_start > p_lo) | (plan_end < p_hi))
    show_earned = earned > p_lo

    def days_text(d, plan, pid, start, end, from_earned, earned) -> str:
        parts = []
        if plan:
            parts.append(f"plan {pid!r} in force {_day(start)}..{_day(end)}")
        if from_earned:
            parts.append(f"eligible from {_day(earned)} (first qualifying operation)")
        return f"; removals for {d} of {period.days} days ({'; '.join(parts)})"

    removal_days = render(
        [
            days,
            show_plan,
            *_only(show_plan, pid, start_i, end_i),
            show_earned,
            *_only(show_earned, earned.view(np.int64)),
        ],
        days_text,
        mask=short,
    )
    boundary = choose(in_plan & ~a["eligible"], BOUNDARY, "")
    return column(join(head, last, counted, area, removal_days, boundary))


def _only(mask, *keys) -> list[np.ndarray]:
    """The keys where ``mask``, a constant elsewhere (fewer distinct combinations to format)."""
    return [np.where(mask, k, k[0] if len(k) else 0) for k in keys]
