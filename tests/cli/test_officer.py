"""Parsers of ``forestcarbon ops | register | plan`` and the command list of ``forestcarbon``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forestcarbon.cli.main import build_parser, main

COMMANDS = [
    "demo",
    "validate",
    "run",
    "fo001",
    "energy",
    "map",
    "report",
    "canopy",
    "verify",
    "ops",
    "register",
    "plan",
    "store",
    "notebooks",
    "review",
    "credits",
    "convert",
]


def _exit(argv, capsys):
    """Exit code of ``forestcarbon ARGV`` that stops in the parser, with stdout and stderr."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    captured = capsys.readouterr()
    return e.value.code, captured.out, captured.err


def test_help_lists_every_command(capsys):
    code, out, _ = _exit(["--help"], capsys)
    assert code == 0
    listed = re.findall(r"^    (\w+)\s", out, flags=re.MULTILINE)
    assert listed == COMMANDS


@pytest.mark.parametrize(
    ("command", "actions"),
    [
        ("ops", ["init", "add", "import", "undo", "history"]),
        ("register", ["update"]),
        ("plan", ["candidates", "forecast"]),
    ],
)
def test_officer_commands_list_their_actions(command, actions, capsys):
    code, out, _ = _exit([command, "--help"], capsys)
    assert code == 0
    assert re.findall(r"^    (\w+)\s", out, flags=re.MULTILINE) == actions


@pytest.mark.parametrize(
    "argv",
    [
        ["ops"],  # no action
        ["ops", "add", "prog"],  # --stand, --date, --operation missing
        ["ops", "add", "prog", "--stand", "1-1-1", "--date", "2024-10-15"],  # --operation
        ["ops", "import", "prog"],  # FILE missing
        ["ops", "undo"],  # PROGRAM_DIR missing
        ["register", "update", "prog"],  # --to-fy missing
        ["register"],
        ["plan"],
        ["plan", "candidates"],
    ],
)
def test_missing_required_arguments_exit_2(argv, capsys):
    code, _, err = _exit(argv, capsys)
    assert code == 2
    assert "required" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["ops", "register", "plan"])
def test_unknown_action_exits_2(command, capsys):
    code, _, err = _exit([command, "redo", "prog"], capsys)
    assert code == 2
    assert "invalid choice: 'redo'" in err


def test_wrong_types_and_choices_exit_2(capsys):
    code, _, err = _exit(["register", "update", "prog", "--to-fy", "2024年"], capsys)
    assert code == 2 and "--to-fy" in err
    code, _, err = _exit(["plan", "forecast", "prog", "--method", "lp"], capsys)
    assert code == 2 and "invalid choice: 'lp'" in err


def test_ops_add_parses_its_options():
    argv = ["ops", "add", "prog", "--stand", "12-3-1", "--date", "2024-10-15", "--operation"]
    args = build_parser().parse_args([*argv, "間伐", "--area-ha", "0.8", "-m", "field check"])
    assert (args.command, args.ops_command) == ("ops", "add")
    assert args.program_dir == Path("prog")
    assert (args.stand, args.date, args.operation) == ("12-3-1", "2024-10-15", "間伐")
    assert args.area_ha == "0.8" and args.volume_m3 is None
    assert args.message == "field check" and args.note == ""


def test_ops_import_takes_a_file():
    args = build_parser().parse_args(["ops", "import", "prog", "ops.xlsx"])
    assert args.ops_command == "import" and args.file == Path("ops.xlsx")


def test_register_and_plan_defaults():
    args = build_parser().parse_args(["register", "update", "prog", "--to-fy", "2024"])
    assert (args.register_command, args.to_fy, args.from_fy) == ("update", 2024, None)
    assert args.out is None and args.overwrite is False
    args = build_parser().parse_args(["plan", "forecast", "prog"])
    assert args.plan_command == "forecast"
    assert (args.years, args.from_fy, args.thinning_ha_per_year, args.method) == (
        10,
        None,
        None,
        None,
    )
    args = build_parser().parse_args(["plan", "candidates", "prog", "--fy", "2025", "--out", "o"])
    assert (args.fy, args.out, args.overwrite) == (2025, Path("o"), False)


def test_run_requires_out_and_map_has_its_own_options():
    # cli/options.py out_args: --out required (no default) for run/fo001/energy/map/...
    args = build_parser().parse_args(["map", "prog", "--out", "o", "--tiles", "osm"])
    assert args.tiles == "osm" and args.self_contained is None  # None: [map] self_contained
    args = build_parser().parse_args(["map", "prog", "--out", "o", "--no-self-contained"])
    assert args.self_contained is False
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["fo001", "prog"])
    assert e.value.code == 2
