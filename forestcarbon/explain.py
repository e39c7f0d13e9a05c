"""Hand re-derivation of one stand's FO-001 figure, with the equation written out in numbers.

For verifiers: the yield-table volumes are interpolated again from the *tabulated rows* of the
growth table (not the engine's dense curves), the parameters are read again from the packaged
parameter table with their sources, and the arithmetic is done in plain scalars, one fiscal year
and one crop at a time. The result is compared with the toolkit's figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from forestcarbon.core.params import CO2_PER_C, load_table
from forestcarbon.methods.eligibility import QUALIFYING_OPERATIONS
from forestcarbon.methods.energy_common import DAYS_PER_YEAR
from forestcarbon.methods.fiscal import fiscal_year_fractions
from forestcarbon.methods.fo001 import BEF_SWITCH_AGE, build_cohorts

TOLERANCE_TCO2 = 1e-6
"""A hand figure and the toolkit's agree when they differ by less than this [t-CO2]."""


@dataclass
class Explanation:
    """Lines of a hand calculation, its result and the toolkit's figure [t-CO2].

    ``stand_id`` holds the id of the activity explained: a stand, a PV site or an
    air-conditioning unit.
    """

    stand_id: str
    period: str
    lines: list[str] = field(default_factory=list)
    recomputed_tco2: float = 0.0
    toolkit_tco2: float = 0.0

    @property
    def matches(self) -> bool:
        return abs(self.recomputed_tco2 - self.toolkit_tco2) < TOLERANCE_TCO2

    def __str__(self) -> str:
        verdict = "matches" if self.matches else "DIFFERS from"
        return "\n".join(
            [
                *self.lines,
                f"=> hand result {self.recomputed_tco2:.6f} t-CO2 {verdict} the toolkit's "
                f"{self.toolkit_tco2:.6f} t-CO2",
            ]
        )


def tabulated_volume(
    growth: pd.DataFrame, species: str, site_class: int, age: int
) -> tuple[float, str]:
    """Volume [m3/ha] at ``age`` from the tabulated rows, and how it was read (FO-001.md §4)."""
    rows = growth[(growth["species"] == species) & (growth["site_class"] == site_class)]
    ages = rows["age"].to_numpy()
    vols = rows["volume_m3_ha"].to_numpy(dtype=float)
    if age <= 0:
        return 0.0, "V(0) = 0"
    if age in ages:
        v = float(vols[ages == age][0])
        return v, f"V({age}) = {v:g} (tabulated)"
    if age > ages.max():
        v = float(vols[ages == ages.max()][0])
        return v, f"V({age}) = V({ages.max()}) = {v:g} (beyond the table: flat)"
    below = ages[ages < age]
    a0, v0 = (int(below.max()), float(vols[ages == below.max()][0])) if len(below) else (0, 0.0)
    a1 = int(ages[ages > age].min())
    v1 = float(vols[ages == a1][0])
    v = v0 + (v1 - v0) * (age - a0) / (a1 - a0)
    return v, (f"V({age}) = {v0:g} + ({v1:g} - {v0:g}) x ({age} - {a0})/({a1} - {a0}) = {v:.4f}")


def parameters(species: str, carbon_fraction: str) -> tuple[dict, list[str]]:
    """The packaged parameters of a species' row, and lines citing their sources."""
    sp = load_table("species").set_index("species")
    row = sp.loc[species, "parameter_species"]
    table = load_table("fo001_parameters")
    mine = table[table["species"] == row].set_index("parameter")
    values = {name: float(mine.loc[name, "value"]) for name in mine.index}
    lines = [f"parameters: {species} uses the '{row}' row of fo001_parameters.csv"]
    for name in ("wood_density", "bef_le20", "bef_ge21", "root_ratio", "carbon_fraction"):
        r = mine.loc[name]
        lines.append(
            f"  {name} = {r['value']:g} [{r['unit']}] verified={r['verified']}: {r['source']}"
        )
    if carbon_fraction == "simple":
        values["carbon_fraction"] = float(
            table.loc[table["parameter"] == "carbon_fraction_simple", "value"].item()
        )
        lines.append(f"  carbon_fraction = {values['carbon_fraction']:g} (setting 'simple')")
    return values, lines


