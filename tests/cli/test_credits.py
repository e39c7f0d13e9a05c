"""Parser of ``forestcarbon credits`` (forestcarbon.cli.credits): the actions DESIGN.md §6 fixes,
and usage errors before anything runs. The actions themselves: tests/officer/test_ledger.py."""

from __future__ import annotations

import re

import pytest

from forestcarbon.cli.credits import ACTIONS
from forestcarbon.cli.main import main


def test_credits_lists_the_fixed_actions_in_order(capsys):
    with pytest.raises(SystemExit) as e:
        main(["credits", "--help"])
    assert e.value.code == 0
    listed = re.findall(r"^    (\w+)\s", capsys.readouterr().out, flags=re.MULTILINE)
    assert (
        listed
        == list(ACTIONS)
        == [
            "issue",
            "sell",
            "retire",
            "stickers",
            "balance",
            "history",
            "undo",
            "import",
            "report",
        ]
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["credits"],
        ["credits", "sell", "P", "--tonnes", "1"],  # no buyer, price or date
        ["credits", "issue", "P", "--methodology", "FO-001"],
        [
            "credits",
            "stickers",
            "P",
            "--holder",
            "x",
            "--count",
            "1",
            "--date",
            "2024-01-01",
            "--retirement",
            "one",
        ],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err
