"""forestcarbon verify: re-run from provenance and report differences file by file, number by
number."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main
from forestcarbon.officer import ledger
from tests.conftest import ops_for, stand
from tests.officer.ledger_fixtures import BANK_ROW, clock


@pytest.fixture
def sample_run(tmp_path):
    program = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, program)
    out = tmp_path / "run"
    assert main(["-q", "run", str(program), "--out", str(out)]) == 0
    return program, out


def test_unchanged_run_verifies(sample_run, capsys):
    _, out = sample_run
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 0
    assert "identical" in capsys.readouterr().out


def test_one_changed_input_byte_is_reported_with_the_numbers_it_changes(sample_run, capsys):
    program, out = sample_run
    ops = program / "operations.csv"
    data = ops.read_bytes()
    old = b"2,8,1,\x8a\xd4\x94\xb0,2012-02-27,0.17,"  # 間伐 in cp932, stand 2-8-1's last thinning
    assert data.count(old) == 1
    ops.write_bytes(data.replace(old, old.replace(b"0.17", b"0.27")))  # one byte: '1' -> '2'
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert "operations.csv (operations): changed" in text
    assert [line for line in text.splitlines() if line.startswith("inputs:")] == [
        next(line for line in text.splitlines() if "operations.csv (operations)" in line)
    ]
    fo_lines = [line for line in text.splitlines() if line.startswith("  stand_id")]
    assert fo_lines and all(line.startswith("  stand_id 2-8-1,") for line in fo_lines)
    # treated area 0.18 + 0.17 = 0.35 ha -> 0.45 ha: the counted area and removals change
    assert any(", eligible_area_ha: " in line for line in fo_lines)
    assert any(", removals_tco2: " in line for line in fo_lines)
    assert "program_summary.csv" in text and "methodology FO-001" in text
    assert "1 input(s) changed" in text


def test_modified_output_is_reported(sample_run, capsys):
    _, out = sample_run
    csv = out / "program_summary.csv"
    data = csv.read_bytes()
    csv.write_bytes(data[:-2] + (b"9" if data[-2:-1] != b"9" else b"8") + data[-1:])
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    assert "program_summary.csv: modified after the run" in capsys.readouterr().out


def test_not_a_run_folder(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 1
    assert "provenance.json" in capsys.readouterr().err


def test_tampered_credit_ledger_fails_verify(program, tmp_path, capsys):
    folder = program([stand("1-1-1", 10.0)], ops_for("1-1-1"))
    (folder / "buyers.csv").write_text("名称,種別,住所,経度,緯度,公開\n" + BANK_ROW, "utf-8")
    out = tmp_path / "run"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    period = "2023-04-01/2024-03-31"
    ledger.issue(
        folder,
        methodology="FO-001",
        period=period,
        tonnes=10,
        certified="2024-10-15",
        run_dir=out,
        now=clock,
    )
    ledger.sell(
        folder, buyer="つやま信金", tonnes=4, price_yen=40_000, date="2024-11-01", now=clock
    )
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 0
    con = sqlite3.connect(folder / "records.gpkg")
    con.execute("DROP TRIGGER credit_entries_append_only_update")
    con.execute("UPDATE credit_entries SET tonnes = 1 WHERE action = 'sell'")  # one row
    con.commit()
    con.close()
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert "credit ledger: records.gpkg: entry 2: contents do not match its hash" in text
    assert (
        "credit_balances differ from the entries" in text and "1 credit ledger problem" not in text
    )
