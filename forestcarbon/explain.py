"""Hand re-derivation of one stand's FO-001 figure, with the equation written out in numbers.

For verifiers: the yield-table volumes are interpolated again from the *tabulated rows* of the
growth table (not the engine's dense curves), the parameters are read again from the packaged
parameter table with their sources, and the arithmetic is done in plain scalars, one fiscal year
and one crop at a time. The result is compared with the toolkit's figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .fo001 import BEF_SWITCH_AGE, build_cohorts, fiscal_year_fractions
from .params import CO2_PER_C, load_table

TOLERANCE_TCO2 = 1e-6
"""A hand figure and the toolkit's agree when they differ by less than this [t-CO2]."""


@dataclass
class Explanation:
    """Lines of a hand calculation, its result and the toolkit's figure [t-CO2]."""

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
    if not toolkit["eligible"]:
        ex.lines.append("ineligible: nothing is credited (removals = emissions = 0)")
        return ex
    counted = float(toolkit["eligible_area_ha"])
    share = counted / float(stand["stand_area_ha"])
    ex.lines.append(f"counted area {counted:.4f} ha = {share:.6f} of the stand")
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
    area = float(stand["stand_area_ha"]) * share
    total = 0.0
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
            felled = not np.isnat(harvested) and harvested <= p_end and _fy(harvested) <= fy
            if a < 1 or felled:
                continue
            v1, t1 = tabulated_volume(growth, stand["species"], stand["site_class"], a)
            v0, t0 = tabulated_volume(growth, stand["species"], stand["site_class"], a - 1)
            f1, ft = factor(a)
            if s.fo001.bef_convention == "increment":
                value = area * crop_share * (v1 - v0) * f1 * frac
                ex.lines.append(f"{label}, FY{fy} age {a}: {t1}; {t0}; factor {ft}")
                ex.lines.append(
                    f"  removal = {area:.4f} ha x {crop_share:.4f} x ({v1:.4f} - "
                    f"{v0:.4f}) m3/ha x {f1:.6f} x {frac:.6f} of the year = "
                    f"{value:.6f} t-CO2"
                )
            else:
                f0, _ = factor(a - 1)
                value = area * crop_share * (v1 * f1 - v0 * f0) * frac
                ex.lines.append(
                    f"  removal (stock difference) = {area:.4f} x {crop_share:.4f} x "
                    f"({v1:.4f} x {f1:.6f} - {v0:.4f} x {f0:.6f}) x {frac:.6f} = "
                    f"{value:.6f} t-CO2"
                )
            total += value
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


def _fy(day: np.datetime64) -> int:
    d = pd.Timestamp(day)
    return d.year - (d.month < 4)


def pick_examples(fo001: pd.DataFrame, period_label: str) -> dict[str, str]:
    """One stand id of each kind in a period's results (for notebooks and reports)."""
    p = fo001[fo001["period"] == period_label]
    flags = p["flags"].fillna("")
    kinds = {
        "eligible planted": p["eligible"] & p["reason"].str.contains("planted") & flags.eq(""),
        "partial thinning": p["eligible"] & flags.str.contains("partial_treated_area"),
        "protected natural": p["eligible"] & p["reason"].str.contains("natural"),
        "harvested": flags.str.contains("harvested"),
        "replanted": flags.str.contains("replanted"),
        "age 20 -> 21": p["eligible"] & flags.str.contains("age_20_to_21"),
        "ineligible": ~p["eligible"],
    }
    return {kind: p.loc[mask, "stand_id"].iloc[0] for kind, mask in kinds.items() if mask.any()}
