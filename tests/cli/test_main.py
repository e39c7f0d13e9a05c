"""The command line: exit codes, usage errors, outputs never overwritten without --overwrite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forestcarbon.cli.main import main
from tests.conftest import ops_for, run_cli, stand


def test_existing_outputs_need_overwrite(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    assert run_cli(folder, tmp_path, capsys)[0] == 0
    code, captured, _ = run_cli(folder, tmp_path, capsys)
    assert code == 1 and "--overwrite" in captured.err
    assert run_cli(folder, tmp_path, capsys, "--overwrite")[0] == 0


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run"])
    assert e.value.code == 2


def test_commands_are_imported_once_with_the_collector_paused_then_frozen(tmp_path):
    """The first command of a process imports the stack without the cyclic collector and freezes
    what it made (cli/main.py ``_commands``); the collector is on again afterwards, and a second
    command freezes nothing more (a test session calling main() often does not pile up).
    ``validate`` imports its own module (cli/check.py), not the other commands'."""
    code = """
import gc, sys
from forestcarbon.cli.main import main
assert "forestcarbon.cli.commands" not in sys.modules and gc.get_freeze_count() == 0
assert main(["-q", "validate", sys.argv[1]]) == 1
frozen = gc.get_freeze_count()
made_later = [[i] for i in range(50_000)]
assert main(["-q", "validate", sys.argv[1]]) == 1
# frozen objects freed by reference counting leave the count; none are added
print(gc.isenabled(), frozen > 100_000, gc.get_freeze_count() <= frozen)
# validate's own module: not the other commands' (store, plans, notebooks, verify, scale)
print(not {"forestcarbon.cli.commands", "forestcarbon.verify", "forestcarbon.officer.store"}
      & set(sys.modules))
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["True", "True", "True", "True"]
