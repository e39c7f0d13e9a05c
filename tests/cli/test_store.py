"""Parser of ``forestcarbon store`` (forestcarbon.cli.store): actions, required options, usage
errors exit 2. What the actions do: tests/officer/test_migrate.py,
tests/inputs/test_store_postgres.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forestcarbon.cli.main import build_parser, main


def _exit(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    captured = capsys.readouterr()
    return e.value.code, captured.out, captured.err


def test_store_lists_its_actions(capsys):
    code, out, _ = _exit(["store", "--help"], capsys)
    assert code == 0
    assert re.findall(r"^    (\w+)\s", out, flags=re.MULTILINE) == ["migrate", "adopt", "grants"]


@pytest.mark.parametrize(
    "argv",
    [
        ["store"],
        ["store", "migrate", "prog"],
        ["store", "grants", "prog"],
        ["store", "migrate"],
        ["store", "adopt", "prog"],
    ],
)
def test_missing_required_arguments_exit_2(argv, capsys):
    code, _, err = _exit(argv, capsys)
    assert code == 2
    assert "required" in err and "Traceback" not in err


def test_migrate_parses_its_options():
    args = build_parser().parse_args(
        ["store", "migrate", "prog", "--to", "postgresql://u@h/db", "--schema", "fc_x"]
    )
    assert (args.command, args.store_command) == ("store", "migrate")
    assert (args.program_dir, args.to, args.schema) == (Path("prog"), "postgresql://u@h/db", "fc_x")
    args = build_parser().parse_args(["store", "grants", "prog", "--role", "tanaka"])
    assert (args.store_command, args.role) == ("grants", "tanaka")