def explain_stand(inputs, fo001: pd.DataFrame, stand_id: str, period_label: str) -> Explanation:
    """Re-derive one stand's net t-CO2 for one period by hand.

    Parameters
    ----------
    inputs : ProgramInputs
        The validated program (stands, operations, growth table, settings).
    fo001 : DataFrame
        The toolkit's per-stand results (``fo001_stands.csv``).
    """
    s = inputs.settings
    period = next(p for p in s.periods if p.label == period_label)
    stand = inputs.stands.set_index("stand_id").loc[stand_id]
    toolkit = fo001[(fo001["stand_id"] == stand_id) & (fo001["period"] == period_label)].iloc[0]
    ex = Explanation(stand_id, period_label, toolkit_tco2=float(toolkit["net_tco2"]))
    ex.lines.append(
        f"stand {stand_id}: {stand['species']}, site class {stand['site_class']}, "
        f"{stand['forest_type']}, planted FY{stand['planted_year']}, plan "
        f"'{stand['plan_id']}', area {stand['stand_area_ha']:.4f} ha"
    )
    ex.lines.append(f"eligibility: {toolkit['reason']}")
    eligible = bool(toolkit["eligible"])
    if not bool(toolkit.get("in_boundary", eligible)):
        ex.lines.append(
            "outside the project boundary: nothing is counted (removals = emissions = 0)"
        )
        return ex
    counted = float(toolkit["eligible_area_ha"]) if eligible else 0.0
    if eligible:
        by_hand, area_lines = counted_area_by_hand(inputs, stand_id, period)
        ex.lines += area_lines
        if abs(by_hand - counted) > 1e-9:
            ex.lines.append(
                f"  the toolkit counted {counted:.6f} ha: it DIFFERS; the hand area is used below"
            )
        counted = by_hand
    share = counted / float(stand["stand_area_ha"])
    ex.lines.append(
        f"counted area {counted:.4f} ha = {share:.6f} of the stand (removals); final harvests "
        "count on the whole felled area (emissions)"
    )
    window = _window(toolkit) if eligible else None
    if window is not None and (window[0] or window[1]):
        ex.lines.append(
            f"removals count from {window[0] or 'the start'} to {window[1] or 'the end'} "
            "(plan in force, eligibility earned), pro rata by days"
        )
    if stand["species"] == "bamboo":
        ex.lines.append(
            "bamboo (タケ): no parameter row, its stock counts 0 (removals = emissions = 0)"
        )
        return ex
    values, lines = parameters(stand["species"], s.fo001.carbon_fraction)
    ex.lines += lines
    growth = inputs.yields.table

    def factor(age: int) -> tuple[float, str]:
        bef = values["bef_le20"] if age <= BEF_SWITCH_AGE else values["bef_ge21"]
        f = (
            values["wood_density"]
            * bef
            * (1 + values["root_ratio"])
            * values["carbon_fraction"]
            * CO2_PER_C
        )
        text = (
            f"{values['wood_density']:g} x {bef:g} x (1 + {values['root_ratio']:g}) x "
            f"{values['carbon_fraction']:g} x 44/12 = {f:.6f} t-CO2/m3"
        )
        return f, text

    one = inputs.stands[inputs.stands["stand_id"] == stand_id].reset_index(drop=True)
    ops = inputs.operations[inputs.operations["stand_id"] == stand_id]
    cohorts = build_cohorts(one, ops, s.periods)
    area = float(stand["stand_area_ha"])
    total = 0.0
    removed = 0.0
    p_end = np.datetime64(period.end)
    p_start = np.datetime64(period.start)
    for k in range(len(cohorts.stand)):
        origin, crop_share = int(cohorts.origin_fy[k]), float(cohorts.share[k])
        planted, harvested = cohorts.planted[k], cohorts.harvested[k]
        label = f"crop planted FY{origin} ({crop_share:.4f} of the stand)"
        if not np.isnat(planted) and planted > p_end:
            continue
        for fy, frac in fiscal_year_fractions(period):
            a = fy - origin + 1
            days = _counted_share(window, period, fy)
            felled = not np.isnat(harvested) and harvested <= p_end and _fy(harvested) <= fy
            if a < 1 or felled:
                continue
            v1, t1 = tabulated_volume(growth, stand["species"], stand["site_class"], a)
            v0, t0 = tabulated_volume(growth, stand["species"], stand["site_class"], a - 1)
            f1, ft = factor(a)
            if s.fo001.bef_convention == "increment":
                value = area * share * crop_share * (v1 - v0) * f1 * frac * days
                ex.lines.append(f"{label}, FY{fy} age {a}: {t1}; {t0}; factor {ft}")
                ex.lines.append(
                    f"  removal = {area:.4f} ha x {share:.6f} counted x {crop_share:.4f} x "
                    f"({v1:.4f} - {v0:.4f}) m3/ha x {f1:.6f} x {frac:.6f} of the year x "
                    f"{days:.6f} of its days counted = {value:.6f} t-CO2"
                )
            else:
                f0, _ = factor(a - 1)
                value = area * share * crop_share * (v1 * f1 - v0 * f0) * frac * days
                ex.lines.append(
                    f"  removal (stock difference) = {area:.4f} x {share:.6f} x "
                    f"{crop_share:.4f} x ({v1:.4f} x {f1:.6f} - {v0:.4f} x {f0:.6f}) x "
                    f"{frac:.6f} x {days:.6f} = {value:.6f} t-CO2"
                )
            removed += value
        if not np.isnat(harvested) and p_start <= harvested <= p_end:
            a = _fy(harvested) - origin + 1
            v, t = tabulated_volume(growth, stand["species"], stand["site_class"], a)
            f, ft = factor(a)
            value = area * crop_share * v * f
            ex.lines.append(
                f"{label}: final harvest {str(harvested)[:10]} at age {a}: {t}; factor {ft}"
            )
            ex.lines.append(
                f"  emission = {area:.4f} ha x {crop_share:.4f} x {v:.4f} m3/ha x "
                f"{f:.6f} = {value:.6f} t-CO2"
            )
            total -= value
    held = float(toolkit.get("held_tco2", 0.0) or 0.0)
    if held > 0:
        ex.lines.append(
            f"held (canopy evidence, awaiting the officer's review): removals {removed:.6f} t-CO2 "
            "are not credited"
        )
    else:
        total += removed
    if s.fo001.thinning_accounting == "explicit":
        thinned = ops[
            (ops["operation"] == "thinning")
            & (ops["date"] >= period.start)
            & (ops["date"] <= period.end)
        ]
        for op in thinned.itertuples():
            a = _fy(np.datetime64(op.date)) - int(stand["planted_year"]) + 1
            f, ft = factor(a)
            value = float(op.volume_m3) * f
            ex.lines.append(
                f"thinning {op.date} at age {a}: emission = {op.volume_m3:g} m3 x "
                f"{f:.6f} = {value:.6f} t-CO2 (factor {ft})"
            )
            total -= value
    ex.recomputed_tco2 = total
    return ex


