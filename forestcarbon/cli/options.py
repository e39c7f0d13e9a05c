"""Options shared by several commands (defined once, like ``rio/options.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def program_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "program_dir",
        metavar="PROGRAM_DIR",
        type=Path,
        help="program folder with program.toml, stands, operations, ...",
    )


def out_args(p: argparse.ArgumentParser, *, default: str | None = None) -> None:
    p.add_argument(
        "--out",
        type=Path,
        required=default is None,
        default=default,
        help="output folder (created if missing)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs that already exist in the output folder",
    )


def plan_out(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: PROGRAM_DIR/plan)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
