"""FO-001 of a program stored as partitioned GeoParquet, each worker on its own partitions.

For programs too large for one machine's memory (a prefecture, the country): the program folder
has ``stands/part-NNNNN.parquet`` and ``operations/part-NNNNN.parquet`` (same numbers: every
operation in its stand's part), as ``forestcarbon convert PROGRAM --to geoparquet`` writes them.
Each task reads one part pair, validates it exactly as a run validates a program (file, row and
column in every message), computes FO-001 and the holds, writes its per-stand results
(``fo001_stands.parquet/part-NNNNN.parquet``) and returns only its summary partial: so a worker
holds one partition at a time whatever the program's size, and the driver holds the partials.
The program's summary is reduced exactly (:mod:`forestcarbon.scale.reduce`): the same credits as
one process.

What a part cannot check alone: overlaps between stands of different parts and stand ids repeated
in two parts (convert never writes either); the canopy step and the Monte Carlo (run them with
``forestcarbon run --scheduler`` on a program that fits the driver's memory).
"""

from __future__ import annotations

import dataclasses
import logging
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import csv_bytes, json_bytes, write_file
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.readers import parquet_parts
from forestcarbon.inputs.reviews import latest_decisions, read_reviews
from forestcarbon.outputs.parquet import PARQUET_FOLDER, write_geoparquet
from forestcarbon.run import Engine
from forestcarbon.scale.engine import hold_task
from forestcarbon.scale.reduce import Partial, reduce_partials, summary_table

log = logging.getLogger("forestcarbon")


@dataclass
class PartResult:
    """What one part's task returns: its summary partial and its measures: wall and CPU time [s]
    of the whole task and of the engine alone (FO-001, holds, summary partial), and the peak
    resident memory of the worker process so far [MB]."""

    name: str
    partial: Partial
    stands: int
    seconds: float
    engine_seconds: float
    peak_mb: float
    cpu_seconds: float = 0.0
    engine_cpu_seconds: float = 0.0


@dataclass
class StreamResult:
    """The program's summary (``program_summary.csv``) and each part's measures."""

    summary: pd.DataFrame
    parts: list[PartResult] = field(default_factory=list)

    @property
    def stands(self) -> int:
        return sum(p.stands for p in self.parts)


def part_names(program_dir: Path) -> list[str]:
    """Names of the stand parts (``stands/*.parquet``); none is an error."""
    parts = parquet_parts(program_dir / "stands")
    if not parts:
        raise InputError(
            Problem(
                str(program_dir / "stands"),
                "",
                "",
                "no .parquet parts: write them with forestcarbon convert PROGRAM --to geoparquet",
            )
        )
    return [p.name for p in parts]


def peak_memory_mb() -> float:
    """Peak resident memory of this process [MB]: VmHWM (Linux; a spawned Dask worker's own peak,
    whereas ru_maxrss carries the parent's peak across exec), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_task(program_dir: str, name: str, out_dir: str | None) -> PartResult:
    """Read, validate and compute one part; write its per-stand GeoParquet (a worker's task)."""
    t0, c0 = time.perf_counter(), time.process_time()
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    ops = program_dir / "operations" / name
    inputs = dataclasses.replace(
        settings.inputs,
        stands=f"stands/{name}",
        operations=f"operations/{name}" if ops.is_file() else "",
    )
    program = load_program(program_dir, settings=dataclasses.replace(settings, inputs=inputs))
    t1, c1 = time.perf_counter(), time.process_time()
    fo = Engine().fo001(program, program.stands)
    reviews = program.reviews if program.reviews is not None else read_reviews("")
    fo, partial = hold_task(
        fo, program.operations, latest_decisions(reviews), settings.fo001, keep_ids=False
    )
    engine_seconds, engine_cpu = time.perf_counter() - t1, time.process_time() - c1
    if out_dir is not None:
        geoms = program.stands.set_index("stand_id").geometry
        layer = gpd.GeoDataFrame(
            fo, geometry=geoms.reindex(fo["stand_id"]).values, crs=program.stands.crs
        )
        target = Path(out_dir) / PARQUET_FOLDER / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_geoparquet(layer, target)
    return PartResult(
        name,
        partial,
        len(program.stands),
        time.perf_counter() - t0,
        engine_seconds,
        peak_memory_mb(),
        time.process_time() - c0,
        engine_cpu,
    )


def fo001_partitioned(
    program_dir: str | Path, out_dir: str | Path | None, client=None
) -> StreamResult:
    """FO-001 of a partitioned program, part by part on ``client``'s workers (``None``: in this
    process, one part after the other); writes ``fo001_stands.parquet/``, ``program_summary.csv``
    and ``compute.json`` (scheduler, parts, stands per part) in ``out_dir`` when given.

    Raises
    ------
    InputError
        The first part (in name order) whose inputs do not validate, with its problems.
    """
    program_dir = Path(program_dir).resolve()
    settings = load_settings(program_dir)
    names = part_names(program_dir)
    out = str(Path(out_dir).resolve()) if out_dir is not None else None
    if client is None:
        results = [part_task(str(program_dir), name, out) for name in names]
    else:
        futures = [
            client.submit(part_task, str(program_dir), name, out, pure=False) for name in names
        ]
        results = client.gather(futures)
    results = sorted(results, key=lambda r: r.name)
    total = reduce_partials(r.partial for r in results)
    summary = summary_table(total, settings.fo001.buffer_rate)
    if out is not None:
        write_file(Path(out) / "program_summary.csv", csv_bytes(summary))
        record = {
            "scheduler": "this process" if client is None else str(client.scheduler.address),
            "parts": names,
            "stands_per_part": [r.stands for r in results],
        }
        write_file(Path(out) / "compute.json", json_bytes(record))
    return StreamResult(summary, results)