def counted_area_by_hand(inputs, stand_id: str, period) -> tuple[float, list[str]]:
    """Counted area [ha] of an eligible stand re-derived from its operations (FO-001.md §3,
    treated area): natural forest, or ``eligible_area = "stand"``: the stand area; planted
    forest: the qualifying operations since ``operations_since`` up to the period end, each the
    hectares recorded (none recorded: the whole stand), the largest one (``treated_area_sum =
    "max"``) or their sum; operations with treated-area polygons count the area of the union of
    their polygons clipped to the stand (at most the hectares recorded with them); never more
    than the stand."""
    s = inputs.settings.fo001
    stand = inputs.stands[inputs.stands["stand_id"] == stand_id].iloc[0]
    area = float(stand["stand_area_ha"])
    if s.eligible_area != "treated" or stand["forest_type"] != "planted":
        return area, [f"counted area: the whole stand, {area:.4f} ha"]
    ops = inputs.operations
    ops = ops[
        (ops["stand_id"] == stand_id)
        & ops["operation"].isin(QUALIFYING_OPERATIONS)
        & (ops["date"] >= s.operations_since)
        & (ops["date"] <= period.end)
    ]
    lines = []
    recorded, polygons, polygon_ha = [], [], []
    for op in ops.itertuples():
        geom = getattr(op, "geometry", None)
        drawn = geom is not None and not isinstance(geom, float)
        ha = float(op.area_ha) if pd.notna(op.area_ha) else None
        if drawn:
            polygons.append(geom)
            polygon_ha.append(ha)
            what = f"treated-area polygon {geom.area / 10_000:.4f} ha"
        else:
            recorded.append(area if ha is None else ha)
            what = f"{ha:.4f} ha recorded" if ha is not None else "no area: the whole stand"
        lines.append(f"  {op.operation} {op.date}: {what}")
    parts = []
    if polygons:
        union = shapely.union_all(polygons)
        clipped = shapely.intersection(union, stand["geometry"]).area / 10_000
        cap = sum(polygon_ha) if all(h is not None for h in polygon_ha) else np.inf
        drawn_ha = min(clipped, cap)
        lines.append(
            f"  union of the {len(polygons)} polygon(s) {union.area / 10_000:.4f} ha, clipped "
            f"to the stand {clipped:.4f} ha"
            + (f", at most the {cap:.4f} ha recorded with them" if np.isfinite(cap) else "")
            + f": {drawn_ha:.4f} ha"
        )
        parts.append(drawn_ha)
    if recorded:
        parts.append(max(recorded) if s.treated_area_sum == "max" else sum(recorded))
    treated = (max(parts) if s.treated_area_sum == "max" else sum(parts)) if parts else 0.0
    counted = min(area, treated)
    lines.insert(
        0,
        f"counted area: min(stand {area:.4f} ha, {s.treated_area_sum} of the treated areas "
        f"{treated:.4f} ha) = {counted:.4f} ha, from:",
    )
    return counted, lines


