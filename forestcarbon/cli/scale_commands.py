"""What the scale commands do: ``convert``, and ``run``/``fo001`` with a scheduler."""

from __future__ import annotations

from pathlib import Path

from forestcarbon import run
from forestcarbon.scale.convert import convert_program
from forestcarbon.scale.runner import run_distributed, scheduler_of


def run_or_distribute(args, *, fo001_only: bool = False):
    """``run``/``fo001``: in this process, or on the Dask scheduler of ``--scheduler`` or
    ``[compute] scheduler``."""
    scheduler, where = scheduler_of(args.program_dir, getattr(args, "scheduler", None))
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
