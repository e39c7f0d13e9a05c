"""What each command does once its arguments are parsed: call the library, print, exit code.

Imported by :func:`forestcarbon.cli.main.main` only after parsing, so that ``--help`` and usage
errors answer without importing the geospatial stack.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forestcarbon import SAMPLE_PROGRAM, notebooks, run, verify
from forestcarbon.cli import check, credits_commands, scale_commands
from forestcarbon.core.files import write_outputs
from forestcarbon.inputs.program import load_program
from forestcarbon.officer import store, store_init
from forestcarbon.officer.candidates import (
    candidates_outputs,
    candidates_text,
    next_fiscal_year,
    thinning_candidates,
)
from forestcarbon.officer.forecast import forecast, forecast_outputs
from forestcarbon.officer.migrate import adopt_side_tables, migrate_store
from forestcarbon.officer.register import update_register
from forestcarbon.officer.reviews import add_review
from forestcarbon.outputs.report import REPORT_FILE, SUMMARY_FILE
from forestcarbon.outputs.text import canopy_text, energy_text
from forestcarbon.sample.program import write_sample
from forestcarbon.scale import streamrun


def _print_summary(result) -> None:

    print(result.text())  # a run's summary_text; a streamed run's totals


def cmd_run(args) -> int:

    result = scale_commands.run_or_distribute(args)
    _print_summary(result)
    print(f"outputs in {args.out}")
    return 0


def cmd_fo001(args) -> int:

    result = scale_commands.run_or_distribute(args, fo001_only=True)
    _print_summary(result)
    print(f"outputs in {args.out}")
    return 0


def cmd_demo(args) -> int:

    program = SAMPLE_PROGRAM
    if not (program / "program.toml").is_file():
        program = write_sample(args.out.parent / f"{args.out.name}-program")
    run.log.info("sample program: %s", program)
    result = run.run_program(program, args.out, overwrite=True)
    _print_summary(result)
    print(f"outputs in {args.out}")
    return 0


def cmd_energy(args) -> int:

    result, summary = run.run_energy(args.program_dir, args.out, overwrite=args.overwrite)
    print("\n".join(energy_text(result)).strip())
    for r in summary.itertuples():
        print(f"  {r.methodology:<12}{r.period:<24}{r.total_tco2:>16} t-CO2{r.credits_t:>8} t")
    print(f"outputs in {args.out}")
    return 0


def cmd_map(args) -> int:
    written = run.run_map(
        args.program_dir,
        args.out,
        overwrite=args.overwrite,
        self_contained=args.self_contained,
        tiles=args.tiles,
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_report(args) -> int:

    result = run.run_report(args.program_dir, args.out, overwrite=args.overwrite)
    print(result.extra[SUMMARY_FILE].decode("utf-8"))
    print(f"wrote {args.out / REPORT_FILE} and {args.out / SUMMARY_FILE}")
    return 0


def cmd_canopy(args) -> int:

    result = run.run_canopy(args.program_dir, args.out, overwrite=args.overwrite)
    print(canopy_text(result).strip())
    print(f"outputs in {args.out}")
    return 0


def cmd_verify(args) -> int:

    result = verify.verify_run(
        args.run_dir, program_dir=args.program, rerun_streamed=streamrun.rerun_streamed
    )
    print(result.text())
    return 0 if result.ok else 1


def dispatch(args) -> int:
    """Run an ``ops``, ``register`` or ``plan`` command; returns the exit code."""
    if args.command == "ops":
        return _ops(args)
    if args.command == "register":
        return _register(args)
    return _plan(args)


def _ops(args) -> int:

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
            geometry=args.geometry,
        )
    elif args.ops_command == "init":
        result = store_init.init_store(args.program_dir, store=args.store, note=args.message)
    elif args.ops_command == "import":
        result = store.import_operations(args.program_dir, args.file, note=args.message)
    elif args.ops_command == "undo":
        result = store.undo_last(args.program_dir, note=args.message)
    else:
        return _history(args.program_dir)
    print(result)
    return 0


def _history(program_dir: Path) -> int:

    path = store.program_store(program_dir)
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

    inputs = load_program(args.program_dir)
    written = update_register(
        inputs, args.to_fy, from_fy=args.from_fy, out=args.out, overwrite=args.overwrite
    )
    text = next(p for p in written if p.suffix == ".txt")
    print(text.read_text(encoding="utf-8"), end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _plan(args) -> int:

    inputs = load_program(args.program_dir)
    out = args.out or Path(args.program_dir) / "plan"
    if args.plan_command == "candidates":
        fy = args.fy or next_fiscal_year(inputs)
        candidates = thinning_candidates(inputs, fy)
        written = write_outputs(
            out,
            candidates_outputs(candidates, fy),
            overwrite=args.overwrite,
            protected=run.input_paths(inputs.files),
        )
        print(candidates_text(candidates, fy), end="")
    else:
        s = inputs.settings.plan
        result = forecast(
            inputs,
            start_fy=args.from_fy or next_fiscal_year(inputs),
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
            forecast_outputs(result, title=inputs.settings.program.name),
            overwrite=args.overwrite,
            protected=run.input_paths(inputs.files),
        )
        print(result.text, end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_store(args) -> int:
    """``forestcarbon store migrate | adopt | grants``."""
    if args.store_command == "migrate":
        print(migrate_store(args.program_dir, args.to, schema=args.schema))
        return 0
    if args.store_command == "adopt":
        print(adopt_side_tables(args.program_dir, args.file))
        return 0
    target = store.program_store(args.program_dir)
    if target.kind != "postgresql":
        print(f"{target.label} is a GeoPackage: file permissions are its only grants")
        return 1
    print(target.grants_sql(args.role))
    return 0


def cmd_notebooks(args) -> int:
    """Execute the verification notebooks on a program and write them as HTML."""
    runs = notebooks.run_notebooks(
        args.program_dir, args.out, run_dir=args.run, overwrite=args.overwrite
    )
    for r in runs:
        print(r)
    print(f"open {args.out / 'index.html'}")
    return 0


def cmd_review(args) -> int:
    """``forestcarbon review``: append an officer's review of a stand."""
    path, number = add_review(args.program_dir, args.stand, args.decision, args.note)
    print(f"{path}: review {number} of stand {args.stand}: {args.decision}")
    return 0


COMMANDS = {
    "notebooks": cmd_notebooks,
    "ops": dispatch,
    "register": dispatch,
    "plan": dispatch,
    "credits": credits_commands.run,
    "verify": cmd_verify,
    "demo": cmd_demo,
    "validate": check.cmd_validate,
    "run": cmd_run,
    "fo001": cmd_fo001,
    "energy": cmd_energy,
    "report": cmd_report,
    "map": cmd_map,
    "canopy": cmd_canopy,
    "store": cmd_store,
    "review": cmd_review,
    "convert": scale_commands.cmd_convert,
}
