"""Running a program folder end to end: validate, compute, then write every output at once."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .canopy import CanopyResult, compute_canopy
from .canopy import summary_text as canopy_text
from .energy import EnergyResult, compute_energy, energy_text
from .fo001 import compute_fo001
from .inputs import ProgramInputs, load_program
from .io import csv_bytes, json_bytes, write_gpkg, write_outputs
from .program import add_intervals, credit_lower_bound, fo001_summary, program_summary
from .provenance import build_provenance
from .uncertainty import simulate_program, summary_intervals

log = logging.getLogger("forestcarbon")


@dataclass
class RunResult:
    """Everything a run computed (tables are what the output files hold)."""

    inputs: ProgramInputs
    fo001: pd.DataFrame
    summary: pd.DataFrame
    extra: dict = field(default_factory=dict)
    energy: EnergyResult | None = None
    canopy: CanopyResult | None = None


def compute(inputs: ProgramInputs, *, fo001_only: bool = False) -> RunResult:
    """Compute every step the program has (pure: writes nothing).

    FO-001 (refined by the canopy rasters when they exist), EN-R-002/EN-S-004 when the program has
    solar or air-conditioning inputs, the Monte Carlo intervals, the summary and the report tables.
    ``fo001_only`` leaves out energy and the report (``forestcarbon fo001``).
    """
    s = inputs.settings
    log.info("FO-001: %d stands x %d period(s)", len(inputs.stands), len(s.periods))

    def fo001_of(stands):
        ops_file = str(inputs.files.get("operations", "operations"))
        return compute_fo001(
            stands, inputs.operations, inputs.yields, s.periods, s.fo001, file=ops_file
        )

    canopy = compute_canopy(inputs)  # None without a canopy height raster
    if canopy is None:
        fo = fo001_of(inputs.stands)
    else:  # site class from the canopy when asked; canopy flags in fo001_stands.csv
        fo, canopy = canopy.refine_fo001(inputs.stands, inputs.yields, fo001_of)
        inputs = dataclasses.replace(inputs, files={**inputs.files, **canopy.inputs.files})
    rows = fo001_summary(fo, s.fo001.buffer_rate)
    energy = None
    if not inputs.energy.empty and not fo001_only:
        energy = compute_energy(inputs.energy, s)
        rows += energy.summary_rows()
    fo, summary = _with_uncertainty(fo, rows, energy, s)
    result = RunResult(inputs, fo, summary, energy=energy, canopy=canopy)
    if energy is not None:
        result.extra.update(energy.tables())
    if canopy is not None:
        result.extra.update(canopy.tables())
    if not fo001_only:
        from .report import report_files

        result.extra.update(report_files(result))
    return result


def _with_uncertainty(fo: pd.DataFrame, rows: list[dict], energy, s) -> tuple:
    """Per-stand intervals and the summary, with credits on the lower bound when asked."""
    u = s.uncertainty
    if u.draws == 0:
        return fo, program_summary(rows)
    log.info("uncertainty: %d Monte Carlo draws (seed %d)", u.draws, u.seed)
    stands, totals = simulate_program(fo, energy, s)
    intervals = summary_intervals(totals, u.coverage)
    if u.credit_basis == "lower_bound":
        rows = credit_lower_bound(rows, intervals)
    summary = add_intervals(program_summary(rows), intervals, u.credit_basis)
    return pd.concat([fo, stands], axis=1), summary


def fo001_layer(result: RunResult) -> gpd.GeoDataFrame:
    """Per stand and period results with the stand polygons (for QGIS)."""
    geoms = result.inputs.stands.set_index("stand_id").geometry
    return gpd.GeoDataFrame(
        result.fo001,
        geometry=geoms.reindex(result.fo001["stand_id"]).values,
        crs=result.inputs.stands.crs,
    )


def table_files(result: RunResult) -> dict[str, bytes]:
    """File name -> bytes of every table output of the run (the CSVs and the report)."""
    tables = {
        "fo001_stands.csv": csv_bytes(result.fo001),
        "program_summary.csv": csv_bytes(result.summary),
    }
    for name, table in result.extra.items():
        tables[name] = table if isinstance(table, bytes) else csv_bytes(table)
    return tables


def output_files(result: RunResult, *, maps: bool = True) -> dict:
    """File name -> bytes or writer, for every output of the run (``maps``: with the maps)."""
    tables = table_files(result)
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(tables.items())}
    inputs = result.inputs
    provenance = build_provenance(
        settings=inputs.settings,
        files=inputs.files,
        program_dir=inputs.program_dir,
        growth_sources=inputs.yields.sources(),
        outputs=hashes,
    )
    layer = fo001_layer(result)
    return {
        **tables,
        "fo001_stands.gpkg": lambda path: write_gpkg(layer, path, layer="fo001_stands"),
        "provenance.json": json_bytes(provenance),
        **(_map_files(result) if maps else {}),
    }


def _map_files(result: RunResult) -> dict:
    """maps/<name>.html and maps/<name>_internal.html; none (with a warning) without folium."""
    from .webmap import map_files

    try:
        return map_files(result)
    except ImportError as e:
        log.warning("maps not written: %s", e)
        return {}


def run_program(
    program_dir: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = True,
    fo001_only: bool = False,
) -> RunResult:
    """Validate, compute and write the outputs of a program folder (nothing is written on error).

    ``fo001_only``: FO-001 outputs, the summary and provenance only (no energy, report or maps).
    """
    inputs = load_program(program_dir)
    result = compute(inputs, fo001_only=fo001_only)
    files = output_files(result, maps=not fo001_only)
    written = write_outputs(out_dir, files, overwrite=overwrite)
    log.info("wrote %s", ", ".join(p.name for p in written))
    return result


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
