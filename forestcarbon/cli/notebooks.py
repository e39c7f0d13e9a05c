"""Parser of ``forestcarbon notebooks PROGRAM --out DIR`` (the work: forestcarbon.notebooks)."""

from __future__ import annotations

from pathlib import Path

from forestcarbon.cli.options import out_args, program_arg


def add_parser(sub) -> None:
    """Add the ``notebooks`` command to the main parser's subparsers."""
    p = sub.add_parser(
        "notebooks",
        help="execute the verification notebooks on a program and write them as HTML "
        "(readable in a browser without Python)",
        description="Execute the four verification notebooks (FO-001 by hand, energy by hand, "
        "canopy refinement, program overview) on PROGRAM_DIR from a clean kernel and write "
        "OUT/NN_name.html and OUT/index.html. Notebooks about something the program lacks are "
        "skipped with the reason. Needs the notebooks extra "
        "(pip install 'forestcarbon[notebooks]').",
    )
    program_arg(p)
    out_args(p)
    p.add_argument(
        "--run",
        type=Path,
        default=None,
        help="a run folder of `forestcarbon run`: the overview compares its recorded totals",
    )
