"""What the scale commands do: ``convert``, and ``run``/``fo001`` with a scheduler."""

from __future__ import annotations

from pathlib import Path

from forestcarbon import run
from forestcarbon.scale.convert import convert_program
from forestcarbon.scale.runner import run_distributed, run_stream, scheduler_of, stream_of


def run_or_distribute(args, *, fo001_only: bool = False):
    """``run``/``fo001``: in this process, or on the Dask scheduler of ``--scheduler`` or
    ``[compute] scheduler``; streamed part by part with ``--stream`` or ``[compute] stream``."""
    scheduler, where = scheduler_of(args.program_dir, getattr(args, "scheduler", None))
    if stream_of(args.program_dir, getattr(args, "stream", False)):
        return run_stream(
            args.program_dir,
            args.out,
            scheduler,
            overwrite=args.overwrite,
            fo001_only=fo001_only,
            where=where,
        )
    if not scheduler:
        return run.run_program(
            args.program_dir, args.out, overwrite=args.overwrite, fo001_only=fo001_only
        )
    return run_distributed(
        args.program_dir,
        args.out,
        scheduler,
        overwrite=args.overwrite,
        fo001_only=fo001_only,
        where=where,
    )


def cmd_convert(args) -> int:
    """``forestcarbon convert PROGRAM --to geoparquet [--out DIR]``."""
    program = Path(args.program_dir)
    out = args.out or program.parent / f"{program.resolve().name}-geoparquet"
    done = convert_program(
        program, out, rows_per_partition=args.rows_per_partition, overwrite=args.overwrite
    )
    print(
        f"{out}: {done['stands']} stands and {done['operations']} operations in "
        f"{done['partitions']} partition(s) (stands/, operations/); "
        f"{len(done['copied'])} other file(s) copied"
    )
    return 0
