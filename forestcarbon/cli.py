"""Command line: ``forestcarbon demo | validate | run | fo001 ...`` (thin: parse, call, print).

Exit codes: 0 success, 1 bad input (a message naming file, row/id and column; no traceback),
2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .exceptions import ForestCarbonError

log = logging.getLogger("forestcarbon")

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "tsuyama-sample"


def _program_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "program_dir",
        metavar="PROGRAM_DIR",
        type=Path,
        help="program folder with program.toml, stands, operations, ...",
    )


def _out_args(p: argparse.ArgumentParser, *, default: str | None = None) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forestcarbon",
        description="J-Credit program toolkit: FO-001 forest removals, EN-R-002 household solar, "
        "EN-S-004 air conditioning, monitoring report and map.",
    )
    parser.add_argument("--version", action="version", version=f"forestcarbon {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="run the bundled Tsuyama-like sample program end to end")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")

    p = sub.add_parser("validate", help="check a program folder's inputs; list every problem")
    _program_arg(p)

    p = sub.add_parser(
        "run",
        help="everything: FO-001, solar, air conditioning, the program summary and the report",
    )
    _program_arg(p)
    _out_args(p)

    p = sub.add_parser("fo001", help="FO-001 removals per stand and period, and the summary")
    _program_arg(p)
    _out_args(p)

    p = sub.add_parser(
        "energy",
        help="EN-R-002 household solar and EN-S-004 air conditioning: solar_sites.csv, "
        "aircon_units.csv and their program_summary.csv",
    )
    _program_arg(p)
    _out_args(p)

    p = sub.add_parser(
        "map",
        help="the interactive map: maps/<name>.html (public) and maps/<name>_internal.html, "
        "<name> being the program folder's name",
    )
    _program_arg(p)
    _out_args(p)
    p.add_argument(
        "--self-contained",
        action="store_true",
        help="inline the map's JavaScript and CSS (intranets without internet; see also --tiles)",
    )
    p.add_argument(
        "--tiles",
        default=None,
        help="basemap: gsi_pale, osm, none, or a {z}/{x}/{y} URL template (default: [map] tiles)",
    )

    p = sub.add_parser("report", help="monitoring_report.xlsx and summary.md of the whole program")
    _program_arg(p)
    _out_args(p)

    p = sub.add_parser(
        "canopy",
        help="canopy rasters against the register: canopy_stands.csv (zonal statistics, site "
        "class from canopy height, model volume, flags), canopy_site_class_changes.csv, "
        "canopy_volume_model.csv",
    )
    _program_arg(p)
    _out_args(p)

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

    from .cli_plan import add_parsers  # ops | register | plan (forestry officers)

    add_parsers(sub)
    return parser


def _print_summary(result) -> None:
    from .run import summary_text

    print(summary_text(result))


def cmd_validate(args) -> int:
    from .canopy import load_canopy_inputs
    from .inputs import load_program

    inputs = load_program(args.program_dir)
    canopy = load_canopy_inputs(inputs)
    energy = inputs.energy
    counts = "".join(
        f", {len(table)} {label}"
        for table, label in ((energy.solar, "PV sites"), (energy.aircon, "air-conditioning units"))
        if table is not None
    )
    if canopy is not None:
        counts += ", canopy " + " ".join(p.name for p in canopy.files.values())
    print(
        f"{args.program_dir}: ok ({len(inputs.stands)} stands, {len(inputs.operations)} "
        f"operations{counts}, {len(inputs.settings.periods)} period(s))"
    )
    return 0


def cmd_run(args) -> int:
    from .run import run_program

    result = run_program(args.program_dir, args.out, overwrite=args.overwrite)
    _print_summary(result)
    print(f"outputs in {args.out}")
    return 0


def cmd_fo001(args) -> int:
    from .run import run_program

    result = run_program(args.program_dir, args.out, overwrite=args.overwrite, fo001_only=True)
    _print_summary(result)
    print(f"outputs in {args.out}")
    return 0


def cmd_demo(args) -> int:
    from .run import run_program

    program = SAMPLE_DIR
    if not (program / "program.toml").is_file():
        from .sample import write_sample

        program = write_sample(args.out / "program")
    log.info("sample program: %s", program)
    result = run_program(program, args.out, overwrite=True)
    _print_summary(result)
    print(f"outputs in {args.out}")
    return 0


def cmd_energy(args) -> int:
    from .energy import energy_text, run_energy

    result, summary = run_energy(args.program_dir, args.out, overwrite=args.overwrite)
    print("\n".join(energy_text(result)).strip())
    for r in summary.itertuples():
        print(f"  {r.methodology:<12}{r.period:<24}{r.total_tco2:>16} t-CO2{r.credits_t:>8} t")
    print(f"outputs in {args.out}")
    return 0


def cmd_map(args) -> int:
    from .inputs import load_program
    from .io import write_outputs
    from .run import compute

    result = compute(load_program(args.program_dir))
    try:
        from .webmap import map_files

        files = map_files(result, self_contained=args.self_contained or None, tiles=args.tiles)
    except ImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path in write_outputs(args.out, files, overwrite=args.overwrite):
        print(f"wrote {path}")
    return 0


def cmd_report(args) -> int:
    from .report import REPORT_FILE, SUMMARY_FILE, run_report

    result = run_report(args.program_dir, args.out, overwrite=args.overwrite)
    print(result.extra[SUMMARY_FILE].decode("utf-8"))
    print(f"wrote {args.out / REPORT_FILE} and {args.out / SUMMARY_FILE}")
    return 0


def cmd_canopy(args) -> int:
    from .canopy import run_canopy, summary_text

    result = run_canopy(args.program_dir, args.out, overwrite=args.overwrite)
    print(summary_text(result).strip())
    print(f"outputs in {args.out}")
    return 0


def cmd_verify(args) -> int:
    from .verify import verify_run

    result = verify_run(args.run_dir, program_dir=args.program)
    print(result.text())
    return 0 if result.ok else 1


def cmd_officer(args) -> int:
    """``ops``, ``register`` and ``plan`` (forestcarbon.cli_plan)."""
    from .cli_plan import dispatch

    return dispatch(args)


COMMANDS = {
    "ops": cmd_officer,
    "register": cmd_officer,
    "plan": cmd_officer,
    "verify": cmd_verify,
    "demo": cmd_demo,
    "validate": cmd_validate,
    "run": cmd_run,
    "fo001": cmd_fo001,
    "energy": cmd_energy,
    "report": cmd_report,
    "map": cmd_map,
    "canopy": cmd_canopy,
}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced, e.g. by tests)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _configure_logging(*, quiet: bool) -> None:
    """Progress messages of the ``forestcarbon`` logger to stderr (library loggers untouched)."""
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("forestcarbon: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``forestcarbon`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    _configure_logging(quiet=args.quiet)
    try:
        return COMMANDS[args.command](args)
    except ForestCarbonError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
