"""``forestcarbon run PROGRAM --out DIR --stream``: a run whose driver never holds the program.

For a prefecture or the whole country (millions of stands): the program's stands are a folder of
GeoParquet parts (``forestcarbon convert PROGRAM --to geoparquet``). Each part is read, validated
and computed by one task (:func:`forestcarbon.scale.stream.part_task`), in this process one part
after the other or on a Dask cluster (``--scheduler``); the driver keeps only each part's exact
figures, checks what no part can check alone (:mod:`forestcarbon.scale.crosspart`) and reduces:

- ``fo001_stands.parquet/part-NNNNN.parquet``: per-stand results with the Monte Carlo interval
  columns, one GeoParquet file per input part;
- ``program_summary.csv``: byte-identical to the whole run's (exact integer reduction of the
  totals and of the Monte Carlo contributions, :mod:`forestcarbon.methods.uncertainty`);
- ``provenance.json``: sha256 of every input part, the settings, the code revision and the
  ``compute`` record (scheduler, workers, parts, stands per part, ``streamed``);
- ``run_complete.json``, published as one atomic set (:mod:`forestcarbon.core.runfolder`).

Not written (see :data:`NOT_WRITTEN`): the maps, the xlsx report, the notebooks and the per-stand
CSV/GeoPackage. Energy (EN-R-002, EN-S-004: a city's PV sites and air-conditioning units, small)
is computed on the driver, as one process does, and its tables written (``solar_sites.csv``,
``aircon_units.csv``). Refused (see :func:`unstreamable_problems`): canopy rasters.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from forestcarbon.canopy.inputs import canopy_height_path, has_canopy
from forestcarbon.core.config import CONFIG_FILE, InputSettings, Settings, load_settings
from forestcarbon.core.exceptions import InputError, Problem, raise_if_any
from forestcarbon.core.files import csv_bytes, file_sha256, json_bytes
from forestcarbon.core.runfolder import check_run_target, publish_run, scratch_folder
from forestcarbon.inputs.energy import read_energy_inputs
from forestcarbon.inputs.program import future_period_problems
from forestcarbon.inputs.readers import LAYER_SUFFIXES, locate_input, parquet_parts
from forestcarbon.methods.energy import compute_energy
from forestcarbon.methods.uncertainty import combine, contribution
from forestcarbon.outputs.parquet import PARQUET_FOLDER
from forestcarbon.outputs.provenance import build_provenance, describe_inputs
from forestcarbon.scale.cluster import n_workers
from forestcarbon.scale.crosspart import overlap_pair_task, pairs_to_check, repeated_id_problems
from forestcarbon.scale.reduce import reduce_partials, streamed_summary
from forestcarbon.scale.stream import (
    PartResult,
    StreamResult,
    part_names,
    part_task,
)

log = logging.getLogger("forestcarbon")


THIS_PROCESS = "this process"


def stands_folder_problems(program_dir: Path, settings: Settings) -> list[Problem]:
    """The program's stands are not a folder of GeoParquet parts: what was found, what to do."""
    found = locate_input(
        program_dir, settings.inputs.stands, InputSettings.stands, LAYER_SUFFIXES, "stands"
    )
    if found.is_dir() and parquet_parts(found) and found == program_dir / "stands":
        return []
    return [
        Problem(
            str(found),
            "",
            "",
            "a streamed run reads the stands as a folder of GeoParquet parts (stands/part-00000."
            "parquet, ..., with operations/part-00000.parquet, ...): write them with "
            f"forestcarbon convert {program_dir} --to geoparquet, then run the converted folder",
        )
    ]


def unstreamable_problems(program_dir: Path, settings: Settings) -> list[Problem]:
    """Inputs a streamed run cannot use yet, refused rather than left out: a canopy height
    raster (its flags hold removals: a run without them would credit more); a register table
    joined per stand."""
    problems = []
    if has_canopy(program_dir, settings.canopy):
        problems.append(
            Problem(
                str(canopy_height_path(program_dir, settings.canopy)),
                "",
                "[canopy] height",
                "a streamed run does not run the canopy step yet, and canopy flags hold "
                "removals: leaving it out would credit more. Run the program whole (forestcarbon "
                "run, or with --scheduler)",
            )
        )
    if settings.inputs.register:
        problems.append(
            Problem(
                CONFIG_FILE,
                "",
                "[inputs] register",
                "a streamed run reads stands parts holding the register's columns: join the "
                "register to the polygons and convert again",
            )
        )
    return problems


