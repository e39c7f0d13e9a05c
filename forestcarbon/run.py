"""Running a program folder end to end: validate, compute, then write every output at once."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forestcarbon.canopy.inputs import canopy_height_path
from forestcarbon.canopy.result import CanopyResult
from forestcarbon.canopy.step import compute_canopy
from forestcarbon.core.config import CONFIG_FILE, load_settings
from forestcarbon.core.exceptions import InputError, Problem, raise_if_any
from forestcarbon.core.files import (
    changed_since_read,
    csv_bytes,
    json_bytes,
    write_gpkg,
    write_outputs,
)
from forestcarbon.core.runfolder import check_run_target, publish_run
from forestcarbon.inputs.energy import EnergyInputs, load_energy
from forestcarbon.inputs.partitions import partition_numbers
from forestcarbon.inputs.program import ProgramInputs, future_period_problems, load_program
from forestcarbon.inputs.reviews import latest_decisions, read_reviews
from forestcarbon.methods.energy import EnergyResult, compute_energy
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.methods.holds import hold_flagged
from forestcarbon.methods.totals import (
    add_intervals,
    credit_lower_bound,
    fo001_summary,
    program_summary,
)
from forestcarbon.methods.uncertainty import simulate_program, summary_intervals
from forestcarbon.officer.ledger_tables import program_ledger
from forestcarbon.outputs.layers import fo001_layer
from forestcarbon.outputs.map import map_files, map_name, result_map
from forestcarbon.outputs.parquet import partitioned_files
from forestcarbon.outputs.provenance import build_provenance
from forestcarbon.outputs.report import REPORT_FILE, SUMMARY_FILE, report_files
from forestcarbon.outputs.sticker_page import sticker_page_files
from forestcarbon.outputs.text import summary_text

log = logging.getLogger("forestcarbon")


@dataclass
class RunResult:
    """Everything a run computed (tables are what the output files hold).

    Attributes
    ----------
    inputs : ProgramInputs
        The validated inputs the run used.
    fo001 : DataFrame
        FO-001 per stand and period (``fo001_stands.csv``): areas [ha], volumes [m3/ha],
        removals, emissions and net [t-CO2], eligibility and its reason, flags.
    summary : DataFrame
        Per methodology and period (``program_summary.csv``): exact total [t-CO2], credits [t].
    extra : dict
        Other output tables by file name (energy, canopy, report bytes).
    energy, canopy
        The EN-R-002/EN-S-004 and canopy results when the program has those inputs.
    credits : dict, optional
        The program's credit ledger as tables (:func:`forestcarbon.officer.ledger_tables.
        ledger_tables`) when it keeps one: the report's 活用 sheet, the map's businesses and the
        sticker look-up page.
    compute : dict, optional
        How a distributed run computed (scheduler, partitions; provenance.json ``compute``);
        None in this process. With it, the per-stand results are also written as partitioned
        GeoParquet (``fo001_stands.parquet/``).
    """

    inputs: ProgramInputs
    fo001: pd.DataFrame
    summary: pd.DataFrame
    extra: dict = field(default_factory=dict)
    energy: EnergyResult | None = None
    canopy: CanopyResult | None = None
    credits: dict | None = None
    compute: dict | None = None

    @property
    def stands(self) -> pd.DataFrame:
        """FO-001 results per stand and period (the ``fo001`` table)."""
        return self.fo001

    def text(self) -> str:
        """The run's summary as the terminal shows it (Japanese and English labels)."""
        return summary_text(self)

    def map(self, edition: str = "public", **options):
        """The run's interactive map as a ``folium.Map`` (displayed inline in a notebook).

        ``edition``: ``"public"`` (households only as mesh cells of at least ``privacy_k``) or
        ``"internal"``; ``options``: ``self_contained``, ``tiles`` (default: ``[map]``).
        """
        return result_map(self, edition=edition, **options)


def fo001_files(inputs: ProgramInputs) -> dict:
    """Keyword arguments of :func:`compute_fo001` that come from the program's files: the
    operations file named in messages, the plans table and its name."""
    return {
        "file": str(inputs.files.get("operations", "operations")),
        "plans": inputs.plans,
        "plans_file": Path(inputs.files.get("plans", "plans.csv")).name,
    }


class Engine:
    """Where :func:`compute` does the per-stand and per-site work: in this process (the default).

    :class:`forestcarbon.scale.engine.DaskEngine` does the same work on a Dask cluster, partition
    by partition, with identical results.
    """

    def fo001(self, inputs: ProgramInputs, stands: pd.DataFrame) -> pd.DataFrame:
        """FO-001 of ``stands`` with the program's operations, plans, periods and settings."""
        s = inputs.settings
        return compute_fo001(
            stands, inputs.operations, inputs.yields, s.periods, s.fo001, **fo001_files(inputs)
        )

    def canopy(self, inputs: ProgramInputs) -> CanopyResult | None:
        """The canopy step (None without a canopy height raster)."""
        return compute_canopy(inputs)

    def hold_and_total(self, fo: pd.DataFrame, inputs: ProgramInputs, decisions) -> tuple:
        """(FO-001 with canopy-flagged removals held, FO-001 summary rows)."""
        s = inputs.settings.fo001
        fo = hold_flagged(fo, inputs.operations, decisions, s)
        return fo, fo001_summary(fo, s.buffer_rate)

    def energy(self, energy: EnergyInputs, settings) -> EnergyResult:
        """EN-R-002 and EN-S-004 of the program's sites and units."""
        return compute_energy(energy, settings)

    def record(self) -> dict | None:
        """What provenance.json records of where the run computed (None: this process)."""
        return None


def compute(
    inputs: ProgramInputs,
    *,
    fo001_only: bool = False,
    report: bool = True,
    engine: Engine | None = None,
    checks_only: bool = False,
) -> RunResult:
    """Compute every step the program has (pure: writes nothing).

    FO-001 (refined by the canopy rasters when they exist), EN-R-002/EN-S-004 when the program has
    solar or air-conditioning inputs, the Monte Carlo intervals, the summary and the report tables.
    ``fo001_only`` leaves out energy and the report (``forestcarbon fo001``); ``report=False``
    leaves out only the report's workbook and figures (they check nothing).
    ``engine``: where the per-stand and per-site work runs (default: this process).
    ``checks_only`` (``validate``): every step and every check of a run, in this process, without
    what only computes results from valid inputs: the report, the canopy volume model's fit (its
    plots are checked; see :func:`forestcarbon.canopy.volume_model.model_volumes`) and the canopy's
    credit effect tables (FO-001 computed once, with the site classes it credits, instead of two or
    three times: see :meth:`forestcarbon.canopy.result.CanopyResult.refine_fo001`). The result's
    canopy model columns are then NaN and its ``volume_differs`` flags unset: not a run's result.
    """
    if checks_only:
        engine, report = Engine(), False
    engine = engine or Engine()
    s = inputs.settings
    log.info(
        "FO-001: %d stands x %d period(s)",
        len(inputs.stands),
        len(s.periods),
        extra={"progress": 0.05},
    )

    def fo001_of(stands):
        return engine.fo001(inputs, stands)

    # None without a canopy height raster
    canopy = compute_canopy(inputs, fit_model=False) if checks_only else engine.canopy(inputs)
    if canopy is None:
        fo = fo001_of(inputs.stands)
    else:  # site class from the canopy when asked; canopy flags in fo001_stands.csv
        fo, canopy = canopy.refine_fo001(
            inputs.stands, inputs.yields, fo001_of, effects=not checks_only
        )
        inputs = dataclasses.replace(inputs, files={**inputs.files, **canopy.inputs.files})
    reviews = inputs.reviews if inputs.reviews is not None else read_reviews("")
    fo, rows = engine.hold_and_total(fo, inputs, latest_decisions(reviews))
    energy = None
    if not inputs.energy.empty and not fo001_only:
        energy = engine.energy(inputs.energy, s)
        rows += energy.summary_rows()
    fo, summary = _with_uncertainty(fo, rows, energy, s)
    result = RunResult(inputs, fo, summary, energy=energy, canopy=canopy, compute=engine.record())
    if energy is not None:
        result.extra.update(energy.tables())
    if canopy is not None:
        result.extra.update(canopy.tables())
    if not fo001_only:
        result.credits = program_ledger(inputs.program_dir, s) if inputs.program_dir else None
        if report:
            log.info("report: monitoring_report.xlsx (tables, figures)", extra={"progress": 0.6})
            result.extra.update(report_files(result))
    return result


def _with_uncertainty(fo: pd.DataFrame, rows: list[dict], energy, s) -> tuple:
    """Per-stand intervals and the summary, with credits on the lower bound when asked."""
    u = s.uncertainty
    if u.draws == 0:
        return fo, program_summary(rows)
    log.info(
        "uncertainty: %d Monte Carlo draws (seed %d)", u.draws, u.seed, extra={"progress": 0.45}
    )
    stands, totals = simulate_program(fo, energy, s)
    intervals = summary_intervals(totals, u.coverage)
    if u.credit_basis == "lower_bound":
        rows = credit_lower_bound(rows, intervals)
    summary = add_intervals(program_summary(rows), intervals, u.credit_basis)
    return pd.concat([fo, stands], axis=1), summary


def _factor_warnings(energy: EnergyResult | None) -> list[str]:
    """Fiscal years valued with a substitute emission factor (for provenance.json)."""
    if energy is None or energy.factors is None:
        return []
    return [f"emission factor: {line}" for line in energy.factors.substitutes()]


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
        warnings=_factor_warnings(result.energy),
        compute=result.compute,
    )
    layer = fo001_layer(result)
    return {
        **tables,
        "fo001_stands.gpkg": lambda path: write_gpkg(layer, path, layer="fo001_stands"),
        "provenance.json": json_bytes(provenance),
        **(_partitioned(result, layer) if result.compute else {}),
        **(_map_files(result) if maps else {}),
    }


def _partitioned(result: RunResult, layer) -> dict:
    """The per-stand results as GeoParquet, one file per partition of the distributed run (the
    partitions re-derived from the stands and the recorded number, as ``verify`` does)."""
    stands = result.inputs.stands
    part = partition_numbers(stands.geometry, result.compute["partitions"])
    return partitioned_files(layer, pd.Series(part, index=stands["stand_id"].to_numpy()))


def _map_files(result: RunResult) -> dict:
    """maps/<name>.html, maps/<name>_internal.html and, with a credit ledger that has stickers,
    the sticker look-up page maps/<name>_stickers.html; none (with a warning) without folium."""

    log.info("maps: public and internal editions", extra={"progress": 0.8})
    try:
        return map_files(result) | sticker_page_files(result, map_name(result.inputs.program_dir))
    except ImportError as e:
        log.warning("maps not written: %s", e)
        return {}


def load_for_run(program_dir: str | Path) -> ProgramInputs:
    """:func:`load_program`, refusing monitoring periods that end after today (the run date)."""
    inputs = load_program(program_dir)
    raise_if_any(future_period_problems(inputs.settings))
    return inputs


def input_paths(files: dict) -> list[Path]:
    """The program's input files (outputs must never replace or hold them)."""
    return [Path(p) for p in files.values()]


def unchanged_inputs(files: dict) -> None:
    """Refuse to write outputs when an input changed while the run read it (e.g. ``ops add``
    during a run): provenance must describe exactly the bytes the outputs came from."""
    changed = changed_since_read(files.values())
    if changed:
        raise InputError(
            [
                Problem(
                    str(p),
                    "",
                    "",
                    "changed while the run was reading it; nothing written, run again",
                )
                for p in changed
            ]
        )


def run_program(
    program_dir: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = True,
    fo001_only: bool = False,
    engine: Engine | None = None,
) -> RunResult:
    """Validate, compute and write the run folder of a program (nothing is written on error).

    The output folder is checked before anything is computed (an existing run without
    ``overwrite``, a folder holding inputs or other content, a link: refused); the run folder is
    then published as one atomic set sealed by ``run_complete.json`` (``core/runfolder.py``).
    ``fo001_only``: FO-001 outputs, the summary and provenance only (no energy, report or maps).
    ``engine``: where to compute (default: this process; see :mod:`forestcarbon.scale`).
    """
    check_run_target(out_dir, overwrite=overwrite, inputs=[Path(program_dir) / CONFIG_FILE])
    inputs = load_for_run(program_dir)
    check_run_target(out_dir, overwrite=overwrite, inputs=input_paths(inputs.files))
    result = compute(inputs, fo001_only=fo001_only, engine=engine)
    files = output_files(result, maps=not fo001_only)
    log.info("writing %d files to %s", len(files), out_dir, extra={"progress": 0.9})
    unchanged_inputs(result.inputs.files)
    written = publish_run(
        out_dir,
        files,
        overwrite=overwrite,
        inputs=input_paths(result.inputs.files),
        kind="fo001" if fo001_only else "run",
    )
    log.info(
        "wrote %s",
        ", ".join(str(p.relative_to(out_dir)) for p in written),
        extra={"progress": 1.0},
    )
    return result


def energy_outputs(program_dir: Path, settings=None) -> tuple:
    """The energy run of a program: (EnergyResult, summary, file name -> bytes, EnergyInputs).

    The files are ``solar_sites.csv`` / ``aircon_units.csv`` (those the program has), the
    energy ``program_summary.csv`` and ``provenance.json`` (used by ``energy`` and ``verify``).
    """
    program_dir = Path(program_dir)
    settings = settings or load_settings(program_dir)
    inputs = load_energy(program_dir, settings)
    if inputs.empty:
        raise InputError(
            Problem(
                str(program_dir),
                "",
                "",
                "no solar or air-conditioning inputs: expected solar.csv/.gpkg/... or "
                "aircon.csv/.gpkg/... (or [inputs] solar / aircon in program.toml)",
            )
        )
    result = compute_energy(inputs, settings)
    summary = program_summary(result.summary_rows())
    files = {name: csv_bytes(t) for name, t in result.tables().items()}
    files["program_summary.csv"] = csv_bytes(summary)
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    provenance = build_provenance(
        settings=settings,
        files={"settings": program_dir / CONFIG_FILE, **inputs.files},
        program_dir=program_dir,
        growth_sources=[],
        outputs=hashes,
        warnings=_factor_warnings(result),
    )
    files["provenance.json"] = json_bytes(provenance)
    return result, summary, files, inputs


def run_energy(program_dir: str | Path, out_dir: str | Path, *, overwrite: bool = True):
    """``forestcarbon energy``: validate the energy inputs, compute, write the energy outputs.

    Writes ``solar_sites.csv``, ``aircon_units.csv`` (those the program has), a
    ``program_summary.csv`` of the energy methodologies and ``provenance.json``; nothing on error.

    Returns
    -------
    (EnergyResult, summary DataFrame)
    """

    program_dir = Path(program_dir)
    check_run_target(out_dir, overwrite=overwrite, inputs=[program_dir / CONFIG_FILE])
    settings = load_settings(program_dir)
    raise_if_any(future_period_problems(settings))
    result, summary, files, inputs = energy_outputs(program_dir, settings)
    every_input = {"settings": program_dir / CONFIG_FILE, **inputs.files}
    unchanged_inputs(every_input)
    written = publish_run(
        out_dir, files, overwrite=overwrite, inputs=input_paths(every_input), kind="energy"
    )
    log.info("wrote %s", ", ".join(p.name for p in written))
    return result, summary


def run_canopy(program_dir: str | Path, out_dir: str | Path, *, overwrite: bool = True):
    """``forestcarbon canopy``: validate, compute and write the canopy tables of a program.

    Writes ``canopy_stands.csv``, ``canopy_site_class_changes.csv`` and, with enough field plots,
    ``canopy_volume_model.csv`` (all or nothing).

    Returns
    -------
    CanopyResult

    Raises
    ------
    InputError
        The program has no canopy height raster, or any input problem.
    """

    inputs = load_for_run(program_dir)
    result = compute_canopy(inputs)
    if result is None:
        path = canopy_height_path(program_dir, inputs.settings.canopy)
        raise InputError(
            Problem(
                str(path),
                "",
                "",
                "no canopy height raster: put one there or name it with [canopy] height",
            )
        )
    s = inputs.settings
    _, result = result.refine_fo001(
        inputs.stands,
        inputs.yields,
        lambda stands: compute_fo001(
            stands, inputs.operations, inputs.yields, s.periods, s.fo001, **fo001_files(inputs)
        ),
    )
    files = {name: csv_bytes(table) for name, table in result.tables().items()}
    written = write_outputs(
        out_dir, files, overwrite=overwrite, protected=input_paths(result.inputs.files)
    )
    log.info("wrote %s", ", ".join(p.name for p in written))
    return result


def run_report(program_dir: str | Path, out_dir: str | Path, *, overwrite: bool = True):
    """``forestcarbon report``: validate and compute a program, write only the report files."""

    result = compute(load_for_run(program_dir))
    files = {name: result.extra[name] for name in (REPORT_FILE, SUMMARY_FILE)}
    write_outputs(out_dir, files, overwrite=overwrite, protected=input_paths(result.inputs.files))
    return result


def validate_program(program_dir: str | Path) -> str:
    """``forestcarbon validate``: read and check every input; a one-line account when all is well.

    Runs every check that ``run`` runs (it computes, writing nothing), so an input that ``run``
    refuses is never ``ok``. Raises :class:`~forestcarbon.core.exceptions.InputError` listing
    every problem.
    """
    inputs = load_for_run(program_dir)
    # every check a run makes (harvest sequences, settings vs records, ...); not the report, the
    # volume model's fit or the canopy's credit effects (results of valid inputs, not checks)
    canopy = compute(inputs, checks_only=True).canopy
    energy = inputs.energy
    counts = "".join(
        f", {len(table)} {label}"
        for table, label in ((energy.solar, "PV sites"), (energy.aircon, "air-conditioning units"))
        if table is not None
    )
    if canopy is not None:
        counts += ", canopy " + " ".join(p.name for p in canopy.inputs.files.values())
    return (
        f"{program_dir}: ok ({len(inputs.stands)} stands, {len(inputs.operations)} "
        f"operations{counts}, {len(inputs.settings.periods)} period(s))"
    )


def run_map(
    program_dir: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = True,
    self_contained: bool | None = None,
    tiles: str | None = None,
) -> list[Path]:
    """``forestcarbon map``: compute the program and write only its two maps (``maps/``) and,
    with a credit ledger that has stickers, the sticker look-up page."""
    result = compute(load_for_run(program_dir))
    files = map_files(result, self_contained=self_contained, tiles=tiles)
    files |= sticker_page_files(result, map_name(result.inputs.program_dir))
    return write_outputs(
        out_dir, files, overwrite=overwrite, protected=input_paths(result.inputs.files)
    )
