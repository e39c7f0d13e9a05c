"""The command line: exit codes, usage errors, outputs never overwritten without --overwrite."""

from __future__ import annotations

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