def _window(row) -> tuple[str, str]:
    """(first, last) day on which removals count, as ISO text ('' for an open end)."""

    def text(value) -> str:
        return "" if pd.isna(value) else str(value)

    return text(row.get("counted_from", "")), text(row.get("counted_to", ""))


def _counted_share(window, period, fy: int) -> float:
    """Share [0-1] of the period's days in fiscal year ``fy`` on which removals count (plain date
    arithmetic); 0 without a window (not eligible)."""
    if window is None:
        return 0.0
    lo = max(period.start, dt.date(fy, 4, 1))
    hi = min(period.end, dt.date(fy + 1, 3, 31))
    start = max(lo, dt.date.fromisoformat(window[0])) if window[0] else lo
    end = min(hi, dt.date.fromisoformat(window[1])) if window[1] else hi
    return max((end - start).days + 1, 0) / ((hi - lo).days + 1)


def _fy(day: np.datetime64) -> int:
    d = pd.Timestamp(day)
    return d.year - (d.month < 4)


def pick_examples(fo001: pd.DataFrame, period_label: str) -> dict[str, str]:
    """One stand id of each kind in a period's results (for notebooks and reports)."""
    p = fo001[fo001["period"] == period_label]
    flags = p["flags"].fillna("")
    kinds = {
        "eligible planted": p["eligible"]
        & p["reason"].str.contains("planted")
        & flags.str.replace("plan_dates_unknown", "").eq(""),
        "partial thinning": p["eligible"] & flags.str.contains("partial_treated_area"),
        "protected natural": p["eligible"] & p["reason"].str.contains("natural"),
        "harvested": flags.str.contains("harvested"),
        "replanted": flags.str.contains("replanted"),
        "age 20 -> 21": p["eligible"] & flags.str.contains("age_20_to_21"),
        "ineligible": ~p["eligible"],
    }
    return {kind: p.loc[mask, "stand_id"].iloc[0] for kind, mask in kinds.items() if mask.any()}


# --- EN-R-002 and EN-S-004 ------------------------------------------------------------------------


def fiscal_year_pieces(start: dt.date, end: dt.date) -> list[tuple[int, dt.date, dt.date, int]]:
    """An inclusive date range cut at 1 April: ``[(fiscal year, first, last, days), ...]``.

    Plain date arithmetic, independent of the engine's vectorised split; empty when
    ``end < start``.

    >>> fiscal_year_pieces(dt.date(2013, 10, 1), dt.date(2014, 9, 30))[0]
    (2013, datetime.date(2013, 10, 1), datetime.date(2014, 3, 31), 182)
    """
    pieces = []
    day = start
    while day <= end:
        fy = day.year - (day.month < 4)
        last = min(end, dt.date(fy + 1, 3, 31))
        pieces.append((fy, day, last, (last - day).days + 1))
        day = last + dt.timedelta(days=1)
    return pieces


