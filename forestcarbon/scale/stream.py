"""One part of a streamed run: read, validate and compute one part pair of a partitioned program.

For programs too large for one machine's memory (a prefecture, the country): the program folder
has ``stands/part-NNNNN.parquet`` and ``operations/part-NNNNN.parquet`` (same numbers: every
operation in its stand's part), as ``forestcarbon convert PROGRAM --to geoparquet`` writes them.
:func:`part_task` reads one part pair, validates it exactly as a run validates a program (file,
row and column in every message), computes FO-001, the holds and the per-stand Monte Carlo
intervals, writes its per-stand results (``fo001_stands.parquet/part-NNNNN.parquet``) and returns
only small exact figures (:class:`PartResult`): its summary partial, its Monte Carlo
contribution, the 64-bit hashes of its stand ids and its bounding box (for the checks across
parts, :mod:`forestcarbon.scale.crosspart`), the sha256 of its input files. So a worker holds one
part at a time whatever the program's size. The run itself is :mod:`forestcarbon.scale.streamrun`.
"""

from __future__ import annotations

import dataclasses
import logging
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.readers import parquet_parts
from forestcarbon.inputs.reviews import latest_decisions, read_reviews
from forestcarbon.methods.uncertainty import Contribution, contribution, program_stand_intervals
from forestcarbon.outputs.parquet import PARQUET_FOLDER, write_geoparquet
from forestcarbon.outputs.provenance import describe_inputs
from forestcarbon.run import Engine
from forestcarbon.scale.engine import hold_task
from forestcarbon.scale.reduce import Partial

log = logging.getLogger("forestcarbon")

NOT_WRITTEN = (
    "maps (every stand in one HTML page), the xlsx report and notebooks (built from the whole "
    "per-stand table in memory), fo001_stands.csv and fo001_stands.gpkg (one file of every "
    "stand: tens of GB for the country; fo001_stands.parquet/ holds the same rows)"
)
"""What a streamed run does not write, and why."""


@dataclass
class PartResult:
    """What one part's task returns: its summary partial; its measures: wall and CPU time [s]
    of the whole task and of the engine alone (FO-001, holds, summary partial), and the peak
    resident memory of the worker process so far [MB]; its Monte Carlo contribution (exact
    integers; empty without draws); the sorted 64-bit hashes of its stand ids
    (:func:`id_hashes`); its stands' bounding box (minx, miny, maxx, maxy in the program's CRS
    [m]); the path, size and sha256 of its two input files (provenance.json ``inputs``)."""

    name: str
    partial: Partial
    stands: int
    seconds: float
    engine_seconds: float
    peak_mb: float
    cpu_seconds: float = 0.0
    engine_cpu_seconds: float = 0.0
    contribution: Contribution = field(default_factory=Contribution)
    id_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    bounds: tuple = ()
    inputs: dict = field(default_factory=dict)
    growth_sources: list = field(default_factory=list)


@dataclass
class StreamResult:
    """A streamed run: the program's summary (``program_summary.csv``), each part's figures, the
    settings, the ``compute`` record of provenance.json, the energy result (EnergyResult, None
    without energy inputs or for ``fo001``) and its inputs' provenance records."""

    summary: pd.DataFrame
    parts: list[PartResult] = field(default_factory=list)
    settings: object = None
    compute: dict = field(default_factory=dict)
    energy: object = None
    energy_inputs: dict = field(default_factory=dict)

    @property
    def stands(self) -> int:
        return sum(p.stands for p in self.parts)

    def text(self) -> str:
        """The run's totals as the terminal shows them (Japanese and English labels)."""
        s = self.settings
        lines = [
            f"{s.program.name}: streamed run, {self.stands:,} stands in {len(self.parts)} parts",
            "\nSummary 集計 (credits = whole t-CO2, truncated once per methodology and period)",
            f"  {'methodology':<12}{'period':<24}{'total t-CO2':>16}{'credits t':>11}"
            f"{'activities':>11}",
        ]
        for r in self.summary.itertuples():
            lines.append(
                f"  {r.methodology:<12}{r.period:<24}{r.total_tco2:>16}{r.credits_t:>11}"
                f"{r.n_activities:>11}"
            )
        lines.append(f"\nnot written by a streamed run: {NOT_WRITTEN}")
        return "\n".join(lines)


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


def id_hashes(ids: pd.Series) -> np.ndarray:
    """Sorted 64-bit hashes of stand ids (pandas' stable hash of the strings): what a part sends
    to the driver to find an id repeated in two parts without gathering the strings."""
    return np.sort(pd.util.hash_array(ids.astype(str).to_numpy(dtype=object)))


def part_task(program_dir: str, name: str, out_dir: str | None) -> PartResult:
    """Read, validate and compute one part; write its per-stand GeoParquet (a worker's task).

    Raises
    ------
    InputError
        The part's problems (file, row, column), as a whole run reports them.
    """
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
    share = Contribution()
    if settings.uncertainty.draws:  # as a whole run: intervals of the held results
        share = contribution(fo)
        fo = pd.concat([fo, program_stand_intervals(fo, settings)], axis=1)
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
        share,
        id_hashes(program.stands["stand_id"]),
        tuple(float(v) for v in program.stands.total_bounds),
        describe_inputs(
            {
                (f"{k}/{name}" if k in ("stands", "operations") else k): v
                for k, v in program.files.items()
            },
            program_dir,
        ),
        program.yields.sources(),
    )
