"""The sample's SYNTHETIC credit ledger (forestcarbon.sample.credits): it imports into the sample
program against the sample's own run, and its figures are the ones its docstring states."""

from __future__ import annotations

import shutil

import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.officer import ledger
from forestcarbon.officer.ledger_tables import program_ledger
from forestcarbon.sample.credits import BANK, FOOD, write_credit_sample


@pytest.fixture(scope="module")
def sample_ledger(sample_run, tmp_path_factory):
    """A copy of the sample program with its credits.csv imported against the sample run."""
    out, _ = sample_run
    program = tmp_path_factory.mktemp("ledger") / "tsuyama-sample"
    shutil.copytree(SAMPLE_PROGRAM, program)
    ledger.import_records(program, program / "credits.csv", run_dir=out)
    return program


def test_committed_files_equal_fresh_generation(tmp_path):
    for path in write_credit_sample(tmp_path):
        assert path.read_bytes() == (SAMPLE_PROGRAM / path.name).read_bytes(), path.name
    assert "SYNTHETIC" in (SAMPLE_PROGRAM / "credits.csv").read_text(encoding="utf-8")


def test_sample_ledger_figures(sample_ledger):
    tables = program_ledger(sample_ledger)
    assert ledger.check_ledger(sample_ledger) == []
    r = tables["retirements"].set_index("holder")
    assert r.loc[BANK, "tonnes"] == 5 and r.loc[BANK, "stickers"] == 50_000
    assert r.loc[BANK, "purpose"] == "通帳5万冊の印刷製本時の電力"
    s = tables["stickers"].set_index("holder")
    assert (s.loc[BANK, "serial_first"], s.loc[BANK, "serial_last"]) == (1, 50_000)
    assert (s.loc[FOOD, "serial_first"], s.loc[FOOD, "serial_last"]) == (50_001, 70_000)
    # FY2023: 500,000 + 240,000 yen for 50 + 20 t; FY2024: 330,000 + 1,000,000 + 110,000 +
    # 200,000 = 1,640,000 yen for 30 + 100 + 10 + 20 = 160 t
    assert tables["revenue"][["fiscal_year", "tonnes", "price_yen"]].values.tolist() == [
        [2023, 70, 740_000],
        [2024, 160, 1_640_000],
    ]
    use = tables["use"].set_index(["methodology", "period"])
    # FO-001 FY2022: 3,000 issued; sold FIFO 50 + 20 + 30 + 100 + 20 = 220 t; 5 + 10 + 30 retired
    fy22 = use.loc[("FO-001", "2022-04-01/2023-03-31")]
    assert (fy22["issued_t"], fy22["sold_t"], fy22["city_held_t"]) == (3000, 220, 2780)
    assert fy22["retired_t"] == 45 and fy22["stickers"] == 70_000
    users = tables["users"].set_index("name")
    assert not users.loc["作州建設 (架空)", "public"]
    assert users.loc[BANK, "bought_t"] == 70 and users.loc[BANK, "retired_t"] == 5
