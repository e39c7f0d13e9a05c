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
from forestcarbon.methods.keys import RegisterKeys, register_keys
from forestcarbon.methods.text import column, day_text, fixed_key, render_joined

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
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    period: Period,
    settings: FO001Settings,
    keys: RegisterKeys | None = None,
) -> pd.DataFrame:
    """Per stand (stand order): number of qualifying operations since the cut-off up to the period
    end, treated area [ha] (inf: an operation without area, the whole stand), whether an area was
    assumed, the first date (datetime64[D], NaT without work) and the last operation (its name in
    ``last_operation``, categorical, missing without work, and its date in ``last_date``; of
    several on the last day, the one recorded last).

    ``keys``: :func:`~forestcarbon.methods.keys.register_keys` of the stands and operations
    (computed here when not given)."""
    keys = keys or register_keys(stands, operations)
    day = keys.op_day
    keep = (
        keys.operations_of(QUALIFYING_OPERATIONS)
        & (day >= np.datetime64(settings.operations_since, "D"))
        & (day <= np.datetime64(period.end, "D"))
        & (keys.op_stand >= 0)  # an operation of no stand of this register counts nowhere
    )
    rows = np.flatnonzero(keep)
    code, day, kind = keys.op_stand[rows], day[rows], keys.op_kind[rows]
    drawn = (
        operations["geometry"].notna().to_numpy()[rows]
        if "geometry" in operations.columns
        else np.zeros(len(rows), dtype=bool)
    )
    area = operations["area_ha"].to_numpy(dtype=float)[rows]
    treated = np.where(drawn, 0.0, np.where(np.isnan(area), np.inf, area))
    assumed = np.isnan(area) & ~drawn

    u = len(keys.stand_ids)  # one result per distinct id: an id given twice shares its work
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
    last_kind = np.full(u, -1, dtype=np.int64)
    last_kind[worked] = kind[order[ends]]
    total = np.zeros(u)
    how = "max" if settings.treated_area_sum == "max" else "sum"
    if len(code) and how == "max":
        total[worked] = np.maximum.reduceat(treated[order], starts)
    elif len(code):  # pandas' grouped (compensated) sum, in the recorded order
        sums = pd.Series(treated).groupby(code, sort=False).sum()
        total[sums.index.to_numpy()] = sums.to_numpy()
    any_assumed = np.bincount(code, weights=assumed, minlength=u) > 0
    if drawn.any():
        polygon = treated_polygon_area(stands, operations.iloc[rows[drawn]])
        polygon_ha = np.zeros(u)
        at = keys.stand_ids.get_indexer(polygon.index)
        polygon_ha[at[at >= 0]] = polygon.to_numpy()[at >= 0]
        combined = np.maximum(total, polygon_ha) if how == "max" else total + polygon_ha
        total = np.where(has, combined, total)
    stand = keys.stand_code
    return pd.DataFrame(
        {
            "n": n[stand].astype(np.int64),
            "treated_ha": total[stand],
            "assumed": any_assumed[stand],
            "first": first[stand],
            "last_operation": pd.Categorical.from_codes(last_kind[stand], keys.op_kinds),
            "last_date": last_day[stand],
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
    at = table.index.get_indexer(ids)
    known = at >= 0
    start = pd.to_datetime(table["start"]).to_numpy(dtype="datetime64[D]")[at]
    end = pd.to_datetime(table["end"]).to_numpy(dtype="datetime64[D]")[at]
    start = np.where(known, start, LATEST)
    end = np.where(known, end, EARLIEST)
    return start, end, known


def eligibility(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    period: Period,
    settings: FO001Settings,
    plans: pd.DataFrame | None = None,
    *,
    plans_file: str = "plans.csv",
    keys: RegisterKeys | None = None,
) -> Eligibility:
    """Eligibility, counted area [ha], counted days and reason of every stand for one period.

    ``keys``: :func:`~forestcarbon.methods.keys.register_keys` of the stands and operations
    (computed here when not given)."""
    area = stands["stand_area_ha"].to_numpy(dtype=float)
    work = qualifying_work(stands, operations, period, settings, keys)
    n_ops = work["n"].to_numpy()
    plan_ids = stands["plan_id"].astype(str).str.strip()
    in_plan = plan_ids.ne("").to_numpy()
    bamboo = stands["species"].eq("bamboo").to_numpy(dtype=bool)
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
        settings, period, plans is not None, plans_file,
        plan_ids=plan_ids, in_plan=in_plan, bamboo=bamboo,
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


def _reasons(settings, period, with_plans, plans_file, **a):
    """The reason text of every stand (see :func:`eligibility`), built from its pieces: each
    distinct piece is formatted once (:mod:`forestcarbon.methods.text`)."""
    since = settings.operations_since.isoformat()
    p_lo, p_hi = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    in_plan, kind_ok, known, days = a["in_plan"], a["kind_ok"], a["known"], a["days"]
    plan_start, plan_end, earned = a["plan_start"], a["plan_end"], a["earned"]
    pid_code, pid_names = pd.factorize(a["plan_ids"], use_na_sentinel=False)
    pid_names, work = np.asarray(pid_names, dtype=object), a["work"]
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
        pid = pid_names[pid]
        if case == 1:
            return f"ineligible: plan {pid!r} is not in {plans_file} (森林経営計画 not found)"
        if case == 2:
            return (
                f"ineligible: plan {pid!r} lapsed on {day_text(end)} (計画期間満了), "
                "before this period"
            )
        return f"ineligible: plan {pid!r} starts on {day_text(start)}, after the period"

    replaced = plan_case > 0
    dynamic = worked & in_plan & ~replaced  # the text of a planted stand with work: per stand
    last_op = work["last_operation"].array
    kinds = np.asarray(last_op.categories, dtype=object)

    def head_text(is_dynamic, k, case, pid, start, end, n, op, day) -> str:
        if not is_dynamic:
            return plan_text(case, pid, start, end) if case else base[k]
        op = kinds[op]
        return (
            f"eligible: planted forest (人工林) with {n} qualifying operation(s) since {since}, "
            f"last {op} ({OPERATION_JA[op]}) {day_text(day)}; counted "
        )

    last_day = work["last_date"].to_numpy(dtype="datetime64[D]").view(np.int64)
    head_keys = [
        dynamic,
        kind,
        plan_case,
        *_only(replaced, pid_code, start_i, end_i),
        *_only(dynamic, n_ops, last_op.codes, last_day),
    ]
    counted, counted_text = fixed_key(a["counted"])
    area, area_text = fixed_key(a["area"])
    # fewer days than the period: which window limits them
    short = in_plan & kind_ok & ~replaced & known & (days < period.days)
    show_plan = with_plans & ((plan_start > p_lo) | (plan_end < p_hi))
    show_earned = earned > p_lo

    outside = in_plan & ~a["eligible"]  # in the boundary, earning nothing

    def tail_text(has_area, c, ha, is_short, d, plan, pid, start, end, from_earned, earned, out):
        text = f"{counted_text(c)} of {area_text(ha)} ha" if has_area else ""
        parts = []
        if plan:
            parts.append(f"plan {pid_names[pid]!r} in force {day_text(start)}..{day_text(end)}")
        if from_earned:
            parts.append(f"eligible from {day_text(earned)} (first qualifying operation)")
        if is_short:
            text += f"; removals for {d} of {period.days} days ({'; '.join(parts)})"
        return text + (BOUNDARY if out else "")

    show_plan &= short
    show_earned &= short
    tail_keys = [
        dynamic,
        *_only(dynamic, counted, area),
        short,
        *_only(short, days),
        show_plan,
        *_only(show_plan, pid_code, start_i, end_i),
        show_earned,
        *_only(show_earned, earned.view(np.int64)),
        outside,
    ]
    return column(render_joined([(head_keys, head_text), (tail_keys, tail_text)]))


def _only(mask, *keys) -> list[np.ndarray]:
    """The keys where ``mask``, a constant elsewhere (fewer distinct combinations to format)."""
    return [np.where(mask, k, k[0] if len(k) else 0) for k in keys]