def emission_factors_by_hand(setting, period) -> tuple[dict[int, float], list[str]]:
    """Factor of each fiscal year of a period [t-CO2/kWh] read again, and lines citing it.

    A number in ``[energy] emission_factor`` applies to every year; a kind is looked up in the
    packaged ``emission_factors.csv``: its row of the fiscal year, else its row without a year.
    """
    years = [fy for fy, *_ in fiscal_year_pieces(period.start, period.end)]
    if isinstance(setting, int | float) and not isinstance(setting, bool):
        value = float(setting)
        line = f"EF = {value:g} t-CO2/kWh every year (program.toml [energy] emission_factor)"
        return dict.fromkeys(years, value), [line]
    table = load_table("emission_factors")
    mine = table[table["kind"] == setting]
    by_year, lines = {}, []
    for fy in years:
        rows = mine[mine["fiscal_year"] == fy]
        which = f"FY{fy} row"
        if rows.empty:
            rows, which = mine[mine["fiscal_year"].isna()], "row without a year"
        r = rows.iloc[0]
        by_year[fy] = float(r["value_t_per_kwh"])
        lines.append(
            f"EF(FY{fy}) = {by_year[fy]:g} [{r['unit']}] from emission_factors.csv, kind "
            f"'{setting}', {which}, verified={r['verified']}: {r['source']}"
        )
    return by_year, lines


def _period(settings, label: str):
    return next(p for p in settings.periods if p.label == label)


def _readings_in(readings: pd.DataFrame, id_col: str, ident: str, period) -> pd.DataFrame:
    """The readings of one site or unit lying within a period (by their dates), in date order."""
    mine = readings[readings[id_col] == ident]
    inside = (mine["period_start"] >= period.start) & (mine["period_end"] <= period.end)
    return mine[inside.astype(bool)].sort_values("period_start")


def _toolkit_row(table: pd.DataFrame, id_col: str, ident: str, label: str) -> pd.Series:
    return table[(table[id_col] == ident) & (table["period"] == label)].iloc[0]


