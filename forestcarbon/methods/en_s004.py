"""EN-S-004 high-efficiency air conditioning: baseline COPs, reductions of every unit and period.

The rules are those of ``docs/EN-R-002_EN-S-004.md``, "EN-S-004" and "Common":
``EL_BL = EL_PJ x COP_PJ / COP_BL``, ``ER = EM_BL - EM_PJ = (EL_BL - EL_PJ) x EF`` with the
electricity emission factor of the fiscal year (April-March) in which each day's reduction
happened. Cooling and heating metered separately get one ratio each, otherwise the conservative
single ratio ``min(COP_PJ,c/COP_BL,c, COP_PJ,h/COP_BL,h)``. A standard unit is the baseline when
the old unit is unknown or older than twice its statutory life (:func:`unit_cops`). The activity
whose size is capped by ``[energy] activity_cap_tco2_per_yr`` is the facility.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.config import EnergySettings, Period
from forestcarbon.methods.emission_factors import EmissionFactors
from forestcarbon.methods.energy_common import (
    DAYS_PER_YEAR,
    as_dates,
    blocked_reason,
    factors_of,
    item_period_grid,
    join_flags,
    kwh_out,
    late_reason,
    n_fiscal_years,
    ordered,
    reading_rows,
    sum_by_row,
    tonnes,
)
from forestcarbon.methods.fiscal import as_days, fiscal_year_pieces

AIRCON_COLUMNS = [
    "unit_id",
    "facility",
    "period",
    "eligible",
    "reason",
    "method",
    "baseline_source",
    "cop_baseline_cooling",
    "cop_baseline_heating",
    "cop_project_cooling",
    "cop_project_heating",
    "cop_ratio_cooling",
    "cop_ratio_heating",
    "cop_ratio_single",
    "eligible_from",
    "eligible_days",
    "counted_days",
    "cooling_kwh",
    "heating_kwh",
    "project_kwh",
    "baseline_kwh",
    "ef_t_per_kwh",
    "baseline_tco2",
    "project_tco2",
    "reduction_tco2",
    "gross_reduction_tco2",
    "facility_annual_rate_tco2_yr",
    "flags",
]
"""Columns of ``aircon_units.csv`` (one row per unit and period)."""


@dataclass(frozen=True)
class UnitCops:
    """COPs of one unit: baseline and project, cooling and heating [-], and the baseline source."""

    baseline_cooling: float
    baseline_heating: float
    project_cooling: float
    project_heating: float
    baseline_source: str

    @property
    def ratio_cooling(self) -> float:
        return self.project_cooling / self.baseline_cooling

    @property
    def ratio_heating(self) -> float:
        return self.project_heating / self.baseline_heating

    @property
    def ratio_single(self) -> float:
        """Conservative single ratio ``min(cooling ratio, heating ratio)`` (EN-S-004, [D])."""
        return min(self.ratio_cooling, self.ratio_heating)


def _pair(unit, base: str) -> tuple[float, float]:
    single = unit.get(base)
    c, h = unit.get(f"{base}_cooling"), unit.get(f"{base}_heating")
    c = single if c is None or pd.isna(c) else c
    h = single if h is None or pd.isna(h) else h
    return (np.nan if c is None else float(c)), (np.nan if h is None else float(h))


def unit_cops(unit, es: EnergySettings, reference: dt.date) -> tuple[UnitCops | None, str]:
    """COPs of a unit (a row of the units table) and the baseline rule, or (None, problem text).

    The baseline is the replaced unit; a standard unit (``[energy] standard_cop_*``) when the old
    unit's COP is unknown, or when the old unit was older than twice ``aircon_statutory_life_years``
    at ``installed`` (else ``reference``). Single COP columns stand for both cooling and heating.
    """
    pc, ph = _pair(unit, "cop_project")
    bc, bh = _pair(unit, "cop_baseline")
    if np.isnan(pc) or np.isnan(ph):
        return None, "project COP missing: give cop_project, or cop_project_cooling and _heating"
    source = "replaced"
    if np.isnan(bc) and np.isnan(bh):
        source = "standard_unknown_unit"
    elif np.isnan(bc) or np.isnan(bh):
        return None, "baseline COP incomplete: give cop_baseline, or both cooling and heating"
    year = unit.get("baseline_year")
    if source == "replaced" and year is not None and not pd.isna(year):
        when = unit.get("installed")
        when = when if isinstance(when, dt.date) else reference
        if when.year - int(year) > 2 * es.aircon_statutory_life_years:
            source = "standard_old_unit"
    if source != "replaced":
        sc = es.standard_cop_cooling or es.standard_cop_heating
        sh = es.standard_cop_heating or es.standard_cop_cooling
        if not sc:
            why = "unknown" if source == "standard_unknown_unit" else "older than twice its life"
            return None, (
                f"the old unit is {why}, so the baseline is a standard unit, but [energy] "
                "standard_cop_cooling / standard_cop_heating are not set"
            )
        bc, bh = sc, sh
    return UnitCops(bc, bh, pc, ph, source), ""


def compute_aircon(
    units: gpd.GeoDataFrame,
    readings: pd.DataFrame,
    periods: tuple[Period, ...],
    settings: EnergySettings,
    factors: EmissionFactors,
) -> gpd.GeoDataFrame:
    r"""EN-S-004 reductions of every air-conditioning unit for every period.

    Parameters
    ----------
    units : GeoDataFrame
        Validated units (:attr:`EnergyInputs.aircon`).
    readings : DataFrame
        Validated readings: unit_id, period, period_start, period_end, electricity_kwh,
        cooling_kwh, heating_kwh [kWh], split.
    periods, settings, factors
        As :func:`compute_solar`.

    Returns
    -------
    GeoDataFrame
        One row per unit and period with the columns :data:`AIRCON_COLUMNS` and the unit's point:
        project_kwh (measured EL_PJ over the eligible days) and baseline_kwh (EL_BL = EL_PJ x COP
        ratio) [kWh], cooling_kwh/heating_kwh [kWh] of split-metered readings, baseline_tco2
        (EM_BL), project_tco2 (EM_PJ), reduction_tco2 (ER, 0 when ineligible) and
        gross_reduction_tco2 [t-CO2], facility_annual_rate_tco2_yr [t-CO2/yr].

    Notes
    -----
    Source: J-Credit methodology EN-S-004 (空調設備の導入) as summarised in
    ``docs/EN-R-002_EN-S-004.md``, sections "EN-S-004" and "Common" (the baseline-energy
    structure is marked [M] there: that of sister methodologies; the conservative single ratio is
    the project decision [D]). Per unit and period, with :math:`y` the fiscal years (April-March)
    of the counted days and :math:`r_c = COP_{PJ,c} / COP_{BL,c}`,
    :math:`r_h = COP_{PJ,h} / COP_{BL,h}` [-] (:class:`UnitCops`):

    .. math::

        EL_{BL} = EL_{PJ,c} \times r_c + EL_{PJ,h} \times r_h
        \quad \text{(cooling and heating metered separately)}

        EL_{BL} = EL_{PJ} \times \min(r_c, r_h) \quad \text{(total metered only)}

        EM_{BL} = \sum_y EL_{BL,y} \times EF_y, \qquad EM_{PJ} = \sum_y EL_{PJ,y} \times EF_y

        ER = EM_{BL} - EM_{PJ} = \sum_y (EL_{BL,y} - EL_{PJ,y}) \times EF_y

    with :math:`EL` [kWh] over the eligible days (a reading spread evenly over its days),
    :math:`EF_y` [t-CO2/kWh] the factor of fiscal year :math:`y` (``factors``), :math:`EM` and
    :math:`ER` [t-CO2]. The activity whose size is capped is the facility: the annualised
    reductions :math:`ER \times 365 / d_{counted}` [t-CO2/yr] of its eligible units are summed
    and compared with ``activity_cap_tco2_per_yr``.
    """
    u = units.reset_index(drop=True)
    n = len(u) * len(periods)
    item, _, p_start, p_end = item_period_grid(len(u), periods)
    reference = periods[0].start
    cops = [unit_cops(unit, settings, reference)[0] for _, unit in u.iterrows()]
    bc, bh, pc, ph = (
        np.array([getattr(c, name) for c in cops], dtype=float)
        for name in ("baseline_cooling", "baseline_heating", "project_cooling", "project_heating")
    )
    rc, rh = pc / bc, ph / bh
    single = np.minimum(rc, rh)
    installed, joined = as_days(u["installed"]), as_days(u["joined"])
    known = ~np.isnat(installed) | ~np.isnat(joined)
    no_limit = np.datetime64("1900-01-01")  # neither date given: every day counts
    dates = np.maximum(np.where(np.isnat(installed), no_limit, installed),
                       np.where(np.isnat(joined), no_limit, joined))  # fmt: skip
    e_from = dates[item]
    window_lo = np.maximum(p_start, e_from)
    eligible_days = np.maximum((p_end - window_lo).astype(np.int64) + 1, 0)

    r = readings.reset_index(drop=True)
    rows = reading_rows(r, u["unit_id"], "unit_id", periods)
    r_item = item[rows] if len(rows) else rows
    split = r["split"].to_numpy(bool)
    c_kwh = r["cooling_kwh"].to_numpy(float)
    h_kwh = r["heating_kwh"].to_numpy(float)
    e_kwh = r["electricity_kwh"].to_numpy(float)
    r_start, r_end = as_days(r["period_start"]), as_days(r["period_end"])
    read_days = (r_end - r_start).astype(np.int64) + 1
    idx, fy, days = fiscal_year_pieces(np.maximum(r_start, e_from[rows]), r_end)
    share = days / read_days[idx]
    ri, sp = r_item[idx], split[idx]
    cool = np.where(sp, c_kwh[idx] * share, 0.0)
    heat = np.where(sp, h_kwh[idx] * share, 0.0)
    pj = np.where(sp, cool + heat, np.nan_to_num(e_kwh[idx]) * share)
    bl = np.where(sp, cool * rc[ri] + heat * rh[ri], pj * single[ri])
    ef = factors_of(factors, fy)
    n_read = np.bincount(rows, minlength=n)
    n_split = np.bincount(rows, split, minlength=n)
    project = sum_by_row(rows[idx], pj, n)
    t_pj = sum_by_row(rows[idx], pj * ef, n)
    bl_t, pj_t = tonnes(sum_by_row(rows[idx], bl * ef, n)), tonnes(t_pj)
    counted_days = np.bincount(rows[idx], weights=days, minlength=n).astype(np.int64)
    has_split = n_split > 0
    method = np.select(
        [n_read == 0, n_split == n_read, n_split == 0],
        ["none", "split", np.where(rc[item] == rh[item], "single_ratio", "conservative_ratio")],
        "mixed",
    )
    straddles = known[r_item] & (r_start < e_from[rows]) & (e_from[rows] <= r_end)
    gross = tonnes(bl_t - pj_t)
    facility = u["facility"].to_numpy(object)[item]
    label = np.repeat([p.label for p in periods], len(u))
    late = e_from > p_end
    blocked = u["jcredit_blocked"].to_numpy(bool)[item]
    candidate = ~late & ~blocked & (n_read > 0)
    unit_rate = np.divide(
        gross * DAYS_PER_YEAR, counted_days, out=np.zeros(n), where=counted_days > 0
    )
    facility_rate = tonnes(
        pd.Series(np.where(candidate, unit_rate, 0.0)).groupby([facility, label]).transform("sum")
    )
    over_cap = candidate & (facility_rate > settings.activity_cap_tco2_per_yr)
    rate_text = pd.Series(facility_rate).map("{:.3f}".format).to_numpy(object)
    reason = np.select(
        [late, blocked, n_read == 0, over_cap, method == "split", method == "single_ratio",
         method == "conservative_ratio"],
        [
            late_reason(e_from),
            blocked_reason(u["block_reason"].iloc[item].reset_index(drop=True)),
            "ineligible: no readings in the period",
            "ineligible: facility " + facility.astype(str) + " reduces " + rate_text
            + f" t-CO2/yr, above the per-activity limit of {settings.activity_cap_tco2_per_yr:g} "
            "t-CO2/yr of a program-type project",
            "eligible: cooling and heating metered separately, one COP ratio each",
            "eligible: measured electricity x COP ratio",
            "eligible: measured electricity x the conservative single COP ratio "
            "min(cooling, heating)",
        ],
        "eligible: split and total readings, each with its COP ratio rule",
    )  # fmt: skip
    eligible = candidate & ~over_cap
    table = pd.DataFrame(
        {
            "unit_id": u["unit_id"].to_numpy()[item],
            "facility": facility,
            "period": label,
            "eligible": eligible,
            "reason": reason,
            "method": method,
            "baseline_source": np.array([c.baseline_source for c in cops], dtype=object)[item],
            "cop_baseline_cooling": bc[item],
            "cop_baseline_heating": bh[item],
            "cop_project_cooling": pc[item],
            "cop_project_heating": ph[item],
            "cop_ratio_cooling": rc[item],
            "cop_ratio_heating": rh[item],
            "cop_ratio_single": single[item],
            "eligible_from": as_dates(np.where(known[item], e_from, np.datetime64("NaT"))),
            "eligible_days": eligible_days,
            "counted_days": counted_days,
            "cooling_kwh": np.where(has_split, kwh_out(sum_by_row(rows[idx], cool, n)), np.nan),
            "heating_kwh": np.where(has_split, kwh_out(sum_by_row(rows[idx], heat, n)), np.nan),
            "project_kwh": kwh_out(project),
            "baseline_kwh": kwh_out(sum_by_row(rows[idx], bl, n)),
            "ef_t_per_kwh": np.round(
                np.divide(t_pj, project, out=np.full(n, np.nan), where=project > 0), 12
            ),
            "baseline_tco2": bl_t,
            "project_tco2": pj_t,
            "reduction_tco2": np.where(eligible, gross, 0.0),
            "gross_reduction_tco2": gross,
            "facility_annual_rate_tco2_yr": facility_rate,
            "flags": join_flags(
                {
                    "prorated_to_eligibility": np.bincount(rows, straddles, minlength=n) > 0,
                    "partial_readings": (n_read > 0)
                    & (counted_days > 0)
                    & (counted_days < eligible_days),
                    "fiscal_year_split": n_fiscal_years(rows[idx], fy, days, n) > 1,
                    "over_activity_cap": over_cap,
                    "cop_not_improved": single[item] <= 1,
                },
                n,
            ),
        },
        columns=AIRCON_COLUMNS,
    )
    return ordered(table, u.geometry.to_numpy()[item], units.crs, "unit_id")
