"""``forestcarbon run PROGRAM --out DIR --scheduler local:N`` (or ``[compute] scheduler``), and
``--stream`` (or ``[compute] stream``, :mod:`forestcarbon.scale.streamrun`)."""

from __future__ import annotations

from pathlib import Path

from forestcarbon.core.config import CONFIG_FILE, load_settings
from forestcarbon.core.exceptions import ConfigError
from forestcarbon.run import RunResult, run_program
from forestcarbon.scale.cluster import open_client, parse_scheduler
from forestcarbon.scale.engine import DaskEngine
from forestcarbon.scale.stream import StreamResult
from forestcarbon.scale.streamrun import run_streamed


def scheduler_of(program_dir: str | Path, flag: str | None) -> tuple[str, str]:
    """(scheduler, where it was given): the ``--scheduler`` flag, else ``[compute] scheduler``
    of program.toml, else ("", "") for this process (the default)."""
    if flag:
        return flag, "--scheduler"
    try:
        settings = load_settings(program_dir)
    except ConfigError:  # the run itself reports it, after checking the output folder
        return "", ""
    where = f"{Path(program_dir) / CONFIG_FILE} [compute] scheduler"
    return settings.compute.scheduler, where


def stream_of(program_dir: str | Path, flag: bool) -> bool:
    """A streamed run: the ``--stream`` flag, else ``[compute] stream`` of program.toml."""
    if flag:
        return True
    try:
        return bool(load_settings(program_dir).compute.stream)
    except ConfigError:  # the run itself reports it
        return False


def run_stream(
    program_dir: str | Path,
    out_dir: str | Path,
    scheduler: str = "",
    *,
    overwrite: bool = True,
    fo001_only: bool = False,
    where: str = "--scheduler",
) -> StreamResult:
    """A streamed run (:func:`forestcarbon.scale.streamrun.run_streamed`) in this process
    (``scheduler`` empty) or on a Dask cluster (``local:N``, ``tcp://...``)."""
    if not scheduler:
        return run_streamed(program_dir, out_dir, overwrite=overwrite, fo001_only=fo001_only)
    parsed = parse_scheduler(scheduler, where)
    with open_client(parsed) as client:
        return run_streamed(
            program_dir,
            out_dir,
            client,
            scheduler=parsed.text,
            overwrite=overwrite,
            fo001_only=fo001_only,
        )


def run_distributed(
    program_dir: str | Path,
    out_dir: str | Path,
    scheduler: str,
    *,
    overwrite: bool = True,
    fo001_only: bool = False,
    partitions: int | None = None,
    where: str = "--scheduler",
) -> RunResult:
    """:func:`forestcarbon.run.run_program` with its per-stand and per-site work on a Dask
    cluster (:class:`~forestcarbon.scale.engine.DaskEngine`): the same outputs byte for byte,
    plus ``fo001_stands.parquet/`` (one GeoParquet file per partition) and provenance.json's
    ``compute`` record (scheduler, workers, partitions).

    ``partitions``: stand partitions (default ``[compute] partitions``; 0: four per worker).
    """
    parsed = parse_scheduler(scheduler, where)
    if partitions is None:
        partitions = load_settings(program_dir).compute.partitions
    with open_client(parsed) as client:
        engine = DaskEngine(client, parsed.text, partitions)
        return run_program(
            program_dir, out_dir, overwrite=overwrite, fo001_only=fo001_only, engine=engine
        )