def _date(value) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def explain_site(energy, settings, solar: pd.DataFrame, site_id: str, period_label: str):
    """Re-derive one household PV site's EN-R-002 reduction for one period by hand.

    Parameters
    ----------
    energy : forestcarbon.inputs.energy.EnergyInputs
        The validated sites and readings (``ProgramInputs.energy``).
    settings : forestcarbon.core.config.Settings
    solar : DataFrame
        The toolkit's per-site results (``solar_sites.csv``).

    Returns
    -------
    Explanation
        ``recomputed_tco2`` is the credited reduction [t-CO2] (0 when ineligible), compared with
        the toolkit's ``reduction_tco2``.

    Notes
    -----
    EN-R-002_EN-S-004.md: ``EL_self = generated - sold``, counted from the later of commissioning
    and joining, spread evenly over a reading's days, each day with its fiscal year's factor;
    ``EM_PJ = 0``. No reading: ``capacity x yield x days/365 x self-consumption ratio``, less the
    conservative discount.
    """
    es = settings.energy
    period = _period(settings, period_label)
    site = energy.solar.set_index("site_id").loc[site_id]
    toolkit = _toolkit_row(solar, "site_id", site_id, period_label)
    ex = Explanation(site_id, period_label, toolkit_tco2=float(toolkit["reduction_tco2"]))
    counts_from = max(site["commissioned"], site["joined"])
    ex.lines.append(
        f"PV site {site_id}: {site['capacity_kw']:g} kW, FIT {site['fit_status']}, commissioned "
        f"{site['commissioned']}, joined {site['joined']} -> counts from {counts_from} (the later)"
    )
    first = max(period.start, counts_from)
    eligible_days = max((period.end - first).days + 1, 0)
    ex.lines.append(
        f"period {period.start} .. {period.end}: eligible days {first} .. {period.end} = "
        f"{eligible_days}"
    )
    factor, lines = emission_factors_by_hand(es.emission_factor, period)
    ex.lines += lines
    readings = _readings_in(energy.solar_readings, "site_id", site_id, period)
    total, counted_days = 0.0, 0
    if len(readings):
        method = "measured"
        for r in readings.itertuples():
            self_kwh = r.generated_kwh - r.sold_kwh
            read_days = (r.period_end - r.period_start).days + 1
            ex.lines.append(
                f"reading {r.period_start} .. {r.period_end} ({read_days} days): EL_self = "
                f"{r.generated_kwh:g} - {r.sold_kwh:g} = {self_kwh:g} kWh"
            )
            pieces = fiscal_year_pieces(max(r.period_start, counts_from), r.period_end)
            if not pieces:
                ex.lines.append(f"  no day from {counts_from} on: nothing counted")
            for fy, a, b, days in pieces:
                kwh = self_kwh * days / read_days
                value = kwh * factor[fy]
                ex.lines.append(
                    f"  FY{fy} {a} .. {b}: {self_kwh:g} kWh x {days}/{read_days} days = "
                    f"{kwh:.4f} kWh x {factor[fy]:g} t-CO2/kWh = {value:.6f} t-CO2"
                )
                total += value
                counted_days += days
    elif es.estimate_missing and eligible_days > 0:
        method = "estimated"
        keep = es.self_consumption_ratio * (1 - es.estimated_discount)
        ex.lines.append(
            f"no reading in the period: estimated EL_self = {site['capacity_kw']:g} kW x "
            f"{es.pv_yield_kwh_per_kw:g} kWh/kW/yr x days/{DAYS_PER_YEAR} x "
            f"{es.self_consumption_ratio:g} self-consumed x (1 - {es.estimated_discount:g}) "
            "discount"
        )
        for fy, a, b, days in fiscal_year_pieces(first, period.end):
            kwh = site["capacity_kw"] * es.pv_yield_kwh_per_kw * days / DAYS_PER_YEAR * keep
            value = kwh * factor[fy]
            ex.lines.append(
                f"  FY{fy} {a} .. {b}: {site['capacity_kw']:g} x {es.pv_yield_kwh_per_kw:g} x "
                f"{days}/{DAYS_PER_YEAR} x {keep:g} = {kwh:.4f} kWh x {factor[fy]:g} = "
                f"{value:.6f} t-CO2"
            )
            total += value
        counted_days = eligible_days
    else:
        method = "none"
        ex.lines.append("no reading in the period and no estimate: nothing counted")
    ex.lines.append(
        f"ER = EM_BL - EM_PJ = {total:.9f} - 0 t-CO2 = {total * 1000:.6f} kg-CO2 ({method})"
    )
    rate = total * DAYS_PER_YEAR / counted_days if counted_days else 0.0
    cap = es.activity_cap_tco2_per_yr
    if counts_from > period.end:
        why = f"not yet in the program (counts from {counts_from}, after the period)"
    elif site["jcredit_blocked"]:
        why = f"subsidy forbids J-Credit registration {site['block_reason']}".rstrip()
    elif site["fit_status"] == "full":
        why = "FIT full purchase: no self-consumed electricity"
    elif method == "none":
        why = "no readings and [energy] estimate_missing = false"
    elif rate > cap:
        why = f"{rate:.3f} t-CO2/yr is above the per-activity limit of {cap:g} t-CO2/yr"
    else:
        why = ""
        ex.lines.append(
            f"eligible: annual rate {total:.6f} x {DAYS_PER_YEAR}/{counted_days} days = "
            f"{rate:.3f} t-CO2/yr <= {cap:g}"
        )
        ex.recomputed_tco2 = total
    if why:
        ex.lines.append(f"ineligible: {why}: nothing is credited")
    return ex


def _cops_by_hand(unit: pd.Series, es, reference: dt.date) -> tuple[dict, list[str]]:
    """Baseline and project COPs [-] of a unit by the EN-S-004 baseline rule, with lines."""

    def pair(base: str) -> tuple[float, float]:
        single = unit[base]
        c, h = unit[f"{base}_cooling"], unit[f"{base}_heating"]
        return float(single if pd.isna(c) else c), float(single if pd.isna(h) else h)

    pc, ph = pair("cop_project")
    bc, bh = pair("cop_baseline")
    lines = [f"project COP cooling {pc:g}, heating {ph:g}"]
    when = _date(unit["installed"]) or reference
    life = es.aircon_statutory_life_years
    if np.isnan(bc) and np.isnan(bh):
        why = "the old unit is unknown"
    elif not pd.isna(unit["baseline_year"]) and when.year - int(unit["baseline_year"]) > 2 * life:
        old = int(unit["baseline_year"])
        why = (
            f"the old unit from {old} is {when.year - old} years old at {when}, > 2 x {life} years"
        )
    else:
        why = ""
        lines.append(f"baseline: the replaced unit, COP cooling {bc:g}, heating {bh:g}")
    if why:
        bc = es.standard_cop_cooling or es.standard_cop_heating
        bh = es.standard_cop_heating or es.standard_cop_cooling
        lines.append(f"baseline: a standard unit ({why}), COP cooling {bc:g}, heating {bh:g}")
    ratios = {"cooling": pc / bc, "heating": ph / bh}
    ratios["single"] = min(ratios["cooling"], ratios["heating"])
    lines.append(
        f"COP ratios: cooling {pc:g}/{bc:g} = {ratios['cooling']:.6f}, heating {ph:g}/{bh:g} = "
        f"{ratios['heating']:.6f}; single (conservative) min = {ratios['single']:.6f}"
    )
    return ratios, lines


