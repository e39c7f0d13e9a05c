"""Parsers of the forestry officers' commands: ``forestcarbon ops | register | plan``.

The work is in :mod:`forestcarbon.officer`; :mod:`forestcarbon.cli.commands` calls it.
"""

from __future__ import annotations

from pathlib import Path

from forestcarbon.cli.options import plan_out, program_arg


def add_parsers(sub) -> None:
    """Add the ``ops``, ``register`` and ``plan`` commands to the main parser's subparsers."""
    ops = sub.add_parser(
        "ops",
        help="record silvicultural operations (施業) in the program's record store, with history "
        "and undo",
        description="Record operations in the GeoPackage named by [inputs] operations (e.g. "
        'operations = "records.gpkg"; `ops init` creates it and sets it), or in '
        "PostgreSQL/PostGIS with [store] url. Every change is checked against the register and "
        "the records kept, written in one transaction, and kept in an append-only history.",
    )
    actions = ops.add_subparsers(dest="ops_command", required=True, metavar="ACTION")

    p = actions.add_parser(
        "init",
        help="start recording: create the record store from the operations file and set "
        "[inputs] operations in program.toml (the previous file is kept as program.toml.bak)",
    )
    program_arg(p)
    p.add_argument(
        "--store",
        default="records.gpkg",
        help="file name of the store in the program folder (default records.gpkg)",
    )
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser("add", help="record one operation")
    program_arg(p)
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
    p.add_argument(
        "--geometry",
        default=None,
        metavar="WKT|FILE",
        help="treated-area polygon (施業区域): WKT in the working CRS, or a GeoPackage/GeoJSON/"
        "shapefile with one polygon (any CRS); the counted area is its part inside the stand, "
        "never more than --area-ha",
    )
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser(
        "import",
        help="record every operation of a CSV/XLSX file (Japanese or English headers, UTF-8 or "
        "Shift_JIS); creates the store when missing",
    )
    program_arg(p)
    p.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        help="operations table (CSV or XLSX, optional WKT column 施業区域/geometry), or a layer "
        "(GeoPackage/GeoJSON/shapefile) whose polygons are the treated areas",
    )
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser("undo", help="revert the latest change not yet undone")
    program_arg(p)
    p.add_argument("-m", "--message", default="", help="note for the history of this change")

    p = actions.add_parser("history", help="list every change of the record store")
    program_arg(p)

    reg = sub.add_parser("register", help="stand register (森林簿) for a fiscal year")
    reg_actions = reg.add_subparsers(dest="register_command", required=True, metavar="ACTION")
    p = reg_actions.add_parser(
        "update",
        help="write the register rolled forward to a fiscal year (ages, volumes, operations "
        "applied) as a new GeoPackage beside the old, with a diff report",
    )
    program_arg(p)
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
    program_arg(p)
    p.add_argument(
        "--fy", type=int, default=None, help="fiscal year (default: after the last period)"
    )
    plan_out(p)

    p = plan_actions.add_parser(
        "forecast",
        help="choose thinning within a yearly area budget to maximise creditable removals; "
        "credits per fiscal year (CSV, text, PNG chart)",
    )
    program_arg(p)
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
    plan_out(p)
