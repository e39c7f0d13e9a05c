"""Command line for forestry officers: ``forestcarbon ops | register | plan`` (thin: parse, call,
print). Registered by :func:`forestcarbon.cli.build_parser`; the work is in
:mod:`forestcarbon.store` and :mod:`forestcarbon.plan`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub) -> None:
    """Add the ``ops``, ``register`` and ``plan`` commands to the main parser's subparsers."""
    from .cli import _program_arg

    ops = sub.add_parser(
        "ops",
        help="record silvicultural operations (施業) in the program's record store, with history "
        "and undo",
        description="Record operations in the GeoPackage named by [inputs] operations (e.g. "
        'operations = "records.gpkg"). Every change is checked against the register and the '
        "records kept, written in one transaction, and kept in an append-only history.",
    )
    actions = ops.add_subparsers(dest="ops_command", required=True, metavar="ACTION")

    p = actions.add_parser("add", help="record one operation")
    _program_arg(p)
    p.add_argument("--stand", required=True, help="stand id, e.g. 12-3-1 (林班-小班-枝番)")
    p.add_argument("--date", required=True, help="date of the operation, e.g. 2024-10-15")
    p.add_argument(
        "--operation",
        required=True,
        help="planting/植栽, weeding/下刈, cleaning/除伐, thinning/間伐, pruning/枝打, "
        "final_harvest/主伐, replanting/再造林",
    )
    p.add_argument("--area-ha", default=None, help="treated area [ha]; omitted: the whole stand")
    p.add_argument("--volume-m3", default=None, help="thinned or felled volume [m3]")
    p.add_argument("--note", default="", help="note kept with the record (備考)")
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser(
        "import",
        help="record every operation of a CSV/XLSX file (Japanese or English headers, UTF-8 or "
        "Shift_JIS); creates the store when missing",
    )
    _program_arg(p)
    p.add_argument("file", metavar="FILE", type=Path, help="operations table (CSV or XLSX)")
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser("undo", help="revert the latest change not yet undone")
    _program_arg(p)
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser("history", help="list every change of the record store")
    _program_arg(p)

    reg = sub.add_parser("register", help="stand register (森林簿) for a fiscal year")
    reg_actions = reg.add_subparsers(dest="register_command", required=True, metavar="ACTION")
    p = reg_actions.add_parser(
        "update",
        help="write the register rolled forward to a fiscal year (ages, volumes, operations "
        "applied) as a new GeoPackage beside the old, with a diff report",
    )
    _program_arg(p)
    p.add_argument("--to-fy", type=int, required=True, help="fiscal year of the new register")
    p.add_argument(
        "--from-fy", type=int, default=None, help="fiscal year compared with (default: to-fy - 1)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output .gpkg (default: PROGRAM_DIR/stands_fy<YEAR>.gpkg); the diff goes beside it",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")

    plan = sub.add_parser("plan", help="thinning candidates and credit forecast")
    plan_actions = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    p = plan_actions.add_parser(
        "candidates",
        help="stands due for thinning under the [plan] rules, with the credits each would make "
        "eligible; CSV and a GeoPackage layer for QGIS and the map",
    )
    _program_arg(p)
    p.add_argument(
        "--fy", type=int, default=None, help="fiscal year (default: after the last period)"
    )
    _plan_out(p)

    p = plan_actions.add_parser(
        "forecast",
        help="choose thinning within a yearly area budget to maximise creditable removals; "
        "credits per fiscal year (CSV, text, PNG chart)",
    )
    _program_arg(p)
    p.add_argument("--years", type=int, default=10, help="number of fiscal years (default 10)")
    p.add_argument(
        "--from-fy",
        type=int,
        default=None,
        help="first fiscal year (default: after the last period)",
    )
    p.add_argument(
        "--thinning-ha-per-year",
        type=float,
        default=None,
        help="thinning area budget per year [ha] (default: [plan] thinning_ha_per_year)",
    )
    p.add_argument(
        "--method",
        choices=("greedy", "milp"),
        default=None,
        help="greedy, or integer programming with HiGHS (default: [plan] forecast_method)",
    )
    _plan_out(p)


def _plan_out(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: PROGRAM_DIR/plan)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def dispatch(args) -> int:
    """Run an ``ops``, ``register`` or ``plan`` command; returns the exit code."""
    if args.command == "ops":
        return _ops(args)
    if args.command == "register":
        return _register(args)
    return _plan(args)


def _ops(args) -> int:
    from . import store

    if args.ops_command == "add":
        result = store.add_operation(
            args.program_dir,
            stand_id=args.stand,
            date=args.date,
            operation=args.operation,
            area_ha=args.area_ha,
            volume_m3=args.volume_m3,
            note=args.note,
            message=args.message,
        )
    elif args.ops_command == "import":
        result = store.import_operations(args.program_dir, args.file, note=args.message)
    elif args.ops_command == "undo":
        result = store.undo_last(args.program_dir, note=args.message)
    else:
        return _history(args.program_dir)
    print(result)
    return 0


def _history(program_dir: Path) -> int:
    import pandas as pd

    from . import store
    from .config import load_settings

    path = store.store_path(program_dir, load_settings(program_dir))
    history = store.read_history(path)
    print(f"{path}: {len(history)} change(s)")
    print(f"{'change':>6}  {'time (UTC)':<20}  {'action':<7}{'added':>8}{'removed':>8}  note")
    for r in history.itertuples():
        undone = f"  [undone by change {r.undone_by}]" if pd.notna(r.undone_by) else ""
        print(
            f"{r.change:>6}  {r.time:<20}  {r.action:<7}{r.n_added:>8}{r.n_removed:>8}  "
            f"{r.note}{undone}"
        )
    ok, text = store.verify_history(path)
    print(text)
    return 0 if ok else 1


def _register(args) -> int:
    from .inputs import load_program
    from .plan import update_register

    inputs = load_program(args.program_dir)
    written = update_register(
        inputs, args.to_fy, from_fy=args.from_fy, out=args.out, overwrite=args.overwrite
    )
    text = next(p for p in written if p.suffix == ".txt")
    print(text.read_text(encoding="utf-8"), end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _plan(args) -> int:
    from . import plan
    from .inputs import load_program
    from .io import write_outputs

    inputs = load_program(args.program_dir)
    out = args.out or Path(args.program_dir) / "plan"
    if args.plan_command == "candidates":
        fy = args.fy or plan.next_fiscal_year(inputs)
        candidates = plan.thinning_candidates(inputs, fy)
        written = write_outputs(
            out, plan.candidates_outputs(candidates, fy), overwrite=args.overwrite
        )
        print(plan.candidates_text(candidates, fy), end="")
    else:
        s = inputs.settings.plan
        result = plan.forecast(
            inputs,
            start_fy=args.from_fy or plan.next_fiscal_year(inputs),
            years=args.years,
            budget_ha=(
                s.thinning_ha_per_year
                if args.thinning_ha_per_year is None
                else args.thinning_ha_per_year
            ),
            method=args.method or s.forecast_method,
        )
        written = write_outputs(
            out,
            plan.forecast_outputs(result, title=inputs.settings.program.name),
            overwrite=args.overwrite,
        )
        print(result.text, end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