def _unit_by_hand(
    energy, settings, unit_id: str, period, factor: dict, lines: list[str], factor_lines=()
):
    """EM_BL, EM_PJ [t-CO2], counted days and readings of one unit in a period (lines added)."""
    unit = energy.aircon.set_index("unit_id").loc[unit_id]
    ratios, cop_lines = _cops_by_hand(unit, settings.energy, settings.periods[0].start)
    dates = [d for d in (_date(unit["installed"]), _date(unit["joined"])) if d is not None]
    counts_from = max(dates) if dates else None
    given = ("the first day (no dates given)", "{} (the date given)", "{} (the later)")
    lines.append(
        f"unit {unit_id} at {unit['facility']}: installed {_date(unit['installed']) or '-'}, "
        f"joined {_date(unit['joined']) or '-'} -> counts from "
        + given[len(dates)].format(counts_from)
    )
    lines += cop_lines
    lines += factor_lines
    readings = _readings_in(energy.aircon_readings, "unit_id", unit_id, period)
    em_bl = em_pj = 0.0
    counted_days = 0
    for r in readings.itertuples():
        read_days = (r.period_end - r.period_start).days + 1
        split = not pd.isna(r.cooling_kwh)
        metered = (
            f"cooling {r.cooling_kwh:g} kWh, heating {r.heating_kwh:g} kWh metered apart"
            if split
            else f"{r.electricity_kwh:g} kWh"
        )
        lines.append(f"reading {r.period_start} .. {r.period_end} ({read_days} days): {metered}")
        start = max(r.period_start, counts_from) if counts_from else r.period_start
        pieces = fiscal_year_pieces(start, r.period_end)
        if not pieces:
            lines.append(f"  no day from {counts_from} on: nothing counted")
        for fy, a, b, days in pieces:
            ef = factor[fy]
            if split:
                cool, heat = r.cooling_kwh * days / read_days, r.heating_kwh * days / read_days
                pj = cool + heat
                bl = cool * ratios["cooling"] + heat * ratios["heating"]
                text = (
                    f"EL_PJ = ({r.cooling_kwh:g} + {r.heating_kwh:g}) x {days}/{read_days} = "
                    f"{pj:.4f} kWh; EL_BL = {cool:.4f} x {ratios['cooling']:.6f} + {heat:.4f} x "
                    f"{ratios['heating']:.6f} = {bl:.4f} kWh"
                )
            else:
                pj = r.electricity_kwh * days / read_days
                bl = pj * ratios["single"]
                text = (
                    f"EL_PJ = {r.electricity_kwh:g} x {days}/{read_days} = {pj:.4f} kWh; EL_BL = "
                    f"{pj:.4f} x {ratios['single']:.6f} = {bl:.4f} kWh"
                )
            lines.append(
                f"  FY{fy} {a} .. {b}: {text}; EM_BL = {bl:.4f} x {ef:g} = {bl * ef:.6f}, "
                f"EM_PJ = {pj:.4f} x {ef:g} = {pj * ef:.6f} t-CO2"
            )
            em_bl += bl * ef
            em_pj += pj * ef
            counted_days += days
    return em_bl, em_pj, counted_days, len(readings), counts_from, unit


