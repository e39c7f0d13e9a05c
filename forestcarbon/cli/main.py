"""Command line: ``forestcarbon demo | validate | run | fo001 ...``: the parser and the entry point.

Exit codes: 0 success, 1 bad input (a message naming file, row/id and column; no traceback),
2 usage error, 130 interrupted (Ctrl-C; outputs are published whole or not at all).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import logging
import sys
from pathlib import Path

from forestcarbon import __version__
from forestcarbon.cli import credits, notebooks, officer, review, scale, store
from forestcarbon.cli.options import out_args, program_arg
from forestcarbon.cli.progress import Reporter
from forestcarbon.core.exceptions import ForestCarbonError

log = logging.getLogger("forestcarbon")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forestcarbon",
        description="J-Credit program toolkit: FO-001 forest removals, EN-R-002 household solar, "
        "EN-S-004 air conditioning, monitoring report and map.",
    )
    parser.add_argument("--version", action="version", version=f"forestcarbon {__version__}")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print errors only: nothing at all when the command succeeds (no progress, no "
        "warnings, no totals)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="run the bundled Tsuyama-like sample program end to end")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")

    p = sub.add_parser("validate", help="check a program folder's inputs; list every problem")
    program_arg(p)

    p = sub.add_parser(
        "run",
        help="everything: FO-001, solar, air conditioning, the program summary and the report",
    )
    program_arg(p)
    out_args(p)

    p = sub.add_parser("fo001", help="FO-001 removals per stand and period, and the summary")
    program_arg(p)
    out_args(p)

    p = sub.add_parser(
        "energy",
        help="EN-R-002 household solar and EN-S-004 air conditioning: solar_sites.csv, "
        "aircon_units.csv and their program_summary.csv",
    )
    program_arg(p)
    out_args(p)

    p = sub.add_parser(
        "map",
        help="the interactive map: maps/<name>.html (public) and maps/<name>_internal.html, "
        "<name> being the program folder's name",
    )
    program_arg(p)
    out_args(p)
    p.add_argument(
        "--self-contained",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="inline the map's JavaScript and CSS so it opens without internet (the default, "
        "[map] self_contained); --no-self-contained links them on a CDN",
    )
    p.add_argument(
        "--tiles",
        default=None,
        help="basemap: gsi_pale, osm, none, or a {z}/{x}/{y} URL template (default: [map] tiles)",
    )

    p = sub.add_parser("report", help="monitoring_report.xlsx and summary.md of the whole program")
    program_arg(p)
    out_args(p)

    p = sub.add_parser(
        "canopy",
        help="canopy rasters against the register: canopy_stands.csv (zonal statistics, site "
        "class from canopy height, model volume, flags), canopy_site_class_changes.csv, "
        "canopy_volume_model.csv",
    )
    program_arg(p)
    out_args(p)

    p = sub.add_parser(
        "verify",
        help="re-run a run folder from its recorded inputs and settings; list every difference "
        "(exit 1 if any)",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="folder of a previous run")
    p.add_argument(
        "--program",
        type=Path,
        default=None,
        help="program folder (default: the one recorded in provenance.json)",
    )

    officer.add_parsers(sub)  # ops | register | plan (forestry officers)
    store.add_parsers(sub)  # store migrate | grants (the record store itself)
    notebooks.add_parser(sub)  # notebooks (verification notebooks as HTML)
    review.add_parsers(sub)  # review (a stand held by canopy evidence)
    credits.add_parsers(sub)  # credits (the credit ledger)
    scale.add_parsers(sub)  # convert; run/fo001 --scheduler (Dask)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``forestcarbon`` console script; returns the exit code.

    ``-q``: nothing is printed when the command succeeds; what it would have printed on stdout is
    held back and printed only when it fails (e.g. the differences ``verify`` found), after the
    error on stderr.
    """
    args = build_parser().parse_args(argv)
    if not args.quiet:
        return _run(args)
    held, code = io.StringIO(), 1
    try:
        with contextlib.redirect_stdout(held):
            code = _run(args)
    finally:
        if code != 0:
            sys.stdout.write(held.getvalue())
    return code


def _run(args: argparse.Namespace) -> int:
    # progress, one summary of warnings; -q: errors only
    with Reporter(quiet=args.quiet, step=f"{args.command}: starting"):
        try:
            commands = _commands(COMMAND_MODULES.get(args.command, COMMANDS_MODULE))
            return commands.COMMANDS[args.command](args)
        except ForestCarbonError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted: nothing was written", file=sys.stderr)
            return 130


COMMANDS_MODULE = "forestcarbon.cli.commands"
"""What each command does; it imports the geospatial stack, so only once a command is to run."""

COMMAND_MODULES = {"validate": "forestcarbon.cli.check"}
"""Commands whose module imports less than :data:`COMMANDS_MODULE` (same ``COMMANDS`` table)."""


def _commands(name: str = COMMANDS_MODULE):
    """The commands module ``name``, imported with the cyclic garbage collector paused, then
    frozen.

    Importing the stack (pandas, pyarrow, geopandas, rasterio...) creates about a million
    long-lived objects and no garbage; meanwhile CPython's collector runs about 250 times and
    traverses them again and again, and every later full collection does once more. Pausing it
    for the import and then moving what the import made to the permanent generation
    (:func:`gc.freeze`) saves that work: about 0.2 s CPU of a first ``validate`` of the sample
    (1.5 s), measured with gc.callbacks. Only a module's first import does so (a test session
    calling :func:`main` many times freezes once or twice); cycles made later are collected as
    usual.
    """
    if name in sys.modules:
        return importlib.import_module(name)
    enabled = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(name)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return module


if __name__ == "__main__":
    sys.exit(main())
