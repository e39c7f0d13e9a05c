"""Plain-text summaries of a run for the terminal (Japanese + English labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from forestcarbon.canopy.flags import FLAGS
from forestcarbon.canopy.result import CanopyResult
from forestcarbon.methods.energy import EnergyResult

if TYPE_CHECKING:
    from forestcarbon.run import RunResult


def summary_text(result: RunResult) -> str:
    """Per-species and whole-program summary of a run, as plain text (Japanese + English labels)."""
    fo = result.fo001
    lines = [f"{result.inputs.settings.program.name}"]
    for period, g in fo.groupby("period", sort=True):
        lines.append(f"\nFO-001 森林経営活動  period {period}")
        lines.append(
            f"  {'species 樹種':<22}{'stands':>7}{'eligible':>9}{'area ha':>10}"
            f"{'counted ha':>11}{'net t-CO2':>12}"
        )
        by = g.groupby("species", sort=True)
        for species, s in by:
            lines.append(
                f"  {species:<22}{len(s):>7}{int(s['eligible'].sum()):>9}"
                f"{s['area_ha'].sum():>10.1f}{s['eligible_area_ha'].sum():>11.1f}"
                f"{s['net_tco2'].sum():>12.1f}"
            )
        lines += _conservative_lines(g, result)
    if result.energy is not None:
        lines += energy_text(result.energy)
    if result.canopy is not None:
        lines.append(canopy_text(result.canopy))
    lines.append(
        "\nSummary 集計 (credits = whole t-CO2, truncated once per methodology and period)"
    )
    summary = result.summary
    has_interval = "total_low_tco2" in summary.columns
    coverage = f"{result.inputs.settings.uncertainty.coverage:.0%}"
    lines.append(
        f"  {'methodology':<12}{'period':<24}{'total t-CO2':>16}{'credits t':>11}{'activities':>11}"
        + (f"  {coverage} interval t-CO2" if has_interval else "")
    )
    for r in summary.itertuples():
        interval = f"  {r.total_low_tco2:,.1f} - {r.total_high_tco2:,.1f}" if has_interval else ""
        lines.append(
            f"  {r.methodology:<12}{r.period:<24}{r.total_tco2:>16}{r.credits_t:>11}"
            f"{r.n_activities:>11}{interval}"
        )
    if has_interval:
        lines.append(
            f"  credits from: {summary['credit_basis'].iloc[0]} (Monte Carlo, "
            f"{result.inputs.settings.uncertainty.draws} draws)"
        )
    unverified = result.inputs.settings.unverified()
    if unverified:
        lines.append(
            "\nUnverified settings in use 未確認の設定: "
            + ", ".join(f"{k}={v!r}" for k, v in unverified)
        )
    return "\n".join(lines)


def _conservative_lines(g: pd.DataFrame, result: RunResult) -> list[str]:
    """Held tonnes, plan validity and the area used, for one period of FO-001 results."""
    lines = []
    if "held_tco2" in g.columns and (g["held_tco2"] > 0).any():
        held = g[g["held_tco2"] > 0]
        lines.append(
            "  held 保留 (canopy evidence, not credited until reviewed): "
            f"{held['held_tco2'].sum():.1f} t-CO2 on {len(held)} stand(s): "
            + ", ".join(held["stand_id"])
        )
    flags = g["flags"].fillna("")
    if flags.str.contains("plan_dates_unknown").any():
        lines.append(
            "  plan dates unknown 計画期間未確認: no plans table, plan validity not checked"
        )
    lapsed = int(g["reason"].str.contains("lapsed|not in plans", regex=True).sum())
    if lapsed or flags.str.contains("plan_partly_in_force").any():
        lines.append(
            f"  plans: {int(flags.str.contains('plan_partly_in_force').sum())} stand(s) pro rata "
            f"to their plan's days, {lapsed} without a plan in force"
        )
    source = result.inputs.settings.fo001.area_source
    used = "polygon (geometry)" if source == "geometry" else "register (area_ha)"
    lines.append(f"  area used 面積: {used} ([fo001] area_source)")
    return lines


def energy_text(result: EnergyResult) -> list[str]:
    """Lines of the run summary for solar and air conditioning (Japanese + English labels)."""
    lines = []
    if result.solar is not None:
        for period, g in result.solar.groupby("period", sort=True):
            e = g[g["eligible"]]
            estimated = int(e["method"].eq("estimated").sum())
            lines.append(f"\nEN-R-002 太陽光発電 household solar  period {period}")
            lines.append(
                f"  sites {len(g)}, eligible {len(e)} (estimated {estimated}), excluded "
                f"{len(g) - len(e)}; {e['capacity_kw'].sum():.1f} kW; self-consumed "
                f"{e['counted_kwh'].sum():,.0f} kWh; {e['reduction_tco2'].sum():.3f} t-CO2"
            )
    if result.aircon is not None:
        for period, g in result.aircon.groupby("period", sort=True):
            e = g[g["eligible"]]
            lines.append(f"\nEN-S-004 空調設備 air conditioning  period {period}")
            lines.append(
                f"  units {len(g)} in {g['facility'].nunique()} facilities, eligible {len(e)}; "
                f"EL_PJ {e['project_kwh'].sum():,.0f} kWh, EL_BL {e['baseline_kwh'].sum():,.0f} "
                f"kWh; {e['reduction_tco2'].sum():.3f} t-CO2"
            )
    return lines


def canopy_text(result: CanopyResult) -> str:
    """Plain-text summary of the canopy step (Japanese + English labels)."""
    t = result.table
    s = result.settings
    lines = [
        "\nCanopy refinement 樹冠ラスタによる補正",
        f"  stands with canopy statistics: {int(t['canopy_mean_m'].notna().sum())} of {len(t)}",
    ]
    counts = pd.Series([f for flags in t["flags"] for f in flags.split(";") if f]).value_counts()
    for name in FLAGS:
        lines.append(f"  {name:<24}{int(counts.get(name, 0)):>6}  {FLAGS[name]}")
    c = result.changes
    verb = (
        "used by FO-001"
        if s.site_class_source == "canopy"
        else "not used (site_class_source = register)"
    )
    lines.append(
        f"  site class 地位 from canopy differs from the register for "
        f"{c['stand_id'].nunique()} stand(s); {verb}"
    )
    for period, g in c.groupby("period", sort=True):
        lines.append(
            f"    {period}: credited net {g['net_tco2_register'].sum():.1f} -> "
            f"{g['net_tco2_canopy'].sum():.1f} t-CO2 ({g['change_tco2'].sum():+.1f})"
        )
    if result.volume_effect is not None:
        for r in result.volume_effect.itertuples():
            lines.append(
                f"  volume from the model (volume_source = model), {r.n_stands} stands scaled, "
                f"{r.period}: credited net {r.net_tco2_yield_table:.1f} -> "
                f"{r.net_tco2_model:.1f} t-CO2 ({r.change_tco2:+.1f})"
            )
    if result.model is not None:
        for r in result.model.scores.itertuples():
            lines.append(
                f"  volume model {r.model:<18} CV RMSE {r.rmse_m3_ha:6.1f} m3/ha "
                f"({r.relative_rmse:.0%}), R² {r.r2:.2f}  ({r.n_plots} plots, {r.n_stands} stands, "
                f"{r.n_folds} folds grouped by stand)"
            )
    return "\n".join(lines)