def explain_unit(energy, settings, aircon: pd.DataFrame, unit_id: str, period_label: str):
    """Re-derive one air-conditioning unit's EN-S-004 reduction for one period by hand.

    Parameters
    ----------
    energy : forestcarbon.inputs.energy.EnergyInputs
        The validated units and readings (``ProgramInputs.energy``).
    settings : forestcarbon.core.config.Settings
    aircon : DataFrame
        The toolkit's per-unit results (``aircon_units.csv``).

    Returns
    -------
    Explanation
        ``recomputed_tco2`` is the credited reduction [t-CO2] (0 when ineligible), compared with
        the toolkit's ``reduction_tco2``.

    Notes
    -----
    EN-R-002_EN-S-004.md: ``EL_BL = EL_PJ x COP_PJ / COP_BL``; cooling and heating metered apart
    get one ratio each, total metering the conservative ``min`` of the two; a standard unit is
    the baseline when the old one is unknown or older than twice its statutory life; the size
    limit applies to the facility (the sum of its units' annual rates).
    """
    es = settings.energy
    period = _period(settings, period_label)
    toolkit = _toolkit_row(aircon, "unit_id", unit_id, period_label)
    ex = Explanation(unit_id, period_label, toolkit_tco2=float(toolkit["reduction_tco2"]))
    factor, lines = emission_factors_by_hand(es.emission_factor, period)
    em_bl, em_pj, _, n_read, counts_from, unit = _unit_by_hand(
        energy, settings, unit_id, period, factor, ex.lines, factor_lines=lines
    )
    gross = em_bl - em_pj
    ex.lines.append(f"ER = EM_BL - EM_PJ = {em_bl:.9f} - {em_pj:.9f} = {gross:.9f} t-CO2")
    if counts_from is not None and counts_from > period.end:
        why = f"not yet in the program (counts from {counts_from}, after the period)"
    elif unit["jcredit_blocked"]:
        why = f"subsidy forbids J-Credit registration {unit['block_reason']}".rstrip()
    elif n_read == 0:
        why = "no readings in the period"
    else:
        rates = []
        units = energy.aircon
        for other in units.loc[units["facility"] == unit["facility"], "unit_id"]:
            bl, pj, d, n, start, u = _unit_by_hand(energy, settings, other, period, factor, [])
            late = start is not None and start > period.end
            if n and d and not late and not u["jcredit_blocked"]:
                rates.append((bl - pj) * DAYS_PER_YEAR / d)
        rate = sum(rates)
        cap = es.activity_cap_tco2_per_yr
        terms = " + ".join(f"{x:.3f}" for x in rates)
        ex.lines.append(
            f"facility {unit['facility']} annual rate = {terms} = {rate:.3f} t-CO2/yr "
            f"({'above' if rate > cap else '<='} the limit {cap:g})"
        )
        why = (
            f"the facility is above the per-activity limit of {cap:g} t-CO2/yr"
            if rate > cap
            else ""
        )
    if why:
        ex.lines.append(f"ineligible: {why}: nothing is credited")
    else:
        ex.lines.append("eligible")
        ex.recomputed_tco2 = gross
    return ex


def pick_energy_examples(solar: pd.DataFrame, aircon: pd.DataFrame, period_label: str) -> dict:
    """One site or unit id of each kind in a period's results (for notebooks and reports)."""
    kinds = {}
    if solar is not None:
        p = solar[solar["period"] == period_label]
        flags = p["flags"].fillna("")
        masks = {
            "PV measured": p["eligible"] & p["method"].eq("measured") & flags.eq(""),
            "PV joined in the period": p["eligible"] & flags.str.contains("prorated"),
            "PV crossing fiscal years": flags.str.contains("fiscal_year_split"),
            "PV estimated": p["eligible"] & p["method"].eq("estimated"),
            "PV blocked by subsidy": p["reason"].str.contains("subsidy"),
            "PV not yet joined": p["reason"].str.contains("not yet"),
        }
        kinds |= {k: p.loc[m, "site_id"].iloc[0] for k, m in masks.items() if m.any()}
    if aircon is not None:
        p = aircon[aircon["period"] == period_label]
        masks = {
            "AC single ratio": p["eligible"] & p["method"].eq("single_ratio"),
            "AC cooling/heating metered apart": p["eligible"] & p["method"].eq("split"),
            "AC conservative ratio": p["eligible"]
            & p["method"].eq("conservative_ratio")
            & p["baseline_source"].eq("replaced"),
            "AC standard unit (old unit unknown)": p["baseline_source"].eq("standard_unknown_unit"),
            "AC standard unit (old unit too old)": p["baseline_source"].eq("standard_old_unit"),
            "AC crossing fiscal years": p["flags"].fillna("").str.contains("fiscal_year_split"),
            "AC ineligible": ~p["eligible"],
        }
        kinds |= {k: p.loc[m, "unit_id"].iloc[0] for k, m in masks.items() if m.any()}
    return kinds