def _checked_part(program_dir: str, name: str, out_dir: str) -> PartResult | list[Problem]:
    """:func:`part_task`, its input problems returned (every part's are listed together)."""
    try:
        return part_task(program_dir, name, out_dir)
    except InputError as e:
        return list(e.problems)


def _progress(k: int, n: int, r: PartResult | list) -> None:
    what = f"{r.stands:,} stands" if isinstance(r, PartResult) else f"{len(r)} problem(s)"
    name = r.name if isinstance(r, PartResult) else "a part"
    log.info("part %d/%d %s: %s", k, n, name, what, extra={"progress": 0.05 + 0.8 * k / n})


def _map(client, fn, argsets: list, progress: bool = False) -> list:
    """``fn(*args)`` for each of ``argsets``, in this process or on the cluster; results in the
    order of ``argsets``."""
    n = len(argsets)
    if client is None:
        out = []
        for k, args in enumerate(argsets, start=1):
            out.append(fn(*args))
            if progress:
                _progress(k, n, out[-1])
        return out
    from distributed import as_completed  # the scale extra, only with a cluster

    futures = [client.submit(fn, *args, pure=False) for args in argsets]
    index = {f.key: i for i, f in enumerate(futures)}
    out = [None] * n
    for k, future in enumerate(as_completed(futures), start=1):
        out[index[future.key]] = future.result()
        if progress:
            _progress(k, n, out[index[future.key]])
    return out


def cross_part_problems(program_dir: Path, results: list[PartResult], client=None) -> list:
    """Stand ids in two parts, and overlaps across parts (:mod:`forestcarbon.scale.crosspart`)."""
    paths = [program_dir / "stands" / r.name for r in results]
    problems = repeated_id_problems(paths, [r.id_hashes for r in results])
    pairs = pairs_to_check([r.bounds for r in results])
    log.info("checks across parts: ids, overlaps of %d pair(s) of parts", len(pairs))
    found = _map(
        client,
        overlap_pair_task,
        [
            (
                str(program_dir),
                f"stands/{results[i].name}",
                f"stands/{results[j].name}",
                results[i].bounds,
                results[j].bounds,
            )
            for i, j in pairs
        ],
    )
    return problems + [p for f in found for p in f]


def _inputs(results: list[PartResult]) -> dict:
    """provenance.json ``inputs``: every part's files and the shared ones (read the same by every
    part, else the file changed during the run)."""
    merged: dict = {}
    for r in results:
        for role, record in r.inputs.items():
            if role in merged and merged[role] != record:
                raise InputError(
                    Problem(record["path"], "", "", "changed while the run read it; run again")
                )
            merged[role] = record
    return dict(sorted(merged.items()))


def compute_streamed(
    program_dir: str | Path,
    parts_dir: str | Path,
    client=None,
    *,
    scheduler: str = "",
    fo001_only: bool = False,
) -> StreamResult:
    """Every part computed (its per-stand GeoParquet written in ``parts_dir``/fo001_stands.parquet),
    the checks across parts, energy on the driver (not with ``fo001_only``), and the program's
    summary; writes nothing else.

    Raises
    ------
    InputError
        Every problem of every part, or the problems across parts.
    """
    program_dir = Path(program_dir).resolve()
    settings = load_settings(program_dir)
    raise_if_any(future_period_problems(settings))
    raise_if_any(stands_folder_problems(program_dir, settings))
    raise_if_any(unstreamable_problems(program_dir, settings))
    names = part_names(program_dir)
    energy = None
    if not fo001_only:
        energy, problems = read_energy_inputs(program_dir, settings)
        raise_if_any(problems)
    log.info(
        "streamed run: %d parts on %s",
        len(names),
        scheduler or THIS_PROCESS,
        extra={"progress": 0.05},
    )
    out = str(Path(parts_dir).resolve())
    done = _map(client, _checked_part, [(str(program_dir), n, out) for n in names], progress=True)
    problems = [p for r in done if isinstance(r, list) for p in r]
    raise_if_any(problems)
    results: list[PartResult] = done  # type: ignore[assignment]
    raise_if_any(cross_part_problems(program_dir, results, client))
    total = reduce_partials(r.partial for r in results)
    share = combine(r.contribution for r in results)
    energy_result = None
    if energy is not None and not energy.empty:
        log.info("energy: EN-R-002/EN-S-004 on the driver", extra={"progress": 0.88})
        energy_result = compute_energy(energy, settings)
        if settings.uncertainty.draws:
            share = share + contribution(None, energy_result)
    rows = energy_result.summary_rows() if energy_result is not None else []
    summary = streamed_summary(total, share, settings, rows)
    compute = {
        "scheduler": scheduler or THIS_PROCESS,
        "workers": 1 if client is None else n_workers(client),
        "parts": len(names),
        "stands_per_part": [r.stands for r in results],
        "streamed": True,
    }
    return StreamResult(
        summary,
        results,
        settings,
        compute,
        energy_result,
        describe_inputs(energy.files, program_dir) if energy_result is not None else {},
    )


