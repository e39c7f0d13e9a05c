"""EN-R-002 and EN-S-004 together: credits, output tables, the whole program."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.methods.en_r002 import SOLAR_COLUMNS
from forestcarbon.methods.en_s004 import AIRCON_COLUMNS
from forestcarbon.methods.totals import summary_row
from tests.conftest import stand, write_program
from tests.energy_fixtures import (
    AC_READINGS,
    FY2023,
    READINGS,
    SITES,
    UNITS,
    csv,
    energy_program,
    reading,
    site,
)

# --- credits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("em_bl", "em_pj", "credits"), [(92.4, 56.9, 35), (94.6, 54.6, 40), (21.5, 0.0, 21)]
)
def test_rounding_vectors_of_published_plans(em_bl, em_pj, credits):
    row = summary_row("EN-S-004", "p", [em_bl], [em_pj], ["a"], 0.0)
    assert row["credits_t"] == credits
    assert Decimal(row["total_tco2"]) == Decimal(str(em_bl)) - Decimal(str(em_pj))


# --- outputs -------------------------------------------------------------------------------------


def test_outputs_follow_the_contract_and_are_deterministic(tmp_path):
    folder = energy_program(
        tmp_path / "p",
        solar=csv(SITES + ",address", site("S1") + ",津山市山北520", site("S2")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
    )
    for out in ("a", "b"):
        assert main(["-q", "energy", str(folder), "--out", str(tmp_path / out)]) == 0
    for name in ("solar_sites.csv", "aircon_units.csv", "program_summary.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    solar = pd.read_csv(tmp_path / "a" / "solar_sites.csv")
    assert list(solar.columns) == SOLAR_COLUMNS
    contract = ["site_id", "period", "self_consumed_kwh", "ef_t_per_kwh", "reduction_tco2",
                "method", "eligible", "reason"]  # fmt: skip
    assert set(contract) <= set(solar.columns)
    assert not {"address", "lon", "lat", "geometry"} & set(solar.columns)  # internal, no address
    aircon = pd.read_csv(tmp_path / "a" / "aircon_units.csv")
    assert list(aircon.columns) == AIRCON_COLUMNS
    assert {"unit_id", "period", "baseline_kwh", "project_kwh", "reduction_tco2"} <= set(
        aircon.columns
    )


# --- whole program -------------------------------------------------------------------------------


def test_program_without_energy_inputs_still_runs(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    out = tmp_path / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"fo001_stands.csv", "program_summary.csv", "monitoring_report.xlsx"} <= names
    assert not {"solar_sites.csv", "aircon_units.csv"} & names
    capsys.readouterr()
    assert main(["-q", "energy", str(folder), "--out", str(tmp_path / "e")]) == 1
    assert "no solar or air-conditioning inputs" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_run_adds_energy_to_the_program_totals(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    energy_program(
        folder,
        solar=csv(SITES, site("S1")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
        write_toml=False,
    )
    assert main(["validate", str(folder)]) == 0
    assert "1 PV sites, 1 air-conditioning units" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EN-R-002" in printed and "EN-S-004" in printed and "program" in printed
    table = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    rows = table.set_index(["methodology", "period"])
    period = "2023-04-01/2024-03-31"
    energy_total = Decimal("0.69006") + Decimal("6.51")
    program_total = Decimal(rows.loc[("program", period), "total_tco2"])
    fo_total = Decimal(rows.loc[("FO-001", period), "total_tco2"])
    assert program_total == fo_total + energy_total
    assert (
        rows.loc[("program", period), "credits_t"] == rows.loc[("FO-001", period), "credits_t"] + 6
    )
    assert {"solar_sites.csv", "aircon_units.csv", "monitoring_report.xlsx", "summary.md"} <= {
        p.name for p in out.iterdir()
    }
