"""Parsers of the scale commands: ``forestcarbon convert PROGRAM --to geoparquet`` and the
``--scheduler`` and ``--stream`` options of ``run`` and ``fo001`` (:mod:`forestcarbon.scale`).

The work is in :mod:`forestcarbon.cli.scale_commands`.
"""

from __future__ import annotations

from pathlib import Path

from forestcarbon.cli.options import program_arg

SCHEDULER_HELP = (
    "compute on Dask: local:N (a LocalCluster of N worker processes) or tcp://host:8786 (an "
    "existing scheduler); default: [compute] scheduler, else this process. Same outputs, plus "
    "fo001_stands.parquet/ (GeoParquet per partition)"
)

STREAM_HELP = (
    "streamed run of a program too large for memory (default: [compute] stream): each part of "
    "its GeoParquet stands (forestcarbon convert --to geoparquet) read, validated and computed "
    "alone, in this process or on --scheduler; writes fo001_stands.parquet/, "
    "program_summary.csv, provenance.json (no maps, report, per-stand CSV/GPKG)"
)


def add_parsers(sub) -> None:
    """Add ``convert`` and the ``--scheduler`` option of ``run``/``fo001`` to the main parser."""
    for name in ("run", "fo001"):
        sub.choices[name].add_argument(
            "--scheduler", default=None, metavar="local:N|tcp://HOST:PORT", help=SCHEDULER_HELP
        )
        sub.choices[name].add_argument("--stream", action="store_true", help=STREAM_HELP)
    p = sub.add_parser(
        "convert",
        help="write a program folder's stands and operations as partitioned GeoParquet "
        "(spatially sorted along a Hilbert curve: each partition a compact area)",
    )
    program_arg(p)
    p.add_argument("--to", required=True, choices=("geoparquet",), help="output format")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output program folder (default: PROGRAM_DIR-geoparquet beside it)",
    )
    p.add_argument(
        "--rows-per-partition",
        type=int,
        default=100_000,
        help="stands per partition (default 100000)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the output folder")