def streamed_files(
    program_dir: str | Path, result: StreamResult, parts_dir: Path, compute: dict
) -> dict:
    """The run folder's files: name -> bytes, or a writer moving a part's GeoParquet in place."""
    program_dir = Path(program_dir).resolve()
    summary = csv_bytes(result.summary)
    parts = {
        f"{PARQUET_FOLDER}/{r.name}": Path(parts_dir) / PARQUET_FOLDER / r.name
        for r in result.parts
    }
    tables = {"program_summary.csv": summary}
    warnings = []
    if result.energy is not None:
        tables.update({n: csv_bytes(t) for n, t in result.energy.tables().items()})
        factors = result.energy.factors
        subs = factors.substitutes() if factors is not None else []
        warnings = [f"emission factor: {line}" for line in subs]  # as run.py records them
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in tables.items()}
    hashes.update({name: file_sha256(path) for name, path in parts.items()})
    provenance = build_provenance(
        settings=result.settings,
        files={},
        program_dir=program_dir,
        growth_sources=result.parts[0].growth_sources if result.parts else [],
        outputs=dict(sorted(hashes.items())),
        warnings=warnings,
        compute=compute,
    )
    provenance["inputs"] = dict(sorted({**_inputs(result.parts), **result.energy_inputs}.items()))
    files: dict = {**tables, "provenance.json": json_bytes(provenance)}
    for name, path in parts.items():
        files[name] = lambda target, path=path: shutil.move(path, target)
    return files


def run_streamed(
    program_dir: str | Path,
    out_dir: str | Path,
    client=None,
    *,
    scheduler: str = "",
    overwrite: bool = True,
    fo001_only: bool = False,
) -> StreamResult:
    """A streamed run (see the module docstring): part by part in this process (``client``
    None) or on a Dask client's workers (which must see ``out_dir``'s file system); the run folder
    published whole, nothing written on error. ``fo001_only``: the run folder of
    ``forestcarbon fo001`` (the same files; verify re-runs it the same way)."""
    program_dir = Path(program_dir).resolve()
    out = Path(out_dir)
    inputs = [program_dir / CONFIG_FILE, program_dir / "stands", program_dir / "operations"]
    check_run_target(out, overwrite=overwrite, inputs=inputs)
    scratch = scratch_folder(out)  # removed by the next run if this one is killed
    try:
        result = compute_streamed(
            program_dir, scratch, client, scheduler=scheduler, fo001_only=fo001_only
        )
        files = streamed_files(program_dir, result, scratch, result.compute)
        log.info("writing %d files to %s", len(files), out, extra={"progress": 0.9})
        publish_run(
            out, files, overwrite=overwrite, inputs=inputs, kind="fo001" if fo001_only else "run"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("wrote %s (%d parts)", out, len(result.parts), extra={"progress": 1.0})
    return result


def rerun_streamed(
    program_dir: str | Path, folder: Path, compute: dict, *, fo001_only: bool = False
) -> dict:
    """``verify``: the streamed run again in this process; its files written in ``folder``
    (provenance with the recorded ``compute`` record). Returns name -> path."""
    folder = Path(folder)
    scratch = folder / ".parts"
    result = compute_streamed(program_dir, scratch, fo001_only=fo001_only)
    files = streamed_files(program_dir, result, scratch, compute)
    written = {}
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            content(target)
        written[name] = target
    shutil.rmtree(scratch, ignore_errors=True)
    return written
