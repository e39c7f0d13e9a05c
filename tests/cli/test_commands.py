"""Commands as a user types them: demo, validate, fo001."""

from __future__ import annotations

import pandas as pd

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main


def test_demo_prints_species_and_program_totals(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for needle in ("hinoki", "sugi", "akamatsu", "FO-001", "program", "credits"):
        assert needle in text


def test_validate_command(capsys):
    assert main(["validate", str(SAMPLE_PROGRAM)]) == 0
    assert "410 stands" in capsys.readouterr().out


def test_fo001_command_writes_only_the_forest_outputs(tmp_path, capsys):
    assert main(["-q", "fo001", str(SAMPLE_PROGRAM), "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "fo001_stands.csv",
        "fo001_stands.gpkg",
        "program_summary.csv",
        "provenance.json",
    } <= names
    assert not names & {"solar_sites.csv", "aircon_units.csv", "monitoring_report.xlsx", "maps"}
    summary = pd.read_csv(tmp_path / "program_summary.csv")
    assert set(summary["methodology"]) == {"FO-001", "program"}
