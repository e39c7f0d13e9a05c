"""The terminal summary of a run, for a one-stand program worked by hand."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from forestcarbon.inputs.program import load_program
from forestcarbon.outputs.text import summary_text, toml_value
from forestcarbon.run import compute
from tests.conftest import ops_for, stand


@pytest.fixture
def text(program):
    # 2 ha sugi, planted 1993, site 2, thinned 2015-06-01 (tests/conftest.py GROWTH table:
    # sugi 2 -> 300 m3/ha at 30, 350 at 35: 10 m3/ha per year). FY2023 growth 300 -> 310 m3/ha.
    # factor D x BEF>=21 x (1+R) x CF x 44/12 = 0.314 x 1.23 x 1.25 x 0.51 x 44/12
    #   = 0.38622 x 1.25 = 0.482775; x 0.51 = 0.24621525; x 44/12 = 0.90278925 t-CO2/m3
    # 10 m3/ha x 2 ha x 0.90278925 = 18.055785 t-CO2 -> 18 credits (truncated)
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"))
    return summary_text(compute(load_program(folder)))


def test_summary_starts_with_the_program_name(text):
    assert text.splitlines()[0] == "test program"
    assert "FO-001 森林経営活動  period 2023-04-01/2024-03-31" in text


def test_species_row_has_stands_areas_and_net(text):
    row = next(line for line in text.splitlines() if line.strip().startswith("sugi"))
    # species, stands, eligible, area ha, counted ha, net t-CO2 (one decimal: 18.055785 -> 18.1)
    assert row.split() == ["sugi", "1", "1", "2.0", "2.0", "18.1"]


def test_fo001_summary_row_carries_the_exact_total_and_credits(text):
    rows = {tuple(f[:2]): f[2:] for f in map(str.split, text.splitlines()) if len(f) >= 5}
    # one period: the period row and the "all" row carry the same numbers
    for key in [("FO-001", "2023-04-01/2024-03-31"), ("FO-001", "all")]:
        total, credits, activities = rows[key][:3]
        assert float(total) == pytest.approx(18.055785, abs=1e-9), key
        assert credits == "18" and activities == "1", key


def test_unverified_settings_are_listed(text):
    line = next(ln for ln in text.splitlines() if ln.startswith("Unverified settings in use"))
    assert "未確認の設定" in line
    # FO-001 defaults not confirmed against the official text (FO-001.md): listed as in TOML
    assert 'fo001.bef_convention = "increment"' in line
    assert 'fo001.carbon_fraction = "inventory"' in line
    # a forest-only program: the (unverified) energy settings change nothing it computes
    assert "energy." not in line


def test_toml_value_writes_settings_as_program_toml_does():
    assert toml_value("increment") == '"increment"'
    assert toml_value(True) == "true" and toml_value(False) == "false"
    assert toml_value(dt.date(1990, 4, 1)) == "1990-04-01"
    assert toml_value(0.1) == "0.1" and toml_value(13) == "13"


def test_no_energy_or_canopy_section_without_those_inputs(text):
    assert "EN-R-002" not in text and "EN-S-004" not in text
    assert "Canopy refinement" not in text
    assert re.search(r"credits from: \w+ \(Monte Carlo, \d+ draws\)", text)
