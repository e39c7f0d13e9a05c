"""EN-R-002 household solar PV: reductions of every site for every period.

The rules are those of ``docs/EN-R-002_EN-S-004.md``, "EN-R-002" and "Common":
``EL_self = EL_generated - EL_sold``, ``EM_BL = EL_self x EF``, ``EM_PJ = 0``, ``ER = EM_BL``, with
the electricity emission factor of the fiscal year (April-March) in which each day's reduction
happened. A site without readings is estimated as ``capacity_kw x yield x self-consumption ratio x
days/365`` with a conservative discount (``method = "estimated"``). Reductions count from the later
of commissioning and joining; sites whose subsidy forbids J-Credit registration, or under FIT full
purchase, are excluded with a reason; a site above ``[energy] activity_cap_tco2_per_yr`` is
excluded. Household values keep full precision in kg (``reduction_kgco2``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.config import EnergySettings, Period
from forestcarbon.methods.emission_factors import EmissionFactors
from forestcarbon.methods.energy_common import (
    DAYS_PER_YEAR,
    KG_PER_T,
    NANO_DIGITS,
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

SOLAR_COLUMNS = [
    "site_id",
    "period",
    "eligible",
    "reason",
    "method",
    "capacity_kw",
    "fit_status",
    "commissioned",
    "joined",
    "eligible_from",
    "eligible_days",
    "counted_days",
    "generated_kwh",
    "sold_kwh",
    "self_consumed_kwh",
    "counted_kwh",
    "ef_t_per_kwh",
    "reduction_kgco2",
    "reduction_tco2",
    "gross_reduction_tco2",
    "annual_rate_tco2_yr",
    "flags",
]
"""Columns of ``solar_sites.csv`` (one row per site and period)."""


def compute_solar(
    sites: gpd.GeoDataFrame,
    readings: pd.DataFrame,
    periods: tuple[Period, ...],
    settings: EnergySettings,
    factors: EmissionFactors,
) -> gpd.GeoDataFrame:
    r"""EN-R-002 reductions of every PV site for every period.

    Parameters
    ----------
    sites : GeoDataFrame
        Validated sites (:attr:`EnergyInputs.solar`): capacity_kw [kW], commissioned, joined, ...
    readings : DataFrame
        Validated readings: site_id, period, period_start, period_end, generated_kwh, sold_kwh
        [kWh].
    periods : tuple of Period
    settings : EnergySettings
    factors : EmissionFactors
        Factor per fiscal year [t-CO2/kWh].

    Returns
    -------
    GeoDataFrame
        One row per site and period (sorted by period, then site id in natural order) with the
        columns :data:`SOLAR_COLUMNS` and the site's point. generated_kwh, sold_kwh and
        self_consumed_kwh [kWh] are the period's readings (for estimated sites: the estimate over
        the eligible days, before the discount); counted_kwh [kWh] is the self-consumption
        credited (eligible days only; discounted when estimated); ef_t_per_kwh [t-CO2/kWh] the
        day-weighted factor; reduction_kgco2 [kg-CO2] and reduction_tco2 [t-CO2] the reduction
        (0 when ineligible); gross_reduction_tco2 [t-CO2] the reduction before the eligibility
        decision; annual_rate_tco2_yr [t-CO2/yr] the reduction per counted day x 365.

    Notes
    -----
    Source: J-Credit methodology EN-R-002 (太陽光発電設備の導入) as summarised in
    ``docs/EN-R-002_EN-S-004.md``, sections "EN-R-002" and "Common". Per site and period,
    with :math:`y` the fiscal years (April-March) of the counted days:

    .. math::

        EL_{self} = EL_{generated} - EL_{sold}

        EM_{BL} = \sum_y EL_{self,y} \times EF_y, \qquad EM_{PJ} = 0

        ER = EM_{BL} - EM_{PJ} = EM_{BL}

    with :math:`EL` [kWh], :math:`EF_y` [t-CO2/kWh] the factor of fiscal year :math:`y`
    (``factors``), :math:`EM` and :math:`ER` [t-CO2] (``reduction_kgco2`` = ER x 1000 [kg-CO2]).
    A reading is spread evenly over its days; only the days from the later of commissioning and
    joining count (:math:`EL_{self,y}` is the self-consumption of those days in year :math:`y`).
    A site without readings (project decision [D] of the note) is estimated as

    .. math::

        EL_{self} = P \times Y \times \frac{d}{365} \times s \times (1 - k)

    with :math:`P` = capacity_kw [kW], :math:`Y` = ``pv_yield_kwh_per_kw`` [kWh/kW/yr],
    :math:`d` the eligible days [d], :math:`s` = ``self_consumption_ratio`` [-] and :math:`k` =
    ``estimated_discount`` [-]. The activity cap compares :math:`ER \times 365 / d_{counted}`
    [t-CO2/yr] with ``activity_cap_tco2_per_yr``.
    """
    s = sites.reset_index(drop=True)
    es = settings
    n = len(s) * len(periods)
    item, _, p_start, p_end = item_period_grid(len(s), periods)
    eligible_from = np.maximum(as_days(s["commissioned"]), as_days(s["joined"]))
    e_from = eligible_from[item]
    window_lo = np.maximum(p_start, e_from)
    eligible_days = np.maximum((p_end - window_lo).astype(np.int64) + 1, 0)

    # measured: each reading's eligible days, split by fiscal year
    r = readings.reset_index(drop=True)
    rows = reading_rows(r, s["site_id"], "site_id", periods)
    r_start, r_end = as_days(r["period_start"]), as_days(r["period_end"])
    self_kwh = r["generated_kwh"].to_numpy(float) - r["sold_kwh"].to_numpy(float)
    read_days = (r_end - r_start).astype(np.int64) + 1
    idx, fy, days = fiscal_year_pieces(np.maximum(r_start, e_from[rows]), r_end)
    piece_kwh = self_kwh[idx] * days / read_days[idx]
    n_read = np.bincount(rows, minlength=n)
    measured_kwh = sum_by_row(rows[idx], piece_kwh, n)
    measured_t = sum_by_row(rows[idx], piece_kwh * factors_of(factors, fy), n)
    measured_days = np.bincount(rows[idx], weights=days, minlength=n).astype(np.int64)
    straddles = (r_start < e_from[rows]) & (e_from[rows] <= r_end)
    n_fy_measured = n_fiscal_years(rows[idx], fy, days, n)

    # estimated: capacity x yield x self-consumption ratio x days/365, discounted
    has = n_read > 0
    estimate = ~has & es.estimate_missing & (eligible_days > 0)
    per_day = s["capacity_kw"].to_numpy(float)[item] * es.pv_yield_kwh_per_kw / DAYS_PER_YEAR
    keep = es.self_consumption_ratio * (1 - es.estimated_discount)
    grid_rows = np.flatnonzero(estimate)
    e_idx, e_fy, e_days = fiscal_year_pieces(window_lo[grid_rows], p_end[grid_rows])
    e_kwh = per_day[grid_rows][e_idx] * e_days * keep
    estimated_kwh = sum_by_row(grid_rows[e_idx], e_kwh, n)
    estimated_t = sum_by_row(grid_rows[e_idx], e_kwh * factors_of(factors, e_fy), n)
    n_fy_estimated = n_fiscal_years(grid_rows[e_idx], e_fy, e_days, n)

    generated_est = per_day * eligible_days
    generated = np.where(has, sum_by_row(rows, r["generated_kwh"], n), np.nan)
    generated = np.where(estimate, generated_est, generated)
    sold = np.where(has, sum_by_row(rows, r["sold_kwh"], n), np.nan)
    self_consumed = np.where(has, generated - sold, np.nan)
    self_consumed = np.where(estimate, generated_est * es.self_consumption_ratio, self_consumed)
    counted_kwh = np.where(has, measured_kwh, estimated_kwh)
    t = np.where(has, measured_t, estimated_t)
    counted_days = np.where(has, measured_days, np.where(estimate, eligible_days, 0))
    method = np.select([has, estimate], ["measured", "estimated"], "none")

    gross = tonnes(t)
    rate = tonnes(
        np.divide(gross * DAYS_PER_YEAR, counted_days, out=np.zeros(n), where=counted_days > 0)
    )
    over_cap = rate > es.activity_cap_tco2_per_yr
    late = e_from > p_end
    blocked = s["jcredit_blocked"].to_numpy(bool)[item]
    full = s["fit_status"].to_numpy(object)[item] == "full"
    rate_text = pd.Series(rate).map("{:.3f}".format).to_numpy(object)
    reason = np.select(
        [late, blocked, full, method == "none", over_cap, estimate],
        [
            late_reason(e_from.astype("datetime64[D]"), ", the later of commissioning and joining"),
            blocked_reason(s["block_reason"].iloc[item].reset_index(drop=True)),
            "ineligible: FIT full purchase (全量買取): no self-consumed electricity",
            "ineligible: no readings in the period and [energy] estimate_missing = false",
            "ineligible: " + rate_text + " t-CO2/yr exceeds the per-activity limit of "
            f"{es.activity_cap_tco2_per_yr:g} t-CO2/yr of a program-type project",
            "eligible: estimated (no readings): capacity x yield x self-consumption ratio x "
            f"days/365, less {es.estimated_discount:.0%}",
        ],
        "eligible: measured self-consumption (generated - sold)",
    )
    eligible = ~(late | blocked | full | (method == "none") | over_cap)
    reduction = np.where(eligible, gross, 0.0)
    flags = join_flags(
        {
            "estimated": estimate,
            "prorated_to_eligibility": np.bincount(rows, straddles, minlength=n) > 0,
            "partial_readings": has & (measured_days > 0) & (measured_days < eligible_days),
            "fiscal_year_split": np.maximum(n_fy_measured, n_fy_estimated) > 1,
            "over_activity_cap": over_cap,
        },
        n,
    )
    table = pd.DataFrame(
        {
            "site_id": s["site_id"].to_numpy()[item],
            "period": np.repeat([p.label for p in periods], len(s)),
            "eligible": eligible,
            "reason": reason,
            "method": method,
            "capacity_kw": s["capacity_kw"].to_numpy(float)[item],
            "fit_status": s["fit_status"].to_numpy(object)[item],
            "commissioned": s["commissioned"].to_numpy(object)[item],
            "joined": s["joined"].to_numpy(object)[item],
            "eligible_from": as_dates(e_from),
            "eligible_days": eligible_days,
            "counted_days": counted_days,
            "generated_kwh": kwh_out(generated),
            "sold_kwh": kwh_out(sold),
            "self_consumed_kwh": kwh_out(self_consumed),
            # blocked or excluded sites count no electricity (their reduction is 0 too)
            "counted_kwh": kwh_out(np.where(eligible, counted_kwh, 0.0)),
            "ef_t_per_kwh": np.round(
                np.divide(
                    t,
                    counted_kwh,
                    out=np.full(n, np.nan),
                    where=eligible & (np.nan_to_num(counted_kwh) > 0),
                ),
                12,
            ),
            "reduction_kgco2": np.round(reduction * KG_PER_T, NANO_DIGITS - 3),
            "reduction_tco2": reduction,
            "gross_reduction_tco2": gross,
            "annual_rate_tco2_yr": rate,
            "flags": flags,
        },
        columns=SOLAR_COLUMNS,
    )
    return ordered(table, s.geometry.to_numpy()[item], sites.crs, "site_id")
